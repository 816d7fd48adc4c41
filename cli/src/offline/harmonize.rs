//! Harmonize: the file's melody is the soprano, the model adds the voices below.
//!
//! With lookahead off, a beat or a bar, the file plays through the pretend
//! host in its meters as the plugin would with those settings. With the
//! whole melody known (the `bach` command's default), the performer is
//! stepped directly by [`harmonize_line`], which applies the plugin's rules
//! step by step with all of the melody ahead.

use bach_engine::midi::PlayedNote;
use bach_engine::model::VoicesModel;
use bach_engine::perform::line::{harmonize_line, key_for, whole_melody_keys};
use bach_engine::perform::{user_sampler, KeyChoice};
use bach_engine::score::{Note, Part, Score};
use bach_engine::sequencer::session::{
    host_notes, process_as_host, voice_events, voice_notes, MeterRegion, Session, Timed,
    BLOCK_FRAMES, MAX_OUTPUT,
};
use bach_engine::sequencer::{EventBuffer, Mode, NoteEvent, Sequencer, Settings};
use bach_engine::{Horizon, Performer, Token};

use super::{
    check_voices_model, keys, melody::melody_part, origin_beats, tempo_map, voice_name,
    voice_parts, HostNote, KeyUsed, Offline, OfflineError, Options, Timeline, VoiceEvent,
};

/// Harmonizes the melody of `score` (read on the model's grid): the output
/// has the melody exactly as read, on channel 1, and one part per generated
/// voice. With `opts.lookahead` off, a beat or a bar, the notes are the
/// plugin's if the file played in a host from its start with those settings.
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
    let (index, tune) = melody_part(score, opts.track.as_deref())?;
    let tempos = tempo_map(score, opts.bpm);
    let timeline = Timeline::new(
        score.step_beats,
        origin_beats(score, model.meta().bar_steps().unwrap_or(16)),
        &tempos,
    );
    let regions = score.meter_regions();
    let input = match played_melody(opts, score, index) {
        Some(notes) => played_notes(notes, &timeline),
        None => host_notes(&tune.notes, &timeline),
    };
    let end_step = tune.end();
    // One step past the melody's end, where the rest ends every voice; with
    // lookahead, the delayed output's tail too.
    let tail = match opts.lookahead {
        Horizon::Off | Horizon::Whole => 0,
        Horizon::Beat | Horizon::Bar => 2 * longest_bar(&regions, score.step_beats),
    };
    let length = timeline.sample_of_step(end_step + 1 + tail);
    let session = timeline.session_in_meters(input, length, &regions);
    let knows_key = model.meta().knows_key();
    let line = tune.to_tokens(end_step);
    let bars = MeterRegion::bar_positions(&regions, score.step_beats, end_step);
    let (notes, events, key) = if opts.lookahead == Horizon::Whole {
        let choice = key_for(&line, opts.key, Horizon::Whole);
        let mut performer = Performer::new(user_sampler(opts.temperature, opts.strict), opts.seed);
        performer.restart(model, opts.seed);
        let tokens = harmonize_line(
            model,
            &mut performer,
            &line,
            &bars,
            opts.key,
            Horizon::Whole,
        );
        let notes = token_notes(&tokens, n, &tune.notes);
        let events = note_events(&notes, &timeline);
        let key = match (opts.key, choice) {
            (KeyChoice::Fixed(k), _) => KeyUsed::Set(k),
            (KeyChoice::Auto, KeyChoice::Fixed(k)) => {
                let keys = whole_melody_keys(&line).unwrap_or_default();
                let passages = keys
                    .windows(2)
                    .filter(|w| w[0] != w[1] && w[1] != k)
                    .count();
                KeyUsed::WholeMelody(k, passages)
            }
            (KeyChoice::Auto, KeyChoice::Auto) => KeyUsed::Followed(None),
        };
        (notes, events, key)
    } else {
        let (events, key) = play(&session, model, &opts.settings(Mode::Harmonize))?;
        let notes = voice_notes(&events, &timeline, n, end_step);
        let key = match opts.key {
            KeyChoice::Fixed(k) => KeyUsed::Set(k),
            KeyChoice::Auto => KeyUsed::Followed(key),
        };
        (notes, events, key)
    };
    let mut notes = notes;
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
        key: Some(if knows_key { key } else { KeyUsed::NoKeys }),
        keys: if knows_key {
            keys::performed(&line, &bars, opts.key, opts.lookahead)
        } else {
            Vec::new()
        },
    })
}

