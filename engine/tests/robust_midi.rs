//! Robustness of MIDI reading against damaged and hostile files.
//!
//! Valid files made here (format 0 and 1, several resolutions, tempo and meter
//! changes, chords, drums, running status) are truncated, bit-flipped,
//! overwritten, spliced and have bytes inserted or deleted by proptest, with a
//! fixed seed so CI sees the same inputs every run. Every result must be an
//! `Ok` score that writes and reads back identically, or an `Err` whose message
//! is not empty. A counting allocator bounds the memory any one read may take,
//! and every property runs under a watchdog thread, so a hang fails the test
//! instead of stalling CI. Hand-made hostile files follow as named tests.
//!
//! Counts are printed with `--nocapture` and recorded in docs/robustness.md.

use bach_engine::Meter;
use std::cell::Cell;

use bach_engine::midi::{self, MidiError, MAX_STEPS};
use bach_engine::score::{MeterChange, Note, Part, Score, TempoChange};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};

mod support;
use support::{memory_bound, peak_of, watchdog, WATCHDOG};

// ---------------------------------------------------------------------------
// Valid seed files.

type Ev = (u64, TrackEventKind<'static>);

fn on(tick: u64, channel: u8, key: u8, vel: u8) -> Ev {
    let message = MidiMessage::NoteOn {
        key: u7::new(key),
        vel: u7::new(vel),
    };
    let channel = u4::new(channel);
    (tick, TrackEventKind::Midi { channel, message })
}

fn off(tick: u64, channel: u8, key: u8) -> Ev {
    let message = MidiMessage::NoteOff {
        key: u7::new(key),
        vel: u7::new(64),
    };
    let channel = u4::new(channel);
    (tick, TrackEventKind::Midi { channel, message })
}

fn other(tick: u64, channel: u8, message: MidiMessage) -> Ev {
    let channel = u4::new(channel);
    (tick, TrackEventKind::Midi { channel, message })
}

fn tempo(tick: u64, bpm: f64) -> Ev {
    let us = u24::new((60e6 / bpm).round() as u32);
    (tick, TrackEventKind::Meta(MetaMessage::Tempo(us)))
}

fn meter(tick: u64, numerator: u8, power: u8) -> Ev {
    let kind = TrackEventKind::Meta(MetaMessage::TimeSignature(numerator, power, 24, 8));
    (tick, kind)
}

fn name(text: &'static str) -> Ev {
    (
        0,
        TrackEventKind::Meta(MetaMessage::TrackName(text.as_bytes())),
    )
}

/// A file from tracks of absolute-time events (sorted here, stably).
fn smf(format: Format, ppq: u16, tracks: Vec<Vec<Ev>>) -> Vec<u8> {
    let mut out = Smf::new(Header::new(format, Timing::Metrical(u15::new(ppq))));
    for mut events in tracks {
        events.sort_by_key(|(t, _)| *t);
        let mut now = 0;
        let mut track = Vec::new();
        for (t, kind) in events {
            track.push(TrackEvent {
                delta: u28::new((t - now) as u32),
                kind,
            });
            now = t;
        }
        track.push(TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        });
        out.tracks.push(track);
    }
    let mut bytes = Vec::new();
    out.write_std(&mut bytes).expect("write a seed file");
    bytes
}

