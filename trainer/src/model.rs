//! The network in candle, with exactly the engine's tensors and maths
//! (PyTorch's GRU/LSTM/RNN layout; see `bach_engine::meta`).

use bach_engine::pianoroll::KEYS;
use bach_engine::{CoreKind, FrameOutput, ModelKind, ModelMeta};
use candle_core::{DType, Device, Result, Tensor, Var, D};

use crate::batch::{Chunk, Targets};
use crate::fused::{self, Recurrence};
use crate::init::NamedTensor;
use crate::rng::Rng;

/// One recurrent layer's weights, transposed once per chunk for `x · Wᵀ`.
struct Layer {
    wih: Tensor,
    wih_t: Tensor,
    whh: Tensor,
    whh_t: Tensor,
    bih: Tensor,
    bhh: Tensor,
}

/// The weights as tensors for one forward pass: tracked (training) or detached.
pub struct Weights {
    core: CoreKind,
    hidden: usize,
    recurrence: Recurrence,
    layers: Vec<Layer>,
    /// `(weightᵀ, bias)` per head.
    heads: Vec<(Tensor, Tensor)>,
    /// Per head, the one-hot columns it reads (the voices decided before
    /// it, in decision order) as `(start, len)` runs of the step's one-hot.
    above: Vec<Vec<(usize, usize)>>,
    /// Per head, its voice-pair score weights `[k * PAIR_FEATURES, 1]` for
    /// the `k` voices decided before it (a model with `pair_score`).
    pairs: Vec<Option<Tensor>>,
    /// Per head, its hidden layer (a model with `head_hidden`).
    hidden_layers: Vec<Option<HeadHidden>>,
    nade: Option<NadeWeights>,
}

/// A head's hidden layer: `out_t · relu(in_t · x + bias)` adds to its logits.
struct HeadHidden {
    /// `[H + above, D]`.
    in_t: Tensor,
    bias: Tensor,
    /// `[D, vocab]`.
    out_t: Tensor,
}

/// An NADE frame output's weights, laid out for batched teacher forcing.
struct NadeWeights {
    /// `[H, N]`.
    cond_t: Tensor,
    cond_bias: Tensor,
    /// `[88, N]`: row `j` is what key `j` adds to the hidden pre-activation.
    input_t: Tensor,
    /// `[N, 88]`.
    output_t: Tensor,
}

/// The segments of each frame (see [`Weights::key_logits`]): `prefix`
/// `[rows * segments, 88]`, row `r * segments + s` marking the first `s`
/// sounding keys of frame `r`; `segment` `[rows, 1, 88]` u32, the number of
/// sounding keys below each key; and the number of segments (the most keys
/// any frame sounds, plus one).
fn segments(frames: &[Vec<f32>], device: &Device) -> Result<(Tensor, Tensor, usize)> {
    let rows = frames.len();
    let most = frames
        .iter()
        .map(|f| f.iter().filter(|&&x| x > 0.5).count())
        .max()
        .unwrap_or(0);
    let segments = most + 1;
    let mut prefix = vec![0f32; rows * segments * KEYS];
    let mut segment = vec![0u32; rows * KEYS];
    for (r, frame) in frames.iter().enumerate() {
        let mut below = 0;
        for (k, &x) in frame.iter().enumerate().take(KEYS) {
            segment[r * KEYS + k] = below as u32;
            if x > 0.5 {
                below += 1;
                for s in below..segments {
                    prefix[(r * segments + s) * KEYS + k] = 1.0;
                }
            }
        }
    }
    Ok((
        Tensor::from_vec(prefix, (rows * segments, KEYS), device)?,
        Tensor::from_vec(segment, (rows, 1, KEYS), device)?,
        segments,
    ))
}

