//! The requests of the API operations, as plain data with the cloud's parameter names
//! (so a thin HTTP layer can deserialise them unchanged). Validation happens in the
//! verifier, in the documented order, so a request type here accepts anything.
//!
//! Personal fields are typed ([`PersonName`], [`CertNo`], [`UserId`], [`Photo`]):
//! `Debug` of every request masks them, so a request can be logged; serde keeps the
//! wire form (the full values), which is what the service receives.

use std::fmt;

use serde::{Deserialize, Serialize};
use shiren_catalog::{CertNo, PersonName, Photo, Quoted, UserId};

/// The sources of one photo field. Exactly one must be set (more → 420, none → 400
/// where the photo is required). `Debug` prints the photo's length, a URL's scheme and
/// host only, and an object's bucket only.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoSources {
    /// The photo bytes (the wire carries them base64-encoded).
    pub picture: Option<Photo>,
    /// A URL the embedding service fetches through its
    /// [`PhotoResolver`](crate::PhotoResolver).
    pub url: Option<String>,
    /// The certify ID of an earlier verification of this account that passed (state
    /// T); its selfie is used (else 423).
    pub certify_id: Option<String>,
    /// An object in the account's storage: (bucket, object name).
    pub oss_object: Option<(String, String)>,
}

/// A URL as logs may show it: its scheme and host (escaped, at most 64 characters),
/// then `/…` — never the path or query, which can name a person or carry a signature.
pub(crate) struct UrlOrigin<'a>(pub(crate) &'a str);

impl fmt::Display for UrlOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = self.0;
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        // Credentials before the host (`user:password@`) are never shown.
        let host = authority.rsplit('@').next().unwrap_or_default();
        if !scheme.is_empty() {
            write!(f, "{}://", Quoted(scheme))?;
        }
        write!(f, "{}/…", Quoted(host))
    }
}

impl fmt::Debug for UrlOrigin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{self}\"")
    }
}

impl fmt::Debug for PhotoSources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PhotoSources")
            .field("picture", &self.picture)
            .field("url", &self.url.as_deref().map(UrlOrigin))
            .field("certify_id", &self.certify_id.as_deref().map(Quoted))
            .field("oss_object", &self.oss_object.as_ref().map(|(bucket, _)| (Quoted(bucket), "…")))
            .finish()
    }
}

impl PhotoSources {
    /// Bytes only.
    pub fn bytes(picture: impl Into<Photo>) -> PhotoSources {
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
    pub cert_name: Option<PersonName>,
    /// The person's resident ID number.
    pub cert_no: Option<CertNo>,
    /// The customer's user ID (≤ 100 characters).
    pub user_id: Option<UserId>,
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
    pub cert_name: Option<PersonName>,
    /// The person's resident ID number.
    pub cert_no: Option<CertNo>,
    /// The customer's user ID.
    pub user_id: Option<UserId>,
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
    pub user_id: Option<UserId>,
    /// The photo.
    #[serde(default)]
    pub face_contrast: PhotoSources,
}