/// Format 0, 96 ppq: a chorale-like chord progression on one channel (so it
/// is split into voices), drums, controllers, a tempo and a meter change.
fn seed_format0_chords() -> Vec<u8> {
    let q = 96;
    let mut t = vec![
        name("Chorale"),
        tempo(0, 90.0),
        meter(0, 4, 2),
        tempo(8 * q, 72.0),
        meter(8 * q, 3, 2),
    ];
    let chords: [[u8; 4]; 6] = [
        [72, 67, 64, 48],
        [74, 67, 62, 55],
        [76, 67, 60, 52],
        [74, 66, 62, 50],
        [72, 64, 55, 48],
        [71, 62, 55, 43],
    ];
    for (i, chord) in chords.iter().enumerate() {
        let start = i as u64 * 2 * q;
        for &k in chord {
            t.push(on(start, 0, k, 90));
            // Alternate true note-offs and velocity-0 note-ons.
            if i % 2 == 0 {
                t.push(off(start + 2 * q - 1, 0, k));
            } else {
                t.push(on(start + 2 * q - 1, 0, k, 0));
            }
        }
        t.push(on(start, 9, 36, 110));
        t.push(on(start + 10, 9, 36, 0));
    }
    t.push(other(
        0,
        0,
        MidiMessage::ProgramChange {
            program: u7::new(19),
        },
    ));
    t.push(other(
        q,
        0,
        MidiMessage::Controller {
            controller: u7::new(64),
            value: u7::new(127),
        },
    ));
    smf(Format::SingleTrack, q as u16, vec![t])
}

/// Format 1, 1024 ppq: a conductor track and three named monophonic tracks with
/// triplets (off the 16th grid), ties and rests, changing to 6/8.
fn seed_format1_parts() -> Vec<u8> {
    let q = 1024u64;
    let conductor = vec![
        tempo(0, 120.0),
        meter(0, 2, 2),
        tempo(4 * q, 100.0),
        meter(4 * q, 6, 3),
        tempo(7 * q, 140.0),
    ];
    let mut soprano = vec![name("Soprano")];
    for i in 0..12 {
        let start = i * q / 3;
        soprano.push(on(start, 0, 72 + (i % 5) as u8, 100));
        soprano.push(off(start + q / 3, 0, 72 + (i % 5) as u8));
    }
    let mut alto = vec![name("Alto")];
    for i in 0..4 {
        alto.push(on(i * 2 * q, 1, 64 - i as u8, 80));
        alto.push(off(i * 2 * q + q + q / 2, 1, 64 - i as u8));
    }
    let mut bass = vec![name("Bass")];
    bass.push(other(
        0,
        2,
        MidiMessage::PitchBend {
            bend: midly::PitchBend(midly::num::u14::new(9000)),
        },
    ));
    for i in 0..8 {
        bass.push(on(i * q, 2, 40 + (i * 7 % 12) as u8, 70));
        bass.push(off(i * q + q - 5, 2, 40 + (i * 7 % 12) as u8));
    }
    smf(
        Format::Parallel,
        q as u16,
        vec![conductor, soprano, alto, bass],
    )
}

/// A score written by the engine itself: four voices, tempo and meter changes.
fn seed_written_score() -> Vec<u8> {
    let mut score = Score::new(0.25);
    let voices: [(&str, u8); 4] = [("S", 67), ("A", 60), ("T", 55), ("B", 48)];
    for (v, (voice, base)) in voices.iter().enumerate() {
        let notes = (0..16)
            .map(|i| Note {
                start: i * 4,
                len: if i % 3 == 0 { 8 } else { 4 },
                pitch: base + ((i as u8 * (v as u8 + 2)) % 7),
                velocity: 60 + i as u8,
            })
            .collect();
        score.parts.push(Part::new(*voice, v as u8, notes));
    }
    score.len = 72;
    score.tempos = vec![
        TempoChange { step: 0, bpm: 96.0 },
        TempoChange {
            step: 32,
            bpm: 60.0,
        },
    ];
    score.meters = vec![
        MeterChange {
            step: 0,
            meter: Meter::new(4, 4),
        },
        MeterChange {
            step: 48,
            meter: Meter::new(3, 4),
        },
    ];
    midi::write(&score).expect("write the seed score")
}

