//! Polyak averaging (`train --ema DECAY`): an exponential moving average of
//! the weights, updated after every applied update. Validation, the best
//! model and the model file use the average, which smooths over the noise
//! of the last updates (Polyak and Juditsky 1992; the "EMA" weights of
//! modern training recipes). Training itself goes on from the raw weights.

use candle_core::Result;

use crate::init::NamedTensor;
use crate::model::Network;

/// The averaged weights, held as a network of the trained one's layout so
/// it is judged and written as any network is.
pub struct Average {
    pub decay: f64,
    net: Network,
}

impl Average {
    /// Starts the average at `net`'s weights.
    pub fn new(net: &Network, decay: f64) -> Result<Self> {
        Self::from_named(net, decay, &net.tensors()?)
    }

    /// An average of `net`'s layout holding `named` (a checkpoint's).
    pub fn from_named(net: &Network, decay: f64, named: &[NamedTensor]) -> Result<Self> {
        let mut avg = Network::from_tensors(net.meta.clone(), named, &net.device)?;
        avg.recurrence = net.recurrence;
        Ok(Self { decay, net: avg })
    }

    /// The decay for the `updates`-th update: short at first, so the first
    /// epochs' random weights fade at once, then `decay`.
    pub fn decay_at(&self, updates: u64) -> f64 {
        let u = updates as f64;
        self.decay.min((1.0 + u) / (10.0 + u))
    }

    /// Folds `net`'s weights after its `updates`-th update into the average.
    pub fn update(&mut self, net: &Network, updates: u64) -> Result<()> {
        let d = self.decay_at(updates);
        for ((_, avg), (_, var)) in self.net.params.iter().zip(&net.params) {
            // `set` copies the values in, so no graph is kept from one
            // update to the next.
            avg.set(&(avg.as_tensor().affine(d, 0.0)? + var.as_tensor().affine(1.0 - d, 0.0)?)?)?;
        }
        Ok(())
    }

    /// The averaged weights as a network.
    pub fn network(&self) -> &Network {
        &self.net
    }

    /// The averaged weights, named as the model's.
    pub fn named(&self) -> Result<Vec<NamedTensor>> {
        self.net.tensors()
    }
}
