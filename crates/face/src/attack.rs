//! Presentation-attack **indicators** (`faceAttack`, `faceAttackScore`). These are
//! attack indicators, not an ISO/IEC 30107-3-evaluated PAD: interpretable cues of what
//! recapturing a print or a screen does to a photo, each with a documented bona fide
//! range, combined into a probability-like score. A certified model plugs in through
//! [`PadModel`].
//!
//! The cues, all on the face (landmark outline) at native resolution:
//! - `moire`: periodicity — in three 64×64 Hann-windowed luminance windows (between
//!   the eyes and down the nose, and on each cheek), the strongest spectral peak
//!   relative to the mean magnitude at its radius; the geometric mean of the three
//!   (screens' sub-pixel grids and print halftones are periodic across the whole
//!   face; skin is not, and one window's chance peak is damped by the other two);
//! - `lbp_nonuniform`: share of non-uniform 8-neighbour local binary patterns
//!   (periodic dots and grain break the smooth-skin patterns);
//! - reported, **not scored**: `colourfulness` (Hasler–Süsstrunk), `contrast` (2nd–98th
//!   percentile luminance spread) and `specular` (share of near-white, unsaturated
//!   pixels). They measure the exposure and the camera's processing as much as a
//!   print or a screen: scored, they refused genuine photos that were merely dim,
//!   low-contrast, grayscale or bright (#17).
//!
//! Both scored cues are ratios of the image's own statistics, so a gain, an offset
//! or a loss of colour leaves them nearly unchanged (a spectral peak ratio does not
//! move with the window's contrast; an LBP code does not move with a gain). Each
//! scored cue outside its bona fide range adds evidence `e = distance / scale`; the
//! score is `σ(−9.4 + 4 · Σe)` — about 8e-5 with every cue in range, 0.5 at Σe ≈ 2.35.
//! The ranges were set on the bona fide test photos, on their dim, low-contrast,
//! grayscale, desaturated, gamma-shifted and brightened versions (`tests/attacks.rs`)
//! and on the *training* parameters of the synthetic generator
//! ([`PrintParams::TRAINING`](crate::synthetic::PrintParams::TRAINING),
//! [`ScreenParams::TRAINING`](crate::synthetic::ScreenParams::TRAINING)); the tests
//! report metrics on that generator's held-out parameters and on a second,
//! independently written generator (`tests/common/independent.rs`).

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::geometry::Point;
use crate::landmarks::Landmarks;
use crate::region::{Luma, cheeks, face_outline, pixels_in, rgb};

/// The label every indicator-based result carries.
pub const INDICATOR_LABEL: &str = "attack indicators, not an ISO/IEC 30107-3-evaluated PAD";

/// The measured cues.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Indicators {
    /// Spectral peak ratio, geometric mean over three windows (bona fide ≤
    /// [`RANGES`]`.moire`).
    pub moire: f64,
    /// Share of non-uniform LBP codes.
    pub lbp_nonuniform: f64,
    /// Hasler–Süsstrunk colourfulness (reported, not scored).
    pub colourfulness: f64,
    /// 2nd–98th percentile luminance spread, 0–255 (reported, not scored).
    pub contrast: f64,
    /// Share of specular pixels (reported, not scored).
    pub specular: f64,
}

/// A bona fide range: `(low, high, scale)`; a value beyond `low`/`high` adds
/// `distance / scale` evidence.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Range {
    /// Lowest bona fide value.
    pub low: f64,
    /// Highest bona fide value.
    pub high: f64,
    /// Distance counting as one unit of evidence.
    pub scale: f64,
}

impl Range {
    fn evidence(&self, v: f64) -> f64 {
        ((self.low - v).max(v - self.high).max(0.0) / self.scale).min(10.0)
    }
}

/// Bona fide ranges of the scored cues.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ranges {
    /// Moiré peak ratio.
    pub moire: Range,
    /// Non-uniform LBP share.
    pub lbp_nonuniform: Range,
}

/// The default ranges. `moire`: the bona fide photos and their degraded versions
/// measure 3.0–4.8 at full size, up to 5.2 as 480×640 JPEG selfies
/// (`tests/attacks.rs`); the training print and screen 8.1 and more. The range ends
/// at 5.0 and moiré alone brings the score to 0.5 at 5.94. `lbp_nonuniform`: bona
/// fide 0.11–0.32 (a dim photo has fewer non-uniform codes, never more).
pub const RANGES: Ranges = Ranges {
    moire: Range { low: 0.0, high: 5.0, scale: 0.4 },
    lbp_nonuniform: Range { low: 0.0, high: 0.33, scale: 0.02 },
};