/// Format 0 by hand at 120 ppq with running status and a sysex event, as old
/// sequencers write it.
fn seed_running_status() -> Vec<u8> {
    let mut track = vec![0x00, 0xF0, 0x03, 0x43, 0x12, 0xF7]; // a short sysex
    track.extend([0x00, 0xFF, 0x51, 0x03, 0x07, 0xA1, 0x20]); // 120 bpm
    track.extend([0x00, 0x90, 60, 100]);
    for (i, key) in [62u8, 64, 65, 67, 69, 71, 72].iter().enumerate() {
        // Running status: note-on 0 ends the last note, the next note starts.
        let prev = if i == 0 { 60 } else { key - 2 };
        track.extend([0x78, prev, 0, 0x00, *key, 90]);
    }
    track.extend([0x78, 72, 0, 0x00, 0xFF, 0x2F, 0x00]);
    let mut file = b"MThd\0\0\0\x06\0\0\0\x01\0\x78MTrk".to_vec();
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(track);
    file
}

fn seeds() -> Vec<Vec<u8>> {
    vec![
        seed_format0_chords(),
        seed_format1_parts(),
        seed_written_score(),
        seed_running_status(),
    ]
}

#[test]
fn the_seeds_are_valid_and_the_tracker_counts() {
    for (i, seed) in seeds().iter().enumerate() {
        let score = midi::read(seed, 0.25).unwrap_or_else(|e| panic!("seed {i}: {e}"));
        assert!(!score.parts.is_empty(), "seed {i}");
        check_round_trip(&score).unwrap_or_else(|e| panic!("seed {i}: {e}"));
    }
    // A broken tracker would let every memory bound pass.
    let (_, peak) = peak_of(|| drop(std::hint::black_box(vec![7u8; 1 << 20])));
    assert!(peak >= 1 << 20, "the allocator saw {peak} bytes");
}

// ---------------------------------------------------------------------------
// Mutations.

/// Where a mutation lands: anywhere, or (when `head`) in the first 64 bytes,
/// where the header and the first events are.
#[derive(Clone, Debug)]
struct Pos {
    index: Index,
    head: bool,
}

impl Pos {
    fn at(&self, len: usize) -> usize {
        let span = if self.head { len.min(64) } else { len };
        if span == 0 {
            0
        } else {
            self.index.index(span)
        }
    }
}

fn pos() -> impl Strategy<Value = Pos> {
    (any::<Index>(), any::<bool>()).prop_map(|(index, head)| Pos { index, head })
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Keep the first bytes only.
    Truncate(Index),
    /// Flip these bits (byte position, bit), all in the head or all anywhere.
    Flip {
        head: bool,
        bits: Vec<(Index, u8)>,
    },
    /// Overwrite from a position with these bytes.
    Overwrite(Pos, Vec<u8>),
    /// This file up to a cut, then another seed from a position (the same
    /// offset when `None`, so the structures line up).
    Splice {
        cut: Pos,
        other: Index,
        from: Option<Index>,
    },
    Insert(Pos, Vec<u8>),
    Delete(Pos, usize),
}

/// Bytes that often mean something to a parser: zero, all ones, the top bit,
/// the largest 7-bit value, status bytes, chunk tags.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        1 => prop::sample::select(vec![0x00, 0xFF, 0x80, 0x7F, 0x90, 0xF0, 0xF7, 0x2F, b'M', b'T']),
    ];
    prop::collection::vec(byte, 1..=32)
}

fn truncate() -> impl Strategy<Value = Mutation> {
    any::<Index>().prop_map(Mutation::Truncate)
}

fn flip() -> impl Strategy<Value = Mutation> {
    (
        any::<bool>(),
        prop::collection::vec((any::<Index>(), 0u8..8), 1..=8),
    )
        .prop_map(|(head, bits)| Mutation::Flip { head, bits })
}

fn overwrite() -> impl Strategy<Value = Mutation> {
    (pos(), hostile_bytes()).prop_map(|(p, b)| Mutation::Overwrite(p, b))
}

