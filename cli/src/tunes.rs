//! Short public-domain melodies built into `bach`, so `bach demo` (and
//! `bach harmonize` without `--input`) has something to harmonize on a fresh
//! machine with no files. Each is a note list in code: pitch names with
//! lengths in 16ths, `|` between bars (checked against the meter by a test).

use bach_engine::meter::Meter;
use bach_engine::score::{MeterChange, Note, Part, Score, TempoChange};

/// A built-in melody.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tune {
    /// What `--tune` takes.
    pub name: &'static str,
    pub title: &'static str,
    /// Where it comes from, for `bach demo --help` and the output line.
    pub about: &'static str,
    /// Time signature (numerator, denominator).
    pub meter: (u8, u8),
    /// 16ths before the first full bar (an upbeat), 0 for none.
    pub pickup: u32,
    pub bpm: f64,
    /// `PITCH/LENGTH` tokens (`C5/8` is C5 for 8 16ths, a half note; `F#4`,
    /// `Bb4`; `r/4` a quarter rest); `|` marks a bar line.
    pub notes: &'static str,
}

/// The melodies, the default first.
pub const TUNES: [Tune; 3] = [
    Tune {
        name: "ode-to-joy",
        title: "Ode to Joy",
        about: "Beethoven, Symphony No. 9 (1824); G major, 4/4",
        meter: (4, 4),
        pickup: 0,
        bpm: 100.0,
        notes: "B4/4 B4/4 C5/4 D5/4 | D5/4 C5/4 B4/4 A4/4 | G4/4 G4/4 A4/4 B4/4 | B4/6 A4/2 A4/8 | \
                B4/4 B4/4 C5/4 D5/4 | D5/4 C5/4 B4/4 A4/4 | G4/4 G4/4 A4/4 B4/4 | A4/6 G4/2 G4/8",
    },
    Tune {
        name: "greensleeves",
        title: "Greensleeves",
        about: "English, 16th century; A minor, 3/4",
        meter: (3, 4),
        pickup: 4,
        bpm: 120.0,
        notes: "A4/4 | C5/8 D5/4 | E5/6 F5/2 E5/4 | D5/8 B4/4 | G4/6 A4/2 B4/4 | C5/8 A4/4 | \
                A4/6 G#4/2 A4/4 | B4/8 G#4/4 | E4/8 A4/4 | C5/8 D5/4 | E5/6 F5/2 E5/4 | D5/8 B4/4 | \
                G4/6 A4/2 B4/4 | C5/6 B4/2 A4/4 | G#4/6 F#4/2 G#4/4 | A4/12",
    },
    Tune {
        name: "god-rest-ye",
        title: "God Rest Ye Merry, Gentlemen",
        about: "English carol, 18th century or older; A minor, 4/4",
        meter: (4, 4),
        pickup: 4,
        bpm: 110.0,
        notes: "A4/4 | A4/4 E5/4 E5/4 D5/4 | C5/4 B4/4 A4/4 G4/4 | A4/4 B4/4 C5/4 D5/4 | E5/12 A4/4 | \
                A4/4 E5/4 E5/4 D5/4 | C5/4 B4/4 A4/4 G4/4 | A4/4 B4/4 C5/4 D5/4 | E5/12",
    },
];

/// The default tune's name.
pub const DEFAULT_TUNE: &str = TUNES[0].name;

/// The tune called `name` (any case), or an error listing the names.
pub fn find(name: &str) -> Result<&'static Tune, String> {
    TUNES
        .iter()
        .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
        .ok_or_else(|| format!("no tune {name:?}; the built-in tunes are: {}", names()))
}

/// The tunes' names, comma-separated.
pub fn names() -> String {
    TUNES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}

impl Tune {
    /// The notes as (start, length, pitch or `None` for a rest) in 16ths,
    /// and the bars' lengths, as written.
    fn parse(&self) -> Result<(Vec<Note>, Vec<u32>), String> {
        let mut notes = Vec::new();
        let mut bars = Vec::new();
        let (mut step, mut bar_start) = (0u32, 0u32);
        for token in self.notes.split_whitespace() {
            if token == "|" {
                bars.push(step - bar_start);
                bar_start = step;
                continue;
            }
            let (pitch, len) = token
                .split_once('/')
                .ok_or_else(|| format!("{}: {token:?} has no /length", self.name))?;
            let len: u32 = len
                .parse()
                .map_err(|_| format!("{}: bad length in {token:?}", self.name))?;
            if pitch != "r" {
                notes.push(Note {
                    start: step,
                    len,
                    pitch: pitch_of(pitch)
                        .ok_or_else(|| format!("{}: bad pitch in {token:?}", self.name))?,
                    velocity: 90,
                });
            }
            step += len;
        }
        bars.push(step - bar_start);
        Ok((notes, bars))
    }

