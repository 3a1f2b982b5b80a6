//! Face chips for the descriptor network: a 150×150 crop around the eyes and mouth,
//! rotated so the eyes are level. The framing is face-api's `alignDlib` (box side =
//! mean eye-to-mouth distance / 0.45, the eyes–mouth centroid at 50 % across and 43 %
//! down) with the roll removed; each chip pixel averages a grid of bilinear samples so
//! large faces are not aliased.

use image::RgbImage;

use crate::descriptor::CHIP_SIZE;
use crate::landmarks::Landmarks;
use crate::raster::sample;

const REL_X: f32 = 0.5;
const REL_Y: f32 = 0.43;
const REL_SCALE: f32 = 0.45;

/// The aligned 150×150 RGB chip (row-major, 3 bytes a pixel) of the face with
/// `landmarks` in `image`.
pub fn face_chip(image: &RgbImage, landmarks: &Landmarks) -> Vec<u8> {
    let (left, right, mouth) = (landmarks.left_eye(), landmarks.right_eye(), landmarks.mouth());
    let eye_to_mouth = (left.distance(mouth) + right.distance(mouth)) / 2.0;
    let side = (eye_to_mouth / REL_SCALE).max(1.0);
    let centre = crate::geometry::Point::mean(&[left, right, mouth]);
    let angle = (right.y - left.y).atan2(right.x - left.x);
    let (sin, cos) = angle.sin_cos();
    let step = side / CHIP_SIZE as f32;
    let samples = (step.ceil() as usize).clamp(1, 4);
    let mut chip = Vec::with_capacity(CHIP_SIZE * CHIP_SIZE * 3);
    for v in 0..CHIP_SIZE {
        for u in 0..CHIP_SIZE {
            let mut acc = [0f32; 3];
            for sy in 0..samples {
                for sx in 0..samples {
                    let bx = (u as f32 + (sx as f32 + 0.5) / samples as f32) * step - REL_X * side;
                    let by = (v as f32 + (sy as f32 + 0.5) / samples as f32) * step - REL_Y * side;
                    let x = centre.x + bx * cos - by * sin;
                    let y = centre.y + bx * sin + by * cos;
                    let p = sample(image, x, y);
                    for (a, c) in acc.iter_mut().zip(p) {
                        *a += c;
                    }
                }
            }
            let n = (samples * samples) as f32;
            chip.extend(acc.map(|a| (a / n).round().clamp(0.0, 255.0) as u8));
        }
    }
    chip
}
