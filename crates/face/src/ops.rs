//! The tensor operations the face networks need, on single images in HWC layout
//! (`Array3<f32>`: height × width × channels) with TensorFlow's filter layout
//! (`[kh, kw, cin, cout]`) and padding rules. Convolution is a matrix product over
//! im2col patches (through `ndarray`, which picks SIMD kernels at run time); depthwise
//! convolution and pooling are loops over contiguous slices. Every operation is
//! property-tested against a separately written textbook definition.

use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, ArrayView4, ArrayViewD, Axis, Ix4};

use crate::tfjs::ModelError;

/// TensorFlow padding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Padding {
    /// Output size `ceil(in / stride)`, zero padding split with the extra row/column
    /// after.
    Same,
    /// No padding: output size `floor((in − k) / stride) + 1`.
    Valid,
}

/// Output size and leading padding for one spatial axis.
pub(crate) fn geometry(input: usize, kernel: usize, stride: usize, padding: Padding) -> (usize, usize) {
    let stride = stride.max(1);
    match padding {
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out.saturating_sub(1)) * stride + kernel).saturating_sub(input);
            (out, total / 2)
        }
        Padding::Valid => (if input >= kernel { (input - kernel) / stride + 1 } else { 0 }, 0),
    }
}

/// Views a loaded tensor as 4-D filters `[kh, kw, cin, cout]`.
pub fn filters4(tensor: ArrayViewD<'_, f32>) -> Result<ArrayView4<'_, f32>, ModelError> {
    let shape = tensor.shape().to_vec();
    tensor
        .into_dimensionality::<Ix4>()
        .map_err(|_| ModelError::Manifest(format!("filters must be 4-D [kh, kw, cin, cout], not {shape:?}")))
}

/// 2-D convolution with bias: `out[y, x, o] = b[o] + Σ in[y·s + i − p, x·s + j − p, c] · f[i, j, c, o]`.
///
/// Computed as a matrix product (`im2col`): a band of output rows at a time, the input
/// patches under the filter are laid out as rows of a matrix and multiplied by the
/// filters viewed as `[kh·kw·cin, cout]`, through `ndarray`'s matrix multiply (which
/// picks SIMD kernels at run time). A 1×1 convolution at stride 1 skips the patch copy.
pub fn conv2d(
    input: &Array3<f32>,
    filters: ArrayView4<'_, f32>,
    bias: Option<ArrayView1<'_, f32>>,
    stride: usize,
    padding: Padding,
) -> Array3<f32> {
    let (h, w, cin) = input.dim();
    let (kh, kw, fcin, cout) = filters.dim();
    let (oh, pad_top) = geometry(h, kh, stride, padding);
    let (ow, pad_left) = geometry(w, kw, stride, padding);
    let zeros = || Array3::zeros((oh, ow, cout));
    let input = input.as_standard_layout();
    let filters = filters.as_standard_layout();
    let (Some(src), Ok(weights)) =
        (input.as_slice(), filters.view().into_shape_with_order((kh * kw * fcin, cout)))
    else {
        return zeros();
    };
    let mut out = if kh == 1 && kw == 1 && stride <= 1 && cin == fcin {
        match ArrayView2::from_shape((h * w, cin), src) {
            Ok(pixels) => pixels.dot(&weights),
            Err(_) => return zeros(),
        }
    } else {
        let row_len = kh * kw * fcin;
        // Bands of output rows whose patch matrix stays around 1 MB.
        let band = (262_144 / (ow * row_len).max(1)).clamp(1, oh.max(1));
        let mut out = Array2::<f32>::zeros((oh * ow, cout));
        let mut patches = vec![0f32; band * ow * row_len];
        let cin_used = cin.min(fcin);
        for first in (0..oh).step_by(band) {
            let rows = band.min(oh - first);
            let patches = patches.get_mut(..rows * ow * row_len).unwrap_or_default();
            patches.fill(0.0);
            for (i, patch) in patches.chunks_exact_mut(row_len).enumerate() {
                let (oy, ox) = (first + i / ow, i % ow);
                for ky in 0..kh {
                    let Some(y) = (oy * stride + ky).checked_sub(pad_top).filter(|&y| y < h) else {
                        continue;
                    };
                    for kx in 0..kw {
                        let Some(x) = (ox * stride + kx).checked_sub(pad_left).filter(|&x| x < w) else {
                            continue;
                        };
                        let at = (y * w + x) * cin;
                        let to = (ky * kw + kx) * fcin;
                        if let (Some(dst), Some(values)) =
                            (patch.get_mut(to..to + cin_used), src.get(at..at + cin_used))
                        {
                            dst.copy_from_slice(values);
                        }
                    }
                }
            }
            let Ok(matrix) = ArrayView2::from_shape((rows * ow, row_len), &*patches) else { return zeros() };
            let mut target = out.slice_axis_mut(Axis(0), (first * ow..(first + rows) * ow).into());
            ndarray::linalg::general_mat_mul(1.0, &matrix, &weights, 0.0, &mut target);
        }
        out
    };
    if let Some(b) = bias.filter(|b| b.len() == cout) {
        out += &b;
    }
    out.into_shape_with_order((oh, ow, cout)).unwrap_or_else(|_| zeros())
}

/// Depthwise convolution: each input channel with its own `[kh, kw]` filter
/// (`filters[kh, kw, cin, 1]`).
pub fn depthwise_conv2d(
    input: &Array3<f32>,
    filters: ArrayView4<'_, f32>,
    stride: usize,
    padding: Padding,
) -> Array3<f32> {
    let (h, w, cin) = input.dim();
    let (kh, kw, fcin, _) = filters.dim();
    let (oh, pad_top) = geometry(h, kh, stride, padding);
    let (ow, pad_left) = geometry(w, kw, stride, padding);
    let channels = cin.min(fcin);
    let input = input.as_standard_layout();
    let filters = filters.as_standard_layout();
    let (Some(src), Some(f)) = (input.as_slice(), filters.as_slice()) else {
        return Array3::zeros((oh, ow, channels));
    };
    let fstride = filters.dim().3.max(1);
    let mut out = vec![0f32; oh * ow * channels];
    for (pixel, acc) in out.chunks_exact_mut(channels.max(1)).enumerate() {
        let (oy, ox) = (pixel / ow.max(1), pixel % ow.max(1));
        for ky in 0..kh {
            let Some(y) = (oy * stride + ky).checked_sub(pad_top).filter(|&y| y < h) else { continue };
            for kx in 0..kw {
                let Some(x) = (ox * stride + kx).checked_sub(pad_left).filter(|&x| x < w) else { continue };
                let in_at = (y * w + x) * cin;
                let f_at = (ky * kw + kx) * fcin * fstride;
                let Some(values) = src.get(in_at..in_at + channels) else { continue };
                if fstride == 1 {
                    let Some(taps) = f.get(f_at..f_at + channels) else { continue };
                    for ((a, v), t) in acc.iter_mut().zip(values).zip(taps) {
                        *a += v * t;
                    }
                } else {
                    let taps = f.get(f_at..).unwrap_or(&[]).iter().step_by(fstride);
                    for ((a, v), t) in acc.iter_mut().zip(values).zip(taps) {
                        *a += v * t;
                    }
                }
            }
        }
    }
    Array3::from_shape_vec((oh, ow, channels), out).unwrap_or_else(|_| Array3::zeros((oh, ow, channels)))
}

/// Depthwise then pointwise (1×1) convolution plus bias: TensorFlow's
/// `separableConv2d` followed by a bias add.
pub fn separable_conv2d(
    input: &Array3<f32>,
    depthwise: ArrayView4<'_, f32>,
    pointwise: ArrayView4<'_, f32>,
    bias: ArrayView1<'_, f32>,
    stride: usize,
    padding: Padding,
) -> Array3<f32> {
    let spread = depthwise_conv2d(input, depthwise, stride, padding);
    conv2d(&spread, pointwise, Some(bias), 1, Padding::Valid)
}

/// Leaky ReLU with slope 0.1 below zero (tiny-YOLO's activation), in place.
pub fn leaky_relu(x: &mut Array3<f32>) {
    x.mapv_inplace(|v| if v < 0.0 { 0.1 * v } else { v });
}

/// Which pooling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    /// Maximum of the window (padding ignored).
    Max,
    /// Mean of the window's in-bounds values (TensorFlow's "same" average pooling).
    Average,
}

