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
    let pixel = |sx: i64, sy: i64| -> [f32; 3] {
        let (x, y) = (sx - i64::from(sq.pad_x), sy - i64::from(sq.pad_y));
        if x < 0 || y < 0 || x >= i64::from(rw) || y >= i64::from(rh) {
            return [0.0; 3];
        }
        match image.get_pixel_checked(rx + x as u32, ry + y as u32) {
            Some(p) => p.0.map(f32::from),
            None => [0.0; 3],
        }
    };
    let last = i64::from(sq.side) - 1;
    let mut out = Array3::<f32>::zeros((size, size, 3));
    for oy in 0..size {
        let fy = oy as f32 * scale;
        let y0 = (fy.floor() as i64).min(last);
        let y1 = (y0 + 1).min(last);
        let wy = fy - y0 as f32;
        for ox in 0..size {
            let fx = ox as f32 * scale;
            let x0 = (fx.floor() as i64).min(last);
            let x1 = (x0 + 1).min(last);
            let wx = fx - x0 as f32;
            let (a, b, c, d) = (pixel(x0, y0), pixel(x1, y0), pixel(x0, y1), pixel(x1, y1));
            for ch in 0..3 {
                let at = |p: [f32; 3]| p.get(ch).copied().unwrap_or(0.0);
                let top = at(a) + (at(b) - at(a)) * wx;
                let bottom = at(c) + (at(d) - at(c)) * wx;
                let v = top + (bottom - top) * wy;
                if let Some(slot) = out.get_mut([oy, ox, ch]) {
                    *slot = (v - mean.get(ch).copied().unwrap_or(0.0)) / 255.0;
                }
            }
        }
    }
    (out, sq)
}

/// Bilinear sample of `image` at `(x, y)` (pixel centres at integer coordinates);
/// black outside.
pub(crate) fn sample(image: &RgbImage, x: f32, y: f32) -> [f32; 3] {
    let (x0, y0) = (x.floor(), y.floor());
    let (wx, wy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| -> [f32; 3] {
        if xi < 0.0 || yi < 0.0 {
            return [0.0; 3];
        }
        image.get_pixel_checked(xi as u32, yi as u32).map_or([0.0; 3], |p| p.0.map(f32::from))
    };
    let (a, b, c, d) = (at(x0, y0), at(x0 + 1.0, y0), at(x0, y0 + 1.0), at(x0 + 1.0, y0 + 1.0));
    let mut out = [0.0; 3];
    for (ch, o) in out.iter_mut().enumerate() {
        let g = |p: [f32; 3]| p.get(ch).copied().unwrap_or(0.0);
        let top = g(a) + (g(b) - g(a)) * wx;
        let bottom = g(c) + (g(d) - g(c)) * wx;
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
