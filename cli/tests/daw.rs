//! Bach inside a real DAW: Ardour 7, headless (`ardour7-lua`, the "None
//! (Dummy)" backend), with the built `target/bundled/bach-plugin.vst3`.
//!
//! `tests/daw/session.lua` makes a session at 48 kHz with the tempo and meter
//! (a pickup bar first) of a short melody, two MIDI tracks playing it (Bach →
//! ACE Reasonable Synth, and Bach Instrument), rolls the transport through it,
//! stops, locates back and plays a bar more; `tests/daw/bach_midi_log.lua`, a
//! Lua DSP processor before and after each plugin, records the MIDI and the
//! instrument's audio level. The test checks that Ardour's scanner finds both
//! plugins as they should be listed, that the harmony Bach plays in Ardour is
//! `bach harmonize --lookahead off`'s for the same melody, tempo and meter (in
//! 4/4 and 3/4, each with a pickup), that no note hangs after the stop and the
//! locate, and that Bach Instrument sounds while its notes do.
//!
//! `bach_in_ardour_follows_its_parameters` sets Bach's parameters from Lua
//! (`BACH_DAW_STEPS`): Lookahead 1 beat (Ardour compensates the latency;
//! then Off, the session open), Key, Temperature, Seed and the tenor off
//! (the offline harmony, nothing on channel 3) kept through a save and a
//! reload (the same notes), and Continue (the model's turn of `bach
//! continue`). With a lookahead the harmony is not `bach harmonize`'s in
//! Ardour 7.3 (see `check_lookahead`; the ignored
//! `bach_in_ardour_lookahead_plays_the_offline_harmony` asserts it).
//!
//! Skipped (with a message) when `ardour7-lua` is not installed; otherwise it
//! fails on a wrong result. A crashed Ardour (killed by a signal: its headless
//! tools abort now and then inside the Lua interpreter) is run again, up to 3
//! times, with a message; a failed check never is.
//!
//! Run: `cargo test -p bach-cli --test daw -- --nocapture` (after `cargo
//! xtask bundle bach-plugin --release`). `BACH_ARDOUR_LUA` names another
//! `ardour-lua`, `BACH_ARDOUR_VST3_SCANNER` another `ardour-vst3-scanner`.

use bach_cli::offline::{self, Options, VoiceEvent};
use bach_engine::model::VoicesModel;
use bach_engine::perform::KeyChoice;
use bach_engine::score::{MeterChange, Note, Part, Score, TempoChange};
use bach_engine::Meter;
use bach_engine::{Horizon, Key, DEFAULT_MODEL};
use std::collections::BTreeMap;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

const RATE: f64 = 48_000.0;
/// Ardour's ticks a quarter note.
const TICKS: u32 = 1920;
/// Most runs of a crashed Ardour.
const TRIES: u32 = 3;
/// Longest an Ardour run may take.
const RUN_LIMIT: Duration = Duration::from_secs(90);
/// Loudest cycle that still counts as silence.
const SILENCE: f64 = 1e-3;

fn daw_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/daw")
}

/// A program on the PATH, or the one an environment variable names.
fn program(var: &str, name: &str, dirs: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(var) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(dirs.iter().map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn note(start: u32, len: u32, pitch: u8) -> Note {
    Note {
        start,
        len,
        pitch,
        velocity: 90,
    }
}

/// A short tune in `num`/4 at `bpm`: a one-beat pickup when `pickup`, then
/// `bars` bars of quarter notes with two eighths, a long last note.
fn tune(num: u8, bpm: f64, pickup: bool, bars: u32) -> Score {
    let pitches = [74u8, 76, 78, 79, 81, 79, 78, 76, 74, 73, 71, 73];
    let mut notes = if pickup {
        vec![note(0, 4, 69)]
    } else {
        Vec::new()
    };
    let bar = num as u32 * 4;
    let first = if pickup { 4 } else { 0 };
    let mut at = first;
    let mut k = 0;
    for b in 0..bars {
        let mut t = 0;
        while t < bar {
            let len = if b + 1 == bars {
                bar - t
            } else if b == 1 && t == 4 {
                2 // two eighths
            } else {
                4
            };
            notes.push(note(at + t, len, pitches[k % pitches.len()]));
            k += 1;
            t += len;
        }
        at += bar;
    }
    let mut score = Score::new(0.25);
    score.parts = vec![Part::new("Tune", 0, notes)];
    score.meters = vec![MeterChange {
        step: first,
        meter: Meter::new(num, 4),
    }];
    if pickup {
        score.meters.insert(
            0,
            MeterChange {
                step: 0,
                meter: Meter::new(1, 4),
            },
        );
    }
    score.tempos = vec![TempoChange { step: 0, bpm }];
    score.len = at;
    score
}

/// A private home for Ardour (its config, caches and `~/.vst3`), with the
/// bundle copied in, back-dated (Ardour ignores a VST3 cache as old as the
/// plugin to the second), and scanned by Ardour's own scanner.
fn ardour_home(scanner: &Path, name: &str) -> PathBuf {
    let bundle = bach_e2e::fresh_bundle("bach-plugin.vst3");
    let home =
        Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("daw-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    let vst3 = home.join(".vst3/bach-plugin.vst3");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    copy_dir(&bundle, &vst3, hour_ago);
    let scripts = home.join(".config/ardour7/scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::copy(
        daw_dir().join("bach_midi_log.lua"),
        scripts.join("bach_midi_log.lua"),
    )
    .unwrap();
    let out = Command::new(scanner)
        .arg("-q")
        .arg(&vst3)
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("LD_LIBRARY_PATH", scanner.parent().unwrap())
        .output()
        .expect("run ardour-vst3-scanner");
    assert!(
        out.status.success(),
        "ardour-vst3-scanner failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    home
}

fn copy_dir(from: &Path, to: &Path, time: SystemTime) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest, time);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
            std::fs::File::options()
                .write(true)
                .open(&dest)
                .unwrap()
                .set_modified(time)
                .unwrap();
        }
    }
    std::fs::File::open(to).unwrap().set_modified(time).unwrap();
}

