//! Transport-synced stepping: host time and incoming notes in, the model's
//! voices out, each at an exact sample offset.
//!
//! The [`Sequencer`] is host-agnostic. A plugin (or the offline command line)
//! hands it one [`Block`] at a time: the sample rate, the number of frames,
//! the transport at the block's first sample, and the input notes with their
//! offsets. It writes note events into a caller-sized [`EventBuffer`].
//! Nothing in [`Sequencer::process`] allocates, locks or does I/O.
//!
//! This module decides *when* a step happens; *what* sounds on it (the
//! harmonize and listening rules, sampling, voice leading) is the
//! [`Performer`]'s. Its parts: [`block`] (what the host hands in),
//! [`settings`], [`clock`] (the grid and the one decision about it per
//! block), [`input`] (held keys), [`turn`] (continue's turn-taking) and
//! [`notes`] (output events).
//!
//! ## Time
//! Step `k` of the grid sits on beat `k * step_beats` (16ths for the chorale
//! model). Its sample is found from an [`clock::Anchor`] (a sample, the beat
//! there, and the tempo) that moves only when the tempo changes or the
//! position jumps, so the same session cut into buffers of any size puts
//! every step on the same sample. A jump in the host position that elapsed
//! samples do not explain (a seek, a loop wrap), a transport start or stop, a
//! change of mode or seed, bypass and [`Sequencer::reset`] all end every
//! generated note and restart the model and its random stream, so a bounce
//! from the same place with the same input gives the same notes. With the
//! transport stopped an internal clock runs at the host tempo.
//!
//! ## Harmonize
//! The highest held input note is the melody (voice 0). The grid step whose
//! boundary is nearest to a melody onset owns it: if the onset comes before
//! that boundary the step runs early, at the onset's own sample; if it comes
//! just after a step already ran, that step is voiced again at the onset. So
//! the harmony always sounds with the melody note and adds no latency. Steps
//! without a melody onset advance the model with the melody held (or
//! resting, in which case every voice rests). Voice 0 is never generated in
//! this mode: the melody itself sounds through the pass-through.
//!
//! ## Continue
//! While listening, every step clamps all voices to what is being played
//! (highest note to voice 0, lowest to the last voice, the rest in between).
//! After `silence_beats` without input the model plays on alone for
//! `continue_bars` bars, then listens again; playing over it hands control
//! back to the player at once.

pub mod block;
pub mod clock;
pub mod input;
pub mod notes;
pub mod session;
pub mod settings;
pub mod turn;

use crate::key::Key;
use crate::meter::{BarPosition, Meter};
use crate::model::StepContext;
use crate::perform::KeyFollower;
use crate::perform::{user_sampler, HarmonizeStep, Performer};
use crate::token::{Token, MAX_VOICES};

pub use crate::perform::VoiceModel;
pub use block::{Block, InputEvent, InputKind, Transport};
use clock::{first_step_at_or_after, nearest_step, Anchor, Clock, ClockSource, Sync};
use input::Input;
use notes::NoteTracker;
pub use notes::{EventBuffer, NoteEvent, Source};
pub use settings::{Mode, Settings, Velocity};
use turn::Turn;

/// Host-agnostic, allocation-free stepping of a voices model in time with a transport.
#[derive(Clone, Debug)]
pub struct Sequencer {
    /// Absolute sample at the start of the next block.
    sample: i64,
    clock: Option<Clock>,
    next_step: i64,
    last_step: Option<i64>,
    tracker: NoteTracker,
    input: Input,
    turn: Turn,
    /// The musical rules, the random stream and what each voice sounds.
    performer: Performer,
    last: Option<(Mode, u64)>,
    steps_taken: u64,
    /// The host's meter and a beat where a bar begins, from the latest block.
    meter: Meter,
    bar_origin: f64,
    /// The key of the harmony: set by the user or followed from the melody.
    key: KeyFollower,
    /// Samples of latency the lookahead adds (what the host is told).
    latency: u32,
}

impl Default for Sequencer {
    fn default() -> Self {
        Self::new()
    }
}

