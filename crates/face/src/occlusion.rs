//! Occlusion (`faceOcclusion`): is the lower face covered (mask, scarf, hand) or are
//! the eyes covered (sunglasses, a hand)? Two kinds of evidence, in landmark-anchored
//! regions:
//!
//! **Colour**, against a skin reference taken on the forehead (a square of a quarter
//! of the inter-eye distance, 0.3 of it above the brows' inner ends — above where
//! glasses sit and far from where masks start):
//! - *lower face*: the region below the nose wings down to the chin (jaw points 3–13
//!   and the nose base 31–35) without the mouth (outer lips 48–59: lips, teeth and an
//!   open mouth are not cover); a pixel is *covered* when its chroma is far from the
//!   skin reference (> 18 in Cb/Cr). Luminance is not used: one side of a face in
//!   shadow is darker than the lit forehead by far more than any fixed ratio.
//! - *eyes*: an ellipse around each eye (0.42 × 0.24 inter-eye distances); a pixel is
//!   *covered* when darker than 0.45× the skin reference with little chroma — less
//!   than 12 and less than half the skin's own chroma, so a dim or desaturated photo
//!   (whose chroma shrinks with it) compares like with like — what a lens looks like;
//!   real eyes have some dark pixels (pupil, lashes), so the flag needs a majority.
//!   When the skin itself has almost no chroma (< 4: a grayscale photo) colour cannot
//!   tell a lens from a shadow, and only pixels darker than 0.15× the reference and
//!   flat (central luma differences under 6 across and down) count.
//!
//! **Shape**, for covers the colour of skin (a hand, fingers): what a mouth and an eye
//! look like, measured on gamma-encoded luma as *levels* `(v − black) / (skin −
//! black)` between the face's own black (the darkest 2nd-percentile luma of either
//! eye or the brows) and its skin, so a
//! gain, an offset, a contrast change or grayscale leaves them unchanged
//! ([`ShapeCues`]):
//! - *mouth*: the line where the lips meet (inner lips 60–67) is the darkest line of
//!   the lower face — its 10th-percentile level is at most 0.33 on the test photos (in
//!   colour, grayscale, dimmed and at half contrast), 0.59–0.90 under fingers;
//! - *eyes*: an eye holds the face's darkest pixels (pupil, lashes: the ellipse's
//!   2nd-percentile level is at most 0.022 on the test photos, 0.08 and more under a
//!   hand)
//!   and as much edge structure as the other eye (mean gradient magnitude, the two
//!   eyes' ratio at least 0.68 on the test photos); a skin-coloured cover has neither.
//!
//! These shape thresholds were set on the pinned test photos and finger covers at
//! four tilts each over the mouth and one eye (`tests/occlusion.rs`): seven photos of
//! three people make a first calibration, not a measured operating point.
//!
//! Each region's covered share is the larger of the two kinds' evidence. Landmarks on
//! an occluded face are the network's guess; the regions are anchored on the points
//! that stay reliable (eyes' frame, nose, jaw outline).

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::geometry::Point;
use crate::landmarks::Landmarks;
use crate::region::{Luma, cheeks, chroma, inside, pixels_in, rgb, square_around};

/// Covered share above which a region is called occluded.
pub const OCCLUDED_SHARE: f64 = 0.5;

/// Covered shares of the landmark-anchored regions, each in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Occlusion {
    /// Share of the eye regions covered (the worse eye).
    pub eyes: f64,
    /// Share of the lower face covered.
    pub lower_face: f64,
    /// Share of the eye and lower-face regions together covered.
    pub face: f64,
    /// The shape measurements behind the shares.
    #[serde(default)]
    pub cues: ShapeCues,
}

