//! Hearing a phrase close from the melody played so far.
//!
//! With Lookahead Off nothing of the melody ahead is known, and half of
//! Bach's fermatas fall on a plain quarter note that the next phrase follows
//! at once, so the long-note rule of [`super::cadence::closes_phrase`] never
//! sees them even with the lookahead on. But a close is heard in the melody
//! itself: where it falls in the bar (the third beat of a 4/4 bar, the
//! first of a 3/4 bar), how the melody came to it (a step down, rarely a
//! leap up), which degree it is on (the tonic, the dominant, in minor the
//! leading tone of a half cadence), and how long the phrase has run (most of
//! Bach's phrases are two bars; a note right after a long one is often the
//! close of a `half note, quarter` ending). [`PhraseEar`] keeps what those
//! need of the melody heard so far and weighs a note by them: the log odds,
//! in nats, of a fermata on a melody note struck on a beat, counted in the
//! 225 train chorales of `chorales.json` (10,125 such notes, 13.5% of them
//! fermatas), one table per feature added as independent evidence (naive
//! Bayes, each table shrunk towards the prior by four notes). On the valid
//! pieces a note weighed over [`CLOSE_ODDS`] is a fermata in about half the
//! cases and finds seven in ten of them (`BENCHMARKS.md`, "Phrase
//! endings and the first bar").
//!
//! The state is a few numbers, updated once a step: nothing allocates.

use crate::key::Mode;
use crate::meter::BarPosition;
use crate::model::StepContext;
use crate::token::Token;

use super::cadence::{likely_root, Cadence};
use crate::Horizon;

/// A note whose log odds of closing a phrase ([`PhraseEar::close_odds`])
/// are over this is heard as a close. Chosen on the valid sopranos, seeds
/// 1-3 (0, -0.5, -1 and -1.5 tried): phrase ends on a complete
/// root-position triad with Lookahead Off 52% -> 63% / 67% / 72% / 78%,
/// consonant strong beats 72.9% -> 74.1% / 75.3% / 77.1% / 79.2% (Bach
/// 75.4%), the chord-type mix 0.100 -> 0.096 (-0.5) / 0.091 (-1) / 0.085
/// (-1.5) from Bach's; -1 brings the closes past 70% and keeps the
/// consonance within two points of Bach's.
pub const CLOSE_ODDS: f64 = -1.0;

/// The log odds of a fermata on any melody note struck on a beat.
const PRIOR: f64 = -1.86;

/// By beat in a bar of four beats (4/4, also 12/8 and, every second entry,
/// bars of two beats).
const BEAT_OF_FOUR: [f64; 4] = [0.1, -3.5, 1.2, -1.9];
/// By beat in a bar of three beats (3/4, 3/2).
const BEAT_OF_THREE: [f64; 3] = [0.6, -2.1, -1.5];
/// By degree (semitones above the tonic), major and minor keys.
const DEGREE: [[f64; 12]; 2] = [
    [
        0.9, -1.5, -0.1, 0.0, -0.4, -0.9, -2.6, 0.1, -0.9, -0.9, -1.7, -0.2,
    ],
    [
        0.8, 0.0, 0.1, -0.3, -0.5, -1.5, -2.0, 0.3, -2.6, -3.6, -0.7, 0.7,
    ],
];
/// By the interval the melody came from, in semitones from -3 (three or
/// more down) to 3 (three or more up).
const INTERVAL: [f64; 7] = [-0.1, 0.7, 0.2, -0.4, 0.4, -0.8, -3.6];
/// The first note of a melody.
const FIRST_NOTE: f64 = -4.2;
/// By whole beats since the phrase under way began (0: the note right after
/// a long one; 12 and more share the last entry).
const BEATS_IN_PHRASE: [f64; 13] = [
    1.1, -1.0, -1.8, -1.8, -0.6, -0.8, 1.3, 1.1, 1.4, -1.0, -1.8, -1.4, 0.0,
];
/// Before any phrase began (no note longer than a beat heard yet).
const FIRST_PHRASE: f64 = -0.3;

/// What the harmony has heard of the melody's phrases.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PhraseEar {
    /// Steps heard so far.
    step: u32,
    /// The last melody onset: its step and pitch (in the model's frame).
    last: Option<(u32, u8)>,
    /// The step the phrase under way began: the first onset more than a
    /// beat after the one before it.
    start: Option<u32>,
}

