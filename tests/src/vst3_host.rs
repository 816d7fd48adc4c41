//! A minimal VST3 host on the raw `vst3` COM bindings: loads the built
//! `.vst3` bundle, drives its single component (processor and controller in
//! one object, as nice-plug builds it) with note events, parameter changes
//! and a full process context (tempo, position, loop), and reads its state.
//!
//! vst3-host 0.10 was not used: it has no loop (cycle) in its transport and
//! pulls in windowing and audio back-ends a MIDI effect test does not need.

use std::cell::{Cell, RefCell};
use std::ffi::c_void;
use std::path::{Path, PathBuf};

use vst3::Steinberg::Vst::Event_::EventTypes_::{
    kLegacyMIDICCOutEvent, kNoteOffEvent, kNoteOnEvent,
};
use vst3::Steinberg::Vst::ProcessContext_::StatesAndFlags_::{
    kBarPositionValid, kCycleActive, kCycleValid, kPlaying, kProjectTimeMusicValid, kTempoValid,
    kTimeSigValid,
};
use vst3::Steinberg::Vst::RestartFlags_::kLatencyChanged;
use vst3::Steinberg::Vst::{
    AudioBusBuffers, AudioBusBuffers__type0, BusDirections_, Event, IAudioProcessor,
    IAudioProcessorTrait, IComponent, IComponentHandler, IComponentHandlerTrait, IComponentTrait,
    IEditController, IEditControllerTrait, IEventList, IEventListTrait, IParamValueQueue,
    IParamValueQueueTrait, IParameterChanges, IParameterChangesTrait, MediaTypes_, NoteOffEvent,
    NoteOnEvent, ParamID, ParamValue, ParameterInfo, ProcessContext, ProcessData, ProcessModes_,
    ProcessSetup, SymbolicSampleSizes_,
};
use vst3::Steinberg::{
    int32, int64, kInvalidArgument, kResultFalse, kResultOk, tresult, IBStream, IBStreamTrait,
    IBStream_::IStreamSeekMode_, IPluginBaseTrait, IPluginFactory, IPluginFactoryTrait, PClassInfo,
};
use vst3::{Class, ComPtr, ComWrapper, Interface};

use crate::{bundled, midi_velocity, Instance, Note};
use bach_engine::sequencer::Transport;
use bach_engine::Meter;

/// The plugin library inside the VST3 bundle, or a failure that says how to build it.
pub fn vst3_library() -> PathBuf {
    let path = bundled("bach-plugin.vst3/Contents/x86_64-linux/bach-plugin.so");
    assert!(
        path.exists(),
        "{} is missing: build it first with `cargo xtask bundle bach-plugin --release`",
        path.display()
    );
    path
}

/// A host event list: input notes going in, the plugin's notes coming out.
struct EventList {
    events: RefCell<Vec<Event>>,
}

impl Class for EventList {
    type Interfaces = (IEventList,);
}

impl IEventListTrait for EventList {
    unsafe fn getEventCount(&self) -> int32 {
        self.events.borrow().len() as int32
    }

    unsafe fn getEvent(&self, index: int32, e: *mut Event) -> tresult {
        match self.events.borrow().get(index as usize) {
            Some(ev) if !e.is_null() => {
                // SAFETY: the plugin passes a pointer to an `Event` it owns.
                unsafe { *e = *ev };
                kResultOk
            }
            _ => kInvalidArgument,
        }
    }

    unsafe fn addEvent(&self, e: *mut Event) -> tresult {
        if e.is_null() {
            return kInvalidArgument;
        }
        // SAFETY: non-null, points to the plugin's event for this call.
        self.events.borrow_mut().push(unsafe { *e });
        kResultOk
    }
}

/// One parameter's changes in a block.
struct ParamQueue {
    id: ParamID,
    points: RefCell<Vec<(int32, ParamValue)>>,
}

impl Class for ParamQueue {
    type Interfaces = (IParamValueQueue,);
}

impl IParamValueQueueTrait for ParamQueue {
    unsafe fn getParameterId(&self) -> ParamID {
        self.id
    }

