//! The classic cases, written out by hand: pitches (S A T B), key,
//! expected chord symbol and numeral.

use super::*;
use crate::meter::Meter;

fn key(name: &str) -> Key {
    Key::parse(name).expect("a key name")
}

fn named(pitches: &[Option<u8>], k: &str) -> (String, String) {
    let a = analyze(pitches, key(k), None);
    (a.symbol().to_string(), a.numeral_text().to_string())
}

fn voices(p: [u8; 4]) -> [Option<u8>; 4] {
    p.map(Some)
}

#[test]
fn classic_cases() {
    #[rustfmt::skip]
    let cases: &[([u8; 4], &str, &str, &str)] = &[
        // C major: cadences, inversions, sevenths.
        ([72, 67, 64, 48], "C", "C", "I"),
        ([71, 67, 62, 55], "C", "G", "V"),
        ([77, 71, 62, 55], "C", "G7", "V7"),
        ([77, 67, 62, 59], "C", "G7/B", "V6/5"),
        ([77, 71, 67, 50], "C", "G7/D", "V4/3"),
        ([74, 71, 67, 53], "C", "G7/F", "V4/2"),
        ([72, 69, 65, 53], "C", "F", "IV"),
        ([72, 65, 60, 57], "C", "F/A", "IV6"),
        ([72, 64, 60, 57], "C", "Am", "vi"),
        ([74, 69, 60, 53], "C", "Dm7/F", "ii6/5"),
        ([74, 69, 62, 53], "C", "Dm/F", "ii6"),
        ([72, 67, 60, 52], "C", "C/E", "I6"),
        ([76, 72, 64, 55], "C", "C/G", "I6/4"),
        ([71, 65, 62, 50], "C", "Bdim/D", "viio6"),
        ([69, 65, 62, 59], "C", "Bø7", "viiø7"),
        ([68, 65, 62, 59], "C", "Bdim7", "viio7"),
        ([76, 72, 69, 53], "C", "Fmaj7", "IVmaj7"),
        ([76, 71, 64, 52], "C", "Em", "iii"),
        // Incomplete chords: no fifth, a seventh chord without its fifth.
        ([76, 72, 60, 48], "C", "C", "I"),
        ([77, 71, 67, 55], "C", "G7", "V7"),
        // Secondary dominants and leading-tone chords.
        ([74, 69, 66, 50], "C", "D", "V/V"),
        ([72, 69, 66, 50], "C", "D7", "V7/V"),
        ([74, 72, 69, 54], "C", "D7/F#", "V6/5/V"),
        ([70, 67, 64, 48], "C", "C7", "V7/IV"),
        ([74, 71, 68, 52], "C", "E7", "V7/vi"),
        ([75, 72, 69, 54], "C", "F#dim7", "viio7/V"),
        ([73, 67, 64, 57], "C", "A7", "V7/ii"),
        // Mixture, Neapolitan, and a chord the numerals leave alone.
        ([75, 72, 68, 56], "C", "Ab", "bVI"),
        ([72, 68, 65, 53], "C", "Fm", "iv"),
        ([73, 68, 65, 53], "c", "Db/F", "N6"),
        ([72, 66, 63, 56], "C", "Ab7", "?"),
        // A suspended fourth over the dominant.
        ([74, 72, 67, 55], "C", "Gsus4", "Vsus4"),
        // A minor: raised leading tone, natural III, VI and VII.
        ([72, 64, 60, 45], "a", "Am", "i"),
        ([71, 68, 64, 52], "a", "E", "V"),
        ([74, 71, 68, 52], "a", "E7", "V7"),
        ([72, 67, 64, 48], "a", "C", "III"),
        ([72, 69, 65, 53], "a", "F", "VI"),
        ([74, 71, 67, 55], "a", "G", "VII"),
        ([77, 74, 71, 56], "a", "G#dim7", "viio7"),
        ([69, 62, 57, 53], "a", "Dm/F", "iv6"),
        ([69, 65, 59, 50], "a", "Bø7/D", "iiø6/5"),
        ([72, 68, 64, 52], "a", "Caug/E", "III+6"),
        ([77, 71, 67, 55], "a", "G7", "V7/III"),
        ([70, 67, 64, 49], "a", "C#dim7", "viio7/iv"),
        ([73, 69, 64, 45], "a", "A", "I"),
        ([71, 68, 64, 56], "a", "E/G#", "V6"),
        // Spelling in flat and sharp keys.
        ([73, 70, 66, 54], "Db", "Gb", "IV"),
        ([77, 73, 70, 58], "Db", "Bbm", "vi"),
        ([73, 70, 67, 51], "Db", "Eb7", "V7/V"),
        ([73, 69, 66, 54], "D", "F#m", "iii"),
        ([76, 67, 61, 52], "D", "C#dim/E", "viio6"),
        ([73, 68, 61, 53], "f#", "C#/E#", "V6"),
        ([74, 69, 62, 54], "g", "D/F#", "V6"),
        ([72, 68, 65, 50], "c", "Dø7", "iiø7"),
        ([70, 67, 64, 48], "Eb", "C7", "V7/ii"),
    ];
    let wrong: Vec<String> = cases
        .iter()
        .filter_map(|&(pitches, k, symbol, numeral)| {
            let got = named(&voices(pitches), k);
            (got != (symbol.to_string(), numeral.to_string()))
                .then(|| format!("{pitches:?} in {k}: {got:?}, expected {symbol} {numeral}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(cases.len() >= 40);
}

#[test]
fn unisons_octaves_and_silence_are_no_chord() {
    for pitches in [
        [Some(60), Some(60), Some(48), None],
        [Some(72), Some(60), Some(48), Some(36)],
        [None; 4],
    ] {
        assert_eq!(named(&pitches, "C"), ("N.C.".into(), "N.C.".into()));
    }
}

#[test]
fn the_doubled_root_and_any_voicing_name_the_same_chord() {
    let a = named(&voices([67, 64, 60, 48]), "C");
    let b = named(&voices([76, 67, 60, 36]), "C");
    assert_eq!(a, b);
    assert_eq!(a.0, "C");
}

#[test]
fn a_six_four_over_the_dominant_on_a_strong_beat_is_cadential() {
    let k = key("C");
    let six_four = voices([76, 72, 64, 55]);
    let strong = BarPosition::new(0, Meter::COMMON, 0.25);
    let weak = BarPosition::new(4, Meter::COMMON, 0.25);
    let on = analyze(&six_four, k, Some(strong)).numeral.unwrap();
    let off = analyze(&six_four, k, Some(weak)).numeral.unwrap();
    assert!(on.cadential && !off.cadential);
    assert_eq!(on.to_string(), "I6/4", "written as the corpus writes it");
}

#[test]
fn the_follower_holds_a_chord_through_passing_notes_on_weak_sixteenths() {
    let k = key("C");
    let at = |step| BarPosition::new(step, Meter::COMMON, 0.25);
    let mut f = ChordFollower::new();
    let tonic = f.step(&voices([72, 67, 64, 48]), k, at(0));
    assert_eq!(tonic.symbol(), "C");
    // Soprano C-D and tenor E-F pass together on the second 16th.
    let passing = voices([74, 67, 65, 48]);
    assert_ne!(named(&passing, "C").0, "C", "alone it reads otherwise");
    assert_eq!(f.step(&passing, k, at(1)).symbol(), "C");
    // On the next beat the same notes are named for what they are.
    let mut g = f;
    assert_ne!(g.step(&passing, k, at(4)).symbol(), "C");
    // A leap to a new chord off the beat is a new chord.
    let dominant = voices([71, 67, 62, 55]);
    assert_eq!(f.step(&dominant, k, at(2)).symbol(), "G");
    f.reset();
    assert_eq!(
        f.step(&passing, k, at(1)).symbol().to_string(),
        named(&passing, "C").0
    );
}

#[test]
fn names_fit_the_fixed_text() {
    // The longest numerals and symbols fit with room to spare.
    for k in Key::ALL {
        for root in 0..12 {
            for quality in Quality::ALL {
                let tones = quality.pitch_classes(root);
                for bass in 0..12u8 {
                    if tones & (1 << bass) == 0 {
                        continue;
                    }
                    let mut pitches = [None; 4];
                    pitches[3] = Some(36 + bass);
                    let mut v = 0;
                    for pc in 0..12u8 {
                        if tones & (1 << pc) != 0 && v < 3 {
                            pitches[v] = Some(60 + pc);
                            v += 1;
                        }
                    }
                    let Some(a) = name_chord(&pitches, k, root, quality, None) else {
                        continue;
                    };
                    let mut s = String::new();
                    a.write_symbol(&mut s).unwrap();
                    a.write_numeral(&mut s).unwrap();
                    assert!(a.symbol().as_str().len() + a.numeral_text().as_str().len() == s.len());
                }
            }
        }
    }
}

#[test]
fn a_suspension_resolving_in_the_beat_names_the_chord_it_resolves_into() {
    let k = key("C");
    // G C D G, then the alto's C falls to B: a 4-3 over V.
    let sus = voices([74, 72, 67, 55]);
    let res = voices([74, 71, 67, 55]);
    let beat = [sus, sus, res, res];
    assert_eq!(analyze(&sus, k, None).numeral_text(), "Vsus4");
    assert_eq!(analyze_window(&beat, k, None).numeral_text(), "V");
    // Held through the beat it stays a sus4 chord.
    assert_eq!(analyze_window(&[sus; 4], k, None).numeral_text(), "Vsus4");
    // An appoggiatura G# rising to A over A minor's six-four.
    let a = key("a");
    let app = voices([72, 64, 56, 52]);
    let six_four = voices([72, 64, 57, 52]);
    assert_eq!(analyze(&app, a, None).numeral_text(), "III+6");
    assert_eq!(
        analyze_window(&[app, six_four], a, None).numeral_text(),
        "i6/4"
    );
    // A plain chord keeps its name whatever moves after it.
    let tonic = voices([72, 67, 64, 48]);
    let passing = voices([74, 67, 64, 47]);
    assert_eq!(analyze_window(&[tonic, passing], k, None).symbol(), "C");
    assert_eq!(analyze_window::<4>(&[], k, None), Analysis::NONE);
}