/// Where the one-hot blocks of `voices` (in this order) lie in a step's
/// one-hot (register order), as `(start, len)` runs, neighbours merged: top
/// first, voice `v`'s head reads one run, the first blocks.
fn onehot_runs(meta: &ModelMeta, voices: &[usize]) -> Vec<(usize, usize)> {
    let vocab = |u: usize| meta.voices[u].range().vocab();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &u in voices {
        let start: usize = (0..u).map(vocab).sum();
        match runs.last_mut() {
            Some((s, len)) if *s + *len == start => *len += vocab(u),
            _ => runs.push((start, vocab(u))),
        }
    }
    runs
}

/// One layer's recurrent state.
#[derive(Clone)]
pub struct LayerState {
    pub h: Tensor,
    /// The LSTM's cell.
    pub c: Option<Tensor>,
}

/// The recurrent state of every layer, `[B, H]` each.
#[derive(Clone)]
pub struct State(pub Vec<LayerState>);

impl State {
    /// The state carried into the next chunk: same values, no gradient history.
    pub fn detach(&self) -> State {
        State(
            self.0
                .iter()
                .map(|l| LayerState {
                    h: l.h.detach(),
                    c: l.c.as_ref().map(Tensor::detach),
                })
                .collect(),
        )
    }
}

/// Trainable parameters of a model in the engine's layout.
pub struct Network {
    pub meta: ModelMeta,
    /// `(name, var)` in the order of `meta.tensor_shapes()`.
    pub params: Vec<(String, Var)>,
    pub device: Device,
    /// How the recurrence runs (fused by default; see [`crate::fused`]).
    pub recurrence: Recurrence,
}

/// Dropout for one forward pass: probability and the stream its masks come from.
pub struct Dropout<'a> {
    pub p: f32,
    pub rng: &'a mut Rng,
}

impl Dropout<'_> {
    fn apply(&mut self, x: &Tensor) -> Result<Tensor> {
        if self.p <= 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.p;
        let n = x.elem_count();
        let mask: Vec<f32> = (0..n)
            .map(|_| {
                if self.rng.uniform() < keep as f64 {
                    1.0 / keep
                } else {
                    0.0
                }
            })
            .collect();
        x.mul(&Tensor::from_vec(mask, x.shape(), x.device())?)
    }

    /// The masks [`Dropout::apply`] would draw for `layers` layers over
    /// `steps` steps of `per_step` numbers, drawn in the same order (step by
    /// step, layer by layer), laid out per layer as `[steps, per_step]`.
    /// `None` when dropout is off.
    fn masks(&mut self, layers: usize, steps: usize, per_step: usize) -> Option<Vec<Vec<f32>>> {
        if self.p <= 0.0 {
            return None;
        }
        let keep = 1.0 - self.p;
        let mut masks = vec![Vec::with_capacity(steps * per_step); layers];
        for _ in 0..steps {
            for m in masks.iter_mut() {
                m.extend((0..per_step).map(|_| {
                    if self.rng.uniform() < keep as f64 {
                        1.0 / keep
                    } else {
                        0.0
                    }
                }));
            }
        }
        Some(masks)
    }
}

impl Network {
    /// Builds a network from named tensors (which must match `meta`).
    pub fn from_tensors(meta: ModelMeta, tensors: &[NamedTensor], device: &Device) -> Result<Self> {
        let expected = meta.tensor_shapes();
        if expected.len() != tensors.len() {
            candle_core::bail!(
                "the model has {} tensors, its metadata expects {}",
                tensors.len(),
                expected.len()
            );
        }
        let mut params = Vec::with_capacity(tensors.len());
        for ((name, shape), (tname, tshape, data)) in expected.iter().zip(tensors) {
            if name != tname || shape != tshape {
                candle_core::bail!("tensor {tname} {tshape:?} where {name} {shape:?} was expected");
            }
            let t = Tensor::from_vec(data.clone(), shape.as_slice(), device)?;
            params.push((name.clone(), Var::from_tensor(&t)?));
        }
        Ok(Self {
            meta,
            params,
            device: device.clone(),
            recurrence: Recurrence::default(),
        })
    }

    /// The weights as named row-major tensors, ready for the model file.
    pub fn tensors(&self) -> Result<Vec<NamedTensor>> {
        self.params
            .iter()
            .map(|(name, var)| {
                let t = var.as_tensor();
                Ok((
                    name.clone(),
                    t.dims().to_vec(),
                    t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?,
                ))
            })
            .collect()
    }

