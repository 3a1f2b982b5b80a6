#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod align;
mod descriptor;
mod detector;
mod geometry;
mod intake;
mod landmarks;
mod ofiq;
pub mod ops;
mod raster;
mod tfjs;

pub use crate::align::face_chip;
pub use crate::descriptor::{CHIP_SIZE, DESCRIPTOR_LEN, Descriptor, DescriptorNet, distance};
pub use crate::detector::{Detection, FaceDetector};
pub use crate::geometry::{FaceBox, Point};
pub use crate::intake::{IntakeError, Photo, PhotoRules, decode_photo};
pub use crate::landmarks::{LandmarkNet, Landmarks};
pub use crate::ofiq::Component;
pub use crate::tfjs::{ModelError, Weights};
