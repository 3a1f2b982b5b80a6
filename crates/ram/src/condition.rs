//! Condition operators, their compiled values, and how they test a request context.
//!
//! Semantics (pinned by tests):
//! - several values of one key: OR; several keys under one operator: AND; several
//!   operators: AND;
//! - a negated operator (`StringNotEquals`, `NotIpAddress`, …) with several values is a
//!   NOR: it holds only when no value matches;
//! - a key absent from the request: a positive operator is false, a negated one true;
//! - a context value of the wrong type never matches (so a positive operator is false
//!   and a negated one true), except that strings are read as the operator's type
//!   (`"false"` for `Bool`, `"10.0.0.1"` for `IpAddress`, …);
//! - numbers are exact decimals (`rust_decimal`), never floating point: a number that
//!   is written correctly but does not fit a `Decimal` exactly (beyond ±7.9·10²⁸, or
//!   more than 28 decimal places) makes a comparison that needs it undecidable, and an
//!   undecidable condition makes its statement fail closed (an Allow never applies, a
//!   Deny always does).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::context::{Context, ContextValue};
use crate::glob::{Case, Pattern};

/// The operator families of the policy language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Family {
    /// String comparisons.
    String,
    /// Numeric comparisons.
    Numeric,
    /// ISO 8601 date comparisons.
    Date,
    /// `Bool`.
    Boolean,
    /// IP address / CIDR membership.
    Ip,
}

macro_rules! operators {
    ($($variant:ident => $family:ident, $negated:expr;)*) => {
        /// A condition operator.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[allow(missing_docs, reason = "each variant is the operator of the same name")]
        pub enum Operator { $($variant),* }

        impl Operator {
            /// Every operator, in documentation order.
            pub const ALL: &'static [Operator] = &[$(Operator::$variant),*];

            /// The operator's name as written in policies.
            pub fn name(self) -> &'static str {
                match self { $(Operator::$variant => stringify!($variant)),* }
            }

            /// The operator's family.
            pub fn family(self) -> Family {
                match self { $(Operator::$variant => Family::$family),* }
            }

            /// Whether this is a negated operator (NOR over its values).
            pub fn is_negated(self) -> bool {
                match self { $(Operator::$variant => $negated),* }
            }
        }
    };
}

operators! {
    StringEquals => String, false;
    StringNotEquals => String, true;
    StringEqualsIgnoreCase => String, false;
    StringNotEqualsIgnoreCase => String, true;
    StringLike => String, false;
    StringNotLike => String, true;
    NumericEquals => Numeric, false;
    NumericNotEquals => Numeric, true;
    NumericLessThan => Numeric, false;
    NumericLessThanEquals => Numeric, false;
    NumericGreaterThan => Numeric, false;
    NumericGreaterThanEquals => Numeric, false;
    DateEquals => Date, false;
    DateNotEquals => Date, true;
    DateLessThan => Date, false;
    DateLessThanEquals => Date, false;
    DateGreaterThan => Date, false;
    DateGreaterThanEquals => Date, false;
    Bool => Boolean, false;
    IpAddress => Ip, false;
    NotIpAddress => Ip, true;
}

impl FromStr for Operator {
    type Err = ();
    /// Operator names are matched exactly, as the cloud does.
    fn from_str(name: &str) -> Result<Operator, ()> {
        Operator::ALL.iter().copied().find(|op| op.name() == name).ok_or(())
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An IPv4 or IPv6 network: an address and a prefix length.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// Whether `ip` lies inside this network. IPv4 never matches an IPv6 network and
    /// vice versa, except IPv4-mapped IPv6 addresses, which are read as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for IpNet {
    type Err = String;
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `2001:db8::/32`.
    fn from_str(text: &str) -> Result<IpNet, String> {
        let (addr_text, prefix_text) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr =
            addr_text.parse().map_err(|_| format!("`{text}` is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix_text {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max && !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| format!("`{text}` has an invalid prefix length (0–{max})"))?,
        };
        Ok(IpNet { addr, prefix })
    }
}

/// Parses an ISO 8601 date-time (`2012-11-11T23:59:59Z`, with any offset) or a date
/// (`2012-11-11`, read as midnight UTC).
pub(crate) fn parse_date(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc())
}

/// Parses a `Bool` value: `true` or `false` in any ASCII case, nothing else.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A number read from a policy or a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Number {
    /// The exact value.
    Exact(Decimal),
    /// Written as a number, but a `Decimal` cannot hold it exactly: comparisons with it
    /// cannot be decided.
    OutOfRange,
}

