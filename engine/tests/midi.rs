//! MIDI files in and out of scores: fixtures are built in code with midly (and
//! by hand where the byte layout itself is under test).

use bach_engine::midi::{self, MidiError, MAX_STEPS};
use bach_engine::score::{KeyChange, Marker, MeterChange, Note, Part, Score, TempoChange};
use bach_engine::Token;
use bach_engine::{Key, Meter, Mode};
use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

type Ev = (u64, TrackEventKind<'static>);

fn on(tick: u64, channel: u8, key: u8, vel: u8) -> Ev {
    let message = MidiMessage::NoteOn {
        key: u7::new(key),
        vel: u7::new(vel),
    };
    (
        tick,
        TrackEventKind::Midi {
            channel: u4::new(channel),
            message,
        },
    )
}

fn off(tick: u64, channel: u8, key: u8) -> Ev {
    let message = MidiMessage::NoteOff {
        key: u7::new(key),
        vel: u7::new(64),
    };
    (
        tick,
        TrackEventKind::Midi {
            channel: u4::new(channel),
            message,
        },
    )
}

/// A note as an on/off pair, the off written as note-on velocity 0 when `zero_off`.
fn note(start: u64, len: u64, channel: u8, key: u8, zero_off: bool) -> [Ev; 2] {
    let end = if zero_off {
        on(start + len, channel, key, 0)
    } else {
        off(start + len, channel, key)
    };
    [on(start, channel, key, 100), end]
}

fn tempo(tick: u64, bpm: f64) -> Ev {
    let us = u24::new((60e6 / bpm).round() as u32);
    (tick, TrackEventKind::Meta(MetaMessage::Tempo(us)))
}

fn meter(tick: u64, numerator: u8, denominator: u8) -> Ev {
    let power = denominator.trailing_zeros() as u8;
    let meta = MetaMessage::TimeSignature(numerator, power, 24, 8);
    (tick, TrackEventKind::Meta(meta))
}

fn name(text: &'static str) -> Ev {
    (
        0,
        TrackEventKind::Meta(MetaMessage::TrackName(text.as_bytes())),
    )
}

/// A file from tracks of (absolute tick, event); events on one tick keep their order.
fn smf(format: Format, ppq: u16, tracks: Vec<Vec<Ev>>) -> Vec<u8> {
    let mut file = Smf::new(Header::new(format, Timing::Metrical(u15::new(ppq))));
    for mut events in tracks {
        events.sort_by_key(|(tick, _)| *tick);
        let mut now = 0;
        let mut track: Vec<TrackEvent<'static>> = events
            .into_iter()
            .map(|(tick, kind)| {
                let delta = u28::new((tick - now) as u32);
                now = tick;
                TrackEvent { delta, kind }
            })
            .collect();
        track.push(TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        });
        file.tracks.push(track);
    }
    let mut out = Vec::new();
    file.write_std(&mut out).unwrap();
    out
}

fn n(start: u32, len: u32, pitch: u8) -> Note {
    Note {
        start,
        len,
        pitch,
        velocity: 100,
    }
}

fn notes(part: &Part) -> Vec<(u32, u32, u8)> {
    part.notes
        .iter()
        .map(|n| (n.start, n.len, n.pitch))
        .collect()
}

/// A four-note melody in 16ths, quarters and a half, at `ppq` ticks per quarter.
fn melody(ppq: u64, zero_off: bool) -> Vec<Ev> {
    let s = ppq / 4; // one 16th
    let mut ev = Vec::new();
    ev.extend(note(0, s, 0, 60, zero_off));
    ev.extend(note(s, s, 0, 62, zero_off));
    ev.extend(note(2 * s, 2 * s, 0, 64, zero_off));
    ev.extend(note(4 * s, 8 * s, 0, 65, zero_off));
    ev
}

const MELODY: [(u32, u32, u8); 4] = [(0, 1, 60), (1, 1, 62), (2, 2, 64), (4, 8, 65)];

#[test]
fn format_0_and_1_at_several_resolutions() {
    for ppq in [96u16, 480, 960, 384, 32_767 / 4 * 4] {
        let f0 = smf(Format::SingleTrack, ppq, vec![melody(ppq as u64, false)]);
        let score = midi::read(&f0, 0.25).unwrap();
        assert_eq!(score.parts.len(), 1, "ppq {ppq}");
        assert_eq!(notes(&score.parts[0]), MELODY, "ppq {ppq}");
        assert_eq!(score.len, 12);
        assert_eq!(score.parts[0].name, "Track 1");

        let conductor = vec![tempo(0, 90.0), meter(0, 4, 4)];
        let f1 = smf(
            Format::Parallel,
            ppq,
            vec![conductor, melody(ppq as u64, true)],
        );
        let score = midi::read(&f1, 0.25).unwrap();
        assert_eq!(score.parts.len(), 1);
        assert_eq!(notes(&score.parts[0]), MELODY);
        assert_eq!(score.parts[0].name, "Track 2");
        assert_eq!(score.tempos, vec![TempoChange { step: 0, bpm: 90.0 }]);
    }
}

