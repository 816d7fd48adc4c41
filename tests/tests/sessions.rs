//! Randomised host sessions through the CLAP ABI: over an hour of simulated
//! time of play, stop, seek, loop, tempo changes, buffers of 0 to 8192 frames,
//! sample rates from 22,050 to 192,000 Hz, duplicate note-ons, note-offs
//! without note-ons, all-notes-off (CC 123), parameter changes mid-buffer and
//! model swaps (state restore with another model, then reactivation) while
//! playing, and meter changes (4/4, 3/4, 6/8, 2/2, 3/2, 7/8) with the Key and
//! Lookahead parameters among those changed at random. Invariants: every output event inside its buffer and in time
//! order; no hanging note once the session ends; and, through the
//! `assert_process_allocs` debug build, no allocation in `process()`.
//!
//! Deterministic: a seeded generator per session. Run with `--nocapture` to
//! see the counts.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use bach_e2e::{
    alloc_checked_library, clap_bundle, hanging, transport_event, transport_event_in, with_model,
    ClapBach, Input, Note, BACH_ID, INSTRUMENT_ID,
};
use bach_engine::{CoreKind, Meter, ModelMeta};

/// SplitMix64: small, seedable, good enough to drive a session.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }
    fn range(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.unit()
    }
}

#[derive(Default, Debug)]
struct Stats {
    sessions: u64,
    seconds: f64,
    buffers: u64,
    empty_buffers: u64,
    input_events: u64,
    output_events: u64,
    stops: u64,
    seeks: u64,
    loops: u64,
    tempo_changes: u64,
    model_swaps: u64,
    rate_changes: u64,
    cc123: u64,
    param_changes: u64,
    meter_changes: u64,
}

/// The host's transport.
struct Transport {
    playing: bool,
    tempo: f64,
    beats: f64,
    looped: Option<(f64, f64)>,
    /// The time signature; bars run from beat 0 in it.
    meter: Meter,
}

/// Meters a host may switch to mid-song.
const METERS: [(u8, u8); 6] = [(4, 4), (3, 4), (6, 8), (2, 2), (3, 2), (7, 8)];

const RATES: [f64; 6] = [22_050.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0, 192_000.0];
const MAX_FRAMES: u32 = 8192;

/// A second, different model (LSTM, random weights) to swap in.
fn other_model(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bach-e2e-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("other.safetensors");
    let mut meta = ModelMeta::satb(CoreKind::Lstm, 1, 24);
    meta.name = "sessions test model".into();
    let mut g = Gen(99);
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = meta
        .tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let n = shape.iter().product();
            let data = (0..n).map(|_| g.range(-0.5, 0.5) as f32).collect();
            (name, shape, data)
        })
        .collect();
    bach_engine::file::save(&path, &meta, &tensors).expect("write the second model");
    path
}

