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
//! The face scorer is scripted (the photo bytes say the verdict): this tests the flow,
//! not the face models.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing, reason = "tests")]

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use shiren::billing::{Biller, BillingConfig, BillingStep, DailyBill, Rounding, Standing};
use shiren::catalog::{
    AccountId, BillingZone, CallCode, PACK_CATALOG, PackType, Pricing, ProductCode, ResidentId, Solution,
    SubCode,
};
use shiren::face::{MaterialInfo, Verdict, VerificationPolicy};
use shiren::meter::{Meter, SequentialIds as PackIds};
use shiren::records::{DigestKey, InMemoryRecords, RecordStore};
use shiren::scene::{InMemoryRegistry, NewScene, PhotoStorage, SceneId, SceneRegistry};
use shiren::verify::{
    Caller, FaceScorer, InMemoryAuthority, InMemoryPhotos, InitRequest, Ledger, Permissions, PhotoRole,
    Plugins, Principal, Refusal, SequentialIds, SessionState, Verifier, VerifierConfig,
};

/// Main accounts may do everything (RAM's rule for the account itself).
struct MainAccounts;

impl Permissions for MainAccounts {
    fn allows(&self, caller: &Caller, _: &str) -> bool {
        caller.principal == Principal::MainAccount
    }
}

/// `pass`, `other` (204), `attack` (205), `bad` (419, the person retries).
struct Scripted;

impl FaceScorer for Scripted {
    fn check_photo(&self, _: &[u8]) -> Result<(), Refusal> {
        Ok(())
    }

    fn score(&self, selfie: &[u8], _: Option<&[u8]>, _: &VerificationPolicy) -> Result<Verdict, Refusal> {
        let (passed, sub_code) = match selfie {
            b"bad" => {
                return Err(Refusal {
                    role: PhotoRole::Selfie,
                    code: CallCode::ImageUnusable,
                    message: "bad".into(),
                });
            }
            b"other" => (false, SubCode::FACE_MISMATCH),
            b"attack" => (false, SubCode::LIVENESS_RISK),
            _ => (true, SubCode::PASS),
        };
        let material = MaterialInfo {
            face_attack: sub_code == SubCode::LIVENESS_RISK,
            face_occlusion: false,
            face_attack_score: 0.0,
            quality_score: 90.0,
            verify_score: Some(if passed { 95.0 } else { 40.0 }),
            verify_score_calibrated: false,
            quality_blur: false,
            quality_illu: false,
            quality_occu: false,
            quality_background: false,
            quality_wear_hat: None,
            attack_model: "scripted".into(),
        };
        Ok(Verdict { passed, sub_code, material })
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
        identities: Box::new(authority),
        faces: Box::new(Scripted),
        photos: Box::new(InMemoryPhotos::default()),
        ids: Box::new(SequentialIds::default()),
    };
    let records = InMemoryRecords::new(DigestKey::new([1; 32]), BillingZone::CHINA);
    let mut v = Verifier::new(scenes, records, Ledger { meter, biller }, plugins, VerifierConfig::default());

    let mut arrears_refusals = 0;
    let mut issued: Vec<DailyBill> = Vec::new();
    for day in 20..=26u32 {
        for minute in (8 * 60..20 * 60).step_by(7) {
            let now = at(day, minute);
            let (account, scene_ids) = accounts[rng.below(accounts.len() as u64) as usize].clone();
            let caller = Caller::main_account(account);
            let scene = scene_ids[rng.below(3) as usize];
            let product = v.scenes.get(&account, scene).unwrap().product;
            let req = InitRequest {
                scene_id: Some(scene.get()),
                outer_order_no: Some(format!("o{day}x{minute}")),
                product_code: Some(product.as_str().to_owned()),
                cert_name: Some("Person".into()),
                cert_no: Some(PERSON.into()),
                ..InitRequest::default()
            };
            let started = v.init_face_verify(&caller, &req, now);
            if started.code == CallCode::InArrears {
                let standing = v.ledger.biller.standing(&account, now).unwrap();
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
                1 => b"bad",
                2 => b"other",
                3 => b"attack",
                _ => b"pass",
            };
            let done = v.complete_face_verify(&id, photo, now + Duration::minutes(1));
            if photo == b"bad" {
                assert_eq!(done.code, CallCode::ImageUnusable);
                if rng.below(2) == 0 {
                    continue; // gives up: abandoned
                }
                v.complete_face_verify(&id, b"pass", now + Duration::minutes(2));
            }
            // Client retries and duplicate queries change nothing.
            for _ in 0..rng.below(3) {
                let again = v.complete_face_verify(&id, b"attack", now + Duration::minutes(3));
                assert!(again.is_success());
                v.describe_face_verify(&caller, &id, now + Duration::minutes(3));
            }
        }
        v.expire_sessions(at(day, 23 * 60));
        // The next morning's bills.
        while let BillingStep::Issued { bills, .. } = v.ledger.biller.poll(at(day + 1, 11 * 60)) {
            issued.extend(bills);
        }
        // Some indebted accounts top up the next morning.
        for (account, _) in &accounts {
            if v.ledger.biller.balance(account, at(day + 1, 11 * 60)).unwrap() < Decimal::ZERO
                && rng.below(2) == 0
            {
                v.ledger.biller.top_up(account, Decimal::from(5), at(day + 1, 11 * 60)).unwrap();
                *top_ups.get_mut(account).unwrap() += Decimal::from(5);
            }
        }
    }
    assert!(arrears_refusals > 0, "the simulation exercises arrears");

    // Expected usage, from the sessions themselves.
    let end = at(28, 0);
    let mut expected: BTreeMap<(AccountId, NaiveDate, Solution), u64> = BTreeMap::new();
    let (mut completed, mut abandoned) = (0, 0);
    for session in v.snapshot().sessions {
        let record = v.records.get(&session.account, session.certify_id, end);
        match &session.state {
            SessionState::Completed(result) => {
                completed += 1;
                let record = record.unwrap();
                assert_eq!((record.passed, record.sub_code), (result.passed, result.sub_code));
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
    assert_eq!(v.records.len(), completed);
    let metered: BTreeMap<(AccountId, NaiveDate, Solution), u64> = v
        .ledger
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
        let balance = v.ledger.biller.balance(account, end).unwrap();
        let spent = charged.get(account).copied().unwrap_or_default();
        assert_eq!(balance, top_ups[account] - spent, "{account}: balance = top-ups − bills");
    }
}
