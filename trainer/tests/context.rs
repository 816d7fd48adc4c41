//! A model trained on the annotated chorales is told, in training, exactly
//! what the plugin's performer tells it when it plays: the same bar
//! positions, key frame, mode and melody ahead. A spy model records what
//! the performer hands it while harmonizing a piece; the trainer's encoding
//! of the same piece must agree step for step, for every lookahead. Also:
//! `bach-trainer harmony` on annotated data reports every lookahead and
//! meter, with the out-of-key share.

use bach_engine::file::{random_tensors, save};
use bach_engine::model::{Heads, StepContext};
use bach_engine::perform::line::harmonize_line;
use bach_engine::perform::{KeyChoice, Performer, VoiceStepper};
use bach_engine::{CoreKind, Feature, Horizon, ModelMeta, Sampler, Token, VoiceRange};
use bach_trainer::batch::{melody_line, step_context};
use bach_trainer::dataset::chorales::dataset;
use bach_trainer::dataset::{Piece, Split};
use bach_trainer::harmony::{report, HarmonyArgs, KeySource};

/// Two pieces: one in A minor in 3/4 with a one-beat pickup and a rest,
/// one in E-flat major in 4/4.
fn data_text() -> String {
    let minor = r#"{"id": "bwv1.1", "split": "test", "key": {"tonic": 9, "mode": "minor"},
        "meters": [[0, 3, 4]], "pickup_16ths": 4, "length_16ths": 40, "fermatas": [28],
        "voices": {
          "S": [[0, 4, 69], [4, 4, 71], [8, 4, 72], [12, 8, 71], [22, 6, 69], [28, 12, 68]],
          "A": [[0, 4, 64], [4, 8, 64], [12, 8, 62], [22, 6, 64], [28, 12, 64]],
          "T": [[0, 4, 60], [4, 4, 59], [8, 4, 57], [12, 8, 56], [22, 6, 57], [28, 12, 59]],
          "B": [[0, 4, 57], [4, 4, 56], [8, 4, 57], [12, 8, 52], [22, 6, 45], [28, 12, 52]]}}"#;
    let major = r#"{"id": "bwv2.2", "split": "test", "key": {"tonic": 3, "mode": "major"},
        "meters": [[0, 4, 4]], "pickup_16ths": 0, "length_16ths": 32, "fermatas": [16],
        "voices": {
          "S": [[0, 8, 70], [8, 4, 72], [12, 4, 74], [16, 16, 75]],
          "A": [[0, 8, 67], [8, 8, 67], [16, 16, 67]],
          "T": [[0, 8, 63], [8, 8, 65], [16, 16, 63]],
          "B": [[0, 8, 51], [8, 4, 56], [12, 4, 58], [16, 16, 51]]}}"#;
    let train = minor
        .replace("bwv1.1", "bwv3.3")
        .replace(r#""test""#, r#""train""#);
    let valid = major
        .replace("bwv2.2", "bwv4.4")
        .replace(r#""test""#, r#""valid""#);
    format!(r#"{{"chorales": [{minor}, {major}, {train}, {valid}]}}"#)
}

fn context_meta() -> ModelMeta {
    let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 12);
    meta.features = vec![
        Feature::PreviousStep,
        Feature::Meter,
        Feature::KeyMode,
        Feature::Ahead { notes: 4 },
    ];
    meta.format_version = meta.needed_version();
    meta
}

/// Records the context of every step and plays the piece's own tokens.
struct Spy {
    ranges: Vec<VoiceRange>,
    script: Vec<Token>,
    seen: Vec<StepContext>,
    out: [Token; 4],
}

impl VoiceStepper for Spy {
    fn voice_count(&self) -> usize {
        4
    }
    fn voice_range(&self, v: usize) -> VoiceRange {
        self.ranges[v]
    }
    fn step_beats(&self) -> f64 {
        0.25
    }
    fn bar_steps(&self) -> usize {
        16
    }
    fn knows_key(&self) -> bool {
        true
    }
    fn looks_ahead(&self) -> bool {
        true
    }
    fn reset(&mut self) {}
    fn step(
        &mut self,
        ctx: &StepContext,
        clamp: &[Option<Token>],
        _: &mut dyn FnMut(&mut dyn Heads, &mut [Token]),
    ) -> &[Token] {
        let t = self.seen.len();
        self.seen.push(*ctx);
        for (v, (out, clamp)) in self.out.iter_mut().zip(clamp).enumerate() {
            *out = clamp.unwrap_or(self.script[t * 4 + v]);
        }
        &self.out
    }
}

#[test]
fn training_tells_the_model_what_the_performer_tells_it() {
    let data = dataset(&data_text()).unwrap();
    let meta = context_meta();
    let ranges: Vec<VoiceRange> = meta.voices.iter().map(|v| v.range()).collect();
    for piece in &data.test {
        let key = piece.context().unwrap().key;
        for horizon in Horizon::ALL {
            // The trainer's view: the piece in its key's frame.
            let framed = piece.in_frame(&meta).with_horizon(horizon);
            let Piece::Voices { tokens, .. } = &framed else {
                unreachable!()
            };
            let line = melody_line(&framed);
            // The performer's view, from the piece in its own key.
            let Piece::Voices { tokens: real, .. } = piece else {
                unreachable!()
            };
            let melody: Vec<Token> = real.iter().step_by(4).copied().collect();
            let mut spy = Spy {
                ranges: ranges.clone(),
                script: tokens.clone(),
                seen: Vec::new(),
                out: [Token::Rest; 4],
            };
            let mut performer = Performer::new(Sampler::default(), 1);
            let bars = &piece.context().unwrap().bars;
            harmonize_line(
                &mut spy,
                &mut performer,
                &melody,
                bars,
                KeyChoice::Fixed(key),
                horizon,
            );
            // The performer skips the melody's rests; the trainer steps them.
            let voiced: Vec<usize> = (0..melody.len())
                .filter(|&t| melody[t] != Token::Rest)
                .collect();
            assert_eq!(spy.seen.len(), voiced.len());
            for (seen, &t) in spy.seen.iter().zip(&voiced) {
                let mut trained = step_context(&framed, t, line[t]);
                // The model reads only the mode of the key (the frame's tonic is C).
                trained.key = trained.key.map(|k| bach_engine::Key { tonic: 0, ..k });
                let mut performed = *seen;
                performed.key = performed.key.map(|k| bach_engine::Key { tonic: 0, ..k });
                assert_eq!(performed, trained, "{horizon:?}, step {t}");
            }
            assert!(
                spy.seen.iter().any(|c| c.ahead.notes[0].is_some()) == (horizon != Horizon::Off),
                "{horizon:?}: the melody ahead is told exactly when looking ahead"
            );
        }
    }
}

#[test]
fn the_report_gives_every_lookahead_and_meter_beside_bach() {
    let dir = std::env::temp_dir().join(format!("bach-context-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("chorales.json");
    std::fs::write(&data, data_text()).unwrap();
    let meta = context_meta();
    let model = dir.join("ctx.safetensors");
    save(&model, &meta, &random_tensors(&meta, 2, 0.4)).unwrap();
    let r = report(&HarmonyArgs {
        model,
        dataset: data,
        split: Split::Test,
        temperature: 0.3,
        free_voice_leading: false,
        seeds: vec![1, 2],
        key: KeySource::Auto,
        json: false,
    })
    .unwrap();
    assert_eq!(r.pieces, 2);
    let names: Vec<(String, String)> = r
        .rows
        .iter()
        .map(|row| (row.lookahead.clone(), row.meter.clone()))
        .collect();
    for h in ["off", "1 beat", "1 bar", "whole melody"] {
        for m in ["all", "3/4", "4/4"] {
            assert!(
                names.contains(&(h.to_string(), m.to_string())),
                "{h} {m} in {names:?}"
            );
        }
    }
    // Bach's figures by the same code: every alto, tenor and bass onset of
    // the two pieces is in its key (the G sharp is A minor's raised seventh).
    assert_eq!(r.bach.out_of_key_share, Some(0.0));
    // Strong beats: 3/4 has one per bar (with the pickup, steps 4, 16, 28),
    // 4/4 two (steps 0, 8, 16, 24); two seeds pool twice the model's.
    let row = |h: &str, m: &str| r.rows.iter().find(|x| x.lookahead == h && x.meter == m);
    assert_eq!(row("off", "3/4").unwrap().pieces, 1);
    assert!(row("off", "all").unwrap().model.out_of_key_share.is_some());
    assert!(r.atb_given_s_nll > 0.0);
    std::fs::remove_dir_all(&dir).unwrap();
}
