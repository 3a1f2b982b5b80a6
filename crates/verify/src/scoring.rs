//! Face scoring as the flow sees it: selfie bytes (and reference bytes) in, a
//! [`Verdict`] out — or the photo refused with its call code. The default
//! implementation is `shiren-face`'s pipeline; a service can plug in another scorer
//! (or a fixed one, for load tests of everything around it).

use shiren_catalog::CallCode;
use shiren_face::{FaceModels, PhotoRules, Verdict, VerificationPolicy, decode_photo};

/// Which photo a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PhotoRole {
    /// The person's photo.
    Selfie,
    /// The reference it is compared with.
    Reference,
}

/// A photo the scorer cannot use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Which photo.
    pub role: PhotoRole,
    /// 419 (unusable) or 421 (too large).
    pub code: CallCode,
    /// Why, in words a user can act on.
    pub message: String,
}

/// Turns photos into a verdict.
pub trait FaceScorer {
    /// Checks a photo's bytes against the intake rules only (cheap; at session start).
    fn check_photo(&self, photo: &[u8]) -> Result<(), Refusal>;

    /// Scores `selfie` (liveness, quality, occlusion) and, with a `reference`, compares
    /// them, deciding under `policy`.
    fn score(
        &self,
        selfie: &[u8],
        reference: Option<&[u8]>,
        policy: &VerificationPolicy,
    ) -> Result<Verdict, Refusal>;
}

/// `shiren-face`'s pipeline with the service's intake rules.
#[derive(Debug)]
pub struct FaceModelScorer {
    /// The models.
    pub models: FaceModels,
    /// Intake rules for every photo.
    pub rules: PhotoRules,
}

impl FaceModelScorer {
    fn analyse(&self, bytes: &[u8], role: PhotoRole) -> Result<shiren_face::FaceAnalysis, Refusal> {
        let photo = decode_photo(bytes, &self.rules).map_err(|e| Refusal {
            role,
            code: e.call_code(),
            message: e.to_string(),
        })?;
        self.models.analyze(&photo).map_err(|e| Refusal { role, code: e.call_code(), message: e.to_string() })
    }
}

impl FaceScorer for FaceModelScorer {
    fn check_photo(&self, photo: &[u8]) -> Result<(), Refusal> {
        decode_photo(photo, &self.rules).map(|_| ()).map_err(|e| Refusal {
            role: PhotoRole::Reference,
            code: e.call_code(),
            message: e.to_string(),
        })
    }

    fn score(
        &self,
        selfie: &[u8],
        reference: Option<&[u8]>,
        policy: &VerificationPolicy,
    ) -> Result<Verdict, Refusal> {
        let face = self.analyse(selfie, PhotoRole::Selfie)?;
        let distance = match reference {
            None => None,
            Some(bytes) => Some(self.models.distance(&face, &self.analyse(bytes, PhotoRole::Reference)?)),
        };
        Ok(policy.decide(&face, distance))
    }
}
