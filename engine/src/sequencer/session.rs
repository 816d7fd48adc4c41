//! A pretend host: a session on an absolute sample timeline (transport
//! segments and input notes) cut into blocks as a host cuts its buffers, and
//! played through a [`Sequencer`] the way `bach-plugin`'s `process()` does.
//!
//! One home for what the engine's sequencer tests, the end-to-end tests
//! (which send the same blocks to the built plugin) and the `bach` command's
//! offline playing all need, so the three feed the sequencer identically.
//! Not for the audio thread: it allocates freely.

mod blocks;
mod events;
pub mod humanize;
pub mod timeline;

use crate::meter::Meter;
use crate::sequencer::clock::Anchor;
use crate::sequencer::{Block, EventBuffer, NoteEvent, Playable, Sequencer, Settings, Transport};

pub use crate::meter::MeterRegion;
pub use blocks::{process_as_host, Blocks, HostBlock};
pub use events::{compensate, hanging, host_notes, voice_events, voice_notes};
pub use humanize::{humanize, Touch};
pub use timeline::{TempoSegment, Timeline, SAMPLE_RATE};

/// Frames per block of the offline commands: a common host buffer size.
pub const BLOCK_FRAMES: u32 = 512;
/// Output events per block, as in the plugin.
pub const MAX_OUTPUT: usize = 2048;

/// The transport from sample `start` on (until the next segment).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Segment {
    pub start: i64,
    pub playing: bool,
    pub tempo: f64,
    /// Song position in quarter notes at `start` (ignored when stopped).
    pub pos: f64,
    /// Active loop `[start, end)` in quarter notes.
    pub looped: Option<(f64, f64)>,
    /// The time signature, and a song position where a bar begins.
    pub meter: Meter,
    pub bar_origin: f64,
}

/// The transport playing from `start` at `tempo`, at song position `pos`.
pub fn play(start: i64, tempo: f64, pos: f64) -> Segment {
    Segment {
        start,
        playing: true,
        tempo,
        pos,
        looped: None,
        meter: Meter::COMMON,
        bar_origin: 0.0,
    }
}

/// The transport stopped from `start`.
pub fn stop(start: i64, tempo: f64) -> Segment {
    Segment {
        start,
        playing: false,
        tempo,
        pos: 0.0,
        looped: None,
        meter: Meter::COMMON,
        bar_origin: 0.0,
    }
}

/// An input note event at an absolute sample (channel 0, like a keyboard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HostNote {
    pub sample: i64,
    /// Note-offs sort before note-ons at the same sample, so a repeated note restrikes.
    pub on: bool,
    pub pitch: u8,
    pub velocity: u8,
}

impl From<(i64, bool, u8, u8)> for HostNote {
    fn from((sample, on, pitch, velocity): (i64, bool, u8, u8)) -> Self {
        Self {
            sample,
            on,
            pitch,
            velocity,
        }
    }
}

/// Input notes from (sample, on, pitch, velocity) tuples, in the order given.
pub fn notes<N: Into<HostNote>>(notes: impl IntoIterator<Item = N>) -> Vec<HostNote> {
    notes.into_iter().map(Into::into).collect()
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

/// An output event at an absolute sample (its `offset` set to 0, since
/// offsets differ with the buffer size and the absolute sample is what counts).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timed {
    pub sample: i64,
    pub event: NoteEvent,
}

/// The sequencer sent more events in one block than the output buffer holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the sequencer dropped {0} output events in one block")]
pub struct Overflow(pub usize);

/// Transport segments (the first from sample 0) and input notes (sorted by
/// sample) over `length` samples.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub segments: Vec<Segment>,
    pub notes: Vec<HostNote>,
    pub length: i64,
}

impl Session {
    /// What a host reports at the first sample of a block starting at
    /// `sample`. A playing segment's position runs on an [`Anchor`] built as
    /// the sequencer builds its own, then wraps into the loop.
    pub fn transport_at(&self, sample: i64) -> Transport {
        let seg = self
            .segments
            .iter()
            .rev()
            .find(|s| s.start <= sample)
            .expect("a segment from sample 0");
        if !seg.playing {
            return Transport {
                playing: false,
                tempo: Some(seg.tempo),
                pos_beats: None,
                loop_range: seg.looped,
                meter: Some(seg.meter),
                bar_start: None,
            };
        }
        let mut pos = Anchor::new(seg.start, seg.pos, SAMPLE_RATE, seg.tempo).beat_at(sample);
        if let Some((a, b)) = seg.looped {
            if pos >= b {
                pos = a + (pos - b) % (b - a);
            }
        }
        // Bars of the segment's meter run from its bar origin.
        let bar = seg.meter.bar_beats();
        let bar_start = seg.bar_origin + ((pos - seg.bar_origin) / bar + 1e-9).floor() * bar;
        Transport {
            playing: true,
            tempo: Some(seg.tempo),
            pos_beats: Some(pos),
            loop_range: seg.looped,
            meter: Some(seg.meter),
            bar_start: Some(bar_start),
        }
    }

    /// Frames of the block from `sample`: `size`, cut at the next segment
    /// start (as hosts cut at seeks and tempo changes) and at the end.
    pub fn block_len(&self, sample: i64, size: u32) -> u32 {
        let next_seg = self
            .segments
            .iter()
            .map(|g| g.start)
            .filter(|&t| t > sample)
            .min()
            .unwrap_or(i64::MAX);
        (size as i64)
            .min(next_seg - sample)
            .min(self.length - sample) as u32
    }

