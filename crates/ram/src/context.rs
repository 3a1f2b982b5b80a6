//! The request being authorized: an action, a resource and the condition keys the
//! caller supplies (`acs:CurrentTime`, `acs:SourceIp`, …). Everything is borrowed, so
//! building a request and evaluating it never allocates. The engine never reads a
//! clock: the caller puts `acs:CurrentTime` into the context.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::condition::{Number, number_from_f64, parse_bool, parse_date, parse_number};

/// Well-known global condition keys.
pub mod keys {
    /// The time of the request (date).
    pub const CURRENT_TIME: &str = "acs:CurrentTime";
    /// Whether the request came over HTTPS (bool).
    pub const SECURE_TRANSPORT: &str = "acs:SecureTransport";
    /// The caller's IP address (ip).
    pub const SOURCE_IP: &str = "acs:SourceIp";
    /// Whether the caller signed in with MFA (bool).
    pub const MFA_PRESENT: &str = "acs:MFAPresent";
    /// The VPC the request came from (string).
    pub const SOURCE_VPC: &str = "acs:SourceVpc";
    /// The ARN of the calling principal (string).
    pub const PRINCIPAL_ARN: &str = "acs:PrincipalARN";
    /// The caller's user agent (string).
    pub const USER_AGENT: &str = "acs:UserAgent";
    /// The HTTP referer (string).
    pub const REFERER: &str = "acs:Referer";
}

/// One typed value of a condition key.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ContextValue<'a> {
    /// A string; also read as a number, date, bool or IP when an operator needs one.
    Str(&'a str),
    /// A boolean.
    Bool(bool),
    /// A number, read as the shortest decimal that prints it (`0.1` is exactly `0.1`).
    /// An `f64` holds integers exactly only up to 2⁵³: pass larger or long decimal
    /// numbers as [`ContextValue::Str`], which is read exactly.
    Number(f64),
    /// An instant.
    Date(DateTime<Utc>),
    /// An IP address.
    Ip(IpAddr),
}

impl ContextValue<'_> {
    pub(crate) fn as_number(&self) -> Option<Number> {
        match *self {
            ContextValue::Number(n) => Some(number_from_f64(n)),
            ContextValue::Str(s) => parse_number(s),
            _ => None,
        }
    }

    pub(crate) fn as_date(&self) -> Option<DateTime<Utc>> {
        match *self {
            ContextValue::Date(d) => Some(d),
            ContextValue::Str(s) => parse_date(s),
            _ => None,
        }
    }

    pub(crate) fn as_bool(&self) -> Option<bool> {
        match *self {
            ContextValue::Bool(b) => Some(b),
            ContextValue::Str(s) => parse_bool(s),
            _ => None,
        }
    }

    pub(crate) fn as_ip(&self) -> Option<IpAddr> {
        match *self {
            ContextValue::Ip(ip) => Some(ip),
            ContextValue::Str(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// Condition keys and their values. A key may appear several times (a multi-valued
/// key); key names are compared ignoring ASCII case.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Context<'a> {
    entries: &'a [(&'a str, ContextValue<'a>)],
}

impl<'a> Context<'a> {
    /// Wraps a list of `(key, value)` pairs.
    pub fn new(entries: &'a [(&'a str, ContextValue<'a>)]) -> Context<'a> {
        Context { entries }
    }

    /// The values of `key`.
    pub fn values<'k>(&self, key: &'k str) -> impl Iterator<Item = &'a ContextValue<'a>> + use<'a, 'k> {
        self.entries.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v)
    }
}

/// An authorization question: may the principal perform `action` on `resource`?
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request<'a> {
    /// `<service-code>:<ActionName>`, e.g. `antcloudauth:InitFaceVerify`.
    pub action: &'a str,
    /// The resource ARN, or `*` for service-level APIs.
    pub resource: &'a str,
    /// Condition keys supplied by the caller.
    pub context: Context<'a>,
}

impl<'a> Request<'a> {
    /// A request with an empty context.
    pub fn new(action: &'a str, resource: &'a str) -> Request<'a> {
        Request { action, resource, context: Context::default() }
    }

    /// The same request with `context`.
    pub fn with_context(self, entries: &'a [(&'a str, ContextValue<'a>)]) -> Request<'a> {
        Request { context: Context::new(entries), ..self }
    }
}
