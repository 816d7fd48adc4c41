//! Where a phrase closes, and the chord Bach closes it on.
//!
//! Bach ends nearly every phrase (88% of the test fermatas) on a complete
//! root-position major or minor triad, most with the bass arriving by a
//! fourth up or a fifth down; the network, deciding a step at a time with
//! no notion of a phrase, ended half of them on an inversion or an
//! incomplete chord. What the harmony can hear of a phrase's end is the
//! melody ahead: a note struck on a beat whose next melody onset is more
//! than a beat away (or not within the lookahead: a long note, a rest or
//! the melody's end next). In the train chorales half of such notes carry
//! a fermata, and they carry 57% of the fermatas
//! (`BENCHMARKS.md`, "Phrase endings and the first bar"). There the chord
//! search ([`super::choose`]) prefers a complete root-position triad and a
//! V–I bass; elsewhere nothing changes. With Lookahead Off nothing ahead is
//! known and the rule never applies, so Off keeps its zero latency.

use crate::model::StepContext;
use crate::Horizon;

/// Added to the log weight (in nats, before the temperature) of a chord
/// that closes as Bach closes: a complete root-position triad, and the bass
/// by a fourth up or fifth down. Chosen on the valid sopranos, seeds 1-3
/// (2/1, 3/1, 3/2, 5/2, 5/3 and 8/3 tried; past 5/3 nothing moves):
/// phrase ends on such a triad a beat / a bar / the whole melody ahead
/// 58% / 65% / 69% without, 78% / 81% / 83% with.
pub const TRIAD_BONUS: f64 = 5.0;
pub const FIFTH_BASS_BONUS: f64 = 3.0;

/// Whether the step of `ctx` closes a phrase, as far as the melody ahead
/// tells: the melody strikes on a beat and its next onset is not within the
/// lookahead (a long note, or a rest or the melody's end next). A step with
/// no lookahead never does.
pub fn closes_phrase(ctx: &StepContext, melody_struck: bool) -> bool {
    let beat = ctx.bar.beat_steps.max(1);
    melody_struck
        && ctx.ahead.horizon != Horizon::Off
        && ctx.bar.in_beat() == 0
        && ctx.ahead.notes[0].is_none_or(|next| next.steps as usize > beat)
}

/// The bonus of a chord sounding `pitches` (`None`: a voice resting), the
/// bass having sounded `bass_before`: [`TRIAD_BONUS`] for a complete
/// root-position major or minor triad (three pitch classes, the lowest
/// note its root), plus [`FIFTH_BASS_BONUS`] when the bass came to that
/// root from a fifth above it (up a fourth or down a fifth).
pub fn bonus(pitches: &[Option<u8>], bass_before: Option<u8>) -> f64 {
    let mut classes = 0u16;
    let mut bass = None::<u8>;
    for p in pitches.iter().flatten() {
        classes |= 1 << (p % 12);
        bass = Some(bass.map_or(*p, |b| b.min(*p)));
    }
    let Some(bass) = bass else { return 0.0 };
    let root = bass % 12;
    let triad = |third: u8| (1 << root) | (1 << ((root + third) % 12)) | (1 << ((root + 7) % 12));
    if classes != triad(4) && classes != triad(3) {
        return 0.0;
    }
    let from_fifth = bass_before.is_some_and(|b| b % 12 == (root + 7) % 12);
    TRIAD_BONUS + if from_fifth { FIFTH_BASS_BONUS } else { 0.0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ahead::{Ahead, Upcoming};
    use crate::BarPosition;

    #[test]
    fn complete_root_position_triads_and_a_fifth_below_score() {
        // C major: C3 G3 E4 C5; from G2 in the bass.
        let c = [Some(72), Some(64), Some(55), Some(48)];
        assert_eq!(bonus(&c, Some(43)), TRIAD_BONUS + FIFTH_BASS_BONUS);
        assert_eq!(bonus(&c, Some(45)), TRIAD_BONUS, "A to C: no V-I");
        // A minor in root position.
        assert_eq!(
            bonus(&[Some(72), Some(64), Some(57), Some(45)], None),
            TRIAD_BONUS
        );
        // First inversion (E in the bass), no fifth (C C E C), a seventh.
        assert_eq!(bonus(&[Some(72), Some(67), Some(60), Some(52)], None), 0.0);
        assert_eq!(bonus(&[Some(72), Some(64), Some(60), Some(48)], None), 0.0);
        assert_eq!(bonus(&[Some(70), Some(64), Some(55), Some(48)], None), 0.0);
        assert_eq!(bonus(&[None; 4], None), 0.0);
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
}