/// Largest power of ten applied to a mantissa before giving up (a `Decimal` holds at
/// most 29 digits, so anything beyond is out of range anyway).
const MAX_EXPONENT: i64 = 1_000_000;

/// Parses a numeric value exactly: `[+-]digits[.digits][(e|E)[+-]digits]` (`.5` and `5.`
/// too). `None` if the text is not a number at all; `Some(OutOfRange)` if it is one
/// that no `Decimal` holds exactly. Never allocates; linear in the length of `text`.
pub(crate) fn parse_number(text: &str) -> Option<Number> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let negative = match bytes.first() {
        Some(b'-') => {
            at = 1;
            true
        }
        Some(b'+') => {
            at = 1;
            false
        }
        _ => false,
    };
    let digits_from = |start: usize| {
        let len = bytes.get(start..).unwrap_or_default().iter().take_while(|b| b.is_ascii_digit()).count();
        (start, start + len)
    };
    let (int_start, int_end) = digits_from(at);
    at = int_end;
    let (mut frac_start, mut frac_end) = (at, at);
    if bytes.get(at) == Some(&b'.') {
        (frac_start, frac_end) = digits_from(at + 1);
        at = frac_end;
    }
    if int_start == int_end && frac_start == frac_end {
        return None;
    }
    let mut exponent: i64 = 0;
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        let exp_negative = match bytes.get(at) {
            Some(b'-') => {
                at += 1;
                true
            }
            Some(b'+') => {
                at += 1;
                false
            }
            _ => false,
        };
        let (exp_start, exp_end) = digits_from(at);
        if exp_start == exp_end {
            return None;
        }
        for &b in bytes.get(exp_start..exp_end).unwrap_or_default() {
            exponent = (exponent * 10 + i64::from(b - b'0')).min(MAX_EXPONENT);
        }
        if exp_negative {
            exponent = -exponent;
        }
        at = exp_end;
    }
    if at != bytes.len() {
        return None;
    }
    // Trailing zeros of the fraction do not change the value.
    let fraction = bytes.get(frac_start..frac_end).unwrap_or_default();
    let fraction = fraction.get(..fraction.iter().rposition(|&b| b != b'0').map_or(0, |i| i + 1));
    let mut integer = bytes.get(int_start..int_end).unwrap_or_default();
    if fraction.is_none_or(<[u8]>::is_empty) {
        // Trailing zeros of a whole number move into the exponent, so that `1000…0e-40`
        // is read as the small number it is.
        let zeros = integer.iter().rev().take_while(|&&b| b == b'0').count();
        integer = integer.get(..integer.len() - zeros).unwrap_or_default();
        exponent = exponent.saturating_add(i64::try_from(zeros).unwrap_or(i64::MAX));
    }
    let mut mantissa: i128 = 0;
    for &b in integer.iter().chain(fraction.unwrap_or_default()) {
        match mantissa.checked_mul(10).and_then(|m| m.checked_add(i128::from(b - b'0'))) {
            Some(m) => mantissa = m,
            None => return Some(Number::OutOfRange),
        }
    }
    if mantissa == 0 {
        return Some(Number::Exact(Decimal::ZERO));
    }
    let fraction_len = i64::try_from(fraction.map_or(0, <[u8]>::len)).unwrap_or(i64::MAX);
    let mut scale = fraction_len.saturating_sub(exponent);
    while scale < 0 {
        match mantissa.checked_mul(10) {
            Some(m) => mantissa = m,
            None => return Some(Number::OutOfRange),
        }
        scale += 1;
    }
    while scale > i64::from(Decimal::MAX_SCALE) && mantissa % 10 == 0 {
        mantissa /= 10;
        scale -= 1;
    }
    let Ok(scale) = u32::try_from(scale) else { return Some(Number::OutOfRange) };
    let signed = if negative { -mantissa } else { mantissa };
    Some(Decimal::try_from_i128_with_scale(signed, scale).map_or(Number::OutOfRange, Number::Exact))
}

