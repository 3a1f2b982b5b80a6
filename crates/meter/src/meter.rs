//! The meter: purchases, idempotent usage events, draw-down, alerts, refund quotes and
//! the console's queries, over a deterministic in-memory ledger.
//!
//! Invariants (property-tested against a naive model):
//! - conservation: per pack type, units drawn from packs + overage units = counted
//!   events; no pack's remaining goes below zero or above its total;
//! - an event is applied at most once: marking its key as seen and applying it happen
//!   in the same `&mut self` step, and a conflicting reuse changes nothing;
//! - a failed operation leaves the meter unchanged.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::BuildHasherDefault;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use shiren_catalog::{
    AccountId, BillingZone, CertifyId, PACK_CATALOG, PackSpec, PackType, Solution, WordHasher,
};

use crate::event::UsageEvent;
use crate::ids::{IdSource, PackId};
use crate::pack::{AlertSetting, Pack, PackStatus, RefundQuote, expiry_of};
use crate::seen::{Seen, SeenSet};

type FastState = BuildHasherDefault<WordHasher>;

/// Counted and pack-covered units of one solution on one natural day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DailyUsage {
    /// Units counted (completed, billable, and counted by the metering basis).
    pub counted: u64,
    /// Of those, units drawn from packs.
    pub covered: u64,
}

impl DailyUsage {
    /// Units no pack covered: pay-as-you-go.
    pub fn overage(&self) -> u64 {
        self.counted.saturating_sub(self.covered)
    }
}

/// An alert that fired: the caller delivers it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// The pack.
    pub pack: PackId,
    /// Its owner.
    pub account: AccountId,
    /// The threshold that was crossed.
    pub threshold: Decimal,
    /// Units left.
    pub remaining: u64,
    /// Units bought.
    pub total: u64,
}

/// What applying an event did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Applied {
    /// One unit was drawn from this pack (and maybe an alert fired).
    Drawn {
        /// The pack drawn from.
        pack: PackId,
        /// An alert that fired on this draw.
        alert: Option<Alert>,
    },
    /// Counted, but no valid pack covered it: pay-as-you-go.
    Overage,
    /// Remembered, but it does not count (abandoned, non-billable sub code, or a
    /// failed verdict under the passed-verifications basis).
    NotCounted,
    /// The same event was applied before; nothing changed.
    Duplicate,
}

/// Applying an event failed; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// The certify ID was applied before with different content.
    #[error("certify ID `{0}` was already applied with different content")]
    Conflict(CertifyId),
}

/// A purchase was refused; nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PurchaseError {
    /// The pack is not in the meter's catalog.
    #[error("no {pack_type} of {units} units is sold")]
    NotInCatalog {
        /// Pack type asked for.
        pack_type: PackType,
        /// Units asked for.
        units: u64,
    },
    /// The free pack may only be the account's first purchase of its type.
    #[error("the free {0} can only be the first purchase of its type")]
    FreePackNotFirst(PackType),
    /// The amount paid is negative or above the price.
    #[error("amount paid {paid} must be between 0 and the price {price}")]
    PaidOutOfRange {
        /// Amount given.
        paid: Decimal,
        /// The pack price.
        price: Decimal,
    },
    /// The ID source returned an ID already in use.
    #[error("pack ID `{0}` is already in use; the ID source repeated itself")]
    DuplicatePackId(PackId),
}

/// A pack operation named a pack the account does not own.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PackError {
    /// No such pack for this account.
    #[error("pack `{0}` does not exist")]
    NotFound(PackId),
    /// An alert threshold outside 0–1.
    #[error("alert threshold {0} must be between 0 and 1")]
    Threshold(Decimal),
}

/// A row of the console's pack list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackView {
    /// Pack name (its type's title).
    pub name: String,
    /// Pack type.
    pub pack_type: PackType,
    /// Pack ID.
    pub id: PackId,
    /// Status at the query instant.
    pub status: PackStatus,
    /// Units bought.
    pub total: u64,
    /// Units left.
    pub remaining: u64,
    /// Start of validity.
    pub effective: DateTime<Utc>,
    /// End of validity.
    pub expiry: DateTime<Utc>,
}

