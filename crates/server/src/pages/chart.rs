//! Trend charts as inline SVG, drawn on the server: no JavaScript, no chart library.
//! Owns drawing only; the numbers come in ready.

use maud::{Markup, html};

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 28.0;
const BOTTOM: f64 = 36.0;

/// One line of a chart.
pub(crate) struct Series<'a> {
    /// Its legend.
    pub(crate) label: &'a str,
    /// Its colour (CSS).
    pub(crate) color: &'static str,
    /// One value per day (`None`: no value that day, e.g. a pass rate of no submissions).
    pub(crate) values: Vec<Option<f64>>,
}

fn fmt_value(value: f64, percent: bool) -> String {
    if percent { format!("{:.1}%", value * 100.0) } else { format!("{value:.0}") }
}

/// A line chart of `series` over `days` (labels `MM-DD`); `percent` scales 0–1 to 0–100 %.
pub(crate) fn line_chart(
    id: &str,
    title: &str,
    days: &[String],
    series: &[Series<'_>],
    percent: bool,
) -> Markup {
    let max = series.iter().flat_map(|s| s.values.iter().flatten().copied()).fold(0.0_f64, f64::max);
    let top = if percent || max <= 0.0 { 1.0 } else { (max * 1.1).ceil() };
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let n = days.len().max(1);
    let step = if n > 1 { plot_w / (n - 1) as f64 } else { 0.0 };
    let x = |i: usize| LEFT + step * i as f64;
    let y = |v: f64| TOP + plot_h * (1.0 - (v / top).clamp(0.0, 1.0));
    let label_every = n.div_ceil(10);
    html! {
        svg id=(id) class="chart" width=(WIDTH) height=(HEIGHT) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
            role="img" aria-label=(title) xmlns="http://www.w3.org/2000/svg" {
            title { (title) }
            text x=(LEFT) y="16" font-size="13" font-weight="bold" { (title) }
            @for (k, s) in series.iter().enumerate() {
                rect x={ (WIDTH - RIGHT - 120.0) } y={ (6 + k * 12) } width="10" height="8" fill=(s.color) {}
                text x={ (WIDTH - RIGHT - 106.0) } y={ (14 + k * 12) } font-size="10" { (s.label) }
            }
            line x1=(LEFT) y1=(TOP + plot_h) x2=(LEFT + plot_w) y2=(TOP + plot_h) stroke="#999" {}
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(TOP + plot_h) stroke="#999" {}
            text x={ (LEFT - 4.0) } y={ (TOP + 4.0) } font-size="10" text-anchor="end" { (fmt_value(top, percent)) }
            text x={ (LEFT - 4.0) } y={ (TOP + plot_h) } font-size="10" text-anchor="end" { (fmt_value(0.0, percent)) }
            @for (i, day) in days.iter().enumerate() {
                @if i % label_every == 0 {
                    text x=(x(i)) y={ (HEIGHT - BOTTOM + 14.0) } font-size="10" text-anchor="middle" { (day) }
                }
            }
            @for s in series {
                polyline fill="none" stroke=(s.color) stroke-width="2"
                    points=(s.values.iter().enumerate().filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(v)))).collect::<Vec<_>>().join(" ")) {}
                @for (i, v) in s.values.iter().enumerate() {
                    @if let Some(v) = v {
                        circle cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(*v))) r="2.5" fill=(s.color) {
                            title { (days.get(i).map(String::as_str).unwrap_or("")) " " (s.label) ": " (fmt_value(*v, percent)) }
                        }
                    }
                }
            }
        }
    }
}
