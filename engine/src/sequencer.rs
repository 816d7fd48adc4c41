//! Transport-synced stepping: host time and incoming notes in, the model's
//! voices out, each at an exact sample offset.
//!
//! The [`Sequencer`] is host-agnostic. A plugin (or the offline command line)
//! hands it one [`Block`] at a time: the sample rate, the number of frames,
//! the transport at the block's first sample, and the input notes with their
//! offsets. It writes note events into a caller-sized [`EventBuffer`].
//! Nothing in [`Sequencer::process`] allocates, locks or does I/O.
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

pub mod clock;
pub mod notes;
pub mod session;

use crate::model::Model;
use crate::sampling::{Rng, Sampler};
use crate::token::{sounding, Token, VoiceRange, MAX_VOICES};

use clock::{first_step_at_or_after, nearest_step, sanitize_tempo, Anchor};
use notes::NoteTracker;
pub use notes::{EventBuffer, NoteEvent, Source};

/// What the sequencer needs from a model: the voices model's interface of
/// [`Model`], behind a trait so tests can drive the timing with a scripted model.
pub trait VoiceModel {
    /// Number of voices (0 for a model the sequencer cannot play).
    fn voice_count(&self) -> usize;
    /// Range of voice `v`.
    fn voice_range(&self, v: usize) -> VoiceRange;
    /// Grid step in quarter notes.
    fn step_beats(&self) -> f64;
    /// Steps per bar for the position feature.
    fn bar_steps(&self) -> usize;
    fn reset(&mut self);
    /// One step: clamped voices take their clamp, the others are sampled.
    fn step(
        &mut self,
        position_in_bar: usize,
        clamp: &[Option<Token>],
        sampler: &Sampler,
        rng: &mut Rng,
    ) -> &[Token];
}

impl VoiceModel for Model {
    fn voice_count(&self) -> usize {
        self.voices()
    }

    fn voice_range(&self, v: usize) -> VoiceRange {
        self.range(v).unwrap_or(VoiceRange::new(0, 127))
    }

    fn step_beats(&self) -> f64 {
        self.meta().step_beats
    }

    fn bar_steps(&self) -> usize {
        self.meta().bar_steps().unwrap_or(16)
    }

    fn reset(&mut self) {
        Model::reset(self)
    }

    fn step(
        &mut self,
        position_in_bar: usize,
        clamp: &[Option<Token>],
        sampler: &Sampler,
        rng: &mut Rng,
    ) -> &[Token] {
        self.step_voices(position_in_bar, clamp, sampler, rng)
    }
}

/// How the sequencer uses the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Mode {
    /// The input is the melody; the model adds the voices below it.
    #[default]
    Harmonize,
    /// The model listens, then plays on when the player stops.
    Continue,
}

/// Velocity of generated notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Velocity {
    Fixed(u8),
    /// The velocity of the latest input note.
    FromInput,
}

/// The user's settings (the plugin's parameters), read once per block.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    pub mode: Mode,
    pub temperature: f32,
    /// Strict voice leading: no parallel fifths or octaves between voices.
    pub strict: bool,
    /// Which voices sound (S, A, T, B, ...).
    pub voices: [bool; MAX_VOICES],
    /// Output MIDI channel (0 to 15) of each voice.
    pub channels: [u8; MAX_VOICES],
    /// Whether input notes are passed to the output.
    pub pass_through: bool,
    pub velocity: Velocity,
    pub seed: u64,
    /// Continue: silence (in beats) after which the model takes over.
    pub silence_beats: f64,
    /// Continue: how long (in bars) the model plays before listening again.
    pub continue_bars: u32,
}

impl Default for Settings {
    fn default() -> Self {
        let mut channels = [0; MAX_VOICES];
        for (v, c) in channels.iter_mut().enumerate() {
            *c = v as u8;
        }
        Self {
            mode: Mode::Harmonize,
            temperature: 0.3,
            strict: true,
            voices: [true; MAX_VOICES],
            channels,
            pass_through: true,
            velocity: Velocity::FromInput,
            seed: 1,
            silence_beats: 2.0,
            continue_bars: 2,
        }
    }
}

/// The host transport at the first sample of a block.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Transport {
    pub playing: bool,
    /// Beats per minute (120 when the host says nothing usable).
    pub tempo: Option<f64>,
    /// Position in quarter notes from the start of the song.
    pub pos_beats: Option<f64>,
    /// Active loop `[start, end)` in quarter notes, if looping.
    pub loop_range: Option<(f64, f64)>,
}

