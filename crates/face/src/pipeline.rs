//! One photo through every stage: detect → best-scoring face → 68 landmarks → aligned chip
//! → occlusion → quality → attack indicators → embedding. The stages are the crate's
//! public functions; this module only wires them in order and owns the two plug-in
//! points, [`FaceEmbedder`] and [`PadModel`](crate::PadModel).

use image::RgbImage;
use serde::{Deserialize, Serialize};
use shiren_catalog::CallCode;

use crate::align::face_chip;
use crate::attack::{AttackAssessment, AttackIndicators, PadModel};
use crate::descriptor::DescriptorNet;
use crate::detector::{Detection, FaceDetector};
use crate::intake::Photo;
use crate::landmarks::{LandmarkNet, Landmarks};
use crate::occlusion::{Occlusion, measure_occlusion};
use crate::quality::{Quality, assess_quality};
use crate::tfjs::{ModelError, Weights};

/// A detection at least this confident is taken as the face upright. When the best
/// upright detection scores below it, the photo is also tried turned by 90°, 180° and
/// 270°; when no turn finds a confident face either, the best upright detection is
/// analysed all the same (the detector keeps boxes from 0.3,
/// `FaceDetector::DEFAULT_MIN_SCORE`): an occluded face — a mask, a hand — scores low
/// yet is a face, and the analysis then reports its occlusion instead of "no face".
/// The faces of the pinned test photos score above 0.6 (0.84 and 0.91 for `obama.jpg`
/// and `biden.jpg`). 0.5 is a judgement, not a measured operating point: no labelled set
/// of false detections exists here to place it.
pub const MIN_FACE_SCORE: f32 = 0.5;

/// A face embedding model: the descriptor network by default.
pub trait FaceEmbedder {
    /// The embedding of the face with `marks` in `image`.
    fn embed(&self, image: &RgbImage, marks: &Landmarks) -> Result<Vec<f32>, ModelError>;

    /// Distance between two embeddings (smaller = more alike); Euclidean unless the
    /// model says otherwise.
    fn distance(&self, a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>().sqrt()
    }
}

impl FaceEmbedder for DescriptorNet {
    fn embed(&self, image: &RgbImage, marks: &Landmarks) -> Result<Vec<f32>, ModelError> {
        Ok(self.describe(&face_chip(image, marks))?.to_vec())
    }
}

/// Why a photo could not be analysed.
#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    /// The detector found no face.
    #[error("no face found in the photo: use a frontal, well-lit photo with one face")]
    NoFace,
    /// A model failed (wrong weights).
    #[error("face model error: {0}")]
    Model(#[from] ModelError),
}

impl FaceError {
    /// The call code: 419 (image unusable) for both.
    pub fn call_code(&self) -> CallCode {
        CallCode::ImageUnusable
    }
}

/// Everything measured on one photo.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceAnalysis {
    /// The face analysed: the detection with the highest score (at least
    /// [`MIN_FACE_SCORE`]).
    pub face: Detection,
    /// How many faces the detector found (at its own minimum score, 0.3 by default).
    pub faces: usize,
    /// The best-scoring of the other detections, if any: a second person in the photo
    /// (a real face next to the analysed one can score below [`MIN_FACE_SCORE`], 0.45
    /// in `tests/pipeline.rs`' two-portrait photo, so its score is reported as is).
    #[serde(default)]
    pub second_face: Option<Detection>,
    /// Its landmarks.
    pub landmarks: Landmarks,
    /// Occlusion shares.
    pub occlusion: Occlusion,
    /// Quality.
    pub quality: Quality,
    /// Attack assessment.
    pub attack: AttackAssessment,
    /// The embedding.
    pub embedding: Vec<f32>,
    /// Degrees (0, 90, 180 or 270) the photo was turned clockwise before the face was
    /// found: a photo rotated without an EXIF orientation is analysed turned upright,
    /// and every position above is in that upright frame.
    #[serde(default)]
    pub rotation: u16,
}

/// The models, ready to analyse photos. `Send + Sync`: share one across threads.
pub struct FaceModels {
    /// The detector.
    pub detector: FaceDetector,
    /// The landmark network.
    pub landmarks: LandmarkNet,
    /// The embedding model.
    pub embedder: Box<dyn FaceEmbedder + Send + Sync>,
    /// The liveness model.
    pub liveness: Box<dyn PadModel + Send + Sync>,
}

impl std::fmt::Debug for FaceModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceModels").finish_non_exhaustive()
    }
}

