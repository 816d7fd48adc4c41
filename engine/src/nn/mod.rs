//! Allocation-free layers: every buffer is sized when a model loads, and
//! every `forward`/`step` only reads and writes those buffers.

mod cell;
mod gru;
mod kernels;
mod layer;
mod lstm;
mod nade;
mod tanh_rnn;

pub use cell::RecurrentCell;
pub use gru::Gru;
pub use kernels::{add_columns, detect_simd, dot, matvec_add};
pub use layer::{Cell, Input, Layer};
pub use lstm::Lstm;
pub use nade::Nade;
pub use tanh_rnn::TanhRnn;

#[inline]
pub(crate) fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}
