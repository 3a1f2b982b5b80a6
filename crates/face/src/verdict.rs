//! The verdict: a per-scene [`VerificationPolicy`] turns the scores into `Passed`, a
//! sub code and the MaterialInfo-shaped result of the cloud API, as plain serde data.
//!
//! `verifyScore` (0–100) maps the embedding distance through a documented logistic
//! ([`ScoreMapping`]) placed so that dlib's design threshold (distance 0.6) lands on
//! 80, the legacy API's FAR 1e-3 threshold. **Uncalibrated**: no impostor
//! distribution has been measured, so the FAR a score implies is the legacy table's
//! label, not a measurement; results carry `calibrated: false` until a calibration set
//! replaces the mapping.
//!
//! Decision order: occlusion (206, a business-policy restriction — checked first
//! because the attack indicators read the face's texture and colour, which a mask or
//! lenses replace) → attack (205) → quality below the policy (206) → comparison below
//! the threshold (204) → pass (200). `faceAttack` and `faceOcclusion` are reported as
//! measured whatever the sub code.

use serde::{Deserialize, Serialize};
use shiren_catalog::SubCode;

#[cfg(feature = "models")]
use crate::pipeline::FaceAnalysis;

/// Distance → `verifyScore`: `100 / (1 + exp((d − midpoint) / width))`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScoreMapping {
    /// Distance scoring 50.
    pub midpoint: f64,
    /// Logistic width.
    pub width: f64,
    /// Whether the mapping was fitted on a measured impostor distribution.
    pub calibrated: bool,
}

impl Default for ScoreMapping {
    /// `width` 0.08, `midpoint` 0.6 + 0.08·ln 4 ≈ 0.711 so that distance 0.6 scores 80.
    fn default() -> Self {
        ScoreMapping { midpoint: 0.6 + 0.08 * 4f64.ln(), width: 0.08, calibrated: false }
    }
}

impl ScoreMapping {
    /// The score of `distance`, two decimals.
    pub fn score(&self, distance: f64) -> f64 {
        let s = 100.0 / (1.0 + ((distance - self.midpoint) / self.width.max(1e-6)).exp());
        if s.is_finite() { (s * 100.0).round() / 100.0 } else { 0.0 }
    }
}

/// The legacy API's FAR → threshold table (0–100 scale).
pub const FAR_THRESHOLDS: [(f64, f64); 4] = [(1e-2, 60.0), (1e-3, 80.0), (1e-4, 90.0), (1e-5, 95.0)];

/// A scene's verification policy.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerificationPolicy {
    /// `verifyScore` needed to pass (default 80, labelled FAR 1e-3).
    pub verify_threshold: f64,
    /// `faceAttackScore` at or above which the photo is treated as an attack.
    pub max_attack_score: f64,
    /// `qualityScore` below which the photo is refused.
    pub min_quality: f64,
    /// Whether an occluded face is refused.
    pub reject_occlusion: bool,
    /// Distance → score mapping.
    pub mapping: ScoreMapping,
}

impl Default for VerificationPolicy {
    fn default() -> Self {
        VerificationPolicy {
            verify_threshold: 80.0,
            max_attack_score: 0.5,
            min_quality: 50.0,
            reject_occlusion: true,
            mapping: ScoreMapping::default(),
        }
    }
}

impl VerificationPolicy {
    /// The default policy with the threshold the legacy table gives for `far` (the
    /// strictest listed threshold at or below it; 95 below 1e-5).
    pub fn for_far(far: f64) -> VerificationPolicy {
        let verify_threshold =
            FAR_THRESHOLDS.iter().find(|&&(f, _)| far >= f).map_or(95.0, |&(_, threshold)| threshold);
        VerificationPolicy { verify_threshold, ..VerificationPolicy::default() }
    }

    /// The verdict on a selfie's analysis and, for 1:1 comparison, its distance to the
    /// reference face (`None` for liveness-only products).
    #[cfg(feature = "models")]
    pub fn decide(&self, selfie: &FaceAnalysis, distance: Option<f32>) -> Verdict {
        let verify_score = distance.map(|d| self.mapping.score(f64::from(d)));
        let material = MaterialInfo {
            face_attack: selfie.attack.score >= self.max_attack_score,
            face_occlusion: selfie.occlusion.occluded(),
            face_attack_score: selfie.attack.score,
            quality_score: selfie.quality.score,
            verify_score,
            verify_score_calibrated: self.mapping.calibrated,
            quality_blur: selfie.quality.blur,
            quality_illu: selfie.quality.illumination,
            quality_occu: selfie.quality.occlusion,
            quality_background: selfie.quality.background,
            quality_wear_hat: None,
            attack_model: selfie.attack.model.clone(),
        };
        let sub_code = if self.reject_occlusion && material.face_occlusion {
            SubCode::BUSINESS_POLICY
        } else if material.face_attack {
            SubCode::LIVENESS_RISK
        } else if material.quality_score < self.min_quality {
            SubCode::BUSINESS_POLICY
        } else if verify_score.is_some_and(|s| s < self.verify_threshold) {
            SubCode::FACE_MISMATCH
        } else {
            SubCode::PASS
        };
        Verdict { passed: sub_code.is_pass(), sub_code, material }
    }
}

/// The verdict.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Verdict {
    /// Whether the verification passed.
    pub passed: bool,
    /// Why.
    pub sub_code: SubCode,
    /// The scores.
    #[serde(rename = "MaterialInfo")]
    pub material: MaterialInfo,
}

/// The cloud's MaterialInfo face fields. `Default` is "nothing measured": every flag
/// false, every score 0, no comparison, no model — a base for scorers in tests.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MaterialInfo {
    /// Whether the attack score reached the policy's limit.
    pub face_attack: bool,
    /// Whether the face is occluded.
    pub face_occlusion: bool,
    /// Probability-like attack score; small is good.
    pub face_attack_score: f64,
    /// Quality, 0–100.
    pub quality_score: f64,
    /// Face vs reference, 0–100 (absent without a reference).
    pub verify_score: Option<f64>,
    /// Whether `verifyScore` comes from a calibrated mapping (false: see the module).
    pub verify_score_calibrated: bool,
    /// Blur or compression flag.
    pub quality_blur: bool,
    /// Illumination flag.
    pub quality_illu: bool,
    /// Occlusion flag.
    pub quality_occu: bool,
    /// Busy background flag.
    pub quality_background: bool,
    /// Hat flag: not assessed (no head-covering measure).
    pub quality_wear_hat: Option<bool>,
    /// Which liveness model produced the attack score, with its label.
    pub attack_model: std::borrow::Cow<'static, str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_anchors() {
        let m = ScoreMapping::default();
        assert_eq!(m.score(0.6), 80.0);
        assert!(m.score(0.35) > 98.0 && m.score(0.9) < 10.0);
        assert!(m.score(0.5) > m.score(0.55));
        assert_eq!(m.score(f64::NAN), 0.0);
        assert_eq!(VerificationPolicy::for_far(1e-3).verify_threshold, 80.0);
        assert_eq!(VerificationPolicy::for_far(5e-3).verify_threshold, 80.0);
        assert_eq!(VerificationPolicy::for_far(1e-2).verify_threshold, 60.0);
        assert_eq!(VerificationPolicy::for_far(1e-7).verify_threshold, 95.0);
    }
}
