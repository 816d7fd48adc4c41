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
//! [`Performer`]'s. Its parts, in the order [`Sequencer::process`] uses
//! them: [`block`] (what the host hands in) and [`settings`]; `latency`
//! (the delay the lookahead needs, and grid changes queued behind it in
//! [`delay`]); [`clock`] (the grid and the one decision about it per
//! block, [`bars`] checking the host's bar lines, [`follow`] the player's
//! pace with the transport stopped); `walk` (the block's samples in time
//! order); [`input`] (the player's notes); `onset` (which step a melody
//! note belongs to, with [`feel`]'s timing tolerance); `lookahead` (the
//! melody still in the delay line); `step` (a step's context and the
//! voices it sounds); `frames` (piano-roll models); [`turn`] (continue's
//! turn-taking) and [`notes`] (output events, no note left hanging).
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
mod frames;
pub mod input;
mod latency;
mod lookahead;
pub mod notes;
mod onset;
pub mod playable;
pub mod session;
pub mod settings;
mod step;
pub mod turn;
mod walk;

use crate::key::Key;
use crate::meter::Meter;
use crate::perform::{KeyFollower, Performer};

pub use crate::perform::VoiceStepper;
use bars::BarLines;
pub use block::{Block, InputEvent, InputKind, Transport};
use clock::{Clock, Sync};
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
}