/// Shape cues of the mouth and the eyes. Levels are ratios `(v − black) / (skin −
/// black)`: `black` the darkest 2nd-percentile luma of either eye or the brows, `skin` the brighter of the
/// forehead's and the cheeks' medians — unchanged by a gain, an offset or a contrast
/// change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ShapeCues {
    /// 10th-percentile luma along the inner-lip line, as a level (a mouth: low).
    pub mouth_line: f64,
    /// 2nd-percentile luma of each eye's ellipse, as a level (an eye: low); image
    /// left, then right.
    pub eye_dark: [f64; 2],
    /// Each eye's mean gradient magnitude / the other eye's, at most 1 (a covered eye
    /// next to an open one: low).
    pub eye_symmetry: [f64; 2],
}

impl ShapeCues {
    /// Evidence (0–1) that the mouth is covered: 0.5 at a lip-line level of 0.46, 1
    /// from 0.56 (the test photos: at most 0.33; under fingers: 0.59 and more).
    pub fn mouth_covered(&self) -> f64 {
        (0.5 + (self.mouth_line - 0.46) / 0.2).clamp(0.0, 1.0)
    }

    /// Evidence (0–1) that eye `i` (0: image left, 1: right) is covered: `z` = the
    /// darkness level above 0.03 in units of 0.03 plus the symmetry below 0.75 in units
    /// of 0.1; 0.5 at `z` = 1, 1 from 1.5 (the test photos' eyes: at most −0.3; a hand
    /// over an eye: 3.4 and more where the landmarks stay on the eye).
    pub fn eye_covered(&self, i: usize) -> f64 {
        let dark = self.eye_dark.get(i).copied().unwrap_or(0.0);
        let symmetry = self.eye_symmetry.get(i).copied().unwrap_or(1.0);
        let z = (dark - 0.03) / 0.03 + (0.75 - symmetry) / 0.1;
        (0.5 + (z - 1.0)).clamp(0.0, 1.0)
    }
}

impl Occlusion {
    /// Whether the eyes or the lower face are occluded.
    pub fn occluded(&self) -> bool {
        self.eyes > OCCLUDED_SHARE || self.lower_face > OCCLUDED_SHARE
    }
}

struct Skin {
    luma: f32,
    cb: f32,
    cr: f32,
}

