//! Money rules: amounts are `Decimal` CNY, rounded once per bill line to the fen with an
//! explicit mode, the dropped remainder kept; the bounds every amount and price must
//! respect; exact (checked) arithmetic; and the object-storage estimate.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use shiren_catalog::{Pricing, Solution};

/// The highest unit price (CNY) a negotiated contract may set: 10,000 CNY per unit.
pub const MAX_UNIT_PRICE: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);

/// The most decimal places a unit price may have (list prices have three).
pub const MAX_PRICE_DECIMALS: u32 = 6;

/// The largest single top-up or refund: 10,000,000,000 CNY (ten billion).
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(1_410_065_408, 2, 0, false, 0);

/// The largest balance a top-up or refund may bring an account to: 10^12 CNY.
pub const MAX_BALANCE: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// The most units a restored snapshot may hold for one day and solution (or one
/// adjustment): 10^15. Live usage arrives one unit per record, so it stays far below.
pub const MAX_UNITS: u64 = 1_000_000_000_000_000;

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
    // Rounding to two places moves the value by less than one fen: the difference
    // always fits, so the fallback is never taken.
    (rounded, amount.checked_sub(rounded).unwrap_or(Decimal::ZERO))
}

/// A money computation whose result a `Decimal` cannot hold exactly (it would overflow
/// or lose digits). Nothing is computed from a rounded intermediate: the operation that
/// needed it is refused instead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the amount is too large to compute exactly")]
pub struct MoneyOverflow;

/// `a + b`, exactly, at the larger of the two scales, or [`MoneyOverflow`].
/// (`Decimal`'s own `checked_add` silently drops digits when the exact sum needs more
/// than 96 bits at its scale, so the sum is computed on the integer mantissas.)
pub(crate) fn add_exact(a: Decimal, b: Decimal) -> Result<Decimal, MoneyOverflow> {
    let scale = a.scale().max(b.scale());
    let sum = rescaled(a, scale)?.checked_add(rescaled(b, scale)?).ok_or(MoneyOverflow)?;
    Decimal::try_from_i128_with_scale(sum, scale).map_err(|_| MoneyOverflow)
}

/// `a × b`, exactly, at the sum of the two scales, or [`MoneyOverflow`] (also when
/// that scale would exceed 28).
pub(crate) fn mul_exact(a: Decimal, b: Decimal) -> Result<Decimal, MoneyOverflow> {
    let scale = a.scale().checked_add(b.scale()).ok_or(MoneyOverflow)?;
    let product = a.mantissa().checked_mul(b.mantissa()).ok_or(MoneyOverflow)?;
    Decimal::try_from_i128_with_scale(product, scale).map_err(|_| MoneyOverflow)
}

/// The mantissa of `d` at `scale` (≥ its own), or [`MoneyOverflow`].
fn rescaled(d: Decimal, scale: u32) -> Result<i128, MoneyOverflow> {
    let factor =
        10i128.checked_pow(scale.checked_sub(d.scale()).ok_or(MoneyOverflow)?).ok_or(MoneyOverflow)?;
    d.mantissa().checked_mul(factor).ok_or(MoneyOverflow)
}

/// Σ `amounts`, exactly, or [`MoneyOverflow`].
pub(crate) fn sum_exact(amounts: impl IntoIterator<Item = Decimal>) -> Result<Decimal, MoneyOverflow> {
    amounts.into_iter().try_fold(Decimal::ZERO, add_exact)
}

/// The number of decimal places `value` really needs (`1.50` needs one).
fn decimals(value: Decimal) -> u32 {
    value.normalize().scale()
}

/// A unit price was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PriceError {
    /// A price below zero would credit the customer for usage.
    #[error("the price {price} of `{solution}` is negative")]
    Negative {
        /// The solution priced.
        solution: Solution,
        /// The refused price.
        price: Decimal,
    },
    /// Above [`MAX_UNIT_PRICE`].
    #[error("the price {price} of `{solution}` is above the maximum unit price of 10000 CNY")]
    TooHigh {
        /// The solution priced.
        solution: Solution,
        /// The refused price.
        price: Decimal,
    },
    /// More than [`MAX_PRICE_DECIMALS`] decimal places.
    #[error("the price {price} of `{solution}` has more than 6 decimal places")]
    TooPrecise {
        /// The solution priced.
        solution: Solution,
        /// The refused price.
        price: Decimal,
    },
}

