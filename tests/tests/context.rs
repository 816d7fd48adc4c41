//! The context the default model hears, through the built plugin's CLAP and
//! VST3 ABIs: the host's meter (3/4, 6/8), a key set by hand or Auto, and
//! the lookahead with the latency it reports. Each time the plugin plays,
//! note for note, what the engine's pretend host plays with the same
//! settings (offline = plugin), and loops, seeks, stops and tempo changes
//! with lookahead leave nothing hanging, whatever the buffer size.

use bach_e2e::vst3_host::Vst3Bach;
use bach_e2e::{hanging, keys, play, stop, ClapBach, Instance, Note, Segment, Session, SR};
use bach_engine::perform::KeyChoice;
use bach_engine::sequencer::session::{samples_per_beat, Timed};
use bach_engine::sequencer::{Settings, Transport};
use bach_engine::{Horizon, Key, Meter, VoicesModel, DEFAULT_MODEL};
use clack_host::utils::ClapId;

/// A 16th at 120 bpm and 48 kHz.
const STEP: i64 = 6000;

/// A melody in D major on the grid: (step, length in steps, pitch), with a rest.
const TUNE: [(i64, i64, u8); 10] = [
    (0, 4, 74),
    (4, 2, 76),
    (6, 2, 78),
    (8, 4, 79),
    (12, 4, 78),
    (16, 8, 76),
    // a rest of two steps: a phrase ends
    (26, 4, 74),
    (30, 2, 73),
    (32, 4, 71),
    (36, 12, 74),
];

/// The tune at 120 bpm in `meter`, bars starting at song position
/// `bar_origin` (a pickup when it is not 0), with room after it for the
/// lookahead's delayed tail.
fn session(meter: Meter, bar_origin: f64) -> Session {
    let mut seg = play(0, 120.0, 0.0);
    seg.meter = meter;
    seg.bar_origin = bar_origin;
    let mut notes = Vec::new();
    for (step, len, pitch) in TUNE {
        notes.push((step * STEP, true, pitch));
        notes.push(((step + len) * STEP, false, pitch));
    }
    notes.sort_by_key(|n| (n.0, n.1));
    let end = TUNE.iter().map(|(s, l, _)| s + l).max().unwrap();
    // Stopped in the same meter, so the lookahead's latency holds.
    let mut stopped = stop((end + 36) * STEP, 120.0);
    stopped.meter = meter;
    Session {
        segments: vec![seg, stopped],
        notes: keys(notes),
        length: (end + 40) * STEP,
    }
}

fn settings(key: KeyChoice, lookahead: Horizon) -> Settings {
    Settings {
        key,
        lookahead,
        ..Settings::default()
    }
}

/// A generated voice's note event: (sample, on, voice, pitch).
type Voiced = (i64, bool, u8, u8);

/// What the engine's pretend host plays (with the lookahead's delay taken off).
fn pretend(session: &Session, s: &Settings) -> Vec<Voiced> {
    let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
    let played = session.play(&mut model, s).unwrap();
    played
        .iter()
        .map(|e| (e.sample, e.on, e.voice, e.pitch))
        .collect()
}

/// The generated voices among the plugin's notes: by its default channels,
/// voice v plays on channel v (the melody passes through on channel 0).
fn voiced(notes: &[Note]) -> Vec<Voiced> {
    notes
        .iter()
        .filter(|n| n.channel > 0)
        .map(|n| (n.sample, n.on, n.channel, n.pitch))
        .collect()
}

/// Equal event lists, or a failure that shows where they part.
fn assert_same(plugin: &[Voiced], offline: &[Voiced], what: &str) {
    let first = plugin.iter().zip(offline).position(|(a, b)| a != b);
    let at = first.unwrap_or(plugin.len().min(offline.len()));
    assert!(
        plugin.len() == offline.len() && first.is_none(),
        "{what}: plugin {} events, pretend host {}; first difference at {at}: plugin {:?}, pretend host {:?}",
        plugin.len(),
        offline.len(),
        plugin.get(at.saturating_sub(2)..(at + 3).min(plugin.len())),
        offline.get(at.saturating_sub(2)..(at + 3).min(offline.len())),
    );
}

