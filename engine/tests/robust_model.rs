//! Robustness of model loading against damaged and hostile `.safetensors` files.
//!
//! Valid models made here (voices and piano-roll; GRU, LSTM and tanh cores; one
//! and two layers; with and without training provenance) are truncated,
//! bit-flipped, overwritten, spliced and have bytes inserted or deleted by
//! proptest, with a fixed seed so CI sees the same inputs every run. Every
//! result must be an `Err` whose message is not empty, or a model that then
//! steps 50 times producing only valid tokens or frames. A counting allocator
//! bounds the memory any one load may take, and every property runs under a
//! watchdog thread, so a hang fails the test instead of stalling CI.
//! Hand-made hostile files follow as named tests.
//!
//! Counts are printed with `--nocapture` and recorded in docs/robustness.md.

use std::cell::Cell;

use bach_engine::file::{random_tensors, to_bytes, LoadError, NamedTensor};
use bach_engine::meta::{Feature, FrameOutput, Provenance, METADATA_KEY};
use bach_engine::token::sounding;
use bach_engine::{AnyModel, CoreKind, ModelMeta, Performer, Sampler, Token, VoiceSpec};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestRunner};
use serde_json::{json, Value};

mod support;
use support::{memory_bound, peak_of, watchdog, WATCHDOG};

// ---------------------------------------------------------------------------
// Valid seed files.

fn model_bytes(meta: &ModelMeta, seed: u64) -> Vec<u8> {
    to_bytes(meta, &random_tensors(meta, seed, 0.5)).expect("a valid seed model")
}

/// A two-voice model without bar position, on an eighth-note grid.
fn duet(core: CoreKind) -> ModelMeta {
    let mut meta = ModelMeta::satb(core, 1, 5);
    meta.name = "duet".into();
    meta.step_beats = 0.5;
    meta.voices = vec![
        VoiceSpec {
            name: "Upper".into(),
            low: 60,
            high: 72,
        },
        VoiceSpec {
            name: "Lower".into(),
            low: 40,
            high: 55,
        },
    ];
    meta.features = vec![Feature::PreviousStep];
    meta
}

/// A piano roll whose frame is an NADE.
fn nade() -> ModelMeta {
    let mut meta = ModelMeta::pianoroll(CoreKind::Gru, 1, 6, 1.0);
    meta.frame = FrameOutput::Nade { hidden: 5 };
    meta
}

/// The shipped harmonizer's heads (format 5): the outer voices first, the
/// voice-pair score read by size, so mutations reach the decision order.
fn outer_first() -> ModelMeta {
    let mut meta = ModelMeta::satb(CoreKind::Gru, 1, 6);
    meta.pair_score = true;
    meta.intervals_by_size = true;
    meta.order = vec![0, 3, 1, 2];
    meta.format_version = meta.needed_version();
    meta
}

/// Each seed with the length of its header region (8 length bytes plus the JSON).
fn seeds() -> Vec<(Vec<u8>, usize)> {
    let mut trained = ModelMeta::satb(CoreKind::Tanh, 1, 4);
    trained.training = Some(Provenance {
        dataset: "jsb".into(),
        split: "train".into(),
        epochs: 3,
        seed: 7,
        valid_nll: Some(1.25),
        test_nll: None,
        date: "2024-01-01".into(),
        command: "bach-trainer train --core tanh".into(),
        // The full record, so mutations reach its newer fields too.
        dataset_sha256: Some("0f".repeat(32)),
        split_sizes: Some(bach_engine::SplitSizes {
            train: 3,
            valid: 1,
            test: 1,
        }),
        trainer: Some(bach_engine::TrainerBuild {
            name: "bach-trainer".into(),
            version: "0.1.0".into(),
            revision: None,
        }),
        settings: Some(serde_json::Map::from_iter([
            ("lr".to_string(), serde_json::json!(0.002)),
            ("optim".to_string(), serde_json::json!({"clip": 1.0})),
        ])),
    });
    let metas = [
        ModelMeta::satb(CoreKind::Gru, 2, 6),
        ModelMeta::satb(CoreKind::Lstm, 1, 6),
        trained,
        duet(CoreKind::Lstm),
        outer_first(),
        ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0),
        ModelMeta::pianoroll(CoreKind::Lstm, 2, 4, 0.5),
        ModelMeta::pianoroll(CoreKind::Tanh, 1, 8, 0.5),
        nade(),
    ];
    metas
        .iter()
        .enumerate()
        .map(|(i, meta)| {
            let bytes = model_bytes(meta, i as u64);
            let header = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize + 8;
            (bytes, header)
        })
        .collect()
}

