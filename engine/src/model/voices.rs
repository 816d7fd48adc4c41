//! A voices model: one token per voice and step (the harmonizer).

use std::path::Path;

use crate::file::{LoadError, ModelFile};
use crate::meta::ModelMeta;
use crate::token::{Token, VoiceRange};

use super::context::Feature;
use super::core::{take, Core};
use super::head::{Head, HiddenLayer};
use super::pairs;
use super::sounding::{self, Sounding};
use super::{AnyModel, Heads, StepContext};

/// A voices model with its state and scratch buffers, ready for the audio thread.
#[derive(Clone, Debug)]
pub struct VoicesModel {
    core: Core,
    /// One head per voice, top voice first.
    heads: Vec<Head>,
    ranges: Vec<VoiceRange>,
    /// Offset of each voice's one-hot block in the input.
    offsets: Vec<usize>,
    /// The order the heads decide the voices in.
    order: Vec<usize>,
    /// Per voice, the voices decided before it (whose tokens its head reads),
    /// in decision order, and where each one's one-hot block starts among the
    /// head's above-columns.
    earlier: Vec<Vec<usize>>,
    above_offsets: Vec<Vec<usize>>,
    /// Active above-columns for a head.
    above: Vec<usize>,
    /// Per voice not decided first, its pair-score weights (empty without them).
    pairs: Vec<Vec<f32>>,
    /// Whether the pair score reads intervals by size.
    by_size: bool,
    /// What each voice sounds going into this step and for how long (the
    /// pair score reads the pitches), and where that block starts in the
    /// input (`None`: the model does not hear it).
    sounding: Vec<Sounding>,
    sounding_offset: Option<usize>,
    /// `sounding` was set across a reset ([`VoicesModel::continue_from`]).
    carried: bool,
    /// What the voices above sound on the current step (scratch).
    now: Vec<Option<u8>>,
    /// Whether the current step starts a beat (for the pair score).
    on_beat: bool,
    /// Per head, the part of its logits (and hidden layer) that reads the
    /// state on this step (`state_part_stride` each), computed when first
    /// asked for (bit `v` of `state_parts_done`).
    state_parts: Vec<f32>,
    state_part_stride: usize,
    state_parts_done: u32,
    logits: Vec<f32>,
    /// A head's hidden units (scratch).
    units: Vec<f32>,
    /// The previous step, the input of the next one once `started`.
    previous: Vec<Token>,
    started: bool,
    chosen: Vec<Token>,
}

impl VoicesModel {
    /// Loads and checks a model file; a piano-roll model is an error.
    pub fn load(path: &Path) -> Result<Self, LoadError> {
        AnyModel::load(path)?.into_voices()
    }