fn ons(events: &[Voiced]) -> usize {
    events.iter().filter(|e| e.1).count()
}

/// The CLAP plain value of an enum parameter's variant, found by its text.
fn clap_value(plugin: &mut ClapBach, name: &str, text: &str) -> (ClapId, f64) {
    let id = plugin.param(name);
    (id, plugin.value_of(id, text))
}

/// Plays `session` through the .clap with the given (parameter, text) choices.
fn clap_run(session: &Session, size: u32, choices: &[(&str, &str)]) -> (Vec<Note>, ClapBach) {
    let mut plugin = ClapBach::load(4096);
    let params: Vec<_> = choices
        .iter()
        .map(|&(name, text)| clap_value(&mut plugin, name, text))
        .collect();
    let out = plugin.run_compensated(session, size, &params);
    (out, plugin)
}

/// Plays `session` through the .vst3 with the given (parameter, variant index) choices.
fn vst3_run(session: &Session, size: u32, choices: &[(&str, f64)]) -> (Vec<Note>, Vst3Bach) {
    let mut plugin = Vst3Bach::load(4096);
    let params: Vec<_> = choices
        .iter()
        .map(|&(name, index)| (plugin.param(name), index))
        .collect();
    let out = plugin.run_compensated(session, size, &params);
    (out, plugin)
}

/// Index of a Key variant: Auto is 0, then the engine's keys in order.
fn key_index(key: KeyChoice) -> f64 {
    match key {
        KeyChoice::Auto => 0.0,
        KeyChoice::Fixed(k) => (k.index() + 1) as f64,
    }
}

fn lookahead_text(h: Horizon) -> &'static str {
    match h {
        Horizon::Off => "Off",
        Horizon::Beat => "1 beat",
        Horizon::Bar => "1 bar",
        Horizon::Whole => unreachable!("not a plugin setting"),
    }
}

fn lookahead_index(h: Horizon) -> f64 {
    match h {
        Horizon::Off => 0.0,
        Horizon::Beat => 1.0,
        Horizon::Bar => 2.0,
        Horizon::Whole => unreachable!("not a plugin setting"),
    }
}

#[test]
fn the_hosts_meter_reaches_the_model_and_plays_as_the_pretend_host() {
    let auto = settings(KeyChoice::Auto, Horizon::Off);
    let (common, _) = clap_run(&session(Meter::COMMON, 0.0), 512, &[]);
    let common = voiced(&common);
    assert_same(
        &common,
        &pretend(&session(Meter::COMMON, 0.0), &auto),
        "4/4",
    );
    // 3/4 and 6/8 from bar 0, and 3/4 with a pickup of one beat.
    for (meter, origin) in [
        (Meter::new(3, 4), 0.0),
        (Meter::new(6, 8), 0.0),
        (Meter::new(3, 4), 1.0),
    ] {
        let what = format!("{}/{} from {origin}", meter.numerator, meter.denominator);
        let s = session(meter, origin);
        let want = pretend(&s, &auto);
        assert!(ons(&want) > 20, "{what}: the model harmonized");
        let (clap, _) = clap_run(&s, 512, &[]);
        let clap = voiced(&clap);
        assert_same(&clap, &want, &format!("{what}, CLAP"));
        let (vst3, _) = vst3_run(&s, 512, &[]);
        assert_same(&voiced(&vst3), &want, &format!("{what}, VST3"));
        // The same notes sent as 4/4 make other music: the meter reached the model.
        assert_ne!(clap, common, "{what} vs 4/4");
    }
}

