#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod descriptor;
mod intake;
mod ofiq;
pub mod ops;
mod tfjs;

pub use crate::descriptor::{CHIP_SIZE, DESCRIPTOR_LEN, Descriptor, DescriptorNet, distance};
pub use crate::intake::{IntakeError, Photo, PhotoRules, decode_photo};
pub use crate::ofiq::Component;
pub use crate::tfjs::{ModelError, Weights};
