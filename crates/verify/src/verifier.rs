//! The verification flow: one method per API operation, each checking in the cloud's
//! order and answering with the cloud's codes. Start (`init_face_verify` and the
//! synchronous calls):
//!
//! 1. RAM permission of the calling principal → 411;
//! 2. parameters → 400 (missing) / 401 (invalid: product code, outer order number,
//!    resident ID check character, name, user ID, liveness model); 405 under 14;
//! 3. the scene exists and belongs to the account → 404; its product matches → 401;
//! 4. the scene is usable (enabled, service and storage authorized) → 410;
//! 5. the account is not overdue or suspended → 412;
//! 6. photo sources: more than one per field → 420, none where required → 400, then
//!    intake (419 unusable, 421 over 1 MB), fetch (422), a referenced certify ID not
//!    passed → 423.
//!
//! Completion scores the photo, then writes the record, meters and bills the usage —
//! once: a retried completion returns the stored result and changes nothing, and an
//! abandoned session is never billed.

use std::collections::HashMap;

use bytes::Bytes;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use shiren_catalog::{
    AccountId, Api, CallCode, CertifyId, LivenessModel, OuterOrderNo, ProductCode, ResidentId, SubCode,
};
use shiren_face::{MaterialInfo, Verdict, VerificationPolicy};
use shiren_meter::UsageEvent;
use shiren_records::{DeleteMode, NewRecord, RecordError, RecordStore, Scores};
use shiren_scene::{SceneId, SceneRegistry, Unusable};

use crate::caller::{Caller, Permissions, actions};
use crate::identity::{IdentityCheck, IdentitySource};
use crate::ledger::UsageLedger;
use crate::photos::{ExternalPhoto, PhotoResolver};
use crate::request::{CompareRequest, ContrastRequest, InitRequest, LivenessRequest, PhotoSources};
use crate::response::{DeleteResult, InitResult, Response, VerifyResult};
use crate::scoring::{FaceScorer, PhotoRole};
use crate::session::{IdSource, Session, SessionState};

/// A refusal: the call code and a message a developer can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Refused {
    code: CallCode,
    message: String,
}

impl Refused {
    fn new(code: CallCode, message: impl Into<String>) -> Refused {
        Refused { code, message: message.into() }
    }
}

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

/// The pluggable parts without state the embedding service usually inspects.
pub struct Plugins {
    /// RAM permissions.
    pub permissions: Box<dyn Permissions + Send + Sync>,
    /// The identity authority.
    pub identities: Box<dyn IdentitySource + Send + Sync>,
    /// Face scoring.
    pub faces: Box<dyn FaceScorer + Send + Sync>,
    /// External photo fetching.
    pub photos: Box<dyn PhotoResolver + Send + Sync>,
    /// Random IDs.
    pub ids: Box<dyn IdSource + Send + Sync>,
}

impl std::fmt::Debug for Plugins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugins").finish_non_exhaustive()
    }
}

/// The verifier's own state, for persistence: sessions and per-scene policies.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VerifierSnapshot {
    /// Every session.
    pub sessions: Vec<Session>,
    /// Per-scene policies.
    pub policies: Vec<(SceneId, VerificationPolicy)>,
}

/// The verification service, composed of stores (`scenes`, `records`, `ledger`: public,
/// so the embedding service can manage them) and plug-ins.
#[derive(Debug)]
pub struct Verifier<S, R, L> {
    /// Scenes.
    pub scenes: S,
    /// Verification records.
    pub records: R,
    /// Standing, metering and billing.
    pub ledger: L,
    plugins: Plugins,
    config: VerifierConfig,
    sessions: HashMap<CertifyId, Session>,
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

impl<S: SceneRegistry, R: RecordStore, L: UsageLedger> Verifier<S, R, L> {
    /// A verifier over these stores and plug-ins.
    pub fn new(
        scenes: S,
        records: R,
        ledger: L,
        plugins: Plugins,
        config: VerifierConfig,
    ) -> Verifier<S, R, L> {
        Verifier {
            scenes,
            records,
            ledger,
            plugins,
            config,
            sessions: HashMap::new(),
            policies: HashMap::new(),
        }
    }

    /// Sets the verification policy of `scene`.
    pub fn set_policy(&mut self, scene: SceneId, policy: VerificationPolicy) {
        self.policies.insert(scene, policy);
    }

