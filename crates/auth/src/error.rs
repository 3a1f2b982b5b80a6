//! Authentication errors, each with the error code the cloud returns.

/// Why a request or URL was not authenticated. Messages never contain a secret or a
/// received signature; a signature mismatch carries the server's string-to-sign so a
/// client developer can compare it with their own, as the cloud does.
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
    SignatureMethod(String),
    /// `SignatureVersion` is not `1.0`.
    #[error("unsupported signature version `{0}`")]
    SignatureVersion(String),
    /// No such AccessKey.
    #[error("the AccessKey ID `{0}` does not exist")]
    AccessKeyNotFound(String),
    /// The AccessKey is disabled.
    #[error("the AccessKey ID `{0}` is inactive")]
    AccessKeyInactive(String),
    /// The signature does not match.
    #[error("the request signature does not match; the server's string to sign is `{string_to_sign}`")]
    SignatureDoesNotMatch {
        /// What the server signed.
        string_to_sign: String,
    },
    /// The timestamp is not `yyyy-MM-ddTHH:mm:ssZ`.
    #[error("timestamp `{0}` is not in the format yyyy-MM-ddTHH:mm:ssZ")]
    TimestampFormat(String),
    /// The timestamp is more than 15 minutes from the server's time.
    #[error("timestamp `{0}` is more than 15 minutes from the server time")]
    TimestampExpired(String),
    /// The nonce was used before within the retention window.
    #[error("the signature nonce was used already")]
    NonceUsed,
    /// The nonce store is at its bound with unexpired nonces; the request is refused
    /// rather than forgetting a nonce early.
    #[error("too many requests in the replay window; retry shortly")]
    NonceStoreFull,
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
            AuthError::UrlExpired => "AccessDenied",
            AuthError::UrlTampered => "SignatureDoesNotMatch",
        }
    }
}