/// Plays one random session of about `seconds` and checks its invariants.
fn session(plugin: &mut ClapBach, seed: u64, seconds: f64, model: &Path, stats: &mut Stats) {
    let mut g = Gen(seed);
    let params = plugin.params();
    let mut sr = RATES[g.below(RATES.len() as u64) as usize];
    plugin.reconfigure(sr, MAX_FRAMES);
    let mut tr = Transport {
        playing: true,
        tempo: 120.0,
        beats: 0.0,
        looped: None,
        meter: Meter::COMMON,
    };
    // Keys the host holds down (CC 123 does not lift fingers).
    let mut held: BTreeSet<u8> = BTreeSet::new();
    // Note-ons not yet answered by a note-off, per key (duplicates count).
    // See `a_duplicate_note_on_then_one_note_off_ends_the_pass_through`: the
    // plugin waits for one note-off per note-on, so the session's end lifts
    // every press, not every key.
    let mut presses = [0u32; 128];
    let mut out: Vec<Note> = Vec::new();
    let mut block: Vec<(u32, Note)> = Vec::new();
    let mut events: Vec<Input> = Vec::new();
    let mut t = 0i64; // absolute sample
    let mut elapsed = 0.0;
    let mut swap = 0u32;

    let mut run_block = |plugin: &mut ClapBach,
                         frames: u32,
                         tr: &Transport,
                         events: &[Input],
                         t: i64,
                         out: &mut Vec<Note>,
                         stats: &mut Stats| {
        block.clear();
        let bar = tr.meter.bar_beats();
        let bar_start = (tr.beats / bar).floor() * bar;
        let transport = transport_event_in(
            tr.playing, tr.tempo, tr.beats, tr.looped, tr.meter, bar_start,
        );
        plugin.process_raw(frames, &transport, events, &mut block);
        // The instrument's sound: every sample written, never wild; kept
        // only for this block.
        for channel in &mut plugin.audio {
            assert!(
                channel.iter().all(|s| s.is_finite() && s.abs() < 4.0),
                "seed {seed}: audio at sample {t}"
            );
            channel.clear();
        }
        let mut last = 0;
        for &(time, note) in &block {
            assert!(
                time < frames.max(1) && time >= last,
                "seed {seed}: output event at {time} after {last} in a block of {frames} frames at sample {t}"
            );
            last = time;
            out.push(Note {
                sample: t + time as i64,
                ..note
            });
        }
        stats.buffers += 1;
        stats.empty_buffers += (frames == 0) as u64;
        stats.input_events += events.len() as u64;
        stats.output_events += block.len() as u64;
    };

    while elapsed < seconds {
        // Host actions between blocks.
        if g.chance(0.003) {
            tr.playing = !tr.playing;
            stats.stops += 1;
        }
        if g.chance(0.003) {
            tr.beats = (g.range(0.0, 400.0) * 4.0).round() / 4.0 + g.range(0.0, 0.01);
            stats.seeks += 1;
        }
        if g.chance(0.006) {
            tr.tempo = g.range(40.0, 240.0);
            stats.tempo_changes += 1;
        }
        if g.chance(0.003) {
            let (n, d) = METERS[g.below(METERS.len() as u64) as usize];
            tr.meter = Meter::new(n, d);
            stats.meter_changes += 1;
        }
        if g.chance(0.003) {
            tr.looped = match tr.looped {
                Some(_) => None,
                None => {
                    let a = tr.beats.floor();
                    let len = [0.5, 1.0, 2.0, 4.0, 8.0, g.range(0.3, 16.0)][g.below(6) as usize];
                    Some((a, a + len))
                }
            };
            stats.loops += 1;
        }
        if g.chance(0.0006) {
            // Swap models while playing: restore a state naming another model
            // (or a missing file, which falls back), reactivate.
            let choice = match swap % 3 {
                0 => serde_json::json!({"type": "file", "value": model}),
                1 => {
                    serde_json::json!({"type": "file", "value": "/nonexistent/missing.safetensors"})
                }
                _ => serde_json::json!({"type": "embedded", "value": "chorale-satb"}),
            };
            swap += 1;
            let state = with_model(&plugin.save_state(), choice);
            plugin.load_state(&state);
            plugin.deactivate();
            plugin.activate();
            stats.model_swaps += 1;
        }
        if g.chance(0.0003) {
            sr = RATES[g.below(RATES.len() as u64) as usize];
            plugin.reconfigure(sr, MAX_FRAMES);
            stats.rate_changes += 1;
        }

        let frames = match g.below(100) {
            0..=2 => 0,
            3..=12 => 1 + g.below(16) as u32,
            13..=32 => 17 + g.below(496) as u32,
            _ => 513 + g.below((MAX_FRAMES - 512) as u64) as u32,
        };

        // Input: about six events a second, at random offsets, in time order.
        let expected = frames as f64 / sr * 6.0;
        let n = expected.floor() as usize + g.chance(expected.fract()) as usize;
        let mut times: Vec<u32> = (0..n).map(|_| g.below(frames as u64) as u32).collect();
        times.sort_unstable();
        events.clear();
        for time in times {
            let k = g.below(100);
            let ev = if k < 45 && held.len() < 4 {
                let pitch = 55 + g.below(26) as u8;
                held.insert(pitch);
                presses[pitch as usize] += 1;
                Input::Note {
                    time,
                    on: true,
                    channel: 0,
                    pitch,
                }
            } else if k < 80 && !held.is_empty() {
                let pitch = *held
                    .iter()
                    .nth(g.below(held.len() as u64) as usize)
                    .unwrap();
                held.remove(&pitch);
                presses[pitch as usize] = presses[pitch as usize].saturating_sub(1);
                Input::Note {
                    time,
                    on: false,
                    channel: 0,
                    pitch,
                }
            } else if k < 86 && !held.is_empty() {
                // Duplicate note-on of a held key.
                let pitch = *held.iter().next().unwrap();
                presses[pitch as usize] += 1;
                Input::Note {
                    time,
                    on: true,
                    channel: 0,
                    pitch,
                }
            } else if k < 92 {
                // Note-off of a key nobody holds.
                let pitch = (0..128u8)
                    .find(|p| !held.contains(&((p * 37) % 128)))
                    .map(|p| (p * 37) % 128)
                    .unwrap();
                Input::Note {
                    time,
                    on: false,
                    channel: 0,
                    pitch,
                }
            } else if k < 94 {
                stats.cc123 += 1;
                Input::Midi {
                    time,
                    data: [0xB0, 123, 0],
                }
            } else {
                let (id, _, min, max) = params[g.below(params.len() as u64) as usize];
                stats.param_changes += 1;
                Input::Param {
                    time,
                    id,
                    value: g.range(min, max).round().clamp(min, max),
                }
            };
            events.push(ev);
        }

        run_block(plugin, frames, &tr, &events, t, &mut out, stats);

        t += frames as i64;
        elapsed += frames as f64 / sr;
        if tr.playing {
            let before = tr.beats;
            tr.beats += frames as f64 * tr.tempo / (60.0 * sr);
            if let Some((a, b)) = tr.looped {
                if before < b && tr.beats >= b {
                    tr.beats = a + (tr.beats - b) % (b - a);
                }
            }
        }
    }

    // The end: lift every key, stop, let two blocks pass, deactivate and
    // reactivate (which ends what is left at the next block).
    events.clear();
    for (pitch, &n) in presses.iter().enumerate() {
        for _ in 0..n {
            events.push(Input::Note {
                time: 0,
                on: false,
                channel: 0,
                pitch: pitch as u8,
            });
        }
    }
    run_block(plugin, 64, &tr, &events, t, &mut out, stats);
    t += 64;
    tr.playing = false;
    for _ in 0..2 {
        run_block(plugin, MAX_FRAMES, &tr, &[], t, &mut out, stats);
        t += MAX_FRAMES as i64;
    }
    plugin.deactivate();
    plugin.activate();
    // Deactivation silences the instrument at once: nothing sounds before
    // the first note of the next block.
    let bar = tr.meter.bar_beats();
    let bar_start = (tr.beats / bar).floor() * bar;
    let transport = transport_event_in(
        tr.playing, tr.tempo, tr.beats, tr.looped, tr.meter, bar_start,
    );
    plugin.process_raw(512, &transport, &[], &mut block);
    let first_on = block
        .iter()
        .find(|(_, n)| n.on)
        .map_or(512, |(time, _)| *time);
    for channel in &mut plugin.audio {
        assert!(
            channel.iter().take(first_on as usize).all(|&s| s == 0.0),
            "seed {seed}: sound after deactivation"
        );
        channel.clear();
    }
    out.extend(block.iter().map(|&(time, n)| Note {
        sample: t + time as i64,
        ..n
    }));
    assert!(
        out.iter().any(|n| n.on),
        "seed {seed}: the session produced notes"
    );
    let hang = hanging(&out);
    assert!(
        hang.is_empty(),
        "seed {seed}: hanging (channel, pitch) after the session: {hang:?}"
    );
    stats.sessions += 1;
    stats.seconds += seconds;
}

