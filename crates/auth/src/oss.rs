//! Object-storage (OSS) signatures, V1 (HMAC-SHA1) and V4 (OSS4-HMAC-SHA256), and the
//! pre-signed GET URLs that hand out a face photo for 15 minutes.

use chrono::{DateTime, Datelike, Duration, NaiveDateTime, Timelike, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::encode::{
    base64, hex, hmac_sha1, hmac_sha256, parse_query, pop_encode, pop_encode_path, pop_encoded_bytes,
    push_encoded, sha256_hex,
};
use crate::error::{AuthError, Quoted};
use crate::keys::{AccessKeySecret, signatures_equal};

/// Default lifetime of a photo URL.
pub const PHOTO_URL_LIFETIME: Duration = Duration::minutes(15);
/// Longest V4 URL lifetime (7 days).
pub const MAX_V4_EXPIRES: i64 = 604_800;

/// Sub-resources that V1 signs (others are not part of the canonicalized resource).
const V1_SUBRESOURCES: &[&str] = &[
    "acl",
    "append",
    "bucketInfo",
    "cname",
    "comp",
    "continuation-token",
    "cors",
    "delete",
    "encryption",
    "endTime",
    "img",
    "lifecycle",
    "live",
    "location",
    "logging",
    "objectMeta",
    "partNumber",
    "policy",
    "position",
    "qos",
    "referer",
    "regionList",
    "replication",
    "replicationLocation",
    "replicationProgress",
    "resourceGroup",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    "response-content-language",
    "response-content-type",
    "response-expires",
    "restore",
    "security-token",
    "sequential",
    "startTime",
    "stat",
    "status",
    "style",
    "styleName",
    "symlink",
    "tagging",
    "uploadId",
    "uploads",
    "versionId",
    "versioning",
    "versions",
    "website",
    "x-oss-process",
];

fn v1_signed(name: &str) -> bool {
    V1_SUBRESOURCES.contains(&name) || name.starts_with("x-oss-")
}

/// The canonicalized resource: `/bucket/key` (key raw, not encoded), then the signed
/// sub-resources sorted, as `k=v` or `k`, with raw values.
pub fn v1_canonical_resource(bucket: Option<&str>, key: Option<&str>, query: &[(String, String)]) -> String {
    let mut out = match (bucket, key) {
        (Some(b), Some(k)) => format!("/{b}/{k}"),
        (Some(b), None) => format!("/{b}/"),
        _ => "/".to_owned(),
    };
    let mut signed: Vec<&(String, String)> = query.iter().filter(|(n, _)| v1_signed(n)).collect();
    signed.sort_unstable();
    for (i, (n, v)) in signed.into_iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(n);
        if !v.is_empty() {
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// The V1 string-to-sign: `VERB\nContent-MD5\nContent-Type\nDate|Expires\n` then the
/// `x-oss-*` headers (lower case, trimmed, sorted, `name:value\n`) and the resource.
pub fn v1_string_to_sign(
    verb: &str,
    content_md5: &str,
    content_type: &str,
    date_or_expires: &str,
    headers: &[(String, String)],
    canonical_resource: &str,
) -> String {
    let mut oss: Vec<(String, &str)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
        .filter(|(n, _)| n.starts_with("x-oss-"))
        .collect();
    oss.sort_unstable();
    let oss: String = oss.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    format!("{verb}\n{content_md5}\n{content_type}\n{date_or_expires}\n{oss}{canonical_resource}")
}

/// Base64 HMAC-SHA1 of a V1 string-to-sign, keyed with the raw secret.
pub fn v1_signature(string_to_sign: &str, secret: &AccessKeySecret) -> String {
    hmac_sha1(secret.bytes(), string_to_sign.as_bytes()).map(|mac| base64(&mac)).unwrap_or_default()
}

/// A face-photo object: bucket `cn-shanghai-aliyun-cloudauth-<uid>`, key
/// `verify/<uid>/<name>.jpeg`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoObject {
    /// The bucket.
    pub bucket: String,
    /// The object key (raw).
    pub key: String,
    /// The region without `oss-` (e.g. `cn-shanghai`).
    pub region: String,
}

impl PhotoObject {
    /// The face photo `name` of account `uid` in cn-shanghai.
    pub fn face_photo(uid: &str, name: &str) -> PhotoObject {
        PhotoObject {
            bucket: format!("cn-shanghai-aliyun-cloudauth-{uid}"),
            key: format!("verify/{uid}/{name}.jpeg"),
            region: "cn-shanghai".to_owned(),
        }
    }

    fn host(&self) -> String {
        let mut host = String::with_capacity(self.bucket.len() + self.region.len() + 20);
        push_host(&mut host, self);
        host
    }
}

/// Appends `<bucket>.oss-<region>.aliyuncs.com`.
fn push_host(out: &mut String, object: &PhotoObject) {
    for part in [&object.bucket, ".oss-", &object.region, ".aliyuncs.com"] {
        out.push_str(part);
    }
}

/// Credentials for signing a URL.
#[derive(Clone, Copy, Debug)]
pub struct Signer<'a> {
    /// The AccessKey ID.
    pub access_key_id: &'a str,
    /// Its secret.
    pub secret: &'a AccessKeySecret,
    /// An STS security token, for temporary credentials.
    pub security_token: Option<&'a str>,
}

/// A V1 pre-signed GET URL valid until `now + lifetime`.
pub fn presign_v1(
    object: &PhotoObject,
    signer: &Signer<'_>,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> String {
    let expires = (now + lifetime).timestamp().to_string();
    let mut sub: Vec<(String, String)> = Vec::new();
    if let Some(token) = signer.security_token {
        sub.push(("security-token".to_owned(), token.to_owned()));
    }
    let resource = v1_canonical_resource(Some(&object.bucket), Some(&object.key), &sub);
    let signature = v1_signature(&v1_string_to_sign("GET", "", "", &expires, &[], &resource), signer.secret);
    let mut query = format!(
        "Expires={expires}&OSSAccessKeyId={}&Signature={}",
        pop_encode(signer.access_key_id),
        pop_encode(&signature)
    );
    if let Some(token) = signer.security_token {
        query.push_str(&format!("&security-token={}", pop_encode(token)));
    }
    format!("https://{}{}?{query}", object.host(), pop_encode_path(&format!("/{}", object.key)))
}

/// A URL taken apart for verification.
struct UrlParts<'a> {
    host: &'a str,
    path: &'a str,
    query: Vec<(String, String)>,
}

