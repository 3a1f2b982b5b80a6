#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod align;
mod attack;
mod descriptor;
mod detector;
mod geometry;
mod intake;
mod kernels;
mod landmarks;
mod occlusion;
mod ofiq;
pub mod ops;
mod pad_metrics;
mod pipeline;
mod quality;
mod raster;
mod region;
pub mod synthetic;
mod tfjs;
mod verdict;

pub use crate::align::face_chip;
pub use crate::attack::{
    AttackAssessment, AttackIndicators, INDICATOR_LABEL, Indicators, PadModel, RANGES, Range, Ranges,
    measure_indicators,
};
pub use crate::descriptor::{CHIP_SIZE, DESCRIPTOR_LEN, Descriptor, DescriptorNet, distance};
pub use crate::detector::{Detection, FaceDetector};
pub use crate::geometry::{FaceBox, Point};
pub use crate::intake::{DECODE_MEMORY_LIMIT, IntakeError, Photo, PhotoRules, decode_photo};
pub use crate::landmarks::{LandmarkNet, Landmarks};
pub use crate::occlusion::{OCCLUDED_SHARE, Occlusion, ShapeCues, measure_occlusion};
pub use crate::ofiq::Component;
pub use crate::pad_metrics::{PadMetrics, Rate, pad_metrics};
pub use crate::pipeline::{FaceAnalysis, FaceEmbedder, FaceError, FaceModels, MIN_FACE_SCORE};
pub use crate::quality::{
    BUSY_BACKGROUND, FLAG_BELOW, Measure, OVER_EXPOSED_SHARE, Quality, WEIGHTS, assess_quality,
};
pub use crate::tfjs::{ModelError, Weights};
pub use crate::verdict::{FAR_THRESHOLDS, MaterialInfo, ScoreMapping, Verdict, VerificationPolicy};
