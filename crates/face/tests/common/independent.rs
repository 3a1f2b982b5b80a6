//! Test support: a **second, independently written** generator of synthetic
//! presentation attacks — the held-out split of `tests/attacks.rs`. It shares no code,
//! recipe or parameter with `shiren_face::synthetic` (which the attack indicators'
//! ranges were set against) and was written without looking at which cue catches
//! what: different physics for each species, different parameters.
//!
//! - **Print** (inkjet on warm paper, photographed): tones mapped into the paper's
//!   range (ink black to paper white, per channel), clustered-dot halftone per ink
//!   (cyan, magenta, yellow at their own screen angles, thresholded to dots, not a
//!   cosine modulation), fibrous paper texture (bilinear value noise), then the camera:
//!   a slight rotation and rescale of the sheet, optical blur (binomial), sensor noise.
//! - **Screen replay** (an LCD filmed by a camera): the display's own pixel grid,
//!   rotated against the camera's, with vertical RGB stripes; each camera pixel
//!   integrates 3×3 sample points of it; raised black level (backlight), a cooler
//!   white, vignetting, sensor noise.
//! - **Cut-out**: a print of this generator's own recipe, cut along a ragged oval
//!   around the face (with a thin paper rim), held in front of a defocused, shifted
//!   copy of the scene.
//!
//! Every output is synthetic and labelled so: metrics on it say how the indicators
//! react to a second synthetic recipe, nothing about real attack detection.

#![allow(clippy::indexing_slicing, reason = "test support on fixed-size pixel arrays")]

use image::{Rgb, RgbImage};
use shiren_face::{Landmarks, Point};

/// A small deterministic generator (64-bit LCG, top bits), independent of the
/// library's xorshift.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Approximately normal (sum of four uniforms), unit variance.
    fn normal(&mut self) -> f32 {
        ((self.next() + self.next() + self.next() + self.next()) - 2.0) * 1.732
    }
}

/// An inkjet print's parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Inkjet {
    /// Halftone cell in image pixels.
    pub cell: f32,
    /// Screen angle of cyan in degrees (magenta +60°, yellow +30°).
    pub angle: f32,
    /// Paper white (sRGB).
    pub paper: [f32; 3],
    /// Darkest ink (sRGB).
    pub ink_black: [f32; 3],
    /// Fibre texture amplitude (fraction) and its grain size in pixels.
    pub fibre: (f32, f32),
    /// Camera: rotation (degrees) and scale of the sheet in the frame.
    pub camera: (f32, f32),
    /// Sensor noise (grey levels).
    pub noise: f32,
    /// Seed.
    pub seed: u64,
}

/// A screen replay's parameters.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lcd {
    /// Display pixel pitch in camera pixels.
    pub pitch: f32,
    /// Rotation of the display grid against the camera's (degrees).
    pub angle: f32,
    /// Light leaking into the unlit stripes (fraction).
    pub leak: f32,
    /// Black level (grey levels).
    pub black: f32,
    /// White point gains.
    pub white: [f32; 3],
    /// Vignetting strength at the corners (fraction lost).
    pub vignette: f32,
    /// Sensor noise (grey levels).
    pub noise: f32,
    /// Seed.
    pub seed: u64,
}

/// An attack of this generator.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Independent {
    /// An inkjet print.
    Print(Inkjet),
    /// A screen replay.
    Screen(Lcd),
    /// A cut-out print of these parameters; the scene behind is shifted by this
    /// fraction of the width.
    CutOut(Inkjet, f32),
}

impl Independent {
    /// The species name, as `tests/attacks.rs` reports it.
    pub(crate) fn species(&self) -> &'static str {
        match self {
            Independent::Print(_) => "Print",
            Independent::Screen(_) => "ScreenReplay",
            Independent::CutOut(..) => "CutOut",
        }
    }

    pub(crate) fn apply(&self, photo: &RgbImage, marks: &Landmarks) -> RgbImage {
        match self {
            Independent::Print(p) => photograph_print(photo, p),
            Independent::Screen(s) => film_screen(photo, s),
            Independent::CutOut(p, shift) => cut_out(photo, marks, p, *shift),
        }
    }
}

/// The held-out attacks: two parameter sets per species.
pub(crate) fn held_out() -> Vec<Independent> {
    let glossy = Inkjet {
        cell: 4.4,
        angle: 22.0,
        paper: [244.0, 240.0, 229.0],
        ink_black: [30.0, 26.0, 34.0],
        fibre: (0.03, 5.0),
        camera: (2.5, 0.97),
        noise: 2.0,
        seed: 0x5eed_0001,
    };
    let matte = Inkjet {
        cell: 5.3,
        angle: 52.0,
        paper: [236.0, 232.0, 221.0],
        ink_black: [48.0, 44.0, 50.0],
        fibre: (0.05, 3.0),
        camera: (-1.5, 1.02),
        noise: 3.0,
        seed: 0x5eed_0002,
    };
    let phone = Lcd {
        pitch: 2.3,
        angle: 3.0,
        leak: 0.1,
        black: 14.0,
        white: [0.94, 0.98, 1.06],
        vignette: 0.15,
        noise: 2.0,
        seed: 0x5eed_0003,
    };
    let monitor = Lcd {
        pitch: 3.7,
        angle: -7.0,
        leak: 0.2,
        black: 22.0,
        white: [1.0, 0.97, 1.02],
        vignette: 0.25,
        noise: 3.0,
        seed: 0x5eed_0004,
    };
    vec![
        Independent::Print(glossy),
        Independent::Print(matte),
        Independent::Screen(phone),
        Independent::Screen(monitor),
        Independent::CutOut(glossy, 0.04),
        Independent::CutOut(matte, -0.06),
    ]
}

