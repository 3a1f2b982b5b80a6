//! Bills (费用账单): the daily bills of a range (at most 92 days, the API's limit), the
//! balance and standing, and the monthly statement — which, by the cloud's rule that
//! `shiren_billing` encodes, excludes the month's last day (counted in the next month).
//! The biller's own calls answer (`Biller::bill`, `balance`, `standing`, `statement`: those
//! of `DescribeDailyBills` and `DescribeMonthlyStatement`); RAM decides who may look.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike as _, NaiveDate, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use shiren_billing::{DailyBill, LineKind, Standing};

use super::{Ctx, Lang, Stop, WebState, local_time, with_lang};
use crate::app::blocking;

/// The longest range of daily bills one page shows (the API's limit).
const MAX_BILL_DAYS: i64 = 92;

/// `?from=&to=&month=yyyy-mm&lang=`.
#[derive(Debug, Deserialize)]
pub(crate) struct BillsQuery {
    from: Option<String>,
    to: Option<String>,
    month: Option<String>,
    lang: Option<String>,
}

fn standing(t: Lang, s: &Standing) -> String {
    match (t, s) {
        (Lang::Zh, Standing::Active) => "正常".to_owned(),
        (Lang::En, Standing::Active) => "active".to_owned(),
        (Lang::Zh, Standing::Overdue { since }) => format!("欠费（自 {}）", local_time(*since)),
        (Lang::En, Standing::Overdue { since }) => format!("overdue since {}", local_time(*since)),
        (Lang::Zh, Standing::Suspended { since }) => format!("已停服（自 {}）", local_time(*since)),
        (Lang::En, Standing::Suspended { since }) => format!("suspended since {}", local_time(*since)),
    }
}

fn bill_table(t: Lang, id: &str, bills: &[DailyBill]) -> Markup {
    html! {
        table id=(id) {
            thead { tr {
                th { (t.s("day")) } th { (t.s("solution")) } th { (t.s("counted")) } th { (t.s("covered")) }
                th { (t.s("chargeable")) } th { (t.s("amount")) } th { (t.s("issued_at")) }
            } }
            tbody {
                @for bill in bills {
                    tr.bill data-day=(bill.day) data-total=(bill.total) {
                        td { (bill.day) } td { "—" } td {} td {} td {} td.bill-total { (bill.total) } td { (local_time(bill.issued_at)) }
                    }
                    @for line in &bill.lines {
                        tr.bill-line {
                            td { @if let LineKind::Adjustment { day } = line.kind { (t.s("adjustment")) " " (day) } }
                            td { (line.solution.title()) } td { (line.counted) } td { (line.covered) }
                            td { (line.chargeable) } td { (line.amount) } td {}
                        }
                    }
                }
            }
        }
    }
}

fn date(text: Option<&str>) -> Result<Option<NaiveDate>, String> {
    text.filter(|t| !t.is_empty())
        .map(|t| t.parse::<NaiveDate>().map_err(|_| format!("`{t}` is not a date yyyy-mm-dd")))
        .transpose()
}

/// `GET /console/bills`.
pub(crate) async fn show(
    State(web): State<WebState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Query(q): Query<BillsQuery>,
) -> Response {
    let ctx = match Ctx::new(&web.app, &headers, peer, q.lang.as_deref()) {
        Ok(ctx) => ctx,
        Err(stop) => return stop.into_response(),
    };
    let response =
        match ctx.require("DescribeDailyBills").and_then(|()| ctx.require("DescribeMonthlyStatement")) {
            Err(refused) => refused.into_response(),
            Ok(()) => render(&ctx, &q).await.unwrap_or_else(IntoResponse::into_response),
        };
    with_lang(response, q.lang.as_deref())
}

