//! The settings `train` chooses itself: a recipe, picked from the model's
//! kind and the loaded data (pieces, steps, whether they are already in one
//! key), fills in every setting the command line did not give, and says why.
//!
//! The recipes are the ones the shipped models were trained with
//! (`models/README.md`, `BENCHMARKS.md`): piano rolls learn with an NADE frame
//! output, batch 8 and heavy dropout, one layer on JSB-sized data and two on
//! larger sets; voices learn as the shipped harmonizer (`chorale-satb`) did.
//! What a flag gives always wins. `--recipe none` keeps the flags' own
//! defaults (the trainer's behaviour before recipes).
//!
//! The config's settings stay the single record of a run: the recipe writes
//! its choices into [`TrainConfig`], so checkpoints and the model file's
//! training record hold the resolved values.

use std::collections::BTreeSet;
use std::fmt;

use bach_engine::{Key, Mode, ModelKind, Token};
use clap::parser::ValueSource;

use crate::config::{TrainConfig, VoiceOrder};
use crate::dataset::{Dataset, Piece};

/// The clap ids of the `train` settings given on the command line.
pub type Given = BTreeSet<String>;

/// Which recipe fills in the settings not given.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum RecipeName {
    /// Pick one from the model's kind and the data's size.
    #[default]
    Auto,
    /// Piano rolls of up to about 40,000 training frames (JSB Chorales):
    /// NADE 128, one GRU layer of 256, dropout 0.5, batch 8, lr 2e-3,
    /// 150 epochs, patience 20.
    PianorollSmall,
    /// Larger piano rolls (Nottingham, MuseData, Piano-midi.de): NADE 128,
    /// two GRU layers of 256, dropout 0.5, batch 8, lr 2e-3, 30 epochs,
    /// patience 6.
    PianorollLarge,
    /// Voices, as the shipped harmonizer: GRU 2 x 192, dropout 0.35, voice-pair
    /// score, outer voices first, batch 16, lr 3e-3, 50 epochs, patience 12
    /// (batch and epochs smaller for small or long data). The shipped model
    /// adds `--head-hidden 96 --sounding --lone-openings 0.25`, measured on
    /// the chorales only, so not chosen here.
    Voices,
    /// No recipe: the flags' own defaults, whatever the data.
    None,
}

impl RecipeName {
    pub fn name(self) -> &'static str {
        match self {
            RecipeName::Auto => "auto",
            RecipeName::PianorollSmall => "pianoroll-small",
            RecipeName::PianorollLarge => "pianoroll-large",
            RecipeName::Voices => "voices",
            RecipeName::None => "none",
        }
    }
}

/// Piano rolls with more training frames than this learn with two layers
/// (JSB has 13,807 and one layer generalised better there; the smallest of
/// the others, Piano-midi.de, has 75,911 and shipped with two).
pub const LARGE_ROLL_FRAMES: usize = 40_000;

/// Voices training work, in epochs times training steps, that a run may
/// plan: the shipped harmonizer's 50 epochs of its ~52,000 steps took about
/// 5 minutes on one thread. Longer data get fewer epochs, so a folder of
/// 30-100 songs still finishes in minutes on a laptop.
pub const VOICES_WORK: usize = 3_000_000;

/// Share of the pieces that must agree on a key (or a key signature) for the
/// data to count as already in one key. Estimates on short pieces miss now
/// and then, and a collection in many keys puts few in any one of them.
pub const ONE_KEY_SHARE: f64 = 0.75;

/// One setting, or group of settings, the recipe chose, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Choice {
    /// The settings as chosen, in words ("batch 8, 150 epochs, patience 20").
    pub what: String,
    pub why: String,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.why)
    }
}

/// What the recipe did: the recipe it used and its choices.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub recipe: RecipeName,
    pub choices: Vec<Choice>,
}

/// The settings of `matches` (a `train` subcommand's) given on the command
/// line, by clap id.
pub fn given(matches: &clap::ArgMatches) -> Given {
    matches
        .ids()
        .filter(|id| matches.value_source(id.as_str()) == Some(ValueSource::CommandLine))
        .map(|id| id.as_str().to_owned())
        .collect()
}

/// The settings a recipe may choose, by clap id. `--help` marks each (the
/// `[default]` clap would show is `--recipe none`'s, not the run's).
pub const CHOSEN: &[&str] = &[
    "layers",
    "hidden",
    "nade",
    "epochs",
    "batch",
    "lr",
    "dropout",
    "pair_score",
    "voice_order",
    "patience",
    "transpose",
];

