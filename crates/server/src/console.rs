//! The console's JSON API (`/console/v1/…`): scenes, photo-storage authorization,
//! traffic packs, bills, record queries and statistics of the caller's main account. Authenticated like the RPC API
//! (ACS3-HMAC-SHA256 signatures over the path, query and JSON body; `x-acs-action`
//! names the operation and must be this path's), then RAM decides on the console's
//! actions (`yundun-cloudauth:<Operation>`: `AliyunYundunCloudAuthReadOnlyAccess` reads,
//! `AliyunYundunCloudAuthFullAccess` also changes). Every change goes through the domain
//! crates' own APIs inside `SqlStore::update_account` (one transaction under the
//! account's lock); this file only routes, authorizes and shapes JSON.
//!
//! Answers: HTTP 200 `{"RequestId", "Code": "200", "Message": "success", "Data": …}`;
//! a refusal is HTTP 400/403/404 with the same envelope and no `Data`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shiren_catalog::{
    AccountId, CertifyId, OuterOrderNo, PACK_CATALOG, PackType, ProductCode, ResidentId, Solution, SubCode,
};
use shiren_meter::{IdSource, PackId};
use shiren_records::{Cursor, Identifier, Query, StatsRange};
use shiren_scene::{NewScene, PhotoStorage, SceneId, SceneRegistry};
use shiren_store::AccountState;
use shiren_verify::{RequestContext, Requester, request_id};
use utoipa::{OpenApi, ToSchema};

use crate::app::{Shared, blocking};
use crate::ids::RandomIds;

/// The longest range of daily bills one call returns.
const MAX_BILL_DAYS: i64 = 92;

/// A refusal of the console API.
#[derive(Debug, thiserror::Error)]
enum Refusal {
    /// Authentication failed (the RPC endpoint's codes).
    #[error("{message}")]
    Auth { code: &'static str, status: StatusCode, message: String },
    /// RAM does not allow the operation.
    #[error(
        "the caller may not call `{0}`; attach AliyunYundunCloudAuthFullAccess (or ReadOnlyAccess to read)"
    )]
    Forbidden(String),
    /// The request is not what the operation reads.
    #[error("{0}")]
    Invalid(String),
    /// What it names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The store failed.
    #[error("{0}")]
    Unavailable(String),
}

impl Refusal {
    fn respond(&self) -> Response {
        let (status, code) = match self {
            Refusal::Auth { code, status, .. } => (*status, *code),
            Refusal::Forbidden(_) => (StatusCode::FORBIDDEN, "Forbidden.RAM"),
            Refusal::Invalid(_) => (StatusCode::BAD_REQUEST, "InvalidParameter"),
            Refusal::NotFound(_) => (StatusCode::NOT_FOUND, "NotFound"),
            Refusal::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "ServiceUnavailable"),
        };
        let body = json!({"RequestId": request_id(&RandomIds), "Code": code, "Message": self.to_string()});
        (status, Json(body)).into_response()
    }
}

fn invalid(e: impl std::fmt::Display) -> Refusal {
    Refusal::Invalid(e.to_string())
}

/// A store answer: the domain's refusal is the caller's (400), anything else the
/// service's (503).
fn refused_or_failed(e: shiren_verify::StoreError) -> Refusal {
    match e {
        shiren_verify::StoreError::Ledger(e) => invalid(e),
        e => unavailable(e),
    }
}

fn unavailable(e: impl std::fmt::Display) -> Refusal {
    Refusal::Unavailable(e.to_string())
}

/// An authenticated, authorized console call.
struct Console {
    app: Shared,
    account: AccountId,
    body: Bytes,
    query: Vec<(String, String)>,
}

impl Console {
    /// A JSON body.
    fn json<T: for<'de> Deserialize<'de>>(&self) -> Result<T, Refusal> {
        serde_json::from_slice(&self.body).map_err(|e| invalid(format_args!("the JSON body: {e}")))
    }

    /// A query parameter.
    fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The account's state (validated on load).
    fn state(&self) -> Result<AccountState, Refusal> {
        self.app
            .verifier
            .store
            .account(self.account)
            .map_err(unavailable)?
            .ok_or_else(|| Refusal::NotFound("the account has no state here".into()))
    }

    /// Changes the account's state in one transaction; saved only on `Ok`.
    fn change<T: Send + 'static>(
        &self,
        change: impl FnOnce(&mut AccountState, AccountId) -> Result<T, Refusal> + Send + 'static,
    ) -> Result<T, Refusal> {
        let account = self.account;
        self.app
            .verifier
            .store
            .update_account(account, move |state| change(state, account))
            .map_err(unavailable)?
    }
}

