//! Verification behaviour: signed requests through the RAM directory, every rejection
//! with its code, replay rules at their exact boundaries, a flood of unique nonces,
//! tampering and ordering properties, and garbage that must never panic.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use shiren_auth::*;
use shiren_ram::{AccessKeyStatus, Directory, Quotas};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap()
}

struct World {
    directory: Directory,
    vault: SecretVault,
}

fn world() -> World {
    let mut directory = Directory::new("1234567890", "bank", Quotas::default()).unwrap();
    directory.create_user("kyc-service").unwrap();
    directory.create_access_key("kyc-service", "LTAI5tExample", now()).unwrap();
    directory.create_access_key("kyc-service", "LTAI5tRetired", now()).unwrap();
    directory.set_access_key_status("LTAI5tRetired", AccessKeyStatus::Inactive).unwrap();
    let mut vault = SecretVault::default();
    vault.insert("LTAI5tExample", AccessKeySecret::new("s3cr3t-value".into()));
    vault.insert("LTAI5tRetired", AccessKeySecret::new("old".into()));
    World { directory, vault }
}

fn params(ak: &str, nonce: &str, at: DateTime<Utc>) -> Vec<(String, String)> {
    vec![
        ("AccessKeyId".into(), ak.into()),
        ("Action".into(), "InitFaceVerify".into()),
        ("Format".into(), "JSON".into()),
        ("SignatureMethod".into(), "HMAC-SHA1".into()),
        ("SignatureNonce".into(), nonce.into()),
        ("SignatureVersion".into(), "1.0".into()),
        ("Timestamp".into(), at.format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ("Version".into(), "2019-03-07".into()),
        ("SceneId".into(), "1000000006".into()),
        ("CertName".into(), "张三 Zhang".into()),
    ]
}

fn signed(method: &str, p: &[(String, String)], secret: &str) -> String {
    let borrowed: Vec<(&str, &str)> = p.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    signed_rpc_query(method, &borrowed, &AccessKeySecret::new(secret.into()))
}

#[test]
fn a_signed_request_authenticates_to_its_ram_user() {
    let w = world();
    let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
    let mut nonces = BoundedNonces::new(1_000);
    let query = signed("POST", &params("LTAI5tExample", "n-1", now()), "s3cr3t-value");
    let who = verify_rpc("POST", &query, &keys, &mut nonces, now()).unwrap();
    assert_eq!(
        (who.user.as_str(), who.action.as_str(), who.access_key_id.as_str()),
        ("kyc-service", "InitFaceVerify", "LTAI5tExample")
    );
    // The principal then goes to RAM: this user has no policies yet.
    let policies = w.directory.user_policies(&who.user).unwrap();
    let request = shiren_ram::Request::new("antcloudauth:InitFaceVerify", "*");
    assert_eq!(
        policies.evaluate(shiren_ram::Scope::Identity, &request).decision(),
        shiren_ram::Decision::ImplicitDeny
    );
}

#[test]
fn every_rejection_has_its_code() {
    let w = world();
    let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
    let check = |query: String, method: &str| {
        let mut nonces = BoundedNonces::new(10);
        verify_rpc(method, &query, &keys, &mut nonces, now()).unwrap_err().code()
    };
    let good = params("LTAI5tExample", "n", now());
    assert_eq!(
        check(signed("POST", &params("LTAI5tUnknown", "n", now()), "x"), "POST"),
        "InvalidAccessKeyId.NotFound"
    );
    assert_eq!(
        check(signed("POST", &params("LTAI5tRetired", "n", now()), "old"), "POST"),
        "InvalidAccessKeyId.Inactive"
    );
    assert_eq!(check(signed("POST", &good, "wrong-secret"), "POST"), "SignatureDoesNotMatch");
    assert_eq!(check(signed("POST", &good, "s3cr3t-value"), "GET"), "SignatureDoesNotMatch");
    let mut sha256 = good.clone();
    sha256[3].1 = "HMAC-SHA256".into();
    assert_eq!(check(signed("POST", &sha256, "s3cr3t-value"), "POST"), "InvalidSignatureMethod");
    let mut v2 = good.clone();
    v2[5].1 = "2.0".into();
    assert_eq!(check(signed("POST", &v2, "s3cr3t-value"), "POST"), "InvalidSignatureVersion");
    for missing in [
        "AccessKeyId",
        "Action",
        "SignatureNonce",
        "Timestamp",
        "Version",
        "SignatureMethod",
        "SignatureVersion",
    ] {
        let without: Vec<(String, String)> = good.iter().filter(|(n, _)| n != missing).cloned().collect();
        assert_eq!(check(signed("POST", &without, "s3cr3t-value"), "POST"), "MissingParameter", "{missing}");
    }
    let mut bad_time = good.clone();
    bad_time[6].1 = "2026-11-23 02:00:00".into();
    assert_eq!(check(signed("POST", &bad_time, "s3cr3t-value"), "POST"), "InvalidTimeStamp.Format");
    assert_eq!(check("Action=X".into(), "POST"), "MissingParameter");
}

#[test]
fn mismatch_reports_the_servers_string_to_sign_and_never_the_secret() {
    let w = world();
    let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
    let query = signed("POST", &params("LTAI5tExample", "n", now()), "wrong");
    let err = verify_rpc("POST", &query, &keys, &mut BoundedNonces::new(10), now()).unwrap_err();
    let AuthError::SignatureDoesNotMatch { string_to_sign } = &err else { panic!("{err:?}") };
    assert!(string_to_sign.as_str().starts_with("POST&%2F&AccessKeyId%3DLTAI5tExample"));
    assert_eq!(err.string_to_sign(), Some(string_to_sign.as_str()));
    // The name (`张三 Zhang`) is personal: masked in the string, which neither Display nor
    // Debug of the error prints.
    assert!(
        string_to_sign.as_str().contains("%26CertName%3D%252A%252A%252A%26"),
        "{}",
        string_to_sign.as_str()
    );
    assert!(!string_to_sign.as_str().contains("Zhang"));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("s3cr3t-value"));
    assert!(!shown.contains("AccessKeyId%3D") && !shown.contains("Zhang"), "{shown}");
    assert_eq!(format!("{:?}", AccessKeySecret::new("s3cr3t-value".into())), "AccessKeySecret(…)");
}

