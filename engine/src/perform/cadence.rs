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
//! V–I bass, and, where the lookahead shows the close a beat before it
//! comes, the beat before prefers the dominant of the chord the close is
//! likely on (the cadence planned over its last two chords); elsewhere
//! nothing changes. With Lookahead Off nothing ahead is known: the phrase
//! ear ([`super::phrase`]) hears a close from the melody played so far, and
//! guesses the beat before one from where the next beat falls, so Off keeps
//! its zero latency.

use crate::key::Mode;
use crate::model::StepContext;
use crate::Horizon;

/// Added to the log weight (in nats, before the temperature) of a chord
/// that closes as Bach closes: a complete root-position triad, and the bass
/// by a fourth up or fifth down. Chosen on the valid sopranos, seeds 1-3
/// (2/1, 3/1, 3/2, 5/2, 5/3 and 8/3 tried; past 5/3 nothing moves):
/// phrase ends on such a triad a beat / a bar / the whole melody ahead
/// 58% / 65% / 69% without, 78% / 81% / 83% with. Once closes were
/// prepared (the phrase ear, the beat-before guess), the V-I bass was
/// chosen again (3, 5, 8 tried): V-I off / 1 beat / 1 bar / whole melody
/// 30.3% / 44.3% / 51.2% / 56.0% at 3, 30.7% / 45.8% / 51.9% / 58.5% at 5
/// (Bach 58.4%), 31.2% / 46.0% / 51.9% / 59.0% at 8, the consonance and
/// the notes outside the key within 0.2 points.
pub const TRIAD_BONUS: f64 = 5.0;
pub const FIFTH_BASS_BONUS: f64 = 5.0;

/// Added to a chord on the beat before a phrase's close, heard ahead (or,
/// with Lookahead Off, likely from where the next beat falls: see
/// [`super::phrase::PhraseEar::next_beat_close_odds`]), that
/// is the dominant of the chord the close is likely on: the bass on that
/// chord's fifth, the chord a major triad or a dominant seventh on it.
/// Chosen on the valid sopranos, seeds 1-3 (0, 2, 4 and 8 tried when it
/// came; 4, 6 and 8 again once the phrase ear heard closes): closes with a
/// V-I bass 1 beat / 1 bar / the whole melody ahead 43.1% / 50.1% / 54.3%
/// at 4, 44.3% / 51.2% / 56.0% at 6, 44.3% / 51.5% / 56.7% at 8, the
/// consonance and the notes outside the key within 0.2 points of 4's.
pub const PREPARE_BONUS: f64 = 6.0;

/// What a step is to a phrase's end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cadence {
    /// Anywhere else.
    None,
    /// The phrase closes here ([`closes_phrase`]).
    Close,
    /// The close comes a beat later, likely on the triad of `root` (a pitch
    /// class in the model's frame, where the tonic is C).
    Prepare { root: u8 },
}

/// The cadence of the step of `ctx`, in the model's frame (the melody
/// ahead moved so the key's tonic is C).
pub fn cadence_of(ctx: &StepContext, melody_struck: bool) -> Cadence {
    if closes_phrase(ctx, melody_struck) {
        return Cadence::Close;
    }
    let beat = ctx.bar.beat_steps.max(1);
    let known = ctx.ahead.horizon.steps(beat, ctx.bar.bar_steps);
    let [Some(next), after, ..] = ctx.ahead.notes else {
        return Cadence::None;
    };
    let at = next.steps as usize;
    // The next melody note is at most a beat away, on a beat, and closes:
    // nothing new for more than a beat after it, as far as the lookahead
    // shows. Every step of the beat before it may prepare (the bass may
    // move on the beat or after it).
    let closes_next = match after {
        Some(after) => after.steps as usize - at > beat,
        None => known > at + beat,
    };
    if at > beat || !(ctx.bar.in_beat() + at).is_multiple_of(beat) || !closes_next {
        return Cadence::None;
    }
    let minor = ctx.key.is_some_and(|k| k.mode == Mode::Minor);
    Cadence::Prepare {
        root: likely_root(next.pitch % 12, minor),
    }
}

/// The root of the triad Bach most often closes a phrase on (a fermata
/// on a complete root-position triad) under each melody degree, major and
/// minor keys, in the 225 train chorales (`chorales.json`, keys as analysed
/// there); `None` where fewer than five such fermatas hold the degree. A
/// melody closing on the fifth degree closes on the dominant (68% of them in
/// major; the tonic 8%), on the minor third on the relative major (81%), on
/// the sixth of a major key on the subdominant: the half cadences and the
/// closes in related keys that carry most of his chromatic notes there.
const CLOSE_ROOT: [[Option<u8>; 12]; 2] = [
    [
        Some(0),
        None,
        Some(7),
        None,
        Some(0),
        Some(5),
        None,
        Some(7),
        None,
        Some(5),
        None,
        Some(7),
    ],
    [
        Some(0),
        None,
        Some(7),
        Some(3),
        None,
        Some(5),
        None,
        Some(7),
        None,
        None,
        Some(10),
        Some(7),
    ],
];

