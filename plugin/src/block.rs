//! One audio block, step by step: the steps [`BachPlugin::process`] takes,
//! in its order, and the pure translations of one note between the host's
//! events and the sequencer's.
//!
//! All of it runs on the audio thread, so nothing here may allocate, lock,
//! block, do I/O or log. Every buffer a step writes was sized before the
//! first block (fixed arrays, fixed-capacity rings and queues, the
//! sequencer's boxed slots) and drops what does not fit instead of growing;
//! the lines that write one say which it is. The allocation-checked build
//! (`assert_process_allocs`, tests/tests/alloc.rs) aborts on any allocation.

use std::sync::atomic::Ordering;

use bach_engine::sequencer::{self, Block, InputEvent, Source, Transport};
use bach_engine::Meter;
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::Transport as HostTransport;
use nice_plug::prelude::*;

use crate::controllers::Heard;
use crate::export::CapturedNote;
use crate::shared::RollEvent;
use crate::variant::Variant;
use crate::BachPlugin;

impl<V: Variant> BachPlugin<V> {
    /// Takes a newly loaded model, if one waits and the old one can be handed back.
    pub(crate) fn take_new_model(&mut self) {
        // Lock-free queues of fixed capacity; the old model is freed by
        // whoever drains `retired`, never here.
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

    /// Reads the host's events for this block: notes (and all-notes-off)
    /// into `input` for the sequencer, other MIDI worth passing on into
    /// `forward`.
    pub(crate) fn gather_events(&mut self, context: &mut impl ProcessContext<Self>) {
        self.input.clear();
        self.forward.clear();
        while let Some(event) = context.next_event() {
            let input = match note_in(&event) {
                Some(note) => note,
                None => match self.controllers.hear(&event) {
                    Heard::Drop => continue,
                    Heard::Pass => {
                        // Fixed arrays: when full, the rest are dropped.
                        let _ = self.forward.try_push(event);
                        continue;
                    }
                    // All notes off, all sound off.
                    Heard::PassAndEndNotes => {
                        let _ = self.forward.try_push(event);
                        let channel = event.channel().and_then(|c| c.number()).unwrap_or(0);
                        InputEvent::all_notes_off(event.timing(), channel)
                    }
                },
            };
            let _ = self.input.try_push(input);
        }
    }

    /// The sequencer's view of this block: the host's transport and the
    /// bypass switch (plain values, copied).
    pub(crate) fn block(&self, t: &HostTransport, frames: u32) -> Block {
        Block {
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
        }
    }

    /// The host's tempo, position and meter for the window: plain atomic stores.
    pub(crate) fn publish_position(&self, t: &HostTransport, block: &Block, frames: u32) {
        if let Some(tempo) = t.tempo {
            self.shared.tempo.store(tempo, Ordering::Relaxed);
        }
        // Bar lines for the window's roll, at the block's end, in the meter
        // the sequencer hears (4/4 where the host sends none or nonsense).
        let per_bar = block.transport.meter.unwrap_or(Meter::COMMON).bar_beats();
        let beats = match t.pos_beats() {
            Some(pos) => {
                let elapsed = t
                    .tempo
                    .map_or(0.0, |bpm| frames as f64 / self.sample_rate * bpm / 60.0);
                pos + elapsed
            }
            None => f64::NAN,
        };
        self.shared.beats.store(beats, Ordering::Relaxed);
        if let Some(m) = block.transport.meter {
            let packed = (m.numerator as u32) << 8 | m.denominator as u32;
            self.shared.meter.store(packed, Ordering::Relaxed);
        }
        self.shared.beats_per_bar.store(per_bar, Ordering::Relaxed);
    }

    /// The sequencer's turn: this block's `input` in, its notes out into
    /// `output` (a boxed slice sized in `default`, never grown: when it runs
    /// low it refuses note-ons first).
    pub(crate) fn run_sequencer(&mut self, block: &Block) {
        // Plain values read from the parameters' atomics.
        let settings = self.bach.settings();
        self.sequencer.process(
            &mut self.model.model,
            &settings,
            block,
            &self.input,
            &mut self.output,
        );
    }

    /// The lookahead delays the output; the host is told so it can line the
    /// harmony up with the melody, as its API allows. Returns the latency
    /// the sequencer has now. The wrappers only swap an atomic and queue a
    /// restart request when it changes.
    pub(crate) fn follow_latency(&mut self, context: &impl ProcessContext<Self>) -> u32 {
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
        latency
    }

    /// Sends the block's notes to the host, in time order with the MIDI
    /// passed on, and copies each to the window's roll and the export's ring.
    pub(crate) fn send_events(
        &self,
        context: &mut impl ProcessContext<Self>,
        frames: u32,
        clock: ExportClock,
    ) {
        // The key for the window's chord labels: read once per block, an
        // index stored in each roll event's spare byte (no allocation, no
        // extra queue; see `RollEvent::key`).
        let key_index = self.sequencer.key_in_use().map_or(-1, |k| k.index() as i8);
        // nice-plug's output queue is sized to the host's before `process`;
        // a full one refuses the event.
        let mut forward = self.forward.iter().peekable();
        for e in self.output.events() {
            // Forwarded MIDI goes out in time order with the notes.
            while let Some(f) = forward.next_if(|f| f.timing() <= e.offset) {
                let _ = context.try_send_event(*f);
            }
            let _ = context.try_send_event(note_out(e, frames));
            // A fixed-capacity ring: when the window falls behind, notes drop.
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
            // A fixed-capacity ring too: when full the oldest note goes.
            let offset = e.offset as f64 * clock.beats_per_sample;
            self.shared.capture.record(CapturedNote {
                beats: self.played_beats + offset,
                bar_phase: clock.bar_phase + offset,
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
    }

    /// The instrument's organ plays the block's notes into the host's buffer
    /// (a fixed voice array, built in `activate`). All notes off reaches it
    /// as the sequencer's note-offs, at the controller's own sample, like
    /// every other note.
    pub(crate) fn play_preview(&mut self, bypassed: bool, buffer: &mut Buffer) {
        if let Some(params) = &self.preview_params {
            self.preview
                .play(params, bypassed, self.output.events(), buffer.as_slice());
        }
    }

    /// Moves the running clocks on by the block: the export's quarter notes
    /// and the roll's sample count (an atomic store for the window).
    pub(crate) fn advance(&mut self, frames: u32, clock: ExportClock) {
        self.played_beats += frames as f64 * clock.beats_per_sample;
        self.now += frames as i64;
        self.shared.now.store(self.now as f64, Ordering::Relaxed);
    }
}

/// The export's clock for one block: quarter notes per sample as played,
/// and where in the host's bar the block starts once the lookahead's delay
/// is taken off.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ExportClock {
    beats_per_sample: f64,
    bar_phase: f64,
}

impl ExportClock {
    pub(crate) fn new(t: &HostTransport, sample_rate: f64, latency: u32) -> Self {
        let bpm = t
            .tempo
            .filter(|b| b.is_finite() && *b > 0.0)
            .unwrap_or(120.0);
        let beats_per_sample = bpm / 60.0 / sample_rate;
        let bar_phase = match (t.pos_beats(), t.bar_start_pos_beats()) {
            (Some(pos), bar_start) => {
                pos - bar_start.unwrap_or(0.0) - latency as f64 * beats_per_sample
            }
            (None, _) => 0.0,
        };
        Self {
            beats_per_sample,
            bar_phase,
        }
    }
}

/// A host note as the sequencer's input, its velocity in MIDI's 1 to 127;
/// `None` for every other event (controllers, and notes not given by key
/// number), which go to [`crate::controllers::Controllers`].
fn note_in<S>(event: &NoteEvent<S>) -> Option<InputEvent> {
    match *event {
        NoteEvent::NoteOn {
            timing,
            channel,
            key: Key::Number(pitch),
            velocity,
            ..
        } => Some(InputEvent::note(
            timing,
            true,
            channel.number().unwrap_or(0),
            pitch,
            ((velocity * 127.0).round() as u8).clamp(1, 127),
        )),
        NoteEvent::NoteOff {
            timing,
            channel,
            key: Key::Number(pitch),
            ..
        } => Some(InputEvent::note(
            timing,
            false,
            channel.number().unwrap_or(0),
            pitch,
            0,
        )),
        _ => None,
    }
}

/// The sequencer's note as the host's event, inside a block of `frames`.
fn note_out<S>(e: &sequencer::NoteEvent, frames: u32) -> NoteEvent<S> {
    if e.on {
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
    }
}
