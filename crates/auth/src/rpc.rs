//! RPC request signatures: HMAC-SHA1, `SignatureVersion` 1.0 (the wire value of what the
//! current docs call signature method V2 for RPC APIs).
//!
//! Verification reads the raw query once ([`parse`]): each parameter keeps its name and
//! value as slices of the request, and a value already in canonical POP form — what
//! every SDK sends — is signed as received, since it is its own encoding; only other
//! spellings are decoded. The parameters are then ordered by sorting their indices, the
//! common parameters picked out in one pass ([`Common`]), and the string-to-sign written
//! once ([`string_to_sign`]), which is also what signing uses.

use chrono::{DateTime, Utc};

use std::borrow::Cow;

use hmac::Mac as _;

use crate::encode::{
    Class, MAX_PARAMETERS, base64, base64_into, class, decode_into, decodes_to_utf8, duplicate, hex_digit,
    percent_decode, pop_encode, push_canonical_encoded, push_encoded, unreserved,
};
use crate::error::{AuthError, Quoted, StringToSign};
use crate::keys::{AccessKeySecret, AccessKeys, signatures_equal};
use crate::replay::{NonceStore, check_timestamp};

/// Largest RPC request [`verify_rpc`] reads: the HTTP method and the raw query string or
/// form body together, 2 MiB. A face photo under 1 MiB sent as a Base64 parameter
/// (1.4 MB, POP-encoded) fits with room for the other parameters. Larger requests are
/// refused (`RequestTooLarge`) before anything is parsed, which also bounds the
/// string-to-sign a mismatch returns: at most five bytes per request byte, so 10 MiB.
pub const MAX_RPC_REQUEST_BYTES: usize = 2 << 20;

/// The string-to-sign and Base64 signature of a request. `Debug` prints the
/// string-to-sign's length only: it holds every parameter, personal ones too.
#[derive(Clone, PartialEq, Eq)]
pub struct RpcSignature {
    /// `METHOD&%2F&pe(canonicalized query)`.
    pub string_to_sign: String,
    /// Base64 of HMAC-SHA1 keyed with `secret + "&"`.
    pub signature: String,
}

impl std::fmt::Debug for RpcSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcSignature")
            .field("string_to_sign", &format_args!("{} bytes", self.string_to_sign.len()))
            .field("signature", &self.signature)
            .finish()
    }
}

/// Parameters whose values are personal data (ASCII case ignored): shown masked in the
/// string-to-sign a mismatch returns.
const PERSONAL_PARAMETERS: &[&str] = &[
    "CertName",
    "CertNo",
    "UserId",
    "UserName",
    "Mobile",
    "PhoneNumber",
    "Ip",
    "MetaInfo",
    "DeviceToken",
    "Birthday",
    "ValidityDate",
    "IdentifyNum",
];

/// Name endings of personal parameters: photos and videos by value, URL or object.
const PERSONAL_SUFFIXES: &[&str] = &["Picture", "PictureUrl", "File", "ObjectName"];

/// Whether a request parameter's value is personal data — a name, an ID number, a user
/// ID, a phone number, an IP address, device data, or a photo or video (by value, URL
/// or object name) — so that the string-to-sign returned on a mismatch shows it masked.
/// ASCII case is ignored.
pub fn is_personal_parameter(name: &str) -> bool {
    let ends_with = |suffix: &str| {
        name.len() >= suffix.len()
            && name.get(name.len() - suffix.len()..).is_some_and(|end| end.eq_ignore_ascii_case(suffix))
    };
    PERSONAL_PARAMETERS.iter().any(|p| p.eq_ignore_ascii_case(name))
        || PERSONAL_SUFFIXES.iter().any(|s| ends_with(s))
}

/// A masked value as the string-to-sign writes it: `***`, POP-encoded twice.
const MASKED_VALUE: &str = "%252A%252A%252A";

/// The canonical string-to-sign of `params` (all but `Signature`) for `method`:
/// `METHOD&%2F&` + pe(`pe(name)=pe(value)&…` sorted by name). Written in one pass: a
/// POP-encoded string holds only unreserved bytes and `%XY`, so encoding it again keeps
/// the unreserved bytes and turns every other input byte into `%25XY`.
pub fn rpc_string_to_sign(method: &str, params: &[(&str, &str)]) -> String {
    let params = signing_params(params);
    string_to_sign(method, &params, &order_by_name(&params), false)
}

