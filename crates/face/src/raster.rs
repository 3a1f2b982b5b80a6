//! Turning photo pixels into network inputs: a region of the photo, padded to a square
//! with black, resized bilinearly (TensorFlow's `resizeBilinear` without corner
//! alignment) and normalised as `(v − mean) / 255`; and bilinear sampling for chips.

use image::RgbImage;
use ndarray::Array3;

/// Where the region sits in its padded square.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Square {
    /// Side of the square, in photo pixels.
    pub(crate) side: u32,
    /// Black columns before the region.
    pub(crate) pad_x: u32,
    /// Black rows before the region.
    pub(crate) pad_y: u32,
}

/// The square a `width × height` region is padded to: padding after the region, or
/// (`centered`) split with the larger half after, as face-api's `padToSquare` does.
pub(crate) fn square(width: u32, height: u32, centered: bool) -> Square {
    let side = width.max(height);
    let diff = side - width.min(height);
    let before = if centered { diff - diff.div_ceil(2) } else { 0 };
    let (pad_x, pad_y) = if width < height { (before, 0) } else { (0, before) };
    Square { side, pad_x, pad_y }
}

/// The region `(x, y, width, height)` of `image` as a `size × size × 3` network input.
pub(crate) fn network_input(
    image: &RgbImage,
    region: (u32, u32, u32, u32),
    size: usize,
    centered: bool,
    mean: [f32; 3],
) -> (Array3<f32>, Square) {
    let (rx, ry, rw, rh) = region;
    let sq = square(rw, rh, centered);
    let scale = sq.side as f32 / size.max(1) as f32;
    let last = i64::from(sq.side) - 1;
    // Per output coordinate: the two source indices in the photo (None = padding) and
    // the weight of the second, for one axis.
    let taps = |pad: u32, origin: u32, extent: u32| -> Vec<(Option<usize>, Option<usize>, f32)> {
        (0..size)
            .map(|o| {
                let f = o as f32 * scale;
                let i0 = (f.floor() as i64).min(last);
                let i1 = (i0 + 1).min(last);
                let at = |i: i64| {
                    let local = i - i64::from(pad);
                    (local >= 0 && local < i64::from(extent)).then(|| (i64::from(origin) + local) as usize)
                };
                (at(i0), at(i1), f - i0 as f32)
            })
            .collect()
    };
    let xs = taps(sq.pad_x, rx, rw);
    let ys = taps(sq.pad_y, ry, rh);
    let (width, raw) = (image.width() as usize, image.as_raw());
    let pixel = |x: Option<usize>, y: Option<usize>| -> [f32; 3] {
        match (x, y) {
            (Some(x), Some(y)) => match raw.get((y * width + x) * 3..(y * width + x) * 3 + 3) {
                Some(&[r, g, b]) => [f32::from(r), f32::from(g), f32::from(b)],
                _ => [0.0; 3],
            },
            _ => [0.0; 3],
        }
    };
    let mut out = Vec::with_capacity(size * size * 3);
    for &(y0, y1, wy) in &ys {
        for &(x0, x1, wx) in &xs {
            let (a, b, c, d) = (pixel(x0, y0), pixel(x1, y0), pixel(x0, y1), pixel(x1, y1));
            for ((((a, b), c), d), m) in a.iter().zip(&b).zip(&c).zip(&d).zip(&mean) {
                let top = a + (b - a) * wx;
                let bottom = c + (d - c) * wx;
                out.push((top + (bottom - top) * wy - m) / 255.0);
            }
        }
    }
    let input =
        Array3::from_shape_vec((size, size, 3), out).unwrap_or_else(|_| Array3::zeros((size, size, 3)));
    (input, sq)
}

/// Bilinear sample of `image` at `(x, y)` (pixel centres at integer coordinates);
/// black outside.
pub(crate) fn sample(image: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (x0, y0) = (x.floor(), y.floor());
    let (wx, wy) = (x - x0, y - y0);
    let (w, h) = (image.width() as f32, image.height() as f32);
    let raw = image.as_raw();
    let at = |xi: f32, yi: f32| -> [f32; 3] {
        if xi < 0.0 || yi < 0.0 || xi >= w || yi >= h {
            return [0.0; 3];
        }
        let i = (yi as usize * w as usize + xi as usize) * 3;
        match raw.get(i..i + 3) {
            Some(&[r, g, b]) => [f32::from(r), f32::from(g), f32::from(b)],
            _ => [0.0; 3],
        }
    };
    let (a, b, c, d) = (at(x0, y0), at(x0 + 1.0, y0), at(x0, y0 + 1.0), at(x0 + 1.0, y0 + 1.0));
    let mut out = [0.0; 3];
    for ((((o, a), b), c), d) in out.iter_mut().zip(a).zip(b).zip(c).zip(d) {
        let top = a + (b - a) * wx;
        let bottom = c + (d - c) * wx;
        *o = top + (bottom - top) * wy;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squares_follow_face_api() {
        assert_eq!(square(10, 4, false), Square { side: 10, pad_x: 0, pad_y: 0 });
        // Centred: round(6 · 0.5) = 3 appended, the remaining 3 prepended.
        assert_eq!(square(10, 4, true), Square { side: 10, pad_x: 0, pad_y: 3 });
        assert_eq!(square(4, 9, true), Square { side: 9, pad_x: 2, pad_y: 0 });
    }

    #[test]
    fn identity_resize_and_padding() {
        let image = RgbImage::from_fn(4, 2, |x, y| image::Rgb([(x * 10 + y) as u8, 0, 255]));
        let (input, _) = network_input(&image, (0, 0, 4, 2), 4, false, [0.0; 3]);
        assert_eq!(input[[1, 3, 0]] * 255.0, 31.0);
        assert_eq!(input[[3, 0, 2]], 0.0, "padding is black");
        assert_eq!(sample(&image, 1.5, 0.0), [15.0, 0.0, 255.0]);
        assert_eq!(sample(&image, -5.0, -5.0), [0.0; 3]);
    }
}