impl Sequencer {
    pub fn new() -> Self {
        Self {
            sample: 0,
            clock: None,
            next_step: 0,
            last_step: None,
            tracker: NoteTracker::default(),
            input: Input::default(),
            turn: Turn::default(),
            performer: Performer::default(),
            last: None,
            steps_taken: 0,
            meter: Meter::COMMON,
            bar_origin: 0.0,
            key: KeyFollower::default(),
            latency: 0,
        }
    }

    /// The key the harmony is in now (`None` before any melody in Auto).
    pub fn key_in_use(&self) -> Option<Key> {
        self.key.key()
    }

    /// Whether [`Sequencer::key_in_use`] comes from the melody (Auto, enough heard).
    pub fn key_estimated(&self) -> bool {
        self.key.is_estimated()
    }

    /// The latency in samples the lookahead adds, as of the last block:
    /// what the host should be told.
    pub fn latency(&self) -> u32 {
        self.latency
    }

    /// Forgets the clock and the model state (after deactivation, or when
    /// the model is replaced): the next block ends every note still sounding
    /// and starts afresh. Realtime-safe.
    pub fn reset(&mut self) {
        self.clock = None;
        self.last = None;
    }

    /// Forgets which input notes are held (after deactivation the host will
    /// not send their note-offs to this session). Their note-offs still pass
    /// through if they come.
    pub fn forget_input(&mut self) {
        self.input.forget();
    }

    /// Whether any generated note sounds now.
    pub fn generating(&self) -> bool {
        self.tracker.any_voice_sounding()
    }

    /// Steps taken since creation (for tests and displays).
    pub fn steps_taken(&self) -> u64 {
        self.steps_taken
    }

    /// Continue mode: whether the model has the turn.
    pub fn model_playing(&self) -> bool {
        self.turn.playing
    }

    /// Runs one block. `input` must be ordered by offset (later offsets past
    /// the block's end are read at its last sample). `out` is cleared first.
    pub fn process<M: VoiceModel + ?Sized>(
        &mut self,
        model: &mut M,
        settings: &Settings,
        block: &Block,
        input: &[InputEvent],
        out: &mut EventBuffer,
    ) {
        out.clear();
        let frames = block.frames;
        if block.bypassed || model.voice_count() == 0 {
            self.tracker.end_all(out, 0);
            for ev in input {
                let offset = ev.offset.min(frames.saturating_sub(1));
                self.apply_input(ev, offset, true, settings.mode, out);
            }
            self.clock = None;
            self.sample += frames as i64;
            return;
        }
        if self.last != Some((settings.mode, settings.seed)) {
            self.clock = None;
        }
        let t = &block.transport;
        self.meter = t.meter.unwrap_or(Meter::COMMON);
        self.bar_origin = t.bar_start.filter(|b| b.is_finite()).unwrap_or(0.0);
        self.key.set_choice(settings.key);
        match Clock::sync(self.clock, t, block.sample_rate, self.sample) {
            Sync::Keep => {}
            Sync::Bend(clock) => self.clock = Some(clock),
            Sync::Restart(clock) => self.restart_on(model, settings, clock, out, 0),
        }
        let wrap = self.clock.and_then(|c| c.loop_wrap(t, self.sample, frames));
        match wrap {
            Some((at, clock)) => {
                let next_input = self.walk(model, settings, block, input, 0, 0, at, out);
                self.restart_on(model, settings, clock, out, at);
                self.walk(model, settings, block, input, next_input, at, frames, out);
            }
            None => {
                self.walk(model, settings, block, input, 0, 0, frames, out);
            }
        }
        self.sample += frames as i64;
        if let Some(c) = self.clock.as_mut() {
            c.expected_pos = c.anchor.beat_at(self.sample);
        }
    }

