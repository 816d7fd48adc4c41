//! Tests of [`super`].

use super::*;
use crate::token::{HOLD, REST};

/// Heads given by a function of the voice and the chord decided so far,
/// top first unless `order` says otherwise.
struct Scripted<F: FnMut(usize, &[Token]) -> Vec<f32>> {
    logits: F,
    out: Vec<f32>,
    order: &'static [usize],
}

impl<F: FnMut(usize, &[Token]) -> Vec<f32>> Scripted<F> {
    fn new(logits: F) -> Self {
        Self {
            logits,
            out: Vec::new(),
            order: &[0, 1, 2, 3],
        }
    }
}

impl<F: FnMut(usize, &[Token]) -> Vec<f32>> Heads for Scripted<F> {
    fn order(&self) -> &[usize] {
        self.order
    }

    fn voice_logits(&mut self, voice: usize, chord: &[Token]) -> &[f32] {
        self.out = (self.logits)(voice, chord);
        &self.out
    }
}

const NO: f32 = -40.0;

fn sounding(pitches: &[u8]) -> Sounding {
    let mut s = Sounding::default();
    for (v, &p) in pitches.iter().enumerate() {
        s.update(v, Token::Onset(p));
    }
    s
}

fn sampler(temperature: f32, strict: bool) -> Sampler {
    Sampler {
        temperature,
        strict,
        ..Sampler::default()
    }
}

#[test]
fn an_upper_note_that_leaves_the_voice_below_no_good_note_loses() {
    // Range 60..=62: tokens rest, hold, 60, 61, 62.
    let range = VoiceRange::new(60, 62);
    let ranges = [range; 3];
    let mut heads = Scripted::new(|voice: usize, above: &[Token]| match voice {
        // The alto slightly prefers 60 to 61, and always strikes.
        1 => vec![NO, NO, 1.0, 0.8, NO],
        // Under 60 the bass is lost among three notes; under 61 it is sure of 60.
        _ if above[1] == Token::Onset(60) => vec![NO, NO, 0.0, 0.0, 0.0],
        _ => vec![NO, NO, 5.0, 0.0, 0.0],
    });
    let clamp = [Some(Token::Onset(72)), None, None];
    let mut chord = [Token::Onset(72), Token::Rest, Token::Rest];
    let before = sounding(&[72, 61, 60]);
    let mut rng = Rng::new(1);
    choose_chord(
        &mut heads,
        &mut chord,
        &clamp,
        &ranges,
        &sampler(0.0, false),
        &before,
        &Style::default(),
        &mut rng,
    );
    // One voice at a time would take 60 and then any bass note; together, 61 over a sure 60.
    assert_eq!(
        chord,
        [Token::Onset(72), Token::Onset(61), Token::Onset(60)]
    );
}

#[test]
fn rhythm_keeps_the_models_odds_at_a_low_temperature() {
    let range = VoiceRange::new(60, 62);
    let ranges = [range; 2];
    // Hold 0.7, strike 0.3 (split over two notes).
    let hold = 0.7f32.ln();
    let note = 0.15f32.ln();
    let mut heads = Scripted::new(|_: usize, _: &[Token]| vec![NO, hold, note, note, NO]);
    let clamp = [Some(Token::Hold), None];
    let before = sounding(&[72, 61]);
    let mut rng = Rng::new(7);
    let draws = 4000;
    let mut holds = 0;
    for _ in 0..draws {
        let mut chord = [Token::Hold, Token::Rest];
        choose_chord(
            &mut heads,
            &mut chord,
            &clamp,
            &ranges,
            &sampler(0.3, true),
            &before,
            &Style::default(),
            &mut rng,
        );
        holds += (chord[1] == Token::Hold) as usize;
    }
    let share = holds as f64 / draws as f64;
    assert!(
        (share - 0.7).abs() < 0.03,
        "held {share:.3} of the steps, the model says 0.7"
    );
}