fn report(name: &str, stats: &Stats) {
    println!(
        "{name}: {} sessions, {:.0} simulated seconds ({:.1} h), {} buffers ({} empty), {} input events, {} output events; {} play/stop toggles, {} seeks, {} loop toggles, {} tempo changes, {} model swaps, {} sample-rate changes, {} CC 123, {} parameter changes, {} meter changes",
        stats.sessions,
        stats.seconds,
        stats.seconds / 3600.0,
        stats.buffers,
        stats.empty_buffers,
        stats.input_events,
        stats.output_events,
        stats.stops,
        stats.seeks,
        stats.loops,
        stats.tempo_changes,
        stats.model_swaps,
        stats.rate_changes,
        stats.cc123,
        stats.param_changes,
        stats.meter_changes,
    );
}

#[test]
fn an_hour_of_random_host_sessions_keeps_the_invariants() {
    let bundle = clap_bundle();
    let model = other_model("sessions");
    let mut stats = Stats::default();
    // Half the sessions with the MIDI effect, half with the instrument.
    for seed in 1..=6u64 {
        let id = if seed <= 3 { BACH_ID } else { INSTRUMENT_ID };
        let mut plugin = ClapBach::load_plugin(&bundle, id, MAX_FRAMES);
        session(&mut plugin, seed, 660.0, &model, &mut stats);
    }
    report("release bundle", &stats);
    assert!(stats.seconds >= 3600.0);
    let _ = std::fs::remove_dir_all(model.parent().unwrap());
}