    /// Replaces every weight with `tensors` (same names and shapes).
    pub fn set_tensors(&self, tensors: &[NamedTensor]) -> Result<()> {
        for ((name, var), (tname, shape, data)) in self.params.iter().zip(tensors) {
            if name != tname {
                candle_core::bail!("tensor {tname} where {name} was expected");
            }
            var.set(&Tensor::from_vec(
                data.clone(),
                shape.as_slice(),
                &self.device,
            )?)?;
        }
        Ok(())
    }

    pub fn vars(&self) -> Vec<Var> {
        self.params.iter().map(|(_, v)| v.clone()).collect()
    }

    /// Number of trainable numbers.
    pub fn parameter_count(&self) -> usize {
        self.params.iter().map(|(_, v)| v.elem_count()).sum()
    }

    /// The weights for a forward pass; `track` keeps them in the gradient graph.
    pub fn weights(&self, track: bool) -> Result<Weights> {
        let get = |i: usize| -> Tensor {
            let t = self.params[i].1.as_tensor();
            if track {
                t.clone()
            } else {
                t.detach()
            }
        };
        let mut layers = Vec::with_capacity(self.meta.layers);
        for l in 0..self.meta.layers {
            layers.push(Layer {
                wih: get(4 * l),
                wih_t: get(4 * l).t()?,
                whh: get(4 * l + 1),
                whh_t: get(4 * l + 1).t()?,
                bih: get(4 * l + 2),
                bhh: get(4 * l + 3),
            });
        }
        let mut heads = Vec::new();
        let mut above = Vec::new();
        let mut pairs = Vec::new();
        let mut hidden_layers = Vec::new();
        let mut i = 4 * self.meta.layers;
        for v in 0..self.meta.heads() {
            heads.push((get(i).t()?, get(i + 1)));
            i += 2;
            let earlier = match self.meta.kind {
                ModelKind::Voices => self.meta.decided_before(v),
                ModelKind::Pianoroll => Vec::new(),
            };
            above.push(onehot_runs(&self.meta, &earlier));
            if self.meta.pair_score && !earlier.is_empty() {
                pairs.push(Some(get(i).unsqueeze(1)?));
                i += 1;
            } else {
                pairs.push(None);
            }
            if self.meta.head_hidden > 0 {
                hidden_layers.push(Some(HeadHidden {
                    in_t: get(i).t()?,
                    bias: get(i + 1),
                    out_t: get(i + 2).t()?,
                }));
                i += 3;
            } else {
                hidden_layers.push(None);
            }
        }
        let nade = match self.meta.frame {
            FrameOutput::Independent => None,
            FrameOutput::Nade { .. } => Some(NadeWeights {
                cond_t: get(i).t()?,
                cond_bias: get(i + 1),
                input_t: get(i + 2).t()?,
                output_t: get(i + 3).t()?,
            }),
        };
        Ok(Weights {
            core: self.meta.core,
            hidden: self.meta.hidden,
            // No CUDA kernel for the fused op: a GPU runs the unfused ops.
            recurrence: if self.device.is_cpu() {
                self.recurrence
            } else {
                Recurrence::Unfused
            },
            layers,
            heads,
            above,
            pairs,
            hidden_layers,
            nade,
        })
    }

    /// The all-zero state for a batch of `b`.
    pub fn zero_state(&self, b: usize) -> Result<State> {
        let z = Tensor::zeros((b, self.meta.hidden), DType::F32, &self.device)?;
        Ok(State(
            (0..self.meta.layers)
                .map(|_| LayerState {
                    h: z.clone(),
                    c: (self.meta.core == CoreKind::Lstm).then(|| z.clone()),
                })
                .collect(),
        ))
    }
}