fn split_url(url: &str) -> Result<UrlParts<'_>, AuthError> {
    let rest = url.strip_prefix("https://").ok_or_else(|| AuthError::malformed("the URL must be https"))?;
    let (host, path_query) =
        rest.split_once('/').ok_or_else(|| AuthError::malformed("the URL has no path"))?;
    let (path, query) = path_query.split_once('?').ok_or(AuthError::Missing("query"))?;
    Ok(UrlParts { host, path, query: parse_query(query)? })
}

fn get<'a>(query: &'a [(String, String)], name: &'static str) -> Result<&'a str, AuthError> {
    query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).ok_or(AuthError::Missing(name))
}

/// Checks that the URL addresses `object`.
fn check_object(object: &PhotoObject, host: &str, path: &str) -> Result<(), AuthError> {
    let decoded = crate::encode::percent_decode(&path.replace('+', "%2B"))?;
    if host != object.host() || decoded != object.key {
        return Err(AuthError::UrlTampered);
    }
    Ok(())
}

/// Verifies a V1 pre-signed URL for `object`: expired → `UrlExpired`, any change to the
/// URL → `UrlTampered`.
pub fn verify_presigned_v1(
    url: &str,
    object: &PhotoObject,
    secret: &AccessKeySecret,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let UrlParts { host, path, query } = split_url(url)?;
    let expires = get(&query, "Expires")?;
    let signature = get(&query, "Signature")?;
    get(&query, "OSSAccessKeyId")?;
    let expires_at: i64 = expires.parse().map_err(|_| AuthError::malformed("`Expires` is not a number"))?;
    let sub: Vec<(String, String)> = query
        .iter()
        .filter(|(n, _)| n != "Signature" && n != "Expires" && n != "OSSAccessKeyId")
        .cloned()
        .collect();
    let resource = v1_canonical_resource(Some(&object.bucket), Some(&object.key), &sub);
    let expected = v1_signature(&v1_string_to_sign("GET", "", "", expires, &[], &resource), secret);
    if !signatures_equal(expected.as_bytes(), signature.as_bytes()) {
        return Err(AuthError::UrlTampered);
    }
    check_object(object, host, path)?;
    if now.timestamp() > expires_at {
        return Err(AuthError::UrlExpired);
    }
    Ok(())
}

