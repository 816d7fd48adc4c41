//! The fused recurrence: one candle op runs a layer's whole chunk of steps,
//! input projection included, and its backward is back-propagation through
//! time written by hand.
//!
//! Built from ordinary ops, every step of every layer costs a dozen small
//! tensors, each recorded for backward, and the per-step matrix products are
//! too small for the GEMM to pay off its set-up; that made a training step
//! about twice as slow as PyTorch's. Here a layer is one custom op over
//! `(x [B, T, I], state0 [B, S·H], [W_hh | b_hh | b_ih | W_ih] [G·H, H + 2 + I])`.
//! It returns `[B, T, S·H]`: each step's `h`, and for the LSTM its cell `c`
//! beside it (S = 2), so the carried state and any gradient through the cells
//! need nothing else. The forward keeps the gate activations the backward
//! needs. The input projection lives inside the op too, rather than as a
//! candle matmul: candle's backward would compute the gradient of the data
//! below the first layer, which nothing needs, and allocate and add a
//! zero-filled gradient for every intermediate tensor.
//!
//! The layout is batch-major, so each batch row's steps are contiguous. Each
//! row's recurrence is independent of the others', so the CPU threads split
//! the batch and run a whole chunk without meeting, every thread over its own
//! contiguous block of every buffer: its rows' input projection, weight
//! gradients and input gradients are each one single-threaded product (the
//! `gemm` crate candle's matmul uses) and only the per-step products remain
//! small. The threads are candle's barrier pool, the ones that run its
//! elementwise kernels, already started and spinning between ops (a second
//! pool, such as rayon's, would compete with them for the cores), and each
//! thread's scratch buffers are kept between calls, so a training step
//! neither starts threads nor faults in fresh pages for them.
//!
//! Maths and gate order are PyTorch's, as in [`crate::model`]'s unfused
//! cells, which stay the reference (`--recurrence unfused`). There is no CUDA
//! kernel: on a GPU the model uses the unfused ops.
//!
//! The parts: `op` is the candle op (its shapes and its forward and
//! backward entry points), `forward` and `backward` run a group of batch
//! rows through the chunk, `cells` holds each cell's step (the gate
//! maths), `threads` splits the batch over candle's threads, `buffers`
//! keeps the scratch memory between calls, and `gemm` is the matrix product.

mod backward;
mod buffers;
mod cells;
mod forward;
mod gemm;
mod op;
mod threads;

use std::sync::Mutex;

use bach_engine::CoreKind;
use candle_core::{Result, Tensor};

use op::FusedRecurrence;

/// Which implementation of the recurrence a network runs.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Recurrence {
    /// One op per layer and chunk, with a hand-written backward (CPU only;
    /// on CUDA the unfused ops run instead).
    #[default]
    Fused,
    /// Candle's ops step by step: the reference.
    Unfused,
}

impl Recurrence {
    pub fn name(self) -> &'static str {
        match self {
            Recurrence::Fused => "fused",
            Recurrence::Unfused => "unfused",
        }
    }
}

/// Gate blocks per core: G in `W_hh`'s `[G·H, H]`.
pub fn gates(core: CoreKind) -> usize {
    match core {
        CoreKind::Tanh => 1,
        CoreKind::Gru => 3,
        CoreKind::Lstm => 4,
    }
}

/// State vectors per step: S (the LSTM carries `h` and `c`).
pub fn states(core: CoreKind) -> usize {
    match core {
        CoreKind::Lstm => 2,
        _ => 1,
    }
}

/// Runs one layer over a chunk. `x`: `[B, T, I]`, the layer's inputs;
/// `state0`: `[B, S·H]` (`h`, then `c` for the LSTM); `w_ih`: `[G·H, I]`;
/// `w_hh`: `[G·H, H]`; `b_hh`, `b_ih`: `[G·H]`. Returns `[B, T, S·H]`.
pub fn recurrence(
    core: CoreKind,
    x: &Tensor,
    state0: &Tensor,
    w_ih: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    b_ih: &Tensor,
) -> Result<Tensor> {
    let (gh, hidden) = w_hh.dims2()?;
    if gh != gates(core) * hidden {
        candle_core::bail!("fused {core:?} recurrence: W_hh is {gh}×{hidden}");
    }
    // All weights in one tensor (a custom op takes three): the biases ride
    // beside W_hh, and the op adds them itself and sums their gradients,
    // much cheaper than candle's broadcast add over [B·T, G·H] and its backward.
    let w = Tensor::cat(&[w_hh, &b_hh.unsqueeze(1)?, &b_ih.unsqueeze(1)?, w_ih], 1)?;
    let keep = x.track_op() || state0.track_op() || w.track_op();
    x.contiguous()?.apply_op3(
        &state0.contiguous()?,
        &w.contiguous()?,
        FusedRecurrence {
            core,
            hidden,
            keep,
            x_grad: x.track_op(),
            saved: Mutex::new(Vec::new()),
        },
    )
}