/// Measures occlusion of the face with `marks` in `image`.
pub fn measure_occlusion(image: &RgbImage, marks: &Landmarks) -> Occlusion {
    let luma = Luma::new();
    let ied = marks.inter_eye_distance().max(1.0);
    let brows = Point::mean(&[marks.at(21), marks.at(22)]);
    let forehead = Point::new(brows.x, brows.y - 0.3 * ied);
    let reference = pixels_in(image, &square_around(forehead, 0.25 * ied));
    let n = reference.len().max(1) as f32;
    let (mut sl, mut scb, mut scr) = (0f32, 0f32, 0f32);
    for &(x, y) in &reference {
        let p = rgb(image, x, y);
        let (cb, cr) = chroma(p);
        sl += f32::from(luma.of(p));
        scb += cb;
        scr += cr;
    }
    let skin = Skin { luma: (sl / n).max(1.0), cb: scb / n, cr: scr / n };
    let skin_chroma = (skin.cb - 128.0).hypot(skin.cr - 128.0);
    let lower_covered = |x: u32, y: u32| {
        let (cb, cr) = chroma(rgb(image, x, y));
        (cb - skin.cb).hypot(cr - skin.cr) > 18.0
    };
    let eye_covered = |x: u32, y: u32| {
        let p = rgb(image, x, y);
        let (cb, cr) = chroma(p);
        let (l, c) = (f32::from(luma.of(p)), (cb - 128.0).hypot(cr - 128.0));
        if skin_chroma < 4.0 {
            // Grayscale: a lens is very dark and flat; a shadowed eye keeps its edges.
            let g = |x: u32, y: u32| luma601(rgb(image, x, y));
            let flat = (g(x + 1, y) - g(x.saturating_sub(1), y)).abs() < 6.0
                && (g(x, y + 1) - g(x, y.saturating_sub(1))).abs() < 6.0;
            l < 0.15 * skin.luma && flat
        } else {
            l < 0.45 * skin.luma && c < 12.0f32.min(0.5 * skin_chroma)
        }
    };
    let count = |pixels: &[(u32, u32)], covered: &dyn Fn(u32, u32) -> bool| -> (usize, usize) {
        (pixels.iter().filter(|&&(x, y)| covered(x, y)).count(), pixels.len())
    };
    let share = |(hits, total): (usize, usize)| if total == 0 { 0.0 } else { hits as f64 / total as f64 };
    let mut outline: Vec<Point> = (3..14).map(|i| marks.at(i)).collect();
    outline.extend((31..36).rev().map(|i| marks.at(i)));
    let lips: Vec<Point> = (48..60).map(|i| marks.at(i)).collect();
    let lower_pixels: Vec<(u32, u32)> = pixels_in(image, &outline)
        .into_iter()
        .filter(|&(x, y)| !inside(&lips, Point::new(x as f32 + 0.5, y as f32 + 0.5)))
        .collect();
    let lower = count(&lower_pixels, &lower_covered);
    let eye = |c: Point| pixels_in(image, &ellipse(c, 0.42 * ied, 0.24 * ied));
    let (left_pixels, right_pixels) = (eye(marks.left_eye()), eye(marks.right_eye()));
    let left = count(&left_pixels, &eye_covered);
    let right = count(&right_pixels, &eye_covered);
    let cues = shape_cues(image, marks, &reference, &left_pixels, &right_pixels);
    // A region's covered pixels: the larger of the colour count and the shape
    // evidence times the region's size.
    let widen = |(hits, total): (usize, usize), evidence: f64| -> (usize, usize) {
        (hits.max((evidence * total as f64).round() as usize).min(total), total)
    };
    let lower = widen(lower, cues.mouth_covered());
    let (left, right) = (widen(left, cues.eye_covered(0)), widen(right, cues.eye_covered(1)));
    let (eyes, lower_face) = (share(left).max(share(right)), share(lower));
    let face = share((lower.0 + left.0 + right.0, lower.1 + left.1 + right.1));
    Occlusion { eyes, lower_face, face, cues }
}

/// BT.601 luma of gamma-encoded sRGB (the shape cues compare levels as the eye sees
/// them, not linear light).
fn luma601(p: [u8; 3]) -> f64 {
    let [r, g, b] = p.map(f64::from);
    0.299 * r + 0.587 * g + 0.114 * b
}

/// The `q` quantile of `values` (sorted in place); 0 when empty.
fn quantile(values: &mut [f64], q: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let i = ((values.len().saturating_sub(1)) as f64 * q).round() as usize;
    values.get(i).copied().unwrap_or(0.0)
}

