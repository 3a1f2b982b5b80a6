//! Plain geometry shared by the face stages: points and boxes in image pixels
//! (x to the right, y down, origin at the top-left corner of the upright photo).

use serde::{Deserialize, Serialize};

/// A point in image pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Horizontal position.
    pub x: f32,
    /// Vertical position.
    pub y: f32,
}

impl Point {
    /// A point.
    pub const fn new(x: f32, y: f32) -> Point {
        Point { x, y }
    }

    /// Euclidean distance to `other`.
    pub fn distance(self, other: Point) -> f32 {
        (self.x - other.x).hypot(self.y - other.y)
    }

    /// The mean of `points` (the origin for none).
    pub fn mean(points: &[Point]) -> Point {
        let n = points.len().max(1) as f32;
        let (sx, sy) = points.iter().fold((0.0, 0.0), |(sx, sy), p| (sx + p.x, sy + p.y));
        Point::new(sx / n, sy / n)
    }
}

/// An axis-aligned box in image pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
}

impl FaceBox {
    /// Area in square pixels (0 for degenerate boxes).
    pub fn area(&self) -> f32 {
        self.width.max(0.0) * self.height.max(0.0)
    }

    /// Intersection over union with `other` (0 when either is empty).
    pub fn iou(&self, other: &FaceBox) -> f32 {
        let left = self.x.max(other.x);
        let top = self.y.max(other.y);
        let right = (self.x + self.width).min(other.x + other.width);
        let bottom = (self.y + self.height).min(other.y + other.height);
        let inter = (right - left).max(0.0) * (bottom - top).max(0.0);
        let union = self.area() + other.area() - inter;
        if union > 0.0 { inter / union } else { 0.0 }
    }

    /// The box clipped to a `width × height` image, in whole pixels
    /// `(x, y, width, height)`; `None` when nothing of it lies inside.
    pub fn clip(&self, width: u32, height: u32) -> Option<(u32, u32, u32, u32)> {
        let clamp = |v: f32, max: u32| v.round().clamp(0.0, max as f32) as u32;
        let (x0, y0) = (clamp(self.x, width), clamp(self.y, height));
        let (x1, y1) = (clamp(self.x + self.width, width), clamp(self.y + self.height, height));
        (x1 > x0 && y1 > y0).then(|| (x0, y0, x1 - x0, y1 - y0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxes() {
        let a = FaceBox { x: 0.0, y: 0.0, width: 10.0, height: 10.0 };
        let b = FaceBox { x: 5.0, y: 0.0, width: 10.0, height: 10.0 };
        assert!((a.iou(&b) - 50.0 / 150.0).abs() < 1e-6);
        assert_eq!(a.iou(&FaceBox::default()), 0.0);
        assert_eq!(b.clip(12, 8), Some((5, 0, 7, 8)));
        assert_eq!(FaceBox { x: -20.0, y: 0.0, width: 5.0, height: 5.0 }.clip(10, 10), None);
        assert_eq!(Point::mean(&[Point::new(0.0, 0.0), Point::new(2.0, 4.0)]), Point::new(1.0, 2.0));
        assert_eq!(Point::mean(&[]), Point::new(0.0, 0.0));
    }
}
