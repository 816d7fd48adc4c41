//! A pretend host for the sequencer: a session (transport segments and input
//! notes on an absolute sample timeline) cut into buffers, as a DAW would
//! cut it. Shared by the tests that drive the engine like the plugin does.
//! Each test binary that has `mod host;` uses only part of it.
#![allow(dead_code)]

use std::cell::Cell;

use bach_engine::sequencer::{
    Block, EventBuffer, InputEvent, NoteEvent, Sequencer, Settings, Transport, VoiceModel,
};

pub const SR: f64 = 48_000.0;

thread_local! {
    /// True while the host is inside `Sequencer::process`, so a test's
    /// counting allocator can tell the audio thread's allocations apart.
    pub static IN_PROCESS: Cell<bool> = const { Cell::new(false) };
}

/// The transport from `start` on (until the next segment).
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    pub start: i64,
    pub playing: bool,
    pub tempo: f64,
    pub pos: f64,
    pub looped: Option<(f64, f64)>,
}

pub fn play(start: i64, tempo: f64, pos: f64) -> Segment {
    Segment {
        start,
        playing: true,
        tempo,
        pos,
        looped: None,
    }
}

pub fn stop(start: i64, tempo: f64) -> Segment {
    Segment {
        start,
        playing: false,
        tempo,
        pos: 0.0,
        looped: None,
    }
}

/// An output event at an absolute sample (its block offset zeroed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timed {
    pub sample: i64,
    pub event: NoteEvent,
}

pub struct Session {
    pub segments: Vec<Segment>,
    /// (absolute sample, on, pitch, velocity) on channel 0.
    pub notes: Vec<(i64, bool, u8, u8)>,
    pub length: i64,
}

impl Session {
    pub fn transport_at(&self, sample: i64) -> Transport {
        let seg = self
            .segments
            .iter()
            .rev()
            .find(|s| s.start <= sample)
            .unwrap();
        if !seg.playing {
            return Transport {
                playing: false,
                tempo: Some(seg.tempo),
                pos_beats: None,
                loop_range: None,
            };
        }
        let mut pos = seg.pos + (sample - seg.start) as f64 * seg.tempo / (60.0 * SR);
        if let Some((a, b)) = seg.looped {
            if pos >= b {
                pos = a + (pos - b) % (b - a);
            }
        }
        Transport {
            playing: true,
            tempo: Some(seg.tempo),
            pos_beats: Some(pos),
            loop_range: seg.looped,
        }
    }

    /// Runs the session in buffers of `size` frames (cut at segment starts,
    /// as hosts cut at seeks and tempo changes) and returns every output event.
    pub fn run<M: VoiceModel>(
        &self,
        model: &mut M,
        settings: &Settings,
        size: u32,
    ) -> (Vec<Timed>, Sequencer) {
        let mut seq = Sequencer::new();
        let mut out = EventBuffer::with_capacity(1024);
        let mut input = Vec::with_capacity(256);
        let mut all = Vec::new();
        let mut s = 0i64;
        while s < self.length {
            let next_seg = self
                .segments
                .iter()
                .map(|g| g.start)
                .filter(|&t| t > s)
                .min()
                .unwrap_or(i64::MAX);
            let frames = (size as i64).min(next_seg - s).min(self.length - s) as u32;
            input.clear();
            for &(t, on, pitch, velocity) in &self.notes {
                if t >= s && t < s + frames as i64 {
                    input.push(InputEvent::note((t - s) as u32, on, 0, pitch, velocity));
                }
            }
            let block = Block {
                sample_rate: SR,
                frames,
                transport: self.transport_at(s),
                bypassed: false,
            };
            IN_PROCESS.with(|c| c.set(true));
            seq.process(model, settings, &block, &input, &mut out);
            IN_PROCESS.with(|c| c.set(false));
            assert_eq!(out.dropped(), 0);
            // Offsets differ with the buffer size; the absolute sample is what counts.
            all.extend(out.events().iter().map(|&event| Timed {
                sample: s + event.offset as i64,
                event: NoteEvent { offset: 0, ..event },
            }));
            s += frames as i64;
        }
        (all, seq)
    }
}

pub fn samples_per_beat(tempo: f64) -> f64 {
    60.0 * SR / tempo
}

/// Every key that was turned on is off after its last event.
pub fn assert_nothing_hangs(events: &[Timed]) {
    let mut last = std::collections::HashMap::new();
    for e in events {
        last.insert((e.event.channel, e.event.pitch), e.event.on);
    }
    let hanging: Vec<_> = last
        .iter()
        .filter(|(_, on)| **on)
        .map(|(k, _)| *k)
        .collect();
    assert!(
        hanging.is_empty(),
        "notes left on (channel, pitch): {hanging:?}"
    );
}
