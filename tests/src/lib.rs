//! End-to-end tests of the built plugin through its real ABI: a small CLAP
//! host (clack-host) that loads `target/bundled/bach-plugin.clap`, plays
//! sessions with a running transport and collects the notes it sends back.

use std::cell::Cell;
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Mutex;

use clack_extensions::latency::{HostLatency, HostLatencyImpl, PluginLatency};
use clack_extensions::params::{
    HostParams, HostParamsImplMainThread, HostParamsImplShared, ParamClearFlags, ParamInfoBuffer,
    ParamRescanFlags, PluginParams,
};
use clack_extensions::state::{HostState, HostStateImpl, PluginState};
use clack_extensions::thread_check::{HostThreadCheck, HostThreadCheckImpl};
use clack_host::events::event_types::{
    MidiEvent, NoteOffEvent, NoteOnEvent, ParamValueEvent, TransportEvent, TransportFlags,
};
use clack_host::events::io::EventBuffer;
use clack_host::events::{EventFlags, EventHeader, Match, Pckn};
use clack_host::prelude::*;
use clack_host::process::audio_buffers::{
    AudioPortBuffer, AudioPortBufferType, AudioPorts, InputAudioBuffers, OutputAudioBuffers,
};
use clack_host::utils::{BeatTime, ClapId, SecondsTime};

pub mod instance;
pub mod vst3_host;

pub use instance::Instance;

// Sessions are the engine's pretend host, so a session sent here is the very
// one the engine's tests and the offline `bach` commands play.
pub use bach_engine::sequencer::session::{play, stop, HostNote, Segment, Session};
use bach_engine::sequencer::Transport;
use bach_engine::Meter;

pub const SR: f64 = bach_engine::sequencer::session::SAMPLE_RATE;
/// Velocity of every note-on this host sends.
pub const VELOCITY: u8 = 90;

/// The workspace's `target/bundled` folder.
pub fn bundled(name: &str) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("bundled").join(name)
}

/// The two plugins the library exports: their CLAP ids, and their VST3 class names.
pub const BACH_ID: &str = "org.bach-harmonizer.bach";
pub const INSTRUMENT_ID: &str = "org.bach-harmonizer.bach-instrument";
pub const BACH_NAME: &str = "Bach";
pub const INSTRUMENT_NAME: &str = "Bach Instrument";

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

/// The bundle `name` (`bach-plugin.clap` or `.vst3`), checked to be built
/// and newer than the default model it embeds; panics saying how to build
/// it otherwise, so a test that needs it never passes by skipping.
pub fn fresh_bundle(name: &str) -> PathBuf {
    let bundle = bundled(name);
    let model =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/chorale-satb.safetensors");
    let modified = |p: &std::path::Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    // A VST3 bundle is a folder, whose own time does not change when the
    // library inside it is rewritten: the newest file in it says when it was built.
    fn newest(p: &std::path::Path) -> Option<std::time::SystemTime> {
        let meta = std::fs::metadata(p).ok()?;
        if !meta.is_dir() {
            return meta.modified().ok();
        }
        std::fs::read_dir(p)
            .ok()?
            .flatten()
            .filter_map(|e| newest(&e.path()))
            .max()
    }
    match (newest(&bundle), modified(&model)) {
        (None, _) => panic!(
            "{} is missing: build it with `cargo xtask bundle bach-plugin --release`",
            bundle.display()
        ),
        (Some(b), Some(m)) if b < m => panic!(
            "the bundle is older than the default model it embeds: rebuild it with \
             `cargo xtask bundle bach-plugin --release`"
        ),
        _ => bundle,
    }
}

/// What the host is doing when the plugin calls it back: the CLAP spec
/// allows some callbacks only in some of these (ext/latency.h: `changed`
/// only inside `clap_plugin::activate`; main-thread callbacks never from
/// `process`). This host runs everything on one thread, so it tells the
/// plugin which thread a call is on by what it is doing (`clap.thread-check`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    /// On the main thread, between calls.
    Main = 0,
    /// Inside `clap_plugin::activate` (the main thread).
    Activating = 1,
    /// Inside `clap_plugin::process` (the audio thread).
    Processing = 2,
}

