//! A small RomanText reader for the chord tests: key designations,
//! measure lines (`m3 IV b2.5 viio6 b3 I`, alternatives `m3var1` and `Note:`
//! lines skipped, `||` ignored) and numerals read as the chords they sound.
//! RomanText is the notation of the When in Rome corpus (Gotham, Micchi,
//! Nápoles López, Sailor et al.; CC BY-SA 4.0), whose analyses the tests
//! read from outside the repository.

use bach_engine::chord::Quality;
use bach_engine::{Key, Mode};

/// A key as RomanText writes it: `G:`, `f#:`, `Bb:`, `e-:`.
pub fn rn_key(token: &str) -> Option<Key> {
    let name = token.strip_suffix(':')?;
    let first = name.chars().next()?;
    if !"ABCDEFGabcdefg".contains(first) {
        return None;
    }
    let mut tonic = bach_engine::key::natural_pitch_class(first.to_ascii_uppercase())? as i32;
    for c in name[1..].chars() {
        match c {
            '#' => tonic += 1,
            'b' | '-' => tonic -= 1,
            _ => return None,
        }
    }
    Some(Key {
        tonic: tonic.rem_euclid(12) as u8,
        mode: if first.is_ascii_uppercase() {
            Mode::Major
        } else {
            Mode::Minor
        },
    })
}

/// One analyst's chord: measure, beat (1-based, in the time signature's
/// beats), the key in force and the numeral as written.
pub struct Event {
    pub measure: usize,
    pub beat: f64,
    pub key: Key,
    pub numeral: String,
    /// The time signature the file gives for this measure.
    pub meter: (usize, usize),
}

pub fn read_romantext(text: &str) -> Vec<Event> {
    let mut events = Vec::new();
    let mut key: Option<Key> = None;
    let mut meter = (4, 4);
    for line in text.lines() {
        let line = line.trim();
        if let Some(ts) = line.strip_prefix("Time Signature:") {
            let ts = ts.trim().trim_end_matches('?');
            if let Some((n, d)) = ts.split_once('/') {
                if let (Ok(n), Ok(d)) = (n.trim().parse(), d.trim().parse()) {
                    meter = (n, d);
                }
            }
            continue;
        }
        let mut tokens = line.split_whitespace();
        let Some(head) = tokens.next() else { continue };
        // Measure lines only: `m12 ...`, not `m12var1` alternatives or notes.
        let Some(number) = head.strip_prefix('m') else {
            continue;
        };
        let Ok(measure) = number.parse::<usize>() else {
            continue;
        };
        let mut beat = 1.0;
        for token in tokens {
            if let Some(b) = token.strip_prefix('b') {
                if let Ok(b) = b.parse::<f64>() {
                    beat = b;
                    continue;
                }
            }
            if let Some(k) = rn_key(token) {
                key = Some(k);
                continue;
            }
            if token.contains("||") {
                continue;
            }
            let Some(k) = key else { continue };
            events.push(Event {
                measure,
                beat,
                key: k,
                numeral: token.to_string(),
                meter,
            });
        }
    }
    events
}

/// A numeral read in a key: what it sounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Heard {
    /// Root's pitch class.
    pub root: u8,
    /// The chord's pitch classes as a 12-bit set.
    pub tones: u16,
    /// The triad (a seventh chord's).
    pub triad: Quality,
    /// The bass's pitch class.
    pub bass: u8,
    /// The tonicized key's tonic for a secondary chord.
    pub target: Option<u8>,
}

fn roman_degree(s: &str) -> Option<(usize, &str)> {
    // Longest first, so "VII" is not read as "V".
    for (i, r) in ["VII", "III", "IV", "VI", "II", "V", "I"]
        .iter()
        .enumerate()
    {
        let upper = s.starts_with(r);
        let lower = s.starts_with(&r.to_lowercase());
        if upper || lower {
            let degree = [6, 2, 3, 5, 1, 4, 0][i];
            return Some((degree, &s[r.len()..]));
        }
    }
    None
}

