//! The cloud's RPC endpoint (`GET /` or `POST /`, version 2019-03-07): authenticate
//! the request (`shiren-auth`: RPC HMAC-SHA1 or ACS3-HMAC-SHA256, the replay window and
//! nonces), name its requester, apply the account's QPS limit, then run the operation
//! through the staged flow — on one blocking thread when it needs no scoring or a
//! scoring turn is free at once, else scored and committed on the scoring pool — and
//! answer in the cloud's JSON. Authentication failures are
//! the cloud's error responses (HTTP 4xx with `Code`); everything after is HTTP 200
//! with the flow's call code, as the cloud does.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use serde_json::{Value, json};
use shiren_auth::{AuthError, Authenticated, V3Request, parse_query, verify_rpc, verify_v3};
use shiren_catalog::{AccountId, CallCode, ProductCode};
use shiren_verify::{ApiResponse, InitResult, Pending, RequestContext, Requester, VerifyResult, request_id};

use crate::app::{Shared, Unavailable, blocking};
use crate::ids::RandomIds;
use crate::wire::{self, BadParam, Params};

/// Why a request got no business answer.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Failure {
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error("the body is not UTF-8 form data")]
    Body,
    #[error("the account of this AccessKey is not served here")]
    NoTenant,
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error("Request was denied due to user flow control.")]
    Throttled,
    #[error("the action `{0}` is not an operation of Cloudauth 2019-03-07")]
    UnknownAction(String),
}

