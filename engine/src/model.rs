//! A loaded model, ready for the audio thread.
//!
//! Every buffer is allocated in [`Model::from_file`]; after that, stepping
//! only reads weights and writes those buffers, so [`Model::step_voices`],
//! [`Model::advance_keys`] and the logits never allocate, lock or fail.
//!
//! The model is inference only, like one layer of a realtime network
//! library: it advances its recurrent core and gives logits. Which token a
//! voice takes (temperature, masks, voice leading, the random stream) is
//! decided by the caller, the [`crate::perform::Performer`].

use std::path::Path;

use crate::file::{LoadError, ModelFile};
use crate::meta::{CoreKind, FrameOutput, ModelKind, ModelMeta};
use crate::nn::{add_columns, matvec_add, Cell, Gru, Input, Layer, Lstm, Nade, TanhRnn};
use crate::pianoroll::{KeyFrame, KEYS};
use crate::token::{Token, VoiceRange, MAX_VOICES};

/// An output head. Voice `v`'s logits are
/// `b + W_h · h + sum over voices u < v of W_u[:, token_u]`,
/// the linear layer on `[h, one-hot(tokens above)]` with the one-hot part
/// done as column sums.
#[derive(Clone, Debug)]
struct Head {
    vocab: usize,
    /// Row-major `[vocab, H]`.
    w_hidden: Vec<f32>,
    /// Column-major `[above, vocab]`: one column per token of the voices above.
    w_above: Vec<f32>,
    bias: Vec<f32>,
}

impl Head {
    fn new(vocab: usize, hidden: usize, weight: &[f32], bias: Vec<f32>) -> Self {
        let cols = weight.len() / vocab;
        let above = cols - hidden;
        let mut w_hidden = Vec::with_capacity(vocab * hidden);
        let mut w_above = vec![0.0; vocab * above];
        for (r, row) in weight.chunks_exact(cols).enumerate() {
            w_hidden.extend_from_slice(&row[..hidden]);
            for (j, w) in row[hidden..].iter().enumerate() {
                w_above[j * vocab + r] = *w;
            }
        }
        Self {
            vocab,
            w_hidden,
            w_above,
            bias,
        }
    }

    fn forward(&self, h: &[f32], above: &[usize], out: &mut [f32]) {
        let out = &mut out[..self.vocab];
        out.copy_from_slice(&self.bias);
        matvec_add(&self.w_hidden, h, out);
        add_columns(&self.w_above, above, out);
    }
}

/// A recurrent model with its state and scratch buffers.
#[derive(Clone, Debug)]
pub struct Model {
    meta: ModelMeta,
    layers: Vec<Layer>,
    heads: Vec<Head>,
    /// Piano rolls with an NADE frame output: the keys' dependence on each other.
    nade: Option<Nade>,
    ranges: Vec<VoiceRange>,
    /// Offset of each voice's one-hot block in the input (and in the heads' above-columns).
    offsets: Vec<usize>,
    /// Offset and size of the bar-position one-hot block.
    bar: Option<(usize, usize)>,
    /// Active input indices for the first layer.
    active: Vec<usize>,
    /// Active above-columns for a head.
    above: Vec<usize>,
    logits: Vec<f32>,
    /// The previous step (voices), or `None` before the first step.
    previous: Vec<Token>,
    started: bool,
    chosen: Vec<Token>,
}

/// One voice to decide on a step: what the model predicts for it, and the
/// voices above it, decided already.
#[derive(Clone, Copy, Debug)]
pub struct Decision<'a> {
    pub voice: usize,
    /// The model's range for the voice.
    pub range: VoiceRange,
    /// Logits over the voice's vocabulary (see [`VoiceRange::token`]).
    pub logits: &'a [f32],
    /// The tokens of voices `0..voice` on this step.
    pub above: &'a [Token],
}

