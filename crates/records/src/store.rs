//! The `RecordStore` trait and its in-memory implementation, indexed for the console's
//! queries and statistics.
//!
//! Invariants (tested against a naive recount):
//! - statistics equal a recount of the visible records, and deleting personal data
//!   never changes them;
//! - records older than 180 days are invisible and can be purged;
//! - the ID number is never stored: only its mask and its keyed digest;
//! - a failed operation changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::ops::Bound;

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, BillingZone, CertifyId, OuterOrderNo, WordHasher};
use shiren_scene::SceneId;

use crate::privacy::{DigestKey, IdDigest};
use crate::query::{Cursor, Identifier, MAX_PAGE, Page, Query};
use crate::record::{NewRecord, Record};
use crate::stats::{DayStats, RangeError, Statistics, StatsRange};

/// How long records are kept and returned.
pub const RETENTION: Duration = Duration::days(180);

/// When personal data may be deleted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeleteMode {
    /// Delete now, read or not.
    Now,
    /// Delete only after the result has been read (refused before).
    AfterQuery,
}

/// A record operation was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A record with this certify ID exists.
    #[error("a record for certify ID `{0}` already exists")]
    Duplicate(CertifyId),
    /// No visible record with this certify ID belongs to the account.
    #[error("no record for certify ID `{0}`")]
    NotFound(CertifyId),
    /// The personal data was deleted before.
    #[error("the personal data of `{0}` was already deleted")]
    AlreadyDeleted(CertifyId),
    /// Deletion after query was asked, and the result has not been read.
    #[error("the result of `{0}` has not been read yet; query it first or delete now")]
    NotYetRead(CertifyId),
    /// A record completes before it starts.
    #[error("record `{0}` completes before it was created")]
    Times(CertifyId),
    /// Page size above 100.
    #[error("page size {0} is above the maximum of 100")]
    Limit(usize),
    /// A statistics range was refused.
    #[error(transparent)]
    Range(#[from] RangeError),
    /// A snapshot was refused by `restore`.
    #[error("the records snapshot was refused: {0}")]
    Snapshot(#[from] SnapshotError),
}

/// Why `InMemoryRecords::restore` refused a snapshot: it holds a record no insert could
/// have made, so it was tampered with or corrupted. Nothing was loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The zone's offset is not a valid UTC offset (beyond ±24 hours).
    #[error("the zone is not a valid UTC offset")]
    Zone,
    /// Two records share a certify ID.
    #[error("certify ID `{0}` appears twice")]
    DuplicateCertifyId(CertifyId),
    /// A record completes before it was created.
    #[error("record `{0}` completes before it was created")]
    Times(CertifyId),
    /// A record's ID-number mask is not a mask (`110***********002X`): it could hold
    /// the number itself, which is never stored.
    #[error("record `{0}` keeps something other than a masked ID number")]
    Mask(CertifyId),
    /// A record's name is not a mask (`张**`: one character, then `*`s): it could hold
    /// the full name, which is never stored.
    #[error("record `{0}` keeps something other than a masked name")]
    NameMask(CertifyId),
    /// A record has an ID-number mask without its digest, or a digest without its mask
    /// (both come from the same number, and are deleted together).
    #[error("record `{0}` has an ID-number mask and digest that do not come in a pair")]
    MaskDigestPair(CertifyId),
}

/// Whether `text` is what `ResidentId::masked` gives: the first three digits, eleven
/// `*`, three digits and the check character (a digit or upper-case `X`).
fn is_id_mask(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 18
        && b.iter().enumerate().all(|(i, &c)| match i {
            0..=2 | 14..=16 => c.is_ascii_digit(),
            17 => c.is_ascii_digit() || c == b'X',
            _ => c == b'*',
        })
}

/// A restored record against what `insert` can make.
fn check_restored(record: &Record) -> Result<(), SnapshotError> {
    let id = record.certify_id;
    if record.completed_at < record.created_at {
        return Err(SnapshotError::Times(id));
    }
    if let Some(personal) = &record.personal {
        if !personal.name.chars().skip(1).all(|c| c == '*') {
            return Err(SnapshotError::NameMask(id));
        }
        match (&personal.id_number_masked, &personal.id_number_digest) {
            (Some(mask), Some(_)) if !is_id_mask(mask) => return Err(SnapshotError::Mask(id)),
            (Some(_), None) | (None, Some(_)) => return Err(SnapshotError::MaskDigestPair(id)),
            _ => {}
        }
    }
    Ok(())
}

