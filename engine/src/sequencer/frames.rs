//! Piano-roll models on the grid: a frame per step, sounded under the
//! held-keys rule.

use super::turn::Turn;
use super::{EventBuffer, Sequencer, Settings};
use crate::perform::user_sampler;
use crate::pianoroll::{KeyFrame, HIGHEST_KEY, LOWEST_KEY};
use crate::token::MAX_VOICES;

impl Sequencer {
    /// Runs grid step `k` of a piano-roll model (continue mode only: asked
    /// to harmonize, it passes the input through and never steps). While
    /// the player has the turn, the frame is what is played: every key held
    /// or struck since the last step, so a key held across frames is
    /// observed in each frame it sounds. On the model's turn the frame is
    /// sampled (through the NADE when the model has one, at the
    /// temperature, at most the sampler's `max_notes` keys) and sounded by
    /// [`Sequencer::sound_frame`].
    pub(super) fn frame_step(
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
        self.input.clear_struck();
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
    pub(super) fn sound_frame(
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequencer::Source;

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