#[test]
fn the_seeds_are_valid_and_the_tracker_counts() {
    for (i, (bytes, _)) in seeds().iter().enumerate() {
        let mut model = AnyModel::from_bytes(bytes).unwrap_or_else(|e| panic!("seed {i}: {e}"));
        step_and_check(&mut model, i as u64).unwrap_or_else(|e| panic!("seed {i}: {e}"));
    }
    // A broken tracker would let every memory bound pass.
    let (_, peak) = peak_of(|| drop(std::hint::black_box(vec![7u8; 1 << 20])));
    assert!(peak >= 1 << 20, "the allocator saw {peak} bytes");
}

// ---------------------------------------------------------------------------
// Mutations.

/// Where a mutation lands: anywhere, or (when `head`) in the header (length
/// and JSON), where a change alters meaning rather than one weight.
#[derive(Clone, Debug)]
struct Pos {
    index: Index,
    head: bool,
}

impl Pos {
    fn at(&self, len: usize, head_len: usize) -> usize {
        let span = if self.head { len.min(head_len) } else { len };
        if span == 0 {
            0
        } else {
            self.index.index(span)
        }
    }
}

fn pos() -> impl Strategy<Value = Pos> {
    (any::<Index>(), any::<bool>()).prop_map(|(index, head)| Pos { index, head })
}

#[derive(Clone, Debug)]
enum Mutation {
    /// Keep the first bytes only.
    Truncate(Index),
    /// Flip these bits (byte position, bit), all in the head or all anywhere.
    Flip {
        head: bool,
        bits: Vec<(Index, u8)>,
    },
    /// Overwrite from a position with these bytes.
    Overwrite(Pos, Vec<u8>),
    /// This file up to a cut, then another seed from a position (the same
    /// offset when `None`, so the structures line up).
    Splice {
        cut: Pos,
        other: Index,
        from: Option<Index>,
    },
    Insert(Pos, Vec<u8>),
    Delete(Pos, usize),
}

/// Bytes that often mean something to a parser: zero, all ones, the top bit,
/// JSON punctuation and digits, the exponent byte of a large float.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        3 => any::<u8>(),
        1 => prop::sample::select(vec![
            0x00, 0xFF, 0x80, 0x7F, b'"', b'{', b'}', b'[', b']', b',', b':', b'9', b'-', b'e',
        ]),
    ];
    prop::collection::vec(byte, 1..=32)
}

fn truncate() -> impl Strategy<Value = Mutation> {
    any::<Index>().prop_map(Mutation::Truncate)
}

fn flip() -> impl Strategy<Value = Mutation> {
    (
        any::<bool>(),
        prop::collection::vec((any::<Index>(), 0u8..8), 1..=8),
    )
        .prop_map(|(head, bits)| Mutation::Flip { head, bits })
}

fn overwrite() -> impl Strategy<Value = Mutation> {
    (pos(), hostile_bytes()).prop_map(|(p, b)| Mutation::Overwrite(p, b))
}

fn splice() -> impl Strategy<Value = Mutation> {
    (pos(), any::<Index>(), prop::option::of(any::<Index>()))
        .prop_map(|(cut, other, from)| Mutation::Splice { cut, other, from })
}

fn insert_delete() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (pos(), hostile_bytes()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (pos(), 1usize..=64).prop_map(|(p, n)| Mutation::Delete(p, n)),
    ]
}

fn any_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![truncate(), flip(), overwrite(), splice(), insert_delete()]
}

fn apply(m: &Mutation, bytes: &mut Vec<u8>, head_len: usize, seeds: &[(Vec<u8>, usize)]) {
    let len = bytes.len();
    match m {
        Mutation::Truncate(i) => bytes.truncate(i.index(len + 1)),
        Mutation::Flip { head, bits } => {
            for (index, bit) in bits {
                let p = Pos {
                    index: *index,
                    head: *head,
                };
                if len > 0 {
                    bytes[p.at(len, head_len)] ^= 1 << bit;
                }
            }
        }
        Mutation::Overwrite(p, new) => {
            let at = p.at(len, head_len);
            for (k, b) in new.iter().enumerate() {
                match bytes.get_mut(at + k) {
                    Some(slot) => *slot = *b,
                    None => bytes.push(*b),
                }
            }
        }
        Mutation::Splice { cut, other, from } => {
            let cut = cut.at(len + 1, head_len + 1).min(len);
            let other = &seeds[other.index(seeds.len())].0;
            let from = match from {
                Some(i) => i.index(other.len() + 1),
                None => cut.min(other.len()),
            };
            bytes.truncate(cut);
            bytes.extend_from_slice(&other[from..]);
        }
        Mutation::Insert(p, new) => {
            let at = p.at(len + 1, head_len + 1).min(len);
            bytes.splice(at..at, new.iter().copied());
        }
        Mutation::Delete(p, n) => {
            let at = p.at(len, head_len);
            let end = (at + n).min(len);
            bytes.drain(at..end);
        }
    }
}