#[test]
fn ppq_of_one_tick_per_quarter() {
    // Quarter notes at 1 tick per quarter; on a 16th grid each tick is 4 steps.
    let mut ev = Vec::new();
    ev.extend(note(0, 1, 0, 60, false));
    ev.extend(note(1, 2, 0, 67, false));
    let score = midi::read(&smf(Format::SingleTrack, 1, vec![ev]), 0.25).unwrap();
    assert_eq!(notes(&score.parts[0]), vec![(0, 4, 60), (4, 8, 67)]);
    // And on a quarter grid, steps are ticks.
    let mut ev = Vec::new();
    ev.extend(note(0, 1, 0, 60, false));
    let score = midi::read(&smf(Format::SingleTrack, 1, vec![ev]), 1.0).unwrap();
    assert_eq!(notes(&score.parts[0]), vec![(0, 1, 60)]);
}

#[test]
fn running_status_and_velocity_zero_note_offs_by_hand() {
    // Format 0, 1 track, 96 ppq. Note-ons use running status throughout, and
    // each note ends with a note-on of velocity 0.
    #[rustfmt::skip]
    let track: Vec<u8> = vec![
        0x00, 0x90, 60, 100,   // on C4
        0x18, 60, 0,           // 24 ticks later: C4 off (running status, vel 0)
        0x00, 62, 90,          // on D4
        0x30, 62, 0,           // 48 ticks later: off
        0x00, 0x80, 64, 0,     // a real note-off with no note on: ignored
        0x18, 0xFF, 0x2F, 0x00 // end of track 24 ticks later
    ];
    let mut file = b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk".to_vec();
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(&track);
    let score = midi::read(&file, 0.25).unwrap();
    let part = &score.parts[0];
    assert_eq!(
        part.notes,
        vec![
            n(0, 1, 60),
            Note {
                start: 1,
                len: 2,
                pitch: 62,
                velocity: 90
            }
        ]
    );
    assert_eq!(score.len, 4);
}

#[test]
fn tempo_and_meter_changes_in_3_4_and_6_8() {
    let ppq = 480;
    let bar34 = 3 * ppq;
    let bar68 = 3 * ppq; // six eighths = three quarters
    let conductor = vec![
        tempo(0, 100.0),
        meter(0, 3, 4),
        tempo(bar34, 140.0),
        meter(2 * bar34, 6, 8),
        tempo(2 * bar34 + bar68 + ppq / 2, 60.0),
    ];
    let mut ev = Vec::new();
    for i in 0..8 {
        ev.extend(note(i * 3 * ppq / 2, ppq, 0, 60 + i as u8, false));
    }
    let file = smf(Format::Parallel, ppq as u16, vec![conductor, ev]);
    let score = midi::read(&file, 0.25).unwrap();
    assert_eq!(
        score.tempos,
        vec![
            TempoChange {
                step: 0,
                bpm: 100.0
            },
            TempoChange {
                step: 12,
                bpm: 140.0
            },
            TempoChange {
                step: 38,
                bpm: 60.0
            },
        ]
    );
    assert_eq!(
        score.meters,
        vec![
            MeterChange {
                step: 0,
                meter: Meter::new(3, 4),
            },
            MeterChange {
                step: 24,
                meter: Meter::new(6, 8),
            },
        ]
    );
    assert_eq!(score.bpm_at(11), 100.0);
    assert_eq!(score.bpm_at(40), 60.0);
    // 3/4 bars are 12 steps, 6/8 bars are 12 steps too, starting at step 24.
    assert_eq!(score.position_in_bar(11), 11);
    assert_eq!(score.position_in_bar(12), 0);
    assert_eq!(score.position_in_bar(25), 1);
    assert_eq!(score.position_in_bar(36), 0);
    let starts: Vec<u32> = score.parts[0].notes.iter().map(|n| n.start).collect();
    assert_eq!(starts, vec![0, 6, 12, 18, 24, 30, 36, 42]);
}

