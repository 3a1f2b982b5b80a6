//! OFIQ-style quality (`qualityScore` and its sub-flags): each component's raw value
//! measured on our detector's boxes, the 68 landmarks and the aligned chip, mapped to
//! 0–100 by OFIQ's published mappings ([`Component::scalar`]). Not ISO/IEC 29794-5
//! conformant: OFIQ's own models (face parsing, sharpness forest, compression CNN,
//! pose network) are replaced by the closed-form measures documented on each function.
//!
//! `qualityScore` is ours, not OFIQ's unified score: the weighted mean of the mapped
//! component scalars, weighting most what BSI's evaluation found drives recognition
//! errors (sharpness, compression, occlusion, inter-eye distance, yaw) — see
//! [`WEIGHTS`].

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::descriptor::CHIP_SIZE;
use crate::detector::Detection;
use crate::geometry::Point;
use crate::landmarks::Landmarks;
use crate::occlusion::Occlusion;
use crate::ofiq::Component;
use crate::region::{Luma, cheeks, face_outline, linear, pixels_in, rgb};

/// Weights of the component scalars in `qualityScore`.
pub const WEIGHTS: &[(Component, f64)] = &[
    (Component::Sharpness, 3.0),
    (Component::CompressionArtifacts, 2.0),
    (Component::FaceOcclusionPrevention, 2.0),
    (Component::InterEyeDistance, 2.0),
    (Component::HeadPoseYaw, 2.0),
    (Component::EyesVisible, 1.0),
    (Component::MouthOcclusionPrevention, 1.0),
    (Component::HeadPosePitch, 1.0),
    (Component::HeadPoseRoll, 1.0),
    (Component::SingleFacePresent, 1.0),
    (Component::LuminanceMean, 1.0),
    (Component::UnderExposurePrevention, 1.0),
    (Component::IlluminationUniformity, 0.5),
    (Component::DynamicRange, 0.5),
    (Component::NaturalColour, 0.5),
    (Component::LuminanceVariance, 0.5),
];

/// Scalar below which a sub-flag is raised.
pub const FLAG_BELOW: f64 = 40.0;
/// Share of the face's pixels clipped to white (luminance ≥ 247, the raw value of
/// `OverExposurePrevention`) above which `qualityIllu` is raised: a tenth of the face
/// without texture. OFIQ's own mapping of that component is not claimed (see
/// [`Component`]); the test photos measure 0 and pass it at a gain of 1.6–2.4.
pub const OVER_EXPOSED_SHARE: f64 = 0.1;
/// Background luminance standard deviation (0–255) above which `qualityBackground`
/// is raised.
pub const BUSY_BACKGROUND: f64 = 60.0;

/// One component's measurement.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// Which component.
    pub component: Component,
    /// The raw value, in the unit the component documents.
    pub raw: f64,
    /// OFIQ's 0–100 mapping of it, `None` where no mapping is claimed.
    pub scalar: Option<f64>,
}

/// The quality of one face photo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// Every measured component.
    pub measures: Vec<Measure>,
    /// Weighted mean of the mapped scalars, 0–100, two decimals.
    pub score: f64,
    /// `qualityBlur`: sharpness or compression scalar below [`FLAG_BELOW`].
    pub blur: bool,
    /// `qualityIllu`: luminance, under-exposure or illumination uniformity below
    /// [`FLAG_BELOW`], or more than [`OVER_EXPOSED_SHARE`] of the face clipped to white.
    pub illumination: bool,
    /// `qualityOccu`: the occlusion stage calls the face occluded.
    pub occlusion: bool,
    /// `qualityBackground`: the background is busy (see [`BUSY_BACKGROUND`]).
    pub background: bool,
}

impl Quality {
    /// The measure of `component`, if taken.
    pub fn get(&self, component: Component) -> Option<&Measure> {
        self.measures.iter().find(|m| m.component == component)
    }

    fn scalar(&self, component: Component) -> f64 {
        self.get(component).and_then(|m| m.scalar).unwrap_or(100.0)
    }
}