impl Weights {
    /// One step of layer `l`.
    fn cell(&self, l: usize, x: &Tensor, s: &LayerState) -> Result<LayerState> {
        let w = &self.layers[l];
        let gi = x.matmul(&w.wih_t)?.broadcast_add(&w.bih)?;
        let gh = s.h.matmul(&w.whh_t)?.broadcast_add(&w.bhh)?;
        let h = self.hidden;
        Ok(match self.core {
            CoreKind::Tanh => LayerState {
                h: (gi + gh)?.tanh()?,
                c: None,
            },
            CoreKind::Gru => {
                let r = candle_nn::ops::sigmoid(&(gi.narrow(1, 0, h)? + gh.narrow(1, 0, h)?)?)?;
                let z = candle_nn::ops::sigmoid(&(gi.narrow(1, h, h)? + gh.narrow(1, h, h)?)?)?;
                let n = (gi.narrow(1, 2 * h, h)? + r.mul(&gh.narrow(1, 2 * h, h)?)?)?.tanh()?;
                // h' = (1 - z)·n + z·h = n + z·(h - n)
                let hn = (&n + z.mul(&(&s.h - &n)?)?)?;
                LayerState { h: hn, c: None }
            }
            CoreKind::Lstm => {
                let g = (gi + gh)?;
                let i = candle_nn::ops::sigmoid(&g.narrow(1, 0, h)?)?;
                let f = candle_nn::ops::sigmoid(&g.narrow(1, h, h)?)?;
                let cand = g.narrow(1, 2 * h, h)?.tanh()?;
                let o = candle_nn::ops::sigmoid(&g.narrow(1, 3 * h, h)?)?;
                let c_prev = s.c.as_ref().expect("an LSTM state has a cell");
                let c = (f.mul(c_prev)? + i.mul(&cand)?)?;
                let hn = o.mul(&c.tanh()?)?;
                LayerState { h: hn, c: Some(c) }
            }
        })
    }

    /// Runs the core over `inputs` (one `[B, in]` tensor per step) from
    /// `state`. Returns the top layer's outputs as `[B*T, H]` (rows
    /// `b * T + t`) and the final state.
    pub fn run(
        &self,
        inputs: &[Tensor],
        state: &State,
        dropout: Option<&mut Dropout>,
    ) -> Result<(Tensor, State)> {
        if self.recurrence == Recurrence::Fused && !inputs.is_empty() {
            self.run_fused(inputs, state, dropout)
        } else {
            self.run_unfused(inputs, state, dropout)
        }
    }

    /// [`Weights::run`] with one fused op per layer.
    fn run_fused(
        &self,
        inputs: &[Tensor],
        state: &State,
        dropout: Option<&mut Dropout>,
    ) -> Result<(Tensor, State)> {
        let steps = inputs.len();
        let b = inputs[0].dim(0)?;
        let h = self.hidden;
        let masks = dropout.and_then(|d| d.masks(self.layers.len(), steps, b * h));
        // Batch-major `[B, T, ·]`: rows `b * T + t`, as the heads want them.
        let mut below = Tensor::stack(inputs, 1)?;
        let mut next = Vec::with_capacity(self.layers.len());
        for (l, w) in self.layers.iter().enumerate() {
            let s = &state.0[l];
            let s0 = match &s.c {
                Some(c) => Tensor::cat(&[&s.h, c], 1)?,
                None => s.h.clone(),
            };
            let out = fused::recurrence(self.core, &below, &s0, &w.wih, &w.whh, &w.bhh, &w.bih)?;
            let last = out.narrow(1, steps - 1, 1)?.squeeze(1)?;
            next.push(LayerState {
                h: last.narrow(1, 0, h)?,
                c: s.c.as_ref().map(|_| last.narrow(1, h, h)).transpose()?,
            });
            below = if s.c.is_some() {
                out.narrow(2, 0, h)?
            } else {
                out
            };
            if let Some(m) = &masks {
                // Between layers and before the heads, never on the recurrent
                // path. The masks are drawn step-major; the outputs are batch-major.
                let mut mask = vec![0f32; steps * b * h];
                for (t, step) in m[l].chunks(b * h).enumerate() {
                    for (r, row) in step.chunks(h).enumerate() {
                        mask[(r * steps + t) * h..][..h].copy_from_slice(row);
                    }
                }
                below = below.mul(&Tensor::from_vec(mask, (b, steps, h), below.device())?)?;
            }
        }
        let top = below.reshape((b * steps, h))?;
        Ok((top, State(next)))
    }