/// What the plugin asked of the host, for the test to act on as a host
/// would, and every callback that broke the spec's threading rules.
#[derive(Default)]
struct Shared {
    restart: AtomicBool,
    callback: AtomicBool,
    phase: AtomicU8,
    /// Spec violations seen in callbacks, reported by the next host call
    /// (a panic inside a C callback would abort the test binary).
    violations: Mutex<Vec<String>>,
}

impl Shared {
    fn phase(&self) -> Phase {
        match self.phase.load(Ordering::SeqCst) {
            1 => Phase::Activating,
            2 => Phase::Processing,
            _ => Phase::Main,
        }
    }

    fn violation(&self, what: String) {
        self.violations.lock().unwrap().push(what);
    }
}

impl SharedHandler<'_> for Shared {
    // Both thread-safe in CLAP: any phase may call them.
    fn request_restart(&self) {
        self.restart.store(true, Ordering::SeqCst);
    }
    fn request_process(&self) {}
    fn request_callback(&self) {
        self.callback.store(true, Ordering::SeqCst);
    }
}

impl HostParamsImplShared for Shared {
    fn request_flush(&self) {
        // Thread-safe, but never from the audio thread (ext/params.h).
        if self.phase() == Phase::Processing {
            self.violation("clap_host_params::request_flush called from process".into());
        }
    }
}

impl HostThreadCheckImpl for Shared {
    fn is_main_thread(&self) -> bool {
        self.phase() != Phase::Processing
    }
    fn is_audio_thread(&self) -> bool {
        self.phase() == Phase::Processing
    }
}

/// The host's main thread: counts the plugin's `clap.latency` `changed()`
/// calls and checks each came inside `activate`, and that no main-thread
/// callback (latency, params, state) comes from `process`.
#[derive(Default)]
struct MainThread<'a> {
    shared: Option<&'a Shared>,
    latency_changed: Cell<u32>,
}

impl<'a> MainThreadHandler<'a> for MainThread<'a> {}

impl HostLatencyImpl for MainThread<'_> {
    fn changed(&self) {
        self.on_main_thread("clap_host_latency::changed");
        self.latency_changed.set(self.latency_changed.get() + 1);
        if let Some(shared) = self.shared {
            let phase = shared.phase();
            if phase != Phase::Activating {
                shared.violation(format!(
                    "clap_host_latency::changed called {phase:?}, not inside clap_plugin::activate"
                ));
            }
        }
    }
}

impl MainThread<'_> {
    /// A `[main-thread]` callback: never from `process`.
    fn on_main_thread(&self, what: &str) {
        if let Some(shared) = self.shared {
            if shared.phase() == Phase::Processing {
                shared.violation(format!("{what} called from process"));
            }
        }
    }
}

impl HostParamsImplMainThread for MainThread<'_> {
    fn rescan(&self, _flags: ParamRescanFlags) {
        self.on_main_thread("clap_host_params::rescan");
    }
    fn clear(&self, _param_id: ClapId, _flags: ParamClearFlags) {
        self.on_main_thread("clap_host_params::clear");
    }
}

impl HostStateImpl for MainThread<'_> {
    fn mark_dirty(&self) {
        self.on_main_thread("clap_host_state::mark_dirty");
    }
}

struct Host;
impl HostHandlers for Host {
    type Shared<'a> = Shared;
    type MainThread<'a> = MainThread<'a>;
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder
            .register::<HostLatency>()
            .register::<HostThreadCheck>()
            .register::<HostParams>()
            .register::<HostState>();
    }
}

/// What a host did about the plugin's requests (see [`ClapBach::host_requests`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Requests {
    /// The plugin asked to be restarted, and was (deactivated, activated).
    pub restarted: bool,
    /// The plugin asked for a main-thread callback, and got it.
    pub called_back: bool,
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

/// Input keys (absolute sample, on, pitch) on channel 0, at the velocity
/// this host sends.
pub fn keys(notes: impl IntoIterator<Item = (i64, bool, u8)>) -> Vec<HostNote> {
    notes
        .into_iter()
        .map(|(sample, on, pitch)| HostNote {
            sample,
            on,
            pitch,
            velocity: if on { VELOCITY } else { 0 },
        })
        .collect()
}

