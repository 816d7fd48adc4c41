//! A session's output read as music: events moved by the latency a host
//! compensates, the generated voices' events and notes, notes left hanging;
//! and a score's notes as a host delivers them.

use super::{HostNote, Timed, Timeline, VoiceEvent};
use crate::score::Note;
use crate::sequencer::Source;

/// `events` moved `latency` samples earlier, as a host compensating the
/// plugin's reported latency plays them.
pub fn compensate(events: &[Timed], latency: i64) -> Vec<Timed> {
    events
        .iter()
        .map(|e| Timed {
            sample: e.sample - latency,
            ..*e
        })
        .collect()
}

/// The (channel, pitch) of every key still on after its last event: notes
/// left hanging. Empty for a well-behaved session.
pub fn hanging(events: &[Timed]) -> Vec<(u8, u8)> {
    let mut last = std::collections::BTreeMap::new();
    for e in events {
        last.insert((e.event.channel, e.event.pitch), e.event.on);
    }
    last.into_iter()
        .filter(|(_, on)| *on)
        .map(|(key, _)| key)
        .collect()
}

/// The generated voices' events among `events`.
pub fn voice_events(events: &[Timed]) -> Vec<VoiceEvent> {
    events
        .iter()
        .filter_map(|e| match e.event.source {
            Source::Voice(voice) => Some(VoiceEvent {
                sample: e.sample,
                on: e.event.on,
                voice,
                pitch: e.event.pitch,
                velocity: e.event.velocity,
            }),
            _ => None,
        })
        .collect()
}

/// Input note events for `notes`, sorted as a host delivers them.
pub fn host_notes(notes: &[Note], timeline: &Timeline) -> Vec<HostNote> {
    let mut out = Vec::with_capacity(notes.len() * 2);
    for n in notes {
        out.push(HostNote {
            sample: timeline.sample_of_step(n.start),
            on: true,
            pitch: n.pitch,
            velocity: n.velocity.clamp(1, 127),
        });
        out.push(HostNote {
            sample: timeline.sample_of_step(n.end()),
            on: false,
            pitch: n.pitch,
            velocity: 0,
        });
    }
    out.sort();
    out
}

/// Notes per voice (`voices` of them) from the voices' events, on the grid
/// of `timeline`: a note-on starts a note (ending the voice's previous one),
/// a note-off ends it. Notes are cut at `end_step`; notes still sounding
/// there end there; notes shorter than a step (a step voiced again at once)
/// are dropped, as they never sound for a whole step.
pub fn voice_notes(
    events: &[VoiceEvent],
    timeline: &Timeline,
    voices: usize,
    end_step: u32,
) -> Vec<Vec<Note>> {
    let mut notes = vec![Vec::new(); voices];
    let mut open: Vec<Option<Note>> = vec![None; voices];
    let close = |notes: &mut Vec<Note>, note: Option<Note>, step: u32| {
        if let Some(mut n) = note {
            let step = step.min(end_step);
            if step > n.start {
                n.len = step - n.start;
                notes.push(n);
            }
        }
    };
    for e in events {
        let v = e.voice as usize;
        if v >= voices {
            continue;
        }
        let step = timeline.step_at(e.sample);
        if e.on {
            close(&mut notes[v], open[v].take(), step);
            if step < end_step {
                open[v] = Some(Note {
                    start: step,
                    len: 1,
                    pitch: e.pitch,
                    velocity: e.velocity.clamp(1, 127),
                });
            }
        } else if open[v].is_some_and(|n| n.pitch == e.pitch) {
            close(&mut notes[v], open[v].take(), step);
        }
    }
    for (v, o) in open.into_iter().enumerate() {
        close(&mut notes[v], o, end_step);
    }
    notes
}
