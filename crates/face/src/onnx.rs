//! An operator-supplied presentation-attack model in ONNX (feature `onnx`), run by
//! tract-onnx (pure Rust): model bytes and an [`OnnxPadConfig`] in, a [`PadModel`] out.
//! The config describes what the model expects — the crop around the landmarks, its
//! size, the channel order, the layout (NCHW, or NHWC for TensorFlow-converted models),
//! the normalisation, which output and class mean "live", and how that output becomes
//! one probability: a softmax over logits, a probability read as it is, or the sigmoid
//! of the output's largest value (a detector's per-anchor logits, see
//! [`OutputKind::MaxSigmoid`]).
//!
//! Owns: vetting the bytes, loading the model, the crop, the input tensor and the
//! score. May not touch: files, the network or the clock. A model that refers to
//! external data (a file beside it) is refused, so loading reads nothing but the bytes.
//!
//! Errors, never panics: a model over [`MAX_MODEL_BYTES`], bytes that are not an ONNX
//! model, a model whose declared input disagrees with the config (batch 1, 3 channels,
//! `height × width`, NCHW or NHWC as configured), or whose chosen output has no such
//! class, is refused by [`OnnxPad::from_bytes`] with an [`OnnxPadError`].
//!
//! Every tensor shape in the model is hostile input. The shapes that `ConstantOfShape`
//! and `Expand` nodes take from the model's constants are checked in the protobuf,
//! before tract folds them while loading; once the input is fixed, every intermediate
//! and output shape must be known and hold at most 16 Mi values (64 MiB of `f32`).
//! Either way the refusal is [`OnnxPadError::TensorShape`], so a loaded model cannot
//! make a run allocate without bound. Not covered: other constant subgraphs tract folds
//! while loading (a `Tile` or `Resize` of a constant) run before the second check — load
//! models from untrusted sources in a process with a memory limit.
//!
//! At run time [`OnnxPad::live_probability`] returns a typed error for an empty or
//! degenerate landmark set and for a non-finite output (NaN, ±∞); [`PadModel::assess`]
//! turns every run-time error into the **denying** assessment (`score` 1, `attack`
//! true), never into a pass. tract is guarded with `catch_unwind` too: a panic inside it
//! becomes [`OnnxPadError::Panicked`].
//!
//! One ONNX rule is written out before tract sees the graph: a `ConstantOfShape` without
//! a `value` makes float32 zeros (tract-onnx 0.23.9 reads it as `f64` and then refuses
//! tf2onnx's channel padding, as in BlazeFace).

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use image::RgbImage;
use prost::Message;
use serde::{Deserialize, Serialize};
use tract_onnx::pb;
use tract_onnx::prelude::{
    Datum, Framework, InferenceFact, InferenceModelExt, IntoRunnable, Tensor, TypedRunnableModel, tvec,
};

use crate::attack::{AttackAssessment, PadModel};
use crate::landmarks::Landmarks;

/// The largest model accepted, 64 MiB: the public PAD models run 0.5–20 MB (MiniFASNet
/// about 1.7 MB); a bigger blob is refused before it is parsed.
pub const MAX_MODEL_BYTES: usize = 64 * 1024 * 1024;

/// The largest crop side accepted, in pixels.
pub const MAX_INPUT_SIDE: u32 = 1024;

/// The most values any tensor of a loaded model may hold (16 Mi, 64 MiB of `f32`).
const MAX_TENSOR_VALUES: usize = 16 << 20;

/// The channel order the model expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelOrder {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red (OpenCV-trained models).
    Bgr,
}

/// What the chosen output holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputKind {
    /// Unnormalised scores: a softmax over the output's values is taken.
    Logits,
    /// Probabilities, used as they are (clamped to [0, 1]).
    Probabilities,
    /// Independent logits, one per anchor or region — a detector's per-anchor class
    /// scores: P(live) is the sigmoid of the output's largest value (`live_class` must be
    /// 0). The sigmoid is monotonic, so this is the highest per-anchor probability.
    #[serde(rename = "max_sigmoid")]
    MaxSigmoid,
}

