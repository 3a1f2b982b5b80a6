//! A seeded simulation of many accounts and sessions through the facade — retries,
//! duplicate completions, abandoned sessions, refused photos, arrears — checking that
//! records, meter and bills agree exactly at the end:
//!
//! - every completed session has exactly one record; abandoned ones have none;
//! - the meter counted, per account, day and solution, exactly the completed sessions
//!   with a billable sub code that the solution's metering basis counts;
//! - the issued bills carry those same counts (covered + chargeable = counted), and
//!   each account's balance is its top-ups minus its bill totals;
//! - a 412 was only ever answered to an account that was overdue or suspended then.
//!
//! Every store fails some calls on purpose (one in 12 record inserts, usage checks and
//! session inserts — `tests/flaky`); the client retries a 500 as a real one would, and
//! the invariants above still hold exactly: a failed write leaves nothing behind.
//!
//! The face scorer is `FixedScorer` (the photo bytes say the verdict): this tests the
//! flow, not the face models.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

#[path = "flaky/mod.rs"]
mod flaky;

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use flaky::Flaky;
use rust_decimal::Decimal;
use shiren::billing::{Biller, BillingConfig, BillingStep, DailyBill, Rounding, Standing};
use shiren::catalog::{
    AccountId, BillingZone, CallCode, PACK_CATALOG, PackType, Pricing, ProductCode, ResidentId, Solution,
};
use shiren::meter::{Meter, SequentialIds as PackIds};
use shiren::records::{DigestKey, InMemoryRecords, RecordStore};
use shiren::scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneId, SceneRegistry};
use shiren::verify::{
    ApiResponse, CounterIds, FixedScorer, InMemoryAuthority, InMemoryPhotos, InMemorySessions, InMemoryStore,
    InitRequest, Ledger, Permissions, Plugins, Requester, SessionState, Signer, Stores, Verifier,
    VerifierConfig,
};

/// Main accounts may do everything (RAM's rule for the account itself).
struct MainAccounts;

impl Permissions for MainAccounts {
    fn allows(&self, requester: &Requester, _: &str, _: DateTime<Utc>) -> bool {
        requester.signer == Signer::MainAccount
    }
}