fn shape_cues(
    image: &RgbImage,
    marks: &Landmarks,
    forehead: &[(u32, u32)],
    left_eye: &[(u32, u32)],
    right_eye: &[(u32, u32)],
) -> ShapeCues {
    let ied = marks.inter_eye_distance().max(1.0);
    let level = |pixels: &[(u32, u32)]| {
        let mut v: Vec<f64> = pixels.iter().map(|&(x, y)| luma601(rgb(image, x, y))).collect();
        quantile(&mut v, 0.5)
    };
    let cheek_pixels: Vec<(u32, u32)> =
        cheeks(marks).iter().flat_map(|poly| pixels_in(image, poly)).collect();
    // The black level: the darkest of the 2nd-percentile lumas of each eye and of the
    // brows (pupils, lashes, brow hair; the uncovered eye when a hand covers the
    // other). Levels are measured from it, so a contrast change about any grey (a
    // print, a flat camera profile) leaves the ratios where they were; the lower face,
    // where a dark mask would set it, is not used.
    let brows: Vec<(u32, u32)> =
        (17..27).flat_map(|i| pixels_in(image, &square_around(marks.at(i), 0.15 * ied))).collect();
    let p2 = |pixels: &[(u32, u32)]| {
        let mut v: Vec<f64> = pixels.iter().map(|&(x, y)| luma601(rgb(image, x, y))).collect();
        if v.is_empty() { f64::INFINITY } else { quantile(&mut v, 0.02) }
    };
    let (left_p2, right_p2) = (p2(left_eye), p2(right_eye));
    let black = left_p2.min(right_p2).min(p2(&brows));
    let black = if black.is_finite() { black } else { 0.0 };
    // The brighter of the two skin levels: a dark mask over the cheeks must not make
    // the eyes look pale by comparison.
    let skin = (level(forehead).max(level(&cheek_pixels)) - black).max(1.0);
    // The inner-lip line: pixels within 0.05 inter-eye distances of the closed polyline
    // through points 60–67.
    let inner: Vec<Point> = (60..68).map(|i| marks.at(i)).collect();
    let pad = 0.1 * ied;
    let (x0, y0, x1, y1) =
        inner.iter().fold((f32::MAX, f32::MAX, f32::MIN, f32::MIN), |(x0, y0, x1, y1), p| {
            (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y))
        });
    let around = [
        Point::new(x0 - pad, y0 - pad),
        Point::new(x1 + pad, y0 - pad),
        Point::new(x1 + pad, y1 + pad),
        Point::new(x0 - pad, y1 + pad),
    ];
    let near_line = |p: Point| {
        (0..inner.len()).any(|k| match (inner.get(k), inner.get((k + 1) % inner.len())) {
            (Some(&a), Some(&b)) => to_segment(p, a, b) < 0.05 * ied,
            _ => false,
        })
    };
    let mut line: Vec<f64> = pixels_in(image, &around)
        .into_iter()
        .filter(|&(x, y)| near_line(Point::new(x as f32 + 0.5, y as f32 + 0.5)))
        .map(|(x, y)| luma601(rgb(image, x, y)))
        .collect();
    let mouth_line = if line.is_empty() { 0.0 } else { (quantile(&mut line, 0.1) - black).max(0.0) / skin };
    let dark = |p2: f64| if p2.is_finite() { (p2 - black).max(0.0) / skin } else { 0.0 };
    let gradient = |pixels: &[(u32, u32)]| {
        let y = |x: u32, yy: u32| luma601(rgb(image, x, yy));
        let sum: f64 = pixels
            .iter()
            .map(|&(x, yy)| {
                let gx = y(x + 1, yy) - y(x.saturating_sub(1), yy);
                let gy = y(x, yy + 1) - y(x, yy.saturating_sub(1));
                gx.hypot(gy) / 2.0
            })
            .sum();
        sum / pixels.len().max(1) as f64
    };
    let (gl, gr) = (gradient(left_eye), gradient(right_eye));
    let ratio = |a: f64, b: f64| if b <= 0.0 { 1.0 } else { (a / b).min(1.0) };
    ShapeCues {
        mouth_line,
        eye_dark: [dark(left_p2), dark(right_p2)],
        eye_symmetry: [ratio(gl, gr), ratio(gr, gl)],
    }
}

/// Distance from `p` to the segment `a`–`b`.
fn to_segment(p: Point, a: Point, b: Point) -> f32 {
    let (vx, vy) = (b.x - a.x, b.y - a.y);
    let t = (((p.x - a.x) * vx + (p.y - a.y) * vy) / (vx * vx + vy * vy).max(1e-6)).clamp(0.0, 1.0);
    (p.x - a.x - t * vx).hypot(p.y - a.y - t * vy)
}

/// An ellipse with half-axes `rx`, `ry` around `c`, as a 24-gon.
fn ellipse(c: Point, rx: f32, ry: f32) -> Vec<Point> {
    (0..24)
        .map(|i| {
            let t = i as f32 / 24.0 * std::f32::consts::TAU;
            Point::new(c.x + rx * t.cos(), c.y + ry * t.sin())
        })
        .collect()
}
