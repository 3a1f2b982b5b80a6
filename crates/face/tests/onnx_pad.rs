//! `OnnxPad` (feature `onnx`): tiny ONNX models written here with prost (conv → global
//! average pool → flatten → gemm → softmax over 1×3×32×32, fixed weights), so the
//! expected score is computed in closed form: on a face crop of one colour every
//! convolution output is `b + Σ v_c · ΣW`, and the pool leaves it unchanged.
//! The same model channels-last (a Transpose first, as tf2onnx writes it) and read
//! through `max_sigmoid`. Also the hostile inputs: truncated, empty, oversized and
//! garbage bytes, external data, a wrong declared input shape, wrong channel count, a
//! missing class, an intermediate tensor over the size limit, NaN outputs and no
//! landmarks.
#![cfg(feature = "onnx")]
#![allow(clippy::unwrap_used, clippy::indexing_slicing, reason = "tests")]

use image::{Rgb, RgbImage};
use prost::Message;
use shiren_face::{
    ChannelOrder, CropConfig, Landmarks, MAX_MODEL_BYTES, Normalisation, OnnxPad, OnnxPadConfig,
    OnnxPadError, OutputConfig, OutputKind, PadModel, Point,
};

// The ONNX protobuf messages, only the fields these models use (tags from onnx.proto).
// A oneof on the wire is an optional field, so `TypeProto` and `Dimension` are plain.

#[derive(Clone, PartialEq, Message)]
struct ModelProto {
    #[prost(int64, tag = "1")]
    ir_version: i64,
    #[prost(message, optional, tag = "7")]
    graph: Option<GraphProto>,
    #[prost(message, repeated, tag = "8")]
    opset_import: Vec<OperatorSetId>,
}

#[derive(Clone, PartialEq, Message)]
struct OperatorSetId {
    #[prost(string, tag = "1")]
    domain: String,
    #[prost(int64, tag = "2")]
    version: i64,
}

#[derive(Clone, PartialEq, Message)]
struct GraphProto {
    #[prost(message, repeated, tag = "1")]
    node: Vec<NodeProto>,
    #[prost(string, tag = "2")]
    name: String,
    #[prost(message, repeated, tag = "5")]
    initializer: Vec<TensorProto>,
    #[prost(message, repeated, tag = "11")]
    input: Vec<ValueInfo>,
    #[prost(message, repeated, tag = "12")]
    output: Vec<ValueInfo>,
}

#[derive(Clone, PartialEq, Message)]
struct NodeProto {
    #[prost(string, repeated, tag = "1")]
    input: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    output: Vec<String>,
    #[prost(string, tag = "4")]
    op_type: String,
    #[prost(message, repeated, tag = "5")]
    attribute: Vec<Attribute>,
}

#[derive(Clone, PartialEq, Message)]
struct Attribute {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(int64, tag = "3")]
    i: i64,
    #[prost(int64, repeated, tag = "8")]
    ints: Vec<i64>,
    /// 2 = INT, 7 = INTS.
    #[prost(int32, tag = "20")]
    r#type: i32,
}

