//! A main account's domain state as the store keeps it: its traffic packs and daily
//! usage (`Meter`), its bills, balance and standing (`Biller`), and its scenes
//! (`InMemoryRegistry`) — one JSON document per account, written and validated by the
//! domain crates' own serde (a tampered document is a typed error on load, never a
//! wrong bill). The meter's exactly-once set is not in it: the `usage_events` table's
//! primary key is that set, checked in the same transaction.

use serde::{Deserialize, Serialize};
use shiren_billing::Biller;
use shiren_meter::Meter;
use shiren_scene::InMemoryRegistry;

/// One account's packs, bills and scenes. Holds only that account's data (the
/// constructors of the domain types are multi-account; the store keys each document by
/// its account and never mixes them).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountState {
    /// Traffic packs and daily usage.
    pub meter: Meter,
    /// Bills, ledger, standing.
    pub biller: Biller,
    /// Scenes and the service / storage authorizations.
    pub scenes: InMemoryRegistry,
}
