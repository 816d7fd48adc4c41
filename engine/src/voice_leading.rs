//! Voice-leading rules of four-part writing, shared by the sampler (which can
//! forbid what they forbid) and the trainer's harmony figures (which count it).

/// A perfect interval that two voices moved in parallel into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parallel {
    /// Fifths (or twelfths, ...).
    Fifth,
    /// Octaves or unisons.
    Octave,
}

/// Whether two voices, one going from `a0` to `a1` and the other from `b0`
/// to `b1`, move in parallel fifths or octaves: both move, the same way, and
/// the interval between them is the same perfect one before and after. A
/// voice that holds or repeats its note does not move. Intervals are read
/// by size, whichever voice is higher: two crossed voices a fifth apart
/// make a fifth. So the check is symmetric in the two voices.
pub fn parallel(a0: u8, a1: u8, b0: u8, b1: u8) -> Option<Parallel> {
    let (da, db) = (a1 as i32 - a0 as i32, b1 as i32 - b0 as i32);
    if da == 0 || db == 0 || da.signum() != db.signum() {
        return None;
    }
    let before = interval_class(a0, b0);
    let after = interval_class(a1, b1);
    match (before, after) {
        (7, 7) => Some(Parallel::Fifth),
        (0, 0) => Some(Parallel::Octave),
        _ => None,
    }
}

/// The interval between two pitches by size, within the octave: 7 for a
/// fifth (or twelfth) whichever is higher.
pub fn interval_class(a: u8, b: u8) -> u8 {
    (a.abs_diff(b)) % 12
}

/// Every parallel between two steps of a texture: `before[v]` and `now[v]`
/// are the pitches voice `v` sounds (`None` while resting), voices ordered
/// from the top; each pair of voices that both sound on both steps is checked.
pub fn parallels<'a>(
    before: &'a [Option<u8>],
    now: &'a [Option<u8>],
) -> impl Iterator<Item = Parallel> + 'a {
    let voices = before.len().min(now.len());
    (0..voices)
        .flat_map(move |u| (u + 1..voices).map(move |l| (u, l)))
        .filter_map(move |(u, l)| parallel(before[u]?, now[u]?, before[l]?, now[l]?))
}

/// The onset pitches (as a bit set over MIDI 0..=127) that would make a voice,
/// sounding `b0` before this step, move in parallel fifths or octaves with
/// any voice decided before it (above it or below). `decided` holds, per
/// such voice, the pitch it sounded before and the pitch it sounds now
/// (`None` while resting). Plain integer work: safe on the audio thread.
pub fn forbidden_onsets(
    b0: Option<u8>,
    decided: impl Iterator<Item = (Option<u8>, Option<u8>)>,
) -> u128 {
    let Some(b0) = b0 else {
        return 0; // A voice entering from a rest cannot move in parallel.
    };
    let mut forbidden = 0u128;
    for (a0, a1) in decided {
        let (Some(a0), Some(a1)) = (a0, a1) else {
            continue;
        };
        // Only voices a perfect fifth or octave apart before the step can move in parallel.
        if a0 == a1 || !matches!(interval_class(a0, b0), 0 | 7) {
            continue;
        }
        for p in 0..=127u8 {
            if parallel(a0, a1, b0, p).is_some() {
                forbidden |= 1u128 << p;
            }
        }
    }
    forbidden
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parallels_need_similar_motion_between_equal_perfect_intervals() {
        assert_eq!(parallel(67, 69, 48, 50), Some(Parallel::Fifth)); // compound fifths
        assert_eq!(parallel(60, 59, 48, 47), Some(Parallel::Octave));
        assert_eq!(parallel(60, 62, 60, 62), Some(Parallel::Octave)); // unisons
        assert_eq!(parallel(67, 69, 48, 45), None, "contrary motion");
        assert_eq!(parallel(67, 67, 48, 50), None, "one voice holds");
        assert_eq!(parallel(67, 69, 60, 65), None, "fifth to fourth");
        assert_eq!(parallel(64, 67, 60, 60), None, "oblique motion");
    }

    #[test]
    fn crossed_voices_a_fifth_apart_move_in_fifths() {
        // The alto a fifth below the tenor, both rising a tone: fifths,
        // though counted down from the alto they would be fourths.
        assert_eq!(parallel(60, 62, 67, 69), Some(Parallel::Fifth));
        assert_eq!(parallel(67, 69, 60, 62), Some(Parallel::Fifth));
        // And crossed fourths are no fifths.
        assert_eq!(parallel(60, 62, 65, 67), None);
        // The strict mask forbids them too, against a voice decided earlier below.
        let set = forbidden_onsets(Some(67), [(Some(60), Some(62))].into_iter());
        assert_ne!(set & (1u128 << 69), 0);
        assert_eq!(set & (1u128 << 72), 0);
    }

    #[test]
    fn parallels_checks_every_pair_of_sounding_voices() {
        // All four rise a tone: S-T, S-B and T-B move in octaves, A-T and
        // A-B in fifths, S-A in fourths (allowed). Then the tenor rests.
        let before = [Some(72), Some(67), Some(60), Some(48)];
        let now = [Some(74), Some(69), Some(62), Some(50)];
        let found: Vec<Parallel> = parallels(&before, &now).collect();
        assert_eq!(found.iter().filter(|&&p| p == Parallel::Octave).count(), 3);
        assert_eq!(found.iter().filter(|&&p| p == Parallel::Fifth).count(), 2);
        let resting = [Some(74), Some(69), None, Some(50)];
        assert_eq!(parallels(&before, &resting).count(), 2);
    }

    #[test]
    fn forbidden_onsets_are_exactly_the_parallel_ones() {
        // Soprano 67 -> 69 over a tenor on 60 (a fifth): 62 would be parallel
        // fifths (and 76, crossing a fifth above it, too); moving down to 55
        // is contrary.
        let set = forbidden_onsets(Some(60), [(Some(67), Some(69))].into_iter());
        for p in 0..=127u8 {
            let expected = p > 60 && interval_class(69, p) == 7;
            assert_eq!(set & (1u128 << p) != 0, expected, "pitch {p}");
        }
        assert_ne!(set & (1u128 << 62), 0);
        assert_ne!(set & (1u128 << 76), 0);
        assert_eq!(set & (1u128 << 55), 0);
        // Nothing to forbid for a voice entering, or above a voice that holds or rests.
        assert_eq!(
            forbidden_onsets(None, [(Some(67), Some(69))].into_iter()),
            0
        );
        assert_eq!(
            forbidden_onsets(Some(60), [(Some(67), Some(67))].into_iter()),
            0
        );
        assert_eq!(
            forbidden_onsets(Some(60), [(None, Some(67))].into_iter()),
            0
        );
    }
}