#[test]
fn pickup_bar_counts_back_from_the_bar_line() {
    let ppq = 480;
    // A one-beat pickup written as a 1/4 bar, then 4/4.
    let conductor = vec![meter(0, 1, 4), meter(ppq, 4, 4)];
    let mut ev = Vec::new();
    ev.extend(note(0, ppq / 2, 0, 67, false));
    ev.extend(note(ppq / 2, ppq / 2, 0, 69, false));
    ev.extend(note(ppq, 4 * ppq, 0, 72, false));
    let score = midi::read(
        &smf(Format::Parallel, ppq as u16, vec![conductor, ev]),
        0.25,
    )
    .unwrap();
    assert_eq!(
        notes(&score.parts[0]),
        vec![(0, 2, 67), (2, 2, 69), (4, 16, 72)]
    );
    let positions: Vec<usize> = (0..6).map(|s| score.position_in_bar(s)).collect();
    assert_eq!(positions, vec![12, 13, 14, 15, 0, 1]);

    // The same pickup written in 4/4 after three beats of rest sits on the same positions.
    let mut ev = Vec::new();
    ev.extend(note(3 * ppq, ppq / 2, 0, 67, false));
    ev.extend(note(7 * ppq / 2, ppq / 2, 0, 69, false));
    let score = midi::read(&smf(Format::SingleTrack, ppq as u16, vec![ev]), 0.25).unwrap();
    let first = score.parts[0].notes[0].start;
    assert_eq!(score.position_in_bar(first), 12);
}

#[test]
fn off_grid_notes_snap_to_the_nearest_step() {
    // 480 ppq: a 16th is 120 ticks.
    let ev = vec![
        on(50, 0, 60, 100),  // step 0
        off(130, 0, 60),     // step 1
        on(190, 0, 62, 100), // step 2 (1.58)
        off(200, 0, 62),     // 10 ticks: shorter than a step, lasts one
        on(470, 0, 64, 100), // step 4 (3.92)
        off(725, 0, 64),     // step 6 (6.04)
    ];
    let score = midi::read(&smf(Format::SingleTrack, 480, vec![ev]), 0.25).unwrap();
    assert_eq!(
        notes(&score.parts[0]),
        vec![(0, 1, 60), (2, 1, 62), (4, 2, 64)]
    );
}

#[test]
fn notes_played_off_the_grid_are_read_as_played_too() {
    // The same file: read_played keeps each note's ticks, in quarter notes.
    let ev = vec![
        on(50, 0, 60, 100),
        off(130, 0, 60),
        on(190, 0, 62, 90),
        off(200, 0, 62),
        on(470, 0, 64, 80),
        off(725, 0, 64),
    ];
    let bytes = smf(Format::SingleTrack, 480, vec![ev]);
    let played = midi::read_played(&bytes, 0.25).unwrap();
    assert_eq!(played.len(), midi::read(&bytes, 0.25).unwrap().parts.len());
    let got: Vec<(f64, f64, u8, u8)> = played[0]
        .iter()
        .map(|n| (n.start * 480.0, n.end * 480.0, n.pitch, n.velocity))
        .collect();
    assert_eq!(
        got,
        vec![
            (50.0, 130.0, 60, 100),
            (190.0, 200.0, 62, 90),
            (470.0, 725.0, 64, 80)
        ]
    );
    // Refused as read refuses.
    assert!(midi::read_played(b"not a midi file", 0.25).is_err());
}

#[test]
fn rests_repeated_notes_and_ties() {
    let ppq = 480u64;
    let s = ppq / 4;
    let mut ev = vec![meter(0, 4, 4)];
    ev.extend(note(0, 4 * s, 0, 60, true)); // quarter
    ev.extend(note(4 * s, 4 * s, 0, 60, true)); // repeated: off and on on the same tick
    ev.extend(note(12 * s, 8 * s, 0, 62, false)); // after a rest, tied over the bar line
    let score = midi::read(&smf(Format::SingleTrack, ppq as u16, vec![ev]), 0.25).unwrap();
    let tokens = score.parts[0].to_tokens(score.len);
    use Token::*;
    let mut expected = vec![Onset(60), Hold, Hold, Hold, Onset(60), Hold, Hold, Hold];
    expected.extend([Rest; 4]);
    expected.push(Onset(62));
    expected.extend([Hold; 7]);
    assert_eq!(tokens, expected);
}

