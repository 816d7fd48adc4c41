//! End-to-end tests of the built plugin through its real ABI: a small CLAP
//! host (clack-host) that loads `target/bundled/bach-plugin.clap`, plays
//! sessions with a running transport and collects the notes it sends back.

use std::ffi::CString;
use std::path::PathBuf;

use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_extensions::state::PluginState;
use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::io::EventBuffer;
use clack_host::events::{EventFlags, EventHeader, Match, Pckn};
use clack_host::prelude::*;
use clack_host::process::audio_buffers::{InputAudioBuffers, OutputAudioBuffers};
use clack_host::utils::{BeatTime, ClapId, SecondsTime};

pub mod vst3_host;

pub const SR: f64 = 48_000.0;

/// The workspace's `target/bundled` folder.
pub fn bundled(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("bundled").join(name)
}

/// The CLAP bundle, or a failure that says how to build it.
pub fn clap_bundle() -> PathBuf {
    let path = bundled("bach-plugin.clap");
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo xtask bundle bach-plugin --release`",
        path.display()
    );
    path
}

struct Shared;
impl SharedHandler<'_> for Shared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

struct Host;
impl HostHandlers for Host {
    type Shared<'a> = Shared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();
}

/// The debug build with nice-plug's `assert_process_allocs` (aborts on any
/// allocation inside `process()`), or a failure that says how to build it.
pub fn alloc_checked_library() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = root.join("target/alloc-check/debug/libbach_plugin.so");
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p bach-plugin --features assert_process_allocs --target-dir target/alloc-check`",
        path.display()
    );
    path
}

/// A note the plugin sent, at an absolute sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Note {
    pub sample: i64,
    pub on: bool,
    pub channel: u8,
    pub pitch: u8,
    /// 1 to 127 for a note-on, 0 for a note-off.
    pub velocity: u8,
}

/// A CLAP or VST3 velocity (0 to 1) as a MIDI velocity.
pub fn midi_velocity(v: f64) -> u8 {
    (v * 127.0).round().clamp(0.0, 127.0) as u8
}

/// The transport from `start` on.
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

/// Transport segments and input notes (absolute sample, on, pitch) on channel 0.
pub struct Session {
    pub segments: Vec<Segment>,
    pub notes: Vec<(i64, bool, u8)>,
    pub length: i64,
}

/// Where the transport is at one sample (host-neutral).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Position {
    pub playing: bool,
    pub tempo: f64,
    /// Song position in quarter notes (0 when stopped), wrapped into the loop.
    pub beats: f64,
    pub looped: Option<(f64, f64)>,
}

