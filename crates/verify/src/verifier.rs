//! The verification flow: one method per API operation, each checking in the cloud's
//! order and answering with the cloud's codes. Start (`InitFaceVerify` and the
//! synchronous calls):
//!
//! 1. RAM permission of the requester, under its request context, for the Action its
//!    signature was made for → 411;
//! 2. parameters → 400 (missing) / 401 (invalid: product code, outer order number,
//!    resident ID check character, name, user ID, liveness model); 405 under 14;
//! 3. the scene exists and belongs to the account → 404; its product matches → 401;
//! 4. the scene is usable (enabled, service and storage authorized) → 410;
//! 5. the account is not overdue or suspended → 412;
//! 6. photo sources: more than one per field → 420, none where required → 400, a
//!    referenced certify ID not passed → 423; then (staged) fetch (422) and intake
//!    (419 unusable, 421 over 1 MB).
//!
//! Operations that need I/O are staged ([`Pending`]): `begin_*` checks and reads, the
//! caller fulfils the needs anywhere, [`Verifier::commit`] re-checks the session and
//! writes the record, the metered usage and the bill line once, through
//! [`FlowStore::complete`]. Every method takes `&self`: one verifier serves every
//! worker. The one-call methods (`init_face_verify`, `complete_face_verify`, …) are
//! begin → [`Plugins::fulfil`] → commit.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{
    AccountId, Api, CallCode, CertNo, CertifyId, LivenessModel, OuterOrderNo, PersonName, Photo, ProductCode,
    ResidentId, SubCode, UserId,
};
use shiren_face::{MaterialInfo, Verdict, VerificationPolicy};
use shiren_meter::UsageEvent;
use shiren_records::{DeleteMode, NewRecord, RecordError, Scores};
use shiren_scene::{SceneId, Unusable};

use crate::caller::{Permissions, Requester, actions};
use crate::identity::{IdentityCheck, IdentitySource};
use crate::ids::{IdGenerator, request_id};
use crate::photos::{ExternalPhoto, PhotoResolver};
use crate::request::{CompareRequest, ContrastRequest, InitRequest, LivenessRequest, PhotoSources};
use crate::response::{ApiResponse, DeleteFailure, DeleteResult, InitResult, VerifyResult, quote};
use crate::scoring::{FaceScorer, PhotoRole};
use crate::session::{Session, SessionError, SessionState};
use crate::stage::{Answer, Job, Need, Op, Pending, Refused, Slot, Work};
use crate::store::{Completion, FlowStore, StoreError};

/// Settings of the flow.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifierConfig {
    /// How long a started session waits for its photo before it is abandoned.
    pub session_ttl: Duration,
    /// The verification policy of scenes without their own.
    pub default_policy: VerificationPolicy,
    /// The billing zone (for the person's age on "today").
    pub zone: shiren_catalog::BillingZone,
}

impl Default for VerifierConfig {
    fn default() -> Self {
        VerifierConfig {
            session_ttl: Duration::minutes(30),
            default_policy: VerificationPolicy::default(),
            zone: shiren_catalog::BillingZone::CHINA,
        }
    }
}

/// The pluggable parts without state: who may call (`permissions`), where IDs come
/// from (`ids`), and the three that [`Plugins::fulfil`] uses to meet a
/// [`Pending`]'s needs in the calling thread. A service that fulfils needs itself
/// (async clients, a scoring pool) still supplies all five; the one-call methods use
/// them.
pub struct Plugins {
    /// RAM permissions.
    pub permissions: Box<dyn Permissions + Send + Sync>,
    /// Certify IDs and request IDs.
    pub ids: Box<dyn IdGenerator + Send + Sync>,
    /// The identity authority.
    pub identities: Box<dyn IdentitySource + Send + Sync>,
    /// Face scoring.
    pub faces: Box<dyn FaceScorer + Send + Sync>,
    /// External photo fetching.
    pub photos: Box<dyn PhotoResolver + Send + Sync>,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins").finish_non_exhaustive()
    }
}