#[test]
fn tracks_map_to_parts_with_names_and_own_channels() {
    let ppq = 96u64;
    let conductor = vec![name("Conductor"), tempo(0, 80.0)];
    let voice = |label: &'static str, channel: u8, pitch: u8| {
        let mut ev = vec![name(label)];
        ev.extend(note(0, ppq, channel, pitch, false));
        ev.extend(note(ppq, ppq, channel, pitch + 2, false));
        ev
    };
    let file = smf(
        Format::Parallel,
        ppq as u16,
        vec![
            conductor,
            voice("Soprano", 0, 72),
            voice("Alto", 0, 67),
            voice("Tenor", 9, 40), // drums, whatever its name
            voice("Bass", 3, 48),
        ],
    );
    let score = midi::read(&file, 0.25).unwrap();
    let names: Vec<&str> = score.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Soprano", "Alto", "Bass"]);
    let channels: Vec<u8> = score.parts.iter().map(|p| p.channel).collect();
    assert_eq!(channels, [0, 1, 2]);
    assert_eq!(notes(&score.parts[2]), vec![(0, 4, 48), (4, 4, 50)]);

    // A format-0 file with one channel per voice gives one part per channel.
    let mut ev = vec![name("Piano")];
    ev.extend(note(0, ppq, 1, 72, false));
    ev.extend(note(0, ppq, 0, 60, false));
    let score = midi::read(&smf(Format::SingleTrack, ppq as u16, vec![ev]), 0.25).unwrap();
    let names: Vec<&str> = score.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Piano ch 2", "Piano ch 1"]);
}

#[test]
fn single_polyphonic_track_splits_by_pitch() {
    let ppq = 480u64;
    let q = ppq;
    // Two four-part chords, then a two-note chord.
    let mut ev = vec![name("Chorale")];
    for (i, chord) in [[72u8, 67, 64, 48], [74, 65, 62, 47]].iter().enumerate() {
        for &p in chord {
            ev.extend(note(i as u64 * q, q, 0, p, true));
        }
    }
    ev.extend(note(2 * q, q, 0, 72, true));
    ev.extend(note(2 * q, q, 0, 48, true));
    let score = midi::read(&smf(Format::SingleTrack, ppq as u16, vec![ev]), 0.25).unwrap();
    assert_eq!(score.parts.len(), 4);
    let names: Vec<&str> = score.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Chorale 1", "Chorale 2", "Chorale 3", "Chorale 4"]);
    assert_eq!(
        notes(&score.parts[0]),
        vec![(0, 4, 72), (4, 4, 74), (8, 4, 72)]
    );
    assert_eq!(
        notes(&score.parts[1]),
        vec![(0, 4, 67), (4, 4, 65), (8, 4, 48)]
    );
    assert_eq!(notes(&score.parts[3]), vec![(0, 4, 48), (4, 4, 47)]);
    assert!(score.parts.iter().all(|p| !p.is_polyphonic()));
    // The piano roll still has every chord.
    let frames = score.to_frames();
    assert_eq!(
        frames[0].pitches().collect::<Vec<_>>(),
        vec![48, 64, 67, 72]
    );
    assert_eq!(frames[8].pitches().collect::<Vec<_>>(), vec![48, 72]);
}

#[test]
fn drums_empty_and_unreadable_files_are_errors() {
    let ppq = 96u64;
    let mut drums = Vec::new();
    drums.extend(note(0, ppq, 9, 36, false));
    drums.extend(note(ppq, ppq, 9, 38, false));
    let file = smf(Format::SingleTrack, ppq as u16, vec![drums.clone()]);
    assert!(matches!(midi::read(&file, 0.25), Err(MidiError::DrumsOnly)));

    let mut with_melody = drums;
    with_melody.extend(note(0, ppq, 2, 60, false));
    let score = midi::read(&smf(Format::SingleTrack, 96, vec![with_melody]), 0.25).unwrap();
    assert_eq!(score.parts.len(), 1);
    assert_eq!(notes(&score.parts[0]), vec![(0, 4, 60)]);

    let empty = smf(Format::Parallel, 96, vec![vec![tempo(0, 120.0)], vec![]]);
    let err = midi::read(&empty, 0.25).unwrap_err();
    assert!(matches!(err, MidiError::NoNotes));
    assert_eq!(err.to_string(), "the file has no notes");
    assert!(matches!(
        midi::read(&smf(Format::Parallel, 96, vec![]), 0.25),
        Err(MidiError::NoNotes)
    ));

    assert!(matches!(
        midi::read(b"RIFX not midi", 0.25),
        Err(MidiError::Parse(_))
    ));
    assert!(matches!(midi::read(b"", 0.25), Err(MidiError::Parse(_))));

    let sequential = smf(Format::Sequential, 96, vec![melody(96, false)]);
    assert!(matches!(
        midi::read(&sequential, 0.25),
        Err(MidiError::SequentialFormat)
    ));

    let mut bad_step = smf(Format::SingleTrack, 96, vec![melody(96, false)]);
    for step in [0.0, -0.25, f64::NAN, f64::INFINITY, 1e-9, 1000.0] {
        assert!(matches!(
            midi::read(&bad_step, step),
            Err(MidiError::BadStepBeats(_))
        ));
    }
    // PPQ 0.
    bad_step[12] = 0;
    bad_step[13] = 0;
    assert!(matches!(
        midi::read(&bad_step, 0.25),
        Err(MidiError::ZeroPpq)
    ));
    // SMPTE: 25 fps, 40 ticks per frame.
    bad_step[12] = (-25i8) as u8;
    bad_step[13] = 40;
    let err = midi::read(&bad_step, 0.25).unwrap_err();
    assert!(matches!(err, MidiError::SmpteTiming), "{err}");
}

