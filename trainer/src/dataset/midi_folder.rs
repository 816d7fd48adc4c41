//! A folder of MIDI files read with the engine's reader.
//!
//! Splits come from `train/`, `valid/` and `test/` subfolders when there are
//! any; otherwise each file goes to a split by a hash of its bytes (80% train,
//! 10% valid, 10% test), so the split never changes when files are added or
//! renamed. A file that cannot be read is skipped with a warning and counted.
//!
//! Piano-roll pieces are all parts' notes as 88-key frames. Voices pieces take
//! one voice per part (ordered from the highest mean pitch down); files with a
//! different number of parts than most files are skipped.

use std::path::{Path, PathBuf};

use bach_engine::midi;
use bach_engine::score::Score;
use bach_engine::{ModelKind, Token};
use sha2::{Digest, Sha256};

use super::{voices, Dataset, DatasetError, Piece};

/// Grid of a MIDI folder when `--step-beats` is not given.
pub fn default_step_beats(kind: ModelKind) -> f64 {
    match kind {
        ModelKind::Voices => 0.25,
        ModelKind::Pianoroll => 0.5,
    }
}

fn is_midi(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}

/// Every MIDI file under `dir`, in a stable order.
fn midi_files(dir: &Path) -> Result<Vec<PathBuf>, DatasetError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| DatasetError::Io {
            path: d.clone(),
            source,
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_midi(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// FNV-1a, 64 bits: stable across platforms and versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The SHA-256 of a folder dataset: over every MIDI file in load order, its
/// path below the folder (`/`-separated), a zero byte, and for a readable file
/// its length (8 bytes, little-endian) and bytes. So renaming, moving between
/// splits, adding or changing a file all change it; where the folder lies does not.
#[derive(Default)]
struct FolderHash(Sha256);

impl FolderHash {
    fn add(&mut self, relative: &Path, bytes: &std::io::Result<Vec<u8>>) {
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        self.0.update(parts.join("/").as_bytes());
        self.0.update([0]);
        if let Ok(b) = bytes {
            self.0.update((b.len() as u64).to_le_bytes());
            self.0.update(b);
        }
    }

    fn finish(self) -> String {
        crate::hash::hex(&self.0.finalize())
    }
}

/// A readable file: its score and the hash of its bytes.
struct Read {
    score: Score,
    hash: u64,
}

fn read(bytes: std::io::Result<Vec<u8>>, step_beats: f64) -> Result<Read, String> {
    let bytes = bytes.map_err(|e| e.to_string())?;
    if bytes.len() as u64 > midi::MAX_FILE_BYTES {
        return Err(format!("larger than {} bytes", midi::MAX_FILE_BYTES));
    }
    let score = midi::read(&bytes, step_beats).map_err(|e| e.to_string())?;
    Ok(Read {
        score,
        hash: fnv1a(&bytes),
    })
}

/// One voice per sounding part, highest mean pitch first.
fn voice_tokens(score: &Score) -> (usize, Vec<Token>) {
    let mut parts: Vec<(f64, Vec<Token>)> = score
        .parts
        .iter()
        .filter(|p| !p.notes.is_empty())
        .map(|p| {
            let mean = p.notes.iter().map(|n| n.pitch as f64).sum::<f64>() / p.notes.len() as f64;
            (mean, p.to_tokens(score.len))
        })
        .collect();
    parts.sort_by(|a, b| b.0.total_cmp(&a.0));
    let v = parts.len();
    let mut tokens = Vec::with_capacity(v * score.len as usize);
    for t in 0..score.len as usize {
        for (_, part) in &parts {
            tokens.push(part[t]);
        }
    }
    (v, tokens)
}

/// Reads the folder at `path` as a `kind` dataset on a grid of `step_beats`.
pub fn load(
    path: &Path,
    kind: ModelKind,
    step_beats: Option<f64>,
) -> Result<Dataset, DatasetError> {
    let step_beats = step_beats.unwrap_or_else(|| default_step_beats(kind));
    let named: Vec<PathBuf> = ["train", "valid", "test"]
        .iter()
        .map(|s| path.join(s))
        .collect();
    let by_folder = named.iter().any(|d| d.is_dir());
    // (split index, file)
    let mut files: Vec<(Option<usize>, PathBuf)> = Vec::new();
    if by_folder {
        for (i, d) in named.iter().enumerate() {
            if d.is_dir() {
                files.extend(midi_files(d)?.into_iter().map(|f| (Some(i), f)));
            }
        }
    } else {
        files.extend(midi_files(path)?.into_iter().map(|f| (None, f)));
    }
    if files.is_empty() {
        return Err(DatasetError::Format {
            path: path.to_owned(),
            reason: "the folder has no .mid files".into(),
        });
    }

    let mut warnings = Vec::new();
    let mut read_ok: Vec<(usize, Score)> = Vec::new();
    let mut folder_hash = FolderHash::default();
    for (split, file) in files {
        let bytes = std::fs::read(&file);
        folder_hash.add(file.strip_prefix(path).unwrap_or(&file), &bytes);
        match read(bytes, step_beats) {
            Ok(r) if r.score.len == 0 => {
                warnings.push(format!("{}: no notes, skipped", file.display()))
            }
            Ok(r) => {
                let split = split.unwrap_or(match r.hash % 10 {
                    0 => 2,
                    1 => 1,
                    _ => 0,
                });
                read_ok.push((split, r.score));
            }
            Err(e) => warnings.push(format!("{}: {e}, skipped", file.display())),
        }
    }

    let mut splits: [Vec<Piece>; 3] = Default::default();
    match kind {
        ModelKind::Pianoroll => {
            for (s, score) in read_ok {
                splits[s].push(Piece::Keys(score.to_frames()));
            }
        }
        ModelKind::Voices => {
            let pieces: Vec<(usize, usize, Vec<Token>)> = read_ok
                .iter()
                .map(|(s, score)| {
                    let (v, t) = voice_tokens(score);
                    (*s, v, t)
                })
                .collect();
            // The most common voice count (fewest voices on a tie) decides.
            let mut counts = [0usize; bach_engine::token::MAX_VOICES + 1];
            for (_, v, _) in &pieces {
                if (1..=bach_engine::token::MAX_VOICES).contains(v) {
                    counts[*v] += 1;
                }
            }
            let voices = (1..counts.len())
                .max_by_key(|&v| (counts[v], std::cmp::Reverse(v)))
                .unwrap_or(1);
            if counts[voices] == 0 {
                return Err(DatasetError::Format {
                    path: path.to_owned(),
                    reason: format!("no file has 1 to {} parts", bach_engine::token::MAX_VOICES),
                });
            }
            for (s, v, tokens) in pieces {
                if v == voices {
                    splits[s].push(Piece::voices(voices, tokens));
                } else {
                    warnings.push(format!(
                        "a file with {v} parts (most have {voices}), skipped"
                    ));
                }
            }
        }
    }
    let [train, valid, test] = splits;
    let voice_specs = match kind {
        ModelKind::Voices => {
            let all: Vec<&Piece> = train.iter().chain(&valid).chain(&test).collect();
            let v = match all.first() {
                Some(Piece::Voices { voices, .. }) => *voices,
                _ => 1,
            };
            voices::voice_specs(&all, v)
        }
        ModelKind::Pianoroll => Vec::new(),
    };
    Ok(Dataset {
        name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        sha256: Some(folder_hash.finish()),
        kind,
        step_beats,
        voices: voice_specs,
        train,
        valid,
        test,
        skipped: warnings.len(),
        warnings,
    })
}