impl Failure {
    pub(crate) fn code(&self) -> &'static str {
        match self {
            Failure::Auth(e) => e.code(),
            Failure::Body => "InvalidParameter",
            Failure::NoTenant => "InvalidAccessKeyId.NotFound",
            Failure::Unavailable(Unavailable::Busy) => "ServiceUnavailable",
            Failure::Unavailable(_) => "InternalError",
            Failure::Throttled => "Throttling.User",
            Failure::UnknownAction(_) => "InvalidAction.NotFound",
        }
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Failure::Auth(AuthError::AccessKeyNotFound(_))
            | Failure::NoTenant
            | Failure::UnknownAction(_) => StatusCode::NOT_FOUND,
            Failure::Auth(AuthError::RequestTooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            Failure::Auth(AuthError::NonceStoreFull | AuthError::NonceQuotaExceeded { .. })
            | Failure::Throttled => StatusCode::TOO_MANY_REQUESTS,
            Failure::Auth(_) | Failure::Body => StatusCode::BAD_REQUEST,
            Failure::Unavailable(Unavailable::Busy) => StatusCode::SERVICE_UNAVAILABLE,
            Failure::Unavailable(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The cloud's error body. A signature mismatch's message carries the server's
    /// string to sign (the cloud's help for client developers), as `shiren-auth` renders it.
    fn respond(&self, host: &str) -> Response {
        let message = match self {
            // The cloud's wording, which the older Python SDK parses (it reads what
            // follows the first `:` as the string to sign); personal values masked.
            Failure::Auth(e @ AuthError::SignatureDoesNotMatch { .. }) => format!(
                "Specified signature is not matched with our calculation. server string to sign is:{}",
                e.string_to_sign().unwrap_or("")
            ),
            other => other.to_string(),
        };
        let body = json!({
            "RequestId": request_id(&RandomIds),
            "HostId": host,
            "Code": self.code(),
            "Message": message,
            "Recommend": "",
        });
        (self.status(), Json(body)).into_response()
    }
}

/// An authenticated request, ready to run.
pub(crate) struct Call {
    pub(crate) requester: Requester,
    pub(crate) action: String,
    pub(crate) params: Params,
}

/// `GET /` and `POST /`.
pub(crate) async fn handle(
    State(app): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let started = Instant::now();
    let host = headers.get("host").and_then(|h| h.to_str().ok()).unwrap_or("").to_owned();
    let context = RequestContext { source_ip: Some(peer.ip()), secure_transport: Some(false) };
    // One trip to the blocking pool authenticates and begins the operation — and
    // answers it, when it needs no scoring.
    let begun = {
        let app = Arc::clone(&app);
        let (method, uri, headers) = (method.to_string(), uri.clone(), header_pairs(&headers));
        blocking(move || {
            let call = authenticate(&app, &method, &uri, &headers, &body, context, true)
                .map_err(|failure| ("unauthenticated", failure))?;
            let operation = operation_name(&call.action);
            begin(&app, call).map(|begun| (operation, begun)).map_err(|failure| (operation, failure))
        })
        .await
    };
    let (operation, outcome) = match begun {
        Ok(Ok((operation, Begun::Answered(body)))) => (operation, Ok(body)),
        Ok(Ok((operation, Begun::Init(pending)))) => (operation, finish_init(&app, pending).await),
        Ok(Ok((operation, Begun::Verify { pending, compare }))) => {
            let answered = finish(&app, pending).await;
            (operation, answered.map(|r| wire::verify_json(&r, compare)).map_err(Failure::from))
        }
        Ok(Err((operation, failure))) => (operation, Err(failure)),
        Err(unavailable) => ("unauthenticated", Err(Failure::Unavailable(unavailable))),
    };
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(body) => {
            let code = body.get("Code").and_then(Value::as_str).unwrap_or("").to_owned();
            app.metrics.answered(operation, &code, seconds);
            tracing::info!(operation = %operation, code = %code, ms = seconds * 1e3, "answered");
            Json(body).into_response()
        }
        Err(failure) => {
            app.metrics.answered(operation, failure.code(), seconds);
            // The code only: a signature mismatch's message holds the string to sign.
            tracing::info!(operation = %operation, code = failure.code(), ms = seconds * 1e3, "refused");
            failure.respond(&host)
        }
    }
}

pub(crate) fn header_pairs(headers: &HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect()
}

/// Verifies the signature (RPC or V3), remembers the nonce, and names the requester.
/// With `form_body`, the body's form parameters join the query's (RPC); otherwise the
/// body is only hashed into a V3 signature (the console's JSON).
pub(crate) fn authenticate(
    app: &Shared,
    method: &str,
    uri: &Uri,
    headers: &[(String, String)],
    body: &[u8],
    context: RequestContext,
    form_body: bool,
) -> Result<Call, Failure> {
    let now = Utc::now();
    let query = uri.query().unwrap_or("");
    let form = if form_body { std::str::from_utf8(body).map_err(|_| Failure::Body)? } else { "" };
    let tenants =
        app.tenants.0.read().map_err(|_| Unavailable::Worker("the tenant table is poisoned".into()))?;
    let mut nonces = app.verifier.store.nonces(app.nonce_limits);
    let v3 =
        headers.iter().any(|(name, value)| name == "authorization" && value.starts_with("ACS3-HMAC-SHA256"));
    if !v3 && !form_body {
        return Err(AuthError::Missing("Authorization").into());
    }
    let (who, pairs): (Authenticated, Vec<(String, String)>) = if v3 {
        let query_pairs = parse_query(query)?;
        // The canonical URI encodes the decoded path once; a `+` in a path is itself.
        let path = shiren_auth::percent_decode(&uri.path().replace('+', "%2B"))?;
        let request = V3Request { method, path: &path, query: &query_pairs, headers };
        let who = verify_v3(&request, body, &*tenants, &mut nonces, now).map_err(|e| refusal(e, &nonces))?;
        let mut pairs = query_pairs;
        pairs.extend(parse_query(form)?);
        (who, pairs)
    } else {
        let raw = match (query.is_empty(), form.is_empty()) {
            (_, true) => query.to_owned(),
            (true, false) => form.to_owned(),
            (false, false) => format!("{query}&{form}"),
        };
        let who = verify_rpc(method, &raw, &*tenants, &mut nonces, now).map_err(|e| refusal(e, &nonces))?;
        (who, parse_query(&raw)?)
    };
    let account = tenants.account_of(&who.access_key_id).ok_or(Failure::NoTenant)?;
    let action = who.action.clone();
    Ok(Call { requester: Requester::signed(account, who, context), action, params: Params::new(pairs) })
}

/// An authentication refusal, or — when the nonce memory's database failed behind it —
/// an unavailable service (the request is refused either way: fail closed).
fn refusal(e: AuthError, nonces: &shiren_store::SqlNonces<'_>) -> Failure {
    match nonces.last_error() {
        Some(db) => {
            tracing::warn!(error = %db, "the nonce memory is unavailable; refusing");
            Failure::Unavailable(Unavailable::Worker("the replay-protection store is unavailable".into()))
        }
        None => Failure::Auth(e),
    }
}

/// A refusal for a parameter the wire form cannot carry into the flow.
fn bad_param<T>(e: &BadParam) -> ApiResponse<T> {
    ApiResponse::refused(request_id(&RandomIds), CallCode::InvalidParameter, e.to_string())
}

/// Applies the QPS limit of the product the request names (an unknown product is
/// left to the flow, which refuses it with 401).
fn admit(
    app: &Shared,
    account: AccountId,
    operation: &'static str,
    product: Option<&str>,
) -> Result<(), Failure> {
    let limit = product.and_then(|p| p.parse::<ProductCode>().ok()).map(ProductCode::qps_limit);
    match limit {
        Some(limit) if !app.qps.admit(account, operation, limit, Instant::now()) => Err(Failure::Throttled),
        _ => Ok(()),
    }
}

/// An operation begun on the blocking thread that authenticated it: answered, or
/// waiting for the scoring pool.
enum Begun {
    Answered(Value),
    Init(Pending<InitResult>),
    Verify { pending: Pending<VerifyResult>, compare: bool },
}

/// The operations of this endpoint, by name.
const OPERATIONS: [&str; 6] = [
    "InitFaceVerify",
    "DescribeFaceVerify",
    "ContrastFaceVerify",
    "CompareFaceVerify",
    "LivenessFaceVerify",
    "DeleteFaceVerifyResult",
];

/// The operation's name for metrics and logs: one of [`OPERATIONS`], or `unknown` — a
/// caller's made-up action never becomes a label of its own.
fn operation_name(action: &str) -> &'static str {
    OPERATIONS.iter().find(|&&name| name == action).copied().unwrap_or("unknown")
}