#[test]
fn a_key_set_by_hand_and_auto_play_as_the_pretend_host() {
    let s = session(Meter::COMMON, 0.0);
    let e_flat = Key::parse("Eb major").unwrap();
    assert_eq!(e_flat.name(), "E♭ major");
    let mut outputs = Vec::new();
    for (key, text) in [
        (KeyChoice::Auto, "Auto"),
        (KeyChoice::Fixed(e_flat), "E♭ major"),
    ] {
        let want = pretend(&s, &settings(key, Horizon::Off));
        assert!(ons(&want) > 20, "{text}: the model harmonized");
        let (clap, mut plugin) = clap_run(&s, 512, &[("Key", text)]);
        // The text's value is the variant's index (CLAP's plain values of a stepped parameter).
        let id = plugin.param("Key");
        assert_eq!(plugin.param_value(id).round(), key_index(key), "{text}");
        let clap = voiced(&clap);
        assert_same(&clap, &want, &format!("key {text}, CLAP"));
        let (vst3, _) = vst3_run(&s, 512, &[("Key", key_index(key))]);
        assert_same(&voiced(&vst3), &want, &format!("key {text}, VST3"));
        outputs.push(clap);
    }
    // A D major tune harmonized in E♭ major is not the harmony Auto finds.
    assert_ne!(
        outputs[0], outputs[1],
        "the key set by hand reached the model"
    );
}

/// Lookahead: the latency is the beat or bar at the host's tempo and meter,
/// the host is asked to restart for it, and once the host moves the output
/// back by it the notes are the pretend host's.
#[test]
fn lookahead_reports_its_latency_and_plays_as_the_pretend_host() {
    assert_eq!(SR, 48_000.0, "the latencies below are at 48 kHz");
    let beat = samples_per_beat(120.0) as u32;
    assert_eq!(beat, 24_000);
    let cases = [
        (Horizon::Beat, Meter::COMMON, beat),
        (Horizon::Bar, Meter::COMMON, 4 * beat),
        (Horizon::Bar, Meter::new(3, 4), 3 * beat),
        // 6/8 beats in dotted quarters.
        (Horizon::Beat, Meter::new(6, 8), 3 * beat / 2),
        (Horizon::Bar, Meter::new(6, 8), 3 * beat),
        (Horizon::Off, Meter::COMMON, 0),
    ];
    for (horizon, meter, latency) in cases {
        let what = format!("{horizon:?} in {}/{}", meter.numerator, meter.denominator);
        let s = session(meter, 0.0);
        let want = pretend(&s, &settings(KeyChoice::Auto, horizon));
        assert!(ons(&want) > 20, "{what}: the model harmonized");

        // The host sets Lookahead while stopped; the plugin asks for a
        // restart and tells the host its latency (clap.latency changed())
        // inside the next activate, as CLAP wants; the host plays.
        let (clap, mut plugin) = clap_run(&s, 512, &[("Lookahead", lookahead_text(horizon))]);
        assert_eq!(plugin.latency(), latency, "{what}: CLAP latency");
        assert_eq!(plugin.latency_changes(), u32::from(latency > 0), "{what}");
        assert_same(&voiced(&clap), &want, &format!("{what}, CLAP"));
        assert!(!plugin.host_requests().restarted, "{what}: asked once");

        // VST3: restartComponent(kLatencyChanged), once.
        let (vst3, plugin) = vst3_run(&s, 512, &[("Lookahead", lookahead_index(horizon))]);
        assert_eq!(plugin.latency(), latency, "{what}: VST3 latency");
        assert_eq!(plugin.latency_restarts, u32::from(latency > 0), "{what}");
        assert_same(&voiced(&vst3), &want, &format!("{what}, VST3"));
    }
}

/// A host that restarts the plugin as soon as it asks, before playing (the
/// Lookahead set while stopped), then plays: the notes are still the pretend host's.
#[test]
fn restarting_for_the_latency_before_playing_changes_nothing() {
    let s = session(Meter::new(3, 4), 0.0);
    let want = pretend(&s, &settings(KeyChoice::Auto, Horizon::Bar));
    let mut plugin = ClapBach::load(4096);
    let (id, value) = clap_value(&mut plugin, "Lookahead", "1 bar");
    // One stopped block in the song's tempo and meter, with the setting.
    let stopped = bach_e2e::clap_transport(&Transport {
        playing: false,
        tempo: Some(120.0),
        meter: Some(Meter::new(3, 4)),
        ..Transport::default()
    });
    let mut out = Vec::new();
    plugin.process(512, &stopped, &[], &[(id, value)], 0, &mut out);
    assert!(out.is_empty(), "stopped, silent: {out:?}");
    // Active: the latency may change only in the next activate.
    assert_eq!(plugin.latency(), 0, "unchanged while active");
    assert_eq!(plugin.latency_changes(), 0);
    assert_eq!(plugin.restart_while_asked(), 2, "restarts asked");
    assert_eq!(plugin.latency_changes(), 1);
    assert_eq!(plugin.latency(), 72_000);
    let played = plugin.run_compensated(&s, 512, &[]);
    assert_same(&voiced(&played), &want, "after the restart");
    assert!(!plugin.host_requests().restarted, "no second restart");
}