#[test]
fn music_past_the_step_cap_is_an_error_that_says_so() {
    // A note starting after 2^20 16ths.
    let start = (MAX_STEPS as u64 + 10) * 120;
    let mut ev = Vec::new();
    ev.extend(note(0, 120, 0, 60, false));
    ev.extend(note(start, 120, 0, 60, false));
    let err = midi::read(&smf(Format::SingleTrack, 480, vec![ev]), 0.25).unwrap_err();
    assert!(matches!(err, MidiError::TooLong { .. }), "{err}");
    assert!(err.to_string().contains(&MAX_STEPS.to_string()), "{err}");

    // Enormous delta times before the end of the track, at 1 tick per quarter
    // on the finest grid: 64 steps per tick.
    let mut track = Vec::new();
    track.extend([0x00, 0x90, 60, 100, 0x01, 60, 0]);
    for _ in 0..64 {
        track.extend([0xFF, 0xFF, 0xFF, 0x7F, 0xFF, 0x01, 0x00]); // text meta after 2^28-1 ticks
    }
    track.extend([0x00, 0xFF, 0x2F, 0x00]);
    let mut file = b"MThd\0\0\0\x06\0\0\0\x01\0\x01MTrk".to_vec();
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(&track);
    assert!(matches!(
        midi::read(&file, 1.0 / 64.0),
        Err(MidiError::TooLong { .. })
    ));
}

#[test]
fn round_trip_read_write_read_is_exact() {
    let ppq = 960u64;
    let conductor = vec![
        tempo(0, 72.5),
        meter(0, 3, 4),
        tempo(3 * ppq, 133.0),
        meter(6 * ppq, 6, 8),
    ];
    let mut soprano = vec![name("Soprano")];
    for i in 0..12u64 {
        // Humanised timing and a repeated note.
        let jitter = (i * 37) % 90;
        soprano.extend(note(
            i * ppq / 2 + jitter,
            ppq / 2 - 20,
            0,
            70 + (i % 3) as u8,
            true,
        ));
    }
    let mut bass = vec![name("Bass")];
    bass.extend(note(0, 3 * ppq, 1, 48, false));
    bass.extend(note(3 * ppq, 3 * ppq + 7, 1, 43, false));
    let chorale: Vec<Ev> = {
        let mut ev = Vec::new();
        for (i, chord) in [[72u8, 67, 64, 48], [74, 65, 62, 47], [72, 64, 55, 48]]
            .iter()
            .enumerate()
        {
            for (v, &p) in chord.iter().enumerate() {
                ev.extend(note(
                    i as u64 * ppq + v as u64 * 13,
                    ppq - 5,
                    0,
                    p,
                    v % 2 == 0,
                ));
            }
        }
        ev
    };
    let files = [
        smf(
            Format::Parallel,
            ppq as u16,
            vec![conductor.clone(), soprano, bass],
        ),
        smf(Format::SingleTrack, 96, vec![melody(96, true)]),
        smf(Format::SingleTrack, ppq as u16, vec![chorale]),
    ];
    for (i, file) in files.iter().enumerate() {
        for step_beats in [0.25, 0.5, 1.0 / 3.0] {
            let first = midi::read(file, step_beats).unwrap();
            let written = midi::write(&first).unwrap();
            let second = midi::read(&written, step_beats).unwrap();
            assert_eq!(first, second, "file {i}, step {step_beats}");
        }
    }
}

fn meta(tick: u64, meta: MetaMessage<'static>) -> Ev {
    (tick, TrackEventKind::Meta(meta))
}

