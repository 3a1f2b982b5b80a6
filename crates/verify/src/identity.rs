//! The identity source: does this name belong to this resident ID, and what does the
//! authority's photo look like? A trait, because in production it is a call to an
//! authority; the embedded default is an in-memory registry for tests and demos.

use std::collections::HashMap;

use bytes::Bytes;
use shiren_catalog::{PersonName, Photo, ResidentId, SubCode};

/// The authority's answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdentityCheck {
    /// Name and number match; here is the authority photo.
    Match {
        /// The authority's portrait (encoded image bytes).
        photo: Photo,
    },
    /// The number exists under another name (sub code 201).
    NameMismatch,
    /// The number is unknown (sub code 202).
    NotFound,
    /// The identity matches but there is no usable photo (sub code 203).
    PhotoMissing,
    /// The authority could not be asked (sub code 209).
    SourceError,
}

impl IdentityCheck {
    /// The sub code ending a verification at this answer; `None` for a match.
    pub fn sub_code(&self) -> Option<SubCode> {
        match self {
            IdentityCheck::Match { .. } => None,
            IdentityCheck::NameMismatch => Some(SubCode::NAME_ID_MISMATCH),
            IdentityCheck::NotFound => Some(SubCode::IDENTITY_NOT_FOUND),
            IdentityCheck::PhotoMissing => Some(SubCode::AUTHORITY_PHOTO_UNUSABLE),
            IdentityCheck::SourceError => Some(SubCode::AUTHORITY_SOURCE_ERROR),
        }
    }
}

/// An identity authority (no I/O here: implement it over the real one).
pub trait IdentitySource {
    /// Checks `name` against `id` (read them with `expose()`; their `Debug` and
    /// `Display` are masked).
    fn check(&self, name: &PersonName, id: &ResidentId) -> IdentityCheck;
}

/// An in-memory authority: resident ID → (name, photo). `Debug` masks everyone.
#[derive(Clone, Debug, Default)]
pub struct InMemoryAuthority {
    people: HashMap<ResidentId, (PersonName, Option<Photo>)>,
}

impl InMemoryAuthority {
    /// Registers a person; `photo: None` models a record without a portrait.
    pub fn register(&mut self, id: &ResidentId, name: &str, photo: Option<Bytes>) {
        self.people.insert(id.clone(), (PersonName::from(name), photo.map(Photo::from)));
    }
}

impl IdentitySource for InMemoryAuthority {
    fn check(&self, name: &PersonName, id: &ResidentId) -> IdentityCheck {
        match self.people.get(id) {
            None => IdentityCheck::NotFound,
            Some((registered, _)) if registered.expose() != name.expose() => IdentityCheck::NameMismatch,
            Some((_, None)) => IdentityCheck::PhotoMissing,
            Some((_, Some(photo))) => IdentityCheck::Match { photo: photo.clone() },
        }
    }
}