impl Model {
    /// Loads and checks a model file.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        Ok(Self::from_file(ModelFile::load(path)?))
    }

    /// Loads a model held in memory (the embedded default, say).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        Ok(Self::from_file(ModelFile::from_bytes(bytes)?))
    }

    /// Builds the model from checked weights (names and shapes are guaranteed
    /// by [`ModelFile`], so indexing here cannot go wrong).
    pub fn from_file(mut file: ModelFile) -> Self {
        crate::nn::detect_simd();
        let meta = file.meta.clone();
        let h = meta.hidden;
        let mut take = |name: String| file.tensors.remove(&name).unwrap_or_default();
        let mut layers = Vec::with_capacity(meta.layers);
        for l in 0..meta.layers {
            let w_ih = take(format!("core.{l}.weight_ih"));
            let w_hh = take(format!("core.{l}.weight_hh"));
            let b_ih = take(format!("core.{l}.bias_ih"));
            let b_hh = take(format!("core.{l}.bias_hh"));
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
        let ranges: Vec<VoiceRange> = meta.voices.iter().map(|v| v.range()).collect();
        let mut offsets = Vec::with_capacity(ranges.len());
        let mut offset = 0;
        for r in &ranges {
            offsets.push(offset);
            offset += r.vocab();
        }
        let bar = meta.bar_steps().map(|steps| (meta.step_size(), steps));
        let heads: Vec<Head> = (0..meta.heads())
            .map(|v| {
                let bias = take(format!("head.{v}.bias"));
                let weight = take(format!("head.{v}.weight"));
                Head::new(bias.len(), h, &weight, bias)
            })
            .collect();
        let nade = match meta.frame {
            FrameOutput::Independent => None,
            FrameOutput::Nade { .. } => Some(Nade::new(
                take("nade.cond.weight".into()),
                take("nade.cond.bias".into()),
                &take("nade.in.weight".into()),
                take("nade.out.weight".into()),
            )),
        };
        let max_vocab = heads.iter().map(|h| h.vocab).max().unwrap_or(0);
        let voices = ranges.len();
        Self {
            layers,
            heads,
            nade,
            offsets,
            bar,
            active: Vec::with_capacity(KEYS.max(voices) + 1),
            above: Vec::with_capacity(voices),
            logits: vec![0.0; max_vocab.max(KEYS)],
            previous: vec![Token::Rest; voices],
            started: false,
            chosen: vec![Token::Rest; voices],
            ranges,
            meta,
        }
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    pub fn kind(&self) -> ModelKind {
        self.meta.kind
    }

    /// Number of voices (0 for a piano-roll model).
    pub fn voices(&self) -> usize {
        self.ranges.len()
    }

    /// The model's range for voice `v`.
    pub fn range(&self, v: usize) -> Option<VoiceRange> {
        self.ranges.get(v).copied()
    }

    /// The top layer's state (for plots of the hidden trajectory).
    pub fn hidden(&self) -> &[f32] {
        self.layers.last().map(|l| l.hidden()).unwrap_or(&[])
    }

    /// Forgets everything: zero state, no previous step.
    pub fn reset(&mut self) {
        for l in &mut self.layers {
            l.reset();
        }
        self.started = false;
        self.previous.fill(Token::Rest);
        self.chosen.fill(Token::Rest);
    }

    /// Advances the core by one step of a voices model: its input is the
    /// previous step's tokens (`None` on the first step) and the new step's
    /// position in the bar. Onsets outside a voice's range are folded into it
    /// by octaves (see [`VoiceRange::index_folded`]).
    pub fn advance_voices(&mut self, previous: Option<&[Token]>, position_in_bar: usize) {
        self.active.clear();
        if let Some(prev) = previous {
            for ((range, offset), token) in self.ranges.iter().zip(&self.offsets).zip(prev) {
                self.active.push(offset + range.index_folded(*token));
            }
        }
        self.push_position(position_in_bar);
        self.run_core();
    }

    /// Logits over voice `voice`'s vocabulary for the current step, given the
    /// tokens already chosen for the voices above it (`above[u]` for `u < voice`).
    /// Empty for a voice the model lacks.
    pub fn voice_logits(&mut self, voice: usize, above: &[Token]) -> &[f32] {
        let Some(head) = self
            .heads
            .get(voice)
            .filter(|_| self.kind() == ModelKind::Voices)
        else {
            return &[];
        };
        self.above.clear();
        for ((offset, range), token) in self.offsets.iter().zip(&self.ranges).zip(above).take(voice)
        {
            self.above.push(offset + range.index_folded(*token));
        }
        let top = self.layers.last().map(|l| l.hidden()).unwrap_or(&[]);
        head.forward(top, &self.above, &mut self.logits);
        &self.logits[..head.vocab]
    }

    /// Advances the core by one frame of a piano-roll model, reading the
    /// previous frame (`None` on the first frame).
    pub fn advance_keys(&mut self, previous: Option<&KeyFrame>) {
        self.active.clear();
        if let Some(frame) = previous {
            self.active.extend(frame.keys());
        }
        self.push_position(0);
        self.run_core();
    }

    /// The 88 Bernoulli logits for the current frame: key k's given that the
    /// keys below it sound as in `given` (an NADE frame output reads them;
    /// independent keys ignore them). Empty for a voices model.
    pub fn key_logits(&mut self, given: &KeyFrame) -> &[f32] {
        if self.kind() != ModelKind::Pianoroll {
            return &[];
        }
        self.walk_keys(|k, _| given.contains_key(k));
        &self.logits[..KEYS]
    }

    /// Fills the current frame's key logits, lowest key first (read them
    /// after with [`frame_logits`](Self::frame_logits)). `sounds(k, logit)`
    /// says whether key k sounds; through an NADE the keys above hear it.
    /// Returns the keys that sounded (nothing for a voices model).
    pub fn walk_keys(&mut self, mut sounds: impl FnMut(usize, f32) -> bool) -> KeyFrame {
        if self.kind() != ModelKind::Pianoroll {
            return KeyFrame::EMPTY;
        }
        let top = self.layers.last().map(|l| l.hidden()).unwrap_or(&[]);
        self.heads[0].forward(top, &[], &mut self.logits);
        if let Some(nade) = &mut self.nade {
            nade.begin(top);
        }
        let mut frame = KeyFrame::EMPTY;
        for k in 0..KEYS {
            if let Some(nade) = &mut self.nade {
                self.logits[k] = nade.logit(k, self.logits[k]);
            }
            if sounds(k, self.logits[k]) {
                frame.insert_key(k);
                if let Some(nade) = &mut self.nade {
                    nade.sound(k);
                }
            }
        }
        frame
    }

    /// The key logits the last [`walk_keys`](Self::walk_keys) filled.
    pub fn frame_logits(&self) -> &[f32] {
        &self.logits[..KEYS]
    }

    /// One step of a voices model. Voices are decided in order, top first:
    /// voice `v` takes `clamp[v]` when it is `Some` (the melody when
    /// harmonizing, everything when listening), otherwise `choose` picks its
    /// token from the head's logits given the voices above. The model
    /// remembers the step as the input of the next one. Returns the step's
    /// tokens (empty for a piano-roll model).
    pub fn step_voices(
        &mut self,
        position_in_bar: usize,
        clamp: &[Option<Token>],
        choose: &mut dyn FnMut(Decision<'_>) -> Token,
    ) -> &[Token] {
        if self.kind() != ModelKind::Voices {
            return &[];
        }
        // The previous step lives in `previous`; swap it out to lend it to the
        // core (`take` leaves an empty Vec, which does not allocate).
        let previous = std::mem::take(&mut self.previous);
        let started = self.started;
        self.advance_voices(started.then_some(previous.as_slice()), position_in_bar);
        self.previous = previous;
        for v in 0..self.ranges.len() {
            let token = match clamp.get(v).copied().flatten() {
                Some(t) => t,
                None => {
                    let range = self.ranges[v];
                    let chosen = std::mem::take(&mut self.chosen);
                    let logits = self.voice_logits(v, &chosen[..v]);
                    let token = choose(Decision {
                        voice: v,
                        range,
                        logits,
                        above: &chosen[..v],
                    });
                    self.chosen = chosen;
                    token
                }
            };
            self.chosen[v] = token;
        }
        self.previous.copy_from_slice(&self.chosen);
        self.started = true;
        &self.chosen
    }

    fn push_position(&mut self, position_in_bar: usize) {
        if let Some((offset, steps)) = self.bar {
            self.active.push(offset + position_in_bar % steps);
        }
    }

    fn run_core(&mut self) {
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

/// Compile-time check that the fixed voice bound fits the sampler's arrays.
const _: () = assert!(MAX_VOICES >= 4);
