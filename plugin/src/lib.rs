//! # bach-plugin
//!
//! Bach as CLAP/VST3 plugins: it plays the incoming melody with alto, tenor
//! and bass from a recurrent model, on the host's 16th-note grid, or
//! continues what was played. Two plugins come from this one library
//! ([`variant`]): **Bach**, a MIDI effect, and **Bach Instrument**, the same
//! with a stereo output playing a preview organ (for Ableton Live). All
//! timing lives in [`bach_engine::sequencer`]; this crate maps host events
//! and transport to it, holds the parameters, swaps models in lock-free,
//! plays the preview, records what was played for export and draws the window.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use arrayvec::ArrayVec;
use bach_engine::sequencer::{Block, EventBuffer, InputEvent, Sequencer, Source, Transport};
use bach_engine::Meter;
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;

pub mod controllers;
mod editor;
pub mod export;
pub mod library;
pub mod params;
mod preview;
pub mod variant;

use controllers::{Controllers, Heard};
use export::CapturedNote;
use library::{Loaded, RollEvent, Shared};
use params::{BachParams, PreviewParams};
use preview::Preview;
use variant::{Instrument, MidiEffect, Variant};

/// The MIDI effect (for Bitwig, Reaper, FL Studio).
pub type Bach = BachPlugin<MidiEffect>;
/// The instrument (for Ableton Live, or to hear Bach with no instrument after it).
pub type BachInstrument = BachPlugin<Instrument>;

/// Most input events read per block (more are dropped, never reallocated),
/// and what nice-plug's own input queues hold before they would allocate:
/// a VST3 host reopening a project sets all 2,080 hidden MIDI-controller
/// parameters at once (see [`controllers`]), on top of Bach's own
/// parameters and any notes.
const MAX_INPUT: usize = 4096;
/// Output events per block.
const MAX_OUTPUT: usize = 2048;

pub struct BachPlugin<V: Variant> {
    params: Arc<V::Params>,
    /// The parameters both plugins share (inside `params`).
    bach: Arc<BachParams>,
    /// The preview voice's parameters and sound (the instrument only).
    preview_params: Option<Arc<PreviewParams>>,
    preview: Preview,
    shared: Arc<Shared>,
    model: Box<Loaded>,
    sequencer: Sequencer,
    /// This block's input notes: a fixed array, so reading them on the
    /// audio thread can never allocate (when full, the rest are dropped).
    input: ArrayVec<InputEvent, MAX_INPUT>,
    output: EventBuffer,
    /// Input MIDI that is not a note (sustain pedal, pitch bend, pressure,
    /// program changes): passed on unchanged, in time with the notes.
    forward: ArrayVec<PluginNoteEvent<Self>, MAX_INPUT>,
    /// Which controllers pass on: those a player moves, not a restore.
    controllers: Controllers,
    sample_rate: f64,
    /// Running sample count for the piano roll.
    now: i64,
    /// The latency last told to the host, in samples.
    latency: u32,
    /// CLAP: the new latency a restart has been asked for (once per value).
    restart_asked: Option<u32>,
    /// Quarter notes played since the start, for the export's clock.
    played_beats: f64,
}

impl<V: Variant> Default for BachPlugin<V> {
    fn default() -> Self {
        let shared = Arc::new(Shared::default());
        let model = Loaded::default_model();
        shared.set_status(|s| s.info = Some(model.info.clone()));
        let params = Arc::new(V::Params::default());
        Self {
            bach: V::bach(&params),
            preview_params: V::preview(&params),
            params,
            preview: Preview::new(48_000.0),
            shared,
            model,
            sequencer: Sequencer::new(),
            input: ArrayVec::new(),
            output: EventBuffer::with_capacity(MAX_OUTPUT),
            forward: ArrayVec::new(),
            controllers: Controllers::default(),
            sample_rate: 48_000.0,
            now: 0,
            latency: 0,
            restart_asked: None,
            played_beats: 0.0,
        }
    }
}

impl<V: Variant> BachPlugin<V> {
    /// Makes the playing model match the project's saved choice (after a
    /// project or preset is opened). Runs in `activate`, off the audio thread.
    fn sync_model_choice(&mut self) {
        let choice = match self.bach.model.read() {
            Ok(c) => c.clone(),
            Err(_) => return,
        };
        if choice == self.model.info.choice {
            return;
        }
        let (loaded, notice) = library::restore(&choice);
        let info = loaded.info.clone();
        self.model = loaded;
        self.shared.set_status(|s| {
            s.info = Some(info);
            s.notice = notice;
        });
    }

    /// Takes a newly loaded model, if one waits and the old one can be handed back.
    fn take_new_model(&mut self) {
        if self.shared.retired.is_full() {
            return;
        }
        if let Some(new) = self.shared.incoming.pop() {
            let old = std::mem::replace(&mut self.model, new);
            // Cannot fail: we checked for room and only this thread pushes.
            let _ = self.shared.retired.push(old);
            self.sequencer.reset();
        }
    }
}

