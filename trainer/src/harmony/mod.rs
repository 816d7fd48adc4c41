//! Harmony figures for four-part writing, to put a model's harmonizations
//! beside Bach's own: parallel fifths and octaves, voice crossings, notes out
//! of range, and how often strong beats sound consonant.
//!
//! Everything works on the sounding pitch of each voice at each 16th step.
//!
//! `figures` counts them over pieces, `harmonize` harmonizes one piece's
//! soprano as the plugin would, `report` is the `harmony` command's
//! arguments and the figures it computes for a split, and `print` writes
//! them out.

mod figures;
mod harmonize;
mod print;
mod report;

pub use figures::{sounding_pitches, HarmonyStats, HarmonySummary, BACH_RANGES};
pub use harmonize::{harmonize, KeySource};
pub use print::{print, run};
pub use report::{
    check_model, meter_group, report, report_on, HarmonyArgs, HarmonyReport, HarmonyRow, Reference,
};