/// The crop around the face.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CropConfig {
    /// The landmarks' bounding box is scaled by this about its centre (MiniFASNet:
    /// 2.7 or 4.0), then widened on one side to the output's aspect ratio.
    pub scale: f32,
    /// Model input width in pixels.
    pub width: u32,
    /// Model input height in pixels.
    pub height: u32,
}

/// Per-channel normalisation, in the model's channel order: a pixel `p` in 0–255
/// becomes `(p · scale − mean[c]) / std[c]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalisation {
    /// Applied first (1/255 for models trained on 0–1, 1 for 0–255).
    pub scale: f32,
    /// Subtracted per channel.
    pub mean: [f32; 3],
    /// Divided by per channel (non-zero).
    pub std: [f32; 3],
}

/// Which output and class is "live".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Index of the model output to read.
    pub index: usize,
    /// Index of the bona fide ("live") class in that output's values (0 with
    /// [`OutputKind::MaxSigmoid`], which reads all of them).
    pub live_class: usize,
    /// How the output becomes P(live).
    pub kind: OutputKind,
}

/// What an ONNX PAD model expects: one input, batch 1 and 3 channels, NCHW
/// (`[1, 3, height, width]`) unless `channels_last`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnnxPadConfig {
    /// The model's name, reported in [`AttackAssessment::model`].
    pub name: String,
    /// Whether the model was evaluated to ISO/IEC 30107-3 (the operator's claim).
    pub evaluated_pad: bool,
    /// The crop.
    pub crop: CropConfig,
    /// The channel order.
    pub channels: ChannelOrder,
    /// `false` (the default when deserialising): the input is NCHW, `[1, 3, height,
    /// width]`, as PyTorch exports it. `true`: NHWC, `[1, height, width, 3]`, as
    /// TensorFlow-converted models (tf2onnx, e.g. MediaPipe's BlazeFace) expect.
    #[serde(default)]
    pub channels_last: bool,
    /// The normalisation.
    pub normalisation: Normalisation,
    /// The output.
    pub output: OutputConfig,
    /// Attack score (1 − P(live)) at or above which `attack` is set.
    pub threshold: f64,
}

/// Why a model was refused or a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OnnxPadError {
    /// The model is larger than [`MAX_MODEL_BYTES`].
    #[error("model is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The config is unusable.
    #[error("invalid ONNX PAD config: {0}")]
    Config(&'static str),
    /// The bytes are not an ONNX model protobuf.
    #[error("not an ONNX model: {0}")]
    Decode(String),
    /// The model refers to external data files.
    #[error("model refers to external data, which is not loaded")]
    ExternalData,
    /// The model's declared input disagrees with the config.
    #[error("model input is {found}, the config says {:?}", input_shape(*.channels_last, *.height, *.width))]
    InputShape {
        /// The declared shape.
        found: String,
        /// The config's height.
        height: u32,
        /// The config's width.
        width: u32,
        /// The config's layout (NHWC when true).
        channels_last: bool,
    },
    /// A tensor of the model, with the input fixed, has an unknown shape or more values
    /// than a run may allocate (16 Mi).
    #[error("tensor {node} has shape {shape}: unknown or over the {max}-value limit")]
    TensorShape {
        /// The node producing it.
        node: String,
        /// Its shape, as tract states it.
        shape: String,
        /// The limit.
        max: usize,
    },
    /// tract refused the model (unsupported op, inconsistent shapes, …).
    #[error("model rejected: {0}")]
    Model(String),
    /// The configured output does not exist or lacks the live class.
    #[error("output {index} (class {class}) not found: {detail}")]
    Output {
        /// The configured output index.
        index: usize,
        /// The configured live class.
        class: usize,
        /// What was found instead.
        detail: String,
    },
    /// The landmarks give no usable crop.
    #[error("no usable face box in the landmarks")]
    NoFace,
    /// Inference failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// The output was NaN or infinite.
    #[error("model output is not finite")]
    NonFinite,
    /// tract panicked; the panic was caught.
    #[error("the ONNX runtime panicked")]
    Panicked,
}

