//! The model file: `.safetensors` weights plus versioned JSON metadata.
//!
//! Loading checks everything against the metadata before any weight is used:
//! the header length against the file, the metadata version, every tensor's
//! name, dtype, shape and values. Saving writes a temporary file beside the
//! target and renames it, so a model file is never left half-written.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use crate::meta::{ModelKind, ModelMeta, FORMAT_VERSION, METADATA_KEY};

mod atomic;

pub use atomic::{parent_dir, parse_temp_name, temp_files, temp_path, write_atomic};

/// Largest model file accepted; the shipped ones are a few MB.
pub const MAX_FILE_BYTES: u64 = 1 << 30;

/// Why a model file could not be loaded. Each case says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the file is {bytes} bytes, more than the {max} a model may have")]
    TooLarge { bytes: u64, max: u64 },
    #[error(
        "the file is truncated: its header claims {claimed} bytes but the file has {available}"
    )]
    Truncated { claimed: u64, available: u64 },
    #[error("not a valid safetensors file: {0}")]
    NotSafetensors(String),
    #[error("the file has no Bach metadata (no \"{METADATA_KEY}\" entry): it was not written by bach-trainer")]
    MissingMetadata,
    #[error("the Bach metadata is not valid: {0}")]
    BadMetadata(String),
    #[error("the model uses format version {found}, newer than this version of Bach reads ({supported}): update Bach")]
    FutureVersion { found: u64, supported: u32 },
    #[error("the model's configuration is not usable: {0}")]
    InvalidConfig(String),
    #[error("this is a {} model; a {} model is needed here", .found.describe(), .expected.describe())]
    WrongKind {
        expected: ModelKind,
        found: ModelKind,
    },
    #[error("tensor {0} is missing")]
    MissingTensor(String),
    #[error("tensor {0} is not part of this model's layout")]
    UnexpectedTensor(String),
    #[error("tensor {name} has shape {found:?}, expected {expected:?}")]
    WrongShape {
        name: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("tensor {name} is stored as {found}, expected F32")]
    WrongDtype { name: String, found: String },
    #[error("tensor {name} has a non-finite value ({value}) at index {index}")]
    NonFinite {
        name: String,
        index: usize,
        value: f32,
    },
}

/// Why a model file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the model to save does not match its metadata: {0}")]
    Invalid(String),
}

/// A model's metadata and its checked weights, by tensor name.
#[derive(Clone, Debug)]
pub struct ModelFile {
    pub meta: ModelMeta,
    pub tensors: HashMap<String, Vec<f32>>,
}

impl ModelFile {
    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        let io_err = |source| LoadError::Io {
            path: path.to_owned(),
            source,
        };
        let mut file = fs::File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        if len > MAX_FILE_BYTES {
            return Err(LoadError::TooLarge {
                bytes: len,
                max: MAX_FILE_BYTES,
            });
        }
        // Check the claimed header length before reading the rest.
        let mut head = [0u8; 8];
        let got = read_up_to(&mut file, &mut head).map_err(io_err)?;
        check_header_length(&head[..got], len)?;
        let mut bytes = Vec::with_capacity(len as usize);
        bytes.extend_from_slice(&head[..got]);
        file.read_to_end(&mut bytes).map_err(io_err)?;
        Self::from_bytes(&bytes)
    }

    /// The tensors in the order the metadata lists them
    /// ([`ModelMeta::tensor_shapes`]), as [`to_bytes`] and the trainer take them.
    pub fn named_tensors(&self) -> Vec<NamedTensor> {
        self.meta
            .tensor_shapes()
            .into_iter()
            .map(|(name, shape)| {
                let data = self.tensors.get(&name).cloned().unwrap_or_default();
                (name, shape, data)
            })
            .collect()
    }

    /// Checks a model file held in memory (an embedded model, say).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        if bytes.len() as u64 > MAX_FILE_BYTES {
            return Err(LoadError::TooLarge {
                bytes: bytes.len() as u64,
                max: MAX_FILE_BYTES,
            });
        }
        check_header_length(bytes, bytes.len() as u64)?;
        refuse_duplicate_names(bytes)?;
        let (_, header) = SafeTensors::read_metadata(bytes)
            .map_err(|e| LoadError::NotSafetensors(e.to_string()))?;
        let json = header
            .metadata()
            .as_ref()
            .and_then(|m| m.get(METADATA_KEY))
            .ok_or(LoadError::MissingMetadata)?;
        let meta = parse_meta(json)?;
        meta.validate().map_err(LoadError::InvalidConfig)?;

        let st = SafeTensors::deserialize(bytes)
            .map_err(|e| LoadError::NotSafetensors(e.to_string()))?;
        let expected = meta.tensor_shapes();
        for name in st.names() {
            if !expected.iter().any(|(n, _)| n == name) {
                return Err(LoadError::UnexpectedTensor(name.to_string()));
            }
        }
        let mut tensors = HashMap::with_capacity(expected.len());
        for (name, shape) in expected {
            let view = st
                .tensor(&name)
                .map_err(|_| LoadError::MissingTensor(name.clone()))?;
            if view.dtype() != Dtype::F32 {
                return Err(LoadError::WrongDtype {
                    name,
                    found: format!("{:?}", view.dtype()),
                });
            }
            if view.shape() != shape.as_slice() {
                return Err(LoadError::WrongShape {
                    name,
                    expected: shape,
                    found: view.shape().to_vec(),
                });
            }
            let values: Vec<f32> = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            if let Some((index, &value)) = values.iter().enumerate().find(|(_, v)| !v.is_finite()) {
                return Err(LoadError::NonFinite { name, index, value });
            }
            tensors.insert(name, values);
        }
        Ok(Self { meta, tensors })
    }
}