impl Plugins {
    /// Meets every need of `pending` with these plug-ins, in this thread.
    pub fn fulfil<T>(&self, pending: &mut Pending<T>) {
        while let Some(need) = pending.need() {
            let answer = match need {
                Need::Photo(photo) => Answer::Photo(self.photos.fetch(photo)),
                Need::CheckPhoto(photo) => Answer::PhotoChecked(self.faces.check_photo(photo.expose())),
                Need::Identity { name, id } => Answer::Identity(self.identities.check(name, id)),
                Need::Score { selfie, reference, policy } => {
                    Answer::Scored(self.faces.score(selfie.expose(), reference.map(Photo::expose), policy))
                }
            };
            if pending.supply(answer).is_err() {
                // Cannot happen (each answer is the need's own kind); never loop on it.
                break;
            }
        }
    }
}

/// The verification service: a [`FlowStore`] (public, so the embedding service can
/// manage what it holds), the plug-ins, the configuration and per-scene policies.
/// `Sync` when its store is: share one `&Verifier` between every worker. `Debug`
/// masks every personal value its store holds.
#[derive(Debug)]
pub struct Verifier<St> {
    /// Sessions, scenes, records, usage.
    pub store: St,
    plugins: Plugins,
    config: VerifierConfig,
    policies: HashMap<SceneId, VerificationPolicy>,
}

/// What a start needs, across the operations.
struct Start<'a> {
    api: Api,
    scene_id: Option<u64>,
    outer_order_no: Option<&'a str>,
    product_code: Option<&'a str>,
    model: Option<&'a str>,
    cert_type: Option<&'a str>,
    cert_name: Option<&'a str>,
    cert_no: Option<&'a str>,
    user_id: Option<&'a str>,
}

impl<'a> Start<'a> {
    /// The parameters every operation has; the identity and model ones unset.
    fn new(
        api: Api,
        scene_id: Option<u64>,
        outer_order_no: &'a Option<String>,
        product_code: &'a Option<String>,
    ) -> Self {
        Start {
            api,
            scene_id,
            outer_order_no: outer_order_no.as_deref(),
            product_code: product_code.as_deref(),
            model: None,
            cert_type: None,
            cert_name: None,
            cert_no: None,
            user_id: None,
        }
    }
}

impl<St: FlowStore> Verifier<St> {
    /// A verifier over this store and these plug-ins.
    pub fn new(store: St, plugins: Plugins, config: VerifierConfig) -> Verifier<St> {
        Verifier { store, plugins, config, policies: HashMap::new() }
    }

    /// The store and the plug-ins back, to build another verifier from them (the
    /// configuration and per-scene policies are the caller's to keep).
    pub fn into_parts(self) -> (St, Plugins) {
        (self.store, self.plugins)
    }

    /// Sets the verification policy of `scene`.
    pub fn set_policy(&mut self, scene: SceneId, policy: VerificationPolicy) {
        self.policies.insert(scene, policy);
    }

    /// The per-scene policies.
    pub fn policies(&self) -> &HashMap<SceneId, VerificationPolicy> {
        &self.policies
    }

    /// The plug-ins (to fulfil a [`Pending`] in this thread).
    pub fn plugins(&self) -> &Plugins {
        &self.plugins
    }

    /// The configuration.
    pub fn config(&self) -> &VerifierConfig {
        &self.config
    }

    /// A session, by certify ID.
    pub fn session(&self, id: CertifyId) -> Result<Option<Session>, StoreError> {
        self.store.session(id)
    }

    /// Wraps an outcome with a fresh request ID.
    pub fn respond<T>(&self, outcome: Result<T, Refused>) -> ApiResponse<T> {
        let id = request_id(&*self.plugins.ids);
        match outcome {
            Ok(result) => ApiResponse::ok(id, result),
            Err(refused) => ApiResponse::refused(id, refused.code, refused.message),
        }
    }

    fn permit(&self, requester: &Requester, action: &str, now: DateTime<Utc>) -> Result<(), Refused> {
        if let Some(signed) = requester.signed_action.as_deref().filter(|&signed| signed != action) {
            return Err(Refused::new(
                CallCode::RamPermissionDenied,
                format!(
                    "the request was signed for `{}`, not `{action}`; sign each operation's own Action",
                    quote(signed)
                ),
            ));
        }
        if self.plugins.permissions.allows(requester, action, now) {
            Ok(())
        } else {
            Err(Refused::new(
                CallCode::RamPermissionDenied,
                format!(
                    "the caller may not call `{action}` from here and now; attach AliyunAntCloudAuthFullAccess or a policy allowing it, and check its conditions"
                ),
            ))
        }
    }

    // ---- InitFaceVerify -------------------------------------------------------------