/// A host that deactivates the plugin before it gets round to the
/// plugin's main-thread callbacks (clap-validator's parameter fuzzing does,
/// and so does a host closing a track): the new latency is still told only
/// inside `activate`, and the host reads it there.
#[test]
fn a_latency_change_is_told_inside_activate_even_when_the_host_deactivates_first() {
    let mut plugin = ClapBach::load(4096);
    let (id, value) = clap_value(&mut plugin, "Lookahead", "1 beat");
    let stopped = bach_e2e::clap_transport(&Transport {
        playing: false,
        tempo: Some(120.0),
        ..Transport::default()
    });
    let mut out = Vec::new();
    plugin.process(512, &stopped, &[], &[(id, value)], 0, &mut out);
    // The host's check fails the test on `changed()` outside `activate`.
    plugin.deactivate();
    plugin.main_thread_callback();
    assert_eq!(
        plugin.latency_changes(),
        0,
        "nothing told while deactivated"
    );
    plugin.activate();
    plugin.main_thread_callback();
    plugin.restart_while_asked();
    assert_eq!(plugin.latency(), 24_000);
    assert_eq!(plugin.latency_changes(), 1);
    // Set back to Off while active: told again, the same way.
    let (id, off) = clap_value(&mut plugin, "Lookahead", "Off");
    plugin.process(512, &stopped, &[], &[(id, off)], 512, &mut out);
    assert_eq!(plugin.latency(), 24_000, "unchanged while active");
    plugin.deactivate();
    plugin.main_thread_callback();
    plugin.activate();
    plugin.restart_while_asked();
    assert_eq!(plugin.latency(), 0);
    assert_eq!(plugin.latency_changes(), 2);
    assert!(out.is_empty(), "stopped, no input: {out:?}");
}

/// The engine's lookahead session: a loop, a tempo change (which changes
/// the latency), a stop and a seek.
fn eventful() -> Session {
    let spb = samples_per_beat(120.0);
    let mut looped = play(0, 120.0, 0.0);
    looped.looped = Some((0.0, 4.0));
    let faster = Segment {
        start: (10.0 * spb) as i64,
        ..play((10.0 * spb) as i64, 150.0, 2.0)
    };
    let stopped = stop((14.0 * spb) as i64, 150.0);
    let seek = play((16.0 * spb) as i64, 150.0, 32.0);
    let mut notes = Vec::new();
    for i in 0..40 {
        let on = (i as f64 * 0.5 * spb) as i64;
        notes.push((on, true, 72 + (i % 5) as u8));
        notes.push((on + (0.4 * spb) as i64, false, 72 + (i % 5) as u8));
    }
    notes.sort_by_key(|n| (n.0, n.1));
    Session {
        segments: vec![looped, faster, stopped, seek],
        notes: keys(notes),
        length: (22.0 * spb) as i64,
    }
}

/// What the pretend host sends for a session, uncompensated: (sample, on, channel, pitch).
fn pretend_raw(session: &Session, s: &Settings, size: u32) -> Vec<(i64, bool, u8, u8)> {
    let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
    let mut seq = bach_engine::sequencer::Sequencer::new();
    let events: Vec<Timed> = session.run(&mut seq, &mut model, s, size, |p| p()).unwrap();
    events
        .iter()
        .map(|e| (e.sample, e.event.on, e.event.channel, e.event.pitch))
        .collect()
}

fn raw(notes: &[Note]) -> Vec<(i64, bool, u8, u8)> {
    notes
        .iter()
        .map(|n| (n.sample, n.on, n.channel, n.pitch))
        .collect()
}

