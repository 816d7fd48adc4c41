//! Initial weights: Xavier ("default"), orthogonal recurrent matrices, or the
//! limit-cycle initialisation of Sokół, Jordan, Kadile and Park (2019).
//!
//! Every matrix here is in the engine's layout (PyTorch's): gate blocks of
//! `H` rows stacked in the order r, z, n (GRU), i, f, g, o (LSTM) or a single
//! block (tanh RNN). Biases start at zero, so an untrained piano-roll model
//! says p = ½ for every key.
//!
//! ## Limit-cycle scales
//! The recurrent matrix `L` is block-diagonal with 2×2 blocks `s·R(θ)`,
//! θ = 0.2 + U(0,1) rad, s = 1 + 0.1·U(0,1). For a tanh RNN `W_hh = L`: the
//! linearisation at the origin is `L`, whose eigenvalues have modulus `s`, just
//! past 1, so each block is just past the bifurcation from a stable focus to a
//! limit cycle.
//!
//! For a GRU the candidate block of `W_hh` is `2·L'` and the reset and update
//! blocks are zero; at zero input r = z = ½, so `h' = ½·tanh(L'h) + ½·h`, whose
//! linearisation is `½(I + L')`. With `L' = L` only blocks with
//! s² + 2s·cosθ > 3 would be unstable, and with s ≤ 1.1 none is. **Our choice:**
//! each GRU block gets its own scale s' so that `½(1 + s'·e^{iθ})` has modulus
//! exactly `s`, i.e. s' = −cosθ + √(cos²θ − 1 + 4s²). The GRU's linearisation
//! then has the same moduli as the tanh RNN's (every block just past the
//! bifurcation), rotating by arg(1 + s'e^{iθ}) instead of θ.
//!
//! For an LSTM we put `2·L'` (the same `L'` as the GRU) in the cell-candidate
//! (g) block of `W_hh` and zero in the i, f and o blocks. At zero input all
//! gates are ½, `h = ½·tanh(c)`, and the cell update linearises to
//! `c' = ½c + ½·(2L')·½c = ½(I + L')c`: the same map as the GRU's.
//! An odd hidden size leaves one unit, which gets the 1×1 block `s` (`s'` with θ = 0).

use bach_engine::{CoreKind, Init, ModelMeta};

use crate::rng::{Rng, INIT_STREAM};

/// A named tensor in row-major order, as the engine's file format takes it.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

fn xavier(rows: usize, cols: usize, rng: &mut Rng, out: &mut [f32]) {
    let bound = (6.0 / (rows + cols) as f64).sqrt();
    for x in out.iter_mut().take(rows * cols) {
        *x = ((rng.uniform() * 2.0 - 1.0) * bound) as f32;
    }
}

/// A random `n × n` orthogonal matrix (Gram-Schmidt on a Gaussian matrix).
fn orthogonal(n: usize, rng: &mut Rng) -> Vec<f64> {
    let mut q: Vec<Vec<f64>> = Vec::with_capacity(n);
    while q.len() < n {
        let mut v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        // Twice is enough for numerical orthogonality.
        for _ in 0..2 {
            for u in &q {
                let d: f64 = u.iter().zip(&v).map(|(a, b)| a * b).sum();
                for (x, a) in v.iter_mut().zip(u) {
                    *x -= d * a;
                }
            }
        }
        let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm > 1e-6 {
            v.iter_mut().for_each(|x| *x /= norm);
            q.push(v);
        }
    }
    q.into_iter().flatten().collect()
}

/// The block-diagonal limit-cycle matrix for `core`, already multiplied by
/// the factor its gate needs (1 for tanh, 2 for the GRU and LSTM candidate).
fn limit_cycle(n: usize, core: CoreKind, rng: &mut Rng) -> Vec<f64> {
    let mut m = vec![0.0; n * n];
    let mut i = 0;
    while i < n {
        let theta = 0.2 + rng.uniform();
        let s = 1.0 + 0.1 * rng.uniform();
        let (scale, factor) = match core {
            CoreKind::Tanh => (s, 1.0),
            CoreKind::Gru | CoreKind::Lstm => (gated_scale(s, theta), 2.0),
        };
        if i + 1 < n {
            let (c, sn) = (theta.cos(), theta.sin());
            m[i * n + i] = factor * scale * c;
            m[i * n + i + 1] = -factor * scale * sn;
            m[(i + 1) * n + i] = factor * scale * sn;
            m[(i + 1) * n + i + 1] = factor * scale * c;
            i += 2;
        } else {
            let single = match core {
                CoreKind::Tanh => s,
                _ => gated_scale(s, 0.0),
            };
            m[i * n + i] = factor * single;
            i += 1;
        }
    }
    m
}

