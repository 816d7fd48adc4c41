//! Checkpoints: everything a killed run needs to go on exactly where it
//! stopped, in one `.safetensors` file written atomically.
//!
//! Tensors: `param.{name}` (current weights), `adam_m.{name}`, `adam_v.{name}`
//! (optimizer moments), `best.{name}` (the best weights so far) and, with
//! `--ema`, `average.{name}` (the weights' moving average). The JSON
//! under the metadata key [`CHECKPOINT_KEY`] holds the configuration, the model
//! metadata, the optimizer's step count and the progress (epoch, batch within
//! the epoch, history, early-stopping state). Random numbers come from streams
//! derived from (seed, epoch, batch), so those counters are the RNG state.

use std::path::{Path, PathBuf};

use bach_engine::ModelMeta;
use safetensors::tensor::{Dtype, SafeTensors};

use crate::config::{Progress, TrainConfig};
use crate::init::NamedTensor;

/// Metadata key of the trainer's JSON.
pub const CHECKPOINT_KEY: &str = "bach_trainer_checkpoint";

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("cannot read or write checkpoint {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a bach-trainer checkpoint: {reason}")]
    Invalid { path: String, reason: String },
}

/// The JSON part of a checkpoint.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Header {
    pub config: TrainConfig,
    pub meta: ModelMeta,
    pub progress: Progress,
    /// AdamW updates done so far.
    pub adam_t: u64,
}

/// A checkpoint in memory.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub header: Header,
    pub params: Vec<NamedTensor>,
    pub adam_m: Vec<NamedTensor>,
    pub adam_v: Vec<NamedTensor>,
    pub best: Option<Vec<NamedTensor>>,
    /// The weights' moving average (`--ema`).
    pub average: Option<Vec<NamedTensor>>,
}

impl Checkpoint {
    /// Writes the checkpoint atomically: a kill leaves the old file or the new one.
    pub fn save(&self, path: &Path) -> Result<(), CheckpointError> {
        let data = self.to_bytes(path)?;
        bach_engine::file::write_atomic(path, &data).map_err(|source| CheckpointError::Io {
            path: path.display().to_string(),
            source,
        })
    }

    /// The file's bytes (`path` only names it in errors).
    pub fn to_bytes(&self, path: &Path) -> Result<Vec<u8>, CheckpointError> {
        let invalid = |reason: String| CheckpointError::Invalid {
            path: path.display().to_string(),
            reason,
        };
        let mut entries: Vec<(String, &[usize], &[f32])> = Vec::new();
        let groups: [(&str, Option<&Vec<NamedTensor>>); 5] = [
            ("param", Some(&self.params)),
            ("adam_m", Some(&self.adam_m)),
            ("adam_v", Some(&self.adam_v)),
            ("best", self.best.as_ref()),
            ("average", self.average.as_ref()),
        ];
        for (prefix, group) in groups {
            for (name, shape, data) in group.into_iter().flatten() {
                entries.push((format!("{prefix}.{name}"), shape, data));
            }
        }
        let json = serde_json::to_string(&self.header).map_err(|e| invalid(e.to_string()))?;
        bach_engine::file::f32_safetensors(entries, CHECKPOINT_KEY, json).map_err(invalid)
    }

    pub fn load(path: &Path) -> Result<Self, CheckpointError> {
        let p = path.display().to_string();
        let invalid = |reason: String| CheckpointError::Invalid {
            path: p.clone(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
            path: p.clone(),
            source,
        })?;
        let (_, metadata) =
            SafeTensors::read_metadata(&bytes).map_err(|e| invalid(e.to_string()))?;
        let json = metadata
            .metadata()
            .as_ref()
            .and_then(|m| m.get(CHECKPOINT_KEY))
            .ok_or_else(|| invalid(format!("no \"{CHECKPOINT_KEY}\" metadata")))?;
        let header: Header = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
        header.meta.validate().map_err(&invalid)?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| invalid(e.to_string()))?;
        // The model's tensors, and the chord head's beside them where the
        // run trains one (`--chord-aux`; never among the best weights).
        let model = header.meta.tensor_shapes();
        let mut trained = model.clone();
        if header.config.training.chord_aux > 0.0 {
            trained.extend(crate::chord_aux::tensor_shapes(header.meta.hidden));
        }
        let read = |prefix: &str,
                    shapes: &[(String, Vec<usize>)],
                    required: bool|
         -> Result<Option<Vec<NamedTensor>>, CheckpointError> {
            let mut out = Vec::new();
            for (name, shape) in shapes.iter().cloned() {
                let key = format!("{prefix}.{name}");
                let view = match st.tensor(&key) {
                    Ok(v) => v,
                    Err(_) if !required => return Ok(None),
                    Err(_) => return Err(invalid(format!("tensor {key} is missing"))),
                };
                if view.dtype() != Dtype::F32 || view.shape() != shape.as_slice() {
                    return Err(invalid(format!("tensor {key} has the wrong type or shape")));
                }
                let data = view
                    .data()
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect();
                out.push((name, shape, data));
            }
            Ok(Some(out))
        };
        Ok(Self {
            params: read("param", &trained, true)?.unwrap_or_default(),
            adam_m: read("adam_m", &trained, true)?.unwrap_or_default(),
            adam_v: read("adam_v", &trained, true)?.unwrap_or_default(),
            best: read("best", &model, false)?,
            average: read("average", &model, header.config.training.ema > 0.0)?,
            header,
        })
    }
}

/// Removes the temporary files beside `path` that a killed writer left
/// (their process is gone), and returns them. A kill mid-write leaves
/// such a file; the target itself is always whole, so only this is needed.
pub fn remove_stale_temps(path: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    for (tmp, pid) in bach_engine::file::temp_files(path) {
        if !process_alive(pid) && std::fs::remove_file(&tmp).is_ok() {
            removed.push(tmp);
        }
    }
    removed
}

/// Whether process `pid` still runs (Linux's /proc; elsewhere only this process
/// counts as running, so a concurrent writer to the same file loses its temp).
fn process_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        // This run has written nothing yet when it cleans up: a reused id.
        return false;
    }
    let proc_dir = Path::new("/proc");
    proc_dir.join("self").exists() && proc_dir.join(pid.to_string()).exists()
}
