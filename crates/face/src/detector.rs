//! Face detection: face-api's tiny face detector (a tiny-YOLOv2 with depthwise-separable
//! convolutions, five anchors, one class) as distributed in `@vladmandic/face-api`.
//! The photo is padded to a square with black (right/bottom), resized to the input size
//! (416 by default), normalised with the detector's mean; boxes are decoded from the
//! 13×13 grid, filtered by score and merged by non-maximum suppression (IoU 0.4).
//!
//! Why this detector: it ships in the same pinned package as the landmark and
//! descriptor networks (one format, one loader, one licence), finds exactly one face in
//! each face test photo and none in non-face images (`tests/pipeline.rs`), and costs a
//! few milliseconds on the CPU.

use image::RgbImage;
use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::geometry::FaceBox;
use crate::kernels::{self, Activation, Conv, Depthwise, Tensor};
use crate::ops::{Padding, Pool, conv2d, filters4, leaky_relu, pool2d, separable_conv2d};
use crate::raster::network_input;
use crate::tfjs::{ModelError, Weights};

const MEAN_RGB: [f32; 3] = [117.001, 114.697, 97.404];
/// Anchor sizes in grid cells (width, height).
const ANCHORS: [(f32, f32); 5] = [
    (1.603231, 2.094468),
    (6.041143, 7.080126),
    (2.882459, 3.518061),
    (4.266906, 5.178857),
    (9.041765, 10.66308),
];
const IOU_THRESHOLD: f32 = 0.4;
/// (layer, input channels, output channels) of the separable layers.
const LAYERS: [(&str, usize, usize); 5] =
    [("conv1", 16, 32), ("conv2", 32, 64), ("conv3", 64, 128), ("conv4", 128, 256), ("conv5", 256, 512)];

/// One detected face.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// Where, in photo pixels.
    pub bbox: FaceBox,
    /// The detector's confidence in (0, 1).
    pub score: f32,
}

/// The detector with checked weights, packed for the fast path.
#[derive(Clone, Debug)]
pub struct FaceDetector {
    weights: Weights,
    conv0: Conv,
    /// Per separable layer: depthwise, then pointwise with bias.
    layers: Vec<(Depthwise, Conv)>,
    conv8: Conv,
    input_size: usize,
    min_score: f32,
}

impl FaceDetector {
    /// Default network input side.
    pub const DEFAULT_INPUT_SIZE: usize = 416;
    /// Default minimum score.
    pub const DEFAULT_MIN_SCORE: f32 = 0.3;

    /// Wraps loaded weights after checking every tensor's presence and shape.
    pub fn new(weights: Weights) -> Result<FaceDetector, ModelError> {
        weights.get("conv0/filters", &[3, 3, 3, 16])?;
        weights.get("conv0/bias", &[16])?;
        for (name, cin, cout) in LAYERS {
            weights.get(&format!("{name}/depthwise_filter"), &[3, 3, cin, 1])?;
            weights.get(&format!("{name}/pointwise_filter"), &[1, 1, cin, cout])?;
            weights.get(&format!("{name}/bias"), &[cout])?;
        }
        weights.get("conv8/filters", &[1, 1, 512, ANCHORS.len() * 5])?;
        weights.get("conv8/bias", &[ANCHORS.len() * 5])?;
        let conv = |name: &str| -> Result<Conv, ModelError> {
            let filters = weights.tensor(&format!("{name}/filters"))?;
            Ok(Conv::new(
                filters4(filters.view())?,
                Some(weights.vector(&format!("{name}/bias"))?),
                None,
                1,
                Padding::Valid,
            ))
        };
        let (conv0, conv8) = (conv("conv0")?, conv("conv8")?);
        let mut layers = Vec::with_capacity(LAYERS.len());
        for (name, _, _) in LAYERS {
            let depthwise = weights.tensor(&format!("{name}/depthwise_filter"))?;
            let pointwise = weights.tensor(&format!("{name}/pointwise_filter"))?;
            layers.push((
                Depthwise::new(filters4(depthwise.view())?, 1, Padding::Same),
                Conv::new(
                    filters4(pointwise.view())?,
                    Some(weights.vector(&format!("{name}/bias"))?),
                    None,
                    1,
                    Padding::Valid,
                ),
            ));
        }
        Ok(FaceDetector {
            weights,
            conv0,
            layers,
            conv8,
            input_size: Self::DEFAULT_INPUT_SIZE,
            min_score: Self::DEFAULT_MIN_SCORE,
        })
    }

    /// Uses another input side (rounded to a multiple of 32 in 128..=608): smaller is
    /// faster and misses small faces.
    pub fn with_input_size(mut self, size: usize) -> FaceDetector {
        self.input_size = (size.clamp(128, 608) / 32) * 32;
        self
    }

    /// Uses another minimum score in (0, 1).
    pub fn with_min_score(mut self, score: f32) -> FaceDetector {
        self.min_score = score.clamp(0.01, 0.99);
        self
    }