#[test]
fn loops_seeks_stops_and_tempo_changes_with_lookahead_leave_nothing_hanging() {
    let session = eventful();
    for horizon in [Horizon::Beat, Horizon::Bar] {
        let s = settings(KeyChoice::Auto, horizon);
        let mut outputs = Vec::new();
        for size in [333u32, 1024] {
            let what = format!("{horizon:?}, buffers of {size}");
            let mut clap = ClapBach::load(4096);
            let id = clap.param("Lookahead");
            let value = clap.value_of(id, lookahead_text(horizon));
            let out = clap.run(&session, size, &[(id, value)]);
            assert!(hanging(&out).is_empty(), "{what}: {:?}", hanging(&out));
            let generated = out.iter().filter(|n| n.on && n.channel > 0).count();
            assert!(
                generated > 20,
                "{what}: the model played ({generated} notes)"
            );
            // Every event as the pretend host sends it, input passing through included.
            assert_eq!(raw(&out), pretend_raw(&session, &s, size), "{what}: CLAP");
            // The host restarted the plugin and read its latency at the
            // start and again at the tempo change (120 to 150 bpm).
            assert_eq!(clap.latency_changes(), 2, "{what}: latencies told");
            let want = match horizon {
                Horizon::Beat => samples_per_beat(150.0),
                _ => 4.0 * samples_per_beat(150.0),
            };
            assert_eq!(
                clap.latency(),
                want.round() as u32,
                "{what}: latency at 150 bpm"
            );

            let mut vst3 = Vst3Bach::load(4096);
            let id = vst3.param("Lookahead");
            let vout = vst3.run(&session, size, &[(id, lookahead_index(horizon))]);
            assert_eq!(raw(&vout), raw(&out), "{what}: VST3 = CLAP");
            outputs.push(out);
        }
        // Until the tempo change: after it the host restarts the plugin at
        // the end of the block where the latency changed, which depends on
        // the host's buffers (each size is checked against the pretend
        // host restarting at the same place above).
        let change = (10.0 * samples_per_beat(120.0)) as i64;
        let before = |out: &[Note]| -> Vec<Note> {
            out.iter().filter(|n| n.sample < change).copied().collect()
        };
        assert!(before(&outputs[0]).len() > 20, "{horizon:?}: notes before");
        assert_eq!(
            before(&outputs[0]),
            before(&outputs[1]),
            "{horizon:?}: 333 vs 1024 frames"
        );
    }
}

/// A block as a host sends it: start, frames, transport, notes (offset, on, pitch).
type HostBlock = (i64, u32, Transport, Vec<(u32, bool, u8)>);