    /// A session, by certify ID.
    pub fn session(&self, id: CertifyId) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// The number of sessions held.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// The verifier's own state.
    pub fn snapshot(&self) -> VerifierSnapshot {
        let mut sessions: Vec<Session> = self.sessions.values().cloned().collect();
        sessions.sort_by_key(|s| s.certify_id);
        let mut policies: Vec<(SceneId, VerificationPolicy)> =
            self.policies.iter().map(|(k, v)| (*k, *v)).collect();
        policies.sort_by_key(|(k, _)| *k);
        VerifierSnapshot { sessions, policies }
    }

    /// Replaces the verifier's own state with a snapshot's.
    pub fn restore(&mut self, snapshot: VerifierSnapshot) {
        self.sessions = snapshot.sessions.into_iter().map(|s| (s.certify_id, s)).collect();
        self.policies = snapshot.policies.into_iter().collect();
    }

    fn request_id(&mut self) -> String {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut id = String::with_capacity(36);
        for (i, b) in self.plugins.ids.next_id().iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                id.push('-');
            }
            id.push(char::from(HEX.get(usize::from(b >> 4)).copied().unwrap_or(b'0')));
            id.push(char::from(HEX.get(usize::from(b & 15)).copied().unwrap_or(b'0')));
        }
        id
    }

    fn respond<T>(&mut self, outcome: Result<T, Refused>) -> Response<T> {
        let id = self.request_id();
        match outcome {
            Ok(result) => Response::ok(id, result),
            Err(refused) => Response::refused(id, refused.code, refused.message),
        }
    }

    fn permit(&self, caller: &Caller, action: &str) -> Result<(), Refused> {
        if self.plugins.permissions.allows(caller, action) {
            Ok(())
        } else {
            Err(Refused::new(
                CallCode::RamPermissionDenied,
                format!(
                    "the caller may not call `{action}`; attach AliyunAntCloudAuthFullAccess or a policy allowing it"
                ),
            ))
        }
    }

    /// `InitFaceVerify`: starts a session and returns its certify ID.
    pub fn init_face_verify(
        &mut self,
        caller: &Caller,
        req: &InitRequest,
        now: DateTime<Utc>,
    ) -> Response<InitResult> {
        let outcome = self.try_init(caller, req, now);
        self.respond(outcome)
    }

    fn try_init(
        &mut self,
        caller: &Caller,
        req: &InitRequest,
        now: DateTime<Utc>,
    ) -> Result<InitResult, Refused> {
        self.permit(caller, actions::INIT)?;
        let mut session = self.check_start(
            caller,
            &Start {
                model: req.model.as_deref(),
                cert_type: req.cert_type.as_deref(),
                cert_name: req.cert_name.as_deref(),
                cert_no: req.cert_no.as_deref(),
                user_id: req.user_id.as_deref(),
                ..Start::new(Api::InitDescribe, req.scene_id, &req.outer_order_no, &req.product_code)
            },
            now,
        )?;
        let needs_photo = session.product == ProductCode::PvFv;
        if let Some(photo) =
            self.resolve(&caller.account, &req.face_contrast, needs_photo, "FaceContrastPicture")?
        {
            self.plugins.faces.check_photo(&photo).map_err(|r| Refused::new(r.code, r.message))?;
            session.reference = needs_photo.then_some(photo);
        }
        let certify_id = session.certify_id;
        self.sessions.insert(certify_id, session);
        Ok(InitResult { certify_id })
    }

    /// The person's photo for a started session (what the client SDK submits):
    /// scores it and completes the session exactly once. A retry returns the stored
    /// result unchanged; a photo the scorer refuses (419/421) leaves the session
    /// pending so the person can try again.
    pub fn complete_face_verify(
        &mut self,
        certify_id: &str,
        selfie: &[u8],
        now: DateTime<Utc>,
    ) -> Response<VerifyResult> {
        let outcome = self.try_complete(certify_id, selfie, now);
        self.respond(outcome)
    }

    fn try_complete(
        &mut self,
        certify_id: &str,
        selfie: &[u8],
        now: DateTime<Utc>,
    ) -> Result<VerifyResult, Refused> {
        let id = parse_certify_id(certify_id)?;
        let ttl = self.config.session_ttl;
        let session = self.sessions.get_mut(&id).ok_or_else(|| unknown(certify_id))?;
        match &session.state {
            SessionState::Completed(result) => return Ok(result.clone()),
            SessionState::Abandoned => return Err(expired(certify_id)),
            SessionState::Pending if now - session.created_at > ttl => {
                session.state = SessionState::Abandoned;
                return Err(expired(certify_id));
            }
            SessionState::Pending => {}
        }
        // Out of the map while it is being finished; back in whatever happens.
        let Some(mut session) = self.sessions.remove(&id) else { return Err(unknown(certify_id)) };
        let reference = session.reference.clone();
        let result = self.finish(&mut session, Bytes::copy_from_slice(selfie), reference, now);
        self.sessions.insert(id, session);
        result
    }

    /// `DescribeFaceVerify`: the result of a completed session (424 until then, 406
    /// for IDs this account does not own).
    pub fn describe_face_verify(
        &mut self,
        caller: &Caller,
        certify_id: &str,
        now: DateTime<Utc>,
    ) -> Response<VerifyResult> {
        let outcome = self.try_describe(caller, certify_id, now);
        self.respond(outcome)
    }

    fn try_describe(
        &mut self,
        caller: &Caller,
        certify_id: &str,
        now: DateTime<Utc>,
    ) -> Result<VerifyResult, Refused> {
        self.permit(caller, actions::DESCRIBE)?;
        let id = parse_certify_id(certify_id)?;
        let session = self
            .sessions
            .get(&id)
            .filter(|s| s.account == caller.account)
            .ok_or_else(|| unknown(certify_id))?;
        match &session.state {
            SessionState::Completed(result) => {
                let result = result.clone();
                // Reading marks the record read (for delete-after-query); a record
                // already purged or deleted does not change the answer.
                let _ = self.records.mark_read(&caller.account, id, now);
                Ok(result)
            }
            _ => Err(Refused::new(
                CallCode::NotCompleted,
                format!(
                    "verification `{certify_id}` has not completed; query again after the person finishes"
                ),
            )),
        }
    }

    /// `ContrastFaceVerify` (ID_MIN): one photo against the identity authority,
    /// synchronously.
    pub fn contrast_face_verify(
        &mut self,
        caller: &Caller,
        req: &ContrastRequest,
        now: DateTime<Utc>,
    ) -> Response<VerifyResult> {
        let outcome = (|| {
            self.permit(caller, actions::CONTRAST)?;
            let session = self.check_start(
                caller,
                &Start {
                    cert_type: req.cert_type.as_deref(),
                    cert_name: req.cert_name.as_deref(),
                    cert_no: req.cert_no.as_deref(),
                    user_id: req.user_id.as_deref(),
                    ..Start::new(
                        Api::ContrastFaceVerify,
                        req.scene_id,
                        &req.outer_order_no,
                        &req.product_code,
                    )
                },
                now,
            )?;
            let selfie = self.require(&caller.account, &req.face_contrast, "FaceContrastPicture")?;
            self.run_now(session, selfie, None, now)
        })();
        self.respond(outcome)
    }

    /// `CompareFaceVerify` (PV_FC): two photos, synchronously.
    pub fn compare_face_verify(
        &mut self,
        caller: &Caller,
        req: &CompareRequest,
        now: DateTime<Utc>,
    ) -> Response<VerifyResult> {
        let outcome = (|| {
            self.permit(caller, actions::COMPARE)?;
            let session = self.check_start(
                caller,
                &Start::new(Api::CompareFaceVerify, req.scene_id, &req.outer_order_no, &req.product_code),
                now,
            )?;
            let source = self.require(&caller.account, &req.source, "SourceFacePicture")?;
            let target = self.require(&caller.account, &req.target, "TargetFacePicture")?;
            self.run_now(session, source, Some(target), now)
        })();
        self.respond(outcome)
    }

    /// `LivenessFaceVerify` (LR_FR_MIN): liveness on one photo, synchronously.
    pub fn liveness_face_verify(
        &mut self,
        caller: &Caller,
        req: &LivenessRequest,
        now: DateTime<Utc>,
    ) -> Response<VerifyResult> {
        let outcome = (|| {
            self.permit(caller, actions::LIVENESS)?;
            let session = self.check_start(
                caller,
                &Start {
                    user_id: req.user_id.as_deref(),
                    ..Start::new(
                        Api::LivenessFaceVerify,
                        req.scene_id,
                        &req.outer_order_no,
                        &req.product_code,
                    )
                },
                now,
            )?;
            let selfie = self.require(&caller.account, &req.face_contrast, "FaceContrastPicture")?;
            self.run_now(session, selfie, None, now)
        })();
        self.respond(outcome)
    }

    /// `DeleteFaceVerifyResult`: deletes the personal data and photos of a completed
    /// verification (the record's non-personal part stays for statistics and bills).
    pub fn delete_face_verify_result(
        &mut self,
        caller: &Caller,
        certify_id: &str,
        now: DateTime<Utc>,
    ) -> Response<DeleteResult> {
        let outcome = (|| {
            self.permit(caller, actions::DELETE)?;
            let id = parse_certify_id(certify_id)?;
            let session = self
                .sessions
                .get(&id)
                .filter(|s| s.account == caller.account)
                .ok_or_else(|| unknown(certify_id))?;
            if !matches!(session.state, SessionState::Completed(_)) {
                return Err(Refused::new(
                    CallCode::NotCompleted,
                    format!("verification `{certify_id}` has not completed; nothing to delete yet"),
                ));
            }
            match self.records.delete_personal(&caller.account, id, DeleteMode::Now, now) {
                Ok(()) | Err(RecordError::AlreadyDeleted(_) | RecordError::NotFound(_)) => {}
                Err(e) => return Err(Refused::new(CallCode::SystemError, e.to_string())),
            }
            if let Some(session) = self.sessions.get_mut(&id) {
                session.selfie = None;
                session.reference = None;
                session.name = None;
                session.id_number = None;
                session.user_id = None;
            }
            Ok(DeleteResult { certify_id: id, deleted: true })
        })();
        self.respond(outcome)
    }

    /// Marks sessions pending longer than the session lifetime abandoned (never
    /// billed); returns how many.
    pub fn expire_sessions(&mut self, now: DateTime<Utc>) -> usize {
        let ttl = self.config.session_ttl;
        let mut n = 0;
        for s in self.sessions.values_mut() {
            if s.state == SessionState::Pending && now - s.created_at > ttl {
                s.state = SessionState::Abandoned;
                n += 1;
            }
        }
        n
    }

    /// Forgets ended sessions (completed or abandoned) that started before `cutoff` —
    /// call it with the records' retention (180 days) so memory stays bounded; returns
    /// how many. Their records, usage and bills stay where they are; a forgotten
    /// certify ID answers 406 like an unknown one.
    pub fn forget_sessions_before(&mut self, cutoff: DateTime<Utc>) -> usize {
        let before = self.sessions.len();
        self.sessions.retain(|_, s| s.state == SessionState::Pending || s.created_at >= cutoff);
        before - self.sessions.len()
    }

    /// Steps 2–5 of a start; returns the new (not yet stored) session.
    fn check_start(
        &mut self,
        caller: &Caller,
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
            (Some(name.to_owned()), Some(id))
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
        // 404, then a product mismatch (401), then 410 — one lookup when usable.
        let scene = match self.scenes.usable(&caller.account, scene_id) {
            Ok(scene) => scene,
            Err(unusable @ Unusable::NotFound(_)) => {
                return Err(Refused::new(unusable.call_code(), unusable.to_string()));
            }
            Err(unusable) => {
                if let Some(refused) =
                    self.scenes.get(&caller.account, scene_id).ok().as_ref().and_then(mismatch)
                {
                    return Err(refused);
                }
                return Err(Refused::new(unusable.call_code(), unusable.to_string()));
            }
        };
        if let Some(refused) = mismatch(&scene) {
            return Err(refused);
        }
        self.ledger.may_start(&caller.account, now).map_err(|code| {
            Refused::new(code, "the account is overdue or suspended; top up to clear the debt")
        })?;
        let certify_id = CertifyId::from_bytes(self.plugins.ids.next_id());
        Ok(Session {
            certify_id,
            account: caller.account,
            scene_id,
            scene_name: scene.name,
            solution: scene.solution,
            product,
            outer_order_no,
            user_id: start.user_id.map(str::to_owned),
            name,
            id_number,
            reference: None,
            selfie: None,
            stores_photos: scene.solution.facts().stores_photos && scene.storage.store_image,
            created_at: now,
            state: SessionState::Pending,
        })
    }

    /// One photo field that must be present.
    fn require(&self, account: &AccountId, sources: &PhotoSources, field: &str) -> Result<Bytes, Refused> {
        self.resolve(account, sources, true, field)?
            .ok_or_else(|| Refused::new(CallCode::MissingParameter, format!("`{field}` is required")))
    }

    /// Step 6: one source per photo field, fetched.
    fn resolve(
        &self,
        account: &AccountId,
        sources: &PhotoSources,
        required: bool,
        field: &str,
    ) -> Result<Option<Bytes>, Refused> {
        match sources.count() {
            0 if required => {
                return Err(Refused::new(
                    CallCode::MissingParameter,
                    format!("`{field}` is required: give the picture, its URL, a certify ID or an object"),
                ));
            }
            0 => return Ok(None),
            1 => {}
            n => {
                return Err(Refused::new(
                    CallCode::MultipleImageSources,
                    format!("`{field}` has {n} sources; give exactly one"),
                ));
            }
        }
        let fetch = |photo: ExternalPhoto| {
            self.plugins
                .photos
                .fetch(&photo)
                .map_err(|code| Refused::new(code, format!("could not fetch {photo:?}")))
        };
        if let Some(bytes) = &sources.picture {
            return Ok(Some(bytes.clone()));
        }
        if let Some(url) = &sources.url {
            return fetch(ExternalPhoto::Url(url.clone())).map(Some);
        }
        if let Some((bucket, object)) = &sources.oss_object {
            return fetch(ExternalPhoto::Object(bucket.clone(), object.clone())).map(Some);
        }
        let text = sources.certify_id.as_deref().unwrap_or("");
        let id = parse_certify_id(text)?;
        let passed = self.sessions.get(&id).filter(|s| s.account == *account).and_then(|s| match &s.state {
            SessionState::Completed(r) if r.passed => s.selfie.clone(),
            _ => None,
        });
        passed.map(Some).ok_or_else(|| {
            Refused::new(
                CallCode::ReferenceNotPassed,
                format!("certify ID `{text}` is not a passed verification with a photo"),
            )
        })
    }

    /// A synchronous verification: the session is stored only if it completes.
    fn run_now(
        &mut self,
        mut session: Session,
        selfie: Bytes,
        reference: Option<Bytes>,
        now: DateTime<Utc>,
    ) -> Result<VerifyResult, Refused> {
        let result = self.finish(&mut session, selfie, reference, now)?;
        self.sessions.insert(session.certify_id, session);
        Ok(result)
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

    /// Scores, then records, meters and bills; marks the session completed. On an
    /// error the session is unchanged.
    fn finish(
        &mut self,
        session: &mut Session,
        selfie: Bytes,
        reference: Option<Bytes>,
        now: DateTime<Utc>,
    ) -> Result<VerifyResult, Refused> {
        let (passed, sub_code, material) = match self.identity_reference(session) {
            Err(sub_code) => (false, sub_code, None),
            Ok(authority) => {
                let reference = authority.or(reference);
                let policy = self.policy(session);
                match self.plugins.faces.score(&selfie, reference.as_deref(), &policy) {
                    Ok(Verdict { passed, sub_code, material }) => (passed, sub_code, Some(material)),
                    Err(r) if r.role == PhotoRole::Reference && session.product.checks_identity() => {
                        (false, SubCode::AUTHORITY_PHOTO_UNUSABLE, None)
                    }
                    Err(r) => return Err(Refused::new(r.code, r.message)),
                }
            }
        };
        let result =
            VerifyResult { certify_id: session.certify_id, passed, sub_code, material_info: material };
        self.write(session, &result, now)?;
        session.state = SessionState::Completed(result.clone());
        session.selfie = passed.then_some(selfie);
        Ok(result)
    }

    /// The authority photo for identity products (`Ok(None)` for the others), or the
    /// sub code ending the verification.
    fn identity_reference(&self, session: &Session) -> Result<Option<Bytes>, SubCode> {
        if !session.product.checks_identity() {
            return Ok(None);
        }
        let (Some(name), Some(id)) = (&session.name, &session.id_number) else {
            return Err(SubCode::NAME_ID_MISMATCH);
        };
        match self.plugins.identities.check(name, id) {
            IdentityCheck::Match { photo } => Ok(Some(photo)),
            other => Err(other.sub_code().unwrap_or(SubCode::AUTHORITY_SOURCE_ERROR)),
        }
    }

    /// The record, then the usage: both idempotent per certify ID, so a completion
    /// retried after a failure here converges without double counting.
    fn write(&mut self, session: &Session, result: &VerifyResult, now: DateTime<Utc>) -> Result<(), Refused> {
        let material: Option<&MaterialInfo> = result.material_info.as_ref();
        let record = NewRecord {
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
        };
        match self.records.insert(record) {
            Ok(()) | Err(RecordError::Duplicate(_)) => {}
            Err(e) => return Err(Refused::new(CallCode::SystemError, format!("recording failed: {e}"))),
        }
        let event = UsageEvent {
            certify_id: session.certify_id,
            account: session.account,
            solution: session.solution,
            sub_code: Some(result.sub_code),
            time: now,
        };
        self.ledger
            .consume(&event, now)
            .map(|_| ())
            .map_err(|e| Refused::new(CallCode::SystemError, format!("metering failed: {e}")))
    }
}

fn parse_certify_id(text: &str) -> Result<CertifyId, Refused> {
    text.parse().map_err(|_| unknown(text))
}

fn unknown(text: &str) -> Refused {
    Refused::new(CallCode::InvalidCertifyId, format!("`{text}` is not a certify ID of this account"))
}

fn expired(text: &str) -> Refused {
    Refused::new(
        CallCode::InvalidCertifyId,
        format!("verification `{text}` was abandoned (not completed in time); start a new one"),
    )
}