/// Assesses the face with `marks` (the largest of `faces`) in `image`; `chip` is its
/// aligned 150×150 chip.
pub fn assess_quality(
    image: &RgbImage,
    chip: &[u8],
    marks: &Landmarks,
    faces: &[Detection],
    occlusion: &Occlusion,
) -> Quality {
    let luma = Luma::new();
    let face: Vec<u8> =
        pixels_in(image, &face_outline(marks)).iter().map(|&(x, y)| luma.of(rgb(image, x, y))).collect();
    let n = face.len().max(1) as f64;
    let mean = face.iter().map(|&y| f64::from(y) / 255.0).sum::<f64>() / n;
    let variance = face.iter().map(|&y| (f64::from(y) / 255.0 - mean).powi(2)).sum::<f64>() / n;
    let share = |keep: &dyn Fn(u8) -> bool| face.iter().filter(|&&y| keep(y)).count() as f64 / n;
    let (yaw, pitch, roll) = head_pose(marks);
    let ied = f64::from(marks.inter_eye_distance());
    let eye_mid = Point::mean(&[marks.left_eye(), marks.right_eye()]);
    let (width, height) = (f64::from(image.width()), f64::from(image.height()));
    let mut raw = vec![
        (Component::LuminanceMean, mean),
        (Component::LuminanceVariance, variance),
        (Component::UnderExposurePrevention, share(&|y| y <= 25)),
        (Component::OverExposurePrevention, share(&|y| y >= 247)),
        (Component::DynamicRange, entropy(&face)),
        (Component::IlluminationUniformity, illumination_uniformity(image, marks, &luma)),
        (Component::NaturalColour, natural_colour(image, marks)),
        (Component::Sharpness, sharpness(chip)),
        (Component::CompressionArtifacts, compression(image, marks, &luma)),
        (Component::SingleFacePresent, second_face_ratio(faces)),
        (Component::InterEyeDistance, ied / yaw.to_radians().cos().max(0.1)),
        (Component::HeadSize, f64::from(eye_mid.distance(marks.at(8))) / height.max(1.0)),
        (Component::LeftwardCropOfTheFaceImage, f64::from(marks.left_eye().x) / ied.max(1.0)),
        (Component::RightwardCropOfTheFaceImage, (width - f64::from(marks.right_eye().x)) / ied.max(1.0)),
        (Component::UpwardCropOfTheFaceImage, (height - f64::from(eye_mid.y)) / t_metric(marks)),
        (Component::DownwardCropOfTheFaceImage, f64::from(eye_mid.y) / t_metric(marks)),
        (Component::HeadPoseYaw, yaw),
        (Component::HeadPosePitch, pitch),
        (Component::HeadPoseRoll, roll),
        (Component::EyesVisible, occlusion.eyes),
        (Component::MouthOcclusionPrevention, occlusion.lower_face),
        (Component::FaceOcclusionPrevention, occlusion.face),
        (Component::EyesOpen, eyes_open(marks)),
        (Component::MouthClosed, mouth_opening(marks)),
        (Component::BackgroundUniformity, background_spread(image, marks, &luma)),
    ];
    for (_, v) in &mut raw {
        if !v.is_finite() {
            *v = 0.0;
        }
    }
    let measures: Vec<Measure> = raw
        .into_iter()
        .map(|(component, raw)| Measure { component, raw, scalar: component.scalar(raw) })
        .collect();
    let mut quality = Quality {
        measures,
        score: 0.0,
        blur: false,
        illumination: false,
        occlusion: occlusion.occluded(),
        background: false,
    };
    let (sum, weight) =
        WEIGHTS.iter().fold((0.0, 0.0), |(s, w), &(c, weight)| (s + weight * quality.scalar(c), w + weight));
    quality.score = (sum / weight * 100.0).round() / 100.0;
    quality.blur = quality.scalar(Component::Sharpness).min(quality.scalar(Component::CompressionArtifacts))
        < FLAG_BELOW;
    quality.illumination =
        [Component::LuminanceMean, Component::UnderExposurePrevention, Component::IlluminationUniformity]
            .iter()
            .any(|&c| quality.scalar(c) < FLAG_BELOW)
            || quality.get(Component::OverExposurePrevention).is_some_and(|m| m.raw > OVER_EXPOSED_SHARE);
    quality.background =
        quality.get(Component::BackgroundUniformity).is_some_and(|m| m.raw > BUSY_BACKGROUND);
    quality
}

