//! The player's notes: which keys are held, what was struck since the last
//! step, which input notes were passed to the output; and the sequencer's
//! handling of each note-on, note-off and all-notes-off.

use super::{EventBuffer, InputEvent, InputKind, Mode, Sequencer};
use crate::perform::{Heard, MelodyNote};

/// The input notes being held, and what was struck since the last step.
#[derive(Clone, Debug)]
pub struct Input {
    /// Keys held, per channel. A repeated note-on for a held key is a
    /// retrigger, not a second holder, so the key's one note-off ends it.
    keys: [u128; 16],
    struck: u128,
    /// Input notes passed to the output and not yet ended there, per channel.
    passed: [u128; 16],
    /// The latest note-on's velocity.
    velocity: u8,
}

impl Default for Input {
    fn default() -> Self {
        Self {
            keys: [0; 16],
            struck: 0,
            passed: [0; 16],
            velocity: 100,
        }
    }
}

impl Input {
    /// `pitch` struck on `channel` (0-15): held, and struck since the last step.
    pub fn press(&mut self, channel: usize, pitch: u8, velocity: u8) {
        let bit = 1u128 << pitch;
        self.keys[channel] |= bit;
        self.struck |= bit;
        self.velocity = velocity.min(127);
    }

    /// The note of `pitch` on `channel` passed to the output: it must end there too.
    pub fn pass(&mut self, channel: usize, pitch: u8) {
        self.passed[channel] |= 1u128 << pitch;
    }

    /// `pitch` let go on `channel`; true when its note had passed to the
    /// output and must end there now.
    pub fn release(&mut self, channel: usize, pitch: u8) -> bool {
        let bit = 1u128 << pitch;
        self.keys[channel] &= !bit;
        let passed = self.passed[channel] & bit != 0;
        self.passed[channel] &= !bit;
        passed
    }

    /// Keys an all-notes-off on `channel` ends: held, or passed and not ended.
    pub fn on_channel(&self, channel: usize) -> u128 {
        self.keys[channel] | self.passed[channel]
    }

    /// Whether `pitch` was struck since the last step.
    pub fn was_struck(&self, pitch: u8) -> bool {
        self.struck & (1u128 << pitch) != 0
    }

    /// A step has heard what was struck: the next one hears only what comes.
    pub fn clear_struck(&mut self) {
        self.struck = 0;
    }

    /// The latest note-on's velocity.
    pub fn velocity(&self) -> u8 {
        self.velocity
    }

    /// Keys held on any channel.
    pub fn held(&self) -> u128 {
        self.keys.iter().fold(0, |a, k| a | k)
    }

    /// The highest held key.
    pub fn top(&self) -> Option<u8> {
        let held = self.held();
        (held != 0).then(|| 127 - held.leading_zeros() as u8)
    }

    /// The melody: the highest held key, struck since the last step or not.
    pub fn melody(&self) -> Option<MelodyNote> {
        self.top().map(|pitch| MelodyNote {
            pitch,
            struck: self.struck & (1u128 << pitch) != 0,
        })
    }

    /// The highest key held or struck since the last step.
    pub fn heard_top(&self) -> Option<u8> {
        let heard = self.heard().keys;
        (heard != 0).then(|| 127 - heard.leading_zeros() as u8)
    }

    /// What a listening step hears: held or struck since the last step.
    pub fn heard(&self) -> Heard {
        Heard {
            keys: self.held() | self.struck,
            struck: self.struck,
        }
    }

    /// Forgets every held key (their note-offs may still come and pass).
    pub fn forget(&mut self) {
        self.keys = [0; 16];
        self.struck = 0;
    }
}

impl Sequencer {
    /// Reads one input event at `offset`; returns true for a melody onset
    /// (a note-on at or above every held note).
    pub(super) fn apply_input(
        &mut self,
        ev: &InputEvent,
        offset: u32,
        pass_through: bool,
        mode: Mode,
        out: &mut EventBuffer,
    ) -> bool {
        let channel = (ev.channel & 15) as usize;
        match ev.kind {
            InputKind::NoteOn { pitch, velocity } if velocity > 0 => self.note_on(
                channel,
                pitch & 127,
                velocity,
                offset,
                pass_through,
                mode,
                out,
            ),
            InputKind::NoteOn { pitch, .. } | InputKind::NoteOff { pitch } => {
                let before = self.input.top();
                self.note_off(channel, pitch & 127, offset, out);
                // Legato downwards: the new, lower key was struck while the
                // old one still sounded; letting the old one go is the onset.
                let after = self.input.top();
                mode == Mode::Harmonize
                    && after != before
                    && after.is_some_and(|p| self.input.was_struck(p))
            }
            InputKind::AllNotesOff => {
                let mut keys = self.input.on_channel(channel);
                while keys != 0 {
                    let pitch = 127 - keys.leading_zeros() as u8;
                    keys &= !(1u128 << pitch);
                    self.note_off(channel, pitch, offset, out);
                }
                self.tracker.end_all(out, offset);
                self.turn.playing = false;
                false
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn note_on(
        &mut self,
        channel: usize,
        pitch: u8,
        velocity: u8,
        offset: u32,
        pass_through: bool,
        mode: Mode,
        out: &mut EventBuffer,
    ) -> bool {
        let top = self.input.top();
        self.input.press(channel, pitch, velocity);
        if pass_through
            && self
                .tracker
                .pass_on(out, offset, channel as u8, pitch, velocity)
        {
            self.input.pass(channel, pitch);
        }
        match mode {
            Mode::Harmonize => top.is_none_or(|t| pitch >= t),
            Mode::Continue => {
                if self.turn.playing {
                    // The player takes the turn back.
                    self.tracker.end_all(out, offset);
                }
                self.turn.player_plays();
                false
            }
        }
    }

    pub(super) fn note_off(
        &mut self,
        channel: usize,
        pitch: u8,
        offset: u32,
        out: &mut EventBuffer,
    ) {
        if self.input.release(channel, pitch) {
            self.tracker.pass_off(out, offset, channel as u8, pitch);
        }
    }
}
