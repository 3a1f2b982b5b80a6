//! Hostile record snapshots and hostile input in messages: records no insert could make
//! are refused with a typed error, and messages quote caller input short and escaped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, reason = "tests")]

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use serde_json::{Value, json};
use shiren_catalog::{AccountId, BillingZone, CertifyId, OuterOrderNo, ProductCode, ResidentId, SubCode};
use shiren_records::*;
use shiren_scene::SceneId;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 2, 0, 0).unwrap()
}

fn cid(n: u32) -> CertifyId {
    format!("{n:032x}").parse().unwrap()
}

fn key() -> DigestKey {
    DigestKey::new([7; 32])
}

fn new_record(n: u32, order: &str, id_number: Option<&str>) -> NewRecord {
    NewRecord {
        certify_id: cid(n),
        outer_order_no: OuterOrderNo::new(order).unwrap(),
        account: AccountId::new("1234567890").unwrap(),
        scene_id: SceneId::new(1),
        scene_name: "开户".into(),
        product: ProductCode::IdPro,
        user_id: None,
        name: "张三".into(),
        id_number: id_number.map(|s| ResidentId::parse(s).unwrap()),
        passed: n.is_multiple_of(2),
        sub_code: SubCode::new(200),
        scores: Scores::default(),
        attack: None,
        occlusion: None,
        photos: Vec::new(),
        created_at: now() - Duration::minutes(i64::from(n)),
        completed_at: now(),
    }
}

/// Record 1 with an ID number, record 2 without.
fn good() -> Value {
    let mut store = InMemoryRecords::new(key(), BillingZone::CHINA);
    store.insert(new_record(1, "order1", Some("11010519491231002X"))).unwrap();
    store.insert(new_record(2, "order2", None)).unwrap();
    serde_json::to_value(store.snapshot()).unwrap()
}

fn restore(v: Value) -> Result<InMemoryRecords, RecordError> {
    InMemoryRecords::restore(serde_json::from_value(v).unwrap(), key())
}

fn refused(tamper: impl FnOnce(&mut Value), expected: SnapshotError) {
    let mut v = good();
    assert!(restore(v.clone()).is_ok());
    tamper(&mut v);
    assert_eq!(restore(v).err(), Some(RecordError::Snapshot(expected)));
}

#[test]
fn a_full_id_number_in_the_mask_is_refused() {
    let personal = |v: &mut Value| v["records"][0]["personal"].clone();
    refused(
        |v| v["records"][0]["personal"]["id_number_masked"] = json!("11010519491231002X"),
        SnapshotError::Mask(cid(1)),
    );
    for bad in ["110***********002x", "110**********1002X", "110***********002", "ABC***********002X", ""] {
        refused(
            |v| v["records"][0]["personal"]["id_number_masked"] = json!(bad),
            SnapshotError::Mask(cid(1)),
        );
    }
    refused(
        |v| v["records"][0]["personal"]["id_number_digest"] = Value::Null,
        SnapshotError::MaskDigestPair(cid(1)),
    );
    refused(
        |v| {
            let mut p = personal(v);
            p["id_number_masked"] = Value::Null;
            v["records"][0]["personal"] = p;
        },
        SnapshotError::MaskDigestPair(cid(1)),
    );
    // A record with its personal data deleted restores.
    let mut v = good();
    v["records"][0]["personal"] = Value::Null;
    assert!(restore(v).is_ok());
}

#[test]
fn the_name_is_stored_masked_and_a_full_name_is_refused() {
    let v = good();
    assert_eq!(v["records"][0]["personal"]["name"], json!("张*"));
    assert!(!v.to_string().contains("张三"));
    refused(|v| v["records"][0]["personal"]["name"] = json!("张三"), SnapshotError::NameMask(cid(1)));
    let mut v = good();
    v["records"][0]["personal"]["name"] = json!("");
    assert!(restore(v).is_ok(), "products without identity have no name");
}

