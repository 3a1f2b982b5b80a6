//! Peak heap of the whole pipeline on a 640×480 selfie (decode, detect, landmarks,
//! quality, attack indicators, embedding), with the models already loaded: the issue's
//! bound is 64 MB.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

mod common;

use shiren_face::{PhotoRules, decode_photo};

#[test]
fn the_pipeline_stays_under_64_mb() {
    let models = common::models();
    let selfie = common::selfie_640x480();
    let mut passed = false;
    let info = allocation_counter::measure(|| {
        let photo = decode_photo(&selfie, &PhotoRules::default()).unwrap();
        passed = models.analyze(&photo).is_ok();
    });
    println!("peak heap {:.1} MB over {} allocations", info.bytes_max as f64 / 1e6, info.count_total);
    assert!(passed);
    assert!(info.bytes_max < 64 << 20, "{info:?}");
}