#[derive(Clone, PartialEq, Message)]
struct TensorProto {
    #[prost(int64, repeated, tag = "1")]
    dims: Vec<i64>,
    /// 1 = FLOAT.
    #[prost(int32, tag = "2")]
    data_type: i32,
    #[prost(float, repeated, tag = "4")]
    float_data: Vec<f32>,
    #[prost(int64, repeated, tag = "7")]
    int64_data: Vec<i64>,
    #[prost(bytes = "vec", tag = "9")]
    raw_data: Vec<u8>,
    #[prost(string, tag = "8")]
    name: String,
    #[prost(message, repeated, tag = "13")]
    external_data: Vec<StringPair>,
    /// 1 = EXTERNAL.
    #[prost(int32, optional, tag = "14")]
    data_location: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
struct StringPair {
    #[prost(string, tag = "1")]
    key: String,
    #[prost(string, tag = "2")]
    value: String,
}

#[derive(Clone, PartialEq, Message)]
struct ValueInfo {
    #[prost(string, tag = "1")]
    name: String,
    #[prost(message, optional, tag = "2")]
    r#type: Option<TypeProto>,
}

#[derive(Clone, PartialEq, Message)]
struct TypeProto {
    #[prost(message, optional, tag = "1")]
    tensor_type: Option<TensorType>,
}

#[derive(Clone, PartialEq, Message)]
struct TensorType {
    #[prost(int32, tag = "1")]
    elem_type: i32,
    #[prost(message, optional, tag = "2")]
    shape: Option<Shape>,
}

#[derive(Clone, PartialEq, Message)]
struct Shape {
    #[prost(message, repeated, tag = "1")]
    dim: Vec<Dim>,
}

#[derive(Clone, PartialEq, Message)]
struct Dim {
    #[prost(int64, optional, tag = "1")]
    dim_value: Option<i64>,
}

/// Convolution output channels.
const K: usize = 4;

/// The fixed weights of the tiny model.
#[derive(Clone)]
struct Weights {
    /// Conv kernels `[K][3][3][3]`, flattened.
    conv: Vec<f32>,
    conv_bias: [f32; K],
    /// Gemm `[2][K]` (used with transB = 1).
    gemm: [[f32; K]; 2],
    gemm_bias: [f32; 2],
}

impl Weights {
    fn fixed() -> Weights {
        let conv = (0..K * 27).map(|n| ((n * 5 + 3) % 11) as f32 * 0.013 - 0.06).collect();
        let conv_bias = [0.1, -0.15, 0.05, 0.2];
        let gemm = [[0.9, -0.6, 0.3, -0.2], [-0.4, 0.7, -0.5, 0.8]];
        Weights { conv, conv_bias, gemm, gemm_bias: [0.05, -0.05] }
    }

    /// The expected softmax of the model on an input whose every pixel is `v` (model
    /// channel order, normalised), computed in f64.
    fn expected_probs(&self, v: [f64; 3]) -> [f64; 2] {
        let logits = self.expected_logits(v);
        let max = logits[0].max(logits[1]);
        let e: Vec<f64> = logits.iter().map(|l| (l - max).exp()).collect();
        [e[0] / (e[0] + e[1]), e[1] / (e[0] + e[1])]
    }

    /// The expected logits (the Gemm's output), computed in f64.
    fn expected_logits(&self, v: [f64; 3]) -> [f64; 2] {
        let mut pooled = [0.0f64; K];
        for (k, out) in pooled.iter_mut().enumerate() {
            *out = f64::from(self.conv_bias[k]);
            for (c, vc) in v.iter().enumerate() {
                let sum: f64 =
                    self.conv[(k * 3 + c) * 9..(k * 3 + c + 1) * 9].iter().map(|w| f64::from(*w)).sum();
                *out += vc * sum;
            }
        }
        let logit = |j: usize| {
            f64::from(self.gemm_bias[j]) + (0..K).map(|k| pooled[k] * f64::from(self.gemm[j][k])).sum::<f64>()
        };
        [logit(0), logit(1)]
    }
}

fn tensor(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.to_vec(),
        data_type: 1,
        float_data: data.to_vec(),
        int64_data: vec![],
        raw_data: vec![],
        name: name.into(),
        external_data: vec![],
        data_location: None,
    }
}

fn value_info(name: &str, dims: &[i64]) -> ValueInfo {
    let dim = dims.iter().map(|d| Dim { dim_value: Some(*d) }).collect();
    ValueInfo {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorType { elem_type: 1, shape: Some(Shape { dim }) }),
        }),
    }
}

fn node(op: &str, inputs: &[&str], output: &str, attribute: Vec<Attribute>) -> NodeProto {
    NodeProto {
        input: inputs.iter().map(|s| (*s).into()).collect(),
        output: vec![output.into()],
        op_type: op.into(),
        attribute,
    }
}

