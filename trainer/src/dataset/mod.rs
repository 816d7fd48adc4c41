//! Training data: pieces of music on a grid, split into train, valid and test.
//!
//! Two shapes of piece exist, one per model kind: a piano roll (one 88-key
//! frame per step) and voice tokens (one [`Token`] per voice per step).

pub mod chorales;
pub mod midi_folder;
pub mod pianoroll;
pub mod voices;

use std::path::{Path, PathBuf};

use bach_engine::pianoroll::KEYS;
use bach_engine::{
    BarPosition, Horizon, Key, KeyFrame, MeterRegion, ModelKind, Token, VoiceRange, VoiceSpec,
};

/// Why a dataset could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a dataset: {reason}")]
    Format { path: PathBuf, reason: String },
}

/// A split of a dataset.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Valid,
    Test,
}

impl Split {
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

/// One piece of music.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// Piano-roll frames.
    Keys(Vec<KeyFrame>),
    /// `tokens[t * voices + v]` is voice `v` at step `t`; `context` is the
    /// key and meter where the data know them (the annotated chorales).
    Voices {
        voices: usize,
        tokens: Vec<Token>,
        context: Option<Box<PieceContext>>,
    },
}

/// What an annotated piece says beyond its notes.
#[derive(Clone, Debug, PartialEq)]
pub struct PieceContext {
    /// The key the tokens are in (it moves with them).
    pub key: Key,
    /// Each step's place in its bar, from the score's meters and pickup.
    pub bars: Vec<BarPosition>,
    /// The meters those places come from, as a host would report them (a
    /// pickup's bar line before step 0); empty where a dataset has none.
    pub meters: Vec<MeterRegion>,
    /// How far ahead a model is told the melody when trained or scored on it.
    pub horizon: Horizon,
    /// Steps where a soprano note with a fermata begins (phrase ends), ascending.
    pub fermatas: Vec<usize>,
}

impl Piece {
    /// Voice tokens without context.
    pub fn voices(voices: usize, tokens: Vec<Token>) -> Self {
        Piece::Voices {
            voices,
            tokens,
            context: None,
        }
    }

    /// The piece's context, if it is an annotated voices piece.
    pub fn context(&self) -> Option<&PieceContext> {
        match self {
            Piece::Voices { context, .. } => context.as_deref(),
            Piece::Keys(_) => None,
        }
    }

    /// The same piece with its melody known `horizon` ahead.
    pub fn with_horizon(&self, horizon: Horizon) -> Piece {
        let mut p = self.clone();
        if let Piece::Voices {
            context: Some(c), ..
        } = &mut p
        {
            c.horizon = horizon;
        }
        p
    }

    /// The piece as a model sees it: in a key-normalised frame (tonic on C)
    /// when the model knows keys and the piece has one, as it is otherwise.
    pub fn in_frame(&self, meta: &bach_engine::ModelMeta) -> Piece {
        match self.context() {
            Some(c) if meta.knows_key() => self.transposed(c.key.shift()),
            _ => self.clone(),
        }
    }
}