/// Shannon entropy (bits) of the luminance histogram.
fn entropy(values: &[u8]) -> f64 {
    let mut hist = [0usize; 256];
    for &v in values {
        if let Some(h) = hist.get_mut(usize::from(v)) {
            *h += 1;
        }
    }
    let n = values.len().max(1) as f64;
    hist.iter().filter(|&&c| c > 0).map(|&c| c as f64 / n).map(|p| -p * p.log2()).sum()
}

/// Histogram intersection of the two cheek patches' luminance (32 bins; 1 = same
/// distribution).
fn illumination_uniformity(image: &RgbImage, marks: &Landmarks, luma: &Luma) -> f64 {
    let [left, right] = cheeks(marks).map(|poly| {
        let pixels = pixels_in(image, &poly);
        let mut hist = [0f64; 32];
        for &(x, y) in &pixels {
            if let Some(h) = hist.get_mut(usize::from(luma.of(rgb(image, x, y)) / 8)) {
                *h += 1.0;
            }
        }
        let n = pixels.len().max(1) as f64;
        hist.map(|c| c / n)
    });
    left.iter().zip(right.iter()).map(|(a, b)| a.min(*b)).sum()
}

/// Distance of the cheeks' mean CIELAB (a*, b*) from the natural skin box
/// a* ∈ [5, 25], b* ∈ [5, 35].
fn natural_colour(image: &RgbImage, marks: &Landmarks) -> f64 {
    let pixels: Vec<(u32, u32)> = cheeks(marks).iter().flat_map(|poly| pixels_in(image, poly)).collect();
    let n = pixels.len().max(1) as f64;
    let (mut sa, mut sb) = (0.0, 0.0);
    for &(x, y) in &pixels {
        let (a, b) = lab_ab(rgb(image, x, y));
        sa += a;
        sb += b;
    }
    let (a, b) = (sa / n, sb / n);
    let outside = |v: f64, lo: f64, hi: f64| (lo - v).max(v - hi).max(0.0);
    outside(a, 5.0, 25.0).hypot(outside(b, 5.0, 35.0))
}

/// CIELAB a*, b* (D65) of an sRGB pixel.
fn lab_ab(p: [u8; 3]) -> (f64, f64) {
    let [r, g, b] = p.map(linear);
    let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
    let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
    let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
    let f = |t: f64| if t > 0.008856 { t.cbrt() } else { 7.787 * t + 16.0 / 116.0 };
    (500.0 * (f(x) - f(y)), 200.0 * (f(y) - f(z)))
}

