//! The Bach Instrument's sound: the engine's organ playing the notes Bach
//! sends, at their sample offsets, under the preview's volume.

use bach_engine::organ::{pan, Organ};
use bach_engine::sequencer::{NoteEvent, Source};
use nice_plug::util::db_to_gain;

use crate::params::PreviewParams;

/// Seconds for the volume to go from silence to full, or back: switching
/// the preview off or moving the volume never clicks.
const RAMP: f64 = 0.02;
/// The organ part the melody plays on (voices are 0..=3).
const MELODY: u8 = 4;

pub struct Preview {
    organ: Organ,
    /// The gain now, moved towards the parameters' each sample.
    gain: f32,
    /// Largest gain change per sample.
    ramp: f32,
}

impl Preview {
    pub fn new(sample_rate: f64) -> Self {
        let organ = Organ::new(sample_rate);
        let ramp = (db_to_gain(6.0) as f64 / (RAMP * organ.sample_rate())) as f32;
        Self {
            organ,
            gain: 0.0,
            ramp,
        }
    }

    /// Every note ends (the host reset the plugin, so some may get no note-off): they die away.
    pub fn release_all(&mut self) {
        self.organ.release_all();
    }

    /// Silence at once (deactivated: no one is listening).
    pub fn silence(&mut self) {
        self.organ.silence();
        self.gain = 0.0;
    }

    /// Plays the block's notes (ordered by offset) into `channels`, replacing
    /// what was there. Sample by sample, so the sound is the same for any
    /// block size. No allocation: the organ is a fixed array. Bypassed, the
    /// instrument fades to silence (its MIDI still passes through).
    pub fn play(
        &mut self,
        params: &PreviewParams,
        bypassed: bool,
        notes: &[NoteEvent],
        channels: &mut [&mut [f32]],
    ) {
        let [left, right, ..] = channels else {
            return;
        };
        let target = if params.on.value() && !bypassed {
            params.volume.value()
        } else {
            0.0
        };
        if target == 0.0 && self.gain == 0.0 {
            // Off and faded out: nothing sounds, and no note waits to.
            self.organ.silence();
            left.fill(0.0);
            right.fill(0.0);
            return;
        }
        let frames = left.len().min(right.len());
        let mut done = 0;
        for e in notes {
            let at = (e.offset as usize).min(frames);
            self.organ.render(&mut left[done..at], &mut right[done..at]);
            done = at;
            let (part, place) = match e.source {
                Source::Voice(v) => (v, pan(v as usize, 4)),
                // The melody stands where the soprano does.
                Source::Input => (MELODY, pan(0, 4)),
            };
            if e.on {
                self.organ.note_on(part, e.pitch, e.velocity, place);
            } else {
                self.organ.note_off(part, e.pitch);
            }
        }
        self.organ
            .render(&mut left[done..frames], &mut right[done..frames]);
        for (l, r) in left.iter_mut().zip(right.iter_mut()) {
            self.gain += (target - self.gain).clamp(-self.ramp, self.ramp);
            *l *= self.gain;
            *r *= self.gain;
        }
    }
}