/// The root of the chord a phrase most likely closes on under melody pitch
/// class `m` (tonic C): Bach's most frequent ([`CLOSE_ROOT`]), and for a
/// degree he seldom closes on, the first of the tonic's, the dominant's,
/// the subdominant's, the sixth degree's and the second's triads to hold it.
pub(crate) fn likely_root(m: u8, minor: bool) -> u8 {
    if let Some(root) = CLOSE_ROOT[minor as usize][(m % 12) as usize] {
        return root;
    }
    let third = if minor { 3 } else { 4 };
    let roots: [(u8, u8); 5] = [
        (0, third),
        (7, 4),
        (5, third),
        (if minor { 8 } else { 9 }, if minor { 4 } else { 3 }),
        (2, 3),
    ];
    for (root, third) in roots {
        if m == root || m == (root + third) % 12 || m == (root + 7) % 12 {
            return root;
        }
    }
    0
}

/// Whether the step of `ctx` closes a phrase, as far as the melody ahead
/// tells: the melody strikes on a beat and its next onset is more than a
/// beat away or not within the lookahead (a long note, or a rest or the
/// melody's end next). A step with no lookahead never does.
pub fn closes_phrase(ctx: &StepContext, melody_struck: bool) -> bool {
    let beat = ctx.bar.beat_steps.max(1);
    melody_struck
        && ctx.ahead.horizon != Horizon::Off
        && ctx.bar.in_beat() == 0
        && ctx.ahead.notes[0].is_none_or(|next| next.steps as usize > beat)
}

/// The bonus of a chord sounding `pitches` at a step of `cadence` (see
/// [`close_bonus`] and [`PREPARE_BONUS`]).
pub fn cadence_bonus(cadence: Cadence, pitches: &[Option<u8>], bass_before: Option<u8>) -> f64 {
    match cadence {
        Cadence::None => 0.0,
        Cadence::Close => close_bonus(pitches, bass_before),
        Cadence::Prepare { root } => {
            let fifth = (root + 7) % 12;
            let dominant = [fifth, (fifth + 4) % 12, (fifth + 7) % 12, (fifth + 10) % 12]
                .iter()
                .fold(0u16, |set, pc| set | 1 << pc);
            let (classes, bass) = classes_and_bass(pitches);
            let on_fifth = bass.is_some_and(|b| b % 12 == fifth);
            // The root, its third and nothing outside the dominant seventh.
            let major = classes & !dominant == 0 && classes & (1 << ((fifth + 4) % 12)) != 0;
            if on_fifth && major {
                PREPARE_BONUS
            } else {
                0.0
            }
        }
    }
}

/// The bonus of a chord sounding `pitches` (`None`: a voice resting), the
/// bass having sounded `bass_before`: [`TRIAD_BONUS`] for a complete
/// root-position major or minor triad (three pitch classes, the lowest
/// note its root), plus [`FIFTH_BASS_BONUS`] when the bass came to that
/// root from a fifth above it (up a fourth or down a fifth).
fn close_bonus(pitches: &[Option<u8>], bass_before: Option<u8>) -> f64 {
    let Some(bass) = pitches.iter().flatten().min().copied() else {
        return 0.0;
    };
    if !is_root_position_triad(pitches.iter().flatten().copied(), bass) {
        return 0.0;
    }
    let root = bass % 12;
    let from_fifth = bass_before.is_some_and(|b| b % 12 == (root + 7) % 12);
    TRIAD_BONUS + if from_fifth { FIFTH_BASS_BONUS } else { 0.0 }
}

/// The pitch classes sounding in `pitches` (a bit set) and the lowest
/// pitch, `None` when every voice rests.
fn classes_and_bass(pitches: &[Option<u8>]) -> (u16, Option<u8>) {
    let classes = pitches
        .iter()
        .flatten()
        .fold(0u16, |c, p| c | 1 << (p % 12));
    (classes, pitches.iter().flatten().min().copied())
}

/// Whether `pitches` (bass `bass` among them) sound a complete
/// root-position major or minor triad: root in the bass, third and fifth
/// present, nothing else. The cadence rule reads it with the lowest note as
/// the bass; `bach-trainer harmony` grades phrase ends by it with the bass
/// voice's note.
pub fn is_root_position_triad(pitches: impl Iterator<Item = u8>, bass: u8) -> bool {
    let root = bass % 12;
    let mut classes = [false; 12];
    for p in pitches {
        classes[((p % 12 + 12 - root) % 12) as usize] = true;
    }
    let third = classes[3] != classes[4];
    let only = classes
        .iter()
        .enumerate()
        .all(|(i, &on)| !on || matches!(i, 0 | 3 | 4 | 7));
    classes[0] && classes[7] && third && only
}

#[cfg(test)]
mod tests;
