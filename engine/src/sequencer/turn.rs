//! Continue mode's turn-taking: the model listens while the player plays,
//! takes the turn after a silence, plays for a number of bars, and hands it
//! back at once when the player plays over it.

/// Whose turn it is, and the counts that decide when it changes.
#[derive(Clone, Copy, Debug, Default)]
pub struct Turn {
    /// The model is playing (otherwise listening).
    pub playing: bool,
    steps_left: u32,
    quiet_steps: u32,
    /// Something was played since the model's last turn.
    heard: bool,
}

impl Turn {
    /// The player struck a key: listen from now on.
    pub fn player_plays(&mut self) {
        self.playing = false;
        self.heard = true;
        self.quiet_steps = 0;
    }

    /// Before a step: whether the model's turn is over.
    pub fn is_over(&self) -> bool {
        self.playing && self.steps_left == 0
    }

    /// After a step: counts it; returns true when the model takes the turn
    /// now, after `silence_steps` quiet steps, for `turn_steps` steps.
    pub fn after_step(&mut self, player_holds: bool, silence_steps: u32, turn_steps: u32) -> bool {
        if self.playing {
            self.steps_left = self.steps_left.saturating_sub(1);
            return false;
        }
        if player_holds {
            self.quiet_steps = 0;
            return false;
        }
        self.quiet_steps += 1;
        if self.heard && self.quiet_steps >= silence_steps {
            self.playing = true;
            self.heard = false;
            self.steps_left = turn_steps;
            return true;
        }
        false
    }
}
