//! Synthetic presentation attacks and occlusions, made from bona fide photos for
//! tests, benches and demos. **Every output is synthetic and labelled so**: these
//! approximate what a printed photo, a screen replay or a cut-out looks like to a
//! camera; they are not captured attacks, and metrics measured on them say how the
//! indicators react to these transformations, nothing about real attack detection.
//!
//! Deterministic: the same photo and parameters give the same bytes (the only
//! "randomness" is a seeded xorshift inside the parameters).

use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::geometry::Point;
use crate::landmarks::Landmarks;
use crate::region::{face_outline, inside};

/// Attack species (ISO/IEC 30107-3's "presentation attack instrument species").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Species {
    /// A printed photo recaptured by the camera.
    Print,
    /// A photo shown on a screen and recaptured.
    ScreenReplay,
    /// A face cut out of a print, held in front of another scene.
    CutOut,
}

/// Parameters of a synthetic print.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrintParams {
    /// Contrast kept (0.5–0.9): paper has a smaller dynamic range.
    pub contrast: f32,
    /// Saturation kept (0.5–0.9): ink has a smaller gamut.
    pub saturation: f32,
    /// Halftone screen period in pixels (3–7).
    pub halftone_period: f32,
    /// Halftone screen angle in degrees.
    pub halftone_angle: f32,
    /// Depth of the halftone modulation (0.05–0.25).
    pub halftone_depth: f32,
    /// Paper grain amplitude in grey levels.
    pub grain: f32,
    /// Seed of the grain.
    pub seed: u32,
    /// Defocus of the recapture: Gaussian sigma in pixels (0: sharp).
    pub defocus: f32,
    /// JPEG quality of the camera's recapture, 1–100 (0: none).
    pub recapture_quality: u8,
}

impl PrintParams {
    /// The print the attack indicators' bona fide ranges were set against (with
    /// [`ScreenParams::TRAINING`]); tests measure on other, held-out parameters.
    pub const TRAINING: PrintParams = PrintParams {
        contrast: 0.7,
        saturation: 0.7,
        halftone_period: 4.3,
        halftone_angle: 15.0,
        halftone_depth: 0.15,
        grain: 6.0,
        seed: 7,
        defocus: 0.0,
        recapture_quality: 0,
    };
}

/// Parameters of a synthetic screen replay.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ScreenParams {
    /// Period of the RGB sub-pixel triad in camera pixels (non-integer, 2.5–5).
    pub pitch: f32,
    /// Depth of the sub-pixel modulation (0.1–0.4).
    pub depth: f32,
    /// Display gamma applied on top of the photo's (0.8–1.3).
    pub gamma: f32,
    /// White point multipliers per channel (a cool screen: blue > 1).
    pub white: [f32; 3],
    /// Glare: strength (0–1) of a bright blob.
    pub glare: f32,
    /// Glare centre, as fractions of width and height.
    pub glare_at: (f32, f32),
    /// Width of the dark bezel framing the screen, as a fraction of each side (0:
    /// the screen fills the frame).
    pub bezel: f32,
}

impl ScreenParams {
    /// The screen replay the attack indicators' ranges were set against.
    pub const TRAINING: ScreenParams = ScreenParams {
        pitch: 3.4,
        depth: 0.25,
        gamma: 1.1,
        white: [0.95, 1.0, 1.08],
        glare: 0.3,
        glare_at: (0.3, 0.2),
        bezel: 0.0,
    };
}

/// A synthetic attack.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum SyntheticAttack {
    /// A print: gamut and dynamic range compressed, halftone screen, paper grain, then
    /// recaptured (defocus, JPEG).
    Print(PrintParams),
    /// A screen replay: sub-pixel grid at a non-integer scale (moiré), gamma and white
    /// point shift, glare, bezel.
    Screen(ScreenParams),
    /// A printed face (with these print parameters) pasted with a hard edge over a
    /// flat-coloured scene.
    CutOut(PrintParams, [u8; 3]),
}

impl SyntheticAttack {
    /// The species.
    pub fn species(&self) -> Species {
        match self {
            SyntheticAttack::Print(_) => Species::Print,
            SyntheticAttack::Screen(_) => Species::ScreenReplay,
            SyntheticAttack::CutOut(..) => Species::CutOut,
        }
    }

    /// Applies the attack to a bona fide `photo` whose face has `marks`.
    pub fn apply(&self, photo: &RgbImage, marks: &Landmarks) -> RgbImage {
        match self {
            SyntheticAttack::Print(p) => print(photo, p),
            SyntheticAttack::Screen(s) => screen(photo, s),
            SyntheticAttack::CutOut(p, scene) => {
                let printed = print(photo, p);
                let outline = face_outline(marks);
                RgbImage::from_fn(photo.width(), photo.height(), |x, y| {
                    if inside(&outline, Point::new(x as f32 + 0.5, y as f32 + 0.5)) {
                        *printed.get_pixel(x, y)
                    } else {
                        Rgb(*scene)
                    }
                })
            }
        }
    }
}

fn print(photo: &RgbImage, p: &PrintParams) -> RgbImage {
    let printed = print_on_paper(photo, p);
    let focused = if p.defocus > 0.0 { image::imageops::blur(&printed, p.defocus) } else { printed };
    recapture(focused, p.recapture_quality)
}

