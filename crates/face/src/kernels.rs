//! The fast path of the face networks: convolutions with weights packed once at load
//! (scale and offset folded in), computed directly on the (zero-padded) input without
//! im2col, bias, residual add and activation fused into the store, through SIMD kernels
//! written once against `pulp`'s safe `Simd` trait and dispatched at run time (AVX2 + FMA
//! where the CPU has them, plain scalar code elsewhere). No `unsafe` here.
//!
//! The micro-kernel keeps a tile of [`MR`] output pixels × two SIMD vectors of output
//! channels in registers and walks the filter one kernel row at a time: for a fixed
//! kernel row the `kw · cin` input values under the filter are contiguous in HWC
//! layout, and so are the packed weights, so the inner loop is a plain dot-product
//! update without index arithmetic. The tile may span output rows (each pixel has its
//! own input offset), so only the last tile of an image is partial.
//!
//! [`crate::ops`] keeps the previous im2col + matrix-multiply path: the networks' tests
//! check this path against it, and the face bench measures both in one run.

use ndarray::{Array3, ArrayView1, ArrayView4};
use pulp::{Arch, Simd, WithSimd};

use crate::ops::{Padding, Pool, geometry};
use crate::tfjs::ModelError;

/// Output pixels per micro-tile (6 pixels × 2 vectors = 12 accumulators, which with the
/// two weight vectors and one broadcast fit the 16 AVX2 registers).
const MR: usize = 6;

/// A dense activation in HWC layout.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Tensor {
    /// Height.
    pub(crate) h: usize,
    /// Width.
    pub(crate) w: usize,
    /// Channels.
    pub(crate) c: usize,
    /// `h · w · c` values, channel fastest.
    pub(crate) data: Vec<f32>,
}

impl Tensor {
    /// Takes an array's values (any layout) as a dense tensor.
    pub(crate) fn from_array(array: &Array3<f32>) -> Tensor {
        let (h, w, c) = array.dim();
        Tensor { h, w, c, data: array.iter().copied().collect() }
    }

    /// Takes an array's values without copying when it is in standard layout.
    pub(crate) fn from_owned(array: Array3<f32>) -> Tensor {
        let (h, w, c) = array.dim();
        if !array.is_standard_layout() {
            return Tensor::from_array(&array);
        }
        let (data, offset) = array.into_raw_vec_and_offset();
        if offset.is_some_and(|o| o != 0) || data.len() != h * w * c {
            return Tensor { h, w, c, data: vec![0.0; h * w * c] };
        }
        Tensor { h, w, c, data }
    }

    /// The tensor as an array.
    pub(crate) fn into_array(self) -> Array3<f32> {
        let (h, w, c) = (self.h, self.w, self.c);
        Array3::from_shape_vec((h, w, c), self.data).unwrap_or_else(|_| Array3::zeros((h, w, c)))
    }

    /// Reshapes to `h × w × c` zeros, reusing the allocation.
    fn reset(&mut self, h: usize, w: usize, c: usize) {
        (self.h, self.w, self.c) = (h, w, c);
        self.data.clear();
        self.data.resize(h * w * c, 0.0);
    }

    fn shape_error(&self, name: &str, expected: Vec<usize>) -> ModelError {
        ModelError::Shape { name: name.to_owned(), expected, actual: vec![self.h, self.w, self.c] }
    }
}

/// What the store applies after bias (and residual).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Activation {
    /// Nothing.
    Identity,
    /// `max(x, 0)`.
    Relu,
    /// `max(x, 0.1 x)`: tiny-YOLO's leaky ReLU.
    Leaky,
}

impl Activation {
    #[inline(always)]
    fn apply<S: Simd>(self, simd: S, x: S::f32s) -> S::f32s {
        match self {
            Activation::Identity => x,
            Activation::Relu => simd.max_f32s(x, simd.splat_f32s(0.0)),
            Activation::Leaky => simd.max_f32s(x, simd.mul_f32s(x, simd.splat_f32s(0.1))),
        }
    }
}

/// The SIMD width of `arch`, in `f32` lanes.
fn lanes(arch: Arch) -> usize {
    struct Lanes;
    impl WithSimd for Lanes {
        type Output = usize;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _simd: S) -> usize {
            S::F32_LANES
        }
    }
    arch.dispatch(Lanes)
}