/// Records as plain methods (no I/O). Implement it over a database to replace the
/// in-memory default.
pub trait RecordStore {
    /// Stores a completed verification.
    fn insert(&mut self, record: NewRecord) -> Result<(), RecordError>;
    /// A visible record of the account.
    fn get(&self, account: &AccountId, id: CertifyId, now: DateTime<Utc>) -> Result<Record, RecordError>;
    /// Marks the result as read (DescribeFaceVerify).
    fn mark_read(
        &mut self,
        account: &AccountId,
        id: CertifyId,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError>;
    /// One page of the account's records matching `query`, newest first.
    fn query(&self, account: &AccountId, query: &Query, now: DateTime<Utc>) -> Result<Page, RecordError>;
    /// Statistics of one scene over a range of days.
    fn statistics(
        &self,
        account: &AccountId,
        scene: SceneId,
        range: StatsRange,
        now: DateTime<Utc>,
    ) -> Result<Statistics, RecordError>;
    /// Deletes the record's personal data (name, user ID, ID number, photos).
    fn delete_personal(
        &mut self,
        account: &AccountId,
        id: CertifyId,
        mode: DeleteMode,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError>;
    /// Removes records older than 180 days; returns how many.
    fn purge(&mut self, now: DateTime<Utc>) -> usize;
}

type FastState = BuildHasherDefault<WordHasher>;
type TimeKey = (AccountId, DateTime<Utc>, CertifyId);

/// The in-memory record store, the embedded default. Mutation takes `&mut self`.
#[derive(Clone, Debug)]
pub struct InMemoryRecords {
    key: DigestKey,
    zone: BillingZone,
    slots: Vec<Option<Record>>,
    free: Vec<usize>,
    by_certify: HashMap<CertifyId, usize, FastState>,
    by_time: BTreeMap<TimeKey, usize>,
    by_order: HashMap<(AccountId, OuterOrderNo), Vec<usize>, FastState>,
    by_digest: HashMap<(AccountId, IdDigest), Vec<usize>, FastState>,
    daily: BTreeMap<(AccountId, SceneId, NaiveDate), DayStats>,
}

/// The persisted form of an `InMemoryRecords`: the records, in certify-ID order. The
/// digest key is configuration and is not part of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RecordsSnapshot {
    /// The zone whose days statistics use.
    pub zone: BillingZone,
    /// Every record.
    pub records: Vec<Record>,
}

fn remove_from(list: &mut Vec<usize>, slot: usize) {
    list.retain(|&s| {
        work::step();
        s != slot
    });
}

/// Buckets up to this size are unindexed entry by entry; larger ones are swept once.
const SMALL_BUCKET: usize = 16;

/// Takes `slot` out of a small bucket now, or marks a large one for one sweep later.
fn unindex_or_defer<K: std::hash::Hash + Eq>(
    index: &mut HashMap<K, Vec<usize>, FastState>,
    key: K,
    slot: usize,
    deferred: &mut HashSet<K, FastState>,
) {
    let Some(list) = index.get_mut(&key) else { return };
    if list.len() > SMALL_BUCKET {
        deferred.insert(key);
        return;
    }
    remove_from(list, slot);
    if list.is_empty() {
        index.remove(&key);
    }
}

/// Counts index entries visited while unindexing, so tests can bound the work of a
/// purge without timing it.
#[cfg(test)]
pub(crate) mod work {
    use std::cell::Cell;

    thread_local! {
        static STEPS: Cell<u64> = const { Cell::new(0) };
    }

    pub(crate) fn step() {
        STEPS.with(|s| s.set(s.get() + 1));
    }

    /// Steps since the last call.
    pub(crate) fn take() -> u64 {
        STEPS.with(|s| s.replace(0))
    }
}

#[cfg(not(test))]
mod work {
    #[inline(always)]
    pub(super) fn step() {}
}

impl InMemoryRecords {
    /// An empty store that digests ID numbers with `key` and counts days in `zone`.
    pub fn new(key: DigestKey, zone: BillingZone) -> InMemoryRecords {
        InMemoryRecords {
            key,
            zone,
            slots: Vec::new(),
            free: Vec::new(),
            by_certify: HashMap::default(),
            by_time: BTreeMap::new(),
            by_order: HashMap::default(),
            by_digest: HashMap::default(),
            daily: BTreeMap::new(),
        }
    }

