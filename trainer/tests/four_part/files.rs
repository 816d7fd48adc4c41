//! The synthetic four-part MIDI files of `tests/data/four-part/`, written
//! event by event with midly: short chorale-like harmonizations (I–IV–V–I,
//! I–vi–ii–V–I, i–iv–V–i, i–V–i–iv–V–i, with common tones held and the
//! leading tone rising) moved into several keys, in the layouts a folder of
//! real files shows: a track per voice (named, or not, in any order), a
//! type-0 track with a channel per voice, 4/4 and 3/4, pickups written as a
//! short first bar or as leading rests, fermata markers, a missing key
//! signature; and the files a folder must survive: a truncated one, a
//! three-part one, one whose alto sings a chord.

use midly::num::{u15, u24, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};

pub const PPQ: u64 = 480;

type Chord = [u8; 4];

/// I–IV–V–I in C major, S A T B.
const MAJOR_A: &[Chord] = &[
    [72, 67, 64, 48],
    [72, 69, 65, 53],
    [71, 67, 62, 55],
    [72, 67, 64, 48],
];
/// I–vi–ii–V–I in C major.
const MAJOR_B: &[Chord] = &[
    [76, 67, 60, 48],
    [76, 69, 60, 45],
    [77, 69, 62, 50],
    [74, 67, 59, 43],
    [72, 64, 60, 48],
];
/// i–iv–V–i in A minor.
const MINOR_A: &[Chord] = &[
    [72, 69, 64, 57],
    [74, 69, 65, 50],
    [71, 68, 64, 52],
    [72, 69, 64, 45],
];
/// i–V–i–iv–V–i in A minor.
const MINOR_B: &[Chord] = &[
    [72, 64, 57, 45],
    [71, 64, 56, 52],
    [72, 64, 57, 45],
    [74, 65, 57, 50],
    [71, 64, 56, 52],
    [72, 64, 57, 45],
];

