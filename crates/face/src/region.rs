//! Landmark-anchored regions of a face and the per-pixel colour measures the quality,
//! occlusion and attack stages share: OFIQ's relative luminance byte, YCbCr chroma and
//! point-in-polygon masks.

use image::RgbImage;

use crate::geometry::Point;
use crate::landmarks::Landmarks;

/// sRGB byte → linear light.
pub(crate) fn linear(v: u8) -> f64 {
    let x = f64::from(v) / 255.0;
    if x <= 0.04045 { x / 12.92 } else { ((x + 0.055) / 1.055).powf(2.4) }
}

/// OFIQ's relative luminance, stored as `floor(255·Y + 0.5)`, through a lookup table.
pub(crate) struct Luma {
    lut: [f32; 256],
}

impl Luma {
    pub(crate) fn new() -> Luma {
        let mut lut = [0f32; 256];
        for (i, slot) in lut.iter_mut().enumerate() {
            *slot = linear(i as u8) as f32;
        }
        Luma { lut }
    }

    pub(crate) fn of(&self, p: [u8; 3]) -> u8 {
        let l = |c: u8| self.lut.get(usize::from(c)).copied().unwrap_or(0.0);
        let y = 0.2126 * l(p[0]) + 0.7152 * l(p[1]) + 0.0722 * l(p[2]);
        (255.0 * y + 0.5).floor().clamp(0.0, 255.0) as u8
    }
}

/// BT.601 chroma (Cb, Cr), each centred on 128.
pub(crate) fn chroma(p: [u8; 3]) -> (f32, f32) {
    let [r, g, b] = p.map(f32::from);
    (128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b, 128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b)
}

/// Whether `p` lies inside the closed polygon `poly` (even-odd rule).
pub(crate) fn inside(poly: &[Point], p: Point) -> bool {
    let mut odd = false;
    let n = poly.len();
    for i in 0..n {
        let (Some(a), Some(b)) = (poly.get(i), poly.get((i + n - 1) % n)) else { continue };
        if (a.y > p.y) != (b.y > p.y) && p.x < (b.x - a.x) * (p.y - a.y) / (b.y - a.y) + a.x {
            odd = !odd;
        }
    }
    odd
}

/// The pixels of `image` inside `poly`, as coordinates.
pub(crate) fn pixels_in(image: &RgbImage, poly: &[Point]) -> Vec<(u32, u32)> {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for p in poly {
        (x0, y0, x1, y1) = (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y));
    }
    let clamp_x = |v: f32| v.clamp(0.0, image.width() as f32) as u32;
    let clamp_y = |v: f32| v.clamp(0.0, image.height() as f32) as u32;
    let mut out = Vec::new();
    for y in clamp_y(y0.floor())..clamp_y(y1.ceil()) {
        for x in clamp_x(x0.floor())..clamp_x(x1.ceil()) {
            if inside(poly, Point::new(x as f32 + 0.5, y as f32 + 0.5)) {
                out.push((x, y));
            }
        }
    }
    out
}

/// The face outline: the jaw (0–16), then the eyebrows (26 back to 17) lifted by a
/// fifth of the inter-eye distance to take in the forehead's lower part.
pub(crate) fn face_outline(marks: &Landmarks) -> Vec<Point> {
    let lift = 0.2 * marks.inter_eye_distance();
    let mut poly: Vec<Point> = (0..17).map(|i| marks.at(i)).collect();
    poly.extend((17..27).rev().map(|i| {
        let p = marks.at(i);
        Point::new(p.x, p.y - lift)
    }));
    poly
}

/// An axis-aligned square of side `side` centred on `c`, as a polygon.
pub(crate) fn square_around(c: Point, side: f32) -> Vec<Point> {
    let h = side / 2.0;
    vec![
        Point::new(c.x - h, c.y - h),
        Point::new(c.x + h, c.y - h),
        Point::new(c.x + h, c.y + h),
        Point::new(c.x - h, c.y + h),
    ]
}

/// The two cheek patches (image-left, image-right): squares of 0.3 × the inter-eye
/// distance between the eye's lower lid, the nose wing and the jaw.
pub(crate) fn cheeks(marks: &Landmarks) -> [Vec<Point>; 2] {
    let side = 0.3 * marks.inter_eye_distance();
    let left = Point::mean(&[marks.at(2), marks.at(31), marks.at(41), marks.at(48)]);
    let right = Point::mean(&[marks.at(14), marks.at(35), marks.at(46), marks.at(54)]);
    [square_around(left, side), square_around(right, side)]
}

/// The pixel at `(x, y)` (black outside).
pub(crate) fn rgb(image: &RgbImage, x: u32, y: u32) -> [u8; 3] {
    image.get_pixel_checked(x, y).map_or([0; 3], |p| p.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luminance_and_polygons() {
        let luma = Luma::new();
        assert_eq!(luma.of([255, 255, 255]), 255);
        assert_eq!(luma.of([0, 0, 0]), 0);
        assert_eq!(luma.of([128, 128, 128]), 55, "sRGB mid-grey is 21.6 % linear light");
        let (cb, cr) = chroma([128, 128, 128]);
        assert!((cb - 128.0).abs() < 1e-3 && (cr - 128.0).abs() < 1e-3);
        let sq = square_around(Point::new(5.0, 5.0), 4.0);
        assert!(inside(&sq, Point::new(5.0, 5.0)));
        assert!(!inside(&sq, Point::new(8.0, 5.0)));
        let image = RgbImage::new(10, 10);
        assert_eq!(pixels_in(&image, &sq).len(), 16);
        assert!(pixels_in(&image, &square_around(Point::new(-50.0, -50.0), 4.0)).is_empty());
    }
}