#[test]
fn timestamps_at_the_15_minute_boundaries() {
    let w = world();
    let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
    let mut nonces = BoundedNonces::new(100);
    for (n, offset, ok) in
        [(1, 15 * 60, true), (2, -15 * 60, true), (3, 15 * 60 + 1, false), (4, -15 * 60 - 1, false)]
    {
        let at = now() + Duration::seconds(offset);
        let query = signed("GET", &params("LTAI5tExample", &format!("b{n}"), at), "s3cr3t-value");
        let result = verify_rpc("GET", &query, &keys, &mut nonces, now());
        assert_eq!(result.is_ok(), ok, "{offset}: {result:?}");
        if !ok {
            assert_eq!(result.unwrap_err().code(), "InvalidTimeStamp.Expired");
        }
    }
}

#[test]
fn a_reused_nonce_is_refused_for_31_minutes() {
    let w = world();
    let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
    let mut nonces = BoundedNonces::new(100);
    let query = signed("GET", &params("LTAI5tExample", "same", now()), "s3cr3t-value");
    verify_rpc("GET", &query, &keys, &mut nonces, now()).unwrap();
    assert_eq!(verify_rpc("GET", &query, &keys, &mut nonces, now()), Err(AuthError::NonceUsed));
    // A fresh timestamp with the same nonce is still a replay while remembered.
    let later = now() + Duration::minutes(20);
    let again = signed("GET", &params("LTAI5tExample", "same", later), "s3cr3t-value");
    assert_eq!(verify_rpc("GET", &again, &keys, &mut nonces, later), Err(AuthError::NonceUsed));
    let much_later = now() + NONCE_RETENTION;
    let fresh = signed("GET", &params("LTAI5tExample", "same", much_later), "s3cr3t-value");
    assert!(verify_rpc("GET", &fresh, &keys, &mut nonces, much_later).is_ok());
    // A wrongly signed request does not consume the nonce.
    let forged = signed("GET", &params("LTAI5tExample", "unused", now()), "wrong");
    assert!(verify_rpc("GET", &forged, &keys, &mut nonces, much_later).is_err());
    let genuine = signed("GET", &params("LTAI5tExample", "unused", much_later), "s3cr3t-value");
    assert!(verify_rpc("GET", &genuine, &keys, &mut nonces, much_later).is_ok());
}