/// An ONNX presentation-attack model, ready to run.
pub struct OnnxPad {
    config: OnnxPadConfig,
    plan: std::sync::Arc<TypedRunnableModel>,
    model_bytes: usize,
}

impl std::fmt::Debug for OnnxPad {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxPad")
            .field("config", &self.config)
            .field("model_bytes", &self.model_bytes)
            .finish_non_exhaustive()
    }
}

impl OnnxPadConfig {
    fn validate(&self) -> Result<(), OnnxPadError> {
        let c = &self.crop;
        if !(c.scale.is_finite() && c.scale > 0.0 && c.scale <= 16.0) {
            return Err(OnnxPadError::Config("crop.scale must be in (0, 16]"));
        }
        if !(1..=MAX_INPUT_SIDE).contains(&c.width) || !(1..=MAX_INPUT_SIDE).contains(&c.height) {
            return Err(OnnxPadError::Config("crop.width and crop.height must be in 1..=1024"));
        }
        let n = &self.normalisation;
        if !n.scale.is_finite() || n.mean.iter().any(|m| !m.is_finite()) {
            return Err(OnnxPadError::Config("normalisation scale and mean must be finite"));
        }
        if n.std.iter().any(|s| !s.is_finite() || *s == 0.0) {
            return Err(OnnxPadError::Config("normalisation std must be finite and non-zero"));
        }
        if !(0.0..=1.0).contains(&self.threshold) {
            return Err(OnnxPadError::Config("threshold must be in [0, 1]"));
        }
        if self.output.kind == OutputKind::MaxSigmoid && self.output.live_class != 0 {
            return Err(OnnxPadError::Config("output.live_class must be 0 with kind max_sigmoid"));
        }
        Ok(())
    }
}

/// Whether any tensor of `graph` (or of a subgraph in its attributes) lives in a file.
fn uses_external_data(graph: &pb::GraphProto, depth: usize) -> bool {
    const EXTERNAL: i32 = pb::tensor_proto::DataLocation::External as i32;
    let external = |t: &pb::TensorProto| t.data_location == Some(EXTERNAL) || !t.external_data.is_empty();
    if depth > 32 {
        return true;
    }
    graph.initializer.iter().any(external)
        || graph.node.iter().flat_map(|n| &n.attribute).any(|a| {
            a.t.as_ref().is_some_and(external)
                || a.tensors.iter().any(external)
                || a.g.as_ref().is_some_and(|g| uses_external_data(g, depth + 1))
                || a.graphs.iter().any(|g| uses_external_data(g, depth + 1))
        })
}

/// The values of an `int64` tensor stored in the model (`int64_data` or little-endian
/// `raw_data`); `None` for any other type.
fn int64_values(t: &pb::TensorProto) -> Option<Vec<i64>> {
    if t.data_type != pb::tensor_proto::DataType::Int64 as i32 {
        return None;
    }
    if !t.int64_data.is_empty() {
        return Some(t.int64_data.clone());
    }
    let chunks = t.raw_data.chunks_exact(8);
    let whole = chunks.remainder().is_empty();
    let values = chunks.filter_map(|c| c.try_into().ok().map(i64::from_le_bytes)).collect();
    whole.then_some(values)
}

/// Refuses `ConstantOfShape` and `Expand` nodes whose output shape is a constant of the
/// model over [`MAX_TENSOR_VALUES`] values (or has a negative dimension): tract folds
/// constants while it loads, before the shapes can be checked, so such a node would
/// allocate at load time.
fn check_constant_shapes(graph: &pb::GraphProto) -> Result<(), OnnxPadError> {
    let constants: std::collections::BTreeMap<&str, &pb::TensorProto> = graph
        .initializer
        .iter()
        .map(|t| (t.name.as_str(), t))
        .chain(graph.node.iter().filter(|n| n.op_type == "Constant").filter_map(|n| {
            let value = n.attribute.iter().find(|a| a.name == "value").and_then(|a| a.t.as_ref());
            n.output.first().map(String::as_str).zip(value)
        }))
        .collect();
    for node in &graph.node {
        let shape = match node.op_type.as_str() {
            "ConstantOfShape" => node.input.first(),
            "Expand" => node.input.get(1),
            _ => None,
        };
        let Some(dims) = shape.and_then(|name| constants.get(name.as_str())).and_then(|t| int64_values(t))
        else {
            continue;
        };
        let values =
            dims.iter().try_fold(1usize, |acc, d| usize::try_from(*d).ok().and_then(|d| acc.checked_mul(d)));
        if values.is_none_or(|v| v > MAX_TENSOR_VALUES) {
            let (node, shape) = (node.name.clone(), format!("{dims:?}"));
            return Err(OnnxPadError::TensorShape { node, shape, max: MAX_TENSOR_VALUES });
        }
    }
    Ok(())
}