/// Where a layer reads its input: the tensor itself, or a zero-padded copy of it.
struct Source<'a> {
    data: &'a [f32],
    /// Width of a row of `data`, in pixels.
    width: usize,
    out_h: usize,
    out_w: usize,
}

/// Output geometry of a `kh × kw` window at `stride`, and the input the window reads:
/// `x` itself when no padding is needed, else a zero-padded copy built in `scratch`.
fn source<'a>(
    x: &'a Tensor,
    (kh, kw): (usize, usize),
    stride: usize,
    padding: Padding,
    scratch: &'a mut Vec<f32>,
) -> Source<'a> {
    let (out_h, top) = geometry(x.h, kh, stride, padding);
    let (out_w, left) = geometry(x.w, kw, stride, padding);
    let need_h = out_h.saturating_sub(1) * stride + kh;
    let need_w = out_w.saturating_sub(1) * stride + kw;
    if out_h == 0 || out_w == 0 || (top == 0 && left == 0 && need_h <= x.h && need_w <= x.w) {
        return Source { data: &x.data, width: x.w, out_h, out_w };
    }
    let c = x.c;
    scratch.clear();
    scratch.resize(need_h * need_w * c, 0.0);
    let cols = x.w.min(need_w.saturating_sub(left));
    for (y, row) in x.data.chunks_exact((x.w * c).max(1)).enumerate() {
        let py = y + top;
        if py >= need_h {
            break;
        }
        let at = (py * need_w + left) * c;
        if let (Some(dst), Some(src)) = (scratch.get_mut(at..at + cols * c), row.get(..cols * c)) {
            dst.copy_from_slice(src);
        }
    }
    Source { data: scratch, width: need_w, out_h, out_w }
}

/// A convolution with packed weights: `[block][ky][kx][cin][nr]`, `nr` output channels
/// (two SIMD vectors) a block, zero beyond `cout`; bias (with the folded offset) padded
/// the same way.
#[derive(Clone, Debug)]
pub(crate) struct Conv {
    arch: Arch,
    kh: usize,
    kw: usize,
    cin: usize,
    cout: usize,
    stride: usize,
    padding: Padding,
    nr: usize,
    packed: Vec<f32>,
    bias: Vec<f32>,
}

impl Conv {
    /// Packs `filters[kh, kw, cin, cout]`, computing `(conv + bias) · scale + offset` as
    /// `conv(filters · scale) + (bias · scale + offset)` when `scale` is given.
    pub(crate) fn new(
        filters: ArrayView4<'_, f32>,
        bias: Option<ArrayView1<'_, f32>>,
        scale: Option<(ArrayView1<'_, f32>, ArrayView1<'_, f32>)>,
        stride: usize,
        padding: Padding,
    ) -> Conv {
        Conv::with_arch(Arch::new(), filters, bias, scale, stride, padding)
    }

    /// [`new`](Self::new) for the given instruction set (the tests run each).
    fn with_arch(
        arch: Arch,
        filters: ArrayView4<'_, f32>,
        bias: Option<ArrayView1<'_, f32>>,
        scale: Option<(ArrayView1<'_, f32>, ArrayView1<'_, f32>)>,
        stride: usize,
        padding: Padding,
    ) -> Conv {
        let (kh, kw, cin, cout) = filters.dim();
        // One SIMD vector of output channels a block when that holds them all, else two.
        let nr = if cout <= lanes(arch) { lanes(arch) } else { 2 * lanes(arch) };
        let blocks = cout.div_ceil(nr);
        let gains: Vec<f32> =
            (0..cout).map(|o| scale.and_then(|(s, _)| s.get(o).copied()).unwrap_or(1.0)).collect();
        let mut folded = vec![0f32; blocks * nr];
        for ((o, slot), gain) in folded.iter_mut().enumerate().zip(&gains) {
            let b = bias.and_then(|b| b.get(o).copied()).unwrap_or(0.0);
            let offset = scale.and_then(|(_, off)| off.get(o).copied()).unwrap_or(0.0);
            *slot = b * gain + offset;
        }
        // `[kh·kw·cin][cout]` rows, each spread over the blocks at the same position.
        let filters = filters.as_standard_layout();
        let rows = filters.as_slice().unwrap_or(&[]).chunks_exact(cout.max(1));
        let taps = kh * kw * cin;
        let mut packed = vec![0f32; blocks * taps * nr];
        for (k, row) in rows.enumerate() {
            for (block, (values, gains)) in row.chunks(nr).zip(gains.chunks(nr)).enumerate() {
                let at = (block * taps + k) * nr;
                if let Some(dst) = packed.get_mut(at..at + values.len()) {
                    dst.iter_mut().zip(values).zip(gains).for_each(|((d, v), g)| *d = v * g);
                }
            }
        }
        Conv { arch, kh, kw, cin, cout, stride: stride.max(1), padding, nr, packed, bias: folded }
    }