/// What authentication reads of a request: the peer, the method, the URI, the headers
/// and the raw body (the signature covers its hash). The one extractor of every console
/// handler; path parameters come before it.
pub(crate) struct Signed {
    peer: SocketAddr,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Signed {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Signed, Response> {
        let (mut parts, body) = request.into_parts();
        let ConnectInfo(peer) = ConnectInfo::<SocketAddr>::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let (method, uri, headers) = (parts.method.clone(), parts.uri.clone(), parts.headers.clone());
        // Through `Bytes`' own extractor, so the body limit still applies.
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Signed { peer, method, uri, headers, body })
    }
}

/// Authenticates (ACS3 over the raw request), checks that the signed action is
/// `operation`, and asks RAM for `yundun-cloudauth:<operation>`.
async fn admit(app: &Shared, operation: &'static str, signed: Signed) -> Result<Console, Refusal> {
    let Signed { peer, method, uri, headers, body } = signed;
    let context = RequestContext { source_ip: Some(peer.ip()), secure_transport: Some(false) };
    let worker = Arc::clone(app);
    let signed_body = body.clone();
    let call = blocking(move || {
        crate::rpc::authenticate(
            &worker,
            method.as_str(),
            &uri,
            &crate::rpc::header_pairs(&headers),
            &signed_body,
            context,
            false,
        )
        .map(|call| (call, uri))
    })
    .await
    .map_err(unavailable)?;
    let (call, uri) =
        call.map_err(|f| Refusal::Auth { code: f.code(), status: f.status(), message: f.to_string() })?;
    if call.action != operation {
        return Err(invalid(format_args!(
            "x-acs-action names `{}`, but this path is `{operation}`",
            shiren_auth::Quoted::new(&call.action)
        )));
    }
    let requester = Requester { signed_action: None, ..call.requester };
    let action = format!("yundun-cloudauth:{operation}");
    if !app.verifier.plugins().permissions.allows(&requester, &action, Utc::now()) {
        return Err(Refusal::Forbidden(action));
    }
    let query = shiren_auth::parse_query(uri.query().unwrap_or("")).map_err(invalid)?;
    Ok(Console { app: Arc::clone(app), account: requester.account, body, query })
}

/// Runs an admitted call on the blocking pool and answers.
async fn answer(
    app: Shared,
    operation: &'static str,
    signed: Signed,
    run: impl FnOnce(&Console) -> Result<Value, Refusal> + Send + 'static,
) -> Response {
    let started = Instant::now();
    let outcome = match admit(&app, operation, signed).await {
        Ok(console) => blocking(move || run(&console)).await.unwrap_or_else(|e| Err(unavailable(e))),
        Err(refusal) => Err(refusal),
    };
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(data) => {
            app.metrics.answered(operation, "200", seconds);
            tracing::info!(operation, code = "200", ms = seconds * 1e3, "answered");
            let body = json!({"RequestId": request_id(&RandomIds), "Code": "200", "Message": "success", "Data": data});
            Json(body).into_response()
        }
        Err(refusal) => {
            let response = refusal.respond();
            app.metrics.answered(operation, response.status().as_str(), seconds);
            tracing::info!(operation, status = response.status().as_u16(), ms = seconds * 1e3, "refused");
            response
        }
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Value, Refusal> {
    serde_json::to_value(value).map_err(unavailable)
}

fn scene_id(id: &str) -> Result<SceneId, Refusal> {
    id.parse::<u64>()
        .map(SceneId::new)
        .map_err(|_| invalid(format_args!("`{}` is not a scene ID", shiren_auth::Quoted::new(id))))
}

/// Pack IDs from the CSPRNG: 32 digits, unique across processes.
struct RandomPackIds;

impl IdSource for RandomPackIds {
    fn next_pack_number(&mut self) -> u128 {
        rand::random::<u128>() % 100_000_000_000_000_000_000_000_000_000_000
    }
}

// ---- scenes -----------------------------------------------------------------------

/// `CreateScene`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct CreateScene {
    /// The scene's name: 1–20 characters after trimming, each a letter, digit, Chinese character or `-`;
    /// unique per solution tab.
    name: String,
    /// The access solution (`App`, `H5`, `ServerSide`, `AlipayMiniProgram`, `AlipayH5`,
    /// `LivenessFaceVerification`, `LivenessDetection`, `FaceComparison`).
    #[schema(value_type = String)]
    solution: Solution,
    /// A product code of the solution (`ID_PRO`, `PV_FV`, …).
    #[schema(value_type = String)]
    product_code: ProductCode,
    /// Photo write-back settings (the default when absent).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    storage: Option<PhotoStorage>,
}

