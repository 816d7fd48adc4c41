//! Which MIDI controllers Bach passes on to the instrument after it.
//!
//! A player's pedals, wheels, bends and pressure pass on, in time with the
//! notes; what a host sets when it reopens a project does not. The two meet
//! in VST3: a VST3 host has no MIDI controller events, so nice-plug exposes
//! 2,080 hidden parameters (16 channels of 128 CCs, channel pressure and
//! pitch bend) that hosts set for incoming controllers. It reads each back
//! as 0.5, so a host saves them at 0.5 with the project, and a host that
//! sets every parameter when it reopens the project (Ardour does) sends
//! them all again: CC 0 to 127 at 64 (sustain on, volume 64, bank select,
//! reset, mono mode...) and a centred bend, with no input at all.
//!
//! So a controller passes when it changes the value Bach last saw for it
//! on its channel, each taken to start at its middle (CC 64, the bend
//! centred, pressure 64): what a reopened project sets passes nothing,
//! while a pedal pressed (127), a wheel moved or a bend passes. A channel
//! mode message (CC 120 to 127) is a command, not a value: it passes
//! whenever its value is one the MIDI spec allows for it (0 for all sound
//! off, reset all controllers, all notes off, omni and poly; 0 or 127 for
//! local control; 0 to 16 for mono), and never otherwise (a restore sets
//! them all to 64). Every other event (program change, poly pressure, SysEx)
//! passes unchanged.

use nice_plug::prelude::*;

/// Channels, and per channel 128 CCs, channel pressure and pitch bend.
const CHANNELS: usize = 16;
const PRESSURE: usize = 128;
const BEND: usize = 129;
const SLOTS: usize = 130;

/// A controller's value as MIDI sends it: 0-127, or 0-16383 for a bend.
type Value = u16;

/// Where each controller starts: a VST3 host's 0.5, in MIDI's steps.
const fn middle(slot: usize) -> Value {
    if slot == BEND {
        8192
    } else {
        64
    }
}

/// The last value seen of every controller on every channel: a fixed
/// array, read and written on the audio thread without allocating.
pub struct Controllers {
    last: [[Value; SLOTS]; CHANNELS],
}

impl Default for Controllers {
    fn default() -> Self {
        let mut row = [0; SLOTS];
        for (slot, v) in row.iter_mut().enumerate() {
            *v = middle(slot);
        }
        Self {
            last: [row; CHANNELS],
        }
    }
}

/// What the filter makes of one controller event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Heard {
    /// Not a controller change worth passing: a restore, or no change.
    Drop,
    /// Passes on to the instrument.
    Pass,
    /// An all-notes-off or all-sound-off command: passes, and Bach ends
    /// the notes it holds.
    PassAndEndNotes,
}

impl Controllers {
    /// Whether `event` passes on, remembering a controller's new value.
    pub fn hear<S>(&mut self, event: &NoteEvent<S>) -> Heard {
        let (channel, slot, value) = match *event {
            NoteEvent::MidiCC {
                channel, cc, value, ..
            } => (channel, cc as usize, steps(value, 127)),
            NoteEvent::MidiChannelPressure {
                channel, pressure, ..
            } => (channel, PRESSURE, steps(pressure, 127)),
            NoteEvent::MidiPitchBend { channel, value, .. } => (channel, BEND, steps(value, 16383)),
            _ => return Heard::Pass,
        };
        if (120..128).contains(&slot) {
            return mode_message(slot, value);
        }
        let Some(last) = self
            .last
            .get_mut(channel as usize)
            .and_then(|row| row.get_mut(slot))
        else {
            return Heard::Drop;
        };
        if *last == value {
            Heard::Drop
        } else {
            *last = value;
            Heard::Pass
        }
    }
}

/// A normalised value (nice-plug's 0..1) in MIDI's `max + 1` steps; NaN
/// and values out of range from a hostile host land on 0 or `max`.
fn steps(value: f32, max: u16) -> Value {
    (value.clamp(0.0, 1.0) * max as f32).round() as Value
}

/// A channel mode message passes only with a value the MIDI spec allows.
fn mode_message(cc: usize, value: Value) -> Heard {
    match (cc, value) {
        (120 | 123, 0) => Heard::PassAndEndNotes,
        (121 | 124 | 125 | 127, 0) | (122, 0 | 127) | (126, 0..=16) => Heard::Pass,
        _ => Heard::Drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cc(channel: u8, cc: u8, value: u8) -> NoteEvent<()> {
        NoteEvent::MidiCC {
            timing: 0,
            channel,
            cc,
            value: value as f32 / 127.0,
        }
    }

    fn bend(value: f32) -> NoteEvent<()> {
        NoteEvent::MidiPitchBend {
            timing: 0,
            channel: 0,
            value,
        }
    }

    #[test]
    fn what_a_reopened_vst3_project_sets_passes_nothing() {
        let mut c = Controllers::default();
        for channel in 0..16 {
            for n in 0..128 {
                let restored = NoteEvent::<()>::MidiCC {
                    timing: 0,
                    channel,
                    cc: n,
                    value: 0.5,
                };
                assert_eq!(c.hear(&restored), Heard::Drop, "CC {n}");
            }
            let pressure = NoteEvent::<()>::MidiChannelPressure {
                timing: 0,
                channel,
                pressure: 0.5,
            };
            assert_eq!(c.hear(&pressure), Heard::Drop);
            assert_eq!(c.hear(&bend(0.5)), Heard::Drop);
        }
    }

    #[test]
    fn a_players_pedal_wheel_and_bend_pass_when_they_move() {
        let mut c = Controllers::default();
        assert_eq!(c.hear(&cc(0, 64, 127)), Heard::Pass, "pedal down");
        assert_eq!(c.hear(&cc(0, 64, 127)), Heard::Drop, "still down");
        assert_eq!(c.hear(&cc(0, 64, 0)), Heard::Pass, "pedal up");
        assert_eq!(c.hear(&cc(0, 1, 10)), Heard::Pass, "mod wheel");
        assert_eq!(c.hear(&cc(0, 1, 11)), Heard::Pass);
        assert_eq!(c.hear(&cc(3, 64, 127)), Heard::Pass, "each channel apart");
        assert_eq!(c.hear(&bend(0.7)), Heard::Pass);
        assert_eq!(c.hear(&bend(0.5)), Heard::Pass, "back to the centre");
        assert_eq!(c.hear(&bend(f32::NAN)), Heard::Pass, "NaN reads as 0");
        assert_eq!(c.hear(&bend(-3.0)), Heard::Drop, "so does below 0");
    }

    #[test]
    fn mode_messages_pass_with_the_values_midi_allows() {
        let mut c = Controllers::default();
        for _ in 0..2 {
            // A command, not a state: it passes every time.
            assert_eq!(c.hear(&cc(0, 123, 0)), Heard::PassAndEndNotes);
            assert_eq!(c.hear(&cc(0, 120, 0)), Heard::PassAndEndNotes);
        }
        assert_eq!(c.hear(&cc(0, 121, 0)), Heard::Pass);
        assert_eq!(c.hear(&cc(0, 122, 127)), Heard::Pass);
        assert_eq!(c.hear(&cc(0, 126, 1)), Heard::Pass);
        for n in 120..128 {
            assert_eq!(c.hear(&cc(0, n, 64)), Heard::Drop, "CC {n} at 64");
        }
    }

    #[test]
    fn other_events_pass() {
        let mut c = Controllers::default();
        let program = NoteEvent::<()>::MidiProgramChange {
            timing: 0,
            channel: 0,
            program: 5,
        };
        assert_eq!(c.hear(&program), Heard::Pass);
    }
}