// ---- V4 ---------------------------------------------------------------------------

/// The V4 canonical request. `query` is decoded; names and values are POP-encoded and
/// sorted by encoded name (`name` alone when the value is empty). Signed headers are
/// `content-type`, `content-md5`, every `x-oss-*`, plus `additional` (lower case).
pub fn v4_canonical_request(
    method: &str,
    bucket: &str,
    key: &str,
    query: &[(String, String)],
    headers: &[(String, String)],
    additional: &[String],
    hashed_payload: &str,
) -> String {
    let pairs: Vec<(&str, &str)> = query.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let mut signed: Vec<(String, &str)> = headers
        .iter()
        .map(|(n, v)| (n.to_ascii_lowercase(), v.trim()))
        .filter(|(n, _)| {
            n == "content-type" || n == "content-md5" || n.starts_with("x-oss-") || additional.contains(n)
        })
        .collect();
    signed.sort_unstable();
    let canonical_headers: String = signed.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    v4_canonical_request_from(
        method,
        bucket,
        key,
        &v4_canonical_query(&pairs),
        &canonical_headers,
        &additional.join(";"),
        hashed_payload,
    )
}

/// The canonical query of decoded `query` pairs: POP-encoded, sorted by encoded name
/// then value, `name=value` (`name` alone when the value is empty), joined by `&`.
/// It is also a valid wire query.
fn v4_canonical_query(query: &[(&str, &str)]) -> String {
    // Sorted by encoded name (then value), comparing the encodings byte by byte as they
    // are produced instead of building them.
    let mut sorted: Vec<&(&str, &str)> = query.iter().collect();
    sorted.sort_unstable_by(|a, b| {
        pop_encoded_bytes(a.0)
            .cmp(pop_encoded_bytes(b.0))
            .then_with(|| pop_encoded_bytes(a.1).cmp(pop_encoded_bytes(b.1)))
    });
    let mut out = String::with_capacity(query.iter().map(|(n, v)| 3 * (n.len() + v.len()) + 2).sum());
    for (i, (name, value)) in sorted.into_iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        push_encoded(&mut out, name, b"", "%");
        if !value.is_empty() {
            out.push('=');
            push_encoded(&mut out, value, b"", "%");
        }
    }
    out
}

/// The canonical request from its already canonical parts.
fn v4_canonical_request_from(
    method: &str,
    bucket: &str,
    key: &str,
    canonical_query: &str,
    canonical_headers: &str,
    additional: &str,
    hashed_payload: &str,
) -> String {
    let mut out = String::with_capacity(canonical_query.len() + canonical_headers.len() + key.len() + 128);
    out.push_str(method);
    out.push_str("\n/");
    push_encoded(&mut out, bucket, b"/", "%");
    out.push('/');
    push_encoded(&mut out, key, b"/", "%");
    out.push('\n');
    out.push_str(canonical_query);
    out.push('\n');
    out.push_str(canonical_headers);
    out.push('\n');
    out.push_str(additional);
    out.push('\n');
    out.push_str(hashed_payload);
    out
}

/// A V4 timestamp, `yyyymmddTHHMMSSZ`, written by position (no formatting machinery);
/// its first eight bytes are the date. Years outside 0–9999 have no such form.
struct V4Stamp([u8; 16]);

impl V4Stamp {
    fn new(t: DateTime<Utc>) -> Option<V4Stamp> {
        let t = t.naive_utc();
        let year = u32::try_from(t.year()).ok().filter(|year| *year <= 9999)?;
        let mut stamp = *b"00000000T000000Z";
        let fields = [(0..4, year), (4..6, t.month()), (6..8, t.day())];
        let clock = [(9..11, t.hour()), (11..13, t.minute()), (13..15, t.second())];
        for (range, value) in fields.into_iter().chain(clock) {
            let mut value = value;
            for digit in stamp.get_mut(range).unwrap_or_default().iter_mut().rev() {
                *digit = b'0' + u8::try_from(value % 10).unwrap_or(0);
                value /= 10;
            }
        }
        Some(V4Stamp(stamp))
    }