    /// `InitFaceVerify`, first stage: the checks, and the comparison photo's fetch and
    /// intake check as needs.
    pub fn begin_init(
        &self,
        requester: &Requester,
        req: &InitRequest,
        now: DateTime<Utc>,
    ) -> Pending<InitResult> {
        let begun = (|| {
            self.permit(requester, actions::INIT, now)?;
            let session = self.check_start(
                requester,
                &Start {
                    model: req.model.as_deref(),
                    cert_type: req.cert_type.as_deref(),
                    cert_name: req.cert_name.as_ref().map(PersonName::expose),
                    cert_no: req.cert_no.as_ref().map(CertNo::expose),
                    user_id: req.user_id.as_ref().map(UserId::expose),
                    ..Start::new(Api::InitDescribe, req.scene_id, &req.outer_order_no, &req.product_code)
                },
                now,
            )?;
            let needs_photo = session.product == ProductCode::PvFv;
            let reference =
                self.source(&requester.account, &req.face_contrast, needs_photo, "FaceContrastPicture")?;
            let check_reference = reference != Slot::Absent;
            Ok(self.job(Op::Init, session, Slot::Absent, reference, check_reference))
        })();
        pending(begun)
    }

    /// `InitFaceVerify`, last stage: stores the pending session. A comparison photo
    /// is kept only for PV_FV (the product that compares with it).
    pub fn commit_init(&self, pending: Pending<InitResult>, _now: DateTime<Utc>) -> ApiResponse<InitResult> {
        let outcome = (|| {
            let mut job = match pending.work {
                Work::Refused(refused) => return Err(refused),
                Work::Settled(_) | Work::Expired(_) => return Err(system("an init cannot be settled")),
                Work::Run(job) => job,
            };
            if let Some(failed) = job.failed.take() {
                return Err(failed);
            }
            match (&job.reference, job.reference_checked.take()) {
                (Slot::Absent, _) => {}
                (Slot::Have(bytes), Some(Ok(()))) => {
                    job.session.reference = (job.session.product == ProductCode::PvFv).then(|| bytes.clone());
                }
                (_, Some(Err(refusal))) => return Err(Refused::new(refusal.code, refusal.message)),
                _ => return Err(unfulfilled()),
            }
            let certify_id = job.session.certify_id;
            self.store.start(job.session).map_err(|e| store_failed(&e))?;
            Ok(InitResult { certify_id })
        })();
        self.respond(outcome)
    }

    /// `InitFaceVerify` in one call (begin, fulfil here, commit).
    pub fn init_face_verify(
        &self,
        requester: &Requester,
        req: &InitRequest,
        now: DateTime<Utc>,
    ) -> ApiResponse<InitResult> {
        let mut pending = self.begin_init(requester, req, now);
        self.plugins.fulfil(&mut pending);
        self.commit_init(pending, now)
    }

    // ---- completion -------------------------------------------------------------------

    /// The person's photo for a started session (what the client SDK submits), first
    /// stage: reads the session. A session already completed commits to its stored
    /// result (a retry changes nothing); an expired one to 406.
    pub fn begin_complete(
        &self,
        certify_id: &str,
        selfie: impl Into<Photo>,
        now: DateTime<Utc>,
    ) -> Pending<VerifyResult> {
        let read = (|| {
            let id = parse_certify_id(certify_id)?;
            self.store.session(id).map_err(|e| store_failed(&e))?.ok_or_else(|| unknown(certify_id))
        })();
        match read {
            Ok(session) => self.begin_complete_session(session, selfie, now),
            Err(refused) => pending(Err(refused)),
        }
    }

    /// [`Verifier::begin_complete`] of a session the caller has just read from this
    /// verifier's store (say, to check its state first), without reading it again.
    pub fn begin_complete_session(
        &self,
        session: Session,
        selfie: impl Into<Photo>,
        now: DateTime<Utc>,
    ) -> Pending<VerifyResult> {
        let id = session.certify_id;
        let work = match &session.state {
            SessionState::Completed { result, .. } => Ok(Work::Settled(result.clone())),
            SessionState::Abandoned => Err(expired(&id.to_string())),
            // Marked abandoned at commit (a stage only reads); nothing to score.
            SessionState::Pending if !session.is_live(now, self.config.session_ttl) => Ok(Work::Expired(id)),
            SessionState::Pending => {
                let reference = session.reference.clone().map_or(Slot::Absent, Slot::Have);
                Ok(self.job(Op::Complete, session, Slot::Have(selfie.into()), reference, false))
            }
        };
        pending(work)
    }

