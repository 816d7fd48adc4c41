//! `cargo xtask bundle bach-plugin --release` builds the `.clap` and `.vst3`
//! bundles into `target/bundled/` (nice-plug-xtask).

fn main() -> nice_plug_xtask::Result<()> {
    nice_plug_xtask::main()
}
