//! The maintainer notes name the model format this engine writes: a new
//! format version that forgets `docs/engine.md` fails here.

use bach_engine::meta::FORMAT_VERSION;

#[test]
fn the_engine_notes_name_the_current_format_version() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/engine.md");
    let notes = std::fs::read_to_string(path).expect("docs/engine.md");
    let heading = format!("## Model file format (version {FORMAT_VERSION})");
    assert!(
        notes.lines().any(|l| l == heading),
        "docs/engine.md has no heading {heading:?}: the format section is out of date"
    );
    let example = format!("{{\"format_version\":{FORMAT_VERSION},");
    assert!(
        notes.contains(&example),
        "docs/engine.md's example metadata is not {example:?}"
    );
}