    /// The person's photo in one call (begin, fulfil here, commit): scores it and
    /// completes the session exactly once. A retry returns the stored result
    /// unchanged; a photo the scorer refuses (419/421) leaves the session pending so
    /// the person can try again.
    pub fn complete_face_verify(
        &self,
        certify_id: &str,
        selfie: &[u8],
        now: DateTime<Utc>,
    ) -> ApiResponse<VerifyResult> {
        let mut pending = self.begin_complete(certify_id, Photo::from(selfie.to_vec()), now);
        self.plugins.fulfil(&mut pending);
        self.commit(pending, now)
    }

    /// The last stage of every verification (completion, Contrast, Compare,
    /// Liveness): decides from the answers, re-checks the session — it may have
    /// completed, expired or gone meanwhile — and writes the completed session, its
    /// record and its usage, all stamped `now`, in one [`FlowStore::complete`].
    pub fn commit(&self, pending: Pending<VerifyResult>, now: DateTime<Utc>) -> ApiResponse<VerifyResult> {
        let outcome = match pending.work {
            Work::Refused(refused) => Err(refused),
            Work::Settled(result) => Ok(result),
            Work::Expired(id) => match self.store.abandon(id) {
                Ok(_) => Err(expired(&id.to_string())),
                Err(e) => self.settled(e, &id.to_string()),
            },
            Work::Run(job) => self.settle(*job, now),
        };
        self.respond(outcome)
    }

    fn settle(&self, mut job: Job, now: DateTime<Utc>) -> Result<VerifyResult, Refused> {
        let id = job.session.certify_id;
        if let Some(failed) = job.failed.take() {
            return Err(failed);
        }
        if job.op == Op::Complete && !job.session.is_live(now, self.config.session_ttl) {
            return match self.store.abandon(id) {
                Ok(_) => Err(expired(&id.to_string())),
                Err(e) => self.settled(e, &id.to_string()),
            };
        }
        let product = job.session.product;
        let (passed, sub_code, material) = match (job.ask_identity, job.identity.take(), job.verdict.take()) {
            (true, Some(check), _) if !matches!(check, IdentityCheck::Match { .. }) => {
                (false, check.sub_code().unwrap_or(SubCode::AUTHORITY_SOURCE_ERROR), None)
            }
            (true, None, _) if job.session.name.is_none() || job.session.id_number.is_none() => {
                (false, SubCode::NAME_ID_MISMATCH, None)
            }
            (_, _, Some(Ok(Verdict { passed, sub_code, material }))) => (passed, sub_code, Some(material)),
            (_, _, Some(Err(r))) if r.role == PhotoRole::Reference && product.checks_identity() => {
                (false, SubCode::AUTHORITY_PHOTO_UNUSABLE, None)
            }
            (_, _, Some(Err(r))) => return Err(Refused::new(r.code, r.message)),
            (_, _, None) => return Err(unfulfilled()),
        };
        let Slot::Have(selfie) = job.selfie else { return Err(unfulfilled()) };
        let result = VerifyResult { certify_id: id, passed, sub_code, material_info: material };
        let mut session = job.session;
        let record = record_of(&session, &result, now);
        let usage = UsageEvent {
            certify_id: id,
            account: session.account,
            solution: session.solution,
            sub_code: Some(sub_code),
            time: now,
        };
        session.state = SessionState::Completed { result: result.clone(), completed_at: now };
        // What the session may keep once completed: no name, ID number, user ID or
        // comparison photo (the record has what it needs), and the selfie only where
        // the scene stores images and the verification passed.
        session.selfie = Some(selfie);
        session.minimise();
        let completion = Completion { session, new_session: job.op == Op::Sync, record, usage };
        match self.store.complete(completion) {
            Ok(()) => Ok(result),
            Err(e) => self.settled(e, &id.to_string()),
        }
    }