/// Totals per pack type, like `QueryVerifyFlowPackage`: over the packs not expired at
/// the query instant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackTotals {
    /// The pack type.
    pub pack_type: PackType,
    /// Units bought.
    pub total: u64,
    /// Units drawn.
    pub used: u64,
    /// Units left.
    pub current: u64,
    /// `current / total`; `None` with no packs.
    pub current_share: Option<Decimal>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
struct AccountState {
    /// Pack types this account has bought at least once.
    purchased: BTreeSet<PackType>,
    /// Usage per natural day and solution.
    #[serde(with = "usage_entries")]
    usage: BTreeMap<(NaiveDate, Solution), DailyUsage>,
    /// Indexes into `Meter::packs` per pack type, in draw order:
    /// (expiry, effective, id). Derived; rebuilt from packs on restore.
    #[serde(skip)]
    draw_order: [Vec<usize>; 3],
}

fn type_slot(pack_type: PackType) -> usize {
    match pack_type {
        PackType::RealPerson => 0,
        PackType::LivenessFace => 1,
        PackType::FaceVerify => 2,
    }
}

/// The traffic-pack ledger: the embedded default. Mutation takes `&mut self`; share it
/// between threads behind the caller's lock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Meter {
    zone: BillingZone,
    catalog: Vec<PackSpec>,
    packs: Vec<Pack>,
    pack_index: BTreeMap<PackId, usize>,
    accounts: HashMap<AccountId, AccountState, FastState>,
    seen: SeenSet,
}

impl Default for Meter {
    fn default() -> Meter {
        Meter::new(BillingZone::CHINA, PACK_CATALOG.to_vec())
    }
}

impl Meter {
    /// An empty meter for `zone` selling `catalog` (normally [`PACK_CATALOG`]).
    pub fn new(zone: BillingZone, catalog: Vec<PackSpec>) -> Meter {
        Meter {
            zone,
            catalog,
            packs: Vec::new(),
            pack_index: BTreeMap::new(),
            accounts: HashMap::default(),
            seen: SeenSet::default(),
        }
    }

    /// The billing zone whose days usage is grouped by.
    pub fn zone(&self) -> BillingZone {
        self.zone
    }

    /// Buys a pack of `pack_type` with `units` at `now`, paying `paid` (the amount
    /// actually paid, after coupons and vouchers).
    pub fn purchase(
        &mut self,
        account: &AccountId,
        pack_type: PackType,
        units: u64,
        paid: Decimal,
        now: DateTime<Utc>,
        ids: &mut impl IdSource,
    ) -> Result<Pack, PurchaseError> {
        let spec = self
            .catalog
            .iter()
            .copied()
            .find(|s| s.pack_type == pack_type && s.units == units)
            .ok_or(PurchaseError::NotInCatalog { pack_type, units })?;
        let bought_before = self.accounts.get(account).is_some_and(|a| a.purchased.contains(&pack_type));
        if spec.first_purchase_only && bought_before {
            return Err(PurchaseError::FreePackNotFirst(pack_type));
        }
        if paid < Decimal::ZERO || paid > spec.price {
            return Err(PurchaseError::PaidOutOfRange { paid, price: spec.price });
        }
        let id = PackId::from_number(ids.next_pack_number());
        if self.pack_index.contains_key(&id) {
            return Err(PurchaseError::DuplicatePackId(id));
        }
        let pack = Pack {
            id,
            account: *account,
            spec,
            paid,
            effective: now,
            expiry: expiry_of(now, self.zone),
            remaining: spec.units,
            alert: None,
        };
        let index = self.packs.len();
        self.packs.push(pack.clone());
        self.pack_index.insert(id, index);
        let state = self.accounts.entry(*account).or_default();
        state.purchased.insert(pack_type);
        insert_in_draw_order(&self.packs, &mut state.draw_order, index);
        Ok(pack)
    }

