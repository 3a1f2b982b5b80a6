//! Authentication errors, each with the error code the cloud returns.

use std::fmt;

/// Most characters of a received value an error keeps and shows.
pub const QUOTE_CHARS: usize = 64;

/// A received value as an error quotes it: at most its first [`QUOTE_CHARS`]
/// characters. Shown (`Display`) with every character that is not printable escaped as
/// `char::escape_debug` does (newlines as `\n`, quotes and backticks with a backslash),
/// and `…` when the value was longer. So a message can neither grow with the request
/// nor forge a log line.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Quoted {
    /// The first characters, as received.
    head: String,
    /// Whether the value had more characters than `head`.
    cut: bool,
}

impl Quoted {
    /// Keeps at most the first [`QUOTE_CHARS`] characters of `received`.
    pub fn new(received: &str) -> Quoted {
        let end = received.char_indices().nth(QUOTE_CHARS).map_or(received.len(), |(at, _)| at);
        let head = received.get(..end).unwrap_or_default();
        Quoted { head: head.to_owned(), cut: end < received.len() }
    }

    /// The kept characters, as received (not escaped).
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Whether the received value was longer than [`Quoted::head`].
    pub fn is_cut(&self) -> bool {
        self.cut
    }
}

impl fmt::Display for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.head.chars() {
            if c == '`' {
                f.write_str("\\`")?;
            } else {
                fmt::Display::fmt(&c.escape_debug(), f)?;
            }
        }
        if self.cut {
            f.write_str("…")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Quoted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

/// The server's string-to-sign of a request whose signature did not match, with every
/// personal parameter's value masked ([`crate::is_personal_parameter`]: `CertName`,
/// `CertNo`, `UserId`, `Mobile`, `Ip`, photos, …) — what the cloud returns so a client
/// developer can compare it with their own. Read it with [`StringToSign::as_str`] to
/// put it in a response; `Debug` and `Display` print only its length, so logging the
/// error never writes it.
#[derive(Clone, PartialEq, Eq)]
pub struct StringToSign(String);

impl StringToSign {
    /// Wraps a string-to-sign whose personal values are already masked.
    pub(crate) fn masked(text: String) -> StringToSign {
        StringToSign(text)
    }

    /// The string-to-sign, personal values masked.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether it is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StringToSign({} bytes)", self.0.len())
    }
}

impl fmt::Display for StringToSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a string to sign of {} bytes", self.0.len())
    }
}

/// Which tenant's share of the nonce store is used up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuotaScope {
    /// One AccessKey's share.
    AccessKey,
    /// One main account's share (all its AccessKeys together).
    Account,
}

impl fmt::Display for QuotaScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            QuotaScope::AccessKey => "AccessKey",
            QuotaScope::Account => "main account",
        })
    }
}