// ---------------------------------------------------------------------------
// The property.

/// Steps a loaded model 50 times, at two temperatures and with and without a
/// clamped top voice, and checks every output: tokens in their voice's range,
/// holds only on a sounding voice, frames within the note cap. Returns whether
/// the state stayed finite (huge but finite weights may overflow it; that is
/// allowed, but counted).
fn step_and_check(model: &mut AnyModel, seed: u64) -> Result<bool, String> {
    let mut performer = Performer::default();
    let mut finite = true;
    for (round, temperature) in [(0, 1.0), (1, 0.0)] {
        let sampler = Sampler {
            temperature,
            max_notes: 6,
            ..Sampler::default()
        };
        performer.set_sampler(sampler);
        let seed = seed.wrapping_add(round);
        match model {
            AnyModel::Voices(m) => performer.restart(m, seed),
            AnyModel::PianoRoll(m) => performer.restart_piano_roll(m, seed),
        }
        let voices = model.meta().voices.len();
        let mut was = vec![None; voices];
        for step in 0..25 {
            match model {
                AnyModel::Voices(model) => {
                    let top = model.range(0).ok_or("a voices model without voice 0")?;
                    let clamp = [(round == 1 && step % 4 == 0).then_some(Token::Onset(top.low))];
                    let tokens = performer
                        .step(model, &bach_engine::StepContext::common(step), &clamp)
                        .to_vec();
                    if tokens.len() != voices {
                        return Err(format!("{} tokens for {voices} voices", tokens.len()));
                    }
                    for (v, &token) in tokens.iter().enumerate() {
                        let range = model.range(v).ok_or("a voice without a range")?;
                        if range.index(token).is_none() {
                            return Err(format!("voice {v} got {token:?}, outside {range:?}"));
                        }
                        if token == Token::Hold && was[v].is_none() {
                            return Err(format!(
                                "voice {v} holds at step {step} with nothing sounding"
                            ));
                        }
                        was[v] = sounding(was[v], token);
                    }
                    if performer.sounding()[..voices] != was[..] {
                        return Err("the model's sounding notes disagree with its tokens".into());
                    }
                }
                AnyModel::PianoRoll(model) => {
                    let frame = performer.play_frame(model, None);
                    if frame.len() > sampler.max_notes {
                        return Err(format!(
                            "{} keys over the cap of {}",
                            frame.len(),
                            sampler.max_notes
                        ));
                    }
                }
            }
            finite &= model.hidden().iter().all(|h| h.is_finite());
        }
    }
    Ok(finite)
}

#[derive(Clone, Copy, Default, Debug)]
struct Tally {
    cases: usize,
    ok: usize,
    err: usize,
    /// Loaded models whose state went non-finite while stepping.
    state_overflowed: usize,
    largest_input: usize,
    largest_peak: usize,
}

/// Loads one mutated input and checks the outcome; counts it in `tally`.
fn check(bytes: &[u8], tally: &Cell<Tally>) -> Result<(), String> {
    let (result, peak) = peak_of(|| AnyModel::from_bytes(bytes));
    let mut t = tally.get();
    t.cases += 1;
    t.largest_input = t.largest_input.max(bytes.len());
    t.largest_peak = t.largest_peak.max(peak);
    if peak > memory_bound(bytes.len()) {
        return Err(format!(
            "loading {} bytes took {peak} bytes of heap at once, over the bound of {}",
            bytes.len(),
            memory_bound(bytes.len())
        ));
    }
    let outcome = match result {
        Ok(mut model) => {
            t.ok += 1;
            step_and_check(&mut model, bytes.len() as u64).map(|finite| {
                t.state_overflowed += !finite as usize;
            })
        }
        Err(e) => {
            t.err += 1;
            if e.to_string().trim().is_empty() {
                Err(format!("an error with no message: {e:?}"))
            } else {
                Ok(())
            }
        }
    };
    tally.set(t);
    outcome
}