    /// The faces in `image`, best first.
    pub fn detect(&self, image: &RgbImage) -> Result<Vec<Detection>, ModelError> {
        self.detect_with(image, false)
    }

    /// [`detect`](Self::detect) through the previous implementation (im2col +
    /// `ndarray`'s matrix multiply, separate passes): the baseline the fast path is
    /// tested and benchmarked against.
    pub fn detect_reference(&self, image: &RgbImage) -> Result<Vec<Detection>, ModelError> {
        self.detect_with(image, true)
    }

    fn detect_with(&self, image: &RgbImage, reference: bool) -> Result<Vec<Detection>, ModelError> {
        let (w, h) = image.dimensions();
        if w == 0 || h == 0 {
            return Ok(Vec::new());
        }
        let (input, square) = network_input(image, (0, 0, w, h), self.input_size, false, MEAN_RGB);
        let grid = if reference { self.forward(&input)? } else { self.forward_fast(input)? };
        let side = square.side as f32;
        let (cells, _, _) = grid.dim();
        let n = cells as f32;
        let mut found = Vec::new();
        for row in 0..cells {
            for col in 0..cells {
                for (a, &(aw, ah)) in ANCHORS.iter().enumerate() {
                    let v = |k: usize| grid.get([row, col, a * 5 + k]).copied().unwrap_or(0.0);
                    let score = sigmoid(v(4));
                    if score <= self.min_score {
                        continue;
                    }
                    let cx = (col as f32 + sigmoid(v(0))) / n;
                    let cy = (row as f32 + sigmoid(v(1))) / n;
                    let bw = v(2).exp() * aw / n;
                    let bh = v(3).exp() * ah / n;
                    let bbox = FaceBox {
                        x: (cx - bw / 2.0) * side,
                        y: (cy - bh / 2.0) * side,
                        width: bw * side,
                        height: bh * side,
                    };
                    found.push(Detection { bbox, score });
                }
            }
        }
        Ok(non_max_suppression(found, IOU_THRESHOLD))
    }

    fn forward_fast(&self, input: Array3<f32>) -> Result<Array3<f32>, ModelError> {
        let (mut a, mut b, mut band, mut scratch) =
            (Tensor::default(), Tensor::default(), Default::default(), Vec::new());
        let input = Tensor::from_owned(input);
        kernels::conv_max_pooled(
            &input,
            None,
            &self.conv0,
            Activation::Leaky,
            &mut a,
            &mut band,
            &mut scratch,
        )?;
        let Some(((last_dw, last_pw), pooled)) = self.layers.split_last() else {
            return Err(ModelError::Missing("conv5".into()));
        };
        for (depthwise, pointwise) in pooled {
            kernels::conv_max_pooled(
                &a,
                Some(depthwise),
                pointwise,
                Activation::Leaky,
                &mut b,
                &mut band,
                &mut scratch,
            )?;
            std::mem::swap(&mut a, &mut b);
        }
        last_dw.forward(&a, &mut b)?;
        last_pw.forward(&b, None, Activation::Leaky, &mut a, &mut scratch)?;
        kernels::pool(&a, Pool::Max, 2, 1, Padding::Same, &mut b);
        self.conv8.forward(&b, None, Activation::Identity, &mut a, &mut scratch)?;
        Ok(a.into_array())
    }

    fn forward(&self, input: &Array3<f32>) -> Result<Array3<f32>, ModelError> {
        let w = &self.weights;
        let mut out = conv2d(
            input,
            filters4(w.tensor("conv0/filters")?.view())?,
            Some(w.vector("conv0/bias")?),
            1,
            Padding::Valid,
        );
        leaky_relu(&mut out);
        for (name, _, _) in LAYERS {
            out = pool2d(&out, Pool::Max, 2, 2, Padding::Same);
            out = separable_conv2d(
                &out,
                filters4(w.tensor(&format!("{name}/depthwise_filter"))?.view())?,
                filters4(w.tensor(&format!("{name}/pointwise_filter"))?.view())?,
                w.vector(&format!("{name}/bias"))?,
                1,
                Padding::Same,
            );
            leaky_relu(&mut out);
        }
        out = pool2d(&out, Pool::Max, 2, 1, Padding::Same);
        Ok(conv2d(
            &out,
            filters4(w.tensor("conv8/filters")?.view())?,
            Some(w.vector("conv8/bias")?),
            1,
            Padding::Valid,
        ))
    }
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Keeps the best-scoring boxes, dropping any that overlap a kept one by more than
/// `iou`.
fn non_max_suppression(mut found: Vec<Detection>, iou: f32) -> Vec<Detection> {
    found.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<Detection> = Vec::new();
    for d in found {
        if kept.iter().all(|k| k.bbox.iou(&d.bbox) <= iou) {
            kept.push(d);
        }
    }
    kept
}