/// `train`'s help with the recipe's settings marked: each says its default
/// comes from the recipe, and the flag's own default is `--recipe none`'s.
pub fn document(train: clap::Command) -> clap::Command {
    CHOSEN.iter().fold(train, |cmd, id| {
        cmd.mut_arg(*id, |a| {
            let plain = a
                .get_default_values()
                .first()
                .map(|v| v.to_string_lossy().into_owned());
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            let note = match plain {
                // `--no-transpose`'s own default (true) would read as "on".
                Some(v) if *id != "transpose" => {
                    format!("[default: the recipe's; {v} with --recipe none]")
                }
                _ => "[default: the recipe's]".to_owned(),
            };
            // Flags (no value) show no default to hide.
            let takes_value = a.get_action().takes_values();
            a.hide_default_value(takes_value)
                .help(format!("{help} {note}"))
        })
    })
}

/// Fills in every setting of `config` that `given` does not name, by
/// `recipe` (or the one `Auto` picks for `data`), and returns the choices.
pub fn resolve(
    recipe: RecipeName,
    given: &Given,
    data: &Dataset,
    config: &mut TrainConfig,
) -> anyhow::Result<Resolved> {
    let recipe = match (recipe, data.kind) {
        (RecipeName::Auto, ModelKind::Voices) => RecipeName::Voices,
        (RecipeName::Auto, ModelKind::Pianoroll) => {
            if data.steps(crate::dataset::Split::Train) > LARGE_ROLL_FRAMES {
                RecipeName::PianorollLarge
            } else {
                RecipeName::PianorollSmall
            }
        }
        (RecipeName::Voices, ModelKind::Pianoroll) => {
            anyhow::bail!("--recipe voices is for voices data, and this is a piano roll")
        }
        (RecipeName::PianorollSmall | RecipeName::PianorollLarge, ModelKind::Voices) => {
            anyhow::bail!(
                "--recipe {} is for piano rolls, and this is voices data",
                recipe.name()
            )
        }
        (r, _) => r,
    };
    let mut r = Resolver {
        given,
        config,
        choices: Vec::new(),
    };
    match recipe {
        RecipeName::PianorollSmall | RecipeName::PianorollLarge => {
            pianoroll(&mut r, recipe == RecipeName::PianorollLarge, data)
        }
        RecipeName::Voices => voices(&mut r, data),
        RecipeName::None | RecipeName::Auto => {}
    }
    Ok(Resolved {
        recipe,
        choices: r.choices,
    })
}

/// A setting the recipe would choose: its clap id, its words, and how to set it.
type Item<'a> = (&'a str, String, Box<dyn Fn(&mut TrainConfig) + 'a>);

/// The batch, epochs and patience a recipe chose for the data's size, as
/// one choice.
fn size_choices<'a>(batch: usize, epochs: usize, patience: usize) -> Vec<Item<'a>> {
    vec![
        (
            "batch",
            format!("batch {batch}"),
            Box::new(move |c: &mut TrainConfig| c.training.batch = batch),
        ),
        (
            "epochs",
            format!("{epochs} epochs"),
            Box::new(move |c: &mut TrainConfig| c.epochs = epochs),
        ),
        (
            "patience",
            format!("patience {patience}"),
            Box::new(move |c: &mut TrainConfig| c.training.patience = patience),
        ),
    ]
}

struct Resolver<'a> {
    given: &'a Given,
    config: &'a mut TrainConfig,
    choices: Vec<Choice>,
}

