//! placeholder
pub use shiren_ram as ram;