    unsafe fn getPointCount(&self) -> int32 {
        self.points.borrow().len() as int32
    }

    unsafe fn getPoint(&self, index: int32, offset: *mut int32, value: *mut ParamValue) -> tresult {
        match self.points.borrow().get(index as usize) {
            Some(&(o, v)) if !offset.is_null() && !value.is_null() => {
                // SAFETY: both pointers are the plugin's and non-null.
                unsafe {
                    *offset = o;
                    *value = v;
                }
                kResultOk
            }
            _ => kInvalidArgument,
        }
    }

    unsafe fn addPoint(&self, offset: int32, value: ParamValue, index: *mut int32) -> tresult {
        let mut points = self.points.borrow_mut();
        points.push((offset, value));
        if !index.is_null() {
            // SAFETY: non-null pointer from the caller.
            unsafe { *index = points.len() as int32 - 1 };
        }
        kResultOk
    }
}

/// The parameter changes of one block (the plugin only reads them here).
struct ParamChanges {
    queues: Vec<ComWrapper<ParamQueue>>,
}

impl Class for ParamChanges {
    type Interfaces = (IParameterChanges,);
}

impl IParameterChangesTrait for ParamChanges {
    unsafe fn getParameterCount(&self) -> int32 {
        self.queues.len() as int32
    }

    unsafe fn getParameterData(&self, index: int32) -> *mut IParamValueQueue {
        self.queues
            .get(index as usize)
            .and_then(|q| q.as_com_ref::<IParamValueQueue>())
            .map_or(std::ptr::null_mut(), |q| q.as_ptr())
    }

    unsafe fn addParameterData(
        &self,
        _id: *const ParamID,
        _index: *mut int32,
    ) -> *mut IParamValueQueue {
        // Input changes are fixed before the call; the plugin never adds any.
        std::ptr::null_mut()
    }
}

/// The host's component handler: records the plugin's restart requests
/// (`kLatencyChanged` when its latency changes) for the test to act on.
#[derive(Default)]
struct ComponentHandler {
    /// The flags of every `restartComponent` call since the host last looked, or-ed.
    restart: Cell<int32>,
}

impl Class for ComponentHandler {
    type Interfaces = (IComponentHandler,);
}

impl IComponentHandlerTrait for ComponentHandler {
    unsafe fn beginEdit(&self, _id: ParamID) -> tresult {
        kResultOk
    }

    unsafe fn performEdit(&self, _id: ParamID, _value: ParamValue) -> tresult {
        kResultOk
    }

    unsafe fn endEdit(&self, _id: ParamID) -> tresult {
        kResultOk
    }

    unsafe fn restartComponent(&self, flags: int32) -> tresult {
        self.restart.set(self.restart.get() | flags);
        kResultOk
    }
}

/// A memory stream for getState/setState.
struct Stream {
    bytes: RefCell<Vec<u8>>,
    pos: Cell<usize>,
}

impl Class for Stream {
    type Interfaces = (IBStream,);
}

impl IBStreamTrait for Stream {
    unsafe fn read(&self, buffer: *mut c_void, n: int32, read: *mut int32) -> tresult {
        let bytes = self.bytes.borrow();
        let pos = self.pos.get().min(bytes.len());
        let count = (n.max(0) as usize).min(bytes.len() - pos);
        if count > 0 {
            // SAFETY: the plugin's buffer holds at least `n` bytes.
            unsafe {
                std::ptr::copy_nonoverlapping(bytes[pos..].as_ptr(), buffer as *mut u8, count)
            };
        }
        self.pos.set(pos + count);
        if !read.is_null() {
            // SAFETY: non-null pointer from the caller.
            unsafe { *read = count as int32 };
        }
        kResultOk
    }