/// A host that acts on every request between blocks, as DAWs do: the
/// tempo change changes the latency mid-song, the plugin asks to be
/// restarted, and the host deactivates and activates it there and then.
/// Nothing is left hanging, through CLAP or VST3, and the VST3 build plays
/// what the pretend host plays with the sequencer reset at the same places.
#[test]
fn a_host_restarting_mid_song_for_the_latency_leaves_nothing_hanging() {
    let session = eventful();
    let stopped = Transport {
        playing: false,
        tempo: Some(150.0),
        ..Transport::default()
    };
    for horizon in [Horizon::Beat, Horizon::Bar] {
        let s = settings(KeyChoice::Auto, horizon);
        let mut clap = ClapBach::load(4096);
        let id = clap.param("Lookahead");
        let value = clap.value_of(id, lookahead_text(horizon));
        let mut vst3 = Vst3Bach::load(4096);
        let vid = vst3.param("Lookahead");
        let normalized = vst3.normalized(vid, lookahead_index(horizon));
        let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
        let mut seq = bach_engine::sequencer::Sequencer::new();
        let mut buffer = bach_engine::sequencer::EventBuffer::with_capacity(2048);
        let (mut out, mut vout, mut want) = (Vec::new(), Vec::new(), Vec::new());
        let (mut restarts, mut vrestarts) = (0, 0);
        let mut notes = Vec::new();
        let mut input = Vec::new();
        // The session, then stopped until the delayed output is out.
        let mut blocks: Vec<HostBlock> = session
            .blocks(512)
            .map(|b| {
                let n = b
                    .notes
                    .iter()
                    .map(|n| (b.offset(n), n.on, n.pitch))
                    .collect();
                (b.start, b.frames, b.transport, n)
            })
            .collect();
        for k in 0..200 {
            blocks.push((session.length + k * 512, 512, stopped, Vec::new()));
        }
        for (start, frames, transport, block_notes) in &blocks {
            let (start, frames) = (*start, *frames);
            let first = start == 0;
            notes.clone_from(block_notes);
            let p = if first { vec![(id, value)] } else { vec![] };
            clap.process(
                frames,
                &bach_e2e::clap_transport(transport),
                &notes,
                &p,
                start,
                &mut out,
            );
            restarts += clap.restart_while_asked();
            let mut context = bach_e2e::vst3_host::process_context(transport, start, SR);
            let p = if first {
                vec![(vid, normalized)]
            } else {
                vec![]
            };
            vst3.process(frames, &mut context, &notes, &p, start, &mut vout);
            let latency_changed = vst3::Steinberg::Vst::RestartFlags_::kLatencyChanged;
            vrestarts += u32::from(vst3.host_requests() & latency_changed != 0);
            // The pretend host, restarted where the plugin asked (as the
            // plugin's deactivate does: the clock and held keys forgotten).
            input.clear();
            input.extend(notes.iter().map(|&(offset, on, pitch)| {
                let velocity = if on { bach_e2e::VELOCITY } else { 0 };
                bach_engine::sequencer::InputEvent::note(offset, on, 0, pitch, velocity)
            }));
            let before = seq.latency();
            let block = bach_engine::sequencer::Block {
                sample_rate: SR,
                frames,
                transport: *transport,
                bypassed: false,
            };
            seq.process(&mut model, &s, &block, &input, &mut buffer);
            want.extend(
                buffer
                    .events()
                    .iter()
                    .map(|e| (start + e.offset as i64, e.on, e.channel, e.pitch)),
            );
            if seq.latency() != before {
                seq.reset();
                seq.forget_input();
            }
        }
        // For the first latency and at the tempo change, twice each
        // through CLAP (see `ClapBach::restart_while_asked`).
        assert_eq!(restarts, 4, "{horizon:?}: CLAP restarts");
        assert_eq!(vrestarts, 2, "{horizon:?}: VST3 restarts");
        assert_eq!(clap.latency_changes(), 2, "{horizon:?}");
        assert!(
            hanging(&out).is_empty(),
            "{horizon:?}, CLAP: {:?}",
            hanging(&out)
        );
        assert!(
            hanging(&vout).is_empty(),
            "{horizon:?}, VST3: {:?}",
            hanging(&vout)
        );
        let generated = vout.iter().filter(|n| n.on && n.channel > 0).count();
        assert!(
            generated > 20,
            "{horizon:?}: the model played ({generated} notes)"
        );
        assert_eq!(raw(&vout), want, "{horizon:?}: VST3 = pretend host");
        // CLAP is not compared here: after a restart off the grid its
        // fixed-point song position puts some steps a sample late (see
        // `clap_positions_off_the_grid_keep_the_grid`).
    }
}

/// A song started from a cursor between grid lines (beat 0.021333, as
/// after a restart 512 samples in): the steps fall where the pretend host
/// (exact positions) puts them. VST3 sends the position as an f64 and
/// passes; CLAP's song position is fixed point (2^-31 beat, about 1e-5 of a
/// sample at 120 bpm), and rounded down by more than the engine's slack for
/// float noise (`EPSILON_SAMPLES`, 1e-6 samples, engine/src/sequencer/clock.rs)
/// it puts every step a sample late.
#[test]
fn vst3_positions_off_the_grid_keep_the_grid() {
    let s = off_grid_session();
    let mut vst3 = Vst3Bach::load(4096);
    let out = vst3.run(&s, 512, &[]);
    assert_eq!(raw(&out), pretend_raw(&s, &Settings::default(), 512));
}