#[test]
fn strict_voice_leading_forbids_parallels_in_every_partial_chord() {
    // The soprano moves C5 -> D5; the alto sounded F4 (a fifth below),
    // and strongly wants G4 (a fifth below D5: parallel fifths).
    let range = VoiceRange::new(64, 69);
    let ranges = [VoiceRange::new(60, 80), range];
    let g4 = 2 + (67 - 64);
    let mut heads = Scripted::new(move |_: usize, _: &[Token]| {
        let mut l = vec![NO; range.vocab()];
        l[g4] = 10.0;
        l[2 + (66 - 64)] = 0.0;
        l
    });
    let clamp = [Some(Token::Onset(74)), None];
    let before = sounding(&[72, 65]);
    for (strict, want) in [(false, 67), (true, 66)] {
        let mut chord = [Token::Onset(74), Token::Rest];
        let mut rng = Rng::new(3);
        choose_chord(
            &mut heads,
            &mut chord,
            &clamp,
            &ranges,
            &sampler(0.0, strict),
            &before,
            &Style::default(),
            &mut rng,
        );
        assert_eq!(chord[1], Token::Onset(want), "strict {strict}");
    }
}

/// The bass the search takes, at temperature 0 and free voice
/// leading, under soprano `soprano` (struck) with the alto and tenor
/// sure of `alto` and `tenor` and the bass torn between `likelier` and
/// `other`, `gap` nats less likely, after `before`, weighed by `style`.
fn bass_taken(
    soprano: u8,
    [alto, tenor]: [u8; 2],
    [likelier, other]: [u8; 2],
    gap: f32,
    before: [u8; 4],
    style: Style,
) -> Token {
    let range = VoiceRange::new(36, 80);
    let at = |p: u8| 2 + (p - 36) as usize;
    let mut heads = Scripted::new(|voice: usize, _: &[Token]| {
        let mut l = vec![NO; range.vocab()];
        match voice {
            1 => l[at(alto)] = 10.0,
            2 => l[at(tenor)] = 10.0,
            _ => {
                l[at(likelier)] = 10.0;
                l[at(other)] = 10.0 - gap;
            }
        }
        l
    });
    let clamp = [Some(Token::Onset(soprano)), None, None, None];
    let mut chord = [Token::Onset(soprano), Token::Rest, Token::Rest, Token::Rest];
    choose_chord(
        &mut heads,
        &mut chord,
        &clamp,
        &[range; 4],
        &sampler(0.0, false),
        &sounding(&before),
        &style,
        &mut Rng::new(5),
    );
    chord[3]
}

/// While the key is a guess, a harmony note its likely keys do not
/// share gives way to one they do, though the model likes it a little
/// more; a note they share is taken as the model likes it.
#[test]
fn a_key_in_doubt_prefers_notes_the_likely_keys_share() {
    // G major or C major: F sharp is in one only (belief 0.5), G in both.
    let mut doubt = [0.0; 12];
    doubt[6] = sonority::KEY_DOUBT_WEIGHT * 0.5f64.ln();
    doubt[5] = sonority::KEY_DOUBT_WEIGHT * 0.5f64.ln();
    let before = [74, 67, 59, 43];
    let take = |doubt| {
        let style = Style {
            doubt,
            ..Style::default()
        };
        bass_taken(74, [62, 57], [54, 55], 1.0, before, style)
    };
    assert_eq!(take(None), Token::Onset(54), "the model's F sharp");
    assert_eq!(take(Some(doubt)), Token::Onset(55), "G, in both keys");
    // Both candidates shared: the model's choice stands.
    assert_eq!(take(Some([0.0; 12])), Token::Onset(54));
}

/// At a phrase's close the search prefers a complete root-position
/// triad the model finds a little less likely than an inversion; at
/// any other step it takes the model's likeliest chord.
#[test]
fn a_closing_step_prefers_a_root_position_triad() {
    // Soprano E5; alto and tenor sure of G4 and C4; the bass likes E3
    // (a first inversion) a little more than C3.
    for (cadence, bass) in [(Cadence::None, 52), (Cadence::Close, 48)] {
        let style = Style {
            cadence,
            ..Style::default()
        };
        let taken = bass_taken(76, [67, 60], [52, 48], 1.0, [74, 67, 59, 43], style);
        assert_eq!(taken, Token::Onset(bass), "{cadence:?}");
    }
}