impl Resolver<'_> {
    /// Whether the command line gave the setting `id`, by its flag or by
    /// the flag that turns it the other way.
    fn gave(&self, id: &str) -> bool {
        let opposite = match id {
            "transpose" => "force_transpose",
            "pair_score" => "no_pair_score",
            _ => "",
        };
        self.given.contains(id) || self.given.contains(opposite)
    }

    /// Sets the items the command line did not give, and records them with
    /// one reason; a group the user gave all of is left out.
    fn choose(&mut self, items: Vec<Item>, why: impl Into<String>) {
        let mut what = Vec::new();
        for (id, words, set) in items {
            if !self.gave(id) {
                set(self.config);
                what.push(words);
            }
        }
        if !what.is_empty() {
            self.choices.push(Choice {
                what: what.join(", "),
                why: why.into(),
            });
        }
    }

    fn transposition(&mut self, data: &Dataset) {
        if self.gave("transpose") {
            return;
        }
        let census = KeyCensus::of(&data.train);
        let (on, what, why) = if census.counted == 0 {
            (
                true,
                "random transposition",
                "no piece's key could be estimated".to_owned(),
            )
        } else if census.one_key() {
            (
                false,
                "no transposition",
                format!(
                    "{}/{} pieces already in {}",
                    census.agree, census.counted, census.label
                ),
            )
        } else {
            (
                true,
                "random transposition",
                format!(
                    "the pieces are in many keys (at most {}/{} in {})",
                    census.agree, census.counted, census.label
                ),
            )
        };
        self.config.training.transpose = on;
        self.choices.push(Choice {
            what: what.into(),
            why,
        });
    }
}

fn pianoroll(r: &mut Resolver, large: bool, data: &Dataset) {
    let pieces = data.train.len();
    let frames = data.steps(crate::dataset::Split::Train);
    r.choose(
        vec![(
            "nade",
            "nade 128".into(),
            Box::new(|c: &mut TrainConfig| c.net.nade = 128),
        )],
        "piano rolls learn chords far better with an NADE output (JSB test NLL 5.95 against 8.48)",
    );
    let (layers, why) = if large {
        (
            2,
            format!("{frames} training frames are enough for two layers (the Nottingham, MuseData and Piano-midi.de recipes)"),
        )
    } else {
        (
            1,
            format!("{frames} training frames: one layer generalises better than two on data this small (JSB)"),
        )
    };
    r.choose(
        vec![
            (
                "layers",
                format!("{layers} layer{}", if layers > 1 { "s" } else { "" }),
                Box::new(move |c: &mut TrainConfig| c.net.layers = layers),
            ),
            (
                "hidden",
                "256 hidden".into(),
                Box::new(|c: &mut TrainConfig| c.net.hidden = 256),
            ),
        ],
        why,
    );
    r.choose(
        vec![(
            "dropout",
            "dropout 0.5".into(),
            Box::new(|c: &mut TrainConfig| c.training.dropout = 0.5),
        )],
        "every shipped piano-roll model overfits without heavy dropout",
    );
    r.choose(
        vec![(
            "lr",
            "lr 2e-3".into(),
            Box::new(|c: &mut TrainConfig| c.training.lr = 2e-3),
        )],
        "the shipped piano-roll models' learning rate",
    );
    // Small batches helped every piano roll (more updates an epoch); a
    // folder of a few pieces still gets four batches an epoch.
    let batch = (pieces / 4).clamp(1, 8);
    let (epochs, patience) = if large { (30, 6) } else { (150, 20) };
    r.choose(
        size_choices(batch, epochs, patience),
        if large {
            format!("{pieces} training pieces, {frames} frames: a large set needs few epochs")
        } else {
            format!(
                "{pieces} training pieces: small data overfit early, so stop on the validation NLL"
            )
        },
    );
    r.transposition(data);
}

