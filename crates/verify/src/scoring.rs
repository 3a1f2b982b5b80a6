//! Face scoring as the flow sees it: selfie bytes (and reference bytes) in, a
//! [`Verdict`] out — or the photo refused with its call code. The default
//! implementation is `shiren-face`'s pipeline; a service can plug in another scorer
//! (or a fixed one, for load tests of everything around it).

use shiren_catalog::CallCode;
use shiren_catalog::SubCode;
#[cfg(feature = "face")]
use shiren_face::{FaceModels, PhotoRules, decode_photo};
use shiren_face::{MaterialInfo, Verdict, VerificationPolicy};

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

/// `shiren-face`'s pipeline with the service's intake rules (feature `face`).
#[cfg(feature = "face")]
#[derive(Debug)]
pub struct FaceModelScorer {
    /// The models.
    pub models: FaceModels,
    /// Intake rules for every photo.
    pub rules: PhotoRules,
}

#[cfg(feature = "face")]
impl FaceModelScorer {
    fn decode(&self, bytes: &[u8], role: PhotoRole) -> Result<shiren_face::Photo, Refusal> {
        decode_photo(bytes, &self.rules).map_err(|e| Refusal {
            role,
            code: e.call_code(),
            message: e.to_string(),
        })
    }

    fn refusal(role: PhotoRole) -> impl Fn(shiren_face::FaceError) -> Refusal {
        move |e| Refusal { role, code: e.call_code(), message: e.to_string() }
    }
}

#[cfg(feature = "face")]
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
        let selfie = self.decode(selfie, PhotoRole::Selfie)?;
        let face = self.models.analyze(&selfie).map_err(Self::refusal(PhotoRole::Selfie))?;
        // The reference needs only its face's embedding: no quality, occlusion or
        // attack checks (they judge the person's photo, not the authority's).
        let distance = match reference {
            None => None,
            Some(bytes) => {
                let reference = self.decode(bytes, PhotoRole::Reference)?;
                let embedding = self.models.embed(&reference).map_err(Self::refusal(PhotoRole::Reference))?;
                Some(self.models.distance_to(&face, &embedding))
            }
        };
        Ok(policy.decide(&face, distance))
    }
}

/// A scorer that looks at the selfie's bytes only, never at a face — for tests,
/// examples and benches of everything around the face pipeline. The table:
///
/// | selfie bytes | answer |
/// |---|---|
/// | empty, or `unusable` | refused, 419 (the person may try again) |
/// | `mismatch` | failed, sub code 204, verify score 40 |
/// | `attack` | failed, sub code 205 (`faceAttack`) |
/// | `occluded` | failed, sub code 206 (business policy: `faceOcclusion`) |
/// | anything else | passed, sub code 200, verify score 99 with a reference |
///
/// Every intake check passes. The material is [`MaterialInfo::default`] with the
/// fields above set, quality 90 and `attackModel` `"fixed"`.
#[derive(Clone, Copy, Debug, Default)]
pub struct FixedScorer;

impl FaceScorer for FixedScorer {
    fn check_photo(&self, _: &[u8]) -> Result<(), Refusal> {
        Ok(())
    }

    fn score(
        &self,
        selfie: &[u8],
        reference: Option<&[u8]>,
        _: &VerificationPolicy,
    ) -> Result<Verdict, Refusal> {
        let mut material = MaterialInfo {
            quality_score: 90.0,
            verify_score: reference.map(|_| 99.0),
            attack_model: "fixed".into(),
            ..MaterialInfo::default()
        };
        let sub_code = match selfie {
            b"" | b"unusable" => {
                return Err(Refusal {
                    role: PhotoRole::Selfie,
                    code: CallCode::ImageUnusable,
                    message: "the fixed scorer refuses this photo; submit another".into(),
                });
            }
            b"mismatch" => {
                material.verify_score = Some(40.0);
                SubCode::FACE_MISMATCH
            }
            b"attack" => {
                material.face_attack = true;
                material.face_attack_score = 0.9;
                SubCode::LIVENESS_RISK
            }
            b"occluded" => {
                material.face_occlusion = true;
                SubCode::BUSINESS_POLICY
            }
            _ => SubCode::PASS,
        };
        Ok(Verdict { passed: sub_code == SubCode::PASS, sub_code, material })
    }
}
