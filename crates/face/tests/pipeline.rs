//! Detection, landmarks, alignment and comparison on the pinned public photos.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::disallowed_methods,
    reason = "tests read the fetched cache"
)]

use std::path::PathBuf;

use shiren_face::{
    DescriptorNet, FaceDetector, LandmarkNet, PhotoRules, Weights, decode_photo, distance, face_chip,
};

fn cached(dir: &str, name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.cache/face").join(dir).join(name);
    std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run `bash scripts/fetch-models.sh` first", path.display()))
}

fn weights(model: &str) -> Weights {
    Weights::from_tfjs(
        &cached("models", &format!("{model}-weights_manifest.json")),
        &[&cached("models", &format!("{model}.bin"))],
    )
    .unwrap()
}

fn photo(name: &str) -> image::RgbImage {
    let rules = PhotoRules { max_bytes: 4 << 20, min_size: (1, 1), max_size: (4000, 4000) };
    decode_photo(&cached("photos", name), &rules).unwrap().rgb
}

const FACE_PHOTOS: &[&str] = &[
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "biden.jpg",
    "obama_partial_face.jpg",
    "obama_partial_face2.jpg",
    "32bit.png",
];

struct Models {
    detector: FaceDetector,
    marks: LandmarkNet,
    net: DescriptorNet,
}

fn models() -> Models {
    Models {
        detector: FaceDetector::new(weights("tiny_face_detector_model")).unwrap(),
        marks: LandmarkNet::new(weights("face_landmark_68_model")).unwrap(),
        net: DescriptorNet::new(weights("face_recognition_model")).unwrap(),
    }
}

#[test]
fn one_face_in_each_face_photo_and_none_elsewhere() {
    let m = models();
    for name in FACE_PHOTOS {
        let found = m.detector.detect(&photo(name)).unwrap();
        assert_eq!(found.len(), 1, "{name}: {found:?}");
        assert!(found[0].score > 0.6, "{name}: {found:?}");
    }
    // Non-faces: flat grey, a gradient, deterministic noise, and the lower parts of
    // two portraits (suit, shirt, hands).
    let mut s = 0x9E37_79B9u32;
    let mut noise = move || {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        (s >> 24) as u8
    };
    let non_faces = [
        image::RgbImage::from_pixel(640, 480, image::Rgb([128, 128, 128])),
        image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x / 3) as u8, (y / 2) as u8, 90])),
        image::RgbImage::from_fn(640, 480, |_, _| image::Rgb([noise(), noise(), noise()])),
        image::imageops::crop_imm(&photo("obama3.jpg"), 0, 1300, 1434, 1000).to_image(),
        image::imageops::crop_imm(&photo("biden.jpg"), 0, 1100, 970, 1100).to_image(),
    ];
    for (i, image) in non_faces.iter().enumerate() {
        let found = m.detector.detect(image).unwrap();
        assert!(found.is_empty(), "non-face {i}: {found:?}");
    }
    assert!(m.detector.detect(&image::RgbImage::new(0, 0)).unwrap().is_empty());
}

#[test]
fn landmarks_sit_on_the_face() {
    let m = models();
    for name in FACE_PHOTOS {
        let image = photo(name);
        let face = m.detector.detect(&image).unwrap()[0].bbox;
        let marks = m.marks.locate(&image, &face).unwrap();
        assert_eq!(marks.points.len(), 68);
        let (l, r, mouth) = (marks.left_eye(), marks.right_eye(), marks.mouth());
        assert!(l.x < r.x, "{name}: eyes in order");
        assert!(mouth.y > l.y.max(r.y), "{name}: mouth below the eyes");
        assert!(marks.roll_degrees().abs() < 20.0, "{name}: roll {}", marks.roll_degrees());
        let ied = marks.inter_eye_distance();
        assert!(ied > 0.25 * face.width && ied < 0.6 * face.width, "{name}: IED {ied} in box {face:?}");
    }
}

#[test]
fn aligned_chips_separate_genuine_from_impostor_pairs() {
    let m = models();
    let describe = |name: &str| {
        let image = photo(name);
        let face = m.detector.detect(&image).unwrap()[0].bbox;
        let marks = m.marks.locate(&image, &face).unwrap();
        m.net.describe(&face_chip(&image, &marks)).unwrap()
    };
    let obama: Vec<_> = ["obama.jpg", "obama2.jpg", "obama3.jpg"].map(describe).into();
    let biden = describe("biden.jpg");
    let genuine: Vec<f32> =
        vec![distance(&obama[0], &obama[1]), distance(&obama[0], &obama[2]), distance(&obama[1], &obama[2])];
    let impostor: Vec<f32> = obama.iter().map(|o| distance(o, &biden)).collect();
    println!("genuine {genuine:?} impostor {impostor:?}");
    let worst_genuine = genuine.iter().copied().fold(f32::MIN, f32::max);
    let best_impostor = impostor.iter().copied().fold(f32::MAX, f32::min);
    assert!(worst_genuine <= 0.6 && best_impostor > 0.6 && worst_genuine < best_impostor);
    // Partial faces and the RGBA copy still match.
    for name in ["obama_partial_face.jpg", "obama_partial_face2.jpg", "32bit.png"] {
        let d = distance(&describe(name), &obama[0]);
        assert!(d <= 0.6, "{name}: {d}");
    }
    // Deterministic to 1e-4 between runs.
    assert!(distance(&describe("obama.jpg"), &obama[0]) < 1e-4);
}
