//! 68-point facial landmarks: face-api's `FaceLandmark68Net` (four dense blocks of
//! depthwise-separable convolutions, 112×112 input, a fully connected layer to 136
//! coordinates) as distributed in `@vladmandic/face-api`. The input is the detection
//! box clipped to the photo, padded to a centred square with black, resized to 112×112.
//!
//! Point numbering is the iBUG 300-W scheme: jaw 0–16, eyebrows 17–26, nose 27–35,
//! eyes 36–47 (36–41 on the image's left), mouth 48–67.

use image::RgbImage;
use ndarray::Array3;
use serde::{Deserialize, Serialize};

use crate::geometry::{FaceBox, Point};
use crate::kernels::{self, Activation, Conv, Depthwise, Tensor};
use crate::ops::{Padding, Pool, conv2d, filters4, fully_connected, pool2d, relu, separable_conv2d};
use crate::raster::network_input;
use crate::tfjs::{ModelError, Weights};

const INPUT: usize = 112;
const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];
/// (block, input channels, output channels).
const BLOCKS: [(&str, usize, usize); 4] =
    [("dense0", 3, 32), ("dense1", 32, 64), ("dense2", 64, 128), ("dense3", 128, 256)];

/// The 68 landmarks of one face, in photo pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Landmarks {
    /// Points 0–67.
    pub points: Vec<Point>,
}

impl Landmarks {
    fn centre(&self, range: std::ops::Range<usize>) -> Point {
        Point::mean(self.points.get(range).unwrap_or(&[]))
    }

    /// Centre of the eye on the image's left (points 36–41).
    pub fn left_eye(&self) -> Point {
        self.centre(36..42)
    }

    /// Centre of the eye on the image's right (points 42–47).
    pub fn right_eye(&self) -> Point {
        self.centre(42..48)
    }

    /// Centre of the mouth (points 48–67).
    pub fn mouth(&self) -> Point {
        self.centre(48..68)
    }

    /// Point `i` (the origin if out of range).
    pub fn at(&self, i: usize) -> Point {
        self.points.get(i).copied().unwrap_or_default()
    }

    /// Distance between the eye centres.
    pub fn inter_eye_distance(&self) -> f32 {
        self.left_eye().distance(self.right_eye())
    }

    /// Roll in degrees: the tilt of the eye line (positive when the right eye is lower).
    pub fn roll_degrees(&self) -> f32 {
        let (l, r) = (self.left_eye(), self.right_eye());
        (r.y - l.y).atan2(r.x - l.x).to_degrees()
    }

    /// The landmarks' bounding box.
    pub fn bounds(&self) -> FaceBox {
        let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
        for p in &self.points {
            (x0, y0, x1, y1) = (x0.min(p.x), y0.min(p.y), x1.max(p.x), y1.max(p.y));
        }
        if self.points.is_empty() {
            return FaceBox::default();
        }
        FaceBox { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }
    }
}

/// The landmark network with checked weights, packed for the fast path.
#[derive(Clone, Debug)]
pub struct LandmarkNet {
    weights: Weights,
    /// Per dense block: the down-sampling convolution (plain in the first block,
    /// separable after), then three separable convolutions.
    blocks: Vec<[Layer; 4]>,
}

/// One convolution of a dense block.
#[derive(Clone, Debug)]
struct Layer {
    depthwise: Option<Depthwise>,
    conv: Conv,
}

impl LandmarkNet {
    /// Wraps loaded weights after checking every tensor's presence and shape.
    pub fn new(weights: Weights) -> Result<LandmarkNet, ModelError> {
        for (i, (block, cin, cout)) in BLOCKS.into_iter().enumerate() {
            if i == 0 {
                weights.get(&format!("{block}/conv0/filters"), &[3, 3, cin, cout])?;
                weights.get(&format!("{block}/conv0/bias"), &[cout])?;
            }
            for conv in if i == 0 { 1..4 } else { 0..4 } {
                let c_in = if conv == 0 { cin } else { cout };
                weights.get(&format!("{block}/conv{conv}/depthwise_filter"), &[3, 3, c_in, 1])?;
                weights.get(&format!("{block}/conv{conv}/pointwise_filter"), &[1, 1, c_in, cout])?;
                weights.get(&format!("{block}/conv{conv}/bias"), &[cout])?;
            }
        }
        weights.get("fc/weights", &[256, 136])?;
        weights.get("fc/bias", &[136])?;
        let layer = |name: String, first: bool, stride: usize| -> Result<Layer, ModelError> {
            let bias = Some(weights.vector(&format!("{name}/bias"))?);
            if first {
                let filters = weights.tensor(&format!("{name}/filters"))?;
                let conv = Conv::new(filters4(filters.view())?, bias, None, stride, Padding::Same);
                return Ok(Layer { depthwise: None, conv });
            }
            let depthwise = weights.tensor(&format!("{name}/depthwise_filter"))?;
            let pointwise = weights.tensor(&format!("{name}/pointwise_filter"))?;
            Ok(Layer {
                depthwise: Some(Depthwise::new(filters4(depthwise.view())?, stride, Padding::Same)),
                conv: Conv::new(filters4(pointwise.view())?, bias, None, 1, Padding::Valid),
            })
        };
        let mut blocks = Vec::with_capacity(BLOCKS.len());
        for (i, (block, _, _)) in BLOCKS.into_iter().enumerate() {
            blocks.push([
                layer(format!("{block}/conv0"), i == 0, 2)?,
                layer(format!("{block}/conv1"), false, 1)?,
                layer(format!("{block}/conv2"), false, 1)?,
                layer(format!("{block}/conv3"), false, 1)?,
            ]);
        }
        Ok(LandmarkNet { weights, blocks })
    }

