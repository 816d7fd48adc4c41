//! Keys (tonic and mode) and estimating one from a melody.
//!
//! The harmonizer works in a key-normalised frame: the melody is moved so
//! that its key's tonic is C ([`Key::shift`]), harmonized by a model that
//! knows only the mode, and moved back. In the plugin's Auto mode the key
//! comes from [`KeyEstimator`], which hears the melody as it is played; the
//! command line and the harmony report use [`estimate_key`] on a whole
//! melody.
//!
//! Both correlate a duration-weighted pitch-class histogram with the
//! Aarden–Essen key profiles (the method music21 uses by default, which is
//! how the chorale data's keys were analysed from all four voices), plus
//! small bonuses for the notes that chorale melodies place on the tonic
//! triad: the first note, and the notes that end phrases (in a whole melody,
//! its last note). On the 300 train and valid chorale sopranos, the profile
//! alone names the data's key for 75–80% of the pieces; with the bonuses for
//! 92%. `engine/tests/key.rs` measures both estimators on the test pieces.

pub mod opening;

pub use opening::Opening;

/// Major or minor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mode {
    Major,
    Minor,
}

/// A key: its tonic's pitch class (0..12, C = 0) and its mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Key {
    pub tonic: u8,
    pub mode: Mode,
}

const MAJOR_NAMES: [&str; 12] = [
    "C major",
    "D♭ major",
    "D major",
    "E♭ major",
    "E major",
    "F major",
    "F♯ major",
    "G major",
    "A♭ major",
    "A major",
    "B♭ major",
    "B major",
];
const MINOR_NAMES: [&str; 12] = [
    "C minor",
    "C♯ minor",
    "D minor",
    "E♭ minor",
    "E minor",
    "F minor",
    "F♯ minor",
    "G minor",
    "G♯ minor",
    "A minor",
    "B♭ minor",
    "B minor",
];

/// Scale degrees (semitones above the tonic) of [`Key::in_scale`].
const MAJOR_SCALE: u16 = bits(&[0, 2, 4, 5, 7, 9, 11]);
const MINOR_SCALE: u16 = bits(&[0, 2, 3, 5, 7, 8, 9, 10, 11]);

const fn bits(degrees: &[u8]) -> u16 {
    let mut set = 0;
    let mut i = 0;
    while i < degrees.len() {
        set |= 1 << degrees[i];
        i += 1;
    }
    set
}

impl Key {
    /// All 24 keys, ordered by tonic from C up, major before minor:
    /// C major, C minor, C♯/D♭ major, C♯ minor, …, B major, B minor. So
    /// `index = 2 * tonic + (1 if minor)`.
    pub const ALL: [Key; 24] = {
        let mut all = [Key {
            tonic: 0,
            mode: Mode::Major,
        }; 24];
        let mut i = 0;
        while i < 24 {
            all[i] = Key {
                tonic: (i / 2) as u8,
                mode: if i % 2 == 0 { Mode::Major } else { Mode::Minor },
            };
            i += 1;
        }
        all
    };

    /// The key's position in [`Key::ALL`]. A tonic above 11 is read modulo 12.
    pub fn index(self) -> usize {
        2 * (self.tonic % 12) as usize + (self.mode == Mode::Minor) as usize
    }

    /// The key at `i` in [`Key::ALL`], or `None` past its end.
    pub fn from_index(i: usize) -> Option<Key> {
        Key::ALL.get(i).copied()
    }

