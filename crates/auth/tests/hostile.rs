//! Hostile input and bad state (#18): one tenant flooding the nonce store throttles only
//! itself, errors quote received values short and escaped, and requests beyond the size
//! limits are refused before they are read.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use shiren_auth::*;
use shiren_ram::{Directory, Quotas};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

/// A main account with one RAM user holding the given keys (secret = key ID reversed).
struct Tenant {
    directory: Directory,
    vault: SecretVault,
}

fn secret_of(ak: &str) -> String {
    ak.chars().rev().collect()
}

fn tenant(account: &str, keys: &[&str]) -> Tenant {
    let mut directory = Directory::new(account, &format!("alias{account}"), Quotas::default()).unwrap();
    directory.create_user("kyc-service").unwrap();
    let mut vault = SecretVault::default();
    for ak in keys {
        directory.create_access_key("kyc-service", ak, now()).unwrap();
        vault.insert(ak, AccessKeySecret::new(secret_of(ak)));
    }
    Tenant { directory, vault }
}

impl Tenant {
    fn keys(&self) -> DirectoryKeys<'_> {
        DirectoryKeys { directory: &self.directory, vault: &self.vault }
    }
}

fn params(ak: &str, nonce: &str, at: DateTime<Utc>) -> Vec<(String, String)> {
    vec![
        ("AccessKeyId".into(), ak.into()),
        ("Action".into(), "InitFaceVerify".into()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureNonce".into(), nonce.into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("Timestamp".into(), at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ("Version".into(), "2019-03-07".into()),
    ]
}

fn signed(p: &[(String, String)], secret: &str) -> String {
    let borrowed: Vec<(&str, &str)> = p.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    signed_rpc_query("POST", &borrowed, &AccessKeySecret::new(secret.into()))
}

fn request(ak: &str, nonce: &str, at: DateTime<Utc>) -> String {
    signed(&params(ak, nonce, at), &secret_of(ak))
}

// ---------------------------------------------------------------------------------
// 1. The nonce store is shared fairly.

#[test]
fn one_tenant_flooding_the_nonce_store_throttles_only_itself() {
    let flooder = tenant("1111111111", &["LTAI5tFlooder"]);
    let victim = tenant("2222222222", &["LTAI5tVictim"]);
    let mut nonces = BoundedNonces::new(1_000);
    // The flooder sends 4,000 unique, correctly signed requests in 0.4 s.
    let mut accepted = 0;
    for i in 0..4_000 {
        let at = now() + Duration::microseconds(i * 100);
        match verify_rpc(
            "POST",
            &request("LTAI5tFlooder", &format!("f{i}"), at),
            &flooder.keys(),
            &mut nonces,
            at,
        ) {
            Ok(_) => accepted += 1,
            Err(err) => assert_eq!(err.code(), "Throttling.User", "{err}"),
        }
    }
    assert_eq!(accepted, 1_000 / 16, "the flooder holds only its share");
    // Every other tenant goes on, at once and for the whole window.
    let at = now() + Duration::seconds(1);
    assert!(verify_rpc("POST", &request("LTAI5tVictim", "v1", at), &victim.keys(), &mut nonces, at).is_ok());
    let at = now() + Duration::minutes(30);
    assert!(verify_rpc("POST", &request("LTAI5tVictim", "v2", at), &victim.keys(), &mut nonces, at).is_ok());
    // The flooder itself is throttled until its nonces age out, with a message it can act on.
    let err = verify_rpc("POST", &request("LTAI5tFlooder", "f-again", at), &flooder.keys(), &mut nonces, at)
        .unwrap_err();
    assert_eq!(err, AuthError::NonceQuotaExceeded { scope: QuotaScope::Account, quota: 62 });
    assert_eq!(
        err.to_string(),
        "this main account has 62 requests in the 31-minute replay window, its quota; retry shortly"
    );
    let at = now() + NONCE_RETENTION + Duration::seconds(1);
    assert!(
        verify_rpc("POST", &request("LTAI5tFlooder", "f-later", at), &flooder.keys(), &mut nonces, at)
            .is_ok()
    );
}

#[test]
fn one_key_flooding_leaves_its_accounts_other_keys_working() {
    let bank = tenant("3333333333", &["LTAI5tRunaway", "LTAI5tSteady"]);
    let limits = NonceLimits { total: 1_000, per_account: 100, per_key: 40 };
    let mut nonces = BoundedNonces::with_limits(limits);
    for i in 0..200 {
        let result = verify_rpc(
            "POST",
            &request("LTAI5tRunaway", &format!("r{i}"), now()),
            &bank.keys(),
            &mut nonces,
            now(),
        );
        assert_eq!(result.is_ok(), i < 40, "{i}: {result:?}");
    }
    assert_eq!(
        verify_rpc("POST", &request("LTAI5tRunaway", "r-x", now()), &bank.keys(), &mut nonces, now()),
        Err(AuthError::NonceQuotaExceeded { scope: QuotaScope::AccessKey, quota: 40 })
    );
    // The account's other key has the rest of the account's share: 60 more.
    for i in 0..100 {
        let result = verify_rpc(
            "POST",
            &request("LTAI5tSteady", &format!("s{i}"), now()),
            &bank.keys(),
            &mut nonces,
            now(),
        );
        assert_eq!(result.is_ok(), i < 40, "{i}: {result:?}");
    }
    assert_eq!(nonces.len(), 80);
}

#[test]
fn a_refusal_leaves_the_store_unchanged() {
    let mut nonces = BoundedNonces::with_limits(NonceLimits { total: 3, per_account: 2, per_key: 1 });
    nonces.check_and_remember_for("a", "k1", "n1", now()).unwrap();
    let before = format!("{nonces:?}");
    for (account, key, nonce, expected) in [
        ("a", "k1", "n1", AuthError::NonceUsed),
        ("a", "k1", "n2", AuthError::NonceQuotaExceeded { scope: QuotaScope::AccessKey, quota: 1 }),
        ("a", "k1", "", AuthError::Malformed("the signature nonce must be 1–128 characters".into())),
    ] {
        assert_eq!(nonces.check_and_remember_for(account, key, nonce, now()), Err(expected));
        assert_eq!(format!("{nonces:?}"), before);
    }
    nonces.check_and_remember_for("a", "k2", "n1", now()).unwrap();
    assert_eq!(
        nonces.check_and_remember_for("a", "k3", "n1", now()),
        Err(AuthError::NonceQuotaExceeded { scope: QuotaScope::Account, quota: 2 })
    );
    nonces.check_and_remember_for("b", "k4", "n1", now()).unwrap();
    assert_eq!(nonces.check_and_remember_for("c", "k5", "n1", now()), Err(AuthError::NonceStoreFull));
    assert_eq!(nonces.len(), 3);
}

/// The store's decisions against a plain model: a list of what it remembers.
#[derive(Debug, Clone)]
struct Op {
    account: u8,
    key: u8,
    nonce: u8,
    advance_secs: u32,
}

fn op() -> impl Strategy<Value = Op> {
    (0u8..4, 0u8..3, 0u8..24, prop_oneof![3 => Just(0u32), 2 => 0u32..120, 1 => 0u32..2_000])
        .prop_map(|(account, key, nonce, advance_secs)| Op { account, key, nonce, advance_secs })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_store_matches_a_model_of_per_tenant_shares(
        ops in prop::collection::vec(op(), 1..200),
        total in 1usize..16,
        per_account in 1usize..8,
        per_key in 1usize..6,
    ) {
        let limits = NonceLimits { total, per_account, per_key };
        let mut store = BoundedNonces::with_limits(limits);
        // (time, account, key, nonce), oldest first.
        let mut model: Vec<(DateTime<Utc>, u8, u8, u8)> = Vec::new();
        let mut at = now();
        for op in &ops {
            at += Duration::seconds(i64::from(op.advance_secs));
            model.retain(|&(t, ..)| at - t < NONCE_RETENTION);
            // Key IDs name their account: a key belongs to one account.
            let (account, key) = (format!("acct{}", op.account), format!("ak{}-{}", op.account, op.key));
            let expected = if model.iter().any(|&(_, a, k, n)| (a, k, n) == (op.account, op.key, op.nonce)) {
                Err(AuthError::NonceUsed)
            } else if model.iter().filter(|&&(_, a, ..)| a == op.account).count() >= per_account {
                Err(AuthError::NonceQuotaExceeded { scope: QuotaScope::Account, quota: per_account })
            } else if model.iter().filter(|&&(_, a, k, _)| (a, k) == (op.account, op.key)).count() >= per_key {
                Err(AuthError::NonceQuotaExceeded { scope: QuotaScope::AccessKey, quota: per_key })
            } else if model.len() >= total {
                Err(AuthError::NonceStoreFull)
            } else {
                model.push((at, op.account, op.key, op.nonce));
                Ok(())
            };
            let got = store.check_and_remember_for(&account, &key, &format!("n{}", op.nonce), at);
            prop_assert_eq!(got, expected);
            prop_assert_eq!(store.len(), model.len());
        }
        // Whatever the others did, each tenant held at most its share.
        let mut per: BTreeMap<u8, usize> = BTreeMap::new();
        for (_, a, ..) in &model {
            *per.entry(*a).or_default() += 1;
        }
        prop_assert!(per.values().all(|&n| n <= per_account));
    }
}

#[test]
fn memory_per_nonce_stays_within_the_documented_bound() {
    // Just past a power of two (tables and queue have just doubled) and between.
    for n in [65_537usize, 100_000] {
        for (label, accounts) in [("one key", 1usize), ("a key and account per nonce", n)] {
            let limits = NonceLimits { total: n, per_account: n, per_key: n };
            let mut store = BoundedNonces::with_limits(limits);
            let info = allocation_counter::measure(|| {
                for i in 0..n {
                    let tenant = (i % accounts).to_string();
                    store.check_and_remember_for(&tenant, &tenant, &i.to_string(), now()).unwrap();
                }
            });
            let per_nonce = info.bytes_max as usize / store.len();
            println!("{n} nonces, {label}: {per_nonce} heap bytes per nonce at peak");
            assert!(per_nonce <= NONCE_BYTES, "{label}: {per_nonce}");
        }
    }
}

// ---------------------------------------------------------------------------------
// 2. Errors quote received values short and escaped.

/// A hostile value: a forged log line first, then a megabyte.
fn hostile(first: &str) -> String {
    format!("{first}\n2026-11-23T02:00:00Z INFO admin login ok `\u{202e}\r\u{0}{}", "x".repeat(1 << 20))
}

fn assert_quoted_short(err: &AuthError) {
    let shown = err.to_string();
    assert!(shown.len() < 400, "{} bytes: {:.200}", shown.len(), shown);
    assert!(!shown.contains(['\n', '\r', '\0', '\u{202e}']), "{shown}");
    assert!(shown.contains('…'), "{shown}");
    assert!(format!("{err:?}").len() < 400);
}

#[test]
fn rpc_errors_quote_at_most_a_short_escaped_prefix() {
    let bank = tenant("4444444444", &["LTAI5tExample"]);
    let keys = bank.keys();
    let good = params("LTAI5tExample", "n", now());
    let cases: [(usize, String, &str); 4] = [
        (0, hostile("LTAI5tUnknown"), "InvalidAccessKeyId.NotFound"),
        (2, hostile("HMAC-SHA1"), "InvalidSignatureMethod"),
        (4, hostile("1.0"), "InvalidSignatureVersion"),
        (5, hostile("2026-11-23T02:00:00Z"), "InvalidTimeStamp.Format"),
    ];
    for (field, value, code) in cases {
        let mut p = good.clone();
        p[field].1 = value;
        let err =
            verify_rpc("POST", &signed(&p, "s3cr3t"), &keys, &mut BoundedNonces::new(10), now()).unwrap_err();
        assert_eq!(err.code(), code);
        assert_quoted_short(&err);
    }
    // The nonce is never echoed at all.
    let mut p = good.clone();
    p[3].1 = hostile("n");
    let err = verify_rpc(
        "POST",
        &signed(&p, &secret_of("LTAI5tExample")),
        &keys,
        &mut BoundedNonces::new(10),
        now(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "malformed request: the signature nonce must be 1–128 characters");
}

#[test]
fn a_newline_is_shown_escaped_and_a_short_value_whole() {
    let err = check_timestamp("2026-11-23T02:00:00Z\nINFO forged", now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "timestamp `2026-11-23T02:00:00Z\\nINFO forged` is not in the format yyyy-MM-ddTHH:mm:ssZ"
    );
    let err = check_timestamp("2026-11-23T03:00:00Z", now()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "timestamp `2026-11-23T03:00:00Z` is more than 15 minutes from the server time"
    );
    let quoted = Quoted::new("a`b");
    assert_eq!(quoted.to_string(), "a\\`b");
    let long = "é".repeat(QUOTE_CHARS + 1);
    let quoted = Quoted::new(&long);
    assert!(quoted.is_cut());
    assert_eq!(quoted.to_string(), format!("{}…", "é".repeat(QUOTE_CHARS)));
}

#[test]
fn v3_and_url_errors_quote_at_most_a_short_escaped_prefix() {
    let bank = tenant("5555555555", &["LTAI5tExample"]);
    let keys = bank.keys();
    // The V3 size limit is 64 KiB, so these are 40 KiB values.
    let v3_hostile = |first: &str| format!("{first}\n\u{202e}\r\0{}", "x".repeat(40 << 10));
    let headers = |auth: String, date: String| -> Vec<(String, String)> {
        vec![
            ("authorization".into(), auth),
            ("host".into(), "cloudauth.aliyuncs.com".into()),
            ("x-acs-action".into(), "InitFaceVerify".into()),
            ("x-acs-date".into(), date),
            ("x-acs-signature-nonce".into(), "n".into()),
            ("x-acs-content-sha256".into(), sha256_hex(b"")),
        ]
    };
    let signed_list = "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce";
    for (auth, date, code) in [
        (v3_hostile("HMAC"), "2026-11-23T02:00:00Z".to_owned(), "InvalidSignatureMethod"),
        (
            format!("ACS3-HMAC-SHA256 Credential=LTAI5tExample,SignedHeaders={signed_list},Signature=00"),
            v3_hostile("2026"),
            "InvalidTimeStamp.Format",
        ),
        (
            format!(
                "ACS3-HMAC-SHA256 Credential={},SignedHeaders={signed_list},Signature=00",
                v3_hostile("LTAI5t")
            ),
            "2026-11-23T02:00:00Z".to_owned(),
            "InvalidAccessKeyId.NotFound",
        ),
    ] {
        let headers = headers(auth, date);
        let req = V3Request { method: "POST", path: "/", query: &[], headers: &headers };
        let err = verify_v3(&req, b"", &keys, &mut BoundedNonces::new(10), now()).unwrap_err();
        assert_eq!(err.code(), code);
        assert_quoted_short(&err);
    }
    let object = PhotoObject::face_photo("1234567890", "0a1b2c");
    let sk = AccessKeySecret::new("sk".into());
    let url = presign_v4(
        &object,
        &Signer { access_key_id: "ak", secret: &sk, security_token: None },
        now(),
        PHOTO_URL_LIFETIME,
    )
    .unwrap();
    let date = url.split("x-oss-date=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let forged =
        url.replace(&format!("x-oss-date={date}"), &format!("x-oss-date={}", pop_encode(&hostile("2026"))));
    let err = verify_presigned_v4(&forged, &object, &sk, now()).unwrap_err();
    assert_eq!(err.code(), "InvalidTimeStamp.Format");
    assert_quoted_short(&err);
}

proptest! {
    #[test]
    fn quoted_values_are_short_single_line_prefixes(value in "\\PC{0,100}|[\\x00-\\x1f\\x7f`\u{202e}a-z]{0,100}") {
        let quoted = Quoted::new(&value);
        let kept: String = value.chars().take(QUOTE_CHARS).collect();
        prop_assert_eq!(quoted.head(), kept.as_str());
        prop_assert_eq!(quoted.is_cut(), value.chars().count() > QUOTE_CHARS);
        let shown = quoted.to_string();
        prop_assert!(!shown.chars().any(|c| c.is_control() || c == '\u{202e}'), "{:?}", shown);
        // At most 10 characters per kept character (`\u{10ffff}`) and the ellipsis.
        prop_assert!(shown.chars().count() <= 10 * QUOTE_CHARS + 1);
        prop_assert!(!shown.replace("\\`", "").contains('`'));
    }
}

// ---------------------------------------------------------------------------------
// 3. Request-size limits.

#[test]
fn requests_beyond_the_size_limits_are_refused_before_they_are_read() {
    let bank = tenant("6666666666", &["LTAI5tExample"]);
    let keys = bank.keys();
    let mut p = params("LTAI5tExample", "n", now());
    p.push(("Photo".into(), "A".repeat(MAX_RPC_REQUEST_BYTES)));
    let query = signed(&p, &secret_of("LTAI5tExample"));
    let err = verify_rpc("POST", &query, &keys, &mut BoundedNonces::new(10), now()).unwrap_err();
    assert_eq!(err, AuthError::RequestTooLarge { bytes: 4 + query.len(), limit: MAX_RPC_REQUEST_BYTES });
    assert_eq!(err.code(), "InvalidParameter");
    // A 1 MiB photo in Base64 fits, and a wrong signature's string-to-sign stays within
    // five bytes per request byte.
    let mut p = params("LTAI5tExample", "n", now());
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    p.push(("FaceContrastPicture".into(), alphabet.repeat((1 << 20) * 4 / 3 / 64)));
    let query = signed(&p, "wrong");
    assert!(query.len() < MAX_RPC_REQUEST_BYTES);
    let err = verify_rpc("POST", &query, &keys, &mut BoundedNonces::new(10), now()).unwrap_err();
    let AuthError::SignatureDoesNotMatch { string_to_sign } = &err else { panic!("{err:?}") };
    assert!(string_to_sign.len() <= 5 * ("POST".len() + query.len()));
    // V3: too many headers, too large headers.
    let many: Vec<(String, String)> = (0..=MAX_PARAMETERS).map(|i| (format!("x-h{i}"), "v".into())).collect();
    let req = V3Request { method: "POST", path: "/", query: &[], headers: &many };
    assert_eq!(
        verify_v3(&req, b"", &keys, &mut BoundedNonces::new(10), now()).unwrap_err().code(),
        "InvalidParameter"
    );
    let big = vec![("authorization".to_owned(), "x".repeat(MAX_V3_REQUEST_BYTES))];
    let req = V3Request { method: "POST", path: "/", query: &[], headers: &big };
    assert!(matches!(
        verify_v3(&req, b"", &keys, &mut BoundedNonces::new(10), now()),
        Err(AuthError::RequestTooLarge { limit: MAX_V3_REQUEST_BYTES, .. })
    ));
}
