//! # bach-trainer
//!
//! Trains Bach's recurrent models with candle and writes `.safetensors` files
//! in the engine's format. The command line (`src/main.rs`) is a thin layer
//! over [`command::run`]; tests call the modules directly.

pub mod average;
pub mod batch;
pub mod calibrate;
pub mod checkpoint;
pub mod chord_aux;
pub mod command;
pub mod config;
pub mod dataset;
pub mod eval;
pub mod finetune;
mod flags;
pub mod fused;
pub mod harmony;
pub mod hash;
pub mod init;
pub mod judge;
pub mod live;
pub mod load;
pub mod lone;
pub mod model;
pub mod optim;
pub mod plot;
pub mod provenance;
pub mod recipe;
pub mod report;
pub mod rng;
pub mod roman;
pub mod train;