/// One parameter as the string-to-sign needs it.
#[derive(Debug)]
struct Param<'a> {
    /// The name's first 16 bytes, big-endian and zero-padded: integers that order like
    /// the names, so sorting compares whole names only on a shared 16-byte prefix, and a
    /// name of at most 16 bytes is known by its prefix and length.
    prefix: u128,
    name: Name<'a>,
    value: Value<'a>,
}

/// A parameter's decoded name.
#[derive(Debug)]
enum Name<'a> {
    /// All unreserved bytes: its own POP encoding, signed as it is.
    Plain(&'a str),
    /// Anything else (decoded), POP-encoded when signed.
    Other(String),
}

impl Name<'_> {
    fn as_str(&self) -> &str {
        match self {
            Name::Plain(name) => name,
            Name::Other(name) => name,
        }
    }
}

/// A parameter's value: decoded, or still as received when that is already canonical.
#[derive(Debug)]
enum Value<'a> {
    /// Unreserved bytes only: the same on the wire, decoded and POP-encoded.
    Plain(&'a str),
    /// Wire text in canonical POP form with escapes — unreserved bytes and `%XY` escapes,
    /// in upper-case hex, of bytes POP encoding does escape, decoding to UTF-8. It is its
    /// own POP encoding, so it is signed without decoding it.
    Canonical(&'a str),
    /// Decoded text, POP-encoded when signed.
    Decoded(Cow<'a, str>),
}

impl<'a> Value<'a> {
    /// The decoded text, decoded into `buffer` when it fits (no allocation).
    fn decoded_in<'b>(&'b self, buffer: &'b mut [u8; 64]) -> Result<Cow<'b, str>, AuthError> {
        match self {
            Value::Plain(text) => Ok(Cow::Borrowed(text)),
            Value::Canonical(raw) => match decode_into(raw, buffer) {
                Some(decoded) => decoded.map(Cow::Borrowed),
                None => percent_decode(raw).map(Cow::Owned),
            },
            Value::Decoded(text) => Ok(Cow::Borrowed(text)),
        }
    }

    fn text(&self) -> &str {
        match self {
            Value::Plain(text) | Value::Canonical(text) => text,
            Value::Decoded(text) => text,
        }
    }
}

/// The first 16 bytes of `name` as a big-endian integer, zero-padded.
const fn prefix(name: &[u8]) -> u128 {
    let (mut prefix, mut rest, mut i) = (0u128, name, 0);
    while i < 16 {
        prefix <<= 8;
        if let [first, tail @ ..] = rest {
            prefix |= *first as u128;
            rest = tail;
        }
        i += 1;
    }
    prefix
}

impl<'a> Param<'a> {
    /// A signer's parameter: names are checked for bytes to encode, values are text.
    fn signing(name: &'a str, value: &'a str) -> Param<'a> {
        let name =
            if name.bytes().all(unreserved) { Name::Plain(name) } else { Name::Other(name.to_owned()) };
        Param { prefix: prefix(name.as_str().as_bytes()), name, value: Value::Decoded(Cow::Borrowed(value)) }
    }

    /// Byte order of the decoded names.
    fn by_name(&self, other: &Param<'_>) -> std::cmp::Ordering {
        self.prefix.cmp(&other.prefix).then_with(|| self.name.as_str().cmp(other.name.as_str()))
    }

    /// The name as a [`KnownName`] key: equal to a known name's exactly when it is that
    /// name, since known names fit in the prefix.
    fn known_name(&self) -> KnownName {
        KnownName { prefix: self.prefix, len: self.name.as_str().len() }
    }
}

/// A common parameter's name, matched by prefix and length.
#[derive(Clone, Copy, PartialEq, Eq)]
struct KnownName {
    prefix: u128,
    len: usize,
}

impl KnownName {
    const fn new(name: &'static str) -> KnownName {
        assert!(name.len() <= 16, "known names are matched by their 16-byte prefix");
        KnownName { prefix: prefix(name.as_bytes()), len: name.len() }
    }
}

/// The signer's parameters (borrowed, nothing to decode).
fn signing_params<'a>(params: &[(&'a str, &'a str)]) -> Vec<Param<'a>> {
    params.iter().map(|&(name, value)| Param::signing(name, value)).collect()
}

/// The indices of `params` in byte order of their names. Sorting indices moves a word
/// per step instead of a whole parameter.
fn order_by_name(params: &[Param<'_>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..params.len()).collect();
    order.sort_unstable_by(|&a, &b| match (params.get(a), params.get(b)) {
        (Some(a), Some(b)) => a.by_name(b),
        _ => std::cmp::Ordering::Equal,
    });
    order
}

/// The string-to-sign of `params` taken in `order`, leaving out `Signature`; with
/// `mask`, every personal parameter's value is written as `***`.
fn string_to_sign(method: &str, params: &[Param<'_>], order: &[usize], mask: bool) -> String {
    let length: usize = params.iter().map(|p| 3 * p.name.as_str().len() + 6 + 2 * p.value.text().len()).sum();
    let mut out = String::with_capacity(method.len() + 5 + length);
    out.push_str(method);
    out.push_str("&%2F&");
    let mut first = true;
    for param in order.iter().filter_map(|&i| params.get(i)).filter(|p| p.known_name() != SIGNATURE) {
        if !std::mem::take(&mut first) {
            out.push_str("%26");
        }
        match &param.name {
            Name::Plain(name) => out.push_str(name),
            Name::Other(name) => push_encoded(&mut out, name, b"", "%25"),
        }
        out.push_str("%3D");
        if mask && is_personal_parameter(param.name.as_str()) {
            out.push_str(MASKED_VALUE);
            continue;
        }
        match &param.value {
            Value::Plain(text) => out.push_str(text),
            Value::Canonical(raw) => push_canonical_encoded(&mut out, raw),
            Value::Decoded(text) => push_encoded(&mut out, text, b"", "%25"),
        }
    }
    out
}

/// HMAC-SHA1 of the string-to-sign keyed with `secret + "&"` (`None` only if the key
/// could not be set up, which HMAC rules out: then nothing is signed or accepted).
fn rpc_mac(string_to_sign: &str, secret: &AccessKeySecret) -> Option<[u8; 20]> {
    let mut mac = secret.rpc_mac()?;
    mac.update(string_to_sign.as_bytes());
    Some(mac.finalize().into_bytes().into())
}

/// Signs `params` (everything but `Signature`) for `method`.
pub fn sign_rpc(method: &str, params: &[(&str, &str)], secret: &AccessKeySecret) -> RpcSignature {
    let string_to_sign = rpc_string_to_sign(method, params);
    let signature = rpc_mac(&string_to_sign, secret).map(|mac| base64(&mac)).unwrap_or_default();
    RpcSignature { string_to_sign, signature }
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

/// Scanner flags of one name or value.
mod seen {
    /// Has `%XY` or `+`: must be decoded to be read.
    pub(super) const ESCAPED: u8 = 1;
    /// Is not its own POP encoding.
    pub(super) const NOT_CANONICAL: u8 = 2;
    /// Has an escaped byte beyond ASCII: decoded, it must be UTF-8.
    pub(super) const BEYOND_ASCII: u8 = 4;
}

/// Parses a raw query string or form body, in one pass over its bytes, into its
/// parameters (canonical values stay as received, others are decoded) and their order by
/// name. Refuses what [`crate::parse_query`] refuses: bad escapes, non-UTF-8, empty
/// names, duplicates and more than [`MAX_PARAMETERS`].
fn parse(raw: &str) -> Result<(Vec<Param<'_>>, Vec<usize>), AuthError> {
    let bytes = raw.as_bytes();
    let mut params: Vec<Param<'_>> = Vec::with_capacity(16);
    let (mut start, mut equals, mut name_seen, mut seen) = (0, None, 0, 0);
    let mut i = 0;
    loop {
        // Runs of unreserved bytes, most of a request, need no decision.
        let rest = bytes.get(i..).unwrap_or_default();
        i += rest.iter().position(|&b| !unreserved(b)).unwrap_or(rest.len());
        let at = bytes.get(i).map(|&b| class(b));
        match at {
            Some(Class::Unreserved) => {}
            Some(Class::Percent) => {
                let (high, high_canonical) = hex_digit(bytes.get(i + 1))?;
                let (low, low_canonical) = hex_digit(bytes.get(i + 2))?;
                let byte = (high << 4) | low;
                seen |= seen::ESCAPED;
                if !(high_canonical && low_canonical) || unreserved(byte) {
                    seen |= seen::NOT_CANONICAL;
                }
                if byte >= 0x80 {
                    seen |= seen::BEYOND_ASCII;
                }
                i += 2;
            }
            Some(Class::Plus) => seen |= seen::ESCAPED | seen::NOT_CANONICAL,
            Some(Class::Other) => seen |= seen::NOT_CANONICAL,
            Some(Class::Equals) if equals.is_none() => {
                equals = Some(i);
                name_seen = std::mem::take(&mut seen);
            }
            Some(Class::Equals) => seen |= seen::NOT_CANONICAL,
            Some(Class::Ampersand) | None => {
                if i > start {
                    if params.len() == MAX_PARAMETERS {
                        return Err(AuthError::malformed("more than 256 parameters"));
                    }
                    let (name, value) = match equals {
                        Some(eq) => ((start, eq, name_seen), (eq + 1, i, seen)),
                        None => ((start, i, seen), (i, i, 0)),
                    };
                    push_param(&mut params, raw, name, value)?;
                }
                if at.is_none() {
                    break;
                }
                (start, equals, name_seen, seen) = (i + 1, None, 0, 0);
            }
        }
        i += 1;
    }
    let order = order_by_name(&params);
    let duplicated = order.windows(2).any(|pair| match pair {
        [a, b] => params
            .get(*a)
            .zip(params.get(*b))
            .is_some_and(|(a, b)| a.prefix == b.prefix && a.name.as_str() == b.name.as_str()),
        _ => false,
    });
    if duplicated {
        return Err(duplicate());
    }
    Ok((params, order))
}

/// Adds the parameter with the scanner's `(start, end, seen)` of its name and value.
fn push_param<'a>(
    params: &mut Vec<Param<'a>>,
    raw: &'a str,
    name: (usize, usize, u8),
    value: (usize, usize, u8),
) -> Result<(), AuthError> {
    let text = |(from, to, _): (usize, usize, u8)| raw.get(from..to).unwrap_or("");
    let (name_text, value_text) = (text(name), text(value));
    let decoded_name = if name.2 == 0 {
        Name::Plain(name_text)
    } else if name.2 & seen::ESCAPED == 0 {
        Name::Other(name_text.to_owned())
    } else {
        Name::Other(percent_decode(name_text)?)
    };
    if decoded_name.as_str().is_empty() {
        return Err(AuthError::malformed("a parameter has an empty name"));
    }
    let value = if value.2 & seen::NOT_CANONICAL == 0 {
        if value.2 & seen::BEYOND_ASCII != 0 && !decodes_to_utf8(value_text) {
            return Err(AuthError::malformed("a parameter is not UTF-8 after decoding"));
        }
        if value.2 & seen::ESCAPED == 0 { Value::Plain(value_text) } else { Value::Canonical(value_text) }
    } else if value.2 & seen::ESCAPED != 0 {
        Value::Decoded(Cow::Owned(percent_decode(value_text)?))
    } else {
        Value::Decoded(Cow::Borrowed(value_text))
    };
    let prefix = match decoded_name {
        Name::Plain(_) => prefix_at(raw.as_bytes(), name.0, name.1 - name.0),
        Name::Other(ref decoded) => prefix(decoded.as_bytes()),
    };
    params.push(Param { prefix, name: decoded_name, value });
    Ok(())
}

/// [`prefix`] of `text[at..at + len]`, read in one load when 16 bytes follow `at`.
fn prefix_at(text: &[u8], at: usize, len: usize) -> u128 {
    match text.get(at..).and_then(|rest| rest.first_chunk::<16>()) {
        Some(window) => {
            let beyond_name =
                u128::MAX.checked_shr(8 * u32::try_from(len.min(16)).unwrap_or(16)).unwrap_or(0);
            u128::from_be_bytes(*window) & !beyond_name
        }
        None => prefix(text.get(at..at + len).unwrap_or_default()),
    }
}

const SIGNATURE: KnownName = KnownName::new("Signature");
const SIGNATURE_METHOD: KnownName = KnownName::new("SignatureMethod");
const SIGNATURE_VERSION: KnownName = KnownName::new("SignatureVersion");
const ACCESS_KEY_ID: KnownName = KnownName::new("AccessKeyId");
const ACTION: KnownName = KnownName::new("Action");
const VERSION: KnownName = KnownName::new("Version");
const SIGNATURE_NONCE: KnownName = KnownName::new("SignatureNonce");
const TIMESTAMP: KnownName = KnownName::new("Timestamp");

/// The common parameters of a request, found in one pass.
#[derive(Default)]
struct Common<'p, 'a> {
    signature: Option<&'p Value<'a>>,
    signature_method: Option<&'p Value<'a>>,
    signature_version: Option<&'p Value<'a>>,
    access_key_id: Option<&'p Value<'a>>,
    action: Option<&'p Value<'a>>,
    version: Option<&'p Value<'a>>,
    nonce: Option<&'p Value<'a>>,
    timestamp: Option<&'p Value<'a>>,
}

impl<'p, 'a> Common<'p, 'a> {
    fn find(params: &'p [Param<'a>]) -> Common<'p, 'a> {
        let mut common = Common::default();
        for param in params {
            let slot = match param.known_name() {
                SIGNATURE => &mut common.signature,
                SIGNATURE_METHOD => &mut common.signature_method,
                SIGNATURE_VERSION => &mut common.signature_version,
                ACCESS_KEY_ID => &mut common.access_key_id,
                ACTION => &mut common.action,
                VERSION => &mut common.version,
                SIGNATURE_NONCE => &mut common.nonce,
                TIMESTAMP => &mut common.timestamp,
                _ => continue,
            };
            *slot = Some(&param.value);
        }
        common
    }
}

/// The decoded value of a required parameter, decoded into `buffer` when it fits.
fn required<'p>(
    value: Option<&'p Value<'_>>,
    name: &'static str,
    buffer: &'p mut [u8; 64],
) -> Result<Cow<'p, str>, AuthError> {
    value.ok_or(AuthError::Missing(name))?.decoded_in(buffer)
}

