//! Harmonize: the file's melody is the soprano, the model adds the voices below.

use bach_engine::model::VoicesModel;
use bach_engine::score::{Part, Score};
use bach_engine::sequencer::Mode;

use super::{
    check_voices_model, melody::melody, origin_beats, tempo_map, voice_name, voice_parts, Offline,
    OfflineError, Options, Timeline,
};
use bach_engine::sequencer::session::{host_notes, voice_notes};

/// Harmonizes the melody of `score` (read on the model's grid) as the plugin
/// would if the file played in a host from its start: the output has the
/// melody exactly as read, on channel 1, and one part per generated voice.
pub fn harmonize(
    model: &mut VoicesModel,
    score: &Score,
    opts: &Options,
) -> Result<Offline, OfflineError> {
    opts.check()?;
    let n = check_voices_model(model)?;
    if n < 2 {
        return Err(OfflineError::TooFewVoices(n));
    }
    let tune = melody(score, opts.track.as_deref())?;
    let tempos = tempo_map(score, opts.bpm);
    let timeline = Timeline::new(score.step_beats, origin_beats(score, model), &tempos);
    let input = host_notes(&tune.notes, &timeline);
    let end_step = tune.end();
    // One step past the melody's end, where the rest ends every voice.
    let length = timeline.sample_of_step(end_step + 1);
    let session = timeline.session(input, length);
    let events = session.play(model, &opts.settings(Mode::Harmonize))?;
    let mut notes = voice_notes(&events, &timeline, n, end_step);
    notes[0].clear();
    let mut parts = voice_parts(model, notes, 0);
    parts[0] = Part {
        name: voice_name(model, 0),
        channel: parts[0].channel,
        notes: tune.notes.clone(),
    };
    let mut out = Score::new(score.step_beats);
    out.parts = parts;
    out.tempos = tempos;
    out.meters = score.meters.clone();
    out.len = score.len.max(end_step);
    Ok(Offline {
        score: out,
        timeline,
        session,
        events,
        melody: Some(0),
    })
}
