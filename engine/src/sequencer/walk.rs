//! The sample walk: within one block, grid changes, input, step boundaries
//! and waiting steps, each at its exact sample, in time order.

use super::clock::{samples_per_beat, Clock, ClockSource};
use super::{feel, EventBuffer, Mode, Pending, Played, Sequencer, Settings, VoiceStepper};

impl Sequencer {
    /// Walks the block's samples: the grid changes, input events, step
    /// boundaries and waiting steps that fall due, in time order (at one
    /// sample: grid changes, then input, then the step).
    pub(super) fn walk<V: VoiceStepper + ?Sized>(
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
    pub(super) fn wait(&self, settings: &Settings, clock: &Clock, step_beats: f64) -> i64 {
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
    pub(super) fn follower_unsure(&self, settings: &Settings, now: i64) -> Option<Option<i64>> {
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
}