/// Key signatures and text events (text, marker, cue point, lyric) are read
/// at their steps from any track; a signature no key has is skipped, and a
/// later one on the same step wins.
#[test]
fn key_signatures_and_text_events_are_read() {
    let ppq = 480u64;
    let conductor = vec![
        meta(0, MetaMessage::KeySignature(-3, true)),
        meta(0, MetaMessage::Text(b"Chorale")),
        meta(4 * ppq, MetaMessage::KeySignature(9, false)),
        meta(4 * ppq, MetaMessage::KeySignature(1, false)),
        meta(4 * ppq, MetaMessage::KeySignature(2, false)),
        meta(6 * ppq, MetaMessage::KeySignature(i8::MIN, false)),
    ];
    let mut soprano = vec![
        name("Soprano"),
        meta(2 * ppq, MetaMessage::Marker(b"  fermata\0")),
        meta(3 * ppq, MetaMessage::CuePoint(b"cue")),
        meta(3 * ppq, MetaMessage::Lyric(b"A-\xffmen")),
    ];
    soprano.extend(melody(ppq, false));
    let file = smf(Format::Parallel, ppq as u16, vec![conductor, soprano]);
    let score = midi::read(&file, 0.25).unwrap();
    let key = |tonic, mode| Key { tonic, mode };
    assert_eq!(
        score.keys,
        [
            KeyChange {
                step: 0,
                key: key(0, Mode::Minor)
            },
            KeyChange {
                step: 16,
                key: key(2, Mode::Major)
            },
        ]
    );
    let marker = |step, text: &str| Marker {
        step,
        text: text.to_string(),
    };
    assert_eq!(
        score.markers,
        [
            marker(0, "Chorale"),
            marker(8, "fermata"),
            marker(12, "cue"),
            marker(12, "A-\u{fffd}men"),
        ]
    );
}

/// What `write_with_markers` writes reads back as the score's markers,
/// in order, repeats included; plain `write` leaves keys and markers out.
#[test]
fn written_markers_read_back() {
    let mut score = Score::new(0.25);
    score
        .parts
        .push(Part::new("S", 0, vec![n(0, 4, 72), n(4, 8, 74)]));
    score.len = 12;
    let written = [(0, "C"), (4, "G7"), (4, "fermata"), (11, "end")];
    let bytes = midi::write_with_markers(&score, &written).unwrap();
    let back = midi::read(&bytes, 0.25).unwrap();
    let read: Vec<(u32, &str)> = back
        .markers
        .iter()
        .map(|m| (m.step, m.text.as_str()))
        .collect();
    assert_eq!(read, written);
    assert!(back.keys.is_empty());
    assert_eq!(back.parts, score.parts);

    let mut with_text = back.clone();
    with_text.keys.push(KeyChange {
        step: 0,
        key: Key {
            tonic: 2,
            mode: Mode::Major,
        },
    });
    let plain = midi::read(&midi::write(&with_text).unwrap(), 0.25).unwrap();
    assert!(plain.keys.is_empty() && plain.markers.is_empty());
}

/// Text is bounded: a long event is cut, and past the cap the rest are
/// dropped, without an error.
#[test]
fn text_events_are_bounded() {
    let long: &'static [u8] = Box::leak(vec![b'x'; 10_000].into_boxed_slice());
    let mut track: Vec<Ev> = (0..midi::MAX_MARKERS as u64 + 10)
        .map(|i| meta(i, MetaMessage::Lyric(b"la")))
        .collect();
    track.push(meta(0, MetaMessage::Text(long)));
    track.extend(melody(96, true));
    let score = midi::read(&smf(Format::SingleTrack, 96, vec![track]), 0.25).unwrap();
    assert_eq!(score.markers.len(), midi::MAX_MARKERS);
    let longest = score.markers.iter().map(|m| m.text.len()).max().unwrap();
    assert_eq!(longest, midi::MAX_MARKER_BYTES);
}