/// Reads a floating-point context value as the shortest decimal that prints it (so
/// `0.1` is `0.1`), written into a stack buffer: no allocation. Infinities, NaN and
/// values a `Decimal` cannot hold exactly are out of range.
pub(crate) fn number_from_f64(value: f64) -> Number {
    struct Buffer {
        bytes: [u8; 48],
        len: usize,
    }
    impl fmt::Write for Buffer {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            let end = self.len.checked_add(s.len()).ok_or(fmt::Error)?;
            self.bytes.get_mut(self.len..end).ok_or(fmt::Error)?.copy_from_slice(s.as_bytes());
            self.len = end;
            Ok(())
        }
    }
    if !value.is_finite() {
        return Number::OutOfRange;
    }
    let mut buffer = Buffer { bytes: [0; 48], len: 0 };
    if fmt::Write::write_fmt(&mut buffer, format_args!("{value}")).is_err() {
        // Longer than any exact `Decimal`.
        return Number::OutOfRange;
    }
    buffer
        .bytes
        .get(..buffer.len)
        .and_then(|b| std::str::from_utf8(b).ok())
        .and_then(parse_number)
        .unwrap_or(Number::OutOfRange)
}

/// The values of one condition, compiled for the operator's family.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Values {
    Strings(Vec<Box<str>>),
    Globs(Vec<Pattern>),
    Numbers(Vec<Number>),
    Dates(Vec<DateTime<Utc>>),
    Bools(Vec<bool>),
    Nets(Vec<IpNet>),
}

/// One compiled `Operator: { key: values }` entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Condition {
    pub(crate) operator: Operator,
    pub(crate) key: Box<str>,
    pub(crate) values: Values,
}

impl Condition {
    /// Compiles `values` for `operator`; on a malformed value returns its index and why.
    pub(crate) fn compile(
        operator: Operator,
        key: &str,
        values: &[String],
    ) -> Result<Condition, (usize, String)> {
        fn each<T>(
            values: &[String],
            parse: impl Fn(&str) -> Result<T, String>,
        ) -> Result<Vec<T>, (usize, String)> {
            values.iter().enumerate().map(|(i, v)| parse(v).map_err(|e| (i, e))).collect()
        }
        let compiled = match operator.family() {
            Family::String => match operator {
                Operator::StringLike | Operator::StringNotLike => {
                    Values::Globs(values.iter().map(|v| Pattern::new(v, Case::Sensitive)).collect())
                }
                Operator::StringEqualsIgnoreCase | Operator::StringNotEqualsIgnoreCase => {
                    Values::Strings(values.iter().map(|v| v.to_lowercase().into()).collect())
                }
                _ => Values::Strings(values.iter().map(|v| v.as_str().into()).collect()),
            },
            Family::Numeric => Values::Numbers(each(values, |v| {
                parse_number(v).ok_or_else(|| format!("`{v}` is not a number"))
            })?),
            Family::Date => Values::Dates(each(values, |v| {
                parse_date(v)
                    .ok_or_else(|| format!("`{v}` is not an ISO 8601 date (e.g. `2012-11-11T23:59:59Z`)"))
            })?),
            Family::Boolean => Values::Bools(each(values, |v| {
                parse_bool(v).ok_or_else(|| format!("`{v}` is not `true` or `false`"))
            })?),
            Family::Ip => Values::Nets(each(values, |v| v.parse::<IpNet>())?),
        };
        Ok(Condition { operator, key: key.into(), values: compiled })
    }

    /// Whether the condition holds for `context`: `None` when it cannot be decided
    /// (a number that does not fit a `Decimal` is needed to answer).
    pub(crate) fn holds(&self, context: &Context<'_>) -> Option<bool> {
        let mut any_match = false;
        let mut undecided = false;
        for value in context.values(&self.key) {
            match self.matches_one(value) {
                Some(true) => {
                    any_match = true;
                    break;
                }
                Some(false) => {}
                None => undecided = true,
            }
        }
        // OR over the values: one definite match decides; otherwise an undecidable
        // comparison leaves the answer open. An absent key is simply no match.
        let positive = if any_match {
            Some(true)
        } else if undecided {
            None
        } else {
            Some(false)
        };
        if self.operator.is_negated() {
            // NOR over the values; an absent key makes a negated operator true.
            positive.map(|m| !m)
        } else {
            positive
        }
    }

