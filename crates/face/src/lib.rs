#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
// The README (the crate docs) links to the pipeline, absent without feature `models`.
#![cfg_attr(
    not(feature = "models"),
    allow(rustdoc::broken_intra_doc_links, reason = "the README documents the default build")
)]

// Feature `models` (default): the photo pipeline and the networks. Without it only the
// verdict vocabulary (`verdict`) is built. Feature `eval`: the evaluation-only modules
// (`synthetic`, `pad_metrics`, the reference `ops`), public only with it; the networks use
// `ops` internally either way.
#[cfg(feature = "models")]
mod align;
#[cfg(feature = "models")]
mod attack;
#[cfg(feature = "models")]
mod descriptor;
#[cfg(feature = "models")]
mod detector;
#[cfg(feature = "models")]
mod geometry;
#[cfg(feature = "models")]
mod intake;
#[cfg(feature = "models")]
mod kernels;
#[cfg(feature = "models")]
mod landmarks;
#[cfg(feature = "models")]
mod occlusion;
#[cfg(feature = "models")]
mod ofiq;
#[cfg(feature = "onnx")]
mod onnx;
#[cfg(feature = "eval")]
pub mod ops;
#[cfg(all(feature = "models", not(feature = "eval")))]
#[allow(unreachable_pub, dead_code, reason = "public (and wholly used) only with feature `eval`")]
mod ops;
#[cfg(feature = "eval")]
mod pad_metrics;
#[cfg(feature = "models")]
mod pipeline;
#[cfg(feature = "models")]
mod quality;
#[cfg(feature = "models")]
mod raster;
#[cfg(feature = "models")]
mod region;
#[cfg(feature = "eval")]
pub mod synthetic;
#[cfg(feature = "models")]
mod tfjs;
mod verdict;

#[cfg(feature = "models")]
pub use crate::align::face_chip;
#[cfg(feature = "models")]
pub use crate::attack::{
    AttackAssessment, AttackIndicators, INDICATOR_LABEL, Indicators, PadModel, RANGES, Range, Ranges,
    measure_indicators,
};
#[cfg(feature = "models")]
pub use crate::descriptor::{CHIP_SIZE, DESCRIPTOR_LEN, Descriptor, DescriptorNet, distance};
#[cfg(feature = "models")]
pub use crate::detector::{Detection, FaceDetector};
#[cfg(feature = "models")]
pub use crate::geometry::{FaceBox, Point};
#[cfg(feature = "models")]
pub use crate::intake::{DECODE_MEMORY_LIMIT, IntakeError, Photo, PhotoRules, decode_photo};
#[cfg(feature = "models")]
pub use crate::landmarks::{LandmarkNet, Landmarks};
#[cfg(feature = "models")]
pub use crate::occlusion::{OCCLUDED_SHARE, Occlusion, ShapeCues, measure_occlusion};
#[cfg(feature = "models")]
pub use crate::ofiq::Component;
#[cfg(feature = "onnx")]
pub use crate::onnx::{
    ChannelOrder, CropConfig, MAX_INPUT_SIDE, MAX_MODEL_BYTES, Normalisation, OnnxPad, OnnxPadConfig,
    OnnxPadError, OutputConfig, OutputKind,
};
#[cfg(feature = "eval")]
pub use crate::pad_metrics::{PadMetrics, Rate, pad_metrics};
#[cfg(feature = "models")]
pub use crate::pipeline::{FaceAnalysis, FaceEmbedder, FaceError, FaceModels, MIN_FACE_SCORE};
#[cfg(feature = "models")]
pub use crate::quality::{
    BUSY_BACKGROUND, FLAG_BELOW, Measure, OVER_EXPOSED_SHARE, Quality, WEIGHTS, assess_quality,
};
#[cfg(feature = "models")]
pub use crate::tfjs::{ModelError, Weights};
pub use crate::verdict::{FAR_THRESHOLDS, MaterialInfo, ScoreMapping, Verdict, VerificationPolicy};
