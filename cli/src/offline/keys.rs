//! The key of each step: what the chords of a result are named in.
//!
//! Harmonize knows the key it played each step in (the rule
//! [`harmonize_line`](bach_engine::perform::line::harmonize_line) and the
//! plugin share); continue and generate play in no key, so theirs is
//! estimated from the result's top line, as `--key auto` reads a melody.

use bach_engine::perform::line::whole_melody_keys;
use bach_engine::perform::{KeyChoice, KeyFollower};
use bach_engine::score::Score;
use bach_engine::token::sounding_line;
use bach_engine::{BarPosition, Horizon, Key, Mode, Token};

/// The key at each step of `melody` as harmonizing it with `choice` and
/// `horizon` uses it: the fixed key; with auto and the whole melody, its
/// keys passage by passage; otherwise the key follower's as it hears the
/// melody (`None` before it has heard any).
pub fn performed(
    melody: &[Token],
    bars: &[BarPosition],
    choice: KeyChoice,
    horizon: Horizon,
) -> Vec<Option<Key>> {
    if let (KeyChoice::Auto, Horizon::Whole) = (choice, horizon) {
        if let Some(track) = whole_melody_keys(melody) {
            return track.into_iter().map(Some).collect();
        }
    }
    let mut follower = KeyFollower::new(choice);
    sounding_line(melody.iter().copied())
        .into_iter()
        .enumerate()
        .map(|(t, pitch)| {
            follower.hear(
                pitch,
                bars.get(t).copied().unwrap_or(BarPosition::common(t)),
            );
            follower.key()
        })
        .collect()
}

/// The keys of the top line of `score` over its first `len` steps, passage
/// by passage, for music played in no key.
pub fn estimated(score: &Score, len: u32) -> Vec<Option<Key>> {
    let line = top_line(score, len);
    match whole_melody_keys(&line) {
        Some(track) => track.into_iter().map(Some).collect(),
        None => vec![None; len as usize],
    }
}

const C_MAJOR: Key = Key {
    tonic: 0,
    mode: Mode::Major,
};

/// Every step's key with the gaps filled: a step before any key takes the
/// first one found; with none at all, C major (numerals need some key).
pub fn filled(keys: &[Option<Key>], len: usize) -> Vec<Key> {
    let first = keys.iter().flatten().next().copied().unwrap_or(C_MAJOR);
    let mut now = first;
    (0..len)
        .map(|t| {
            if let Some(Some(k)) = keys.get(t) {
                now = *k;
            }
            now
        })
        .collect()
}

/// The highest sounding pitch at each step, as tokens: an onset where a
/// note starts (or the top changes), a hold while it sounds on.
fn top_line(score: &Score, len: u32) -> Vec<Token> {
    let mut top: Vec<Option<(u8, bool)>> = vec![None; len as usize];
    for note in score.parts.iter().flat_map(|p| &p.notes) {
        for t in note.start..note.end().min(len) {
            let struck = t == note.start;
            let slot = &mut top[t as usize];
            if slot.is_none_or(|(p, _)| note.pitch > p) {
                *slot = Some((note.pitch, struck));
            }
        }
    }
    let mut before = None;
    top.into_iter()
        .map(|now| {
            let token = match now {
                None => Token::Rest,
                Some((p, struck)) if struck || before != Some(p) => Token::Onset(p),
                Some(_) => Token::Hold,
            };
            before = now.map(|(p, _)| p);
            token
        })
        .collect()
}