impl<V: Variant> Plugin for BachPlugin<V> {
    const NAME: &'static str = V::NAME;
    const VENDOR: &'static str = "Bach harmonizer";
    const URL: &'static str = "https://example.invalid/bach";
    const EMAIL: &'static str = "bach@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = V::AUDIO_IO_LAYOUTS;
    // CCs too: a musician's sustain pedal and pitch bend must reach the
    // instrument, and a host's all-notes-off must end what Bach plays.
    const MIDI_INPUT: MidiConfig = MidiConfig::MidiCCs;
    const MIDI_OUTPUT: MidiConfig = MidiConfig::MidiCCs;
    const INPUT_EVENT_CAPACITY: usize = MAX_INPUT;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn filter_state(state: &mut PluginState) {
        params::fill_missing(&mut state.params);
    }

    type Editor = nice_plug_egui::EguiEditor<editor::App>;

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            self.bach.clone(),
            self.preview_params.clone(),
            self.shared.clone(),
        )
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // The latency the sequencer has (0 for a new instance): under CLAP
        // the one a restart was asked for, which may change only here. Not
        // reset to 0: a latency change restarts the plugin, and announcing 0
        // after each restart would change it again on the next block, and
        // restart it forever. `process` asks for the restart.
        self.latency = self.sequencer.latency();
        self.restart_asked = None;
        context.set_latency_samples(self.latency);
        self.sample_rate = buffer_config.sample_rate as f64;
        self.shared
            .sample_rate
            .store(self.sample_rate, Ordering::Relaxed);
        self.shared.free_retired();
        self.sync_model_choice();
        // A fixed array: built here, off the audio thread, at the host's rate.
        self.preview = Preview::new(self.sample_rate);
        true
    }

    fn reset(&mut self) {
        // Ends every generated note at the start of the next block; the
        // host's view of held keys starts afresh too.
        self.sequencer.reset();
        self.sequencer.forget_input();
        self.preview.release_all();
    }

    fn deactivate(&mut self) {
        self.sequencer.reset();
        self.sequencer.forget_input();
        self.preview.silence();
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        self.take_new_model();
        let frames = buffer.samples() as u32;

        self.input.clear();
        self.forward.clear();
        while let Some(event) = context.next_event() {
            let ev = match event {
                NoteEvent::NoteOn {
                    timing,
                    channel,
                    key: Key::Number(pitch),
                    velocity,
                    ..
                } => InputEvent::note(
                    timing,
                    true,
                    channel.number().unwrap_or(0),
                    pitch,
                    ((velocity * 127.0).round() as u8).clamp(1, 127),
                ),
                NoteEvent::NoteOff {
                    timing,
                    channel,
                    key: Key::Number(pitch),
                    ..
                } => InputEvent::note(timing, false, channel.number().unwrap_or(0), pitch, 0),
                other => match self.controllers.hear(&other) {
                    Heard::Drop => continue,
                    Heard::Pass => {
                        let _ = self.forward.try_push(other);
                        continue;
                    }
                    // All notes off, all sound off.
                    Heard::PassAndEndNotes => {
                        let _ = self.forward.try_push(other);
                        let channel = other.channel().and_then(|c| c.number()).unwrap_or(0);
                        InputEvent::all_notes_off(other.timing(), channel)
                    }
                },
            };
            let _ = self.input.try_push(ev);
        }

        let t = context.transport();
        let block = Block {
            sample_rate: self.sample_rate,
            frames,
            transport: Transport {
                playing: t.playing,
                tempo: t.tempo,
                pos_beats: t.pos_beats(),
                loop_range: t.loop_range_beats(),
                meter: match (t.time_sig_numerator, t.time_sig_denominator) {
                    (Some(n), Some(d)) => Meter::checked(n as i64, d as i64),
                    _ => None,
                },
                bar_start: t.bar_start_pos_beats(),
            },
            bypassed: self.bach.bypass.value(),
        };
        if let Some(tempo) = t.tempo {
            self.shared.tempo.store(tempo, Ordering::Relaxed);
        }
        // Bar lines for the window's roll, at the block's end: plain atomic stores.
        let (beats, per_bar) = match (t.pos_beats(), t.time_sig_numerator, t.time_sig_denominator) {
            (Some(pos), num, den) => {
                let per_bar = match (num, den) {
                    (Some(n), Some(d)) if n > 0 && d > 0 => n as f64 * 4.0 / d as f64,
                    _ => 4.0,
                };
                let elapsed = t
                    .tempo
                    .map_or(0.0, |bpm| frames as f64 / self.sample_rate * bpm / 60.0);
                (pos + elapsed, per_bar)
            }
            (None, ..) => (f64::NAN, 4.0),
        };
        self.shared.beats.store(beats, Ordering::Relaxed);
        if let Some(m) = block.transport.meter {
            let packed = (m.numerator as u32) << 8 | m.denominator as u32;
            self.shared.meter.store(packed, Ordering::Relaxed);
        }
        self.shared.beats_per_bar.store(per_bar, Ordering::Relaxed);
        let settings = self.bach.settings();
        self.sequencer.process(
            &mut self.model.model,
            &settings,
            &block,
            &self.input,
            &mut self.output,
        );
        // The lookahead delays the output; the host is told so it can line
        // the harmony up with the melody. The wrappers only swap an atomic
        // and queue a restart request when it changes.
        let latency = self.sequencer.latency();
        if latency == self.latency {
            // Back to what the host knows before it restarted us.
            self.restart_asked = None;
        } else {
            match context.plugin_api() {
                // CLAP lets the latency change only while deactivated: ask
                // for a restart (once per new value) and announce it in
                // `activate` (ext/latency.h; nice-plug's wrapper would call
                // `clap_host_latency::changed` outside `activate` when its
                // queued notice runs after the host deactivated us).
                PluginApi::Clap => {
                    if self.restart_asked != Some(latency) {
                        self.restart_asked = Some(latency);
                        context.request_restart();
                    }
                }
                // VST3 reads the new value after restartComponent(kLatencyChanged),
                // which nice-plug sends from the UI thread.
                _ => {
                    self.latency = latency;
                    context.set_latency_samples(latency);
                }
            }
        }
        self.shared.publish(
            self.sequencer.key_in_use(),
            self.sequencer.key_estimated(),
            latency,
        );

        // The export's clock: quarter notes as played, and where in the
        // host's bar this block starts once the lookahead's delay is taken off.
        let bpm = t
            .tempo
            .filter(|b| b.is_finite() && *b > 0.0)
            .unwrap_or(120.0);
        let beats_per_sample = bpm / 60.0 / self.sample_rate;
        let bar_phase = match (t.pos_beats(), t.bar_start_pos_beats()) {
            (Some(pos), bar_start) => {
                pos - bar_start.unwrap_or(0.0) - latency as f64 * beats_per_sample
            }
            (None, _) => 0.0,
        };

        // The key for the window's chord labels: read once per block, an
        // index stored in each roll event's spare byte (no allocation, no
        // extra queue; see `RollEvent::key`).
        let key_index = self.sequencer.key_in_use().map_or(-1, |k| k.index() as i8);
        let mut forward = self.forward.iter().peekable();
        for e in self.output.events() {
            // Forwarded MIDI goes out in time order with the notes.
            while let Some(f) = forward.next_if(|f| f.timing() <= e.offset) {
                let _ = context.try_send_event(*f);
            }
            let event = if e.on {
                NoteEvent::NoteOn {
                    timing: e.offset.min(frames.saturating_sub(1)),
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(e.channel),
                    key: Key::Number(e.pitch),
                    velocity: e.velocity as f32 / 127.0,
                }
            } else {
                NoteEvent::NoteOff {
                    timing: e.offset.min(frames.saturating_sub(1)),
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(e.channel),
                    key: Key::Number(e.pitch),
                    velocity: 0.0,
                }
            };
            let _ = context.try_send_event(event);
            let _ = self.shared.roll.push(RollEvent {
                sample: self.now + e.offset as i64,
                on: e.on,
                pitch: e.pitch,
                voice: match e.source {
                    Source::Voice(v) => v,
                    Source::Input => u8::MAX,
                },
                key: key_index,
            });
            let offset = e.offset as f64 * beats_per_sample;
            self.shared.capture.record(CapturedNote {
                beats: self.played_beats + offset,
                bar_phase: bar_phase + offset,
                on: e.on,
                pitch: e.pitch,
                velocity: e.velocity,
                channel: e.channel,
                source: e.source,
            });
        }
        for f in forward {
            let _ = context.try_send_event(*f);
        }
        // All notes off reaches the organ as the sequencer's note-offs, at
        // the controller's own sample, like every other note.
        if let Some(params) = &self.preview_params {
            self.preview.play(
                params,
                block.bypassed,
                self.output.events(),
                buffer.as_slice(),
            );
        }
        self.played_beats += frames as f64 * beats_per_sample;
        self.now += frames as i64;
        self.shared.now.store(self.now as f64, Ordering::Relaxed);
        ProcessStatus::Normal
    }
}

impl<V: Variant> ClapPlugin for BachPlugin<V> {
    const CLAP_ID: &'static str = V::CLAP_ID;
    const CLAP_DESCRIPTION: Option<&'static str> = Some(V::CLAP_DESCRIPTION);
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = V::CLAP_FEATURES;
}

impl<V: Variant> Vst3Plugin for BachPlugin<V> {
    const VST3_CLASS_ID: [u8; 16] = V::VST3_CLASS_ID;
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = V::VST3_SUBCATEGORIES;
}

nice_export_clap!(Bach, BachInstrument);
nice_export_vst3!(Bach, BachInstrument);