/// Calls `op` until it answers something other than a 500 (an injected store fault):
/// what a client does. Returns the answer and how many 500s it took.
fn until_not_500<T>(mut op: impl FnMut() -> ApiResponse<T>) -> (ApiResponse<T>, u32) {
    let mut failures = 0;
    loop {
        let answer = op();
        if answer.code != CallCode::SystemError || failures == 50 {
            return (answer, failures);
        }
        failures += 1;
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const PERSON: &str = "110101199003074477";

fn at(day: u32, minute: i64) -> DateTime<Utc> {
    let date = NaiveDate::from_ymd_opt(2026, 11, day).unwrap();
    BillingZone::CHINA.start_of(date) + Duration::minutes(minute)
}

#[test]
fn records_meter_and_bills_agree_exactly() {
    let mut rng = Rng(0x5EED_CAFE);
    let mut scenes = InMemoryRegistry::default();
    let config = BillingConfig::new(
        BillingZone::CHINA,
        NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
        Rounding::TowardZero,
        NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
    )
    .unwrap();
    let mut biller = Biller::new(config);
    let mut meter = Meter::new(BillingZone::CHINA, PACK_CATALOG.to_vec());
    let mut pack_ids = PackIds::default();
    let mut top_ups: HashMap<AccountId, Decimal> = HashMap::new();
    let mut accounts: Vec<(AccountId, Vec<SceneId>)> = Vec::new();
    for n in 0..12u64 {
        let account = AccountId::new(&format!("{}", 1_000_000 + n)).unwrap();
        let mut ids = Vec::new();
        for (i, (solution, product)) in [
            (Solution::App, ProductCode::IdPro),
            (Solution::AlipayH5, ProductCode::IdPro),
            (Solution::LivenessDetection, ProductCode::LrFr),
        ]
        .into_iter()
        .enumerate()
        {
            let scene = NewScene {
                account,
                name: format!("s{i}"),
                solution,
                product,
                storage: PhotoStorage::DEFAULT,
                mini_program: None,
            };
            ids.push(scenes.create(scene, at(19, 0)).unwrap().id);
        }
        scenes.authorize(&account, true);
        biller.open_account(&account, Pricing::list()).unwrap();
        // A third of the accounts pay nothing up front: they fall into arrears.
        let funds = if n % 3 == 0 { Decimal::ZERO } else { Decimal::from(20) };
        if funds > Decimal::ZERO {
            biller.top_up(&account, funds, at(19, 0)).unwrap();
        }
        top_ups.insert(account, funds);
        if n % 2 == 0 {
            meter
                .purchase(&account, PackType::RealPerson, 100, Decimal::ZERO, at(19, 0), &mut pack_ids)
                .unwrap();
        }
        accounts.push((account, ids));
    }
    let mut authority = InMemoryAuthority::default();
    authority.register(&ResidentId::parse(PERSON).unwrap(), "Person", Some(Bytes::from_static(b"authority")));
    let plugins = Plugins {
        permissions: Box::new(MainAccounts),
        ids: Box::new(CounterIds::default()),
        identities: Box::new(authority),
        faces: Box::new(FixedScorer),
        photos: Box::new(InMemoryPhotos::default()),
    };
    let records = InMemoryRecords::new(DigestKey::new([1; 32]), BillingZone::CHINA);
    let stores = Stores {
        sessions: Flaky::new(InMemorySessions::default(), 11, 12),
        scenes,
        records: Flaky::new(records, 22, 12),
        ledger: Flaky::new(Ledger { meter, biller }, 33, 12),
    };
    let v = Verifier::new(InMemoryStore::new(stores), plugins, VerifierConfig::default());
    let lock = || v.store.lock().unwrap();
    let mut retried = 0;

    let mut arrears_refusals = 0;
    let mut issued: Vec<DailyBill> = Vec::new();
    for day in 20..=26u32 {
        for minute in (8 * 60..20 * 60).step_by(7) {
            let now = at(day, minute);
            let (account, scene_ids) = accounts[rng.below(accounts.len() as u64) as usize].clone();
            let caller = Requester::main_account(account);
            let scene = scene_ids[rng.below(3) as usize];
            let product = lock().scenes.get(&account, scene).unwrap().product;
            let req = InitRequest {
                scene_id: Some(scene.get()),
                outer_order_no: Some(format!("o{day}x{minute}")),
                product_code: Some(product.as_str().to_owned()),
                cert_name: Some("Person".into()),
                cert_no: Some(PERSON.into()),
                ..InitRequest::default()
            };
            let (started, failures) = until_not_500(|| v.init_face_verify(&caller, &req, now));
            retried += failures;
            if started.code == CallCode::InArrears {
                let standing = lock().ledger.inner.biller.standing(&account, now).unwrap();
                assert!(!matches!(standing, Standing::Active), "412 for an account in good standing");
                arrears_refusals += 1;
                continue;
            }
            assert_eq!(started.code, CallCode::Success, "{}", started.message);
            let id = started.result_object.unwrap().certify_id.to_string();
            let fate = rng.below(10);
            if fate == 0 {
                continue; // abandoned
            }
            let photo: &[u8] = match fate {
                1 => b"unusable",
                2 => b"mismatch",
                3 => b"attack",
                _ => b"pass",
            };
            let complete = |photo: &[u8], at| until_not_500(|| v.complete_face_verify(&id, photo, at));
            let (done, failures) = complete(photo, now + Duration::minutes(1));
            retried += failures;
            let done = if photo == b"unusable" {
                assert_eq!(done.code, CallCode::ImageUnusable);
                if rng.below(2) == 0 {
                    continue; // gives up: abandoned
                }
                let (done, failures) = complete(b"pass", now + Duration::minutes(2));
                retried += failures;
                done
            } else {
                done
            };
            assert!(done.is_success(), "{}", done.message);
            // Client retries (later, with another photo) and duplicate queries change
            // nothing: the stored result comes back.
            for _ in 0..rng.below(3) {
                let (again, _) = complete(b"attack", now + Duration::minutes(3));
                assert_eq!(again.result_object, done.result_object);
                v.describe_face_verify(&caller, &id, now + Duration::minutes(3));
            }
        }
        v.expire_sessions(at(day, 23 * 60)).unwrap();
        let mut stores = lock();
        let biller = &mut stores.ledger.inner.biller;
        // The next morning's bills.
        while let BillingStep::Issued { bills, .. } = biller.poll(at(day + 1, 11 * 60)).unwrap() {
            issued.extend(bills);
        }
        // Some indebted accounts top up the next morning.
        for (account, _) in &accounts {
            if biller.balance(account, at(day + 1, 11 * 60)).unwrap() < Decimal::ZERO && rng.below(2) == 0 {
                biller.top_up(account, Decimal::from(5), at(day + 1, 11 * 60)).unwrap();
                *top_ups.get_mut(account).unwrap() += Decimal::from(5);
            }
        }
    }
    assert!(arrears_refusals > 0, "the simulation exercises arrears");
    let stores = lock();
    let fired = [stores.sessions.faults.fired(), stores.records.faults.fired(), stores.ledger.faults.fired()];
    assert!(fired.iter().all(|&n| n > 10), "every store failed often: {fired:?}");
    assert_eq!(
        u64::from(retried),
        fired.iter().sum::<u64>(),
        "every fault answered a 500 the client retried"
    );

    // Expected usage, from the sessions themselves.
    let end = at(28, 0);
    let mut expected: BTreeMap<(AccountId, NaiveDate, Solution), u64> = BTreeMap::new();
    let (mut completed, mut abandoned) = (0, 0);
    for session in stores.sessions.inner.snapshot() {
        let record = stores.records.get(&session.account, session.certify_id, end);
        match &session.state {
            SessionState::Completed { result, completed_at } => {
                completed += 1;
                let record = record.unwrap();
                assert_eq!((record.passed, record.sub_code), (result.passed, result.sub_code));
                assert_eq!(record.completed_at, *completed_at, "one completion instant, everywhere");
                let counts =
                    result.sub_code.is_billable() && session.solution.facts().metering.counts(result.passed);
                if counts {
                    let day = BillingZone::CHINA.day_of(record.completed_at);
                    *expected.entry((session.account, day, session.solution)).or_default() += 1;
                }
            }
            SessionState::Abandoned | SessionState::Pending => {
                abandoned += 1;
                assert!(record.is_err(), "no record for an abandoned session");
            }
        }
    }
    assert!(completed > 300 && abandoned > 20, "{completed} completed, {abandoned} abandoned");
    assert_eq!(stores.records.inner.len(), completed);
    let metered: BTreeMap<(AccountId, NaiveDate, Solution), u64> = stores
        .ledger
        .inner
        .meter
        .usage()
        .into_iter()
        .filter(|(_, u)| u.counted > 0)
        .map(|(k, u)| (k, u.counted))
        .collect();
    assert_eq!(metered, expected, "meter vs sessions");
    let mut billed: BTreeMap<(AccountId, NaiveDate, Solution), u64> = BTreeMap::new();
    let mut charged: HashMap<AccountId, Decimal> = HashMap::new();
    for bill in &issued {
        for line in &bill.lines {
            assert_eq!(line.covered + line.chargeable, line.counted);
            *billed.entry((bill.account, bill.day, line.solution)).or_default() += line.counted;
        }
        *charged.entry(bill.account).or_default() += bill.total;
    }
    assert_eq!(billed, expected, "bills vs sessions");
    for (account, _) in &accounts {
        let balance = stores.ledger.inner.biller.balance(account, end).unwrap();
        let spent = charged.get(account).copied().unwrap_or_default();
        assert_eq!(balance, top_ups[account] - spent, "{account}: balance = top-ups − bills");
    }
}