/// Checks one unit price: `0 ≤ price ≤ MAX_UNIT_PRICE` with at most
/// [`MAX_PRICE_DECIMALS`] decimal places. Zero is a free contract and is allowed.
pub fn check_unit_price(solution: Solution, price: Decimal) -> Result<(), PriceError> {
    if price.is_sign_negative() && !price.is_zero() {
        return Err(PriceError::Negative { solution, price });
    }
    if price > MAX_UNIT_PRICE {
        return Err(PriceError::TooHigh { solution, price });
    }
    if decimals(price) > MAX_PRICE_DECIMALS {
        return Err(PriceError::TooPrecise { solution, price });
    }
    Ok(())
}

/// Checks every negotiated price of `pricing` with [`check_unit_price`] (list prices
/// are within the bounds by construction).
pub fn check_pricing(pricing: &Pricing) -> Result<(), PriceError> {
    pricing.overrides.iter().try_for_each(|(&solution, &price)| check_unit_price(solution, price))
}

/// Why a top-up or refund amount was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AmountProblem {
    NotPositive,
    TooLarge,
    SubFen,
}

/// A top-up or refund amount must be positive, at most [`MAX_AMOUNT`], and whole fen.
pub(crate) fn check_amount(amount: Decimal) -> Result<(), AmountProblem> {
    if amount <= Decimal::ZERO {
        Err(AmountProblem::NotPositive)
    } else if amount > MAX_AMOUNT {
        Err(AmountProblem::TooLarge)
    } else if decimals(amount) > 2 {
        Err(AmountProblem::SubFen)
    } else {
        Ok(())
    }
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

/// A storage estimate was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// A photo cannot have a negative size.
    #[error("a photo's size {0} MB is negative")]
    NegativeSize(Decimal),
    /// The inputs are too large to compute exactly.
    #[error(transparent)]
    Overflow(#[from] MoneyOverflow),
}

/// Estimates storage cost. GB means 1024 MB; the gigabytes are rounded half up to a
/// whole GB (as the service's worked example does: 30,000 MB ≈ 29 GB), then priced at
/// 0.12 CNY/GB/month and rounded half up to the fen.
pub fn storage_estimate(
    photos_per_day: u64,
    megabytes_per_photo: Decimal,
    retention_days: u32,
) -> Result<StorageEstimate, StorageError> {
    if megabytes_per_photo.is_sign_negative() && !megabytes_per_photo.is_zero() {
        return Err(StorageError::NegativeSize(megabytes_per_photo));
    }
    let per_day = mul_exact(Decimal::from(photos_per_day), megabytes_per_photo)?;
    let megabytes = mul_exact(per_day, Decimal::from(retention_days))?;
    let gigabytes = megabytes
        .checked_div(Decimal::from(1024))
        .ok_or(MoneyOverflow)?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let (monthly_cost, _) = to_fen(mul_exact(gigabytes, STORAGE_PRICE_PER_GB_MONTH)?, Rounding::HalfUp);
    Ok(StorageEstimate { megabytes, gigabytes, monthly_cost })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(text: &str) -> Decimal {
        text.parse().unwrap()
    }

    #[test]
    fn bounds_are_what_the_readme_says() {
        assert_eq!(MAX_UNIT_PRICE, d("10000"));
        assert_eq!(MAX_AMOUNT, d("10000000000"));
        assert_eq!(MAX_BALANCE, d("1000000000000"));
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
        let e = storage_estimate(10_000, d("0.1"), 30).unwrap();
        assert_eq!(e.megabytes, d("30000"));
        assert_eq!(e.gigabytes, d("29"));
        assert_eq!(e.monthly_cost, d("3.48"));
    }

    #[test]
    fn hostile_storage_inputs_are_refused_not_panics() {
        assert_eq!(
            storage_estimate(u64::MAX, Decimal::MAX, u32::MAX),
            Err(StorageError::Overflow(MoneyOverflow))
        );
        assert_eq!(storage_estimate(1, d("-0.1"), 30), Err(StorageError::NegativeSize(d("-0.1"))));
        assert_eq!(storage_estimate(0, Decimal::MAX, u32::MAX).unwrap().monthly_cost, Decimal::ZERO);
    }

    #[test]
    fn prices() {
        let s = Solution::App;
        assert_eq!(check_unit_price(s, d("0")), Ok(()));
        assert_eq!(check_unit_price(s, d("0.182")), Ok(()));
        assert_eq!(check_unit_price(s, d("10000.000000")), Ok(()));
        assert_eq!(check_unit_price(s, d("-1")), Err(PriceError::Negative { solution: s, price: d("-1") }));
        assert_eq!(
            check_unit_price(s, d("10000.01")),
            Err(PriceError::TooHigh { solution: s, price: d("10000.01") })
        );
        assert_eq!(
            check_unit_price(s, d("0.1234567")),
            Err(PriceError::TooPrecise { solution: s, price: d("0.1234567") })
        );
        assert_eq!(
            check_unit_price(s, d("0.12345670")),
            Err(PriceError::TooPrecise { solution: s, price: d("0.12345670") })
        );
        assert_eq!(check_unit_price(s, d("0.1234560")), Ok(()));
    }

    #[test]
    fn amounts() {
        assert_eq!(check_amount(d("0.01")), Ok(()));
        assert_eq!(check_amount(d("20.000")), Ok(()));
        assert_eq!(check_amount(MAX_AMOUNT), Ok(()));
        assert_eq!(check_amount(d("0")), Err(AmountProblem::NotPositive));
        assert_eq!(check_amount(d("-0.01")), Err(AmountProblem::NotPositive));
        assert_eq!(check_amount(d("0.001")), Err(AmountProblem::SubFen));
        assert_eq!(check_amount(MAX_AMOUNT + d("0.01")), Err(AmountProblem::TooLarge));
    }

    /// A `Decimal` as (mantissa, scale), for comparing against integer arithmetic.
    fn decimal() -> impl Strategy<Value = Decimal> {
        (any::<i128>(), 0u32..=28).prop_map(|(m, s)| {
            let m = m % (1i128 << 96);
            Decimal::from_i128_with_scale(m, s)
        })
    }

    /// The exact value of a decimal as a rational over 10^28, in i128 when it fits.
    fn scaled(d: Decimal, to: u32) -> Option<i128> {
        d.mantissa().checked_mul(10i128.checked_pow(to.checked_sub(d.scale())?)?)
    }

    proptest! {
        /// `add_exact` returns the true sum (checked on the mantissas at a common
        /// scale) or refuses; it never refuses a sum that fits.
        #[test]
        fn add_is_exact_or_refused(a in decimal(), b in decimal()) {
            let s = a.scale().max(b.scale());
            let truth = scaled(a, s).zip(scaled(b, s)).and_then(|(x, y)| x.checked_add(y));
            match (add_exact(a, b), truth) {
                (Ok(sum), Some(t)) => {
                    prop_assert_eq!(sum.scale(), s);
                    prop_assert_eq!(sum.mantissa(), t);
                }
                (Ok(sum), None) => prop_assert!(false, "{a} + {b} = {sum} claimed exact"),
                (Err(_), Some(t)) => prop_assert!(t.unsigned_abs() >= 1u128 << 96),
                (Err(_), None) => {}
            }
            if let Ok(sum) = add_exact(a, b) {
                prop_assert_eq!(Some(sum), a.checked_add(b));
            }
        }

        /// `mul_exact` returns the true product or refuses; it never refuses a product
        /// that fits at scale ≤ 28.
        #[test]
        fn mul_is_exact_or_refused(a in decimal(), b in decimal()) {
            let truth = a.mantissa().checked_mul(b.mantissa());
            match (mul_exact(a, b), truth) {
                (Ok(p), Some(m)) => {
                    prop_assert_eq!(p.mantissa(), m);
                    prop_assert_eq!(p.scale(), a.scale() + b.scale());
                    prop_assert_eq!(Some(p), a.checked_mul(b));
                }
                (Ok(p), None) => prop_assert!(false, "{a} × {b} = {p} claimed exact"),
                (Err(_), Some(m)) => prop_assert!(m.unsigned_abs() >= 1u128 << 96 || a.scale() + b.scale() > 28),
                (Err(_), None) => {}
            }
        }
    }

    #[test]
    fn zero_operands_and_trailing_zeros_stay_exact() {
        assert_eq!(add_exact(d("0.000"), d("0.80")), Ok(d("0.800")));
        assert_eq!(add_exact(d("0.00"), d("0.0")).map(|s| s.scale()), Ok(2));
        assert_eq!(mul_exact(Decimal::ZERO, d("0.8")), Ok(Decimal::ZERO));
        assert_eq!(mul_exact(d("3"), d("0.182")), Ok(d("0.546")));
        assert_eq!(add_exact(Decimal::MAX, Decimal::ONE), Err(MoneyOverflow));
        assert_eq!(add_exact(Decimal::MAX, d("0.01")), Err(MoneyOverflow));
        assert_eq!(mul_exact(Decimal::MAX, d("2")), Err(MoneyOverflow));
    }
}