    /// Whether [`Meter::apply`] (or [`Meter::apply_arrived`], at any arrival) would
    /// accept `event`, changing nothing: `Err` exactly when `apply` would refuse it (its
    /// certify ID already applied with other content). A flow that must also have other stores accept the event checks them
    /// all first, then applies — `apply` cannot fail after a passing `check` with no
    /// change in between.
    pub fn check(&self, event: &UsageEvent) -> Result<(), ApplyError> {
        match self.seen.peek(event.certify_id, event.fingerprint()) {
            Some(false) => Err(ApplyError::Conflict(event.certify_id)),
            Some(true) | None => Ok(()),
        }
    }

    /// Forgets every remembered certify ID; returns how many. For a store that enforces
    /// exactly-once itself — a database's unique key on the certify ID, checked in the
    /// same transaction as `apply` — so the meter's saved state stays the size of its
    /// packs and daily usage instead of growing with every event. After this, `apply`
    /// no longer recognises earlier events: only call it where something else does.
    pub fn forget_applied(&mut self) -> usize {
        let n = self.seen.len();
        self.seen = SeenSet::default();
        n
    }

    /// Applies one usage event that arrives at its own time (`event.time`): the same as
    /// [`Meter::apply_arrived`]`(event, event.time)`. Marks the certify ID as seen and
    /// applies it in one step.
    pub fn apply(&mut self, event: &UsageEvent) -> Result<Applied, ApplyError> {
        self.apply_arrived(event, event.time)
    }

    /// Applies one usage event that reaches the meter at `arrived`. Marks the certify ID
    /// as seen and applies it in one step.
    ///
    /// A pack covers the event when the event's time lies in the pack's window
    /// `[effective, expiry)` **and** the event arrives before the pack expires: at
    /// expiry the remainder is forfeited, so an event delivered after that is overage
    /// even though it happened while the pack was valid. Usage is still recorded on the
    /// natural day of the event's time. An arrival before the event's time (a clock
    /// ahead of the meter's caller) changes nothing: the event's time decides. The
    /// arrival is not part of the event's content, so a late repeat is a `Duplicate`.
    pub fn apply_arrived(
        &mut self,
        event: &UsageEvent,
        arrived: DateTime<Utc>,
    ) -> Result<Applied, ApplyError> {
        let fingerprint = event.fingerprint();
        let marker = match self.seen.check(event.certify_id, fingerprint) {
            Seen::Duplicate => return Ok(Applied::Duplicate),
            Seen::Conflict => return Err(ApplyError::Conflict(event.certify_id)),
            Seen::New(marker) => marker,
        };
        if !event.counts() {
            marker.mark();
            return Ok(Applied::NotCounted);
        }
        let day = self.zone.day_of(event.time);
        let applied = match self.accounts.get_mut(&event.account) {
            Some(state) => draw(state, &mut self.packs, event, arrived, day),
            None => {
                let mut state = AccountState::default();
                let applied = draw(&mut state, &mut self.packs, event, arrived, day);
                self.accounts.insert(event.account, state);
                applied
            }
        };
        marker.mark();
        Ok(applied)
    }

    /// Sets (or replaces) a pack's remaining-share alert. Setting it arms it; if the
    /// share is already at or below the threshold, the alert fires now.
    pub fn set_alert(
        &mut self,
        account: &AccountId,
        pack: &PackId,
        threshold: Decimal,
    ) -> Result<Option<Alert>, PackError> {
        if threshold < Decimal::ZERO || threshold > Decimal::ONE {
            return Err(PackError::Threshold(threshold));
        }
        let pack = self.pack_mut(account, pack)?;
        pack.alert = Some(AlertSetting::armed(threshold, pack.spec.units));
        Ok(check_alert(pack))
    }

