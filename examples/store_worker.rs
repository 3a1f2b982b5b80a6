//! A service process in miniature, for the store's crash and multi-process tests
//! (`tests/store_crash.rs`): opens the store at URL, then starts and completes COUNT
//! sessions of the demo account (fixed scorer), printing `done <certify ID>` after each
//! acknowledged completion, then issues due bills and prints `bill <account> <day>` for
//! each. A test kills it at random moments and checks what it acknowledged survived.
//!
//! `cargo run --example store_worker -- URL COUNT ID_BASE`
#![allow(clippy::disallowed_methods, reason = "an example is edge code: arguments and stdout")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write as _;

use anyhow::Context as _;
use bytes::Bytes;
use chrono::Duration;
use shiren::records::DigestKey;
use shiren::verify::{CounterIds, FixedScorer, InitRequest, Verifier, VerifierConfig};
use shiren_store::{SqlStore, StoreOptions};
use support::{PERSON_ID, PERSON_NAME, cst};

fn main() {
    if let Err(err) = try_main() {
        eprintln!("store_worker: {err:#}");
        std::process::exit(1);
    }
}

fn try_main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, count, id_base] = args.as_slice() else {
        anyhow::bail!("usage: store_worker URL COUNT ID_BASE");
    };
    let count: u64 = count.parse().context("COUNT")?;
    let id_base: u64 = id_base.parse().context("ID_BASE")?;
    let demo = support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority"))?;
    let (scene, service) = (demo.id_pro_scene, demo.service.clone());
    let (_, mut plugins) = demo.verifier.into_parts();
    // IDs no other process (nor an earlier life of this one) hands out.
    plugins.ids = Box::new(CounterIds::starting_after(id_base));
    let options = StoreOptions { digest_key: DigestKey::new([42; 32]), max_connections: 4 };
    let store = SqlStore::open(url, options)?;
    let verifier = Verifier::new(store, plugins, VerifierConfig::default());
    let mut out = std::io::stdout().lock();
    for i in 0..count {
        let now = cst(23, 10) + Duration::milliseconds(i64::try_from(i)?);
        let request = InitRequest {
            scene_id: Some(scene.get()),
            outer_order_no: Some(format!("w{id_base}x{i}")),
            product_code: Some("ID_PRO".into()),
            cert_name: Some(PERSON_NAME.into()),
            cert_no: Some(PERSON_ID.into()),
            ..InitRequest::default()
        };
        let started = verifier.init_face_verify(&service, &request, now);
        let id = started.result_object.with_context(|| started.message.clone())?.certify_id.to_string();
        let done = verifier.complete_face_verify(&id, b"pass", now);
        anyhow::ensure!(done.is_success(), "completion of {id}: {}", done.message);
        writeln!(out, "done {id}")?;
        out.flush()?;
    }
    for bill in verifier.store.poll_bills(cst(24, 11))? {
        writeln!(out, "bill {} {}", bill.account, bill.day)?;
    }
    out.flush()?;
    Ok(())
}
