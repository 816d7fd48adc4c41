//! Generate: the model plays N bars from silence.
//!
//! The sequencer's continue mode answers only after it has heard something,
//! so from nothing there is no host session to run. This plays the model
//! through the sequencer's performer as on the model's turn: every voice
//! sampled, the position in the bar from the step count, a fresh random
//! stream from the seed, and the user's sampler. A piano-roll model (the JSB
//! and Nottingham benchmark models) plays frames instead, as one part.

use bach_engine::meter::Meter;
use bach_engine::model::{AnyModel, PianoRollModel, VoicesModel};
use bach_engine::perform::{user_sampler, Performer};
use bach_engine::pianoroll::KeyFrame;
use bach_engine::score::{MeterChange, Score, TempoChange};
use bach_engine::token::{Token, MAX_VOICES};

use super::{check_bars, check_voices_model, voice_name, Offline, OfflineError, Options, Timeline};

/// Velocity of generated notes when nothing was played to take it from.
const VELOCITY: u8 = 90;

/// `bars` bars of the model's own music, in its bar (4/4 for chorales) at the given tempo (120 bpm by default).
pub fn generate(model: &mut AnyModel, bars: u32, opts: &Options) -> Result<Offline, OfflineError> {
    opts.check()?;
    check_bars(bars)?;
    match model {
        AnyModel::Voices(model) => voices(model, bars, opts),
        AnyModel::PianoRoll(model) => Ok(frames(model, bars, opts)),
    }
}

/// `bars` bars of a voices model, every voice sampled.
fn voices(model: &mut VoicesModel, bars: u32, opts: &Options) -> Result<Offline, OfflineError> {
    let n = check_voices_model(model)?.min(MAX_VOICES);
    let bar = model.meta().bar_steps().unwrap_or(16).max(1);
    let steps = bars as usize * bar;
    let mut performer = Performer::new(user_sampler(opts.temperature, opts.strict), opts.seed);
    performer.restart(model, opts.seed);
    let mut voices: Vec<Vec<Token>> = vec![Vec::with_capacity(steps); n];
    for k in 0..steps {
        let tokens = performer.play(model, &bach_engine::StepContext::common(k % bar));
        for (v, voice) in voices.iter_mut().enumerate() {
            voice.push(tokens.get(v).copied().unwrap_or(Token::Rest));
        }
    }
    let names: Vec<String> = (0..n).map(|v| voice_name(model, v)).collect();
    let named: Vec<(&str, &[Token])> = names
        .iter()
        .zip(&voices)
        .map(|(name, t)| (name.as_str(), t.as_slice()))
        .collect();
    let step_beats = model.meta().step_beats;
    let score = Score::from_voices(step_beats, &named, VELOCITY);
    Ok(finish(score, bar, opts))
}

/// `bars` bars of 4/4 from a piano-roll model: each frame sampled (through
/// its NADE, key by key, when it has one) and fed back as the next input.
fn frames(model: &mut PianoRollModel, bars: u32, opts: &Options) -> Offline {
    let step_beats = model.meta().step_beats;
    let bar = (4.0 / step_beats).round().max(1.0) as usize;
    let mut performer = Performer::new(user_sampler(opts.temperature, opts.strict), opts.seed);
    performer.restart_piano_roll(model, opts.seed);
    let frames: Vec<KeyFrame> = (0..bars as usize * bar)
        .map(|_| performer.play_frame(model, None))
        .collect();
    let name = model.meta().name.clone();
    finish(
        Score::from_frames(step_beats, &name, &frames, VELOCITY),
        bar,
        opts,
    )
}

/// The score at the chosen tempo (120 bpm by default) in a bar of `bar` steps.
fn finish(mut score: Score, bar: usize, opts: &Options) -> Offline {
    let step_beats = score.step_beats;
    let bpm = opts.bpm.unwrap_or(120.0);
    score.tempos = vec![TempoChange { step: 0, bpm }];
    // The model's bar in quarter notes (4/4 for the chorale model).
    let quarters = (bar as f64 * step_beats).round().clamp(1.0, 32.0) as u8;
    score.meters = vec![MeterChange {
        step: 0,
        meter: Meter::new(quarters, 4),
    }];
    let timeline = Timeline::constant(step_beats, 0.0, bpm);
    Offline {
        session: timeline.session(Vec::new(), 0),
        timeline,
        events: Vec::new(),
        melody: None,
        key: None,
        keys: Vec::new(),
        score,
    }
}
