//! Transport-synced stepping: host time and incoming notes in, the model's
//! voices (or a piano roll's keys) out, each at an exact sample offset.
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
//! transport stopped an internal clock follows the player's pace
//! ([`follow`]), starting at the host's tempo.
//!
//! ## Harmonize
//! The highest held input note is the melody (voice 0). The grid step whose
//! boundary is nearest to a melody onset owns it: if the onset comes before
//! that boundary the step runs early, at the onset's own sample (no added
//! latency). A step with no onset yet waits up to the Timing tolerance after
//! its boundary ([`feel`]), so a late onset is still its step's, decided
//! once, at the onset; a note later than that runs the next step at once.
//! So the harmony always starts with the melody note. Steps without a
//! melody onset advance the model with the melody held (or resting, in
//! which case every voice rests). With the transport stopped the grid
//! follows the player's pace ([`follow`]). Voice 0 is never generated in
//! this mode: the melody itself sounds through the pass-through.
//!
//! ## Continue
//! While listening, every step clamps all voices to what is being played
//! (highest note to voice 0, lowest to the last voice, the rest in between).
//! After `silence_beats` without input the model plays on alone for
//! `continue_bars` bars, then listens again; playing over it hands control
//! back to the player at once.
//!
//! ## Piano-roll models
//! [`Sequencer::process`] takes any [`Playable`] model: a voices model, a
//! [`crate::model::PianoRollModel`] or an [`crate::model::AnyModel`]. A
//! piano roll steps on its own grid (its frame's `step_beats`) in continue
//! mode only: listening, each frame is every key held or struck since the
//! last step; on its turn, its sampled frames sound under the held-keys
//! rule (`Sequencer::sound_frame`). It cannot harmonize (its NADE
//! decides keys lowest first, so the melody, the top key, cannot be given
//! first): in harmonize mode it is not stepped and the input passes
//! through, and [`crate::model::AnyModel::can_harmonize`] says so.

pub mod bars;
pub mod block;
pub mod clock;
pub mod delay;
pub mod feel;
pub mod follow;
pub mod input;
pub mod notes;
pub mod playable;
pub mod session;
pub mod settings;
pub mod turn;

use crate::ahead::{Ahead, Horizon, Upcoming, MAX_AHEAD};
use crate::key::Key;
use crate::meter::{BarPosition, Meter};
use crate::model::StepContext;
use crate::perform::KeyFollower;
use crate::perform::{user_sampler, HarmonizeStep, MelodyNote, Performer};
use crate::pianoroll::{KeyFrame, HIGHEST_KEY, LOWEST_KEY};
use crate::token::{Token, MAX_VOICES};

pub use crate::perform::VoiceModel;
use bars::BarLines;
pub use block::{Block, InputEvent, InputKind, Transport};
use clock::{
    first_step_at_or_after, nearest_step, samples_per_beat, sanitize_tempo, Anchor, Clock,
    ClockSource, Sync,
};
use delay::{ClockChange, Delay};
use feel::Feel;
use follow::Follower;
use input::Input;
use notes::NoteTracker;
pub use notes::{EventBuffer, NoteEvent, Source};
pub use playable::{Playable, Played};
pub use settings::{Mode, Settings, Velocity};
use turn::Turn;

/// Host-agnostic, allocation-free stepping of a model in time with a transport.
#[derive(Clone, Debug)]
pub struct Sequencer {
    /// Absolute sample at the start of the next block.
    sample: i64,
    /// The grid the sequencer plays on: the host's, `latency` samples later.
    clock: Option<Clock>,
    /// The host's grid as its transport says now (for the lookahead's delay
    /// line; the same as `clock` without lookahead).
    host_clock: Option<Clock>,
    /// Mode and seed of the last restart scheduled on the host's grid.
    scheduled: Option<(Mode, u64)>,
    /// Input and grid changes waiting their turn (see [`delay`]).
    delay: Delay,
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
    /// The bar grid the host's bar starts are checked against.
    bars: BarLines,
    /// The key of the harmony: set by the user or followed from the melody.
    key: KeyFollower,
    /// Samples of latency the lookahead adds (what the host is told).
    latency: u32,
    /// The delay line plays out at the next block (after a reset).
    flush_pending: bool,
    /// A step whose boundary has passed, waiting for a late melody note
    /// (see [`feel`]) or for a voice to have sounded long enough.
    pending: Option<Pending>,
    /// How the input has been timed against the grid.
    feel: Feel,
    /// Transport stopped: the player's pace.
    follower: Follower,
    /// Absolute sample of the latest generated note-on.
    last_strike: Option<i64>,
    /// Steps were taken without sounding: the next step sounds what the
    /// model holds.
    unsounded: bool,
    /// The melody's pitch on the last step that sounded.
    melody_pitch: Option<u8>,
    /// Absolute sample since which no input key is held.
    silent_since: Option<i64>,
}