    /// The refund a request at `now` would get.
    pub fn refund_quote(
        &self,
        account: &AccountId,
        pack: &PackId,
        now: DateTime<Utc>,
    ) -> Result<RefundQuote, PackError> {
        Ok(self.pack(account, pack)?.refund_quote(now))
    }

    /// A pack of the account.
    pub fn pack(&self, account: &AccountId, id: &PackId) -> Result<&Pack, PackError> {
        self.pack_index
            .get(id)
            .and_then(|&i| self.packs.get(i))
            .filter(|p| &p.account == account)
            .ok_or(PackError::NotFound(*id))
    }

    fn pack_mut(&mut self, account: &AccountId, id: &PackId) -> Result<&mut Pack, PackError> {
        self.pack_index
            .get(id)
            .and_then(|&i| self.packs.get_mut(i))
            .filter(|p| &p.account == account)
            .ok_or(PackError::NotFound(*id))
    }

    /// The account's packs as the console lists them, in purchase order.
    pub fn packs(&self, account: &AccountId, now: DateTime<Utc>) -> Vec<PackView> {
        self.packs
            .iter()
            .filter(|p| &p.account == account)
            .map(|p| PackView {
                name: p.spec.pack_type.title().to_owned(),
                pack_type: p.spec.pack_type,
                id: p.id,
                status: p.status(now),
                total: p.spec.units,
                remaining: p.remaining,
                effective: p.effective,
                expiry: p.expiry,
            })
            .collect()
    }

    /// Totals of one pack type over the account's packs not expired at `now`.
    pub fn totals(&self, account: &AccountId, pack_type: PackType, now: DateTime<Utc>) -> PackTotals {
        let (total, current) = self
            .packs
            .iter()
            .filter(|p| {
                &p.account == account && p.spec.pack_type == pack_type && p.status(now) != PackStatus::Expired
            })
            .fold((0u64, 0u64), |(t, c), p| (t.saturating_add(p.spec.units), c.saturating_add(p.remaining)));
        let current_share =
            (total > 0).then(|| Decimal::from(current).checked_div(Decimal::from(total))).flatten();
        PackTotals { pack_type, total, used: total.saturating_sub(current), current, current_share }
    }

