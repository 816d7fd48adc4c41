//! `bach-trainer rewrite-provenance`: a model file's training record cleaned
//! of paths and completed, its tensors kept byte for byte. Settings missing
//! from old records are recovered by parsing the recorded `train` command
//! with this trainer's flags, which is why this lives with the commands.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use bach_engine::{ModelKind, ModelMeta};
use clap::{Args, Parser};
use safetensors::tensor::SafeTensors;

use crate::dataset::Dataset;
use crate::load::{check_fit, load_dataset};
use crate::provenance::{clean_command, file_name_only, Settings};

#[derive(Args, Debug)]
pub struct RewriteArgs {
    /// The model file whose training record to clean.
    pub model: PathBuf,
    /// The dataset it was trained on: its SHA-256 and split sizes are added
    /// (its file name must be the recorded one).
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Where to write the result (default: over MODEL, atomically).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Runs `rewrite-provenance`.
pub fn rewrite_command(args: RewriteArgs) -> Result<()> {
    let bytes = std::fs::read(&args.model)
        .with_context(|| format!("cannot read {}", args.model.display()))?;
    let data = match &args.dataset {
        Some(p) => {
            let kind = bach_engine::ModelFile::from_bytes(&bytes)
                .with_context(|| format!("cannot load model {}", args.model.display()))?
                .meta
                .kind;
            Some(load_dataset(p, Some(kind), None)?)
        }
        None => None,
    };
    let (out_bytes, meta) = rewrite(&bytes, data.as_ref())
        .with_context(|| format!("cannot rewrite {}", args.model.display()))?;
    let out = args.out.as_ref().unwrap_or(&args.model);
    bach_engine::file::write_atomic(out, &out_bytes)
        .with_context(|| format!("cannot write {}", out.display()))?;
    eprintln!(
        "wrote {}: training record cleaned, tensors unchanged byte for byte",
        out.display()
    );
    if let Some(t) = &meta.training {
        print!("{}", crate::provenance::describe(t));
    }
    Ok(())
}

/// A model file's bytes with its training record cleaned and completed, and
/// every tensor's bytes as they were. The command is cut to file names; the
/// settings are recovered by parsing the recorded `train` command (with the
/// defaults of this trainer's flags) when the record has none; `data`, when
/// given, adds the dataset's hash and split sizes. Everything else is kept.
pub fn rewrite(bytes: &[u8], data: Option<&Dataset>) -> Result<(Vec<u8>, ModelMeta)> {
    let file = bach_engine::ModelFile::from_bytes(bytes)?;
    let mut meta = file.meta;
    if let Some(data) = data {
        check_fit(&meta, data)?;
    }
    let Some(t) = meta.training.as_mut() else {
        bail!("the file has no training record");
    };
    t.dataset = file_name_only(&t.dataset);
    if t.settings.is_none() {
        t.settings =
            settings_from_command(&t.command, meta.kind, meta.step_beats).map(|s| s.to_map());
    }
    t.command = clean_command(&t.command);
    if let Some(data) = data {
        if data.name != t.dataset {
            bail!("the model was trained on {}, not {}", t.dataset, data.name);
        }
        t.dataset_sha256.clone_from(&data.sha256);
        t.split_sizes = Some(data.split_sizes());
    }
    Ok((replace_metadata(bytes, &meta)?, meta))
}

/// The settings a recorded `train` command line stands for.
fn settings_from_command(command: &str, kind: ModelKind, step_beats: f64) -> Option<Settings> {
    let cli = super::Cli::try_parse_from(command.split_whitespace()).ok()?;
    let super::Command::Train(args) = cli.command else {
        return None;
    };
    if args.resume.is_some() {
        // The checkpoint's settings won, and they are not in the command.
        return None;
    }
    let mut config = super::train::train_config(&args);
    if !command.contains("--recurrence") {
        // Old records, the ones this rewrites, predate the fused recurrence:
        // they were trained step by step.
        config.training.recurrence = crate::fused::Recurrence::Unfused;
    }
    Some(Settings::new(&config, kind, step_beats))
}

/// `bytes` with the Bach metadata replaced by `meta` and every other header
/// entry and tensor as it was; checks that each tensor's bytes came through.
fn replace_metadata(bytes: &[u8], meta: &ModelMeta) -> Result<Vec<u8>> {
    let (_, header) = SafeTensors::read_metadata(bytes)?;
    let mut info = header.metadata().clone().unwrap_or_default();
    info.insert(
        bach_engine::meta::METADATA_KEY.to_string(),
        serde_json::to_string(meta)?,
    );
    let st = SafeTensors::deserialize(bytes)?;
    // The tensors go back as they came, as views of the original bytes.
    let out = safetensors::serialize(st.tensors(), Some(info))?;
    let back = SafeTensors::deserialize(&out)?;
    if back.len() != st.len() {
        bail!("the rewrite changed the number of tensors");
    }
    for (name, v) in st.iter() {
        if back.tensor(name)?.data() != v.data() {
            bail!("the rewrite changed tensor {name}");
        }
    }
    bach_engine::ModelFile::from_bytes(&out)?;
    Ok(out)
}
