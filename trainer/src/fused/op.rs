//! The candle op: what it holds, the shapes it accepts, and its forward and
//! backward as candle calls them (the work itself is in `forward` and
//! `backward`).

use std::sync::Mutex;

use bach_engine::CoreKind;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Storage, Tensor};

use super::buffers::give_back_saved;
use super::threads::pool_threads;
use super::{gates, states};

/// The op. `saved` holds, per row and step (`[B, T, 4·H]`), what the
/// backward needs beyond the outputs: GRU `r, z, n, W_hn·h + b_hn`; LSTM
/// `i, f, g, o`; tanh nothing.
pub(super) struct FusedRecurrence {
    pub(super) core: CoreKind,
    pub(super) hidden: usize,
    /// Whether a backward can follow (else nothing is saved).
    pub(super) keep: bool,
    /// Whether the inputs need their gradient (not the data under the first layer).
    pub(super) x_grad: bool,
    pub(super) saved: Mutex<Vec<f32>>,
}

impl Drop for FusedRecurrence {
    fn drop(&mut self) {
        let saved = std::mem::take(self.saved.get_mut().unwrap_or_else(|e| e.into_inner()));
        give_back_saved(saved);
    }
}

/// The sizes of one call.
#[derive(Clone, Copy)]
pub(super) struct Dims {
    /// Steps.
    pub(super) t: usize,
    /// Inputs per step.
    pub(super) i: usize,
}

impl FusedRecurrence {
    pub(super) fn gn(&self) -> usize {
        gates(self.core) * self.hidden
    }

    pub(super) fn sh(&self) -> usize {
        states(self.core) * self.hidden
    }

    /// Whether the forward keeps activations.
    pub(super) fn saves(&self) -> bool {
        self.keep && self.core != CoreKind::Tanh
    }

    /// The batch size and the call's sizes, from the inputs' shapes.
    fn check(&self, x: &[usize], s0: &[usize], w: &[usize]) -> Result<(usize, Dims)> {
        let (h, gn, sh) = (self.hidden, self.gn(), self.sh());
        match (x, s0, w) {
            ([b, t, i], [b2, s], [g2, c])
                if *b2 == *b && *s == sh && *g2 == gn && *c == h + 2 + *i =>
            {
                Ok((*b, Dims { t: *t, i: *i }))
            }
            _ => candle_core::bail!(
                "fused {:?} recurrence of {h}: unexpected shapes {x:?}, {s0:?}, {w:?}",
                self.core
            ),
        }
    }
}

impl CustomOp3 for FusedRecurrence {
    fn name(&self) -> &'static str {
        "fused-recurrence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (b, d) = self.check(l1.dims(), l2.dims(), l3.dims())?;
        let threads = pool_threads();
        let (out, saved) = self.forward(
            cpu_f32(s1, l1)?,
            cpu_f32(s2, l2)?,
            cpu_f32(s3, l3)?,
            b,
            d,
            threads,
        );
        if self.keep {
            let mut slot = self.saved.lock().expect("the saved activations' lock");
            give_back_saved(std::mem::replace(&mut *slot, saved));
        } else {
            give_back_saved(saved);
        }
        Ok((CpuStorage::F32(out), Shape::from((b, d.t, self.sh()))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        s0: &Tensor,
        w: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, d) = self.check(x.dims(), s0.dims(), w.dims())?;
        if grad_res.dtype() != DType::F32 {
            candle_core::bail!("the fused recurrence runs on f32 only");
        }
        let grad_res = grad_res.contiguous()?;
        let (d_x, d_s0, d_w) = {
            let (xg, xl) = x.storage_and_layout();
            let (s0g, s0l) = s0.storage_and_layout();
            let (wg, wl) = w.storage_and_layout();
            let (og, ol) = res.storage_and_layout();
            let (gg, gl) = grad_res.storage_and_layout();
            let saved = self.saved.lock().expect("the saved activations' lock");
            let want = if self.saves() {
                b * d.t * 4 * self.hidden
            } else {
                0
            };
            if !self.keep || saved.len() != want {
                candle_core::bail!("the fused recurrence kept no activations for its backward");
            }
            self.backward(
                storage_f32(&xg, xl)?,
                storage_f32(&s0g, s0l)?,
                storage_f32(&wg, wl)?,
                storage_f32(&og, ol)?,
                storage_f32(&gg, gl)?,
                &saved,
                b,
                d,
                pool_threads(),
            )
        };
        let dev = x.device();
        Ok((
            d_x.map(|v| Tensor::from_vec(v, x.shape(), dev))
                .transpose()?,
            Some(Tensor::from_vec(d_s0, s0.shape(), dev)?),
            Some(Tensor::from_vec(d_w, w.shape(), dev)?),
        ))
    }
}

/// A contiguous f32 CPU tensor's numbers.
fn cpu_f32<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("the fused recurrence runs on f32 only");
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("the fused recurrence needs contiguous tensors"),
    }
}

fn storage_f32<'a>(s: &'a Storage, l: &Layout) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(c) => cpu_f32(c, l),
        _ => candle_core::bail!("the fused recurrence runs on the CPU only"),
    }
}