/// The melody part's notes as played, when the file's were read so: the
/// part of the same index, or the lone part a chordal file was split from.
fn played_melody<'a>(opts: &'a Options, score: &Score, index: usize) -> Option<&'a [PlayedNote]> {
    let played = opts.played.as_ref()?;
    if played.len() == score.parts.len() {
        played.get(index).map(Vec::as_slice)
    } else if let [lone] = played.as_slice() {
        Some(lone)
    } else {
        None
    }
}

/// Input note events for notes as played, sorted as a host delivers them.
fn played_notes(notes: &[PlayedNote], timeline: &Timeline) -> Vec<HostNote> {
    let mut out = Vec::with_capacity(notes.len() * 2);
    for n in notes {
        let on = timeline.sample_at(n.start);
        out.push(HostNote {
            sample: on,
            on: true,
            pitch: n.pitch,
            velocity: n.velocity.clamp(1, 127),
        });
        out.push(HostNote {
            sample: timeline.sample_at(n.end).max(on + 1),
            on: false,
            pitch: n.pitch,
            velocity: 0,
        });
    }
    out.sort();
    out
}

/// The longest bar of the file's meters, in steps.
fn longest_bar(regions: &[MeterRegion], step_beats: f64) -> u32 {
    regions
        .iter()
        .map(|r| r.meter.bar_steps(step_beats) as u32)
        .max()
        .unwrap_or(16)
}

/// Plays `session` through a fresh sequencer as [`Session::play`] does (the
/// host's restarts for a new latency included), taking each block's
/// reported latency off its events (a host lines the
/// delayed output up with the input by that much). Returns the generated
/// voices' events and the key in use at the end.
pub fn play(
    session: &Session,
    model: &mut VoicesModel,
    settings: &Settings,
) -> Result<(Vec<VoiceEvent>, Option<bach_engine::Key>), OfflineError> {
    let mut sequencer = Sequencer::new();
    let mut out = EventBuffer::with_capacity(MAX_OUTPUT);
    let mut input = Vec::with_capacity(256);
    let mut all = Vec::new();
    session.prepare(&mut sequencer, model, settings);
    for b in session.blocks(BLOCK_FRAMES) {
        b.input(&mut input);
        process_as_host(
            &mut sequencer,
            model,
            settings,
            &b.block(),
            &input,
            &mut out,
        );
        if out.dropped() > 0 {
            return Err(bach_engine::sequencer::session::Overflow(out.dropped()).into());
        }
        let latency = sequencer.latency() as i64;
        all.extend(out.events().iter().map(|&event| Timed {
            sample: b.start + event.offset as i64 - latency,
            event: NoteEvent { offset: 0, ..event },
        }));
    }
    Ok((voice_events(&all), sequencer.key_in_use()))
}

/// Per-voice notes from [`harmonize_line`]'s tokens (`[t * voices + v]`),
/// each at the velocity of the melody note struck last at its start, as the
/// plugin plays with velocity from the input.
fn token_notes(tokens: &[Token], voices: usize, melody: &[Note]) -> Vec<Vec<Note>> {
    let steps = tokens.len() / voices.max(1);
    let velocity = |t: u32| {
        let i = melody.partition_point(|n| n.start <= t);
        i.checked_sub(1)
            .map_or(100, |i| melody[i].velocity.clamp(1, 127))
    };
    let mut notes = vec![Vec::new(); voices];
    for (v, voice) in notes.iter_mut().enumerate() {
        let mut open: Option<Note> = None;
        for t in 0..steps {
            match tokens[t * voices + v] {
                Token::Onset(pitch) => {
                    voice.extend(open.take());
                    open = Some(Note {
                        start: t as u32,
                        len: 1,
                        pitch,
                        velocity: velocity(t as u32),
                    });
                }
                Token::Hold => {
                    if let Some(n) = open.as_mut() {
                        n.len += 1;
                    }
                }
                Token::Rest => voice.extend(open.take()),
            }
        }
        voice.extend(open);
    }
    notes
}

/// Notes as the note events a host would hear (on at the start, off at the end).
fn note_events(notes: &[Vec<Note>], timeline: &Timeline) -> Vec<VoiceEvent> {
    let mut events = Vec::new();
    for (v, voice) in notes.iter().enumerate().skip(1) {
        for n in voice {
            for (step, on) in [(n.start, true), (n.end(), false)] {
                events.push(VoiceEvent {
                    sample: timeline.sample_of_step(step),
                    on,
                    voice: v as u8,
                    pitch: n.pitch,
                    velocity: if on { n.velocity } else { 0 },
                });
            }
        }
    }
    events.sort();
    events
}