/// The CLAP transport a host reports for the engine's pretend-host
/// transport, with its time signature and the bar it is in.
pub fn clap_transport(t: &Transport) -> TransportEvent {
    transport_event_in(
        t.playing,
        t.tempo.unwrap_or(120.0),
        t.pos_beats.unwrap_or(0.0),
        t.loop_range,
        t.meter.unwrap_or(Meter::COMMON),
        t.bar_start.unwrap_or(0.0),
    )
}

/// A CLAP transport in 4/4 from bar 0: playing or not, tempo, song position
/// in beats, loop.
pub fn transport_event(
    playing: bool,
    tempo: f64,
    beats: f64,
    looped: Option<(f64, f64)>,
) -> TransportEvent {
    transport_event_in(playing, tempo, beats, looped, Meter::COMMON, 0.0)
}

/// A CLAP transport in `meter`, in the bar starting at song position
/// `bar_start` (quarter notes).
pub fn transport_event_in(
    playing: bool,
    tempo: f64,
    beats: f64,
    looped: Option<(f64, f64)>,
    meter: Meter,
    bar_start: f64,
) -> TransportEvent {
    let mut flags = TransportFlags::HAS_TEMPO
        | TransportFlags::HAS_BEATS_TIMELINE
        | TransportFlags::HAS_TIME_SIGNATURE;
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
        bar_start: BeatTime::from_float(bar_start),
        bar_number: (bar_start / meter.bar_beats()).floor() as i32,
        time_signature_numerator: meter.numerator as u16,
        time_signature_denominator: meter.denominator as u16,
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
    /// Stereo output channels the plugin has (0 for the MIDI effect).
    outputs: usize,
    /// Every sample of audio the plugin wrote, per channel, in order.
    pub audio: [Vec<f32>; 2],
}

impl ClapBach {
    /// The MIDI effect from the release bundle.
    pub fn load(max_frames: u32) -> Self {
        Self::load_from(&clap_bundle(), max_frames)
    }

    /// The instrument from the release bundle.
    pub fn load_instrument(max_frames: u32) -> Self {
        Self::load_plugin(&clap_bundle(), INSTRUMENT_ID, max_frames)
    }

    /// Loads the MIDI effect from any CLAP library (the allocation-checked debug build, say).
    pub fn load_from(path: &std::path::Path, max_frames: u32) -> Self {
        Self::load_plugin(path, BACH_ID, max_frames)
    }

