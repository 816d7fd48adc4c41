//! Polyak averaging (`train --ema DECAY`): an exponential moving average of
//! the weights, updated after every applied update. Validation, the best
//! model and the model file use the average, which smooths over the noise
//! of the last updates (Polyak and Juditsky 1992; the "EMA" weights of
//! modern training recipes). Training itself goes on from the raw weights.

use candle_core::{Result, Tensor};

use crate::init::NamedTensor;
use crate::model::Network;

/// The averaged weights, in the order of [`Network::params`].
pub struct Average {
    pub decay: f64,
    tensors: Vec<Tensor>,
}

impl Average {
    /// Starts the average at `net`'s weights (copied: the optimizer updates
    /// its variables in place).
    pub fn new(net: &Network, decay: f64) -> Result<Self> {
        let tensors = net
            .params
            .iter()
            .map(|(_, v)| v.as_tensor().copy().map(|t| t.detach()))
            .collect::<Result<_>>()?;
        Ok(Self { decay, tensors })
    }

    /// The average a checkpoint saved (named as the model's tensors).
    pub fn from_named(net: &Network, decay: f64, named: &[NamedTensor]) -> Result<Self> {
        if named.len() != net.params.len() {
            candle_core::bail!(
                "the checkpoint's average has {} tensors, the model {}",
                named.len(),
                net.params.len()
            );
        }
        let tensors = net
            .params
            .iter()
            .zip(named)
            .map(|((name, _), (n, shape, data))| {
                if name != n {
                    candle_core::bail!("averaged tensor {n} where {name} was expected");
                }
                Tensor::from_vec(data.clone(), shape.as_slice(), &net.device)
            })
            .collect::<Result<_>>()?;
        Ok(Self { decay, tensors })
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
        for (avg, (_, var)) in self.tensors.iter_mut().zip(&net.params) {
            // Detached: each new average must not keep the last one's graph
            // (and through it every earlier one) alive.
            *avg = (avg.affine(d, 0.0)? + var.as_tensor().affine(1.0 - d, 0.0)?)?.detach();
        }
        Ok(())
    }

    /// The averaged weights, named as the model's.
    pub fn named(&self, net: &Network) -> Result<Vec<NamedTensor>> {
        net.params
            .iter()
            .zip(&self.tensors)
            .map(|((name, _), t)| {
                Ok((
                    name.clone(),
                    t.dims().to_vec(),
                    t.flatten_all()?.to_vec1::<f32>()?,
                ))
            })
            .collect()
    }
}