/// One MIDI event a logger saw: its tag (1 after Bach, 2 after Bach
/// Instrument, 11 and 12 before them), the sample, and the bytes.
#[derive(Clone, Copy, Debug)]
struct Logged {
    tag: u32,
    sample: i64,
    status: u8,
    key: u8,
    velocity: u8,
}

impl Logged {
    fn on(&self) -> bool {
        self.status & 0xF0 == 0x90 && self.velocity > 0
    }
    fn off(&self) -> bool {
        self.status & 0xF0 == 0x80 || (self.status & 0xF0 == 0x90 && self.velocity == 0)
    }
    fn channel(&self) -> u8 {
        self.status & 0x0F
    }
}

/// What a run printed, cut at its marks: `passes[0]` from the locate to 0 to
/// the locate back, `passes[1]` from there to the end.
#[derive(Debug, Default)]
struct Run {
    plugins: Vec<Vec<String>>,
    passes: Vec<Vec<Logged>>,
    /// Per pass: (tag, cycle start, peak).
    peaks: Vec<Vec<(u32, i64, f64)>>,
    marks: Vec<(String, i64)>,
    /// Per pass: each track's signal latency before it rolled.
    latencies: Vec<Vec<(String, i64)>>,
    /// Each parameter value read back after a `set` or a `reload` step:
    /// (reloads so far, track, label, value).
    params: Vec<(usize, String, String, f64)>,
}

fn parse(stdout: &str) -> Run {
    let mut run = Run::default();
    for line in stdout.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let num = |i: usize| -> i64 { f[i].parse().unwrap() };
        match f.first().copied() {
            Some("BACHPLUGIN") => run
                .plugins
                .push(f[1..].iter().map(|s| s.to_string()).collect()),
            Some("BACHMARK") => {
                if f[1] == "located" {
                    run.passes.push(Vec::new());
                    run.peaks.push(Vec::new());
                    run.latencies.push(Vec::new());
                }
                run.marks.push((f[1].to_string(), num(2)));
            }
            Some("BACHLATENCY") if !run.latencies.is_empty() => run
                .latencies
                .last_mut()
                .unwrap()
                .push((f[1].to_string(), num(2))),
            Some("BACHPARAM") => {
                let reloads = run.marks.iter().filter(|m| m.0 == "reloaded").count();
                run.params.push((
                    reloads,
                    f[1].to_string(),
                    f[2].replace('_', " "),
                    f[3].parse().unwrap(),
                ))
            }
            Some("BACHLOG") if !run.passes.is_empty() => {
                run.passes.last_mut().unwrap().push(Logged {
                    tag: num(1) as u32,
                    sample: num(2) + num(3),
                    status: num(5) as u8,
                    key: num(6) as u8,
                    velocity: num(7) as u8,
                })
            }
            Some("BACHPEAK") if !run.peaks.is_empty() => {
                run.peaks
                    .last_mut()
                    .unwrap()
                    .push((num(1) as u32, num(2), f[3].parse().unwrap()))
            }
            _ => {}
        }
    }
    run
}

/// What `session.lua` does once the session is loaded (`BACH_DAW_STEPS`),
/// the backend's buffer size, and how many passes (rolls) that makes.
struct Plan {
    steps: String,
    buffer: u32,
    passes: usize,
}

/// The existing cases' plan: roll through `score` from 0, stop, locate to
/// the second full bar and roll a bar more.
fn replay_plan(score: &Score, bpm: f64, num: u8) -> Plan {
    let sample = |step: u32| step_sample(step, bpm);
    // Past the end by a beat; then back to the second full bar, and a bar more.
    let play = sample(score.len + 4);
    let pickup = score.meters.len() > 1;
    let locate = sample(if pickup { 4 } else { 0 } + num as u32 * 4);
    let replay = sample(num as u32 * 4);
    // Ardour reports the meter at the start of each buffer and does not cut
    // buffers at a meter change, so the steps after the pickup bar's end in
    // the same buffer hear the pickup's meter (docs/plugin.md, "What the
    // plugin reads"). With a pickup, buffers of 64 frames end on every beat
    // at 120 bpm (24,000 samples), so the host's meter is read as offline.
    let buffer = if pickup { 64 } else { 1024 };
    Plan {
        steps: format!("roll:0:{play};roll:{locate}:{}", locate + replay),
        buffer,
        passes: 2,
    }
}

/// The sample of a 16th `step` at `bpm`.
fn step_sample(step: u32, bpm: f64) -> i64 {
    (step as f64 * RATE * 60.0 / bpm / 4.0).round() as i64
}