    /// [`Weights::run`] step by step with candle's ops: the reference.
    fn run_unfused(
        &self,
        inputs: &[Tensor],
        state: &State,
        mut dropout: Option<&mut Dropout>,
    ) -> Result<(Tensor, State)> {
        let mut state = state.clone();
        let mut tops = Vec::with_capacity(inputs.len());
        for x in inputs {
            let mut below = x.clone();
            for l in 0..self.layers.len() {
                let next = self.cell(l, &below, &state.0[l])?;
                below = next.h.clone();
                state.0[l] = next;
                if let Some(d) = dropout.as_deref_mut() {
                    // Between layers and before the heads, never on the recurrent path.
                    below = d.apply(&below)?;
                }
            }
            tops.push(below);
        }
        let b = inputs.first().map(|x| x.dim(0)).transpose()?.unwrap_or(0);
        let top = Tensor::stack(&tops, 1)?.reshape((b * inputs.len(), self.hidden))?;
        Ok((top, state))
    }

    /// Piano-roll logits `[B*T, 88]` from the top outputs: key k's given
    /// that the keys below it sound as in `frames` `[B*T, 88]` (an NADE frame
    /// output reads them; independent keys ignore them).
    pub fn key_logits(&self, top: &Tensor, frames: &Tensor) -> Result<Tensor> {
        let (w, b) = &self.heads[0];
        let visible = top.matmul(w)?.broadcast_add(b)?;
        let Some(nade) = &self.nade else {
            return Ok(visible);
        };
        // Key k's hidden pre-activation is c + Σ_{j<k sounding} W_j. It only
        // changes at a sounding key, so a frame with s sounding keys has s + 1
        // distinct ones ("segments"): compute those, their logits for every
        // key, and pick each key's segment. Exact, and about ten times cheaper
        // than a pre-activation per key, since frames hold a handful of notes.
        let (rows, keys) = frames.dims2()?;
        let n = nade.output_t.dim(0)?;
        let (prefix, segment, segments) = segments(&frames.to_vec2::<f32>()?, frames.device())?;
        let cond = top.matmul(&nade.cond_t)?.broadcast_add(&nade.cond_bias)?;
        let pre = prefix
            .matmul(&nade.input_t)?
            .reshape((rows, segments, n))?
            .broadcast_add(&cond.unsqueeze(1)?)?;
        let act = candle_nn::ops::sigmoid(&pre)?;
        let every = act
            .reshape((rows * segments, n))?
            .matmul(&nade.output_t)?
            .reshape((rows, segments, keys))?;
        visible + every.gather(&segment, 1)?.squeeze(1)?
    }

    /// Voice `v`'s logits `[B*T, vocab_v]` given the top outputs, the
    /// one-hot tokens of the voices decided before it (`onehot` holds all
    /// voices, in register order) and, for a model with the voice-pair
    /// score, each candidate's pair features `[B*T * vocab_v, k *
    /// PAIR_FEATURES]` (`pair_features[v]`, `k` voices decided before it).
    pub fn voice_logits(
        &self,
        v: usize,
        top: &Tensor,
        onehot: &Tensor,
        pair_features: &[Option<Tensor>],
        dropout: Option<&mut Dropout>,
    ) -> Result<Tensor> {
        let (w, b) = &self.heads[v];
        let input = if self.above[v].is_empty() {
            top.clone()
        } else {
            let mut parts = vec![top.clone()];
            for &(start, len) in &self.above[v] {
                parts.push(onehot.narrow(1, start, len)?);
            }
            Tensor::cat(&parts, 1)?
        };
        let mut logits = input.matmul(w)?.broadcast_add(b)?;
        if let Some(layer) = &self.hidden_layers[v] {
            let units = input
                .matmul(&layer.in_t)?
                .broadcast_add(&layer.bias)?
                .relu()?;
            let units = match dropout {
                Some(d) => d.apply(&units)?,
                None => units,
            };
            logits = (logits + units.matmul(&layer.out_t)?)?;
        }
        match (
            &self.pairs[v],
            pair_features.get(v).and_then(|f| f.as_ref()),
        ) {
            (Some(weights), Some(features)) => {
                let (rows, vocab) = logits.dims2()?;
                logits + features.matmul(weights)?.reshape((rows, vocab))?
            }
            _ => Ok(logits),
        }
    }