/// Reads the metadata JSON, telling a newer format apart from a broken one.
fn parse_meta(json: &str) -> Result<ModelMeta, LoadError> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| LoadError::BadMetadata(e.to_string()))?;
    let version = value
        .get("format_version")
        .and_then(|v| v.as_u64())
        .ok_or_else(|| LoadError::BadMetadata("format_version is missing".into()))?;
    if version > FORMAT_VERSION as u64 {
        return Err(LoadError::FutureVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    serde_json::from_value(value).map_err(|e| LoadError::BadMetadata(e.to_string()))
}

/// JSON lets a key repeat and the safetensors parser keeps the last copy, so
/// two readers could see different weights in one file: refuse such headers.
fn refuse_duplicate_names(bytes: &[u8]) -> Result<(), LoadError> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    struct UniqueKeys;
    impl<'de> Visitor<'de> for UniqueKeys {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            // Read to the end: serde_json refuses a map left half-read.
            let mut seen = std::collections::HashSet::new();
            let mut twice = None;
            while let Some(key) = map.next_key::<String>()? {
                map.next_value::<IgnoredAny>()?;
                if !seen.insert(key.clone()) && twice.is_none() {
                    twice = Some(key);
                }
            }
            Ok(twice)
        }
    }

    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap_or([0; 8])) as usize;
    let Some(header) = bytes.get(8..8 + n) else {
        return Ok(()); // the length check has already refused it
    };
    let mut de = serde_json::Deserializer::from_slice(header);
    match de.deserialize_map(UniqueKeys) {
        Ok(Some(name)) => Err(LoadError::NotSafetensors(format!(
            "the header names {name} twice"
        ))),
        // Malformed JSON is reported by the safetensors parser just after.
        _ => Ok(()),
    }
}

/// The first 8 bytes give the header's length; it must fit in the file.
fn check_header_length(head: &[u8], file_len: u64) -> Result<(), LoadError> {
    let Some(n) = head.get(..8) else {
        return Err(LoadError::Truncated {
            claimed: 8,
            available: file_len,
        });
    };
    let n = u64::from_le_bytes(n.try_into().unwrap_or([0; 8]));
    let claimed = n.saturating_add(8);
    if claimed > file_len {
        return Err(LoadError::Truncated {
            claimed,
            available: file_len,
        });
    }
    Ok(())
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// A tensor to save: name, shape and row-major values.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Serialises a model; checks names and shapes against `meta` first, so no
/// file the engine would refuse is ever written.
pub fn to_bytes(meta: &ModelMeta, tensors: &[NamedTensor]) -> Result<Vec<u8>, FileError> {
    meta.validate().map_err(FileError::Invalid)?;
    let expected = meta.tensor_shapes();
    if expected.len() != tensors.len() {
        return Err(FileError::Invalid(format!(
            "{} tensors given, the layout has {}",
            tensors.len(),
            expected.len()
        )));
    }
    for (name, shape, values) in tensors {
        match expected.iter().find(|(n, _)| n == name) {
            None => return Err(FileError::Invalid(format!("unexpected tensor {name}"))),
            Some((_, s)) if s != shape => {
                return Err(FileError::Invalid(format!(
                    "tensor {name} has shape {shape:?}, expected {s:?}"
                )))
            }
            _ => {}
        }
        if values.len() != shape.iter().product::<usize>() {
            return Err(FileError::Invalid(format!(
                "tensor {name} has {} values for shape {shape:?}",
                values.len()
            )));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(FileError::Invalid(format!(
                "tensor {name} has non-finite values"
            )));
        }
    }
    let json = serde_json::to_string(meta).map_err(|e| FileError::Invalid(e.to_string()))?;
    let tensors = tensors
        .iter()
        .map(|(name, shape, values)| (name.clone(), shape.as_slice(), values.as_slice()));
    f32_safetensors(tensors, METADATA_KEY, json).map_err(FileError::Invalid)
}

/// f32 tensors (name, shape, row-major values) and one JSON metadata entry
/// under `key` as a `.safetensors` file's bytes: how model files and the
/// trainer's checkpoints are written.
pub fn f32_safetensors<'a>(
    tensors: impl IntoIterator<Item = (String, &'a [usize], &'a [f32])>,
    key: &str,
    json: String,
) -> Result<Vec<u8>, String> {
    let tensors: Vec<_> = tensors.into_iter().collect();
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|(_, _, v)| v.iter().flat_map(|x| x.to_le_bytes()).collect())
        .collect();
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|((name, shape, _), b)| {
            TensorView::new(Dtype::F32, shape.to_vec(), b)
                .map(|v| (name.clone(), v))
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let info = HashMap::from([(key.to_string(), json)]);
    safetensors::serialize(views, Some(info)).map_err(|e| e.to_string())
}

/// Saves a model atomically.
pub fn save(path: &Path, meta: &ModelMeta, tensors: &[NamedTensor]) -> Result<(), FileError> {
    let bytes = to_bytes(meta, tensors)?;
    write_atomic(path, &bytes).map_err(|source| FileError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Weights drawn uniformly from `[-scale, scale]` for every tensor of `meta`'s
/// layout, from a seeded stream: for tests, benchmarks and placeholders.
pub fn random_tensors(meta: &ModelMeta, seed: u64, scale: f32) -> Vec<NamedTensor> {
    let mut rng = crate::sampling::Rng::new(seed);
    meta.tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let n = shape.iter().product();
            let values = (0..n)
                .map(|_| (rng.next_f32() * 2.0 - 1.0) * scale)
                .collect();
            (name, shape, values)
        })
        .collect()
}