/// 2-D pooling over `k × k` windows.
pub fn pool2d(input: &Array3<f32>, kind: Pool, k: usize, stride: usize, padding: Padding) -> Array3<f32> {
    let (h, w, c) = input.dim();
    let (oh, pad_top) = geometry(h, k, stride, padding);
    let (ow, pad_left) = geometry(w, k, stride, padding);
    let input = input.as_standard_layout();
    let Some(src) = input.as_slice() else { return Array3::zeros((oh, ow, c)) };
    let mut out = vec![0f32; oh * ow * c];
    let mut count = vec![0u32; c];
    for (pixel, acc) in out.chunks_exact_mut(c.max(1)).enumerate() {
        let (oy, ox) = (pixel / ow.max(1), pixel % ow.max(1));
        let mut first = true;
        count.fill(0);
        for ky in 0..k {
            let Some(y) = (oy * stride + ky).checked_sub(pad_top).filter(|&y| y < h) else { continue };
            for kx in 0..k {
                let Some(x) = (ox * stride + kx).checked_sub(pad_left).filter(|&x| x < w) else { continue };
                let at = (y * w + x) * c;
                let Some(values) = src.get(at..at + c) else { continue };
                match kind {
                    Pool::Max if first => acc.copy_from_slice(values),
                    Pool::Max => acc.iter_mut().zip(values).for_each(|(a, v)| *a = a.max(*v)),
                    Pool::Average => acc.iter_mut().zip(values).for_each(|(a, v)| *a += v),
                }
                first = false;
                count.iter_mut().for_each(|n| *n += 1);
            }
        }
        if kind == Pool::Average {
            acc.iter_mut().zip(&count).for_each(|(a, n)| *a /= (*n).max(1) as f32);
        }
    }
    Array3::from_shape_vec((oh, ow, c), out).unwrap_or_else(|_| Array3::zeros((oh, ow, c)))
}

