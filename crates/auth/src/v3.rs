//! V3 request signatures: ACS3-HMAC-SHA256 over a canonical request.

use chrono::{DateTime, Utc};

use crate::encode::{MAX_PARAMETERS, hex, hmac_sha256, pop_encode, pop_encode_path, sha256_hex};
use crate::error::{AuthError, Quoted, StringToSign};
use crate::keys::{AccessKeySecret, AccessKeys, signatures_equal};
use crate::replay::{NonceStore, check_timestamp};
use crate::rpc::Authenticated;

/// The algorithm name.
pub const ACS3: &str = "ACS3-HMAC-SHA256";

/// Largest V3 request [`verify_v3`] reads, not counting the body (which is only
/// hashed): the method, path, query parameters and headers together, 64 KiB. Each of
/// the query, the headers and the signed-header list may also have at most
/// [`MAX_PARAMETERS`] entries, which keeps building the canonical headers (every
/// signed name against every header) small.
pub const MAX_V3_REQUEST_BYTES: usize = 64 << 10;

/// Refuses a V3 request beyond [`MAX_V3_REQUEST_BYTES`] or [`MAX_PARAMETERS`] entries.
fn check_v3_size(req: &V3Request<'_>) -> Result<(), AuthError> {
    if req.query.len() > MAX_PARAMETERS || req.headers.len() > MAX_PARAMETERS {
        return Err(AuthError::malformed("more than 256 query parameters or headers"));
    }
    let pairs = req.query.iter().chain(req.headers).map(|(n, v)| n.len().saturating_add(v.len()));
    let bytes = pairs.fold(req.method.len().saturating_add(req.path.len()), usize::saturating_add);
    if bytes > MAX_V3_REQUEST_BYTES {
        return Err(AuthError::RequestTooLarge { bytes, limit: MAX_V3_REQUEST_BYTES });
    }
    Ok(())
}

/// A request as V3 sees it.
#[derive(Clone, Copy, Debug)]
pub struct V3Request<'a> {
    /// HTTP method.
    pub method: &'a str,
    /// The path (`/` when empty).
    pub path: &'a str,
    /// Decoded query parameters.
    pub query: &'a [(String, String)],
    /// Headers (any case; repeated names allowed).
    pub headers: &'a [(String, String)],
}

/// Which headers are signed by default: `host`, every `x-acs-*`, and `content-type`.
fn signed_by_default(name: &str) -> bool {
    name == "host" || name == "content-type" || name.starts_with("x-acs-")
}

/// Canonical headers and the signed-header list for `names` (lower case, sorted, unique);
/// repeated headers merge as their sorted, trimmed values joined with `,`.
fn canonical_headers(headers: &[(String, String)], names: &[String]) -> String {
    let mut out = String::new();
    for name in names {
        let mut values: Vec<&str> =
            headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).collect();
        values.sort_unstable();
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out
}

/// The canonical request for `names` signed headers and a payload hash.
pub fn v3_canonical_request(req: &V3Request<'_>, signed: &[String], hashed_payload: &str) -> String {
    let path = if req.path.is_empty() { "/".to_owned() } else { pop_encode_path(req.path) };
    let mut query: Vec<(String, String)> =
        req.query.iter().map(|(n, v)| (pop_encode(n), pop_encode(v))).collect();
    query.sort_unstable();
    let query: Vec<String> = query.into_iter().map(|(n, v)| format!("{n}={v}")).collect();
    format!(
        "{}\n{path}\n{}\n{}\n{}\n{hashed_payload}",
        req.method,
        query.join("&"),
        canonical_headers(req.headers, signed),
        signed.join(";")
    )
}

/// The headers signed by default, lower-cased, sorted, unique.
pub fn default_signed_headers(headers: &[(String, String)]) -> Vec<String> {
    let mut names: Vec<String> =
        headers.iter().map(|(n, _)| n.to_ascii_lowercase()).filter(|n| signed_by_default(n)).collect();
    names.sort_unstable();
    names.dedup();
    names
}

fn header<'a>(headers: &'a [(String, String)], name: &'static str) -> Result<&'a str, AuthError> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
        .ok_or(AuthError::Missing(name))
}

/// Signs a request: returns the `Authorization` header value. The payload hash is the
/// `x-acs-content-sha256` header's value.
pub fn sign_v3(
    req: &V3Request<'_>,
    access_key_id: &str,
    secret: &AccessKeySecret,
) -> Result<String, AuthError> {
    let hashed =
        header(req.headers, "x-acs-content-sha256").map(str::to_owned).unwrap_or_else(|_| sha256_hex(b""));
    let signed = default_signed_headers(req.headers);
    let (signature, _) = signature(req, &signed, &hashed, secret);
    Ok(format!("{ACS3} Credential={access_key_id},SignedHeaders={},Signature={signature}", signed.join(";")))
}