/// The scale s' for which `|½(1 + s'e^{iθ})| = s` (see the module notes).
pub fn gated_scale(s: f64, theta: f64) -> f64 {
    let c = theta.cos();
    -c + (c * c - 1.0 + 4.0 * s * s).sqrt()
}

/// Initial tensors for `meta`, in the order of `meta.tensor_shapes()`.
pub fn initial_tensors(meta: &ModelMeta, init: Init, seed: u64) -> Vec<NamedTensor> {
    let mut rng = Rng::derive(seed, &[INIT_STREAM]);
    let h = meta.hidden;
    let gates = meta.core.gates();
    meta.tensor_shapes()
        .into_iter()
        .map(|(name, shape)| {
            let mut data = vec![0.0f32; shape.iter().product()];
            if name.ends_with("weight_ih") {
                let cols = shape[1];
                for g in 0..gates {
                    xavier(h, cols, &mut rng, &mut data[g * h * cols..]);
                }
            } else if name.ends_with("weight_hh") {
                for g in 0..gates {
                    let block = &mut data[g * h * h..(g + 1) * h * h];
                    match init {
                        Init::Default => xavier(h, h, &mut rng, block),
                        Init::Orthogonal => {
                            for (x, y) in block.iter_mut().zip(orthogonal(h, &mut rng)) {
                                *x = y as f32;
                            }
                        }
                        Init::LimitCycle => {
                            // Only the candidate block: n for GRU (2), g for LSTM (2), the one tanh block.
                            let candidate = match meta.core {
                                CoreKind::Tanh => 0,
                                CoreKind::Gru | CoreKind::Lstm => 2,
                            };
                            if g == candidate {
                                for (x, y) in
                                    block.iter_mut().zip(limit_cycle(h, meta.core, &mut rng))
                                {
                                    *x = y as f32;
                                }
                            }
                        }
                    }
                }
            } else if name.ends_with(".weight") {
                xavier(shape[0], shape[1], &mut rng, &mut data);
            }
            (name, shape, data)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn orthogonal_is_orthogonal() {
        let n = 12;
        let q = orthogonal(n, &mut Rng::new(1));
        for i in 0..n {
            for j in 0..n {
                let d: f64 = (0..n).map(|k| q[i * n + k] * q[j * n + k]).sum();
                let want = if i == j { 1.0 } else { 0.0 };
                assert!((d - want).abs() < 1e-9, "{i} {j} {d}");
            }
        }
    }

    #[test]
    fn gated_scale_puts_gru_blocks_at_modulus_s() {
        for &(s, theta) in &[(1.0, 0.2), (1.05, 0.7), (1.1, 1.2)] {
            let sp = gated_scale(s, theta);
            let re = 0.5 * (1.0 + sp * f64::cos(theta));
            let im = 0.5 * sp * f64::sin(theta);
            assert!(((re * re + im * im).sqrt() - s).abs() < 1e-12);
        }
    }

    #[test]
    fn limit_cycle_gru_only_fills_candidate_block() {
        let mut meta = ModelMeta::pianoroll(CoreKind::Gru, 1, 6, 1.0);
        meta.init = Init::LimitCycle;
        let t = initial_tensors(&meta, Init::LimitCycle, 3);
        let whh = &t
            .iter()
            .find(|(n, _, _)| n == "core.0.weight_hh")
            .unwrap()
            .2;
        assert!(whh[..2 * 36].iter().all(|&x| x == 0.0));
        let n = &whh[2 * 36..];
        // Block diagonal: entry (0, 2) is outside every 2x2 block.
        assert_eq!(n[2], 0.0);
        let block_norm = (n[0] * n[0] + n[6] * n[6]).sqrt() / 2.0;
        assert!(block_norm > 1.0 && block_norm < 2.0, "{block_norm}");
        // Same seed, same weights.
        assert_eq!(t, initial_tensors(&meta, Init::LimitCycle, 3));
    }
}
