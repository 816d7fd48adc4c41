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
use bach_engine::sequencer::{EventBuffer, InputEvent, Sequencer};
use nice_plug::prelude::*;

mod block;
pub mod controllers;
mod editor;
pub mod export;
pub mod library;
pub mod loader;
pub mod params;
mod preview;
pub mod shared;
pub mod variant;

use block::ExportClock;
use controllers::Controllers;
use library::Loaded;
use params::{BachParams, PreviewParams};
use preview::Preview;
use shared::Shared;
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

    /// One block on the audio thread, as a list of steps (each in
    /// [`block`], where the reason none of them allocates is written).
    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        self.take_new_model();
        let frames = buffer.samples() as u32;
        self.gather_events(context);

        let transport = context.transport();
        let block = self.block(transport, frames);
        self.publish_position(transport, &block, frames);
        self.run_sequencer(&block);
        let latency = self.follow_latency(context);
        // The audio thread's news for the window: atomic stores.
        self.shared.publish(
            self.sequencer.key_in_use(),
            self.sequencer.key_estimated(),
            latency,
        );
        let clock = ExportClock::new(transport, self.sample_rate, latency);

        self.send_events(context, frames, clock);
        self.play_preview(block.bypassed, buffer);
        self.advance(frames, clock);
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
