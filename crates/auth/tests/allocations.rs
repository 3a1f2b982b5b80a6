//! Allocations per call of the hot paths, measured with a counting allocator and printed
//! (`cargo test -p shiren-auth --test allocations -- --nocapture`); the bounds only catch
//! a regression to per-byte allocation.
#![allow(clippy::unwrap_used, reason = "tests")]

use chrono::{TimeZone, Utc};
use shiren_auth::*;

struct OneKey(AccessKeySecret);

impl AccessKeys for OneKey {
    fn active_key(&self, _: &str) -> Result<ActiveKey<'_>, AuthError> {
        Ok(ActiveKey { account: "1234567890", user: "u", secret: &self.0 })
    }
}

#[test]
fn allocations_per_call() {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 2, 0, 0).unwrap();
    let secret = AccessKeySecret::new("s3cr3t".into());
    let keys = OneKey(secret.clone());
    let params: Vec<(String, String)> = (0..7)
        .map(|i| (format!("P{i}"), format!("value {i}")))
        .chain(
            [
                ("AccessKeyId", "ak"),
                ("Action", "InitFaceVerify"),
                ("SignatureMethod", "HMAC-SHA1"),
                ("SignatureNonce", "n"),
                ("SignatureVersion", "1.0"),
                ("Timestamp", "2026-11-23T02:00:00Z"),
                ("Version", "2019-03-07"),
                ("Format", "JSON"),
            ]
            .map(|(a, b)| (a.to_owned(), b.to_owned())),
        )
        .collect();
    assert_eq!(params.len(), 15);
    let borrowed: Vec<(&str, &str)> = params.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let query = signed_rpc_query("POST", &borrowed, &secret);
    let mut nonces = BoundedNonces::new(1_000);
    let rpc = allocation_counter::measure(|| {
        verify_rpc("POST", &query, &keys, &mut nonces, now).unwrap();
    });
    let object = PhotoObject::face_photo("1234567890", "0a1b2c");
    let signer = Signer { access_key_id: "ak", secret: &secret, security_token: None };
    let v1 = allocation_counter::measure(|| {
        std::hint::black_box(presign_v1(&object, &signer, now, PHOTO_URL_LIFETIME));
    });
    let v4 = allocation_counter::measure(|| {
        std::hint::black_box(presign_v4(&object, &signer, now, PHOTO_URL_LIFETIME).unwrap());
    });
    println!(
        "allocations per call: verify_rpc (15 params) {}, presign_v1 {}, presign_v4 {}",
        rpc.count_total, v1.count_total, v4.count_total
    );
    assert!(rpc.count_total >= 1, "the counter is installed");
    // verify_rpc: the parameter list, its order, the string-to-sign, the three strings of
    // `Authenticated` and (this being the store's first nonce) the nonce set and queue —
    // none per byte or per parameter.
    assert!(rpc.count_total <= 10, "verify_rpc allocates {} times", rpc.count_total);
    assert!(v1.count_total < 100 && v4.count_total < 200);
}