impl PhraseEar {
    /// The melody took `melody` on a step of `beat_steps` a beat (`None`:
    /// the model played alone); the next step follows.
    pub fn hear(&mut self, melody: Option<Token>, beat_steps: usize) {
        if let Some(Token::Onset(pitch)) = melody {
            *self = self.with_onset(self.step, pitch, beat_steps);
        }
        self.step = self.step.saturating_add(1);
    }

    /// Every pitch heard moved by `semitones` (into another key's frame).
    pub fn transpose(&mut self, semitones: i32) {
        if let Some((_, pitch)) = &mut self.last {
            *pitch = (*pitch as i32 + semitones).clamp(0, 127) as u8;
        }
    }

    /// The ear after an onset of `pitch` at `step`.
    fn with_onset(self, step: u32, pitch: u8, beat_steps: usize) -> Self {
        let long_before = self
            .last
            .is_some_and(|(at, _)| step.saturating_sub(at) as usize > beat_steps.max(1));
        Self {
            step: self.step,
            last: Some((step, pitch)),
            start: if long_before { Some(step) } else { self.start },
        }
    }

    /// The log odds (nats) that a melody note
    /// of `pitch` (the model's frame: the tonic is C) struck `at` steps from
    /// now, at `bar`, closes a phrase; `melody_now` is what the melody takes
    /// on this step, before that note. `None` off the beat, where no phrase
    /// closes.
    pub fn close_odds(
        &self,
        melody_now: Option<Token>,
        at: usize,
        pitch: u8,
        bar: BarPosition,
        minor: bool,
    ) -> Option<f64> {
        let beat = bar.beat_steps.max(1);
        if bar.in_beat() != 0 {
            return None;
        }
        // Hear this step's onset first when the note is a later one.
        let ear = match melody_now {
            Some(Token::Onset(now)) if at > 0 => self.with_onset(self.step, now, beat),
            _ => *self,
        };
        let onset = self.step.saturating_add(at as u32);
        let after = ear.with_onset(onset, pitch, beat);
        let position = position_odds(bar);
        let came_from = match ear.last {
            Some((_, before)) => {
                INTERVAL[((pitch as i32 - before as i32).clamp(-3, 3) + 3) as usize]
            }
            None => FIRST_NOTE,
        };
        let in_phrase = after.phrase_odds(onset, beat);
        Some(
            PRIOR
                + position
                + DEGREE[minor as usize][(pitch % 12) as usize]
                + came_from
                + in_phrase,
        )
    }

    /// Whether a note weighed as in [`PhraseEar::close_odds`] is heard as a close.
    pub fn closes(
        &self,
        melody_now: Option<Token>,
        at: usize,
        pitch: u8,
        bar: BarPosition,
        minor: bool,
    ) -> bool {
        self.close_odds(melody_now, at, pitch, bar, minor)
            .is_some_and(|odds| odds > CLOSE_ODDS)
    }

    /// The cadence the melody heard so far tells for the step of `ctx` (the
    /// model's frame, where the key's tonic has pitch class `tonic`), the
    /// melody taking `melody` on it: a close when the note struck now is
    /// heard as one, else the close's preparation when the next note, at
    /// most a beat ahead, is. None without a key.
    pub fn cadence(&self, ctx: &StepContext, melody: Option<Token>, tonic: u8) -> Cadence {
        let Some(key) = ctx.key else {
            return Cadence::None;
        };
        let minor = key.mode == Mode::Minor;
        let degree = |pitch: u8| (pitch + 12 - tonic % 12) % 12;
        if let Some(Token::Onset(pitch)) = melody {
            if self.closes(melody, 0, degree(pitch), ctx.bar, minor) {
                return Cadence::Close;
            }
        }
        let beat = ctx.bar.beat_steps.max(1);
        if let Some(next) = ctx.ahead.notes[0] {
            let at = next.steps as usize;
            let bar = BarPosition {
                step: (ctx.bar.step + at) % ctx.bar.bar_steps.max(1),
                ..ctx.bar
            };
            if at <= beat && self.closes(melody, at, degree(next.pitch), bar, minor) {
                return Cadence::Prepare {
                    root: (likely_root(degree(next.pitch), minor) + tonic) % 12,
                };
            }
        }
        // Nothing ahead known: where the next beat is as likely to close as
        // a note heard as a close, this beat prepares Bach's commonest
        // close, on the tonic (a guess: the melody may go elsewhere, and
        // the chord search weighs the bonus with the network's odds).
        if ctx.ahead.horizon == Horizon::Off
            && self.next_beat_close_odds(melody, ctx.bar) > CLOSE_ODDS
        {
            return Cadence::Prepare { root: tonic % 12 };
        }
        Cadence::None
    }