/// `UpdateScene`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct RenameScene {
    /// The new name (the rules of `CreateScene`'s `Name`).
    name: String,
}

/// `CreateAuthorization`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct Authorize {
    /// Also authorize photo storage (creates the photo bucket).
    object_storage: bool,
}

/// `GET /console/v1/scenes` — `DescribeScenes`.
#[utoipa::path(get, path = "/console/v1/scenes", operation_id = "DescribeScenes", tag = "scenes",
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn list_scenes(State(app): State<Shared>, signed: Signed) -> Response {
    answer(app, "DescribeScenes", signed, |c| {
        let state = c.state()?;
        to_json(&json!({
            "Scenes": state.scenes.list(&c.account, None),
            "Authorization": state.scenes.authorization(&c.account),
        }))
    })
    .await
}

/// `POST /console/v1/scenes` — `CreateScene`.
#[utoipa::path(post, path = "/console/v1/scenes", operation_id = "CreateScene", tag = "scenes", request_body = CreateScene,
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn create_scene(State(app): State<Shared>, signed: Signed) -> Response {
    answer(app, "CreateScene", signed, |c| {
        let req: CreateScene = c.json()?;
        let now = Utc::now();
        let scene = c.change(move |state, account| {
            let new = NewScene {
                account,
                name: req.name,
                solution: req.solution,
                product: req.product_code,
                storage: req.storage.unwrap_or(PhotoStorage::DEFAULT),
                mini_program: None,
            };
            state.scenes.create(new, now).map_err(invalid)
        })?;
        to_json(&scene)
    })
    .await
}

/// `PUT /console/v1/scenes/{id}` — `UpdateScene` (rename).
#[utoipa::path(put, path = "/console/v1/scenes/{id}", operation_id = "UpdateScene", tag = "scenes", request_body = RenameScene,
    params(("id" = u64, Path, description = "The scene ID")),
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn rename_scene(
    State(app): State<Shared>,
    Path(id): Path<String>,
    signed: Signed,
) -> Response {
    answer(app, "UpdateScene", signed, move |c| {
        let req: RenameScene = c.json()?;
        let id = scene_id(&id)?;
        let now = Utc::now();
        let scene = c.change(move |state, account| {
            state.scenes.rename(&account, id, &req.name, now).map_err(invalid)
        })?;
        to_json(&scene)
    })
    .await
}

/// `DELETE /console/v1/scenes/{id}` — `DeleteScene`.
#[utoipa::path(delete, path = "/console/v1/scenes/{id}", operation_id = "DeleteScene", tag = "scenes",
    params(("id" = u64, Path, description = "The scene ID")),
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn delete_scene(
    State(app): State<Shared>,
    Path(id): Path<String>,
    signed: Signed,
) -> Response {
    answer(app, "DeleteScene", signed, move |c| {
        let id = scene_id(&id)?;
        let scene = c.change(move |state, account| {
            state.scenes.delete(&account, id).map_err(|e| Refusal::NotFound(e.to_string()))
        })?;
        to_json(&scene)
    })
    .await
}

/// `POST /console/v1/authorization` — `CreateAuthorization` (the service, and photo
/// storage when asked: the bucket is created).
#[utoipa::path(post, path = "/console/v1/authorization", operation_id = "CreateAuthorization", tag = "scenes", request_body = Authorize,
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn authorize(State(app): State<Shared>, signed: Signed) -> Response {
    answer(app, "CreateAuthorization", signed, |c| {
        let req: Authorize = c.json()?;
        let granted =
            c.change(move |state, account| Ok(state.scenes.authorize(&account, req.object_storage)))?;
        to_json(&granted)
    })
    .await
}

// ---- traffic packs ----------------------------------------------------------------

/// `PurchasePack`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct Purchase {
    /// `RealPerson`, `LivenessFace` or `FaceVerify`.
    #[schema(value_type = String)]
    pack_type: PackType,
    /// A size the catalog sells.
    units: u64,
}

