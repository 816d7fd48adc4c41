//! A part: one voice or instrument's notes on the grid, and its two views
//! for the models (a voice of tokens) and for files (monophonic voices split
//! from a polyphonic part).

use crate::token::Token;

/// One note on the grid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Note {
    /// First step the note sounds on.
    pub start: u32,
    /// Number of steps it sounds, at least 1.
    pub len: u32,
    /// MIDI pitch, 0..=127.
    pub pitch: u8,
    /// MIDI velocity, 1..=127.
    pub velocity: u8,
}

impl Note {
    /// The step after the last one the note sounds on.
    pub fn end(&self) -> u32 {
        self.start.saturating_add(self.len)
    }
}

/// One voice or instrument: a named list of notes, written on its own channel.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Part {
    pub name: String,
    /// MIDI channel (0..=15) the part is written on.
    pub channel: u8,
    /// Sorted by start, then pitch (see [`Part::normalize`]).
    pub notes: Vec<Note>,
}

/// Channels handed out to parts in order: all but 9, which General MIDI keeps for drums.
pub fn channel_for(index: usize) -> u8 {
    const CHANNELS: [u8; 15] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15];
    CHANNELS[index % CHANNELS.len()]
}

impl Part {
    pub fn new(name: impl Into<String>, channel: u8, notes: Vec<Note>) -> Self {
        let mut part = Self {
            name: name.into(),
            channel,
            notes,
        };
        part.normalize();
        part
    }

    /// The step after the last note ends (0 when there are none).
    pub fn end(&self) -> u32 {
        self.notes.iter().map(Note::end).max().unwrap_or(0)
    }

    /// Puts the notes in order (start, then pitch), makes every note at least one
    /// step long, keeps one note per pitch and start (the longer), and ends a
    /// note where the next note of the same pitch starts. After this, a MIDI
    /// note-on/note-off pair per note is unambiguous, so writing and reading
    /// back gives the same notes.
    pub fn normalize(&mut self) {
        for n in &mut self.notes {
            n.len = n.len.max(1);
        }
        // Same pitch together, by start, longest first, so duplicates are adjacent.
        self.notes
            .sort_unstable_by_key(|n| (n.pitch, n.start, std::cmp::Reverse(n.len)));
        self.notes
            .dedup_by(|later, kept| later.pitch == kept.pitch && later.start == kept.start);
        for i in 1..self.notes.len() {
            let (before, after) = self.notes.split_at_mut(i);
            let (prev, next) = (&mut before[i - 1], &after[0]);
            if prev.pitch == next.pitch && prev.end() > next.start {
                prev.len = next.start - prev.start;
            }
        }
        self.notes.sort_unstable_by_key(|n| (n.start, n.pitch));
    }

    /// True when two notes ever sound together.
    pub fn is_polyphonic(&self) -> bool {
        // Notes are sorted by start, so it is enough to track the latest end so far.
        let mut end = 0;
        for n in &self.notes {
            if n.start < end {
                return true;
            }
            end = end.max(n.end());
        }
        false
    }

    /// The part as one voice of `len` tokens: an onset where a note starts, holds
    /// while it sounds, rests elsewhere. A voice has one note at a time, so a
    /// later onset cuts an earlier note, and of notes starting together only the
    /// highest is kept. Notes past `len` are cut off.
    pub fn to_tokens(&self, len: u32) -> Vec<Token> {
        let mut tokens = vec![Token::Rest; len as usize];
        let notes = &self.notes;
        let mut i = 0;
        while i < notes.len() {
            // The group of notes starting on this step; sorted by pitch, so the last is highest.
            let start = notes[i].start;
            let mut j = i;
            while j + 1 < notes.len() && notes[j + 1].start == start {
                j += 1;
            }
            let note = notes[j];
            let next_start = notes.get(j + 1).map_or(u32::MAX, |n| n.start);
            let end = note.end().min(next_start).min(len);
            if start < len {
                tokens[start as usize] = Token::Onset(note.pitch);
                // Iterator bounds rather than slicing: notes are public and may be unnormalised.
                let holds = tokens
                    .iter_mut()
                    .take(end as usize)
                    .skip(start as usize + 1);
                for t in holds {
                    *t = Token::Hold;
                }
            }
            i = j + 1;
        }
        tokens
    }

