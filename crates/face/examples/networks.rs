//! Runs the face networks on the pinned `obama.jpg` selfie framing (the top 4:3 part,
//! 640×480) and prints each one's thread CPU time per call, fast path and previous
//! implementation side by side. Thread CPU time (from `/proc/thread-self/schedstat`,
//! the mean over `N` calls, best of three rounds) is less disturbed than wall time on
//! a shared machine; under `valgrind --tool=callgrind` the same runs give instruction
//! counts (read the inclusive cost of `describe`, `describe_reference`, `detect`, …).
//!
//! `cargo run --release -p shiren-face --example networks -- [MODES] [N]`, MODES a
//! `-`-joined subset of `desc descref det detref lm lmref` (default: all), N calls
//! (default 20). Needs `bash scripts/fetch-models.sh`.
#![allow(clippy::disallowed_methods, reason = "an example reads the fetched cache")]

use std::hint::black_box;
use std::path::Path;

use shiren_face::{DescriptorNet, FaceModels, PhotoRules, Weights, decode_photo, face_chip};

type Error = Box<dyn std::error::Error>;

fn cache(path: &str) -> Result<Vec<u8>, Error> {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/face").join(path);
    std::fs::read(&full)
        .map_err(|e| format!("{}: {e}; run `bash scripts/fetch-models.sh` first", full.display()).into())
}

fn weights(model: &str) -> Result<Weights, Error> {
    let manifest = cache(&format!("models/{model}-weights_manifest.json"))?;
    Ok(Weights::from_tfjs(&manifest, &[&cache(&format!("models/{model}.bin"))?])?)
}

/// This thread's CPU time so far, in nanoseconds (the kernel updates it at scheduler
/// ticks and switches, hence means over many calls).
fn cpu_ns() -> Result<u64, Error> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")?;
    Ok(stat.split_whitespace().next().ok_or("empty schedstat")?.parse()?)
}

/// Milliseconds of CPU per call of `f`: the mean over `n` calls, best of three rounds.
fn per_call(n: usize, mut f: impl FnMut() -> Result<(), Error>) -> Result<f64, Error> {
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = cpu_ns()?;
        for _ in 0..n {
            f()?;
        }
        best = best.min(cpu_ns()?.saturating_sub(start) as f64 / 1e6 / n.max(1) as f64);
    }
    Ok(best)
}

/// Keeps a network's output alive (so the call is not optimised away) and drops it.
fn done<T, E: Into<Error>>(result: Result<T, E>) -> Result<(), Error> {
    black_box(result.map_err(Into::into)?);
    Ok(())
}

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let modes = args.next().unwrap_or_else(|| "desc-descref-det-detref-lm-lmref".into());
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(20);
    let models = FaceModels::new(
        weights("tiny_face_detector_model")?,
        weights("face_landmark_68_model")?,
        weights("face_recognition_model")?,
    )?;
    let net = DescriptorNet::new(weights("face_recognition_model")?)?;
    let rules = PhotoRules { max_bytes: 4 << 20, min_size: (1, 1), max_size: (4000, 4000) };
    let portrait = decode_photo(&cache("photos/obama.jpg")?, &rules)?.rgb;
    let top = image::imageops::crop_imm(&portrait, 0, 0, 910, 682).to_image();
    let image = image::imageops::resize(&top, 640, 480, image::imageops::FilterType::Triangle);
    let face = models.detector.detect(&image)?.first().ok_or("no face in the selfie")?.bbox;
    let chip = face_chip(&image, &models.landmarks.locate(&image, &face)?);
    for mode in modes.split('-') {
        let ms = match mode {
            "desc" => per_call(n, || done(net.describe(&chip)))?,
            "descref" => per_call(n, || done(net.describe_reference(&chip)))?,
            "det" => per_call(n, || done(models.detector.detect(&image)))?,
            "detref" => per_call(n, || done(models.detector.detect_reference(&image)))?,
            "lm" => per_call(n, || done(models.landmarks.locate(&image, &face)))?,
            "lmref" => per_call(n, || done(models.landmarks.locate_reference(&image, &face)))?,
            other => return Err(format!("unknown mode {other}").into()),
        };
        println!("{mode:8} {ms:7.2} ms CPU per call");
    }
    Ok(())
}