/// Verifies an RPC request given its HTTP method and raw query string or form body.
/// Order: size ([`MAX_RPC_REQUEST_BYTES`]), syntax, common parameters, time window,
/// key, signature, then the nonce, remembered for the key's main account and the key
/// (so only correctly signed requests occupy the nonce store, each in its own
/// tenant's share).
pub fn verify_rpc(
    method: &str,
    raw_query: &str,
    keys: &impl AccessKeys,
    nonces: &mut impl NonceStore,
    now: DateTime<Utc>,
) -> Result<Authenticated, AuthError> {
    let bytes = method.len().saturating_add(raw_query.len());
    if bytes > MAX_RPC_REQUEST_BYTES {
        return Err(AuthError::RequestTooLarge { bytes, limit: MAX_RPC_REQUEST_BYTES });
    }
    let (params, order) = parse(raw_query)?;
    let common = Common::find(&params);
    // One stack buffer per decoded value: escaped values decode without allocating.
    let mut buffers = [[0u8; 64]; 8];
    let [b0, b1, b2, b3, b4, b5, b6, b7] = &mut buffers;
    let signature = required(common.signature, "Signature", b0)?;
    let method_name = required(common.signature_method, "SignatureMethod", b1)?;
    if method_name != "HMAC-SHA1" {
        return Err(AuthError::SignatureMethod(Quoted::new(&method_name)));
    }
    let version = required(common.signature_version, "SignatureVersion", b2)?;
    if version != "1.0" {
        return Err(AuthError::SignatureVersion(Quoted::new(&version)));
    }
    let access_key_id = required(common.access_key_id, "AccessKeyId", b3)?;
    let action = required(common.action, "Action", b4)?;
    required(common.version, "Version", b5)?;
    let nonce = required(common.nonce, "SignatureNonce", b6)?;
    let timestamp = check_timestamp(&required(common.timestamp, "Timestamp", b7)?, now)?;
    let key = keys.active_key(&access_key_id)?;
    let string_to_sign = string_to_sign(method, &params, &order, false);
    let mut expected = [0u8; 28];
    let matches = rpc_mac(&string_to_sign, key.secret).is_some_and(|mac| {
        let written = base64_into(&mac, &mut expected);
        signatures_equal(expected.get(..written).unwrap_or_default(), signature.as_bytes())
    });
    if !matches {
        // Built only on a mismatch: the signing path never pays for the masking.
        let masked = self::string_to_sign(method, &params, &order, true);
        return Err(AuthError::SignatureDoesNotMatch { string_to_sign: StringToSign::masked(masked) });
    }
    nonces.check_and_remember_for(key.account, &access_key_id, &nonce, now)?;
    Ok(Authenticated {
        access_key_id: access_key_id.into_owned(),
        user: key.user.to_owned(),
        action: action.into_owned(),
        timestamp,
    })
}