/// The camera's JPEG encoding of what it saw (memory only); unchanged at quality 0 or
/// if encoding fails.
fn recapture(image: RgbImage, quality: u8) -> RgbImage {
    if quality == 0 {
        return image;
    }
    let mut bytes = Vec::new();
    let encoded =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.min(100)).encode_image(&image);
    match encoded
        .ok()
        .and_then(|()| image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg).ok())
    {
        Some(decoded) => decoded.to_rgb8(),
        None => image,
    }
}

fn print_on_paper(photo: &RgbImage, p: &PrintParams) -> RgbImage {
    let mut s = p.seed | 1;
    let (sin, cos) = p.halftone_angle.to_radians().sin_cos();
    let freq = std::f32::consts::TAU / p.halftone_period.max(1.0);
    RgbImage::from_fn(photo.width(), photo.height(), |x, y| {
        let [r, g, b] = photo.get_pixel(x, y).0.map(f32::from);
        let grey = 0.299 * r + 0.587 * g + 0.114 * b;
        let (u, v) = (x as f32 * cos + y as f32 * sin, -(x as f32) * sin + y as f32 * cos);
        let dots = 1.0 - p.halftone_depth * 0.5 * (1.0 + (u * freq).cos() * (v * freq).cos());
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        let grain = ((s >> 16) as f32 / 65535.0 - 0.5) * 2.0 * p.grain;
        Rgb([r, g, b].map(|c| {
            let c = grey + (c - grey) * p.saturation;
            let c = 128.0 + (c - 128.0) * p.contrast;
            (c * dots + grain).round().clamp(0.0, 255.0) as u8
        }))
    })
}

fn screen(photo: &RgbImage, s: &ScreenParams) -> RgbImage {
    let (w, h) = (photo.width() as f32, photo.height() as f32);
    let (gx, gy) = (s.glare_at.0 * w, s.glare_at.1 * h);
    let glare_r = 0.15 * w.min(h);
    let (bx, by) = (s.bezel.clamp(0.0, 0.45) * w, s.bezel.clamp(0.0, 0.45) * h);
    RgbImage::from_fn(photo.width(), photo.height(), |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        if fx < bx || fy < by || fx >= w - bx || fy >= h - by {
            return Rgb([12, 12, 14]);
        }
        let px = photo.get_pixel(x, y).0;
        // Which sub-pixel column this camera pixel mostly sees.
        let phase = (x as f32 / s.pitch.max(1.0)).fract();
        let row_gap = ((y as f32 / s.pitch.max(1.0)).fract() < 0.12) as u8 as f32;
        let glare = s.glare
            * (-((x as f32 - gx).powi(2) + (y as f32 - gy).powi(2)) / (2.0 * glare_r * glare_r)).exp();
        let mut out = [0u8; 3];
        for (ch, o) in out.iter_mut().enumerate() {
            let c = f32::from(px.get(ch).copied().unwrap_or(0)) / 255.0;
            let c = c.powf(s.gamma) * s.white.get(ch).copied().unwrap_or(1.0);
            let lit = (phase * 3.0).floor() as usize == ch;
            let sub = if lit { 1.0 } else { 1.0 - s.depth } * (1.0 - 0.5 * s.depth * row_gap);
            *o = ((c * sub + glare) * 255.0).round().clamp(0.0, 255.0) as u8;
        }
        Rgb(out)
    })
}

/// Synthetic occlusions.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum SyntheticOcclusion {
    /// A surgical-style mask of this colour over the lower face (jaw points 2–14 up
    /// to the nose bridge's lower half).
    Mask([u8; 3]),
    /// Dark lenses over both eyes.
    Sunglasses,
}

impl SyntheticOcclusion {
    /// Draws the occlusion on `photo` whose face has `marks`.
    pub fn apply(&self, photo: &RgbImage, marks: &Landmarks) -> RgbImage {
        let mut out = photo.clone();
        let ied = marks.inter_eye_distance();
        match self {
            SyntheticOcclusion::Mask(colour) => {
                let mut poly: Vec<Point> = (1..16).map(|i| marks.at(i)).collect();
                let top = marks.at(29);
                poly.push(Point::new(marks.at(15).x, top.y));
                poly.push(Point::new(marks.at(1).x, top.y));
                paint(&mut out, &poly, *colour);
            }
            SyntheticOcclusion::Sunglasses => {
                for eye in [marks.left_eye(), marks.right_eye()] {
                    let lens: Vec<Point> = (0..32)
                        .map(|i| {
                            let t = i as f32 / 32.0 * std::f32::consts::TAU;
                            Point::new(eye.x + 0.5 * ied * t.cos(), eye.y + 0.32 * ied * t.sin())
                        })
                        .collect();
                    paint(&mut out, &lens, [22, 22, 26]);
                }
            }
        }
        out
    }
}

fn paint(image: &mut RgbImage, poly: &[Point], colour: [u8; 3]) {
    for (x, y) in crate::region::pixels_in(image, poly) {
        if let Some(p) = image.get_pixel_mut_checked(x, y) {
            *p = Rgb(colour);
        }
    }
}