    /// The conventional name, such as "C major", "F♯ minor" or "B♭ major":
    /// flats for the flat-side keys, sharps otherwise, F♯ major and E♭ minor
    /// for the six-accidental keys.
    pub fn name(self) -> &'static str {
        let names = match self.mode {
            Mode::Major => &MAJOR_NAMES,
            Mode::Minor => &MINOR_NAMES,
        };
        names[(self.tonic % 12) as usize]
    }

    /// Reads a key as a musician writes it: a letter A–G, optional
    /// accidentals (`#`, `♯`, `b`, `♭`, at most two), then optionally a mode:
    /// `major`, `maj`, `minor` or `min` in any case, or `M` or `m` (after a
    /// space, `-`, `_` or nothing).
    /// With no mode, an upper-case letter means major and a lower-case one
    /// minor, as in music21 and Humdrum ("D" is D major, "d" and "bb" are
    /// D minor and B♭ minor). So "F#m", "F# minor", "f♯ minor", "Bb",
    /// "B♭ major" and every [`Key::name`] parse.
    pub fn parse(s: &str) -> Option<Key> {
        let s = s.trim();
        let mut chars = s.chars();
        let letter = chars.next()?;
        let natural: i32 = match letter.to_ascii_uppercase() {
            'C' => 0,
            'D' => 2,
            'E' => 4,
            'F' => 5,
            'G' => 7,
            'A' => 9,
            'B' => 11,
            _ => return None,
        };
        let mut rest = chars.as_str();
        let mut alter: i32 = 0;
        let mut accidentals = 0;
        loop {
            // "b" is a flat only when it is not the start of the mode word;
            // no mode word starts with b, so any b here is a flat.
            let mut it = rest.chars();
            match it.next() {
                Some('#' | '♯') => alter += 1,
                Some('b' | '♭') => alter -= 1,
                _ => break,
            }
            rest = it.as_str();
            accidentals += 1;
        }
        if accidentals > 2 {
            return None;
        }
        let rest = rest.trim_start_matches([' ', '-', '_']).trim();
        let mode = if rest.is_empty() {
            if letter.is_ascii_uppercase() {
                Mode::Major
            } else {
                Mode::Minor
            }
        } else if rest == "m"
            || ["min", "minor"]
                .iter()
                .any(|w| rest.eq_ignore_ascii_case(w))
        {
            Mode::Minor
        } else if rest == "M"
            || ["maj", "major"]
                .iter()
                .any(|w| rest.eq_ignore_ascii_case(w))
        {
            Mode::Major
        } else {
            return None;
        };
        Some(Key {
            tonic: (natural + alter).rem_euclid(12) as u8,
            mode,
        })
    }

    /// Whether a pitch class (or a MIDI pitch: it is read modulo 12) belongs
    /// to the key: for major the 7 diatonic pitch classes; for minor the
    /// natural minor scale plus the raised 6th and 7th (9 pitch classes).
    pub fn in_scale(self, pitch_class: u8) -> bool {
        let degree = (pitch_class % 12 + 12 - self.tonic % 12) % 12;
        let scale = match self.mode {
            Mode::Major => MAJOR_SCALE,
            Mode::Minor => MINOR_SCALE,
        };
        scale & (1 << degree) != 0
    }

    /// The semitones to add to move this key's tonic to C by the smaller
    /// motion, in -5..=6: G (7) gives +5, F (5) gives -5, and the tritone
    /// F♯ (6), where both motions are equal, gives +6. It depends on the
    /// tonic alone, so a key and its parallel key share a frame.
    pub fn shift(self) -> i32 {
        let up = (12 - (self.tonic % 12) as i32) % 12;
        if up > 6 {
            up - 12
        } else {
            up
        }
    }
}

/// Aarden–Essen key profiles (C major, C minor): how often each pitch class
/// sounds in folk melodies of each mode, relative to the tonic.
const PROFILES: [[f32; 12]; 2] = [
    [
        17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587, 0.291248, 22.062, 0.145624,
        8.15494, 0.232998, 4.95122,
    ],
    [
        18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362, 0.702494, 18.6161, 4.56621,
        1.93186, 7.37619, 1.75623,
    ],
];

/// Bonus, in units of correlation, for a key whose tonic, fifth or third
/// ends phrases (shares of the weighted phrase-final notes), and for a first
/// note on the tonic or the fifth. Tuned on the train sopranos.
const CADENCE_TONIC: f32 = 0.2;
const CADENCE_FIFTH: f32 = 0.1;
const CADENCE_THIRD: f32 = 0.05;
const FIRST_NOTE: f32 = 0.1;

/// Everything the score of a key looks at.
#[derive(Clone, Copy)]
struct Evidence {
    /// Duration-weighted pitch classes.
    histogram: [f32; 12],
    /// Weighted pitch classes of phrase-final notes.
    cadences: [f32; 12],
    first: Option<u8>,
    /// How much the first note still counts (0..=1): it fades with the
    /// histogram, so a piece that has long moved to another key is not held
    /// back by its opening.
    first_weight: f32,
}

impl Evidence {
    const EMPTY: Evidence = Evidence {
        histogram: [0.0; 12],
        cadences: [0.0; 12],
        first: None,
        first_weight: 1.0,
    };

