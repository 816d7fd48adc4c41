//! A folder of MIDI files (written last; see `load`).

use std::path::Path;

use bach_engine::ModelKind;

use super::{Dataset, DatasetError};

pub fn load(path: &Path, _kind: ModelKind) -> Result<Dataset, DatasetError> {
    Err(DatasetError::Format {
        path: path.to_owned(),
        reason: "MIDI folders are not supported yet".into(),
    })
}
