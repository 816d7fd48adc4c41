//! The annotated chorales reader: tokens, bar positions, fermatas, refusals
//! of malformed pieces, and the counts of the shared file.

mod common;

use bach_engine::score::MeterChange;
use bach_engine::Token::{self, Hold, Onset, Rest};
use bach_engine::{BarPosition, Meter};
use bach_trainer::dataset::chorales::{parse_chorales, read_chorales, Chorale, ChoraleSplit};
use bach_trainer::dataset::DatasetError;

/// One piece in the file's format, with `fields` overriding the defaults
/// (a 4/4 piece of 16 steps, key of C major, no pickup, no fermata).
fn piece(fields: &[(&str, &str)]) -> String {
    let mut all = vec![
        ("id", r#""bwv0.1""#),
        ("split", r#""train""#),
        (
            "key",
            r#"{"tonic": 0, "mode": "major", "name": "C major", "r": 0.9}"#,
        ),
        ("meters", "[[0, 4, 4]]"),
        ("pickup_16ths", "0"),
        ("length_16ths", "16"),
        ("fermatas", "[]"),
        ("play_order", "[[0, 16]]"),
        (
            "voices",
            r#"{"S": [[0, 16, 72]], "A": [[0, 16, 67]], "T": [[0, 16, 64]], "B": [[0, 16, 48]]}"#,
        ),
    ];
    for (k, v) in fields {
        match all.iter_mut().find(|(name, _)| name == k) {
            Some(slot) => slot.1 = v,
            None => all.push((k, v)),
        }
    }
    let body: Vec<String> = all.iter().map(|(k, v)| format!("\"{k}\": {v}")).collect();
    format!("{{{}}}", body.join(", "))
}

fn file(pieces: &[String]) -> String {
    format!(
        r#"{{"description": "test", "grid": "16ths", "chorales": [{}]}}"#,
        pieces.join(",")
    )
}

fn one(fields: &[(&str, &str)]) -> Chorale {
    let mut all = parse_chorales(&file(&[piece(fields)])).unwrap();
    assert_eq!(all.len(), 1);
    all.pop().unwrap()
}

fn voice(c: &Chorale, v: usize) -> Vec<Token> {
    (0..c.steps).map(|t| c.tokens[t * 4 + v]).collect()
}

#[test]
fn notes_become_onsets_holds_and_rests() {
    let c = one(&[
        ("length_16ths", "8"),
        (
            "voices",
            // S: a repeated 72 (two notes), A: a rest in the middle, T: one
            // long note, B: starts late, listed out of order.
            r#"{"S": [[0, 2, 72], [2, 2, 72], [4, 4, 74]],
                "A": [[0, 2, 67], [5, 3, 65]],
                "T": [[0, 8, 64]],
                "B": [[6, 2, 43], [2, 4, 48]]}"#,
        ),
    ]);
    assert_eq!(c.id, "bwv0.1");
    assert_eq!(c.split, ChoraleSplit::Train);
    assert_eq!(c.steps, 8);
    assert_eq!(c.tokens.len(), 32);
    assert_eq!(
        voice(&c, 0),
        [
            Onset(72),
            Hold,
            Onset(72),
            Hold,
            Onset(74),
            Hold,
            Hold,
            Hold
        ]
    );
    assert_eq!(
        voice(&c, 1),
        [Onset(67), Hold, Rest, Rest, Rest, Onset(65), Hold, Hold]
    );
    assert_eq!(
        voice(&c, 2),
        [Onset(64), Hold, Hold, Hold, Hold, Hold, Hold, Hold]
    );
    assert_eq!(
        voice(&c, 3),
        [Rest, Rest, Onset(48), Hold, Hold, Hold, Onset(43), Hold]
    );
}

#[test]
fn length_is_the_longer_of_the_notated_length_and_the_notes() {
    // A trailing rest in every voice: the notated length wins.
    let c = one(&[("length_16ths", "20")]);
    assert_eq!(c.steps, 20);
    assert_eq!(c.tokens[16 * 4..], [Rest; 16]);
    // A note past the notated length: the note wins.
    let c = one(&[
        ("length_16ths", "4"),
        (
            "voices",
            r#"{"S": [[0, 6, 72]], "A": [], "T": [], "B": [[0, 4, 48]]}"#,
        ),
    ]);
    assert_eq!(c.steps, 6);
    assert_eq!(voice(&c, 0)[5], Hold);
    assert_eq!(voice(&c, 1), [Rest; 6]);
    assert_eq!(voice(&c, 3)[4..], [Rest, Rest]);
}

#[test]
fn keys_and_splits_are_read() {
    let c = one(&[
        ("split", r#""excluded""#),
        ("key", r#"{"tonic": 9, "mode": "minor"}"#),
    ]);
    assert_eq!((c.tonic, c.minor), (9, true));
    assert_eq!(c.split, ChoraleSplit::Excluded);
    let splits = ["train", "valid", "test", "extra", "excluded"];
    for (name, split) in splits.iter().zip([
        ChoraleSplit::Train,
        ChoraleSplit::Valid,
        ChoraleSplit::Test,
        ChoraleSplit::Extra,
        ChoraleSplit::Excluded,
    ]) {
        let quoted = format!("\"{name}\"");
        assert_eq!(one(&[("split", &quoted)]).split, split);
        assert_eq!(split.name(), *name);
    }
}

#[test]
fn bar_positions_follow_the_pickup() {
    // 4/4 with a quarter-note pickup.
    let c = one(&[("pickup_16ths", "4"), ("length_16ths", "36")]);
    assert_eq!(c.pickup, 4);
    assert_eq!(c.bar_position(0), (12, Meter::new(4, 4)));
    assert_eq!(c.bar_position(3), (15, Meter::new(4, 4)));
    assert_eq!(c.bar_position(4), (0, Meter::new(4, 4)));
    assert_eq!(c.bar_position(19), (15, Meter::new(4, 4)));
    assert_eq!(c.bar_position(20), (0, Meter::new(4, 4)));
    assert_eq!(c.bar_position(30), (10, Meter::new(4, 4)));
    // No pickup: bars from step 0.
    let c = one(&[("length_16ths", "36")]);
    assert_eq!(c.bar_position(0), (0, Meter::new(4, 4)));
    assert_eq!(c.bar_position(17), (1, Meter::new(4, 4)));
}

#[test]
fn bar_positions_follow_meter_changes() {
    // 4/4 with a pickup, 3/4 from step 36 (mid-bar: the change starts a new
    // bar), 3/2 from step 60.
    let c = one(&[
        ("meters", "[[0, 4, 4], [36, 3, 4], [60, 3, 2]]"),
        ("pickup_16ths", "4"),
        ("length_16ths", "120"),
    ]);
    assert_eq!(
        c.meters,
        [
            MeterChange {
                step: 0,
                meter: Meter::new(4, 4),
            },
            MeterChange {
                step: 36,
                meter: Meter::new(3, 4),
            },
            MeterChange {
                step: 60,
                meter: Meter::new(3, 2),
            },
        ]
    );
    assert_eq!(c.bar_position(0), (12, Meter::new(4, 4)));
    assert_eq!(c.bar_position(35), (15, Meter::new(4, 4)));
    assert_eq!(c.bar_position(36), (0, Meter::new(3, 4)));
    assert_eq!(c.bar_position(47), (11, Meter::new(3, 4)));
    assert_eq!(c.bar_position(48), (0, Meter::new(3, 4)));
    assert_eq!(c.bar_position(59), (11, Meter::new(3, 4)));
    assert_eq!(c.bar_position(60), (0, Meter::new(3, 2)));
    assert_eq!(c.bar_position(83), (23, Meter::new(3, 2)));
    assert_eq!(c.bar_position(84), (0, Meter::new(3, 2)));
    // Past the end the last meter goes on.
    assert_eq!(c.bar_position(1_000), ((1_000 - 60) % 24, Meter::new(3, 2)));
    // The meters a host would report: a pickup's bar line a bar before its
    // end, each change a bar line; the training piece is placed by them.
    let regions = c.meter_regions();
    assert_eq!(regions[0].bar_step, 4 - 16);
    assert_eq!((regions[1].bar_step, regions[2].bar_step), (36, 60));
    let piece = c.piece();
    let context = piece.context().expect("a chorale has its context");
    assert_eq!(context.meters, regions);
    for (t, step, meter) in [
        (0, 12, Meter::new(4, 4)),
        (35, 15, Meter::new(4, 4)),
        (36, 0, Meter::new(3, 4)),
        (59, 11, Meter::new(3, 4)),
        (83, 23, Meter::new(3, 2)),
    ] {
        assert_eq!(
            context.bars[t],
            BarPosition::new(step, meter, 0.25),
            "step {t}"
        );
    }
}

#[test]
fn three_four_with_a_pickup() {
    let c = one(&[
        ("meters", "[[0, 3, 4]]"),
        ("pickup_16ths", "4"),
        ("length_16ths", "28"),
    ]);
    assert_eq!(c.bar_position(0), (8, Meter::new(3, 4)));
    assert_eq!(c.bar_position(4), (0, Meter::new(3, 4)));
    assert_eq!(c.bar_position(15), (11, Meter::new(3, 4)));
    assert_eq!(c.bar_position(16), (0, Meter::new(3, 4)));
}

#[test]
fn fermatas_cover_the_whole_soprano_note() {
    let c = one(&[
        ("length_16ths", "12"),
        ("fermatas", "[8, 2]"),
        (
            "voices",
            r#"{"S": [[0, 2, 72], [2, 4, 72], [8, 3, 71]],
                "A": [[0, 12, 67]], "T": [[0, 12, 64]], "B": [[0, 12, 48]]}"#,
        ),
    ]);
    assert_eq!(c.fermatas, [2, 8]);
    let marked: Vec<bool> = (0..14).map(|t| c.is_fermata(t)).collect();
    assert_eq!(
        marked,
        [
            false, false, // the first 72, no fermata
            true, true, true, true, // the repeated 72 with one
            false, false, // a rest
            true, true, true,  // the 71 with one
            false, // a rest
            false, false, // past the end
        ]
    );
}

/// The reason of a refused piece.
fn refused(fields: &[(&str, &str)]) -> String {
    match parse_chorales(&file(&[piece(fields)])) {
        Ok(_) => panic!("accepted {fields:?}"),
        Err(reason) => {
            assert!(reason.contains("bwv0.1"), "no piece named: {reason}");
            reason
        }
    }
}

#[test]
fn malformed_pieces_are_refused_with_the_reason() {
    let voices = |s: &str| {
        format!(r#"{{"S": {s}, "A": [[0, 16, 67]], "T": [[0, 16, 64]], "B": [[0, 16, 48]]}}"#)
    };
    let cases: Vec<(Vec<(&str, String)>, &str)> = vec![
        (vec![("voices", voices("[[0, 16, 128]]"))], "pitch 128"),
        (vec![("voices", voices("[[0, 0, 72]]"))], "duration 0"),
        (vec![("voices", voices("[[0, 16, -1]]"))], "invalid value"),
        (vec![("voices", voices("[[0, 16, 72.5]]"))], "invalid type"),
        (vec![("voices", voices("[[0, 16]]"))], "invalid length"),
        (
            vec![("voices", voices("[[0, 8, 72], [4, 8, 74]]"))],
            "overlap",
        ),
        (
            vec![("voices", voices("[[4, 8, 74], [0, 8, 72]]"))],
            "overlap",
        ),
        (
            vec![(
                "voices",
                r#"{"S": [], "A": [], "T": [], "B": [], "Q": []}"#.into(),
            )],
            "unknown field `Q`",
        ),
        (
            vec![("voices", r#"{"S": [], "A": [], "T": []}"#.into())],
            "missing field `B`",
        ),
        (
            vec![("voices", voices("[[18446744073709551615, 1, 72]]"))],
            "beyond",
        ),
        (
            vec![("voices", voices("[[1, 18446744073709551615, 72]]"))],
            "beyond",
        ),
        (vec![("length_16ths", "100000000000".into())], "beyond"),
        (
            vec![("key", r#"{"tonic": 12, "mode": "major"}"#.into())],
            "tonic 12",
        ),
        (
            vec![("key", r#"{"tonic": 2, "mode": "dorian"}"#.into())],
            "unknown variant",
        ),
        (vec![("split", r#""training""#.into())], "unknown variant"),
        (vec![("meters", "[[0, 4, 3]]".into())], "power of two"),
        (vec![("meters", "[[0, 4, 0]]".into())], "power of two"),
        (vec![("meters", "[[0, 4, 256]]".into())], "power of two"),
        (vec![("meters", "[[0, 3, 32]]".into())], "whole number"),
        (vec![("meters", "[[0, 0, 4]]".into())], "numerator"),
        (vec![("meters", "[]".into())], "no meter"),
        (vec![("meters", "[[4, 4, 4]]".into())], "step 0"),
        (
            vec![("meters", "[[0, 4, 4], [0, 3, 4]]".into())],
            "meter change",
        ),
        (
            vec![("meters", "[[0, 4, 4], [16, 3, 4]]".into())],
            "meter change",
        ),
        (vec![("pickup_16ths", "16".into())], "pickup"),
        (vec![("fermatas", "[3]".into())], "fermata"),
        (vec![("fermatas", "[99]".into())], "fermata"),
        (
            vec![
                ("length_16ths", "0".into()),
                ("voices", r#"{"S": [], "A": [], "T": [], "B": []}"#.into()),
            ],
            "no steps",
        ),
    ];
    for (fields, expected) in &cases {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reason = refused(&fields);
        assert!(
            reason.contains(expected),
            "{fields:?}: expected {expected:?} in {reason:?}"
        );
    }
}

#[test]
fn malformed_files_are_refused() {
    for text in ["", "[]", "{}", r#"{"chorales": 3}"#, r#"{"chorales": [3]}"#] {
        let reason = parse_chorales(text).unwrap_err();
        assert!(!reason.is_empty(), "{text:?}");
    }
    // A piece with no id is named by its position.
    let reason = parse_chorales(r#"{"chorales": [{"split": "train"}]}"#).unwrap_err();
    assert!(reason.contains("chorale #0"), "{reason}");
    // Through the file reader: the path is named, and a missing file is an I/O error.
    let dir = common::temp_dir("chorales");
    let path = common::write(&dir, "bad.json", &file(&[piece(&[("fermatas", "[5]")])]));
    match read_chorales(&path) {
        Err(e @ DatasetError::Format { .. }) => {
            let text = e.to_string();
            assert!(
                text.contains("bad.json") && text.contains("bwv0.1"),
                "{text}"
            );
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    assert!(matches!(
        read_chorales(&dir.join("missing.json")),
        Err(DatasetError::Io { .. })
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The figures of `../shared/data/README.md` (section `chorales/`).
#[test]
fn shared_chorales_have_the_documented_counts() {
    let Some(path) = common::shared("chorales/chorales.json") else {
        return;
    };
    let all = read_chorales(&path).unwrap();
    assert_eq!(all.len(), 398);
    let splits = [
        ChoraleSplit::Train,
        ChoraleSplit::Valid,
        ChoraleSplit::Test,
        ChoraleSplit::Extra,
        ChoraleSplit::Excluded,
    ];
    let count = |s| all.iter().filter(|c| c.split == s).count();
    let steps = |s| {
        all.iter()
            .filter(|c| c.split == s)
            .map(|c| c.steps)
            .sum::<usize>()
    };
    assert_eq!(splits.map(count), [225, 75, 77, 10, 11]);
    // The README's step counts are the notated lengths; no note runs past
    // one, so they are also the lengths read.
    assert_eq!(splits.map(steps), [49_172, 16_920, 17_488, 2_872, 2_184]);
    let first = |n, d| {
        all.iter()
            .filter(|c| c.meters[0].meter == Meter::new(n, d))
            .count()
    };
    assert_eq!([first(4, 4), first(3, 4), first(3, 2)], [356, 41, 1]);
    let changing: Vec<&str> = all
        .iter()
        .filter(|c| c.meters.len() > 1)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(changing, ["bwv27.6", "bwv41.6", "bwv304", "bwv362"]);
    let notes: usize = all
        .iter()
        .map(|c| c.tokens.iter().filter(|t| t.onset().is_some()).count())
        .sum();
    assert_eq!(notes, 93_467);
    let fermatas: usize = all.iter().map(|c| c.fermatas.len()).sum();
    assert_eq!(fermatas, 2_455);
    let pickups = |p| all.iter().filter(|c| c.pickup == p).count();
    assert_eq!([pickups(0), pickups(4), pickups(8)], [123, 273, 2]);

    let by_id = |id: &str| all.iter().find(|c| c.id == id).unwrap();
    let c = by_id("bwv1.6");
    assert_eq!((c.tonic, c.minor, c.split), (5, false, ChoraleSplit::Train));
    assert_eq!((c.pickup, c.steps), (4, 320));
    assert!(c.fermatas.is_empty());
    // A minor; the soprano's first fermata is on a repeated C (two onsets).
    let c = by_id("bwv26.6");
    assert_eq!((c.tonic, c.minor), (9, true));
    assert_eq!(
        (8..16).map(|t| c.tokens[t * 4]).collect::<Vec<_>>(),
        [Onset(72), Hold, Hold, Hold, Onset(72), Hold, Hold, Hold]
    );
    assert!(!c.is_fermata(11) && c.is_fermata(12) && c.is_fermata(15));
    // 4/4 → 3/4 → 4/4 with a pickup; the change at 224 starts a bar.
    let c = by_id("bwv41.6");
    assert_eq!((c.tonic, c.minor, c.split), (0, false, ChoraleSplit::Test));
    assert_eq!(c.bar_position(0), (12, Meter::new(4, 4)));
    assert_eq!(c.bar_position(223), (11, Meter::new(4, 4)));
    assert_eq!(c.bar_position(224), (0, Meter::new(3, 4)));
    assert_eq!(c.bar_position(236), (0, Meter::new(3, 4)));
    assert_eq!(c.bar_position(416), (0, Meter::new(4, 4)));
}