    /// Each key's score, in [`Key::ALL`] order, or `None` while the
    /// histogram is flat (nothing, or every pitch class equally, heard).
    fn scores(&self, profiles: &[[f32; 12]; 2]) -> Option<[f32; 24]> {
        let mean = self.histogram.iter().sum::<f32>() / 12.0;
        let norm = self
            .histogram
            .iter()
            .map(|h| (h - mean) * (h - mean))
            .sum::<f32>()
            .sqrt();
        // NaN too: a histogram overflowed by absurd durations names no key.
        if norm.is_nan() || norm <= 1e-6 {
            return None;
        }
        let cadence_total: f32 = self.cadences.iter().sum();
        let mut scores = [0.0; 24];
        for (i, key) in Key::ALL.iter().enumerate() {
            let tonic = key.tonic as usize;
            let profile = &profiles[(key.mode == Mode::Minor) as usize];
            let mut r = 0.0;
            for (degree, p) in profile.iter().enumerate() {
                r += self.histogram[(tonic + degree) % 12] * p;
            }
            r /= norm;
            if cadence_total > 0.0 {
                let third = if key.mode == Mode::Major { 4 } else { 3 };
                r += (CADENCE_TONIC * self.cadences[tonic]
                    + CADENCE_FIFTH * self.cadences[(tonic + 7) % 12]
                    + CADENCE_THIRD * self.cadences[(tonic + third) % 12])
                    / cadence_total;
            }
            if let Some(first) = self.first {
                let degree = (first as usize + 12 - tonic) % 12;
                if degree == 0 || degree == 7 {
                    r += FIRST_NOTE * self.first_weight;
                }
            }
            scores[i] = r;
        }
        Some(scores)
    }
}

/// The profiles centred and scaled to unit length, so that a dot product
/// with a histogram divided by the histogram's centred length is Pearson's
/// correlation.
fn normalised_profiles() -> [[f32; 12]; 2] {
    let mut out = PROFILES;
    for profile in &mut out {
        let mean = profile.iter().sum::<f32>() / 12.0;
        let norm = profile
            .iter()
            .map(|p| (p - mean) * (p - mean))
            .sum::<f32>()
            .sqrt();
        for p in profile.iter_mut() {
            *p = (*p - mean) / norm;
        }
    }
    out
}

fn best(scores: &[f32; 24]) -> Key {
    let mut best = 0;
    for i in 1..24 {
        if scores[i] > scores[best] {
            best = i;
        }
    }
    Key::ALL[best]
}

/// A duration as both estimators count it: `None` when it is not a positive
/// finite number (bad input is skipped, never a panic).
fn weight(steps: f32) -> Option<f32> {
    (steps.is_finite() && steps > 0.0).then_some(steps)
}

/// Steps of melody (16ths) heard before the first estimate: half a 4/4 bar,
/// because the harmony starts at once. Measured on the train sopranos, a
/// first guess this early is right about as often as one a bar later, and
/// wrong ones are corrected at the first phrase end.
const FIRST_ESTIMATE_STEPS: f32 = 8.0;
/// Per-step factor of the histogram's decay: a half-life of 256 steps (16
/// bars of 4/4), so a long modulation is followed while the piece's key still
/// outweighs a passing excursion.
const DECAY_HALF_LIFE: f32 = 256.0;
/// Each phrase end multiplies the earlier phrase-final notes by this, so
/// recent cadences count most.
const CADENCE_MEMORY: f32 = 0.5;
/// At a phrase end, a new key must beat the held one by this much.
const PHRASE_END_MARGIN: f32 = 0.2;
/// Or it must be best at this many phrase ends running, by any margin: a
/// clear margin is rare between close keys (a key and its relative), and
/// without this the estimator could stay in one when the melody has moved to
/// the other.
const PHRASE_ENDS_LED: u32 = 2;
/// Within a phrase, a new key must beat the held one by this much for
/// `SUSTAINED_STEPS` steps running: a melody with no rests still gets
/// corrected, a single chromatic note does not flip the key.
const SUSTAINED_MARGIN: f32 = 0.2;
const SUSTAINED_STEPS: f32 = 8.0;

/// Estimates the key of a melody as it is heard, without allocating: fixed
/// arrays only, so it may run on the audio thread.
///
/// The first estimate comes once 8 16th steps of melody have been heard
/// (half a bar of 4/4). After that the key changes only at a phrase end
/// ([`KeyEstimator::phrase_end`]) when another key scores better by a
/// margin or is the best at two phrase ends running, or within a phrase when
/// one scores better by a margin for 8 steps running. On the 225 train
/// chorale sopranos that is about one change per piece.
#[derive(Clone, Debug)]
pub struct KeyEstimator {
    profiles: [[f32; 12]; 2],
    histogram: [f32; 12],
    cadences: [f32; 12],
    first: Option<u8>,
    first_weight: f32,
    last: Option<u8>,
    heard: f32,
    key: Option<Key>,
    challenger: Option<Key>,
    challenger_steps: f32,
    /// The key that was best at the last phrase ends while another was held,
    /// and at how many of them running.
    phrase_leader: Option<Key>,
    phrase_leads: u32,
}

impl Default for KeyEstimator {
    fn default() -> Self {
        Self::new()
    }
}