    /// The answer for a session a write found no longer pending (another worker
    /// completed it, it expired) or could not write.
    fn settled(&self, error: StoreError, text: &str) -> Result<VerifyResult, Refused> {
        match error {
            StoreError::NotPending(session) => match session.state {
                SessionState::Completed { result, .. } => Ok(result),
                SessionState::Abandoned => Err(expired(text)),
                SessionState::Pending => Err(system("the session is pending and not pending")),
            },
            StoreError::Session(SessionError::NotFound(_)) => Err(unknown(text)),
            StoreError::Ledger(e) => Err(Refused::new(
                CallCode::SystemError,
                format!(
                    "the usage of verification `{text}` cannot be billed: {e}; nothing was recorded, metered or billed — fix the account's billing and submit again"
                ),
            )),
            other => Err(store_failed(&other)),
        }
    }

    // ---- DescribeFaceVerify, DeleteFaceVerifyResult -----------------------------------

    /// `DescribeFaceVerify`: the result of a completed session (424 until then, 406
    /// for IDs this account does not own). Reading marks the record read.
    pub fn describe_face_verify(
        &self,
        requester: &Requester,
        certify_id: &str,
        now: DateTime<Utc>,
    ) -> ApiResponse<VerifyResult> {
        let outcome = (|| {
            self.permit(requester, actions::DESCRIBE, now)?;
            let session = self.owned_session(requester, certify_id)?;
            let result = session
                .result()
                .cloned()
                .ok_or_else(|| not_completed(certify_id, "query again after the person finishes"))?;
            self.store
                .mark_read(&requester.account, session.certify_id, now)
                .map_err(|e| store_failed(&e))?;
            Ok(result)
        })();
        self.respond(outcome)
    }

    /// `DeleteFaceVerifyResult`: deletes the personal data and photos of a completed
    /// verification (the record's non-personal part stays for statistics and bills).
    /// `DeleteAfterQuery=Y` is [`DeleteMode::AfterQuery`]: nothing is deleted until the
    /// result has been read with `DescribeFaceVerify` (`FailReason`
    /// `NEED_QUERY_VERIFY_RESULT`); a second deletion deletes nothing
    /// (`NOT_DELETE_REPEATEDLY`). Both answer 200 with `DeleteResult` `N`, as the cloud does.
    pub fn delete_face_verify_result(
        &self,
        requester: &Requester,
        certify_id: &str,
        mode: DeleteMode,
        now: DateTime<Utc>,
    ) -> ApiResponse<DeleteResult> {
        let outcome = (|| {
            self.permit(requester, actions::DELETE, now)?;
            let session = self.owned_session(requester, certify_id)?;
            if session.result().is_none() {
                return Err(not_completed(certify_id, "nothing to delete yet"));
            }
            let certify_id = session.certify_id;
            let refused = |reason| Ok(DeleteResult { certify_id, deleted: false, fail_reason: Some(reason) });
            match self.store.erase_personal(&requester.account, certify_id, mode, now) {
                Ok(()) => Ok(DeleteResult { certify_id, deleted: true, fail_reason: None }),
                Err(StoreError::Record(RecordError::AlreadyDeleted(_))) => {
                    refused(DeleteFailure::NotDeleteRepeatedly)
                }
                Err(StoreError::Record(RecordError::NotYetRead(_))) => {
                    refused(DeleteFailure::NeedQueryVerifyResult)
                }
                Err(e) => Err(store_failed(&e)),
            }
        })();
        self.respond(outcome)
    }

    fn owned_session(&self, requester: &Requester, certify_id: &str) -> Result<Session, Refused> {
        let id = parse_certify_id(certify_id)?;
        self.store
            .session(id)
            .map_err(|e| store_failed(&e))?
            .filter(|s| s.account == requester.account)
            .ok_or_else(|| unknown(certify_id))
    }

    // ---- synchronous operations -------------------------------------------------------

    /// `ContrastFaceVerify` (ID_MIN), first stage: one photo against the identity
    /// authority.
    pub fn begin_contrast(
        &self,
        requester: &Requester,
        req: &ContrastRequest,
        now: DateTime<Utc>,
    ) -> Pending<VerifyResult> {
        let begun = (|| {
            self.permit(requester, actions::CONTRAST, now)?;
            let session = self.check_start(
                requester,
                &Start {
                    cert_type: req.cert_type.as_deref(),
                    cert_name: req.cert_name.as_ref().map(PersonName::expose),
                    cert_no: req.cert_no.as_ref().map(CertNo::expose),
                    user_id: req.user_id.as_ref().map(UserId::expose),
                    ..Start::new(
                        Api::ContrastFaceVerify,
                        req.scene_id,
                        &req.outer_order_no,
                        &req.product_code,
                    )
                },
                now,
            )?;
            let selfie = self.source(&requester.account, &req.face_contrast, true, "FaceContrastPicture")?;
            Ok(self.job(Op::Sync, session, selfie, Slot::Absent, false))
        })();
        pending(begun)
    }

