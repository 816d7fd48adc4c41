//! A folder of MIDI files read with the engine's reader.
//!
//! Splits come from `train/`, `valid/` and `test/` subfolders when there are
//! any; otherwise each file goes to a split by a hash of its bytes (80% train,
//! 10% valid, 10% test), so the split never changes when files are added or
//! renamed. A file that cannot be read is skipped with a warning and counted.
//!
//! Piano-roll pieces are all parts' notes as 88-key frames. Voices pieces take
//! one voice per part ([`parts`]: SATB by name, else highest mean pitch
//! first, or as `--voices` says) with the file's key, meters and phrase ends
//! ([`context`]), as the annotated chorales have them. A file with another
//! number of voices than most files, or a voice with chords, is skipped with
//! a warning; each piece's key and phrase ends are noted in `info`.

mod context;
mod parts;

use std::path::{Path, PathBuf};

use bach_engine::midi;
use bach_engine::score::Score;
use bach_engine::ModelKind;
use sha2::{Digest, Sha256};

pub use context::{folder_piece, trimmed_regions, FolderPiece};
pub use parts::{VoiceMap, VoicePick};

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

/// Reads the folder at `path` as a `kind` dataset on a grid of `step_beats`,
/// a voices dataset's voices chosen by `map` where given.
pub fn load(
    path: &Path,
    kind: ModelKind,
    step_beats: Option<f64>,
    map: Option<&VoiceMap>,
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
    let mut read_ok: Vec<(usize, PathBuf, Score)> = Vec::new();
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
                read_ok.push((split, file, r.score));
            }
            Err(e) => warnings.push(format!("{}: {e}, skipped", file.display())),
        }
    }

    let mut splits: [Vec<Piece>; 3] = Default::default();
    let mut info = Vec::new();
    match kind {
        ModelKind::Pianoroll => {
            for (s, _, score) in read_ok {
                splits[s].push(Piece::Keys(score.to_frames()));
            }
        }
        ModelKind::Voices => {
            let chosen = voice_pieces(path, read_ok, map, &mut warnings, &mut info)?;
            for (s, piece) in chosen {
                splits[s].push(piece);
            }
        }
    }
    let [train, valid, test] = splits;
    let voice_specs = match kind {
        ModelKind::Voices => {
            // The ranges the model needs are those of the pieces as it sees
            // them: each in its key's frame (tonic on C).
            let framed: Vec<Piece> = train
                .iter()
                .chain(&valid)
                .chain(&test)
                .map(|p| match p.context() {
                    Some(c) => p.transposed(c.key.shift()),
                    None => p.clone(),
                })
                .collect();
            let all: Vec<&Piece> = framed.iter().collect();
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
        info,
    })
}

/// The voices pieces of the readable files (split, file, score), each with
/// its split: files whose voice count is not the map's (or most files'),
/// or with a chordal voice, are skipped with a warning; each piece's key
/// and phrase ends go to `info`. An error only when no file is usable.
fn voice_pieces(
    path: &Path,
    read_ok: Vec<(usize, PathBuf, Score)>,
    map: Option<&VoiceMap>,
    warnings: &mut Vec<String>,
    info: &mut Vec<String>,
) -> Result<Vec<(usize, Piece)>, DatasetError> {
    let unreadable = warnings.len();
    let mut chosen = Vec::new();
    for (s, file, score) in read_ok {
        match parts::voices(&score, map) {
            Ok(v) => chosen.push((s, file, score, v)),
            Err(e) => warnings.push(format!("{}: {e}, skipped", file.display())),
        }
    }
    let max = bach_engine::token::MAX_VOICES;
    // The map's count, or the most common one (fewest voices on a tie).
    let voices = match map {
        Some(m) => m.0.len(),
        None => {
            let mut counts = vec![0usize; max + 1];
            for (.., v) in &chosen {
                if (1..=max).contains(&v.len()) {
                    counts[v.len()] += 1;
                }
            }
            (1..counts.len())
                .max_by_key(|&v| (counts[v], std::cmp::Reverse(v)))
                .filter(|&v| counts[v] > 0)
                .unwrap_or(0)
        }
    };
    let mut pieces = Vec::new();
    for (s, file, score, v) in chosen {
        let name = file.display();
        if v.len() != voices {
            warnings.push(format!(
                "{name}: {} parts with notes: {} (most files have {voices}), skipped",
                v.len(),
                parts::names(&score, &v)
            ));
            continue;
        }
        let chord = v.iter().find_map(|&p| {
            let part = &score.parts[p];
            parts::first_chord(&score, part).map(|at| (part.name.clone(), at))
        });
        if let Some((part, at)) = chord {
            warnings.push(format!(
                "{name}: {part} sings two notes at once at {at} (a voice has one note at a time), skipped"
            ));
            continue;
        }
        let FolderPiece { piece, about } = folder_piece(&score, &v);
        info.push(format!("{name}: {about}"));
        pieces.push((s, piece));
    }
    if pieces.is_empty() {
        let mut reason = match map {
            Some(_) => "no file has the parts --voices names, one note at a time".to_string(),
            None if voices == 0 => format!("no file has 1 to {max} parts"),
            None => format!("no file has {voices} parts singing one note at a time"),
        };
        // The warnings are not printed when loading fails: the first about
        // a readable file says why.
        if let Some(first) = warnings.get(unreadable).or(warnings.first()) {
            reason.push_str(&format!(" (the first file skipped: {first})"));
        }
        return Err(DatasetError::Format {
            path: path.to_owned(),
            reason,
        });
    }
    Ok(pieces)
}
