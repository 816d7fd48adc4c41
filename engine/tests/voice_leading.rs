//! Strict voice leading, end to end on the shipped harmonizer: with it on, no
//! sampled voice ever moves in parallel fifths or octaves with a voice above
//! it; with it off, the same model does (so the check can see them).

use bach_engine::voice_leading::parallels;
use bach_engine::{Performer, Rng, Sampler, Token, VoicesModel};

const MODEL: &[u8] = bach_engine::DEFAULT_MODEL;

/// A wandering soprano in quarter and eighth notes, diatonic in C.
fn melody(steps: usize, seed: u64) -> Vec<Token> {
    let scale = [60u8, 62, 64, 65, 67, 69, 71, 72, 74, 76];
    let mut rng = Rng::new(seed);
    let mut degree = 4usize;
    let mut out = Vec::with_capacity(steps);
    while out.len() < steps {
        let step = rng.next_u32() % 5;
        degree = (degree + step as usize)
            .saturating_sub(2)
            .min(scale.len() - 1);
        let length = if rng.next_u32().is_multiple_of(3) {
            2
        } else {
            4
        };
        out.push(Token::Onset(scale[degree]));
        out.extend(std::iter::repeat_n(Token::Hold, length - 1));
    }
    out.truncate(steps);
    out
}

/// Harmonizes `soprano` and counts parallel fifths and octaves between any two voices.
fn parallel_count(
    model: &mut VoicesModel,
    soprano: &[Token],
    sampler: &Sampler,
    seed: u64,
) -> usize {
    let mut performer = Performer::new(*sampler, seed);
    performer.restart(model, seed);
    let mut clamp = vec![None; model.voices()];
    let mut before = *performer.sounding();
    let mut count = 0;
    for (t, s) in soprano.iter().enumerate() {
        clamp[0] = Some(*s);
        performer.step(model, &bach_engine::StepContext::common(t), &clamp);
        count += parallels(&before, performer.sounding()).count();
        before = *performer.sounding();
    }
    count
}

#[test]
fn strict_voice_leading_rules_out_parallels() {
    let mut model = VoicesModel::from_bytes(MODEL).unwrap();
    let mut free_total = 0;
    for seed in 0..3 {
        let soprano = melody(2000, seed);
        for temperature in [0.0, 0.8, 1.5] {
            let strict = Sampler {
                temperature,
                strict: true,
                ..Sampler::default()
            };
            assert_eq!(
                parallel_count(&mut model, &soprano, &strict, seed),
                0,
                "T={temperature}, seed {seed}"
            );
            let free = Sampler {
                strict: false,
                ..strict
            };
            free_total += parallel_count(&mut model, &soprano, &free, seed);
        }
    }
    assert!(
        free_total > 10,
        "the control found only {free_total} parallels"
    );
}
