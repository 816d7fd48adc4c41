//! A melody played by hand, through the built plugins' real ABIs (CLAP and
//! VST3): notes a few milliseconds early or late, or with random human
//! timing (a seeded generator), in 4/4 with a pickup and in 3/4, legato and
//! detached, at two tempos. Within the Timing tolerance the harmony is the
//! one the same melody gets on the grid; no voice ever sounds under 30 ms;
//! nothing hangs; buffer sizes 1, 37, 512 and 4096 give the same notes,
//! notes arriving in other buffers than their grid steps. And with the
//! transport stopped the harmony follows a player slower or faster than
//! the host's tempo.

use bach_e2e::vst3_host::Vst3Bach;
use bach_e2e::{hanging, ClapBach, Instance, Note};
use bach_engine::meter::Meter;
use bach_engine::score::Note as ScoreNote;
use bach_engine::sequencer::session::{
    host_notes, humanize, stop, voice_notes, MeterRegion, Session, Timeline, Touch, VoiceEvent,
    SAMPLE_RATE,
};

/// A hymn tune on the 16th grid: note lengths in steps and pitches.
struct Tune {
    name: &'static str,
    meter: Meter,
    pickup: u32,
    notes: &'static [(u32, u8)],
}

const TUNES: [Tune; 2] = [
    Tune {
        name: "4/4 with a pickup",
        meter: Meter::new(4, 4),
        pickup: 4,
        notes: &[
            (4, 67),
            (4, 67),
            (4, 66),
            (4, 64),
            (4, 62),
            (4, 67),
            (4, 69),
            (8, 71),
            (4, 71),
            (4, 71),
            (4, 69),
            (2, 67),
            (2, 69),
            (4, 71),
            (4, 72),
            (12, 71),
        ],
    },
    Tune {
        name: "3/4",
        meter: Meter::new(3, 4),
        pickup: 0,
        notes: &[
            (4, 64),
            (4, 67),
            (4, 67),
            (6, 69),
            (2, 67),
            (4, 65),
            (4, 64),
            (4, 62),
            (4, 60),
            (8, 62),
            (4, 64),
            (12, 67),
        ],
    },
];

/// A bar of silence before the tune, so early notes fit.
const LEAD: u32 = 16;

struct Played {
    timeline: Timeline,
    session: Session,
    end: u32,
}

fn score_notes(tune: &Tune, legato: bool) -> Vec<ScoreNote> {
    let mut at = LEAD;
    tune.notes
        .iter()
        .map(|&(len, pitch)| {
            let n = ScoreNote {
                start: at,
                len: if legato { len } else { (len * 3 / 4).max(1) },
                pitch,
                velocity: 90,
            };
            at += len;
            n
        })
        .collect()
}

/// `tune` at `bpm` with the host's transport running, played with `touch`.
fn play(tune: &Tune, bpm: f64, legato: bool, touch: Touch, seed: u64) -> Played {
    let timeline = Timeline::constant(0.25, 0.0, bpm);
    let notes = score_notes(tune, legato);
    let end = notes.iter().map(|n| n.start + n.len).max().unwrap_or(0);
    let input = humanize(&host_notes(&notes, &timeline), touch, seed);
    let regions = [MeterRegion {
        step: 0,
        meter: tune.meter,
        bar_step: (LEAD + tune.pickup) as i64,
    }];
    let length = timeline.sample_of_step(end + 8);
    Played {
        session: timeline.session_in_meters(input, length, &regions),
        timeline,
        end,
    }
}

/// The generated voices' events (channels 2 to 4 by default: A, T, B).
fn voices(notes: &[Note]) -> Vec<VoiceEvent> {
    notes
        .iter()
        .filter(|n| (1..4).contains(&n.channel))
        .map(|n| VoiceEvent {
            sample: n.sample,
            on: n.on,
            voice: n.channel,
            pitch: n.pitch,
            velocity: n.velocity,
        })
        .collect()
}

/// A, T and B's notes on the tune's grid.
fn grid_notes(p: &Played, notes: &[Note]) -> Vec<Vec<ScoreNote>> {
    let mut per_voice = voice_notes(&voices(notes), &p.timeline, 4, p.end + 1);
    per_voice.remove(0);
    per_voice
}

/// The shortest generated note in milliseconds.
fn shortest_ms(notes: &[Note]) -> f64 {
    let events = voices(notes);
    let mut shortest = f64::INFINITY;
    for v in 1..4 {
        let mine: Vec<_> = events.iter().filter(|e| e.voice == v).collect();
        for w in mine.windows(2) {
            if w[0].on {
                shortest = shortest.min((w[1].sample - w[0].sample) as f64 * 1e3 / SAMPLE_RATE);
            }
        }
    }
    shortest
}

fn human() -> Touch {
    Touch::Human {
        sigma_ms: 20.0,
        max_ms: 40.0,
    }
}

/// Plays sessions through one plugin format at one buffer size.
trait Host {
    fn play(&mut self, session: &Session, size: u32) -> Vec<Note>;
}

struct Clap;
struct Vst3;

impl Host for Clap {
    fn play(&mut self, session: &Session, size: u32) -> Vec<Note> {
        ClapBach::load(4096).run(session, size, &[])
    }
}

impl Host for Vst3 {
    fn play(&mut self, session: &Session, size: u32) -> Vec<Note> {
        Vst3Bach::load(4096).run(session, size, &[])
    }
}

