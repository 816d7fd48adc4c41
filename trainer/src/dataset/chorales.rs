//! The annotated chorales of `../shared/data/chorales/chorales.json`: four
//! voices of true notes (ties merged) on a 16th grid, with each piece's key,
//! meters, pickup, soprano fermatas and its standard split.
//!
//! The score is kept as notated: repeats are not unfolded (the file's
//! `play_order` says how, and is ignored here).

use std::path::{Path, PathBuf};

use bach_engine::score::MeterChange;
use bach_engine::{
    CoreKind, Horizon, Key, Meter, MeterRegion, Mode as KeyMode, ModelKind, ModelMeta, Token,
};
use serde::Deserialize;

use super::{Dataset, DatasetError, Piece, PieceContext};

/// The voices, top down, in the order of [`Chorale::tokens`].
pub const VOICES: [&str; 4] = ["S", "A", "T", "B"];

/// The longest piece accepted, in 16th steps. The longest real one is 992;
/// the limit keeps a hostile length from allocating gigabytes.
pub const MAX_STEPS: usize = 1 << 20;

/// Where a chorale belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChoraleSplit {
    Train,
    Valid,
    Test,
    /// Not a standard chorale: for training only.
    Extra,
    /// Not a standard chorale and its tune is a valid or test tune: never train on it.
    Excluded,
}

impl ChoraleSplit {
    pub fn name(self) -> &'static str {
        match self {
            ChoraleSplit::Train => "train",
            ChoraleSplit::Valid => "valid",
            ChoraleSplit::Test => "test",
            ChoraleSplit::Extra => "extra",
            ChoraleSplit::Excluded => "excluded",
        }
    }
}

/// 16th steps per bar of a chorale's meter (checked to be whole and
/// non-zero when read).
fn bar_len(m: &MeterChange) -> usize {
    (m.meter.numerator as usize * 16) / (m.meter.denominator as usize).max(1)
}

/// One four-part chorale.
#[derive(Clone, Debug, PartialEq)]
pub struct Chorale {
    /// For example `"bwv1.6"`.
    pub id: String,
    pub split: ChoraleSplit,
    /// Pitch class of the analysed key's tonic, C = 0.
    pub tonic: u8,
    pub minor: bool,
    /// Every time signature in order; the first is at step 0.
    pub meters: Vec<MeterChange>,
    /// Length of the incomplete first bar in 16ths (0 if none); the first downbeat.
    pub pickup: usize,
    /// Onsets of the soprano notes with a fermata, ascending.
    pub fermatas: Vec<usize>,
    /// Length in 16th steps.
    pub steps: usize,
    /// `tokens[t * 4 + v]` is voice `v` (S, A, T, B) at step `t`.
    pub tokens: Vec<Token>,
}

impl Chorale {
    /// The token of voice `v` (0 = S … 3 = B) at step `t`, `Rest` past the end.
    pub fn token(&self, t: usize, v: usize) -> Token {
        self.tokens.get(t * 4 + v).copied().unwrap_or(Token::Rest)
    }

    /// The bar position at step `t`: (16ths since the current bar began,
    /// the meter). Bars start at the pickup, then every bar length; a meter
    /// change starts a new bar. Steps of the pickup count back from the
    /// first downbeat, as the end of a bar of the first meter. Read from
    /// [`Chorale::meter_regions`], as the training pieces' places are.
    pub fn bar_position(&self, t: usize) -> (usize, Meter) {
        let region = MeterRegion::at(&self.meter_regions(), t as u32);
        (region.place(t as u32, 0.25).step, region.meter)
    }

    /// The meters as a host would report them: each from its step, with a
    /// bar line there, the first one's where the pickup ends (a bar before,
    /// so a host reports the pickup inside a bar).
    pub fn meter_regions(&self) -> Vec<MeterRegion> {
        self.meters
            .iter()
            .map(|m| {
                let bar_step = if m.step == 0 && self.pickup > 0 {
                    self.pickup as i64 - bar_len(m) as i64
                } else {
                    m.step as i64
                };
                MeterRegion {
                    step: m.step,
                    meter: m.meter,
                    bar_step,
                }
            })
            .collect()
    }

    /// Whether a soprano note with a fermata sounds at step `t`.
    pub fn is_fermata(&self, t: usize) -> bool {
        // Walk back over the holds to the onset of the soprano note sounding at t.
        let mut s = t;
        loop {
            match self.tokens.get(s * 4) {
                Some(Token::Onset(_)) => return self.fermatas.binary_search(&s).is_ok(),
                Some(Token::Hold) if s > 0 => s -= 1,
                _ => return false,
            }
        }
    }
}