/// A grid step decided later than its boundary: at `due` (an absolute
/// sample), or earlier if its melody note comes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pending {
    step: i64,
    due: i64,
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
            host_clock: None,
            scheduled: None,
            delay: Delay::default(),
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
            bars: BarLines::default(),
            key: KeyFollower::default(),
            latency: 0,
            flush_pending: false,
            pending: None,
            feel: Feel::default(),
            follower: Follower::default(),
            last_strike: None,
            unsounded: false,
            melody_pitch: None,
            silent_since: Some(0),
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
        self.host_clock = None;
        self.scheduled = None;
        self.last = None;
        self.pending = None;
        self.feel = Feel::default();
        // Input waiting in the lookahead's delay line plays at the next
        // block's first sample (its note-offs must pass, and time after a
        // reset does not follow on); waiting grid changes are dropped.
        self.flush_pending = true;
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
    ///
    /// With lookahead, everything the host sends is played [`latency`](Self::latency)
    /// samples later (see [`delay`]); without it, as it arrives.
    ///
    /// `model` is any [`Playable`]: a voices model, a piano-roll model, or
    /// an [`AnyModel`](crate::model::AnyModel) as loaded. Handing over a
    /// model of another kind than the last block's is a new model: call
    /// [`reset`](Self::reset) first, as when a model is replaced.
    pub fn process<P: Playable + ?Sized>(
        &mut self,
        model: &mut P,
        settings: &Settings,
        block: &Block,
        input: &[InputEvent],
        out: &mut EventBuffer,
    ) {
        let model = &mut model.played();
        out.clear();
        let frames = block.frames;
        let last_sample = frames.saturating_sub(1);
        let t = &block.transport;
        self.meter = t.meter.unwrap_or(Meter::COMMON);
        // Bars from the host's bar start where it agrees with its position
        // and meter (`bars`: some hosts send it wrong).
        self.bar_origin = match t.pos_beats.filter(|p| p.is_finite()) {
            Some(pos) if t.playing => self.bars.origin(pos, self.meter, t.bar_start),
            _ => t.bar_start.filter(|b| b.is_finite()).unwrap_or(0.0),
        };
        self.key.set_choice(settings.key);
        let silent = block.bypassed || !model.plays(settings.mode);
        // Bypassed, input still passes, as late as the reported latency says.
        let pass = settings.pass_through || silent;
        if self.flush_pending {
            // After a reset: every note ends now, even with the new grid's
            // restart still waiting in the delay line.
            self.flush_pending = false;
            self.flush(pass, settings.mode, out);
            self.tracker.end_all(out, 0);
        }
        let latency = self.wanted_latency(model, settings, block);
        if latency != self.latency {
            // A new delay: what waits plays now, every note ends, and the
            // grid restarts with the new delay.
            self.flush(pass, settings.mode, out);
            self.tracker.end_all(out, 0);
            self.clock = None;
            self.host_clock = None;
            self.pending = None;
            self.latency = latency;
        }
        let delay = self.latency as i64;
        if silent {
            self.tracker.end_all(out, 0);
            self.clock = None;
            self.host_clock = None;
            self.pending = None;
            self.delay.clock.clear();
        } else {
            if self.scheduled != Some((settings.mode, settings.seed)) {
                self.host_clock = None;
            }
            match Clock::sync(self.host_clock, t, block.sample_rate, self.sample) {
                Sync::Keep => {}
                Sync::Bend(clock) => {
                    self.host_clock = Some(clock);
                    self.schedule(model, settings, self.sample, ClockChange::Bend(clock), out);
                }
                Sync::Restart(clock) => {
                    self.host_clock = Some(clock);
                    self.scheduled = Some((settings.mode, settings.seed));
                    self.schedule(
                        model,
                        settings,
                        self.sample,
                        ClockChange::Restart(clock),
                        out,
                    );
                }
            }
            let wrap = self
                .host_clock
                .and_then(|c| c.loop_wrap(t, self.sample, frames));
            if let Some((at, clock)) = wrap {
                self.host_clock = Some(clock);
                let due = self.sample + at as i64;
                self.schedule(model, settings, due, ClockChange::Restart(clock), out);
            }
        }
        for ev in input {
            let due = self.sample + ev.offset.min(last_sample) as i64 + delay;
            if let Some((_, early)) = self.delay.input.push(due, *ev) {
                // The delay line is full: the oldest event plays now.
                self.apply_input(&early, 0, pass, settings.mode, out);
            }
        }
        self.walk(model, settings, frames, pass, out);
        self.sample += frames as i64;
        if let Some(c) = self.host_clock.as_mut() {
            c.expected_pos = c.anchor.beat_at(self.sample);
        }
    }

    /// The latency the lookahead needs now: its steps (a beat or a bar of
    /// the host's meter) at the host's tempo, for a model that can look
    /// ahead and only when harmonizing. A tempo drift of up to 2% keeps the
    /// latency already reported (the host's compensation stays exact; the
    /// lookahead grows or shrinks by a fraction of a step), so only a real
    /// change makes the host restart.
    fn wanted_latency<V: VoiceModel + ?Sized>(
        &self,
        model: &Played<'_, V>,
        settings: &Settings,
        block: &Block,
    ) -> u32 {
        if settings.mode != Mode::Harmonize
            || settings.lookahead == Horizon::Off
            || !model.looks_ahead()
            || block.bypassed
        {
            return 0;
        }
        let step_beats = model.step_beats();
        let bar = BarPosition::new(0, self.meter, step_beats);
        let steps = lookahead_steps(settings.lookahead, bar);
        let spb = samples_per_beat(block.sample_rate, sanitize_tempo(block.transport.tempo));
        let want = (steps as f64 * step_beats * spb).round().clamp(1.0, 1e7) as u32;
        let held = self.latency as f64;
        if self.latency > 0 && (want as f64 - held).abs() <= 0.02 * held {
            self.latency
        } else {
            want
        }
    }

    /// Queues a change of the host's grid, `latency` samples later. A full
    /// queue plays its oldest change at once.
    fn schedule<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        due: i64,
        change: ClockChange,
        out: &mut EventBuffer,
    ) {
        let delay = self.latency as i64;
        let shifted = |mut c: Clock| {
            c.anchor.sample += delay;
            c
        };
        let change = match change {
            ClockChange::Bend(c) => ClockChange::Bend(shifted(c)),
            ClockChange::Restart(c) => ClockChange::Restart(shifted(c)),
        };
        if let Some((_, early)) = self.delay.clock.push(due + delay, change) {
            self.change_clock(model, settings, early, out, 0);
        }
    }

    fn change_clock<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        change: ClockChange,
        out: &mut EventBuffer,
        offset: u32,
    ) {
        match change {
            ClockChange::Bend(c) => self.clock = Some(c),
            ClockChange::Restart(c) => self.restart_on(model, settings, c, out, offset),
        }
    }

    /// Plays every waiting input event now (at the block's start) and drops
    /// the waiting grid changes.
    fn flush(&mut self, pass: bool, mode: Mode, out: &mut EventBuffer) {
        while let Some((_, ev)) = self.delay.input.pop() {
            self.apply_input(&ev, 0, pass, mode, out);
        }
        self.delay.clock.clear();
    }

    /// Ends all generated notes at `offset`, restarts the model and its
    /// random stream, and runs the grid of `clock` from here.
    fn restart_on<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        clock: Clock,
        out: &mut EventBuffer,
        offset: u32,
    ) {
        self.tracker.end_all(out, offset);
        model.restart(&mut self.performer, settings.seed);
        self.key.reset();
        self.turn = Turn::default();
        self.last_step = None;
        self.input.struck = 0;
        self.last = Some((settings.mode, settings.seed));
        self.clock = Some(clock);
        self.next_step = first_step_at_or_after(clock.anchor.beat, model.step_beats());
        self.pending = None;
        self.follower.forget();
        self.unsounded = false;
    }

    /// Walks the block's samples: the grid changes, input events, step
    /// boundaries and waiting steps that fall due, in time order (at one
    /// sample: grid changes, then input, then the step).
    fn walk<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        frames: u32,
        pass: bool,
        out: &mut EventBuffer,
    ) {
        let step_beats = model.step_beats();
        let start = self.sample;
        let end = start + frames as i64;
        let mut cursor = start;
        loop {
            let clock_due = self.delay.clock.front().map(|(d, _)| d.max(cursor));
            let input_due = self.delay.input.front().map(|(d, _)| d.max(cursor));
            let waiting = self.pending.map(|p| p.due.max(cursor));
            let unsure = self.follower_unsure(settings, cursor);
            // While a step waits, the next boundary is not due yet (a wait
            // is at most a third of a step).
            let boundary = match self.clock {
                Some(c) if self.pending.is_none() && unsure.is_none() => Some(
                    c.anchor
                        .sample_of(self.next_step as f64 * step_beats)
                        .max(cursor),
                ),
                _ => None,
            };
            let s = [clock_due, input_due, waiting, boundary, unsure.flatten()]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or(i64::MAX);
            if s >= end {
                break;
            }
            cursor = s;
            let offset = (s - start) as u32;
            if clock_due == Some(s) {
                while let Some((due, change)) = self.delay.clock.front() {
                    if due.max(cursor) != s {
                        break;
                    }
                    self.delay.clock.pop();
                    self.change_clock(model, settings, change, out, offset);
                }
                continue;
            }
            let mut melody_onset = false;
            while let Some((due, ev)) = self.delay.input.front() {
                if due.max(cursor) != s {
                    break;
                }
                self.delay.input.pop();
                melody_onset |= self.apply_input(&ev, offset, pass, settings.mode, out);
                self.silent_since = match (self.input.top(), self.silent_since) {
                    (Some(_), _) => None,
                    (None, since) => since.or(Some(s)),
                };
            }
            let Some(clock) = self.clock else {
                continue;
            };
            if melody_onset && settings.mode == Mode::Harmonize {
                self.melody_onset(model, settings, s, offset, out);
            } else if waiting == Some(s) {
                if let Some(p) = self.pending.take() {
                    self.take_step(model, settings, p.step, offset, true, out);
                }
            } else if boundary == Some(s) {
                let k = self.next_step;
                self.next_step += 1;
                let at = clock.anchor.sample_of(k as f64 * step_beats);
                let due = at + self.wait(settings, &clock, step_beats);
                if due <= s {
                    self.take_step(model, settings, k, offset, true, out);
                } else {
                    self.pending = Some(Pending { step: k, due });
                }
            }
        }
    }

    /// Samples a step with no melody onset yet waits after its boundary
    /// for a late one (see [`feel`]): harmonizing only.
    fn wait(&self, settings: &Settings, clock: &Clock, step_beats: f64) -> i64 {
        if settings.mode != Mode::Harmonize {
            return 0;
        }
        let step = step_beats * clock.anchor.samples_per_beat;
        let tolerance = feel::tolerance(settings.timing_ms, clock.sample_rate, step);
        let grace = feel::grace(clock.sample_rate);
        let free = clock.source == ClockSource::Internal;
        self.feel.wait(tolerance, grace, free)
    }

    /// Transport stopped, a phrase's first note heard and its pace not
    /// yet: no step is taken on a grid the player has not shown, until the
    /// next note tells the pace or the player has been silent a beat (of
    /// the host's tempo), which ends the phrase. `Some` while so, with the
    /// sample at which the silence will have lasted a beat.
    fn follower_unsure(&self, settings: &Settings, now: i64) -> Option<Option<i64>> {
        let clock = self.clock?;
        let waits = settings.mode == Mode::Harmonize
            && clock.source == ClockSource::Internal
            && self.performer.in_phrase()
            && self.follower.awaits_pace();
        if !waits {
            return None;
        }
        match self.silent_since {
            None => Some(None),
            Some(since) => {
                let beat = samples_per_beat(clock.sample_rate, clock.tempo);
                let end = since + beat.round() as i64;
                (end > now).then_some(Some(end))
            }
        }
    }

    /// A melody onset at absolute sample `s`: the step it belongs to is
    /// decided now. Early or on time, that is the next step; late within
    /// the wait, the step waiting for it; later still, the next step (the
    /// one it waited for was decided without it, and is not taken back).
    fn melody_onset<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        s: i64,
        offset: u32,
        out: &mut EventBuffer,
    ) {
        let Some(clock) = self.clock else {
            return;
        };
        let step_beats = model.step_beats();
        if clock.source == ClockSource::Internal {
            self.follow_onset(model, settings, clock, s, offset, out);
            return;
        }
        let owner = nearest_step(clock.anchor.beat_at(s), step_beats);
        self.feel
            .heard(s - clock.anchor.sample_of(owner as f64 * step_beats));
        if self.waiting_step_takes(model, settings, owner, s, offset, out) {
            return;
        }
        // The last step rested (the model did not step, and no phrase is
        // under way): it takes the note.
        let retake_rest =
            owner < self.next_step && self.last_step == Some(owner) && !self.performer.in_phrase();
        if retake_rest {
            self.decide(model, settings, owner, s, offset, out);
        } else {
            let k = self.next_step;
            self.next_step += 1;
            self.decide(model, settings, k, s, offset, out);
        }
    }

    /// Transport stopped: a melody onset re-anchors the free grid where the
    /// player meant it (see [`follow`]) and its step is decided now. The
    /// first note of a phrase is a one-beat pickup; steps the player's faster pace
    /// skipped are taken without sounding.
    fn follow_onset<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        mut clock: Clock,
        s: i64,
        offset: u32,
        out: &mut EventBuffer,
    ) {
        let step_beats = model.step_beats();
        let host_beat = samples_per_beat(clock.sample_rate, clock.tempo);
        let earliest = self.pending.map_or(self.next_step, |p| p.step);
        let bar_beats = self.meter.bar_beats();
        let before = self.follower.last_beat();
        let heard = if self.performer.in_phrase() {
            self.follower.onset(s, host_beat, step_beats)
        } else {
            None
        };
        if let (Some((beat, _)), Some(before)) = (heard, before) {
            self.follower
                .heard_note(before, beat - before, self.bar_origin, self.meter);
        }
        let (beat, beat_samples) = match heard {
            Some(found) => found,
            None => {
                // A phrase from silence: its first note is a one-beat
                // pickup, the last beat of a bar, as two thirds of Bach's
                // chorales begin (153 of the 225 of the training split; the
                // rest start on a downbeat). Nothing else tells where the
                // bar starts with the transport stopped.
                let pickup = self.meter.beat_beats().min(bar_beats);
                let from = earliest as f64 * step_beats - self.bar_origin + pickup;
                let beat = self.bar_origin + (from / bar_beats - 1e-9).ceil() * bar_beats - pickup;
                self.follower.first(s, beat);
                self.pending = None;
                (beat, host_beat)
            }
        };
        let anchor = Anchor {
            sample: s,
            beat,
            samples_per_beat: beat_samples,
        };
        clock.anchor = anchor;
        self.clock = Some(clock);
        if let Some(h) = self.host_clock.as_mut() {
            if h.source == ClockSource::Internal {
                h.anchor = anchor;
                h.anchor.sample -= self.latency as i64;
            }
        }
        // Never a step already decided: a note the grid ran ahead of takes
        // the next one, and the grid, anchored on the beat meant, waits.
        let owner = nearest_step(beat, step_beats).max(earliest);
        if self.waiting_step_takes(model, settings, owner, s, offset, out) {
            return;
        }
        if !self.performer.in_phrase() {
            self.next_step = owner;
        }
        // The player was faster than the grid: the steps between were held.
        while self.next_step < owner {
            let k = self.next_step;
            self.next_step += 1;
            self.take_step(model, settings, k, offset, false, out);
        }
        let k = self.next_step;
        self.next_step += 1;
        self.decide(model, settings, k, s, offset, out);
    }

    /// A melody onset at `s` for step `owner` while a step waits: the
    /// waiting step takes it when it is that step's (or, late, an earlier
    /// one's), and says so; otherwise the waiting step is decided without
    /// it first. A waiting step is always before `next_step`.
    fn waiting_step_takes<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        owner: i64,
        s: i64,
        offset: u32,
        out: &mut EventBuffer,
    ) -> bool {
        let Some(p) = self.pending.take() else {
            return false;
        };
        if owner <= p.step {
            self.decide(model, settings, p.step, s, offset, out);
            return true;
        }
        self.take_step(model, settings, p.step, offset, true, out);
        false
    }

    /// What voice `v` sounds by the model's choice, in real pitch (the
    /// output differs only after steps taken without sounding).
    fn model_pitch(&self, v: usize) -> Option<u8> {
        let shift = self.performer.frame_shift();
        self.performer.sounding()[v].map(|p| (p as i32 - shift).clamp(0, 127) as u8)
    }

    /// Takes step `k` at `s`, unless a voice struck less than the shortest
    /// note ago would be cut: then the step waits until it has sounded so
    /// long (see [`feel::min_note`]).
    fn decide<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        k: i64,
        s: i64,
        offset: u32,
        out: &mut EventBuffer,
    ) {
        let guard = match (self.last_strike, self.clock) {
            (Some(t), Some(c)) => {
                let step = model.step_beats() * c.anchor.samples_per_beat;
                t + feel::min_note(c.sample_rate, step)
            }
            _ => i64::MIN,
        };
        if s < guard {
            self.pending = Some(Pending {
                step: k,
                due: guard,
            });
        } else {
            self.take_step(model, settings, k, offset, true, out);
        }
    }

    /// The melody after step `k` as far as the delay line knows it: the
    /// input waiting to be played, read onto the grid (each note-on owned by
    /// the nearest step), at most `limit` steps ahead. A moment with no key
    /// held ends the scan, as a rest ends a phrase.
    ///
    /// Only input the host had sent by `now` (the step's absolute sample)
    /// counts: what else sits in the delay line came in the same buffer, so
    /// reading it would make the harmony depend on the buffer size.
    fn ahead(&self, k: i64, step_beats: f64, limit: usize, horizon: Horizon, now: i64) -> Ahead {
        let mut ahead = Ahead {
            horizon,
            ..Ahead::default()
        };
        let Some(clock) = self.clock else {
            return ahead;
        };
        let top = |keys: u128| (keys != 0).then(|| 127 - keys.leading_zeros() as u8);
        let mut held = self.input.held();
        let mut found: usize = 0;
        let mut silent_at: Option<i64> = None;
        let arrived_by = now + self.latency as i64;
        for (due, ev) in self.delay.input.iter() {
            if due > arrived_by {
                break;
            }
            let j = nearest_step(clock.anchor.beat_at(due), step_beats);
            if let Some(at) = silent_at {
                if j > at {
                    break;
                }
            }
            if j > k + limit as i64 {
                break;
            }
            let before = top(held);
            let bit = |p: u8| 1u128 << (p & 127);
            match ev.kind {
                InputKind::NoteOn { pitch, velocity } if velocity > 0 => held |= bit(pitch),
                InputKind::NoteOn { pitch, .. } | InputKind::NoteOff { pitch } => {
                    held &= !bit(pitch)
                }
                InputKind::AllNotesOff => held = 0,
            }
            let now = top(held);
            silent_at = if held == 0 { Some(j) } else { None };
            let struck = match ev.kind {
                InputKind::NoteOn { pitch, velocity } if velocity > 0 => Some(pitch & 127),
                _ => None,
            };
            // A new melody note: the struck key became the top one, or the
            // top key was let go and a lower one sounds on.
            let Some(pitch) = now.filter(|&p| struck == Some(p) || now != before) else {
                continue;
            };
            if j <= k {
                continue;
            }
            let steps = (j - k).min(u16::MAX as i64) as u16;
            match found.checked_sub(1).and_then(|i| ahead.notes[i]) {
                // A chord's notes on one step: the top one is the melody.
                Some(n) if n.steps == steps => {
                    ahead.notes[found - 1] = Some(Upcoming { pitch, steps })
                }
                _ if found < MAX_AHEAD => {
                    ahead.notes[found] = Some(Upcoming { pitch, steps });
                    found += 1;
                }
                _ => break,
            }
        }
        ahead
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
                let before = self.input.top();
                self.note_off(channel, pitch & 127, offset, out);
                // Legato downwards: the new, lower key was struck while the
                // old one still sounded; letting the old one go is the onset.
                let after = self.input.top();
                mode == Mode::Harmonize
                    && after != before
                    && after.is_some_and(|p| self.input.struck & (1u128 << p) != 0)
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
        if pass_through
            && self
                .tracker
                .pass_on(out, offset, channel as u8, pitch, velocity)
        {
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

    /// Runs grid step `k` at `offset` and sounds what the model plays.
    /// Without `sound`, the step is one the player's pace skipped (see
    /// [`Sequencer::follow_onset`]): the melody held as it was, and nothing
    /// sounds until the next step, which sounds what the voices then hold.
    fn take_step<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut Played<'_, V>,
        settings: &Settings,
        k: i64,
        offset: u32,
        sound: bool,
        out: &mut EventBuffer,
    ) {
        match model {
            Played::Voices(m) => self.voices_step(&mut **m, settings, k, offset, sound, out),
            Played::PianoRoll(m) => self.frame_step(m, settings, k, offset, out),
        }
    }

    /// Runs grid step `k` of a voices model and sounds its voices.
    fn voices_step<V: VoiceModel + ?Sized>(
        &mut self,
        model: &mut V,
        settings: &Settings,
        k: i64,
        offset: u32,
        sound: bool,
        out: &mut EventBuffer,
    ) {
        let n = model.voice_count().min(MAX_VOICES);
        // The step's place in the host's bar: steps since the bar origin,
        // wrapped at the bar's length.
        let step_beats = model.step_beats();
        let bar = BarPosition::new(0, self.meter, step_beats);
        // Transport stopped, the bar lines move where the player's long
        // notes put them (see [`Follower::bar_shift`]).
        let free = self
            .clock
            .is_some_and(|c| c.source == ClockSource::Internal);
        let origin = self.bar_origin - if free { self.follower.bar_shift() } else { 0.0 };
        let since = ((k as f64 * step_beats - origin) / step_beats).round() as i64;
        let (meter, position) = if bar.bar_steps == bar.beat_steps && since >= bar.bar_steps as i64
        {
            // Past the end of a bar of one beat (a pickup, `BarPosition::
            // is_downbeat`) in the same host buffer: the first full bar has
            // begun, and the host tells its meter only from its next buffer
            // (hosts need not cut buffers at a meter change). Until then it
            // is heard as 4/4, so its first downbeat is one.
            let full = BarPosition::new(0, Meter::COMMON, step_beats).bar_steps as i64;
            let into = (since - bar.bar_steps as i64).rem_euclid(full);
            (Meter::COMMON, into as usize)
        } else {
            (self.meter, since.rem_euclid(bar.bar_steps as i64) as usize)
        };
        // A step taken without sounding heard the melody held as it was.
        let melody_now = match settings.mode {
            _ if !sound => self.melody_pitch,
            Mode::Harmonize => self.input.top(),
            Mode::Continue => self.input.heard_top(),
        };
        let bar = BarPosition::new(position, meter, step_beats);
        self.key.hear(melody_now, bar);
        let ahead = if self.latency > 0 && settings.mode == Mode::Harmonize {
            let limit = lookahead_steps(settings.lookahead, bar);
            self.ahead(
                k,
                step_beats,
                limit,
                settings.lookahead,
                self.sample + offset as i64,
            )
        } else {
            Ahead::off()
        };
        let ctx = StepContext {
            bar,
            key: self.key.key(),
            ahead,
        };
        self.performer
            .set_sampler(user_sampler(settings.temperature, settings.strict));
        // A fixed array by value: no allocation.
        self.performer.doubt_key(self.key.doubt());
        let velocity = self.velocity(settings);
        let (mut melody, heard) = (self.input.melody(), self.input.heard());
        if sound {
            self.input.struck = 0;
            self.melody_pitch = melody.map(|m| m.pitch);
        } else {
            melody = self.melody_pitch.map(|pitch| MelodyNote {
                pitch,
                struck: false,
            });
        }
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
                    self.follower.forget();
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
        if !sound {
            self.unsounded = true;
            return;
        }
        // After steps taken without sounding, a held voice sounds what the
        // model holds (struck now, with this step).
        let reconcile = std::mem::take(&mut self.unsounded);
        let channel = |v: usize| settings.channels[v] & 15;
        for (v, &token) in tokens.iter().enumerate().take(n) {
            if v < first_voice || listening || !settings.voices[v] {
                self.tracker.end(out, offset, v);
                continue;
            }
            match token {
                Token::Onset(p) => {
                    self.tracker.start(out, offset, v, channel(v), p, velocity);
                    self.last_strike = Some(self.sample + offset as i64);
                }
                Token::Hold if reconcile && self.tracker.pitch(v) != self.model_pitch(v) => {
                    match self.model_pitch(v) {
                        Some(p) => {
                            self.tracker.start(out, offset, v, channel(v), p, velocity);
                            self.last_strike = Some(self.sample + offset as i64);
                        }
                        None => self.tracker.end(out, offset, v),
                    }
                }
                Token::Hold => {}
                Token::Rest => self.tracker.end(out, offset, v),
            }
        }
        if settings.mode == Mode::Continue {
            self.count_turn(settings, model.step_beats());
        }
    }

    /// Runs grid step `k` of a piano-roll model (continue mode only: asked
    /// to harmonize, it passes the input through and never steps). While
    /// the player has the turn, the frame is what is played: every key held
    /// or struck since the last step, so a key held across frames is
    /// observed in each frame it sounds. On the model's turn the frame is
    /// sampled (through the NADE when the model has one, at the
    /// temperature, at most the sampler's `max_notes` keys) and sounded by
    /// [`Sequencer::sound_frame`].
    fn frame_step(
        &mut self,
        model: &mut crate::model::PianoRollModel,
        settings: &Settings,
        k: i64,
        offset: u32,
        out: &mut EventBuffer,
    ) {
        let mut sampler = user_sampler(settings.temperature, settings.strict);
        // Each sounding key takes one of the tracker's slots.
        sampler.max_notes = sampler.max_notes.min(MAX_VOICES);
        self.performer.set_sampler(sampler);
        let velocity = self.velocity(settings);
        let heard = self.input.heard();
        self.input.struck = 0;
        self.last_step = Some(k);
        self.steps_taken += 1;
        if self.turn.is_over() {
            self.tracker.end_all(out, offset);
            self.turn = Turn::default();
        }
        if self.turn.playing {
            let frame = self.performer.play_frame(model, None);
            self.sound_frame(frame, settings.channels[0] & 15, velocity, offset, out);
        } else {
            let observed = KeyFrame::from_midi_bits(heard.keys);
            self.performer.play_frame(model, Some(observed));
            self.tracker.end_all(out, offset);
        }
        self.count_turn(settings, model.meta().step_beats);
    }

    /// Sounds a generated piano-roll frame. The held-keys rule: a key that
    /// sounded on the last frame and sounds on this one is one held note; a
    /// key ends on the first frame without it, and sounds anew when it
    /// comes back. A binary roll cannot tell a held key from one struck
    /// again on the next frame, and the training rolls cannot either (two
    /// touching notes of one pitch are read as one), so the model never
    /// learned a re-strike without a gap: holding is what it means, and it
    /// is how `bach generate` writes a roll too. Each sounding key takes
    /// one of the tracker's slots (reported as that voice), all on the
    /// channel of voice 0; new keys take the free slots top key first.
    fn sound_frame(
        &mut self,
        frame: KeyFrame,
        channel: u8,
        velocity: u8,
        offset: u32,
        out: &mut EventBuffer,
    ) {
        let mut new = frame;
        for v in 0..MAX_VOICES {
            match self.tracker.pitch(v) {
                Some(p) if frame.contains(p) => new.remove(p),
                Some(_) => self.tracker.end(out, offset, v),
                None => {}
            }
        }
        let mut slot = 0;
        for pitch in (LOWEST_KEY..=HIGHEST_KEY).rev() {
            if !new.contains(pitch) {
                continue;
            }
            while slot < MAX_VOICES && self.tracker.pitch(slot).is_some() {
                slot += 1;
            }
            if slot == MAX_VOICES {
                break;
            }
            self.tracker
                .start(out, offset, slot, channel, pitch, velocity);
            slot += 1;
        }
    }

    /// The velocity of generated notes now.
    fn velocity(&self, settings: &Settings) -> u8 {
        match settings.velocity {
            Velocity::Fixed(v) => v.clamp(1, 127),
            Velocity::FromInput => self.input.velocity.clamp(1, 127),
        }
    }

    /// Continue mode, after a step on a grid of `step_beats`: counts the
    /// quiet steps and the model's turn, and hands the turn over.
    fn count_turn(&mut self, settings: &Settings, step_beats: f64) {
        let silence = (settings.silence_beats.max(0.0) / step_beats)
            .round()
            .max(1.0) as u32;
        // Bars of the host's meter (a 4/4 bar is the 16 steps it always was).
        let bar_steps = BarPosition::new(0, self.meter, step_beats).bar_steps as u32;
        let turn_steps = settings.continue_bars.max(1) * bar_steps;
        if self
            .turn
            .after_step(self.input.top().is_some(), silence, turn_steps)
        {
            self.performer.take_turn();
        }
    }
}