/// Runs `session.lua` for `score` as `plan` says, again when Ardour crashes
/// (up to [`TRIES`] times, saying so); panics when it fails otherwise.
fn run_ardour(
    lua: &Path,
    home: &Path,
    score: &Score,
    bpm: f64,
    num: u8,
    plan: &Plan,
    what: &str,
) -> Run {
    let notes: Vec<String> = score.parts[0]
        .notes
        .iter()
        .map(|n| format!("{}:{}:{}", n.start * TICKS / 4, n.len * TICKS / 4, n.pitch))
        .collect();
    let pickup = score.meters.len() > 1;
    for attempt in 1..=TRIES {
        let dir = home.join(format!("{what}-{attempt}").replace('/', "-"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let started = Instant::now();
        let mut child = Command::new(lua)
            .arg(daw_dir().join("session.lua"))
            .current_dir(&dir)
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("BACH_DAW_DIR", &dir)
            .env("BACH_DAW_BPM", bpm.to_string())
            .env("BACH_DAW_METER", format!("{num}/4"))
            .env("BACH_DAW_PICKUP", if pickup { "1" } else { "0" })
            .env("BACH_DAW_NOTES", notes.join(","))
            .env("BACH_DAW_STEPS", &plan.steps)
            .env("BACH_DAW_BUFFER", plan.buffer.to_string())
            .stdout(std::fs::File::create(dir.join("stdout.txt")).unwrap())
            .stderr(std::fs::File::create(dir.join("stderr.txt")).unwrap())
            .stdin(Stdio::null())
            .spawn()
            .expect("start ardour7-lua");
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > RUN_LIMIT {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{what}: Ardour ran over {RUN_LIMIT:?} (a hang); its output is in {}",
                    dir.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let stdout = std::fs::read_to_string(dir.join("stdout.txt")).unwrap();
        let stderr = std::fs::read_to_string(dir.join("stderr.txt")).unwrap();
        let done = stdout.contains("BACHMARK done");
        eprintln!(
            "{what}: Ardour ran {:.1} s, {status}",
            started.elapsed().as_secs_f64()
        );
        if let Some(signal) = status.signal() {
            if !done {
                eprintln!(
                    "{what}: Ardour crashed (signal {signal}) on try {attempt} of {TRIES}; \
                     output in {}{}",
                    dir.display(),
                    if attempt < TRIES {
                        ", running it again"
                    } else {
                        ""
                    }
                );
                continue;
            }
            // Crashed tearing down after the script finished: the log is whole.
            eprintln!("{what}: Ardour crashed (signal {signal}) after the script finished");
        } else {
            assert!(
                status.success() && done,
                "{what}: Ardour failed ({status}):\n{}\n{}",
                tail(&stdout),
                tail(&stderr)
            );
        }
        let run = parse(&stdout);
        assert_eq!(
            run.passes.len(),
            plan.passes,
            "{what}: expected {} passes, marks {:?}",
            plan.passes,
            run.marks
        );
        return run;
    }
    panic!(
        "{what}: Ardour crashed {TRIES} times; see {}",
        home.display()
    );
}

fn tail(s: &str) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// The note-ons of voice `voice` (channel 0 = melody, 1-3 alto, tenor,
/// bass) of the events a logger `tag` saw, as (sample, pitch).
fn ons(events: &[Logged], tag: u32, voice: u8) -> Vec<(i64, u8)> {
    events
        .iter()
        .filter(|e| e.tag == tag && e.on() && e.channel() == voice)
        .map(|e| (e.sample, e.key))
        .collect()
}

/// Checks that every note-on has its note-off within the pass, and none sounds
/// at its end (after the stop). Returns the (start, end) samples of the notes.
fn no_hanging_notes(events: &[Logged], tag: u32, what: &str) -> Vec<(i64, i64)> {
    let mut sounding: BTreeMap<(u8, u8), i64> = BTreeMap::new();
    let mut spans = Vec::new();
    for e in events.iter().filter(|e| e.tag == tag) {
        let key = (e.channel(), e.key);
        if e.on() {
            assert!(
                sounding.insert(key, e.sample).is_none(),
                "{what}: channel {} key {} on again at {} before its note-off",
                e.channel() + 1,
                e.key,
                e.sample
            );
        } else if e.off() {
            if let Some(start) = sounding.remove(&key) {
                spans.push((start, e.sample));
            }
        }
    }
    assert!(
        sounding.is_empty(),
        "{what}: notes hang after the stop (channel, key → note-on sample): {sounding:?}"
    );
    spans
}

/// The offline harmony's note-ons of `voice` as (sample, pitch).
fn offline_ons(events: &[VoiceEvent], voice: u8) -> Vec<(i64, u8)> {
    events
        .iter()
        .filter(|e| e.on && e.voice == voice)
        .map(|e| (e.sample, e.pitch))
        .collect()
}

const VOICE_NAMES: [&str; 4] = ["soprano", "alto", "tenor", "bass"];

/// Compares per voice of `voices` the (16th step, pitch) of each note-on
/// with `offline`'s (`expected` says whose they are); returns the largest
/// distance in samples from the offline note-ons.
fn assert_same_harmony(
    ardour: &[Logged],
    tag: u32,
    offline: &[VoiceEvent],
    voices: &[u8],
    samples_per_step: f64,
    expected: &str,
    what: &str,
) -> i64 {
    let (wrong, worst) = harmony_differences(
        ardour,
        tag,
        offline,
        voices,
        samples_per_step,
        expected,
        what,
    );
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
    worst
}

/// [`assert_same_harmony`]'s comparison: what differs, one line a voice,
/// and the largest distance in samples of the voices that do not.
fn harmony_differences(
    ardour: &[Logged],
    tag: u32,
    offline: &[VoiceEvent],
    voices: &[u8],
    samples_per_step: f64,
    expected: &str,
    what: &str,
) -> (Vec<String>, i64) {
    let step = |s: i64| (s as f64 / samples_per_step).round() as i64;
    let mut worst = 0;
    let mut wrong = Vec::new();
    for (voice, name) in voices.iter().map(|&v| (v, VOICE_NAMES[v as usize])) {
        let got = ons(ardour, tag, voice);
        let want = offline_ons(offline, voice);
        let got_steps: Vec<_> = got.iter().map(|&(s, p)| (step(s), p)).collect();
        let want_steps: Vec<_> = want.iter().map(|&(s, p)| (step(s), p)).collect();
        assert!(
            !want_steps.is_empty(),
            "{what}: offline {name} has no notes"
        );
        if got_steps != want_steps {
            let at = got_steps
                .iter()
                .zip(&want_steps)
                .position(|(a, b)| a != b)
                .unwrap_or(got_steps.len().min(want_steps.len()));
            wrong.push(format!(
                "the {name} (channel {}) in Ardour is not {expected}'s: first difference at \
                 note {at}; as (16th step, pitch):\n  Ardour  {got_steps:?}\n  offline \
                 {want_steps:?}\n  as (sample, pitch):\n  Ardour  {got:?}\n  offline {want:?}",
                voice + 1
            ));
            continue;
        }
        let off = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a.0 - b.0).abs())
            .max()
            .unwrap_or(0);
        eprintln!(
            "{what}: {name}: {} notes as offline, at most {off} samples from the offline times",
            got.len()
        );
        worst = worst.max(off);
    }
    (wrong, worst)
}

/// One melody in Ardour: runs it and checks everything (the plugin listing
/// too when `scan`).
fn check_case(lua: &Path, home: &Path, num: u8, bpm: f64, pickup: bool, scan: bool, what: &str) {
    let what = what.to_string();
    let score = tune(num, bpm, pickup, 3);
    let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
    let result = offline::harmonize(&mut model, &score, &Options::default()).unwrap();
    let run = run_ardour(
        lua,
        home,
        &score,
        bpm,
        num,
        &replay_plan(&score, bpm, num),
        &what,
    );

    // Ardour's scanner lists both plugins as they are.
    if scan {
        let find = |name: &str| {
            run.plugins
                .iter()
                .find(|p| p[0] == name)
                .unwrap_or_else(|| panic!("Ardour does not list {name}: {:?}", run.plugins))
                .clone()
        };
        // name, type, category, audio in, MIDI in, audio out, MIDI out
        let bach = find("Bach");
        assert_eq!(
            bach,
            ["Bach", "VST3", "Fx|Tools", "0", "1", "0", "1"],
            "Ardour's listing"
        );
        let inst = find("Bach_Instrument");
        assert_eq!(
            inst,
            [
                "Bach_Instrument",
                "VST3",
                "Instrument|Synth",
                "0",
                "1",
                "2",
                "1"
            ],
            "Ardour's listing"
        );
        eprintln!("Ardour lists {}; {}", bach.join(" "), inst.join(" "));
    }

    let samples_per_step = RATE * 60.0 / bpm / 4.0;
    let first = &run.passes[0];
    // The melody as Ardour played it, and as Bach passed it on channel 1.
    let melody: Vec<(i64, u8)> = score.parts[0]
        .notes
        .iter()
        .map(|n| ((n.start as f64 * samples_per_step).round() as i64, n.pitch))
        .collect();
    for tag in [11, 12, 1, 2] {
        let got = ons(first, tag, 0);
        let step = |s: i64| (s as f64 / samples_per_step).round() as i64;
        assert_eq!(
            got.iter().map(|&(s, p)| (step(s), p)).collect::<Vec<_>>(),
            melody
                .iter()
                .map(|&(s, p)| (step(s), p))
                .collect::<Vec<_>>(),
            "{what}: the melody at logger {tag}"
        );
        let off = got
            .iter()
            .zip(&melody)
            .map(|(a, b)| (a.0 - b.0).abs())
            .max()
            .unwrap();
        if tag >= 11 {
            eprintln!("{what}: Ardour plays the melody at most {off} samples off the grid");
        }
    }
    // The harmony is the offline one, through both plugins.
    for (tag, plugin) in [(1, "Bach"), (2, "Bach Instrument")] {
        let label = format!("{what}, {plugin}");
        let off = assert_same_harmony(
            first,
            tag,
            &result.events,
            &[1, 2, 3],
            samples_per_step,
            "`bach harmonize --lookahead off`",
            &label,
        );
        // Ardour plays region notes on their exact samples (checked above),
        // so the harmony comes on the offline samples too.
        assert_eq!(
            off, 0,
            "{label}: harmony {off} samples off the offline times"
        );
    }

    // Nothing hangs after the stop, nor after the locate and the second stop,
    // and the harmony plays again after the locate.
    let mut spans = Vec::new();
    for (pass, events) in run.passes.iter().enumerate() {
        for (tag, plugin) in [(1, "Bach"), (2, "Bach Instrument")] {
            let label = format!("{what}, {plugin}, pass {}", pass + 1);
            let s = no_hanging_notes(events, tag, &label);
            if tag == 2 && pass == 0 {
                spans = s;
            }
        }
    }
    let again = (1..4)
        .map(|v| ons(&run.passes[1], 1, v).len())
        .sum::<usize>();
    assert!(
        again >= 3,
        "{what}: Bach played {again} harmony notes after the locate"
    );

    // Bach Instrument sounds while its notes do: every cycle wholly inside
    // a sounding harmony note is louder than silence.
    let peaks = &run.peaks[0];
    let cycle = peaks
        .windows(2)
        .map(|w| w[1].1 - w[0].1)
        .filter(|&d| d > 0)
        .min()
        .expect("no audio measured");
    let mut checked = 0;
    for &(tag, start, peak) in peaks.iter().filter(|p| p.0 == 2) {
        let inside = spans
            .iter()
            .any(|&(on, off)| on <= start && start + cycle <= off);
        if inside {
            checked += 1;
            assert!(
                peak > SILENCE,
                "{what}: Bach Instrument is silent ({peak}) at samples {start}.. while a note \
                     sounds (logger {tag})"
            );
        }
    }
    assert!(checked > 50, "{what}: {checked} cycles measured");
    let loudest = peaks.iter().map(|p| p.2).fold(0.0, f64::max);
    eprintln!(
        "{what}: Bach Instrument sounds in all {checked} cycles of its notes (peak {loudest:.3})"
    );
}

/// `ardour7-lua` and Ardour's VST3 scanner, or `None` (with a message) when
/// Ardour is not installed.
fn ardour() -> Option<(PathBuf, PathBuf)> {
    let Some(lua) = program("BACH_ARDOUR_LUA", "ardour7-lua", &[]) else {
        eprintln!(
            "skipped: ardour7-lua is not installed (apt-get install ardour; or set BACH_ARDOUR_LUA)"
        );
        return None;
    };
    let scanner = program(
        "BACH_ARDOUR_VST3_SCANNER",
        "ardour-vst3-scanner",
        &["/usr/lib/ardour7", "/usr/lib/x86_64-linux-gnu/ardour7"],
    )
    .expect("ardour7-lua is installed but not ardour-vst3-scanner (set BACH_ARDOUR_VST3_SCANNER)");
    Some((lua, scanner))
}

/// One Ardour at a time: they roll in real time, and the tests' timing
/// should not depend on another run sharing the machine.
static ARDOUR_RUNS: Mutex<()> = Mutex::new(());

/// Ardour for one test: `ardour7-lua`, a private home `name` with the bundle
/// scanned ([`ardour_home`]), and the test's turn to roll (held while it
/// lives); `None` (with a message) when Ardour is not installed.
fn ardour_for(name: &str) -> Option<(PathBuf, PathBuf, MutexGuard<'static, ()>)> {
    let (lua, scanner) = ardour()?;
    let turn = ARDOUR_RUNS.lock().unwrap_or_else(|e| e.into_inner());
    let home = ardour_home(&scanner, name);
    Some((lua, home, turn))
}

/// A named check, run with its name.
type Case<'a> = (String, Box<dyn FnOnce(&str) + 'a>);