/// (lower-hex signature, string-to-sign) of a request over `signed` headers.
fn signature(
    req: &V3Request<'_>,
    signed: &[String],
    hashed_payload: &str,
    secret: &AccessKeySecret,
) -> (String, String) {
    let canonical = v3_canonical_request(req, signed, hashed_payload);
    let string_to_sign = format!("{ACS3}\n{}", sha256_hex(canonical.as_bytes()));
    let signature =
        hmac_sha256(secret.bytes(), string_to_sign.as_bytes()).map(|mac| hex(&mac)).unwrap_or_default();
    (signature, string_to_sign)
}

/// The parts of an `Authorization: ACS3-HMAC-SHA256 …` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Authorization {
    /// `Credential`.
    pub access_key_id: String,
    /// `SignedHeaders`, in order.
    pub signed_headers: Vec<String>,
    /// `Signature` (lower-case hex).
    pub signature: String,
}

/// Parses an `Authorization` header value.
pub fn parse_authorization(value: &str) -> Result<V3Authorization, AuthError> {
    let rest = value.strip_prefix(ACS3).and_then(|r| r.strip_prefix(' ')).ok_or_else(|| {
        AuthError::SignatureMethod(Quoted::new(value.split(' ').next().unwrap_or_default()))
    })?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) if credential.is_none() => credential = Some(v),
            Some(("SignedHeaders", v)) if signed.is_none() => signed = Some(v),
            Some(("Signature", v)) if signature.is_none() => signature = Some(v),
            _ => {
                return Err(AuthError::malformed("the Authorization header has an unknown or repeated part"));
            }
        }
    }
    let credential = credential.filter(|c| !c.is_empty()).ok_or(AuthError::Missing("Credential"))?;
    let signed = signed.ok_or(AuthError::Missing("SignedHeaders"))?;
    let signature = signature.ok_or(AuthError::Missing("Signature"))?;
    if signed.split(';').nth(MAX_PARAMETERS).is_some() {
        return Err(AuthError::malformed("SignedHeaders names more than 256 headers"));
    }
    let signed_headers: Vec<String> = signed.split(';').map(str::to_owned).collect();
    let sorted = signed_headers.windows(2).all(|w| matches!(w, [a, b] if a < b));
    if !sorted || signed_headers.iter().any(|h| h.is_empty() || h.bytes().any(|b| b.is_ascii_uppercase())) {
        return Err(AuthError::malformed("SignedHeaders must be lower-case, sorted and unique"));
    }
    Ok(V3Authorization {
        access_key_id: credential.to_owned(),
        signed_headers,
        signature: signature.to_owned(),
    })
}

/// Verifies a V3 request with its body. Requires `host`, `x-acs-action`, `x-acs-date`,
/// `x-acs-signature-nonce` and `x-acs-content-sha256` to be present and signed, and the
/// content hash to match the body; refuses requests beyond [`MAX_V3_REQUEST_BYTES`].
/// The nonce is remembered for the key's main account and the key.
pub fn verify_v3(
    req: &V3Request<'_>,
    body: &[u8],
    keys: &impl AccessKeys,
    nonces: &mut impl NonceStore,
    now: DateTime<Utc>,
) -> Result<Authenticated, AuthError> {
    check_v3_size(req)?;
    let auth = parse_authorization(header(req.headers, "authorization")?)?;
    let action = header(req.headers, "x-acs-action")?;
    let date = header(req.headers, "x-acs-date")?;
    let nonce = header(req.headers, "x-acs-signature-nonce")?;
    let hashed = header(req.headers, "x-acs-content-sha256")?;
    header(req.headers, "host")?;
    for required in ["host", "x-acs-action", "x-acs-content-sha256", "x-acs-date", "x-acs-signature-nonce"] {
        if !auth.signed_headers.iter().any(|h| h == required) {
            return Err(AuthError::malformed("a required header is not signed"));
        }
    }
    let timestamp = check_timestamp(date, now)?;
    let key = keys.active_key(&auth.access_key_id)?;
    let (expected, string_to_sign) = signature(req, &auth.signed_headers, hashed, key.secret);
    if !signatures_equal(expected.as_bytes(), auth.signature.as_bytes())
        || !signatures_equal(sha256_hex(body).as_bytes(), hashed.as_bytes())
    {
        // The algorithm and a hash of the canonical request: nothing personal to mask.
        return Err(AuthError::SignatureDoesNotMatch {
            string_to_sign: StringToSign::masked(string_to_sign),
        });
    }
    nonces.check_and_remember_for(key.account, &auth.access_key_id, nonce, now)?;
    Ok(Authenticated {
        access_key_id: auth.access_key_id,
        user: key.user.to_owned(),
        action: action.to_owned(),
        timestamp,
    })
}
