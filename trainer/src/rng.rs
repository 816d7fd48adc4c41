//! A small seeded random number generator.
//!
//! Training draws every random number (initial weights, piece order,
//! transpositions, dropout masks) from streams derived from the seed and a
//! position such as (epoch, batch). Resuming at a batch boundary therefore
//! needs no saved generator state beyond those counters, and the same seed
//! gives the same model.

/// SplitMix64 finaliser: a good 64-bit mixing function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// xoshiro256** seeded through SplitMix64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut s = [0; 4];
        for v in &mut s {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            *v = mix(x);
        }
        Self { s }
    }

    /// An independent stream for `seed` at the position named by `path`
    /// (for example `[EPOCH_STREAM, epoch, batch]`).
    pub fn derive(seed: u64, path: &[u64]) -> Self {
        let mut h = mix(seed ^ 0x5eed);
        for &p in path {
            h = mix(h ^ mix(p.wrapping_add(0x1234_5678)));
        }
        Self::new(h)
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `low..=high`.
    pub fn range_inclusive(&mut self, low: i32, high: i32) -> i32 {
        debug_assert!(low <= high);
        let span = (high - low) as u64 + 1;
        low + (self.next_u64() % span) as i32
    }

    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

/// Stream names, so that streams for different purposes never coincide.
pub const INIT_STREAM: u64 = 1;
pub const SHUFFLE_STREAM: u64 = 2;
pub const BATCH_STREAM: u64 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let a: Vec<u64> = (0..4).map(|_| Rng::new(7).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        let mut x = Rng::derive(7, &[BATCH_STREAM, 0, 1]);
        let mut y = Rng::derive(7, &[BATCH_STREAM, 1, 0]);
        assert_ne!(x.next_u64(), y.next_u64());
        let mut r = Rng::new(3);
        let mean: f64 = (0..10_000).map(|_| r.uniform()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        for _ in 0..1000 {
            let k = r.range_inclusive(-6, 5);
            assert!((-6..=5).contains(&k));
        }
    }
}
