//! Loads model weights in the TensorFlow.js weights-manifest format: a JSON manifest of
//! weight groups (tensor names, shapes, dtypes, optional quantisation) plus the binary
//! blobs of each group, concatenated in order. Quantised tensors are dequantised as
//! `q · scale + min`. The caller passes the bytes; nothing is read from disk.

use std::collections::BTreeMap;

use ndarray::{ArrayD, ArrayView1, ArrayView2, Ix1, Ix2, IxDyn};
use serde::Deserialize;

/// Why weights could not be loaded or used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The manifest is not valid JSON of the expected shape.
    #[error("invalid weights manifest: {0}")]
    Manifest(String),
    /// The blobs do not hold exactly the bytes the manifest describes.
    #[error("weight group {group} needs {expected} bytes, the blobs hold {actual}")]
    BlobSize {
        /// Group index.
        group: usize,
        /// Bytes the manifest describes.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// The manifest names more (or fewer) blobs than were given.
    #[error("the manifest lists {expected} blob files, {actual} were given")]
    BlobCount {
        /// Files listed.
        expected: usize,
        /// Blobs given.
        actual: usize,
    },
    /// A dtype or quantisation this loader does not read.
    #[error("tensor `{name}` has unsupported dtype `{dtype}`")]
    Dtype {
        /// The tensor.
        name: String,
        /// Its dtype.
        dtype: String,
    },
    /// Two tensors share a name.
    #[error("tensor `{0}` appears twice")]
    Duplicate(String),
    /// A tensor the model needs is absent.
    #[error("tensor `{0}` is missing")]
    Missing(String),
    /// A tensor has another shape than the model needs.
    #[error("tensor `{name}` has shape {actual:?}, expected {expected:?}")]
    Shape {
        /// The tensor.
        name: String,
        /// Needed shape.
        expected: Vec<usize>,
        /// Found shape.
        actual: Vec<usize>,
    },
}

#[derive(Deserialize)]
struct Group {
    paths: Vec<String>,
    weights: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    name: String,
    shape: Vec<usize>,
    dtype: String,
    #[serde(default)]
    quantization: Option<Quantization>,
}

#[derive(Deserialize)]
struct Quantization {
    dtype: String,
    scale: f32,
    min: f32,
}

/// How one tensor's values are stored.
#[derive(Clone, Copy, Debug)]
enum Encoding {
    /// One byte each: `q · scale + min`.
    U8 { scale: f32, min: f32 },
    /// Two little-endian bytes each: `q · scale + min`.
    U16 { scale: f32, min: f32 },
    /// Little-endian IEEE 754 single precision.
    F32,
}

impl Encoding {
    fn of(entry: &Entry) -> Result<Encoding, ModelError> {
        match (&entry.quantization, entry.dtype.as_str()) {
            (Some(q), "float32") if q.dtype == "uint8" => Ok(Encoding::U8 { scale: q.scale, min: q.min }),
            (Some(q), "float32") if q.dtype == "uint16" => Ok(Encoding::U16 { scale: q.scale, min: q.min }),
            (None, "float32") => Ok(Encoding::F32),
            (q, dtype) => Err(ModelError::Dtype {
                name: entry.name.clone(),
                dtype: q.as_ref().map_or(dtype.to_owned(), |q| format!("{dtype} quantised as {}", q.dtype)),
            }),
        }
    }

    fn width(self) -> usize {
        match self {
            Encoding::U8 { .. } => 1,
            Encoding::U16 { .. } => 2,
            Encoding::F32 => 4,
        }
    }

    /// Decodes one value from exactly `width()` bytes.
    fn decode(self, bytes: &[u8]) -> f32 {
        let byte = |i: usize| bytes.get(i).copied().unwrap_or(0);
        match self {
            Encoding::U8 { scale, min } => f32::from(byte(0)) * scale + min,
            Encoding::U16 { scale, min } => f32::from(u16::from_le_bytes([byte(0), byte(1)])) * scale + min,
            Encoding::F32 => f32::from_le_bytes([byte(0), byte(1), byte(2), byte(3)]),
        }
    }
}

/// Named tensors of a model.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Weights {
    tensors: BTreeMap<String, ArrayD<f32>>,
}