/// Every tune, tempo and articulation in `cases`, played with each touch:
/// the notes of the on-grid performance, no short voice, nothing hanging.
fn as_on_the_grid(host: &mut dyn Host, cases: &[(usize, f64, bool)], touches: &[(Touch, u64)]) {
    for &(t, bpm, legato) in cases {
        let tune = &TUNES[t];
        let grid = play(tune, bpm, legato, Touch::OnGrid, 0);
        let expected = grid_notes(&grid, &host.play(&grid.session, 512));
        assert!(expected.iter().all(|v| v.len() >= 6), "the harmony plays");
        for &(touch, seed) in touches {
            let what = format!(
                "{}, {bpm} bpm, {}, {}, seed {seed}",
                tune.name,
                if legato { "legato" } else { "detached" },
                touch.name()
            );
            let p = play(tune, bpm, legato, touch, seed);
            let out = host.play(&p.session, 512);
            assert_eq!(grid_notes(&p, &out), expected, "{what}");
            let shortest = shortest_ms(&out);
            assert!(shortest >= 30.0, "{what}: a voice sounds {shortest:.1} ms");
            assert!(hanging(&out).is_empty(), "{what}: {:?} hang", hanging(&out));
        }
    }
}

#[test]
fn clap_harmonizes_a_melody_played_by_hand_as_on_the_grid() {
    let mut cases = Vec::new();
    for t in 0..TUNES.len() {
        for bpm in [80.0, 110.0] {
            for legato in [true, false] {
                cases.push((t, bpm, legato));
            }
        }
    }
    let touches = [
        (Touch::Shifted(15.0), 0),
        (Touch::Shifted(-15.0), 0),
        (human(), 1),
        (human(), 2),
    ];
    as_on_the_grid(&mut Clap, &cases, &touches);
}

#[test]
fn vst3_harmonizes_a_melody_played_by_hand_as_on_the_grid() {
    let cases = [(0, 80.0, true), (1, 110.0, false)];
    let touches = [(Touch::Shifted(15.0), 0), (human(), 3)];
    as_on_the_grid(&mut Vst3, &cases, &touches);
}

#[test]
fn a_melody_played_by_hand_plays_the_same_for_every_buffer_size() {
    let p = play(&TUNES[1], 110.0, true, human(), 4);
    let reference = Clap.play(&p.session, 1);
    assert!(voices(&reference).len() > 40);
    for size in [37, 512, 4096] {
        assert!(
            Clap.play(&p.session, size) == reference,
            "CLAP, buffer size {size}"
        );
    }
    // VST3 reads the song position as f64, CLAP in fixed point: a grid step
    // may land a sample apart; the notes are the same.
    let vst3 = Vst3.play(&p.session, 37);
    assert_eq!(vst3.len(), reference.len());
    for (a, b) in vst3.iter().zip(&reference) {
        assert!(
            (a.on, a.channel, a.pitch) == (b.on, b.channel, b.pitch)
                && (a.sample - b.sample).abs() <= 1,
            "VST3 {a:?} vs CLAP {b:?}"
        );
    }
}

#[test]
fn with_the_transport_stopped_the_harmony_follows_the_player() {
    for (host, name) in [
        (&mut Clap as &mut dyn Host, "CLAP"),
        (&mut Vst3 as &mut dyn Host, "VST3"),
    ] {
        for factor in [0.8, 1.2] {
            // The host says 100 bpm; the player plays at 80 or 120.
            let timeline = Timeline::constant(0.25, 0.0, 100.0 * factor);
            let notes = score_notes(&TUNES[0], true);
            let end = notes.iter().map(|n| n.start + n.len).max().unwrap();
            let input = humanize(
                &host_notes(&notes, &timeline),
                Touch::Human {
                    sigma_ms: 10.0,
                    max_ms: 30.0,
                },
                6,
            );
            let session = Session {
                segments: vec![stop(0, 100.0)],
                notes: input.clone(),
                length: timeline.sample_of_step(end + 8),
            };
            let out = host.play(&session, 512);
            let what = format!("{name}, the player at {factor} of the tempo");
            let ons: Vec<i64> = voices(&out)
                .iter()
                .filter(|e| e.on)
                .map(|e| e.sample)
                .collect();
            // The harmony starts with the melody: never in the 40 ms before
            // a melody note, and where the voices move with it, at its very
            // sample (or, legato downwards, when the old key is let go).
            let tolerance = (0.040 * SAMPLE_RATE) as i64;
            let mut with_melody = 0;
            let melody: Vec<_> = input.iter().filter(|n| n.on).collect();
            for n in &melody {
                let early = ons
                    .iter()
                    .find(|&&s| s < n.sample && n.sample - s < tolerance);
                assert!(
                    early.is_none(),
                    "{what}: harmony at {early:?} before the note at {}",
                    n.sample
                );
                let released = input
                    .iter()
                    .find(|m| !m.on && m.pitch > n.pitch && m.sample > n.sample)
                    .filter(|m| m.sample - n.sample < tolerance)
                    .map(|m| m.sample);
                if ons.contains(&n.sample) || released.is_some_and(|r| ons.contains(&r)) {
                    with_melody += 1;
                }
            }
            assert!(
                with_melody * 4 >= melody.len() * 3,
                "{what}: only {with_melody} of {} melody notes bring harmony",
                melody.len()
            );
            let p = Played {
                timeline,
                session,
                end,
            };
            let grid = grid_notes(&p, &out);
            assert!(
                grid.iter().all(|v| v.len() >= 6),
                "{what}: the harmony plays"
            );
            let shortest = shortest_ms(&out);
            assert!(shortest >= 30.0, "{what}: a voice sounds {shortest:.1} ms");
            assert!(hanging(&out).is_empty(), "{what}");
        }
    }
}