    /// Usage of one natural day, per solution (what billing reads).
    pub fn daily_usage(&self, account: &AccountId, day: NaiveDate) -> BTreeMap<Solution, DailyUsage> {
        self.accounts
            .get(account)
            .map(|state| {
                state
                    .usage
                    .range((day, Solution::App)..=(day, Solution::LegacyFinancial))
                    .map(|((_, s), u)| (*s, *u))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Every account's usage, per (day, solution).
    pub fn usage(&self) -> BTreeMap<(AccountId, NaiveDate, Solution), DailyUsage> {
        self.accounts
            .iter()
            .flat_map(|(account, state)| state.usage.iter().map(move |((d, s), u)| ((*account, *d, *s), *u)))
            .collect()
    }

    /// Number of certify IDs remembered.
    pub fn seen_count(&self) -> usize {
        self.seen.len()
    }

    /// Every pack, in purchase order.
    pub fn all_packs(&self) -> &[Pack] {
        &self.packs
    }
}

/// Draws one counted unit for `event` from the first pack in draw order that has units
/// left, covers the event's time and has not expired when the event `arrived`, and
/// records the day's usage.
fn draw(
    state: &mut AccountState,
    packs: &mut [Pack],
    event: &UsageEvent,
    arrived: DateTime<Utc>,
    day: NaiveDate,
) -> Applied {
    let mut applied = Applied::Overage;
    if let Some(pack_type) = event.solution.facts().pack_type {
        let order = state.draw_order.get(type_slot(pack_type)).map_or(&[][..], Vec::as_slice);
        for &index in order {
            let Some(pack) = packs.get_mut(index) else { continue };
            if pack.remaining > 0 && pack.covers(event.time) && arrived < pack.expiry {
                pack.remaining -= 1;
                applied = Applied::Drawn { pack: pack.id, alert: check_alert(pack) };
                break;
            }
        }
    }
    let usage = state.usage.entry((day, event.solution)).or_default();
    // Saturating: a restored snapshot may hold any count up to `u64::MAX`.
    usage.counted = usage.counted.saturating_add(1);
    if matches!(applied, Applied::Drawn { .. }) {
        usage.covered = usage.covered.saturating_add(1);
    }
    applied
}

/// Fires the pack's alert if armed and crossed.
fn check_alert(pack: &mut Pack) -> Option<Alert> {
    let remaining = pack.remaining;
    let setting = pack.alert.as_mut()?;
    if setting.fired || remaining > setting.threshold_units {
        return None;
    }
    setting.fired = true;
    Some(Alert {
        pack: pack.id,
        account: pack.account,
        threshold: setting.threshold,
        remaining: pack.remaining,
        total: pack.spec.units,
    })
}

fn insert_in_draw_order(packs: &[Pack], order: &mut [Vec<usize>; 3], index: usize) {
    let Some(pack) = packs.get(index) else { return };
    let key = |p: &Pack| (p.expiry, p.effective, p.id);
    let Some(list) = order.get_mut(type_slot(pack.spec.pack_type)) else { return };
    let new_key = key(pack);
    let at = list.partition_point(|&i| packs.get(i).is_some_and(|p| key(p) < new_key));
    list.insert(at, index);
}

/// Usage persists as a list of `{day, solution, counted, covered}` entries (JSON object
/// keys must be strings).
mod usage_entries {
    use std::collections::BTreeMap;

    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};
    use shiren_catalog::Solution;

    use super::{DailyUsage, SnapshotError};

    #[derive(Serialize, Deserialize)]
    struct Entry {
        day: NaiveDate,
        solution: Solution,
        counted: u64,
        covered: u64,
    }

    pub(super) fn serialize<S: Serializer>(
        usage: &BTreeMap<(NaiveDate, Solution), DailyUsage>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(usage.iter().map(|(&(day, solution), u)| Entry {
            day,
            solution,
            counted: u.counted,
            covered: u.covered,
        }))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<BTreeMap<(NaiveDate, Solution), DailyUsage>, D::Error> {
        use serde::de::Error;
        let mut usage = BTreeMap::new();
        for e in Vec::<Entry>::deserialize(deserializer)? {
            let (day, solution) = (e.day, e.solution);
            if e.covered > e.counted {
                return Err(D::Error::custom(SnapshotError::Covered { day, solution }));
            }
            let previous =
                usage.insert((day, solution), DailyUsage { counted: e.counted, covered: e.covered });
            if previous.is_some() {
                return Err(D::Error::custom(SnapshotError::DuplicateUsage { day, solution }));
            }
        }
        Ok(usage)
    }
}

/// The persisted form. Derived indexes are rebuilt on load.
#[derive(Serialize, Deserialize)]
struct Snapshot {
    zone: BillingZone,
    catalog: Vec<PackSpec>,
    packs: Vec<Pack>,
    accounts: BTreeMap<AccountId, AccountState>,
    seen: Vec<(CertifyId, u32)>,
}

impl Serialize for Meter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Snapshot {
            zone: self.zone,
            catalog: self.catalog.clone(),
            packs: self.packs.clone(),
            accounts: self.accounts.iter().map(|(a, s)| (*a, s.clone())).collect(),
            seen: self.seen.sorted(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Meter {
    /// Restores a snapshot, refusing any state no sequence of operations could reach
    /// (see [`SnapshotError`]; the format's error carries its message). Indexes are
    /// rebuilt; nothing is trusted.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let snapshot = Snapshot::deserialize(deserializer)?;
        Meter::from_snapshot(snapshot).map_err(serde::de::Error::custom)
    }
}

/// Why a meter snapshot was refused: it describes a state that no sequence of
/// purchases, usage events and alert settings could reach, so it was tampered with or
/// corrupted. Restore from another copy; nothing was loaded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// The billing zone's offset is not a valid UTC offset (beyond ±24 hours).
    #[error("the billing zone is not a valid UTC offset")]
    Zone,
    /// Two packs share an ID.
    #[error("pack `{0}` appears twice")]
    DuplicatePack(PackId),
    /// A pack's spec is not the one the snapshot's catalog sells for its type and size.
    #[error("pack `{0}` is not on the catalog")]
    NotInCatalog(PackId),
    /// A pack's amount paid is negative or above its price.
    #[error("pack `{pack}`: amount paid {paid} is not between 0 and the price {price}")]
    Paid {
        /// The pack.
        pack: PackId,
        /// The amount recorded.
        paid: Decimal,
        /// The pack's price.
        price: Decimal,
    },
    /// A pack has more units left than it holds.
    #[error("pack `{0}` has more units remaining than it holds")]
    Remaining(PackId),
    /// A pack's expiry is not one year after it took effect, rounded up to midnight.
    #[error("pack `{0}` does not expire one year after it took effect")]
    Expiry(PackId),
    /// A free (first-purchase-only) pack is not its account's first of its type.
    #[error("free pack `{0}` is not its account's first purchase of its type")]
    FreePackNotFirst(PackId),
    /// A pack's alert has a threshold outside 0–1, a unit threshold that does not
    /// follow from it, or a fired flag that disagrees with the remaining units.
    #[error("pack `{0}` has an alert setting that setting a threshold could not produce")]
    Alert(PackId),
    /// An account's record of purchased pack types differs from its packs.
    #[error("account `{0}` lists purchased pack types that differ from its packs")]
    Purchased(AccountId),
    /// An account entry with no packs and no usage.
    #[error("account `{0}` has neither packs nor usage")]
    EmptyAccount(AccountId),
    /// A day's usage covers more units than it counts.
    #[error("usage of {day} under {solution} covers more units than it counts")]
    Covered {
        /// The day.
        day: NaiveDate,
        /// The solution.
        solution: Solution,
    },
    /// A day's usage appears twice.
    #[error("usage of {day} under {solution} appears twice")]
    DuplicateUsage {
        /// The day.
        day: NaiveDate,
        /// The solution.
        solution: Solution,
    },
    /// Units drawn from an account's packs of a type differ from the usage they
    /// covered (conservation).
    #[error(
        "account `{account}`: {drawn} units were drawn from its {pack_type} packs, but usage covers {covered}"
    )]
    Conservation {
        /// The account.
        account: AccountId,
        /// The pack type.
        pack_type: PackType,
        /// Units drawn from the packs (total − remaining).
        drawn: u128,
        /// Units the usage records as covered by packs.
        covered: u128,
    },
    /// A certify ID is remembered twice.
    #[error("certify ID `{0}` appears twice")]
    DuplicateCertifyId(CertifyId),
}

impl Meter {
    /// Builds a meter from a snapshot, checking every invariant; nothing is trusted.
    fn from_snapshot(snapshot: Snapshot) -> Result<Meter, SnapshotError> {
        let zone = snapshot.zone;
        if BillingZone::new(zone.offset().local_minus_utc()) != Some(zone) {
            return Err(SnapshotError::Zone);
        }
        let mut meter = Meter::new(zone, snapshot.catalog);
        meter.accounts = snapshot.accounts.into_iter().collect();
        // Pack types each account has bought, in purchase (= snapshot) order.
        let mut bought: BTreeMap<AccountId, BTreeSet<PackType>> = BTreeMap::new();
        for pack in snapshot.packs {
            meter.check_pack(&pack, bought.get(&pack.account))?;
            let index = meter.packs.len();
            if meter.pack_index.insert(pack.id, index).is_some() {
                return Err(SnapshotError::DuplicatePack(pack.id));
            }
            let account = pack.account;
            bought.entry(account).or_default().insert(pack.spec.pack_type);
            meter.packs.push(pack);
            let state = meter.accounts.entry(account).or_default();
            insert_in_draw_order(&meter.packs, &mut state.draw_order, index);
        }
        for (id, fingerprint) in snapshot.seen {
            if !meter.seen.insert(id, fingerprint) {
                return Err(SnapshotError::DuplicateCertifyId(id));
            }
        }
        meter.check_accounts(&bought)?;
        Ok(meter)
    }