impl Piece {
    /// Number of steps.
    pub fn len(&self) -> usize {
        match self {
            Piece::Keys(frames) => frames.len(),
            Piece::Voices { voices, tokens, .. } => tokens.len() / (*voices).max(1),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The transpositions (in semitones) that keep every note playable: on the
    /// keyboard for a roll, inside each voice's range for voices. `None` when
    /// not even the piece as it is fits.
    pub fn transpositions(&self, ranges: &[VoiceRange]) -> Option<(i32, i32)> {
        let (mut down, mut up) = (i32::MIN, i32::MAX);
        match self {
            Piece::Keys(frames) => {
                let mut keys = frames.iter().flat_map(|f| f.keys());
                if let Some(first) = keys.next() {
                    let (lo, hi) = keys.fold((first, first), |(l, h), k| (l.min(k), h.max(k)));
                    down = -(lo as i32);
                    up = (KEYS - 1 - hi) as i32;
                } else {
                    return Some((0, 0));
                }
            }
            Piece::Voices { voices, tokens, .. } => {
                for (v, range) in ranges.iter().enumerate().take(*voices) {
                    let pitches = tokens
                        .iter()
                        .skip(v)
                        .step_by(*voices)
                        .filter_map(|t| t.onset());
                    for p in pitches {
                        down = down.max(range.low as i32 - p as i32);
                        up = up.min(range.high as i32 - p as i32);
                    }
                }
                if down == i32::MIN {
                    down = 0;
                }
                if up == i32::MAX {
                    up = 0;
                }
            }
        }
        (down <= 0 && up >= 0).then_some((down, up))
    }

    /// The piece moved by `semitones` (which must keep it playable, see
    /// [`Piece::transpositions`]; notes pushed off the keyboard are dropped).
    pub fn transposed(&self, semitones: i32) -> Piece {
        if semitones == 0 {
            return self.clone();
        }
        match self {
            Piece::Keys(frames) => Piece::Keys(
                frames
                    .iter()
                    .map(|f| {
                        let mut out = KeyFrame::EMPTY;
                        for k in f.keys() {
                            let moved = k as i32 + semitones;
                            if (0..KEYS as i32).contains(&moved) {
                                out.insert_key(moved as usize);
                            }
                        }
                        out
                    })
                    .collect(),
            ),
            Piece::Voices {
                voices,
                tokens,
                context,
            } => Piece::Voices {
                voices: *voices,
                context: context.as_ref().map(|c| {
                    let mut c = c.clone();
                    c.key.tonic = (c.key.tonic as i32 + semitones).rem_euclid(12) as u8;
                    c
                }),
                tokens: tokens
                    .iter()
                    .map(|t| match t {
                        Token::Onset(p) => {
                            Token::Onset((*p as i32 + semitones).clamp(0, 127) as u8)
                        }
                        other => *other,
                    })
                    .collect(),
            },
        }
    }
}

/// A dataset in memory.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// Where it came from, for provenance: the file (or folder) name, no directory.
    pub name: String,
    /// SHA-256 of what was read (lowercase hex; see [`crate::provenance`]),
    /// when it came from a file or folder.
    pub sha256: Option<String>,
    pub kind: ModelKind,
    /// Grid step in quarter notes.
    pub step_beats: f64,
    /// The voices (voices datasets only), with ranges already widened for transposition.
    pub voices: Vec<VoiceSpec>,
    pub train: Vec<Piece>,
    pub valid: Vec<Piece>,
    pub test: Vec<Piece>,
    /// Files that could not be read or did not fit (MIDI folders only).
    pub skipped: usize,
    /// Why each of them was skipped.
    pub warnings: Vec<String>,
    /// What was found in each piece where it had to be inferred (MIDI
    /// folders: where a file's key and phrase ends came from).
    pub info: Vec<String>,
}

impl Dataset {
    pub fn split(&self, split: Split) -> &[Piece] {
        match split {
            Split::Train => &self.train,
            Split::Valid => &self.valid,
            Split::Test => &self.test,
        }
    }

    /// The voices' ranges (empty for piano rolls).
    pub fn ranges(&self) -> Vec<VoiceRange> {
        self.voices.iter().map(|v| v.range()).collect()
    }

    /// Pieces per split, for provenance.
    pub fn split_sizes(&self) -> bach_engine::SplitSizes {
        bach_engine::SplitSizes {
            train: self.train.len(),
            valid: self.valid.len(),
            test: self.test.len(),
        }
    }