impl Session {
    pub fn position_at(&self, sample: i64) -> Position {
        let seg = self
            .segments
            .iter()
            .rev()
            .find(|s| s.start <= sample)
            .expect("a segment from sample 0");
        let mut beats = 0.0;
        if seg.playing {
            beats = seg.pos + (sample - seg.start) as f64 * seg.tempo / (60.0 * SR);
        }
        if let Some((a, b)) = seg.looped {
            if beats >= b {
                beats = a + (beats - b) % (b - a);
            }
        }
        Position {
            playing: seg.playing,
            tempo: seg.tempo,
            beats,
            looped: seg.looped,
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

    fn transport_at(&self, sample: i64) -> TransportEvent {
        let p = self.position_at(sample);
        transport_event(p.playing, p.tempo, p.beats, p.looped)
    }
}

/// A CLAP transport: playing or not, tempo, song position in beats, loop.
pub fn transport_event(
    playing: bool,
    tempo: f64,
    beats: f64,
    looped: Option<(f64, f64)>,
) -> TransportEvent {
    let mut flags = TransportFlags::HAS_TEMPO | TransportFlags::HAS_BEATS_TIMELINE;
    if playing {
        flags |= TransportFlags::IS_PLAYING;
    }
    let (mut loop_start, mut loop_end) = (0.0, 0.0);
    if let Some((a, b)) = looped {
        flags |= TransportFlags::IS_LOOP_ACTIVE;
        (loop_start, loop_end) = (a, b);
    }
    TransportEvent {
        header: EventHeader::new_core(0, EventFlags::empty()),
        flags,
        song_pos_beats: BeatTime::from_float(beats),
        song_pos_seconds: SecondsTime::from_float(0.0),
        tempo,
        tempo_inc: 0.0,
        loop_start_beats: BeatTime::from_float(loop_start),
        loop_end_beats: BeatTime::from_float(loop_end),
        loop_start_seconds: SecondsTime::from_float(0.0),
        loop_end_seconds: SecondsTime::from_float(0.0),
        bar_start: BeatTime::from_float(0.0),
        bar_number: 0,
        time_signature_numerator: 4,
        time_signature_denominator: 4,
    }
}

/// A loaded, activated CLAP instance of the plugin.
pub struct ClapBach {
    // Field order matters: the instance must go before the library it came from.
    processor: Option<StartedPluginAudioProcessor<Host>>,
    instance: PluginInstance<Host>,
    max_frames: u32,
    sample_rate: f64,
    /// Raw MIDI messages (CCs, pitch bend...) the last `process_raw` call sent,
    /// with their times in the block.
    pub midi_out: Vec<(u32, [u8; 3])>,
}

impl ClapBach {
    pub fn load(max_frames: u32) -> Self {
        Self::load_from(&clap_bundle(), max_frames)
    }

    /// Loads the plugin from any CLAP library (the allocation-checked debug build, say).
    pub fn load_from(path: &std::path::Path, max_frames: u32) -> Self {
        // SAFETY: loading our own freshly built plugin library. It is never
        // unloaded: the framework's helper threads may outlive an instance.
        let entry: &'static PluginEntry = Box::leak(Box::new(
            unsafe { PluginEntry::load(path) }.expect("load the .clap"),
        ));
        let factory = entry.get_plugin_factory().expect("a plugin factory");
        let id = factory
            .plugin_descriptors()
            .find_map(|d| d.id().map(CString::from))
            .expect("one plugin");
        let info = HostInfo::new("bach-e2e", "bach", "https://example.invalid", "0.1").unwrap();
        let instance =
            PluginInstance::<Host>::new(|_| Shared, |_| (), entry, &id, &info).expect("instance");
        let mut me = Self {
            processor: None,
            instance,
            max_frames,
            sample_rate: SR,
            midi_out: Vec::new(),
        };
        me.activate();
        me
    }

    pub fn activate(&mut self) {
        let config = PluginAudioConfiguration {
            sample_rate: self.sample_rate,
            min_frames_count: 1,
            max_frames_count: self.max_frames,
        };
        let stopped = self.instance.activate(|_, _| (), config).expect("activate");
        self.processor = Some(stopped.start_processing().expect("start processing"));
    }

    pub fn deactivate(&mut self) {
        if let Some(p) = self.processor.take() {
            self.instance.deactivate(p.stop_processing());
        }
    }

    /// Deactivates, changes the sample rate and the largest block, activates.
    pub fn reconfigure(&mut self, sample_rate: f64, max_frames: u32) {
        self.deactivate();
        self.sample_rate = sample_rate;
        self.max_frames = max_frames;
        self.activate();
    }

    /// Every parameter: (id, name, min, max).
    pub fn params(&mut self) -> Vec<(ClapId, String, f64, f64)> {
        let handle = self.instance.plugin_handle();
        let params: PluginParams = handle.get_extension().expect("params extension");
        let mut buffer = ParamInfoBuffer::new();
        let mut out = Vec::new();
        for i in 0..params.count(&handle) {
            if let Some(info) = params.get_info(&handle, i, &mut buffer) {
                let name = String::from_utf8_lossy(info.name).into_owned();
                out.push((info.id, name, info.min_value, info.max_value));
            }
        }
        out
    }

    /// Parameter id by display name.
    pub fn param(&mut self, name: &str) -> ClapId {
        let handle = self.instance.plugin_handle();
        let params: PluginParams = handle.get_extension().expect("params extension");
        let mut buffer = ParamInfoBuffer::new();
        for i in 0..params.count(&handle) {
            if let Some(info) = params.get_info(&handle, i, &mut buffer) {
                if info.name == name.as_bytes() {
                    return info.id;
                }
            }
        }
        panic!("no parameter called {name}")
    }

    pub fn param_value(&mut self, id: ClapId) -> f64 {
        let handle = self.instance.plugin_handle();
        let params: PluginParams = handle.get_extension().expect("params extension");
        params.get_value(&handle, id).expect("value")
    }

