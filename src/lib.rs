//! shiren (实人, "real person"): financial-grade real-person verification as embeddable
//! Rust libraries. This facade re-exports the domain crates; each one is usable alone.
//!
//! | module | crate | owns |
//! |---|---|---|
//! | [`ram`] | `shiren-ram` | RAM policy documents, evaluation, identities |
//!
//! See the repository `README.md` for the quickstart and `ARCHITECTURE.md` for the
//! crate map and its invariants.
#![forbid(unsafe_code)]

pub use shiren_ram as ram;
