//! The threads: each row of the batch runs its recurrence independently of
//! the others, so candle's threads split the batch into row groups and run a
//! whole chunk without meeting.

use std::ops::Range;
use std::sync::Mutex;

/// The rows of the batch each thread takes: every row's recurrence is
/// independent of the others', so the threads never meet within a chunk.
pub(super) fn row_groups(b: usize, threads: usize) -> Vec<Range<usize>> {
    let n = threads.clamp(1, b.max(1));
    (0..n).map(|i| i * b / n..(i + 1) * b / n).collect()
}

/// Splits `buf` (`width` numbers per batch row) into the groups' blocks.
pub(super) fn split_rows<'a>(
    mut buf: &'a mut [f32],
    groups: &[Range<usize>],
    width: usize,
) -> Vec<&'a mut [f32]> {
    let mut parts = Vec::with_capacity(groups.len());
    for g in groups {
        let (part, rest) = std::mem::take(&mut buf).split_at_mut(g.len() * width);
        parts.push(part);
        buf = rest;
    }
    parts
}

/// Threads for the row groups: candle's barrier pool's workers and this one.
pub(super) fn pool_threads() -> usize {
    candle_core::utils::barrier_pool().n_workers() + 1
}

/// Runs `f` on every item (thread `i` of `n` takes items `i`, `i + n`, …) on
/// candle's barrier pool: the same threads that run candle's elementwise
/// kernels, already started and spinning between ops. (rayon's pool, a
/// second set of threads, would compete with them for the cores.)
pub(super) fn each<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    if items.len() <= 1 {
        return items.into_iter().map(f).collect();
    }
    let pool = candle_core::utils::barrier_pool();
    let threads = pool.n_workers() + 1;
    let items: Vec<Mutex<Option<T>>> = items.into_iter().map(|i| Mutex::new(Some(i))).collect();
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    pool.execute(|tid| {
        for at in (tid..items.len()).step_by(threads) {
            if let Some(item) = items[at].lock().ok().and_then(|mut i| i.take()) {
                let r = f(item);
                *results[at].lock().expect("a row group's result") = Some(r);
            }
        }
    });
    results
        .into_iter()
        .map(|r| r.into_inner().ok().flatten().expect("every row group ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bach_engine::CoreKind;

    use super::super::op::{Dims, FusedRecurrence};

    /// The same op split into one or several row groups gives the same
    /// outputs and gradients (the parity tests run whatever the machine's
    /// thread count is; this covers the split itself).
    #[test]
    fn row_groups_do_not_change_the_result() {
        let close = |a: &[f32], b: &[f32], what: &str| {
            assert_eq!(a.len(), b.len(), "{what}");
            let scale = b.iter().fold(0f32, |m, v| m.max(v.abs()));
            for (x, y) in a.iter().zip(b) {
                assert!((x - y).abs() <= 1e-6 * scale, "{what}: {x} vs {y}");
            }
        };
        let mut seed = 1u32;
        let mut random = |n: usize| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect()
        };
        let (b, t, i, h) = (5, 7, 3, 4);
        for core in [CoreKind::Gru, CoreKind::Lstm, CoreKind::Tanh] {
            for x_grad in [false, true] {
                let op = FusedRecurrence {
                    core,
                    hidden: h,
                    keep: true,
                    x_grad,
                    saved: Mutex::new(Vec::new()),
                };
                let (gn, sh) = (op.gn(), op.sh());
                let d = Dims { t, i };
                let x = random(b * t * i);
                let s0 = random(b * sh);
                let w = random(gn * (h + 2 + i));
                let grad = random(b * t * sh);
                let run = |threads: usize| {
                    let (out, saved) = op.forward(&x, &s0, &w, b, d, threads);
                    let back = op.backward(&x, &s0, &w, &out, &grad, &saved, b, d, threads);
                    (out, back)
                };
                let (out1, (dx1, ds1, dw1)) = run(1);
                for threads in [2, 3, 8] {
                    let (out, (dx, ds, dw)) = run(threads);
                    close(&out, &out1, "outputs");
                    assert_eq!(dx.is_some(), x_grad);
                    if let (Some(a), Some(r)) = (&dx, &dx1) {
                        close(a, r, "d x");
                    }
                    close(&ds, &ds1, "d state0");
                    close(&dw, &dw1, "d weights");
                }
            }
        }
    }
}