/// The outcome of an attack assessment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackAssessment {
    /// Probability-like attack score in [0, 1]; small is good.
    pub score: f64,
    /// Whether the score reaches the model's decision threshold.
    pub attack: bool,
    /// The model's name.
    pub model: std::borrow::Cow<'static, str>,
    /// Whether the model was evaluated to ISO/IEC 30107-3 (the indicators: no).
    pub evaluated_pad: bool,
    /// The indicators, when the model is [`AttackIndicators`].
    pub indicators: Option<Indicators>,
}

/// A liveness / presentation-attack model: a certified PAD can replace the indicators.
pub trait PadModel {
    /// Assesses the face with `marks` in `image`.
    fn assess(&self, image: &RgbImage, marks: &Landmarks) -> AttackAssessment;
}

/// The built-in indicator model.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttackIndicators {
    /// Bona fide ranges.
    pub ranges: Ranges,
    /// Score at or above which `attack` is set.
    pub threshold: f64,
}

impl Default for AttackIndicators {
    fn default() -> Self {
        AttackIndicators { ranges: RANGES, threshold: 0.5 }
    }
}

impl AttackIndicators {
    /// The score of measured cues.
    pub fn score(&self, i: &Indicators) -> f64 {
        let r = &self.ranges;
        let evidence = r.moire.evidence(i.moire) + r.lbp_nonuniform.evidence(i.lbp_nonuniform);
        1.0 / (1.0 + (9.4 - 4.0 * evidence).exp())
    }
}

impl PadModel for AttackIndicators {
    fn assess(&self, image: &RgbImage, marks: &Landmarks) -> AttackAssessment {
        let indicators = measure_indicators(image, marks);
        let score = self.score(&indicators);
        AttackAssessment {
            score,
            attack: score >= self.threshold,
            model: std::borrow::Cow::Borrowed(INDICATOR_LABEL),
            evaluated_pad: false,
            indicators: Some(indicators),
        }
    }
}

/// Measures the cues on the face with `marks` in `image`.
pub fn measure_indicators(image: &RgbImage, marks: &Landmarks) -> Indicators {
    let luma = Luma::new();
    let pixels = pixels_in(image, &face_outline(marks));
    let mut ys: Vec<u8> = pixels.iter().map(|&(x, y)| luma.of(rgb(image, x, y))).collect();
    ys.sort_unstable();
    let pct = |q: f64| {
        let i = ((ys.len().saturating_sub(1)) as f64 * q).round() as usize;
        f64::from(ys.get(i).copied().unwrap_or(0))
    };
    let contrast = pct(0.98) - pct(0.02);
    let n = pixels.len().max(1) as f64;
    let (mut rg_s, mut rg_s2, mut yb_s, mut yb_s2, mut spec) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, y) in &pixels {
        let [r, g, b] = rgb(image, x, y).map(f64::from);
        let (rg, yb) = (r - g, 0.5 * (r + g) - b);
        (rg_s, rg_s2, yb_s, yb_s2) = (rg_s + rg, rg_s2 + rg * rg, yb_s + yb, yb_s2 + yb * yb);
        let (max, min) = (r.max(g).max(b), r.min(g).min(b));
        if max > 235.0 && (max - min) < 0.15 * max {
            spec += 1.0;
        }
    }
    let (mrg, myb) = (rg_s / n, yb_s / n);
    let (vrg, vyb) = ((rg_s2 / n - mrg * mrg).max(0.0), (yb_s2 / n - myb * myb).max(0.0));
    let colourfulness = (vrg + vyb).sqrt() + 0.3 * (mrg * mrg + myb * myb).sqrt();
    Indicators {
        moire: moire(image, marks, &luma),
        lbp_nonuniform: lbp_nonuniform(image, &pixels, &luma),
        colourfulness,
        contrast,
        specular: spec / n,
    }
}

/// Share of non-uniform (more than two 0/1 transitions) 8-neighbour LBP codes.
fn lbp_nonuniform(image: &RgbImage, pixels: &[(u32, u32)], luma: &Luma) -> f64 {
    const RING: [(i64, i64); 8] = [(-1, -1), (0, -1), (1, -1), (1, 0), (1, 1), (0, 1), (-1, 1), (-1, 0)];
    let y = |x: i64, yy: i64| -> u8 {
        if x < 0 || yy < 0 {
            return 0;
        }
        luma.of(rgb(image, x as u32, yy as u32))
    };
    let (mut nonuniform, mut total) = (0usize, 0usize);
    for &(px, py) in pixels.iter().step_by(2) {
        let (cx, cy) = (i64::from(px), i64::from(py));
        let c = y(cx, cy);
        let bits = RING
            .iter()
            .enumerate()
            .fold(0u8, |acc, (i, &(dx, dy))| acc | u8::from(y(cx + dx, cy + dy) >= c) << i);
        // Each set bit of `bits ^ rotate(bits)` is a neighbour pair that differs.
        let transitions = (bits ^ bits.rotate_right(1)).count_ones();
        total += 1;
        if transitions > 2 {
            nonuniform += 1;
        }
    }
    if total == 0 { 0.0 } else { nonuniform as f64 / total as f64 }
}

