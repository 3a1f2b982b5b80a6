//! Verification sessions: what `InitFaceVerify` started, and how it ended. Plain
//! serde data, so the verifier's state can be snapshotted and restored exactly.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, CertifyId, OuterOrderNo, ProductCode, ResidentId, Solution};
use shiren_scene::SceneId;

use crate::response::VerifyResult;

/// Where a session stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum SessionState {
    /// Started, waiting for the person's photo.
    Pending,
    /// Completed: the result, recorded, metered and billed exactly once.
    Completed(VerifyResult),
    /// Never completed within the session lifetime: never billed.
    Abandoned,
}

/// One session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Its certify ID.
    pub certify_id: CertifyId,
    /// The main account.
    pub account: AccountId,
    /// The scene.
    pub scene_id: SceneId,
    /// The scene's name at start.
    pub scene_name: String,
    /// The scene's access solution (decides metering and price).
    pub solution: Solution,
    /// The product.
    pub product: ProductCode,
    /// The client's order number.
    pub outer_order_no: OuterOrderNo,
    /// The customer's user ID.
    pub user_id: Option<String>,
    /// The person's name (identity products).
    pub name: Option<String>,
    /// The person's ID number (identity products).
    #[serde(with = "resident_id")]
    pub id_number: Option<ResidentId>,
    /// The comparison photo supplied at start (PV_FV).
    pub reference: Option<Bytes>,
    /// The selfie of a passed session, usable as a later session's reference by
    /// certify ID; dropped on deletion.
    pub selfie: Option<Bytes>,
    /// Whether the scene writes photos back to object storage.
    pub stores_photos: bool,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// Where it stands.
    pub state: SessionState,
}

/// Sources of the 16 random bytes behind certify IDs and request IDs (randomness
/// comes in through this trait; the library has none of its own).
pub trait IdSource {
    /// 16 fresh bytes, never repeated.
    fn next_id(&mut self) -> [u8; 16];
}

/// Deterministic IDs (a counter, mixed so consecutive IDs do not look alike) for tests
/// and demos. Not unpredictable: production services supply random IDs.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SequentialIds {
    next: u64,
}

impl IdSource for SequentialIds {
    fn next_id(&mut self) -> [u8; 16] {
        self.next += 1;
        // Two different bijections of the counter (SplitMix64's finaliser): unique,
        // and consecutive IDs share no visible pattern.
        let mix = |mut z: u64| {
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut id = [0u8; 16];
        let (high, low) = id.split_at_mut(8);
        high.copy_from_slice(&mix(self.next.wrapping_add(0x9E37_79B9_7F4A_7C15)).to_be_bytes());
        low.copy_from_slice(&mix(self.next ^ 0xD1B5_4A32_D192_ED03).to_be_bytes());
        id
    }
}

mod resident_id {
    use serde::{Deserialize, Deserializer, Serializer};
    use shiren_catalog::ResidentId;

    pub(super) fn serialize<S: Serializer>(id: &Option<ResidentId>, s: S) -> Result<S::Ok, S::Error> {
        match id {
            Some(id) => s.serialize_some(id.expose()),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<ResidentId>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| ResidentId::parse(&text).map_err(serde::de::Error::custom))
            .transpose()
    }
}