/// Why a request or URL was not authenticated. Messages never contain a secret, a
/// received signature or a personal value; a signature mismatch carries the server's
/// string-to-sign, personal values masked, so a client developer can compare it with
/// their own, as the cloud does — but neither `Display` nor `Debug` prints it (read it
/// with [`AuthError::string_to_sign`]). Received values
/// (AccessKey IDs, timestamps, method names) are kept and shown as [`Quoted`]: at most
/// 64 characters, escaped; the string-to-sign is bounded by the request-size limits
/// ([`crate::MAX_RPC_REQUEST_BYTES`]: at most five bytes per request byte).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// A required parameter or header is missing.
    #[error("missing required parameter `{0}`")]
    Missing(&'static str),
    /// The request could not be read (bad escapes, duplicates, too many parameters).
    #[error("malformed request: {0}")]
    Malformed(String),
    /// `SignatureMethod` is not `HMAC-SHA1` (RPC) or the algorithm is not supported.
    #[error("unsupported signature method `{0}`")]
    SignatureMethod(Quoted),
    /// `SignatureVersion` is not `1.0`.
    #[error("unsupported signature version `{0}`")]
    SignatureVersion(Quoted),
    /// No such AccessKey.
    #[error("the AccessKey ID `{0}` does not exist")]
    AccessKeyNotFound(Quoted),
    /// The AccessKey is disabled.
    #[error("the AccessKey ID `{0}` is inactive")]
    AccessKeyInactive(Quoted),
    /// The signature does not match.
    #[error(
        "the request signature does not match; compare your string to sign with the server's, which this error carries"
    )]
    SignatureDoesNotMatch {
        /// What the server signed, personal values masked.
        string_to_sign: StringToSign,
    },
    /// The timestamp is not `yyyy-MM-ddTHH:mm:ssZ`.
    #[error("timestamp `{0}` is not in the format yyyy-MM-ddTHH:mm:ssZ")]
    TimestampFormat(Quoted),
    /// The timestamp is more than 15 minutes from the server's time.
    #[error("timestamp `{0}` is more than 15 minutes from the server time")]
    TimestampExpired(Quoted),
    /// The nonce was used before within the retention window.
    #[error("the signature nonce was used already")]
    NonceUsed,
    /// The nonce store is at its bound with unexpired nonces; the request is refused
    /// rather than forgetting a nonce early.
    #[error("too many requests in the replay window; retry shortly")]
    NonceStoreFull,
    /// This AccessKey, or its main account, already holds its whole share of the
    /// nonce store: it sent more requests in the replay window than its quota. Other
    /// tenants are not affected; the request is refused rather than forgetting a nonce
    /// early.
    #[error("this {scope} has {quota} requests in the 31-minute replay window, its quota; retry shortly")]
    NonceQuotaExceeded {
        /// Whose share is used up.
        scope: QuotaScope,
        /// The share, in nonces.
        quota: usize,
    },
    /// The request is larger than verification reads.
    #[error("the request has {bytes} bytes; the limit is {limit}")]
    RequestTooLarge {
        /// Its size (method, query or body, and for V3 the path and headers).
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// A pre-signed URL is past its expiry.
    #[error("the URL has expired")]
    UrlExpired,
    /// A pre-signed URL's signature does not match (tampered or wrong key).
    #[error("the URL signature does not match")]
    UrlTampered,
}

impl AuthError {
    pub(crate) fn malformed(why: &str) -> AuthError {
        AuthError::Malformed(why.to_owned())
    }

    /// The server's string-to-sign of a signature mismatch, personal values masked: for
    /// the response body, never for a log.
    pub fn string_to_sign(&self) -> Option<&str> {
        match self {
            AuthError::SignatureDoesNotMatch { string_to_sign } => Some(string_to_sign.as_str()),
            _ => None,
        }
    }

    /// The cloud's error code.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Missing(_) => "MissingParameter",
            AuthError::Malformed(_) => "InvalidParameter",
            AuthError::SignatureMethod(_) => "InvalidSignatureMethod",
            AuthError::SignatureVersion(_) => "InvalidSignatureVersion",
            AuthError::AccessKeyNotFound(_) => "InvalidAccessKeyId.NotFound",
            AuthError::AccessKeyInactive(_) => "InvalidAccessKeyId.Inactive",
            AuthError::SignatureDoesNotMatch { .. } => "SignatureDoesNotMatch",
            AuthError::TimestampFormat(_) => "InvalidTimeStamp.Format",
            AuthError::TimestampExpired(_) => "InvalidTimeStamp.Expired",
            AuthError::NonceUsed => "SignatureNonceUsed",
            AuthError::NonceStoreFull => "Throttling",
            AuthError::NonceQuotaExceeded { .. } => "Throttling.User",
            AuthError::RequestTooLarge { .. } => "InvalidParameter",
            AuthError::UrlExpired => "AccessDenied",
            AuthError::UrlTampered => "SignatureDoesNotMatch",
        }
    }
}