    /// Summed NLL (nats) over the chunk's scored steps, and per voice for
    /// voices models (one entry for piano rolls). Returns the scalar total as a
    /// tensor (for backward) and the per-part tensors.
    pub fn nll(
        &self,
        kind: ModelKind,
        top: &Tensor,
        chunk: &Chunk,
        mut head_dropout: Option<&mut Dropout>,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let parts = match (&chunk.targets, kind) {
            (Targets::Keys(y), ModelKind::Pianoroll) => {
                let x = self.key_logits(top, y)?;
                vec![stable_bce(&x, y)?
                    .sum(D::Minus1)?
                    .mul(&chunk.mask)?
                    .sum_all()?]
            }
            (
                Targets::Voices {
                    onehot,
                    index,
                    pairs,
                },
                ModelKind::Voices,
            ) => {
                let mut parts = Vec::with_capacity(index.len());
                for (v, ix) in index.iter().enumerate() {
                    let logits =
                        self.voice_logits(v, top, onehot, pairs, head_dropout.as_deref_mut())?;
                    let logp = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
                    let picked = logp.gather(&ix.unsqueeze(1)?, 1)?.squeeze(1)?;
                    let mask = chunk.voice_masks.as_ref().map_or(&chunk.mask, |m| &m[v]);
                    parts.push(picked.mul(mask)?.sum_all()?.neg()?);
                }
                parts
            }
            _ => candle_core::bail!("the batch does not match the model's kind"),
        };
        let mut total = parts[0].clone();
        for p in &parts[1..] {
            total = (total + p)?;
        }
        Ok((total, parts))
    }
}

/// Bernoulli NLL of targets `y` under logits `x`, element-wise, in the form that
/// never overflows: max(x, 0) − x·y + log(1 + exp(−|x|)).
pub fn stable_bce(x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let softplus_tail = x.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    (x.relu()? - x.mul(y)?)? + softplus_tail
}

/// The candle device for a name ("cpu" or "cuda").
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        #[cfg(feature = "cuda")]
        "cuda" => Device::new_cuda(0),
        #[cfg(not(feature = "cuda"))]
        "cuda" => candle_core::bail!(
            "this bach-trainer was built without CUDA; rebuild with `--features cuda`"
        ),
        other => candle_core::bail!("unknown device {other}, expected cpu or cuda"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stable_bce_survives_large_logits() {
        let x = Tensor::new(&[-1000f32, -2.0, 0.0, 3.0, 1000.0], &Device::Cpu).unwrap();
        let y = Tensor::new(&[0f32, 1.0, 1.0, 0.0, 1.0], &Device::Cpu).unwrap();
        let l: Vec<f32> = stable_bce(&x, &y).unwrap().to_vec1().unwrap();
        let naive = |x: f32, y: f32| {
            let p = 1.0 / (1.0 + (-x as f64).exp());
            -(y as f64 * p.ln() + (1.0 - y as f64) * (1.0 - p).ln())
        };
        assert!(l.iter().all(|v| v.is_finite()));
        assert!(l[0].abs() < 1e-6 && l[4].abs() < 1e-6);
        for i in 1..4 {
            let (xi, yi) = ([-2.0, 0.0, 3.0][i - 1], [1.0, 1.0, 0.0][i - 1]);
            assert!((l[i] as f64 - naive(xi, yi)).abs() < 1e-5, "{i}");
        }
    }
}
