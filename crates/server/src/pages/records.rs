//! Record query (认证记录查询): the six filters (scene, product, result, sub code, time
//! range) and one of three identifiers (outer order no, certify ID, ID number), pages by
//! cursor, and the details panel of one record. `SqlStore::query_records` — the call of
//! `DescribeRecords` — answers; the page shows what a record keeps, which is masked
//! already (the name and the ID number are never stored in full). A searched ID number
//! is not echoed back into the form. A stored photo is linked through a pre-signed URL
//! that lives 15 minutes. RAM's `DescribeRecords` decides who may look.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use shiren_auth::{PHOTO_URL_LIFETIME, PhotoObject, Signer, presign_v4};
use shiren_catalog::{CertifyId, OuterOrderNo, ProductCode, ResidentId, SubCode};
use shiren_records::{Cursor, Identifier, Page, Query, Record};
use shiren_scene::{SceneId, SceneRegistry};
use shiren_verify::StoreError;

use super::{Ctx, Lang, Stop, WebState, local_time, with_lang};
use crate::app::blocking;

/// The query string of the page.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct RecordsQuery {
    scene: Option<String>,
    product: Option<String>,
    passed: Option<String>,
    sub_code: Option<String>,
    from: Option<String>,
    to: Option<String>,
    id_kind: Option<String>,
    id_value: Option<String>,
    cursor: Option<String>,
    /// Page size, 1–100 (default 20).
    limit: Option<String>,
    detail: Option<String>,
    lang: Option<String>,
}

/// The default page size.
const PAGE_SIZE: usize = 20;

fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Midnight of `day` in China Standard Time.
fn start_of(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    DateTime::<Utc>::from_naive_utc_and_offset(midnight, Utc) - chrono::Duration::hours(8)
}

/// The domain query of the form, or why the form is not one.
fn to_query(q: &RecordsQuery) -> Result<Query, String> {
    let date = |v: &Option<String>| {
        given(v)
            .map(|d| d.parse::<NaiveDate>().map_err(|_| format!("`{d}` is not a date yyyy-mm-dd")))
            .transpose()
    };
    let identifier = match (given(&q.id_kind), given(&q.id_value)) {
        (_, None) | (None, _) => None,
        (Some("outer_order_no"), Some(v)) => {
            Some(Identifier::OuterOrderNo(OuterOrderNo::new(v).map_err(|e| e.to_string())?))
        }
        (Some("certify_id"), Some(v)) => {
            Some(Identifier::CertifyId(v.parse::<CertifyId>().map_err(|e| e.to_string())?))
        }
        (Some("id_number"), Some(v)) => {
            Some(Identifier::IdNumber(ResidentId::parse(v).map_err(|e| e.to_string())?))
        }
        (Some(other), _) => return Err(format!("unknown identifier `{other}`")),
    };
    Ok(Query {
        scene: given(&q.scene)
            .map(|s| s.parse::<u64>().map(SceneId::new).map_err(|_| "bad scene".to_owned()))
            .transpose()?,
        product: given(&q.product)
            .map(|p| p.parse::<ProductCode>().map_err(|e| e.to_string()))
            .transpose()?,
        passed: match given(&q.passed) {
            None => None,
            Some("T") => Some(true),
            Some("F") => Some(false),
            Some(_) => return Err("the result is T or F".to_owned()),
        },
        sub_code: given(&q.sub_code)
            .map(|v| v.parse::<u16>().map(SubCode::new).map_err(|_| "the sub code is a number".to_owned()))
            .transpose()?,
        from: date(&q.from)?.map(start_of),
        to: date(&q.to)?.map(|d| start_of(d) + chrono::Duration::days(1)),
        identifier,
        after: given(&q.cursor).map(|c| c.parse::<Cursor>().map_err(|e| e.to_string())).transpose()?,
        limit: given(&q.limit)
            .map(|l| l.parse::<usize>().map_err(|_| "the page size is a number, 1–100".to_owned()))
            .transpose()?
            .unwrap_or(PAGE_SIZE),
    })
}

/// The same store call as `DescribeRecords`.
async fn run(ctx: &Ctx, query: Query) -> Result<Result<Page, String>, Stop> {
    let (app, account) = (Arc::clone(&ctx.app), ctx.session.account);
    match blocking(move || app.verifier.store.query_records(account, &query, Utc::now())).await {
        Ok(Ok(page)) => Ok(Ok(page)),
        Ok(Err(StoreError::Record(e))) => Ok(Err(e.to_string())),
        Ok(Err(e)) => Err(ctx.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()).into()),
        Err(e) => Err(ctx.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()).into()),
    }
}

