//! A purchased traffic pack: its validity window, its remaining units, its alert, and
//! how its status and refund are judged at a given instant.

use chrono::{DateTime, Duration, Months, Utc};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, BillingZone, PackSpec};

use crate::ids::PackId;

/// Status at an instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PackStatus {
    /// Inside its window with units left.
    Valid,
    /// Inside its window, nothing left.
    UsedUp,
    /// Past its expiry; any remainder is forfeited.
    Expired,
}

/// A remaining-share alert on a pack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AlertSetting {
    /// Fire when remaining / total falls to or below this share (0–1).
    pub threshold: Decimal,
    /// The same threshold in units: fire when `remaining ≤ threshold_units`
    /// (`remaining / total ≤ t` ⇔ `remaining ≤ ⌊t · total⌋` for whole units).
    pub threshold_units: u64,
    /// Whether it has fired since it was last armed.
    pub fired: bool,
}

impl AlertSetting {
    /// An armed alert at `threshold` (0–1) for a pack of `total` units.
    pub fn armed(threshold: Decimal, total: u64) -> AlertSetting {
        let units = (threshold * Decimal::from(total)).floor();
        AlertSetting { threshold, threshold_units: u64::try_from(units).unwrap_or(0), fired: false }
    }
}

/// A purchased pack.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pack {
    /// `cloudauthflowbag-` + 32 digits.
    pub id: PackId,
    /// The owning account.
    pub account: AccountId,
    /// What was bought.
    pub spec: PackSpec,
    /// Amount actually paid (excluding coupons, vouchers and platform-paid discounts).
    pub paid: Decimal,
    /// Start of validity: the purchase instant.
    pub effective: DateTime<Utc>,
    /// End of validity (exclusive): one year later, rounded up to the next midnight of
    /// the billing zone.
    pub expiry: DateTime<Utc>,
    /// Units left.
    pub remaining: u64,
    /// The remaining-share alert, if set.
    pub alert: Option<AlertSetting>,
}

/// The expiry of a pack bought at `effective`: twelve calendar months later in the
/// billing zone (29 February → 28 February), rounded up to the next midnight.
/// `2020-04-01 18:20:56 +08:00` → `2021-04-02 00:00:00 +08:00`; a purchase exactly at
/// midnight expires exactly at midnight a year later.
pub fn expiry_of(effective: DateTime<Utc>, zone: BillingZone) -> DateTime<Utc> {
    let local = effective.with_timezone(&zone.offset()).naive_local();
    let year_later = local.checked_add_months(Months::new(12)).unwrap_or(local);
    let as_utc = zone.at(year_later.date(), year_later.time());
    zone.ceil_to_midnight(as_utc)
}

/// What a refund request would return.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RefundQuote {
    /// Bought ≤ 5 days ago and unused: the full amount paid.
    Full {
        /// The refund, CNY.
        amount: Decimal,
    },
    /// Bought ≤ 5 days ago and used: paid − used × list price, never below zero,
    /// truncated to the fen (never more than owed).
    Partial {
        /// The refund, CNY.
        amount: Decimal,
        /// Units used.
        used: u64,
    },
    /// Bought 5–180 days ago: not automatic.
    ManualReview,
    /// Bought more than 180 days ago: no refund, even if unused.
    NotRefundable,
}

impl Pack {
    /// Units drawn so far.
    pub fn used(&self) -> u64 {
        self.spec.units.saturating_sub(self.remaining)
    }

    /// Whether an event at `time` lies inside `[effective, expiry)`.
    pub fn covers(&self, time: DateTime<Utc>) -> bool {
        self.effective <= time && time < self.expiry
    }

    /// Status at `now`.
    pub fn status(&self, now: DateTime<Utc>) -> PackStatus {
        if now >= self.expiry {
            PackStatus::Expired
        } else if self.remaining == 0 {
            PackStatus::UsedUp
        } else {
            PackStatus::Valid
        }
    }

    /// Remaining share, `remaining / total`.
    pub fn remaining_share(&self) -> Decimal {
        if self.spec.units == 0 {
            return Decimal::ZERO;
        }
        Decimal::from(self.remaining).checked_div(Decimal::from(self.spec.units)).unwrap_or(Decimal::ZERO)
    }

    /// The refund a request at `now` would get.
    pub fn refund_quote(&self, now: DateTime<Utc>) -> RefundQuote {
        let age = now.signed_duration_since(self.effective);
        if age <= Duration::days(5) {
            let used = self.used();
            if used == 0 {
                return RefundQuote::Full { amount: self.paid };
            }
            let used_value = Decimal::from(used) * self.spec.pack_type.unit_list_price();
            let amount = (self.paid - used_value)
                .max(Decimal::ZERO)
                .round_dp_with_strategy(2, RoundingStrategy::ToZero);
            RefundQuote::Partial { amount, used }
        } else if age <= Duration::days(180) {
            RefundQuote::ManualReview
        } else {
            RefundQuote::NotRefundable
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn cst(y: i32, m: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        BillingZone::CHINA.offset().with_ymd_and_hms(y, m, d, h, mi, s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn observed_expiry() {
        assert_eq!(expiry_of(cst(2020, 4, 1, 18, 20, 56), BillingZone::CHINA), cst(2021, 4, 2, 0, 0, 0));
    }

    #[test]
    fn expiry_edges() {
        let zone = BillingZone::CHINA;
        assert_eq!(expiry_of(cst(2020, 4, 1, 0, 0, 0), zone), cst(2021, 4, 1, 0, 0, 0));
        assert_eq!(expiry_of(cst(2020, 2, 29, 3, 0, 0), zone), cst(2021, 3, 1, 0, 0, 0));
        assert_eq!(expiry_of(cst(2020, 12, 31, 23, 59, 59), zone), cst(2022, 1, 1, 0, 0, 0));
        // 07:00 CST is still the previous day in UTC; the rounding uses CST midnights.
        assert_eq!(expiry_of(cst(2020, 6, 1, 7, 0, 0), zone), cst(2021, 6, 2, 0, 0, 0));
    }
}