fn splice() -> impl Strategy<Value = Mutation> {
    (pos(), any::<Index>(), prop::option::of(any::<Index>()))
        .prop_map(|(cut, other, from)| Mutation::Splice { cut, other, from })
}

fn insert_delete() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (pos(), hostile_bytes()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (pos(), 1usize..=64).prop_map(|(p, n)| Mutation::Delete(p, n)),
    ]
}

fn any_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![truncate(), flip(), overwrite(), splice(), insert_delete()]
}

fn apply(m: &Mutation, bytes: &mut Vec<u8>, seeds: &[Vec<u8>]) {
    let len = bytes.len();
    match m {
        Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
        Mutation::Flip { head, bits } => {
            for (index, bit) in bits {
                let p = Pos {
                    index: *index,
                    head: *head,
                };
                if len > 0 {
                    bytes[p.at(len)] ^= 1 << bit;
                }
            }
        }
        Mutation::Overwrite(p, new) => {
            let at = p.at(len);
            for (k, b) in new.iter().enumerate() {
                match bytes.get_mut(at + k) {
                    Some(slot) => *slot = *b,
                    None => bytes.push(*b),
                }
            }
        }
        Mutation::Splice { cut, other, from } => {
            let cut = if len == 0 {
                0
            } else {
                cut.at(len + 1).min(len)
            };
            let other = &seeds[other.index(seeds.len())];
            let from = match from {
                Some(i) => i.index(other.len() + 1),
                None => cut.min(other.len()),
            };
            bytes.truncate(cut);
            bytes.extend_from_slice(&other[from..]);
        }
        Mutation::Insert(p, new) => {
            let at = p.at(len + 1).min(len);
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Delete(p, n) => {
            let at = p.at(len);
            let end = (at + n).min(len);
            bytes.drain(at..end);
        }
    }
}

// ---------------------------------------------------------------------------
// The property.

/// A score read from any file must write, and read back as itself.
fn check_round_trip(score: &Score) -> Result<(), String> {
    if score.len > MAX_STEPS {
        return Err(format!("score of {} steps passed the cap", score.len));
    }
    if score.parts.is_empty() {
        return Err("Ok with no parts".into());
    }
    for part in &score.parts {
        if part.channel > 15
            || part
                .notes
                .iter()
                .any(|n| n.pitch > 127 || n.len == 0 || n.end() > score.len)
        {
            return Err(format!(
                "part {:?} has an invalid note or channel",
                part.name
            ));
        }
    }
    // Key signatures and text events are read, bounded, and left out when
    // written (a harmonized file does not repeat its input's text).
    if score.markers.len() > midi::MAX_MARKERS || score.keys.len() > midi::MAX_MARKERS {
        return Err("more key signatures or markers than the cap".into());
    }
    let beyond = |step: u32| step > score.len;
    if score
        .keys
        .iter()
        .any(|k| beyond(k.step) || k.key.tonic > 11)
        || score
            .markers
            .iter()
            .any(|m| beyond(m.step) || m.text.len() > midi::MAX_MARKER_BYTES)
    {
        return Err("a key signature or marker out of bounds".into());
    }
    let bytes =
        midi::write(score).map_err(|e| format!("a score read from a file does not write: {e}"))?;
    let again = midi::read(&bytes, score.step_beats)
        .map_err(|e| format!("a written score does not read back: {e}"))?;
    let mut written = score.clone();
    written.keys.clear();
    written.markers.clear();
    if again != written {
        return Err(format!(
            "read, write, read changed the score:\n{score:?}\nbecame\n{again:?}"
        ));
    }
    Ok(())
}

#[derive(Default, Debug)]
struct Tally {
    cases: usize,
    ok: usize,
    err: usize,
    largest_input: usize,
    largest_peak: usize,
}

/// Whether midly 0.5.3 would panic on `bytes` (see
/// [`smpte_division_with_frame_byte_0x80_is_an_error`]): the header's division
/// has 0x80 as its high byte, and midly computes `-(0x80 as i8)`, which
/// overflows in builds with overflow checks (tests, debug). Walks the file the
/// way midly does: an optional RIFF/RMID wrapper, then chunks up to `MThd`.
/// The regression test uses it to show its inputs are the ones that panicked.
fn hits_known_midly_overflow(bytes: &[u8]) -> bool {
    let mut smf = bytes;
    if bytes.starts_with(b"RIFF") {
        // RIFF: little-endian chunk lengths, the SMF in the "data" chunk after "RMID".
        let Some(body) = bytes.get(12..) else {
            return false;
        };
        let mut rest = body;
        let mut found = None;
        while rest.len() >= 8 {
            let len = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
            let data = &rest[8..];
            let (chunk, after) = data.split_at(len.min(data.len()));
            if &rest[..4] == b"data" {
                found = Some(chunk);
                break;
            }
            rest = after.get(len % 2..).unwrap_or(&[]);
        }
        match found {
            Some(data) => smf = data,
            None => return false,
        }
    } else if !bytes.starts_with(b"MThd") {
        return false;
    }
    let mut rest = smf;
    while rest.len() >= 8 {
        let len = u32::from_be_bytes([rest[4], rest[5], rest[6], rest[7]]) as usize;
        let data = &rest[8..];
        let (chunk, after) = data.split_at(len.min(data.len()));
        match &rest[..4] {
            b"MThd" => return chunk.get(4) == Some(&0x80),
            b"MTrk" => return false,
            _ => rest = after,
        }
    }
    false
}

/// Reads one mutated input and checks the outcome; counts it in `tally`.
fn check(bytes: &[u8], tally: &Cell<Tally>) -> Result<(), String> {
    let (result, peak) = peak_of(|| {
        midi::read(bytes, 0.25).map(|score| {
            let round_trip = check_round_trip(&score);
            (score, round_trip)
        })
    });
    let mut t = tally.take();
    t.cases += 1;
    t.largest_input = t.largest_input.max(bytes.len());
    t.largest_peak = t.largest_peak.max(peak);
    match &result {
        Ok(_) => t.ok += 1,
        Err(_) => t.err += 1,
    }
    tally.set(t);
    if peak > memory_bound(bytes.len()) {
        return Err(format!(
            "reading {} bytes took {peak} bytes of heap at once, over the bound of {}",
            bytes.len(),
            memory_bound(bytes.len())
        ));
    }
    match result {
        Ok((_, round_trip)) => round_trip,
        Err(e) if e.to_string().trim().is_empty() => {
            Err(format!("an error with no message: {e:?}"))
        }
        Err(_) => Ok(()),
    }
}

/// Cases per property; fixed so the counts in docs/robustness.md stay true.
fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

/// Runs `mutations` over the seeds as a proptest property under the watchdog,
/// prints and returns the tally.
fn property<S>(name: &'static str, cases: u32, mutations: S) -> Tally
where
    S: Strategy<Value = Vec<Mutation>> + Send + 'static,
{
    watchdog(name, WATCHDOG, move || {
        let seeds = seeds();
        let tally = Cell::new(Tally::default());
        let mut runner = TestRunner::new(config(cases, 0x0000_BAC4_0000 + cases as u64));
        let strategy = (any::<Index>(), mutations);
        let result = runner.run(&strategy, |(seed, mutations)| {
            let mut bytes = seeds[seed.index(seeds.len())].clone();
            for m in &mutations {
                apply(m, &mut bytes, &seeds);
            }
            check(&bytes, &tally).map_err(TestCaseError::fail)
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
        let t = tally.take();
        println!(
            "midi {name}: {cases} cases, {} inputs read ({} Ok, {} Err), largest input {} bytes, largest heap peak {} bytes",
            t.cases, t.ok, t.err, t.largest_input, t.largest_peak
        );
        t
    })
}

fn one(m: impl Strategy<Value = Mutation>) -> impl Strategy<Value = Vec<Mutation>> {
    m.prop_map(|m| vec![m])
}

#[test]
fn truncated_files() {
    let t = property("truncate", 256, one(truncate()));
    assert!(t.err > 0, "no truncation was rejected: {t:?}");
}

#[test]
fn bit_flipped_files() {
    let t = property("flip 1-8 bits", 1024, one(flip()));
    assert!(
        t.ok > 0 && t.err > 0,
        "flips should give both outcomes: {t:?}"
    );
}

#[test]
fn overwritten_files() {
    property("overwrite 1-32 bytes", 512, one(overwrite()));
}

#[test]
fn spliced_files() {
    property("splice two seeds", 512, one(splice()));
}

#[test]
fn files_with_bytes_inserted_or_deleted() {
    property("insert/delete bytes", 512, one(insert_delete()));
}

#[test]
fn files_with_stacked_mutations() {
    property(
        "2-6 stacked mutations",
        512,
        prop::collection::vec(any_mutation(), 2..=6),
    );
}

/// Not random: every prefix of every seed.
#[test]
fn every_truncation_of_every_seed() {
    let tally = Cell::new(Tally::default());
    for seed in seeds() {
        for cut in 0..=seed.len() {
            check(&seed[..cut], &tally).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        }
    }
    let t = tally.take();
    println!(
        "midi every truncation: {} inputs read ({} Ok, {} Err)",
        t.cases, t.ok, t.err
    );
    assert!(t.err > 0 && t.ok > 0);
}

// ---------------------------------------------------------------------------
// Hand-made hostile files.

/// A file with one header and the given raw tracks.
fn raw_file(format: u16, tracks: u16, division: u16, bodies: &[&[u8]]) -> Vec<u8> {
    let mut f = b"MThd".to_vec();
    f.extend(6u32.to_be_bytes());
    f.extend(format.to_be_bytes());
    f.extend(tracks.to_be_bytes());
    f.extend(division.to_be_bytes());
    for body in bodies {
        f.extend(b"MTrk");
        f.extend((body.len() as u32).to_be_bytes());
        f.extend(*body);
    }
    f
}

/// One quarter note of middle C at 96 ppq, then the end of the track.
const ONE_NOTE: &[u8] = &[
    0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
];

/// Reads `bytes` under the memory bound and returns the result.
fn read_bounded(bytes: &[u8]) -> Result<Score, MidiError> {
    let (result, peak) = peak_of(|| midi::read(bytes, 0.25));
    assert!(
        peak <= memory_bound(bytes.len()),
        "{} bytes took {peak} bytes of heap",
        bytes.len()
    );
    result
}

/// Reads `bytes`, expecting an error whose message contains every one of `words`.
fn rejected(bytes: &[u8], words: &[&str]) -> MidiError {
    let err = read_bounded(bytes).expect_err("a hostile file was accepted");
    let text = err.to_string();
    for w in words {
        assert!(
            text.to_lowercase().contains(&w.to_lowercase()),
            "{text:?} does not mention {w:?}"
        );
    }
    err
}

#[test]
fn only_the_header_tag() {
    rejected(b"MThd", &["not a readable MIDI file"]);
    rejected(b"", &["not a readable MIDI file"]);
    rejected(b"MThd\0\0\0\x06\0\0", &["not a readable MIDI file"]);
}

#[test]
fn a_header_chunk_claiming_four_gigabytes() {
    let mut file = b"MThd\xff\xff\xff\xff\0\0\0\x01\0\x60".to_vec();
    file.extend(b"MTrk\0\0\0\x0c");
    file.extend(ONE_NOTE);
    // Lenient parsing: the header swallows the rest of the file, so no track
    // is left. Nothing is sized by the claim.
    rejected(&file, &["no notes"]);
}

#[test]
fn a_header_claiming_65535_tracks() {
    // One track is present: it is read, the missing ones cost nothing.
    let score = read_bounded(&raw_file(1, 65535, 96, &[ONE_NOTE])).unwrap();
    assert_eq!(score.parts.len(), 1);
    // With no track at all, there is nothing to play.
    rejected(&raw_file(1, 65535, 96, &[]), &["no notes"]);
}

#[test]
fn a_track_chunk_claiming_four_gigabytes() {
    let mut file = raw_file(0, 1, 96, &[]);
    file.extend(b"MTrk\xff\xff\xff\xff");
    file.extend(ONE_NOTE);
    // Lenient parsing takes the bytes that are there; nothing is sized by the claim.
    match read_bounded(&file) {
        Ok(score) => assert_eq!(score.parts[0].notes.len(), 1),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

#[test]
fn zero_length_tracks() {
    rejected(&raw_file(1, 3, 96, &[&[], &[], &[]]), &["no notes"]);
    let score = read_bounded(&raw_file(1, 3, 96, &[&[], ONE_NOTE, &[]])).unwrap();
    assert_eq!(score.parts.len(), 1);
}

#[test]
fn absurd_resolutions() {
    rejected(&raw_file(0, 1, 0, &[ONE_NOTE]), &["0 ticks per quarter"]);
    // One tick per quarter: the quarter note lasts 4 steps of a 16th.
    let score = read_bounded(&raw_file(
        0,
        1,
        1,
        &[&[
            0x00, 0x90, 60, 100, 0x01, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
        ]],
    ))
    .unwrap();
    assert_eq!(score.parts[0].notes[0].len, 4);
    // The largest PPQ: 0x60 ticks are a tiny fraction of a step, which still lasts one.
    let score = read_bounded(&raw_file(0, 1, 0x7FFF, &[ONE_NOTE])).unwrap();
    assert_eq!(score.parts[0].notes[0].len, 1);
}

#[test]
fn smpte_timing() {
    // -25 frames per second, 40 ticks per frame; and a bogus frame rate.
    rejected(&raw_file(0, 1, 0xE728, &[ONE_NOTE]), &["SMPTE"]);
    let err = read_bounded(&raw_file(0, 1, 0xFFFF, &[ONE_NOTE])).unwrap_err();
    assert!(!err.to_string().is_empty());
}

#[test]
fn unknown_and_sequential_formats() {
    rejected(&raw_file(2, 1, 96, &[ONE_NOTE]), &["format 2"]);
    let err = read_bounded(&raw_file(7, 1, 96, &[ONE_NOTE])).unwrap_err();
    assert!(!err.to_string().is_empty());
}

#[test]
fn ten_thousand_simultaneous_notes() {
    // 10,000 note-ons at tick 0 on one channel, cycling through the 128 keys
    // (a retriggered key ends its earlier note), released one quarter later.
    let mut track = Vec::new();
    for i in 0..10_000u32 {
        track.extend([0x00, 0x90, (i % 128) as u8, 100]);
    }
    track.extend([0x60, 0xFF, 0x2F, 0x00]);
    let file = raw_file(0, 1, 96, &[&track]);
    let score = read_bounded(&file).unwrap();
    // A single polyphonic part splits into one voice per key.
    assert_eq!(score.parts.len(), 128);
    check_round_trip(&score).unwrap();
}

#[test]
fn a_note_on_storm_across_all_sixteen_channels() {
    // Every key on every channel, 40 times over, with running status per channel.
    let mut track = Vec::new();
    for round in 0..40u8 {
        for channel in 0..16u8 {
            track.extend([0x00, 0x90 | channel]);
            for key in 0..128u8 {
                if key > 0 {
                    track.push(0x00);
                }
                track.extend([key, 1 + (round + key) % 127]);
            }
        }
    }
    track.extend([0x18, 0xFF, 0x2F, 0x00]);
    let file = raw_file(0, 1, 96, &[&track]);
    let score = read_bounded(&file).unwrap();
    // Channel 10 is drums; the other 15 are parts of 128 notes each.
    assert_eq!(score.parts.len(), 15);
    assert!(score.parts.iter().all(|p| p.notes.len() == 128));
    check_round_trip(&score).unwrap();
}

#[test]
fn huge_delta_times() {
    // The largest delta (2^28 - 1 ticks) before the note-off: at 96 ppq that is
    // far past the step cap.
    let track = [
        0x00, 0x90, 60, 100, 0xFF, 0xFF, 0xFF, 0x7F, 0x80, 60, 0, 0x00, 0xFF, 0x2F, 0x00,
    ];
    rejected(&raw_file(0, 1, 96, &[&track]), &["limit", "steps"]);
    // Many huge deltas in a row, on meta events: still bounded, still an error.
    let mut track = vec![0x00, 0x90, 60, 100];
    for _ in 0..1000 {
        track.extend([0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x01, 0x00]);
    }
    track.extend([0x00, 0xFF, 0x2F, 0x00]);
    rejected(&raw_file(0, 1, 96, &[&track]), &["limit", "steps"]);
    // A delta whose variable-length number never ends.
    let mut track = vec![0x00, 0x90, 60, 100];
    track.extend([0xFF; 64]);
    let err = read_bounded(&raw_file(0, 1, 96, &[&track]));
    if let Err(e) = err {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn absurd_meta_events() {
    // Tempo 0 and a 5/0 time signature are named; a meta event claiming a
    // 256 MiB payload is cut at the end of the track.
    rejected(
        &raw_file(
            0,
            1,
            96,
            &[&[
                0x00, 0xFF, 0x51, 0x03, 0, 0, 0, 0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0,
            ]],
        ),
        &["tempo"],
    );
    rejected(
        &raw_file(
            0,
            1,
            96,
            &[&[
                0x00, 0xFF, 0x58, 0x04, 5, 9, 24, 8, 0x00, 0x90, 60, 100, 0x60, 0x80, 60, 0,
            ]],
        ),
        &["time signature"],
    );
    let mut track = ONE_NOTE[..8].to_vec();
    track.extend([0x00, 0xFF, 0x01, 0xFF, 0xFF, 0xFF, 0x7F, b'x']);
    if let Err(e) = read_bounded(&raw_file(0, 1, 96, &[&track])) {
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn smpte_division_with_frame_byte_0x80_is_an_error() {
    // The minimal repro: a bare header with division 0x8000.
    let minimal = b"MThd\0\0\0\x06\0\0\0\x01\x80\x00";
    assert!(hits_known_midly_overflow(minimal));
    let result = std::panic::catch_unwind(|| midi::read(minimal, 0.25).map(|_| ()));
    assert!(result
        .expect("midi::read panicked on the bare header")
        .is_err());
    // Division 0x8000: the top bit says SMPTE, the frame byte is -128 as i8.
    let file = raw_file(0, 1, 0x8000, &[ONE_NOTE]);
    assert!(hits_known_midly_overflow(&file));
    let result = std::panic::catch_unwind(|| midi::read(&file, 0.25).map(|_| ()));
    let err = result.expect("midi::read panicked").unwrap_err();
    assert!(!err.to_string().is_empty());
    // The same header inside an RMID (RIFF) wrapper.
    let mut riff = b"RIFF".to_vec();
    riff.extend((12 + file.len() as u32).to_le_bytes());
    riff.extend(b"RMIDdata");
    riff.extend((file.len() as u32).to_le_bytes());
    riff.extend(&file);
    assert!(hits_known_midly_overflow(&riff));
    let result = std::panic::catch_unwind(|| midi::read(&riff, 0.25).map(|_| ()));
    assert!(result.expect("midi::read panicked on RMID").is_err());
}
