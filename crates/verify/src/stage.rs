//! Staged operations, sans-I/O: an operation that needs photos fetched, the identity
//! authority asked or faces scored begins as a [`Pending`] value saying what it needs
//! ([`Pending::need`]). The caller fulfils each need anywhere — another thread, an
//! async task, a worker pool — holding no shared state, hands each answer back
//! ([`Pending::supply`]), and commits the result through the verifier, which re-checks
//! the session and writes it exactly once. The shape of rustls's `Acceptor` →
//! `Accepted` and quinn-proto's poll/handle: the state machine never waits on I/O.
//!
//! This module owns the order of needs and which answer fits which need; it knows
//! nothing of stores, and nothing here blocks.

use std::marker::PhantomData;

use shiren_catalog::{CallCode, CertifyId, PersonName, Photo, ResidentId};
use shiren_face::{Verdict, VerificationPolicy};

use crate::identity::IdentityCheck;
use crate::photos::ExternalPhoto;
use crate::response::VerifyResult;
use crate::scoring::Refusal;
use crate::session::Session;

/// A refusal: the call code and a message a developer can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The call code.
    pub code: CallCode,
    /// What went wrong and what to do.
    pub message: String,
}

impl Refused {
    pub(crate) fn new(code: CallCode, message: impl Into<String>) -> Refused {
        Refused { code, message: message.into() }
    }
}

/// What a pending operation needs next. Borrowed from the [`Pending`]; answer it with
/// the [`Answer`] of the same name. `Debug` masks the personal values (it can be
/// logged); read them with their `expose()`.
#[derive(Debug)]
pub enum Need<'a> {
    /// Fetch this photo → [`Answer::Photo`].
    Photo(&'a ExternalPhoto),
    /// Check these photo bytes against the intake rules → [`Answer::PhotoChecked`].
    CheckPhoto(&'a Photo),
    /// Ask the identity authority whether `name` holds `id` → [`Answer::Identity`].
    Identity {
        /// The person's name.
        name: &'a PersonName,
        /// The resident ID.
        id: &'a ResidentId,
    },
    /// Score the selfie (against the reference, when there is one) under `policy` →
    /// [`Answer::Scored`].
    Score {
        /// The person's photo.
        selfie: &'a Photo,
        /// The photo it is compared with.
        reference: Option<&'a Photo>,
        /// The decision thresholds.
        policy: &'a VerificationPolicy,
    },
}

/// The answer to a [`Need`].
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// The fetched photo, or why it could not be fetched (422 timeout, 419 unusable).
    Photo(Result<Photo, CallCode>),
    /// The intake check of a photo.
    PhotoChecked(Result<(), Refusal>),
    /// The identity authority's answer.
    Identity(IdentityCheck),
    /// The face scorer's verdict.
    Scored(Result<Verdict, Refusal>),
}

/// An answer that does not fit the operation's current need (or it needs nothing);
/// the operation is unchanged.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("the answer does not fit what the operation needs now ({needed})")]
pub struct UnexpectedAnswer {
    /// What it needed, in words.
    pub needed: &'static str,
}

/// Which operation is pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// `InitFaceVerify`: the session is stored pending at commit.
    Init,
    /// The person's photo for a stored pending session.
    Complete,
    /// Contrast, Compare, Liveness: the session is stored only when it completes.
    Sync,
}

/// A photo field: absent, to be fetched, or here.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Slot {
    Absent,
    Fetch(ExternalPhoto),
    Have(Photo),
}

/// The work of a started operation.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    pub(crate) op: Op,
    pub(crate) session: Session,
    pub(crate) selfie: Slot,
    pub(crate) reference: Slot,
    /// Init only: the reference photo must pass the intake rules.
    pub(crate) check_reference: bool,
    pub(crate) reference_checked: Option<Result<(), Refusal>>,
    /// Completions of identity products: the authority's answer, once asked.
    pub(crate) ask_identity: bool,
    pub(crate) identity: Option<IdentityCheck>,
    pub(crate) policy: VerificationPolicy,
    pub(crate) verdict: Option<Result<Verdict, Refusal>>,
    /// A need that failed for good (a photo could not be fetched).
    pub(crate) failed: Option<Refused>,
}

#[derive(Clone, Debug)]
pub(crate) enum Work {
    /// Refused before any work; committing answers the refusal.
    Refused(Refused),
    /// Already completed (a retried completion): committing answers the stored result.
    Settled(VerifyResult),
    /// The session's lifetime ran out: committing marks it abandoned and answers 406.
    Expired(CertifyId),
    /// Work to do.
    Run(Box<Job>),
}

