//! The recurrent core every model kind shares: the stacked layers, fed a
//! sparse input (the active one-hot indices) and the step's context.

use crate::file::ModelFile;
use crate::meta::{CoreKind, ModelMeta};
use crate::model::context::{self, StepContext, MAX_CONTEXT_ACTIVE};
use crate::nn::{Cell, Gru, Input, Layer, Lstm, TanhRnn};

/// The layers, their input scratch and the model's description.
#[derive(Clone, Debug)]
pub(crate) struct Core {
    pub meta: ModelMeta,
    layers: Vec<Layer>,
    /// Active input indices for the first layer.
    active: Vec<usize>,
}

impl Core {
    /// Builds the layers from checked weights (names and shapes are
    /// guaranteed by [`ModelFile`], so indexing cannot go wrong), taking
    /// their tensors out of `file`. `inputs` bounds the active inputs per step.
    pub fn new(file: &mut ModelFile, inputs: usize) -> Self {
        crate::nn::detect_simd();
        let meta = file.meta.clone();
        let h = meta.hidden;
        let mut layers = Vec::with_capacity(meta.layers);
        for l in 0..meta.layers {
            let w_ih = take(file, format!("core.{l}.weight_ih"));
            let w_hh = take(file, format!("core.{l}.weight_hh"));
            let b_ih = take(file, format!("core.{l}.bias_ih"));
            let b_hh = take(file, format!("core.{l}.bias_hh"));
            let input = if l == 0 {
                Input::Columns(transpose(&w_ih, b_ih.len()))
            } else {
                Input::Rows(w_ih)
            };
            let cell = match meta.core {
                CoreKind::Gru => Cell::Gru(Gru::new(h, w_hh, b_hh)),
                CoreKind::Lstm => Cell::Lstm(Lstm::new(h, w_hh, b_hh)),
                CoreKind::Tanh => Cell::Tanh(TanhRnn::new(h, w_hh, b_hh)),
            };
            layers.push(Layer::new(input, b_ih, cell));
        }
        Self {
            meta,
            layers,
            active: Vec::with_capacity(inputs + MAX_CONTEXT_ACTIVE),
        }
    }

    /// The top layer's state.
    pub fn hidden(&self) -> &[f32] {
        self.layers.last().map(|l| l.hidden()).unwrap_or(&[])
    }

    /// Zero state.
    pub fn reset(&mut self) {
        for l in &mut self.layers {
            l.reset();
        }
    }

    /// Advances one step on the active input indices `inputs` (at most the
    /// bound given to [`new`](Self::new)) and the step's context.
    pub fn advance(&mut self, inputs: impl Iterator<Item = usize>, ctx: &StepContext) {
        self.active.clear();
        self.active.extend(inputs);
        // At most MAX_CONTEXT_ACTIVE more pushes: within the capacity
        // reserved in `new`, so the scratch never grows.
        let active = &mut self.active;
        context::encode(&self.meta, ctx, &mut |i| active.push(i));
        let Some((first, rest)) = self.layers.split_first_mut() else {
            return;
        };
        first.step_active(&self.active);
        let mut below: &Layer = first;
        for layer in rest {
            layer.step_dense(below.hidden());
            below = layer;
        }
    }
}

/// Takes a tensor out of the file (empty if absent, which [`ModelFile`]'s
/// checks rule out).
pub(crate) fn take(file: &mut ModelFile, name: String) -> Vec<f32> {
    file.tensors.remove(&name).unwrap_or_default()
}

/// Row-major `[rows, cols]` to column-major.
fn transpose(w: &[f32], rows: usize) -> Vec<f32> {
    if rows == 0 {
        return Vec::new();
    }
    let cols = w.len() / rows;
    let mut t = vec![0.0; w.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = w[r * cols + c];
        }
    }
    t
}
