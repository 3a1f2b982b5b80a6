//! Photos named by URL or object-storage key: the embedding service fetches them (the
//! library does no I/O) through [`PhotoResolver`]. The in-memory default serves a
//! fixed set, for tests and demos.

use std::collections::HashMap;

use bytes::Bytes;
use shiren_catalog::CallCode;

/// An external photo reference.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ExternalPhoto {
    /// By URL.
    Url(String),
    /// By object: (bucket, object name).
    Object(String, String),
}

/// Fetches external photos; errors are call codes (422 timeout, 419 unusable).
pub trait PhotoResolver {
    /// The photo's bytes.
    fn fetch(&self, photo: &ExternalPhoto) -> Result<Bytes, CallCode>;
}

/// A fixed set of photos; anything else is a download timeout (422).
#[derive(Clone, Debug, Default)]
pub struct InMemoryPhotos {
    photos: HashMap<ExternalPhoto, Bytes>,
}

impl InMemoryPhotos {
    /// Serves `bytes` for `photo`.
    pub fn insert(&mut self, photo: ExternalPhoto, bytes: Bytes) {
        self.photos.insert(photo, bytes);
    }
}

impl PhotoResolver for InMemoryPhotos {
    fn fetch(&self, photo: &ExternalPhoto) -> Result<Bytes, CallCode> {
        self.photos.get(photo).cloned().ok_or(CallCode::ImageDownloadTimeout)
    }
}
