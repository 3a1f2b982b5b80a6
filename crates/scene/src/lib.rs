#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod registry;
mod scene;

pub use crate::registry::{Authorization, InMemoryRegistry, SceneRegistry, SnapshotError};
pub use crate::scene::{
    NameRules, NewScene, PhotoStorage, Scene, SceneError, SceneId, SceneStatus, Unusable,
};
pub use shiren_catalog::QUOTE_LIMIT;