    /// The log odds (nats) that the melody's next beat closes a phrase,
    /// its note not yet heard: where the beat falls and how long the phrase
    /// will have run (the note's degree and the way the melody comes to it
    /// weigh nothing). `melody_now` is what the melody takes on this step.
    pub fn next_beat_close_odds(&self, melody_now: Option<Token>, bar: BarPosition) -> f64 {
        let beat = bar.beat_steps.max(1);
        let at = beat - bar.in_beat().min(beat - 1);
        let ear = match melody_now {
            Some(Token::Onset(now)) => self.with_onset(self.step, now, beat),
            _ => *self,
        };
        let onset = self.step.saturating_add(at as u32);
        let next = BarPosition {
            step: (bar.step + at) % bar.bar_steps.max(1),
            ..bar
        };
        // The pitch is not heard yet, and the phrase tables do not read it.
        let after = ear.with_onset(onset, 0, beat);
        PRIOR + position_odds(next) + after.phrase_odds(onset, beat)
    }

    /// [`BEATS_IN_PHRASE`] for a note struck at `onset`, the ear having
    /// heard it.
    fn phrase_odds(&self, onset: u32, beat: usize) -> f64 {
        match self.start {
            Some(start) => {
                BEATS_IN_PHRASE[((onset - start) as usize / beat).min(BEATS_IN_PHRASE.len() - 1)]
            }
            None => FIRST_PHRASE,
        }
    }
}