/// Reads every chorale of the file at `path`, in file order.
pub fn read_chorales(path: &Path) -> Result<Vec<Chorale>, DatasetError> {
    let text = std::fs::read_to_string(path).map_err(|source| DatasetError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_chorales(&text).map_err(|reason| DatasetError::Format {
        path: PathBuf::from(path),
        reason,
    })
}

/// Parses the file's text; the error names the piece and what is wrong.
pub fn parse_chorales(text: &str) -> Result<Vec<Chorale>, String> {
    #[derive(Deserialize)]
    struct File {
        chorales: Vec<serde_json::Value>,
    }
    let file: File = serde_json::from_str(text)
        .map_err(|e| format!("expected {{\"chorales\": [...]}} ({e})"))?;
    file.chorales
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            // Named by its id when it has one, so the message points at the piece.
            let name = match value.get("id").and_then(|id| id.as_str()) {
                Some(id) => format!("chorale {id:?}"),
                None => format!("chorale #{i}"),
            };
            let raw = RawChorale::deserialize(value).map_err(|e| format!("{name}: {e}"))?;
            raw.into_chorale().map_err(|e| format!("{name}: {e}"))
        })
        .collect()
}

#[derive(Deserialize)]
struct RawChorale {
    id: String,
    split: ChoraleSplit,
    key: RawKey,
    meters: Vec<(u64, u64, u64)>,
    pickup_16ths: u64,
    length_16ths: u64,
    fermatas: Vec<u64>,
    voices: RawVoices,
}

#[derive(Deserialize)]
struct RawKey {
    tonic: u64,
    mode: Mode,
}

#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Mode {
    Major,
    Minor,
}

/// `[onset_16th, duration_16ths, midi]` per note; unknown voice names are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
struct RawVoices {
    S: Vec<(u64, u64, u64)>,
    A: Vec<(u64, u64, u64)>,
    T: Vec<(u64, u64, u64)>,
    B: Vec<(u64, u64, u64)>,
}

/// A step count from the file, refused beyond [`MAX_STEPS`].
fn steps_of(x: u64, what: &str) -> Result<usize, String> {
    usize::try_from(x)
        .ok()
        .filter(|&s| s <= MAX_STEPS)
        .ok_or_else(|| format!("{what} {x} is beyond {MAX_STEPS} 16th steps"))
}

struct Note {
    onset: usize,
    end: usize,
    pitch: u8,
}

impl RawChorale {
    fn into_chorale(self) -> Result<Chorale, String> {
        if self.key.tonic > 11 {
            return Err(format!(
                "key tonic {} is not a pitch class 0-11",
                self.key.tonic
            ));
        }
        let voices = [
            &self.voices.S,
            &self.voices.A,
            &self.voices.T,
            &self.voices.B,
        ];
        let mut notes: [Vec<Note>; 4] = Default::default();
        let mut steps = steps_of(self.length_16ths, "length")?;
        for (v, raw) in voices.iter().enumerate() {
            let name = VOICES[v];
            for &(onset, duration, pitch) in raw.iter() {
                let what = format!("{name} note [{onset}, {duration}, {pitch}]");
                if pitch > 127 {
                    return Err(format!("{what}: pitch {pitch} is not a MIDI pitch 0-127"));
                }
                if duration == 0 {
                    return Err(format!("{what}: duration 0"));
                }
                let end = steps_of(onset.saturating_add(duration), &format!("{what}: end"))?;
                notes[v].push(Note {
                    onset: onset as usize,
                    end,
                    pitch: pitch as u8,
                });
                steps = steps.max(end);
            }
            notes[v].sort_by_key(|n| n.onset);
            if let Some(w) = notes[v].windows(2).find(|w| w[0].end > w[1].onset) {
                return Err(format!(
                    "{name} notes overlap: the one at step {} lasts to {}, past the next onset at {}",
                    w[0].onset, w[0].end, w[1].onset
                ));
            }
        }
        if steps == 0 {
            return Err("has no steps".into());
        }

        let mut tokens = vec![Token::Rest; steps * 4];
        for (v, voice) in notes.iter().enumerate() {
            for n in voice {
                tokens[n.onset * 4 + v] = Token::Onset(n.pitch);
                for t in n.onset + 1..n.end {
                    tokens[t * 4 + v] = Token::Hold;
                }
            }
        }

        let pickup = steps_of(self.pickup_16ths, "pickup")?;
        let meters = self.meters(pickup, steps)?;

        let mut fermatas = Vec::with_capacity(self.fermatas.len());
        for &f in &self.fermatas {
            let onset = usize::try_from(f).ok().filter(|&f| f < steps);
            match onset.and_then(|f| tokens.get(f * 4)) {
                Some(Token::Onset(_)) => fermatas.push(f as usize),
                _ => {
                    return Err(format!(
                        "fermata at step {f} is not the onset of a soprano note"
                    ))
                }
            }
        }
        fermatas.sort_unstable();
        fermatas.dedup();

        Ok(Chorale {
            id: self.id,
            split: self.split,
            tonic: self.key.tonic as u8,
            minor: self.key.mode == Mode::Minor,
            meters,
            pickup,
            fermatas,
            steps,
            tokens,
        })
    }