    /// `out = activation(conv(x) + bias [+ residual])`; `residual` must have the
    /// output's shape. `scratch` holds the padded input when padding is needed.
    pub(crate) fn forward(
        &self,
        x: &Tensor,
        residual: Option<&Tensor>,
        activation: Activation,
        out: &mut Tensor,
        scratch: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        self.forward_rows(x, None, residual, activation, out, scratch)
    }

    /// [`forward`](Self::forward) for output rows `rows` only (all when `None`): `out`
    /// gets those rows. For convolutions that need no padding, a band reads the input
    /// in place.
    pub(crate) fn forward_rows(
        &self,
        x: &Tensor,
        rows: Option<std::ops::Range<usize>>,
        residual: Option<&Tensor>,
        activation: Activation,
        out: &mut Tensor,
        scratch: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        if x.c != self.cin {
            return Err(x.shape_error("convolution input", vec![x.h, x.w, self.cin]));
        }
        let src = source(x, (self.kh, self.kw), self.stride, self.padding, scratch);
        let rows = rows.unwrap_or(0..src.out_h);
        let rows = rows.start.min(src.out_h)..rows.end.min(src.out_h);
        out.reset(rows.len(), src.out_w, self.cout);
        if let Some(r) = residual
            && (r.h, r.w, r.c) != (out.h, out.w, out.c)
        {
            return Err(r.shape_error("residual", vec![out.h, out.w, out.c]));
        }
        let pixels = rows.start * src.out_w..rows.end * src.out_w;
        let kernel = ConvKernel {
            conv: self,
            src,
            pixels,
            residual: residual.map(|r| r.data.as_slice()),
            activation,
            out,
        };
        if self.arch.dispatch(kernel) {
            Ok(())
        } else {
            Err(ModelError::Manifest("SIMD width changed".into()))
        }
    }
}

struct ConvKernel<'a> {
    conv: &'a Conv,
    src: Source<'a>,
    /// The output pixels computed (row-major over the whole output); `out` holds them
    /// from its start.
    pixels: std::ops::Range<usize>,
    residual: Option<&'a [f32]>,
    activation: Activation,
    out: &'a mut Tensor,
}

impl WithSimd for ConvKernel<'_> {
    type Output = bool;

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) -> bool {
        let ConvKernel { conv, src, pixels, residual, activation, out } = self;
        let lanes = S::F32_LANES;
        let vectors = conv.nr / lanes.max(1);
        if conv.nr != vectors * lanes || !(1..=2).contains(&vectors) {
            return false;
        }
        let (cin, cout, stride) = (conv.cin, conv.cout, conv.stride);
        let row = conv.kw * cin;
        let block_len = conv.kh * row * conv.nr;
        let ow = src.out_w;
        if pixels.is_empty() || block_len == 0 {
            return true;
        }
        let (p_first, p_end) = (pixels.start, pixels.end);
        let input_row = src.width * cin;
        for (block, (weights, bias)) in
            conv.packed.chunks_exact(block_len).zip(conv.bias.chunks_exact(conv.nr)).enumerate()
        {
            let (weights, _) = S::as_simd_f32s(weights);
            let (bias, _) = S::as_simd_f32s(bias);
            let (b0, b1) = match *bias {
                [b0] => (b0, simd.splat_f32s(0.0)),
                [b0, b1] => (b0, b1),
                _ => return false,
            };
            let first = block * conv.nr;
            let width = conv.nr.min(cout - first);
            let mut p0 = p_first;
            while p0 < p_end {
                let mut base = [0usize; MR];
                for (m, at) in base.iter_mut().enumerate() {
                    let p = (p0 + m).min(p_end - 1);
                    *at = ((p / ow) * stride * src.width + (p % ow) * stride) * cin;
                }
                let mut acc = [[b0, b1]; MR];
                for (ky, w) in weights.chunks_exact(vectors * row).enumerate() {
                    let off = ky * input_row;
                    let a = base.map(|at| src.data.get(at + off..at + off + row).unwrap_or(&[]));
                    if vectors == 2 { tile(simd, &mut acc, w, a) } else { tile_narrow(simd, &mut acc, w, a) }
                }
                for (m, acc) in acc.iter().enumerate() {
                    let p = p0 + m;
                    if p >= p_end {
                        break;
                    }
                    let at = (p - p_first) * cout + first;
                    let Some(dst) = out.data.get_mut(at..at + width) else { return false };
                    let res = residual.and_then(|r| r.get(at..at + width));
                    let (lo, hi) = dst.split_at_mut(width.min(lanes));
                    let [v0, v1] = *acc;
                    for (dst, v, part) in [(lo, v0, 0), (hi, v1, 1)] {
                        if dst.is_empty() {
                            continue;
                        }
                        let mut v = v;
                        if let Some(r) = res {
                            let start = part * lanes;
                            let r = r.get(start..start + dst.len()).unwrap_or(&[]);
                            v = simd.add_f32s(v, load(simd, r));
                        }
                        store(simd, dst, activation.apply(simd, v));
                    }
                }
                p0 += MR;
            }
        }
        true
    }
}