    /// Ends all generated notes at `offset`, restarts the model and its
    /// random stream, and runs the grid of `clock` from here.
    fn restart_on<M: VoiceModel + ?Sized>(
        &mut self,
        model: &mut M,
        settings: &Settings,
        clock: Clock,
        out: &mut EventBuffer,
        offset: u32,
    ) {
        self.tracker.end_all(out, offset);
        self.performer.restart(model, settings.seed);
        self.key.reset();
        self.turn = Turn::default();
        self.last_step = None;
        self.input.struck = 0;
        self.last = Some((settings.mode, settings.seed));
        self.clock = Some(clock);
        self.next_step = first_step_at_or_after(clock.anchor.beat, model.step_beats());
    }
    /// Walks samples `from..to` of the block: input events and step boundaries
    /// in time order. Returns the index of the first input event not read.
    #[allow(clippy::too_many_arguments)]
    fn walk<M: VoiceModel + ?Sized>(
        &mut self,
        model: &mut M,
        settings: &Settings,
        block: &Block,
        input: &[InputEvent],
        mut next_input: usize,
        from: u32,
        to: u32,
        out: &mut EventBuffer,
    ) -> usize {
        let Some(clock) = self.clock else {
            return next_input;
        };
        let step_beats = model.step_beats();
        let last_sample = block.frames.saturating_sub(1);
        let start = self.sample;
        let mut cursor = from;
        let mut clock = clock;
        loop {
            let boundary = clock.anchor.sample_of(self.next_step as f64 * step_beats) - start;
            let boundary = boundary.max(cursor as i64);
            let event_at = input
                .get(next_input)
                .map(|e| e.offset.min(last_sample).max(cursor) as i64)
                .unwrap_or(i64::MAX);
            let s = boundary.min(event_at);
            if s >= to as i64 {
                break;
            }
            let s = s as u32;
            cursor = s;
            let mut melody_onset = false;
            while let Some(ev) = input.get(next_input) {
                if ev.offset.min(last_sample).max(cursor) != s {
                    break;
                }
                melody_onset |= self.apply_input(ev, s, settings.pass_through, settings.mode, out);
                next_input += 1;
            }
            if melody_onset && settings.mode == Mode::Harmonize {
                if clock.source == ClockSource::Internal && !self.performer.in_phrase() {
                    // Stopped transport, melody starting from silence: the
                    // free grid restarts on the player's note.
                    let anchor = Anchor::new(
                        start + s as i64,
                        self.next_step as f64 * step_beats,
                        clock.sample_rate,
                        clock.tempo,
                    );
                    if let Some(c) = self.clock.as_mut() {
                        c.anchor = anchor;
                    }
                    clock.anchor = anchor;
                }
                let beat = clock.anchor.beat_at(start + s as i64);
                let owner = nearest_step(beat, step_beats);
                match self.last_step {
                    Some(last) if owner < self.next_step => {
                        self.take_step(model, settings, last, s, out);
                    }
                    _ => {
                        let k = self.next_step;
                        self.take_step(model, settings, k, s, out);
                        self.next_step += 1;
                    }
                }
            } else if boundary == s as i64 {
                let k = self.next_step;
                self.take_step(model, settings, k, s, out);
                self.next_step += 1;
            }
        }
        next_input
    }

