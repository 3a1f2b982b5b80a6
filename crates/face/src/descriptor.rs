//! The face descriptor network: dlib's ResNet (29 convolutions) as distributed in
//! `@vladmandic/face-api` — a 150×150 RGB face chip in, a 128-d descriptor out, compared
//! by Euclidean distance (dlib's rule: < 0.6 means the same person). The structure
//! follows face-api's FaceRecognitionNet; weights come in as bytes through
//! [`Weights`](crate::Weights).

use ndarray::{Array1, Array3};

use crate::kernels::{self, Activation, Conv, Tensor};
use crate::ops::{Padding, Pool, conv2d, filters4, fully_connected, global_mean, pool2d, relu, scale_offset};
use crate::tfjs::{ModelError, Weights};

/// Side of the input chip.
pub const CHIP_SIZE: usize = 150;
/// Length of a descriptor.
pub const DESCRIPTOR_LEN: usize = 128;
/// Per-channel mean subtracted before scaling by 1/255.
const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];

/// A face descriptor.
pub type Descriptor = Array1<f32>;

/// Euclidean distance between two descriptors.
pub fn distance(a: &Descriptor, b: &Descriptor) -> f32 {
    a.iter().zip(b.iter()).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
}

/// The network, with every tensor checked against the shape the architecture needs,
/// and its convolutions packed for the fast path.
#[derive(Clone, Debug)]
pub struct DescriptorNet {
    weights: Weights,
    stem: Conv,
    /// Per block of [`BLOCKS`]: its two convolutions.
    blocks: Vec<(Conv, Conv)>,
}

/// (block name, input channels, output channels, down-sampling).
const BLOCKS: &[(&str, usize, usize, bool)] = &[
    ("conv32_1", 32, 32, false),
    ("conv32_2", 32, 32, false),
    ("conv32_3", 32, 32, false),
    ("conv64_down", 32, 64, true),
    ("conv64_1", 64, 64, false),
    ("conv64_2", 64, 64, false),
    ("conv64_3", 64, 64, false),
    ("conv128_down", 64, 128, true),
    ("conv128_1", 128, 128, false),
    ("conv128_2", 128, 128, false),
    ("conv256_down", 128, 256, true),
    ("conv256_1", 256, 256, false),
    ("conv256_2", 256, 256, false),
    ("conv256_down_out", 256, 256, true),
];

impl DescriptorNet {
    /// Wraps loaded weights after checking every tensor's presence and shape.
    pub fn new(weights: Weights) -> Result<DescriptorNet, ModelError> {
        check_conv(&weights, "conv32_down", 7, 3, 32)?;
        for &(name, cin, cout, _) in BLOCKS {
            check_conv(&weights, &format!("{name}/conv1"), 3, cin, cout)?;
            check_conv(&weights, &format!("{name}/conv2"), 3, cout, cout)?;
        }
        weights.get("fc", &[256, DESCRIPTOR_LEN])?;
        let stem = pack(&weights, "conv32_down", 2, Padding::Valid)?;
        let mut blocks = Vec::with_capacity(BLOCKS.len());
        for &(name, _, _, down) in BLOCKS {
            let (stride, padding) = if down { (2, Padding::Valid) } else { (1, Padding::Same) };
            blocks.push((
                pack(&weights, &format!("{name}/conv1"), stride, padding)?,
                pack(&weights, &format!("{name}/conv2"), 1, Padding::Same)?,
            ));
        }
        Ok(DescriptorNet { weights, stem, blocks })
    }