    unsafe fn write(&self, buffer: *mut c_void, n: int32, written: *mut int32) -> tresult {
        let n = n.max(0) as usize;
        // SAFETY: the plugin's buffer holds `n` bytes.
        let data = unsafe { std::slice::from_raw_parts(buffer as *const u8, n) };
        let mut bytes = self.bytes.borrow_mut();
        let pos = self.pos.get();
        if bytes.len() < pos + n {
            bytes.resize(pos + n, 0);
        }
        bytes[pos..pos + n].copy_from_slice(data);
        self.pos.set(pos + n);
        if !written.is_null() {
            // SAFETY: non-null pointer from the caller.
            unsafe { *written = n as int32 };
        }
        kResultOk
    }

    unsafe fn seek(&self, pos: int64, mode: int32, result: *mut int64) -> tresult {
        let len = self.bytes.borrow().len() as i64;
        let base = match mode as u32 {
            m if m == IStreamSeekMode_::kIBSeekSet => 0,
            m if m == IStreamSeekMode_::kIBSeekCur => self.pos.get() as i64,
            m if m == IStreamSeekMode_::kIBSeekEnd => len,
            _ => return kInvalidArgument,
        };
        let new = base + pos;
        if new < 0 {
            return kResultFalse;
        }
        self.pos.set(new as usize);
        if !result.is_null() {
            // SAFETY: non-null pointer from the caller.
            unsafe { *result = new };
        }
        kResultOk
    }

    unsafe fn tell(&self, pos: *mut int64) -> tresult {
        if pos.is_null() {
            return kInvalidArgument;
        }
        // SAFETY: non-null pointer from the caller.
        unsafe { *pos = self.pos.get() as int64 };
        kResultOk
    }
}

fn stream(bytes: Vec<u8>) -> ComWrapper<Stream> {
    ComWrapper::new(Stream {
        bytes: RefCell::new(bytes),
        pos: Cell::new(0),
    })
}

/// A loaded, active VST3 instance of the plugin.
pub struct Vst3Bach {
    // Field order: the interfaces are released before the library (which is leaked anyway).
    processor: ComPtr<IAudioProcessor>,
    controller: ComPtr<IEditController>,
    component: ComPtr<IComponent>,
    handler: ComWrapper<ComponentHandler>,
    sample_rate: f64,
    max_frames: u32,
    active: bool,
    /// Audio output channels (0 for the MIDI effect, 2 for the instrument).
    outputs: usize,
    /// Every sample of audio the plugin wrote, per channel, in order.
    pub audio: [Vec<f32>; 2],
    /// Restarts the host did for `restartComponent(kLatencyChanged)`.
    pub latency_restarts: u32,
    /// Every MIDI controller the plugin sent (VST3's `LegacyMIDICCOutEvent`:
    /// CCs, pitch bend as control 129, pressure as 128), in order.
    pub controllers_out: Vec<ControllerOut>,
}

/// A MIDI controller the plugin sent: (absolute sample, control number,
/// channel, value, second value for a 14-bit pitch bend).
pub type ControllerOut = (i64, u8, i8, i8, i8);

type EntryFn = unsafe extern "C" fn(*mut c_void) -> bool;
type FactoryFn = unsafe extern "system" fn() -> *mut c_void;

impl Vst3Bach {
    /// The MIDI effect from the release bundle.
    pub fn load(max_frames: u32) -> Self {
        Self::load_from(&vst3_library(), max_frames, crate::SR)
    }

    /// The instrument from the release bundle.
    pub fn load_instrument(max_frames: u32) -> Self {
        Self::load_class(
            &vst3_library(),
            crate::INSTRUMENT_NAME,
            max_frames,
            crate::SR,
        )
    }

    /// The MIDI effect from any build of the library.
    pub fn load_from(path: &Path, max_frames: u32, sample_rate: f64) -> Self {
        Self::load_class(path, crate::BACH_NAME, max_frames, sample_rate)
    }