/// Loads up to one vector from `values` (zeros beyond its end). Full vectors go
/// through plain loads: masked loads and stores are slow on some CPUs (AMD's
/// `vmaskmovps`).
#[inline(always)]
fn load<S: Simd>(simd: S, values: &[f32]) -> S::f32s {
    match S::as_simd_f32s(values) {
        (&[v], _) => v,
        _ => simd.partial_load_f32s(values),
    }
}

/// Stores the first `dst.len()` (at most one vector's) lanes of `v`.
#[inline(always)]
fn store<S: Simd>(simd: S, dst: &mut [f32], v: S::f32s) {
    match S::as_mut_simd_f32s(dst) {
        ([slot], _) => *slot = v,
        (_, tail) => simd.partial_store_f32s(tail, v),
    }
}

/// The inner product of one kernel row for a tile: `acc[m] += a[m][k] · w[k]` over `k`.
/// Short input slices (which `ConvKernel` never passes) end the loop early.
#[inline(always)]
fn tile<S: Simd>(simd: S, acc: &mut [[S::f32s; 2]; MR], w: &[S::f32s], a: [&[f32]; MR]) {
    let [a0, a1, a2, a3, a4, a5] = a;
    let [
        [mut x00, mut x01],
        [mut x10, mut x11],
        [mut x20, mut x21],
        [mut x30, mut x31],
        [mut x40, mut x41],
        [mut x50, mut x51],
    ] = *acc;
    for ((((((w, &v0), &v1), &v2), &v3), &v4), &v5) in
        w.chunks_exact(2).zip(a0).zip(a1).zip(a2).zip(a3).zip(a4).zip(a5)
    {
        let &[w0, w1] = w else { continue };
        let s = simd.splat_f32s(v0);
        x00 = simd.mul_add_e_f32s(s, w0, x00);
        x01 = simd.mul_add_e_f32s(s, w1, x01);
        let s = simd.splat_f32s(v1);
        x10 = simd.mul_add_e_f32s(s, w0, x10);
        x11 = simd.mul_add_e_f32s(s, w1, x11);
        let s = simd.splat_f32s(v2);
        x20 = simd.mul_add_e_f32s(s, w0, x20);
        x21 = simd.mul_add_e_f32s(s, w1, x21);
        let s = simd.splat_f32s(v3);
        x30 = simd.mul_add_e_f32s(s, w0, x30);
        x31 = simd.mul_add_e_f32s(s, w1, x31);
        let s = simd.splat_f32s(v4);
        x40 = simd.mul_add_e_f32s(s, w0, x40);
        x41 = simd.mul_add_e_f32s(s, w1, x41);
        let s = simd.splat_f32s(v5);
        x50 = simd.mul_add_e_f32s(s, w0, x50);
        x51 = simd.mul_add_e_f32s(s, w1, x51);
    }
    *acc = [[x00, x01], [x10, x11], [x20, x21], [x30, x31], [x40, x41], [x50, x51]];
}