/// Writes out ONNX's default for `ConstantOfShape` nodes that leave their `value`
/// attribute unset — "a tensor of value 0 and datatype float32" (onnx.proto's operator
/// spec) — in `graph` and its subgraphs. tract-onnx 0.23.9 takes an `f64` zero instead,
/// and then refuses models that concatenate that constant with `f32` activations, as
/// tf2onnx writes TensorFlow's channel padding (BlazeFace). Nothing else is changed.
fn spell_out_defaults(graph: &mut pb::GraphProto, depth: usize) {
    if depth > 32 {
        return;
    }
    for node in &mut graph.node {
        if node.op_type == "ConstantOfShape"
            && matches!(node.domain.as_str(), "" | "ai.onnx")
            && !node.attribute.iter().any(|a| a.name == "value")
        {
            let zero = pb::TensorProto {
                dims: vec![1],
                data_type: pb::tensor_proto::DataType::Float as i32,
                float_data: vec![0.0],
                ..Default::default()
            };
            node.attribute.push(pb::AttributeProto {
                name: "value".into(),
                r#type: pb::attribute_proto::AttributeType::Tensor as i32,
                t: Some(zero),
                ..Default::default()
            });
        }
        for attribute in &mut node.attribute {
            for sub in attribute.g.iter_mut().chain(attribute.graphs.iter_mut()) {
                spell_out_defaults(sub, depth + 1);
            }
        }
    }
}

/// Runs `f`, turning a panic into [`OnnxPadError::Panicked`].
fn guarded<T>(f: impl FnOnce() -> Result<T, OnnxPadError>) -> Result<T, OnnxPadError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(Err(OnnxPadError::Panicked))
}

/// The input shape the config describes.
fn input_shape(channels_last: bool, height: u32, width: u32) -> [usize; 4] {
    let (h, w) = (height as usize, width as usize);
    if channels_last { [1, h, w, 3] } else { [1, 3, h, w] }
}

/// The number of values of a shape, `None` on overflow.
fn volume(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |acc, d| acc.checked_mul(*d))
}

/// The declared input shape when every dimension is a known number.
fn declared_shape(fact: &InferenceFact) -> Option<Vec<usize>> {
    fact.shape.as_concrete_finite().ok().flatten().map(|d| d.to_vec())
}