#[test]
fn clap_positions_off_the_grid_keep_the_grid() {
    let s = off_grid_session();
    let mut clap = ClapBach::load(4096);
    let out = clap.run(&s, 512, &[]);
    assert_eq!(raw(&out), pretend_raw(&s, &Settings::default(), 512));
}

fn off_grid_session() -> Session {
    let mut s = session(Meter::COMMON, 0.0);
    s.segments[0] = play(0, 120.0, 512.0 / 24_000.0);
    // The tune moved onto the grid of this start (the first step at 5488).
    for n in &mut s.notes {
        n.sample += 5488;
    }
    s
}

/// Eight bars of quarter notes at 120 bpm, the meter changing from 4/4 to
/// 3/4 at beat 16 when `meter_change`, then stopped.
fn eight_bars(meter_change: bool) -> Session {
    let spb = samples_per_beat(120.0);
    let mut segments = vec![play(0, 120.0, 0.0)];
    if meter_change {
        let at = (16.0 * spb) as i64;
        let mut three = play(at, 120.0, 16.0);
        three.meter = Meter::new(3, 4);
        three.bar_origin = 16.0;
        segments.push(three);
    }
    // Stopped in the last meter, so the latency holds.
    let mut stopped = stop((30.0 * spb) as i64, 120.0);
    stopped.meter = segments.last().unwrap().meter;
    segments.push(stopped);
    let mut notes = Vec::new();
    for i in 0..28 {
        let pitch = [74u8, 76, 78, 79, 81, 79, 78, 76][i % 8];
        let on = (i as f64 * spb) as i64;
        notes.push((on, true, pitch));
        notes.push((on + (0.9 * spb) as i64, false, pitch));
    }
    notes.sort_by_key(|n| (n.0, n.1));
    Session {
        segments,
        notes: keys(notes),
        length: (32.0 * spb) as i64,
    }
}

/// A meter change while playing with Lookahead 1 bar changes the latency
/// (a 4/4 bar, then a 3/4 bar): both hosts restart the plugin there, read
/// the new latency, and play what the pretend host plays; nothing hangs.
#[test]
fn a_meter_change_while_playing_restarts_the_plugin_for_its_new_latency() {
    let session = eight_bars(true);
    let s = settings(KeyChoice::Auto, Horizon::Bar);
    let beat = samples_per_beat(120.0) as u32;
    let mut clap = ClapBach::load(4096);
    let id = clap.param("Lookahead");
    let value = clap.value_of(id, lookahead_text(Horizon::Bar));
    let out = clap.run(&session, 512, &[(id, value)]);
    assert_eq!(clap.latency_changes(), 2, "told at the start and at 3/4");
    assert_eq!(clap.latency(), 3 * beat);
    assert!(hanging(&out).is_empty(), "CLAP: {:?}", hanging(&out));
    assert!(out.iter().filter(|n| n.on && n.channel > 0).count() > 40);
    assert_eq!(raw(&out), pretend_raw(&session, &s, 512), "CLAP");

    let mut vst3 = Vst3Bach::load(4096);
    let vid = vst3.param("Lookahead");
    let vout = vst3.run(&session, 512, &[(vid, lookahead_index(Horizon::Bar))]);
    assert_eq!(vst3.latency_restarts, 2, "VST3 restarts");
    assert_eq!(vst3.latency(), 3 * beat);
    assert_eq!(raw(&vout), raw(&out), "VST3 = CLAP");
}