    /// Loads a model held in memory (the embedded default, say).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, LoadError> {
        AnyModel::from_bytes(bytes)?.into_voices()
    }

    /// Builds the model from checked weights of a voices model.
    pub(crate) fn build(mut file: ModelFile) -> Self {
        let voices = file.meta.voices.len();
        // Active inputs: a token per voice, and two per voice for what it sounds.
        let core = Core::new(&mut file, 3 * voices);
        let meta = &core.meta;
        let ranges: Vec<VoiceRange> = meta.voices.iter().map(|v| v.range()).collect();
        let mut offsets = Vec::with_capacity(voices);
        let mut offset = 0;
        for r in &ranges {
            offsets.push(offset);
            offset += r.vocab();
        }
        let heads: Vec<Head> = (0..meta.heads())
            .map(|v| {
                let bias = take(&mut file, format!("head.{v}.bias"));
                let weight = take(&mut file, format!("head.{v}.weight"));
                let head = Head::new(bias.len(), meta.hidden, &weight, bias);
                if meta.head_hidden == 0 {
                    return head;
                }
                let weight = take(&mut file, format!("head.{v}.hidden.weight"));
                let bias = take(&mut file, format!("head.{v}.hidden.bias"));
                let out = take(&mut file, format!("head.{v}.out.weight"));
                head.with_layer(HiddenLayer::new(meta.hidden, &weight, bias, out))
            })
            .collect();
        let earlier: Vec<Vec<usize>> = (0..voices).map(|v| meta.decided_before(v)).collect();
        let above_offsets = earlier
            .iter()
            .map(|us| {
                let mut offset = 0;
                us.iter()
                    .map(|&u| {
                        let at = offset;
                        offset += ranges[u].vocab();
                        at
                    })
                    .collect()
            })
            .collect();
        let pairs = (0..meta.heads())
            .map(|v| match meta.pair_score && !earlier[v].is_empty() {
                true => take(&mut file, format!("head.{v}.pairs")),
                false => Vec::new(),
            })
            .collect();
        let order = meta.decision_order();
        let by_size = meta.intervals_by_size;
        let max_vocab = heads.iter().map(|h| h.vocab).max().unwrap_or(0);
        let state_part_stride = heads.iter().map(Head::state_part_len).max().unwrap_or(0);
        let state_parts = vec![0.0; state_part_stride * heads.len()];
        let units = vec![0.0; heads.iter().map(Head::units).max().unwrap_or(0)];
        Self {
            heads,
            ranges,
            offsets,
            order,
            earlier,
            above_offsets,
            above: Vec::with_capacity(voices),
            pairs,
            by_size,
            sounding: vec![Sounding::default(); voices],
            sounding_offset: core.meta.feature_offset(&Feature::Sounding),
            carried: false,
            now: vec![None; voices],
            on_beat: true,
            state_parts,
            state_part_stride,
            state_parts_done: 0,
            logits: vec![0.0; max_vocab],
            units,
            previous: vec![Token::Rest; voices],
            started: false,
            chosen: vec![Token::Rest; voices],
            core,
        }
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.core.meta
    }

    /// Number of voices.
    pub fn voices(&self) -> usize {
        self.ranges.len()
    }

    /// The model's range for voice `v`.
    pub fn range(&self, v: usize) -> Option<VoiceRange> {
        self.ranges.get(v).copied()
    }

    /// The top layer's state (for plots of the hidden trajectory).
    pub fn hidden(&self) -> &[f32] {
        self.core.hidden()
    }

    /// Forgets everything: zero state, no previous step.
    pub fn reset(&mut self) {
        self.core.reset();
        self.started = false;
        self.sounding.fill(Sounding::default());
        self.carried = false;
        self.previous.fill(Token::Rest);
        self.chosen.fill(Token::Rest);
    }

    /// After a reset in mid-phrase (the harmony moved into another key's
    /// frame), what each voice sounds now in the new frame, so that the next
    /// step's voice-pair score reads the motion out of it as usual (without
    /// this, the first step in a new key could move in parallels unweighed).
    pub fn continue_from(&mut self, sounding: &[Option<u8>]) {
        for ((now, range), p) in self.sounding.iter_mut().zip(&self.ranges).zip(sounding) {
            // The notes go on from here.
            *now = Sounding {
                pitch: p.map(|p| range.fold(p)),
                steps: 1,
            };
        }
        self.carried = true;
    }

    /// Advances the core by one step: its input is the previous step's
    /// tokens (`None` on the first step) and the new step's context (in the
    /// model's frame). Onsets outside a voice's range are folded into it by
    /// octaves (see [`VoiceRange::index_folded`]).
    pub fn advance_voices(&mut self, previous: Option<&[Token]>, ctx: &StepContext) {
        // What sounds going into this step, and where it falls, for the pair score.
        self.on_beat = ctx.bar.in_beat() == 0;
        match previous {
            Some(prev) => {
                for ((s, range), token) in self.sounding.iter_mut().zip(&self.ranges).zip(prev) {
                    *s = s.after(range, *token);
                }
            }
            // A fresh start: nothing sounded before, unless the performer
            // said what sounds across the reset.
            None if self.carried => {}
            None => self.sounding.fill(Sounding::default()),
        }
        self.carried = false;
        let tokens = previous.into_iter().flat_map(|prev| {
            self.ranges
                .iter()
                .zip(&self.offsets)
                .zip(prev)
                .map(|((range, offset), token)| offset + range.index_folded(*token))
        });
        // What the voices sound, once there is a previous step (as in
        // training, where a piece's first step has neither block).
        let sounding = match (previous, self.sounding_offset) {
            (Some(_), Some(at)) => Some(sounding::indices(&self.ranges, &self.sounding, at)),
            _ => None,
        };
        // Both are iterator adaptors over the model's own vectors: nothing
        // here allocates.
        self.core
            .advance(tokens.chain(sounding.into_iter().flatten()), ctx);
        self.state_parts_done = 0;
    }

    /// The order the heads decide the voices in (see [`ModelMeta::order`]).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Logits over voice `voice`'s vocabulary for the current step, given the
    /// step's tokens `chord` (register order), of which the head reads the
    /// voices decided before `voice`. Empty for a voice the model lacks.
    pub fn voice_logits(&mut self, voice: usize, chord: &[Token]) -> &[f32] {
        let Some(head) = self.heads.get(voice) else {
            return &[];
        };
        let earlier = &self.earlier[voice];
        let weights = &self.pairs[voice];
        self.above.clear();
        for (&u, offset) in earlier.iter().zip(&self.above_offsets[voice]) {
            let token = chord.get(u).copied().unwrap_or(Token::Rest);
            // Fewer pushes than voices: within the capacity reserved in
            // `build`, so this never allocates.
            self.above.push(offset + self.ranges[u].index_folded(token));
            // What it sounds, for the pair score.
            self.now[u] = pairs::sounds(&self.ranges[u], token, self.sounding[u].pitch);
        }
        let stride = self.state_part_stride;
        let state_part = &mut self.state_parts[voice * stride..(voice + 1) * stride];
        if self.state_parts_done & (1 << voice) == 0 {
            head.state_part(self.core.hidden(), state_part);
            self.state_parts_done |= 1 << voice;
        }
        head.forward_from(state_part, &self.above, &mut self.units, &mut self.logits);
        if !weights.is_empty() {
            let pairing = pairs::Pairing {
                earlier,
                by_size: self.by_size,
            };
            pairs::add_scores(
                &self.ranges[voice],
                voice,
                pairing,
                &self.now,
                &self.sounding,
                self.on_beat,
                weights,
                &mut self.logits,
            );
        }
        &self.logits[..head.vocab]
    }

    /// One step: voice `v` takes `clamp[v]` when it is `Some` (the melody
    /// when harmonizing, everything when listening); `choose` is lent the
    /// model's [`Heads`] for this step and the step's tokens, the clamped
    /// ones in place, and decides the others. The model remembers the step
    /// as the input of the next one. Returns the step's tokens.
    pub fn step_voices(
        &mut self,
        ctx: &StepContext,
        clamp: &[Option<Token>],
        choose: &mut dyn FnMut(&mut dyn Heads, &mut [Token]),
    ) -> &[Token] {
        // The previous step lives in `previous`; swap it out to lend it to the
        // core (`take` leaves an empty Vec, which does not allocate).
        let previous = std::mem::take(&mut self.previous);
        let started = self.started;
        self.advance_voices(started.then_some(previous.as_slice()), ctx);
        self.previous = previous;
        let mut chosen = std::mem::take(&mut self.chosen);
        for (v, token) in chosen.iter_mut().enumerate() {
            *token = clamp.get(v).copied().flatten().unwrap_or(Token::Rest);
        }
        choose(self, &mut chosen);
        self.chosen = chosen;
        self.previous.copy_from_slice(&self.chosen);
        self.started = true;
        &self.chosen
    }
}