    /// The descriptor of a 150×150 RGB chip (row-major, 3 bytes a pixel).
    pub fn describe(&self, chip: &[u8]) -> Result<Descriptor, ModelError> {
        check_chip(chip)?;
        let mut x = Tensor {
            h: CHIP_SIZE,
            w: CHIP_SIZE,
            c: 3,
            data: chip
                .iter()
                .zip(MEAN_RGB.iter().cycle())
                .map(|(&v, mean)| (f32::from(v) - mean) / 255.0)
                .collect(),
        };
        let (mut t1, mut t2, mut pooled, mut scratch) =
            (Tensor::default(), Tensor::default(), Tensor::default(), Vec::new());
        self.stem.forward(&x, None, Activation::Relu, &mut t1, &mut scratch)?;
        kernels::pool(&t1, Pool::Max, 3, 2, Padding::Valid, &mut x);
        for (&(name, _, _, down), (conv1, conv2)) in BLOCKS.iter().zip(&self.blocks) {
            conv1.forward(&x, None, Activation::Relu, &mut t1, &mut scratch)?;
            if !down {
                conv2.forward(&t1, Some(&x), Activation::Relu, &mut t2, &mut scratch)?;
                std::mem::swap(&mut x, &mut t2);
                continue;
            }
            conv2.forward(&t1, None, Activation::Identity, &mut t2, &mut scratch)?;
            kernels::pool(&x, Pool::Average, 2, 2, Padding::Valid, &mut pooled);
            shortcut_sum(&t2, &pooled, &mut x, name)?;
        }
        let mean = kernels::global_mean(&x);
        Ok(fully_connected(ndarray::ArrayView1::from(&mean), self.weights.matrix("fc")?, None))
    }

    /// The descriptor through the previous implementation (im2col + `ndarray`'s matrix
    /// multiply, separate passes for bias, scale, ReLU and the residual add): the
    /// baseline the fast path is tested and benchmarked against.
    pub fn describe_reference(&self, chip: &[u8]) -> Result<Descriptor, ModelError> {
        check_chip(chip)?;
        let input = Array3::from_shape_fn((CHIP_SIZE, CHIP_SIZE, 3), |(y, x, c)| {
            let v = chip.get((y * CHIP_SIZE + x) * 3 + c).copied().unwrap_or(0);
            (f32::from(v) - MEAN_RGB.get(c).copied().unwrap_or(0.0)) / 255.0
        });
        let mut out = self.conv(&input, "conv32_down", 2, Padding::Valid, true)?;
        out = pool2d(&out, Pool::Max, 3, 2, Padding::Valid);
        for &(name, _, _, down) in BLOCKS {
            out = if down { self.residual_down(&out, name)? } else { self.residual(&out, name)? };
        }
        let pooled = global_mean(&out);
        Ok(fully_connected(pooled.view(), self.weights.matrix("fc")?, None))
    }

    /// conv + bias, then per-channel scale and offset, then (optionally) ReLU.
    fn conv(
        &self,
        x: &Array3<f32>,
        name: &str,
        stride: usize,
        padding: Padding,
        with_relu: bool,
    ) -> Result<Array3<f32>, ModelError> {
        let filters = self.weights.tensor(&format!("{name}/conv/filters"))?;
        let bias = self.weights.vector(&format!("{name}/conv/bias"))?;
        let mut out = conv2d(x, filters4(filters.view())?, Some(bias), stride, padding);
        let scale = self.weights.vector(&format!("{name}/scale/weights"))?;
        let offset = self.weights.vector(&format!("{name}/scale/biases"))?;
        scale_offset(&mut out, scale, offset);
        if with_relu {
            relu(&mut out);
        }
        Ok(out)
    }

    fn residual(&self, x: &Array3<f32>, name: &str) -> Result<Array3<f32>, ModelError> {
        let mut out = self.conv(x, &format!("{name}/conv1"), 1, Padding::Same, true)?;
        out = self.conv(&out, &format!("{name}/conv2"), 1, Padding::Same, false)?;
        out += x;
        relu(&mut out);
        Ok(out)
    }

