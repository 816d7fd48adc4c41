//! The two plugins one library exports. They share every note of music and
//! every parameter; they differ in what a host sees: ports, categories, ids.
//!
//! - **Bach**, a MIDI effect (a CLAP note effect, a VST3 Fx): for Bitwig,
//!   Reaper and FL Studio, which put MIDI plugins before an instrument.
//! - **Bach Instrument**, with a stereo output and the preview voice: for
//!   Ableton Live, which loads no plugin without audio and takes MIDI
//!   generators only as instruments, and for anyone who wants to hear Bach
//!   at once.

use std::num::NonZeroU32;
use std::sync::Arc;

use nice_plug::prelude::*;

use crate::params::{BachParams, InstrumentParams, PreviewParams};

/// What makes one plugin of the pair: its identity and its parameters.
pub trait Variant: Send + 'static {
    const NAME: &'static str;
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout];
    const CLAP_ID: &'static str;
    const CLAP_DESCRIPTION: &'static str;
    const CLAP_FEATURES: &'static [ClapFeature];
    const VST3_CLASS_ID: [u8; 16];
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory];

    type Params: Params + Default;

    /// The parameters both plugins have.
    fn bach(params: &Arc<Self::Params>) -> Arc<BachParams>;
    /// The preview voice's, for the plugin that has one.
    fn preview(params: &Arc<Self::Params>) -> Option<Arc<PreviewParams>>;
}

/// Bach as a MIDI effect: no audio at all.
pub struct MidiEffect;

impl Variant for MidiEffect {
    const NAME: &'static str = "Bach";
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[];
    const CLAP_ID: &'static str = "org.bach-harmonizer.bach";
    const CLAP_DESCRIPTION: &'static str =
        "Adds alto, tenor and bass to a melody in the style of Bach's chorales";
    const CLAP_FEATURES: &'static [ClapFeature] = &[ClapFeature::NoteEffect, ClapFeature::Utility];
    const VST3_CLASS_ID: [u8; 16] = *b"BachHarmonizer01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Tools];

    type Params = BachParams;

    fn bach(params: &Arc<BachParams>) -> Arc<BachParams> {
        params.clone()
    }

    fn preview(_: &Arc<BachParams>) -> Option<Arc<PreviewParams>> {
        None
    }
}

/// Bach as an instrument: the same MIDI out, plus a stereo output playing
/// the preview voice.
pub struct Instrument;

impl Variant for Instrument {
    const NAME: &'static str = "Bach Instrument";
    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[AudioIOLayout {
        main_input_channels: None,
        main_output_channels: NonZeroU32::new(2),
        aux_input_ports: &[],
        aux_output_ports: &[],
        names: PortNames {
            layout: Some("Stereo"),
            main_input: None,
            main_output: Some("Preview"),
            aux_inputs: &[],
            aux_outputs: &[],
        },
    }];
    const CLAP_ID: &'static str = "org.bach-harmonizer.bach-instrument";
    const CLAP_DESCRIPTION: &'static str =
        "Bach's harmonizer as an instrument: MIDI out with alto, tenor and bass, and a preview organ";
    // An instrument first (where hosts file it); a note effect too, since
    // its MIDI output is the point.
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::Instrument,
        ClapFeature::Synthesizer,
        ClapFeature::Stereo,
        ClapFeature::NoteEffect,
    ];
    const VST3_CLASS_ID: [u8; 16] = *b"BachInstrument01";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Instrument, Vst3SubCategory::Synth];

    type Params = InstrumentParams;

    fn bach(params: &Arc<InstrumentParams>) -> Arc<BachParams> {
        params.bach.clone()
    }

    fn preview(params: &Arc<InstrumentParams>) -> Option<Arc<PreviewParams>> {
        Some(params.preview.clone())
    }
}