#[test]
fn a_flood_of_ten_million_unique_nonces_stays_within_the_bound() {
    // One tenant allowed the whole store: the global cap alone bounds it (per-tenant
    // shares are in tests/hostile.rs).
    let capacity = 100_000;
    let mut store = BoundedNonces::with_limits(NonceLimits {
        total: capacity,
        per_account: usize::MAX,
        per_key: usize::MAX,
    });
    let start = now();
    let mut refused = 0u64;
    let mut last_accepted = None;
    let mut end = start;
    for i in 0..10_000_000u64 {
        // 10,000 requests per second of simulated time: 1000 s in all.
        end = start + Duration::microseconds((i * 100) as i64);
        match store.check_and_remember("LTAI5tExample", &i.to_string(), end) {
            Ok(()) => last_accepted = Some(i),
            Err(AuthError::NonceStoreFull) => refused += 1,
            Err(other) => panic!("{other:?}"),
        }
        assert!(store.len() <= capacity);
    }
    // Within the 31-minute window the store filled and then refused instead of
    // forgetting: memory stayed at the bound.
    assert_eq!(store.len(), capacity);
    assert_eq!(refused, 10_000_000 - capacity as u64);
    // Nothing was forgotten early: the last accepted nonce is still a replay.
    let last = last_accepted.unwrap().to_string();
    assert_eq!(store.check_and_remember("LTAI5tExample", &last, end), Err(AuthError::NonceUsed));
    // Once the window has passed, the oldest nonces age out and room returns.
    let later = start + NONCE_RETENTION + Duration::seconds(1);
    assert_eq!(store.check_and_remember("LTAI5tExample", "fresh", later), Ok(()));
}

