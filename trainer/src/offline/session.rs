//! A pretend host session: the plugin's own per-block use of the
//! [`Sequencer`], with input notes at sample offsets and a playing transport.
//!
//! This mirrors `bach-plugin`'s `process()`: one [`Block`] per buffer of at
//! most [`BLOCK_FRAMES`] samples (cut where the tempo changes, as hosts do),
//! the input events of that buffer, the same settings, and an event buffer
//! of the plugin's size. What comes out is what the plugin would send.

use bach_engine::model::VoicesModel;
use bach_engine::score::Note;
use bach_engine::sequencer::{Block, EventBuffer, InputEvent, Sequencer, Settings, Source};

use super::timeline::{Timeline, SAMPLE_RATE};
use super::OfflineError;

/// Frames per block: a common host buffer size.
pub const BLOCK_FRAMES: u32 = 512;
/// Output events per block, as in the plugin.
const MAX_OUTPUT: usize = 2048;

/// An input note event at an absolute sample (channel 0, like a keyboard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostNote {
    pub sample: i64,
    /// Note-offs sort before note-ons at the same sample, so a repeated note restrikes.
    pub on: bool,
    pub pitch: u8,
    pub velocity: u8,
}

/// A note event of a generated voice at an absolute sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VoiceEvent {
    pub sample: i64,
    pub on: bool,
    pub voice: u8,
    pub pitch: u8,
    pub velocity: u8,
}

/// Input note events for `notes`, sorted as a host delivers them.
pub fn host_notes(notes: &[Note], timeline: &Timeline) -> Vec<HostNote> {
    let mut out = Vec::with_capacity(notes.len() * 2);
    for n in notes {
        out.push(HostNote {
            sample: timeline.sample_of_step(n.start),
            on: true,
            pitch: n.pitch,
            velocity: n.velocity.clamp(1, 127),
        });
        out.push(HostNote {
            sample: timeline.sample_of_step(n.end()),
            on: false,
            pitch: n.pitch,
            velocity: 0,
        });
    }
    out.sort();
    out
}

/// Plays samples `0..length` through a fresh sequencer; returns the voices' events.
pub fn play(
    model: &mut VoicesModel,
    settings: &Settings,
    timeline: &Timeline,
    input: &[HostNote],
    length: i64,
) -> Result<Vec<VoiceEvent>, OfflineError> {
    let mut sequencer = Sequencer::new();
    let mut output = EventBuffer::with_capacity(MAX_OUTPUT);
    let mut block_input: Vec<InputEvent> = Vec::new();
    let mut events = Vec::new();
    let mut next = 0;
    let mut start = 0i64;
    while start < length {
        let cut = timeline.next_change_after(start).unwrap_or(i64::MAX);
        let frames = (BLOCK_FRAMES as i64).min(cut - start).min(length - start) as u32;
        let end = start + frames as i64;
        block_input.clear();
        while let Some(n) = input.get(next).filter(|n| n.sample < end) {
            block_input.push(InputEvent::note(
                (n.sample - start).max(0) as u32,
                n.on,
                0,
                n.pitch,
                n.velocity,
            ));
            next += 1;
        }
        let block = Block {
            sample_rate: SAMPLE_RATE,
            frames,
            transport: timeline.transport_at(start),
            bypassed: false,
        };
        sequencer.process(model, settings, &block, &block_input, &mut output);
        if output.dropped() > 0 {
            return Err(OfflineError::Overflow(output.dropped()));
        }
        for e in output.events() {
            if let Source::Voice(voice) = e.source {
                events.push(VoiceEvent {
                    sample: start + e.offset.min(frames.saturating_sub(1)) as i64,
                    on: e.on,
                    voice,
                    pitch: e.pitch,
                    velocity: e.velocity,
                });
            }
        }
        start = end;
    }
    Ok(events)
}

/// Notes per voice (`voices` of them) from the voices' events, on the grid
/// of `timeline`: a note-on starts a note (ending the voice's previous one),
/// a note-off ends it. Notes are cut at `end_step`; notes still sounding
/// there end there; notes shorter than a step (a step voiced again at once)
/// are dropped, as they never sound for a whole step.
pub fn voice_notes(
    events: &[VoiceEvent],
    timeline: &Timeline,
    voices: usize,
    end_step: u32,
) -> Vec<Vec<Note>> {
    let mut notes = vec![Vec::new(); voices];
    let mut open: Vec<Option<Note>> = vec![None; voices];
    let close = |notes: &mut Vec<Note>, note: Option<Note>, step: u32| {
        if let Some(mut n) = note {
            let step = step.min(end_step);
            if step > n.start {
                n.len = step - n.start;
                notes.push(n);
            }
        }
    };
    for e in events {
        let v = e.voice as usize;
        if v >= voices {
            continue;
        }
        let step = timeline.step_at(e.sample);
        if e.on {
            close(&mut notes[v], open[v].take(), step);
            if step < end_step {
                open[v] = Some(Note {
                    start: step,
                    len: 1,
                    pitch: e.pitch,
                    velocity: e.velocity.clamp(1, 127),
                });
            }
        } else if open[v].is_some_and(|n| n.pitch == e.pitch) {
            close(&mut notes[v], open[v].take(), step);
        }
    }
    for (v, o) in open.into_iter().enumerate() {
        close(&mut notes[v], o, end_step);
    }
    notes
}
