//! Output notes: the event buffer the caller provides, and the bookkeeping
//! that makes sure every generated note is ended exactly once.

use crate::token::MAX_VOICES;

/// Where an output event came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// An input event passed through unchanged.
    Input,
    /// A voice of the model (0 = S, 1 = A, ...).
    Voice(u8),
}

/// A note event with its sample offset inside the current block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NoteEvent {
    /// Sample offset from the start of the block.
    pub offset: u32,
    /// True for a note-on, false for a note-off.
    pub on: bool,
    /// MIDI channel, 0 to 15.
    pub channel: u8,
    pub pitch: u8,
    /// 1 to 127 for a note-on (0 is used for note-offs).
    pub velocity: u8,
    pub source: Source,
}

/// A fixed-capacity list of output events. It is sized once, outside the
/// audio thread, as a boxed slice that never grows: pushing writes into it or
/// counts a drop. When it runs low it refuses new note-ons first, so there is
/// always room left to end the notes that sound.
#[derive(Clone, Debug)]
pub struct EventBuffer {
    slots: Box<[NoteEvent]>,
    len: usize,
    dropped: usize,
}

/// Room kept back for note-offs: every voice plus a few pass-through notes.
const RESERVE: usize = 2 * MAX_VOICES + 16;

/// What fills the slots not written yet (never read).
const EMPTY: NoteEvent = NoteEvent {
    offset: 0,
    on: false,
    channel: 0,
    pitch: 0,
    velocity: 0,
    source: Source::Input,
};

impl EventBuffer {
    /// A buffer holding at most `capacity` events (at least enough for the reserve).
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            slots: vec![EMPTY; capacity.max(2 * RESERVE)].into_boxed_slice(),
            len: 0,
            dropped: 0,
        }
    }

    pub fn clear(&mut self) {
        self.len = 0;
        self.dropped = 0;
    }

    pub fn events(&self) -> &[NoteEvent] {
        &self.slots[..self.len]
    }

    pub fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Events that did not fit since the last [`clear`](Self::clear).
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// Whether a note-on (with the note-off that will follow it) still
    /// fits; a note-on refused for want of room counts as dropped.
    pub(crate) fn has_room_for_on(&mut self) -> bool {
        let room = self.len + RESERVE < self.capacity();
        if !room {
            self.dropped += 1;
        }
        room
    }

    pub(crate) fn push(&mut self, event: NoteEvent) -> bool {
        match self.slots.get_mut(self.len) {
            Some(slot) => {
                *slot = event;
                self.len += 1;
                true
            }
            None => {
                self.dropped += 1;
                false
            }
        }
    }
}

/// A generated note that is sounding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Sounding {
    pub channel: u8,
    pub pitch: u8,
}

/// Tracks what every voice sounds and how many sources hold each key, so a
/// key shared by two voices (or by a voice and the pass-through melody) is
/// released only when the last of them lets go.
#[derive(Clone, Debug)]
pub(crate) struct NoteTracker {
    voices: [Option<Sounding>; MAX_VOICES],
    holders: [[u8; 128]; 16],
    /// Keys the input holds, per channel: one holder each, however many
    /// note-ons a keyboard or host repeats, so its one note-off ends the key.
    input: [u128; 16],
}

impl Default for NoteTracker {
    fn default() -> Self {
        Self {
            voices: [None; MAX_VOICES],
            holders: [[0; 128]; 16],
            input: [0; 16],
        }
    }
}

impl NoteTracker {
    pub fn any_voice_sounding(&self) -> bool {
        self.voices.iter().any(Option::is_some)
    }

    /// The pitch voice `v` sounds, if any.
    pub fn pitch(&self, v: usize) -> Option<u8> {
        self.voices.get(v).copied().flatten().map(|s| s.pitch)
    }

    /// Starts `pitch` on voice `v`, ending what the voice sounded before.
    pub fn start(
        &mut self,
        out: &mut EventBuffer,
        offset: u32,
        v: usize,
        channel: u8,
        pitch: u8,
        velocity: u8,
    ) {
        self.end(out, offset, v);
        if v >= MAX_VOICES || !out.has_room_for_on() {
            return;
        }
        let (channel, pitch) = (channel & 15, pitch & 127);
        let pushed = out.push(NoteEvent {
            offset,
            on: true,
            channel,
            pitch,
            velocity: velocity.clamp(1, 127),
            source: Source::Voice(v as u8),
        });
        if pushed {
            let held = &mut self.holders[channel as usize][pitch as usize];
            *held = held.saturating_add(1);
            self.voices[v] = Some(Sounding { channel, pitch });
        }
    }

    /// Ends voice `v`'s note, if it sounds. A note-off that does not fit
    /// leaves the note sounding, to be ended by the next end.
    pub fn end(&mut self, out: &mut EventBuffer, offset: u32, v: usize) {
        let Some(note) = self.voices.get(v).copied().flatten() else {
            return;
        };
        let holders = self.holders[note.channel as usize][note.pitch as usize];
        if holders <= 1
            && !out.push(NoteEvent {
                offset,
                on: false,
                channel: note.channel,
                pitch: note.pitch,
                velocity: 0,
                source: Source::Voice(v as u8),
            })
        {
            return;
        }
        self.release(note.channel, note.pitch);
        self.voices[v] = None;
    }

    /// Ends every generated note.
    pub fn end_all(&mut self, out: &mut EventBuffer, offset: u32) {
        for v in 0..MAX_VOICES {
            self.end(out, offset, v);
        }
    }

    /// Passes an input note-on through: it always sounds (a repeated key retriggers).
    pub fn pass_on(
        &mut self,
        out: &mut EventBuffer,
        offset: u32,
        channel: u8,
        pitch: u8,
        velocity: u8,
    ) -> bool {
        let (channel, pitch) = (channel & 15, pitch & 127);
        // Like a voice's, a passed note-on keeps the room its note-off and
        // the voices' need. Returns whether it was sent.
        if out.has_room_for_on()
            && out.push(NoteEvent {
                offset,
                on: true,
                channel,
                pitch,
                velocity: velocity.clamp(1, 127),
                source: Source::Input,
            })
        {
            let bit = 1u128 << pitch;
            if self.input[channel as usize] & bit == 0 {
                self.input[channel as usize] |= bit;
                let held = &mut self.holders[channel as usize][pitch as usize];
                *held = held.saturating_add(1);
            }
            true
        } else {
            false
        }
    }

    /// Passes an input note-off through unless a voice still holds that key.
    /// An off for a key nobody holds goes through as it came; one for a key
    /// only a voice holds is dropped, so it cannot cut the voice short.
    pub fn pass_off(&mut self, out: &mut EventBuffer, offset: u32, channel: u8, pitch: u8) {
        let (channel, pitch) = (channel & 15, pitch & 127);
        let held = self.holders[channel as usize][pitch as usize];
        let bit = 1u128 << pitch;
        let input_held = self.input[channel as usize] & bit != 0;
        if held > 0 && !input_held {
            return;
        }
        self.input[channel as usize] &= !bit;
        if held == 0 || self.release(channel, pitch) {
            out.push(NoteEvent {
                offset,
                on: false,
                channel,
                pitch,
                velocity: 0,
                source: Source::Input,
            });
        }
    }

    /// Drops one holder of a key; true when it was the last one.
    fn release(&mut self, channel: u8, pitch: u8) -> bool {
        let held = &mut self.holders[channel as usize][pitch as usize];
        *held = held.saturating_sub(1);
        *held == 0
    }
}