fn int_attr(name: &str, i: i64) -> Attribute {
    Attribute { name: name.into(), i, ints: vec![], r#type: 2 }
}

fn ints_attr(name: &str, ints: &[i64]) -> Attribute {
    Attribute { name: name.into(), i: 0, ints: ints.to_vec(), r#type: 7 }
}

/// How to build a model.
struct Spec {
    weights: Weights,
    /// Declared input shape.
    input: [i64; 4],
    /// Input channels of the conv weights.
    conv_in: i64,
    /// End with a Softmax node (else the output is logits).
    softmax: bool,
    /// The input is NHWC, transposed to NCHW by the first node.
    channels_last: bool,
    /// Tile the input `t × t` times spatially before the convolution.
    tile: Option<i64>,
}

impl Spec {
    fn new(softmax: bool) -> Spec {
        Spec {
            weights: Weights::fixed(),
            input: [1, 3, 32, 32],
            conv_in: 3,
            softmax,
            channels_last: false,
            tile: None,
        }
    }

    fn graph(&self) -> GraphProto {
        let w = &self.weights;
        let k = K as i64;
        let conv_len = (k * self.conv_in * 9) as usize;
        let conv: Vec<f32> = w.conv.iter().copied().cycle().take(conv_len).collect();
        let gemm: Vec<f32> = w.gemm.iter().flatten().copied().collect();
        let last = if self.softmax { "logits" } else { "out" };
        let mut node = vec![];
        let mut initializer = vec![];
        let mut input = "input";
        if self.channels_last {
            node.push(self::node("Transpose", &[input], "nchw", vec![ints_attr("perm", &[0, 3, 1, 2])]));
            input = "nchw";
        }
        if let Some(t) = self.tile {
            node.push(self::node("Tile", &[input, "repeats"], "tiled", vec![]));
            let repeats =
                TensorProto { data_type: 7, int64_data: vec![1, 1, t, t], ..tensor("repeats", &[4], &[]) };
            initializer.push(repeats);
            input = "tiled";
        }
        node.extend([
            self::node("Conv", &[input, "w", "b"], "conv", vec![ints_attr("kernel_shape", &[3, 3])]),
            self::node("GlobalAveragePool", &["conv"], "pool", vec![]),
            self::node("Flatten", &["pool"], "flat", vec![int_attr("axis", 1)]),
            self::node("Gemm", &["flat", "g", "gb"], last, vec![int_attr("transB", 1)]),
        ]);
        if self.softmax {
            node.push(self::node("Softmax", &["logits"], "out", vec![int_attr("axis", 1)]));
        }
        GraphProto {
            node,
            name: "tiny_pad".into(),
            initializer: [
                tensor("w", &[k, self.conv_in, 3, 3], &conv),
                tensor("b", &[k], &w.conv_bias),
                tensor("g", &[2, k], &gemm),
                tensor("gb", &[2], &w.gemm_bias),
            ]
            .into_iter()
            .chain(initializer)
            .collect(),
            input: vec![value_info("input", &self.input)],
            output: vec![value_info("out", &[1, 2])],
        }
    }

    fn bytes_of(graph: GraphProto) -> Vec<u8> {
        ModelProto {
            ir_version: 8,
            graph: Some(graph),
            opset_import: vec![OperatorSetId { domain: String::new(), version: 13 }],
        }
        .encode_to_vec()
    }

    fn bytes(&self) -> Vec<u8> {
        Spec::bytes_of(self.graph())
    }
}

fn rgb_config(kind: OutputKind) -> OnnxPadConfig {
    OnnxPadConfig {
        name: "tiny-onnx-pad".into(),
        evaluated_pad: false,
        crop: CropConfig { scale: 1.0, width: 32, height: 32 },
        channels: ChannelOrder::Rgb,
        channels_last: false,
        normalisation: Normalisation {
            scale: 1.0 / 255.0,
            mean: [0.485, 0.456, 0.406],
            std: [0.229, 0.224, 0.225],
        },
        output: OutputConfig { index: 0, live_class: 1, kind },
        threshold: 0.5,
    }
}

fn bgr_config() -> OnnxPadConfig {
    OnnxPadConfig {
        channels: ChannelOrder::Bgr,
        normalisation: Normalisation { scale: 1.0, mean: [127.5, 120.0, 110.0], std: [128.0, 64.0, 96.0] },
        ..rgb_config(OutputKind::Probabilities)
    }
}

/// The model's normalised input for a crop of colour `p`, in model channel order.
fn normalised(config: &OnnxPadConfig, p: [u8; 3]) -> [f64; 3] {
    let order = match config.channels {
        ChannelOrder::Rgb => [0, 1, 2],
        ChannelOrder::Bgr => [2, 1, 0],
    };
    let n = &config.normalisation;
    let mut v = [0.0; 3];
    for c in 0..3 {
        v[c] = (f64::from(p[order[c]]) * f64::from(n.scale) - f64::from(n.mean[c])) / f64::from(n.std[c]);
    }
    v
}

/// A 64×64 image: colour `face` on [16, 48)², `outside` elsewhere.
fn image(face: [u8; 3], outside: [u8; 3]) -> RgbImage {
    RgbImage::from_fn(64, 64, |x, y| {
        if (16..48).contains(&x) && (16..48).contains(&y) { Rgb(face) } else { Rgb(outside) }
    })
}

/// Landmarks spanning [20, 44]²: with scale 1 the crop's bilinear samples stay inside
/// the face square; with scale 2.5 the crop takes in the outside colour.
fn marks() -> Landmarks {
    let points = [(20.0, 20.0), (44.0, 44.0), (20.0, 44.0), (44.0, 20.0), (32.0, 30.0)];
    Landmarks { points: points.iter().map(|&(x, y)| Point { x, y }).collect() }
}

const FACE_A: [u8; 3] = [200, 40, 90];
const FACE_B: [u8; 3] = [30, 220, 140];
const OUTSIDE: [u8; 3] = [0, 0, 255];

#[test]
fn scores_match_the_closed_form_for_two_inputs_and_two_normalisations() {
    let spec = Spec::new(true);
    let bytes = spec.bytes();
    let mut seen = vec![];
    for config in [rgb_config(OutputKind::Probabilities), bgr_config()] {
        let pad = OnnxPad::from_bytes(&bytes, config.clone()).unwrap();
        for face in [FACE_A, FACE_B] {
            let expected = spec.weights.expected_probs(normalised(&config, face))[1];
            let got = pad.live_probability(&image(face, OUTSIDE), &marks()).unwrap();
            assert!(
                (got - expected).abs() < 1e-5,
                "{:?} {face:?}: got {got}, expected {expected}",
                config.channels
            );
            let assessment = pad.assess(&image(face, OUTSIDE), &marks());
            assert!((assessment.score - (1.0 - expected)).abs() < 1e-5);
            assert_eq!(assessment.attack, assessment.score >= 0.5);
            assert_eq!(assessment.model, "tiny-onnx-pad");
            assert!(!assessment.evaluated_pad && assessment.indicators.is_none());
            seen.push(got);
        }
    }
    // The input moves the score under either config, and the config (channel order
    // and normalisation) moves it for either input, so an ignored config would fail.
    for (a, b) in [(0, 1), (2, 3), (0, 2), (1, 3)] {
        assert!((seen[a] - seen[b]).abs() > 1e-3, "scores {seen:?}: {a} and {b} should differ");
    }
}

#[test]
fn logits_output_gets_the_softmax() {
    let spec = Spec::new(false);
    let pad = OnnxPad::from_bytes(&spec.bytes(), rgb_config(OutputKind::Logits)).unwrap();
    let config = rgb_config(OutputKind::Logits);
    let expected = spec.weights.expected_probs(normalised(&config, FACE_A));
    let got = pad.live_probability(&image(FACE_A, OUTSIDE), &marks()).unwrap();
    assert!((got - expected[1]).abs() < 1e-5, "got {got}, expected {}", expected[1]);
    // The live class picks the other value.
    let other = OnnxPadConfig { output: OutputConfig { live_class: 0, ..config.output }, ..config };
    let pad = OnnxPad::from_bytes(&spec.bytes(), other).unwrap();
    let got = pad.live_probability(&image(FACE_A, OUTSIDE), &marks()).unwrap();
    assert!((got - expected[0]).abs() < 1e-5);
}

#[test]
fn the_crop_follows_the_landmarks_and_the_scale() {
    let bytes = Spec::new(true).bytes();
    let tight = OnnxPad::from_bytes(&bytes, rgb_config(OutputKind::Probabilities)).unwrap();
    // Scale 1: the crop is the face square only; the outside colour does not matter.
    let a = tight.live_probability(&image(FACE_A, OUTSIDE), &marks()).unwrap();
    let b = tight.live_probability(&image(FACE_A, [255, 255, 0]), &marks()).unwrap();
    assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    // Scale 2.5: the crop takes in the outside, so its colour moves the score.
    let mut config = rgb_config(OutputKind::Probabilities);
    config.crop.scale = 2.5;
    let wide = OnnxPad::from_bytes(&bytes, config).unwrap();
    let c = wide.live_probability(&image(FACE_A, OUTSIDE), &marks()).unwrap();
    let d = wide.live_probability(&image(FACE_A, [255, 255, 0]), &marks()).unwrap();
    assert!((a - c).abs() > 1e-3 && (c - d).abs() > 1e-3, "{a} {c} {d}");
    // The crop input itself: every value of the tight crop is the face colour, normalised.
    let input = tight.input(&image(FACE_A, OUTSIDE), &marks()).unwrap();
    assert_eq!(input.len(), 3 * 32 * 32);
    let want = normalised(&rgb_config(OutputKind::Probabilities), FACE_A);
    for (i, v) in input.iter().enumerate() {
        assert!((f64::from(*v) - want[i / (32 * 32)]).abs() < 1e-5, "value {i}: {v}");
    }
}

fn err(bytes: &[u8], config: OnnxPadConfig) -> OnnxPadError {
    OnnxPad::from_bytes(bytes, config).unwrap_err()
}

#[test]
fn hostile_bytes_are_typed_errors() {
    let bytes = Spec::new(true).bytes();
    let config = rgb_config(OutputKind::Probabilities);
    for cut in [1, bytes.len() / 3, bytes.len() / 2, bytes.len() - 1] {
        let e = err(&bytes[..cut], config.clone());
        assert!(matches!(e, OnnxPadError::Decode(_) | OnnxPadError::Model(_)), "cut {cut}: {e:?}");
    }
    assert!(matches!(err(&[], config.clone()), OnnxPadError::Decode(_)));
    assert!(matches!(err(&[0xff; 64], config.clone()), OnnxPadError::Decode(_)));
    let huge = vec![0u8; MAX_MODEL_BYTES + 1];
    assert!(matches!(err(&huge, config.clone()), OnnxPadError::TooLarge { .. }));
}

#[test]
fn external_data_is_refused() {
    let mut graph = Spec::new(true).graph();
    graph.initializer[0].float_data.clear();
    graph.initializer[0].data_location = Some(1);
    graph.initializer[0].external_data =
        vec![StringPair { key: "location".into(), value: "weights.bin".into() }];
    let e = err(&Spec::bytes_of(graph), rgb_config(OutputKind::Probabilities));
    assert!(matches!(e, OnnxPadError::ExternalData), "{e:?}");
}

#[test]
fn shapes_that_disagree_with_the_config_are_refused() {
    let config = rgb_config(OutputKind::Probabilities);
    let mut spec = Spec::new(true);
    spec.input = [1, 3, 64, 64];
    let e = err(&spec.bytes(), config.clone());
    assert!(matches!(e, OnnxPadError::InputShape { .. }), "{e:?}");
    let mut spec = Spec::new(true);
    spec.input = [1, 1, 32, 32];
    spec.conv_in = 1;
    let e = err(&spec.bytes(), config.clone());
    assert!(matches!(e, OnnxPadError::InputShape { .. }), "{e:?}");
    // Declared input fine, but the conv wants one channel: tract refuses the graph.
    let mut spec = Spec::new(true);
    spec.conv_in = 1;
    let e = err(&spec.bytes(), config.clone());
    assert!(matches!(e, OnnxPadError::Model(_)), "{e:?}");
    let bytes = Spec::new(true).bytes();
    let no_class =
        OnnxPadConfig { output: OutputConfig { live_class: 2, ..config.output }, ..config.clone() };
    assert!(matches!(err(&bytes, no_class), OnnxPadError::Output { .. }));
    let no_output = OnnxPadConfig { output: OutputConfig { index: 1, ..config.output }, ..config.clone() };
    assert!(matches!(err(&bytes, no_output), OnnxPadError::Output { .. }));
    let mut bad = config;
    bad.normalisation.std[1] = 0.0;
    assert!(matches!(err(&bytes, bad), OnnxPadError::Config(_)));
}

#[test]
fn nan_output_and_no_face_deny() {
    let mut spec = Spec::new(false);
    spec.weights.gemm_bias[1] = f32::NAN;
    let pad = OnnxPad::from_bytes(&spec.bytes(), rgb_config(OutputKind::Logits)).unwrap();
    let img = image(FACE_A, OUTSIDE);
    assert!(matches!(pad.live_probability(&img, &marks()), Err(OnnxPadError::NonFinite)));
    let denied = pad.assess(&img, &marks());
    assert_eq!((denied.score, denied.attack), (1.0, true));

    let pad = OnnxPad::from_bytes(&Spec::new(true).bytes(), rgb_config(OutputKind::Probabilities)).unwrap();
    let none = Landmarks { points: vec![] };
    assert!(matches!(pad.live_probability(&img, &none), Err(OnnxPadError::NoFace)));
    let one = Landmarks { points: vec![Point { x: 30.0, y: 30.0 }] };
    assert!(matches!(pad.live_probability(&img, &one), Err(OnnxPadError::NoFace)));
    let denied = pad.assess(&img, &none);
    assert_eq!((denied.score, denied.attack), (1.0, true));
    // Debug shows the config and size, never image data.
    assert!(format!("{pad:?}").contains("model_bytes"));
}

#[test]
fn channels_last_models_get_a_pixel_major_input() {
    let mut spec = Spec::new(true);
    spec.channels_last = true;
    spec.input = [1, 32, 32, 3];
    let config = OnnxPadConfig { channels_last: true, ..bgr_config() };
    let pad = OnnxPad::from_bytes(&spec.bytes(), config.clone()).unwrap();
    // The same closed form as the NCHW model: a planar input read as NHWC would mix
    // the channels and miss it.
    for face in [FACE_A, FACE_B] {
        let expected = spec.weights.expected_probs(normalised(&config, face))[1];
        let got = pad.live_probability(&image(face, OUTSIDE), &marks()).unwrap();
        assert!((got - expected).abs() < 1e-5, "{face:?}: got {got}, expected {expected}");
    }
    let input = pad.input(&image(FACE_A, OUTSIDE), &marks()).unwrap();
    let want = normalised(&config, FACE_A);
    for (i, v) in input.iter().enumerate() {
        assert!((f64::from(*v) - want[i % 3]).abs() < 1e-5, "value {i}: {v}");
    }
    // The NCHW config is refused for this model, and the NHWC one for the NCHW model.
    let e = err(&spec.bytes(), bgr_config());
    assert!(matches!(e, OnnxPadError::InputShape { channels_last: false, .. }), "{e:?}");
    let e = err(&Spec::new(true).bytes(), config);
    assert!(matches!(e, OnnxPadError::InputShape { channels_last: true, .. }), "{e:?}");
    assert!(e.to_string().contains("[1, 32, 32, 3]"), "{e}");
}

#[test]
fn max_sigmoid_reads_the_largest_logit() {
    let spec = Spec::new(false);
    let config = rgb_config(OutputKind::MaxSigmoid);
    let config = OnnxPadConfig { output: OutputConfig { live_class: 0, ..config.output }, ..config };
    let pad = OnnxPad::from_bytes(&spec.bytes(), config.clone()).unwrap();
    for face in [FACE_A, FACE_B] {
        let logits = spec.weights.expected_logits(normalised(&config, face));
        let expected = 1.0 / (1.0 + (-logits[0].max(logits[1])).exp());
        let got = pad.live_probability(&image(face, OUTSIDE), &marks()).unwrap();
        assert!((got - expected).abs() < 1e-5, "{face:?}: got {got}, expected {expected} ({logits:?})");
    }
    // The class index means nothing to `max_sigmoid`: anything but 0 is a config error.
    let class_one = OnnxPadConfig { output: OutputConfig { live_class: 1, ..config.output }, ..config };
    assert!(matches!(err(&spec.bytes(), class_one), OnnxPadError::Config(_)));
}

#[test]
fn tensors_over_the_size_limit_are_refused_at_load() {
    // Tiling the 1×3×32×32 input 128 × 128 times makes a 50 M-value intermediate.
    let mut spec = Spec::new(true);
    spec.tile = Some(128);
    let e = err(&spec.bytes(), rgb_config(OutputKind::Probabilities));
    assert!(matches!(e, OnnxPadError::TensorShape { .. }), "{e:?}");
    // A small tile is fine, and the uniform crop keeps the closed form.
    spec.tile = Some(2);
    let pad = OnnxPad::from_bytes(&spec.bytes(), rgb_config(OutputKind::Probabilities)).unwrap();
    let expected = spec.weights.expected_probs(normalised(&rgb_config(OutputKind::Probabilities), FACE_A))[1];
    let got = pad.live_probability(&image(FACE_A, OUTSIDE), &marks()).unwrap();
    assert!((got - expected).abs() < 1e-5, "got {got}, expected {expected}");
    // A negative repeat count is a typed refusal too, never a panic.
    spec.tile = Some(-3);
    assert!(OnnxPad::from_bytes(&spec.bytes(), rgb_config(OutputKind::Probabilities)).is_err());
}

#[test]
fn constant_shapes_over_the_limit_are_refused_before_tract_folds_them() {
    // A ConstantOfShape of 2^20 × 2^20 values added to the input: folding it at load
    // would allocate 4 TiB. Refused from the protobuf, before tract sees it.
    let mut graph = Spec::new(true).graph();
    let shape =
        TensorProto { data_type: 7, int64_data: vec![1 << 20, 1 << 20], ..tensor("huge_shape", &[2], &[]) };
    graph.initializer.push(shape);
    graph.node.insert(0, node("ConstantOfShape", &["huge_shape"], "zeros", vec![]));
    graph.node.insert(1, node("Add", &["input", "zeros"], "plus", vec![]));
    graph.node[2].input[0] = "plus".into();
    let e = err(&Spec::bytes_of(graph.clone()), rgb_config(OutputKind::Probabilities));
    assert!(matches!(e, OnnxPadError::TensorShape { .. }), "{e:?}");
    // The same with the shape as raw little-endian bytes, and as a negative dimension.
    let raw: Vec<u8> = [1i64 << 20, 1 << 20].iter().flat_map(|d| d.to_le_bytes()).collect();
    let mut raw_graph = graph.clone();
    let last = raw_graph.initializer.len() - 1;
    raw_graph.initializer[last].int64_data.clear();
    raw_graph.initializer[last].raw_data = raw;
    let e = err(&Spec::bytes_of(raw_graph), rgb_config(OutputKind::Probabilities));
    assert!(matches!(e, OnnxPadError::TensorShape { .. }), "{e:?}");
    let mut negative = graph.clone();
    negative.initializer[last].int64_data = vec![-1, 32];
    let e = err(&Spec::bytes_of(negative), rgb_config(OutputKind::Probabilities));
    assert!(matches!(e, OnnxPadError::TensorShape { .. }), "{e:?}");
    // A small one (32 × 32, broadcast over the input) loads, and, being zeros, leaves
    // the closed form as it was; its `value` left unset is ONNX's float32 zero.
    let mut small = graph;
    small.initializer[last].int64_data = vec![32, 32];
    let pad = OnnxPad::from_bytes(&Spec::bytes_of(small), rgb_config(OutputKind::Probabilities)).unwrap();
    let config = rgb_config(OutputKind::Probabilities);
    let expected = Weights::fixed().expected_probs(normalised(&config, FACE_A))[1];
    let got = pad.live_probability(&image(FACE_A, OUTSIDE), &marks()).unwrap();
    assert!((got - expected).abs() < 1e-5, "got {got}, expected {expected}");
}

#[test]
fn configs_without_a_layout_deserialise_as_nchw() {
    let json = r#"{"name": "m", "evaluated_pad": false,
        "crop": {"scale": 2.0, "width": 128, "height": 128}, "channels": "rgb",
        "normalisation": {"scale": 0.0078431375, "mean": [1, 1, 1], "std": [1, 1, 1]},
        "output": {"index": 1, "live_class": 0, "kind": "max_sigmoid"}, "threshold": 0.5}"#;
    let config: OnnxPadConfig = serde_json::from_str(json).unwrap();
    assert!(!config.channels_last);
    assert_eq!(config.output.kind, OutputKind::MaxSigmoid);
    let nhwc = json.replace(r#""channels": "rgb","#, r#""channels": "rgb", "channels_last": true,"#);
    let config: OnnxPadConfig = serde_json::from_str(&nhwc).unwrap();
    assert!(config.channels_last);
    assert_eq!(
        serde_json::from_str::<OnnxPadConfig>(&serde_json::to_string(&config).unwrap()).unwrap(),
        config
    );
}