/// `GET /console/records`.
pub(crate) async fn show(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<RecordsQuery>,
) -> Response {
    let ctx = match Ctx::new(&web.app, &headers, peer, q.lang.as_deref()) {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let response = match ctx.require("DescribeRecords") {
        Err(refused) => refused.into_response(),
        Ok(()) => render(&ctx, &q).await.unwrap_or_else(IntoResponse::into_response),
    };
    with_lang(response, q.lang.as_deref())
}

fn yes_no(lang: Lang, v: Option<bool>) -> &'static str {
    match (lang, v) {
        (_, None) => "—",
        (Lang::Zh, Some(true)) => "是",
        (Lang::Zh, Some(false)) => "否",
        (Lang::En, Some(true)) => "yes",
        (Lang::En, Some(false)) => "no",
    }
}

fn score(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| v.to_string())
}

/// A short-lived (`PHOTO_URL_LIFETIME`) pre-signed V4 GET URL of a stored photo in the
/// account's photo bucket, signed with the console's photo-reader key; `None` without a
/// bucket (photo storage not authorized, or the bucket deleted).
fn photo_link(ctx: &Ctx, bucket: Option<&str>, path: &str) -> Option<String> {
    let object =
        PhotoObject { bucket: bucket?.to_owned(), key: path.to_owned(), region: "cn-shanghai".to_owned() };
    let id = ctx.app.master.photo_reader_key_id(&ctx.session.account);
    let secret = ctx.app.master.access_key_secret(&id);
    let signer = Signer { access_key_id: &id, secret: &secret, security_token: None };
    presign_v4(&object, &signer, Utc::now(), PHOTO_URL_LIFETIME).ok()
}

fn details(ctx: &Ctx, bucket: Option<&str>, r: &Record) -> Markup {
    let t = ctx.lang;
    html! {
        section.card #record-details {
            h2 { (t.s("details")) }
            dl.details {
                dt { (t.s("certify_id")) } dd #detail-certify-id { (r.certify_id) }
                dt { (t.s("outer_order_no")) } dd { (r.outer_order_no) }
                dt { (t.s("scene")) } dd { (r.scene_name) " (" (r.scene_id.get()) ")" }
                dt { (t.s("name")) } dd #detail-name { (r.personal.as_ref().map_or("—", |p| p.name.as_str())) }
                dt { (t.s("id_number")) } dd #detail-id-number {
                    (r.personal.as_ref().and_then(|p| p.id_number_masked.as_deref()).unwrap_or("—"))
                }
                dt { (t.s("solution")) } dd { (r.product.tab().title()) " · " (r.product) }
                dt { (t.s("result")) } dd #detail-result { @if r.passed { "T" } @else { "F" } }
                dt { (t.s("sub_code")) } dd #detail-sub-code { (r.sub_code) }
                dt { (t.s("score_id_photo")) } dd { (score(r.scores.face_vs_id_photo)) }
                dt { (t.s("score_authority")) } dd #detail-score { (score(r.scores.face_vs_authority)) }
                dt { (t.s("quality")) } dd #detail-quality { (score(r.scores.quality)) }
                dt { (t.s("attack")) } dd { (yes_no(t, r.attack)) }
                dt { (t.s("occlusion")) } dd { (yes_no(t, r.occlusion)) }
                dt { (t.s("created_at")) } dd { (local_time(r.created_at)) }
                dt { (t.s("photos")) } dd {
                    @for photo in r.personal.iter().flat_map(|p| p.photos.iter()) {
                        @match photo_link(ctx, bucket, photo) {
                            Some(url) => a.photo-link href=(url) target="_blank" rel="noopener noreferrer" { (photo) },
                            None => code { (photo) },
                        }
                        br;
                    }
                }
            }
        }
    }
}

/// A link to this page with the same filters, at `cursor` (a page) and showing the
/// details of `detail`.
fn link(q: &RecordsQuery, cursor: Option<&str>, detail: Option<CertifyId>) -> String {
    let mut pairs: Vec<(&str, String)> = Vec::new();
    for (name, value) in [
        ("scene", &q.scene),
        ("product", &q.product),
        ("passed", &q.passed),
        ("sub_code", &q.sub_code),
        ("from", &q.from),
        ("to", &q.to),
        ("limit", &q.limit),
    ] {
        if let Some(v) = given(value) {
            pairs.push((name, v.to_owned()));
        }
    }
    // The identifier is kept unless it is an ID number (never put into a URL).
    if let (Some(kind), Some(value)) = (given(&q.id_kind), given(&q.id_value))
        && kind != "id_number"
    {
        pairs.push(("id_kind", kind.to_owned()));
        pairs.push(("id_value", value.to_owned()));
    }
    if let Some(cursor) = cursor {
        pairs.push(("cursor", cursor.to_owned()));
    }
    if let Some(id) = detail {
        pairs.push(("detail", id.to_string()));
    }
    let query: Vec<String> =
        pairs.iter().map(|(n, v)| format!("{n}={}", shiren_auth::pop_encode(v))).collect();
    format!("/console/records?{}", query.join("&"))
}