#[test]
fn voices_written_to_disk_read_back_as_the_same_tokens() {
    use Token::*;
    let soprano = [
        Onset(72),
        Hold,
        Onset(72),
        Onset(74),
        Hold,
        Rest,
        Onset(76),
        Hold,
    ];
    let bass = [Onset(48), Hold, Hold, Hold, Onset(43), Hold, Hold, Hold];
    let mut score = Score::from_voices(0.25, &[("Soprano", &soprano), ("Bass", &bass)], 90);
    score.tempos = vec![TempoChange { step: 0, bpm: 96.0 }];
    score.meters = vec![MeterChange {
        step: 0,
        meter: Meter::new(2, 4),
    }];
    let dir = std::env::temp_dir().join(format!("bach-midi-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("voices.mid");
    midi::write_file(&path, &score).unwrap();
    // Written atomically: only the target is left in the directory.
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let back = midi::read_file(&path, 0.25).unwrap();
    assert_eq!(back, score);
    assert_eq!(back.parts[0].to_tokens(back.len), soprano);
    assert_eq!(back.parts[1].to_tokens(back.len), bass);
    assert_eq!(back.parts[1].channel, 1);
    let missing = midi::read_file(&dir.join("missing.mid"), 0.25).unwrap_err();
    assert!(missing.to_string().contains("missing.mid"), "{missing}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn writing_rejects_what_midi_cannot_hold() {
    let mut score = Score::from_voices(0.25, &[("S", &[Token::Onset(60)])], 80);
    score.tempos = vec![TempoChange { step: 0, bpm: 0.0 }];
    assert!(matches!(midi::write(&score), Err(MidiError::BadBpm(_))));
    score.tempos = vec![TempoChange {
        step: 0,
        bpm: f64::NAN,
    }];
    assert!(matches!(midi::write(&score), Err(MidiError::BadBpm(_))));
    score.tempos.clear();
    score.meters = vec![MeterChange {
        step: 0,
        meter: Meter::new(3, 3),
    }];
    assert!(matches!(
        midi::write(&score),
        Err(MidiError::BadMeter { .. })
    ));
    score.meters.clear();
    score.parts[0].notes[0].pitch = 128;
    assert!(matches!(
        midi::write(&score),
        Err(MidiError::BadPitch(128, _))
    ));
    score.parts[0].notes[0].pitch = 60;
    score.parts[0].channel = 16;
    assert!(matches!(
        midi::write(&score),
        Err(MidiError::BadChannel(16, _))
    ));
    score.parts[0].channel = 0;
    score.parts[0].notes[0].velocity = 0; // would be a note-off: written as 1
    let back = midi::read(&midi::write(&score).unwrap(), 0.25).unwrap();
    assert_eq!(back.parts[0].notes[0].velocity, 1);
}

/// A small deterministic generator for the hostile-input battery.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

#[test]
fn hostile_files_give_errors_not_panics() {
    let conductor = vec![tempo(0, 100.0), meter(0, 3, 4)];
    let mut chords = Vec::new();
    for i in 0..4u64 {
        chords.extend(note(i * 96, 96, 0, 60 + i as u8, true));
        chords.extend(note(i * 96, 48, 0, 72 - i as u8, false));
    }
    let base = smf(
        Format::Parallel,
        96,
        vec![conductor, melody(96, false), chords],
    );
    assert!(midi::read(&base, 0.25).is_ok());

    // Every truncation.
    for cut in 0..base.len() {
        let _ = midi::read(&base[..cut], 0.25);
    }
    // Deterministic bit flips, one to three at a time.
    let mut rng = Lcg(7);
    for _ in 0..600 {
        let mut file = base.clone();
        for _ in 0..1 + rng.next() % 3 {
            let at = rng.next() as usize % file.len();
            file[at] ^= 1 << (rng.next() % 8);
        }
        for step in [0.25, 1.0 / 64.0] {
            if let Ok(score) = midi::read(&file, step) {
                assert!(score.len <= MAX_STEPS);
                assert!(!score.parts.is_empty());
                let _ = midi::write(&score);
            }
        }
    }

    // Absurd header values.
    let header = |format: u16, tracks: u16, division: u16, len: u32| {
        let mut f = b"MThd".to_vec();
        f.extend(6u32.to_be_bytes());
        f.extend(format.to_be_bytes());
        f.extend(tracks.to_be_bytes());
        f.extend(division.to_be_bytes());
        f.extend(b"MTrk");
        f.extend(len.to_be_bytes());
        f.extend([0x00, 0x90, 60, 100, 0x60, 60, 0, 0x00, 0xFF, 0x2F, 0x00]);
        f
    };
    for (format, tracks, division, len) in [
        (1, 65535, 96, 11),   // more tracks claimed than present
        (1, 1, 96, u32::MAX), // a track claiming 4 GiB
        (0, 1, 0, 11),        // PPQ 0
        (0, 1, 65535, 11),    // top bit set: SMPTE with a bogus frame rate
        (0, 1, 0xE728, 11),   // SMPTE 25 fps
        (0, 1, 0x7FFF, 11),   // the largest PPQ
        (7, 1, 96, 11),       // unknown format
        (0, 1, 96, 0),        // zero-length track
    ] {
        let file = header(format, tracks, division, len);
        let result = midi::read(&file, 0.25);
        match (division, len) {
            (0, _) => assert!(matches!(result, Err(MidiError::ZeroPpq))),
            (0xE728, _) => assert!(matches!(result, Err(MidiError::SmpteTiming))),
            (_, 0) => assert!(result.is_err()),
            _ => {}
        }
    }
    // A header chunk claiming a terabyte-scale length.
    let mut huge = b"MThd\xff\xff\xff\xff\0\x01\0\x01\0\x60".to_vec();
    huge.extend(&base[14..]);
    let _ = midi::read(&huge, 0.25);

    // Fifty thousand zero-length tracks, then one with a note.
    let mut file = b"MThd\0\0\0\x06\0\x01\xff\xff\0\x60".to_vec();
    for _ in 0..50_000 {
        file.extend(b"MTrk\0\0\0\0");
    }
    file.extend(b"MTrk\0\0\0\x0b");
    file.extend([0x00, 0x90, 60, 100, 0x18, 60, 0, 0x00, 0xFF, 0x2F, 0x00]);
    let score = midi::read(&file, 0.25).unwrap();
    assert_eq!(score.parts[0].name, "Track 50001");
    assert_eq!(notes(&score.parts[0]), vec![(0, 1, 60)]);

    // 10,000 simultaneous note-ons, on every channel and key, never released.
    let mut track = Vec::new();
    for i in 0..10_000u32 {
        track.extend([0x00, 0x90 | (i % 16) as u8, (i / 16 % 128) as u8, 100]);
    }
    track.extend([0x60, 0xFF, 0x2F, 0x00]);
    let mut file = b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk".to_vec();
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(&track);
    let score = midi::read(&file, 0.25).unwrap();
    // Drums dropped; 15 channels, each its own part, one note per key.
    assert_eq!(score.parts.len(), 15);
    assert!(score.parts.iter().all(|p| p.notes.len() <= 128));
    assert!(midi::read(&midi::write(&score).unwrap(), 0.25).is_ok());

    // The same cluster on one channel splits into one voice per key.
    let mut track = Vec::new();
    for i in 0..10_000u32 {
        track.extend([0x00, 0x90, (i % 128) as u8, 100]);
    }
    track.extend([0x60, 0xFF, 0x2F, 0x00]);
    let mut file = b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk".to_vec();
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(&track);
    let score = midi::read(&file, 0.25).unwrap();
    assert_eq!(score.parts.len(), 128);
}

#[test]
fn voice_splitting_cannot_blow_up() {
    // 99 held notes on one channel and a key among them going on and off every
    // other step: each time it sounds or stops, the 50 notes below it change
    // rank and are restarted in other voices, so 100,000 steps of this would
    // split into some 5 million notes. Reading stops at the note limit instead.
    let mut track = Vec::new();
    for k in (10u8..110).filter(|&k| k != 60) {
        track.extend([0x00, 0x90, k, 100]);
    }
    for i in 0..50_000u32 {
        // 96 ppq: 24 ticks a 16th. On for one step, off for one.
        let gap = if i == 0 { 0x00 } else { 0x18 };
        track.extend([gap, 0x90, 60, 100, 0x18, 0x90, 60, 0]);
    }
    track.extend([0x00, 0xFF, 0x2F, 0x00]);
    let mut file = b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk".to_vec();
    file.extend((track.len() as u32).to_be_bytes());
    file.extend(&track);
    let err = midi::read(&file, 0.25).unwrap_err();
    assert!(matches!(err, MidiError::TooManyNotes { .. }), "{err}");

    // A tenth of it is fine: 100 voices, the lower 50 restarted on every step.
    let short = 4 * 99 + 8 * 5_000;
    let mut small = track[..short].to_vec();
    small.extend([0x00, 0xFF, 0x2F, 0x00]);
    let mut file = b"MThd\0\0\0\x06\0\0\0\x01\0\x60MTrk".to_vec();
    file.extend((small.len() as u32).to_be_bytes());
    file.extend(&small);
    let score = midi::read(&file, 0.25).unwrap();
    assert_eq!(score.parts.len(), 100);
    assert_eq!(score.len, 9_999);
    // The lowest voice exists only while the trilled key sounds...
    let lowest = &score.parts[99].notes;
    assert_eq!(lowest.len(), 5_000);
    assert!(lowest
        .iter()
        .all(|n| n.pitch == 10 && n.len == 1 && n.start % 2 == 0));
    // ...and the one above it moves between keys 11 and 10 on every step.
    assert_eq!(score.parts[98].notes.len(), 9_999);
}