fn sample(photo: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (w, h) = (photo.width() as f32, photo.height() as f32);
    let (x, y) = (x.clamp(0.0, w - 1.001), y.clamp(0.0, h - 1.001));
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |dx: f32, dy: f32| photo.get_pixel((x0 + dx) as u32, (y0 + dy) as u32).0.map(f32::from);
    let (a, b, c, d) = (at(0.0, 0.0), at(1.0, 0.0), at(0.0, 1.0), at(1.0, 1.0));
    std::array::from_fn(|i| {
        (a[i] * (1.0 - fx) + b[i] * fx) * (1.0 - fy) + (c[i] * (1.0 - fx) + d[i] * fx) * fy
    })
}

fn to_u8(v: [f32; 3]) -> Rgb<u8> {
    Rgb(v.map(|c| c.round().clamp(0.0, 255.0) as u8))
}

/// Value noise in [-1, 1] on a grid of `grain` pixels.
fn value_noise(w: u32, h: u32, grain: f32, rng: &mut Lcg) -> Vec<f32> {
    let gw = (w as f32 / grain) as usize + 2;
    let gh = (h as f32 / grain) as usize + 2;
    let grid: Vec<f32> = (0..gw * gh).map(|_| rng.next() * 2.0 - 1.0).collect();
    let mut out = Vec::with_capacity((w * h) as usize);
    for y in 0..h {
        for x in 0..w {
            let (gx, gy) = (x as f32 / grain, y as f32 / grain);
            let (ix, iy) = (gx as usize, gy as usize);
            let (fx, fy) = (gx.fract(), gy.fract());
            let g = |i: usize, j: usize| grid.get(j * gw + i).copied().unwrap_or(0.0);
            out.push(
                (g(ix, iy) * (1.0 - fx) + g(ix + 1, iy) * fx) * (1.0 - fy)
                    + (g(ix, iy + 1) * (1.0 - fx) + g(ix + 1, iy + 1) * fx) * fy,
            );
        }
    }
    out
}

/// The printed sheet, in the photo's own frame.
fn print_sheet(photo: &RgbImage, p: &Inkjet) -> RgbImage {
    let mut rng = Lcg(p.seed);
    let (w, h) = photo.dimensions();
    let fibre = value_noise(w, h, p.fibre.1, &mut rng);
    let angles = [p.angle, p.angle + 60.0, p.angle + 30.0].map(|a: f32| a.to_radians().sin_cos());
    let two_pi = std::f32::consts::TAU;
    RgbImage::from_fn(w, h, |x, y| {
        let src = photo.get_pixel(x, y).0.map(f32::from);
        let f = 1.0 + p.fibre.0 * fibre.get((y * w + x) as usize).copied().unwrap_or(0.0);
        let out: [f32; 3] = std::array::from_fn(|c| {
            // Ink coverage of the channel's complementary ink, 0 (paper) to 1.
            let coverage = 1.0 - src[c] / 255.0;
            let (s, co) = angles[c];
            let (u, v) = (x as f32 * co + y as f32 * s, -(x as f32) * s + y as f32 * co);
            // Clustered dot: a dot grows from each cell centre as coverage rises.
            let spot = 0.5 + 0.25 * ((two_pi * u / p.cell).cos() + (two_pi * v / p.cell).cos());
            let inked = if coverage > spot { 1.0 } else { 0.0 };
            let value = p.paper[c] + (p.ink_black[c] - p.paper[c]) * inked;
            value * f
        });
        to_u8(out)
    })
}

/// Binomial [1 2 1]/4 blur in both directions (optical blur of the camera).
fn binomial(image: &RgbImage) -> RgbImage {
    let (w, h) = image.dimensions();
    let px = |x: i64, y: i64| {
        image
            .get_pixel(x.clamp(0, i64::from(w) - 1) as u32, y.clamp(0, i64::from(h) - 1) as u32)
            .0
            .map(f32::from)
    };
    let horizontal = RgbImage::from_fn(w, h, |x, y| {
        let (a, b, c) = (
            px(i64::from(x) - 1, i64::from(y)),
            px(i64::from(x), i64::from(y)),
            px(i64::from(x) + 1, i64::from(y)),
        );
        to_u8(std::array::from_fn(|i| (a[i] + 2.0 * b[i] + c[i]) / 4.0))
    });
    let px = |x: u32, y: i64| horizontal.get_pixel(x, y.clamp(0, i64::from(h) - 1) as u32).0.map(f32::from);
    RgbImage::from_fn(w, h, |x, y| {
        let (a, b, c) = (px(x, i64::from(y) - 1), px(x, i64::from(y)), px(x, i64::from(y) + 1));
        to_u8(std::array::from_fn(|i| (a[i] + 2.0 * b[i] + c[i]) / 4.0))
    })
}

