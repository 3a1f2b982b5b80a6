//! Occlusion (`faceOcclusion`): is the lower face covered (mask, scarf, hand) or are
//! the eyes covered (sunglasses)? Measured in landmark-anchored regions against a skin
//! reference taken on the nose (points 29–30, below where glasses sit and above where
//! masks start):
//!
//! - **lower face**: the region below the nose wings down to the chin (jaw points 3–13
//!   and the nose base 31–35) without the mouth (outer lips 48–59: lips, teeth and an
//!   open mouth are not cover); a pixel is *covered* when its chroma is far from the
//!   skin reference (> 18 in Cb/Cr). Luminance is not used: one side of a face in
//!   shadow is darker than the lit nose by far more than any fixed ratio.
//! - **eyes**: an ellipse around each eye (0.42 × 0.24 inter-eye distances); a pixel is
//!   *covered* when darker than 0.45× the skin reference with little chroma — what a
//!   lens looks like; real eyes have some dark pixels (pupil, lashes), so the flag
//!   needs a majority.
//! - **face**: the covered share of both kinds of region together.
//!
//! Landmarks on an occluded face are the network's guess; the regions are anchored on
//! the points that stay reliable (eyes' frame, nose, jaw outline).

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::geometry::Point;
use crate::landmarks::Landmarks;
use crate::region::{Luma, chroma, inside, pixels_in, rgb, square_around};

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
    let lower_covered = |p: [u8; 3]| {
        let (cb, cr) = chroma(p);
        (cb - skin.cb).hypot(cr - skin.cr) > 18.0
    };
    let eye_covered = |p: [u8; 3]| {
        let (cb, cr) = chroma(p);
        f32::from(luma.of(p)) < 0.45 * skin.luma && (cb - 128.0).hypot(cr - 128.0) < 12.0
    };
    let count = |pixels: &[(u32, u32)], covered: &dyn Fn([u8; 3]) -> bool| -> (usize, usize) {
        (pixels.iter().filter(|&&(x, y)| covered(rgb(image, x, y))).count(), pixels.len())
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
    let left = count(&eye(marks.left_eye()), &eye_covered);
    let right = count(&eye(marks.right_eye()), &eye_covered);
    let (eyes, lower_face) = (share(left).max(share(right)), share(lower));
    let face = share((lower.0 + left.0 + right.0, lower.1 + left.1 + right.1));
    Occlusion { eyes, lower_face, face }
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
