//! The requests of the API operations, as plain data with the cloud's parameter names
//! (so a thin HTTP layer can deserialise them unchanged). Validation happens in the
//! verifier, in the documented order, so a request type here accepts anything.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The sources of one photo field. Exactly one must be set (more → 420, none → 400
/// where the photo is required).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoSources {
    /// The photo bytes (the wire carries them base64-encoded).
    pub picture: Option<Bytes>,
    /// A URL the embedding service fetches through its
    /// [`PhotoResolver`](crate::PhotoResolver).
    pub url: Option<String>,
    /// The certify ID of an earlier verification of this account that passed (state
    /// T); its selfie is used (else 423).
    pub certify_id: Option<String>,
    /// An object in the account's storage: (bucket, object name).
    pub oss_object: Option<(String, String)>,
}

impl PhotoSources {
    /// Bytes only.
    pub fn bytes(picture: impl Into<Bytes>) -> PhotoSources {
        PhotoSources { picture: Some(picture.into()), ..PhotoSources::default() }
    }

    /// How many sources are set.
    pub fn count(&self) -> usize {
        usize::from(self.picture.is_some())
            + usize::from(self.url.is_some())
            + usize::from(self.certify_id.is_some())
            + usize::from(self.oss_object.is_some())
    }
}

/// `InitFaceVerify`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InitRequest {
    /// The scene.
    pub scene_id: Option<u64>,
    /// The client's unique order number (letters and digits, ≤ 32).
    pub outer_order_no: Option<String>,
    /// The product code (`ID_PRO`, `PV_FV`, `LR_FR`, …).
    pub product_code: Option<String>,
    /// The liveness model (`LIVENESS` by default).
    pub model: Option<String>,
    /// `IDENTITY_CARD` where the product checks identity.
    pub cert_type: Option<String>,
    /// The person's name.
    pub cert_name: Option<String>,
    /// The person's resident ID number.
    pub cert_no: Option<String>,
    /// The customer's user ID (≤ 100 characters).
    pub user_id: Option<String>,
    /// The comparison photo (PV_FV).
    #[serde(default)]
    pub face_contrast: PhotoSources,
}

/// `ContrastFaceVerify` (ID_MIN): one selfie against the identity authority.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContrastRequest {
    /// The scene.
    pub scene_id: Option<u64>,
    /// The client's unique order number.
    pub outer_order_no: Option<String>,
    /// `ID_MIN`.
    pub product_code: Option<String>,
    /// `IDENTITY_CARD`.
    pub cert_type: Option<String>,
    /// The person's name.
    pub cert_name: Option<String>,
    /// The person's resident ID number.
    pub cert_no: Option<String>,
    /// The customer's user ID.
    pub user_id: Option<String>,
    /// The selfie.
    #[serde(default)]
    pub face_contrast: PhotoSources,
}

/// `CompareFaceVerify` (PV_FC): two photos, no identity check.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CompareRequest {
    /// The scene.
    pub scene_id: Option<u64>,
    /// The client's unique order number.
    pub outer_order_no: Option<String>,
    /// `PV_FC`.
    pub product_code: Option<String>,
    /// The first photo.
    #[serde(default)]
    pub source: PhotoSources,
    /// The second photo.
    #[serde(default)]
    pub target: PhotoSources,
}

/// `LivenessFaceVerify` (LR_FR_MIN): one image, liveness only.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LivenessRequest {
    /// The scene.
    pub scene_id: Option<u64>,
    /// The client's unique order number.
    pub outer_order_no: Option<String>,
    /// `LR_FR_MIN`.
    pub product_code: Option<String>,
    /// The customer's user ID.
    pub user_id: Option<String>,
    /// The photo.
    #[serde(default)]
    pub face_contrast: PhotoSources,
}
