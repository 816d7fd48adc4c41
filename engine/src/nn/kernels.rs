//! The inner products everything runs on. A plain `iter().sum()` dot product
//! stays scalar (float addition is not reassociated), so the sums are split
//! over independent lanes that the compiler turns into SIMD registers.

use std::sync::atomic::{AtomicBool, Ordering};

const LANES: usize = 16;

/// `a · b` over the shorter of the two.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f32; LANES];
    let mut ca = a.chunks_exact(LANES);
    let mut cb = b.chunks_exact(LANES);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..LANES {
            acc[i] += x[i] * y[i];
        }
    }
    let mut tail = 0.0;
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    // Pairwise reduction of the lanes.
    let mut width = LANES / 2;
    while width > 0 {
        for i in 0..width {
            acc[i] += acc[i + width];
        }
        width /= 2;
    }
    acc[0] + tail
}

/// `out[r] += W[r, :] · x` for a row-major `W` with `x.len()` columns.
///
/// On x86-64 with AVX2 the same loop is compiled a second time for 8-wide
/// registers and chosen at run time, once [`detect_simd`] has run; elsewhere,
/// or before that, the portable build runs.
#[inline]
pub fn matvec_add(w: &[f32], x: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if AVX2.load(Ordering::Relaxed) {
        // SAFETY: AVX2 is only set by `detect_simd` on CPUs that have it.
        unsafe { matvec_add_avx2(w, x, out) };
        return;
    }
    matvec_add_portable(w, x, out);
}

static AVX2: AtomicBool = AtomicBool::new(false);

/// Looks up the CPU's vector extensions. The first look-up may read files and
/// allocate, so it runs when a model loads, never on the audio thread.
pub fn detect_simd() {
    #[cfg(target_arch = "x86_64")]
    AVX2.store(
        std::arch::is_x86_feature_detected!("avx2"),
        Ordering::Relaxed,
    );
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn matvec_add_avx2(w: &[f32], x: &[f32], out: &mut [f32]) {
    matvec_add_portable(w, x, out);
}

#[inline(always)]
fn matvec_add_portable(w: &[f32], x: &[f32], out: &mut [f32]) {
    let cols = x.len();
    if cols == 0 {
        return;
    }
    for (o, row) in out.iter_mut().zip(w.chunks_exact(cols)) {
        *o += dot(row, x);
    }
}

/// `out += W[:, j]` for each `j` in `columns`, with `W` stored column-major
/// (`out.len()` rows): a one-hot or multi-hot input times a matrix.
#[inline]
pub fn add_columns(w_columns: &[f32], columns: &[usize], out: &mut [f32]) {
    let rows = out.len();
    for &j in columns {
        if let Some(col) = w_columns.get(j * rows..(j + 1) * rows) {
            for (o, w) in out.iter_mut().zip(col) {
                *o += w;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_matches_naive_sum() {
        for n in [0, 1, 15, 16, 17, 100, 256] {
            let a: Vec<f32> = (0..n).map(|i| (i as f32 * 0.37).sin()).collect();
            let b: Vec<f32> = (0..n).map(|i| (i as f32 * 0.11).cos()).collect();
            let naive: f64 = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (*x as f64) * (*y as f64))
                .sum();
            assert!((dot(&a, &b) as f64 - naive).abs() < 1e-4, "n={n}");
        }
    }

    #[test]
    fn matvec_and_columns_agree() {
        // W is 3x2: [[1,2],[3,4],[5,6]].
        let rows = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let cols = [1.0, 3.0, 5.0, 2.0, 4.0, 6.0];
        let mut a = [0.5; 3];
        matvec_add(&rows, &[0.0, 1.0], &mut a);
        let mut b = [0.5; 3];
        add_columns(&cols, &[1], &mut b);
        assert_eq!(a, [2.5, 4.5, 6.5]);
        assert_eq!(a, b);
    }
}