    /// Number of stored records (visible or not yet purged).
    pub fn len(&self) -> usize {
        self.by_certify.len()
    }

    /// Whether the store is empty.
    pub fn is_empty(&self) -> bool {
        self.by_certify.is_empty()
    }

    /// The persisted form.
    pub fn snapshot(&self) -> RecordsSnapshot {
        let mut records: Vec<Record> = self.slots.iter().flatten().cloned().collect();
        records.sort_by_key(|r| r.certify_id);
        RecordsSnapshot { zone: self.zone, records }
    }

    /// Restores a snapshot, rebuilding every index. Refuses (with
    /// [`RecordError::Snapshot`]) a record no insert could have made: see
    /// [`SnapshotError`]. Memory follows the snapshot's records.
    pub fn restore(snapshot: RecordsSnapshot, key: DigestKey) -> Result<InMemoryRecords, RecordError> {
        let zone = snapshot.zone;
        if BillingZone::new(zone.offset().local_minus_utc()) != Some(zone) {
            return Err(SnapshotError::Zone.into());
        }
        let mut store = InMemoryRecords::new(key, zone);
        for record in snapshot.records {
            check_restored(&record)?;
            if store.by_certify.contains_key(&record.certify_id) {
                return Err(SnapshotError::DuplicateCertifyId(record.certify_id).into());
            }
            store.add(record)?;
        }
        Ok(store)
    }

    fn cutoff(now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(RETENTION).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    fn visible(&self, account: &AccountId, id: CertifyId, now: DateTime<Utc>) -> Result<usize, RecordError> {
        let slot = *self.by_certify.get(&id).ok_or(RecordError::NotFound(id))?;
        match self.slots.get(slot).and_then(Option::as_ref) {
            Some(r) if &r.account == account && r.created_at >= Self::cutoff(now) => Ok(slot),
            _ => Err(RecordError::NotFound(id)),
        }
    }

    /// Adds a complete record to every index.
    fn add(&mut self, record: Record) -> Result<(), RecordError> {
        if self.by_certify.contains_key(&record.certify_id) {
            return Err(RecordError::Duplicate(record.certify_id));
        }
        if record.completed_at < record.created_at {
            return Err(RecordError::Times(record.certify_id));
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.slots.push(None);
                self.slots.len() - 1
            }
        };
        self.by_certify.insert(record.certify_id, slot);
        self.by_time.insert((record.account, record.created_at, record.certify_id), slot);
        self.by_order.entry((record.account, record.outer_order_no)).or_default().push(slot);
        if let Some(digest) = record.personal.as_ref().and_then(|p| p.id_number_digest) {
            self.by_digest.entry((record.account, digest)).or_default().push(slot);
        }
        let day = self.zone.day_of(record.created_at);
        self.daily
            .entry((record.account, record.scene_id, day))
            .or_default()
            .series_mut(record.product.tab())
            .add(record.passed);
        if let Some(s) = self.slots.get_mut(slot) {
            *s = Some(record);
        }
        Ok(())
    }

    /// Removes the records in `slots` from the store and every index. A record leaves a
    /// small shared bucket (order number, ID digest) at once; large buckets are each
    /// swept once after all removals. So the work is linear in the records removed plus
    /// the buckets they were in — never one large-bucket scan per record.
    fn remove_all(&mut self, slots: &[usize]) -> usize {
        let mut orders: HashSet<(AccountId, OuterOrderNo), FastState> = HashSet::default();
        let mut digests: HashSet<(AccountId, IdDigest), FastState> = HashSet::default();
        let mut removed = 0;
        for &slot in slots {
            let Some(record) = self.slots.get_mut(slot).and_then(Option::take) else { continue };
            removed += 1;
            self.free.push(slot);
            self.by_certify.remove(&record.certify_id);
            self.by_time.remove(&(record.account, record.created_at, record.certify_id));
            unindex_or_defer(&mut self.by_order, (record.account, record.outer_order_no), slot, &mut orders);
            if let Some(digest) = record.personal.as_ref().and_then(|p| p.id_number_digest) {
                unindex_or_defer(&mut self.by_digest, (record.account, digest), slot, &mut digests);
            }
            let key = (record.account, record.scene_id, self.zone.day_of(record.created_at));
            if let Some(day) = self.daily.get_mut(&key) {
                day.series_mut(record.product.tab()).remove(record.passed);
                if *day == DayStats::default() {
                    self.daily.remove(&key);
                }
            }
        }
        // Freed slots are empty until the next insert, so "still stored" is the test.
        let slots = &self.slots;
        let live = |s: &usize| {
            work::step();
            slots.get(*s).is_some_and(Option::is_some)
        };
        for key in orders {
            if let Some(list) = self.by_order.get_mut(&key) {
                list.retain(live);
                if list.is_empty() {
                    self.by_order.remove(&key);
                }
            }
        }
        for key in digests {
            if let Some(list) = self.by_digest.get_mut(&key) {
                list.retain(live);
                if list.is_empty() {
                    self.by_digest.remove(&key);
                }
            }
        }
        removed
    }

