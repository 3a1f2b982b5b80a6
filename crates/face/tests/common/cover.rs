//! Test support: a hand-like, skin-coloured cover pasted over a landmark — fingers
//! (rounded bars) whose texture is copied from the same face's own skin, shaded
//! across each finger like a lit cylinder. What a hand over the mouth or an eye looks
//! like to the occlusion stage: the same colour as the face, none of the mouth's or
//! the eye's structure.

#![allow(clippy::indexing_slicing, reason = "test support on fixed-size pixel arrays")]

use image::RgbImage;
use shiren_face::{Landmarks, Point};

/// Where the cover goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Covered {
    /// The mouth (outer lips 48–59), fingers from the image-right side.
    Mouth,
    /// The image-left eye (36–41).
    LeftEye,
    /// The image-right eye (42–47).
    RightEye,
}

/// Distance from `p` to the segment `a`–`b`.
fn to_segment(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (vx, vy) = (b.0 - a.0, b.1 - a.1);
    let t = (((p.0 - a.0) * vx + (p.1 - a.1) * vy) / (vx * vx + vy * vy).max(1e-6)).clamp(0.0, 1.0);
    (p.0 - a.0 - t * vx).hypot(p.1 - a.1 - t * vy)
}

/// Reflects `v` into [-h, h] (a triangle wave: copied texture shows no seam).
fn reflect(v: f32, h: f32) -> f32 {
    let period = 4.0 * h;
    let t = (v + h).rem_euclid(period);
    if t <= 2.0 * h { t - h } else { 3.0 * h - t }
}

/// `photo` with fingers over `what`; the skin is copied from the face's `source`
/// patch (the cheek under the other eye for an eye, the forehead for the mouth).
pub(crate) fn hand_over(photo: &RgbImage, marks: &Landmarks, what: Covered, tilt_degrees: f32) -> RgbImage {
    let ied = marks.inter_eye_distance();
    let centre = |r: std::ops::Range<usize>| Point::mean(&r.map(|i| marks.at(i)).collect::<Vec<_>>());
    let brows = Point::mean(&[marks.at(21), marks.at(22)]);
    let forehead = Point::new(brows.x, brows.y - 0.3 * ied);
    let cheek_left = Point::mean(&[marks.at(2), marks.at(31), marks.at(41), marks.at(48)]);
    let cheek_right = Point::mean(&[marks.at(14), marks.at(35), marks.at(46), marks.at(54)]);
    let (target, source, fingers, length) = match what {
        Covered::Mouth => (centre(48..60), forehead, 4, 1.7 * ied),
        Covered::LeftEye => (centre(36..42), cheek_right, 4, 1.4 * ied),
        Covered::RightEye => (centre(42..48), cheek_left, 4, 1.4 * ied),
    };
    let width = 0.24 * ied;
    let (sin, cos) = tilt_degrees.to_radians().sin_cos();
    // Finger axes: along (cos, sin), stacked along the normal (-sin, cos).
    let axes: Vec<((f32, f32), (f32, f32))> = (0..fingers)
        .map(|k| {
            let offset = (k as f32 - (fingers as f32 - 1.0) / 2.0) * width * 0.97;
            // Fingers of a hand differ in length; the tip side is to the image left.
            let short = if k == 0 || k + 1 == fingers { 0.82 } else { 1.0 };
            let (cx, cy) = (target.x - sin * offset, target.y + cos * offset);
            let half = length * short / 2.0;
            ((cx - cos * half, cy - sin * half), (cx + cos * half, cy + sin * half))
        })
        .collect();
    let h = 0.14 * ied;
    let mut out = photo.clone();
    let (w_img, h_img) = photo.dimensions();
    for (x, y, px) in out.enumerate_pixels_mut() {
        let p = (x as f32 + 0.5, y as f32 + 0.5);
        let Some(d) = axes.iter().map(|&(a, b)| to_segment(p, a, b)).min_by(f32::total_cmp) else { continue };
        if d > width / 2.0 {
            continue;
        }
        let sx = (source.x + reflect(p.0 - target.x, h)).clamp(0.0, (w_img - 1) as f32) as u32;
        let sy = (source.y + reflect(p.1 - target.y, h)).clamp(0.0, (h_img - 1) as f32) as u32;
        let shade = 1.0 - 0.18 * (2.0 * d / width).powi(2);
        let src = photo.get_pixel(sx, sy).0;
        px.0 = src.map(|c| (f32::from(c) * shade).round().clamp(0.0, 255.0) as u8);
    }
    out
}
