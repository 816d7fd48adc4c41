//! Taking a grid step: the step's context, the performer's decision, and
//! the voices it sounds.

use super::clock::ClockSource;
use super::lookahead::lookahead_steps;
use super::turn::Turn;
use super::{EventBuffer, Mode, Played, Sequencer, Settings, Velocity, VoiceStepper};
use crate::ahead::Ahead;
use crate::meter::{BarPosition, Meter};
use crate::perform::{user_sampler, HarmonizeStep, MelodyNote};
use crate::token::{Token, MAX_VOICES};

impl Sequencer {
    /// What voice `v` sounds by the model's choice, in real pitch (the
    /// output differs only after steps taken without sounding).
    pub(super) fn model_pitch(&self, v: usize) -> Option<u8> {
        self.performer.sounding_pitch(v)
    }

    /// Runs grid step `k` at `offset` and sounds what the model plays.
    /// Without `sound`, the step is one the player's pace skipped (see
    /// [`Sequencer::follow_onset`]): the melody held as it was, and nothing
    /// sounds until the next step, which sounds what the voices then hold.
    pub(super) fn take_step<V: VoiceStepper + ?Sized>(
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

    /// Where grid step `k` falls in the host's bar: steps since the bar
    /// origin, wrapped at the bar's length.
    pub(super) fn bar_position(&self, k: i64, step_beats: f64) -> BarPosition {
        let bar = BarPosition::new(0, self.meter, step_beats);
        // Transport stopped, the bar lines move where the player's long
        // notes put them (see [`Follower::bar_shift`](super::follow::Follower::bar_shift)).
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
        BarPosition::new(position, meter, step_beats)
    }

    /// Runs grid step `k` of a voices model and sounds its voices.
    pub(super) fn voices_step<V: VoiceStepper + ?Sized>(
        &mut self,
        model: &mut V,
        settings: &Settings,
        k: i64,
        offset: u32,
        sound: bool,
        out: &mut EventBuffer,
    ) {
        let n = model.voice_count().min(MAX_VOICES);
        let step_beats = model.step_beats();
        // A step taken without sounding heard the melody held as it was.
        let melody_now = match settings.mode {
            _ if !sound => self.melody_pitch,
            Mode::Harmonize => self.input.top(),
            Mode::Continue => self.input.heard_top(),
        };
        let bar = self.bar_position(k, step_beats);
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
        let ctx = self
            .performer
            .step_context(&mut self.key, melody_now, bar, None, ahead);
        self.performer
            .set_sampler(user_sampler(settings.temperature, settings.strict));
        let velocity = self.velocity(settings);
        let (mut melody, heard) = (self.input.melody(), self.input.heard());
        if sound {
            self.input.clear_struck();
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

    /// The velocity of generated notes now.
    pub(super) fn velocity(&self, settings: &Settings) -> u8 {
        match settings.velocity {
            Velocity::Fixed(v) => v.clamp(1, 127),
            Velocity::FromInput => self.input.velocity().clamp(1, 127),
        }
    }

    /// Continue mode, after a step on a grid of `step_beats`: counts the
    /// quiet steps and the model's turn, and hands the turn over.
    pub(super) fn count_turn(&mut self, settings: &Settings, step_beats: f64) {
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