    fn datetime(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn date(&self) -> &str {
        self.datetime().get(..8).unwrap_or_default()
    }
}

/// The V4 signing key of one day and region: `aliyun_v4` + secret chained through the
/// date, the region, `oss` and `aliyun_v4_request`. It depends only on those, so a
/// service minting many URLs can derive it once a day (it is secret: never printed).
///
/// It keeps the HMAC-SHA256 state keyed with the signing key, made once, so each
/// signature skips the key schedule; like the key, it is wiped on drop.
#[derive(Clone)]
pub struct V4SigningKey {
    /// Always `Some`: HMAC accepts keys of any length. Were it `None`, nothing would be
    /// signed or accepted with this key.
    mac: Option<Hmac<Sha256>>,
    date: String,
    region: String,
}

impl std::fmt::Debug for V4SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "V4SigningKey({}/{}, …)", self.date, self.region)
    }
}

impl V4SigningKey {
    /// Derives the key for the UTC day of `at` in `region` (for a year outside 0–9999,
    /// which has no V4 date, a key that covers and signs nothing).
    pub fn derive(secret: &AccessKeySecret, at: DateTime<Utc>, region: &str) -> V4SigningKey {
        let date = V4Stamp::new(at).map(|stamp| stamp.date().to_owned()).unwrap_or_default();
        let mut key = zeroize::Zeroizing::new(b"aliyun_v4".to_vec());
        key.extend_from_slice(secret.bytes());
        let chain = |key: &[u8], data: &[u8]| hmac_sha256(key, data).map(zeroize::Zeroizing::new);
        let mac = chain(&key, date.as_bytes())
            .and_then(|k_date| chain(k_date.as_slice(), region.as_bytes()))
            .and_then(|k_region| chain(k_region.as_slice(), b"oss"))
            .and_then(|k_service| chain(k_service.as_slice(), b"aliyun_v4_request"))
            .and_then(|k_signing| <Hmac<Sha256> as KeyInit>::new_from_slice(k_signing.as_slice()).ok());
        V4SigningKey { mac, date, region: region.to_owned() }
    }

    /// Whether this key signs requests dated `at` in `region`.
    pub fn covers(&self, at: DateTime<Utc>, region: &str) -> bool {
        V4Stamp::new(at).is_some_and(|stamp| self.covers_stamp(&stamp, region))
    }

    fn covers_stamp(&self, stamp: &V4Stamp, region: &str) -> bool {
        self.region == region && self.date == stamp.date()
    }

    /// The signature (lower-case hex) of a canonical request dated `at`; empty (matching
    /// no signature) when `at` has no V4 timestamp (a year outside 0–9999).
    pub fn sign(&self, canonical_request: &str, at: DateTime<Utc>) -> String {
        V4Stamp::new(at).map(|stamp| self.sign_stamped(canonical_request, &stamp)).unwrap_or_default()
    }

    fn sign_stamped(&self, canonical_request: &str, stamp: &V4Stamp) -> String {
        let Some(mut mac) = self.mac.clone() else {
            return String::new();
        };
        let hashed = sha256_hex(canonical_request.as_bytes());
        for part in [
            "OSS4-HMAC-SHA256\n",
            stamp.datetime(),
            "\n",
            &self.date,
            "/",
            &self.region,
            "/oss/aliyun_v4_request\n",
            &hashed,
        ] {
            mac.update(part.as_bytes());
        }
        hex(&mac.finalize().into_bytes())
    }
}

/// The V4 signature (lower-case hex) of a canonical request signed at `at` in `region`.
pub fn v4_signature(
    canonical_request: &str,
    at: DateTime<Utc>,
    region: &str,
    secret: &AccessKeySecret,
) -> String {
    V4SigningKey::derive(secret, at, region).sign(canonical_request, at)
}

/// A V4 pre-signed GET URL, signed at `now`, valid for `lifetime` (1 s – 7 days).
pub fn presign_v4(
    object: &PhotoObject,
    signer: &Signer<'_>,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> Result<String, AuthError> {
    presign_v4_with_key(
        object,
        signer,
        &V4SigningKey::derive(signer.secret, now, &object.region),
        now,
        lifetime,
    )
}

