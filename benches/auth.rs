//! Signature benches: verify an RPC request with 15 parameters, a V3 request with a
//! 1 KB body, and mint a pre-signed photo URL (V1 and V4).
#![allow(clippy::unwrap_used, missing_docs, reason = "benchmark harness")]

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use shiren::auth::{
    AccessKeySecret, AccessKeys, ActiveKey, AuthError, NonceStore, PHOTO_URL_LIFETIME, PhotoObject, Signer,
    V3Request, presign_v1, presign_v4, sha256_hex, sign_v3, signed_rpc_query, verify_rpc, verify_v3,
};

struct OneKey(AccessKeySecret);

impl AccessKeys for OneKey {
    fn active_key(&self, _: &str) -> Result<ActiveKey<'_>, AuthError> {
        Ok(ActiveKey { account: "1234567890", user: "kyc-service", secret: &self.0 })
    }
}

/// Accepts every nonce: the bench measures signature work, not the nonce store.
struct NoReplayCheck;

impl NonceStore for NoReplayCheck {
    fn check_and_remember(&mut self, _: &str, _: &str, _: chrono::DateTime<Utc>) -> Result<(), AuthError> {
        Ok(())
    }
}

fn signatures(c: &mut Criterion) {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let secret = AccessKeySecret::new("s3cr3t-value".into());
    let keys = OneKey(secret.clone());
    let params: Vec<(String, String)> = [
        ("AccessKeyId", "LTAI5tExample"),
        ("Action", "InitFaceVerify"),
        ("Format", "JSON"),
        ("SignatureMethod", "HMAC-SHA1"),
        ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
        ("SignatureVersion", "1.0"),
        ("Timestamp", "2026-11-23T02:00:00Z"),
        ("Version", "2019-03-07"),
        ("SceneId", "1000000006"),
        ("OuterOrderNo", "order20261123000001"),
        ("ProductCode", "ID_PRO"),
        ("CertType", "IDENTITY_CARD"),
        ("CertName", "张三"),
        ("CertNo", "11010519491231002X"),
        ("MetaInfo", "{\"zimVer\":\"3.0.0\",\"appVersion\":\"1\"}"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(params.len(), 15);
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let query = signed_rpc_query("POST", &borrowed, &secret);
    assert!(verify_rpc("POST", &query, &keys, &mut NoReplayCheck, now).is_ok());

    let body = vec![b'x'; 1024];
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), "cloudauth.aliyuncs.com".into()),
        ("x-acs-action".into(), "InitFaceVerify".into()),
        ("x-acs-version".into(), "2019-03-07".into()),
        ("x-acs-date".into(), "2026-11-23T02:00:00Z".into()),
        ("x-acs-signature-nonce".into(), "v3".into()),
        ("x-acs-content-sha256".into(), sha256_hex(&body)),
        ("content-type".into(), "application/json".into()),
    ];
    let v3_query: Vec<(String, String)> = vec![("RegionId".into(), "cn-shanghai".into())];
    let unsigned = V3Request { method: "POST", path: "/", query: &v3_query, headers: &headers };
    let authorization = sign_v3(&unsigned, "LTAI5tExample", &secret).unwrap();
    headers.push(("Authorization".into(), authorization));
    let v3 = V3Request { method: "POST", path: "/", query: &v3_query, headers: &headers };
    assert!(verify_v3(&v3, &body, &keys, &mut NoReplayCheck, now).is_ok());

    let object = PhotoObject::face_photo("1234567890", "0a1b2c");
    let signer = Signer { access_key_id: "ak", secret: &secret, security_token: None };

    let mut group = c.benchmark_group("auth");
    // The irreducible part of an RPC verification, for a same-run ratio: one HMAC-SHA1
    // over this request's string-to-sign.
    let string_to_sign = shiren::auth::rpc_string_to_sign("POST", &borrowed);
    group.bench_function("baseline_hmac_sha1_of_string_to_sign", |b| {
        b.iter(|| {
            use hmac::{KeyInit, Mac};
            let mut mac = <hmac::Hmac<sha1::Sha1> as KeyInit>::new_from_slice(b"s3cr3t-value&").unwrap();
            mac.update(black_box(string_to_sign.as_bytes()));
            mac.finalize().into_bytes()
        })
    });
    group.bench_function("verify_rpc_15_params", |b| {
        b.iter(|| verify_rpc("POST", black_box(&query), &keys, &mut NoReplayCheck, now).is_ok())
    });
    group.bench_function("verify_v3_1kb_body", |b| {
        b.iter(|| verify_v3(black_box(&v3), black_box(&body), &keys, &mut NoReplayCheck, now).is_ok())
    });
    group.bench_function("presign_photo_url_v1", |b| {
        b.iter(|| presign_v1(black_box(&object), &signer, now, PHOTO_URL_LIFETIME))
    });
    group.bench_function("presign_photo_url_v4", |b| {
        b.iter(|| presign_v4(black_box(&object), &signer, now, PHOTO_URL_LIFETIME).unwrap())
    });
    let key = shiren::auth::V4SigningKey::derive(&secret, now, "cn-shanghai");
    group.bench_function("presign_photo_url_v4_cached_key", |b| {
        b.iter(|| {
            shiren::auth::presign_v4_with_key(black_box(&object), &signer, &key, now, PHOTO_URL_LIFETIME)
                .unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, signatures);
criterion_main!(benches);