impl FaceModels {
    /// The built-in models from their weights, with the attack indicators as liveness
    /// model.
    pub fn new(detector: Weights, landmarks: Weights, descriptor: Weights) -> Result<FaceModels, ModelError> {
        Ok(FaceModels {
            detector: FaceDetector::new(detector)?,
            landmarks: LandmarkNet::new(landmarks)?,
            embedder: Box::new(DescriptorNet::new(descriptor)?),
            liveness: Box::new(AttackIndicators::default()),
        })
    }

    /// Analyses the best-scoring face of `photo`.
    pub fn analyze(&self, photo: &Photo) -> Result<FaceAnalysis, FaceError> {
        self.analyze_image(&photo.rgb)
    }

    /// Analyses the best-scoring face of an already decoded image. When no face is found
    /// upright, the photo is turned by 90°, 180° and 270° in turn (the photo rules
    /// accept rotated photos, and not every rotated photo carries an EXIF orientation);
    /// `rotation` says which turn found it.
    pub fn analyze_image(&self, image: &RgbImage) -> Result<FaceAnalysis, FaceError> {
        let (rotation, turned, faces) = self.find_faces(image)?;
        let image = turned.as_ref().unwrap_or(image);
        let face = best(&faces)?;
        let second_face =
            faces.iter().copied().filter(|d| *d != face).max_by(|a, b| a.score.total_cmp(&b.score));
        let landmarks = self.landmarks.locate(image, &face.bbox)?;
        let chip = face_chip(image, &landmarks);
        let occlusion = measure_occlusion(image, &landmarks);
        let quality = assess_quality(image, &chip, &landmarks, &faces, &occlusion);
        let attack = self.liveness.assess(image, &landmarks);
        let embedding = self.embedder.embed(image, &landmarks)?;
        Ok(FaceAnalysis {
            face,
            faces: faces.len(),
            second_face,
            landmarks,
            occlusion,
            quality,
            attack,
            embedding,
            rotation,
        })
    }

    /// The detections of `image` upright when one scores at least [`MIN_FACE_SCORE`],
    /// else of the first of its 90°, 180° and 270° clockwise turns where one does, else
    /// the upright ones if there are any: (the turn in degrees, the turned image unless
    /// upright, the detections).
    fn find_faces(&self, image: &RgbImage) -> Result<(u16, Option<RgbImage>, Vec<Detection>), FaceError> {
        let confident = |found: &[Detection]| found.iter().any(|d| d.score >= MIN_FACE_SCORE);
        let faces = self.detector.detect(image)?;
        if confident(&faces) {
            return Ok((0, None, faces));
        }
        let turns: [(u16, Turn); 3] = [
            (90, image::imageops::rotate90),
            (180, image::imageops::rotate180),
            (270, image::imageops::rotate270),
        ];
        for (degrees, turn) in turns {
            let turned = turn(image);
            let faces = self.detector.detect(&turned)?;
            if confident(&faces) {
                return Ok((degrees, Some(turned), faces));
            }
        }
        if faces.is_empty() { Err(FaceError::NoFace) } else { Ok((0, None, faces)) }
    }

    /// Only the embedding of the best-scoring face of `photo` (detect, landmarks, embed):
    /// what the reference photo of a comparison needs, without the quality, occlusion
    /// and attack checks that [`analyze`](Self::analyze) adds. Equal to
    /// `analyze(photo)?.embedding`.
    pub fn embed(&self, photo: &Photo) -> Result<Vec<f32>, FaceError> {
        self.embed_image(&photo.rgb)
    }

    /// [`embed`](Self::embed) on an already decoded image.
    pub fn embed_image(&self, image: &RgbImage) -> Result<Vec<f32>, FaceError> {
        let (_, turned, faces) = self.find_faces(image)?;
        let image = turned.as_ref().unwrap_or(image);
        let face = best(&faces)?;
        let landmarks = self.landmarks.locate(image, &face.bbox)?;
        Ok(self.embedder.embed(image, &landmarks)?)
    }

    /// Distance between the faces of two analyses.
    pub fn distance(&self, a: &FaceAnalysis, b: &FaceAnalysis) -> f32 {
        self.embedder.distance(&a.embedding, &b.embedding)
    }

    /// Distance between an analysed face and a reference embedding from
    /// [`embed`](Self::embed).
    pub fn distance_to(&self, a: &FaceAnalysis, reference: &[f32]) -> f32 {
        self.embedder.distance(&a.embedding, reference)
    }
}

/// Turns a photo by a multiple of 90°.
type Turn = fn(&RgbImage) -> RgbImage;

/// The face analysed: the highest detector score (not the largest box: a low-scoring
/// box on a torso or a background pattern can be larger than the real face).
fn best(faces: &[Detection]) -> Result<Detection, FaceError> {
    faces.iter().copied().max_by(|a, b| a.score.total_cmp(&b.score)).ok_or(FaceError::NoFace)
}