    /// The checked meters: the first at step 0, then strictly later ones
    /// inside the piece and after the pickup, each with a bar of whole 16ths.
    fn meters(&self, pickup: usize, steps: usize) -> Result<Vec<MeterChange>, String> {
        let mut meters: Vec<MeterChange> = Vec::with_capacity(self.meters.len());
        for &(step, num, den) in &self.meters {
            let what = format!("meter [{step}, {num}, {den}]");
            let numerator = u8::try_from(num)
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| format!("{what}: numerator {num} is not 1-255"))?;
            let denominator = u8::try_from(den)
                .ok()
                .filter(|d| d.is_power_of_two())
                .ok_or_else(|| format!("{what}: denominator {den} is not a power of two"))?;
            if !(numerator as usize * 16).is_multiple_of(denominator as usize) {
                return Err(format!("{what}: a bar is not a whole number of 16ths"));
            }
            let step = match meters.last() {
                None if step == 0 => 0,
                None => return Err(format!("{what}: the first meter must start at step 0")),
                Some(prev) => usize::try_from(step)
                    .ok()
                    .filter(|&s| s > prev.step as usize && s >= pickup && s < steps)
                    .ok_or_else(|| {
                        format!(
                            "{what}: a meter change must come after the previous one and the pickup, inside the piece ({steps} steps)"
                        )
                    })?,
            };
            meters.push(MeterChange {
                // Below `steps`, which the chorale's length bounds.
                step: step as u32,
                meter: Meter::new(numerator, denominator),
            });
        }
        let first = meters.first().ok_or("has no meter")?;
        if pickup >= bar_len(first) {
            return Err(format!(
                "pickup of {pickup} 16ths is not shorter than a bar of {}/{}",
                first.meter.numerator, first.meter.denominator
            ));
        }
        Ok(meters)
    }
}

/// Whether a JSON file's text is the annotated chorales (it has a
/// `"chorales"` list) rather than a split file of steps.
pub fn is_chorales(text: &str) -> bool {
    // The field comes near the top; a split file has "train" there instead.
    let head: String = text.chars().take(4096).collect();
    head.contains("\"chorales\"") && !head.trim_start().starts_with("{\"train\"")
}

impl Chorale {
    /// The chorale as a training piece: its tokens with its key and each
    /// step's place in the bar.
    pub fn piece(&self) -> Piece {
        let meters = self.meter_regions();
        let bars = MeterRegion::bar_positions(&meters, 0.25, self.steps as u32);
        let mode = if self.minor {
            KeyMode::Minor
        } else {
            KeyMode::Major
        };
        Piece::Voices {
            voices: 4,
            tokens: self.tokens.clone(),
            context: Some(Box::new(PieceContext {
                key: Key {
                    tonic: self.tonic,
                    mode,
                },
                bars,
                meters,
                horizon: Horizon::Off,
                fermatas: self.fermatas.clone(),
            })),
        }
    }
}

/// The annotated chorales as a dataset: train with the extra pieces,
/// valid, test; the excluded pieces (their tunes are valid or test tunes)
/// are left out. The voices are the standard SATB layout.
pub fn dataset(text: &str) -> Result<Dataset, String> {
    let chorales = parse_chorales(text)?;
    let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
    for c in &chorales {
        match c.split {
            ChoraleSplit::Train | ChoraleSplit::Extra => train.push(c.piece()),
            ChoraleSplit::Valid => valid.push(c.piece()),
            ChoraleSplit::Test => test.push(c.piece()),
            ChoraleSplit::Excluded => {}
        }
    }
    let voices = ModelMeta::satb(CoreKind::Gru, 1, 1).voices;
    let ranges: Vec<_> = voices.iter().map(|v| v.range()).collect();
    for (i, p) in train.iter().chain(&valid).chain(&test).enumerate() {
        if p.transpositions(&ranges).is_none() {
            return Err(format!("piece {i} does not fit the SATB ranges"));
        }
    }
    Ok(Dataset {
        name: String::new(),
        sha256: None,
        kind: ModelKind::Voices,
        step_beats: 0.25,
        voices,
        train,
        valid,
        test,
        skipped: 0,
        warnings: Vec::new(),
        info: Vec::new(),
    })
}