    /// Whether one context value matches any of the condition's values, using the
    /// positive form of the operator; `None` when that cannot be decided.
    fn matches_one(&self, value: &ContextValue<'_>) -> Option<bool> {
        use Operator as O;
        let decided = match &self.values {
            Values::Strings(expected) => {
                let ContextValue::Str(actual) = value else { return Some(false) };
                match self.operator {
                    O::StringEqualsIgnoreCase | O::StringNotEqualsIgnoreCase => {
                        expected.iter().any(|e| eq_ignore_case(e, actual))
                    }
                    _ => expected.iter().any(|e| **e == **actual),
                }
            }
            Values::Globs(patterns) => {
                let ContextValue::Str(actual) = value else { return Some(false) };
                patterns.iter().any(|p| p.matches(actual))
            }
            Values::Numbers(expected) => return self.matches_number(value, expected),
            Values::Dates(expected) => {
                let Some(actual) = value.as_date() else { return Some(false) };
                expected.iter().any(|&e| match self.operator {
                    O::DateEquals | O::DateNotEquals => actual == e,
                    O::DateLessThan => actual < e,
                    O::DateLessThanEquals => actual <= e,
                    O::DateGreaterThan => actual > e,
                    _ => actual >= e,
                })
            }
            Values::Bools(expected) => {
                let Some(actual) = value.as_bool() else { return Some(false) };
                expected.contains(&actual)
            }
            Values::Nets(nets) => {
                let Some(actual) = value.as_ip() else { return Some(false) };
                nets.iter().any(|n| n.contains(actual))
            }
        };
        Some(decided)
    }

    /// Exact decimal comparison of one context value with the condition's numbers: a
    /// definite match wins, otherwise an out-of-range number on either side leaves the
    /// answer undecided. A value that is not a number at all never matches.
    fn matches_number(&self, value: &ContextValue<'_>, expected: &[Number]) -> Option<bool> {
        use Operator as O;
        let Some(actual) = value.as_number() else { return Some(false) };
        let Number::Exact(actual) = actual else { return None };
        let mut undecided = false;
        for e in expected {
            let Number::Exact(e) = *e else {
                undecided = true;
                continue;
            };
            let matched = match self.operator {
                O::NumericEquals | O::NumericNotEquals => actual == e,
                O::NumericLessThan => actual < e,
                O::NumericLessThanEquals => actual <= e,
                O::NumericGreaterThan => actual > e,
                _ => actual >= e,
            };
            if matched {
                return Some(true);
            }
        }
        if undecided { None } else { Some(false) }
    }
}