/// Runs each named case to its end (a failed one does not stop the others);
/// fails listing the cases that failed.
fn run_cases(cases: Vec<Case<'_>>) {
    let mut failed = Vec::new();
    for (what, case) in cases {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| case(what.as_str())));
        if result.is_err() {
            failed.push(what);
        }
    }
    assert!(failed.is_empty(), "failed in Ardour: {}", failed.join(", "));
}

#[test]
fn bach_in_ardour_plays_the_offline_harmony() {
    let Some((lua, home, _turn)) = ardour_for("harmony") else {
        return;
    };
    let started = Instant::now();

    // Each case runs to its end; the failures are listed together.
    let cases = [(4u8, 120.0, false), (4, 120.0, true), (3, 120.0, true)]
        .into_iter()
        .enumerate()
        .map(|(i, (num, bpm, pickup))| {
            let what = format!("{num}/4{}", if pickup { " with a pickup" } else { "" });
            let (lua, home) = (&lua, &home);
            let case: Box<dyn FnOnce(&str)> =
                Box::new(move |what| check_case(lua, home, num, bpm, pickup, i == 0, what));
            (what, case)
        })
        .collect();
    run_cases(cases);
    eprintln!(
        "all checks passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&home);
}

/// The tune's note-ons at their samples on the timeline, as (sample, pitch).
fn melody_ons(score: &Score, bpm: f64) -> Vec<(i64, u8)> {
    score.parts[0]
        .notes
        .iter()
        .map(|n| (step_sample(n.start, bpm), n.pitch))
        .collect()
}

/// Checks that Bach (loggers 1 and 2) passes the melody on channel 1 at its
/// samples on the timeline, before `until` (the model's turn in continue
/// mode, or the end).
fn assert_melody_passes(events: &[Logged], melody: &[(i64, u8)], until: i64, what: &str) {
    for tag in [1, 2] {
        let got: Vec<_> = ons(events, tag, 0)
            .into_iter()
            .filter(|e| e.0 < until)
            .collect();
        assert_eq!(
            got, melody,
            "{what}: the melody Bach passes on channel 1 (logger {tag}), as (sample, pitch), is \
             not the melody's on the timeline"
        );
    }
}

/// Every event (tag, sample, status, key, velocity) loggers 1 and 2 saw.
fn after_bach(events: &[Logged]) -> Vec<(u32, i64, u8, u8, u8)> {
    events
        .iter()
        .filter(|e| e.tag <= 2)
        .map(|e| (e.tag, e.sample, e.status, e.key, e.velocity))
        .collect()
}

fn harmonize(score: &Score, opts: &Options) -> Vec<VoiceEvent> {
    let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
    offline::harmonize(&mut model, score, opts).unwrap().events
}

/// Lookahead 1 beat, set from Lua, then Off, set while the session is open.
///
/// With the lookahead, Ardour takes the latency Bach reports (a beat) and
/// compensates it: it plays the track a beat early into Bach, and what
/// comes out (the melody Bach passes on, the harmony) is on the timeline,
/// each harmony note on a 16th step (to [`LATENCY_SLACK`]), none hanging.
/// The harmony is not `bach harmonize --lookahead beat`'s, though: Ardour
/// 7.3 tells a latent plugin the timeline position of its output, not of its
/// input (`Route::process_output_buffers` adds a processor's latency before
/// running it), so Bach hears the melody a beat early against the bar
/// lines, and its first beat in the latency's pre-roll. `strict` asserts the
/// offline harmony anyway (the ignored test
/// `bach_in_ardour_lookahead_plays_the_offline_harmony`); otherwise the
/// differences are printed.
///
/// With Lookahead Off again, Bach restarts for its new latency (0) and plays
/// `--lookahead off`'s harmony to the sample, with nothing hanging.
fn check_lookahead(lua: &Path, home: &Path, strict: bool, what: &str) {
    let (num, bpm) = (4u8, 120.0);
    let score = tune(num, bpm, false, 3);
    let samples_per_step = RATE * 60.0 / bpm / 4.0;
    let beat = harmonize(
        &score,
        &Options {
            lookahead: Horizon::Beat,
            ..Options::default()
        },
    );
    let off = harmonize(&score, &Options::default());
    assert_ne!(
        offline_ons(&beat, 1),
        offline_ons(&off, 1),
        "{what}: offline, the lookahead does not change the alto: this check could not tell"
    );
    let play = step_sample(score.len + 4, bpm);
    let latency = step_sample(4, bpm);
    let plan = Plan {
        steps: format!("set:Lookahead=1;roll:0:{play};set:Lookahead=0;roll:0:{play}"),
        buffer: 1024,
        passes: 2,
    };
    let run = run_ardour(lua, home, &score, bpm, num, &plan, what);
    let melody = melody_ons(&score, bpm);
    for (pass, (latency, offline, expected)) in [
        (latency, &beat, "`bach harmonize --lookahead beat`"),
        (0, &off, "`bach harmonize --lookahead off`"),
    ]
    .into_iter()
    .enumerate()
    {
        let label = format!("{what}, pass {}", pass + 1);
        let events = &run.passes[pass];
        // Ardour took the latency Bach reported.
        for (track, got) in &run.latencies[pass] {
            assert_eq!(
                *got, latency,
                "{label}: track {track}'s latency as Ardour has it (Bach reports {latency})"
            );
        }
        // It plays the region that much early into Bach (the notes due in
        // the latency's pre-roll come at its start)...
        for tag in [11, 12] {
            let got = ons(events, tag, 0);
            let want: Vec<_> = melody
                .iter()
                .map(|&(s, p)| ((s - latency).max(0), p))
                .collect();
            let after_start = |v: &[(i64, u8)]| -> Vec<(i64, u8)> {
                v.iter().copied().filter(|e| e.0 > 0).collect()
            };
            assert_eq!(
                after_start(&got),
                after_start(&want),
                "{label}: the melody into Bach (logger {tag}) is not {latency} samples early"
            );
            assert_eq!(got.len(), want.len(), "{label}: melody notes into Bach");
        }
        // ...and what comes out is on the timeline: the melody passed on,
        // and the harmony, on the 16ths, with no note hanging.
        assert_melody_passes(events, &melody, i64::MAX, &label);
        for (tag, plugin) in [(1, "Bach"), (2, "Bach Instrument")] {
            let label = format!("{label}, {plugin}");
            let mut worst = 0;
            for voice in 1..4 {
                let got = ons(events, tag, voice);
                assert!(
                    got.len() >= 4,
                    "{label}: the {} plays {} notes",
                    VOICE_NAMES[voice as usize],
                    got.len()
                );
                for (s, _) in got {
                    let grid = (s as f64 / samples_per_step).round() as i64;
                    worst = worst.max((s - step_sample(grid as u32, bpm)).abs());
                }
            }
            assert!(
                worst <= LATENCY_SLACK,
                "{label}: a harmony note {worst} samples off the 16ths"
            );
            no_hanging_notes(events, tag, &label);
            if pass == 0 && !strict {
                // Known to differ (see above): say how.
                let (wrong, _) = harmony_differences(
                    events,
                    tag,
                    offline,
                    &[1, 2, 3],
                    samples_per_step,
                    expected,
                    &label,
                );
                eprintln!(
                    "{label}: (known, Ardour 7.3 gives a latent plugin its output's position) \
                     {}",
                    if wrong.is_empty() {
                        format!("now {expected}'s: make the check strict")
                    } else {
                        wrong.join("\n")
                    }
                );
                continue;
            }
            let off = assert_same_harmony(
                events,
                tag,
                offline,
                &[1, 2, 3],
                samples_per_step,
                expected,
                &label,
            );
            assert!(
                off <= LATENCY_SLACK,
                "{label}: harmony {off} samples off {expected}'s times"
            );
        }
        eprintln!(
            "{label}: Ardour compensates a latency of {latency} samples; the harmony is on the \
             16ths to {LATENCY_SLACK} sample"
        );
    }
}

/// How far (in samples) a harmony note may come from its 16th with a
/// lookahead: in Ardour 7.3 each comes a sample early (23,999 for 24,000).
const LATENCY_SLACK: i64 = 1;

/// Key, Temperature, Seed and a voice switched off, set from Lua: Bach plays
/// `bach harmonize --key "B minor" --temperature 1 --seed 42`'s alto and
/// bass, and nothing on the tenor's channel. Then the session is saved,
/// closed and loaded again: the parameters are as set, and the same notes
/// come at the same samples.
fn check_parameters_and_reload(lua: &Path, home: &Path, what: &str) {
    let (num, bpm) = (4u8, 120.0);
    let score = tune(num, bpm, false, 3);
    let samples_per_step = RATE * 60.0 / bpm / 4.0;
    let key = Key::parse("B minor").unwrap();
    let opts = Options {
        key: KeyChoice::Fixed(key),
        temperature: 1.0,
        seed: 42,
        ..Options::default()
    };
    let offline = harmonize(&score, &opts);
    // Each setting changes the offline harmony, so Ardour's matching it
    // shows the setting reached the plugin.
    for (setting, other) in [
        (
            "Key",
            Options {
                key: KeyChoice::Auto,
                ..opts.clone()
            },
        ),
        (
            "Temperature",
            Options {
                temperature: 0.3,
                ..opts.clone()
            },
        ),
        (
            "Seed",
            Options {
                seed: 1,
                ..opts.clone()
            },
        ),
    ] {
        let other = harmonize(&score, &other);
        assert!(
            [1, 3]
                .iter()
                .any(|&v| offline_ons(&offline, v) != offline_ons(&other, v)),
            "{what}: offline, {setting} does not change the alto or bass: this check could not tell"
        );
    }
    // Plain values as Ardour has them: a choice's index (Key: Auto, then
    // the keys in `Key::ALL`'s order), Temperature in 0..2, a toggle 0/1.
    let set = [
        ("Key", (key.index() + 1) as f64),
        ("Temperature", 1.0),
        ("Seed", 42.0),
        ("Tenor", 0.0),
    ];
    let list: Vec<String> = set.iter().map(|(n, v)| format!("{n}={v}")).collect();
    let play = step_sample(score.len + 4, bpm);
    let plan = Plan {
        steps: format!("set:{};roll:0:{play};reload;roll:0:{play}", list.join(",")),
        buffer: 1024,
        passes: 2,
    };
    let run = run_ardour(lua, home, &score, bpm, num, &plan, what);

    // As set, and as reloaded.
    for reloads in [0, 1] {
        for track in ["Fx", "Inst"] {
            for (name, value) in set {
                let got = run
                    .params
                    .iter()
                    .rfind(|p| p.0 == reloads && p.1 == track && p.2 == name)
                    .unwrap_or_else(|| panic!("{what}: {track}'s {name} not read back"))
                    .3;
                assert!(
                    (got - value).abs() < 1e-3,
                    "{what}: {track}'s {name} is {got}, set to {value}{}",
                    if reloads > 0 {
                        ", after the reload"
                    } else {
                        ""
                    }
                );
            }
        }
    }
    let first = &run.passes[0];
    assert_melody_passes(first, &melody_ons(&score, bpm), i64::MAX, what);
    for (tag, plugin) in [(1, "Bach"), (2, "Bach Instrument")] {
        let label = format!("{what}, {plugin}");
        let worst = assert_same_harmony(
            first,
            tag,
            &offline,
            &[1, 3],
            samples_per_step,
            "`bach harmonize --key \"B minor\" --temperature 1 --seed 42`",
            &label,
        );
        assert_eq!(
            worst, 0,
            "{label}: harmony {worst} samples off the offline times"
        );
        let tenor: Vec<_> = first
            .iter()
            .filter(|e| e.tag == tag && e.channel() == 2)
            .collect();
        assert!(
            tenor.is_empty(),
            "{label}: the tenor is off but its channel 3 sends {tenor:?}"
        );
        for (pass, events) in run.passes.iter().enumerate() {
            no_hanging_notes(events, tag, &format!("{label}, pass {}", pass + 1));
        }
    }
    let (before, after) = (after_bach(first), after_bach(&run.passes[1]));
    let at = before.iter().zip(&after).position(|(a, b)| a != b);
    assert!(
        before.len() == after.len() && at.is_none(),
        "{what}: after saving and reloading, Bach plays other notes: {} events before, {} after; \
         first difference at {:?}: before {:?}, after {:?}",
        before.len(),
        after.len(),
        at,
        at.map(|i| before[i]),
        at.map(|i| after[i])
    );
    eprintln!(
        "{what}: {} events after Bach, the same before saving and after reloading",
        before.len()
    );
}

/// Mode Continue, set from Lua with "Continue after silence" a 16th and
/// "Continue length" a bar: while the melody plays, Bach passes it on and
/// plays nothing else; a 16th after it ends, the model plays a bar alone,
/// `bach continue --bars 1`'s notes at the same samples, and every note ends.
/// Bach Instrument's preview voice plays at the level its parameter says
/// (-6 dB by default, then -18 dB set from Lua: a quarter of the level) and
/// is silent once its notes and the organ's release (0.15 s) are over.
fn check_preview_level(lua: &Path, home: &Path, what: &str) {
    let (num, bpm) = (4u8, 120.0);
    let score = tune(num, bpm, false, 2);
    let notes_end = step_sample(score.len, bpm);
    let play = step_sample(score.len + 8, bpm);
    let gain = |db: f64| 10f64.powf(db / 20.0);
    let plan = Plan {
        steps: format!(
            "roll:0:{play};set:Preview volume={};roll:0:{play}",
            gain(-18.0)
        ),
        buffer: 1024,
        passes: 2,
    };
    let run = run_ardour(lua, home, &score, bpm, num, &plan, what);
    let instrument = |pass: usize| run.peaks[pass].iter().filter(|p| p.0 == 2);
    let loudest = |pass: usize| {
        instrument(pass)
            .filter(|p| p.1 < notes_end)
            .map(|p| p.2)
            .fold(0.0, f64::max)
    };
    let (default, quiet) = (loudest(0), loudest(1));
    let ratio = quiet / default;
    let want = gain(-18.0) / gain(-6.0);
    assert!(
        default > SILENCE && (ratio / want - 1.0).abs() < 0.1,
        "{what}: loudest {default:.4} at -6 dB, {quiet:.4} at -18 dB: {ratio:.3}, not {want:.3}"
    );
    // Past the last note (its harmony ends within a 16th) and the release.
    let after = notes_end + step_sample(1, bpm) + (0.2 * RATE) as i64;
    for pass in 0..2 {
        let tail: Vec<_> = instrument(pass).filter(|p| p.1 >= after).collect();
        assert!(
            tail.len() > 10,
            "{what}: {} cycles after the notes",
            tail.len()
        );
        for &&(_, start, peak) in &tail {
            assert!(
                peak < SILENCE,
                "{what}, pass {}: Bach Instrument sounds ({peak}) at {start}, after its notes",
                pass + 1
            );
        }
    }
    eprintln!(
        "{what}: Bach Instrument peaks {default:.4} at -6 dB and {quiet:.4} at -18 dB \
         ({ratio:.3}, the parameter says {want:.3}); silent after its notes"
    );
}

fn check_continue(lua: &Path, home: &Path, what: &str) {
    let (num, bpm) = (4u8, 120.0);
    let score = tune(num, bpm, false, 2);
    let mut model = VoicesModel::from_bytes(DEFAULT_MODEL).unwrap();
    let result = offline::continue_from(&mut model, &score, 1, &Options::default()).unwrap();
    // The tune has no rest: the model waits a 16th (the least the plugin offers).
    let start = result.timeline.sample_of_step(score.len + 1);
    assert_eq!(start, step_sample(score.len + 1, bpm));
    assert!(
        result.events.iter().all(|e| e.sample >= start) && result.events.len() > 4,
        "{what}: offline continuation {:?}",
        result.events
    );
    // The turn ends here (its last notes end with it).
    let turn_end = result.timeline.sample_of_step(result.score.len);
    let end = step_sample(result.score.len + 4, bpm);
    let plan = Plan {
        steps: format!("set:Mode=1,Continue after silence=0.25,Continue length=1;roll:0:{end}"),
        buffer: 1024,
        passes: 1,
    };
    let run = run_ardour(lua, home, &score, bpm, num, &plan, what);
    let events = &run.passes[0];
    assert_melody_passes(events, &melody_ons(&score, bpm), start, what);
    let want: Vec<_> = result
        .events
        .iter()
        .map(|e| (e.sample, e.on, e.voice, e.pitch))
        .collect();
    for (tag, plugin) in [(1, "Bach"), (2, "Bach Instrument")] {
        let label = format!("{what}, {plugin}");
        let early: Vec<_> = events
            .iter()
            .filter(|e| e.tag == tag && e.channel() > 0 && e.sample < start)
            .collect();
        assert!(
            early.is_empty(),
            "{label}: Bach plays before the melody ends: {early:?}"
        );
        let got: Vec<_> = events
            .iter()
            .filter(|e| e.tag == tag && e.sample >= start && e.sample < turn_end)
            .filter(|e| e.on() || e.off())
            .map(|e| (e.sample, e.on(), e.channel(), e.key))
            .collect();
        let late: Vec<_> = events
            .iter()
            .filter(|e| e.tag == tag && e.sample >= turn_end && !(e.off() && e.sample == turn_end))
            .collect();
        assert!(
            late.is_empty(),
            "{label}: after the turn ends (sample {turn_end}) Bach plays on: {late:?}"
        );
        assert_eq!(
            got, want,
            "{label}: the model's turn in Ardour is not `bach continue --bars 1`'s, as \
             (sample, on, channel - 1, pitch)"
        );
        no_hanging_notes(events, tag, &label);
        eprintln!(
            "{label}: after the melody, the model plays {} notes alone, as offline, and stops",
            got.iter().filter(|e| e.1).count()
        );
    }
}

/// The lookahead's harmony in Ardour is `bach harmonize --lookahead beat`'s:
/// not so with Ardour 7.3 (see [`check_lookahead`]).
#[test]
#[ignore = "Ardour 7.3 tells a latent plugin its output's position: the harmony differs"]
fn bach_in_ardour_lookahead_plays_the_offline_harmony() {
    let Some((lua, home, _turn)) = ardour_for("lookahead") else {
        return;
    };
    check_lookahead(&lua, &home, true, "lookahead 1 beat, strict");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn bach_in_ardour_follows_its_parameters() {
    let Some((lua, home, _turn)) = ardour_for("parameters") else {
        return;
    };
    let started = Instant::now();
    let (lua, home_dir) = (&lua, &home);
    let cases: Vec<Case> = vec![
        (
            "lookahead 1 beat, then off".into(),
            Box::new(move |what| check_lookahead(lua, home_dir, false, what)),
        ),
        (
            "key, temperature, seed, tenor off; saved and reloaded".into(),
            Box::new(move |what| check_parameters_and_reload(lua, home_dir, what)),
        ),
        (
            "continue".into(),
            Box::new(move |what| check_continue(lua, home_dir, what)),
        ),
        (
            "preview volume".into(),
            Box::new(move |what| check_preview_level(lua, home_dir, what)),
        ),
    ];
    run_cases(cases);
    eprintln!(
        "all checks passed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&home);
}
