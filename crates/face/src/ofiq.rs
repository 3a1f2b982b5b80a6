//! OFIQ-style quality mappings: each component's raw measurement → OFIQ's 0–100 scalar.
//! This is the mapping layer of ISO/IEC 29794-5's reference implementation (OFIQ,
//! BSI), re-implemented from its published formulas and checked against OFIQ's own
//! conformance table (`tests/data/ofiq_expected_results.csv`): every component listed in
//! [`Component::MAPPED`] reproduces all 28 rows exactly. The measurements themselves are
//! ours, not OFIQ's models, so scores built on them are "OFIQ-style", not conformant.
//!
//! The mappings of `EyesOpen` (σ(x; 0.02, 0.01)), `MouthClosed` (1 − σ(x; 0.2, 0.06))
//! and the up/downward crops (σ(x; 1.8, 0.1), σ(x; 1.4, 0.1)) come from OFIQ's
//! configuration and measure source (BSI-OFIQ/OFIQ-Project) and reproduce the table's
//! 28 rows.
//!
//! Not mapped (and why): `OverExposurePrevention` — OFIQ's current source maps
//! `round(1 / (raw + 0.01))`, but the table was produced by a version that gives 0 for
//! raw 0 in every row, so neither can be checked; `NoHeadCoverings` needs a
//! face-parsing network we do not have; `BackgroundUniformity` is
//! mapped by OFIQ from a gradient measure of a segmented background, which our
//! luminance spread is not; `ExpressionNeutrality` and `UnifiedQualityScore` are network
//! outputs.

use serde::{Deserialize, Serialize};

/// A quality component with a mapping here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Component {
    /// Mean relative luminance of the face region, in [0, 1].
    LuminanceMean,
    /// Variance of the face region's relative luminance.
    LuminanceVariance,
    /// Share of face pixels with luminance ≤ 25.
    UnderExposurePrevention,
    /// Shannon entropy (bits) of the face luminance histogram.
    DynamicRange,
    /// Histogram intersection of two cheek patches.
    IlluminationUniformity,
    /// Distance of cheek CIELAB a*, b* from the natural range.
    NaturalColour,
    /// A blur measure.
    Sharpness,
    /// A JPEG blockiness measure.
    CompressionArtifacts,
    /// Area of the second largest face / largest (0 with one face).
    SingleFacePresent,
    /// Eye-centre distance in pixels / cos(yaw).
    InterEyeDistance,
    /// Eye-midpoint-to-chin distance / image height.
    HeadSize,
    /// Eye x position / inter-eye distance, left side.
    LeftwardCropOfTheFaceImage,
    /// Eye x position / inter-eye distance, right side.
    RightwardCropOfTheFaceImage,
    /// (Image height − eye-midpoint y) / T, T the eye-midpoint-to-chin distance (OFIQ's
    /// definition and name).
    UpwardCropOfTheFaceImage,
    /// Eye-midpoint y / T (OFIQ's definition and name).
    DownwardCropOfTheFaceImage,
    /// Yaw in degrees.
    HeadPoseYaw,
    /// Pitch in degrees.
    HeadPosePitch,
    /// Roll in degrees.
    HeadPoseRoll,
    /// Occluded share of the eye regions.
    EyesVisible,
    /// Occluded share of the mouth region.
    MouthOcclusionPrevention,
    /// Occluded share of the face.
    FaceOcclusionPrevention,
    /// Share of face pixels with luminance ≥ 247 (raw only: see the module comment).
    OverExposurePrevention,
    /// The smaller eye's largest lid opening / T (eye-midpoint-to-chin distance).
    EyesOpen,
    /// The largest inner-lip opening / T.
    MouthClosed,
    /// Standard deviation of the background luminance, 0–255 (raw only).
    BackgroundUniformity,
}

