//! Tests of [`super`].

use super::*;

fn note(start: u32, len: u32, pitch: u8) -> Note {
    Note {
        start,
        len,
        pitch,
        velocity: 64,
    }
}

#[test]
fn tokens_cut_earlier_notes_and_keep_the_highest() {
    let part = Part::new(
        "s",
        0,
        vec![
            note(0, 4, 60),
            note(2, 1, 62),
            note(2, 3, 64),
            note(6, 2, 65),
        ],
    );
    use Token::*;
    assert_eq!(
        part.to_tokens(9),
        vec![
            Onset(60),
            Hold,
            Onset(64),
            Hold,
            Hold,
            Rest,
            Onset(65),
            Hold,
            Rest
        ]
    );
    assert_eq!(part.to_tokens(3), vec![Onset(60), Hold, Onset(64)]);
}

#[test]
fn unnormalised_notes_do_not_panic() {
    let part = Part {
        name: "raw".into(),
        channel: 0,
        notes: vec![
            note(5, 0, 60),
            note(2, 9, 64),
            note(1, 1, 62),
            note(40, 3, 70),
        ],
    };
    assert_eq!(part.to_tokens(8).len(), 8);
    let _ = part.split_by_pitch();
    let mut score = Score::new(0.25);
    score.len = 6;
    score.parts = vec![part];
    assert_eq!(score.to_frames().len(), 6);
}

#[test]
fn tokens_round_trip_with_repeated_notes() {
    use Token::*;
    let tokens = vec![
        Onset(60),
        Hold,
        Onset(60),
        Rest,
        Hold,
        Onset(62),
        Onset(62),
        Hold,
    ];
    let part = Part::from_tokens("s", 0, &tokens, 90);
    assert_eq!(part.notes.len(), 4);
    // The hold after a rest is silence.
    let mut expected = tokens.clone();
    expected[4] = Rest;
    assert_eq!(part.to_tokens(8), expected);
}

#[test]
fn normalize_ends_a_note_where_its_pitch_restarts() {
    let part = Part::new(
        "p",
        0,
        vec![
            note(0, 8, 60),
            note(4, 2, 60),
            note(4, 6, 60),
            note(1, 0, 67),
        ],
    );
    assert_eq!(
        part.notes,
        vec![note(0, 4, 60), note(1, 1, 67), note(4, 6, 60)]
    );
}

#[test]
fn split_orders_voices_by_pitch() {
    // A held C under a moving line; then the line drops below the C.
    let part = Part::new(
        "p",
        0,
        vec![
            note(0, 8, 60),
            note(0, 2, 67),
            note(2, 2, 65),
            note(4, 4, 55),
        ],
    );
    assert!(part.is_polyphonic());
    let voices = part.split_by_pitch();
    assert_eq!(voices.len(), 2);
    assert_eq!(voices[0].name, "p 1");
    // Top voice: 67, 65, then the held C (rank 0 once 65 ends).
    assert_eq!(
        voices[0].notes,
        vec![note(0, 2, 67), note(2, 2, 65), note(4, 4, 60)]
    );
    // Lower voice: C until it moves up a rank, then 55.
    assert_eq!(voices[1].notes, vec![note(0, 4, 60), note(4, 4, 55)]);
    assert!(voices.iter().all(|v| !v.is_polyphonic()));
    assert_eq!(part.split_by_pitch_capped(3), None);
}

#[test]
fn frames_sweep_overlapping_parts() {
    let mut s = Score::new(0.25);
    s.len = 4;
    s.parts = vec![
        Part::new("a", 0, vec![note(0, 3, 60)]),
        Part::new("b", 1, vec![note(1, 1, 60), note(2, 2, 64), note(0, 1, 10)]),
    ];
    let f = s.to_frames();
    assert_eq!(f.len(), 4);
    assert_eq!(f[0].pitches().collect::<Vec<_>>(), vec![60]);
    assert_eq!(f[1].pitches().collect::<Vec<_>>(), vec![60]);
    assert_eq!(f[2].pitches().collect::<Vec<_>>(), vec![60, 64]);
    assert_eq!(f[3].pitches().collect::<Vec<_>>(), vec![64]);
    let back = Score::from_frames(0.25, "roll", &f, 64);
    assert_eq!(back.parts[0].notes, vec![note(0, 3, 60), note(2, 2, 64)]);
}

#[test]
fn bar_positions_follow_meters_and_pickups() {
    let mut s = Score::new(0.25);
    assert_eq!(s.position_in_bar(17), 1);
    s.meters = vec![MeterChange {
        step: 0,
        meter: Meter::new(3, 4),
    }];
    assert_eq!(s.position_in_bar(12), 0);
    assert_eq!(s.position_in_bar(13), 1);
    s.meters = vec![MeterChange {
        step: 0,
        meter: Meter::new(6, 8),
    }];
    assert_eq!(s.position_in_bar(11), 11);
    assert_eq!(s.position_in_bar(12), 0);
    // One-beat pickup written as a 1/4 bar before 4/4.
    s.meters = vec![
        MeterChange {
            step: 0,
            meter: Meter::new(1, 4),
        },
        MeterChange {
            step: 4,
            meter: Meter::new(4, 4),
        },
    ];
    assert_eq!(s.position_in_bar(0), 12);
    assert_eq!(s.position_in_bar(3), 15);
    assert_eq!(s.position_in_bar(4), 0);
    assert_eq!(s.position_in_bar(21), 1);
    // 7/8 on a quarter grid: bars of 3.5 steps.
    s.step_beats = 1.0;
    s.meters = vec![MeterChange {
        step: 0,
        meter: Meter::new(7, 8),
    }];
    assert_eq!(s.position_in_bar(3), 3);
    assert_eq!(s.position_in_bar(4), 0);
}

fn change(step: u32, numerator: u8, denominator: u8) -> MeterChange {
    MeterChange {
        step,
        meter: Meter::new(numerator, denominator),
    }
}

#[test]
fn pickups_and_meter_changes_place_the_bar_lines() {
    let mut s = Score::new(0.25);
    assert_eq!(
        s.meter_regions(),
        vec![MeterRegion {
            step: 0,
            meter: Meter::COMMON,
            bar_step: 0
        }]
    );
    // A one-beat pickup before 3/4, then 4/4 from step 52.
    s.meters = vec![change(0, 1, 4), change(4, 3, 4), change(52, 4, 4)];
    let r = s.meter_regions();
    assert_eq!(
        r[0].meter,
        Meter::new(3, 4),
        "the pickup is in the meter after it"
    );
    assert_eq!(r[0].bar_step, -8);
    assert_eq!(r[1].bar_step, 4);
    assert_eq!(r[2].bar_step, 52);
    let bars = MeterRegion::bar_positions(&r, 0.25, 60);
    for t in 0..60u32 {
        assert_eq!(bars[t as usize].step, s.position_in_bar(t), "step {t}");
    }
    assert_eq!(bars[4].bar_steps, 12);
    assert_eq!(bars[56].bar_steps, 16);
    assert!(r.iter().any(|m| m.meter != Meter::COMMON));
}