impl KeyEstimator {
    pub fn new() -> Self {
        KeyEstimator {
            profiles: normalised_profiles(),
            histogram: [0.0; 12],
            cadences: [0.0; 12],
            first: None,
            first_weight: 1.0,
            last: None,
            heard: 0.0,
            key: None,
            challenger: None,
            challenger_steps: 0.0,
            phrase_leader: None,
            phrase_leads: 0,
        }
    }

    /// Forgets everything heard: a new piece.
    pub fn reset(&mut self) {
        self.histogram = [0.0; 12];
        self.cadences = [0.0; 12];
        self.first = None;
        self.first_weight = 1.0;
        self.last = None;
        self.heard = 0.0;
        self.key = None;
        self.challenger = None;
        self.challenger_steps = 0.0;
        self.phrase_leader = None;
        self.phrase_leads = 0;
    }

    fn evidence(&self) -> Evidence {
        Evidence {
            histogram: self.histogram,
            cadences: self.cadences,
            first: self.first,
            first_weight: self.first_weight,
        }
    }

    /// The melody sounded `pitch` (MIDI) for `steps` 16th steps: called once
    /// per grid step with 1.0 while a note sounds, or once per note with its
    /// duration. A duration that is not a positive finite number is ignored.
    pub fn hear(&mut self, pitch: u8, steps: f32) {
        let Some(steps) = weight(steps) else { return };
        let pc = pitch % 12;
        let decay = 0.5f32.powf(steps / DECAY_HALF_LIFE);
        for h in &mut self.histogram {
            *h *= decay;
        }
        if self.first.is_some() {
            self.first_weight *= decay;
        }
        self.histogram[pc as usize] += steps;
        self.first.get_or_insert(pc);
        self.last = Some(pc);
        self.heard += steps;
        let Some(scores) = self.evidence().scores(&self.profiles) else {
            return;
        };
        let best = best(&scores);
        match self.key {
            None => {
                if self.heard >= FIRST_ESTIMATE_STEPS {
                    self.key = Some(best);
                }
            }
            Some(held) => {
                if best != held && scores[best.index()] - scores[held.index()] > SUSTAINED_MARGIN {
                    if self.challenger == Some(best) {
                        self.challenger_steps += steps;
                    } else {
                        self.challenger = Some(best);
                        self.challenger_steps = steps;
                    }
                    if self.challenger_steps >= SUSTAINED_STEPS {
                        self.key = Some(best);
                        self.challenger = None;
                        self.challenger_steps = 0.0;
                    }
                } else {
                    self.challenger = None;
                    self.challenger_steps = 0.0;
                }
            }
        }
    }

    /// A rest or phrase boundary after the last note heard, which counts as
    /// phrase-final. The key may change here; the first estimate may come
    /// here too, if a phrase was shorter than the usual wait.
    pub fn phrase_end(&mut self) {
        let Some(last) = self.last else { return };
        for c in &mut self.cadences {
            *c *= CADENCE_MEMORY;
        }
        self.cadences[last as usize] += 1.0;
        self.challenger = None;
        self.challenger_steps = 0.0;
        let Some(scores) = self.evidence().scores(&self.profiles) else {
            return;
        };
        let best = best(&scores);
        match self.key {
            None => self.key = Some(best),
            Some(held) if best == held => self.phrase_leader = None,
            Some(held) => {
                if self.phrase_leader == Some(best) {
                    self.phrase_leads += 1;
                } else {
                    self.phrase_leader = Some(best);
                    self.phrase_leads = 1;
                }
                if scores[best.index()] - scores[held.index()] > PHRASE_END_MARGIN
                    || self.phrase_leads >= PHRASE_ENDS_LED
                {
                    self.key = Some(best);
                    self.phrase_leader = None;
                }
            }
        }
    }

    /// Takes `key` as the key in use, as if it had been estimated (the
    /// opening's key, handed over when the opening is over): it changes
    /// from here by the usual margins.
    pub fn hold(&mut self, key: Key) {
        self.key = Some(key);
        self.challenger = None;
        self.challenger_steps = 0.0;
        self.phrase_leader = None;
        self.phrase_leads = 0;
    }

    /// The key in use: `None` until 8 steps of melody (or a phrase end) were
    /// heard, then stable within a phrase unless another key wins clearly
    /// for 8 steps running.
    pub fn key(&self) -> Option<Key> {
        self.key
    }
}

