//! The device side of a session: the person's device submits its photo for a certify
//! ID, authenticated by the session's device token (returned inside `CertifyUrl` at
//! init), never by the caller's AccessKey. The photo completes the session through the
//! staged flow: read on the blocking pool, scored on a scoring turn (on the same thread
//! when one is free at once), committed once.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::Utc;
use serde_json::json;
use shiren_catalog::CertifyId;
use shiren_verify::{ApiResponse, Pending, SessionState, VerifyResult, request_id};

use crate::app::{Shared, Unavailable, blocking};
use crate::ids::RandomIds;

/// `POST /device/v1/sessions/{certify_id}/photo` with `Authorization: Bearer <token>`.
pub(crate) async fn submit_photo(
    State(app): State<Shared>,
    Path(certify_id): Path<String>,
    headers: HeaderMap,
    photo: Bytes,
) -> Response {
    let started = Instant::now();
    let token = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let id = certify_id.parse::<CertifyId>().ok().filter(|id| app.master.device_token_matches(*id, token));
    let Some(id) = id else {
        app.metrics.answered("device", "Unauthorized", started.elapsed().as_secs_f64());
        let body = json!({
            "RequestId": request_id(&RandomIds),
            "Code": "Unauthorized",
            "Message": "the device token does not match this certify ID; use the CertifyUrl returned by InitFaceVerify",
        });
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    };
    // A device submits once, while the session waits: a second photo (a retry after
    // completion, a replayed URL) is refused, never scored again. Two submissions racing
    // while it is pending both score, and the store completes it exactly once. The
    // session is read once, and its completion begun from what was read.
    // When a scoring turn is free at once, the photo is scored and the session committed
    // in that same trip to the blocking pool.
    let shared = Arc::clone(&app);
    let begun = blocking(move || {
        let v = &shared.verifier;
        let mut pending = match v.session(id) {
            Ok(Some(session)) => match session.state {
                SessionState::Pending => v.begin_complete_session(session, photo, Utc::now()),
                SessionState::Completed { .. } => return Taken::Refused(NotTaken::Completed),
                SessionState::Abandoned => return Taken::Refused(NotTaken::Expired),
            },
            Ok(None) => return Taken::Refused(NotTaken::NotFound),
            Err(_) => return Taken::Refused(NotTaken::StoreFailed),
        };
        if shared.scoring.fulfil_here(v, &mut pending) {
            Taken::Answered(crate::rpc::commit_verify(&shared, pending))
        } else {
            Taken::Waits(pending)
        }
    })
    .await;
    let outcome = match begun {
        Ok(Taken::Answered(response)) => Ok(response),
        Ok(Taken::Waits(pending)) => crate::rpc::finish(&app, pending).await,
        Ok(Taken::Refused(not_taken)) => {
            let (status, code, message) = not_taken.answer();
            app.metrics.answered("device", code, started.elapsed().as_secs_f64());
            let body = json!({"RequestId": request_id(&RandomIds), "Code": code, "Message": message});
            return (status, Json(body)).into_response();
        }
        Err(e) => Err(e),
    };
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(response) => {
            let code = response.code.to_string();
            app.metrics.answered("device", &code, seconds);
            tracing::info!(operation = "device", code = %code, ms = seconds * 1e3, "answered");
            // The device learns that its photo was taken, not the verdict: the
            // customer's server reads that with DescribeFaceVerify.
            Json(json!({"RequestId": response.request_id, "Code": code, "Message": response.message}))
                .into_response()
        }
        Err(e) => {
            let (status, code) = match e {
                Unavailable::Busy => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
                Unavailable::Worker(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
            };
            app.metrics.answered("device", code, seconds);
            tracing::warn!(operation = "device", code, error = %e, "unavailable");
            let body = json!({"RequestId": request_id(&RandomIds), "Code": code, "Message": e.to_string()});
            (status, Json(body)).into_response()
        }
    }
}

/// What the trip to the blocking pool made of a device's photo.
enum Taken {
    /// Scored on a turn that was free at once, and committed.
    Answered(ApiResponse<VerifyResult>),
    /// Begun; it waits for a scoring turn.
    Waits(Pending<VerifyResult>),
    /// Not taken.
    Refused(NotTaken),
}

/// Why a device's photo was not taken.
enum NotTaken {
    Completed,
    Expired,
    NotFound,
    StoreFailed,
}

impl NotTaken {
    /// The HTTP status, code and message.
    fn answer(&self) -> (StatusCode, &'static str, &'static str) {
        match self {
            NotTaken::Completed => {
                (StatusCode::CONFLICT, "SessionCompleted", "this verification has completed; start a new one")
            }
            NotTaken::Expired => {
                (StatusCode::CONFLICT, "SessionExpired", "this verification has expired; start a new one")
            }
            NotTaken::NotFound => (StatusCode::NOT_FOUND, "SessionNotFound", "no such verification"),
            NotTaken::StoreFailed => {
                (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable", "the store is unavailable; retry")
            }
        }
    }
}
