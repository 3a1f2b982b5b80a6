//! Traffic packs (流量包): the list with status, total, remaining, effective and expiry
//! times, the per-type totals, and the remaining-quota alert set in a dialog. The meter
//! (`shiren_meter`) answers and decides (`Meter::packs`, `Meter::set_alert` — the calls of
//! `DescribePacks` and `SetPackAlert`); RAM decides who may see and set.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::{PreEscaped, html};
use rust_decimal::Decimal;
use serde::Deserialize;
use shiren_catalog::PackType;
use shiren_meter::{PackId, PackStatus};
use shiren_store::AccountState;

use super::{Ctx, DIALOG_SCRIPT, Lang, WebState, local_time, see_other, with_lang};

/// `?lang=`.
#[derive(Debug, Deserialize)]
pub(crate) struct PacksQuery {
    lang: Option<String>,
}

/// The alert dialog's form.
#[derive(Debug, Deserialize)]
pub(crate) struct AlertForm {
    csrf: Option<String>,
    /// Percent of the pack left, 0–100.
    percent: Option<String>,
}

fn status(t: Lang, s: PackStatus) -> &'static str {
    match s {
        PackStatus::Valid => t.s("valid"),
        PackStatus::UsedUp => t.s("used_up"),
        PackStatus::Expired => t.s("expired"),
    }
}

fn render(ctx: &Ctx, state: &AccountState, error: Option<&str>, code: StatusCode) -> Response {
    let t = ctx.lang;
    let now = Utc::now();
    let account = ctx.session.account;
    let packs = state.meter.packs(&account, now);
    let totals: Vec<_> = PackType::ALL.iter().map(|p| state.meter.totals(&account, *p, now)).collect();
    let may_alert = ctx.may("SetPackAlert");
    let body = html! {
        @if let Some(error) = error { p.error #pack-error role="alert" { (error) } }
        table #pack-totals {
            thead { tr { th { (t.s("pack_name")) } th { (t.s("total")) } th { (t.s("remaining")) } } }
            tbody {
                @for total in &totals {
                    tr { td { (total.pack_type.title()) } td { (total.total) } td { (total.current) } }
                }
            }
        }
        h2 { (t.s("packs")) }
        table #packs-table {
            thead { tr {
                th { (t.s("pack_name")) } th { (t.s("pack_id")) } th { (t.s("status")) } th { (t.s("total")) }
                th { (t.s("remaining")) } th { (t.s("effective")) } th { (t.s("expiry")) } th {}
            } }
            tbody {
                @for pack in &packs {
                    tr.pack data-pack-id=(pack.id) {
                        td { (pack.name) } td { code { (pack.id) } } td.status { (status(t, pack.status)) }
                        td.total { (pack.total) } td.remaining { (pack.remaining) }
                        td { (local_time(pack.effective)) } td { (local_time(pack.expiry)) }
                        td {
                            @if may_alert {
                                button.alert-open type="button" data-dialog={ "alert-" (pack.id) } { (t.s("alert")) }
                                dialog.alert-dialog id={ "alert-" (pack.id) } {
                                    form method="post" action={ "/console/packs/" (pack.id) "/alert" } {
                                        (ctx.csrf_field())
                                        p { (pack.name) " " code { (pack.id) } }
                                        label { (t.s("alert_threshold")) " "
                                            input.alert-percent type="number" name="percent" min="0" max="100" step="1" value="20";
                                        }
                                        p {
                                            button.alert-save type="submit" { (t.s("save")) }
                                            " "
                                            button.alert-cancel type="submit" formmethod="dialog" formnovalidate { (t.s("cancel")) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        // Opens the alert dialog of the clicked row (the only script of the console).
        script { (PreEscaped(DIALOG_SCRIPT)) }
    };
    (code, ctx.page("packs", body)).into_response()
}

/// `GET /console/packs`.
pub(crate) async fn show(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<PacksQuery>,
) -> Response {
    let ctx = match Ctx::new(&web.app, &headers, peer, q.lang.as_deref()) {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let response = match ctx.require("DescribePacks") {
        Err(refused) => refused.into_response(),
        Ok(()) => match ctx.state().await {
            Ok(state) => render(&ctx, &state, None, StatusCode::OK),
            Err(stop) => stop.into_response(),
        },
    };
    with_lang(response, q.lang.as_deref())
}

/// `POST /console/packs/{id}/alert`.
pub(crate) async fn set_alert(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Form(form): Form<AlertForm>,
) -> Response {
    let ctx = match Ctx::new(&web.app, &headers, peer, None) {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    if let Err(refused) = ctx.check_csrf(form.csrf.as_deref()).and_then(|()| ctx.require("SetPackAlert")) {
        return refused.into_response();
    }
    let parsed = id.parse::<PackId>().map_err(|e| e.to_string()).and_then(|id| {
        let percent =
            form.percent.as_deref().unwrap_or("").trim().parse::<Decimal>().map_err(|e| e.to_string())?;
        Ok((id, percent / Decimal::ONE_HUNDRED))
    });
    let outcome = match parsed {
        Ok((id, threshold)) => {
            ctx.change(move |state, account| {
                state.meter.set_alert(&account, &id, threshold).map_err(|e| e.to_string())
            })
            .await
        }
        Err(e) => Ok(Err(e)),
    };
    match outcome {
        Err(stop) => stop.into_response(),
        Ok(Ok(_)) => see_other("/console/packs"),
        Ok(Err(e)) => match ctx.state().await {
            Ok(state) => render(&ctx, &state, Some(&e), StatusCode::BAD_REQUEST),
            Err(stop) => stop.into_response(),
        },
    }
}
