//! Latency and restarts: the delay the lookahead needs, and changes of the
//! host's grid queued `latency` samples later so they meet the input they
//! came with (see [`super::delay`]).

use super::clock::{first_step_at_or_after, samples_per_beat, sanitize_tempo, Clock};
use super::delay::ClockChange;
use super::lookahead::lookahead_steps;
use super::turn::Turn;
use super::{Block, EventBuffer, Mode, Played, Sequencer, Settings, VoiceStepper};
use crate::ahead::Horizon;
use crate::meter::BarPosition;

impl Sequencer {
    /// The latency the lookahead needs now: its steps (a beat or a bar of
    /// the host's meter) at the host's tempo, for a model that can look
    /// ahead and only when harmonizing. A tempo drift of up to 2% keeps the
    /// latency already reported (the host's compensation stays exact; the
    /// lookahead grows or shrinks by a fraction of a step), so only a real
    /// change makes the host restart.
    pub(super) fn wanted_latency<V: VoiceStepper + ?Sized>(
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
    pub(super) fn schedule<V: VoiceStepper + ?Sized>(
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

    pub(super) fn change_clock<V: VoiceStepper + ?Sized>(
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
    pub(super) fn flush(&mut self, pass: bool, mode: Mode, out: &mut EventBuffer) {
        while let Some((_, ev)) = self.delay.input.pop() {
            self.apply_input(&ev, 0, pass, mode, out);
        }
        self.delay.clock.clear();
    }

    /// Ends all generated notes at `offset`, restarts the model and its
    /// random stream, and runs the grid of `clock` from here.
    pub(super) fn restart_on<V: VoiceStepper + ?Sized>(
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
        self.input.clear_struck();
        self.last = Some((settings.mode, settings.seed));
        self.clock = Some(clock);
        self.next_step = first_step_at_or_after(clock.anchor.beat, model.step_beats());
        self.pending = None;
        self.follower.forget();
        self.unsounded = false;
    }
}
