#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod caller;
mod identity;
mod ids;
mod ledger;
mod photos;
mod request;
mod response;
mod scoring;
mod session;
mod stage;
mod store;
mod verifier;

pub use crate::caller::{
    DirectoryPermissions, Permissions, RequestContext, Requester, Signer, actions, authenticate_rpc,
};
pub use crate::identity::{IdentityCheck, IdentitySource, InMemoryAuthority};
pub use crate::ids::{CounterIds, IdGenerator, request_id};
pub use crate::ledger::{Ledger, LedgerError, UsageLedger};
pub use crate::photos::{ExternalPhoto, InMemoryPhotos, PhotoResolver};
pub use crate::request::{CompareRequest, ContrastRequest, InitRequest, LivenessRequest, PhotoSources};
pub use crate::response::{ApiResponse, DeleteFailure, DeleteResult, InitResult, VerifyResult};
#[cfg(feature = "face")]
pub use crate::scoring::FaceModelScorer;
pub use crate::scoring::{FaceScorer, FixedScorer, PhotoRole, Refusal};
pub use crate::session::{InMemorySessions, Session, SessionError, SessionState, SessionStore};
pub use crate::stage::{Answer, Need, Pending, Refused, UnexpectedAnswer};
pub use crate::store::{Completion, FlowStore, InMemoryStore, SceneView, StoreError, Stores};
pub use crate::verifier::{Plugins, Verifier, VerifierConfig};
/// The verdict vocabulary a [`FaceScorer`] answers in (from `shiren-face`, built without
/// its networks when feature `face` is off).
pub use shiren_face::{MaterialInfo, ScoreMapping, Verdict, VerificationPolicy};