    /// `CompareFaceVerify` (PV_FC), first stage: two photos.
    pub fn begin_compare(
        &self,
        requester: &Requester,
        req: &CompareRequest,
        now: DateTime<Utc>,
    ) -> Pending<VerifyResult> {
        let begun = (|| {
            self.permit(requester, actions::COMPARE, now)?;
            let session = self.check_start(
                requester,
                &Start::new(Api::CompareFaceVerify, req.scene_id, &req.outer_order_no, &req.product_code),
                now,
            )?;
            let source = self.source(&requester.account, &req.source, true, "SourceFacePicture")?;
            let target = self.source(&requester.account, &req.target, true, "TargetFacePicture")?;
            Ok(self.job(Op::Sync, session, source, target, false))
        })();
        pending(begun)
    }

    /// `LivenessFaceVerify` (LR_FR_MIN), first stage: liveness on one photo.
    pub fn begin_liveness(
        &self,
        requester: &Requester,
        req: &LivenessRequest,
        now: DateTime<Utc>,
    ) -> Pending<VerifyResult> {
        let begun = (|| {
            self.permit(requester, actions::LIVENESS, now)?;
            let session = self.check_start(
                requester,
                &Start {
                    user_id: req.user_id.as_ref().map(UserId::expose),
                    ..Start::new(
                        Api::LivenessFaceVerify,
                        req.scene_id,
                        &req.outer_order_no,
                        &req.product_code,
                    )
                },
                now,
            )?;
            let selfie = self.source(&requester.account, &req.face_contrast, true, "FaceContrastPicture")?;
            Ok(self.job(Op::Sync, session, selfie, Slot::Absent, false))
        })();
        pending(begun)
    }

    /// `ContrastFaceVerify` in one call.
    pub fn contrast_face_verify(
        &self,
        requester: &Requester,
        req: &ContrastRequest,
        now: DateTime<Utc>,
    ) -> ApiResponse<VerifyResult> {
        let mut pending = self.begin_contrast(requester, req, now);
        self.plugins.fulfil(&mut pending);
        self.commit(pending, now)
    }

    /// `CompareFaceVerify` in one call.
    pub fn compare_face_verify(
        &self,
        requester: &Requester,
        req: &CompareRequest,
        now: DateTime<Utc>,
    ) -> ApiResponse<VerifyResult> {
        let mut pending = self.begin_compare(requester, req, now);
        self.plugins.fulfil(&mut pending);
        self.commit(pending, now)
    }

    /// `LivenessFaceVerify` in one call.
    pub fn liveness_face_verify(
        &self,
        requester: &Requester,
        req: &LivenessRequest,
        now: DateTime<Utc>,
    ) -> ApiResponse<VerifyResult> {
        let mut pending = self.begin_liveness(requester, req, now);
        self.plugins.fulfil(&mut pending);
        self.commit(pending, now)
    }

    // ---- housekeeping -----------------------------------------------------------------

    /// Marks sessions pending longer than the session lifetime abandoned (never
    /// billed); returns how many.
    pub fn expire_sessions(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.store.expire_sessions(now - self.config.session_ttl)
    }

    /// Forgets ended sessions (completed or abandoned) that started before `cutoff` —
    /// call it with the records' retention (180 days) so memory stays bounded; returns
    /// how many. Their records, usage and bills stay where they are; a forgotten
    /// certify ID answers 406 like an unknown one.
    pub fn forget_sessions_before(&self, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
        self.store.forget_sessions_before(cutoff)
    }

    // ---- the parts --------------------------------------------------------------------

    fn job(&self, op: Op, session: Session, selfie: Slot, reference: Slot, check_reference: bool) -> Work {
        let ask_identity = op != Op::Init && session.product.checks_identity();
        let policy = self.policy(&session);
        Work::Run(Box::new(Job {
            op,
            session,
            selfie,
            reference,
            check_reference,
            reference_checked: None,
            ask_identity,
            identity: None,
            policy,
            verdict: None,
            failed: None,
        }))
    }

