//! Where the host's bars begin, from its transport, trusting its bar start
//! only where it agrees with its own song position and time signature.
//!
//! Hosts send the start of the current bar in quarter notes (CLAP
//! `bar_start`, VST3 `barPositionMusic`), and most send it right. Not all:
//! Ardour 7.3 sends `bars * 4` whatever the meter (the start of the *next*
//! bar in 4/4, and in 3/4 a value past the song position from the second
//! bar on); later Ardour sends `(bars - 1) * 4`, right in 4/4 only. Trusted
//! blindly, such a bar start puts every step of a 3/4 piece, or every step
//! after a pickup, on the wrong beat of its bar.
//!
//! So the bar lines in use are a grid (a bar line and the meter) kept from
//! block to block. A host's bar start is taken when it holds the song
//! position (`bar start <= position < bar start + bar`) and, while the meter
//! is unchanged, falls on the grid already in use; otherwise the grid
//! stands. When the meter changes, the new meter's first bar line is the
//! host's bar start if that holds the position, else the old grid's bar
//! line at or before it (meters change at bar lines). With no grid yet and
//! no usable bar start, bars run from song position 0, as nice-plug derives
//! them for a host that sends none. Hosts that send it right get exactly
//! their bar starts. The grid outlives a reset: a host's restart does not
//! move its bars.

use crate::meter::Meter;

/// Slack for float noise in quarter notes (CLAP's fixed point is 2^-31).
const EPS: f64 = 1e-6;

/// The bar grid in use: a bar line (in quarter notes of song position) and
/// the meter whose bars repeat from it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BarLines {
    grid: Option<(f64, Meter)>,
}

impl BarLines {
    /// The bar line to count steps from for a block at song position
    /// `pos` in `meter`, given the host's bar start (if it sent one).
    pub fn origin(&mut self, pos: f64, meter: Meter, host: Option<f64>) -> f64 {
        let bar = meter.bar_beats();
        let host = host.filter(|b| b.is_finite());
        let holds = |b: f64| b <= pos + EPS && pos < b + bar - EPS;
        let on_grid = |b: f64, origin: f64| {
            let bars = (b - origin) / bar;
            (bars - bars.round()).abs() * bar < EPS
        };
        let origin = match (self.grid, host) {
            // The meter goes on: the host may move the grid only onto itself.
            (Some((origin, m)), Some(b)) if m == meter => {
                if holds(b) && on_grid(b, origin) {
                    b
                } else {
                    origin
                }
            }
            (Some((origin, m)), _) if m == meter => origin,
            // A new meter (or none yet): the host's bar start if it holds
            // the position, else the old grid's bar line at or before it.
            (_, Some(b)) if holds(b) => b,
            (Some((origin, m)), _) => {
                let old = m.bar_beats();
                origin + ((pos - origin) / old + EPS / old).floor() * old
            }
            (None, _) => 0.0,
        };
        self.grid = Some((origin, meter));
        origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const THREE: Meter = Meter::new(3, 4);

    /// A block's origin for each (position, meter, host bar start).
    fn origins(blocks: &[(f64, Meter, Option<f64>)]) -> Vec<f64> {
        let mut bars = BarLines::default();
        blocks
            .iter()
            .map(|&(pos, m, host)| bars.origin(pos, m, host))
            .collect()
    }

    #[test]
    fn a_host_that_sends_its_bars_right_gets_them() {
        let blocks = [
            (0.0, THREE, Some(0.0)),
            (2.5, THREE, Some(0.0)),
            (3.2, THREE, Some(3.0)),
            (7.0, THREE, Some(6.0)),
            // A seek back, and a bar start the grid already had.
            (1.0, THREE, Some(0.0)),
        ];
        assert_eq!(origins(&blocks), [0.0, 0.0, 3.0, 6.0, 0.0]);
    }

    #[test]
    fn ardour_7_3s_bar_starts_in_3_4_are_not_taken() {
        // `bars * 4`: 4 in bar 1, 8 in bar 2...
        let blocks: Vec<_> = (0..12)
            .map(|k| {
                let pos = k as f64 * 0.75;
                let bars = (pos / 3.0).floor() + 1.0;
                (pos, THREE, Some(bars * 4.0))
            })
            .collect();
        let got = origins(&blocks);
        for (&(pos, ..), origin) in blocks.iter().zip(got) {
            let bar_line = (pos / 3.0).floor() * 3.0;
            assert_eq!((pos - origin).rem_euclid(3.0), pos - bar_line, "at {pos}");
        }
    }

    #[test]
    fn later_ardours_bar_starts_in_3_4_are_not_taken_either() {
        // `(bars - 1) * 4`: right in bar 1, then on no bar line of 3/4 but
        // sometimes holding the position (4 for positions 4 to 6).
        for pos in [0.5, 3.5, 4.5, 5.5, 6.5, 9.5, 13.0] {
            let mut bars = BarLines::default();
            bars.origin(0.0, THREE, Some(0.0));
            let b = ((pos / 3.0f64).floor()) * 4.0;
            let origin = bars.origin(pos, THREE, Some(b));
            assert_eq!((pos - origin).rem_euclid(3.0), pos % 3.0, "at {pos}");
        }
    }

    #[test]
    fn a_pickup_bar_then_4_4_as_ardour_sends_it() {
        let pickup = Meter::new(1, 4);
        // Ardour 7.3: `bars * 4`, wrong in every bar.
        let wrong = [
            (0.0, pickup, Some(4.0)),
            (0.5, pickup, Some(4.0)),
            (1.0, Meter::COMMON, Some(8.0)),
            (4.5, Meter::COMMON, Some(8.0)),
            (5.0, Meter::COMMON, Some(12.0)),
        ];
        assert_eq!(origins(&wrong), [0.0, 0.0, 1.0, 1.0, 1.0]);
        // Later Ardour: `(bars - 1) * 4`, which holds position 4.5 but is
        // off the grid the pickup set.
        let later = [
            (0.0, pickup, Some(0.0)),
            (1.0, Meter::COMMON, Some(4.0)),
            (4.5, Meter::COMMON, Some(4.0)),
            (5.5, Meter::COMMON, Some(8.0)),
        ];
        assert_eq!(origins(&later), [0.0, 1.0, 1.0, 1.0]);
        // A host that sends them right.
        let right = [
            (0.0, pickup, Some(0.0)),
            (1.0, Meter::COMMON, Some(1.0)),
            (5.5, Meter::COMMON, Some(5.0)),
        ];
        assert_eq!(origins(&right), [0.0, 1.0, 5.0]);
    }

    #[test]
    fn no_bar_start_counts_bars_from_zero_and_keeps_them_through_meter_changes() {
        let blocks = [
            (0.0, Meter::COMMON, None),
            (7.0, Meter::COMMON, None),
            // 3/4 from bar 3 (position 8).
            (8.0, THREE, None),
            (12.5, THREE, None),
            (13.0, THREE, Some(f64::NAN)),
        ];
        assert_eq!(origins(&blocks), [0.0, 0.0, 8.0, 8.0, 8.0]);
    }
}