/// [`tile`] for blocks of one SIMD vector of output channels.
#[inline(always)]
fn tile_narrow<S: Simd>(simd: S, acc: &mut [[S::f32s; 2]; MR], w: &[S::f32s], a: [&[f32]; MR]) {
    let [a0, a1, a2, a3, a4, a5] = a;
    let [[mut x0, _], [mut x1, _], [mut x2, _], [mut x3, _], [mut x4, _], [mut x5, _]] = *acc;
    for ((((((&w, &v0), &v1), &v2), &v3), &v4), &v5) in
        w.iter().zip(a0).zip(a1).zip(a2).zip(a3).zip(a4).zip(a5)
    {
        x0 = simd.mul_add_e_f32s(simd.splat_f32s(v0), w, x0);
        x1 = simd.mul_add_e_f32s(simd.splat_f32s(v1), w, x1);
        x2 = simd.mul_add_e_f32s(simd.splat_f32s(v2), w, x2);
        x3 = simd.mul_add_e_f32s(simd.splat_f32s(v3), w, x3);
        x4 = simd.mul_add_e_f32s(simd.splat_f32s(v4), w, x4);
        x5 = simd.mul_add_e_f32s(simd.splat_f32s(v5), w, x5);
    }
    for (acc, x) in acc.iter_mut().zip([x0, x1, x2, x3, x4, x5]) {
        acc[0] = x;
    }
}

/// A depthwise convolution (`filters[kh, kw, c, 1]`), taps stored `[ky][kx][c]`.
#[derive(Clone, Debug)]
pub(crate) struct Depthwise {
    arch: Arch,
    kh: usize,
    kw: usize,
    c: usize,
    stride: usize,
    padding: Padding,
    taps: Vec<f32>,
}

impl Depthwise {
    /// Copies the taps of `filters[kh, kw, c, 1]`.
    pub(crate) fn new(filters: ArrayView4<'_, f32>, stride: usize, padding: Padding) -> Depthwise {
        Depthwise::with_arch(Arch::new(), filters, stride, padding)
    }

    fn with_arch(arch: Arch, filters: ArrayView4<'_, f32>, stride: usize, padding: Padding) -> Depthwise {
        let (kh, kw, c, _) = filters.dim();
        let taps = filters.index_axis(ndarray::Axis(3), 0).iter().copied().collect();
        Depthwise { arch, kh, kw, c, stride: stride.max(1), padding, taps }
    }

    /// `out[y, x, c] = Σ x[y·s + i − p, x·s + j − p, c] · f[i, j, c]` over the taps
    /// inside the input (zero padding).
    pub(crate) fn forward(&self, x: &Tensor, out: &mut Tensor) -> Result<(), ModelError> {
        self.forward_rows(x, None, out)
    }

    /// [`forward`](Self::forward) for output rows `rows` only (all when `None`).
    pub(crate) fn forward_rows(
        &self,
        x: &Tensor,
        rows: Option<std::ops::Range<usize>>,
        out: &mut Tensor,
    ) -> Result<(), ModelError> {
        if x.c != self.c {
            return Err(x.shape_error("depthwise input", vec![x.h, x.w, self.c]));
        }
        let (oh, top) = geometry(x.h, self.kh, self.stride, self.padding);
        let (ow, left) = geometry(x.w, self.kw, self.stride, self.padding);
        let rows = rows.unwrap_or(0..oh);
        let rows = rows.start.min(oh)..rows.end.min(oh);
        out.reset(rows.len(), ow, self.c);
        self.arch.dispatch(DepthwiseKernel { dw: self, x, first_row: rows.start, top, left, out });
        Ok(())
    }
}

struct DepthwiseKernel<'a> {
    dw: &'a Depthwise,
    x: &'a Tensor,
    first_row: usize,
    top: usize,
    left: usize,
    out: &'a mut Tensor,
}