/// A consonance bonus takes a consonant chord over a slightly likelier
/// six-four (a fourth above the bass); without it the model's choice
/// stands.
#[test]
fn a_consonance_bonus_prefers_a_consonant_sonority() {
    for (consonance, bass) in [(0.0, 43), (1.0, 48)] {
        let style = Style {
            consonance,
            ..Style::default()
        };
        let taken = bass_taken(72, [64, 60], [43, 48], 0.5, [74, 65, 59, 43], style);
        assert_eq!(taken, Token::Onset(bass), "consonance {consonance}");
    }
}

#[test]
fn outer_voices_first_decides_the_bass_before_the_alto() {
    // Soprano, alto, bass (range 48..=72), decided S, B, A. The bass
    // sounded C3 and the alto G3 (a fifth above it). The bass is sure
    // of D3; the alto, asked after it, wants A3 (a fifth above D3:
    // parallel fifths with the bass that was decided first).
    let range = VoiceRange::new(48, 72);
    let ranges = [VoiceRange::new(60, 80), range, range];
    let at = |p: u8| 2 + (p - 48) as usize;
    let mut asked = Vec::new();
    let mut heads = Scripted::new(|voice: usize, chord: &[Token]| {
        asked.push((voice, chord[2]));
        let mut l = vec![NO; range.vocab()];
        match voice {
            2 => l[at(50)] = 10.0,
            _ => {
                l[at(57)] = 10.0;
                l[at(53)] = 0.0;
            }
        }
        l
    });
    heads.order = &[0, 2, 1];
    // The soprano steps down, against the bass.
    let clamp = [Some(Token::Onset(71)), None, None];
    let before = sounding(&[72, 55, 48]);
    for (strict, want) in [(false, 57), (true, 53)] {
        let mut chord = [Token::Onset(71), Token::Rest, Token::Rest];
        let mut rng = Rng::new(3);
        choose_chord(
            &mut heads,
            &mut chord,
            &clamp,
            &ranges,
            &sampler(0.0, strict),
            &before,
            &Style::default(),
            &mut rng,
        );
        assert_eq!(chord[2], Token::Onset(50), "the bass takes its note");
        assert_eq!(chord[1], Token::Onset(want), "strict {strict}");
    }
    // The bass was asked first, before any bass note was chosen; the
    // alto only with a bass note in the chord.
    drop(heads);
    assert_eq!(asked[0], (2, Token::Rest));
    assert!(asked
        .iter()
        .filter(|(v, _)| *v == 1)
        .all(|&(_, bass)| matches!(bass, Token::Onset(_))));
}

/// One free voice (voice 1, of `range`, under `mask`) chosen by the
/// search at `temperature`, as its token's index in `range`.
fn one_voice(
    logits: &[f32],
    range: VoiceRange,
    mask: TokenMask,
    temperature: f32,
    rng: &mut Rng,
) -> usize {
    let mut heads = Scripted::new(|_: usize, _: &[Token]| logits.to_vec());
    let mut chord = [Token::Hold, Token::Rest];
    let clamp = [Some(Token::Hold), None];
    search(
        &mut heads,
        &mut chord,
        &clamp,
        &[range; 2],
        temperature,
        |_, _, _, _| mask,
        |_| 0.0,
        rng,
    );
    match chord[1] {
        Token::Rest => REST,
        Token::Hold => HOLD,
        Token::Onset(p) => 2 + (p - range.low) as usize,
    }
}

