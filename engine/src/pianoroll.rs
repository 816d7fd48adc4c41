//! The 88-key piano roll: which keys sound on one frame.

/// Keys on the roll: MIDI 21 (A0) to 108 (C8).
pub const KEYS: usize = 88;
/// MIDI pitch of key 0.
pub const LOWEST_KEY: u8 = 21;
/// MIDI pitch of key 87.
pub const HIGHEST_KEY: u8 = LOWEST_KEY + KEYS as u8 - 1;

/// One frame of the roll as a bit set; `Copy`, so it moves freely on the audio thread.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyFrame(u128);

impl KeyFrame {
    pub const EMPTY: KeyFrame = KeyFrame(0);

    /// A frame from MIDI pitches; pitches off the keyboard are ignored.
    pub fn from_pitches<I: IntoIterator<Item = u8>>(pitches: I) -> Self {
        let mut f = Self::EMPTY;
        for p in pitches {
            f.insert(p);
        }
        f
    }

    /// Sounds `pitch`; returns false when it is off the keyboard.
    pub fn insert(&mut self, pitch: u8) -> bool {
        match key_of(pitch) {
            Some(k) => {
                self.0 |= 1 << k;
                true
            }
            None => false,
        }
    }

    /// A frame from a bit set over MIDI pitches (bit `p` for pitch `p`, as
    /// the sequencer holds keys); pitches off the keyboard are ignored.
    pub fn from_midi_bits(bits: u128) -> Self {
        let keys = (bits >> LOWEST_KEY) & ((1u128 << KEYS) - 1);
        Self(keys)
    }

    pub fn remove(&mut self, pitch: u8) {
        if let Some(k) = key_of(pitch) {
            self.0 &= !(1 << k);
        }
    }

    pub fn contains(&self, pitch: u8) -> bool {
        key_of(pitch).is_some_and(|k| self.0 & (1 << k) != 0)
    }

    pub fn contains_key(&self, key: usize) -> bool {
        key < KEYS && self.0 & (1 << key) != 0
    }

    pub fn insert_key(&mut self, key: usize) {
        if key < KEYS {
            self.0 |= 1 << key;
        }
    }

    pub fn len(&self) -> usize {
        self.0.count_ones() as usize
    }

    pub fn is_empty(&self) -> bool {
        self.0 == 0
    }

    /// Key indices (0..88) in ascending order.
    pub fn keys(&self) -> impl Iterator<Item = usize> + '_ {
        let bits = self.0;
        (0..KEYS).filter(move |k| bits & (1 << k) != 0)
    }

    /// MIDI pitches in ascending order.
    pub fn pitches(&self) -> impl Iterator<Item = u8> + '_ {
        self.keys().map(|k| LOWEST_KEY + k as u8)
    }
}

/// The key index of a MIDI pitch, if it is on the keyboard.
pub fn key_of(pitch: u8) -> Option<usize> {
    (LOWEST_KEY..=HIGHEST_KEY)
        .contains(&pitch)
        .then(|| (pitch - LOWEST_KEY) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_holds_pitches_in_order() {
        let f = KeyFrame::from_pitches([67, 60, 64, 20, 109, 108, 21]);
        assert_eq!(f.pitches().collect::<Vec<_>>(), vec![21, 60, 64, 67, 108]);
        assert_eq!(f.len(), 5);
        assert!(f.contains(64) && !f.contains(65) && !f.contains(20));
        assert_eq!(key_of(21), Some(0));
        assert_eq!(key_of(108), Some(87));
    }

    #[test]
    fn midi_bits_become_keys() {
        let bits = [20u8, 21, 60, 108, 109, 127]
            .iter()
            .fold(0u128, |b, &p| b | 1 << p);
        let f = KeyFrame::from_midi_bits(bits);
        assert_eq!(f.pitches().collect::<Vec<_>>(), vec![21, 60, 108]);
        assert_eq!(f, KeyFrame::from_pitches([21, 60, 108]));
    }
}