/// An operation waiting for its needs to be met, then for [`commit`]. Plain data,
/// `Send + 'static`: move it to wherever the I/O happens. `T` is the result the commit
/// answers with.
///
/// [`commit`]: crate::Verifier::commit
#[derive(Clone, Debug)]
pub struct Pending<T> {
    pub(crate) work: Work,
    result: PhantomData<fn() -> T>,
}

impl<T> Pending<T> {
    pub(crate) fn new(work: Work) -> Pending<T> {
        Pending { work, result: PhantomData }
    }

    pub(crate) fn refused(refused: Refused) -> Pending<T> {
        Pending::new(Work::Refused(refused))
    }

    /// The session's certify ID (`None` when the operation was refused before one was
    /// assigned).
    pub fn certify_id(&self) -> Option<CertifyId> {
        match &self.work {
            Work::Refused(_) => None,
            Work::Settled(result) => Some(result.certify_id),
            Work::Expired(id) => Some(*id),
            Work::Run(job) => Some(job.session.certify_id),
        }
    }

    /// What the operation needs next; `None` when it is ready to commit.
    pub fn need(&self) -> Option<Need<'_>> {
        let Work::Run(job) = &self.work else { return None };
        if job.failed.is_some() {
            return None;
        }
        for slot in [&job.selfie, &job.reference] {
            if let Slot::Fetch(photo) = slot {
                return Some(Need::Photo(photo));
            }
        }
        if job.op == Op::Init {
            return match (&job.reference, &job.reference_checked) {
                (Slot::Have(bytes), None) if job.check_reference => Some(Need::CheckPhoto(bytes)),
                _ => None,
            };
        }
        let mut reference = match &job.reference {
            Slot::Have(bytes) => Some(bytes),
            _ => None,
        };
        if job.ask_identity {
            match (&job.identity, &job.session.name, &job.session.id_number) {
                (None, Some(name), Some(id)) => return Some(Need::Identity { name, id }),
                (Some(IdentityCheck::Match { photo }), _, _) => reference = Some(photo),
                // Not a match (or nothing to ask with): the verification ends there.
                _ => return None,
            }
        }
        match (&job.selfie, &job.verdict) {
            (Slot::Have(selfie), None) => Some(Need::Score { selfie, reference, policy: &job.policy }),
            _ => None,
        }
    }

    /// Hands the answer to the current need. An answer of another kind is refused and
    /// changes nothing.
    pub fn supply(&mut self, answer: Answer) -> Result<(), UnexpectedAnswer> {
        let needed = self.need().map(|need| need.kind());
        let Work::Run(job) = &mut self.work else { return Err(UnexpectedAnswer { needed: "nothing" }) };
        match (needed, answer) {
            (Some(Kind::Photo), Answer::Photo(fetched)) => {
                let slot =
                    if matches!(job.selfie, Slot::Fetch(_)) { &mut job.selfie } else { &mut job.reference };
                match fetched {
                    Ok(bytes) => *slot = Slot::Have(bytes),
                    Err(code) => {
                        let what = match slot {
                            Slot::Fetch(ExternalPhoto::Url(_)) => "the photo URL",
                            _ => "the photo object",
                        };
                        job.failed = Some(Refused::new(
                            code,
                            format!(
                                "could not fetch {what} (code {code}); check that it exists and is reachable"
                            ),
                        ));
                    }
                }
            }
            (Some(Kind::CheckPhoto), Answer::PhotoChecked(checked)) => job.reference_checked = Some(checked),
            (Some(Kind::Identity), Answer::Identity(check)) => job.identity = Some(check),
            (Some(Kind::Score), Answer::Scored(verdict)) => job.verdict = Some(verdict),
            (needed, _) => return Err(UnexpectedAnswer { needed: needed.map_or("nothing", Kind::name) }),
        }
        Ok(())
    }
}

/// The kinds of [`Need`], without their borrows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Photo,
    CheckPhoto,
    Identity,
    Score,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Photo => "a photo",
            Kind::CheckPhoto => "a photo check",
            Kind::Identity => "an identity check",
            Kind::Score => "a score",
        }
    }
}

impl Need<'_> {
    fn kind(&self) -> Kind {
        match self {
            Need::Photo(_) => Kind::Photo,
            Need::CheckPhoto(_) => Kind::CheckPhoto,
            Need::Identity { .. } => Kind::Identity,
            Need::Score { .. } => Kind::Score,
        }
    }
}
