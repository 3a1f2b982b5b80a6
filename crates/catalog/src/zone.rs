//! The billing zone: natural days for metering, billing and statistics are days of a
//! configured fixed offset — China Standard Time (UTC+8) by default. Instants stay
//! `DateTime<Utc>`; only day boundaries use the zone.

use chrono::{DateTime, Datelike, Days, FixedOffset, NaiveDate, NaiveTime, Offset, TimeZone, Utc};
use serde::{Deserialize, Serialize};

/// A fixed UTC offset whose midnights delimit natural days.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BillingZone {
    offset_seconds: i32,
}

impl Default for BillingZone {
    fn default() -> BillingZone {
        BillingZone::CHINA
    }
}

impl BillingZone {
    /// China Standard Time, UTC+8.
    pub const CHINA: BillingZone = BillingZone { offset_seconds: 8 * 3600 };

    /// A zone `offset_seconds` east of UTC; `None` beyond ±24 hours.
    pub fn new(offset_seconds: i32) -> Option<BillingZone> {
        FixedOffset::east_opt(offset_seconds).map(|_| BillingZone { offset_seconds })
    }

    /// The chrono offset.
    pub fn offset(self) -> FixedOffset {
        // `new` only accepts valid offsets; UTC is the fallback for a hand-edited snapshot.
        FixedOffset::east_opt(self.offset_seconds).unwrap_or(Utc.fix())
    }

    /// The natural day that `instant` falls in.
    pub fn day_of(self, instant: DateTime<Utc>) -> NaiveDate {
        let (day, _) = self.day_number_and_second(instant);
        date_of_day_number(day).unwrap_or_else(|| instant.with_timezone(&self.offset()).date_naive())
    }

    /// Integer form of [`BillingZone::day_of`]: the day as a count of days since
    /// 1970-01-01 in this zone, and the second within that day (0–86,399). Cheap: no
    /// calendar arithmetic.
    pub fn day_number_and_second(self, instant: DateTime<Utc>) -> (i64, u32) {
        let local = instant.timestamp().saturating_add(i64::from(self.offset_seconds));
        let second = local.rem_euclid(86_400);
        (local.div_euclid(86_400), u32::try_from(second).unwrap_or(0))
    }

    /// The instant at which `day` begins (its 00:00 in this zone).
    pub fn start_of(self, day: NaiveDate) -> DateTime<Utc> {
        self.at(day, NaiveTime::MIN)
    }

    /// The instant of `time` on `day` in this zone.
    pub fn at(self, day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = day.and_time(time);
        // A fixed offset maps every local time to exactly one instant.
        self.offset()
            .from_local_datetime(&local)
            .single()
            .map_or_else(|| local.and_utc(), |t| t.with_timezone(&Utc))
    }

    /// The first midnight (in this zone) at or after `instant`.
    pub fn ceil_to_midnight(self, instant: DateTime<Utc>) -> DateTime<Utc> {
        let day = self.day_of(instant);
        let start = self.start_of(day);
        if start == instant {
            start
        } else {
            self.start_of(day.checked_add_days(Days::new(1)).unwrap_or(day))
        }
    }
}

/// The date `days` days after 1970-01-01.
pub fn date_of_day_number(days: i64) -> Option<NaiveDate> {
    const UNIX_EPOCH_FROM_CE: i64 = 719_163;
    i32::try_from(days.checked_add(UNIX_EPOCH_FROM_CE)?).ok().and_then(NaiveDate::from_num_days_from_ce_opt)
}

/// Days from 1970-01-01 to `date`.
pub fn day_number_of(date: NaiveDate) -> i64 {
    i64::from(date.num_days_from_ce()) - 719_163
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cst(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        BillingZone::CHINA.offset().with_ymd_and_hms(y, m, d, h, mi, s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn days_in_china_standard_time() {
        let zone = BillingZone::default();
        // UTC midnight is 08:00 in Shanghai, the same natural day.
        let utc_midnight = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(zone.day_of(utc_midnight), NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
        // 23:59:59.999 CST belongs to the day, 00:00 CST to the next.
        let last = cst(2020, 1, 1, 23, 59, 59) + chrono::Duration::milliseconds(999);
        assert_eq!(zone.day_of(last), NaiveDate::from_ymd_opt(2020, 1, 1).unwrap());
        assert_eq!(zone.day_of(cst(2020, 1, 2, 0, 0, 0)), NaiveDate::from_ymd_opt(2020, 1, 2).unwrap());
        assert_eq!(
            zone.start_of(NaiveDate::from_ymd_opt(2020, 1, 2).unwrap()),
            Utc.with_ymd_and_hms(2020, 1, 1, 16, 0, 0).unwrap()
        );
    }

    #[test]
    fn integer_days_agree_with_chrono() {
        let zone = BillingZone::CHINA;
        for seconds in [-86_401i64, -1, 0, 1, 57_599, 57_600, 1_577_808_000, 1_600_000_000, 4_102_444_799] {
            let instant = DateTime::from_timestamp(seconds, 0).unwrap();
            let expected = instant.with_timezone(&zone.offset()).date_naive();
            assert_eq!(zone.day_of(instant), expected, "{seconds}");
            let (day, second) = zone.day_number_and_second(instant);
            assert_eq!(date_of_day_number(day), Some(expected));
            assert_eq!(day_number_of(expected), day);
            assert_eq!(zone.start_of(expected) + chrono::Duration::seconds(i64::from(second)), instant);
        }
    }

    #[test]
    fn ceiling_to_midnight() {
        let zone = BillingZone::CHINA;
        assert_eq!(zone.ceil_to_midnight(cst(2021, 4, 1, 18, 20, 56)), cst(2021, 4, 2, 0, 0, 0));
        assert_eq!(zone.ceil_to_midnight(cst(2021, 4, 2, 0, 0, 0)), cst(2021, 4, 2, 0, 0, 0));
        assert!(BillingZone::new(25 * 3600).is_none());
    }
}
