//! Data statistics (数据统计): a scene and a range (last 7 days, last 30 days, or custom
//! up to 180 days — refused beyond, with the message), the totals, and daily trend
//! charts of passed, failed, submitted, pass rate and comparisons. The numbers are
//! `SqlStore::statistics` — the same call as `DescribeStatistics` — and nothing else;
//! RAM's `DescribeStatistics` decides who may see them.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use maud::html;
use serde::Deserialize;
use shiren_records::{RangeError, StatsRange};
use shiren_scene::{SceneId, SceneRegistry};
use shiren_verify::StoreError;

use super::chart::{Series, line_chart};
use super::{Ctx, WebState, with_lang};
use crate::app::blocking;

/// `?scene=&range=7d|30d|custom&from=&to=&lang=`.
#[derive(Debug, Deserialize)]
pub(crate) struct StatsQuery {
    scene: Option<String>,
    range: Option<String>,
    from: Option<String>,
    to: Option<String>,
    lang: Option<String>,
}

/// `GET /console/statistics`.
pub(crate) async fn show(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<StatsQuery>,
) -> Response {
    let ctx = match Ctx::new(&web.app, &headers, peer, q.lang.as_deref()) {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let response = match ctx.require("DescribeStatistics") {
        Err(refused) => refused.into_response(),
        Ok(()) => render(&ctx, &q).await,
    };
    with_lang(response, q.lang.as_deref())
}

fn day(text: Option<&str>) -> Option<NaiveDate> {
    text.filter(|t| !t.is_empty()).and_then(|t| t.parse().ok())
}

async fn render(ctx: &Ctx, q: &StatsQuery) -> Response {
    let t = ctx.lang;
    let state = match ctx.state().await {
        Ok(state) => state,
        Err(stop) => return stop.into_response(),
    };
    let scenes = state.scenes.list(&ctx.session.account, None);
    let chosen = q.scene.as_deref().and_then(|s| s.parse::<u64>().ok()).map(SceneId::new);
    let scene = chosen.or_else(|| scenes.first().map(|s| s.id));
    let range_name = q.range.as_deref().unwrap_or("7d");
    let (from_text, to_text) = (q.from.as_deref().unwrap_or(""), q.to.as_deref().unwrap_or(""));
    let range = match range_name {
        "30d" => Ok(StatsRange::Last30Days),
        "custom" => match (day(q.from.as_deref()), day(q.to.as_deref())) {
            (Some(from), Some(to)) => Ok(StatsRange::Custom { from, to }),
            _ => Err("yyyy-mm-dd".to_owned()),
        },
        _ => Ok(StatsRange::Last7Days),
    };
    // The same store call as the JSON API's DescribeStatistics.
    let stats = match (scene, range) {
        (None, _) => Err(t.s("no_scenes").to_owned()),
        (_, Err(e)) => Err(e),
        (Some(scene), Ok(range)) => {
            let (app, account) = (Arc::clone(&ctx.app), ctx.session.account);
            match blocking(move || app.verifier.store.statistics(account, scene, range, Utc::now())).await {
                Ok(Ok(stats)) => Ok(stats),
                Ok(Err(StoreError::Record(shiren_records::RecordError::Range(
                    e @ RangeError::TooLong { .. },
                )))) => Err(format!("{}: {e}", t.s("range_too_long"))),
                Ok(Err(StoreError::Record(e))) => Err(e.to_string()),
                Ok(Err(e)) => return ctx.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
                Err(e) => return ctx.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()),
            }
        }
    };
    let status = if stats.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let body = html! {
        form.card #stats-form method="get" action="/console/statistics" {
            label { (t.s("scene")) " "
                select #stats-scene name="scene" {
                    @for s in &scenes {
                        option value=(s.id.get()) selected[Some(s.id) == scene] { (s.name) " (" (s.id.get()) ")" }
                    }
                }
            }
            " "
            label { (t.s("range")) " "
                select #stats-range name="range" {
                    option value="7d" selected[range_name == "7d"] { (t.s("last_7")) }
                    option value="30d" selected[range_name == "30d"] { (t.s("last_30")) }
                    option value="custom" selected[range_name == "custom"] { (t.s("custom")) }
                }
            }
            " "
            label { (t.s("from")) " " input #stats-from type="date" name="from" value=(from_text); }
            " "
            label { (t.s("to")) " " input #stats-to type="date" name="to" value=(to_text); }
            " "
            button #stats-submit type="submit" { (t.s("query")) }
        }
        @match &stats {
            Err(message) => p.error #stats-error role="alert" { (message) },
            Ok(stats) => {
                @let days: Vec<String> = stats.daily.iter().map(|(d, _)| d.format("%m-%d").to_string()).collect();
                @let totals: Vec<_> = stats.daily.iter().map(|(_, d)| d.total()).collect();
                section.card #stats-totals data-from=(stats.from) data-to=(stats.to) {
                    p { (stats.from) " — " (stats.to) }
                    dl.details {
                        dt { (t.s("passed")) } dd #total-passed { (stats.totals.passed) }
                        dt { (t.s("failed")) } dd #total-failed { (stats.totals.failed) }
                        dt { (t.s("submissions")) } dd #total-submissions { (stats.submissions) }
                        dt { (t.s("pass_rate")) } dd #total-pass-rate {
                            @match stats.pass_rate { Some(r) => (format!("{:.2}%", r * 100.0)), None => "—" }
                        }
                        dt { (t.s("compare_count")) } dd #total-compare-count { (stats.compare_count) }
                    }
                }
                section #charts {
                    (line_chart("chart-counts", &format!("{} / {} / {}", t.s("passed"), t.s("failed"), t.s("submissions")), &days, &[
                        Series { label: t.s("passed"), color: "#2e7d32", values: totals.iter().map(|c| Some(c.passed as f64)).collect() },
                        Series { label: t.s("failed"), color: "#c62828", values: totals.iter().map(|c| Some(c.failed as f64)).collect() },
                        Series { label: t.s("submissions"), color: "#1565c0", values: totals.iter().map(|c| Some(c.submissions() as f64)).collect() },
                    ], false))
                    (line_chart("chart-pass-rate", t.s("pass_rate"), &days, &[
                        Series { label: t.s("pass_rate"), color: "#6a1b9a", values: totals.iter().map(|c| c.pass_rate()).collect() },
                    ], true))
                    (line_chart("chart-compare", t.s("compare_count"), &days, &[
                        Series { label: t.s("compare_count"), color: "#ef6c00", values: stats.daily.iter().map(|(_, d)| Some(d.face_comparison.submissions() as f64)).collect() },
                    ], false))
                }
                table #stats-daily {
                    thead { tr { th { (t.s("day")) } th { (t.s("passed")) } th { (t.s("failed")) } th { (t.s("submissions")) } th { (t.s("compare_count")) } } }
                    tbody {
                        @for ((d, stats), total) in stats.daily.iter().zip(&totals) {
                            tr data-day=(d) {
                                td { (d) } td.passed { (total.passed) } td.failed { (total.failed) }
                                td.submissions { (total.submissions()) } td.compare { (stats.face_comparison.submissions()) }
                            }
                        }
                    }
                }
            }
        }
    };
    (status, ctx.page("statistics", body)).into_response()
}