    /// Reads one input event at `offset`; returns true for a melody onset
    /// (a note-on at or above every held note).
    fn apply_input(
        &mut self,
        ev: &InputEvent,
        offset: u32,
        pass_through: bool,
        mode: Mode,
        out: &mut EventBuffer,
    ) -> bool {
        let channel = (ev.channel & 15) as usize;
        match ev.kind {
            InputKind::NoteOn { pitch, velocity } if velocity > 0 => self.note_on(
                channel,
                pitch & 127,
                velocity,
                offset,
                pass_through,
                mode,
                out,
            ),
            InputKind::NoteOn { pitch, .. } | InputKind::NoteOff { pitch } => {
                self.note_off(channel, pitch & 127, offset, out);
                false
            }
            InputKind::AllNotesOff => {
                let mut keys = self.input.keys[channel] | self.input.passed[channel];
                while keys != 0 {
                    let pitch = 127 - keys.leading_zeros() as u8;
                    keys &= !(1u128 << pitch);
                    self.note_off(channel, pitch, offset, out);
                }
                self.tracker.end_all(out, offset);
                self.turn.playing = false;
                false
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn note_on(
        &mut self,
        channel: usize,
        pitch: u8,
        velocity: u8,
        offset: u32,
        pass_through: bool,
        mode: Mode,
        out: &mut EventBuffer,
    ) -> bool {
        let top = self.input.top();
        let bit = 1u128 << pitch;
        self.input.keys[channel] |= bit;
        self.input.struck |= bit;
        self.input.velocity = velocity.min(127);
        if pass_through {
            self.tracker
                .pass_on(out, offset, channel as u8, pitch, velocity);
            self.input.passed[channel] |= bit;
        }
        match mode {
            Mode::Harmonize => top.is_none_or(|t| pitch >= t),
            Mode::Continue => {
                if self.turn.playing {
                    // The player takes the turn back.
                    self.tracker.end_all(out, offset);
                }
                self.turn.player_plays();
                false
            }
        }
    }

    fn note_off(&mut self, channel: usize, pitch: u8, offset: u32, out: &mut EventBuffer) {
        let bit = 1u128 << pitch;
        self.input.keys[channel] &= !bit;
        if self.input.passed[channel] & bit != 0 {
            self.input.passed[channel] &= !bit;
            self.tracker.pass_off(out, offset, channel as u8, pitch);
        }
    }

    /// Runs grid step `k` at `offset` and sounds its voices.
    fn take_step<M: VoiceModel + ?Sized>(
        &mut self,
        model: &mut M,
        settings: &Settings,
        k: i64,
        offset: u32,
        out: &mut EventBuffer,
    ) {
        let n = model.voice_count().min(MAX_VOICES);
        // The step's place in the host's bar: steps since the bar origin,
        // wrapped at the bar's length.
        let step_beats = model.step_beats();
        let bar = BarPosition::new(0, self.meter, step_beats);
        let since = ((k as f64 * step_beats - self.bar_origin) / step_beats).round() as i64;
        let position = since.rem_euclid(bar.bar_steps as i64) as usize;
        let melody_now = match settings.mode {
            Mode::Harmonize => self.input.top(),
            Mode::Continue => self.input.heard_top(),
        };
        self.key.hear(melody_now);
        let ctx = StepContext {
            bar: BarPosition::new(position, self.meter, step_beats),
            key: self.key.key(),
            ahead: Default::default(),
        };
        self.performer
            .set_sampler(user_sampler(settings.temperature, settings.strict));
        let velocity = match settings.velocity {
            Velocity::Fixed(v) => v.clamp(1, 127),
            Velocity::FromInput => self.input.velocity.clamp(1, 127),
        };
        let (melody, heard) = (self.input.melody(), self.input.heard());
        self.input.struck = 0;
        self.last_step = Some(k);
        self.steps_taken += 1;
        // The step's tokens, copied out of the performer (a few bytes) so
        // the output bookkeeping below can borrow the sequencer freely.
        let mut tokens = [Token::Rest; MAX_VOICES];
        let first_voice;
        let listening;
        match settings.mode {
            Mode::Harmonize => match self.performer.harmonize(model, &ctx, melody) {
                HarmonizeStep::Rest => {
                    for v in 1..n {
                        self.tracker.end(out, offset, v);
                    }
                    return;
                }
                HarmonizeStep::Voices(voiced) => {
                    tokens[..voiced.len()].copy_from_slice(voiced);
                    // Voice 0 is the melody: it sounds through the pass-through.
                    first_voice = 1;
                    listening = false;
                }
            },
            Mode::Continue => {
                if self.turn.is_over() {
                    self.tracker.end_all(out, offset);
                    self.turn = Turn::default();
                }
                listening = !self.turn.playing;
                let played = if listening {
                    self.performer.listen(model, &ctx, heard)
                } else {
                    self.performer.play(model, &ctx)
                };
                tokens[..played.len()].copy_from_slice(played);
                first_voice = 0;
            }
        }
        for (v, &token) in tokens.iter().enumerate().take(n) {
            if v < first_voice || listening || !settings.voices[v] {
                self.tracker.end(out, offset, v);
                continue;
            }
            match token {
                Token::Onset(p) => {
                    let channel = settings.channels[v] & 15;
                    self.tracker.start(out, offset, v, channel, p, velocity);
                }
                Token::Hold => {}
                Token::Rest => self.tracker.end(out, offset, v),
            }
        }
        if settings.mode == Mode::Continue {
            let step_beats = model.step_beats();
            let silence = (settings.silence_beats.max(0.0) / step_beats)
                .round()
                .max(1.0) as u32;
            let turn_steps = settings.continue_bars.max(1) * model.bar_steps() as u32;
            if self
                .turn
                .after_step(self.input.top().is_some(), silence, turn_steps)
            {
                self.performer.take_turn();
            }
        }
    }
}
