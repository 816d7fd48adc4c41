//! Lone openings: a training piece that begins with its melody alone, then
//! a moment of silence, then every voice entering, as continue mode plays
//! (the player's line, the pause the model waits for, then its turn).
//!
//! Without them a model that hears how long each voice has rested
//! (`--sounding`) never saw the lower voices silent for bars on end, and
//! after a lone melody it went on resting. The silenced steps are not
//! scored for the voices silenced, so the model learns that voices enter
//! after a rest without learning to rest.

use bach_engine::{Horizon, Token};

use crate::dataset::Piece;
use crate::rng::Rng;

/// Which of a piece's opening steps are scored for which voices.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Silenced {
    /// Steps `0..alone`: the melody plays, the other voices rest (unscored).
    pub alone: usize,
    /// Steps `alone..entry`: every voice rests (unscored); at `entry` they
    /// all come in.
    pub entry: usize,
}

impl Silenced {
    /// Whether voice `v` is scored at step `t`.
    pub fn scores(&self, v: usize, t: usize) -> bool {
        t >= self.entry || (v == 0 && t < self.alone)
    }
}

/// With probability `share`, `piece` opened by its own melody alone for one
/// to four bars, then one step to a bar of silence: the piece as played and
/// what of it is scored. Other pieces (and pieces too short to keep a
/// phrase after the opening) come back as they are.
pub fn maybe_lone(piece: Piece, share: f64, rng: &mut Rng) -> (Piece, Silenced) {
    // Always drawn, so the share does not move the other draws.
    let (pick, bars, rest) = (rng.uniform(), rng.uniform(), rng.uniform());
    let Some(c) = piece.context() else {
        return (piece, Silenced::default());
    };
    let bar_steps = c.bars.first().map_or(16, |b| b.bar_steps.max(1));
    let alone = bar_steps * (1 + (bars * 4.0) as usize).min(4);
    let silence = 1 + ((rest * bar_steps as f64) as usize).min(bar_steps - 1);
    if pick >= share || alone + silence + 2 * bar_steps > piece.len() {
        return (piece, Silenced::default());
    }
    let silenced = Silenced {
        alone,
        entry: alone + silence,
    };
    (lone_opening(&piece, silenced), silenced)
}

/// `piece` with the voices silenced as `silenced` says. At the entry each
/// voice's held note is struck anew (a hold after a rest would be more
/// rest), and the melody is not told ahead of time: in continue mode the
/// model writes it.
pub fn lone_opening(piece: &Piece, silenced: Silenced) -> Piece {
    let Piece::Voices {
        voices,
        tokens,
        context,
    } = piece
    else {
        return piece.clone();
    };
    let voices = *voices;
    let mut out = tokens.clone();
    for v in 0..voices {
        let mut sounding = None;
        for t in 0..piece.len().min(silenced.entry + 1) {
            let token = tokens[t * voices + v];
            sounding = match token {
                Token::Onset(p) => Some(p),
                Token::Rest => None,
                Token::Hold => sounding,
            };
            if !silenced.scores(v, t) {
                out[t * voices + v] = Token::Rest;
            } else if t == silenced.entry && token == Token::Hold {
                out[t * voices + v] = sounding.map_or(Token::Rest, Token::Onset);
            }
        }
    }
    let lone = Piece::Voices {
        voices,
        tokens: out,
        context: context.clone(),
    };
    lone.with_horizon(Horizon::Off)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(piece: &Piece) -> Vec<Vec<Token>> {
        let Piece::Voices { voices, tokens, .. } = piece else {
            unreachable!()
        };
        tokens.chunks(*voices).map(|s| s.to_vec()).collect()
    }

    #[test]
    fn the_melody_plays_alone_then_all_rest_then_held_notes_are_struck() {
        use Token::*;
        let piece = Piece::voices(
            2,
            vec![
                Onset(72),
                Onset(60),
                Hold,
                Hold,
                Onset(74),
                Hold,
                Hold,
                Hold,
                Onset(76),
                Onset(62),
            ],
        );
        let s = Silenced { alone: 1, entry: 3 };
        let lone = steps(&lone_opening(&piece, s));
        assert_eq!(lone[0], vec![Onset(72), Rest]);
        assert_eq!(lone[1], vec![Rest, Rest]);
        assert_eq!(lone[2], vec![Rest, Rest]);
        // Both voices held into step 3: struck there.
        assert_eq!(lone[3], vec![Onset(74), Onset(60)]);
        assert_eq!(lone[4], vec![Onset(76), Onset(62)]);
        assert!(s.scores(0, 0) && !s.scores(1, 0));
        assert!(!s.scores(0, 1) && !s.scores(0, 2));
        assert!(s.scores(1, 3) && s.scores(0, 4));
    }
}