#[test]
fn random_sessions_never_allocate_in_process() {
    let path = alloc_checked_library();
    let model = other_model("alloc-sessions");
    let mut stats = Stats::default();
    for (seed, id) in [(101, BACH_ID), (102, INSTRUMENT_ID)] {
        let mut plugin = ClapBach::load_plugin(&path, id, MAX_FRAMES);
        session(&mut plugin, seed, 120.0, &model, &mut stats);
    }
    report("assert_process_allocs build", &stats);
    let _ = std::fs::remove_dir_all(model.parent().unwrap());
}

/// Minimal repro of a hanging pass-through note: a duplicate note-on of a held
/// key, then the one note-off a keyboard sends. The melody's note-off is not
/// passed through (the plugin counts two holders of the key), so the
/// instrument after the plugin holds the note for ever.
#[test]
fn a_duplicate_note_on_then_one_note_off_ends_the_pass_through() {
    let mut plugin = ClapBach::load(512);
    let stopped = transport_event(false, 120.0, 0.0, None);
    let note = |time, on| Input::Note {
        time,
        on,
        channel: 0,
        pitch: 60,
    };
    let mut out = Vec::new();
    plugin.process_raw(512, &stopped, &[note(0, true), note(3, true)], &mut out);
    plugin.process_raw(512, &stopped, &[note(0, false)], &mut out);
    let melody: Vec<Note> = out.iter().map(|x| x.1).filter(|n| n.channel == 0).collect();
    assert!(
        !melody.last().expect("pass-through").on,
        "the melody note hangs: {melody:?}"
    );
}

/// Sustain pedal and pitch bend reach the instrument in time with the notes,
/// and a host's all-notes-off (CC 123) ends the melody and the harmony.
#[test]
fn controllers_pass_through_and_all_notes_off_ends_everything() {
    let mut plugin = ClapBach::load(512);
    let playing = |beats| transport_event(true, 120.0, beats, None);
    let mut out = Vec::new();
    let melody = Input::Note {
        time: 10,
        on: true,
        channel: 0,
        pitch: 72,
    };
    let pedal = Input::Midi {
        time: 200,
        data: [0xB0, 64, 127],
    };
    let bend = Input::Midi {
        time: 300,
        data: [0xE0, 0, 80],
    };
    plugin.process_raw(512, &playing(0.0), &[melody, pedal, bend], &mut out);
    assert_eq!(
        plugin.midi_out,
        vec![(200, [0xB0, 64, 127]), (300, [0xE0, 0, 80])],
        "the pedal and the bend pass through at their times"
    );
    let times: Vec<u32> = out.iter().map(|(t, _)| *t).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    for block in 1..8 {
        plugin.process_raw(
            512,
            &playing(block as f64 * 512.0 / 24_000.0),
            &[],
            &mut out,
        );
    }
    let notes: Vec<Note> = out.iter().map(|x| x.1).collect();
    assert!(
        notes.iter().any(|n| n.on && n.channel != 0),
        "the melody was harmonized"
    );
    assert!(!hanging(&notes).is_empty(), "notes sound before the CC");
    let all_off = Input::Midi {
        time: 100,
        data: [0xB0, 123, 0],
    };
    plugin.process_raw(512, &playing(8.0 * 512.0 / 24_000.0), &[all_off], &mut out);
    assert!(plugin.midi_out.contains(&(100, [0xB0, 123, 0])));
    let notes: Vec<Note> = out.iter().map(|x| x.1).collect();
    assert!(
        hanging(&notes).is_empty(),
        "{:?} still sound",
        hanging(&notes)
    );
}
