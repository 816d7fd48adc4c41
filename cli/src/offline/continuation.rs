//! Continue: the model listens to a primer, then plays on for N bars.

use bach_engine::model::VoicesModel;
use bach_engine::score::{Note, Score};
use bach_engine::sequencer::Mode;

use super::{
    check_bars, check_voices_model, origin_beats, tempo_map, voice_parts, Offline, OfflineError,
    Options, Timeline,
};
use bach_engine::sequencer::session::{host_notes, voice_notes};

/// Plays every note of `primer` to the sequencer in continue mode, in the
/// primer's meters, then lets the model play `bars` bars (of the primer's
/// last meter). The silence the
/// model waits for is one step longer than the longest rest inside the
/// primer, so it never cuts in before the primer is over. The output is the
/// primer as read plus one part per voice with the continuation.
pub fn continue_from(
    model: &mut VoicesModel,
    primer: &Score,
    bars: u32,
    opts: &Options,
) -> Result<Offline, OfflineError> {
    opts.check()?;
    check_bars(bars)?;
    let n = check_voices_model(model)?;
    let notes: Vec<Note> = primer.parts.iter().flat_map(|p| p.notes.clone()).collect();
    if notes.is_empty() {
        return Err(OfflineError::NoMelody);
    }
    let primer_end = notes.iter().map(Note::end).max().unwrap_or(0);
    let silence = longest_rest(&notes, primer_end) + 1;

    let meter = primer.meter_at(primer_end);
    let bar_len = primer.bar_steps(&meter).round().max(1.0) as u32;
    let total = bars * bar_len;
    let mut settings = opts.settings(Mode::Continue);
    settings.silence_beats = silence as f64 * primer.step_beats;
    // The sequencer counts the turn in bars of the meter the host (here,
    // the file) is in when the turn starts: the primer's last meter.
    settings.continue_bars = bars;

    let tempos = tempo_map(primer, opts.bpm);
    let timeline = Timeline::new(primer.step_beats, origin_beats(primer, model), &tempos);
    let input = host_notes(&notes, &timeline);
    // The model's turn starts once `silence` quiet steps have passed.
    let start = primer_end + silence;
    let end_step = start + total;
    let length = timeline.sample_of_step(end_step);
    let session = timeline.session_in_meters(input, length, &super::meters::regions(primer));
    let events = session.play(model, &settings)?;
    let voices = voice_notes(&events, &timeline, n, end_step);

    let mut out = primer.clone();
    out.tempos = tempos;
    let first_channel = out.parts.len();
    out.parts.extend(
        voice_parts(model, voices, first_channel)
            .into_iter()
            .map(|mut p| {
                p.name = format!("{} (continued)", p.name);
                p
            }),
    );
    out.len = out.len.max(end_step);
    Ok(Offline {
        score: out,
        timeline,
        session,
        events,
        melody: None,
        key: None,
    })
}

/// The longest run of steps with nothing sounding between the first note and `end`.
fn longest_rest(notes: &[Note], end: u32) -> u32 {
    let first = notes.iter().map(|n| n.start).min().unwrap_or(0);
    let mut sounding = vec![false; end as usize];
    for n in notes {
        for s in &mut sounding[n.start as usize..n.end().min(end) as usize] {
            *s = true;
        }
    }
    let (mut longest, mut run) = (0, 0);
    for &s in &sounding[first as usize..] {
        run = if s { 0 } else { run + 1 };
        longest = longest.max(run);
    }
    longest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rests_inside_the_primer() {
        let note = |start, len| Note {
            start,
            len,
            pitch: 60,
            velocity: 80,
        };
        assert_eq!(longest_rest(&[note(4, 2), note(6, 2)], 8), 0);
        assert_eq!(longest_rest(&[note(4, 2), note(9, 2), note(12, 1)], 13), 3);
    }
}