    /// Loads the plugin with CLAP id `id` from a CLAP library.
    pub fn load_plugin(path: &std::path::Path, id: &str, max_frames: u32) -> Self {
        // SAFETY: loading our own freshly built plugin library. It is never
        // unloaded: the framework's helper threads may outlive an instance.
        let entry: &'static PluginEntry = Box::leak(Box::new(
            unsafe { PluginEntry::load(path) }.expect("load the .clap"),
        ));
        let factory = entry.get_plugin_factory().expect("a plugin factory");
        let ids: Vec<CString> = factory
            .plugin_descriptors()
            .filter_map(|d| d.id().map(CString::from))
            .collect();
        let id = ids
            .into_iter()
            .find(|i| i.to_bytes() == id.as_bytes())
            .unwrap_or_else(|| panic!("no plugin {id} in {}", path.display()));
        let info = HostInfo::new("bach-e2e", "bach", "https://example.invalid", "0.1").unwrap();
        let instance = PluginInstance::<Host>::new(
            |_| Shared::default(),
            |shared| MainThread {
                shared: Some(shared),
                latency_changed: Cell::new(0),
            },
            entry,
            &id,
            &info,
        )
        .expect("instance");
        let mut me = Self {
            processor: None,
            instance,
            max_frames,
            sample_rate: SR,
            midi_out: Vec::new(),
            outputs: if id.to_bytes() == INSTRUMENT_ID.as_bytes() {
                2
            } else {
                0
            },
            audio: [Vec::new(), Vec::new()],
        };
        me.activate();
        me
    }

    /// One process call with audio outputs as the plugin has them; what it
    /// wrote is appended to [`ClapBach::audio`].
    fn run_block(
        &mut self,
        frames: u32,
        transport: &TransportEvent,
        input: &EventBuffer,
        output: &mut EventBuffer,
    ) {
        // SAFETY: no audio inputs at all, so every buffer is long enough.
        let audio_in = unsafe { InputAudioBuffers::from_raw_buffers(&[], frames) };
        // Filled with a value no plugin writes by chance: a channel left
        // unwritten shows in the checks.
        let mut channels = vec![vec![f32::NAN; frames as usize]; self.outputs];
        let mut ports = AudioPorts::with_capacity(self.outputs, 1);
        let mut audio_out = if self.outputs == 0 {
            OutputAudioBuffers::empty()
        } else {
            ports.with_output_buffers([AudioPortBuffer {
                latency: 0,
                channels: AudioPortBufferType::f32_output_only(
                    channels.iter_mut().map(|c| c.as_mut_slice()),
                ),
            }])
        };
        self.enter(Phase::Processing);
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
        self.leave("process");
        for (all, block) in self.audio.iter_mut().zip(&channels) {
            all.extend_from_slice(block);
        }
    }

    pub fn activate(&mut self) {
        let config = PluginAudioConfiguration {
            sample_rate: self.sample_rate,
            min_frames_count: 1,
            max_frames_count: self.max_frames,
        };
        self.enter(Phase::Activating);
        let stopped = self.instance.activate(|_, _| (), config).expect("activate");
        self.leave("activate");
        self.enter(Phase::Processing);
        self.processor = Some(stopped.start_processing().expect("start processing"));
        self.leave("start_processing");
    }

    /// Marks what the host is doing, for the plugin's callbacks to be checked against.
    fn enter(&self, phase: Phase) {
        self.instance
            .access_shared_handler(|h| h.phase.store(phase as u8, Ordering::SeqCst));
    }

    /// Back on the main thread after `call`: fails the test on any callback
    /// during it that broke the spec's rules.
    fn leave(&self, call: &str) {
        let violations = self.instance.access_shared_handler(|h| {
            h.phase.store(Phase::Main as u8, Ordering::SeqCst);
            std::mem::take(&mut *h.violations.lock().unwrap())
        });
        assert!(
            violations.is_empty(),
            "the plugin broke the CLAP spec during {call}: {violations:?}"
        );
    }

    pub fn deactivate(&mut self) {
        if let Some(p) = self.processor.take() {
            self.enter(Phase::Processing);
            let stopped = p.stop_processing();
            self.leave("stop_processing");
            self.instance.deactivate(stopped);
            self.leave("deactivate");
        }
    }

    /// Deactivates, changes the sample rate and the largest block, activates.
    pub fn reconfigure(&mut self, sample_rate: f64, max_frames: u32) {
        self.deactivate();
        self.sample_rate = sample_rate;
        self.max_frames = max_frames;
        self.activate();
    }

    /// The latency the plugin reports now (`clap.latency` `get()`), in samples.
    pub fn latency(&mut self) -> u32 {
        let handle = self.instance.plugin_handle();
        let latency: PluginLatency = handle.get_extension().expect("latency extension");
        latency.get(&handle)
    }

    /// How many times the plugin has called the host's `clap.latency` `changed()`.
    pub fn latency_changes(&self) -> u32 {
        self.instance.access_handler(|h| h.latency_changed.get())
    }

    /// Acts on what the plugin asked since the last call, as a host does
    /// between blocks: a main-thread callback, then a restart (deactivate,
    /// activate: how a CLAP plugin gets to apply a new latency).
    pub fn host_requests(&mut self) -> Requests {
        let (callback, restart) = self.instance.access_shared_handler(|h| {
            (
                h.callback.swap(false, Ordering::SeqCst),
                h.restart.swap(false, Ordering::SeqCst),
            )
        });
        if callback {
            self.instance.call_on_main_thread_callback();
            self.leave("on_main_thread");
        }
        if restart {
            self.deactivate();
            self.activate();
        }
        Requests {
            restarted: restart,
            called_back: callback,
        }
    }

    /// Runs the plugin's main-thread callback if it asked for one, and
    /// nothing else (a host may do this while the plugin is deactivated).
    pub fn main_thread_callback(&mut self) -> bool {
        let asked = self
            .instance
            .access_shared_handler(|h| h.callback.swap(false, Ordering::SeqCst));
        if asked {
            self.instance.call_on_main_thread_callback();
            self.leave("on_main_thread");
        }
        asked
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
        self.leave("state load");
    }

    /// Opens a saved state as a host opens a project: deactivated, the
    /// state loaded, activated again.
    pub fn restore(&mut self, state: &[u8]) {
        self.deactivate();
        self.load_state(state);
        self.activate();
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
                input.push(&NoteOnEvent::new(offset, pckn, VELOCITY as f64 / 127.0));
            } else {
                input.push(&NoteOffEvent::new(offset, pckn, 0.0));
            }
        }
        let mut output = EventBuffer::with_capacity(256);
        self.run_block(frames, transport, &input, &mut output);
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
        self.run_block(frames, transport, &input, &mut output);
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

    /// Restarts the plugin as long as it asks (between blocks, as a host
    /// does); returns how many times. A new latency takes two: nice-plug
    /// applies the one set in `activate` only as `activate` returns, and
    /// asks again to announce it inside the next (docs/plugin.md).
    pub fn restart_while_asked(&mut self) -> u32 {
        let mut restarts = 0;
        while self.host_requests().restarted {
            restarts += 1;
            assert!(restarts <= 4, "the plugin keeps asking to be restarted");
        }
        restarts
    }

    /// The plain value whose text is `text` (`clap.params` `text_to_value`),
    /// checked by turning it back into text.
    pub fn value_of(&mut self, id: ClapId, text: &str) -> f64 {
        let handle = self.instance.plugin_handle();
        let params: PluginParams = handle.get_extension().expect("params extension");
        let c = CString::new(text).unwrap();
        let value = params
            .text_to_value(&handle, id, &c)
            .unwrap_or_else(|| panic!("no value reads {text:?}"));
        let mut buffer = [0u8; 256];
        let back = params
            .value_to_text(&handle, id, value, &mut buffer)
            .expect("value to text");
        let back = String::from_utf8_lossy(back);
        let back = back.trim_end_matches('\0');
        assert_eq!(back, text, "value {value} reads back");
        value
    }
}