    /// The session as a host's buffers of at most `size` frames.
    pub fn blocks(&self, size: u32) -> Blocks<'_> {
        assert!(size > 0, "a block has at least one frame");
        assert!(
            self.notes.windows(2).all(|w| w[0].sample <= w[1].sample),
            "a session's notes are sorted by sample"
        );
        Blocks {
            session: self,
            size,
            start: 0,
            next_note: 0,
        }
    }

    /// What a host does before it plays: the plugin runs with the transport
    /// stopped at the song's start (its tempo and meter, so the lookahead's
    /// latency is known), and the host restarts it when it asks for a new
    /// latency. The song then plays with that latency from its first note,
    /// as in a DAW where the plugin was inserted before Play was pressed.
    /// A block of no frames: nothing plays and no time passes.
    pub fn prepare<M: Playable + ?Sized>(
        &self,
        sequencer: &mut Sequencer,
        model: &mut M,
        settings: &Settings,
    ) {
        let transport = Transport {
            playing: false,
            pos_beats: None,
            bar_start: None,
            ..self.transport_at(0)
        };
        let block = Block {
            sample_rate: SAMPLE_RATE,
            frames: 0,
            transport,
            bypassed: false,
        };
        let mut out = EventBuffer::with_capacity(MAX_OUTPUT);
        process_as_host(sequencer, model, settings, &block, &[], &mut out);
    }

    /// Plays the session through `sequencer` in blocks of `size` frames as
    /// a DAW does ([`Session::prepare`] first, and a restart after any block
    /// in which the latency changed) and returns every output event.
    /// `around` runs each `process` call (it must call the closure it is
    /// given once), so a test can watch it, say for allocations.
    pub fn run<M: Playable + ?Sized>(
        &self,
        sequencer: &mut Sequencer,
        model: &mut M,
        settings: &Settings,
        size: u32,
        around: impl FnMut(&mut dyn FnMut()),
    ) -> Result<Vec<Timed>, Overflow> {
        self.run_host(sequencer, model, settings, size, true, around)
    }

    /// [`Session::run`] for a host that never restarts the plugin: a new
    /// latency applies in the block that asks for it and the plugin plays
    /// on. What the sequencer alone does, independent of the host's buffers.
    pub fn run_unrestarted<M: Playable + ?Sized>(
        &self,
        sequencer: &mut Sequencer,
        model: &mut M,
        settings: &Settings,
        size: u32,
        around: impl FnMut(&mut dyn FnMut()),
    ) -> Result<Vec<Timed>, Overflow> {
        self.run_host(sequencer, model, settings, size, false, around)
    }

    fn run_host<M: Playable + ?Sized>(
        &self,
        sequencer: &mut Sequencer,
        model: &mut M,
        settings: &Settings,
        size: u32,
        restarts: bool,
        mut around: impl FnMut(&mut dyn FnMut()),
    ) -> Result<Vec<Timed>, Overflow> {
        let mut out = EventBuffer::with_capacity(MAX_OUTPUT);
        let mut input = Vec::with_capacity(256);
        let mut all = Vec::new();
        if restarts {
            self.prepare(sequencer, model, settings);
        }
        let mut play_block = |b: &HostBlock, sequencer: &mut Sequencer| {
            b.input(&mut input);
            let block = b.block();
            around(&mut || {
                if restarts {
                    process_as_host(sequencer, model, settings, &block, &input, &mut out);
                } else {
                    sequencer.process(model, settings, &block, &input, &mut out);
                }
            });
            if out.dropped() > 0 {
                return Err(Overflow(out.dropped()));
            }
            all.extend(out.events().iter().map(|&event| Timed {
                sample: b.start + event.offset as i64,
                event: NoteEvent { offset: 0, ..event },
            }));
            Ok(())
        };
        for b in self.blocks(size) {
            play_block(&b, sequencer)?;
        }
        // With lookahead the output runs `latency` behind: the host plays on
        // (the transport as it last was, no input) until it is all out.
        let tail_end = self.length + sequencer.latency() as i64;
        let mut start = self.length;
        while start < tail_end {
            let frames = (size as i64).min(tail_end - start) as u32;
            let tail = HostBlock {
                start,
                frames,
                transport: self.transport_at(start),
                notes: &[],
            };
            play_block(&tail, sequencer)?;
            start += frames as i64;
        }
        Ok(all)
    }

    /// [`Session::run`] through a fresh sequencer in blocks of
    /// [`BLOCK_FRAMES`], keeping only the generated voices' events: what the
    /// plugin would send for them, placed as a host places them (moved
    /// earlier by the latency the sequencer reported, which the lookahead
    /// keeps for the whole of a session at one tempo).
    pub fn play<M: Playable + ?Sized>(
        &self,
        model: &mut M,
        settings: &Settings,
    ) -> Result<Vec<VoiceEvent>, Overflow> {
        let mut sequencer = Sequencer::new();
        let events = self.run(&mut sequencer, model, settings, BLOCK_FRAMES, |p| p())?;
        let latency = sequencer.latency() as i64;
        Ok(voice_events(&compensate(&events, latency)))
    }
}

/// Samples per beat at `tempo` at the session's sample rate.
pub fn samples_per_beat(tempo: f64) -> f64 {
    60.0 * SAMPLE_RATE / tempo
}
