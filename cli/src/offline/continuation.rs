//! Continue: the model listens to a primer, then plays on for N bars.
//!
//! Both kinds of model play through the pretend host and the sequencer, as
//! in the plugin: a voices model answers in its voices, a piano-roll model
//! hears the primer as frames on its own grid and answers in frames (one
//! part, its held keys held notes; see the sequencer's held-keys rule).

use bach_engine::model::{PianoRollModel, VoicesModel};
use bach_engine::score::{channel_for, Note, Part, Score};
use bach_engine::sequencer::session::{host_notes, voice_notes, Session, VoiceEvent};
use bach_engine::sequencer::{Mode, Playable};
use bach_engine::token::MAX_VOICES;

use super::{
    check_bars, check_voices_model, origin_beats, tempo_map, voice_parts, Offline, OfflineError,
    Options, Timeline,
};

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
    let bar_steps = model.meta().bar_steps().unwrap_or(16);
    let played = play_primer(model, bar_steps, primer, bars, opts)?;
    let voices = voice_notes(&played.events, &played.timeline, n, played.end_step);
    let parts = voice_parts(model, voices, primer.parts.len())
        .into_iter()
        .map(|mut p| {
            p.name = format!("{} (continued)", p.name);
            p
        })
        .collect();
    Ok(played.offline(primer, parts))
}

/// [`continue_from`] with a piano-roll model: the primer (read on the
/// model's grid) is heard frame by frame, then the model plays `bars` bars
/// of frames, sampled through its NADE when it has one, at the temperature,
/// at most the sampler's note cap at once. The continuation is one part.
pub fn continue_piano_roll(
    model: &mut PianoRollModel,
    primer: &Score,
    bars: u32,
    opts: &Options,
) -> Result<Offline, OfflineError> {
    opts.check()?;
    check_bars(bars)?;
    // A roll hears no bar position: its pickup is placed in 4/4 bars.
    let bar_steps = (4.0 / model.meta().step_beats).round() as usize;
    let played = play_primer(model, bar_steps, primer, bars, opts)?;
    // Each sounding key took one of the sequencer's slots: the notes of
    // every slot are the one part.
    let mut notes: Vec<Note> = voice_notes(
        &played.events,
        &played.timeline,
        MAX_VOICES,
        played.end_step,
    )
    .into_iter()
    .flatten()
    .collect();
    notes.sort_by_key(|n| (n.start, n.pitch));
    let name = format!("{} (continued)", model.meta().name);
    let part = Part::new(name, channel_for(primer.parts.len()), notes);
    Ok(played.offline(primer, vec![part]))
}

/// What the pretend host played for a continuation.
struct Played {
    timeline: Timeline,
    session: Session,
    events: Vec<VoiceEvent>,
    tempos: Vec<bach_engine::score::TempoChange>,
    /// The step the model's turn ends on.
    end_step: u32,
}

impl Played {
    /// The primer as read plus the continuation's `parts`.
    fn offline(self, primer: &Score, parts: Vec<Part>) -> Offline {
        let mut out = primer.clone();
        out.tempos = self.tempos;
        out.parts.extend(parts);
        out.len = out.len.max(self.end_step);
        Offline {
            score: out,
            timeline: self.timeline,
            session: self.session,
            events: self.events,
            melody: None,
            key: None,
            keys: Vec::new(),
        }
    }
}

/// Plays the primer through the pretend host in continue mode and lets the
/// model play `bars` bars; `bar_steps` places a pickup in the model's bar.
fn play_primer<M: Playable + ?Sized>(
    model: &mut M,
    bar_steps: usize,
    primer: &Score,
    bars: u32,
    opts: &Options,
) -> Result<Played, OfflineError> {
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
    let origin = origin_beats(primer, bar_steps);
    let timeline = Timeline::new(primer.step_beats, origin, &tempos);
    let input = host_notes(&notes, &timeline);
    // The model's turn starts once `silence` quiet steps have passed.
    let start = primer_end + silence;
    let end_step = start + total;
    let length = timeline.sample_of_step(end_step);
    let session = timeline.session_in_meters(input, length, &primer.meter_regions());
    let events = session.play(model, &settings)?;
    Ok(Played {
        timeline,
        session,
        events,
        tempos,
        end_step,
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