/// Lookahead turned from 1 beat to 1 bar mid-song (automation, or a click
/// in the window while playing): both hosts restart the plugin, read the
/// new latency, and nothing hangs.
#[test]
fn changing_lookahead_while_playing_restarts_the_plugin_for_its_new_latency() {
    let session = eight_bars(false);
    let beat = samples_per_beat(120.0) as u32;
    let mut clap = ClapBach::load(4096);
    let id = clap.param("Lookahead");
    let (one_beat, one_bar) = (
        clap.value_of(id, lookahead_text(Horizon::Beat)),
        clap.value_of(id, lookahead_text(Horizon::Bar)),
    );
    let mut vst3 = Vst3Bach::load(4096);
    let vid = vst3.param("Lookahead");
    let (vbeat, vbar) = (
        vst3.normalized(vid, lookahead_index(Horizon::Beat)),
        vst3.normalized(vid, lookahead_index(Horizon::Bar)),
    );
    let switch = (12.0 * samples_per_beat(120.0)) as i64;
    let (mut out, mut vout) = (Vec::new(), Vec::new());
    let mut latencies = Vec::new();
    let blocks: Vec<_> = session.blocks(512).collect();
    // The song, then stopped until the delayed output is out.
    let tail = (4 * beat) as i64 / 512 + 1;
    for k in 0..blocks.len() as i64 + tail {
        let (start, frames, transport, notes) = match blocks.get(k as usize) {
            Some(b) => (
                b.start,
                b.frames,
                b.transport,
                b.notes
                    .iter()
                    .map(|n| (b.offset(n), n.on, n.pitch))
                    .collect::<Vec<_>>(),
            ),
            None => {
                let start = session.length + (k - blocks.len() as i64) * 512;
                (start, 512, session.transport_at(start), Vec::new())
            }
        };
        let (p, vp) = match start {
            0 => (vec![(id, one_beat)], vec![(vid, vbeat)]),
            s if s <= switch && switch < s + frames as i64 => {
                (vec![(id, one_bar)], vec![(vid, vbar)])
            }
            _ => (vec![], vec![]),
        };
        let t = bach_e2e::clap_transport(&transport);
        clap.process(frames, &t, &notes, &p, start, &mut out);
        clap.restart_while_asked();
        let mut context = bach_e2e::vst3_host::process_context(&transport, start, SR);
        vst3.process(frames, &mut context, &notes, &vp, start, &mut vout);
        vst3.host_requests();
        if latencies.last() != Some(&clap.latency()) {
            latencies.push(clap.latency());
        }
    }
    assert_eq!(latencies, [beat, 4 * beat], "what the CLAP host read");
    assert_eq!(clap.latency_changes(), 2);
    assert_eq!(vst3.latency(), 4 * beat);
    assert_eq!(vst3.latency_restarts, 2);
    for (what, notes) in [("CLAP", &out), ("VST3", &vout)] {
        assert!(hanging(notes).is_empty(), "{what}: {:?}", hanging(notes));
        let generated = notes.iter().filter(|n| n.on && n.channel > 0).count();
        assert!(generated > 40, "{what}: the model played ({generated})");
    }
    assert_eq!(raw(&vout), raw(&out), "VST3 = CLAP");
}

/// A host that sends its bar starts as Ardour 7.3 does (`bars * 4` quarter
/// notes, whatever the meter: in 3/4 past the song position from the second
/// bar on): through CLAP and VST3 the plugin still plays the notes the
/// pretend host's true bar starts give.
#[test]
fn bar_starts_sent_wrong_as_ardour_does_play_as_the_true_ones() {
    let s = session(Meter::new(3, 4), 0.0);
    let want = pretend(&s, &settings(KeyChoice::Auto, Horizon::Off));
    assert!(ons(&want) > 20);
    let ardour = |t: &Transport| Transport {
        bar_start: t.pos_beats.map(|p| ((p / 3.0).floor() + 1.0) * 4.0),
        ..*t
    };
    let mut clap = ClapBach::load(4096);
    let mut vst3 = Vst3Bach::load(4096);
    let (mut out, mut vout) = (Vec::new(), Vec::new());
    for b in s.blocks(1024) {
        let notes: Vec<_> = b
            .notes
            .iter()
            .map(|n| (b.offset(n), n.on, n.pitch))
            .collect();
        let t = ardour(&b.transport);
        clap.process(
            b.frames,
            &bach_e2e::clap_transport(&t),
            &notes,
            &[],
            b.start,
            &mut out,
        );
        let mut context = bach_e2e::vst3_host::process_context(&t, b.start, SR);
        vst3.process(b.frames, &mut context, &notes, &[], b.start, &mut vout);
    }
    assert_same(&voiced(&out), &want, "CLAP, Ardour's bar starts");
    assert_same(&voiced(&vout), &want, "VST3, Ardour's bar starts");
}
