//! The request being authorized: an action, a resource and the condition keys the
//! caller supplies (`acs:CurrentTime`, `acs:SourceIp`, …). Everything is borrowed, so
//! building a request and evaluating it never allocates. The engine never reads a
//! clock: the caller puts `acs:CurrentTime` into the context.
//!
//! What a request may carry is bounded (the `MAX_*` constants), so that the cost of a
//! decision is bounded too. [`Request::try_new`], [`Request::try_with_context`] and
//! [`Context::try_new`] refuse a request over the limits with a [`RequestError`];
//! a request built otherwise (`Request::new`, or the public fields) is checked again
//! by evaluation, which denies it without looking at any statement.

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

/// Longest action name a request may carry, in bytes.
pub const MAX_ACTION_BYTES: usize = 256;
/// Longest resource name a request may carry, in bytes (an OSS object key alone may
/// take 1,023).
pub const MAX_RESOURCE_BYTES: usize = 2_048;
/// Most condition-key entries in one request context (a multi-valued key counts once
/// per value).
pub const MAX_CONTEXT_ENTRIES: usize = 64;
/// Longest condition-key name, in bytes.
pub const MAX_CONTEXT_KEY_BYTES: usize = 256;
/// Longest string value of a condition key, in bytes.
pub const MAX_CONTEXT_VALUE_BYTES: usize = 2_048;

/// Why a request was refused: it carries more than the limits allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The action is longer than [`MAX_ACTION_BYTES`].
    #[error("the action has {len} bytes; the limit is {MAX_ACTION_BYTES}")]
    ActionTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The resource is longer than [`MAX_RESOURCE_BYTES`].
    #[error("the resource has {len} bytes; the limit is {MAX_RESOURCE_BYTES}")]
    ResourceTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The context has more than [`MAX_CONTEXT_ENTRIES`] entries.
    #[error("the context has {len} entries; the limit is {MAX_CONTEXT_ENTRIES}")]
    TooManyContextEntries {
        /// The number of entries.
        len: usize,
    },
    /// A context key name is longer than [`MAX_CONTEXT_KEY_BYTES`].
    #[error("context entry {index} has a key of {len} bytes; the limit is {MAX_CONTEXT_KEY_BYTES}")]
    ContextKeyTooLong {
        /// The entry's index in the context.
        index: usize,
        /// The key's length in bytes.
        len: usize,
    },
    /// A context string value is longer than [`MAX_CONTEXT_VALUE_BYTES`].
    #[error("context entry {index} has a value of {len} bytes; the limit is {MAX_CONTEXT_VALUE_BYTES}")]
    ContextValueTooLong {
        /// The entry's index in the context.
        index: usize,
        /// The value's length in bytes.
        len: usize,
    },
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
    /// Wraps a list of `(key, value)` pairs without checking the limits: evaluation
    /// denies a request whose context is over them.
    pub fn new(entries: &'a [(&'a str, ContextValue<'a>)]) -> Context<'a> {
        Context { entries }
    }

    /// Wraps a list of `(key, value)` pairs, refusing more than
    /// [`MAX_CONTEXT_ENTRIES`] of them or a key or string value over its limit.
    pub fn try_new(entries: &'a [(&'a str, ContextValue<'a>)]) -> Result<Context<'a>, RequestError> {
        let context = Context { entries };
        context.check()?;
        Ok(context)
    }

    /// Whether the context is within the limits. O(entries), no allocation.
    pub fn check(&self) -> Result<(), RequestError> {
        if self.entries.len() > MAX_CONTEXT_ENTRIES {
            return Err(RequestError::TooManyContextEntries { len: self.entries.len() });
        }
        for (index, (key, value)) in self.entries.iter().enumerate() {
            if key.len() > MAX_CONTEXT_KEY_BYTES {
                return Err(RequestError::ContextKeyTooLong { index, len: key.len() });
            }
            if let ContextValue::Str(text) = value
                && text.len() > MAX_CONTEXT_VALUE_BYTES
            {
                return Err(RequestError::ContextValueTooLong { index, len: text.len() });
            }
        }
        Ok(())
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
    /// A request with an empty context. The limits are not checked here; evaluation
    /// denies a request over them (see [`Request::check`]). Use [`Request::try_new`] to
    /// refuse one up front.
    pub fn new(action: &'a str, resource: &'a str) -> Request<'a> {
        Request { action, resource, context: Context::default() }
    }

    /// A request with an empty context, refused if the action is longer than
    /// [`MAX_ACTION_BYTES`] or the resource longer than [`MAX_RESOURCE_BYTES`].
    pub fn try_new(action: &'a str, resource: &'a str) -> Result<Request<'a>, RequestError> {
        let request = Request::new(action, resource);
        request.check()?;
        Ok(request)
    }

    /// The same request with `context` (not checked, like [`Request::new`]).
    pub fn with_context(self, entries: &'a [(&'a str, ContextValue<'a>)]) -> Request<'a> {
        Request { context: Context::new(entries), ..self }
    }

    /// The same request with `context`, refused if the context is over its limits
    /// (see [`Context::try_new`]).
    pub fn try_with_context(
        self,
        entries: &'a [(&'a str, ContextValue<'a>)],
    ) -> Result<Request<'a>, RequestError> {
        Ok(Request { context: Context::try_new(entries)?, ..self })
    }

    /// Whether the request is within every limit. Evaluation calls this first and
    /// denies a request that is not. O(context entries), no allocation.
    pub fn check(&self) -> Result<(), RequestError> {
        if self.action.len() > MAX_ACTION_BYTES {
            return Err(RequestError::ActionTooLong { len: self.action.len() });
        }
        if self.resource.len() > MAX_RESOURCE_BYTES {
            return Err(RequestError::ResourceTooLong { len: self.resource.len() });
        }
        self.context.check()
    }
}