/// Reads one RomanText numeral in `key`: `bVI`, `V65/V`, `vii/o7`, `N6`,
/// `Cad64`. `None` for what it does not know (augmented sixths, `?`).
pub fn hear(numeral: &str, key: Key) -> Option<Heard> {
    // Secondary chains: the part after the first '/' that starts a numeral.
    let (chord, target) = split_secondary(numeral);
    let (key, target_root) = match target {
        Some(t) => {
            let heard = hear(t, key)?;
            let mode = if heard.triad == Quality::Major {
                Mode::Major
            } else {
                Mode::Minor
            };
            (
                Key {
                    tonic: heard.root,
                    mode,
                },
                Some(heard.root),
            )
        }
        None => (key, None),
    };
    let mut s = chord.replace("Cad", "I");
    // Figures as in `[no5]` or `[b9]` change nothing we compare.
    if let Some(i) = s.find('[') {
        s.truncate(i);
    }
    let mut alter: i32 = 0;
    let mut rest = s.as_str();
    loop {
        if let Some(r) = rest.strip_prefix('b').or_else(|| rest.strip_prefix('-')) {
            alter -= 1;
            rest = r;
        } else if let Some(r) = rest.strip_prefix('#') {
            alter += 1;
            rest = r;
        } else {
            break;
        }
    }
    let (degree, upper, rest) = if let Some(r) = rest.strip_prefix('N') {
        (1, true, r)
    } else {
        let upper = rest.starts_with(['I', 'V']);
        let (d, r) = roman_degree(rest)?;
        (d, upper, r)
    };
    let neapolitan = chord.trim_start_matches(['b', '#', '-']).starts_with('N');
    const MAJOR: [i32; 7] = [0, 2, 4, 5, 7, 9, 11];
    const MINOR: [i32; 7] = [0, 2, 3, 5, 7, 8, 10];
    let mut semis = match key.mode {
        Mode::Major => MAJOR[degree],
        Mode::Minor => MINOR[degree] + i32::from(degree >= 5 && !upper),
    };
    if neapolitan {
        semis = 1;
    }
    let root = (key.tonic as i32 + semis + alter).rem_euclid(12) as u8;
    // Quality marks.
    let (mark, figures) = if let Some(r) = rest.strip_prefix("/o").or(rest.strip_prefix('ø')) {
        ('h', r)
    } else if let Some(r) = rest.strip_prefix('o').or(rest.strip_prefix('°')) {
        ('o', r)
    } else if let Some(r) = rest.strip_prefix('+') {
        ('+', r)
    } else if let Some(r) = rest.strip_prefix("maj") {
        ('M', r)
    } else {
        (' ', rest)
    };
    let figures = figures.replace('/', "");
    let (seventh, inversion) = match figures.as_str() {
        "" | "5" | "53" => (false, 0),
        "6" | "63" => (false, 1),
        "64" => (false, 2),
        "7" | "9" => (true, 0),
        "65" => (true, 1),
        "43" => (true, 2),
        "42" | "2" => (true, 3),
        _ => return None,
    };
    let (third, fifth) = match (mark, upper) {
        ('h' | 'o', _) => (3, 6),
        ('+', _) => (4, 8),
        (_, true) => (4, 7),
        (_, false) => (3, 7),
    };
    let mut intervals = vec![0, third, fifth];
    if seventh {
        let interval = match mark {
            'o' => 9,
            'h' => 10,
            'M' => 11,
            // The key's own seventh above the root (natural minor).
            _ => {
                let scale = match key.mode {
                    Mode::Major => MAJOR,
                    Mode::Minor => MINOR,
                };
                let up = (scale[(degree + 6) % 7] + 12 - scale[degree]) % 12;
                // V7 and viio7 of a minor key use its raised seventh.
                if key.mode == Mode::Minor && (degree == 4 || degree == 6) && !neapolitan {
                    if degree == 4 {
                        10
                    } else {
                        9
                    }
                } else {
                    up
                }
            }
        };
        intervals.push(interval);
    }
    let tones = intervals
        .iter()
        .fold(0u16, |set, &i| set | 1 << ((root as i32 + i) % 12));
    let triad = match (third, fifth) {
        (4, 7) => Quality::Major,
        (3, 7) => Quality::Minor,
        (3, 6) => Quality::Diminished,
        _ => Quality::Augmented,
    };
    let bass = ((root as i32 + intervals[inversion.min(intervals.len() - 1)]) % 12) as u8;
    Some(Heard {
        root,
        tones,
        triad,
        bass,
        target: target_root,
    })
}

/// `V65/V` into (`V65`, `V`); `vii/o7` and `V6/5` stay whole.
fn split_secondary(numeral: &str) -> (&str, Option<&str>) {
    for (i, c) in numeral.char_indices() {
        if c != '/' {
            continue;
        }
        let after = &numeral[i + 1..];
        let starts_numeral = after.starts_with(['I', 'V', 'i', 'v', 'b', '#', 'N']);
        if starts_numeral && !after.starts_with('o') {
            return (&numeral[..i], Some(after));
        }
    }
    (numeral, None)
}
