#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use shiren_ram as ram;
