//! One piece's soprano harmonized as the plugin would, in the key a
//! [`KeySource`] gives.

use bach_engine::perform::line::harmonize_line;
use bach_engine::perform::{KeyChoice, Performer};
use bach_engine::{Horizon, Key, Sampler, Token, VoicesModel};

use crate::dataset::Piece;

/// Where each piece's key comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeySource {
    /// As the plugin's Auto: followed from the melody as far as it is known
    /// (the whole melody's key when the whole melody is known).
    Auto,
    /// The data's key (the piece's analysed key).
    Data,
    /// One key for every piece.
    Fixed(Key),
}

impl std::str::FromStr for KeySource {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(KeySource::Auto),
            "data" => Ok(KeySource::Data),
            _ => Key::parse(s).map(KeySource::Fixed).ok_or_else(|| {
                format!("{s:?} is not auto, data or a key such as \"D major\" or \"f# minor\"")
            }),
        }
    }
}

impl KeySource {
    pub fn name(self) -> String {
        match self {
            KeySource::Auto => "auto".into(),
            KeySource::Data => "the data's".into(),
            KeySource::Fixed(k) => k.name().into(),
        }
    }
}

/// Harmonizes a piece's soprano (voice 0) through the plugin's performer
/// ([`harmonize_line`]): the soprano is clamped, the other voices are
/// sampled step by step in the piece's meter (4/4 for pieces without one),
/// in the key `key` gives, with the melody known `horizon` ahead; they rest
/// while the soprano rests, and a phrase after a rest starts from a fresh
/// state. Returns the whole score in the same layout.
pub fn harmonize(
    model: &mut VoicesModel,
    piece: &Piece,
    sampler: &Sampler,
    seed: u64,
    key: KeySource,
    horizon: Horizon,
) -> Vec<Token> {
    let Piece::Voices { voices, tokens, .. } = piece else {
        return Vec::new();
    };
    let melody: Vec<Token> = tokens.iter().step_by((*voices).max(1)).copied().collect();
    let context = piece.context();
    let choice = match key {
        KeySource::Fixed(k) => KeyChoice::Fixed(k),
        KeySource::Data => context.map_or(KeyChoice::Auto, |c| KeyChoice::Fixed(c.key)),
        KeySource::Auto => KeyChoice::Auto,
    };
    // Pieces without meters are harmonized as the old models were: 4/4 from
    // the first step, and nothing ahead.
    let (bars, horizon) = match context {
        Some(c) => (c.bars.as_slice(), horizon),
        None => (&[][..], Horizon::Off),
    };
    let mut performer = Performer::new(*sampler, seed);
    performer.restart(model, seed);
    harmonize_line(model, &mut performer, &melody, bars, choice, horizon)
}