impl OnnxPad {
    /// Vets and loads `model_bytes` as described by `config`. See the module
    /// documentation for what is refused.
    pub fn from_bytes(model_bytes: &[u8], config: OnnxPadConfig) -> Result<OnnxPad, OnnxPadError> {
        if model_bytes.len() > MAX_MODEL_BYTES {
            return Err(OnnxPadError::TooLarge { len: model_bytes.len(), max: MAX_MODEL_BYTES });
        }
        config.validate()?;
        let mut proto =
            pb::ModelProto::decode(model_bytes).map_err(|e| OnnxPadError::Decode(e.to_string()))?;
        let graph = proto.graph.as_mut().ok_or_else(|| OnnxPadError::Decode("no graph".into()))?;
        if uses_external_data(graph, 0) {
            return Err(OnnxPadError::ExternalData);
        }
        check_constant_shapes(graph)?;
        spell_out_defaults(graph, 0);
        let (w, h, last) = (config.crop.width, config.crop.height, config.channels_last);
        let plan = guarded(|| {
            let model = tract_onnx::onnx()
                .model_for_proto_model(&proto)
                .map_err(|e| OnnxPadError::Model(format!("{e:#}")))?;
            if model.inputs.len() != 1 {
                let found = format!("{} inputs", model.inputs.len());
                return Err(OnnxPadError::InputShape { found, height: h, width: w, channels_last: last });
            }
            let fact = model.input_fact(0).map_err(|e| OnnxPadError::Model(format!("{e:#}")))?;
            let want = input_shape(last, h, w);
            if let Some(found) = declared_shape(fact)
                && found != want
            {
                let found = format!("{found:?}");
                return Err(OnnxPadError::InputShape { found, height: h, width: w, channels_last: last });
            }
            let input = InferenceFact::dt_shape(f32::datum_type(), want);
            let model = model
                .with_input_fact(0, input)
                .and_then(|m| m.into_optimized())
                .map_err(|e| OnnxPadError::Model(format!("{e:#}")))?;
            for node in model.nodes() {
                for output in &node.outputs {
                    let shape = &output.fact.shape;
                    if shape.as_concrete().and_then(volume).is_none_or(|v| v > MAX_TENSOR_VALUES) {
                        let (node, shape) = (node.name.clone(), format!("{shape:?}"));
                        return Err(OnnxPadError::TensorShape { node, shape, max: MAX_TENSOR_VALUES });
                    }
                }
            }
            let (index, class) = (config.output.index, config.output.live_class);
            if index >= model.outputs.len() {
                let detail = format!("{} outputs", model.outputs.len());
                return Err(OnnxPadError::Output { index, class, detail });
            }
            let out = model.output_fact(index).map_err(|e| OnnxPadError::Output {
                index,
                class,
                detail: format!("{e:#}"),
            })?;
            if let Some(volume) = out.shape.as_concrete().and_then(volume)
                && class >= volume
            {
                return Err(OnnxPadError::Output { index, class, detail: format!("{volume} values") });
            }
            model.into_runnable().map_err(|e| OnnxPadError::Model(format!("{e:#}")))
        })?;
        Ok(OnnxPad { config, plan, model_bytes: model_bytes.len() })
    }

    /// The config the model was loaded with.
    pub fn config(&self) -> &OnnxPadConfig {
        &self.config
    }

    /// The model's input tensor for the face with `marks` in `image`: the crop,
    /// resampled bilinearly (sample positions beyond the image take the nearest edge
    /// pixel), reordered and normalised: `3 × height × width` values, channel-major
    /// (the NCHW tensor with batch 1), or pixel-major with `channels_last` (NHWC).
    pub fn input(&self, image: &RgbImage, marks: &Landmarks) -> Result<Vec<f32>, OnnxPadError> {
        let c = &self.config.crop;
        let b = marks.bounds();
        let finite = [b.x, b.y, b.width, b.height].iter().all(|v| v.is_finite());
        if marks.points.is_empty() || !finite || image.width() == 0 || image.height() == 0 {
            return Err(OnnxPadError::NoFace);
        }
        let (ow, oh) = (c.width as usize, c.height as usize);
        let (mut bw, mut bh) = (b.width * c.scale, b.height * c.scale);
        let aspect = c.width as f32 / c.height as f32;
        if bw < bh * aspect {
            bw = bh * aspect;
        } else {
            bh = bw / aspect;
        }
        if !(bw > 0.0 && bh > 0.0 && bw.is_finite() && bh.is_finite()) {
            return Err(OnnxPadError::NoFace);
        }
        let (x0, y0) = (b.x + b.width / 2.0 - bw / 2.0, b.y + b.height / 2.0 - bh / 2.0);
        let (sx, sy) = (bw / ow as f32, bh / oh as f32);
        let n = &self.config.normalisation;
        let order: [usize; 3] = match self.config.channels {
            ChannelOrder::Rgb => [0, 1, 2],
            ChannelOrder::Bgr => [2, 1, 0],
        };
        let (iw, ih) = (image.width() as f32, image.height() as f32);
        let mut data = vec![0.0f32; 3 * ow * oh];
        let plane = ow * oh;
        for j in 0..oh {
            let y = (y0 + (j as f32 + 0.5) * sy - 0.5).clamp(0.0, ih - 1.0);
            let (ya, fy) = (y.floor(), y - y.floor());
            let yb = (ya + 1.0).min(ih - 1.0);
            for i in 0..ow {
                let x = (x0 + (i as f32 + 0.5) * sx - 0.5).clamp(0.0, iw - 1.0);
                let (xa, fx) = (x.floor(), x - x.floor());
                let xb = (xa + 1.0).min(iw - 1.0);
                let px = |xx: f32, yy: f32| image.get_pixel(xx as u32, yy as u32).0;
                let (p00, p10, p01, p11) = (px(xa, ya), px(xb, ya), px(xa, yb), px(xb, yb));
                for (k, &src) in order.iter().enumerate() {
                    let at = |p: [u8; 3]| p.get(src).copied().map_or(0.0, f32::from);
                    let top = at(p00) * (1.0 - fx) + at(p10) * fx;
                    let bottom = at(p01) * (1.0 - fx) + at(p11) * fx;
                    let v = top * (1.0 - fy) + bottom * fy;
                    let (mean, std) = (n.mean.get(k).copied(), n.std.get(k).copied());
                    let index =
                        if self.config.channels_last { (j * ow + i) * 3 + k } else { k * plane + j * ow + i };
                    if let (Some(slot), Some(mean), Some(std)) = (data.get_mut(index), mean, std) {
                        *slot = (v * n.scale - mean) / std;
                    }
                }
            }
        }
        Ok(data)
    }