impl WithSimd for DepthwiseKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let DepthwiseKernel { dw, x, first_row, top, left, out } = self;
        let c = dw.c;
        let ow = out.w.max(1);
        for (p, acc) in out.data.chunks_exact_mut(c.max(1)).enumerate() {
            let (oy, ox) = (first_row + p / ow, p % ow);
            let (acc_v, acc_t) = S::as_mut_simd_f32s(acc);
            let mut taps = dw.taps.chunks_exact(c.max(1));
            for ky in 0..dw.kh {
                let y = (oy * dw.stride + ky).checked_sub(top).filter(|&y| y < x.h);
                for kx in 0..dw.kw {
                    let Some(f) = taps.next() else { continue };
                    let Some(y) = y else { continue };
                    let Some(xx) = (ox * dw.stride + kx).checked_sub(left).filter(|&v| v < x.w) else {
                        continue;
                    };
                    let at = (y * x.w + xx) * c;
                    let Some(v) = x.data.get(at..at + c) else { continue };
                    let (vv, vt) = S::as_simd_f32s(v);
                    let (fv, ft) = S::as_simd_f32s(f);
                    for ((a, v), f) in acc_v.iter_mut().zip(vv).zip(fv) {
                        *a = simd.mul_add_e_f32s(*v, *f, *a);
                    }
                    for ((a, v), f) in acc_t.iter_mut().zip(vt).zip(ft) {
                        *a += v * f;
                    }
                }
            }
        }
    }
}

/// A (depthwise →) convolution whose output is max-pooled 2×2 at stride 2 ("same"),
/// computed two output rows at a time so that the full-resolution output never exists:
/// the detector's early layers would otherwise write and re-read tens of megabytes.
/// `conv` must need no padding (a "valid" or 1×1 convolution).
pub(crate) fn conv_max_pooled(
    x: &Tensor,
    depthwise: Option<&Depthwise>,
    conv: &Conv,
    activation: Activation,
    out: &mut Tensor,
    band: &mut [Tensor; 2],
    scratch: &mut Vec<f32>,
) -> Result<(), ModelError> {
    // The convolution's output size, from the input it actually sees.
    let (h, w) = match depthwise {
        Some(dw) => {
            (geometry(x.h, dw.kh, dw.stride, dw.padding).0, geometry(x.w, dw.kw, dw.stride, dw.padding).0)
        }
        None => (x.h, x.w),
    };
    let conv_h = geometry(h, conv.kh, conv.stride, conv.padding).0;
    let conv_w = geometry(w, conv.kw, conv.stride, conv.padding).0;
    let (ph, top) = geometry(conv_h, 2, 2, Padding::Same);
    let (pw, left) = geometry(conv_w, 2, 2, Padding::Same);
    out.reset(ph, pw, conv.cout);
    let [spread, rows] = band;
    for (r, dst_row) in out.data.chunks_exact_mut((pw * conv.cout).max(1)).enumerate() {
        let first = (2 * r).saturating_sub(top);
        let last = (2 * r + 2).saturating_sub(top).min(conv_h);
        match depthwise {
            Some(dw) => {
                dw.forward_rows(x, Some(first..last), spread)?;
                conv.forward_rows(spread, None, None, activation, rows, scratch)?;
            }
            None => conv.forward_rows(x, Some(first..last), None, activation, rows, scratch)?,
        }
        let c = conv.cout;
        for (ox, dst) in dst_row.chunks_exact_mut(c.max(1)).enumerate() {
            let mut seen = false;
            for y in 0..rows.h {
                for xx in (2 * ox).saturating_sub(left)..(2 * ox + 2).saturating_sub(left).min(rows.w) {
                    let at = (y * rows.w + xx) * c;
                    let Some(v) = rows.data.get(at..at + c) else { continue };
                    if seen {
                        dst.iter_mut().zip(v).for_each(|(d, v)| *d = d.max(*v));
                    } else {
                        dst.copy_from_slice(v);
                        seen = true;
                    }
                }
            }
        }
    }
    Ok(())
}

/// 2-D pooling with TensorFlow's rules (max ignores padding, average divides by the
/// in-bounds count), into `out`.
pub(crate) fn pool(x: &Tensor, kind: Pool, k: usize, stride: usize, padding: Padding, out: &mut Tensor) {
    let (h, w, c) = (x.h, x.w, x.c);
    let (oh, top) = geometry(h, k, stride, padding);
    let (ow, left) = geometry(w, k, stride, padding);
    out.reset(oh, ow, c);
    for (p, acc) in out.data.chunks_exact_mut(c.max(1)).enumerate() {
        let (oy, ox) = (p / ow.max(1), p % ow.max(1));
        let mut count = 0u32;
        for ky in 0..k {
            let Some(y) = (oy * stride + ky).checked_sub(top).filter(|&y| y < h) else { continue };
            for kx in 0..k {
                let Some(x_) = (ox * stride + kx).checked_sub(left).filter(|&x| x < w) else { continue };
                let at = (y * w + x_) * c;
                let Some(values) = x.data.get(at..at + c) else { continue };
                match kind {
                    Pool::Max if count == 0 => acc.copy_from_slice(values),
                    Pool::Max => acc.iter_mut().zip(values).for_each(|(a, v)| *a = a.max(*v)),
                    Pool::Average => acc.iter_mut().zip(values).for_each(|(a, v)| *a += v),
                }
                count += 1;
            }
        }
        if kind == Pool::Average {
            let n = count.max(1) as f32;
            acc.iter_mut().for_each(|a| *a /= n);
        }
    }
}