/// Sharpness: the weakest direction's second-derivative variance of the chip's
/// luminance (the chip fixes the scale, so faces of any size compare). The 3-tap
/// second difference `2·y − y₋ − y₊` is taken along x, y and both diagonals (the
/// diagonals' variance halved for their √2 spacing); a motion streak flattens the
/// direction it runs along and leaves the others sharp, so the minimum over
/// directions sees it where a Laplacian (the sum of two directions) does not. Taps
/// within two pixels of the chip's black fill (the chip reaching past the photo's
/// edge) are skipped: that edge is sharp whatever the face. Placed on OFIQ's raw
/// scale as `20 · log2(min / 20)` — about 0 at the blur where faces stop being crisp.
fn sharpness(chip: &[u8]) -> f64 {
    let s = CHIP_SIZE;
    let pixel = |x: usize, yy: usize| -> Option<[u8; 3]> {
        let at = (yy * s + x) * 3;
        match chip.get(at..at + 3) {
            Some(&[r, g, b]) => Some([r, g, b]),
            _ => None,
        }
    };
    let y = |x: usize, yy: usize| -> f64 {
        pixel(x, yy)
            .map_or(0.0, |[r, g, b]| 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b))
    };
    // Pixels within two of a black fill pixel.
    let mut near_fill = vec![false; s * s];
    for yy in 0..s {
        for x in 0..s {
            if pixel(x, yy) == Some([0, 0, 0]) {
                for ny in yy.saturating_sub(2)..(yy + 3).min(s) {
                    for nx in x.saturating_sub(2)..(x + 3).min(s) {
                        if let Some(flag) = near_fill.get_mut(ny * s + nx) {
                            *flag = true;
                        }
                    }
                }
            }
        }
    }
    let skip = |x: usize, yy: usize| near_fill.get(yy * s + x).copied().unwrap_or(true);
    // (dx, dy, weight): the diagonals' variance is halved.
    const DIRECTIONS: [(isize, isize, f64); 4] = [(1, 0, 1.0), (0, 1, 1.0), (1, 1, 0.5), (1, -1, 0.5)];
    let mut weakest = f64::INFINITY;
    for (dx, dy, weight) in DIRECTIONS {
        let (mut sum, mut sum2, mut n) = (0.0, 0.0, 0.0);
        // The central 60 % of the chip: the face, not the background.
        for yy in s / 5..s - s / 5 {
            for x in s / 5..s - s / 5 {
                let (xa, ya) = (x.wrapping_add_signed(-dx), yy.wrapping_add_signed(-dy));
                let (xb, yb) = (x.wrapping_add_signed(dx), yy.wrapping_add_signed(dy));
                if skip(x, yy) || skip(xa, ya) || skip(xb, yb) {
                    continue;
                }
                let d2 = 2.0 * y(x, yy) - y(xa, ya) - y(xb, yb);
                sum += d2;
                sum2 += d2 * d2;
                n += 1.0;
            }
        }
        if n > 0.0 {
            weakest = weakest.min(weight * (sum2 / n - (sum / n).powi(2)));
        }
    }
    if !weakest.is_finite() {
        return -100.0;
    }
    (20.0 * (weakest.max(1e-6) / 20.0).log2()).clamp(-100.0, 100.0)
}

/// JPEG compression: blockiness `B` = mean luminance step across 8-pixel block
/// boundaries / mean step inside blocks (both +1), over the face's bounding box at
/// native resolution; raw = `1 / B²` (1 for no visible block grid, falling as the grid
/// shows).
fn compression(image: &RgbImage, marks: &Landmarks, luma: &Luma) -> f64 {
    let Some((x0, y0, w, h)) = marks.bounds().clip(image.width(), image.height()) else { return 1.0 };
    let (mut edge, mut edges, mut inner, mut inners) = (0.0, 0.0, 0.0, 0.0);
    for y in y0..y0 + h {
        for x in x0..(x0 + w).saturating_sub(1) {
            let step =
                (f64::from(luma.of(rgb(image, x, y))) - f64::from(luma.of(rgb(image, x + 1, y)))).abs();
            if x % 8 == 7 {
                (edge, edges) = (edge + step, edges + 1.0);
            } else {
                (inner, inners) = (inner + step, inners + 1.0);
            }
        }
    }
    for y in y0..(y0 + h).saturating_sub(1) {
        for x in x0..x0 + w {
            let step =
                (f64::from(luma.of(rgb(image, x, y))) - f64::from(luma.of(rgb(image, x, y + 1)))).abs();
            if y % 8 == 7 {
                (edge, edges) = (edge + step, edges + 1.0);
            } else {
                (inner, inners) = (inner + step, inners + 1.0);
            }
        }
    }
    if edges == 0.0 || inners == 0.0 {
        return 1.0;
    }
    let b = ((edge / edges + 1.0) / (inner / inners + 1.0)).max(1.0);
    1.0 / (b * b)
}

/// Area of the second-largest face / the largest (0 with one face).
fn second_face_ratio(faces: &[Detection]) -> f64 {
    let mut areas: Vec<f32> = faces.iter().map(|d| d.bbox.area()).collect();
    areas.sort_by(|a, b| b.total_cmp(a));
    match (areas.first(), areas.get(1)) {
        (Some(&a), Some(&b)) if a > 0.0 => f64::from(b / a),
        _ => 0.0,
    }
}