    /// The landmarks of the face in `face` (a detection box) of `image`.
    pub fn locate(&self, image: &RgbImage, face: &FaceBox) -> Result<Landmarks, ModelError> {
        self.locate_with(image, face, false)
    }

    /// [`locate`](Self::locate) through the previous implementation (im2col +
    /// `ndarray`'s matrix multiply, separate passes): the baseline the fast path is
    /// tested and benchmarked against.
    pub fn locate_reference(&self, image: &RgbImage, face: &FaceBox) -> Result<Landmarks, ModelError> {
        self.locate_with(image, face, true)
    }

    fn locate_with(
        &self,
        image: &RgbImage,
        face: &FaceBox,
        reference: bool,
    ) -> Result<Landmarks, ModelError> {
        let Some(region) = face.clip(image.width(), image.height()) else {
            return Err(ModelError::Manifest("the face box lies outside the photo".to_owned()));
        };
        let (input, square) = network_input(image, region, INPUT, true, MEAN_RGB);
        let flat: ndarray::Array1<f32> = if reference {
            let mut out = input;
            for (i, (block, _, _)) in BLOCKS.into_iter().enumerate() {
                out = self.dense_block(&out, block, i == 0)?;
            }
            pool2d(&out, Pool::Average, 7, 2, Padding::Valid).iter().copied().collect()
        } else {
            self.features(Tensor::from_owned(input))?.into()
        };
        let coords = fully_connected(
            flat.view(),
            self.weights.matrix("fc/weights")?,
            Some(self.weights.vector("fc/bias")?),
        );
        // Network output: positions relative to the padded square.
        let side = square.side as f32;
        let points = coords
            .as_slice()
            .unwrap_or(&[])
            .chunks_exact(2)
            .map(|xy| {
                let (x, y) = (xy.first().copied().unwrap_or(0.0), xy.get(1).copied().unwrap_or(0.0));
                Point::new(
                    region.0 as f32 + x * side - square.pad_x as f32,
                    region.1 as f32 + y * side - square.pad_y as f32,
                )
            })
            .collect();
        Ok(Landmarks { points })
    }

    /// The fast path up to the fully connected layer: the dense blocks and the final
    /// average pool.
    fn features(&self, mut x: Tensor) -> Result<Vec<f32>, ModelError> {
        let (mut spread, mut out, mut sum, mut scratch) =
            (Tensor::default(), Tensor::default(), Tensor::default(), Vec::new());
        for layers in &self.blocks {
            let mut running = Tensor::default();
            for (i, layer) in layers.iter().enumerate() {
                let input = if i == 0 { &x } else { &sum };
                let activation = if i == 0 { Activation::Relu } else { Activation::Identity };
                match &layer.depthwise {
                    Some(dw) => {
                        dw.forward(input, &mut spread)?;
                        layer.conv.forward(&spread, None, activation, &mut out, &mut scratch)?;
                    }
                    None => layer.conv.forward(input, None, activation, &mut out, &mut scratch)?,
                }
                // The running sum of the block's outputs, fed through a ReLU.
                if i == 0 {
                    std::mem::swap(&mut running, &mut out);
                } else {
                    kernels::add(&mut running.data, &out.data);
                }
                sum.clone_from(&running);
                kernels::relu(&mut sum.data);
            }
            std::mem::swap(&mut x, &mut sum);
        }
        let mut pooled = Tensor::default();
        kernels::pool(&x, Pool::Average, 7, 2, Padding::Valid, &mut pooled);
        Ok(pooled.data)
    }

    fn sep(&self, x: &Array3<f32>, name: &str, stride: usize) -> Result<Array3<f32>, ModelError> {
        let w = &self.weights;
        Ok(separable_conv2d(
            x,
            filters4(w.tensor(&format!("{name}/depthwise_filter"))?.view())?,
            filters4(w.tensor(&format!("{name}/pointwise_filter"))?.view())?,
            w.vector(&format!("{name}/bias"))?,
            stride,
            Padding::Same,
        ))
    }

    /// face-api's `denseBlock4`: a down-sampling convolution, then three separable
    /// convolutions each fed the ReLU of the sum of everything before it.
    fn dense_block(&self, x: &Array3<f32>, block: &str, first: bool) -> Result<Array3<f32>, ModelError> {
        let w = &self.weights;
        let mut out1 = if first {
            conv2d(
                x,
                filters4(w.tensor(&format!("{block}/conv0/filters"))?.view())?,
                Some(w.vector(&format!("{block}/conv0/bias"))?),
                2,
                Padding::Same,
            )
        } else {
            self.sep(x, &format!("{block}/conv0"), 2)?
        };
        relu(&mut out1);
        let out2 = self.sep(&out1, &format!("{block}/conv1"), 1)?;
        let mut sum = &out1 + &out2;
        relu(&mut sum);
        let out3 = self.sep(&sum, &format!("{block}/conv2"), 1)?;
        let mut sum = &out1 + &out2 + &out3;
        relu(&mut sum);
        let out4 = self.sep(&sum, &format!("{block}/conv3"), 1)?;
        let mut sum = &out1 + &out2 + &out3 + &out4;
        relu(&mut sum);
        Ok(sum)
    }
}