#[test]
fn argmax_picks_the_likeliest_allowed_note() {
    let range = VoiceRange::new(60, 63); // rest, hold, 60, 61, 62, 63
    let logits = [f32::NEG_INFINITY, 9.0, 1.0, 2.0, 8.0, 3.0];
    let mut rng = Rng::new(1);
    // Not sounding: no hold, and the rest is impossible here, so a note starts.
    let silent = TokenMask::new(range, None, false);
    assert_eq!(one_voice(&logits, range, silent, 0.0, &mut rng), 4);
    let narrow = TokenMask::new(range, Some(VoiceRange::new(60, 61)), false);
    assert_eq!(one_voice(&logits, range, narrow, 0.0, &mut rng), 3);
    let ruled_out = silent.forbid(1 << 62);
    assert_eq!(one_voice(&logits, range, ruled_out, 0.0, &mut rng), 5);
    for _ in 0..100 {
        assert_ne!(one_voice(&logits, range, ruled_out, 5.0, &mut rng), 4);
    }
    // Nothing allowed at all still gives an answer: the rest.
    let empty = TokenMask::new(range, Some(VoiceRange::new(70, 80)), false);
    assert_eq!(one_voice(&logits, range, empty, 0.0, &mut rng), REST);
}

#[test]
fn a_ruled_out_note_gives_way_to_the_next_note_not_to_a_hold() {
    // Hold and note 60 equally likely, note 61 far less: with 60 ruled
    // out, the voice still moves half the time, to 61.
    let range = VoiceRange::new(60, 61);
    let logits = [f32::NEG_INFINITY, 0.0, 0.0, -6.0];
    let mask = TokenMask::new(range, None, true).forbid(1 << 60);
    let mut rng = Rng::new(5);
    let n = 20_000;
    let picks: Vec<usize> = (0..n)
        .map(|_| one_voice(&logits, range, mask, 1.0, &mut rng))
        .collect();
    assert!(!picks.contains(&2), "the ruled-out note never sounds");
    let moves = picks.iter().filter(|&&i| i == 3).count() as f64 / n as f64;
    let expected = (1.0 + (-6.0f64).exp()) / (2.0 + (-6.0f64).exp());
    assert!((moves - expected).abs() < 0.02, "{moves} vs {expected}");
}

#[test]
fn rhythm_keeps_the_model_odds_at_any_temperature() {
    // Hold 3 : note 1 : note 1, so the voice holds 3/5 of the time
    // whatever the temperature; the temperature only picks the note.
    let range = VoiceRange::new(60, 61);
    let logits = [f32::NEG_INFINITY, (3.0f32).ln(), 0.0, -0.5];
    let mask = TokenMask::new(range, None, true);
    let mut rng = Rng::new(3);
    let n = 20_000;
    for t in [0.0, 0.5, 1.0] {
        let picks: Vec<usize> = (0..n)
            .map(|_| one_voice(&logits, range, mask, t, &mut rng))
            .collect();
        let holds = picks.iter().filter(|&&i| i == HOLD).count() as f64 / n as f64;
        let onsets = n as f64 * (1.0 - holds);
        let first = picks.iter().filter(|&&i| i == 2).count() as f64 / onsets;
        assert!(
            (holds - 3.0 / (4.0 + (-0.5f64).exp())).abs() < 0.02,
            "T={t}: {holds}"
        );
        // The likelier note wins more often as the temperature falls.
        let expected = match t {
            0.0 => 1.0,
            0.5 => 1.0 / (1.0 + (-1.0f64).exp()),
            _ => 1.0 / (1.0 + (-0.5f64).exp()),
        };
        assert!(
            (first - expected).abs() < 0.03,
            "T={t}: {first} vs {expected}"
        );
    }
}

#[test]
fn sampling_follows_the_distribution() {
    let range = VoiceRange::new(60, 61); // rest, hold, 60, 61
    let logits = [f32::NEG_INFINITY, f32::NEG_INFINITY, 0.0, (3.0f32).ln()];
    let mask = TokenMask::new(range, None, true);
    let mut rng = Rng::new(9);
    let n = 20_000;
    let hits = (0..n)
        .filter(|_| one_voice(&logits, range, mask, 1.0, &mut rng) == 3)
        .count();
    let share = hits as f64 / n as f64;
    assert!((share - 0.75).abs() < 0.02, "share {share}");
    // A high temperature flattens the distribution towards one half.
    let hot = (0..n)
        .filter(|_| one_voice(&logits, range, mask, 100.0, &mut rng) == 3)
        .count() as f64
        / n as f64;
    assert!((hot - 0.5).abs() < 0.03, "hot share {hot}");
}