/// The key of a whole melody from its notes as (MIDI pitch, duration in 16th
/// steps), for offline use (the command line and the harmony report). Its
/// last note counts as the final cadence. `None` for an empty melody, or one
/// that sounds all 12 pitch classes equally long.
pub fn estimate_key(notes: impl IntoIterator<Item = (u8, f32)>) -> Option<Key> {
    let mut evidence = Evidence::EMPTY;
    let mut last = None;
    for (pitch, steps) in notes {
        let Some(steps) = weight(steps) else { continue };
        let pc = pitch % 12;
        evidence.histogram[pc as usize] += steps;
        evidence.first.get_or_insert(pc);
        last = Some(pc);
    }
    evidence.cadences[last? as usize] = 1.0;
    evidence.scores(&normalised_profiles()).map(|s| best(&s))
}

/// Steps each side of a step whose melody names its local key in
/// [`key_track`]: two bars of 4/4, about a chorale phrase each way.
pub const TRACK_WINDOW: usize = 32;
/// How much, in units of correlation, the home key is preferred locally: a
/// passage must sound clearly in another key to be heard in it. Chosen on
/// the valid sopranos (0.1 and 0.15 tried, windows of 24, 32 and 48 steps):
/// the harmony's notes outside the piece's key came closest to Bach's with
/// consonance unchanged.
pub const TRACK_HOME_BONUS: f32 = 0.1;
/// The same for the relative key (the same notes, another tonic), which a
/// melody alone tells apart only by what it dwells on: a plain tune must not
/// flip between them (0.2 to 0.3 leave the valid figures as they are).
pub const TRACK_RELATIVE_BONUS: f32 = 0.3;
/// The shortest stretch, in steps, heard in a key of its own: two bars of
/// 4/4, about a chorale phrase.
pub const TRACK_MIN_STEPS: usize = 32;

/// The key at each step of a melody known in advance (`melody[t]`: the pitch
/// sounding at step `t`, `None` in a rest): the whole melody's key
/// (`home`, from [`estimate_key`]), except where the melody around a step (its
/// [`TRACK_WINDOW`] steps each side) is clearly in a closely related key
/// (one sharp or flat apart, or the relative), as Bach's chorales modulate
/// to the dominant, the subdominant and the relatives at phrase ends.
/// The relative key needs clearer evidence ([`TRACK_RELATIVE_BONUS`]), and
/// stretches shorter than [`TRACK_MIN_STEPS`] keep the key before them, so
/// the key does not flicker. `home` is the whole melody's key.
pub fn key_track(melody: &[Option<u8>], home: Key) -> Vec<Key> {
    let window = TRACK_WINDOW;
    let profiles = normalised_profiles();
    // Prefix sums of the pitch classes sounding, so each window is 12 subtractions.
    let mut prefix = vec![[0.0f32; 12]; melody.len() + 1];
    for (t, p) in melody.iter().enumerate() {
        prefix[t + 1] = prefix[t];
        if let Some(p) = p {
            prefix[t + 1][(p % 12) as usize] += 1.0;
        }
    }
    let mut keys: Vec<Key> = (0..melody.len())
        .map(|t| {
            let (lo, hi) = (t.saturating_sub(window), (t + window + 1).min(melody.len()));
            let mut evidence = Evidence::EMPTY;
            for (pc, h) in evidence.histogram.iter_mut().enumerate() {
                *h = prefix[hi][pc] - prefix[lo][pc];
            }
            let Some(scores) = evidence.scores(&profiles) else {
                return home;
            };
            // Each related key's score less what the home key is preferred by.
            let mut best = home;
            let mut best_score = scores[home.index()];
            for key in Key::ALL {
                if key == home || !related(home, key) {
                    continue;
                }
                let preferred = if same_signature(home, key) {
                    TRACK_RELATIVE_BONUS
                } else {
                    TRACK_HOME_BONUS
                };
                if scores[key.index()] - preferred > best_score {
                    best = key;
                    best_score = scores[key.index()] - preferred;
                }
            }
            best
        })
        .collect();
    // Short stretches keep the key before them (the first, the one after).
    let mut start = 0;
    while start < keys.len() {
        let mut end = start;
        while end < keys.len() && keys[end] == keys[start] {
            end += 1;
        }
        if end - start < TRACK_MIN_STEPS && keys[start] != home {
            let fill = if start > 0 {
                keys[start - 1]
            } else {
                keys.get(end).copied().unwrap_or(home)
            };
            keys[start..end].fill(fill);
        }
        start = end;
    }
    keys
}

/// A key's signature as fifths from C (mod 12): the place on the circle of
/// fifths of the major key with the same notes.
fn signature(k: Key) -> i32 {
    let major = match k.mode {
        Mode::Major => k.tonic,
        Mode::Minor => (k.tonic + 3) % 12,
    };
    (major as i32 * 7).rem_euclid(12)
}

