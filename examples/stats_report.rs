//! Renders the 7-day verification trend of a generated data set as an SVG chart:
//! `cargo run --example stats_report -- [OUT.svg]` (default `target/stats_report.svg`).
//! The data set is seeded, so the chart is the same on every run.
#![allow(clippy::disallowed_methods, reason = "an example is edge code: it writes the chart")]

use anyhow::Context as _;
use chrono::{Duration, TimeZone, Utc};
use plotters::prelude::*;
use shiren::catalog::{AccountId, BillingZone, CertifyId, OuterOrderNo, ProductCode, SubCode};
use shiren::records::{DayStats, DigestKey, InMemoryRecords, NewRecord, RecordStore, Scores, StatsRange};
use shiren::scene::SceneId;

fn main() {
    if let Err(err) = try_main() {
        eprintln!("stats_report: {err:#}");
        std::process::exit(1);
    }
}

fn try_main() -> anyhow::Result<()> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "target/stats_report.svg".into());
    let account = AccountId::new("1234567890")?;
    let scene = SceneId::new(1_000_000_006);
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 4, 0, 0).single().context("now")?;
    let mut store = InMemoryRecords::new(DigestKey::new([42; 32]), BillingZone::CHINA);
    // Seeded data: a week of verifications across three products, more on weekdays,
    // with a dip in the pass rate mid-week.
    let mut state: u64 = 0x5EED;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let products = [ProductCode::IdPro, ProductCode::PvFv, ProductCode::PvFc];
    for n in 0..6_000u32 {
        let minutes = i64::try_from(next() % (7 * 24 * 60))?;
        let at = now - Duration::minutes(minutes);
        let product = *products.get(usize::try_from(next() % 3)?).context("product")?;
        let passed = next() % 100 < if (3..5).contains(&(minutes / (24 * 60))) { 70 } else { 90 };
        store.insert(NewRecord {
            certify_id: format!("{n:032x}").parse::<CertifyId>()?,
            outer_order_no: OuterOrderNo::new(&format!("o{n}"))?,
            account,
            scene_id: scene,
            scene_name: "开户".into(),
            product,
            user_id: None,
            name: "demo".into(),
            id_number: None,
            passed,
            sub_code: if passed { SubCode::PASS } else { SubCode::FACE_MISMATCH },
            scores: Scores::default(),
            attack: Some(false),
            occlusion: Some(false),
            photos: vec![],
            created_at: at,
            completed_at: at,
        })?;
    }
    let stats = store.statistics(&account, scene, StatsRange::Last7Days, now)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::json!({
            "from": stats.from, "to": stats.to, "passed": stats.totals.passed, "failed": stats.totals.failed,
            "submissions": stats.submissions, "pass_rate": stats.pass_rate, "compare_count": stats.compare_count,
        }))?
    );

    type Series = fn(&DayStats) -> u64;
    let series: [(&str, RGBColor, Series); 3] = [
        ("real-person verification", RGBColor(31, 119, 180), |d| d.real_person.submissions()),
        ("liveness face verification", RGBColor(255, 127, 14), |d| {
            d.liveness_face_verification.submissions()
        }),
        ("face comparison", RGBColor(44, 160, 44), |d| d.face_comparison.submissions()),
    ];
    let max =
        stats.daily.iter().flat_map(|(_, d)| series.iter().map(move |(_, _, f)| f(d))).max().unwrap_or(1);
    let root = SVGBackend::new(&out, (900, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let days = stats.daily.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("Submissions per day, scene {scene} ({} … {})", stats.from, stats.to),
            ("sans-serif", 22),
        )
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0..days.saturating_sub(1), 0..max + max / 10 + 1)?;
    let labels: Vec<String> = stats
        .daily
        .iter()
        .map(|(d, _)| {
            if *d == stats.to {
                format!("{} (today, so far)", d.format("%m-%d"))
            } else {
                d.format("%m-%d").to_string()
            }
        })
        .collect();
    chart
        .configure_mesh()
        .x_labels(days)
        .x_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
        .y_desc("submissions (passed + failed)")
        .draw()?;
    for (name, color, value) in &series {
        let points: Vec<(usize, u64)> =
            stats.daily.iter().enumerate().map(|(i, (_, d))| (i, value(d))).collect();
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(3)))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(3)));
    }
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
    root.present()?;
    println!("wrote {out}");
    Ok(())
}
