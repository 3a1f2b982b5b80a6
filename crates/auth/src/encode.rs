//! Percent-encoding as the POP signers do it, strict decoding of query strings, the byte
//! classes the RPC scanner reads a query by, and the small hash/HMAC helpers every
//! signature uses. Nothing here knows a signature scheme's rules.

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::error::AuthError;

/// POP percent-encoding: UTF-8 bytes; `A-Z a-z 0-9 - _ . ~` stay, everything else is
/// `%XY` with upper-case hex (space → `%20`, `*` → `%2A`, `/` → `%2F`).
pub fn pop_encode(text: &str) -> String {
    encode_keeping(text, b"")
}

/// POP encoding that also keeps `/` (paths).
pub fn pop_encode_path(text: &str) -> String {
    encode_keeping(text, b"/")
}

fn encode_keeping(text: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 2);
    push_encoded(&mut out, text, keep, "%");
    out
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// Which bytes POP encoding keeps as they are: `A-Z a-z 0-9 - _ . ~`.
#[expect(clippy::indexing_slicing, reason = "a const block, evaluated at compile time: b < 256 by the loop")]
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.' || c == b'~';
        b += 1;
    }
    table
};

/// Whether POP encoding keeps `b` as it is.
pub(crate) fn unreserved(b: u8) -> bool {
    UNRESERVED.get(usize::from(b)).copied().unwrap_or(false)
}

/// How the RPC wire scanner treats a byte of a raw query string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// Kept as it is by POP encoding.
    Unreserved,
    /// Starts a `%XY` escape.
    Percent,
    /// Ends a parameter.
    Ampersand,
    /// Ends a parameter's name (the first one in a parameter).
    Equals,
    /// A space in form encoding.
    Plus,
    /// Anything else: valid, but not in canonical POP form.
    Other,
}

#[expect(clippy::indexing_slicing, reason = "a const block, evaluated at compile time: b < 256 by the loop")]
const CLASSES: [Class; 256] = {
    let mut table = [Class::Other; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b'%' => Class::Percent,
            b'&' => Class::Ampersand,
            b'=' => Class::Equals,
            b'+' => Class::Plus,
            _ if UNRESERVED[b] => Class::Unreserved,
            _ => Class::Other,
        };
        b += 1;
    }
    table
};

/// The class of a query-string byte.
pub(crate) fn class(b: u8) -> Class {
    CLASSES.get(usize::from(b)).copied().unwrap_or(Class::Other)
}

/// The value of a hex digit, and whether it is in the canonical (upper-case) form.
#[inline]
pub(crate) fn hex_digit(b: Option<&u8>) -> Result<(u8, bool), AuthError> {
    match b {
        Some(&c @ b'0'..=b'9') => Ok((c - b'0', true)),
        Some(&c @ b'A'..=b'F') => Ok((c - b'A' + 10, true)),
        Some(&c @ b'a'..=b'f') => Ok((c - b'a' + 10, false)),
        Some(_) => Err(AuthError::malformed("invalid `%` escape")),
        None => Err(AuthError::malformed("truncated `%` escape")),
    }
}

/// Decodes percent-escaped text into `buffer` when it fits (decoding never lengthens
/// text), checking it is UTF-8; `None` when it does not fit.
pub(crate) fn decode_into<'b>(escaped: &str, buffer: &'b mut [u8]) -> Option<Result<&'b str, AuthError>> {
    if escaped.len() > buffer.len() {
        return None;
    }
    let bytes = escaped.as_bytes();
    let (mut from, mut to) = (0, 0);
    while let (Some(&b), Some(slot)) = (bytes.get(from), buffer.get_mut(to)) {
        if b == b'%' {
            match (hex_digit(bytes.get(from + 1)), hex_digit(bytes.get(from + 2))) {
                (Ok((high, _)), Ok((low, _))) => *slot = (high << 4) | low,
                (Err(error), _) | (_, Err(error)) => return Some(Err(error)),
            }
            from += 3;
        } else {
            *slot = if b == b'+' { b' ' } else { b };
            from += 1;
        }
        to += 1;
    }
    let decoded = buffer.get(..to).unwrap_or_default();
    Some(
        std::str::from_utf8(decoded)
            .map_err(|_| AuthError::malformed("a parameter is not UTF-8 after decoding")),
    )
}

/// Whether percent-escaped text decodes to UTF-8 (small values are decoded on the stack).
pub(crate) fn decodes_to_utf8(escaped: &str) -> bool {
    match decode_into(escaped, &mut [0u8; 128]) {
        Some(decoded) => decoded.is_ok(),
        None => percent_decode(escaped).is_ok(),
    }
}

/// Appends canonical POP text (see `rpc::Value::Canonical`) encoded once more: its only
/// byte to escape is `%`, which becomes `%25`.
pub(crate) fn push_canonical_encoded(out: &mut String, canonical: &str) {
    // Byte by byte: canonical values are short and dense with escapes, so this beats
    // copying the runs between them.
    for b in canonical.bytes() {
        if b == b'%' {
            out.push_str("%25");
        } else {
            out.push(char::from(b));
        }
    }
}