    /// The down-sampling block: the conv branch at stride 2 ("valid"), the shortcut a
    /// 2×2 average pool zero-padded in channels; when their sizes differ the conv
    /// branch gets one zero row and column at the end.
    fn residual_down(&self, x: &Array3<f32>, name: &str) -> Result<Array3<f32>, ModelError> {
        let mut out = self.conv(x, &format!("{name}/conv1"), 2, Padding::Valid, true)?;
        out = self.conv(&out, &format!("{name}/conv2"), 1, Padding::Same, false)?;
        let pooled = pool2d(x, Pool::Average, 2, 2, Padding::Valid);
        let (ph, pw, pc) = pooled.dim();
        let (oh, ow, oc) = out.dim();
        if (oh, ow) != (ph, pw) {
            let mut grown = Array3::<f32>::zeros((oh + 1, ow + 1, oc));
            for ((y, x, c), v) in out.indexed_iter() {
                if let Some(slot) = grown.get_mut([y, x, c]) {
                    *slot = *v;
                }
            }
            out = grown;
        }
        let (oh, ow, _) = out.dim();
        if (oh, ow) != (ph, pw) || pc > oc {
            return Err(ModelError::Shape {
                name: format!("{name} shortcut"),
                expected: vec![oh, ow, oc],
                actual: vec![ph, pw, pc],
            });
        }
        for ((y, x, c), v) in pooled.indexed_iter() {
            if let Some(slot) = out.get_mut([y, x, c]) {
                *slot += *v;
            }
        }
        relu(&mut out);
        Ok(out)
    }
}

fn check_chip(chip: &[u8]) -> Result<(), ModelError> {
    if chip.len() != CHIP_SIZE * CHIP_SIZE * 3 {
        return Err(ModelError::Shape {
            name: "input chip".into(),
            expected: vec![CHIP_SIZE, CHIP_SIZE, 3],
            actual: vec![chip.len()],
        });
    }
    Ok(())
}

/// One convolution with its bias, scale and offset folded into packed weights.
fn pack(weights: &Weights, name: &str, stride: usize, padding: Padding) -> Result<Conv, ModelError> {
    let filters = weights.tensor(&format!("{name}/conv/filters"))?;
    Ok(Conv::new(
        filters4(filters.view())?,
        Some(weights.vector(&format!("{name}/conv/bias"))?),
        Some((
            weights.vector(&format!("{name}/scale/weights"))?,
            weights.vector(&format!("{name}/scale/biases"))?,
        )),
        stride,
        padding,
    ))
}

/// The down-sampling block's sum: `relu(conv ⊕ pooled)` where the conv branch gets one
/// zero row and column at the end when it is smaller than the pooled shortcut, and the
/// shortcut is zero-padded in channels.
fn shortcut_sum(conv: &Tensor, pooled: &Tensor, out: &mut Tensor, name: &str) -> Result<(), ModelError> {
    let grown = (conv.h, conv.w) != (pooled.h, pooled.w);
    let (h, w) = if grown { (conv.h + 1, conv.w + 1) } else { (conv.h, conv.w) };
    if (h, w) != (pooled.h, pooled.w) || pooled.c > conv.c {
        return Err(ModelError::Shape {
            name: format!("{name} shortcut"),
            expected: vec![h, w, conv.c],
            actual: vec![pooled.h, pooled.w, pooled.c],
        });
    }
    let c = conv.c;
    *out = Tensor { h, w, c, data: vec![0.0; h * w * c] };
    for (p, (dst, short)) in
        out.data.chunks_exact_mut(c.max(1)).zip(pooled.data.chunks_exact(pooled.c.max(1))).enumerate()
    {
        let (y, x) = (p / w.max(1), p % w.max(1));
        if y < conv.h && x < conv.w {
            let at = (y * conv.w + x) * c;
            if let Some(src) = conv.data.get(at..at + c) {
                dst.copy_from_slice(src);
            }
        }
        kernels::add(dst, short);
        kernels::relu(dst);
    }
    Ok(())
}

fn check_conv(weights: &Weights, name: &str, k: usize, cin: usize, cout: usize) -> Result<(), ModelError> {
    weights.get(&format!("{name}/conv/filters"), &[k, k, cin, cout])?;
    for part in ["conv/bias", "scale/weights", "scale/biases"] {
        weights.get(&format!("{name}/{part}"), &[cout])?;
    }
    Ok(())
}
