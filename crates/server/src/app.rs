//! What every handler shares ([`App`]) and the router: which path goes where, and the
//! request limits in front of them. Handlers never run the flow on the async runtime:
//! store calls go to the blocking pool ([`blocking`]), face scoring to the bounded
//! scoring pool ([`crate::scoring::Scoring`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use shiren_auth::NonceLimits;
use shiren_store::SqlStore;
use shiren_verify::Verifier;
use shiren_verify::request_id;
use tower_http::timeout::TimeoutLayer;

use crate::ids::RandomIds;
use crate::keys::MasterKey;
use crate::metrics::Metrics;
use crate::qps::QpsLimits;
use crate::scoring::Scoring;
use crate::tenants::SharedTenants;

/// The largest request body read: a 1 MB photo as Base64, percent-encoded, with the
/// other parameters (the RPC signature's own limit, `shiren_auth::MAX_RPC_REQUEST_BYTES`,
/// is 2 MiB as well).
pub(crate) const MAX_BODY_BYTES: usize = 2 << 20;

/// The shared state.
pub(crate) struct App {
    /// The flow over the durable store.
    pub(crate) verifier: Arc<Verifier<SqlStore>>,
    /// The served accounts' directories and keys.
    pub(crate) tenants: SharedTenants,
    /// Replay protection: the quotas of the nonce memory, which lives in the store so
    /// that every process sharing the database refuses a replay.
    pub(crate) nonce_limits: NonceLimits,
    /// The master key (device tokens).
    pub(crate) master: MasterKey,
    /// Face scoring, bounded.
    pub(crate) scoring: Scoring,
    /// Per-account QPS limits.
    pub(crate) qps: QpsLimits,
    /// Counters and histograms.
    pub(crate) metrics: Metrics,
    /// The base URL devices reach this server at (`http://host:port`).
    pub(crate) public_url: String,
}

/// The handlers' view of [`App`].
pub(crate) type Shared = Arc<App>;

/// Why the server could not answer (not a refusal: those are responses).
#[derive(Debug, thiserror::Error)]
pub(crate) enum Unavailable {
    /// A blocking task panicked or was cancelled.
    #[error("the worker stopped: {0}")]
    Worker(String),
    /// The scoring queue is full.
    #[error("the face scoring queue is full; retry shortly")]
    Busy,
}

/// Runs `work` (store I/O, never face scoring) on tokio's blocking pool; a panic in it
/// is [`Unavailable::Worker`].
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Unavailable> {
    tokio::task::spawn_blocking(work).await.map_err(|e| Unavailable::Worker(e.to_string()))
}

/// The routes, with the body limit and a time limit per request.
pub(crate) fn router(app: Shared, request_timeout: Duration) -> Router {
    // The console's HTML pages answer refusals as pages, so they sit outside `json_errors`.
    let pages = crate::pages::router(Arc::clone(&app), request_timeout);
    Router::new()
        .route("/", get(crate::rpc::handle).post(crate::rpc::handle))
        .route("/device/v1/sessions/{certify_id}/photo", post(crate::device::submit_photo))
        .route("/console/v1/scenes", get(crate::console::list_scenes).post(crate::console::create_scene))
        .route(
            "/console/v1/scenes/{id}",
            axum::routing::put(crate::console::rename_scene).delete(crate::console::delete_scene),
        )
        .route("/console/v1/authorization", post(crate::console::authorize))
        .route("/console/v1/packs", get(crate::console::list_packs).post(crate::console::purchase_pack))
        .route("/console/v1/packs/{id}/alert", axum::routing::put(crate::console::set_alert))
        .route("/console/v1/packs/{id}/refund-quote", get(crate::console::refund_quote))
        .route("/console/v1/bills", get(crate::console::list_bills))
        .route("/console/v1/records", get(crate::console::list_records))
        .route("/console/v1/statistics", get(crate::console::statistics))
        .route("/console/v1/statements/{month}", get(crate::console::statement))
        .route("/openapi.json", get(crate::console::openapi))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(crate::metrics::render))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(axum::middleware::map_response(json_errors))
        .with_state(app)
        .merge(pages)
}

/// Refusals made before a handler ran (body too large, time out, no such path or
/// method) answer in the API's JSON envelope like every other refusal.
async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "RequestEntityTooLarge",
        StatusCode::REQUEST_TIMEOUT => "RequestTimeout",
        StatusCode::NOT_FOUND => "NotFound",
        StatusCode::METHOD_NOT_ALLOWED => "MethodNotAllowed",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UnsupportedMediaType",
        s if s.is_client_error() => "InvalidParameter",
        _ => "InternalError",
    };
    let message = match status {
        StatusCode::PAYLOAD_TOO_LARGE => format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
        other => other.canonical_reason().unwrap_or("refused").to_owned(),
    };
    let body = json!({"RequestId": request_id(&RandomIds), "Code": code, "Message": message});
    (status, Json(body)).into_response()
}
