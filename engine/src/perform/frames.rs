//! Piano-roll models: one frame of keys per step, all sampled together.

use crate::model::PianoRollModel;
use crate::pianoroll::KeyFrame;
use crate::sampling::{draw_key, keep_likeliest};

use super::Performer;

impl Performer {
    /// Starts a piano roll afresh: the model's state, the random stream
    /// (from `seed`), and no previous frame.
    pub fn restart_piano_roll(&mut self, model: &mut PianoRollModel, seed: u64) {
        model.reset();
        self.rng = crate::sampling::Rng::new(seed);
        self.previous_frame = None;
    }

    /// One frame of a piano-roll model: `observed` clamps it (listening),
    /// otherwise the keys are drawn lowest first (each hearing the keys below
    /// through an NADE) and only the sampler's `max_notes` likeliest drawn
    /// keys are kept. The frame is the next frame's input.
    pub fn play_frame(
        &mut self,
        model: &mut PianoRollModel,
        observed: Option<KeyFrame>,
    ) -> KeyFrame {
        model.advance_keys(self.previous_frame.as_ref());
        let frame = match observed {
            Some(f) => f,
            None => {
                let t = self.sampler.temperature;
                let rng = &mut self.rng;
                let drawn = model.walk_keys(|_, logit| draw_key(logit, t, rng));
                keep_likeliest(drawn, model.frame_logits(), self.sampler.max_notes)
            }
        };
        self.previous_frame = Some(frame);
        frame
    }
}