async fn render(ctx: &Ctx, q: &BillsQuery) -> Result<Response, Stop> {
    let t = ctx.lang;
    let state = ctx.state().await?;
    let account = ctx.session.account;
    let now = Utc::now();
    let today = state.biller.config().zone().day_of(now);
    let range = (|| {
        let to = date(q.to.as_deref())?.unwrap_or(today);
        let from = date(q.from.as_deref())?.unwrap_or(to - chrono::Duration::days(6));
        if !(0..MAX_BILL_DAYS).contains(&(to - from).num_days()) {
            return Err(format!(
                "the first day must not be after the last, and the range at most {MAX_BILL_DAYS} days"
            ));
        }
        Ok((from, to))
    })();
    let balance = state
        .biller
        .balance(&account, now)
        .map_err(|e| ctx.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
    let standing_now = state
        .biller
        .standing(&account, now)
        .map_err(|e| ctx.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
    let month = q
        .month
        .as_deref()
        .filter(|m| !m.is_empty())
        .and_then(|m| NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").ok())
        .unwrap_or_else(|| today.with_day(1).unwrap_or(today));
    // Bills and the statement through the store: archived days come from its table.
    let (app, wanted) = (Arc::clone(&ctx.app), range.clone());
    let (bills, statement) = blocking(move || {
        let store = &app.verifier.store;
        let bills = wanted.and_then(|(from, to)| store.bills(account, from, to).map_err(|e| e.to_string()));
        let statement = store.statement(account, month.year(), month.month()).map_err(|e| e.to_string());
        (bills, statement)
    })
    .await
    .map_err(|e| ctx.failure(StatusCode::SERVICE_UNAVAILABLE, &e.to_string()))?;
    let (from_text, to_text) = match &range {
        Ok((from, to)) => (from.to_string(), to.to_string()),
        Err(_) => (q.from.clone().unwrap_or_default(), q.to.clone().unwrap_or_default()),
    };
    let status = if bills.is_ok() && statement.is_ok() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    let body = html! {
        section.card #account-standing {
            dl.details {
                dt { (t.s("balance")) } dd #balance { (balance) }
                dt { (t.s("standing")) } dd #standing { (standing(t, &standing_now)) }
            }
        }
        h2 { (t.s("daily_bills")) }
        form.card #bills-form method="get" action="/console/bills" {
            label { (t.s("from")) " " input type="date" name="from" value=(from_text); }
            " "
            label { (t.s("to")) " " input type="date" name="to" value=(to_text); }
            " "
            button type="submit" { (t.s("query")) }
        }
        @match &bills {
            Err(e) => p.error #bills-error role="alert" { (e) },
            Ok(bills) if bills.is_empty() => p #no-bills { (t.s("no_bills")) },
            Ok(bills) => (bill_table(t, "bills-table", bills)),
        }
        h2 { (t.s("statement")) }
        form.card #statement-form method="get" action="/console/bills" {
            label { (t.s("month")) " " input type="month" name="month" value=(month.format("%Y-%m")); }
            " " button type="submit" { (t.s("query")) }
        }
        p { small { (t.s("statement_rule")) } }
        @match &statement {
            Err(e) => p.error #statement-error role="alert" { (e) },
            Ok(s) => {
                section.card #statement data-first-day=(s.first_day) data-last-day=(s.last_day) {
                    p { (t.s("covers")) ": " span #statement-days { (s.first_day) " — " (s.last_day) } }
                    p { (t.s("amount")) ": " strong #statement-total { (s.total) } }
                    @if !s.days.is_empty() { (bill_table(t, "statement-table", &s.days)) }
                }
            }
        }
    };
    Ok((status, ctx.page("bills", body)).into_response())
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use rust_decimal::Decimal;
    use shiren_billing::BillLine;
    use shiren_catalog::{AccountId, Solution};

    use super::*;

    #[test]
    fn a_daily_bill_shows_its_total_and_each_line_with_adjustments_marked() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let line = |kind, solution, counted: u64, covered: u64, amount: i64| BillLine {
            kind,
            solution,
            counted,
            covered,
            chargeable: counted - covered,
            unit_price: Decimal::ONE,
            exact_amount: Decimal::new(amount, 2),
            amount: Decimal::new(amount, 2),
            remainder: Decimal::ZERO,
        };
        let bill = DailyBill {
            account: AccountId::new("1234567890123456").unwrap(),
            day,
            issued_at: Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0).unwrap(),
            lines: vec![
                line(LineKind::Usage, Solution::App, 120, 100, 2000),
                line(
                    LineKind::Adjustment { day: day.pred_opt().unwrap() },
                    Solution::FaceComparison,
                    3,
                    0,
                    1,
                ),
            ],
            total: Decimal::new(2001, 2),
            remainder: Decimal::ZERO,
        };
        let html = bill_table(Lang::Zh, "bills-table", &[bill]).into_string();
        assert!(html.contains(r#"data-day="2026-11-30" data-total="20.01""#), "{html}");
        assert!(html.contains("APP认证方案") && html.contains("人脸比对"), "{html}");
        assert!(html.contains("<td>120</td><td>100</td><td>20</td><td>20.00</td>"), "{html}");
        assert!(html.contains("调整 2026-11-29"), "{html}");
        assert!(html.contains("2026-12-01 10:00:00"), "issued at, in UTC+8: {html}");
        assert_eq!(html.matches("bill-line").count(), 2);
    }
}
