//! Exactly-once, all-or-nothing completion through the facade (`FixedScorer`, the
//! demo world): a completion that billing cannot take leaves no trace and answers the
//! same on every retry; the completion instant is fixed once; concurrent completions
//! of one session write once; a session that expires while it is scored is abandoned;
//! and, as a property, random operation sequences with faults injected into every
//! store keep records = metered units = billed units.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[path = "flaky/mod.rs"]
mod flaky;
#[path = "support/mod.rs"]
mod support;

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use rust_decimal::Decimal;
use shiren::billing::BillingStep;
use shiren::catalog::{BillingZone, CallCode, Pricing, ProductCode, Solution};
use shiren::records::RecordStore;
use shiren::scene::{NewScene, PhotoStorage, SceneId, SceneRegistry};
use shiren::verify::{
    Answer, FixedScorer, InMemorySessions, InMemoryStore, InitRequest, Pending, SessionState, Stores,
    UnexpectedAnswer, Verifier, VerifierConfig, VerifyResult,
};
use support::{Demo, PERSON_ID, PERSON_NAME, cst};

fn demo() -> Demo {
    support::demo(Box::new(FixedScorer), Bytes::from_static(b"authority")).unwrap()
}

fn request(scene: SceneId, order: &str) -> InitRequest {
    InitRequest {
        scene_id: Some(scene.get()),
        outer_order_no: Some(order.into()),
        product_code: Some("ID_PRO".into()),
        cert_name: Some(PERSON_NAME.into()),
        cert_no: Some(PERSON_ID.into()),
        ..InitRequest::default()
    }
}

fn start(demo: &Demo, scene: SceneId, now: DateTime<Utc>) -> String {
    let started = demo.verifier.init_face_verify(&demo.service, &request(scene, "o1"), now);
    started.result_object.unwrap_or_else(|| panic!("{}", started.message)).certify_id.to_string()
}

/// Metered units of the account over every day and solution.
fn metered(demo: &Demo) -> u64 {
    demo.stores().unwrap().ledger.meter.usage().values().map(|u| u.counted).sum()
}

#[test]
fn a_completion_billing_cannot_take_leaves_no_trace_and_answers_the_same_on_retry() {
    let demo = demo();
    let now = cst(23, 10);
    let legacy = {
        let mut stores = demo.stores().unwrap();
        let scene = NewScene {
            account: demo.account,
            name: "legacy".into(),
            solution: Solution::LegacyFinancial,
            product: ProductCode::IdPro,
            storage: PhotoStorage::DEFAULT,
            mini_program: None,
        };
        stores.scenes.create(scene, now).unwrap().id
    };
    let id = start(&demo, legacy, now);
    let first = demo.verifier.complete_face_verify(&id, b"pass", now);
    assert_eq!(first.code, CallCode::SystemError);
    assert!(first.message.contains("has no list price"), "{}", first.message);
    assert_eq!(metered(&demo), 0, "nothing metered");
    assert!(demo.stores().unwrap().records.is_empty(), "nothing recorded");
    let session = demo.verifier.session(id.parse().unwrap()).unwrap().unwrap();
    assert_eq!(session.state, SessionState::Pending, "the person may submit again");

    // A second later: the same refusal, not "already applied with different content".
    let retry = demo.verifier.complete_face_verify(&id, b"pass", now + Duration::seconds(1));
    assert_eq!((retry.code, &retry.message), (first.code, &first.message));
    assert_eq!(metered(&demo), 0);

    // Once the account has a negotiated price, the same session completes, once.
    let price = Pricing::negotiated([(Solution::LegacyFinancial, Decimal::new(15, 1))]);
    demo.stores().unwrap().ledger.biller.set_pricing(&demo.account, price).unwrap();
    let done = demo.verifier.complete_face_verify(&id, b"pass", now + Duration::seconds(2));
    assert!(done.result_object.unwrap().passed, "{}", done.message);
    assert_eq!(metered(&demo), 1);
    assert_eq!(demo.stores().unwrap().records.len(), 1);
}

#[test]
fn usage_before_the_billing_start_is_refused_with_the_meter_untouched() {
    let demo = demo();
    // Billing starts on 2026-11-01 (the demo's configuration).
    let october =
        BillingZone::CHINA.start_of(NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()) + Duration::hours(10);
    let id = start(&demo, demo.id_pro_scene, october);
    let meter_before = demo.stores().unwrap().ledger.meter.clone();
    let refused = demo.verifier.complete_face_verify(&id, b"pass", october);
    assert_eq!(refused.code, CallCode::SystemError);
    assert!(refused.message.contains("billing starts on 2026-11-01"), "{}", refused.message);
    assert_eq!(demo.stores().unwrap().ledger.meter, meter_before, "no pack unit drawn, no key marked");
    assert!(demo.stores().unwrap().records.is_empty());
}