    /// The audio module class called `name` from a VST3 library.
    pub fn load_class(path: &Path, name: &str, max_frames: u32, sample_rate: f64) -> Self {
        let outputs = if name == crate::INSTRUMENT_NAME { 2 } else { 0 };
        // SAFETY: our own plugin library, never unloaded (its helper threads
        // may outlive an instance). Entry points as the VST3 SDK's Linux main.
        let lib: &'static libloading::Library = Box::leak(Box::new(
            unsafe { libloading::Library::new(path) }.expect("dlopen"),
        ));
        let factory = unsafe {
            let entry: libloading::Symbol<EntryFn> = lib.get(b"ModuleEntry").expect("ModuleEntry");
            assert!(entry(std::ptr::null_mut()), "ModuleEntry failed");
            let get: libloading::Symbol<FactoryFn> =
                lib.get(b"GetPluginFactory").expect("GetPluginFactory");
            ComPtr::<IPluginFactory>::from_raw(get() as *mut IPluginFactory).expect("a factory")
        };
        let component = unsafe {
            let mut cid = None;
            for i in 0..factory.countClasses() {
                let mut info: PClassInfo = std::mem::zeroed();
                assert_eq!(factory.getClassInfo(i, &mut info), kResultOk);
                let category: Vec<u8> = info
                    .category
                    .iter()
                    .take_while(|&&c| c != 0)
                    .map(|&c| c as u8)
                    .collect();
                let class: Vec<u8> = info
                    .name
                    .iter()
                    .take_while(|&&c| c != 0)
                    .map(|&c| c as u8)
                    .collect();
                if category == b"Audio Module Class" && class == name.as_bytes() {
                    cid = Some(info.cid);
                }
            }
            let cid = cid.unwrap_or_else(|| panic!("no audio module class {name}"));
            let mut obj = std::ptr::null_mut();
            let iid = IComponent::IID;
            assert_eq!(
                factory.createInstance(
                    cid.as_ptr(),
                    iid.as_ptr() as *const std::ffi::c_char,
                    &mut obj
                ),
                kResultOk,
                "createInstance"
            );
            ComPtr::<IComponent>::from_raw(obj as *mut IComponent).expect("a component")
        };
        let processor = component
            .cast::<IAudioProcessor>()
            .expect("IAudioProcessor");
        let controller = component
            .cast::<IEditController>()
            .expect("IEditController");
        unsafe {
            assert_eq!(component.initialize(std::ptr::null_mut()), kResultOk);
            for dir in [BusDirections_::kInput, BusDirections_::kOutput] {
                assert_eq!(
                    component.getBusCount(MediaTypes_::kEvent as i32, dir as i32),
                    1,
                    "one event bus each way"
                );
                let audio_buses = match dir {
                    BusDirections_::kOutput if outputs > 0 => 1,
                    _ => 0,
                };
                assert_eq!(
                    component.getBusCount(MediaTypes_::kAudio as i32, dir as i32),
                    audio_buses,
                    "audio buses"
                );
                assert_eq!(
                    component.activateBus(MediaTypes_::kEvent as i32, dir as i32, 0, 1),
                    kResultOk
                );
                if audio_buses > 0 {
                    assert_eq!(
                        component.activateBus(MediaTypes_::kAudio as i32, dir as i32, 0, 1),
                        kResultOk
                    );
                }
            }
        }
        // As hosts do: the plugin asks for restarts (a new latency) through it.
        let handler = ComWrapper::new(ComponentHandler::default());
        let handler_ptr = handler.to_com_ptr::<IComponentHandler>().unwrap();
        assert_eq!(
            unsafe { controller.setComponentHandler(handler_ptr.as_ptr()) },
            kResultOk
        );
        let mut me = Self {
            processor,
            controller,
            component,
            handler,
            sample_rate,
            max_frames,
            active: false,
            outputs,
            audio: [Vec::new(), Vec::new()],
            latency_restarts: 0,
            controllers_out: Vec::new(),
        };
        me.activate();
        me
    }

    pub fn activate(&mut self) {
        let mut setup = ProcessSetup {
            processMode: ProcessModes_::kRealtime as i32,
            symbolicSampleSize: SymbolicSampleSizes_::kSample32 as i32,
            maxSamplesPerBlock: self.max_frames as i32,
            sampleRate: self.sample_rate,
        };
        unsafe {
            assert_eq!(self.processor.setupProcessing(&mut setup), kResultOk);
            assert_eq!(self.component.setActive(1), kResultOk, "setActive");
            assert_eq!(self.processor.setProcessing(1), kResultOk);
        }
        self.active = true;
    }

    pub fn deactivate(&mut self) {
        if self.active {
            unsafe {
                self.processor.setProcessing(0);
                self.component.setActive(0);
            }
            self.active = false;
        }
    }

    /// The latency the plugin reports now (`IAudioProcessor::getLatencySamples`).
    pub fn latency(&self) -> u32 {
        unsafe { self.processor.getLatencySamples() }
    }

    /// Acts on the plugin's restart requests since the last call, as a host
    /// does between blocks: for `kLatencyChanged`, deactivates and activates
    /// it (and then reads the new latency). Returns the flags asked for.
    pub fn host_requests(&mut self) -> i32 {
        let flags = self.handler.restart.replace(0);
        if flags & kLatencyChanged != 0 && self.active {
            self.deactivate();
            self.activate();
            self.latency_restarts += 1;
        }
        flags
    }

    /// Parameter id by title.
    pub fn param(&self, name: &str) -> ParamID {
        unsafe {
            for i in 0..self.controller.getParameterCount() {
                let mut info: ParameterInfo = std::mem::zeroed();
                if self.controller.getParameterInfo(i, &mut info) != kResultOk {
                    continue;
                }
                let len = info.title.iter().position(|&c| c == 0).unwrap_or(128);
                if String::from_utf16_lossy(&info.title[..len]) == name {
                    return info.id;
                }
            }
        }
        panic!("no parameter called {name}")
    }

    /// A plain value as the normalised value VST3 hosts send.
    pub fn normalized(&self, id: ParamID, plain: f64) -> f64 {
        unsafe { self.controller.plainParamToNormalized(id, plain) }
    }

    /// The current plain value.
    pub fn param_value(&self, id: ParamID) -> f64 {
        unsafe {
            let n = self.controller.getParamNormalized(id);
            self.controller.normalizedParamToPlain(id, n)
        }
    }

    pub fn get_state(&self) -> Vec<u8> {
        let s = stream(Vec::new());
        let ptr = s.to_com_ptr::<IBStream>().unwrap();
        assert_eq!(unsafe { self.component.getState(ptr.as_ptr()) }, kResultOk);
        let bytes = s.bytes.borrow().clone();
        bytes
    }

    pub fn set_state(&mut self, bytes: &[u8]) {
        assert!(self.try_set_state(bytes), "setState refused the state");
        // A single-component plugin: the controller side ignores this, as hosts still call it.
        let s = stream(bytes.to_vec());
        let ptr = s.to_com_ptr::<IBStream>().unwrap();
        assert_eq!(
            unsafe { self.controller.setComponentState(ptr.as_ptr()) },
            kResultOk
        );
    }

    /// Opens a saved state as a host opens a project: deactivated, the
    /// state set, activated again.
    pub fn restore(&mut self, state: &[u8]) {
        self.deactivate();
        self.set_state(state);
        self.activate();
    }

    /// Reopens a project as Ardour does: deactivated, the state set,
    /// activated, then every parameter the controller lists (nice-plug's
    /// hidden MIDI-controller ones too) set in the first block to the value
    /// the controller reads back, with the transport stopped. Returns the
    /// notes of that block.
    pub fn reopen(&mut self, state: &[u8]) -> Vec<Note> {
        self.restore(state);
        let every: Vec<(ParamID, f64)> = unsafe {
            (0..self.controller.getParameterCount())
                .filter_map(|i| {
                    let mut info: ParameterInfo = std::mem::zeroed();
                    (self.controller.getParameterInfo(i, &mut info) == kResultOk)
                        .then(|| (info.id, self.controller.getParamNormalized(info.id)))
                })
                .collect()
        };
        let stopped = Transport {
            playing: false,
            tempo: Some(120.0),
            ..Transport::default()
        };
        let mut context = process_context(&stopped, 0, self.sample_rate);
        let mut out = Vec::new();
        self.process(512, &mut context, &[], &every, 0, &mut out);
        out
    }

    /// How many parameters the controller lists (with the hidden ones).
    pub fn parameter_count(&self) -> usize {
        unsafe { self.controller.getParameterCount() as usize }
    }

    /// `IComponent::setState`; false when the plugin refuses the bytes.
    pub fn try_set_state(&mut self, bytes: &[u8]) -> bool {
        let s = stream(bytes.to_vec());
        let ptr = s.to_com_ptr::<IBStream>().unwrap();
        unsafe { self.component.setState(ptr.as_ptr()) == kResultOk }
    }

    /// One process call. `params` are (id, normalised value) at offset 0.
    /// Returns the plugin's notes at absolute samples (`start` + offset); panics
    /// on an event outside the block or out of time order.
    pub fn process(
        &mut self,
        frames: u32,
        context: &mut ProcessContext,
        notes: &[(u32, bool, u8)],
        params: &[(ParamID, f64)],
        start: i64,
        out: &mut Vec<Note>,
    ) {
        let mut events = Vec::with_capacity(notes.len());
        for &(offset, on, pitch) in notes {
            // SAFETY: all-zero is a valid Event (plain data); the union field is set below.
            let mut e: Event = unsafe { std::mem::zeroed() };
            e.sampleOffset = offset as i32;
            if on {
                e.r#type = kNoteOnEvent as u16;
                e.__field0.noteOn = NoteOnEvent {
                    channel: 0,
                    pitch: pitch as i16,
                    tuning: 0.0,
                    velocity: 90.0 / 127.0,
                    length: 0,
                    noteId: -1,
                };
            } else {
                e.r#type = kNoteOffEvent as u16;
                e.__field0.noteOff = NoteOffEvent {
                    channel: 0,
                    pitch: pitch as i16,
                    velocity: 0.0,
                    noteId: -1,
                    tuning: 0.0,
                };
            }
            events.push(e);
        }
        let input = ComWrapper::new(EventList {
            events: RefCell::new(events),
        });
        let output = ComWrapper::new(EventList {
            events: RefCell::new(Vec::with_capacity(256)),
        });
        let changes = ComWrapper::new(ParamChanges {
            queues: params
                .iter()
                .map(|&(id, v)| {
                    ComWrapper::new(ParamQueue {
                        id,
                        points: RefCell::new(vec![(0, v)]),
                    })
                })
                .collect(),
        });
        let input_ptr = input.to_com_ptr::<IEventList>().unwrap();
        let output_ptr = output.to_com_ptr::<IEventList>().unwrap();
        let changes_ptr = changes.to_com_ptr::<IParameterChanges>().unwrap();
        // NaN where the plugin should write: a channel left unwritten shows.
        let mut channels = vec![vec![f32::NAN; frames as usize]; self.outputs];
        let mut pointers: Vec<*mut f32> = channels.iter_mut().map(|c| c.as_mut_ptr()).collect();
        let mut bus = AudioBusBuffers {
            numChannels: self.outputs as i32,
            silenceFlags: 0,
            __field0: AudioBusBuffers__type0 {
                channelBuffers32: pointers.as_mut_ptr(),
            },
        };
        let mut data = ProcessData {
            processMode: ProcessModes_::kRealtime as i32,
            symbolicSampleSize: SymbolicSampleSizes_::kSample32 as i32,
            numSamples: frames as i32,
            numInputs: 0,
            numOutputs: (self.outputs > 0) as i32,
            inputs: std::ptr::null_mut(),
            outputs: if self.outputs > 0 {
                &mut bus
            } else {
                std::ptr::null_mut()
            },
            inputParameterChanges: changes_ptr.as_ptr(),
            outputParameterChanges: std::ptr::null_mut(),
            inputEvents: input_ptr.as_ptr(),
            outputEvents: output_ptr.as_ptr(),
            processContext: context,
        };
        assert_eq!(unsafe { self.processor.process(&mut data) }, kResultOk);
        for (all, block) in self.audio.iter_mut().zip(&channels) {
            all.extend_from_slice(block);
        }
        let mut last = 0;
        for e in output.events.borrow().iter() {
            let offset = e.sampleOffset;
            assert!(
                (0..frames.max(1) as i32).contains(&offset) && offset >= last,
                "output event at {offset} in a block of {frames} (previous at {last})"
            );
            last = offset;
            // SAFETY: the union member matches the event type.
            let (on, channel, pitch, velocity) = unsafe {
                match e.r#type as u32 {
                    t if t == kNoteOnEvent => {
                        let n = e.__field0.noteOn;
                        (true, n.channel, n.pitch, midi_velocity(n.velocity as f64))
                    }
                    t if t == kNoteOffEvent => {
                        let n = e.__field0.noteOff;
                        (false, n.channel, n.pitch, 0)
                    }
                    t if t == kLegacyMIDICCOutEvent => {
                        let c = e.__field0.midiCCOut;
                        self.controllers_out.push((
                            start + offset as i64,
                            c.controlNumber,
                            c.channel,
                            c.value,
                            c.value2,
                        ));
                        continue;
                    }
                    _ => continue,
                }
            };
            out.push(Note {
                sample: start + offset as i64,
                on,
                channel: channel as u8,
                pitch: pitch as u8,
                velocity,
            });
        }
    }
}