/// `presign_v4` with a signing key derived earlier (it must cover `now`'s day and the
/// object's region).
pub fn presign_v4_with_key(
    object: &PhotoObject,
    signer: &Signer<'_>,
    key: &V4SigningKey,
    now: DateTime<Utc>,
    lifetime: Duration,
) -> Result<String, AuthError> {
    let stamp = V4Stamp::new(now).ok_or_else(|| AuthError::malformed("V4 dates have four-digit years"))?;
    if !key.covers_stamp(&stamp, &object.region) {
        return Err(AuthError::malformed("the signing key is for another day or region"));
    }
    let expires = lifetime.num_seconds();
    if !(1..=MAX_V4_EXPIRES).contains(&expires) {
        return Err(AuthError::malformed("a V4 URL lives 1 second to 7 days"));
    }
    let expires = expires.to_string();
    let mut credential = String::with_capacity(signer.access_key_id.len() + 64);
    for part in [signer.access_key_id, "/", &key.date, "/", &object.region, "/oss/aliyun_v4_request"] {
        credential.push_str(part);
    }
    let mut pairs = vec![
        ("x-oss-credential", credential.as_str()),
        ("x-oss-date", stamp.datetime()),
        ("x-oss-expires", expires.as_str()),
        ("x-oss-signature-version", "OSS4-HMAC-SHA256"),
    ];
    if let Some(token) = signer.security_token {
        pairs.push(("x-oss-security-token", token));
    }
    // The canonical query doubles as the URL's query.
    let query = v4_canonical_query(&pairs);
    let canonical =
        v4_canonical_request_from("GET", &object.bucket, &object.key, &query, "", "", "UNSIGNED-PAYLOAD");
    let signature = key.sign_stamped(&canonical, &stamp);
    let mut url = String::with_capacity(query.len() + object.bucket.len() + object.key.len() + 160);
    url.push_str("https://");
    push_host(&mut url, object);
    url.push('/');
    push_encoded(&mut url, &object.key, b"/", "%");
    url.push('?');
    url.push_str(&query);
    url.push_str("&x-oss-signature=");
    url.push_str(&signature);
    Ok(url)
}

/// Verifies a V4 pre-signed URL for `object`: expired (or dated more than 15 minutes
/// ahead) → `UrlExpired`; any change → `UrlTampered`.
pub fn verify_presigned_v4(
    url: &str,
    object: &PhotoObject,
    secret: &AccessKeySecret,
    now: DateTime<Utc>,
) -> Result<(), AuthError> {
    let UrlParts { host, path, query } = split_url(url)?;
    let signature = get(&query, "x-oss-signature")?;
    let date = get(&query, "x-oss-date")?;
    let expires: i64 = get(&query, "x-oss-expires")?
        .parse()
        .map_err(|_| AuthError::malformed("`x-oss-expires` is not a number"))?;
    let version = get(&query, "x-oss-signature-version")?;
    if version != "OSS4-HMAC-SHA256" {
        return Err(AuthError::SignatureMethod(Quoted::new(version)));
    }
    get(&query, "x-oss-credential")?;
    let at = NaiveDateTime::parse_from_str(date, "%Y%m%dT%H%M%SZ")
        .map_err(|_| AuthError::TimestampFormat(Quoted::new(date)))?
        .and_utc();
    let signed: Vec<(String, String)> =
        query.iter().filter(|(n, _)| n != "x-oss-signature").cloned().collect();
    let canonical =
        v4_canonical_request("GET", &object.bucket, &object.key, &signed, &[], &[], "UNSIGNED-PAYLOAD");
    let expected = v4_signature(&canonical, at, &object.region, secret);
    if !signatures_equal(expected.as_bytes(), signature.as_bytes()) {
        return Err(AuthError::UrlTampered);
    }
    check_object(object, host, path)?;
    if !(1..=MAX_V4_EXPIRES).contains(&expires)
        || now > at + Duration::seconds(expires)
        || at - now > Duration::minutes(15)
    {
        return Err(AuthError::UrlExpired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn v4_stamps_are_chronos_format_and_refuse_other_years() {
        let times = [
            (0, 1, 1, 0, 0, 0),
            (2023, 11, 14, 22, 13, 20),
            (2024, 2, 29, 23, 59, 59),
            (2026, 11, 23, 2, 0, 0),
            (9999, 12, 31, 23, 59, 59),
        ];
        for (y, mo, d, h, mi, s) in times {
            let t = Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
            let stamp = V4Stamp::new(t).unwrap();
            assert_eq!(stamp.datetime(), t.format("%Y%m%dT%H%M%SZ").to_string());
            assert_eq!(stamp.date(), t.format("%Y%m%d").to_string());
        }
        for y in [-1, 10_000] {
            assert!(V4Stamp::new(Utc.with_ymd_and_hms(y, 1, 1, 0, 0, 0).unwrap()).is_none());
        }
    }
}
