//! # bach-cli
//!
//! The `bach` command: Bach's harmonizer without a DAW. It plays MIDI files
//! through the engine's sequencer exactly as the plugin would
//! ([`offline`]), and renders the result to WAV and PNG ([`render`]). It
//! depends on the engine only, not on the trainer or candle. [`demo`]
//! harmonizes one of a few built-in melodies ([`tunes`]) with no files at all. The binary
//! (`src/main.rs`) is a thin layer over [`cli::run`]; tests call the modules
//! directly.

pub mod cli;
pub mod demo;
pub mod offline;
pub mod render;
pub mod tunes;