/// Compares `lowered` (already lower-case) with `actual` ignoring case, without
/// allocating for ASCII text.
fn eq_ignore_case(lowered: &str, actual: &str) -> bool {
    if actual.is_ascii() && lowered.is_ascii() {
        lowered.eq_ignore_ascii_case(actual)
    } else {
        actual.chars().flat_map(char::to_lowercase).eq(lowered.chars())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holds(op: Operator, key: &str, values: &[&str], ctx: &[(&str, ContextValue<'_>)]) -> Option<bool> {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        Condition::compile(op, key, &values).unwrap().holds(&Context::new(ctx))
    }

    use ContextValue as V;

    macro_rules! condition_table {
        ($($name:ident: $op:ident, $values:expr, $ctx:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(holds(Operator::$op, "k", &$values, &$ctx), Some($expected));
            }
        )*};
    }

    condition_table! {
        string_equals_match: StringEquals, ["a", "b"], [("k", V::Str("b"))] => true;
        string_equals_case: StringEquals, ["a"], [("k", V::Str("A"))] => false;
        string_equals_absent: StringEquals, ["a"], [] => false;
        string_not_equals_nor: StringNotEquals, ["a", "b"], [("k", V::Str("b"))] => false;
        string_not_equals_other: StringNotEquals, ["a", "b"], [("k", V::Str("c"))] => true;
        string_not_equals_absent: StringNotEquals, ["a"], [] => true;
        string_ignore_case: StringEqualsIgnoreCase, ["Hello"], [("k", V::Str("hELLO"))] => true;
        string_ignore_case_unicode: StringEqualsIgnoreCase, ["ÉTÉ"], [("k", V::Str("été"))] => true;
        string_not_ignore_case: StringNotEqualsIgnoreCase, ["Hello"], [("k", V::Str("HELLO"))] => false;
        string_not_ignore_case_absent: StringNotEqualsIgnoreCase, ["Hello"], [] => true;
        string_like: StringLike, ["vpc-*"], [("k", V::Str("vpc-123"))] => true;
        string_like_whole: StringLike, ["vpc-?"], [("k", V::Str("vpc-12"))] => false;
        string_not_like: StringNotLike, ["vpc-*"], [("k", V::Str("vpc-123"))] => false;
        string_not_like_absent: StringNotLike, ["vpc-*"], [] => true;
        string_wrong_type: StringEquals, ["true"], [("k", V::Bool(true))] => false;
        numeric_equals: NumericEquals, ["10"], [("k", V::Number(10.0))] => true;
        numeric_equals_decimal_text: NumericEquals, ["10.0"], [("k", V::Str("10"))] => true;
        numeric_not_equals: NumericNotEquals, ["10", "11"], [("k", V::Number(11.0))] => false;
        numeric_not_equals_absent: NumericNotEquals, ["10"], [] => true;
        numeric_less: NumericLessThan, ["10"], [("k", V::Number(9.5))] => true;
        numeric_less_boundary: NumericLessThan, ["10"], [("k", V::Number(10.0))] => false;
        numeric_less_equals: NumericLessThanEquals, ["10"], [("k", V::Number(10.0))] => true;
        numeric_greater: NumericGreaterThan, ["10"], [("k", V::Number(10.0))] => false;
        numeric_greater_equals: NumericGreaterThanEquals, ["10"], [("k", V::Number(10.0))] => true;
        numeric_unparseable_context: NumericEquals, ["10"], [("k", V::Str("ten"))] => false;
        numeric_greater_beyond_f64: NumericGreaterThan, ["9007199254740992"], [("k", V::Str("9007199254740993"))] => true;
        numeric_equals_beyond_f64: NumericEquals, ["9007199254740993"], [("k", V::Str("9007199254740992"))] => false;
        numeric_not_equals_beyond_f64: NumericNotEquals, ["9007199254740993"], [("k", V::Str("9007199254740992"))] => true;
        numeric_less_beyond_f64: NumericLessThan, ["9007199254740993"], [("k", V::Str("9007199254740992"))] => true;
        numeric_less_equals_beyond_f64: NumericLessThanEquals, ["9007199254740992"], [("k", V::Str("9007199254740993"))] => false;
        numeric_greater_equals_beyond_f64: NumericGreaterThanEquals, ["9007199254740993"], [("k", V::Str("9007199254740992"))] => false;
        numeric_long_decimal_exact: NumericLessThan, ["0.1000000000000000000000000001"], [("k", V::Str("0.1"))] => true;
        numeric_f64_shortest_decimal: NumericEquals, ["0.1"], [("k", V::Number(0.1))] => true;
        numeric_exponent: NumericEquals, ["1.5e3"], [("k", V::Str("1500"))] => true;
        numeric_trailing_zeros_fit: NumericEquals, ["1.00000000000000000000000000000000000000"], [("k", V::Str("1"))] => true;
        date_equals: DateEquals, ["2020-01-01T00:00:00Z"], [("k", V::Str("2020-01-01T08:00:00+08:00"))] => true;
        date_not_equals: DateNotEquals, ["2020-01-01T00:00:00Z"], [("k", V::Str("2020-01-02T00:00:00Z"))] => true;
        date_not_equals_absent: DateNotEquals, ["2020-01-01T00:00:00Z"], [] => true;
        date_less: DateLessThan, ["2020-01-01T00:00:00Z"], [("k", V::Str("2019-12-31T23:59:59Z"))] => true;
        date_less_boundary: DateLessThan, ["2020-01-01T00:00:00Z"], [("k", V::Str("2020-01-01T00:00:00Z"))] => false;
        date_less_equals: DateLessThanEquals, ["2020-01-01T00:00:00Z"], [("k", V::Str("2020-01-01T00:00:00Z"))] => true;
        date_greater: DateGreaterThan, ["2020-01-01"], [("k", V::Str("2020-01-01T00:00:01Z"))] => true;
        date_greater_equals: DateGreaterThanEquals, ["2020-01-01T00:00:00Z"], [("k", V::Str("2019-01-01T00:00:00Z"))] => false;
        bool_true: Bool, ["true"], [("k", V::Bool(true))] => true;
        bool_false_vs_true: Bool, ["false"], [("k", V::Bool(true))] => false;
        bool_string_context: Bool, ["false"], [("k", V::Str("False"))] => true;
        bool_garbage_context: Bool, ["false"], [("k", V::Str("no"))] => false;
        bool_absent: Bool, ["false"], [] => false;
        ip_v4_cidr: IpAddress, ["10.0.0.0/8"], [("k", V::Str("10.1.2.3"))] => true;
        ip_v4_outside: IpAddress, ["10.0.0.0/8"], [("k", V::Str("11.1.2.3"))] => false;
        ip_v4_single: IpAddress, ["192.168.1.1"], [("k", V::Str("192.168.1.1"))] => true;
        ip_v4_zero_prefix: IpAddress, ["0.0.0.0/0"], [("k", V::Str("8.8.8.8"))] => true;
        ip_v6_cidr: IpAddress, ["2001:db8::/32"], [("k", V::Str("2001:db8:1::1"))] => true;
        ip_v6_outside: IpAddress, ["2001:db8::/32"], [("k", V::Str("2001:db9::1"))] => false;
        ip_v4_mapped: IpAddress, ["10.0.0.0/8"], [("k", V::Str("::ffff:10.0.0.1"))] => true;
        ip_family_mismatch: IpAddress, ["10.0.0.0/8"], [("k", V::Str("::1"))] => false;
        not_ip_inside: NotIpAddress, ["10.0.0.0/8", "192.168.0.0/16"], [("k", V::Str("192.168.3.4"))] => false;
        not_ip_outside: NotIpAddress, ["10.0.0.0/8"], [("k", V::Str("8.8.8.8"))] => true;
        not_ip_absent: NotIpAddress, ["10.0.0.0/8"], [] => true;
        multi_valued_context_any: StringEquals, ["b"], [("k", V::Str("a")), ("k", V::Str("b"))] => true;
        key_is_case_insensitive: StringEquals, ["a"], [("K", V::Str("a"))] => true;
    }

    #[test]
    fn numbers_parse_exactly_or_say_they_do_not_fit() {
        let exact = |text: &str| match parse_number(text) {
            Some(Number::Exact(d)) => d,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(exact("9007199254740993").to_string(), "9007199254740993");
        assert_eq!(exact("-0.5"), exact("-.5"));
        assert_eq!(exact("5."), exact("5"));
        assert_eq!(exact("+12e-1"), exact("1.2"));
        assert_eq!(exact("0e999999999999"), Decimal::ZERO);
        assert_eq!(exact("10000000000000000000000000000000000000000e-40"), Decimal::ONE);
        assert_eq!(exact("79228162514264337593543950335"), Decimal::MAX);
        for too_big in [
            "79228162514264337593543950336",
            "1e29",
            "-1e40",
            "1e999999999999",
            "0.00000000000000000000000000001",
            "123456789012345678901234567890123456789012345",
        ] {
            assert_eq!(parse_number(too_big), Some(Number::OutOfRange), "{too_big}");
        }
        for not_a_number in
            ["", "-", ".", "e5", "1e", "1e+", "1_000", "0x10", "NaN", "inf", "1.2.3", " 1", "1 "]
        {
            assert_eq!(parse_number(not_a_number), None, "{not_a_number:?}");
        }
        assert_eq!(number_from_f64(f64::NAN), Number::OutOfRange);
        assert_eq!(number_from_f64(f64::INFINITY), Number::OutOfRange);
        assert_eq!(number_from_f64(1e300), Number::OutOfRange);
        assert_eq!(number_from_f64(-2.5), Number::Exact(exact("-2.5")));
    }

    #[test]
    fn numbers_that_do_not_fit_leave_the_condition_undecided() {
        let huge = [("k", V::Str("1e40"))];
        for op in [Operator::NumericEquals, Operator::NumericGreaterThan, Operator::NumericNotEquals] {
            assert_eq!(holds(op, "k", &["5"], &huge), None, "{op}");
            assert_eq!(holds(op, "k", &["1e40"], &[("k", V::Number(5.0))]), None, "{op}");
            assert_eq!(holds(op, "k", &["1e40"], &[("k", V::Number(f64::NAN))]), None, "{op}");
        }
        // A definite match among the values decides; the other value is not needed.
        assert_eq!(holds(Operator::NumericEquals, "k", &["5", "1e40"], &[("k", V::Str("5"))]), Some(true));
        assert_eq!(
            holds(Operator::NumericNotEquals, "k", &["5", "1e40"], &[("k", V::Str("5"))]),
            Some(false)
        );
        // Not a number at all is a value of the wrong type, as before.
        assert_eq!(holds(Operator::NumericEquals, "k", &["1e40"], &[("k", V::Str("ten"))]), Some(false));
        assert_eq!(holds(Operator::NumericEquals, "k", &["5"], &[]), Some(false));
    }

    proptest::proptest! {
        /// Every numeric operator agrees with exact integer arithmetic, whatever the
        /// notation and however far beyond 2^53 the numbers go.
        #[test]
        fn numeric_operators_are_exact(
            a in proptest::num::i64::ANY, a_scale in 0u32..12, a_exp in proptest::bool::ANY,
            b in proptest::num::i64::ANY, b_scale in 0u32..12, b_exp in proptest::bool::ANY,
            near in proptest::bool::ANY,
        ) {
            // Half of the cases compare neighbours, where f64 would round them together.
            let (b, b_scale) = if near { (a.saturating_add(1), a_scale) } else { (b, b_scale) };
            let write = |m: i64, scale: u32, exp: bool| if exp {
                format!("{m}e-{scale}")
            } else {
                let digits = m.unsigned_abs().to_string();
                let width = scale as usize + 1;
                let padded = format!("{digits:0>width$}");
                let (int, frac) = padded.split_at(padded.len() - scale as usize);
                format!("{}{int}.{frac}", if m < 0 { "-" } else { "" })
            };
            // a·10^-sa vs b·10^-sb  ⇔  a·10^sb vs b·10^sa, exact in i128.
            let left = i128::from(a) * 10i128.pow(b_scale);
            let right = i128::from(b) * 10i128.pow(a_scale);
            let (a_text, b_text) = (write(a, a_scale, a_exp), write(b, b_scale, b_exp));
            for (op, expected) in [
                (Operator::NumericEquals, left == right),
                (Operator::NumericNotEquals, left != right),
                (Operator::NumericLessThan, left < right),
                (Operator::NumericLessThanEquals, left <= right),
                (Operator::NumericGreaterThan, left > right),
                (Operator::NumericGreaterThanEquals, left >= right),
            ] {
                let got = holds(op, "k", &[b_text.as_str()], &[("k", V::Str(&a_text))]);
                proptest::prop_assert_eq!(got, Some(expected), "{} {} {}", a_text, op, b_text);
            }
        }
    }

    #[test]
    fn every_operator_parses_and_prints() {
        assert_eq!(Operator::ALL.len(), 21);
        for op in Operator::ALL {
            assert_eq!(op.name().parse::<Operator>(), Ok(*op));
        }
        assert!("stringequals".parse::<Operator>().is_err());
        assert!("StringEqualsIfExists".parse::<Operator>().is_err());
    }

    #[test]
    fn malformed_values_name_their_index() {
        let values = vec!["10.0.0.0/8".to_string(), "10.0.0.0/33".to_string()];
        let (index, why) = Condition::compile(Operator::IpAddress, "acs:SourceIp", &values).unwrap_err();
        assert_eq!(index, 1);
        assert!(why.contains("prefix length"), "{why}");
        assert!(Condition::compile(Operator::Bool, "k", &["yes".into()]).is_err());
        assert!(Condition::compile(Operator::DateEquals, "k", &["yesterday".into()]).is_err());
        assert!(Condition::compile(Operator::NumericEquals, "k", &["NaN".into()]).is_err());
        assert!("1.2.3.4/".parse::<IpNet>().is_err());
        assert!("1.2.3.4/+8".parse::<IpNet>().is_err());
    }
}
