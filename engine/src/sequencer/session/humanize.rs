//! Melodies played as people play them: each note moved off the grid by a
//! seeded amount, for the tests and the figures that hold the sequencer to
//! a player's timing.

use crate::sampling::Rng;

use super::{HostNote, SAMPLE_RATE};

/// How a melody is played against its grid.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Touch {
    /// Exactly on the grid, as a sequencer plays it.
    OnGrid,
    /// Every note-on and note-off this many milliseconds late (negative: early).
    Shifted(f64),
    /// Each note-on and note-off off by a Gaussian of `sigma_ms`, clipped
    /// at `max_ms` either way.
    Human { sigma_ms: f64, max_ms: f64 },
}

impl Touch {
    /// A short name for reports: "on-grid", "late 15 ms", "human 20 ms".
    pub fn name(self) -> String {
        match self {
            Touch::OnGrid => "on the grid".into(),
            Touch::Shifted(ms) if ms >= 0.0 => format!("{ms} ms late"),
            Touch::Shifted(ms) => format!("{} ms early", -ms),
            Touch::Human { sigma_ms, max_ms } => {
                format!("human ({sigma_ms} ms, at most {max_ms})")
            }
        }
    }
}

/// `notes` (sorted, as [`super::host_notes`] gives them) played with
/// `touch`, the offsets drawn from `seed`. No note starts before sample 0
/// or lasts less than a millisecond, and a repeated key is let go before it
/// is struck again, as on a keyboard. The result is sorted.
pub fn humanize(notes: &[HostNote], touch: Touch, seed: u64) -> Vec<HostNote> {
    let mut rng = Rng::new(seed);
    let ms = SAMPLE_RATE / 1000.0;
    let mut offset = || -> i64 {
        let off = match touch {
            Touch::OnGrid => 0.0,
            Touch::Shifted(by) => by,
            Touch::Human { sigma_ms, max_ms } => {
                (gaussian(&mut rng) * sigma_ms).clamp(-max_ms, max_ms)
            }
        };
        (off * ms).round() as i64
    };
    // Pair each note-on with its note-off, move both, then keep the keyboard's rules.
    let mut open: Vec<(u8, usize)> = Vec::new();
    let mut pairs: Vec<(HostNote, Option<HostNote>)> = Vec::new();
    for n in notes {
        if n.on {
            let mut on = *n;
            on.sample = (on.sample + offset()).max(0);
            open.push((n.pitch, pairs.len()));
            pairs.push((on, None));
        } else if let Some(i) = open.iter().position(|&(p, _)| p == n.pitch) {
            let (_, at) = open.remove(i);
            let mut off = *n;
            off.sample = (off.sample + offset()).max(pairs[at].0.sample + ms.round() as i64);
            pairs[at].1 = Some(off);
        }
    }
    // A key struck again is let go first.
    for i in 0..pairs.len() {
        let next_on = pairs[i + 1..]
            .iter()
            .find(|(on, _)| on.pitch == pairs[i].0.pitch)
            .map(|(on, _)| on.sample);
        let struck = pairs[i].0.sample;
        if let (Some(next), Some(off)) = (next_on, pairs[i].1.as_mut()) {
            off.sample = off.sample.min(next).max(struck + 1);
        }
    }
    let mut out: Vec<HostNote> = pairs
        .into_iter()
        .flat_map(|(on, off)| std::iter::once(on).chain(off))
        .collect();
    out.sort();
    out
}

/// A standard normal draw (Box–Muller).
fn gaussian(rng: &mut Rng) -> f64 {
    let u = rng.next_f64().max(1e-12);
    let v = rng.next_f64();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tune() -> Vec<HostNote> {
        let mut notes = Vec::new();
        for (i, pitch) in [60u8, 62, 62, 64].into_iter().enumerate() {
            let at = 48_000 + i as i64 * 24_000;
            notes.push(HostNote::from((at, true, pitch, 90)));
            notes.push(HostNote::from((at + 24_000, false, pitch, 0)));
        }
        notes.sort();
        notes
    }

    #[test]
    fn shifted_moves_every_event_and_human_stays_within_its_clip() {
        let late = humanize(&tune(), Touch::Shifted(15.0), 1);
        for (a, b) in tune().iter().zip(&late) {
            if b.on {
                assert_eq!(b.sample - a.sample, 720);
            }
        }
        let human = humanize(
            &tune(),
            Touch::Human {
                sigma_ms: 20.0,
                max_ms: 40.0,
            },
            7,
        );
        assert_eq!(human.len(), tune().len());
        assert_ne!(human, tune());
        let ons: Vec<i64> = human.iter().filter(|n| n.on).map(|n| n.sample).collect();
        for (i, on) in ons.iter().enumerate() {
            assert!((on - (48_000 + i as i64 * 24_000)).abs() <= 1920);
        }
        assert_eq!(
            human,
            humanize(
                &tune(),
                Touch::Human {
                    sigma_ms: 20.0,
                    max_ms: 40.0
                },
                7
            )
        );
    }

    #[test]
    fn a_repeated_key_is_let_go_before_it_is_struck_again() {
        for seed in 0..50 {
            let human = humanize(
                &tune(),
                Touch::Human {
                    sigma_ms: 20.0,
                    max_ms: 40.0,
                },
                seed,
            );
            let mut down = [false; 128];
            for n in &human {
                let key = &mut down[n.pitch as usize];
                assert_ne!(*key, n.on, "seed {seed}: {n:?}");
                *key = n.on;
            }
        }
    }
}