/// The camera's view of `sheet`: rotated by `degrees` and scaled by `scale` about the
/// centre (bilinear), optical blur, sensor noise.
fn camera(sheet: &RgbImage, degrees: f32, scale: f32, noise: f32, seed: u64) -> RgbImage {
    let (w, h) = sheet.dimensions();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let (s, c) = degrees.to_radians().sin_cos();
    let viewed = RgbImage::from_fn(w, h, |x, y| {
        let (dx, dy) = ((x as f32 - cx) / scale, (y as f32 - cy) / scale);
        to_u8(sample(sheet, cx + dx * c + dy * s, cy - dx * s + dy * c))
    });
    // Optical blur of the lens focused on the sheet: three binomial passes (σ ≈ 1.2 px).
    let mut out = binomial(&binomial(&binomial(&viewed)));
    let mut rng = Lcg(seed ^ 0x00ca_3e7a);
    for p in out.pixels_mut() {
        let n = noise * rng.normal();
        p.0 = p.0.map(|v| (f32::from(v) + n).round().clamp(0.0, 255.0) as u8);
    }
    out
}

fn photograph_print(photo: &RgbImage, p: &Inkjet) -> RgbImage {
    camera(&print_sheet(photo, p), p.camera.0, p.camera.1, p.noise, p.seed)
}

fn film_screen(photo: &RgbImage, s: &Lcd) -> RgbImage {
    let (w, h) = photo.dimensions();
    let (sin, cos) = s.angle.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    let diag = cx.hypot(cy);
    let mut rng = Lcg(s.seed);
    let mut out = RgbImage::new(w, h);
    for (x, y, px) in out.enumerate_pixels_mut() {
        let mut acc = [0f32; 3];
        for sy in 0..3 {
            for sx in 0..3 {
                let (fx, fy) =
                    (x as f32 + (sx as f32 + 0.5) / 3.0 - cx, y as f32 + (sy as f32 + 0.5) / 3.0 - cy);
                // Display coordinates, in display pixels.
                let (u, v) = ((fx * cos + fy * sin) / s.pitch, (-fx * sin + fy * cos) / s.pitch);
                // The display pixel shows the photo at its centre (back in camera frame).
                let (uc, vc) = ((u.floor() + 0.5) * s.pitch, (v.floor() + 0.5) * s.pitch);
                let src = sample(photo, cx + uc * cos - vc * sin, cy + uc * sin + vc * cos);
                let stripe = ((u.fract() + 1.0).fract() * 3.0) as usize;
                for (c, a) in acc.iter_mut().enumerate() {
                    let lit = if c == stripe.min(2) { 1.0 } else { s.leak };
                    *a += src[c] * lit;
                }
            }
        }
        let r = (x as f32 - cx).hypot(y as f32 - cy) / diag;
        let vignette = 1.0 - s.vignette * r * r;
        // Nine samples, one stripe in three lit: × 3 / 9 restores the level.
        *px = to_u8(std::array::from_fn(|c| {
            (s.black + acc[c] / (1.0 + 2.0 * s.leak) * 3.0 / 9.0 * s.white[c] * (255.0 - s.black) / 255.0)
                * vignette
        }));
    }
    // The lens blurs the stripes (two binomial passes), then the sensor adds noise.
    let mut out = binomial(&binomial(&out));
    for p in out.pixels_mut() {
        let n = s.noise * rng.normal();
        p.0 = p.0.map(|v| (f32::from(v) + n).round().clamp(0.0, 255.0) as u8);
    }
    out
}

fn cut_out(photo: &RgbImage, marks: &Landmarks, p: &Inkjet, shift: f32) -> RgbImage {
    let printed = photograph_print(photo, p);
    let (w, h) = photo.dimensions();
    let b = marks.bounds();
    let centre = Point::new(b.x + b.width / 2.0, b.y + b.height * 0.42);
    let (ax, ay) = (b.width * 0.62, b.height * 0.78);
    let dx = shift * w as f32;
    // The scene behind: the photo shifted and defocused (the attacker's own head and
    // room, out of the camera's focus plane).
    let shifted = RgbImage::from_fn(w, h, |x, y| to_u8(sample(photo, x as f32 - dx, y as f32)));
    let scene = binomial(&binomial(&binomial(&shifted)));
    RgbImage::from_fn(w, h, |x, y| {
        let (ux, uy) = ((x as f32 - centre.x) / ax, (y as f32 - centre.y) / ay);
        let t = uy.atan2(ux);
        let edge = 1.0 + 0.025 * (7.0 * t).sin() + 0.012 * (19.0 * t + 1.0).sin();
        let r = ux.hypot(uy);
        if r < edge - 2.5 / ax.min(ay) {
            *printed.get_pixel(x, y)
        } else if r < edge {
            to_u8(p.paper)
        } else {
            *scene.get_pixel(x, y)
        }
    })
}