/// How a file lays out its voices.
#[derive(Clone, Copy)]
enum Layout {
    /// Type 1: a conductor track, then a track per voice in this order
    /// (0 = S … 3 = B), named as given (`None`: no name).
    Tracks([usize; 4], [Option<&'static str>; 4]),
    /// Type 0: one track, voice v on channel v.
    Channels,
}

struct Spec {
    name: &'static str,
    layout: Layout,
    /// MIDI key signature: sharps (flats negative) and minor.
    key: Option<(i8, bool)>,
    /// Time signatures: (quarter notes from the start, numerator, denominator).
    meters: &'static [(u64, u8, u8)],
    /// Quarter notes of silence before the first chord.
    lead: u64,
    phrases: &'static [&'static [Chord]],
    /// Semitones from C major / A minor.
    transpose: i8,
    /// A quarter rest in all voices between phrases.
    rests: bool,
    /// A "Fermata" text event on each phrase's last soprano note.
    fermata_text: bool,
    /// Voices left out (a three-part file).
    without: Option<usize>,
    /// An extra alto note at this quarter note (a chord in one voice).
    alto_chord_at: Option<u64>,
}

const SATB: [usize; 4] = [0, 1, 2, 3];
const NAMES: [Option<&str>; 4] = [Some("Soprano"), Some("Alto"), Some("Tenor"), Some("Bass")];

fn specs() -> Vec<Spec> {
    let base = Spec {
        name: "",
        layout: Layout::Tracks(SATB, NAMES),
        key: Some((0, false)),
        meters: &[(0, 4, 4)],
        lead: 0,
        phrases: &[MAJOR_A, MAJOR_B],
        transpose: 0,
        rests: true,
        fermata_text: false,
        without: None,
        alto_chord_at: None,
    };
    vec![
        Spec {
            name: "01-c-major.mid",
            ..base
        },
        Spec {
            name: "02-g-major-waltz-pickup.mid",
            // S, A, T, B by name though the tracks come B, T, S, A.
            layout: Layout::Tracks([3, 2, 0, 1], [Some("B"), Some("T"), Some("S"), Some("A")]),
            key: Some((1, false)),
            meters: &[(0, 3, 4)],
            lead: 2,
            transpose: -5,
            ..base
        },
        Spec {
            name: "03-d-minor-pickup-bar.mid",
            // Unnamed tracks, bass first: ordered by pitch.
            layout: Layout::Tracks([3, 0, 2, 1], [None; 4]),
            key: Some((-1, true)),
            meters: &[(0, 1, 4), (1, 4, 4)],
            phrases: &[MINOR_A, MINOR_B],
            transpose: 5,
            ..base
        },
        Spec {
            name: "04-f-major-type0.mid",
            layout: Layout::Channels,
            key: Some((-1, false)),
            meters: &[(0, 3, 4)],
            phrases: &[MAJOR_B, MAJOR_A],
            transpose: 5,
            ..base
        },
        Spec {
            name: "05-a-minor-fermatas.mid",
            phrases: &[MINOR_A, MINOR_B],
            key: Some((0, true)),
            rests: false,
            fermata_text: true,
            ..base
        },
        Spec {
            name: "06-b-flat-major-no-signature.mid",
            key: None,
            transpose: -2,
            ..base
        },
        Spec {
            name: "07-three-parts.mid",
            without: Some(2),
            ..base
        },
        Spec {
            name: "09-alto-chord.mid",
            key: Some((2, false)),
            transpose: 2,
            alto_chord_at: Some(6),
            ..base
        },
        Spec {
            name: "10-a-major-type0.mid",
            layout: Layout::Channels,
            key: Some((3, false)),
            phrases: &[MAJOR_A, MAJOR_B, MAJOR_A],
            transpose: -3,
            ..base
        },
        Spec {
            name: "11-e-minor.mid",
            key: Some((1, true)),
            meters: &[(0, 3, 4)],
            lead: 2,
            phrases: &[MINOR_B, MINOR_A],
            transpose: -5,
            ..base
        },
    ]
}

pub type Ev = (u64, TrackEventKind<'static>);

pub fn meta(tick: u64, m: MetaMessage<'static>) -> Ev {
    (tick, TrackEventKind::Meta(m))
}

pub fn note(tick: u64, channel: u8, key: u8, on: bool) -> Ev {
    let (key, channel) = (u7::new(key), u4::new(channel));
    let message = if on {
        MidiMessage::NoteOn {
            key,
            vel: u7::new(80),
        }
    } else {
        MidiMessage::NoteOff {
            key,
            vel: u7::new(0),
        }
    };
    (tick, TrackEventKind::Midi { channel, message })
}

/// Meta events first on a tick, then note-offs, then note-ons.
fn rank(kind: &TrackEventKind) -> u8 {
    match kind {
        TrackEventKind::Meta(_) => 0,
        TrackEventKind::Midi {
            message: MidiMessage::NoteOff { .. },
            ..
        } => 1,
        _ => 2,
    }
}

pub fn track(mut events: Vec<Ev>, end: u64) -> Vec<TrackEvent<'static>> {
    events.sort_by_key(|(tick, kind)| (*tick, rank(kind)));
    let mut now = 0;
    let mut out: Vec<TrackEvent<'static>> = events
        .into_iter()
        .map(|(tick, kind)| {
            let delta = u28::new((tick - now) as u32);
            now = tick;
            TrackEvent { delta, kind }
        })
        .collect();
    out.push(TrackEvent {
        delta: u28::new((end - now) as u32),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    out
}

fn write(spec: &Spec) -> Vec<u8> {
    let q = PPQ;
    // Each voice's events, and the end of the music.
    let mut voices: [Vec<Ev>; 4] = Default::default();
    let mut at = spec.lead;
    for (p, phrase) in spec.phrases.iter().enumerate() {
        if p > 0 && spec.rests {
            at += 1;
        }
        for (c, chord) in phrase.iter().enumerate() {
            let last = c + 1 == phrase.len();
            let len = if last { 2 } else { 1 };
            for (v, &pitch) in chord.iter().enumerate() {
                let pitch = (pitch as i8 + spec.transpose) as u8;
                voices[v].push(note(at * q, v as u8, pitch, true));
                voices[v].push(note((at + len) * q, v as u8, pitch, false));
            }
            if last && spec.fermata_text {
                voices[0].push(meta(at * q, MetaMessage::Text(b"Fermata")));
            }
            at += len;
        }
    }
    if let Some(a) = spec.alto_chord_at {
        let pitch = (64 + spec.transpose) as u8;
        voices[1].push(note(a * q, 1, pitch, true));
        voices[1].push(note((a + 1) * q, 1, pitch, false));
    }
    let end = at * q;

    let mut conductor = vec![meta(0, MetaMessage::Tempo(u24::new(750_000)))];
    if let Some((sharps, minor)) = spec.key {
        conductor.push(meta(0, MetaMessage::KeySignature(sharps, minor)));
    }
    for &(quarter, numerator, denominator) in spec.meters {
        let power = denominator.trailing_zeros() as u8;
        let m = MetaMessage::TimeSignature(numerator, power, 24, 8);
        conductor.push(meta(quarter * q, m));
    }
    let (format, tracks) = match spec.layout {
        Layout::Channels => {
            let mut all = conductor;
            for v in voices {
                all.extend(v);
            }
            (Format::SingleTrack, vec![track(all, end)])
        }
        Layout::Tracks(order, names) => {
            let mut tracks = vec![track(conductor, end)];
            for (&v, name) in order.iter().zip(names) {
                if spec.without == Some(v) {
                    continue;
                }
                let mut events = std::mem::take(&mut voices[v]);
                if let Some(name) = name {
                    events.push(meta(0, MetaMessage::TrackName(name.as_bytes())));
                }
                tracks.push(track(events, end));
            }
            (Format::Parallel, tracks)
        }
    };
    let mut smf = Smf::new(Header::new(format, Timing::Metrical(u15::new(q as u16))));
    smf.tracks = tracks;
    let mut out = Vec::new();
    smf.write_std(&mut out).expect("writing to memory");
    out
}

/// Every file of the folder: (name, bytes), in name order.
pub fn all() -> Vec<(&'static str, Vec<u8>)> {
    let mut out: Vec<(&'static str, Vec<u8>)> =
        specs().iter().map(|s| (s.name, write(s))).collect();
    // A file cut off inside its header: no reader can make sense of it.
    let whole = write(&specs()[0]);
    out.push(("08-truncated.mid", whole[..10].to_vec()));
    out.sort();
    out
}
