//! Melody onsets: which grid step a played note belongs to (early, on time
//! or late, see [`super::feel`]), and deciding that step at the note.

use super::clock::{nearest_step, samples_per_beat, Anchor, Clock, ClockSource};
use super::{feel, EventBuffer, Pending, Played, Sequencer, Settings, VoiceStepper};

impl Sequencer {
    /// A melody onset at absolute sample `s`: the step it belongs to is
    /// decided now. Early or on time, that is the next step; late within
    /// the wait, the step waiting for it; later still, the next step (the
    /// one it waited for was decided without it, and is not taken back).
    pub(super) fn melody_onset<V: VoiceStepper + ?Sized>(
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
    pub(super) fn follow_onset<V: VoiceStepper + ?Sized>(
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
    pub(super) fn waiting_step_takes<V: VoiceStepper + ?Sized>(
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

    /// Takes step `k` at `s`, unless a voice struck less than the shortest
    /// note ago would be cut: then the step waits until it has sounded so
    /// long (see [`feel::min_note`]).
    pub(super) fn decide<V: VoiceStepper + ?Sized>(
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
}