const WINDOW: usize = 64;

/// The geometric mean of [`peak_ratio`] over three windows: between the eyes and down
/// the nose, and on each cheek (the cheek centres of [`cheeks`]).
fn moire(image: &RgbImage, marks: &Landmarks, luma: &Luma) -> f64 {
    let nose = Point::mean(&[marks.at(29), marks.at(30), marks.left_eye(), marks.right_eye()]);
    let [left, right] = cheeks(marks).map(|square| Point::mean(&square));
    let logs: f64 = [nose, left, right].iter().map(|&c| peak_ratio(image, c, luma).max(1e-6).ln()).sum();
    (logs / 3.0).exp()
}

/// The strongest spectral peak of a 64×64 Hann-windowed luminance window centred on
/// `c`, over radii 6–31 (cycles per window), relative to the mean magnitude at its
/// radius.
fn peak_ratio(image: &RgbImage, c: Point, luma: &Luma) -> f64 {
    let (x0, y0) = ((c.x as i64 - WINDOW as i64 / 2).max(0), (c.y as i64 - WINDOW as i64 / 2).max(0));
    let hann = |i: usize| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (WINDOW - 1) as f64).cos();
    let mut data = vec![0f64; WINDOW * WINDOW];
    let mut mean = 0.0;
    for (i, v) in data.iter_mut().enumerate() {
        let (x, y) = (x0 + (i % WINDOW) as i64, y0 + (i / WINDOW) as i64);
        *v = f64::from(luma.of(rgb(image, x as u32, y as u32)));
        mean += *v;
    }
    mean /= (WINDOW * WINDOW) as f64;
    for (i, v) in data.iter_mut().enumerate() {
        *v = (*v - mean) * hann(i % WINDOW) * hann(i / WINDOW);
    }
    let spectrum = dft2(&data);
    let mut sums = [0f64; WINDOW];
    let mut counts = [0f64; WINDOW];
    let mut peaks = [0f64; WINDOW];
    for v in 0..WINDOW {
        for u in 0..WINDOW {
            let (fu, fv) = (u.min(WINDOW - u) as f64, v.min(WINDOW - v) as f64);
            let r = fu.hypot(fv).round() as usize;
            let m = spectrum.get(v * WINDOW + u).copied().unwrap_or(0.0);
            if let (Some(s), Some(n), Some(p)) = (sums.get_mut(r), counts.get_mut(r), peaks.get_mut(r)) {
                *s += m;
                *n += 1.0;
                *p = p.max(m);
            }
        }
    }
    (6..WINDOW / 2)
        .filter_map(|r| {
            let (s, n, p) = (sums.get(r)?, counts.get(r)?, peaks.get(r)?);
            (*s > 0.0).then(|| p / (s / n))
        })
        .fold(0.0, f64::max)
}

/// Magnitudes of the 2-D DFT of a `WINDOW × WINDOW` block (rows then columns).
fn dft2(data: &[f64]) -> Vec<f64> {
    let n = WINDOW;
    let twiddle: Vec<(f64, f64)> =
        (0..n).map(|k| (-(std::f64::consts::TAU * k as f64 / n as f64)).sin_cos()).collect();
    let tw = |k: usize| twiddle.get(k % n).copied().unwrap_or((0.0, 1.0));
    let mut rows = vec![(0f64, 0f64); n * n];
    for y in 0..n {
        for u in 0..n {
            let (mut re, mut im) = (0.0, 0.0);
            for x in 0..n {
                let v = data.get(y * n + x).copied().unwrap_or(0.0);
                let (s, c) = tw(u * x);
                re += v * c;
                im += v * s;
            }
            if let Some(slot) = rows.get_mut(y * n + u) {
                *slot = (re, im);
            }
        }
    }
    let mut out = vec![0f64; n * n];
    for u in 0..n {
        for v in 0..n {
            let (mut re, mut im) = (0.0, 0.0);
            for y in 0..n {
                let (a, b) = rows.get(y * n + u).copied().unwrap_or((0.0, 0.0));
                let (s, c) = tw(v * y);
                re += a * c - b * s;
                im += a * s + b * c;
            }
            if let Some(slot) = out.get_mut(v * n + u) {
                *slot = re.hypot(im);
            }
        }
    }
    out
}