/// Per-channel `x · scale + offset`, in place.
pub fn scale_offset(x: &mut Array3<f32>, scale: ArrayView1<'_, f32>, offset: ArrayView1<'_, f32>) {
    for mut pixel in x.lanes_mut(Axis(2)) {
        for ((v, s), o) in pixel.iter_mut().zip(scale.iter()).zip(offset.iter()) {
            *v = *v * s + o;
        }
    }
}

/// `max(x, 0)`, in place.
pub fn relu(x: &mut Array3<f32>) {
    x.mapv_inplace(|v| v.max(0.0));
}

/// `x · W + b` for `W[in, out]`.
pub fn fully_connected(
    x: ArrayView1<'_, f32>,
    weights: ArrayView2<'_, f32>,
    bias: Option<ArrayView1<'_, f32>>,
) -> Array1<f32> {
    let mut out = x.dot(&weights);
    if let Some(b) = bias {
        out += &b;
    }
    out
}

/// The mean over height and width: one value per channel.
pub fn global_mean(x: &Array3<f32>) -> Array1<f32> {
    let (h, w, _) = x.dim();
    let n = (h * w).max(1) as f32;
    x.sum_axis(Axis(0)).sum_axis(Axis(0)) / n
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array4, array};
    use proptest::prelude::*;

    /// The textbook definition, written separately: zero-pad explicitly, then slide.
    fn reference_conv(input: &Array3<f32>, f: &Array4<f32>, stride: usize, padding: Padding) -> Array3<f32> {
        let (h, w, cin) = input.dim();
        let (kh, kw, _, cout) = f.dim();
        let (oh, pt) = geometry(h, kh, stride, padding);
        let (ow, pl) = geometry(w, kw, stride, padding);
        let ph = (oh - 1) * stride + kh;
        let pw = (ow - 1) * stride + kw;
        let mut padded = Array3::<f32>::zeros((ph.max(h + pt), pw.max(w + pl), cin));
        for ((y, x, c), v) in input.indexed_iter() {
            padded[[y + pt, x + pl, c]] = *v;
        }
        Array3::from_shape_fn((oh, ow, cout), |(y, x, o)| {
            let mut acc = 0.0;
            for i in 0..kh {
                for j in 0..kw {
                    for c in 0..cin {
                        acc += padded[[y * stride + i, x * stride + j, c]] * f[[i, j, c, o]];
                    }
                }
            }
            acc
        })
    }

    #[test]
    fn same_and_valid_geometry_match_tensorflow() {
        assert_eq!(geometry(150, 7, 2, Padding::Same), (75, 2));
        assert_eq!(geometry(75, 3, 2, Padding::Same), (38, 1));
        assert_eq!(geometry(5, 3, 1, Padding::Same), (5, 1));
        assert_eq!(geometry(150, 7, 2, Padding::Valid), (72, 0));
        assert_eq!(geometry(2, 3, 1, Padding::Valid), (0, 0));
    }

    #[test]
    fn small_hand_computed_cases() {
        let input = Array3::from_shape_vec((2, 2, 1), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
        let sum = Array4::from_elem((2, 2, 1, 1), 1.0f32);
        let out = conv2d(&input, sum.view(), Some(array![0.5].view()), 1, Padding::Valid);
        assert_eq!(out.into_raw_vec_and_offset().0, vec![10.5]);
        let max = pool2d(&input, Pool::Max, 2, 2, Padding::Valid);
        let avg = pool2d(&input, Pool::Average, 2, 2, Padding::Valid);
        assert_eq!((max[[0, 0, 0]], avg[[0, 0, 0]]), (4.0, 2.5));
        let mut x = input.clone();
        scale_offset(&mut x, array![2.0].view(), array![-5.0].view());
        relu(&mut x);
        assert_eq!(x.into_raw_vec_and_offset().0, vec![0.0, 0.0, 1.0, 3.0]);
        assert_eq!(global_mean(&input)[0], 2.5);
        let fc = fully_connected(
            array![1.0, 2.0].view(),
            array![[1.0, 0.0], [0.0, 1.0]].view(),
            Some(array![1.0, 1.0].view()),
        );
        assert_eq!(fc.to_vec(), vec![2.0, 3.0]);
    }

    proptest! {
        #[test]
        fn conv_matches_the_reference(h in 1usize..9, w in 1usize..9, cin in 1usize..4, cout in 1usize..4,
            k in 1usize..4, stride in 1usize..3, same in any::<bool>(), seed in any::<u32>()) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            prop_assume!(same || (h >= k && w >= k));
            let mut s = seed | 1;
            let mut next = move || { s ^= s << 13; s ^= s >> 17; s ^= s << 5; (s % 200) as f32 / 100.0 - 1.0 };
            let input = Array3::from_shape_fn((h, w, cin), |_| next());
            let filters = Array4::from_shape_fn((k, k, cin, cout), |_| next());
            let got = conv2d(&input, filters.view(), None, stride, padding);
            let want = reference_conv(&input, &filters, stride, padding);
            prop_assert_eq!(got.dim(), want.dim());
            for (a, b) in got.iter().zip(want.iter()) {
                prop_assert!((a - b).abs() < 1e-4, "{} vs {}", a, b);
            }
            // Depthwise equals a convolution whose filter is zero off the diagonal.
            let dw = Array4::from_shape_fn((k, k, cin, 1), |_| next());
            let mut full = Array4::<f32>::zeros((k, k, cin, cin));
            for i in 0..k { for j in 0..k { for c in 0..cin { full[[i, j, c, c]] = dw[[i, j, c, 0]]; } } }
            let a = depthwise_conv2d(&input, dw.view(), stride, padding);
            let b = reference_conv(&input, &full, stride, padding);
            for (x, y) in a.iter().zip(b.iter()) {
                prop_assert!((x - y).abs() < 1e-4);
            }
        }
    }
}