#[test]
fn the_completion_instant_is_fixed_once() {
    let demo = demo();
    // Half a minute before midnight; the client retries after midnight and an hour on.
    let late = cst(23, 23) + Duration::minutes(59) + Duration::seconds(30);
    let id = start(&demo, demo.id_pro_scene, late);
    let first = demo.verifier.complete_face_verify(&id, b"pass", late);
    for retry_at in [late + Duration::minutes(1), late + Duration::hours(1)] {
        let again = demo.verifier.complete_face_verify(&id, b"mismatch", retry_at);
        assert_eq!(again.result_object, first.result_object, "the stored result, not a new verdict");
    }
    let session = demo.verifier.session(id.parse().unwrap()).unwrap().unwrap();
    let SessionState::Completed { completed_at, .. } = session.state else { panic!("completed") };
    assert_eq!(completed_at, late);
    let stores = demo.stores().unwrap();
    assert_eq!(stores.records.get(&demo.account, session.certify_id, late).unwrap().completed_at, late);
    let day = BillingZone::CHINA.day_of(late);
    let usage = stores.ledger.meter.usage();
    assert_eq!(usage.values().map(|u| u.counted).sum::<u64>(), 1);
    assert!(usage.keys().all(|(_, d, _)| *d == day), "metered on the completion's day: {usage:?}");
}

/// Whether a completion with this result counts a unit (the spec's metering basis).
fn counts(solution: Solution, result: &VerifyResult) -> bool {
    result.sub_code.is_billable() && solution.facts().metering.counts(result.passed)
}

/// Meets every need in this thread, as a worker would.
fn fulfil(demo: &Demo, pending: &mut Pending<VerifyResult>) {
    demo.verifier.plugins().fulfil(pending);
}

#[test]
fn concurrent_completions_of_one_session_write_once() {
    let demo = demo();
    let now = cst(23, 10);
    let id = start(&demo, demo.id_pro_scene, now);
    // Two devices submit at once: both read a pending session and score.
    let mut a = demo.verifier.begin_complete(&id, Bytes::from_static(b"pass"), now);
    let mut b = demo.verifier.begin_complete(&id, Bytes::from_static(b"mismatch"), now);
    fulfil(&demo, &mut b);
    fulfil(&demo, &mut a);
    let first = demo.verifier.commit(a, now + Duration::seconds(1));
    let second = demo.verifier.commit(b, now + Duration::seconds(2));
    assert!(first.result_object.as_ref().unwrap().passed);
    assert_eq!(second.result_object, first.result_object, "the later commit answers the stored result");
    assert_eq!(metered(&demo), 1);
    assert_eq!(demo.stores().unwrap().records.len(), 1);

    // The same race on two real threads, many times.
    let ids: Vec<String> = (0..200).map(|_| start(&demo, demo.id_pro_scene, now)).collect();
    std::thread::scope(|s| {
        for photo in [&b"pass"[..], b"attack"] {
            let (demo, ids) = (&demo, &ids);
            s.spawn(move || {
                for id in ids {
                    let mut pending = demo.verifier.begin_complete(id, Bytes::from_static(photo), now);
                    fulfil(demo, &mut pending);
                    assert!(demo.verifier.commit(pending, now).is_success());
                }
            });
        }
    });
    assert_eq!(demo.stores().unwrap().records.len(), 201);
    let counted = ids
        .iter()
        .map(|id| demo.verifier.session(id.parse().unwrap()).unwrap().unwrap())
        .filter(|s| counts(s.solution, s.result().unwrap()))
        .count() as u64;
    assert_eq!(metered(&demo), 1 + counted, "each session metered once");
}

#[test]
fn a_session_that_expires_while_scored_is_abandoned_unbilled() {
    let demo = demo();
    let now = cst(23, 10);
    let id = start(&demo, demo.id_pro_scene, now);
    let mut pending =
        demo.verifier.begin_complete(&id, Bytes::from_static(b"pass"), now + Duration::minutes(29));
    fulfil(&demo, &mut pending);
    let late = demo.verifier.commit(pending, now + Duration::minutes(31));
    assert_eq!(late.code, CallCode::InvalidCertifyId);
    assert!(late.message.contains("abandoned"), "{}", late.message);
    let session = demo.verifier.session(id.parse().unwrap()).unwrap().unwrap();
    assert_eq!(session.state, SessionState::Abandoned);
    assert_eq!(metered(&demo), 0);
    assert!(demo.stores().unwrap().records.is_empty());
}

#[test]
fn a_pending_operation_is_plain_data_and_refuses_answers_that_do_not_fit() {
    fn send_static<T: Send + 'static>(_: &T) {}
    let demo = demo();
    let now = cst(23, 10);
    let id = start(&demo, demo.id_pro_scene, now);
    let mut pending = demo.verifier.begin_complete(&id, Bytes::from_static(b"pass"), now);
    send_static(&pending);
    // ID_PRO asks the authority first; a score now does not fit.
    let wrong = Answer::Scored(Err(shiren::verify::Refusal {
        role: shiren::verify::PhotoRole::Selfie,
        code: CallCode::ImageUnusable,
        message: "x".into(),
    }));
    assert_eq!(pending.supply(wrong), Err(UnexpectedAnswer { needed: "an identity check" }));
    assert!(matches!(pending.need(), Some(shiren::verify::Need::Identity { .. })), "unchanged");
    // Committing before the needs are met is refused, and writes nothing.
    let early = demo.verifier.commit(pending, now);
    assert_eq!(early.code, CallCode::SystemError);
    assert_eq!(metered(&demo), 0);
}

