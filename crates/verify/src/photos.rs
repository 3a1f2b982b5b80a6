//! Photos named by URL or object-storage key: the embedding service fetches them (the
//! library does no I/O) through [`PhotoResolver`]. The in-memory default serves a
//! fixed set, for tests and demos.

use std::collections::HashMap;
use std::fmt;

use bytes::Bytes;
use shiren_catalog::{CallCode, Photo, Quoted};

use crate::request::UrlOrigin;

/// An external photo reference. `Debug` shows a URL's scheme and host and an object's
/// bucket only: the rest can name the person or carry a signature.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum ExternalPhoto {
    /// By URL.
    Url(String),
    /// By object: (bucket, object name).
    Object(String, String),
}

impl fmt::Debug for ExternalPhoto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExternalPhoto::Url(url) => f.debug_tuple("Url").field(&UrlOrigin(url)).finish(),
            ExternalPhoto::Object(bucket, _) => {
                f.debug_tuple("Object").field(&Quoted(bucket)).field(&"…").finish()
            }
        }
    }
}

/// Fetches external photos; errors are call codes (422 timeout, 419 unusable).
pub trait PhotoResolver {
    /// The photo's bytes.
    fn fetch(&self, photo: &ExternalPhoto) -> Result<Photo, CallCode>;
}

/// A fixed set of photos; anything else is a download timeout (422).
#[derive(Clone, Debug, Default)]
pub struct InMemoryPhotos {
    photos: HashMap<ExternalPhoto, Photo>,
}

impl InMemoryPhotos {
    /// Serves `bytes` for `photo`.
    pub fn insert(&mut self, photo: ExternalPhoto, bytes: Bytes) {
        self.photos.insert(photo, Photo::from(bytes));
    }
}

impl PhotoResolver for InMemoryPhotos {
    fn fetch(&self, photo: &ExternalPhoto) -> Result<Photo, CallCode> {
        self.photos.get(photo).cloned().ok_or(CallCode::ImageDownloadTimeout)
    }
}
