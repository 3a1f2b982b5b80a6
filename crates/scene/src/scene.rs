//! The scene record and its parts, the name rules, and the errors of scene operations.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{AccountId, CallCode, ProductCode, Solution, SolutionTab};

use shiren_catalog::Quoted;

/// A scene's numeric ID: allocated by the registry, monotonic, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SceneId(u64);

impl SceneId {
    /// Wraps a number received from a caller (it may name no scene).
    pub const fn new(id: u64) -> SceneId {
        SceneId(id)
    }

    /// The number.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for SceneId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Enabled or disabled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SceneStatus {
    /// Usable for verification (once the account has authorized the service).
    Enabled,
    /// Kept, but refused for new verifications.
    Disabled,
}

/// Photo write-back settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhotoStorage {
    /// Whether face photos are stored in the account's bucket.
    pub store_image: bool,
    /// How many photos of a session are stored, 1–5.
    pub photo_count: u8,
    /// Seconds of liveness video stored, 0–60.
    pub video_seconds: u16,
}

impl PhotoStorage {
    /// Store one photo, no video.
    pub const DEFAULT: PhotoStorage = PhotoStorage { store_image: true, photo_count: 1, video_seconds: 0 };
    /// Longest stored video.
    pub const MAX_VIDEO_SECONDS: u16 = 60;

    pub(crate) fn check(&self) -> Result<(), SceneError> {
        if !(1..=5).contains(&self.photo_count) {
            return Err(SceneError::PhotoCount(self.photo_count));
        }
        if self.video_seconds > PhotoStorage::MAX_VIDEO_SECONDS {
            return Err(SceneError::VideoSeconds(self.video_seconds));
        }
        Ok(())
    }
}

/// One scene (认证场景).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scene {
    /// Registry-allocated ID.
    pub id: SceneId,
    /// The owning main account.
    pub account: AccountId,
    /// The console tab, from the solution.
    pub tab: SolutionTab,
    /// Display name, trimmed, unique per account and tab (ignoring case).
    pub name: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was last changed.
    pub updated_at: DateTime<Utc>,
    /// The access solution.
    pub solution: Solution,
    /// The product code used under it.
    pub product: ProductCode,
    /// Enabled or disabled.
    pub status: SceneStatus,
    /// Photo write-back settings.
    pub storage: PhotoStorage,
    /// Bound Alipay mini-program app ID, if any.
    pub mini_program: Option<String>,
}

/// What a caller supplies to create a scene.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewScene {
    /// The owning main account.
    pub account: AccountId,
    /// The name (trimmed before checking).
    pub name: String,
    /// The access solution (decides the tab).
    pub solution: Solution,
    /// A product code allowed under the solution.
    pub product: ProductCode,
    /// Photo write-back settings.
    pub storage: PhotoStorage,
    /// Optional mini-program app ID (1–64 letters and digits).
    pub mini_program: Option<String>,
}

/// Scene-name rules; the default is the console's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameRules {
    /// Longest name, in characters.
    pub max_chars: usize,
    /// Characters allowed besides Chinese characters, ASCII letters and digits.
    pub extra_chars: String,
}

impl Default for NameRules {
    fn default() -> NameRules {
        NameRules { max_chars: 20, extra_chars: "-".into() }
    }
}

fn is_chinese(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2A6DF}')
}

impl NameRules {
    /// Trims `name` and checks it; returns the trimmed name.
    pub fn check(&self, name: &str) -> Result<String, SceneError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(SceneError::EmptyName);
        }
        let chars = name.chars().count();
        if chars > self.max_chars {
            return Err(SceneError::NameTooLong { chars, max: self.max_chars });
        }
        if let Some(bad) = name
            .chars()
            .find(|&c| !(c.is_ascii_alphanumeric() || is_chinese(c) || self.extra_chars.contains(c)))
        {
            return Err(SceneError::NameCharacter { character: bad, allowed: self.extra_chars.clone() });
        }
        Ok(name.to_owned())
    }
}

/// Why a scene operation was refused; the registry is unchanged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SceneError {
    /// The name is empty after trimming.
    #[error("scene name must not be empty")]
    EmptyName,
    /// The name is too long.
    #[error("scene name has {chars} characters; at most {max} are allowed")]
    NameTooLong {
        /// Its length.
        chars: usize,
        /// The limit.
        max: usize,
    },
    /// The name has a character outside the rules.
    #[error(
        "scene name may not contain `{}`; use Chinese characters, letters, digits and `{}`",
        character.escape_debug(),
        Quoted(allowed)
    )]
    NameCharacter {
        /// The first offending character.
        character: char,
        /// The extra characters allowed.
        allowed: String,
    },
    /// Another scene of the account and tab has this name.
    #[error("a scene named `{}` already exists in this solution tab", Quoted(.0))]
    DuplicateName(String),
    /// No scene with this ID belongs to the account.
    #[error("scene {0} does not exist")]
    NotFound(SceneId),
    /// The product code is not sold under the solution.
    #[error("product `{product}` cannot be used with solution `{solution}`")]
    ProductNotInSolution {
        /// The product asked for.
        product: ProductCode,
        /// The solution.
        solution: Solution,
    },
    /// Stored photo count outside 1–5.
    #[error("the number of stored photos must be 1–5, not {0}")]
    PhotoCount(u8),
    /// Stored video too long.
    #[error("stored video may be at most 60 seconds, not {0}")]
    VideoSeconds(u16),
    /// A malformed mini-program app ID; holds the start of it (at most
    /// [`QUOTE_LIMIT`](crate::QUOTE_LIMIT) characters and one more to mark the cut).
    #[error("mini-program app ID `{}` must be 1–64 letters and digits", Quoted(.0))]
    MiniProgram(String),
    /// The ID space is used up (never in practice).
    #[error("no scene IDs are left")]
    IdsExhausted,
}

impl SceneError {
    /// The API call code this error surfaces as.
    pub fn call_code(&self) -> CallCode {
        match self {
            SceneError::NotFound(_) => CallCode::SceneNotFound,
            SceneError::IdsExhausted => CallCode::SystemError,
            _ => CallCode::InvalidParameter,
        }
    }
}

/// Why a scene cannot be used for verification right now.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Unusable {
    /// No such scene for this account (code 404).
    #[error("scene {0} does not exist")]
    NotFound(SceneId),
    /// The scene is disabled (code 410).
    #[error("scene {0} is disabled")]
    Disabled(SceneId),
    /// The account has not authorized the service yet (code 410).
    #[error("the account has not authorized the verification service; authorize it in the console")]
    ServiceNotAuthorized,
    /// The solution stores photos and the account's bucket is not authorized or was
    /// deleted (code 410).
    #[error("object storage is not authorized (bucket `{0}` missing); photos cannot be written back")]
    ObjectStorageMissing(String),
}

impl Unusable {
    /// The API call code.
    pub fn call_code(&self) -> CallCode {
        match self {
            Unusable::NotFound(_) => CallCode::SceneNotFound,
            _ => CallCode::NotActivated,
        }
    }
}