    fn unindex_digest(&mut self, account: AccountId, digest: IdDigest, slot: usize) {
        if let Some(list) = self.by_digest.get_mut(&(account, digest)) {
            remove_from(list, slot);
            if list.is_empty() {
                self.by_digest.remove(&(account, digest));
            }
        }
    }

    fn identifier_slots(&self, account: &AccountId, identifier: &Identifier) -> Vec<usize> {
        match identifier {
            Identifier::CertifyId(id) => self.by_certify.get(id).copied().into_iter().collect(),
            Identifier::OuterOrderNo(no) => self.by_order.get(&(*account, *no)).cloned().unwrap_or_default(),
            Identifier::IdNumber(number) => {
                self.by_digest.get(&(*account, self.key.digest(number))).cloned().unwrap_or_default()
            }
        }
    }
}

impl RecordStore for InMemoryRecords {
    fn insert(&mut self, new: NewRecord) -> Result<(), RecordError> {
        self.add(Record::from_new(new, &self.key))
    }

    fn get(&self, account: &AccountId, id: CertifyId, now: DateTime<Utc>) -> Result<Record, RecordError> {
        let slot = self.visible(account, id, now)?;
        self.slots.get(slot).and_then(Option::clone).ok_or(RecordError::NotFound(id))
    }

    fn mark_read(
        &mut self,
        account: &AccountId,
        id: CertifyId,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        let slot = self.visible(account, id, now)?;
        if let Some(r) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            r.read = true;
        }
        Ok(())
    }

    fn query(&self, account: &AccountId, query: &Query, now: DateTime<Utc>) -> Result<Page, RecordError> {
        let limit = match query.limit {
            0 => 20,
            n if n > MAX_PAGE => return Err(RecordError::Limit(n)),
            n => n,
        };
        let cutoff = Self::cutoff(now);
        let visible = |r: &&Record| &r.account == account && r.created_at >= cutoff && query.matches(r);
        let mut found: Vec<&Record> = match &query.identifier {
            Some(identifier) => {
                let mut hits: Vec<&Record> = self
                    .identifier_slots(account, identifier)
                    .into_iter()
                    .filter_map(|slot| self.slots.get(slot).and_then(Option::as_ref))
                    .filter(visible)
                    .collect();
                hits.sort_by_key(|r| std::cmp::Reverse((r.created_at, r.certify_id)));
                hits.truncate(limit + 1);
                hits
            }
            None => {
                let from = query.from.map_or(cutoff, |f| f.max(cutoff));
                let lower = Bound::Included((*account, from, CertifyId::from_bytes([0; 16])));
                let upper = match (query.after, query.to) {
                    (Some(c), _) => Bound::Excluded((*account, c.key().0, c.key().1)),
                    (None, Some(to)) => Bound::Excluded((*account, to, CertifyId::from_bytes([0; 16]))),
                    (None, None) => Bound::Included((
                        *account,
                        DateTime::<Utc>::MAX_UTC,
                        CertifyId::from_bytes([0xFF; 16]),
                    )),
                };
                if matches!((&lower, &upper), (Bound::Included(l), Bound::Excluded(u) | Bound::Included(u)) if l > u)
                {
                    Vec::new()
                } else {
                    self.by_time
                        .range((lower, upper))
                        .rev()
                        .filter_map(|(_, &slot)| self.slots.get(slot).and_then(Option::as_ref))
                        .filter(visible)
                        .take(limit + 1)
                        .collect()
                }
            }
        };
        let more = found.len() > limit;
        found.truncate(limit);
        let next = if more { found.last().map(|r| Cursor::of(r)) } else { None };
        Ok(Page { records: found.into_iter().cloned().collect(), next })
    }