/// Cases per property; fixed so the counts in docs/robustness.md stay true.
fn config(cases: u32, seed: u64) -> Config {
    Config {
        cases,
        rng_seed: RngSeed::Fixed(seed),
        failure_persistence: None,
        max_shrink_iters: 4096,
        ..Config::default()
    }
}

/// Runs `mutations` over the seeds as a proptest property under the watchdog,
/// prints and returns the tally.
fn property<S>(name: &'static str, cases: u32, mutations: S) -> Tally
where
    S: Strategy<Value = Vec<Mutation>> + Send + 'static,
{
    watchdog(name, WATCHDOG, move || {
        let seeds = seeds();
        let tally = Cell::new(Tally::default());
        let mut runner = TestRunner::new(config(cases, 0x5AFE_0000 + cases as u64));
        let strategy = (any::<Index>(), mutations);
        let result = runner.run(&strategy, |(seed, mutations)| {
            let (seed, head_len) = &seeds[seed.index(seeds.len())];
            let mut bytes = seed.clone();
            for m in &mutations {
                apply(m, &mut bytes, *head_len, &seeds);
            }
            check(&bytes, &tally).map_err(TestCaseError::fail)
        });
        if let Err(e) = result {
            panic!("{name}: {e}");
        }
        let t = tally.get();
        println!(
            "model {name}: {cases} cases, {} inputs loaded ({} Ok, {} Err), {} Ok models whose state overflowed, largest input {} bytes, largest heap peak {} bytes",
            t.cases, t.ok, t.err, t.state_overflowed, t.largest_input, t.largest_peak
        );
        t
    })
}

fn one(m: impl Strategy<Value = Mutation>) -> impl Strategy<Value = Vec<Mutation>> {
    m.prop_map(|m| vec![m])
}

#[test]
fn truncated_files() {
    let t = property("truncate", 256, one(truncate()));
    assert!(t.err > 0, "no truncation was rejected: {t:?}");
}

#[test]
fn bit_flipped_files() {
    let t = property("flip 1-8 bits", 1024, one(flip()));
    assert!(
        t.ok > 0 && t.err > 0,
        "flips should give both outcomes: {t:?}"
    );
}

#[test]
fn overwritten_files() {
    property("overwrite 1-32 bytes", 512, one(overwrite()));
}

#[test]
fn spliced_files() {
    property("splice two seeds", 512, one(splice()));
}

#[test]
fn files_with_bytes_inserted_or_deleted() {
    property("insert/delete bytes", 512, one(insert_delete()));
}

#[test]
fn files_with_stacked_mutations() {
    property(
        "2-6 stacked mutations",
        512,
        prop::collection::vec(any_mutation(), 2..=6),
    );
}

/// Not random: every prefix of each seed's header and the first data bytes,
/// then every 97th prefix through the data.
#[test]
fn every_header_truncation_of_every_seed() {
    let tally = Cell::new(Tally::default());
    for (seed, head_len) in seeds() {
        let cuts = (0..=head_len + 64).chain((head_len + 65..seed.len()).step_by(97));
        for cut in cuts {
            check(&seed[..cut], &tally).unwrap_or_else(|e| panic!("cut at {cut}: {e}"));
        }
    }
    let t = tally.get();
    println!(
        "model header truncations: {} inputs loaded ({} Ok, {} Err)",
        t.cases, t.ok, t.err
    );
    assert_eq!(t.ok, 0, "a truncated model loaded");
}

// ---------------------------------------------------------------------------
// Hand-made hostile files.

/// A safetensors file from a header (JSON text) and raw data, no checks.
fn file_of(header: &str, data: &[u8]) -> Vec<u8> {
    let mut f = (header.len() as u64).to_le_bytes().to_vec();
    f.extend(header.as_bytes());
    f.extend(data);
    f
}

/// The small model the hostile files are made from.
fn meta() -> ModelMeta {
    ModelMeta::pianoroll(CoreKind::Gru, 1, 2, 1.0)
}

/// The header (as JSON) and data of a valid file for `meta` with `tensors`,
/// laid out the way safetensors does, to be edited by a test.
fn parts(meta: &ModelMeta, tensors: &[NamedTensor]) -> (Value, Vec<u8>) {
    let mut header =
        json!({ "__metadata__": { METADATA_KEY: serde_json::to_string(meta).unwrap() } });
    let mut data = Vec::new();
    for (name, shape, values) in tensors {
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header[name] =
            json!({ "dtype": "F32", "shape": shape, "data_offsets": [start, data.len()] });
    }
    (header, data)
}

fn valid_parts() -> (Value, Vec<u8>) {
    parts(&meta(), &random_tensors(&meta(), 3, 0.5))
}

/// Loads `bytes` under the memory bound and returns the result.
fn load_bounded(bytes: &[u8]) -> Result<AnyModel, LoadError> {
    let (result, peak) = peak_of(|| AnyModel::from_bytes(bytes));
    assert!(
        peak <= memory_bound(bytes.len()),
        "{} bytes took {peak} bytes of heap",
        bytes.len()
    );
    result
}

/// Loads `bytes`, expecting an error whose message contains every one of `words`.
fn rejected(bytes: &[u8], words: &[&str]) -> LoadError {
    let err = load_bounded(bytes).expect_err("a hostile file was accepted");
    let text = err.to_string();
    for w in words {
        assert!(
            text.to_lowercase().contains(&w.to_lowercase()),
            "{text:?} does not mention {w:?}"
        );
    }
    err
}

#[test]
fn the_hand_made_base_file_is_valid() {
    // Without this, every rejection below might be for the wrong reason.
    let (header, data) = valid_parts();
    let mut model = load_bounded(&file_of(&header.to_string(), &data)).unwrap();
    assert!(step_and_check(&mut model, 1).unwrap());
}

#[test]
fn a_header_claiming_terabytes() {
    let (header, data) = valid_parts();
    let mut file = file_of(&header.to_string(), &data);
    file[..8].copy_from_slice(&(1u64 << 40).to_le_bytes());
    rejected(&file, &["truncated", "1099511627784"]);
    file[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    rejected(&file, &["truncated"]);
}

#[test]
fn a_header_of_length_zero_and_files_too_short_for_a_length() {
    let (_, data) = valid_parts();
    let mut file = 0u64.to_le_bytes().to_vec();
    file.extend(&data);
    rejected(&file, &["not a valid safetensors file"]);
    rejected(&0u64.to_le_bytes(), &["not a valid safetensors file"]);
    for len in 0..8 {
        rejected(&vec![0u8; len], &["truncated"]);
    }
}

#[test]
fn a_huge_header() {
    // 7 MiB of metadata entries before the real one: parsed, bounded, then
    // rejected because the tensors are missing.
    let mut header = serde_json::Map::new();
    let mut metadata = serde_json::Map::new();
    for i in 0..100_000 {
        metadata.insert(format!("filler{i}"), Value::String("x".repeat(64)));
    }
    metadata.insert(
        METADATA_KEY.into(),
        Value::String(serde_json::to_string(&meta()).unwrap()),
    );
    header.insert("__metadata__".into(), Value::Object(metadata));
    let text = Value::Object(header).to_string();
    assert!(text.len() > 6 << 20);
    rejected(&file_of(&text, &[]), &["missing"]);
    // A header over safetensors' 100 MB limit is refused before it is parsed.
    let mut file = file_of(&" ".repeat(100_000_001), &[]);
    file[8] = b'{';
    rejected(&file, &["not a valid safetensors file", "header too large"]);
}

#[test]
fn a_deeply_nested_header() {
    let depth = 100_000;
    let text = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    rejected(&file_of(&text, &[]), &["not a valid safetensors file"]);
    let text = format!(
        "{{\"__metadata__\":{{\"x\":{}1{}}}}}",
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    rejected(&file_of(&text, &[]), &["not a valid safetensors file"]);
    // Nesting inside the Bach metadata string: parsed by serde_json, refused.
    let (mut header, data) = valid_parts();
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    header["__metadata__"][METADATA_KEY] = Value::String(nested);
    rejected(
        &file_of(&header.to_string(), &data),
        &["metadata is not valid"],
    );
}

/// The valid file with the Bach metadata's JSON edited by `edit`.
fn with_meta(edit: impl FnOnce(&mut Value)) -> Vec<u8> {
    let (mut header, data) = valid_parts();
    let mut meta = serde_json::to_value(meta()).unwrap();
    edit(&mut meta);
    header["__metadata__"][METADATA_KEY] = Value::String(meta.to_string());
    file_of(&header.to_string(), &data)
}

#[test]
fn absurd_sizes_in_the_metadata_are_refused_before_allocating() {
    rejected(
        &with_meta(|m| m["hidden"] = json!(1_000_000_000u64)),
        &["hidden is 1000000000"],
    );
    rejected(
        &with_meta(|m| m["layers"] = json!(1_000_000u64)),
        &["layers is 1000000"],
    );
    rejected(&with_meta(|m| m["hidden"] = json!(u64::MAX)), &["hidden"]);
    rejected(&with_meta(|m| m["hidden"] = json!(0)), &["hidden is 0"]);
    rejected(&with_meta(|m| m["layers"] = json!(0)), &["layers is 0"]);
    rejected(
        &with_meta(|m| m["hidden"] = json!(-1)),
        &["metadata is not valid"],
    );
    rejected(
        &with_meta(|m| m["step_beats"] = json!(1e300)),
        &["step_beats"],
    );
    rejected(
        &with_meta(|m| {
            m["features"] =
                json!([{"type": "previous_step"}, {"type": "bar_position", "steps": u64::MAX}])
        }),
        &["bar_position"],
    );
    // The largest configuration validation allows, with the tiny tensors of
    // the base file: the shapes disagree and nothing of that size is made.
    let big = with_meta(|m| {
        m["core"] = json!("lstm");
        m["layers"] = json!(8);
        m["hidden"] = json!(4096);
    });
    rejected(&big, &["shape", "core.0.weight_ih"]);
}

#[test]
fn nade_metadata_must_match_its_tensors() {
    // The base file has no NADE tensors: claiming an NADE names the first missing.
    rejected(
        &with_meta(|m| m["frame"] = json!({"type": "nade", "hidden": 4})),
        &["nade.cond.weight"],
    );
    rejected(
        &with_meta(|m| m["frame"] = json!({"type": "nade", "hidden": 1u64 << 40})),
        &["NADE's hidden size"],
    );
    rejected(
        &with_meta(|m| m["frame"] = json!({"type": "made"})),
        &["metadata is not valid"],
    );
    // And an NADE file whose metadata forgets the NADE has tensors left over.
    let mut meta = nade();
    let tensors = random_tensors(&meta, 1, 0.5);
    meta.frame = FrameOutput::Independent;
    let (header, data) = parts(&meta, &tensors);
    rejected(&file_of(&header.to_string(), &data), &["nade"]);
}

#[test]
fn hostile_decision_orders() {
    // Validation refuses these before any tensor is looked at, so the base
    // file's metadata only needs to name four voices.
    let order = |m: &mut Value, order: Value| {
        m["format_version"] = json!(5);
        m["kind"] = json!("voices");
        m["voices"] = json!([
            {"name": "S", "low": 60, "high": 80},
            {"name": "A", "low": 55, "high": 75},
            {"name": "T", "low": 48, "high": 68},
            {"name": "B", "low": 36, "high": 60}
        ]);
        m["order"] = order;
    };
    for bad in [
        json!([0, 9, 1, 2]),
        json!([0, 0, 0, 0]),
        json!([0, 1, 2]),
        json!([0, 1, 2, 3, 3]),
        json!([0, 3, 1, 18446744073709551615u64]),
    ] {
        rejected(&with_meta(|m| order(m, bad.clone())), &["order"]);
    }
    rejected(&with_meta(|m| order(m, json!([2, 0, 1, 3]))), &["first"]);
    rejected(
        &with_meta(|m| order(m, json!([0, -1, 1, 2]))),
        &["metadata is not valid"],
    );
}

#[test]
fn voice_metadata_out_of_bounds() {
    let voices = |m: &mut Value, voices: Value| {
        m["kind"] = json!("voices");
        m["voices"] = voices;
    };
    rejected(&with_meta(|m| voices(m, json!([]))), &["voices"]);
    let nine: Vec<Value> = (0..9)
        .map(|i| json!({"name": format!("v{i}"), "low": 60, "high": 72}))
        .collect();
    rejected(&with_meta(|m| voices(m, Value::Array(nine))), &["voices"]);
    rejected(
        &with_meta(|m| voices(m, json!([{"name": "S", "low": 80, "high": 60}]))),
        &["voice S"],
    );
    rejected(
        &with_meta(|m| voices(m, json!([{"name": "S", "low": 0, "high": 300}]))),
        &["metadata is not valid"],
    );
}

#[test]
fn tensor_data_offsets_out_of_range() {
    let (mut header, data) = valid_parts();
    header["head.0.bias"]["data_offsets"] = json!([0u64, 1u64 << 40]);
    rejected(
        &file_of(&header.to_string(), &data),
        &["not a valid safetensors file"],
    );
    let (mut header, data) = valid_parts();
    header["head.0.bias"]["data_offsets"] = json!([u64::MAX - 3, u64::MAX]);
    rejected(
        &file_of(&header.to_string(), &data),
        &["not a valid safetensors file"],
    );
    // Offsets backwards.
    let (mut header, data) = valid_parts();
    let end = header["head.0.bias"]["data_offsets"][1].clone();
    let start = header["head.0.bias"]["data_offsets"][0].clone();
    header["head.0.bias"]["data_offsets"] = json!([end, start]);
    rejected(
        &file_of(&header.to_string(), &data),
        &["not a valid safetensors file"],
    );
    // Data missing at the end of the file.
    let (header, data) = valid_parts();
    rejected(
        &file_of(&header.to_string(), &data[..data.len() - 4]),
        &["not a valid safetensors file"],
    );
}

#[test]
fn shapes_whose_size_overflows() {
    let (mut header, data) = valid_parts();
    header["head.0.bias"]["shape"] = json!([1u64 << 62, 1u64 << 62]);
    rejected(
        &file_of(&header.to_string(), &data),
        &["not a valid safetensors file"],
    );
}

#[test]
fn nan_and_infinite_weights() {
    for (bad, shown) in [
        (f32::NAN, "NaN"),
        (f32::INFINITY, "inf"),
        (f32::NEG_INFINITY, "-inf"),
    ] {
        let mut tensors = random_tensors(&meta(), 3, 0.5);
        tensors[1].2[5] = bad;
        let name = tensors[1].0.clone();
        let (header, data) = parts(&meta(), &tensors);
        let err = rejected(
            &file_of(&header.to_string(), &data),
            &[&name, "non-finite", shown, "index 5"],
        );
        assert!(matches!(err, LoadError::NonFinite { .. }));
    }
}

#[test]
fn huge_finite_weights_load_and_still_step_safely() {
    // Finite, so the loader takes them; the state may overflow to NaN, but
    // every output must stay a valid frame.
    let mut tensors = random_tensors(&meta(), 3, 0.5);
    for (_, _, values) in &mut tensors {
        for (i, v) in values.iter_mut().enumerate() {
            *v = if i % 2 == 0 { f32::MAX } else { -f32::MAX };
        }
    }
    let (header, data) = parts(&meta(), &tensors);
    let mut model = load_bounded(&file_of(&header.to_string(), &data)).unwrap();
    step_and_check(&mut model, 5).unwrap();
    let mut satb = ModelMeta::satb(CoreKind::Lstm, 1, 3);
    satb.name = "huge".into();
    let mut tensors = random_tensors(&satb, 3, 0.5);
    for (_, _, values) in &mut tensors {
        values.iter_mut().for_each(|v| *v = v.signum() * 3e38);
    }
    let (header, data) = parts(&satb, &tensors);
    let mut model = load_bounded(&file_of(&header.to_string(), &data)).unwrap();
    step_and_check(&mut model, 6).unwrap();
}

#[test]
fn a_tensor_with_the_wrong_shape() {
    let mut tensors = random_tensors(&meta(), 3, 0.5);
    // Same number of values, transposed shape.
    let (name, shape, _) = &mut tensors[0];
    let name = name.clone();
    shape.reverse();
    let (header, data) = parts(&meta(), &tensors);
    let err = rejected(&file_of(&header.to_string(), &data), &[&name, "shape"]);
    assert!(matches!(err, LoadError::WrongShape { .. }));
    // A shape whose size does not match its data.
    let (mut header, data) = valid_parts();
    header["head.0.bias"]["shape"] = json!([89]);
    rejected(
        &file_of(&header.to_string(), &data),
        &["not a valid safetensors file"],
    );
    // A scalar where a vector should be.
    let (mut header, mut data) = valid_parts();
    let n = data.len();
    data.truncate(n - 88 * 4);
    data.extend(1f32.to_le_bytes());
    header["head.0.bias"] =
        json!({"dtype": "F32", "shape": [], "data_offsets": [n - 88 * 4, n - 87 * 4]});
    rejected(
        &file_of(&header.to_string(), &data),
        &["head.0.bias", "shape"],
    );
}

#[test]
fn wrong_dtypes() {
    for (dtype, width) in [
        ("F64", 8),
        ("F16", 2),
        ("BF16", 2),
        ("I32", 4),
        ("U8", 1),
        ("BOOL", 1),
    ] {
        let (mut header, data) = valid_parts();
        let offsets = &header["head.0.bias"]["data_offsets"];
        let start = offsets[0].as_u64().unwrap() as usize;
        let end = offsets[1].as_u64().unwrap() as usize;
        assert_eq!(end, data.len(), "the bias is stored last");
        let mut data = data[..start].to_vec();
        data.extend(std::iter::repeat_n(0u8, 88 * width));
        header["head.0.bias"] =
            json!({"dtype": dtype, "shape": [88], "data_offsets": [start, data.len()]});
        rejected(
            &file_of(&header.to_string(), &data),
            &["head.0.bias", "expected F32"],
        );
    }
    let (mut header, data) = valid_parts();
    header["head.0.bias"]["dtype"] = json!("F33");
    rejected(
        &file_of(&header.to_string(), &data),
        &["not a valid safetensors file"],
    );
}

/// The valid base file's header text with `entry` (a `"name":{...}` pair)
/// put first or last among the header's keys.
fn with_entry(entry: &str, first: bool) -> Vec<u8> {
    let (header, data) = valid_parts();
    let text = header.to_string();
    let text = if first {
        text.replacen('{', &format!("{{{entry},"), 1)
    } else {
        format!("{},{entry}}}", &text[..text.len() - 1])
    };
    assert_eq!(text.matches("\"head.0.bias\"").count(), 2);
    file_of(&text, &data)
}

/// A second `head.0.bias` entry over the first weights of the file.
const ELSEWHERE: &str =
    "\"head.0.bias\":{\"dtype\":\"F32\",\"shape\":[88],\"data_offsets\":[0,352]}";

#[test]
fn duplicate_tensor_names_kept_last_are_refused() {
    // JSON objects may repeat a key, and the safetensors header parser keeps
    // the last copy. When that copy points elsewhere, part of the buffer is
    // unclaimed and the file is refused.
    let err = load_bounded(&with_entry(ELSEWHERE, false)).err();
    let err = err.expect("a file giving head.0.bias two places loaded");
    assert!(
        err.to_string().contains("not a valid safetensors file"),
        "{err}"
    );
}

#[test]
fn duplicate_tensor_names_are_refused() {
    // A copy pointing elsewhere, before the real entry: the real one wins and
    // the file loads, though another reader keeping the first copy would read
    // different weights.
    let err = load_bounded(&with_entry(ELSEWHERE, true)).err();
    assert!(err.is_some(), "a file giving head.0.bias two places loaded");
    // An exact repeat.
    let (header, _) = valid_parts();
    let repeat = format!("\"head.0.bias\":{}", header["head.0.bias"]);
    assert!(load_bounded(&with_entry(&repeat, true)).is_err());
}

#[test]
fn missing_and_unreadable_metadata() {
    let (mut header, data) = valid_parts();
    header.as_object_mut().unwrap().remove("__metadata__");
    rejected(&file_of(&header.to_string(), &data), &["no Bach metadata"]);
    let (mut header, data) = valid_parts();
    header["__metadata__"][METADATA_KEY] = json!("{\"format_version\": 1, ");
    rejected(
        &file_of(&header.to_string(), &data),
        &["metadata is not valid"],
    );
    rejected(
        &with_meta(|m| m["format_version"] = json!(99)),
        &["version 99", "update Bach"],
    );
    rejected(&with_meta(|m| m["format_version"] = json!(0)), &["version"]);
    rejected(
        &with_meta(|m| m["core"] = json!("transformer")),
        &["metadata is not valid"],
    );
    // Metadata that is not even a string map.
    let (mut header, data) = valid_parts();
    header["__metadata__"] = json!({ METADATA_KEY: 5 });
    rejected(
        &file_of(&header.to_string(), &data),
        &["not a valid safetensors file"],
    );
}

#[test]
fn extra_and_missing_tensors() {
    let (mut header, mut data) = valid_parts();
    let n = data.len();
    data.extend([0u8; 4]);
    header["rogue"] = json!({"dtype": "F32", "shape": [1], "data_offsets": [n, n + 4]});
    rejected(
        &file_of(&header.to_string(), &data),
        &["rogue", "not part of this model"],
    );
    let meta = meta();
    let tensors: Vec<NamedTensor> = random_tensors(&meta, 3, 0.5).into_iter().skip(1).collect();
    let (header, data) = parts(&meta, &tensors);
    rejected(
        &file_of(&header.to_string(), &data),
        &["core.0.weight_ih", "missing"],
    );
}
