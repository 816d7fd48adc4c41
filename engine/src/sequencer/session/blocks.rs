//! A session cut into buffers as a host cuts them, and one `process` call
//! as a DAW makes it.

use super::{HostNote, Session, SAMPLE_RATE};
use crate::sequencer::{Block, EventBuffer, InputEvent, Playable, Sequencer, Settings, Transport};

/// One `process` call as a DAW makes it: when the plugin's latency changed
/// in it, the host restarts the plugin (deactivate, activate) before the
/// next block, as CLAP and VST3 hosts do, and the plugin sees that restart
/// as its own deactivation does: the clock and model state start afresh
/// and held keys are forgotten. Allocation-free, as `process` is.
pub fn process_as_host<M: Playable + ?Sized>(
    sequencer: &mut Sequencer,
    model: &mut M,
    settings: &Settings,
    block: &Block,
    input: &[InputEvent],
    out: &mut EventBuffer,
) {
    let latency = sequencer.latency();
    sequencer.process(model, settings, block, input, out);
    if sequencer.latency() != latency {
        sequencer.reset();
        sequencer.forget_input();
    }
}

/// The blocks of a [`Session`], in order.
pub struct Blocks<'a> {
    pub(super) session: &'a Session,
    pub(super) size: u32,
    pub(super) start: i64,
    pub(super) next_note: usize,
}

impl<'a> Iterator for Blocks<'a> {
    type Item = HostBlock<'a>;

    fn next(&mut self) -> Option<HostBlock<'a>> {
        let s = self.session;
        if self.start >= s.length {
            return None;
        }
        let start = self.start;
        let frames = s.block_len(start, self.size);
        let end = start + frames as i64;
        let first = self.next_note;
        self.next_note += s.notes[first..].partition_point(|n| n.sample < end);
        self.start = end;
        Some(HostBlock {
            start,
            frames,
            transport: s.transport_at(start),
            notes: &s.notes[first..self.next_note],
        })
    }
}

/// One buffer of a session.
#[derive(Clone, Copy, Debug)]
pub struct HostBlock<'a> {
    /// Absolute sample of the first frame.
    pub start: i64,
    pub frames: u32,
    pub transport: Transport,
    /// Input notes in this buffer (any before the session's start fall in the first).
    pub notes: &'a [HostNote],
}

impl HostBlock<'_> {
    /// The input notes' offsets in this buffer.
    pub fn offset(&self, note: &HostNote) -> u32 {
        (note.sample - self.start).max(0) as u32
    }

    /// The input notes as sequencer events on channel 0, into `input` (cleared first).
    pub fn input(&self, input: &mut Vec<InputEvent>) {
        input.clear();
        input.extend(
            self.notes
                .iter()
                .map(|n| InputEvent::note(self.offset(n), n.on, 0, n.pitch, n.velocity)),
        );
    }

    /// The sequencer's view of this buffer.
    pub fn block(&self) -> Block {
        Block {
            sample_rate: SAMPLE_RATE,
            frames: self.frames,
            transport: self.transport,
            bypassed: false,
        }
    }
}
