//! Tests of [`super`].

use super::*;
use crate::ahead::{Ahead, Upcoming};
use crate::BarPosition;

#[test]
fn root_position_triads_are_complete_with_the_root_in_the_bass() {
    let t = |p: &[u8]| is_root_position_triad(p.iter().copied(), p[3]);
    assert!(t(&[67, 64, 60, 48]), "C major: G E C / C");
    assert!(t(&[69, 64, 60, 45]), "A minor");
    assert!(!t(&[67, 60, 55, 52]), "C major over E: an inversion");
    assert!(!t(&[72, 64, 60, 48]), "no fifth");
    assert!(!t(&[70, 64, 60, 48]), "a seventh");
    assert!(!t(&[68, 64, 60, 48]), "augmented: no fifth");
}

#[test]
fn complete_root_position_triads_and_a_fifth_below_score() {
    // C major: C3 G3 E4 C5; from G2 in the bass.
    let c = [Some(72), Some(64), Some(55), Some(48)];
    assert_eq!(close_bonus(&c, Some(43)), TRIAD_BONUS + FIFTH_BASS_BONUS);
    assert_eq!(close_bonus(&c, Some(45)), TRIAD_BONUS, "A to C: no V-I");
    // A minor in root position.
    assert_eq!(
        close_bonus(&[Some(72), Some(64), Some(57), Some(45)], None),
        TRIAD_BONUS
    );
    // First inversion (E in the bass), no fifth (C C E C), a seventh.
    assert_eq!(
        close_bonus(&[Some(72), Some(67), Some(60), Some(52)], None),
        0.0
    );
    assert_eq!(
        close_bonus(&[Some(72), Some(64), Some(60), Some(48)], None),
        0.0
    );
    assert_eq!(
        close_bonus(&[Some(70), Some(64), Some(55), Some(48)], None),
        0.0
    );
    assert_eq!(close_bonus(&[None; 4], None), 0.0);
}

#[test]
fn the_beat_before_a_close_prepares_its_dominant() {
    // 4/4, beat 2; a bar ahead: the melody's next note, C a beat away,
    // is followed by nothing for two beats: a close on C major.
    let mut ctx = StepContext {
        bar: BarPosition::common(4),
        key: None,
        ahead: Ahead {
            horizon: Horizon::Bar,
            ..Ahead::default()
        },
    };
    ctx.ahead.notes[0] = Some(Upcoming {
        pitch: 72,
        steps: 4,
    });
    ctx.ahead.notes[1] = Some(Upcoming {
        pitch: 74,
        steps: 12,
    });
    assert_eq!(cadence_of(&ctx, true), Cadence::Prepare { root: 0 });
    assert_eq!(
        cadence_of(&ctx, false),
        Cadence::Prepare { root: 0 },
        "the melody holds"
    );
    // G, the fifth degree, closes on the dominant as Bach's mostly do
    // (a half cadence), prepared by its own dominant, D.
    ctx.ahead.notes[0] = Some(Upcoming {
        pitch: 67,
        steps: 4,
    });
    assert_eq!(cadence_of(&ctx, true), Cadence::Prepare { root: 7 });
    // In a minor key its third closes on the relative major.
    ctx.key = Some(crate::key::Key {
        tonic: 0,
        mode: Mode::Minor,
    });
    ctx.ahead.notes[0] = Some(Upcoming {
        pitch: 63,
        steps: 4,
    });
    assert_eq!(cadence_of(&ctx, true), Cadence::Prepare { root: 3 });
    ctx.key = None;
    // B closes on G (the dominant's triad holds it, the tonic's not).
    ctx.ahead.notes[0] = Some(Upcoming {
        pitch: 71,
        steps: 4,
    });
    assert_eq!(cadence_of(&ctx, true), Cadence::Prepare { root: 7 });
    // Half a beat before the close (the bass may move there too).
    ctx.bar = BarPosition::common(6);
    ctx.ahead.notes[0] = Some(Upcoming {
        pitch: 72,
        steps: 2,
    });
    ctx.ahead.notes[1] = Some(Upcoming {
        pitch: 74,
        steps: 10,
    });
    assert_eq!(cadence_of(&ctx, false), Cadence::Prepare { root: 0 });
    // A close off the beat is none.
    ctx.bar = BarPosition::common(5);
    assert_eq!(cadence_of(&ctx, false), Cadence::None);
    ctx.bar = BarPosition::common(4);
    ctx.ahead.notes[0] = Some(Upcoming {
        pitch: 71,
        steps: 4,
    });
    ctx.ahead.notes[1] = Some(Upcoming {
        pitch: 74,
        steps: 12,
    });
    // The note after the close comes a beat after it: no close.
    ctx.ahead.notes[1] = Some(Upcoming {
        pitch: 74,
        steps: 8,
    });
    assert_eq!(cadence_of(&ctx, true), Cadence::None);
    // A beat ahead only: what follows the next note is not known.
    ctx.ahead.horizon = Horizon::Beat;
    ctx.ahead.notes[1] = None;
    assert_eq!(cadence_of(&ctx, true), Cadence::None);

    // G7 over G, then a G major triad: prepared; G over B, or a G minor
    // triad, not.
    let prepare = Cadence::Prepare { root: 0 };
    let g7 = [Some(77), Some(71), Some(62), Some(43)];
    assert_eq!(cadence_bonus(prepare, &g7, None), PREPARE_BONUS);
    let g = [Some(74), Some(67), Some(59), Some(43)];
    assert_eq!(cadence_bonus(prepare, &g, None), PREPARE_BONUS);
    assert_eq!(
        cadence_bonus(prepare, &[Some(74), Some(67), Some(55), Some(47)], None),
        0.0
    );
    assert_eq!(
        cadence_bonus(prepare, &[Some(74), Some(70), Some(62), Some(43)], None),
        0.0
    );
    assert_eq!(cadence_bonus(Cadence::None, &g, None), 0.0);
    assert_eq!(
        cadence_bonus(
            Cadence::Close,
            &[Some(72), Some(64), Some(55), Some(48)],
            Some(43)
        ),
        TRIAD_BONUS + FIFTH_BASS_BONUS
    );
}

#[test]
fn a_long_note_on_a_beat_closes_when_the_harmony_looks_ahead() {
    let mut ctx = StepContext {
        bar: BarPosition::common(8),
        key: None,
        ahead: Ahead {
            horizon: Horizon::Beat,
            ..Ahead::default()
        },
    };
    assert!(closes_phrase(&ctx, true));
    assert!(!closes_phrase(&ctx, false), "a held note closed already");
    ctx.ahead.notes[0] = Some(Upcoming {
        pitch: 60,
        steps: 4,
    });
    assert!(!closes_phrase(&ctx, true), "a quarter note goes on");
    ctx.ahead.notes[0] = None;
    ctx.bar = BarPosition::common(9);
    assert!(!closes_phrase(&ctx, true), "off the beat");
    ctx.bar = BarPosition::common(8);
    ctx.ahead.horizon = Horizon::Off;
    assert!(!closes_phrase(&ctx, true), "nothing known ahead");
}