    /// Steps 2–5 of a start; returns the new (not yet stored) session.
    fn check_start(
        &self,
        requester: &Requester,
        start: &Start<'_>,
        now: DateTime<Utc>,
    ) -> Result<Session, Refused> {
        let missing = |name: &str| Refused::new(CallCode::MissingParameter, format!("`{name}` is required"));
        let scene_id = start.scene_id.ok_or_else(|| missing("SceneId"))?;
        let order = start.outer_order_no.ok_or_else(|| missing("OuterOrderNo"))?;
        let product = start.product_code.ok_or_else(|| missing("ProductCode"))?;
        let invalid = |message: String| Refused::new(CallCode::InvalidParameter, message);
        let product: ProductCode =
            product.parse().map_err(|e: shiren_catalog::UnknownProductCode| invalid(e.to_string()))?;
        if product.api() != start.api {
            return Err(invalid(format!(
                "product `{product}` is not served by this API; use {:?}",
                product.api()
            )));
        }
        let outer_order_no = OuterOrderNo::new(order).map_err(|e| invalid(e.to_string()))?;
        if let Some(model) = start.model {
            model.parse::<LivenessModel>().map_err(|e| invalid(e.to_string()))?;
        }
        if let Some(user_id) = start.user_id.filter(|u| u.chars().count() > 100) {
            return Err(invalid(format!("`UserId` has {} characters; at most 100", user_id.chars().count())));
        }
        let (name, id_number) = if product.checks_identity() {
            let name = start.cert_name.ok_or_else(|| missing("CertName"))?.trim();
            let number = start.cert_no.ok_or_else(|| missing("CertNo"))?;
            if start.cert_type.is_some_and(|t| t != "IDENTITY_CARD") {
                return Err(invalid("`CertType` must be `IDENTITY_CARD`".to_owned()));
            }
            if name.is_empty() || name.chars().count() > 64 {
                return Err(invalid("`CertName` must be 1–64 characters".to_owned()));
            }
            let id = ResidentId::parse(number).map_err(|e| invalid(e.to_string()))?;
            if id.age_on(self.config.zone.day_of(now)) < 14 {
                return Err(Refused::new(
                    CallCode::UnderFourteen,
                    "the person is under 14 and cannot be verified",
                ));
            }
            (Some(PersonName::from(name)), Some(id))
        } else {
            (None, None)
        };
        let scene_id = SceneId::new(scene_id);
        let mismatch = |scene: &shiren_scene::Scene| {
            (scene.product != product).then(|| {
                invalid(format!(
                    "scene {scene_id} is set up for `{}`, not `{product}`; use a scene of this product",
                    scene.product
                ))
            })
        };
        // 404, then a product mismatch (401), then 410.
        let (view, standing) =
            self.store.scene_and_standing(&requester.account, scene_id, now).map_err(|e| store_failed(&e))?;
        let view = view.ok_or_else(|| {
            let unusable = Unusable::NotFound(scene_id);
            Refused::new(unusable.call_code(), unusable.to_string())
        })?;
        if let Some(refused) = mismatch(&view.scene) {
            return Err(refused);
        }
        if let Some(unusable) = view.unusable {
            return Err(Refused::new(unusable.call_code(), unusable.to_string()));
        }
        let scene = view.scene;
        standing.map_err(|code| {
            Refused::new(code, "the account is overdue or suspended; top up to clear the debt")
        })?;
        let certify_id = CertifyId::from_bytes(self.plugins.ids.next_id());
        Ok(Session {
            certify_id,
            account: requester.account,
            scene_id,
            scene_name: scene.name,
            solution: scene.solution,
            product,
            outer_order_no,
            user_id: start.user_id.map(UserId::from),
            name,
            id_number,
            reference: None,
            selfie: None,
            // The scene's storage setting decides whether a passed selfie is kept.
            stores_photos: scene.solution.facts().stores_photos && scene.storage.store_image,
            created_at: now,
            state: SessionState::Pending,
        })
    }