/// One buffer's worth of host time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block {
    pub sample_rate: f64,
    pub frames: u32,
    pub transport: Transport,
    /// The host (or the user) bypassed the effect: input passes unchanged.
    pub bypassed: bool,
}

/// An incoming event, `offset` samples into the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEvent {
    pub offset: u32,
    pub channel: u8,
    pub kind: InputKind,
}

/// What came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A note-on; velocity 0 means a note-off, as in MIDI.
    NoteOn {
        pitch: u8,
        velocity: u8,
    },
    NoteOff {
        pitch: u8,
    },
    /// All notes off (MIDI CC 123, or CC 120 all sound off): every key held
    /// on the channel is released and every generated note ends.
    AllNotesOff,
}

impl InputEvent {
    /// A note-on (`on`) or note-off.
    pub fn note(offset: u32, on: bool, channel: u8, pitch: u8, velocity: u8) -> Self {
        let kind = if on {
            InputKind::NoteOn { pitch, velocity }
        } else {
            InputKind::NoteOff { pitch }
        };
        Self {
            offset,
            channel,
            kind,
        }
    }

    pub fn all_notes_off(offset: u32, channel: u8) -> Self {
        Self {
            offset,
            channel,
            kind: InputKind::AllNotesOff,
        }
    }
}

/// A position jump (in beats) smaller than this is host rounding, not a seek.
const MAX_DRIFT_BEATS: f64 = 0.01;

#[derive(Clone, Copy, Debug, PartialEq)]
enum ClockSource {
    /// Steps follow the host's beat position.
    Host,
    /// Transport stopped: a free-running grid at the host tempo.
    Internal,
}

#[derive(Clone, Copy, Debug)]
struct Clock {
    source: ClockSource,
    anchor: Anchor,
    tempo: f64,
    sample_rate: f64,
    /// The host position expected at the next block's start if nothing jumps.
    expected_pos: f64,
}

/// The input notes being held, and what was struck since the last step.
#[derive(Clone, Debug)]
struct Input {
    /// Keys held, per channel. A repeated note-on for a held key is a
    /// retrigger, not a second holder, so the key's one note-off ends it.
    keys: [u128; 16],
    struck: u128,
    /// Input notes passed to the output and not yet ended there, per channel.
    passed: [u128; 16],
    velocity: u8,
}

impl Default for Input {
    fn default() -> Self {
        Self {
            keys: [0; 16],
            struck: 0,
            passed: [0; 16],
            velocity: 100,
        }
    }
}

impl Input {
    /// Keys held on any channel.
    fn held(&self) -> u128 {
        self.keys.iter().fold(0, |a, k| a | k)
    }

    fn top(&self) -> Option<u8> {
        let held = self.held();
        (held != 0).then(|| 127 - held.leading_zeros() as u8)
    }

    fn struck(&self, pitch: u8) -> bool {
        self.struck & (1u128 << pitch) != 0
    }

    /// Held or struck since the last step, highest first, into `out`; returns the count.
    fn sounding_desc(&self, out: &mut [u8; 128]) -> usize {
        let mut n = 0;
        let sounding = self.held() | self.struck;
        for p in (0..128u8).rev() {
            if sounding & (1u128 << p) != 0 {
                out[n] = p;
                n += 1;
            }
        }
        n
    }
}