impl Weights {
    /// Loads a manifest and the blobs of all its groups, in the order the manifest lists
    /// their paths.
    pub fn from_tfjs(manifest: &[u8], blobs: &[&[u8]]) -> Result<Weights, ModelError> {
        let groups: Vec<Group> =
            serde_json::from_slice(manifest).map_err(|e| ModelError::Manifest(e.to_string()))?;
        let listed: usize = groups.iter().map(|g| g.paths.len()).sum();
        if listed != blobs.len() {
            return Err(ModelError::BlobCount { expected: listed, actual: blobs.len() });
        }
        let mut tensors = BTreeMap::new();
        let mut next_blob = 0;
        for (index, group) in groups.iter().enumerate() {
            let parts = blobs.get(next_blob..next_blob + group.paths.len()).unwrap_or_default();
            next_blob += group.paths.len();
            let data: Vec<u8> = parts.concat();
            let mut offset = 0usize;
            for entry in &group.weights {
                let count =
                    entry.shape.iter().try_fold(1usize, |n, d| n.checked_mul(*d)).ok_or_else(|| {
                        ModelError::Manifest(format!("tensor `{}` is too large", entry.name))
                    })?;
                let encoding = Encoding::of(entry)?;
                let width = encoding.width();
                let bytes = count
                    .checked_mul(width)
                    .ok_or_else(|| ModelError::Manifest(format!("tensor `{}` is too large", entry.name)))?;
                let end = offset.saturating_add(bytes);
                let raw = data.get(offset..end).ok_or(ModelError::BlobSize {
                    group: index,
                    expected: end,
                    actual: data.len(),
                })?;
                let values: Vec<f32> = raw.chunks_exact(width).map(|c| encoding.decode(c)).collect();
                let array = ArrayD::from_shape_vec(IxDyn(&entry.shape), values)
                    .map_err(|e| ModelError::Manifest(format!("tensor `{}`: {e}", entry.name)))?;
                if tensors.insert(entry.name.clone(), array).is_some() {
                    return Err(ModelError::Duplicate(entry.name.clone()));
                }
                offset = end;
            }
            if offset != data.len() {
                return Err(ModelError::BlobSize { group: index, expected: offset, actual: data.len() });
            }
        }
        Ok(Weights { tensors })
    }

    /// Number of tensors.
    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Tensor names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// The tensor `name`, whatever its shape.
    pub fn tensor(&self, name: &str) -> Result<&ArrayD<f32>, ModelError> {
        self.tensors.get(name).ok_or_else(|| ModelError::Missing(name.to_owned()))
    }

    /// The 1-D tensor `name` (a bias, a scale).
    pub fn vector(&self, name: &str) -> Result<ArrayView1<'_, f32>, ModelError> {
        self.tensor(name)?
            .view()
            .into_dimensionality::<Ix1>()
            .map_err(|e| ModelError::Manifest(format!("{name}: {e}")))
    }

    /// The 2-D tensor `name` (fully connected weights `[in, out]`).
    pub fn matrix(&self, name: &str) -> Result<ArrayView2<'_, f32>, ModelError> {
        self.tensor(name)?
            .view()
            .into_dimensionality::<Ix2>()
            .map_err(|e| ModelError::Manifest(format!("{name}: {e}")))
    }

    /// The tensor `name`, checked to have `shape`.
    pub fn get(&self, name: &str, shape: &[usize]) -> Result<&ArrayD<f32>, ModelError> {
        let tensor = self.tensors.get(name).ok_or_else(|| ModelError::Missing(name.to_owned()))?;
        if tensor.shape() != shape {
            return Err(ModelError::Shape {
                name: name.to_owned(),
                expected: shape.to_vec(),
                actual: tensor.shape().to_vec(),
            });
        }
        Ok(tensor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"[{"paths":["a.bin","b.bin"],"weights":[
        {"name":"q","shape":[2,2],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1.0}},
        {"name":"f","shape":[1],"dtype":"float32"}]}]"#;

    fn blobs() -> (Vec<u8>, Vec<u8>) {
        (vec![0, 1, 2], [vec![4], 2.5f32.to_le_bytes().to_vec()].concat())
    }

    #[test]
    fn dequantises_and_reads_floats_across_blobs() {
        let (a, b) = blobs();
        let w = Weights::from_tfjs(MANIFEST.as_bytes(), &[&a, &b]).unwrap();
        assert_eq!(
            w.get("q", &[2, 2]).unwrap().iter().copied().collect::<Vec<_>>(),
            vec![-1.0, -0.5, 0.0, 1.0]
        );
        assert_eq!(w.get("f", &[1]).unwrap().iter().copied().collect::<Vec<_>>(), vec![2.5]);
        assert_eq!(
            w.get("q", &[4]),
            Err(ModelError::Shape { name: "q".into(), expected: vec![4], actual: vec![2, 2] })
        );
        assert_eq!(w.get("nope", &[1]), Err(ModelError::Missing("nope".into())));
    }

    #[test]
    fn size_and_shape_errors() {
        let (a, b) = blobs();
        assert!(matches!(Weights::from_tfjs(MANIFEST.as_bytes(), &[&a]), Err(ModelError::BlobCount { .. })));
        let short = &b[..3];
        assert!(matches!(
            Weights::from_tfjs(MANIFEST.as_bytes(), &[&a, short]),
            Err(ModelError::BlobSize { .. })
        ));
        let long = [b.clone(), vec![0]].concat();
        assert!(matches!(
            Weights::from_tfjs(MANIFEST.as_bytes(), &[&a, &long]),
            Err(ModelError::BlobSize { .. })
        ));
        let int8 = MANIFEST.replace(r#""dtype":"uint8""#, r#""dtype":"int8""#);
        assert!(matches!(Weights::from_tfjs(int8.as_bytes(), &[&a, &b]), Err(ModelError::Dtype { .. })));
        let huge = MANIFEST.replace("[2,2]", "[18446744073709551615,2]");
        assert!(Weights::from_tfjs(huge.as_bytes(), &[&a, &b]).is_err());
        assert!(matches!(Weights::from_tfjs(b"{", &[]), Err(ModelError::Manifest(_))));
    }
}
