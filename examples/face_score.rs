//! Scores a face photo (and compares it with a reference) and prints the full result
//! as JSON: `cargo run --release --example face_score -- PHOTO [REFERENCE]`.
//!
//! The models are read from `.cache/face/models` (fetch them with
//! `bash scripts/fetch-models.sh`); photos go through the service's intake rules
//! (640×480 to 1920×1080, under 1 MB), so an unusable photo prints its call code.
#![allow(clippy::disallowed_methods, reason = "an example is edge code: it reads files")]

#[path = "../tests/support/mod.rs"]
mod support;

use anyhow::Context as _;
use serde_json::json;
use shiren::face::{FaceAnalysis, FaceModels, PhotoRules, VerificationPolicy, decode_photo};

fn main() {
    if let Err(err) = try_main() {
        eprintln!("face_score: {err:#}");
        std::process::exit(1);
    }
}

/// The analysis of one photo file, or the call code and message refusing it.
fn analyse(models: &FaceModels, path: &str) -> anyhow::Result<Result<FaceAnalysis, serde_json::Value>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {path}"))?;
    let photo = match decode_photo(&bytes, &PhotoRules::default()) {
        Ok(photo) => photo,
        Err(e) => {
            return Ok(Err(json!({"Code": e.call_code().code().to_string(), "Message": e.to_string()})));
        }
    };
    Ok(models
        .analyze(&photo)
        .map_err(|e| json!({"Code": e.call_code().code().to_string(), "Message": e.to_string()})))
}

fn try_main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (photo, reference) = match args.as_slice() {
        [photo] => (photo, None),
        [photo, reference] => (photo, Some(reference)),
        _ => anyhow::bail!("usage: face_score PHOTO [REFERENCE]"),
    };
    let models = support::models()?;
    let policy = VerificationPolicy::default();
    let selfie = match analyse(&models, photo)? {
        Ok(a) => a,
        Err(refusal) => {
            println!("{}", serde_json::to_string_pretty(&json!({"photo": photo, "refused": refusal}))?);
            return Ok(());
        }
    };
    let mut out = serde_json::Map::new();
    out.insert("photo".into(), json!(photo));
    out.insert("analysis".into(), summary(&selfie));
    let distance = match reference {
        None => None,
        Some(path) => match analyse(&models, path)? {
            Ok(r) => Some(models.distance(&selfie, &r)),
            Err(refusal) => {
                out.insert("reference_refused".into(), refusal);
                None
            }
        },
    };
    out.insert("distance".into(), json!(distance));
    out.insert("verdict".into(), serde_json::to_value(policy.decide(&selfie, distance))?);
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}

/// The analysis without the raw embedding and landmark lists.
fn summary(a: &FaceAnalysis) -> serde_json::Value {
    json!({
        "face": a.face,
        "faces": a.faces,
        "quality": a.quality,
        "occlusion": a.occlusion,
        "attack": a.attack,
        "embedding_len": a.embedding.len(),
    })
}
