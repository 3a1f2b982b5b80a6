//! RPC request signatures: HMAC-SHA1, `SignatureVersion` 1.0 (the wire value of what the
//! current docs call signature method V2 for RPC APIs).

use chrono::{DateTime, Utc};

use std::borrow::Cow;

use crate::encode::{base64, duplicate, hmac_sha1, parse_query_borrowed, pop_encode, push_encoded};
use crate::error::AuthError;
use crate::keys::{AccessKeySecret, AccessKeys, signatures_equal};
use crate::replay::{NonceStore, check_timestamp};

/// The string-to-sign and Base64 signature of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RpcSignature {
    /// `METHOD&%2F&pe(canonicalized query)`.
    pub string_to_sign: String,
    /// Base64 of HMAC-SHA1 keyed with `secret + "&"`.
    pub signature: String,
}

/// The canonical string-to-sign of `params` (all but `Signature`) for `method`:
/// `METHOD&%2F&` + pe(`pe(name)=pe(value)&…` sorted by name). Written in one pass: a
/// POP-encoded string holds only unreserved bytes and `%XY`, so encoding it again keeps
/// the unreserved bytes and turns every other input byte into `%25XY`.
pub fn rpc_string_to_sign(method: &str, params: &[(&str, &str)]) -> String {
    string_to_sign_sorted(method, &sorted_for_signing(params))
}

/// `params` without `Signature`, sorted by name bytes.
fn sorted_for_signing<'a>(params: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut sorted: Vec<(&str, &str)> = params.iter().copied().filter(|(n, _)| *n != "Signature").collect();
    sorted.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    sorted
}

/// The string-to-sign of parameters already sorted by name, without `Signature`.
fn string_to_sign_sorted(method: &str, sorted: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(method.len() + 8 + sorted.len() * 64);
    out.push_str(method);
    out.push_str("&%2F&");
    for (i, (name, value)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push_str("%26");
        }
        push_encoded(&mut out, name, b"", "%25");
        out.push_str("%3D");
        push_encoded(&mut out, value, b"", "%25");
    }
    out
}

fn sign_sorted(method: &str, sorted: &[(&str, &str)], secret: &AccessKeySecret) -> RpcSignature {
    let string_to_sign = string_to_sign_sorted(method, sorted);
    let mut key = zeroize::Zeroizing::new(Vec::with_capacity(secret.bytes().len() + 1));
    key.extend_from_slice(secret.bytes());
    key.push(b'&');
    let signature = base64(&hmac_sha1(&key, string_to_sign.as_bytes()));
    RpcSignature { string_to_sign, signature }
}

/// Signs `params` (everything but `Signature`) for `method`.
pub fn sign_rpc(method: &str, params: &[(&str, &str)], secret: &AccessKeySecret) -> RpcSignature {
    sign_sorted(method, &sorted_for_signing(params), secret)
}

/// The wire query string of a signed request: every parameter POP-encoded, with
/// `Signature` appended.
pub fn signed_rpc_query(method: &str, params: &[(&str, &str)], secret: &AccessKeySecret) -> String {
    let signed = sign_rpc(method, params, secret);
    let mut parts: Vec<String> =
        params.iter().map(|(n, v)| format!("{}={}", pop_encode(n), pop_encode(v))).collect();
    parts.push(format!("Signature={}", pop_encode(&signed.signature)));
    parts.join("&")
}

/// Who made an authenticated request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    /// The AccessKey ID used.
    pub access_key_id: String,
    /// The RAM user owning it: the principal to evaluate policies for.
    pub user: String,
    /// The API action called (`Action` / `x-acs-action`).
    pub action: String,
    /// The request's own time.
    pub timestamp: DateTime<Utc>,
}

/// The value of `name` in parameters sorted by name.
fn param<'a>(params: &'a [(Cow<'_, str>, Cow<'_, str>)], name: &'static str) -> Result<&'a str, AuthError> {
    params
        .binary_search_by(|(n, _)| n.as_bytes().cmp(name.as_bytes()))
        .ok()
        .and_then(|i| params.get(i))
        .map(|(_, v)| v.as_ref())
        .ok_or(AuthError::Missing(name))
}

/// Verifies an RPC request given its HTTP method and raw query string or form body.
/// Order: syntax, common parameters, time window, key, signature, then the nonce (so
/// only correctly signed requests occupy the nonce store).
pub fn verify_rpc(
    method: &str,
    raw_query: &str,
    keys: &impl AccessKeys,
    nonces: &mut impl NonceStore,
    now: DateTime<Utc>,
) -> Result<Authenticated, AuthError> {
    let mut params = parse_query_borrowed(raw_query)?;
    // Sorted once: duplicates become neighbours, and the string-to-sign needs the order.
    params.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    if params.windows(2).any(|w| w.first().map(|p| &p.0) == w.get(1).map(|p| &p.0)) {
        return Err(duplicate());
    }
    let signature = param(&params, "Signature")?;
    let method_name = param(&params, "SignatureMethod")?;
    if method_name != "HMAC-SHA1" {
        return Err(AuthError::SignatureMethod(method_name.to_owned()));
    }
    let version = param(&params, "SignatureVersion")?;
    if version != "1.0" {
        return Err(AuthError::SignatureVersion(version.to_owned()));
    }
    let access_key_id = param(&params, "AccessKeyId")?;
    let action = param(&params, "Action")?;
    param(&params, "Version")?;
    let nonce = param(&params, "SignatureNonce")?;
    let timestamp = check_timestamp(param(&params, "Timestamp")?, now)?;
    let key = keys.active_key(access_key_id)?;
    let borrowed: Vec<(&str, &str)> =
        params.iter().filter(|(n, _)| n != "Signature").map(|(n, v)| (n.as_ref(), v.as_ref())).collect();
    let expected = sign_sorted(method, &borrowed, key.secret);
    if !signatures_equal(expected.signature.as_bytes(), signature.as_bytes()) {
        return Err(AuthError::SignatureDoesNotMatch { string_to_sign: expected.string_to_sign });
    }
    nonces.check_and_remember(access_key_id, nonce, now)?;
    Ok(Authenticated {
        access_key_id: access_key_id.to_owned(),
        user: key.user.to_owned(),
        action: action.to_owned(),
        timestamp,
    })
}
