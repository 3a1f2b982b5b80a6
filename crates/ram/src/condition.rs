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
//!   (`"false"` for `Bool`, `"10.0.0.1"` for `IpAddress`, …).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};

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

/// Parses a numeric value (integer or decimal).
pub(crate) fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// The values of one condition, compiled for the operator's family.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Values {
    Strings(Vec<Box<str>>),
    Globs(Vec<Pattern>),
    Numbers(Vec<f64>),
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

    /// Whether the condition holds for `context`.
    pub(crate) fn holds(&self, context: &Context<'_>) -> bool {
        let mut present = false;
        let mut any_match = false;
        for value in context.values(&self.key) {
            present = true;
            if self.matches_one(value) {
                any_match = true;
                break;
            }
        }
        if self.operator.is_negated() {
            // NOR over the values; an absent key makes a negated operator true.
            !any_match
        } else {
            present && any_match
        }
    }

    /// Whether one context value matches any of the condition's values, using the
    /// positive form of the operator.
    fn matches_one(&self, value: &ContextValue<'_>) -> bool {
        use Operator as O;
        match &self.values {
            Values::Strings(expected) => {
                let ContextValue::Str(actual) = value else { return false };
                match self.operator {
                    O::StringEqualsIgnoreCase | O::StringNotEqualsIgnoreCase => {
                        expected.iter().any(|e| eq_ignore_case(e, actual))
                    }
                    _ => expected.iter().any(|e| **e == **actual),
                }
            }
            Values::Globs(patterns) => {
                let ContextValue::Str(actual) = value else { return false };
                patterns.iter().any(|p| p.matches(actual))
            }
            Values::Numbers(expected) => {
                let Some(actual) = value.as_number() else { return false };
                expected.iter().any(|&e| match self.operator {
                    O::NumericEquals | O::NumericNotEquals => actual == e,
                    O::NumericLessThan => actual < e,
                    O::NumericLessThanEquals => actual <= e,
                    O::NumericGreaterThan => actual > e,
                    _ => actual >= e,
                })
            }
            Values::Dates(expected) => {
                let Some(actual) = value.as_date() else { return false };
                expected.iter().any(|&e| match self.operator {
                    O::DateEquals | O::DateNotEquals => actual == e,
                    O::DateLessThan => actual < e,
                    O::DateLessThanEquals => actual <= e,
                    O::DateGreaterThan => actual > e,
                    _ => actual >= e,
                })
            }
            Values::Bools(expected) => {
                let Some(actual) = value.as_bool() else { return false };
                expected.contains(&actual)
            }
            Values::Nets(nets) => {
                let Some(actual) = value.as_ip() else { return false };
                nets.iter().any(|n| n.contains(actual))
            }
        }
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

    fn holds(op: Operator, key: &str, values: &[&str], ctx: &[(&str, ContextValue<'_>)]) -> bool {
        let values: Vec<String> = values.iter().map(|v| v.to_string()).collect();
        Condition::compile(op, key, &values).unwrap().holds(&Context::new(ctx))
    }

    use ContextValue as V;

    macro_rules! condition_table {
        ($($name:ident: $op:ident, $values:expr, $ctx:expr => $expected:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(holds(Operator::$op, "k", &$values, &$ctx), $expected);
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
