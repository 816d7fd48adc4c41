//! A file's meters as the host would report them: one region per meter
//! change with its bar line, so the pretend host sends the file's time
//! signatures and bar starts, and the whole-melody path places each step in
//! its bar exactly as the sequencer would from that transport.

use bach_engine::score::Score;
use bach_engine::sequencer::session::MeterRegion;
use bach_engine::{BarPosition, Meter};

/// The meter regions of `score`, from step 0 (4/4 before its first meter
/// event). A pickup (a first region shorter than a bar of the meter after
/// it) is in that next meter, its bar line where the first full bar starts.
pub fn regions(score: &Score) -> Vec<MeterRegion> {
    let mut out = Vec::new();
    let meters = &score.meters;
    if meters.first().is_none_or(|m| m.step > 0) {
        out.push(MeterRegion {
            step: 0,
            meter: Meter::COMMON,
            bar_step: -(score.position_in_bar(0) as i64),
        });
    }
    for (i, change) in meters.iter().enumerate() {
        let pickup = match meters.as_slice() {
            [first, second, ..] if i == 0 && first.step == 0 => {
                (second.step as f64) < score.bar_steps(second)
            }
            _ => false,
        };
        let meter = if pickup {
            meters[1].meter.or_common()
        } else {
            change.meter.or_common()
        };
        out.push(MeterRegion {
            step: change.step,
            meter,
            bar_step: change.step as i64 - score.position_in_bar(change.step) as i64,
        });
    }
    out
}

/// Where each of the first `len` steps falls in its bar, as the sequencer
/// places it from the transport [`regions`] gives.
pub fn bar_positions(regions: &[MeterRegion], step_beats: f64, len: u32) -> Vec<BarPosition> {
    (0..len)
        .map(|t| {
            let region = regions
                .iter()
                .rev()
                .find(|r| r.step <= t)
                .copied()
                .unwrap_or(MeterRegion {
                    step: 0,
                    meter: Meter::COMMON,
                    bar_step: 0,
                });
            let bar = region.meter.bar_steps(step_beats) as i64;
            let since = (t as i64 - region.bar_step).rem_euclid(bar.max(1));
            BarPosition::new(since as usize, region.meter, step_beats)
        })
        .collect()
}

/// Whether every region is in 4/4 (what a model that hears no meter assumes).
pub fn all_common(regions: &[MeterRegion]) -> bool {
    regions.iter().all(|r| r.meter == Meter::COMMON)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bach_engine::score::MeterChange;

    fn change(step: u32, numerator: u8, denominator: u8) -> MeterChange {
        MeterChange {
            step,
            meter: Meter::new(numerator, denominator),
        }
    }

    #[test]
    fn pickups_and_meter_changes_place_the_bar_lines() {
        let mut s = Score::new(0.25);
        assert_eq!(
            regions(&s),
            vec![MeterRegion {
                step: 0,
                meter: Meter::COMMON,
                bar_step: 0
            }]
        );
        // A one-beat pickup before 3/4, then 4/4 from step 52.
        s.meters = vec![change(0, 1, 4), change(4, 3, 4), change(52, 4, 4)];
        let r = regions(&s);
        assert_eq!(
            r[0].meter,
            Meter::new(3, 4),
            "the pickup is in the meter after it"
        );
        assert_eq!(r[0].bar_step, -8);
        assert_eq!(r[1].bar_step, 4);
        assert_eq!(r[2].bar_step, 52);
        let bars = bar_positions(&r, 0.25, 60);
        for t in 0..60u32 {
            assert_eq!(bars[t as usize].step, s.position_in_bar(t), "step {t}");
        }
        assert_eq!(bars[4].bar_steps, 12);
        assert_eq!(bars[56].bar_steps, 16);
        assert!(!all_common(&r));
    }
}