/// `SetPackAlert`'s body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub(crate) struct AlertRequest {
    /// The share of the pack left that raises the alert, 0–1, as a decimal string.
    #[schema(value_type = String)]
    threshold: Decimal,
}

fn pack_id(text: &str) -> Result<PackId, Refusal> {
    text.parse::<PackId>().map_err(invalid)
}

/// `GET /console/v1/packs` — `DescribePacks`.
#[utoipa::path(get, path = "/console/v1/packs", operation_id = "DescribePacks", tag = "packs",
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn list_packs(State(app): State<Shared>, signed: Signed) -> Response {
    answer(app, "DescribePacks", signed, |c| {
        let state = c.state()?;
        let now = Utc::now();
        let totals: Vec<_> = PackType::ALL.iter().map(|t| state.meter.totals(&c.account, *t, now)).collect();
        to_json(&json!({"Packs": state.meter.packs(&c.account, now), "Totals": totals}))
    })
    .await
}

/// `POST /console/v1/packs` — `PurchasePack`, at the catalog's price for that size.
#[utoipa::path(post, path = "/console/v1/packs", operation_id = "PurchasePack", tag = "packs", request_body = Purchase,
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn purchase_pack(State(app): State<Shared>, signed: Signed) -> Response {
    answer(app, "PurchasePack", signed, |c| {
        let req: Purchase = c.json()?;
        let spec =
            PACK_CATALOG.iter().find(|s| s.pack_type == req.pack_type && s.units == req.units).ok_or_else(
                || invalid(format_args!("no {} pack of {} units is sold", req.pack_type.title(), req.units)),
            )?;
        let price = spec.price;
        let now = Utc::now();
        let pack = c.change(move |state, account| {
            state
                .meter
                .purchase(&account, req.pack_type, req.units, price, now, &mut RandomPackIds)
                .map_err(invalid)
        })?;
        to_json(&pack)
    })
    .await
}

/// `PUT /console/v1/packs/{id}/alert` — `SetPackAlert`.
#[utoipa::path(put, path = "/console/v1/packs/{id}/alert", operation_id = "SetPackAlert", tag = "packs", request_body = AlertRequest,
    params(("id" = String, Path, description = "The pack ID (cloudauthflowbag-…)")),
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn set_alert(State(app): State<Shared>, Path(id): Path<String>, signed: Signed) -> Response {
    answer(app, "SetPackAlert", signed, move |c| {
        let req: AlertRequest = c.json()?;
        let id = pack_id(&id)?;
        let alert = c.change(move |state, account| {
            state.meter.set_alert(&account, &id, req.threshold).map_err(invalid)
        })?;
        to_json(&alert)
    })
    .await
}

/// `GET /console/v1/packs/{id}/refund-quote` — `QueryRefundQuote`.
#[utoipa::path(get, path = "/console/v1/packs/{id}/refund-quote", operation_id = "QueryRefundQuote", tag = "packs",
    params(("id" = String, Path, description = "The pack ID (cloudauthflowbag-…)")),
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn refund_quote(
    State(app): State<Shared>,
    Path(id): Path<String>,
    signed: Signed,
) -> Response {
    answer(app, "QueryRefundQuote", signed, move |c| {
        let id = pack_id(&id)?;
        let quote = c
            .state()?
            .meter
            .refund_quote(&c.account, &id, Utc::now())
            .map_err(|e| Refusal::NotFound(e.to_string()))?;
        to_json(&quote)
    })
    .await
}

// ---- bills --------------------------------------------------------------------------

fn date(c: &Console, name: &str, default: NaiveDate) -> Result<NaiveDate, Refusal> {
    c.query(name)
        .map(|d| {
            d.parse::<NaiveDate>().map_err(|_| invalid(format_args!("`{name}` must be a date yyyy-mm-dd")))
        })
        .transpose()
        .map(|d| d.unwrap_or(default))
}