impl Instance for Vst3Bach {
    type Param = ParamID;

    fn load(max_frames: u32) -> Self {
        Vst3Bach::load(max_frames)
    }

    fn param(&mut self, name: &str) -> ParamID {
        Vst3Bach::param(self, name)
    }

    fn activate(&mut self) {
        Vst3Bach::activate(self)
    }

    fn deactivate(&mut self) {
        Vst3Bach::deactivate(self)
    }

    fn latency(&mut self) -> u32 {
        Vst3Bach::latency(self)
    }

    /// VST3 hosts send parameters normalised.
    fn sent_value(&self, id: ParamID, plain: f64) -> f64 {
        self.normalized(id, plain)
    }

    fn play_block(
        &mut self,
        frames: u32,
        transport: &Transport,
        start: i64,
        notes: &[(u32, bool, u8)],
        params: &[(ParamID, f64)],
        out: &mut Vec<Note>,
    ) {
        let mut context = process_context(transport, start, self.sample_rate);
        self.process(frames, &mut context, notes, params, start, out);
    }

    /// `kLatencyChanged` restarts it.
    fn between_blocks(&mut self) {
        self.host_requests();
    }

    fn audio(&mut self) -> &mut [Vec<f32>; 2] {
        &mut self.audio
    }
}

/// The VST3 process context for the block starting at `sample`.
pub fn process_context(t: &Transport, sample: i64, sample_rate: f64) -> ProcessContext {
    // SAFETY: ProcessContext is plain data; all-zero is valid.
    let mut c: ProcessContext = unsafe { std::mem::zeroed() };
    c.sampleRate = sample_rate;
    c.projectTimeSamples = sample;
    c.state = kTempoValid | kTimeSigValid | kProjectTimeMusicValid;
    if t.playing {
        c.state |= kPlaying;
    }
    c.tempo = t.tempo.unwrap_or(120.0);
    c.projectTimeMusic = t.pos_beats.unwrap_or(0.0);
    let meter = t.meter.unwrap_or(Meter::COMMON);
    c.timeSigNumerator = meter.numerator as i32;
    c.timeSigDenominator = meter.denominator as i32;
    if let Some(bar) = t.bar_start {
        c.state |= kBarPositionValid;
        c.barPositionMusic = bar;
    }
    if let Some((a, b)) = t.loop_range {
        c.state |= kCycleActive | kCycleValid;
        c.cycleStartMusic = a;
        c.cycleEndMusic = b;
    }
    c
}

impl Drop for Vst3Bach {
    fn drop(&mut self) {
        self.deactivate();
        unsafe { self.component.terminate() };
    }
}