    pub fn steps(&self, split: Split) -> usize {
        self.split(split).iter().map(Piece::len).sum()
    }
}

/// Reads the dataset at `path`: a JSON file or a folder of MIDI files. `kind`
/// `None` guesses from the content (piano roll for MIDI folders); `step_beats`
/// `None` guesses the grid from the file name (or uses the MIDI default).
pub fn load(
    path: &Path,
    kind: Option<ModelKind>,
    step_beats: Option<f64>,
) -> Result<Dataset, DatasetError> {
    load_with(path, kind, step_beats, None)
}

/// [`load`], a MIDI folder's voices chosen by `voices` (`--voices`) where
/// given; JSON datasets name their voices themselves, so there it is an error.
/// A folder read as the kind its files are, when `--kind` is not given:
/// voices when most readable files have one melodic line per part and there
/// are at least three parts (four-part chorales, hymns, barbershop charts),
/// else a piano roll (piano music, whose lone chordal part the reader splits
/// by pitch into two lines, or lines that come and go). Says which, and why,
/// first in the dataset's info.
fn guess_folder(path: &Path, step_beats: Option<f64>) -> Result<Dataset, DatasetError> {
    if let Ok(mut data) = midi_folder::load(path, ModelKind::Voices, step_beats, None) {
        let pieces = data.train.len() + data.valid.len() + data.test.len();
        if data.voices.len() >= 3 && pieces >= data.skipped {
            data.info.insert(
                0,
                format!(
                    "read as voices (--kind voices): {pieces} of {} files have {} parts of one note at a time",
                    pieces + data.skipped,
                    data.voices.len()
                ),
            );
            return Ok(data);
        }
    }
    let mut data = midi_folder::load(path, ModelKind::Pianoroll, step_beats, None)?;
    data.info.insert(
        0,
        "read as a piano roll (--kind pianoroll): most files are not parts of one note at a time"
            .into(),
    );
    Ok(data)
}

pub fn load_with(
    path: &Path,
    kind: Option<ModelKind>,
    step_beats: Option<f64>,
    voices: Option<&midi_folder::VoiceMap>,
) -> Result<Dataset, DatasetError> {
    if path.is_dir() {
        let kind = match (kind, voices) {
            (Some(kind), _) => kind,
            (None, Some(_)) => ModelKind::Voices,
            (None, None) => return guess_folder(path, step_beats),
        };
        if voices.is_some() && kind != ModelKind::Voices {
            return Err(DatasetError::Format {
                path: path.to_owned(),
                reason: "--voices chooses the voices of a voices dataset (--kind voices)".into(),
            });
        }
        return midi_folder::load(path, kind, step_beats, voices);
    }
    if voices.is_some() {
        return Err(DatasetError::Format {
            path: path.to_owned(),
            reason: "--voices chooses the parts of MIDI files; a JSON dataset has its voices"
                .into(),
        });
    }
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
        path: path.to_owned(),
        source,
    })?;
    if chorales::is_chorales(&text) {
        if kind == Some(ModelKind::Pianoroll) {
            return Err(DatasetError::Format {
                path: path.to_owned(),
                reason: "the annotated chorales are voices, not a piano roll".into(),
            });
        }
        let mut data = chorales::dataset(&text).map_err(|reason| DatasetError::Format {
            path: path.to_owned(),
            reason,
        })?;
        data.name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        data.sha256 = Some(crate::hash::sha256_hex(text.as_bytes()));
        return Ok(data);
    }
    let raw = RawSplits::parse(&text).map_err(|reason| DatasetError::Format {
        path: path.to_owned(),
        reason,
    })?;
    let kind = kind.unwrap_or_else(|| raw.guess_kind());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let result = match kind {
        ModelKind::Pianoroll => pianoroll::from_raw(&name, raw),
        ModelKind::Voices => voices::from_raw(&name, raw),
    };
    let mut data = result.map_err(|reason| DatasetError::Format {
        path: path.to_owned(),
        reason,
    })?;
    if let Some(s) = step_beats {
        data.step_beats = s;
    }
    data.sha256 = Some(crate::hash::sha256_hex(text.as_bytes()));
    Ok(data)
}

/// A JSON dataset before interpretation: per split, pieces of steps of numbers.
pub struct RawSplits {
    pub train: Vec<Vec<Vec<f64>>>,
    pub valid: Vec<Vec<Vec<f64>>>,
    pub test: Vec<Vec<Vec<f64>>>,
}

impl RawSplits {
    pub fn parse(text: &str) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        struct Raw {
            train: Vec<Vec<Vec<f64>>>,
            #[serde(default)]
            valid: Vec<Vec<Vec<f64>>>,
            #[serde(default)]
            test: Vec<Vec<Vec<f64>>>,
        }
        let raw: Raw = serde_json::from_str(text).map_err(|e| {
            format!("expected {{\"train\": [...], \"valid\": [...], \"test\": [...]}} with pieces as lists of steps of MIDI pitches ({e})")
        })?;
        Ok(Self {
            train: raw.train,
            valid: raw.valid,
            test: raw.test,
        })
    }

    fn all_steps(&self) -> impl Iterator<Item = &Vec<f64>> {
        self.train
            .iter()
            .chain(&self.valid)
            .chain(&self.test)
            .flatten()
    }

    /// Voice-separated data have the same number of entries on every step
    /// and use -1 for rests or list voices from the top down; piano rolls
    /// list sounding pitches in ascending order.
    pub fn guess_kind(&self) -> ModelKind {
        let mut widths = self.all_steps().map(Vec::len);
        let first = widths.next().unwrap_or(0);
        let fixed = first > 0 && widths.all(|w| w == first);
        let voice_like = self
            .all_steps()
            .any(|s| s.contains(&-1.0) || s.windows(2).any(|w| w[0] > w[1]));
        if fixed && voice_like {
            ModelKind::Voices
        } else {
            ModelKind::Pianoroll
        }
    }
}

/// A MIDI pitch from a JSON number (some files write `74.0`).
pub(crate) fn pitch_of(x: f64) -> Result<u8, String> {
    if x.fract() == 0.0 && (0.0..=127.0).contains(&x) {
        Ok(x as u8)
    } else {
        Err(format!("{x} is not a MIDI pitch"))
    }
}
