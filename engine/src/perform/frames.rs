//! Piano-roll models: one frame of keys per step, all sampled together.

use crate::model::Model;
use crate::pianoroll::KeyFrame;
use crate::sampling::{draw_key, keep_likeliest};
use crate::ModelKind;

use super::Performer;

impl Performer {
    /// One frame of a piano-roll model: `observed` clamps it (listening),
    /// otherwise the keys are drawn lowest first (each hearing the keys below
    /// through an NADE) and only the sampler's `max_notes` likeliest drawn
    /// keys are kept. The frame is the next frame's input. A voices model
    /// plays no frame.
    pub fn play_frame(&mut self, model: &mut Model, observed: Option<KeyFrame>) -> KeyFrame {
        if model.kind() != ModelKind::Pianoroll {
            return KeyFrame::EMPTY;
        }
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