impl Heads for VoicesModel {
    fn order(&self) -> &[usize] {
        &self.order
    }

    fn voice_logits(&mut self, voice: usize, chord: &[Token]) -> &[f32] {
        VoicesModel::voice_logits(self, voice, chord)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file::{random_tensors, to_bytes};
    use crate::meta::CoreKind;

    fn paired_model() -> VoicesModel {
        let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 8);
        meta.pair_score = true;
        meta.format_version = meta.needed_version();
        VoicesModel::from_bytes(&to_bytes(&meta, &random_tensors(&meta, 3, 0.5)).unwrap()).unwrap()
    }

    #[test]
    fn a_reset_in_mid_phrase_keeps_what_sounds_for_the_pair_score_once() {
        let ctx = StepContext::common(0);
        // The soprano C5 -> D5 and the alto F4 -> G4: the tenor's candidates
        // are weighed against motion only if the model knows what sounded.
        let above = [Token::Onset(74), Token::Onset(67)];
        let mut fresh = paired_model();
        fresh.advance_voices(None, &ctx);
        let unaware = fresh.voice_logits(2, &above).to_vec();

        let mut carried = paired_model();
        carried.continue_from(&[Some(72), Some(65), Some(60), Some(48)]);
        carried.advance_voices(None, &ctx);
        let aware = carried.voice_logits(2, &above).to_vec();
        assert_ne!(
            aware, unaware,
            "the pair score reads the motion into the step"
        );

        // A plain reset afterwards starts from silence again.
        carried.reset();
        carried.advance_voices(None, &ctx);
        assert_eq!(carried.voice_logits(2, &above), &unaware[..]);
    }
}