    /// A part from one voice of tokens; a hold after a rest is silence, as in
    /// [`crate::token::sounding`].
    pub fn from_tokens(
        name: impl Into<String>,
        channel: u8,
        tokens: &[Token],
        velocity: u8,
    ) -> Self {
        let mut notes: Vec<Note> = Vec::new();
        let mut open: Option<Note> = None;
        for (step, &token) in tokens.iter().enumerate() {
            let step = step as u32;
            match token {
                Token::Hold => {
                    if let Some(n) = &mut open {
                        n.len += 1;
                    }
                }
                Token::Rest => notes.extend(open.take()),
                Token::Onset(pitch) => {
                    notes.extend(open.take());
                    open = Some(Note {
                        start: step,
                        len: 1,
                        pitch: pitch.min(127),
                        velocity,
                    });
                }
            }
        }
        notes.extend(open);
        Self::new(name, channel, notes)
    }

    /// Splits a polyphonic part into monophonic voices by pitch order per step,
    /// highest first: on every step, voice `k` takes the `k`-th highest sounding
    /// pitch. A note that keeps its rank goes on as one note; a note whose rank
    /// changes (a voice enters above it, or one above ends) is restarted in its
    /// new voice, as in the chorale datasets. Voices are named "`name` 1",
    /// "`name` 2"..., on channels from [`channel_for`].
    pub fn split_by_pitch(&self) -> Vec<Part> {
        self.split_by_pitch_capped(usize::MAX).unwrap_or_default()
    }

    /// [`Part::split_by_pitch`], or `None` as soon as the voices would hold more
    /// than `max_notes` notes (a hostile file can make every step restart every voice).
    pub(crate) fn split_by_pitch_capped(&self, max_notes: usize) -> Option<Vec<Part>> {
        // Steps where the set of sounding notes changes.
        let mut bounds: Vec<u32> = self.notes.iter().flat_map(|n| [n.start, n.end()]).collect();
        bounds.sort_unstable();
        bounds.dedup();

        // Per voice: the notes made so far and the one still open.
        let mut voices: Vec<(Vec<Note>, Option<Note>)> = Vec::new();
        let mut active: Vec<Note> = Vec::new();
        let mut next = 0; // next note (by start) not yet active
        let mut made = 0usize;
        for (k, &step) in bounds.iter().enumerate() {
            let Some(&seg_end) = bounds.get(k + 1) else {
                break;
            };
            active.retain(|n| n.end() > step);
            while next < self.notes.len() && self.notes[next].start == step {
                active.push(self.notes[next]);
                next += 1;
            }
            // Highest first; of equal pitches (normalize leaves none overlapping) the latest start.
            active.sort_unstable_by_key(|n| std::cmp::Reverse((n.pitch, n.start)));
            if voices.len() < active.len() {
                voices.resize_with(active.len(), Default::default);
            }
            for (v, (done, open)) in voices.iter_mut().enumerate() {
                match active.get(v) {
                    Some(n) => match open {
                        Some(o) if o.pitch == n.pitch && n.start != step => {
                            o.len = seg_end - o.start;
                        }
                        _ => {
                            done.extend(open.take());
                            made += 1;
                            if made > max_notes {
                                return None;
                            }
                            *open = Some(Note {
                                start: step,
                                len: seg_end - step,
                                pitch: n.pitch,
                                velocity: n.velocity,
                            });
                        }
                    },
                    None => done.extend(open.take()),
                }
            }
        }
        Some(
            voices
                .into_iter()
                .enumerate()
                .map(|(v, (mut notes, open))| {
                    notes.extend(open);
                    Part::new(format!("{} {}", self.name, v + 1), channel_for(v), notes)
                })
                .collect(),
        )
    }
}