#[test]
fn unreachable_records_are_refused() {
    refused(
        |v| {
            let first = v["records"][0].clone();
            v["records"].as_array_mut().unwrap().push(first);
        },
        SnapshotError::DuplicateCertifyId(cid(1)),
    );
    refused(
        |v| v["records"][1]["completed_at"] = json!("2000-01-01T00:00:00Z"),
        SnapshotError::Times(cid(2)),
    );
    refused(|v| v["zone"]["offset_seconds"] = json!(90_000), SnapshotError::Zone);
    let message = RecordError::from(SnapshotError::Mask(cid(1))).to_string();
    assert_eq!(
        message,
        "the records snapshot was refused: record `00000000000000000000000000000001` keeps something other than a masked ID number"
    );
}

#[test]
fn hostile_text_is_quoted_short_and_escaped() {
    let query = format!("1.\n[INFO] forged{}", "!".repeat(1 << 20));
    let err = query.parse::<Cursor>().unwrap_err();
    let message = err.to_string();
    assert!(message.len() < 200, "{} bytes", message.len());
    assert!(!message.contains('\n'));
    assert!(message.starts_with("`1.\\n[INFO] forged!!!") && message.contains("!…`"), "{message}");
    assert!(err.0.chars().count() <= QUOTE_LIMIT + 1);

    let mut v = good();
    v["records"][0]["outer_order_no"] = json!(format!("\r\n{}", "9".repeat(1 << 20)));
    let message = serde_json::from_value::<RecordsSnapshot>(v).unwrap_err().to_string();
    assert!(message.len() < 300 && !message.contains('\n') && !message.contains('\r'), "{message}");
    assert!(message.contains("`\\r\\n999") && message.contains('…'), "{message}");
}

#[test]
fn purge_with_many_duplicates_keeps_every_index_right() {
    // Half the records share one order number and one ID number, half do not; purging
    // the older ones leaves exactly the newer ones findable.
    let mut store = InMemoryRecords::new(key(), BillingZone::CHINA);
    const N: u32 = 600;
    for n in 0..N {
        let shared = n.is_multiple_of(2);
        let order = if shared { "same".to_string() } else { format!("o{n}") };
        let mut r = new_record(n, &order, shared.then_some("11010519491231002X"));
        r.created_at =
            now() - RETENTION - Duration::minutes(i64::from(N / 2)) + Duration::minutes(i64::from(n));
        r.completed_at = r.created_at;
        store.insert(r).unwrap();
    }
    let purged = store.purge(now());
    assert_eq!(purged, (N / 2) as usize);
    let account = AccountId::new("1234567890").unwrap();
    let mut found = 0;
    let mut q = Query {
        identifier: Some(Identifier::OuterOrderNo(OuterOrderNo::new("same").unwrap())),
        limit: 100,
        ..Query::default()
    };
    loop {
        let page = store.query(&account, &q, now()).unwrap();
        found += page.records.len();
        assert!(page.records.iter().all(|r| r.outer_order_no.as_str() == "same"));
        match page.next {
            Some(next) => q.after = Some(next),
            None => break,
        }
    }
    assert_eq!(found, (N / 4) as usize);
    let by_id = Query {
        identifier: Some(Identifier::IdNumber(ResidentId::parse("11010519491231002X").unwrap())),
        limit: 100,
        ..Query::default()
    };
    assert_eq!(store.query(&account, &by_id, now()).unwrap().records.len(), 100);
    // A restore of what is left rebuilds the same indexes.
    let back = InMemoryRecords::restore(store.snapshot(), key()).unwrap();
    assert_eq!(back.snapshot(), store.snapshot());
}

proptest! {
    /// Any ID-number mask other than the canonical shape is refused.
    #[test]
    fn only_masks_restore(mask in "[0-9X*a-z]{0,20}") {
        let mut v = good();
        v["records"][0]["personal"]["id_number_masked"] = json!(mask.clone());
        let canonical = mask.len() == 18
            && mask[..3].bytes().all(|b| b.is_ascii_digit())
            && mask[3..14].bytes().all(|b| b == b'*')
            && mask[14..17].bytes().all(|b| b.is_ascii_digit())
            && (mask.as_bytes()[17].is_ascii_digit() || mask.as_bytes()[17] == b'X');
        prop_assert_eq!(restore(v).is_ok(), canonical);
    }
}
