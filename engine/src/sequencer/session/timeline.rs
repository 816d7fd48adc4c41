//! The pretend host's timeline: where each grid step of a score falls in
//! samples, and what transport a host would report at any sample.
//!
//! Each stretch of constant tempo is an [`Anchor`] built exactly as the
//! sequencer builds its own when the host's tempo changes (the block's first
//! sample and the beat there), so the step boundaries computed here are the
//! very samples the sequencer steps on.

use crate::meter::MeterRegion;
use crate::score::TempoChange;
use crate::sequencer::clock::{sanitize_tempo, Anchor};

use super::{play, HostNote, Segment, Session};

/// Sample rate of the pretend host.
pub const SAMPLE_RATE: f64 = 48_000.0;

/// A stretch of constant tempo, from grid step `step` (at sample `sample`) on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TempoSegment {
    pub step: u32,
    pub sample: i64,
    /// Host beat position at `sample`.
    pub beat: f64,
    pub bpm: f64,
    anchor: Anchor,
}

/// Grid steps on the sample timeline of a host playing from sample 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Timeline {
    step_beats: f64,
    /// Host beat position of step 0 (a pickup starts part-way into a bar).
    origin: f64,
    segments: Vec<TempoSegment>,
}

impl Timeline {
    /// A timeline for a tempo map (sorted by step; empty means 120 bpm).
    /// Tempi the sequencer would not accept become 120 bpm here too, and
    /// repeated tempi are merged, as a host reporting the same tempo moves no anchor.
    pub fn new(step_beats: f64, origin: f64, tempos: &[TempoChange]) -> Self {
        let first = tempos
            .first()
            .filter(|t| t.step == 0)
            .map_or(120.0, |t| t.bpm);
        let bpm = sanitize_tempo(Some(first));
        let mut segments = vec![TempoSegment {
            step: 0,
            sample: 0,
            beat: origin,
            bpm,
            anchor: Anchor::new(0, origin, SAMPLE_RATE, bpm),
        }];
        for t in tempos.iter().filter(|t| t.step > 0) {
            let bpm = sanitize_tempo(Some(t.bpm));
            let prev = *segments.last().expect("one segment");
            if bpm == prev.bpm || t.step <= prev.step {
                continue;
            }
            let sample = prev.anchor.sample_of(origin + t.step as f64 * step_beats);
            if sample <= prev.sample {
                continue;
            }
            let beat = prev.anchor.beat_at(sample);
            segments.push(TempoSegment {
                step: t.step,
                sample,
                beat,
                bpm,
                anchor: Anchor::new(sample, beat, SAMPLE_RATE, bpm),
            });
        }
        Self {
            step_beats,
            origin,
            segments,
        }
    }

    /// One tempo throughout.
    pub fn constant(step_beats: f64, origin: f64, bpm: f64) -> Self {
        Self::new(step_beats, origin, &[TempoChange { step: 0, bpm }])
    }

    pub fn segments(&self) -> &[TempoSegment] {
        &self.segments
    }

    fn segment_for_step(&self, step: u32) -> &TempoSegment {
        let i = self.segments.partition_point(|s| s.step <= step);
        &self.segments[i.saturating_sub(1)]
    }

    fn segment_at(&self, sample: i64) -> &TempoSegment {
        let i = self.segments.partition_point(|s| s.sample <= sample);
        &self.segments[i.saturating_sub(1)]
    }

    /// The first sample of grid step `step`: where the sequencer steps.
    pub fn sample_of_step(&self, step: u32) -> i64 {
        let beat = self.origin + step as f64 * self.step_beats;
        self.segment_for_step(step).anchor.sample_of(beat)
    }

    /// The sample at `beats` quarter notes from step 0, on or off the grid
    /// (a note played by hand), rounded to the nearest sample.
    pub fn sample_at(&self, beats: f64) -> i64 {
        let step = (beats / self.step_beats)
            .floor()
            .clamp(0.0, u32::MAX as f64) as u32;
        let a = self.segment_for_step(step).anchor;
        a.sample + ((self.origin + beats - a.beat) * a.samples_per_beat).round() as i64
    }

    /// The grid step nearest to `sample`.
    pub fn step_at(&self, sample: i64) -> u32 {
        let beat = self.segment_at(sample).anchor.beat_at(sample);
        ((beat - self.origin) / self.step_beats).round().max(0.0) as u32
    }

    /// The transport of a host playing this timeline from sample 0: one
    /// segment per tempo, where a host starts a new block.
    pub fn transport(&self) -> Vec<Segment> {
        self.segments
            .iter()
            .map(|s| play(s.sample, s.bpm, s.beat))
            .collect()
    }