    /// Step 6 for one photo field: exactly one source; bytes and passed certify IDs
    /// resolved now, URLs and objects left as needs.
    fn source(
        &self,
        account: &AccountId,
        sources: &PhotoSources,
        required: bool,
        field: &str,
    ) -> Result<Slot, Refused> {
        match sources.count() {
            0 if required => {
                return Err(Refused::new(
                    CallCode::MissingParameter,
                    format!("`{field}` is required: give the picture, its URL, a certify ID or an object"),
                ));
            }
            0 => return Ok(Slot::Absent),
            1 => {}
            n => {
                return Err(Refused::new(
                    CallCode::MultipleImageSources,
                    format!("`{field}` has {n} sources; give exactly one"),
                ));
            }
        }
        if let Some(bytes) = &sources.picture {
            return Ok(Slot::Have(bytes.clone()));
        }
        if let Some(url) = &sources.url {
            return Ok(Slot::Fetch(ExternalPhoto::Url(url.clone())));
        }
        if let Some((bucket, object)) = &sources.oss_object {
            return Ok(Slot::Fetch(ExternalPhoto::Object(bucket.clone(), object.clone())));
        }
        let text = sources.certify_id.as_deref().unwrap_or("");
        let id = parse_certify_id(text)?;
        let passed =
            self.store.session(id).map_err(|e| store_failed(&e))?.filter(|s| s.account == *account).and_then(
                |s| {
                    let passed = s.result().is_some_and(|r| r.passed);
                    s.selfie.filter(|_| passed)
                },
            );
        passed.map(Slot::Have).ok_or_else(|| {
            Refused::new(
                CallCode::ReferenceNotPassed,
                format!("certify ID `{}` is not a passed verification with a photo", quote(text)),
            )
        })
    }

    fn policy(&self, session: &Session) -> VerificationPolicy {
        let mut policy = self.policies.get(&session.scene_id).copied().unwrap_or(self.config.default_policy);
        if !session.product.checks_liveness() {
            // Face comparison (PV_FC) compares two photos; there is no live person.
            policy.max_attack_score = f64::INFINITY;
            policy.reject_occlusion = false;
            policy.min_quality = 0.0;
        }
        policy
    }
}

/// The record of a session completing with `result` at `now`.
fn record_of(session: &Session, result: &VerifyResult, now: DateTime<Utc>) -> NewRecord {
    let material: Option<&MaterialInfo> = result.material_info.as_ref();
    NewRecord {
        certify_id: session.certify_id,
        outer_order_no: session.outer_order_no,
        account: session.account,
        scene_id: session.scene_id,
        scene_name: session.scene_name.clone(),
        product: session.product,
        user_id: session.user_id.clone(),
        name: session.name.clone().unwrap_or_default(),
        id_number: session.id_number.clone(),
        passed: result.passed,
        sub_code: result.sub_code,
        scores: Scores {
            face_vs_id_photo: None,
            face_vs_authority: material.and_then(|m| m.verify_score),
            quality: material.map(|m| m.quality_score),
        },
        attack: material.map(|m| m.face_attack),
        occlusion: material.map(|m| m.face_occlusion),
        photos: if session.stores_photos {
            vec![format!("verify/{}/{}.jpeg", session.account, session.certify_id)]
        } else {
            Vec::new()
        },
        created_at: session.created_at,
        completed_at: now,
    }
}

fn pending<T>(begun: Result<Work, Refused>) -> Pending<T> {
    match begun {
        Ok(work) => Pending::new(work),
        Err(refused) => Pending::refused(refused),
    }
}

fn parse_certify_id(text: &str) -> Result<CertifyId, Refused> {
    text.parse().map_err(|_| unknown(text))
}

fn unknown(text: &str) -> Refused {
    Refused::new(CallCode::InvalidCertifyId, format!("`{}` is not a certify ID of this account", quote(text)))
}

fn expired(text: &str) -> Refused {
    Refused::new(
        CallCode::InvalidCertifyId,
        format!("verification `{}` was abandoned (not completed in time); start a new one", quote(text)),
    )
}

fn not_completed(text: &str, advice: &str) -> Refused {
    Refused::new(
        CallCode::NotCompleted,
        format!("verification `{}` has not completed; {advice}", quote(text)),
    )
}

fn system(what: &str) -> Refused {
    Refused::new(CallCode::SystemError, format!("internal error: {what}; retry later"))
}

fn unfulfilled() -> Refused {
    Refused::new(
        CallCode::SystemError,
        "the operation was committed before its needs were met; fulfil every `Pending::need` first",
    )
}

fn store_failed(error: &StoreError) -> Refused {
    Refused::new(CallCode::SystemError, format!("the store failed: {error}; retry later"))
}