/// `GET /console/v1/bills?From=yyyy-mm-dd&To=yyyy-mm-dd` — `DescribeDailyBills` (at most
/// 92 days; default the last 7), with the balance and standing now.
#[utoipa::path(get, path = "/console/v1/bills", operation_id = "DescribeDailyBills", tag = "bills",
    params(("From" = Option<String>, Query, description = "First day, yyyy-mm-dd"), ("To" = Option<String>, Query, description = "Last day, yyyy-mm-dd")),
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn list_bills(State(app): State<Shared>, signed: Signed) -> Response {
    answer(app, "DescribeDailyBills", signed, |c| {
        let state = c.state()?;
        let now: DateTime<Utc> = Utc::now();
        let today = state.biller.config().zone().day_of(now);
        let to = date(c, "To", today)?;
        let from = date(c, "From", to - chrono::Duration::days(6))?;
        let days = (to - from).num_days();
        if !(0..MAX_BILL_DAYS).contains(&days) {
            return Err(invalid(format_args!(
                "From must not be after To, and the range at most {MAX_BILL_DAYS} days"
            )));
        }
        // Archived days come from the store's table.
        let bills = c.app.verifier.store.bills(c.account, from, to).map_err(refused_or_failed)?;
        let balance = state.biller.balance(&c.account, now).map_err(invalid)?;
        let standing = state.biller.standing(&c.account, now).map_err(invalid)?;
        to_json(&json!({"Bills": bills, "Balance": balance, "Standing": standing}))
    })
    .await
}

/// `GET /console/v1/statements/{yyyy-mm}` — `DescribeMonthlyStatement`.
#[utoipa::path(get, path = "/console/v1/statements/{month}", operation_id = "DescribeMonthlyStatement", tag = "bills",
    params(("month" = String, Path, description = "yyyy-mm")),
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn statement(
    State(app): State<Shared>,
    Path(month): Path<String>,
    signed: Signed,
) -> Response {
    answer(app, "DescribeMonthlyStatement", signed, move |c| {
        let first = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
            .map_err(|_| invalid("the month must be yyyy-mm"))?;
        let statement = c
            .app
            .verifier
            .store
            .statement(c.account, first.year(), first.month())
            .map_err(refused_or_failed)?;
        to_json(&statement)
    })
    .await
}

// ---- records and statistics -----------------------------------------------------------

fn rfc3339(c: &Console, name: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    c.query(name)
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| invalid(format_args!("`{name}` must be an RFC 3339 time")))
        })
        .transpose()
}

/// The record query of the console's six filters and one of three identifiers.
fn record_query(c: &Console) -> Result<Query, Refusal> {
    let identifiers = [
        c.query("OuterOrderNo").map(|v| OuterOrderNo::new(v).map(Identifier::OuterOrderNo).map_err(invalid)),
        c.query("CertifyId").map(|v| v.parse::<CertifyId>().map(Identifier::CertifyId).map_err(invalid)),
        c.query("IdNumber").map(|v| ResidentId::parse(v).map(Identifier::IdNumber).map_err(invalid)),
    ];
    let mut given = identifiers.into_iter().flatten();
    let identifier = given.next().transpose()?;
    if given.next().is_some() {
        return Err(invalid("give at most one of OuterOrderNo, CertifyId and IdNumber"));
    }
    let passed = match c.query("Passed") {
        None => None,
        Some("T") => Some(true),
        Some("F") => Some(false),
        Some(_) => return Err(invalid("`Passed` is T or F")),
    };
    Ok(Query {
        scene: c.query("SceneId").map(scene_id).transpose()?,
        product: c.query("ProductCode").map(|p| p.parse::<ProductCode>().map_err(invalid)).transpose()?,
        passed,
        sub_code: c
            .query("SubCode")
            .map(|v| v.parse::<u16>().map(SubCode::new).map_err(|_| invalid("`SubCode` is a number")))
            .transpose()?,
        from: rfc3339(c, "From")?,
        to: rfc3339(c, "To")?,
        identifier,
        after: c.query("Cursor").map(|v| v.parse::<Cursor>().map_err(invalid)).transpose()?,
        limit: c
            .query("Limit")
            .map(|v| v.parse::<usize>().map_err(|_| invalid("`Limit` is a number, 1–100")))
            .transpose()?
            .unwrap_or(0),
    })
}

