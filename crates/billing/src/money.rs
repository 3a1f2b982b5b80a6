//! Money rules: amounts are `Decimal` CNY, rounded once per bill line to the fen with an
//! explicit mode, the dropped remainder kept; and the object-storage estimate.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// How a bill line's exact amount becomes fen. Never `round_dp`'s banker's rounding.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Rounding {
    /// Truncate toward zero, as the cloud charges (the default).
    #[default]
    TowardZero,
    /// Half a fen or more rounds up (away from zero).
    HalfUp,
}

/// `amount` rounded to the fen, and what rounding dropped (`exact = rounded + remainder`).
pub fn to_fen(amount: Decimal, rounding: Rounding) -> (Decimal, Decimal) {
    let strategy = match rounding {
        Rounding::TowardZero => RoundingStrategy::ToZero,
        Rounding::HalfUp => RoundingStrategy::MidpointAwayFromZero,
    };
    let rounded = amount.round_dp_with_strategy(2, strategy);
    (rounded, amount - rounded)
}

/// Object-storage price: standard locally redundant storage, CNY per GB per month.
pub const STORAGE_PRICE_PER_GB_MONTH: Decimal = Decimal::from_parts(12, 0, 0, false, 2);

/// The monthly cost of keeping face photos in object storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageEstimate {
    /// Megabytes held at steady state: photos per day × size × retention days.
    pub megabytes: Decimal,
    /// Whole gigabytes billed: megabytes / 1024, rounded half up to a whole GB.
    pub gigabytes: Decimal,
    /// `gigabytes × 0.12`, rounded half up to the fen.
    pub monthly_cost: Decimal,
}

/// Estimates storage cost. GB means 1024 MB; the gigabytes are rounded half up to a
/// whole GB (as the service's worked example does: 30,000 MB ≈ 29 GB), then priced at
/// 0.12 CNY/GB/month and rounded half up to the fen.
pub fn storage_estimate(
    photos_per_day: u64,
    megabytes_per_photo: Decimal,
    retention_days: u32,
) -> StorageEstimate {
    let megabytes = Decimal::from(photos_per_day) * megabytes_per_photo * Decimal::from(retention_days);
    let gigabytes =
        (megabytes / Decimal::from(1024)).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let (monthly_cost, _) = to_fen(gigabytes * STORAGE_PRICE_PER_GB_MONTH, Rounding::HalfUp);
    StorageEstimate { megabytes, gigabytes, monthly_cost }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn fen_rounding_modes() {
        let cases = [
            ("1.009", Rounding::TowardZero, "1.00", "0.009"),
            ("1.009", Rounding::HalfUp, "1.01", "-0.001"),
            ("1.005", Rounding::HalfUp, "1.01", "-0.005"),
            ("1.015", Rounding::HalfUp, "1.02", "-0.005"),
            ("1.004", Rounding::HalfUp, "1.00", "0.004"),
            ("0.182", Rounding::TowardZero, "0.18", "0.002"),
            ("7", Rounding::TowardZero, "7", "0"),
        ];
        for (amount, mode, rounded, remainder) in cases {
            let (r, rem) = to_fen(d(amount), mode);
            assert_eq!((r, rem), (d(rounded), d(remainder)), "{amount} {mode:?}");
            assert_eq!(r + rem, d(amount));
        }
    }

    #[test]
    fn the_worked_storage_example() {
        let e = storage_estimate(10_000, d("0.1"), 30);
        assert_eq!(e.megabytes, d("30000"));
        assert_eq!(e.gigabytes, d("29"));
        assert_eq!(e.monthly_cost, d("3.48"));
    }
}
