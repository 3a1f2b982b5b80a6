//! Billing simulator: `cargo run --example billing_simulate -- SCENARIO.json` replays
//! purchases, usage and top-ups through the meter and the biller and prints every daily
//! bill, every change of standing and the monthly statements as JSON lines. The
//! scenario format is documented in `crates/billing/README.md`.
#![allow(clippy::disallowed_methods, reason = "an example is edge code: it reads the file it is given")]

use std::collections::BTreeMap;

use anyhow::{Context as _, bail};
use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::json;
use shiren::billing::{Biller, BillingConfig, BillingStep, Rounding, Standing, UsageRecord};
use shiren::catalog::{AccountId, BillingZone, PackType, Pricing, Solution, SubCode};
use shiren::meter::{Meter, SequentialIds, UsageEvent};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scenario {
    first_day: NaiveDate,
    until: DateTime<Utc>,
    #[serde(default)]
    issue_time: Option<NaiveTime>,
    #[serde(default)]
    rounding: Rounding,
    accounts: Vec<AccountSpec>,
    events: Vec<Event>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountSpec {
    id: AccountId,
    #[serde(default)]
    pricing: BTreeMap<Solution, Decimal>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Event {
    at: DateTime<Utc>,
    #[serde(flatten)]
    what: What,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum What {
    Purchase {
        account: AccountId,
        pack_type: PackType,
        units: u64,
        paid: Decimal,
    },
    Usage {
        account: AccountId,
        solution: Solution,
        sub_code: Option<SubCode>,
        count: u32,
        time: Option<DateTime<Utc>>,
    },
    TopUp {
        account: AccountId,
        amount: Decimal,
    },
}

fn main() {
    if let Err(err) = try_main() {
        eprintln!("billing_simulate: {err:#}");
        std::process::exit(1);
    }
}

struct Sim {
    meter: Meter,
    biller: Biller,
    standings: BTreeMap<AccountId, Standing>,
}

impl Sim {
    /// Issues everything due at `now` and reports standing changes.
    fn advance(&mut self, now: DateTime<Utc>) -> anyhow::Result<()> {
        while let BillingStep::Issued { bills, .. } = self.biller.poll(now)? {
            for bill in bills {
                println!("{}", json!({"type": "bill", "bill": bill}));
            }
        }
        for (account, last) in self.standings.iter_mut() {
            let Ok(standing) = self.biller.standing(account, now) else { continue };
            if standing != *last {
                println!(
                    "{}",
                    json!({"type": "standing", "account": account, "observed_at": now, "standing": standing})
                );
                *last = standing;
            }
        }
        Ok(())
    }
}

fn try_main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path] = args.as_slice() else { bail!("usage: billing_simulate SCENARIO.json") };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let mut scenario: Scenario = serde_json::from_str(&text).with_context(|| format!("parsing {path}"))?;
    let issue_time = scenario.issue_time.unwrap_or(NaiveTime::from_hms_opt(10, 0, 0).context("10:00")?);
    let config = BillingConfig::new(BillingZone::CHINA, issue_time, scenario.rounding, scenario.first_day)?;
    let mut sim = Sim { meter: Meter::default(), biller: Biller::new(config), standings: BTreeMap::new() };
    for spec in &scenario.accounts {
        sim.biller.open_account(&spec.id, Pricing::negotiated(spec.pricing.clone()))?;
        sim.standings.insert(spec.id, Standing::Active);
    }
    let mut ids = SequentialIds::default();
    let mut next_certify: u128 = 1;
    scenario.events.sort_by_key(|e| e.at);
    for event in &scenario.events {
        sim.advance(event.at)?;
        match &event.what {
            What::Purchase { account, pack_type, units, paid } => {
                let pack = sim.meter.purchase(account, *pack_type, *units, *paid, event.at, &mut ids)?;
                println!("{}", json!({"type": "purchase", "at": event.at, "pack": pack}));
            }
            What::Usage { account, solution, sub_code, count, time } => {
                for _ in 0..*count {
                    let usage = UsageEvent {
                        certify_id: format!("{next_certify:032x}").parse()?,
                        account: *account,
                        solution: *solution,
                        sub_code: *sub_code,
                        time: time.unwrap_or(event.at),
                    };
                    next_certify += 1;
                    let applied = sim.meter.apply(&usage)?;
                    if let Some(record) = UsageRecord::from_applied(&usage, &applied) {
                        sim.biller.record(&record, event.at)?;
                    }
                }
            }
            What::TopUp { account, amount } => {
                let balance = sim.biller.top_up(account, *amount, event.at)?;
                println!(
                    "{}",
                    json!({"type": "top_up", "account": account, "at": event.at, "amount": amount, "balance": balance})
                );
            }
        }
        sim.advance(event.at)?;
    }
    sim.advance(scenario.until)?;
    let zone = BillingZone::CHINA;
    let (mut year, mut month) = {
        let first = scenario.first_day;
        (first.year(), first.month())
    };
    let last = zone.day_of(scenario.until);
    while let Some((first_day, last_day)) = shiren::billing::statement_days(year, month) {
        if first_day > last {
            break;
        }
        for spec in &scenario.accounts {
            let statement = sim.biller.statement(&spec.id, year, month)?;
            let complete = last_day < last;
            println!("{}", json!({"type": "statement", "complete": complete, "statement": statement}));
        }
        (year, month) = if month == 12 { (year + 1, 1) } else { (year, month + 1) };
    }
    Ok(())
}