    pub fn save_state(&mut self) -> Vec<u8> {
        let handle = self.instance.plugin_handle();
        let state: PluginState = handle.get_extension().expect("state extension");
        let mut bytes = Vec::new();
        state.save(&handle, &mut bytes).expect("save state");
        bytes
    }

    pub fn load_state(&mut self, mut bytes: &[u8]) {
        let handle = self.instance.plugin_handle();
        let state: PluginState = handle.get_extension().expect("state extension");
        state.load(&handle, &mut bytes).expect("load state");
    }

    /// One process call: `frames` samples, input notes at offsets, parameter changes at 0.
    pub fn process(
        &mut self,
        frames: u32,
        transport: &TransportEvent,
        notes: &[(u32, bool, u8)],
        params: &[(ClapId, f64)],
        start: i64,
        out: &mut Vec<Note>,
    ) {
        let mut input = EventBuffer::with_capacity(notes.len() + params.len());
        for &(id, value) in params {
            input.push(&ParamValueEvent::new(0, id, Pckn::match_all(), value));
        }
        for &(offset, on, pitch) in notes {
            let pckn = Pckn::new(0u16, 0u16, pitch as u16, Match::All);
            if on {
                input.push(&NoteOnEvent::new(offset, pckn, 90.0 / 127.0));
            } else {
                input.push(&NoteOffEvent::new(offset, pckn, 0.0));
            }
        }
        let mut output = EventBuffer::with_capacity(256);
        // SAFETY: no audio buffers at all, so every buffer is long enough.
        let audio_in = unsafe { InputAudioBuffers::from_raw_buffers(&[], frames) };
        let mut audio_out = OutputAudioBuffers::empty();
        let processor = self.processor.as_mut().expect("active");
        processor
            .process(
                &audio_in,
                &mut audio_out,
                &input.as_input(),
                &mut output.as_output(),
                None,
                Some(transport),
            )
            .expect("process");
        for event in output.iter() {
            let time = event.header().time();
            if let Some(e) = event.as_event::<NoteOnEvent>() {
                out.push(Note {
                    sample: start + time as i64,
                    on: true,
                    channel: e.pckn().raw_channel() as u8,
                    pitch: e.pckn().raw_key() as u8,
                    velocity: midi_velocity(e.velocity()),
                });
            } else if let Some(e) = event.as_event::<NoteOffEvent>() {
                out.push(Note {
                    sample: start + time as i64,
                    on: false,
                    channel: e.pckn().raw_channel() as u8,
                    pitch: e.pckn().raw_key() as u8,
                    velocity: 0,
                });
            }
        }
    }

    /// One process call with any input events (sorted here by time). Returns
    /// the output note events as (time in the block, note), in the plugin's
    /// order, for the caller to check.
    pub fn process_raw(
        &mut self,
        frames: u32,
        transport: &TransportEvent,
        events: &[Input],
        out: &mut Vec<(u32, Note)>,
    ) {
        let mut sorted: Vec<&Input> = events.iter().collect();
        sorted.sort_by_key(|e| e.time());
        let mut input = EventBuffer::with_capacity(events.len());
        for e in sorted {
            match *e {
                Input::Note {
                    time,
                    on,
                    channel,
                    pitch,
                } => {
                    let pckn = Pckn::new(0u16, channel as u16, pitch as u16, Match::All);
                    if on {
                        input.push(&NoteOnEvent::new(time, pckn, 90.0 / 127.0));
                    } else {
                        input.push(&NoteOffEvent::new(time, pckn, 0.0));
                    }
                }
                Input::Midi { time, data } => input.push(&MidiEvent::new(time, 0, data)),
                Input::Param { time, id, value } => {
                    input.push(&ParamValueEvent::new(time, id, Pckn::match_all(), value))
                }
            }
        }
        let mut output = EventBuffer::with_capacity(256);
        // SAFETY: no audio buffers at all, so every buffer is long enough.
        let audio_in = unsafe { InputAudioBuffers::from_raw_buffers(&[], frames) };
        let mut audio_out = OutputAudioBuffers::empty();
        let processor = self.processor.as_mut().expect("active");
        processor
            .process(
                &audio_in,
                &mut audio_out,
                &input.as_input(),
                &mut output.as_output(),
                None,
                Some(transport),
            )
            .expect("process");
        self.midi_out.clear();
        for event in output.iter() {
            let time = event.header().time();
            if let Some(e) = event.as_event::<MidiEvent>() {
                self.midi_out.push((time, e.data()));
                continue;
            }
            let (on, pckn, velocity) = if let Some(e) = event.as_event::<NoteOnEvent>() {
                (true, e.pckn(), midi_velocity(e.velocity()))
            } else if let Some(e) = event.as_event::<NoteOffEvent>() {
                (false, e.pckn(), 0)
            } else {
                continue;
            };
            out.push((
                time,
                Note {
                    sample: time as i64,
                    on,
                    channel: pckn.raw_channel() as u8,
                    pitch: pckn.raw_key() as u8,
                    velocity,
                },
            ));
        }
    }