    /// One pack, against the catalog, the zone, and the account's earlier packs.
    fn check_pack(&self, pack: &Pack, bought: Option<&BTreeSet<PackType>>) -> Result<(), SnapshotError> {
        let id = pack.id;
        let sold =
            self.catalog.iter().find(|s| s.pack_type == pack.spec.pack_type && s.units == pack.spec.units);
        if sold != Some(&pack.spec) {
            return Err(SnapshotError::NotInCatalog(id));
        }
        if pack.paid < Decimal::ZERO || pack.paid > pack.spec.price {
            return Err(SnapshotError::Paid { pack: id, paid: pack.paid, price: pack.spec.price });
        }
        if pack.remaining > pack.spec.units {
            return Err(SnapshotError::Remaining(id));
        }
        if pack.expiry != expiry_of(pack.effective, self.zone) {
            return Err(SnapshotError::Expiry(id));
        }
        if pack.spec.first_purchase_only && bought.is_some_and(|b| b.contains(&pack.spec.pack_type)) {
            return Err(SnapshotError::FreePackNotFirst(id));
        }
        if let Some(alert) = &pack.alert {
            let in_range = Decimal::ZERO <= alert.threshold && alert.threshold <= Decimal::ONE;
            let units = alert
                .threshold
                .checked_mul(Decimal::from(pack.spec.units))
                .map(|u| u.floor())
                .and_then(|u| u64::try_from(u).ok());
            let fired = pack.remaining <= alert.threshold_units;
            if !in_range || units != Some(alert.threshold_units) || alert.fired != fired {
                return Err(SnapshotError::Alert(id));
            }
        }
        Ok(())
    }

