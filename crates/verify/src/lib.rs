#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

mod caller;
mod identity;
mod ledger;
mod photos;
mod request;
mod response;
mod scoring;
mod session;
mod verifier;

pub use crate::caller::{Caller, DirectoryPermissions, Permissions, Principal, actions, authenticate_rpc};
pub use crate::identity::{IdentityCheck, IdentitySource, InMemoryAuthority};
pub use crate::ledger::{Ledger, LedgerError, UsageLedger};
pub use crate::photos::{ExternalPhoto, InMemoryPhotos, PhotoResolver};
pub use crate::request::{CompareRequest, ContrastRequest, InitRequest, LivenessRequest, PhotoSources};
pub use crate::response::{DeleteResult, InitResult, Response, VerifyResult};
pub use crate::scoring::{FaceModelScorer, FaceScorer, PhotoRole, Refusal};
pub use crate::session::{IdSource, SequentialIds, Session, SessionState};
pub use crate::verifier::{Plugins, Verifier, VerifierConfig, VerifierSnapshot};