    /// 16ths in a full bar.
    pub fn bar_steps(&self) -> u32 {
        self.meter.0 as u32 * 16 / self.meter.1 as u32
    }

    /// The melody as a one-part score on the chorale model's 16th grid,
    /// with its meter (an upbeat as a short first bar, as MIDI files write
    /// it) and tempo.
    pub fn score(&self) -> Score {
        let (notes, _) = self.parse().expect("the built-in tunes parse (tested)");
        let mut score = Score::new(0.25);
        score.len = notes.iter().map(Note::end).max().unwrap_or(0);
        score.parts = vec![Part::new(self.title, 0, notes)];
        let (numerator, denominator) = self.meter;
        score.meters = if self.pickup > 0 {
            vec![
                MeterChange {
                    step: 0,
                    meter: Meter::new((self.pickup / 4) as u8, 4),
                },
                MeterChange {
                    step: self.pickup,
                    meter: Meter::new(numerator, denominator),
                },
            ]
        } else {
            vec![MeterChange {
                step: 0,
                meter: Meter::new(numerator, denominator),
            }]
        };
        score.tempos = vec![TempoChange {
            step: 0,
            bpm: self.bpm,
        }];
        score
    }
}

/// MIDI pitch of a name such as `C4` (60), `F#4`, `Bb3`.
fn pitch_of(name: &str) -> Option<u8> {
    let mut chars = name.chars();
    let base = bach_engine::key::natural_pitch_class(chars.next()?)? as i32;
    let rest: String = chars.collect();
    let (shift, octave) = match rest.strip_prefix('#') {
        Some(o) => (1, o),
        None => match rest.strip_prefix('b') {
            Some(o) => (-1, o),
            None => (0, rest.as_str()),
        },
    };
    let octave: i32 = octave.parse().ok()?;
    u8::try_from((octave + 1) * 12 + base + shift)
        .ok()
        .filter(|p| *p < 128)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pitch_names() {
        assert_eq!(pitch_of("C4"), Some(60));
        assert_eq!(pitch_of("A4"), Some(69));
        assert_eq!(pitch_of("F#4"), Some(66));
        assert_eq!(pitch_of("Bb3"), Some(58));
        assert_eq!(pitch_of("H4"), None);
        assert_eq!(pitch_of("C"), None);
    }

    #[test]
    fn every_bar_fills_its_meter() {
        for t in &TUNES {
            let (notes, bars) = t.parse().unwrap();
            assert!(notes.len() >= 16, "{}: {} notes", t.name, notes.len());
            let full = t.bar_steps();
            let (first, last) = (bars[0], *bars.last().unwrap());
            assert_eq!(
                first,
                if t.pickup > 0 { t.pickup } else { full },
                "{}",
                t.name
            );
            // The last bar is full, or completes the upbeat.
            assert!(last == full || last + t.pickup == full, "{}", t.name);
            for (i, b) in bars[1..bars.len() - 1].iter().enumerate() {
                assert_eq!(*b, full, "{} bar {}", t.name, i + 1);
            }
        }
    }

    #[test]
    fn a_major_a_minor_and_a_three_four_tune() {
        assert!(TUNES.iter().any(|t| t.meter == (3, 4)));
        assert!(TUNES.iter().any(|t| t.about.contains("major")));
        assert!(TUNES.iter().any(|t| t.about.contains("minor")));
        assert_eq!(find("Greensleeves").unwrap().name, "greensleeves");
        assert!(find("nope").unwrap_err().contains("ode-to-joy"));
        // The score's first meter region is the upbeat.
        let s = find("greensleeves").unwrap().score();
        assert_eq!(s.meters[0].meter.numerator, 1);
        assert_eq!(s.meters[1].step, 4);
        assert_eq!(s.parts[0].notes[0].pitch, 69);
    }
}
