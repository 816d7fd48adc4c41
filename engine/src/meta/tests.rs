//! Tests of [`super`].

use super::*;

#[test]
fn satb_sizes() {
    let m = ModelMeta::satb(CoreKind::Gru, 2, 256);
    m.validate().unwrap();
    // 36 + 37 + 38 + 45 tokens, plus 16 positions.
    assert_eq!(m.step_size(), 36 + 37 + 38 + 45);
    assert_eq!(m.input_size(), 156 + 16);
    let shapes = m.tensor_shapes();
    assert_eq!(shapes[0], ("core.0.weight_ih".into(), vec![768, 172]));
    assert_eq!(shapes.last().unwrap(), &("head.3.bias".into(), vec![45]));
    assert_eq!(shapes[shapes.len() - 2].1, vec![45, 256 + 36 + 37 + 38]);
}

#[test]
fn json_is_stable() {
    let m = ModelMeta::pianoroll(CoreKind::Lstm, 1, 8, 1.0);
    let json = serde_json::to_string(&m).unwrap();
    assert!(json.contains(r#""kind":"pianoroll""#), "{json}");
    assert!(json.contains(r#""core":"lstm""#), "{json}");
    assert!(
        json.contains(r#""features":[{"type":"previous_step"}]"#),
        "{json}"
    );
    let back: ModelMeta = serde_json::from_str(&json).unwrap();
    assert_eq!(back, m);
}

#[test]
fn nade_frames_add_their_tensors_and_say_so() {
    let mut m = ModelMeta::pianoroll(CoreKind::Gru, 1, 32, 1.0);
    let independent = serde_json::to_string(&m).unwrap();
    // Version-1 readers never saw `frame`: independent models leave it out.
    assert!(!independent.contains("frame"), "{independent}");
    m.frame = FrameOutput::Nade { hidden: 20 };
    m.validate().unwrap();
    let shapes = m.tensor_shapes();
    let tail: Vec<_> = shapes[shapes.len() - 4..].to_vec();
    assert_eq!(
        tail,
        vec![
            ("nade.cond.weight".into(), vec![20, 32]),
            ("nade.cond.bias".into(), vec![20]),
            ("nade.in.weight".into(), vec![20, KEYS]),
            ("nade.out.weight".into(), vec![KEYS, 20]),
        ]
    );
    let json = serde_json::to_string(&m).unwrap();
    assert!(
        json.contains(r#""frame":{"type":"nade","hidden":20}"#),
        "{json}"
    );
    assert_eq!(serde_json::from_str::<ModelMeta>(&json).unwrap(), m);
    let old: ModelMeta = serde_json::from_str(&independent).unwrap();
    assert_eq!(old.frame, FrameOutput::Independent);
}

#[test]
fn validation_names_the_problem() {
    let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
    m.hidden = 1 << 20;
    assert!(m.validate().unwrap_err().contains("hidden"));
    let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
    m.voices[1].low = 90;
    assert!(m.validate().unwrap_err().contains("voice A"));
    let mut m = ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0);
    m.features = vec![Feature::BarPosition { steps: 4 }];
    assert!(m.validate().unwrap_err().contains("previous_step"));
    let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
    m.frame = FrameOutput::Nade { hidden: 8 };
    assert!(m.validate().unwrap_err().contains("NADE"));
    let mut m = ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0);
    m.frame = FrameOutput::Nade { hidden: 0 };
    assert!(m.validate().unwrap_err().contains("NADE's hidden size"));
    for order in [
        vec![0, 3, 1],
        vec![0, 3, 1, 1],
        vec![0, 4, 1, 2],
        vec![0, 1, 2, 3, 3],
    ] {
        let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
        m.order = order;
        m.format_version = m.needed_version();
        assert!(
            m.validate().unwrap_err().contains("not an order"),
            "{:?}",
            m.order
        );
    }
    let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
    m.order = vec![3, 0, 1, 2];
    m.format_version = m.needed_version();
    assert!(m.validate().unwrap_err().contains("top voice"));
    // An order needs format 5: an older reader would misread the heads.
    let mut m = ModelMeta::satb(CoreKind::Gru, 2, 256);
    m.order = vec![0, 3, 1, 2];
    m.format_version = 4;
    assert!(m.validate().unwrap_err().contains("needs 5"));
}

#[test]
fn outer_voices_first_heads_read_the_voices_decided_before_them() {
    let mut m = ModelMeta::satb(CoreKind::Gru, 1, 8);
    m.pair_score = true;
    m.order = vec![0, 3, 1, 2];
    m.format_version = m.needed_version();
    assert_eq!(m.format_version, 5);
    m.validate().unwrap();
    assert_eq!(m.decided_before(0), Vec::<usize>::new());
    assert_eq!(m.decided_before(3), [0]);
    assert_eq!(m.decided_before(1), [0, 3]);
    assert_eq!(m.decided_before(2), [0, 3, 1]);
    let shapes: std::collections::HashMap<_, _> = m.tensor_shapes().into_iter().collect();
    let (s, a, t, b) = (36, 37, 38, 45);
    assert_eq!(shapes["head.0.weight"], [s, 8]);
    assert_eq!(shapes["head.3.weight"], [b, 8 + s]);
    assert_eq!(shapes["head.1.weight"], [a, 8 + s + b]);
    assert_eq!(shapes["head.2.weight"], [t, 8 + s + b + a]);
    assert!(!shapes.contains_key("head.0.pairs"));
    assert_eq!(shapes["head.3.pairs"], [crate::model::pairs::PAIR_FEATURES]);
    assert_eq!(
        shapes["head.2.pairs"],
        [3 * crate::model::pairs::PAIR_FEATURES]
    );
    // Top down is what a file without an order means, and it is written so.
    let plain = ModelMeta::satb(CoreKind::Gru, 1, 8);
    assert_eq!(plain.decision_order(), [0, 1, 2, 3]);
    assert!(!serde_json::to_string(&plain).unwrap().contains("order"));
    let json = serde_json::to_string(&m).unwrap();
    assert!(json.contains(r#""order":[0,3,1,2]"#), "{json}");
    assert_eq!(serde_json::from_str::<ModelMeta>(&json).unwrap(), m);
}

#[test]
fn a_hidden_layer_in_each_head_is_format_7_and_sized_by_the_voices_before() {
    let mut m = ModelMeta::satb(CoreKind::Gru, 1, 8);
    m.order = vec![0, 3, 1, 2];
    m.head_hidden = 5;
    m.format_version = m.needed_version();
    assert_eq!(m.format_version, 7);
    m.validate().unwrap();
    let shapes: std::collections::HashMap<_, _> = m.tensor_shapes().into_iter().collect();
    let (s, a, b) = (36, 37, 45);
    // The alto's head reads the soprano and the bass.
    assert_eq!(shapes["head.1.hidden.weight"], [5, 8 + s + b]);
    assert_eq!(shapes["head.1.hidden.bias"], [5]);
    assert_eq!(shapes["head.1.out.weight"], [a, 5]);
    assert_eq!(shapes["head.0.hidden.weight"], [5, 8]);

    // A file that says an older version cannot hold it; a piano roll has no
    // such heads; an absurd size is refused before anything is sized from it.
    let mut old = m.clone();
    old.format_version = 6;
    assert!(old.validate().unwrap_err().contains("needs 7"));
    let mut roll = ModelMeta::pianoroll(CoreKind::Gru, 1, 8, 1.0);
    roll.head_hidden = 5;
    roll.format_version = 7;
    assert!(roll.validate().unwrap_err().contains("voices models only"));
    m.head_hidden = crate::meta::MAX_HIDDEN + 1;
    assert!(m.validate().unwrap_err().contains("head_hidden"));
}
