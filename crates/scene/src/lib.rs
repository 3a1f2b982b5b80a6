#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod quote;
mod registry;
mod scene;

pub use crate::quote::QUOTE_LIMIT;
pub use crate::registry::{Authorization, InMemoryRegistry, SceneRegistry, SnapshotError};
pub use crate::scene::{
    NameRules, NewScene, PhotoStorage, Scene, SceneError, SceneId, SceneStatus, Unusable,
};