/// Head pose (yaw, pitch, roll) in degrees from the landmarks, after removing roll:
/// yaw from the nose tip's offset between the jaw's extremes (asin of the offset /
/// half the jaw width), pitch from where the nose tip falls between the eye line and
/// the mouth (0.6 of the way down when level; asin of the deviation / 0.5). Coarse
/// geometric estimates, not a pose network.
fn head_pose(marks: &Landmarks) -> (f64, f64, f64) {
    let roll = f64::from(marks.roll_degrees());
    let (sin, cos) = (-roll.to_radians() as f32).sin_cos();
    let origin = Point::mean(&[marks.left_eye(), marks.right_eye()]);
    let level = |p: Point| {
        let (dx, dy) = (p.x - origin.x, p.y - origin.y);
        Point::new(dx * cos - dy * sin, dx * sin + dy * cos)
    };
    let (jaw_l, jaw_r, nose, mouth) =
        (level(marks.at(0)), level(marks.at(16)), level(marks.at(30)), level(marks.mouth()));
    let half = f64::from((jaw_r.x - jaw_l.x) / 2.0).max(1.0);
    let offset = f64::from(nose.x - (jaw_l.x + jaw_r.x) / 2.0);
    let yaw = (offset / half).clamp(-1.0, 1.0).asin().to_degrees();
    let down = f64::from(nose.y / mouth.y.max(1.0));
    let pitch = ((down - 0.6) / 0.5).clamp(-1.0, 1.0).asin().to_degrees();
    (yaw, pitch, roll)
}

/// OFIQ's eye openness: the smaller eye's largest lid opening (between the paired
/// upper and lower lid points) / T, the eye-midpoint-to-chin distance.
fn eyes_open(marks: &Landmarks) -> f64 {
    let opening = |pairs: [(usize, usize); 2]| {
        pairs.iter().map(|&(a, b)| marks.at(a).distance(marks.at(b))).fold(0.0f32, f32::max)
    };
    let smaller = opening([(37, 41), (38, 40)]).min(opening([(43, 47), (44, 46)]));
    f64::from(smaller) / t_metric(marks)
}

/// OFIQ's mouth opening: the largest inner-lip opening / T.
fn mouth_opening(marks: &Landmarks) -> f64 {
    let opening = [(61, 67), (62, 66), (63, 65)]
        .iter()
        .map(|&(a, b)| marks.at(a).distance(marks.at(b)))
        .fold(0.0f32, f32::max);
    f64::from(opening) / t_metric(marks)
}

/// T: the distance from the eyes' midpoint to the chin (point 8).
fn t_metric(marks: &Landmarks) -> f64 {
    let eyes = Point::mean(&[marks.left_eye(), marks.right_eye()]);
    f64::from(eyes.distance(marks.at(8))).max(1e-3)
}

/// Standard deviation of luminance outside the face box enlarged 1.5× (sampled every
/// 4th pixel).
fn background_spread(image: &RgbImage, marks: &Landmarks, luma: &Luma) -> f64 {
    let b = marks.bounds();
    let (cx, cy) = (b.x + b.width / 2.0, b.y + b.height / 2.0);
    let (hw, hh) = (b.width * 0.75, b.height * 0.75 + b.height * 0.25);
    let (mut sum, mut sum2, mut n) = (0.0, 0.0, 0.0);
    for y in (0..image.height()).step_by(4) {
        for x in (0..image.width()).step_by(4) {
            if (x as f32 - cx).abs() < hw && (y as f32 - cy).abs() < hh {
                continue;
            }
            let v = f64::from(luma.of(rgb(image, x, y)));
            (sum, sum2, n) = (sum + v, sum2 + v * v, n + 1.0);
        }
    }
    if n == 0.0 { 0.0 } else { (sum2 / n - (sum / n).powi(2)).max(0.0).sqrt() }
}