/// Continue mode's turn-taking.
#[derive(Clone, Copy, Debug, Default)]
struct Turn {
    /// The model is playing (otherwise listening).
    playing: bool,
    steps_left: u32,
    quiet_steps: u32,
    /// Something was played since the model's last turn.
    heard: bool,
}

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
    /// Voice 0's sounding pitch after the last step (harmonize).
    melody: Option<u8>,
    /// Each voice's observed pitch after the last listening step (continue).
    observed: [Option<u8>; MAX_VOICES],
    turn: Turn,
    rng: Rng,
    last: Option<(Mode, u64)>,
    steps_taken: u64,
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
            melody: None,
            observed: [None; MAX_VOICES],
            turn: Turn::default(),
            rng: Rng::new(0),
            last: None,
            steps_taken: 0,
        }
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
        self.input.keys = [0; 16];
        self.input.struck = 0;
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
        let wrap = self.sync_clock(model, settings, block, out);
        let mut next_input = 0;
        match wrap {
            Some((at, loop_start)) => {
                next_input = self.walk(model, settings, block, input, next_input, 0, at, out);
                let c = self.clock.expect("synced");
                self.restart(model, settings, out, at);
                let anchor =
                    Anchor::new(self.sample + at as i64, loop_start, c.sample_rate, c.tempo);
                self.start_clock(ClockSource::Host, anchor, c.tempo, model.step_beats());
                self.walk(model, settings, block, input, next_input, at, frames, out);
            }
            None => {
                self.walk(model, settings, block, input, next_input, 0, frames, out);
            }
        }
        self.sample += frames as i64;
        if let Some(c) = self.clock.as_mut() {
            c.expected_pos = c.anchor.beat_at(self.sample);
        }
    }

    /// Ends all generated notes at `offset` and restarts the model and its random stream.
    fn restart<M: VoiceModel + ?Sized>(
        &mut self,
        model: &mut M,
        settings: &Settings,
        out: &mut EventBuffer,
        offset: u32,
    ) {
        self.tracker.end_all(out, offset);
        model.reset();
        self.rng = Rng::new(settings.seed);
        self.melody = None;
        self.observed = [None; MAX_VOICES];
        self.turn = Turn::default();
        self.last_step = None;
        self.input.struck = 0;
        self.last = Some((settings.mode, settings.seed));
    }

    fn start_clock(&mut self, source: ClockSource, anchor: Anchor, tempo: f64, step_beats: f64) {
        self.clock = Some(Clock {
            source,
            anchor,
            tempo,
            sample_rate: anchor.samples_per_beat * tempo / 60.0,
            expected_pos: anchor.beat,
        });
        self.next_step = first_step_at_or_after(anchor.beat, step_beats);
    }

    /// Brings the clock in line with the block's transport. Returns the
    /// offset and loop start of a loop wrap inside the block, if there is one.
    fn sync_clock<M: VoiceModel + ?Sized>(
        &mut self,
        model: &mut M,
        settings: &Settings,
        block: &Block,
        out: &mut EventBuffer,
    ) -> Option<(u32, f64)> {
        let t = block.transport;
        let tempo = sanitize_tempo(t.tempo);
        let sr = block.sample_rate;
        let step_beats = model.step_beats();
        let start = self.sample;
        let same_rate = |c: &Clock| (c.sample_rate - sr).abs() < 1e-6;
        match (t.playing, t.pos_beats.filter(|p| p.is_finite())) {
            (true, Some(pos)) => match self.clock {
                Some(c) if c.source == ClockSource::Host && same_rate(&c) => {
                    let drift = (pos - c.expected_pos).abs();
                    if drift > MAX_DRIFT_BEATS {
                        self.restart(model, settings, out, 0);
                        self.start_clock(
                            ClockSource::Host,
                            Anchor::new(start, pos, sr, tempo),
                            tempo,
                            step_beats,
                        );
                    } else if c.tempo != tempo || drift * c.anchor.samples_per_beat > 1.5 {
                        // Same song position, new tempo: the grid bends here, no reset.
                        let next = self.next_step;
                        self.start_clock(
                            ClockSource::Host,
                            Anchor::new(start, pos, sr, tempo),
                            tempo,
                            step_beats,
                        );
                        self.next_step = next;
                    }
                }
                _ => {
                    self.restart(model, settings, out, 0);
                    self.start_clock(
                        ClockSource::Host,
                        Anchor::new(start, pos, sr, tempo),
                        tempo,
                        step_beats,
                    );
                }
            },
            _ => match self.clock {
                Some(c) if c.source == ClockSource::Internal && same_rate(&c) => {
                    if c.tempo != tempo {
                        let beat = c.anchor.beat_at(start);
                        let next = self.next_step;
                        self.start_clock(
                            ClockSource::Internal,
                            Anchor::new(start, beat, sr, tempo),
                            tempo,
                            step_beats,
                        );
                        self.next_step = next;
                    }
                }
                _ => {
                    self.restart(model, settings, out, 0);
                    self.start_clock(
                        ClockSource::Internal,
                        Anchor::new(start, 0.0, sr, tempo),
                        tempo,
                        step_beats,
                    );
                }
            },
        }
        // A loop end inside this block: the host will jump back to the loop
        // start; do it at the exact sample so the wrap does not depend on
        // where the host cut its buffers.
        let c = self.clock?;
        if c.source != ClockSource::Host {
            return None;
        }
        let (loop_start, loop_end) = t.loop_range?;
        if loop_end <= loop_start + 1e-6 || loop_end.is_nan() || c.anchor.beat_at(start) >= loop_end
        {
            return None;
        }
        let at = c.anchor.sample_of(loop_end) - start;
        (at > 0 && at < block.frames as i64).then_some((at as u32, loop_start))
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
                if clock.source == ClockSource::Internal && self.melody.is_none() {
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
                    self.turn.playing = false;
                }
                self.turn.heard = true;
                self.turn.quiet_steps = 0;
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
        let position = k.rem_euclid(model.bar_steps().max(1) as i64) as usize;
        let sampler = Sampler {
            temperature: if settings.temperature.is_finite() {
                settings.temperature.max(0.0)
            } else {
                1.0
            },
            strict: settings.strict,
            ..Sampler::default()
        };
        let velocity = match settings.velocity {
            Velocity::Fixed(v) => v.clamp(1, 127),
            Velocity::FromInput => self.input.velocity.clamp(1, 127),
        };
        let mut clamp = [None; MAX_VOICES];
        let mut first_voice = 0;
        match settings.mode {
            Mode::Harmonize => {
                let range = model.voice_range(0);
                let melody = match self.input.top() {
                    None => Token::Rest,
                    Some(p) => {
                        let folded = range.fold(p);
                        if self.input.struck(p) || self.melody != Some(folded) {
                            Token::Onset(folded)
                        } else {
                            Token::Hold
                        }
                    }
                };
                if melody == Token::Rest {
                    // No melody, no harmony, and the model waits: fed rests,
                    // it learns from the chorales (where voices rarely rest)
                    // to stay silent when the melody comes back.
                    self.melody = None;
                    self.input.struck = 0;
                    self.last_step = Some(k);
                    self.steps_taken += 1;
                    for v in 1..n {
                        self.tracker.end(out, offset, v);
                    }
                    return;
                }
                if self.melody.is_none() {
                    // A phrase starts from silence: harmonize it the way a
                    // chorale starts, from a fresh state.
                    model.reset();
                }
                clamp[0] = Some(melody);
                self.melody = sounding(self.melody, melody);
                first_voice = 1;
            }
            Mode::Continue => {
                if self.turn.playing && self.turn.steps_left == 0 {
                    self.tracker.end_all(out, offset);
                    self.turn = Turn::default();
                }
                if !self.turn.playing {
                    self.observe(model, n, &mut clamp);
                }
            }
        }
        self.input.struck = 0;
        self.last_step = Some(k);
        self.steps_taken += 1;
        let tokens = model.step(position, &clamp[..n], &sampler, &mut self.rng);
        let listening = settings.mode == Mode::Continue && !self.turn.playing;
        for v in 0..n {
            let token = tokens.get(v).copied().unwrap_or(Token::Rest);
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
            self.count_turn(settings, model.step_beats(), model.bar_steps());
        }
    }

    /// Continue mode, listening: the played notes as clamps for every voice.
    fn observe<M: VoiceModel + ?Sized>(
        &mut self,
        model: &M,
        n: usize,
        clamp: &mut [Option<Token>; MAX_VOICES],
    ) {
        let mut pitches = [0u8; 128];
        let m = self.input.sounding_desc(&mut pitches);
        let mut assigned = [None; MAX_VOICES];
        if n > 0 && m > 0 {
            assigned[0] = Some(pitches[0]);
            if n > 1 && m > 1 {
                assigned[n - 1] = Some(pitches[m - 1]);
                for (v, &p) in (1..n - 1).zip(&pitches[1..m - 1]) {
                    assigned[v] = Some(p);
                }
            }
        }
        for v in 0..n {
            let token = match assigned[v] {
                None => Token::Rest,
                Some(p) => {
                    let folded = model.voice_range(v).fold(p);
                    if self.input.struck(p) || self.observed[v] != Some(folded) {
                        Token::Onset(folded)
                    } else {
                        Token::Hold
                    }
                }
            };
            self.observed[v] = sounding(self.observed[v], token);
            clamp[v] = Some(token);
        }
    }

    /// Continue mode: after a step, decide whose turn the next one is.
    fn count_turn(&mut self, settings: &Settings, step_beats: f64, bar_steps: usize) {
        if self.turn.playing {
            self.turn.steps_left = self.turn.steps_left.saturating_sub(1);
            return;
        }
        if self.input.top().is_some() {
            self.turn.quiet_steps = 0;
            return;
        }
        self.turn.quiet_steps += 1;
        let silence = (settings.silence_beats.max(0.0) / step_beats)
            .round()
            .max(1.0) as u32;
        if self.turn.heard && self.turn.quiet_steps >= silence {
            self.turn.playing = true;
            self.turn.heard = false;
            self.turn.steps_left = settings.continue_bars.max(1) * bar_steps as u32;
            self.observed = [None; MAX_VOICES];
        }
    }
}