/// The log odds of a close by where a beat falls in its bar.
fn position_odds(bar: BarPosition) -> f64 {
    let beat = bar.beat_steps.max(1);
    let beats = bar.bar_steps.div_ceil(beat);
    let index = bar.step / beat;
    match beats {
        4 => BEAT_OF_FOUR[index.min(3)],
        3 => BEAT_OF_THREE[index.min(2)],
        2 => BEAT_OF_FOUR[(2 * index).min(3)],
        _ if index == 0 => BEAT_OF_FOUR[0],
        _ => BEAT_OF_FOUR[3],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ahead::{Ahead, Upcoming};
    use crate::key::Key;
    use crate::Horizon;

    /// An ear that heard `notes` (pitch, 16ths), one after another from a
    /// downbeat of 4/4.
    fn heard(notes: &[(u8, usize)]) -> PhraseEar {
        let mut ear = PhraseEar::default();
        for &(pitch, len) in notes {
            ear.hear(Some(Token::Onset(pitch)), 4);
            for _ in 1..len {
                ear.hear(Some(Token::Hold), 4);
            }
        }
        ear
    }

    #[test]
    fn a_step_down_to_the_tonic_on_the_third_beat_of_a_two_bar_phrase_closes() {
        // A phrase after a half note: E D C B | D E F E, then D C on beat 3
        // of the second bar (seven beats in, six and a half heard).
        let mut notes = vec![(67, 8)];
        notes.extend([(64, 4), (62, 4), (60, 4), (59, 4), (62, 4), (64, 4)]);
        notes.extend([(65, 4), (64, 4), (62, 4)]);
        let ear = heard(&notes);
        // Heard so far: 8 + 36 steps; beat 3 of bar 3 is step 8 of its bar.
        let third_beat = BarPosition::common(8);
        let odds = ear.close_odds(None, 0, 60, third_beat, false).unwrap();
        assert!(odds > CLOSE_ODDS, "{odds}");
        assert!(ear.closes(None, 0, 60, third_beat, false));
        // The same note on the weak second beat, or off the beat, does not.
        assert!(!ear.closes(None, 0, 60, BarPosition::common(4), false));
        assert_eq!(
            ear.close_odds(None, 0, 60, BarPosition::common(9), false),
            None
        );
        // Nor does a leap up to it.
        let mut leap = notes.clone();
        leap.last_mut().unwrap().0 = 55;
        assert!(!heard(&leap).closes(None, 0, 60, third_beat, false));
        // Nor a melody's first note.
        assert!(!PhraseEar::default().closes(None, 0, 60, BarPosition::common(0), false));
    }

    #[test]
    fn with_nothing_ahead_the_beat_before_a_likely_close_is_guessed() {
        // Two bars of quarters after a half note: the third beat of the
        // second bar is where Bach's two-bar phrases close.
        let mut notes = vec![(67, 8)];
        notes.extend([(64, 4), (62, 4), (60, 4), (59, 4), (62, 4), (64, 4)]);
        let ear = heard(&notes);
        // Heard 32 steps; beat 1 of bar 3 is struck now (step 0 of its bar).
        let now = Some(Token::Onset(65));
        let to_beat_2 = ear.next_beat_close_odds(now, BarPosition::common(0));
        assert!(to_beat_2 < CLOSE_ODDS, "{to_beat_2}");
        // A beat later, on beat 2, the next beat is the third.
        let mut later = ear;
        later.hear(now, 4);
        for _ in 1..4 {
            later.hear(Some(Token::Hold), 4);
        }
        let to_beat_3 = later.next_beat_close_odds(Some(Token::Onset(64)), BarPosition::common(4));
        assert!(to_beat_3 > CLOSE_ODDS, "{to_beat_3}");
        // Off the beat (the 16th after beat 2), it is the same next beat.
        let mut off_beat = later;
        off_beat.hear(Some(Token::Onset(64)), 4);
        let odds = off_beat.next_beat_close_odds(Some(Token::Hold), BarPosition::common(5));
        assert_eq!(odds, to_beat_3);
        // Early in a phrase it is unlikely: the third quarter after the
        // half note, struck on beat 4.
        let early = heard(&[(67, 8), (64, 4)]);
        let d = Some(Token::Onset(62));
        assert!(early.next_beat_close_odds(d, BarPosition::common(12)) < CLOSE_ODDS);
        // Only with nothing ahead known: told the melody goes on a beat
        // ahead (no close there), the guess is not made.
        let ctx = StepContext {
            bar: BarPosition::common(4),
            key: Some(Key::parse("C").unwrap()),
            ahead: Ahead {
                horizon: Horizon::Beat,
                ..Ahead::off()
            },
        };
        assert_eq!(
            later.cadence(&ctx, Some(Token::Onset(64)), 0),
            Cadence::None
        );
    }

    #[test]
    fn a_close_heard_now_or_a_beat_ahead_is_a_cadence() {
        let notes = [
            (67, 8),
            (64, 4),
            (62, 4),
            (60, 4),
            (59, 4),
            (62, 4),
            (64, 4),
            (65, 4),
        ];
        let ear = heard(&notes);
        let c_major = Some(Key::parse("C").unwrap());
        let mut ctx = StepContext {
            bar: BarPosition::common(4),
            key: c_major,
            ahead: Ahead::off(),
        };
        // Beat 2 of the bar, the melody striking E, nothing ahead known:
        // no close now, but the next beat, the third of the phrase's second
        // bar, is likely to be one, so this beat prepares the commonest:
        // on the tonic.
        let e = Some(Token::Onset(64));
        assert_eq!(ear.cadence(&ctx, e, 0), Cadence::Prepare { root: 0 });
        // In D (the frame of a model that knows no key), on D.
        let d_major = Some(Key::parse("D").unwrap());
        let in_d = StepContext {
            key: d_major,
            ..ctx
        };
        assert_eq!(ear.cadence(&in_d, e, 2), Cadence::Prepare { root: 2 });
        // Told a beat ahead that D comes on beat 3 (a step down): the beat
        // before prepares the close on D's triad, G, by its dominant.
        ctx.ahead = Ahead {
            horizon: Horizon::Beat,
            ..Ahead::off()
        };
        ctx.ahead.notes[0] = Some(Upcoming {
            pitch: 62,
            steps: 4,
        });
        assert_eq!(ear.cadence(&ctx, e, 0), Cadence::Prepare { root: 7 });
        // In the frame of a model that knows no key, the degrees are read
        // from the key's tonic: the same melody a tone up, in D.
        ctx.key = Some(Key::parse("D").unwrap());
        ctx.ahead.notes[0] = Some(Upcoming {
            pitch: 64,
            steps: 4,
        });
        let up = notes.map(|(p, len)| (p + 2, len));
        assert_eq!(
            heard(&up).cadence(&ctx, Some(Token::Onset(66)), 2),
            Cadence::Prepare { root: 9 }
        );
        // On beat 3 itself, with the melody striking D: a close.
        let mut ear = ear;
        ear.hear(e, 4);
        for _ in 1..4 {
            ear.hear(Some(Token::Hold), 4);
        }
        ctx.key = c_major;
        ctx.bar = BarPosition::common(8);
        ctx.ahead = Ahead::off();
        assert_eq!(ear.cadence(&ctx, Some(Token::Onset(62)), 0), Cadence::Close);
        // Without a key nothing is heard.
        ctx.key = None;
        assert_eq!(ear.cadence(&ctx, Some(Token::Onset(62)), 0), Cadence::None);
    }
}
