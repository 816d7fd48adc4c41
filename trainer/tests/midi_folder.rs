//! Folders of MIDI files, read with the engine's MIDI reader.

mod common;

use bach_engine::score::Score;
use bach_engine::{KeyFrame, ModelKind, Token};
use bach_trainer::config::TrainConfig;
use bach_trainer::dataset::{self, Piece};
use bach_trainer::train::{Control, Outcome, Trainer};

/// Four voices for `n` steps, S on top, with holds and a rest.
fn satb(i: usize, n: usize) -> Vec<Vec<Token>> {
    let voice = |base: u8, period: usize| -> Vec<Token> {
        (0..n)
            .map(|t| {
                if base == 55 && t == 3 {
                    Token::Rest
                } else if t % period == 0 {
                    Token::Onset(base + ((t / period + i) % 4) as u8)
                } else {
                    Token::Hold
                }
            })
            .collect()
    };
    vec![voice(72, 2), voice(64, 4), voice(55, 4), voice(43, 8)]
}

fn write_satb(path: &std::path::Path, voices: &[Vec<Token>]) {
    let named: Vec<(&str, &[Token])> = ["S", "A", "T", "B"]
        .iter()
        .zip(voices)
        .map(|(n, v)| (*n, v.as_slice()))
        .collect();
    bach_engine::midi::write_file(path, &Score::from_voices(0.25, &named, 80)).unwrap();
}

#[test]
fn split_folders_voices_and_bad_files() {
    let dir = common::temp_dir("midi-split");
    for s in ["train", "valid", "test"] {
        std::fs::create_dir_all(dir.join(s)).unwrap();
    }
    let mut written = Vec::new();
    for i in 0..3 {
        let v = satb(i, 16);
        write_satb(&dir.join(format!("train/p{i}.mid")), &v);
        written.push(v);
    }
    write_satb(&dir.join("valid/v.mid"), &satb(7, 12));
    write_satb(&dir.join("test/t.MID"), &satb(8, 8));
    std::fs::write(dir.join("train/broken.mid"), b"MThd garbage").unwrap();
    std::fs::write(dir.join("train/notes.txt"), b"not midi").unwrap();

    let data = dataset::load(&dir, Some(ModelKind::Voices), None).unwrap();
    assert_eq!(
        (data.train.len(), data.valid.len(), data.test.len()),
        (3, 1, 1)
    );
    assert_eq!(data.skipped, 1);
    assert!(
        data.warnings[0].contains("broken.mid"),
        "{:?}",
        data.warnings
    );
    assert_eq!(data.step_beats, 0.25);
    assert_eq!(data.voices.len(), 4);
    // Sorted file order: p0, p1, p2; voices in order S, A, T, B.
    for (piece, voices) in data.train.iter().zip(&written) {
        let Piece::Voices {
            voices: v, tokens, ..
        } = piece
        else {
            panic!()
        };
        assert_eq!(*v, 4);
        for t in 0..16 {
            for (k, voice) in voices.iter().enumerate() {
                assert_eq!(tokens[t * 4 + k], voice[t], "step {t} voice {k}");
            }
        }
    }
    // And it trains.
    let mut c = TrainConfig::new("midi", &dir.join("m.safetensors"));
    c.net.hidden = 8;
    c.net.layers = 1;
    c.epochs = 1;
    c.training.batch = 2;
    let mut t = Trainer::new(c, &data).unwrap();
    let outcome = t.run(&data, &Control::default(), &mut |_| {}).unwrap();
    assert!(matches!(
        outcome,
        Outcome::Finished {
            test_nll: Some(_),
            ..
        }
    ));
}

#[test]
fn flat_folder_is_split_by_content_hash() {
    let dir = common::temp_dir("midi-flat");
    let mut all_frames = Vec::new();
    for i in 0..30u8 {
        let frames: Vec<KeyFrame> = (0..6)
            .map(|t| KeyFrame::from_pitches([48 + i, 60 + t as u8]))
            .collect();
        let score = Score::from_frames(0.5, "piano", &frames, 80);
        bach_engine::midi::write_file(&dir.join(format!("f{i:02}.mid")), &score).unwrap();
        all_frames.push(frames);
    }
    let a = dataset::load(&dir, None, None).unwrap();
    assert_eq!(a.kind, ModelKind::Pianoroll);
    assert_eq!(a.step_beats, 0.5);
    assert_eq!(a.train.len() + a.valid.len() + a.test.len(), 30);
    assert!(
        a.train.len() >= 15,
        "about 80% go to train: {}",
        a.train.len()
    );
    assert!(!a.valid.is_empty() || !a.test.is_empty());
    // Deterministic, and every piece read back intact.
    let b = dataset::load(&dir, None, None).unwrap();
    assert_eq!(a.train, b.train);
    assert_eq!(a.test, b.test);
    for p in a.train.iter().chain(&a.valid).chain(&a.test) {
        let Piece::Keys(f) = p else { panic!() };
        assert!(all_frames.contains(f), "{f:?}");
    }
    let empty = common::temp_dir("midi-empty");
    let e = dataset::load(&empty, None, None).unwrap_err();
    assert!(e.to_string().contains("no .mid files"), "{e}");
}

/// A folder's SHA-256 (for provenance) depends on its files' names and
/// bytes, not on where the folder lies, and a training record carries it.
#[test]
fn folder_hash_follows_content_not_location() {
    let write = |dir: &std::path::Path| {
        std::fs::create_dir_all(dir.join("train")).unwrap();
        std::fs::create_dir_all(dir.join("test")).unwrap();
        write_satb(&dir.join("train/a.mid"), &satb(0, 16));
        write_satb(&dir.join("train/b.mid"), &satb(1, 16));
        write_satb(&dir.join("test/c.mid"), &satb(2, 8));
    };
    let root = common::temp_dir("midi-hash");
    let (here, there) = (root.join("here"), root.join("elsewhere/deeper"));
    write(&here);
    write(&there);
    let hash = |dir: &std::path::Path| {
        let data = dataset::load(dir, Some(ModelKind::Voices), None).unwrap();
        data.sha256.expect("a folder has a hash")
    };
    let h = hash(&here);
    assert_eq!(h.len(), 64);
    assert_eq!(h, hash(&there), "the same files elsewhere");
    // A changed file, a renamed one, and a file moved to another split.
    write_satb(&there.join("train/b.mid"), &satb(3, 16));
    assert_ne!(h, hash(&there));
    write(&there);
    std::fs::rename(there.join("train/b.mid"), there.join("train/b2.mid")).unwrap();
    assert_ne!(h, hash(&there));
    std::fs::rename(there.join("train/b2.mid"), there.join("test/b.mid")).unwrap();
    assert_ne!(h, hash(&there));

    let data = dataset::load(&here, Some(ModelKind::Voices), None).unwrap();
    let mut c = TrainConfig::new("here", &root.join("m.safetensors"));
    (c.net.hidden, c.net.layers, c.epochs, c.training.batch) = (8, 1, 1, 2);
    let mut t = Trainer::new(c, &data).unwrap();
    t.run(&data, &Control::default(), &mut |_| {}).unwrap();
    let record = bach_engine::ModelFile::load(&root.join("m.safetensors"))
        .unwrap()
        .meta
        .training
        .unwrap();
    assert_eq!(record.dataset, "here");
    assert_eq!(record.dataset_sha256, Some(h));
    let sizes = record.split_sizes.unwrap();
    assert_eq!((sizes.train, sizes.valid, sizes.test), (2, 0, 1));
    std::fs::remove_dir_all(&root).unwrap();
}
