//! The pinned public test photos (fetched by `scripts/fetch-models.sh` into `.cache/`):
//! the service's rules refuse the oversized ones with 419, and relaxed rules decode all
//! seven, RGBA included. A missing cache is a loud failure, never a skip.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use common::{FACE_PHOTOS, cached};
use shiren_face::{IntakeError, PhotoRules, decode_photo};

#[test]
fn the_services_rules_and_relaxed_rules() {
    let relaxed = PhotoRules { max_bytes: 4 << 20, min_size: (400, 400), max_size: (4000, 4000) };
    for name in FACE_PHOTOS {
        let bytes = cached("photos", name);
        match decode_photo(&bytes, &PhotoRules::default()) {
            Ok(p) => {
                assert!(p.width().max(p.height()) <= 1920 && p.width().min(p.height()) <= 1080, "{name}")
            }
            Err(err @ IntakeError::Resolution { .. }) => assert_eq!(err.call_code().code(), 419, "{name}"),
            Err(other) => panic!("{name}: unexpected {other}"),
        }
        let decoded = decode_photo(&bytes, &relaxed).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded.had_alpha, *name == "32bit.png", "{name}");
        assert!(decoded.width() >= 400 && decoded.height() >= 400, "{name}");
    }
}