impl Instance for ClapBach {
    type Param = ClapId;

    fn load(max_frames: u32) -> Self {
        ClapBach::load(max_frames)
    }

    fn param(&mut self, name: &str) -> ClapId {
        ClapBach::param(self, name)
    }

    fn activate(&mut self) {
        ClapBach::activate(self)
    }

    fn deactivate(&mut self) {
        ClapBach::deactivate(self)
    }

    fn latency(&mut self) -> u32 {
        ClapBach::latency(self)
    }

    /// CLAP's parameter events carry plain values.
    fn sent_value(&self, _id: ClapId, plain: f64) -> f64 {
        plain
    }

    fn play_block(
        &mut self,
        frames: u32,
        transport: &Transport,
        start: i64,
        notes: &[(u32, bool, u8)],
        params: &[(ClapId, f64)],
        out: &mut Vec<Note>,
    ) {
        self.process(
            frames,
            &clap_transport(transport),
            notes,
            params,
            start,
            out,
        );
    }

    /// A CLAP plugin tells a new latency only inside `activate`.
    fn between_blocks(&mut self) {
        self.restart_while_asked();
    }

    fn audio(&mut self) -> &mut [Vec<f32>; 2] {
        &mut self.audio
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

/// A saved state changed by `edit`. nice-plug's CLAP state is a
/// little-endian u64 length, then JSON with the plain parameter values
/// under `params` and the persisted fields, each itself JSON, under
/// `fields`; its VST3 state is the same JSON without the length.
pub fn edit_state(state: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let prefixed = state.len() >= 8
        && u64::from_le_bytes(state[..8].try_into().unwrap()) as usize == state.len() - 8;
    let body = if prefixed { &state[8..] } else { state };
    let mut json: serde_json::Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("JSON state ({e}): {}", String::from_utf8_lossy(body)));
    edit(&mut json);
    let body = serde_json::to_vec(&json).unwrap();
    if !prefixed {
        return body;
    }
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

/// A melody note held from sample 10 through a loop of two beats (wrapping
/// at 48 000 and 96 000 at 120 bpm), a seek to beat 40 at 130 007 and a stop
/// at 170 003, released at 200 000: only the transport can end the harmony.
pub fn held_through_loop_seek_stop(length: i64) -> Session {
    Session {
        segments: vec![
            Segment {
                looped: Some((0.0, 2.0)),
                ..play(0, 120.0, 0.0)
            },
            play(130_007, 120.0, 40.0),
            stop(170_003, 120.0),
        ],
        notes: keys([(10, true, 70), (200_000, false, 70)]),
        length,
    }
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