fn voices(r: &mut Resolver, data: &Dataset) {
    let pieces = data.train.len();
    let steps = data.steps(crate::dataset::Split::Train);
    let voices = data.voices.len();
    r.choose(
        vec![
            (
                "layers",
                "2 layers".into(),
                Box::new(|c: &mut TrainConfig| c.net.layers = 2),
            ),
            (
                "hidden",
                "192 hidden".into(),
                Box::new(|c: &mut TrainConfig| c.net.hidden = 192),
            ),
            (
                "dropout",
                "dropout 0.35".into(),
                Box::new(|c: &mut TrainConfig| c.training.dropout = 0.35),
            ),
            (
                "lr",
                "lr 3e-3".into(),
                Box::new(|c: &mut TrainConfig| c.training.lr = 3e-3),
            ),
        ],
        "the shipped harmonizer's network (chorale-satb)",
    );
    if voices >= 2 {
        r.choose(
            vec![(
                "pair_score",
                "pair score".into(),
                Box::new(|c: &mut TrainConfig| c.training.pair_score = true),
            )],
            "each voice weighs its intervals with the voices decided before it (parallels, crossings): the shipped harmonizer's",
        );
    }
    if voices >= 3 {
        r.choose(
            vec![(
                "voice_order",
                "outer-first".into(),
                Box::new(|c: &mut TrainConfig| c.training.voice_order = VoiceOrder::OuterFirst),
            )],
            format!("{voices} voices: the top and bottom voices first, then the inner ones (chorale-satb's valid NLL 2.006 against 2.041 top-down)"),
        );
    } else {
        r.choose(
            vec![(
                "voice_order",
                "top-down".into(),
                Box::new(|c: &mut TrainConfig| c.training.voice_order = VoiceOrder::TopDown),
            )],
            format!(
                "{voices} voice{}: no inner voices to decide after the outer ones",
                if voices == 1 { "" } else { "s" }
            ),
        );
    }
    // The harmonizer's batch of 16 gave its 235 pieces 15 updates an epoch;
    // fewer pieces get smaller batches, so a small folder still gets about
    // ten updates an epoch.
    let batch = (pieces / 10).clamp(2, 16);
    // Long data get fewer epochs, so the run's work stays near the
    // harmonizer's (minutes on one thread).
    let epochs = (VOICES_WORK / steps.max(1)).clamp(15, 50);
    let patience = (epochs / 4).clamp(5, 12);
    r.choose(
        size_choices(batch, epochs, patience),
        format!("{pieces} training pieces, {steps} steps"),
    );
    if data.train.iter().any(|p| p.context().is_some()) {
        if !r.gave("transpose") {
            // The model works in each piece's key frame (`Trainer::new`
            // turns transposition off for it): nothing to choose.
            r.config.training.transpose = false;
            r.choices.push(Choice {
                what: "no transposition".into(),
                why: "the data name each piece's key, and the model learns every piece in its key's frame".into(),
            });
        }
    } else {
        r.transposition(data);
    }
}

/// How many pieces share a key: each piece's key estimated from all its
/// notes ([`bach_engine::key::estimate_key`]), then the pieces grouped by
/// tonic (C major with C minor) and by key signature (C major with A
/// minor); the larger group counts.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCensus {
    /// Pieces with an estimate.
    pub counted: usize,
    /// Pieces in the largest group.
    pub agree: usize,
    /// That group in words: "C major / C minor".
    pub label: String,
}

impl KeyCensus {
    pub fn of(pieces: &[Piece]) -> Self {
        let keys: Vec<Key> = pieces.iter().filter_map(piece_key).collect();
        let mut best = (0, String::new());
        for tonic in 0..12u8 {
            let major = Key {
                tonic,
                mode: Mode::Major,
            };
            let minor = Key {
                tonic,
                mode: Mode::Minor,
            };
            // The relative minor of `major`: the same signature.
            let relative = Key {
                tonic: (tonic + 9) % 12,
                mode: Mode::Minor,
            };
            for other in [minor, relative] {
                let n = keys.iter().filter(|k| **k == major || **k == other).count();
                if n > best.0 {
                    best = (n, format!("{} / {}", major.name(), other.name()));
                }
            }
        }
        KeyCensus {
            counted: keys.len(),
            agree: best.0,
            label: best.1,
        }
    }

    /// Whether the pieces are already in one key, bar estimation misses.
    pub fn one_key(&self) -> bool {
        self.counted > 0 && self.agree as f64 >= ONE_KEY_SHARE * self.counted as f64
    }
}

/// A piece's key from all its notes. Each step's pitches go in from the top
/// down, so the estimator's first note is the melody's and its last (the
/// final cadence) the bass's.
pub fn piece_key(piece: &Piece) -> Option<Key> {
    let mut notes: Vec<(u8, f32)> = Vec::new();
    match piece {
        Piece::Keys(frames) => {
            for f in frames {
                let pitches: Vec<u8> = f.pitches().collect();
                notes.extend(pitches.iter().rev().map(|&p| (p, 1.0)));
            }
        }
        Piece::Voices { voices, tokens, .. } => {
            let mut sounding: Vec<Option<u8>> = vec![None; *voices];
            for step in tokens.chunks(*voices.max(&1)) {
                for (v, t) in step.iter().enumerate() {
                    sounding[v] = match t {
                        Token::Onset(p) => Some(*p),
                        Token::Hold => sounding[v],
                        Token::Rest => None,
                    };
                    if let Some(p) = sounding[v] {
                        notes.push((p, 1.0));
                    }
                }
            }
        }
    }
    bach_engine::key::estimate_key(notes)
}