/// Steps of melody the lookahead holds back in a bar like `bar`: a beat or a
/// bar (the whole melody is for offline use; live it is a bar).
fn lookahead_steps(horizon: Horizon, bar: BarPosition) -> usize {
    horizon
        .steps(bar.beat_steps, bar.bar_steps)
        .min(bar.bar_steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sounds `frames` one per offset and ends what is left at offset 99.
    fn sounded(frames: &[&[u8]]) -> Vec<(u32, bool, u8, Source)> {
        let mut seq = Sequencer::new();
        let mut out = EventBuffer::with_capacity(256);
        for (i, f) in frames.iter().enumerate() {
            let frame = KeyFrame::from_pitches(f.iter().copied());
            seq.sound_frame(frame, 3, 90, i as u32, &mut out);
        }
        seq.tracker.end_all(&mut out, 99);
        assert!(out.events().iter().all(|e| e.channel == 3));
        out.events()
            .iter()
            .map(|e| (e.offset, e.on, e.pitch, e.source))
            .collect()
    }

    #[test]
    fn a_key_held_across_frames_is_one_note_until_a_frame_lets_go() {
        let v = Source::Voice;
        let events = sounded(&[
            &[60, 64, 67],
            &[60, 64, 67],
            &[60, 65, 69],
            &[],
            &[60],
            &[60],
        ]);
        assert_eq!(
            events,
            vec![
                // A chord: the top key takes the first free slot.
                (0, true, 67, v(0)),
                (0, true, 64, v(1)),
                (0, true, 60, v(2)),
                // Held on frame 1: nothing. Frame 2 keeps C, moves the rest.
                (2, false, 67, v(0)),
                (2, false, 64, v(1)),
                (2, true, 69, v(0)),
                (2, true, 65, v(1)),
                // An empty frame ends everything; C comes back struck anew.
                (3, false, 69, v(0)),
                (3, false, 65, v(1)),
                (3, false, 60, v(2)),
                (4, true, 60, v(0)),
                (99, false, 60, v(0)),
            ]
        );
    }

    #[test]
    fn a_frame_sounds_at_most_one_key_per_slot() {
        let wide: Vec<u8> = (0..12).map(|i| 40 + 3 * i).collect();
        let events = sounded(&[&wide]);
        let ons: Vec<u8> = events.iter().filter(|e| e.1).map(|e| e.2).collect();
        // The top MAX_VOICES keys (the sampler never draws more).
        let top: Vec<u8> = wide.iter().rev().take(MAX_VOICES).copied().collect();
        assert_eq!(ons, top);
    }
}