    /// Accounts against their packs and usage: purchased types and conservation of units
    /// per pack type. (Counted units are not checked against remembered keys: a store
    /// may forget keys it deduplicates itself; counters saturate instead of overflowing.)
    fn check_accounts(&self, bought: &BTreeMap<AccountId, BTreeSet<PackType>>) -> Result<(), SnapshotError> {
        // Units drawn per (account, pack type).
        let mut drawn: BTreeMap<(AccountId, PackType), u128> = BTreeMap::new();
        for pack in &self.packs {
            *drawn.entry((pack.account, pack.spec.pack_type)).or_default() += u128::from(pack.used());
        }
        for (account, state) in &self.accounts {
            let empty = BTreeSet::new();
            if &state.purchased != bought.get(account).unwrap_or(&empty) {
                return Err(SnapshotError::Purchased(*account));
            }
            if state.purchased.is_empty() && state.usage.is_empty() {
                return Err(SnapshotError::EmptyAccount(*account));
            }
            let mut covered: BTreeMap<PackType, u128> = BTreeMap::new();
            for (&(day, solution), usage) in &state.usage {
                match solution.facts().pack_type {
                    Some(pack_type) => *covered.entry(pack_type).or_default() += u128::from(usage.covered),
                    None if usage.covered > 0 => return Err(SnapshotError::Covered { day, solution }),
                    None => {}
                }
            }
            for pack_type in [PackType::RealPerson, PackType::LivenessFace, PackType::FaceVerify] {
                let drawn = drawn.get(&(*account, pack_type)).copied().unwrap_or(0);
                let covered = covered.get(&pack_type).copied().unwrap_or(0);
                if drawn != covered {
                    return Err(SnapshotError::Conservation { account: *account, pack_type, drawn, covered });
                }
            }
        }
        Ok(())
    }
}