#[test]
fn v3_requests_verify_end_to_end() {
    let w = world();
    let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
    let body = br#"{"SceneId":1000000006}"#;
    let headers: Vec<(String, String)> = vec![
        ("host".into(), "cloudauth.aliyuncs.com".into()),
        ("x-acs-action".into(), "InitFaceVerify".into()),
        ("x-acs-version".into(), "2019-03-07".into()),
        ("x-acs-date".into(), now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        ("x-acs-signature-nonce".into(), "v3-nonce".into()),
        ("x-acs-content-sha256".into(), sha256_hex(body)),
        ("content-type".into(), "application/json".into()),
    ];
    let query: Vec<(String, String)> = vec![("RegionId".into(), "cn-shanghai".into())];
    let req = V3Request { method: "POST", path: "/", query: &query, headers: &headers };
    let auth = sign_v3(&req, "LTAI5tExample", &AccessKeySecret::new("s3cr3t-value".into())).unwrap();
    let mut signed_headers = headers.clone();
    signed_headers.push(("Authorization".into(), auth.clone()));
    let req = V3Request { headers: &signed_headers, ..req };
    let mut nonces = BoundedNonces::new(10);
    let who = verify_v3(&req, body, &keys, &mut nonces, now()).unwrap();
    assert_eq!(who.user, "kyc-service");
    assert_eq!(verify_v3(&req, body, &keys, &mut nonces, now()), Err(AuthError::NonceUsed));
    // A changed body (or payload hash) fails.
    let mut fresh = BoundedNonces::new(10);
    assert_eq!(verify_v3(&req, b"{}", &keys, &mut fresh, now()).unwrap_err().code(), "SignatureDoesNotMatch");
    let parsed = parse_authorization(&auth).unwrap();
    assert_eq!(parsed.access_key_id, "LTAI5tExample");
    assert!(parsed.signed_headers.contains(&"content-type".to_owned()));
    for bad in [
        "",
        "ACS3-HMAC-SHA256",
        "HMAC Credential=a,SignedHeaders=host,Signature=0",
        "ACS3-HMAC-SHA256 Credential=a,Signature=0",
        "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=x;host,Signature=0",
        "ACS3-HMAC-SHA256 Credential=a,Credential=b,SignedHeaders=host,Signature=0",
    ] {
        assert!(parse_authorization(bad).is_err(), "{bad}");
    }
}

#[test]
fn sts_tokens_are_signed_into_photo_urls() {
    let object = PhotoObject::face_photo("1234567890", "abc");
    let sk = AccessKeySecret::new("sk".into());
    let signer = Signer { access_key_id: "STS.ak", secret: &sk, security_token: Some("token/with+chars") };
    for url in [
        presign_v1(&object, &signer, now(), PHOTO_URL_LIFETIME),
        presign_v4(&object, &signer, now(), PHOTO_URL_LIFETIME).unwrap(),
    ] {
        assert!(url.contains("security-token=token%2Fwith%2Bchars"), "{url}");
        let verify = if url.contains("x-oss-signature") { verify_presigned_v4 } else { verify_presigned_v1 };
        assert_eq!(verify(&url, &object, &sk, now()), Ok(()));
        let swapped = url.replace("token%2Fwith%2Bchars", "other");
        assert_eq!(verify(&swapped, &object, &sk, now()), Err(AuthError::UrlTampered));
    }
    assert!(presign_v4(&object, &signer, now(), Duration::days(8)).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn any_single_change_breaks_the_signature(which in 0usize..10, byte in any::<u8>(), method_change in any::<bool>()) {
        let w = world();
        let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
        let original = params("LTAI5tExample", "prop", now());
        let query = signed("POST", &original, "s3cr3t-value");
        prop_assert!(verify_rpc("POST", &query, &keys, &mut BoundedNonces::new(4), now()).is_ok());
        if method_change {
            prop_assert!(verify_rpc("PUT", &query, &keys, &mut BoundedNonces::new(4), now()).is_err());
        }
        // Change one character of one value (keeping the request well-formed).
        let mut changed = original.clone();
        let value = &mut changed[which].1;
        let replacement = char::from(b'a' + byte % 26);
        let new_value: String = std::iter::once(replacement).chain(value.chars().skip(1)).collect();
        prop_assume!(new_value != *value);
        *value = new_value;
        let tampered = signed("POST", &changed, "other-secret");
        let resigned_with_original = {
            // The attacker keeps the original signature but changes a value.
            let sig = query.rsplit("Signature=").next().unwrap();
            let borrowed: Vec<(&str, &str)> = changed.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            let body: Vec<String> = borrowed.iter().map(|(n, v)| format!("{}={}", pop_encode(n), pop_encode(v))).collect();
            format!("{}&Signature={sig}", body.join("&"))
        };
        prop_assert!(verify_rpc("POST", &tampered, &keys, &mut BoundedNonces::new(4), now()).is_err());
        prop_assert!(verify_rpc("POST", &resigned_with_original, &keys, &mut BoundedNonces::new(4), now()).is_err());
    }

    #[test]
    fn parameter_order_on_the_wire_never_matters(seed in any::<u64>(), value in "\\PC{0,20}") {
        let w = world();
        let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
        let mut p = params("LTAI5tExample", "order", now());
        p[9].1 = value.clone();
        let query = signed("POST", &p, "s3cr3t-value");
        let mut parts: Vec<&str> = query.split('&').collect();
        let mut state = seed | 1;
        for i in (1..parts.len()).rev() {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17;
            parts.swap(i, (state % (i as u64 + 1)) as usize);
        }
        let shuffled = parts.join("&");
        prop_assert!(verify_rpc("POST", &shuffled, &keys, &mut BoundedNonces::new(4), now()).is_ok());
        // UTF-8 values round-trip through encoding and decoding.
        let decoded = parse_query(&shuffled).unwrap();
        prop_assert_eq!(decoded.iter().find(|(n, _)| n == "CertName").map(|(_, v)| v.clone()), Some(value));
    }

    /// Verification reads values in canonical POP form without decoding them; every
    /// other legal spelling (lower-case hex, `+` for space, escaped unreserved bytes,
    /// bare reserved and non-ASCII characters) must be decoded. Both routes must give
    /// the string-to-sign of the decoded parameters.
    #[test]
    fn every_wire_spelling_of_a_request_verifies(
        value in "[ -~é阿]{0,16}",
        name in "[A-Za-z][A-Za-z*_.-]{0,20}",
        choices in prop::collection::vec(0u8..4, 200),
    ) {
        let w = world();
        let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
        let mut p = params("LTAI5tExample", "spelling", now());
        p[9].1 = value;
        prop_assume!(p.iter().all(|(n, _)| *n != name));
        p.push((name, "x y".into()));
        let borrowed: Vec<(&str, &str)> = p.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let secret = AccessKeySecret::new("s3cr3t-value".into());
        let signed = sign_rpc("POST", &borrowed, &secret);
        let mut choice = choices.iter().cycle();
        let mut spell = |text: &str| -> String {
            let mut out = String::new();
            for c in text.chars() {
                let pick = *choice.next().unwrap();
                let mut utf8 = [0u8; 4];
                let bytes = c.encode_utf8(&mut utf8).as_bytes();
                let bare_allowed = !matches!(c, '&' | '=' | '%' | '+' | '#');
                match pick {
                    0 => out.push_str(&pop_encode(&c.to_string())),
                    1 => bytes.iter().for_each(|b| out.push_str(&format!("%{b:02x}"))),
                    2 if c == ' ' => out.push('+'),
                    _ if bare_allowed => out.push(c),
                    _ => bytes.iter().for_each(|b| out.push_str(&format!("%{b:02X}"))),
                }
            }
            out
        };
        let mut wire: Vec<String> = p.iter().map(|(n, v)| format!("{}={}", spell(n), spell(v))).collect();
        wire.push(format!("Signature={}", spell(&signed.signature)));
        let query = wire.join("&");
        let verified = verify_rpc("POST", &query, &keys, &mut BoundedNonces::new(4), now());
        prop_assert!(verified.is_ok(), "{query}: {verified:?}");
        let forged = verify_rpc("POST", &query, &DirectoryKeys { directory: &w.directory, vault: &{
            let mut vault = SecretVault::default();
            vault.insert("LTAI5tExample", AccessKeySecret::new("wrong".into()));
            vault
        } }, &mut BoundedNonces::new(4), now());
        // The mismatch carries the string-to-sign with personal values (here `CertName`,
        // and the random name when it is one) masked as `***`.
        let masked: Vec<(&str, &str)> = borrowed
            .iter()
            .map(|&(n, v)| (n, if is_personal_parameter(n) { "***" } else { v }))
            .collect();
        let expected = rpc_string_to_sign("POST", &masked);
        prop_assert_eq!(forged.as_ref().err().and_then(AuthError::string_to_sign), Some(expected.as_str()));
        prop_assert!(!expected.contains("%25E5%25BC%25A0"), "the name is masked");
    }

    #[test]
    fn garbage_never_panics(raw in prop::collection::vec(any::<u8>(), 0..300), url in "\\PC{0,120}") {
        let w = world();
        let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
        let text = String::from_utf8_lossy(&raw);
        let _ = verify_rpc("GET", &text, &keys, &mut BoundedNonces::new(4), now());
        let _ = parse_authorization(&text);
        let object = PhotoObject::face_photo("1", "x");
        let sk = AccessKeySecret::new("sk".into());
        let _ = verify_presigned_v1(&url, &object, &sk, now());
        let _ = verify_presigned_v4(&format!("https://{url}"), &object, &sk, now());
        let headers = vec![("authorization".to_owned(), text.to_string()), ("host".to_owned(), "h".to_owned())];
        let req = V3Request { method: "GET", path: &url, query: &[], headers: &headers };
        let _ = verify_v3(&req, &raw, &keys, &mut BoundedNonces::new(4), now());
    }
}

#[test]
fn hostile_query_strings_are_typed_errors() {
    let w = world();
    let keys = DirectoryKeys { directory: &w.directory, vault: &w.vault };
    let huge: Vec<String> = (0..10_000).map(|i| format!("p{i}=v")).collect();
    for raw in ["Action=%", "Action=%zz", "Action=%C3%28", "a=1&a=2", "=x", &huge.join("&")] {
        let err = verify_rpc("GET", raw, &keys, &mut BoundedNonces::new(4), now()).unwrap_err();
        assert_eq!(err.code(), "InvalidParameter", "{raw:.40}");
    }
}