/// `max(x, 0)` in place.
pub(crate) fn relu(x: &mut [f32]) {
    x.iter_mut().for_each(|v| *v = v.max(0.0));
}

/// `acc += x` element-wise (equal lengths).
pub(crate) fn add(acc: &mut [f32], x: &[f32]) {
    acc.iter_mut().zip(x).for_each(|(a, v)| *a += v);
}

/// The mean over height and width: one value per channel.
pub(crate) fn global_mean(x: &Tensor) -> Vec<f32> {
    let mut sum = vec![0f32; x.c];
    for pixel in x.data.chunks_exact(x.c.max(1)) {
        add(&mut sum, pixel);
    }
    let n = (x.h * x.w).max(1) as f32;
    sum.iter_mut().for_each(|v| *v /= n);
    sum
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array4};
    use proptest::prelude::*;

    use super::*;
    use crate::ops;

    /// Every instruction set this CPU runs: scalar, and AVX2 / AVX-512 where present.
    fn archs() -> Vec<Arch> {
        #[allow(unused_mut, reason = "only x86-64 adds more")]
        let mut archs = vec![Arch::Scalar, Arch::new()];
        #[cfg(target_arch = "x86_64")]
        archs.extend(pulp::x86::V3::try_new().map(Arch::V3));
        archs
    }

    fn noise(seed: u32) -> impl FnMut() -> f32 {
        let mut s = seed | 1;
        move || {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            (s % 2000) as f32 / 1000.0 - 1.0
        }
    }

    proptest! {
        /// The packed direct convolution (folded scale, residual, activation) equals
        /// the im2col path of `ops` followed by the separate passes.
        #[test]
        fn conv_matches_the_im2col_path(h in 1usize..12, w in 1usize..12, cin in 1usize..7, cout in 1usize..40,
            k in 1usize..5, stride in 1usize..3, same in any::<bool>(), act in 0u8..3, with_res in any::<bool>(),
            seed in any::<u32>()) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            prop_assume!(same || (h >= k && w >= k));
            let mut next = noise(seed);
            let input = Array3::from_shape_fn((h, w, cin), |_| next());
            let filters = Array4::from_shape_fn((k, k, cin, cout), |_| next());
            let bias = Array1::from_shape_fn(cout, |_| next());
            let scale = Array1::from_shape_fn(cout, |_| next());
            let offset = Array1::from_shape_fn(cout, |_| next());
            let mut want = ops::conv2d(&input, filters.view(), Some(bias.view()), stride, padding);
            ops::scale_offset(&mut want, scale.view(), offset.view());
            let residual = Array3::from_shape_fn(want.dim(), |_| next());
            if with_res {
                want += &residual;
            }
            let activation = [Activation::Identity, Activation::Relu, Activation::Leaky][usize::from(act)];
            match activation {
                Activation::Identity => {}
                Activation::Relu => ops::relu(&mut want),
                Activation::Leaky => ops::leaky_relu(&mut want),
            }
            for arch in archs() {
                let scale = Some((scale.view(), offset.view()));
                let conv = Conv::with_arch(arch, filters.view(), Some(bias.view()), scale, stride, padding);
                let mut out = Tensor::default();
                let res = Tensor::from_array(&residual);
                conv.forward(&Tensor::from_array(&input), with_res.then_some(&res), activation, &mut out, &mut Vec::new())
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!((out.h, out.w, out.c), want.dim());
                for (a, b) in out.data.iter().zip(want.iter()) {
                    prop_assert!((a - b).abs() < 1e-4, "{:?}: {} vs {}", arch, a, b);
                }
            }
        }

        /// The banded, max-pooled (depthwise →) convolution equals the whole-tensor
        /// operations of `ops` in sequence.
        #[test]
        fn conv_max_pooled_matches_ops(h in 3usize..14, w in 3usize..14, c in 1usize..5, cout in 1usize..20,
            separable in any::<bool>(), seed in any::<u32>()) {
            let mut next = noise(seed);
            let input = Array3::from_shape_fn((h, w, c), |_| next());
            let bias = Array1::from_shape_fn(cout, |_| next());
            let (dw, conv, mut want) = if separable {
                let taps = Array4::from_shape_fn((3, 3, c, 1), |_| next());
                let pointwise = Array4::from_shape_fn((1, 1, c, cout), |_| next());
                let want = ops::separable_conv2d(&input, taps.view(), pointwise.view(), bias.view(), 1, Padding::Same);
                let conv = Conv::new(pointwise.view(), Some(bias.view()), None, 1, Padding::Valid);
                (Some(Depthwise::new(taps.view(), 1, Padding::Same)), conv, want)
            } else {
                let filters = Array4::from_shape_fn((3, 3, c, cout), |_| next());
                let want = ops::conv2d(&input, filters.view(), Some(bias.view()), 1, Padding::Valid);
                (None, Conv::new(filters.view(), Some(bias.view()), None, 1, Padding::Valid), want)
            };
            ops::leaky_relu(&mut want);
            let want = ops::pool2d(&want, Pool::Max, 2, 2, Padding::Same);
            let mut out = Tensor::default();
            conv_max_pooled(&Tensor::from_array(&input), dw.as_ref(), &conv, Activation::Leaky, &mut out,
                &mut Default::default(), &mut Vec::new()).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!((out.h, out.w, out.c), want.dim());
            for (a, b) in out.data.iter().zip(want.iter()) {
                prop_assert!((a - b).abs() < 1e-4, "{} vs {}", a, b);
            }
        }

        #[test]
        fn depthwise_and_pool_match_ops(h in 1usize..10, w in 1usize..10, c in 1usize..40, k in 1usize..4,
            stride in 1usize..3, same in any::<bool>(), seed in any::<u32>()) {
            let padding = if same { Padding::Same } else { Padding::Valid };
            prop_assume!(same || (h >= k && w >= k));
            let mut next = noise(seed);
            let input = Array3::from_shape_fn((h, w, c), |_| next());
            let filters = Array4::from_shape_fn((k, k, c, 1), |_| next());
            let want = ops::depthwise_conv2d(&input, filters.view(), stride, padding);
            let mut out = Tensor::default();
            for arch in archs() {
                Depthwise::with_arch(arch, filters.view(), stride, padding)
                    .forward(&Tensor::from_array(&input), &mut out)
                    .map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!((out.h, out.w, out.c), want.dim());
                for (a, b) in out.data.iter().zip(want.iter()) {
                    prop_assert!((a - b).abs() < 1e-4, "{:?}: {} vs {}", arch, a, b);
                }
            }
            for kind in [Pool::Max, Pool::Average] {
                let want = ops::pool2d(&input, kind, k, stride, padding);
                pool(&Tensor::from_array(&input), kind, k, stride, padding, &mut out);
                prop_assert_eq!(out.clone().into_array(), want);
            }
        }
    }

    #[test]
    fn wrong_channel_counts_are_typed_errors() {
        let conv = Conv::new(Array4::<f32>::zeros((3, 3, 4, 8)).view(), None, None, 1, Padding::Same);
        let x = Tensor { h: 2, w: 2, c: 3, data: vec![0.0; 12] };
        assert!(conv.forward(&x, None, Activation::Relu, &mut Tensor::default(), &mut Vec::new()).is_err());
        let dw = Depthwise::new(Array4::<f32>::zeros((3, 3, 4, 1)).view(), 1, Padding::Same);
        assert!(dw.forward(&x, &mut Tensor::default()).is_err());
        let ok = Tensor { h: 2, w: 2, c: 4, data: vec![1.0; 16] };
        let wrong_residual = Tensor { h: 1, w: 1, c: 8, data: vec![0.0; 8] };
        assert!(
            conv.forward(
                &ok,
                Some(&wrong_residual),
                Activation::Relu,
                &mut Tensor::default(),
                &mut Vec::new()
            )
            .is_err()
        );
    }
}