impl Component {
    /// Every mapped component.
    pub const MAPPED: &'static [Component] = &[
        Component::LuminanceMean,
        Component::LuminanceVariance,
        Component::UnderExposurePrevention,
        Component::DynamicRange,
        Component::IlluminationUniformity,
        Component::NaturalColour,
        Component::Sharpness,
        Component::CompressionArtifacts,
        Component::SingleFacePresent,
        Component::InterEyeDistance,
        Component::HeadSize,
        Component::LeftwardCropOfTheFaceImage,
        Component::RightwardCropOfTheFaceImage,
        Component::UpwardCropOfTheFaceImage,
        Component::DownwardCropOfTheFaceImage,
        Component::HeadPoseYaw,
        Component::HeadPosePitch,
        Component::HeadPoseRoll,
        Component::EyesVisible,
        Component::MouthOcclusionPrevention,
        Component::FaceOcclusionPrevention,
        Component::EyesOpen,
        Component::MouthClosed,
    ];

    /// The component's name in OFIQ's tables.
    pub fn name(self) -> &'static str {
        match self {
            Component::LuminanceMean => "LuminanceMean",
            Component::LuminanceVariance => "LuminanceVariance",
            Component::UnderExposurePrevention => "UnderExposurePrevention",
            Component::DynamicRange => "DynamicRange",
            Component::IlluminationUniformity => "IlluminationUniformity",
            Component::NaturalColour => "NaturalColour",
            Component::Sharpness => "Sharpness",
            Component::CompressionArtifacts => "CompressionArtifacts",
            Component::SingleFacePresent => "SingleFacePresent",
            Component::InterEyeDistance => "InterEyeDistance",
            Component::HeadSize => "HeadSize",
            Component::LeftwardCropOfTheFaceImage => "LeftwardCropOfTheFaceImage",
            Component::RightwardCropOfTheFaceImage => "RightwardCropOfTheFaceImage",
            Component::UpwardCropOfTheFaceImage => "UpwardCropOfTheFaceImage",
            Component::DownwardCropOfTheFaceImage => "DownwardCropOfTheFaceImage",
            Component::HeadPoseYaw => "HeadPoseYaw",
            Component::HeadPosePitch => "HeadPosePitch",
            Component::HeadPoseRoll => "HeadPoseRoll",
            Component::EyesVisible => "EyesVisible",
            Component::MouthOcclusionPrevention => "MouthOcclusionPrevention",
            Component::FaceOcclusionPrevention => "FaceOcclusionPrevention",
            Component::OverExposurePrevention => "OverExposurePrevention",
            Component::EyesOpen => "EyesOpen",
            Component::MouthClosed => "MouthClosed",
            Component::BackgroundUniformity => "BackgroundUniformity",
        }
    }

    /// The OFIQ scalar (0–100) for raw measurement `raw`, `None` for a component
    /// without a mapping here (see the module comment). Every component but
    /// `DynamicRange` rounds half away from zero to a whole number; OFIQ leaves
    /// `DynamicRange` unrounded.
    pub fn scalar(self, raw: f64) -> Option<f64> {
        use Component as C;
        let q = match self {
            C::LuminanceMean => 100.0 * sigmoid(raw, 0.2, 0.05) * (1.0 - sigmoid(raw, 0.8, 0.05)),
            C::LuminanceVariance => 100.0 * (std::f64::consts::PI * 60.0 * raw / (60.0 * raw + 1.0)).sin(),
            C::UnderExposurePrevention => generic(raw, 120.0, 0.832, -1.0, 0.92, 0.05),
            C::DynamicRange => return Some((12.5 * raw).clamp(0.0, 100.0)),
            C::IlluminationUniformity => 100.0 * raw.max(0.0).powf(0.3),
            C::NaturalColour => generic(raw, 200.0, 1.0, -1.0, 0.0, 10.0),
            C::Sharpness => generic(raw, 1.0, -14.0, 115.0, -20.0, 15.0),
            C::CompressionArtifacts => generic(raw, 1.0, -0.0278, 103.0, 0.3308, 0.092),
            C::SingleFacePresent => 100.0 * (1.0 - raw),
            C::InterEyeDistance => generic(raw, 100.0, 0.0, 1.0, 70.0, 20.0),
            C::HeadSize => generic((raw - 0.45).abs(), 200.0, 1.0, -1.0, 0.0, 0.05),
            C::LeftwardCropOfTheFaceImage | C::RightwardCropOfTheFaceImage => {
                generic(raw, 100.0, 0.0, 1.0, 0.9, 0.1)
            }
            C::HeadPoseYaw | C::HeadPosePitch | C::HeadPoseRoll => {
                100.0 * raw.to_radians().cos().max(0.0).powi(2)
            }
            C::EyesVisible | C::MouthOcclusionPrevention | C::FaceOcclusionPrevention => 100.0 * (1.0 - raw),
            C::UpwardCropOfTheFaceImage => generic(raw, 100.0, 0.0, 1.0, 1.8, 0.1),
            C::DownwardCropOfTheFaceImage => generic(raw, 100.0, 0.0, 1.0, 1.4, 0.1),
            C::EyesOpen => generic(raw, 100.0, 0.0, 1.0, 0.02, 0.01),
            C::MouthClosed => generic(raw, 100.0, 1.0, -1.0, 0.2, 0.06),
            C::OverExposurePrevention | C::BackgroundUniformity => return None,
        };
        Some(round_half_away(q).clamp(0.0, 100.0))
    }
}

/// σ(x; x0, w) = 1 / (1 + exp((x0 − x) / w)).
fn sigmoid(x: f64, x0: f64, w: f64) -> f64 {
    1.0 / (1.0 + ((x0 - x) / w).exp())
}

/// h · (a + s · σ(x; x0, w)), before rounding.
fn generic(x: f64, h: f64, a: f64, s: f64, x0: f64, w: f64) -> f64 {
    h * (a + s * sigmoid(x, x0, w))
}

fn round_half_away(x: f64) -> f64 {
    if x.is_nan() { 0.0 } else { x.round() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(Component::HeadPoseYaw.scalar(0.0), Some(100.0));
        assert_eq!(Component::HeadPoseYaw.scalar(90.0), Some(0.0));
        assert_eq!(Component::HeadPoseYaw.scalar(180.0), Some(0.0));
        assert_eq!(Component::SingleFacePresent.scalar(0.0), Some(100.0));
        assert_eq!(Component::DynamicRange.scalar(9.0), Some(100.0));
        assert_eq!(Component::LuminanceMean.scalar(f64::NAN), Some(0.0));
        assert_eq!(Component::EyesOpen.scalar(0.3), Some(100.0));
        assert_eq!(Component::EyesOpen.scalar(0.0), Some(12.0));
        assert_eq!(Component::BackgroundUniformity.scalar(3.0), None);
        for c in Component::MAPPED {
            for raw in [-1e9, -1.0, 0.0, 0.5, 1.0, 1e9, f64::INFINITY, f64::NEG_INFINITY] {
                let q = c.scalar(raw).unwrap();
                assert!((0.0..=100.0).contains(&q), "{c:?} {raw} → {q}");
            }
        }
    }
}