    /// A session of `length` samples playing `notes` on this timeline.
    pub fn session(&self, notes: Vec<HostNote>, length: i64) -> Session {
        Session {
            segments: self.transport(),
            notes,
            length,
        }
    }

    /// [`Timeline::session`] in the meters of `meters` (sorted by step; 4/4
    /// from step 0 before the first): a new transport segment where a meter
    /// begins, as a host starts a block at a time-signature change. The
    /// segments of a meter region continue the tempo segment's beat, so the
    /// sequencer sees no seek.
    pub fn session_in_meters(
        &self,
        notes: Vec<HostNote>,
        length: i64,
        meters: &[MeterRegion],
    ) -> Session {
        let mut marks: Vec<u32> = self.segments.iter().map(|s| s.step).collect();
        marks.extend(meters.iter().map(|m| m.step));
        marks.sort_unstable();
        marks.dedup();
        let segments = marks
            .into_iter()
            .map(|step| {
                let tempo = self.segment_for_step(step);
                let (sample, beat) = if tempo.step == step {
                    (tempo.sample, tempo.beat)
                } else {
                    let sample = self.sample_of_step(step);
                    (sample, tempo.anchor.beat_at(sample))
                };
                let mut segment = play(sample, tempo.bpm, beat);
                if let Some(m) = meters.iter().rev().find(|m| m.step <= step) {
                    segment.meter = m.meter;
                    segment.bar_origin = self.origin + m.bar_step as f64 * self.step_beats;
                }
                segment
            })
            .collect();
        Session {
            segments,
            notes,
            length,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meter::Meter;

    #[test]
    fn steps_land_on_whole_samples_across_tempo_changes() {
        let t = Timeline::new(
            0.25,
            0.0,
            &[
                TempoChange {
                    step: 0,
                    bpm: 120.0,
                },
                TempoChange {
                    step: 16,
                    bpm: 90.0,
                },
            ],
        );
        assert_eq!(t.sample_of_step(1), 6000);
        assert_eq!(t.sample_of_step(16), 96_000);
        assert_eq!(t.sample_of_step(17), 104_000);
        assert_eq!(t.step_at(104_000), 17);
        let session = t.session(Vec::new(), 200_000);
        assert_eq!(
            session.block_len(95_900, 512),
            100,
            "a block ends at the tempo change"
        );
        assert_eq!(session.transport_at(104_000).tempo, Some(90.0));
        assert_eq!(session.transport_at(104_000).pos_beats, Some(4.25));
    }

    #[test]
    fn a_pickup_starts_inside_the_bar_and_odd_tempi_fall_back() {
        let t = Timeline::new(0.25, 3.0, &[TempoChange { step: 0, bpm: 0.5 }]);
        assert_eq!(
            t.session(Vec::new(), 1).transport_at(0).pos_beats,
            Some(3.0)
        );
        assert_eq!(t.segments()[0].bpm, 120.0);
        assert_eq!(t.sample_of_step(4), 24_000);
    }

    #[test]
    fn meter_regions_start_segments_with_their_bar_lines() {
        let t = Timeline::new(
            0.25,
            2.0,
            &[
                TempoChange {
                    step: 0,
                    bpm: 120.0,
                },
                TempoChange {
                    step: 20,
                    bpm: 60.0,
                },
            ],
        );
        let three = Meter::new(3, 4);
        let meters = [
            MeterRegion {
                step: 0,
                meter: three,
                bar_step: -8,
            },
            MeterRegion {
                step: 28,
                meter: Meter::COMMON,
                bar_step: 28,
            },
        ];
        let session = t.session_in_meters(Vec::new(), 400_000, &meters);
        assert_eq!(session.segments.len(), 3, "tempo change and meter change");
        let at = |step| session.transport_at(t.sample_of_step(step));
        assert_eq!(at(0).meter, Some(three));
        assert_eq!(at(0).bar_start, Some(0.0), "a pickup of two beats");
        assert_eq!(at(13).bar_start, Some(3.0));
        assert_eq!(at(22).bar_start, Some(6.0), "across the tempo change");
        assert_eq!(at(22).pos_beats, Some(7.5));
        assert_eq!(at(30).meter, Some(Meter::COMMON));
        assert_eq!(at(30).bar_start, Some(9.0));
        assert_eq!(at(30).pos_beats, Some(9.5));
        // Without meters it is the plain session.
        assert_eq!(
            t.session_in_meters(Vec::new(), 1000, &[]),
            t.session(Vec::new(), 1000)
        );
    }
}
