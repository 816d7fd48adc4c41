//! What the host hands the sequencer each buffer: its time and its notes.

use crate::meter::Meter;

/// The host transport at the first sample of a block.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Transport {
    pub playing: bool,
    /// Beats per minute (120 when the host says nothing usable).
    pub tempo: Option<f64>,
    /// Position in quarter notes from the start of the song.
    pub pos_beats: Option<f64>,
    /// Active loop `[start, end)` in quarter notes, if looping.
    pub loop_range: Option<(f64, f64)>,
    /// The host's time signature (4/4 when it says nothing usable).
    pub meter: Option<Meter>,
    /// Song position in quarter notes where the current bar began (bars run
    /// from position 0 when the host does not say).
    pub bar_start: Option<f64>,
}

/// One buffer's worth of host time.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Block {
    pub sample_rate: f64,
    pub frames: u32,
    pub transport: Transport,
    /// The host (or the user) bypassed the effect: input passes unchanged.
    pub bypassed: bool,
}

/// An incoming event, `offset` samples into the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputEvent {
    pub offset: u32,
    pub channel: u8,
    pub kind: InputKind,
}

/// What came in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    /// A note-on; velocity 0 means a note-off, as in MIDI.
    NoteOn {
        pitch: u8,
        velocity: u8,
    },
    NoteOff {
        pitch: u8,
    },
    /// All notes off (MIDI CC 123, or CC 120 all sound off): every key held
    /// on the channel is released and every generated note ends.
    AllNotesOff,
}

impl InputEvent {
    /// A note-on (`on`) or note-off.
    pub fn note(offset: u32, on: bool, channel: u8, pitch: u8, velocity: u8) -> Self {
        let kind = if on {
            InputKind::NoteOn { pitch, velocity }
        } else {
            InputKind::NoteOff { pitch }
        };
        Self {
            offset,
            channel,
            kind,
        }
    }

    pub fn all_notes_off(offset: u32, channel: u8) -> Self {
        Self {
            offset,
            channel,
            kind: InputKind::AllNotesOff,
        }
    }
}