/// The bytes of `text`'s POP encoding, one at a time: for comparing encodings without
/// building them.
pub(crate) fn pop_encoded_bytes(text: &str) -> impl Iterator<Item = u8> + '_ {
    text.bytes().flat_map(|b| {
        let hex = |nibble: u8| HEX_UPPER.get(usize::from(nibble)).copied().unwrap_or(b'0');
        let (bytes, length) =
            if unreserved(b) { ([b, 0, 0], 1) } else { ([b'%', hex(b >> 4), hex(b & 0xF)], 3) };
        bytes.into_iter().take(length)
    })
}

/// Appends the POP encoding of `text` to `out`, keeping the bytes in `keep` too, and
/// writing `prefix` + two upper-case hex digits for every other byte (`prefix` `%25`
/// encodes twice in one pass). Runs of kept bytes are copied at once.
pub(crate) fn push_encoded(out: &mut String, text: &str, keep: &[u8], prefix: &str) {
    let mut run = 0;
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if unreserved(b) || keep.contains(&b) {
            continue;
        }
        out.push_str(text.get(run..i).unwrap_or(""));
        out.push_str(prefix);
        out.push(char::from(HEX_UPPER.get(usize::from(b >> 4)).copied().unwrap_or(b'0')));
        out.push(char::from(HEX_UPPER.get(usize::from(b & 0xF)).copied().unwrap_or(b'0')));
        run = i + 1;
    }
    out.push_str(text.get(run..).unwrap_or(""));
}

/// Decodes one `application/x-www-form-urlencoded` component: `%XY` escapes and `+` as
/// space. Invalid escapes and non-UTF-8 results are errors, never guesses.
pub fn percent_decode(text: &str) -> Result<String, AuthError> {
    if !text.contains(['%', '+']) {
        return Ok(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let (high, _) = hex_digit(bytes.get(i + 1))?;
                let (low, _) = hex_digit(bytes.get(i + 2))?;
                out.push((high << 4) | low);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            other => {
                out.push(other);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| AuthError::malformed("a parameter is not UTF-8 after decoding"))
}

/// Most parameters a request may carry.
pub const MAX_PARAMETERS: usize = 256;

/// Parses a raw query string or form body into decoded `(name, value)` pairs, in wire
/// order. Duplicated names and more than 256 parameters are refused.
pub fn parse_query(raw: &str) -> Result<Vec<(String, String)>, AuthError> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        if pairs.len() == MAX_PARAMETERS {
            return Err(AuthError::malformed("more than 256 parameters"));
        }
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        let name = percent_decode(name)?;
        if name.is_empty() {
            return Err(AuthError::malformed("a parameter has an empty name"));
        }
        pairs.push((name, percent_decode(value)?));
    }
    let mut names: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w.first() == w.get(1)) {
        return Err(duplicate());
    }
    Ok(pairs)
}

pub(crate) fn duplicate() -> AuthError {
    AuthError::malformed("a parameter appears twice")
}

/// HMAC-SHA1 of `data` (`None` only if the key could not be set up, which HMAC rules
/// out; callers then produce an empty signature, which never verifies).
pub(crate) fn hmac_sha1(key: &[u8], data: &[u8]) -> Option<[u8; 20]> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

/// HMAC-SHA256 of `data` (`None` as for [`hmac_sha1`]).
pub(crate) fn hmac_sha256(key: &[u8], data: &[u8]) -> Option<[u8; 32]> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(data);
    Some(mac.finalize().into_bytes().into())
}

/// Lower-case hex of SHA-256.
pub fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0')));
        out.push(char::from(HEX.get(usize::from(b & 0xF)).copied().unwrap_or(b'0')));
    }
    out
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 of `bytes` written into `out`; the length written (0 if `out` is too short).
pub(crate) fn base64_into(bytes: &[u8], out: &mut [u8]) -> usize {
    base64::engine::general_purpose::STANDARD.encode_slice(bytes, out).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pop_encoding_check_string() {
        assert_eq!(pop_encode("a b*c~d/é+=!'()"), "a%20b%2Ac~d%2F%C3%A9%2B%3D%21%27%28%29");
        assert_eq!(pop_encode_path("/bucket/1234+-/123/1.txt"), "/bucket/1234%2B-/123/1.txt");
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn encoded_bytes_are_the_encoding() {
        for text in ["", "plain-._~", "a b*c~d/é+=!'()", "x-oss-date", "阿里云|+"] {
            assert_eq!(pop_encoded_bytes(text).collect::<Vec<u8>>(), pop_encode(text).into_bytes());
        }
    }

    #[test]
    fn decoding_is_strict() {
        assert_eq!(percent_decode("a%20b+c%2B").unwrap(), "a b c+");
        assert_eq!(percent_decode("%E9%98%BF").unwrap(), "阿");
        for bad in ["%", "%2", "%zz", "%ff", "a%C3"] {
            assert!(percent_decode(bad).is_err(), "{bad}");
        }
        assert!(parse_query("a=1&a=2").is_err());
        assert!(parse_query("=1").is_err());
        assert_eq!(
            parse_query("a=1&&b").unwrap(),
            vec![("a".into(), "1".into()), ("b".into(), String::new())]
        );
        let many: Vec<String> = (0..257).map(|i| format!("p{i}=v")).collect();
        assert!(parse_query(&many.join("&")).is_err());
    }
}