/// Whether two keys have the same notes (a key and its relative).
fn same_signature(a: Key, b: Key) -> bool {
    signature(a) == signature(b)
}

/// Whether `other` is closely related to `home`: their key signatures are at
/// most one sharp or flat apart (the dominant, the subdominant, the
/// relatives of all three).
fn related(home: Key, other: Key) -> bool {
    let d = (signature(home) - signature(other)).rem_euclid(12);
    d <= 1 || d == 11
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(tonic: u8, mode: Mode) -> Key {
        Key { tonic, mode }
    }

    #[test]
    fn all_keys_round_trip_through_index_name_and_parse() {
        for (i, k) in Key::ALL.iter().enumerate() {
            assert_eq!(k.index(), i);
            assert_eq!(Key::from_index(i), Some(*k));
            assert_eq!(Key::parse(k.name()), Some(*k), "{}", k.name());
        }
        assert_eq!(Key::from_index(24), None);
        let mut names: Vec<_> = Key::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 24);
    }

    #[test]
    fn names_are_spelled_conventionally() {
        assert_eq!(key(0, Mode::Major).name(), "C major");
        assert_eq!(key(10, Mode::Major).name(), "B♭ major");
        assert_eq!(key(1, Mode::Major).name(), "D♭ major");
        assert_eq!(key(6, Mode::Major).name(), "F♯ major");
        assert_eq!(key(6, Mode::Minor).name(), "F♯ minor");
        assert_eq!(key(3, Mode::Minor).name(), "E♭ minor");
        assert_eq!(key(10, Mode::Minor).name(), "B♭ minor");
        assert_eq!(key(8, Mode::Minor).name(), "G♯ minor");
        assert_eq!(key(1, Mode::Minor).name(), "C♯ minor");
    }

    #[test]
    fn parses_what_musicians_type() {
        let cases = [
            ("D", key(2, Mode::Major)),
            ("d", key(2, Mode::Minor)),
            ("D major", key(2, Mode::Major)),
            ("d major", key(2, Mode::Major)),
            ("Dm", key(2, Mode::Minor)),
            ("F#m", key(6, Mode::Minor)),
            ("F# minor", key(6, Mode::Minor)),
            ("f♯ minor", key(6, Mode::Minor)),
            ("Bb", key(10, Mode::Major)),
            ("bb", key(10, Mode::Minor)),
            ("bb minor", key(10, Mode::Minor)),
            ("Bbm", key(10, Mode::Minor)),
            ("B♭ major", key(10, Mode::Major)),
            ("b", key(11, Mode::Minor)),
            ("Cb", key(11, Mode::Major)),
            ("E#", key(5, Mode::Major)),
            (" g Minor ", key(7, Mode::Minor)),
            ("A-maj", key(9, Mode::Major)),
            ("Eb min", key(3, Mode::Minor)),
        ];
        for (text, expected) in cases {
            assert_eq!(Key::parse(text), Some(expected), "{text:?}");
        }
        for bad in [
            "",
            "H",
            "X major",
            "C dorian",
            "C#b#b#",
            "C majorly",
            "Cbbb",
            "m",
        ] {
            assert_eq!(Key::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn shift_moves_the_tonic_to_c_by_the_smaller_motion() {
        for k in Key::ALL {
            let s = k.shift();
            assert!((-5..=6).contains(&s), "{}: {s}", k.name());
            assert_eq!((k.tonic as i32 + s).rem_euclid(12), 0, "{}", k.name());
            let other = key(
                k.tonic,
                if k.mode == Mode::Major {
                    Mode::Minor
                } else {
                    Mode::Major
                },
            );
            assert_eq!(other.shift(), s);
        }
        assert_eq!(key(7, Mode::Major).shift(), 5);
        assert_eq!(key(5, Mode::Major).shift(), -5);
        assert_eq!(key(6, Mode::Minor).shift(), 6);
        assert_eq!(key(11, Mode::Minor).shift(), 1);
        assert_eq!(key(2, Mode::Major).shift(), -2);
    }

    #[test]
    fn scales() {
        let c = key(0, Mode::Major);
        let a = key(9, Mode::Minor);
        let in_c: Vec<u8> = (0..12).filter(|&p| c.in_scale(p)).collect();
        assert_eq!(in_c, [0, 2, 4, 5, 7, 9, 11]);
        let in_a: Vec<u8> = (0..12).filter(|&p| a.in_scale(p)).collect();
        // A B C D E F F♯ G G♯.
        assert_eq!(in_a, [0, 2, 4, 5, 6, 7, 8, 9, 11]);
        // MIDI pitches read modulo 12.
        assert!(c.in_scale(60) && c.in_scale(71) && !c.in_scale(61));
        for k in Key::ALL {
            let n = (0..12).filter(|&p| k.in_scale(p)).count();
            assert_eq!(n, if k.mode == Mode::Major { 7 } else { 9 });
            assert!(k.in_scale(k.tonic) && k.in_scale((k.tonic + 7) % 12));
        }
    }

    /// Up and down the scale from the tonic, in quarter notes, ending on it.
    fn scale_tune(degrees: &[u8], tonic: u8) -> Vec<(u8, f32)> {
        let mut notes: Vec<(u8, f32)> = degrees.iter().map(|d| (60 + tonic + d, 4.0)).collect();
        notes.extend(degrees.iter().rev().skip(1).map(|d| (60 + tonic + d, 4.0)));
        notes
    }

    const MAJOR: [u8; 8] = [0, 2, 4, 5, 7, 9, 11, 12];
    const HARMONIC_MINOR: [u8; 8] = [0, 2, 3, 5, 7, 8, 11, 12];

    #[test]
    fn a_scale_names_its_key_offline_and_as_heard() {
        for (degrees, tonic, expected) in [
            (&MAJOR, 0, key(0, Mode::Major)),
            (&HARMONIC_MINOR, 9, key(9, Mode::Minor)),
        ] {
            let tune = scale_tune(degrees, tonic);
            assert_eq!(estimate_key(tune.iter().copied()), Some(expected));
            let mut heard = KeyEstimator::new();
            for &(pitch, steps) in &tune {
                for _ in 0..steps as usize {
                    heard.hear(pitch, 1.0);
                }
            }
            heard.phrase_end();
            assert_eq!(heard.key(), Some(expected), "{}", expected.name());
            // The same notes given whole give the same key.
            let mut whole = KeyEstimator::new();
            for &(pitch, steps) in &tune {
                whole.hear(pitch, steps);
            }
            whole.phrase_end();
            assert_eq!(whole.key(), Some(expected));
        }
    }

    #[test]
    fn no_key_until_enough_is_heard_and_none_after_reset() {
        let mut e = KeyEstimator::new();
        assert_eq!(e.key(), None);
        e.hear(60, 4.0);
        e.hear(62, 3.0);
        assert_eq!(e.key(), None, "7 steps are not enough");
        e.hear(64, 1.0);
        assert!(e.key().is_some(), "8 steps are");
        e.reset();
        assert_eq!(e.key(), None);
        e.phrase_end();
        assert_eq!(
            e.key(),
            None,
            "a phrase end with nothing heard names no key"
        );
        assert_eq!(estimate_key([]), None);
        for bad in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            e.hear(60, bad);
        }
        assert_eq!(e.key(), None, "bad durations are ignored");
    }

    /// One 16-step phrase of quarter notes per call, step by step.
    fn phrase(e: &mut KeyEstimator, pitches: [u8; 4], trace: &mut Vec<Option<Key>>) {
        for p in pitches {
            for _ in 0..4 {
                e.hear(p, 1.0);
                trace.push(e.key());
            }
        }
        e.phrase_end();
        trace.push(e.key());
    }

    const C_PHRASES: [[u8; 4]; 4] = [
        [60, 64, 67, 65],
        [64, 62, 59, 60],
        [67, 69, 65, 64],
        [62, 65, 71, 72],
    ];
    // Cadencing on E♭ or (a half cadence) on B♭, through its leading tone D.
    const E_FLAT_PHRASES: [[u8; 4]; 4] = [
        [63, 65, 67, 63],
        [68, 67, 65, 70],
        [72, 70, 62, 63],
        [67, 65, 62, 63],
    ];

    #[test]
    fn a_long_modulation_is_followed_at_a_phrase_end() {
        let c = key(0, Mode::Major);
        let e_flat = key(3, Mode::Major);
        let mut e = KeyEstimator::new();
        let mut trace = Vec::new();
        for p in C_PHRASES {
            phrase(&mut e, p, &mut trace);
        }
        assert_eq!(e.key(), Some(c));
        let before = trace.len();
        for _ in 0..3 {
            for p in E_FLAT_PHRASES {
                phrase(&mut e, p, &mut trace);
            }
        }
        assert_eq!(e.key(), Some(e_flat), "twelve phrases in E♭ are followed");
        // Only at phrase ends (the entry after each phrase's 16 steps), and
        // at most by way of C minor: the E♭ phrases keep C's tonic and
        // fifth, and the parallel minor is the nearer key while C's notes
        // fade.
        let changes: Vec<_> = trace[before..]
            .windows(2)
            .enumerate()
            .filter(|(_, w)| w[0] != w[1])
            .map(|(at, w)| (at + 1, w[1]))
            .collect();
        assert!(changes.len() <= 2, "{changes:?}");
        for &(at, k) in &changes {
            assert_eq!(at % 17, 16, "changed inside a phrase, at step {at}");
            assert!(k == Some(e_flat) || k == Some(key(0, Mode::Minor)), "{k:?}");
        }
    }

    #[test]
    fn a_single_chromatic_note_does_not_flip_the_key() {
        let c = key(0, Mode::Major);
        let mut e = KeyEstimator::new();
        let mut trace = Vec::new();
        phrase(&mut e, C_PHRASES[0], &mut trace);
        phrase(&mut e, [64, 66, 67, 62], &mut trace); // F♯ as a passing note
        phrase(&mut e, C_PHRASES[1], &mut trace);
        phrase(&mut e, [61, 62, 63, 64], &mut trace); // a chromatic run
        phrase(&mut e, C_PHRASES[3], &mut trace);
        let first = trace.iter().position(Option::is_some).unwrap();
        assert!(first <= 8, "first estimate after {first} steps");
        assert!(trace[first..].iter().all(|k| *k == Some(c)), "{trace:?}");
    }

    /// A line of quarter notes (4 steps each).
    fn quarters(pitches: &[u8]) -> Vec<Option<u8>> {
        pitches.iter().flat_map(|&p| [Some(p); 4]).collect()
    }

    const C_PHRASE: [u8; 16] = [
        60, 64, 67, 65, 64, 62, 60, 62, 64, 65, 67, 69, 67, 65, 64, 60,
    ];
    /// G major with its F sharps, cadencing on G.
    const G_PHRASE: [u8; 16] = [
        67, 71, 74, 72, 71, 69, 66, 67, 69, 71, 72, 74, 66, 69, 66, 67,
    ];

    #[test]
    fn a_whole_melody_modulating_to_the_dominant_is_heard_there_and_back() {
        let mut melody = quarters(&C_PHRASE);
        melody.extend(quarters(&C_PHRASE));
        melody.extend(quarters(&G_PHRASE));
        melody.extend(quarters(&G_PHRASE));
        melody.extend(quarters(&C_PHRASE));
        melody.extend(quarters(&C_PHRASE));
        let c = key(0, Mode::Major);
        let g = key(7, Mode::Major);
        let track = key_track(&melody, c);
        assert_eq!(track.len(), melody.len());
        assert_eq!(track[0], c);
        assert_eq!(track[track.len() - 1], c);
        // The middle of the G major passage is heard in G.
        assert_eq!(track[128 + 64], g, "{track:?}");
        // The key changes at most twice: into G and back.
        let changes = track.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(changes, 2, "{track:?}");
    }

    #[test]
    fn a_passing_chromatic_note_or_a_short_excursion_keeps_the_home_key() {
        let mut pitches: Vec<u8> = C_PHRASE.repeat(3);
        pitches[20] = 66; // one F sharp
        let c = key(0, Mode::Major);
        let track = key_track(&quarters(&pitches), c);
        assert!(track.iter().all(|k| *k == c), "{track:?}");
        // A rest names no key: it keeps the home key.
        assert!(key_track(&[None; 40], c).iter().all(|k| *k == c));
        assert!(key_track(&[], c).is_empty());
    }

    #[test]
    fn a_plain_tune_does_not_flip_to_its_relative_minor() {
        // A D major waltz that dwells on B, A and C sharp in its middle:
        // the same notes as B minor, and still one key throughout.
        let waltz = [
            74, 76, 78, 79, 78, 76, 74, 73, 71, 69, 71, 73, 74, 78, 81, 79, 76, 73, 74, 74, 74, 74,
            74,
        ];
        let melody = quarters(&waltz);
        let d = key(2, Mode::Major);
        // The waltz's whole-melody key is D major, the home of its track.
        let notes = waltz.iter().map(|&p| (p, 4.0));
        assert_eq!(estimate_key(notes), Some(d));
        let track = key_track(&melody, d);
        assert!(track.iter().all(|k| *k == d), "{track:?}");
    }

    #[test]
    fn only_closely_related_keys_are_followed() {
        let c = key(0, Mode::Major);
        for (other, close) in [
            (key(7, Mode::Major), true),  // dominant
            (key(5, Mode::Major), true),  // subdominant
            (key(9, Mode::Minor), true),  // relative
            (key(4, Mode::Minor), true),  // relative of the dominant
            (key(2, Mode::Minor), true),  // relative of the subdominant
            (key(2, Mode::Major), false), // two sharps
            (key(0, Mode::Minor), false), // three flats
        ] {
            assert_eq!(related(c, other), close, "{}", other.name());
        }
    }
}