// ---- the property ------------------------------------------------------------------

/// One step of a random client.
#[derive(Clone, Debug)]
enum Op {
    /// Start a session.
    Init,
    /// Submit a photo for the `n`th started session (modulo).
    Complete(usize, Photo),
    /// Let `minutes` pass.
    Wait(i64),
    /// Expire sessions past their lifetime.
    Expire,
}

#[derive(Clone, Copy, Debug)]
enum Photo {
    Pass,
    Mismatch,
    Unusable,
}

fn op() -> impl Strategy<Value = Op> {
    let photo = prop_oneof![Just(Photo::Pass), Just(Photo::Mismatch), Just(Photo::Unusable)];
    prop_oneof![
        3 => Just(Op::Init),
        5 => (0..64usize, photo).prop_map(|(n, p)| Op::Complete(n, p)),
        1 => (1..90i64).prop_map(Op::Wait),
        1 => Just(Op::Expire),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn records_equal_metered_equal_billed_under_faults(
        ops in prop::collection::vec(op(), 1..120),
        faults in (0u64..6, 0u64..6, 0u64..6),
        seed in any::<u64>(),
    ) {
        // The demo world, its stores wrapped so each fails one call in 2–6 (0: never).
        let base = demo();
        let (scene, service, account) = (base.id_pro_scene, base.service.clone(), base.account);
        let (store, plugins) = base.verifier.into_parts();
        let inner = store.into_inner().unwrap();
        let one_in = |n: u64| if n < 2 { 0 } else { n };
        let flaky_stores = Stores {
            sessions: flaky::Flaky::new(InMemorySessions::default(), seed ^ 1, one_in(faults.0)),
            scenes: inner.scenes,
            records: flaky::Flaky::new(inner.records, seed ^ 2, one_in(faults.1)),
            ledger: flaky::Flaky::new(inner.ledger, seed ^ 3, one_in(faults.2)),
        };
        let v = Verifier::new(InMemoryStore::new(flaky_stores), plugins, VerifierConfig::default());

        let mut now = cst(23, 9);
        let mut started: Vec<String> = Vec::new();
        let mut order = 0;
        for op in ops {
            match op {
                Op::Init => {
                    order += 1;
                    let r = v.init_face_verify(&service, &request(scene, &format!("o{order}")), now);
                    if let Some(init) = r.result_object {
                        started.push(init.certify_id.to_string());
                    } else {
                        prop_assert_eq!(r.code, CallCode::SystemError, "{}", r.message);
                    }
                }
                Op::Complete(n, photo) if !started.is_empty() => {
                    let id = &started[n % started.len()];
                    let bytes: &[u8] = match photo {
                        Photo::Pass => b"pass",
                        Photo::Mismatch => b"mismatch",
                        Photo::Unusable => b"unusable",
                    };
                    let r = v.complete_face_verify(id, bytes, now);
                    let allowed = [CallCode::Success, CallCode::SystemError, CallCode::ImageUnusable, CallCode::InvalidCertifyId];
                    prop_assert!(allowed.contains(&r.code), "{:?}: {}", r.code, r.message);
                }
                Op::Complete(..) => {}
                Op::Wait(minutes) => now += Duration::minutes(minutes),
                Op::Expire => {
                    v.expire_sessions(now).unwrap();
                }
            }
        }

        // Every completed session has its record; the meter counted exactly the ones
        // the solution's metering basis counts; tomorrow's bills carry the same count.
        let mut stores = v.store.lock().unwrap();
        let sessions = stores.sessions.inner.snapshot();
        let completed: Vec<_> = sessions.iter().filter_map(|s| s.result().map(|r| (s, r))).collect();
        prop_assert_eq!(stores.records.inner.len(), completed.len());
        for (session, result) in &completed {
            let record = stores.records.get(&account, session.certify_id, now).unwrap();
            prop_assert_eq!((record.passed, record.sub_code), (result.passed, result.sub_code));
        }
        let counted = completed.iter().filter(|(s, r)| counts(s.solution, r)).count() as u64;
        let metered: u64 = stores.ledger.inner.meter.usage().values().map(|u| u.counted).sum();
        prop_assert_eq!(metered, counted, "metered = counted completions");
        let mut billed = 0;
        let biller = &mut stores.ledger.inner.biller;
        while let BillingStep::Issued { bills, .. } = biller.poll(now + Duration::days(2)).unwrap() {
            billed += bills.iter().filter(|b| b.account == account).flat_map(|b| &b.lines).map(|l| l.counted).sum::<u64>();
        }
        prop_assert_eq!(billed, metered, "billed = metered");
    }
}
