//! Dataset readers on small fixtures and, when present, on the shared data.

mod common;

use bach_engine::{ModelKind, Token};
use bach_trainer::dataset::{self, Piece, Split};

#[test]
fn pianoroll_fixture_reads_frames() {
    let dir = common::temp_dir("roll");
    let path = common::write(
        &dir,
        "jsb_like.json",
        r#"{"train":[[[60,64,67],[],[62.0]]],"valid":[[[21,108]]],"test":[]}"#,
    );
    let data = dataset::load(&path, None, None).unwrap();
    assert_eq!(data.kind, ModelKind::Pianoroll);
    assert_eq!(
        data.step_beats, 1.0,
        "a JSB roll has a frame per quarter note"
    );
    let Piece::Keys(frames) = &data.train[0] else {
        panic!("not a roll")
    };
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].pitches().collect::<Vec<_>>(), vec![60, 64, 67]);
    assert!(frames[1].is_empty());
    assert_eq!(frames[2].pitches().collect::<Vec<_>>(), vec![62]);
    assert_eq!(data.steps(Split::Valid), 1);
    assert!(data.test.is_empty());
}

#[test]
fn voices_fixture_reads_holds_and_rests() {
    let dir = common::temp_dir("voices");
    let path = common::write(
        &dir,
        "sep.json",
        r#"{"train":[[[72,64,55,48],[72,64,-1,48],[74,64,55,47]]],"valid":[],"test":[]}"#,
    );
    let data = dataset::load(&path, None, None).unwrap();
    assert_eq!(data.kind, ModelKind::Voices);
    assert_eq!(data.step_beats, 0.25);
    assert_eq!(data.voices.len(), 4);
    assert_eq!(data.voices[0].name, "S");
    let Piece::Voices { voices, tokens, .. } = &data.train[0] else {
        panic!("not voices")
    };
    assert_eq!(*voices, 4);
    use Token::*;
    assert_eq!(
        tokens,
        &vec![
            Onset(72),
            Onset(64),
            Onset(55),
            Onset(48),
            Hold,
            Hold,
            Rest,
            Hold,
            // After a rest the same pitch is a new note.
            Onset(74),
            Hold,
            Onset(55),
            Onset(47),
        ]
    );
}

#[test]
fn transposition_stays_in_range() {
    let dir = common::temp_dir("transpose");
    let path = common::write(&dir, "v.json", &common::voices_json(3));
    let data = dataset::load(&path, None, None).unwrap();
    let ranges = data.ranges();
    for piece in &data.train {
        let (lo, hi) = piece.transpositions(&ranges).unwrap();
        assert!(
            lo <= -6 && hi >= 6,
            "SATB ranges are widened by 6 semitones: {lo} {hi}"
        );
        for k in [lo, hi] {
            let Piece::Voices { voices, tokens, .. } = piece.transposed(k) else {
                unreachable!()
            };
            for (i, t) in tokens.iter().enumerate() {
                if let Some(p) = t.onset() {
                    assert!(
                        ranges[i % voices].contains(p),
                        "{p} outside voice {}",
                        i % voices
                    );
                }
            }
        }
    }
    let roll = Piece::Keys(vec![bach_engine::KeyFrame::from_pitches([21, 60])]);
    assert_eq!(roll.transpositions(&[]), Some((0, 48)));
    let Piece::Keys(up) = roll.transposed(12) else {
        unreachable!()
    };
    assert_eq!(up[0].pitches().collect::<Vec<_>>(), vec![33, 72]);
}

#[test]
fn bad_files_are_typed_errors() {
    let dir = common::temp_dir("bad");
    let missing = dataset::load(&dir.join("nope.json"), None, None).unwrap_err();
    assert!(missing.to_string().contains("cannot read"), "{missing}");
    let p = common::write(&dir, "bad.json", r#"{"train": 3}"#);
    assert!(dataset::load(&p, None, None)
        .unwrap_err()
        .to_string()
        .contains("not a dataset"));
    let p = common::write(&dir, "off.json", r#"{"train":[[[10]]]}"#);
    let e = dataset::load(&p, Some(ModelKind::Pianoroll), None).unwrap_err();
    assert!(e.to_string().contains("off the 88-key"), "{e}");
    let p = common::write(&dir, "ragged.json", r#"{"train":[[[60,50],[61]]]}"#);
    let e = dataset::load(&p, Some(ModelKind::Voices), None).unwrap_err();
    assert!(e.to_string().contains("voices"), "{e}");
}

/// Piece and step counts of the shared data (from ../shared/data/README.md).
#[test]
fn shared_pianorolls_have_the_documented_counts() {
    let expected = [
        ("jsb_chorales.json", [229, 76, 77], [13_807, 4_602, 4_725]),
        (
            "nottingham.json",
            [694, 173, 170],
            [176_561, 45_513, 44_463],
        ),
        ("musedata.json", [524, 135, 124], [245_202, 82_755, 64_339]),
        ("piano_midi.json", [87, 12, 25], [75_911, 8_540, 19_036]),
    ];
    for (file, pieces, steps) in expected {
        let Some(path) = common::shared(&format!("pianoroll/{file}")) else {
            return;
        };
        let data = dataset::load(&path, None, None).unwrap();
        assert_eq!(data.kind, ModelKind::Pianoroll, "{file}");
        let splits = [Split::Train, Split::Valid, Split::Test];
        assert_eq!(splits.map(|s| data.split(s).len()), pieces, "{file}");
        assert_eq!(splits.map(|s| data.steps(s)), steps, "{file}");
    }
}

#[test]
fn shared_separated_chorales_have_the_documented_counts() {
    let Some(path) = common::shared("jsb16/Jsb16thSeparated.json") else {
        return;
    };
    let data = dataset::load(&path, None, None).unwrap();
    assert_eq!(data.kind, ModelKind::Voices);
    let splits = [Split::Train, Split::Valid, Split::Test];
    assert_eq!(splits.map(|s| data.split(s).len()), [229, 76, 77]);
    assert_eq!(splits.map(|s| data.steps(s)), [55_228, 18_408, 18_900]);
    // The data fit the standard SATB ranges (data ranges widened by 6).
    let satb = bach_engine::ModelMeta::satb(bach_engine::CoreKind::Gru, 1, 8).voices;
    assert_eq!(data.voices, satb);
    let rests = data
        .train
        .iter()
        .chain(&data.valid)
        .chain(&data.test)
        .map(|p| match p {
            Piece::Voices { tokens, .. } => tokens.iter().filter(|t| **t == Token::Rest).count(),
            _ => 0,
        })
        .sum::<usize>();
    assert_eq!(rests, 1_284);
    // Every chorale can be moved at least a tritone either way.
    for p in &data.train {
        let (lo, hi) = p.transpositions(&data.ranges()).unwrap();
        assert!(lo <= -6 && hi >= 6);
    }
}
