//! # bach-trainer
//!
//! Trains Bach's recurrent models with candle and writes `.safetensors` files
//! in the engine's format. The command line (`src/main.rs`) is a thin layer
//! over [`cli::run`]; tests call the modules directly.

pub mod batch;
pub mod checkpoint;
pub mod cli;
pub mod dataset;
pub mod eval;
pub mod harmony;
pub mod init;
pub mod model;
pub mod offline;
pub mod optim;
pub mod plot;
pub mod provenance;
pub mod render;
pub mod rng;
pub mod train;
