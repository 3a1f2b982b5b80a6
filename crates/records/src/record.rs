//! The verification record, with its personal data kept apart so it can be deleted on
//! request while everything statistics need stays.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{
    AccountId, CertifyId, OuterOrderNo, PersonName, ProductCode, ResidentId, SubCode, UserId, mask_name,
};
use shiren_scene::SceneId;

use crate::privacy::IdDigest;
use shiren_catalog::Quoted;

/// Comparison and quality scores (0–100), where the product produced them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Face vs the ID-card photo (ID_PLUS).
    pub face_vs_id_photo: Option<f64>,
    /// Face vs the authority photo, e.g. 53.22651879885791.
    pub face_vs_authority: Option<f64>,
    /// Face quality, e.g. 91.36349487304688.
    pub quality: Option<f64>,
}

/// The personal data of a record: deletable on request. What the console shows and
/// searches by, nothing more: the name only masked, the ID number only masked and
/// digested; the user ID in full (the customer's own key to the person, shown masked
/// by `Debug`).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Personal {
    /// The person's name, masked (`张**`: [`mask_name`]); the full name is not kept.
    pub name: String,
    /// The customer's user ID, if given.
    pub user_id: Option<UserId>,
    /// The ID number, masked for display (`110***********002X`).
    pub id_number_masked: Option<String>,
    /// Keyed digest of the ID number, for search; the number itself is not kept.
    pub id_number_digest: Option<IdDigest>,
    /// Object paths of stored photos (`verify/<uid>/<name>.jpeg`).
    pub photos: Vec<String>,
}

impl fmt::Debug for Personal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Personal")
            .field("name", &shiren_catalog::MaskedName(&self.name))
            .field("user_id", &self.user_id)
            .field("id_number", &self.id_number_masked)
            .field("photos", &self.photos.len())
            .finish()
    }
}

impl Record {
    /// The record a store keeps of `new`: the name masked, the ID number masked for
    /// display and digested with `key` for search; the plain name and number are
    /// dropped here. Every store (in memory or in a database) makes its records with
    /// this one function.
    pub fn from_new(new: NewRecord, key: &crate::DigestKey) -> Record {
        let personal = Personal {
            name: mask_name(new.name.expose()),
            user_id: new.user_id,
            id_number_masked: new.id_number.as_ref().map(ResidentId::masked),
            id_number_digest: new.id_number.as_ref().map(|id| key.digest(id)),
            photos: new.photos,
        };
        Record {
            certify_id: new.certify_id,
            outer_order_no: new.outer_order_no,
            account: new.account,
            scene_id: new.scene_id,
            scene_name: new.scene_name,
            product: new.product,
            passed: new.passed,
            sub_code: new.sub_code,
            scores: new.scores,
            attack: new.attack,
            occlusion: new.occlusion,
            created_at: new.created_at,
            completed_at: new.completed_at,
            personal: Some(personal),
            read: false,
        }
    }
}

/// One verification record (认证记录).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The session's certify ID.
    pub certify_id: CertifyId,
    /// The client's outer order number.
    #[serde(deserialize_with = "order_no")]
    pub outer_order_no: OuterOrderNo,
    /// The main account.
    pub account: AccountId,
    /// The scene.
    pub scene_id: SceneId,
    /// The scene's name when the record was made.
    pub scene_name: String,
    /// The product code.
    pub product: ProductCode,
    /// Result `T` (true) or `F`.
    pub passed: bool,
    /// The sub code.
    pub sub_code: SubCode,
    /// Scores.
    pub scores: Scores,
    /// Attack detected (T/F), where assessed.
    pub attack: Option<bool>,
    /// Occlusion detected (T/F), where assessed.
    pub occlusion: Option<bool>,
    /// When the session started.
    pub created_at: DateTime<Utc>,
    /// When it completed.
    pub completed_at: DateTime<Utc>,
    /// Personal data; `None` once deleted.
    pub personal: Option<Personal>,
    /// Whether the result has been read (DescribeFaceVerify or a query by the owner).
    pub read: bool,
}

/// An outer order number from a snapshot; the error quotes a short escaped prefix.
fn order_no<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<OuterOrderNo, D::Error> {
    let text = String::deserialize(deserializer)?;
    OuterOrderNo::new(&text).map_err(|_| {
        serde::de::Error::custom(format_args!(
            "`{}` is not an outer order number (1–32 ASCII letters and digits)",
            Quoted(&text)
        ))
    })
}

/// What a caller hands in to make a record. The name is masked and the ID number
/// digested and masked on insertion; neither is stored in full. `Debug` masks them.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRecord {
    /// The session's certify ID.
    pub certify_id: CertifyId,
    /// The client's outer order number.
    pub outer_order_no: OuterOrderNo,
    /// The main account.
    pub account: AccountId,
    /// The scene.
    pub scene_id: SceneId,
    /// The scene's name.
    pub scene_name: String,
    /// The product code.
    pub product: ProductCode,
    /// The customer's user ID.
    pub user_id: Option<UserId>,
    /// The person's name (empty for products without identity).
    pub name: PersonName,
    /// The person's ID number.
    pub id_number: Option<ResidentId>,
    /// Result.
    pub passed: bool,
    /// Sub code.
    pub sub_code: SubCode,
    /// Scores.
    pub scores: Scores,
    /// Attack detected.
    pub attack: Option<bool>,
    /// Occlusion detected.
    pub occlusion: Option<bool>,
    /// Stored photo object paths.
    pub photos: Vec<String>,
    /// Session start.
    pub created_at: DateTime<Utc>,
    /// Session completion.
    pub completed_at: DateTime<Utc>,
}