/// `GET /console/v1/records` — `DescribeRecords`: one page, newest first.
#[utoipa::path(get, path = "/console/v1/records", operation_id = "DescribeRecords", tag = "records",
    params(
        ("SceneId" = Option<u64>, Query, description = "Only this scene"),
        ("ProductCode" = Option<String>, Query, description = "Only this product"),
        ("Passed" = Option<String>, Query, description = "T or F"),
        ("SubCode" = Option<u16>, Query, description = "Only this sub code"),
        ("From" = Option<String>, Query, description = "Created at or after (RFC 3339)"),
        ("To" = Option<String>, Query, description = "Created before (RFC 3339)"),
        ("OuterOrderNo" = Option<String>, Query, description = "One identifier: the order number"),
        ("CertifyId" = Option<String>, Query, description = "One identifier: the certify ID"),
        ("IdNumber" = Option<String>, Query, description = "One identifier: the resident ID number (matched by its keyed digest)"),
        ("Cursor" = Option<String>, Query, description = "The previous page's `Next`"),
        ("Limit" = Option<u32>, Query, description = "Page size 1–100 (default 20)"),
    ),
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn list_records(State(app): State<Shared>, signed: Signed) -> Response {
    answer(app, "DescribeRecords", signed, |c| {
        let query = record_query(c)?;
        let page =
            c.app.verifier.store.query_records(c.account, &query, Utc::now()).map_err(|e| match e {
                shiren_verify::StoreError::Record(e) => invalid(e),
                other => unavailable(other),
            })?;
        to_json(&json!({"Records": page.records, "Next": page.next}))
    })
    .await
}

/// `GET /console/v1/statistics` — `DescribeStatistics` of one scene: `Range=7d`
/// (default), `30d`, or `From`/`To` dates (at most 180 days).
#[utoipa::path(get, path = "/console/v1/statistics", operation_id = "DescribeStatistics", tag = "records",
    params(
        ("SceneId" = u64, Query, description = "The scene"),
        ("Range" = Option<String>, Query, description = "7d (default) or 30d"),
        ("From" = Option<String>, Query, description = "First day yyyy-mm-dd (with To: a custom range ≤ 180 days)"),
        ("To" = Option<String>, Query, description = "Last day yyyy-mm-dd"),
    ),
    responses((status = 200, body = Answer), (status = "4XX", body = Answer)), security(("acs3" = [])))]
pub(crate) async fn statistics(State(app): State<Shared>, signed: Signed) -> Response {
    answer(app, "DescribeStatistics", signed, |c| {
        let scene = scene_id(c.query("SceneId").ok_or_else(|| invalid("`SceneId` is required"))?)?;
        let day = |name: &str| {
            c.query(name)
                .map(|d| {
                    d.parse::<NaiveDate>()
                        .map_err(|_| invalid(format_args!("`{name}` must be a date yyyy-mm-dd")))
                })
                .transpose()
        };
        let range = match (c.query("Range"), day("From")?, day("To")?) {
            (None | Some("7d"), None, None) => StatsRange::Last7Days,
            (Some("30d"), None, None) => StatsRange::Last30Days,
            (None, Some(from), Some(to)) => StatsRange::Custom { from, to },
            _ => return Err(invalid("give Range (7d or 30d), or both From and To")),
        };
        let stats =
            c.app.verifier.store.statistics(c.account, scene, range, Utc::now()).map_err(|e| match e {
                shiren_verify::StoreError::Record(e) => invalid(e),
                other => unavailable(other),
            })?;
        to_json(&stats)
    })
    .await
}

/// The envelope of every console answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct Answer {
    /// The request's ID.
    request_id: String,
    /// `"200"` on success, else the refusal's code (`InvalidParameter`, `Forbidden.RAM`,
    /// `NotFound`, `SignatureDoesNotMatch`, …).
    code: String,
    /// What happened.
    message: String,
    /// The result, on success.
    #[schema(value_type = Option<Object>)]
    data: Option<Value>,
}

/// The console API's OpenAPI document, generated from the handlers above.
#[derive(OpenApi)]
#[openapi(
    info(title = "shiren console API", description = "Scenes, photo-storage authorization, traffic packs and bills of the caller's main account. Every request is signed with ACS3-HMAC-SHA256 (`Authorization`, `x-acs-action` = the operation ID, `x-acs-date`, `x-acs-signature-nonce`, `x-acs-content-sha256`)."),
    paths(list_scenes, create_scene, rename_scene, delete_scene, authorize, list_packs, purchase_pack, set_alert, refund_quote, list_bills, statement, list_records, statistics),
    components(schemas(Answer, CreateScene, RenameScene, Authorize, Purchase, AlertRequest)),
    modifiers(&Acs3),
)]
pub(crate) struct ConsoleApi;

/// Declares the ACS3 signature as the security scheme.
struct Acs3;

impl utoipa::Modify for Acs3 {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "acs3",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("Authorization"))),
        );
    }
}

/// `GET /openapi.json`.
pub(crate) async fn openapi() -> Response {
    match ConsoleApi::openapi().to_json() {
        Ok(text) => ([(axum::http::header::CONTENT_TYPE, "application/json")], text).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