async fn render(ctx: &Ctx, q: &RecordsQuery) -> Result<Response, Stop> {
    let t = ctx.lang;
    let state = ctx.state().await?;
    let scenes = state.scenes.list(&ctx.session.account, None);
    let bucket = state.scenes.authorization(&ctx.session.account).bucket;
    let page = match to_query(q) {
        Ok(query) => run(ctx, query).await?,
        Err(e) => Err(e),
    };
    let detail = match given(&q.detail).map(|d| d.parse::<CertifyId>()) {
        Some(Ok(id)) => {
            let query = Query { identifier: Some(Identifier::CertifyId(id)), limit: 1, ..Query::default() };
            run(ctx, query).await?.ok().and_then(|p| p.records.into_iter().next())
        }
        _ => None,
    };
    let id_kind = given(&q.id_kind).unwrap_or("certify_id");
    // An ID number typed into the form is not shown back.
    let id_value = if id_kind == "id_number" { "" } else { given(&q.id_value).unwrap_or("") };
    let passed = given(&q.passed).unwrap_or("");
    let status = if page.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let body = html! {
        form.card #records-form method="get" action="/console/records" {
            label { (t.s("scene")) " "
                select name="scene" {
                    option value="" { (t.s("all")) }
                    @for s in &scenes {
                        option value=(s.id.get()) selected[given(&q.scene) == Some(s.id.get().to_string().as_str())] { (s.name) }
                    }
                }
            }
            " "
            label { (t.s("product_code")) " "
                select name="product" {
                    option value="" { (t.s("all")) }
                    @for p in ProductCode::ALL {
                        option value=(p) selected[given(&q.product) == Some(p.to_string().as_str())] { (p) }
                    }
                }
            }
            " "
            label { (t.s("status")) " "
                select name="passed" {
                    option value="" { (t.s("all")) }
                    option value="T" selected[passed == "T"] { "T" }
                    option value="F" selected[passed == "F"] { "F" }
                }
            }
            " "
            label { (t.s("sub_code")) " " input type="text" name="sub_code" size="4" value=(given(&q.sub_code).unwrap_or("")); }
            br;
            label { (t.s("from")) " " input type="date" name="from" value=(given(&q.from).unwrap_or("")); }
            " "
            label { (t.s("to")) " " input type="date" name="to" value=(given(&q.to).unwrap_or("")); }
            " "
            label { (t.s("identifier")) " "
                select #records-id-kind name="id_kind" {
                    option value="outer_order_no" selected[id_kind == "outer_order_no"] { (t.s("outer_order_no")) }
                    option value="certify_id" selected[id_kind == "certify_id"] { (t.s("certify_id")) }
                    option value="id_number" selected[id_kind == "id_number"] { (t.s("id_number")) }
                }
            }
            " "
            input #records-id-value type="text" name="id_value" size="34" value=(id_value);
            " "
            button #records-submit type="submit" { (t.s("query")) }
        }
        @match &page {
            Err(message) => p.error #records-error role="alert" { (message) },
            Ok(page) => {
                @if page.records.is_empty() {
                    p #no-records { (t.s("no_records")) }
                } @else {
                    table #records-table {
                        thead { tr {
                            th { (t.s("certify_id")) } th { (t.s("scene")) } th { (t.s("product_code")) }
                            th { (t.s("name")) } th { (t.s("result")) } th { (t.s("sub_code")) } th { (t.s("created_at")) } th {}
                        } }
                        tbody {
                            @for r in &page.records {
                                tr.record data-certify-id=(r.certify_id) {
                                    td { code { (r.certify_id) } } td { (r.scene_name) } td { (r.product) }
                                    td { (r.personal.as_ref().map_or("—", |p| p.name.as_str())) }
                                    td { @if r.passed { "T" } @else { "F" } } td { (r.sub_code) }
                                    td { (local_time(r.created_at)) }
                                    td { a.detail-link href=(link(q, given(&q.cursor), Some(r.certify_id))) { (t.s("details")) } }
                                }
                            }
                        }
                    }
                }
                @if let Some(next) = &page.next {
                    p { a #next-page href=(link(q, Some(&next.to_string()), None)) { (t.s("next_page")) } }
                }
            }
        }
        @if let Some(record) = &detail { (details(ctx, bucket.as_deref(), record)) }
    };
    Ok((status, ctx.page("records", body)).into_response())
}
