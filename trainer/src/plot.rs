//! PNG plots (written later).

use anyhow::Result;
use clap::Args;

#[derive(Args, Debug)]
pub struct PlotArgs {}

pub fn run(_args: PlotArgs) -> Result<()> {
    anyhow::bail!("plot is not written yet")
}