    /// P(live) in [0, 1] for the face with `marks` in `image`.
    pub fn live_probability(&self, image: &RgbImage, marks: &Landmarks) -> Result<f64, OnnxPadError> {
        let data = self.input(image, marks)?;
        let c = &self.config;
        let input = Tensor::from_shape(&input_shape(c.channels_last, c.crop.height, c.crop.width), &data)
            .map_err(|e| OnnxPadError::Inference(format!("{e:#}")))?;
        let out = self.config.output;
        let values: Vec<f32> = guarded(|| {
            let outputs =
                self.plan.run(tvec!(input.into())).map_err(|e| OnnxPadError::Inference(format!("{e:#}")))?;
            let tensor = outputs.get(out.index).ok_or_else(|| OnnxPadError::Output {
                index: out.index,
                class: out.live_class,
                detail: format!("{} outputs", outputs.len()),
            })?;
            let view =
                tensor.to_plain_array_view::<f32>().map_err(|e| OnnxPadError::Inference(format!("{e:#}")))?;
            Ok(view.iter().copied().collect())
        })?;
        if values.iter().any(|v| !v.is_finite()) {
            return Err(OnnxPadError::NonFinite);
        }
        let live = values.get(out.live_class).copied().ok_or_else(|| OnnxPadError::Output {
            index: out.index,
            class: out.live_class,
            detail: format!("{} values", values.len()),
        })?;
        let p = match out.kind {
            OutputKind::Probabilities => f64::from(live),
            OutputKind::MaxSigmoid => {
                let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                1.0 / (1.0 + (-f64::from(max)).exp())
            }
            OutputKind::Logits => {
                let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let sum: f64 = values.iter().map(|v| f64::from(v - max).exp()).sum();
                f64::from(live - max).exp() / sum
            }
        };
        if !p.is_finite() {
            return Err(OnnxPadError::NonFinite);
        }
        Ok(p.clamp(0.0, 1.0))
    }
}

impl PadModel for OnnxPad {
    /// Attack score `1 − P(live)`; any run-time error gives the denying score 1.
    fn assess(&self, image: &RgbImage, marks: &Landmarks) -> AttackAssessment {
        let score = self.live_probability(image, marks).map_or(1.0, |p| 1.0 - p);
        AttackAssessment {
            score,
            attack: score >= self.config.threshold,
            model: Cow::Owned(self.config.name.clone()),
            evaluated_pad: self.config.evaluated_pad,
            indicators: None,
        }
    }
}