    fn statistics(
        &self,
        account: &AccountId,
        scene: SceneId,
        range: StatsRange,
        now: DateTime<Utc>,
    ) -> Result<Statistics, RecordError> {
        let (from, to) = range.days(self.zone.day_of(now))?;
        let first_kept = self.zone.day_of(Self::cutoff(now));
        let mut daily = Vec::new();
        let mut day = from;
        while day <= to {
            let stats = if day < first_kept {
                DayStats::default()
            } else {
                self.daily.get(&(*account, scene, day)).copied().unwrap_or_default()
            };
            daily.push((day, stats));
            match day.checked_add_days(Days::new(1)) {
                Some(next) => day = next,
                None => break,
            }
        }
        let mut totals = crate::stats::Counts::default();
        let mut compare_count = 0;
        for (_, d) in &daily {
            let t = d.total();
            totals.passed += t.passed;
            totals.failed += t.failed;
            compare_count += d.face_comparison.submissions();
        }
        Ok(Statistics {
            from,
            to,
            totals,
            submissions: totals.submissions(),
            pass_rate: totals.pass_rate(),
            compare_count,
            daily,
        })
    }

    fn delete_personal(
        &mut self,
        account: &AccountId,
        id: CertifyId,
        mode: DeleteMode,
        now: DateTime<Utc>,
    ) -> Result<(), RecordError> {
        let slot = self.visible(account, id, now)?;
        let (digest, read, present) = match self.slots.get(slot).and_then(Option::as_ref) {
            Some(r) => (r.personal.as_ref().and_then(|p| p.id_number_digest), r.read, r.personal.is_some()),
            None => return Err(RecordError::NotFound(id)),
        };
        if !present {
            return Err(RecordError::AlreadyDeleted(id));
        }
        if mode == DeleteMode::AfterQuery && !read {
            return Err(RecordError::NotYetRead(id));
        }
        if let Some(digest) = digest {
            self.unindex_digest(*account, digest, slot);
        }
        if let Some(r) = self.slots.get_mut(slot).and_then(Option::as_mut) {
            r.personal = None;
        }
        Ok(())
    }

    fn purge(&mut self, now: DateTime<Utc>) -> usize {
        let cutoff = Self::cutoff(now);
        let old: Vec<usize> = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, r)| r.as_ref().filter(|r| r.created_at < cutoff).map(|_| slot))
            .collect();
        self.remove_all(&old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shiren_catalog::{ProductCode, ResidentId, SubCode};

    fn record(n: u32, at: DateTime<Utc>, id_number: &ResidentId) -> NewRecord {
        NewRecord {
            certify_id: CertifyId::from_bytes(u128::from(n).to_le_bytes()),
            outer_order_no: OuterOrderNo::new("same").unwrap(),
            account: AccountId::new("1234567890").unwrap(),
            scene_id: SceneId::new(1),
            scene_name: "s".into(),
            product: ProductCode::IdPro,
            user_id: None,
            name: "王小明".into(),
            id_number: Some(id_number.clone()),
            passed: n.is_multiple_of(2),
            sub_code: SubCode::new(200),
            scores: crate::record::Scores::default(),
            attack: None,
            occlusion: None,
            photos: Vec::new(),
            created_at: at,
            completed_at: at,
        }
    }

    /// Purging records that all share one order number and one ID number visits each
    /// index entry a bounded number of times (it was quadratic: every removal scanned
    /// the whole shared bucket).
    #[test]
    fn purge_is_linear_in_shared_buckets() {
        let id_number = ResidentId::parse("11010519491231002X").unwrap();
        let old = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let now = old + RETENTION + Duration::days(1);
        let mut store = InMemoryRecords::new(DigestKey::new([1; 32]), BillingZone::CHINA);
        const N: u32 = 4_000;
        for n in 0..N {
            let at = if n.is_multiple_of(4) { now } else { old + Duration::seconds(i64::from(n)) };
            assert_eq!(store.insert(record(n, at, &id_number)), Ok(()));
        }
        work::take();
        assert_eq!(store.purge(now), (N - N / 4) as usize);
        let steps = work::take();
        assert!(steps <= 4 * u64::from(N), "{steps} index steps to purge {N} records");
        // The kept quarter is still found through both shared indexes, and nothing else.
        for identifier in [
            Identifier::OuterOrderNo(OuterOrderNo::new("same").unwrap()),
            Identifier::IdNumber(id_number.clone()),
        ] {
            assert_eq!(
                store.identifier_slots(&record(0, now, &id_number).account, &identifier).len(),
                (N / 4) as usize
            );
        }
        assert_eq!(store.len(), (N / 4) as usize);
    }
}
