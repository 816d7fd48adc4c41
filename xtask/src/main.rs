//! `cargo xtask bundle bach-plugin --release` builds the `.clap` and `.vst3`
//! bundles into `target/bundled/` (nice-plug-xtask). One extra command,
//! `cargo xtask placeholder-model`, writes an untrained stand-in for the
//! embedded default model when `models/chorale-satb.safetensors` is missing,
//! so the plugin builds before the real model has been trained.

use std::path::Path;

use bach_engine::file::{random_tensors, save};
use bach_engine::{CoreKind, ModelMeta};

const DEFAULT_MODEL: &str = "models/chorale-satb.safetensors";

fn main() -> nice_plug_xtask::Result<()> {
    if std::env::args().nth(1).as_deref() == Some("placeholder-model") {
        let force = std::env::args().any(|a| a == "--force");
        return placeholder_model(force);
    }
    nice_plug_xtask::main()
}

fn placeholder_model(force: bool) -> nice_plug_xtask::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join(DEFAULT_MODEL);
    if path.exists() && !force {
        println!(
            "{} exists; not replacing it (pass --force to)",
            path.display()
        );
        return Ok(());
    }
    let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 64);
    meta.name = "chorale-satb (untrained placeholder)".into();
    save(&path, &meta, &random_tensors(&meta, 2024, 0.3))?;
    println!("wrote an untrained placeholder to {}", path.display());
    Ok(())
}