    /// Plays a session in buffers of `size` frames (cut at segment starts,
    /// as hosts cut at seeks and tempo changes); returns every note sent.
    pub fn run(&mut self, session: &Session, size: u32, params: &[(ClapId, f64)]) -> Vec<Note> {
        let mut out = Vec::new();
        let mut s = 0i64;
        let mut first = true;
        let mut notes = Vec::new();
        while s < session.length {
            let frames = session.block_len(s, size);
            notes.clear();
            for &(t, on, pitch) in &session.notes {
                if t >= s && t < s + frames as i64 {
                    notes.push(((t - s) as u32, on, pitch));
                }
            }
            let transport = session.transport_at(s);
            let p: &[(ClapId, f64)] = if first { params } else { &[] };
            self.process(frames, &transport, &notes, p, s, &mut out);
            first = false;
            s += frames as i64;
        }
        out
    }
}

impl Drop for ClapBach {
    fn drop(&mut self) {
        self.deactivate();
    }
}

/// An input event for [`ClapBach::process_raw`].
#[derive(Clone, Copy, Debug)]
pub enum Input {
    Note {
        time: u32,
        on: bool,
        channel: u8,
        pitch: u8,
    },
    /// A raw MIDI 1 message (CC 123, say).
    Midi { time: u32, data: [u8; 3] },
    /// A plain parameter value.
    Param { time: u32, id: ClapId, value: f64 },
}

impl Input {
    pub fn time(&self) -> u32 {
        match *self {
            Input::Note { time, .. } | Input::Midi { time, .. } | Input::Param { time, .. } => time,
        }
    }
}

/// A saved state (nice-plug's CLAP state: a little-endian u64 length, then
/// JSON with the plain parameter values under `params` and the persisted
/// fields, each itself JSON, under `fields`) changed by `edit`.
pub fn edit_state(state: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let len = u64::from_le_bytes(state[..8].try_into().unwrap()) as usize;
    assert_eq!(len, state.len() - 8, "length-prefixed state");
    let state = &state[8..];
    let mut json: serde_json::Value = serde_json::from_slice(state)
        .unwrap_or_else(|e| panic!("JSON state ({e}): {}", String::from_utf8_lossy(state)));
    edit(&mut json);
    let body = serde_json::to_vec(&json).unwrap();
    let mut out = (body.len() as u64).to_le_bytes().to_vec();
    out.extend(body);
    out
}

/// The saved state with its model choice replaced (`{"type": "file",
/// "value": path}`, say).
pub fn with_model(state: &[u8], choice: serde_json::Value) -> Vec<u8> {
    edit_state(state, |json| {
        let fields = json
            .get_mut("fields")
            .and_then(|f| f.as_object_mut())
            .expect("persisted fields in the state");
        assert!(fields.contains_key("model"), "model choice persisted");
        fields.insert(
            "model".into(),
            serde_json::Value::String(choice.to_string()),
        );
    })
}

/// Keys whose last event is a note-on: hanging notes.
pub fn hanging(notes: &[Note]) -> Vec<(u8, u8)> {
    let mut last = std::collections::BTreeMap::new();
    for n in notes {
        last.insert((n.channel, n.pitch), n.on);
    }
    last.into_iter()
        .filter(|(_, on)| *on)
        .map(|(k, _)| k)
        .collect()
}