/// Begins `call` (the QPS limit, the flow's first stage) on the blocking thread that
/// authenticated it. What needs no scoring — the reads, the erasure, an init without a
/// reference photo to check, a refusal — is committed and answered right here, in the
/// same trip; so is what needs scoring when a scoring turn is free at once. The rest
/// waits for a turn on the scoring pool.
fn begin(app: &Shared, call: Call) -> Result<Begun, Failure> {
    let Call { requester, action, params } = call;
    let verifier = &app.verifier;
    let answered = |body| Ok(Begun::Answered(body));
    let verify = |mut pending: Pending<VerifyResult>, compare| {
        if app.scoring.fulfil_here(verifier, &mut pending) {
            answered(wire::verify_json(&commit_verify(app, pending), compare))
        } else {
            Ok(Begun::Verify { pending, compare })
        }
    };
    match action.as_str() {
        "DescribeFaceVerify" => {
            let id = params.text("CertifyId").unwrap_or_default();
            answered(wire::verify_json(&verifier.describe_face_verify(&requester, &id, Utc::now()), false))
        }
        "DeleteFaceVerifyResult" => {
            let id = params.text("CertifyId").unwrap_or_default();
            answered(match params.delete_mode() {
                Ok(mode) => {
                    wire::delete_json(&verifier.delete_face_verify_result(&requester, &id, mode, Utc::now()))
                }
                Err(e) => wire::delete_json(&bad_param(&e)),
            })
        }
        "InitFaceVerify" => {
            let request = match params.init() {
                Ok(r) => r,
                Err(e) => return answered(wire::init_json(&bad_param(&e), None)),
            };
            admit(app, requester.account, "InitFaceVerify", request.product_code.as_deref())?;
            let mut pending = verifier.begin_init(&requester, &request, Utc::now());
            if app.scoring.fulfil_here(verifier, &mut pending) {
                answered(init_answer(app, &verifier.commit_init(pending, Utc::now())))
            } else {
                Ok(Begun::Init(pending))
            }
        }
        "ContrastFaceVerify" => {
            let request = match params.contrast() {
                Ok(r) => r,
                Err(e) => return answered(wire::verify_json(&bad_param(&e), false)),
            };
            admit(app, requester.account, "ContrastFaceVerify", request.product_code.as_deref())?;
            verify(verifier.begin_contrast(&requester, &request, Utc::now()), false)
        }
        "CompareFaceVerify" => {
            let request = match params.compare() {
                Ok(r) => r,
                Err(e) => return answered(wire::verify_json(&bad_param(&e), true)),
            };
            admit(app, requester.account, "CompareFaceVerify", request.product_code.as_deref())?;
            verify(verifier.begin_compare(&requester, &request, Utc::now()), true)
        }
        "LivenessFaceVerify" => {
            let request = match params.liveness() {
                Ok(r) => r,
                Err(e) => return answered(wire::verify_json(&bad_param(&e), false)),
            };
            admit(app, requester.account, "LivenessFaceVerify", request.product_code.as_deref())?;
            verify(verifier.begin_liveness(&requester, &request, Utc::now()), false)
        }
        _ => Err(Failure::UnknownAction(shiren_auth::Quoted::new(&action).to_string())),
    }
}

/// Checks an init's reference photo on the scoring pool, then commits it.
async fn finish_init(app: &Shared, pending: Pending<InitResult>) -> Result<Value, Failure> {
    let v = Arc::clone(&app.verifier);
    let response =
        app.scoring.fulfil_then(&app.verifier, pending, move |p| v.commit_init(p, Utc::now())).await?;
    Ok(init_answer(app, &response))
}

/// An init's answer, with the device's URL (its per-session token) when it started.
fn init_answer(app: &Shared, response: &ApiResponse<InitResult>) -> Value {
    let url = response.result_object.as_ref().map(|r| {
        format!(
            "{}/device/v1/sessions/{}?token={}",
            app.public_url,
            r.certify_id,
            app.master.device_token(r.certify_id)
        )
    });
    wire::init_json(response, url)
}

/// Fulfils a verification's needs on the scoring pool and commits it there.
pub(crate) async fn finish(
    app: &Shared,
    pending: Pending<VerifyResult>,
) -> Result<ApiResponse<VerifyResult>, Unavailable> {
    let shared = Arc::clone(app);
    app.scoring.fulfil_then(&app.verifier, pending, move |p| commit_verify(&shared, p)).await
}

/// Commits a verification (on a blocking thread) and counts its completion.
pub(crate) fn commit_verify(app: &Shared, pending: Pending<VerifyResult>) -> ApiResponse<VerifyResult> {
    let response = app.verifier.commit(pending, Utc::now());
    if let Some(result) = &response.result_object {
        let completed = crate::metrics::Completed {
            passed: if result.passed { "T" } else { "F" }.to_owned(),
            sub_code: result.sub_code.to_string(),
        };
        app.metrics.completions.get_or_create(&completed).inc();
    }
    response
}
