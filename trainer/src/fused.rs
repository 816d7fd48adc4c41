//! The fused recurrence: one candle op runs a layer's whole chunk of steps,
//! and its backward is back-propagation through time written by hand.
//!
//! Built from ordinary ops, every step of every layer costs a dozen small
//! tensors, each recorded for backward, and the per-step matrix products are
//! too small for the GEMM to pay off its set-up; that made a training step
//! about twice as slow as PyTorch's. Here the input projection of all steps is
//! one ordinary matrix product (autograd handles it), and only the recurrence
//! is a custom op over `(gates_x [T, B, G·H], state0 [B, S·H],
//! [W_hh | b_hh | b_ih] [G·H, H + 2])`. It returns `[T, B, S·H]`: each step's `h`,
//! and for the LSTM its cell `c` beside it (S = 2), so the carried state and
//! any gradient through the cells need nothing else. The forward keeps the
//! gate activations the backward needs.
//!
//! Each batch row's recurrence is independent of the others', so the CPU
//! threads split the batch and run whole chunks without meeting; each step's
//! product is then a single-threaded GEMM (the `gemm` crate candle's matmul
//! uses), and `W_hh`'s gradient is one product over all steps per thread.
//!
//! Maths and gate order are PyTorch's, as in [`crate::model`]'s unfused
//! cells, which stay the reference (`--recurrence unfused`). There is no CUDA
//! kernel: on a GPU the model uses the unfused ops.

use std::ops::Range;
use std::sync::Mutex;

use bach_engine::CoreKind;
use candle_core::{CpuStorage, CustomOp3, DType, Layout, Result, Shape, Storage, Tensor};

/// Which implementation of the recurrence a network runs.
#[derive(
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    serde::Serialize,
    serde::Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum Recurrence {
    /// One op per layer and chunk, with a hand-written backward (CPU only;
    /// on CUDA the unfused ops run instead).
    #[default]
    Fused,
    /// Candle's ops step by step: the reference.
    Unfused,
}

impl Recurrence {
    pub fn name(self) -> &'static str {
        match self {
            Recurrence::Fused => "fused",
            Recurrence::Unfused => "unfused",
        }
    }
}

/// Gate blocks per core: G in `W_hh`'s `[G·H, H]`.
pub fn gates(core: CoreKind) -> usize {
    match core {
        CoreKind::Tanh => 1,
        CoreKind::Gru => 3,
        CoreKind::Lstm => 4,
    }
}

/// State vectors per step: S (the LSTM carries `h` and `c`).
pub fn states(core: CoreKind) -> usize {
    match core {
        CoreKind::Lstm => 2,
        _ => 1,
    }
}

/// Runs one layer's recurrence over a chunk. `gates_x`: `[T, B, G·H]`, the
/// input projection `x·W_ihᵀ` (without its bias); `state0`: `[B, S·H]` (`h`,
/// then `c` for the LSTM); `w_hh`: `[G·H, H]`; `b_hh`, `b_ih`: `[G·H]`.
/// Returns `[T, B, S·H]`.
pub fn recurrence(
    core: CoreKind,
    gates_x: &Tensor,
    state0: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    b_ih: &Tensor,
) -> Result<Tensor> {
    let (_, _, gh) = gates_x.dims3()?;
    let hidden = gh / gates(core);
    // Both biases ride beside W_hh: the op adds b_ih as it reads gates_x and
    // sums its gradient over the rows itself, which is much cheaper than
    // candle's broadcast add over [T·B, G·H] and its backward.
    let w = Tensor::cat(&[w_hh, &b_hh.unsqueeze(1)?, &b_ih.unsqueeze(1)?], 1)?;
    let keep = gates_x.track_op() || state0.track_op() || w.track_op();
    gates_x.contiguous()?.apply_op3(
        &state0.contiguous()?,
        &w.contiguous()?,
        FusedRecurrence {
            core,
            hidden,
            keep,
            saved: Mutex::new(Vec::new()),
        },
    )
}

/// The op. `saved` holds, per step and row, what the backward needs beyond
/// the outputs: GRU `r, z, n, W_hn·h + b_hn`; LSTM `i, f, g, o`; tanh nothing.
struct FusedRecurrence {
    core: CoreKind,
    hidden: usize,
    /// Whether a backward can follow (else nothing is saved).
    keep: bool,
    saved: Mutex<Vec<f32>>,
}

/// e^x without a branch or a call (Cephes' `expf`: Cody–Waite reduction and a
/// degree-5 polynomial, within about 2 ulp), so the gate loops vectorize;
/// libm's `expf` and `tanhf` are calls the compiler cannot.
#[inline(always)]
fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // Round to nearest without `round` (which needs SSE4.1 to vectorize).
    const MAGIC: f32 = 12_582_912.0; // 1.5 · 2^23, whose bits are 0x4B40_0000
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from t's low bits, which hold n: integer ops only, no float-to-int cast.
    y * f32::from_bits(t.to_bits().wrapping_sub(0x4B40_0000).wrapping_add(127) << 23)
}

/// tanh through one `exp` (error about 1e-7 absolute, far inside the parity
/// tolerance). Beyond ±9 tanh rounds to ±1 in f32 anyway.
#[inline(always)]
fn tanh(x: f32) -> f32 {
    let e = exp(2.0 * x.clamp(-9.0, 9.0));
    (e - 1.0) / (e + 1.0)
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    // candle_nn's formula.
    (exp(-x) + 1.0).recip()
}

/// A contiguous f32 CPU tensor's numbers.
fn cpu_f32<'a>(s: &'a CpuStorage, l: &Layout) -> Result<&'a [f32]> {
    let CpuStorage::F32(v) = s else {
        candle_core::bail!("the fused recurrence runs on f32 only");
    };
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&v[a..b]),
        None => candle_core::bail!("the fused recurrence needs contiguous tensors"),
    }
}

fn storage_f32<'a>(s: &'a Storage, l: &Layout) -> Result<&'a [f32]> {
    match s {
        Storage::Cpu(c) => cpu_f32(c, l),
        _ => candle_core::bail!("the fused recurrence runs on the CPU only"),
    }
}

/// A matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
struct Mat<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl Mat<'_> {
    fn fits(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `dst[m×n]` (row stride `dst_rs`) = `dst` (when `accumulate`, else 0) + `a[m×k]·b[k×n]`,
/// with the `gemm` crate candle's own CPU matmul uses. (BLAS's argument list.)
#[allow(clippy::too_many_arguments)]
fn gemm(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    dst_rs: usize,
    accumulate: bool,
    a: Mat,
    b: Mat,
) {
    if m == 0 || n == 0 {
        return;
    }
    // The bounds the unsafe call relies on.
    assert!(a.fits(m, k) && b.fits(k, n));
    assert!((m - 1) * dst_rs + n <= dst.len());
    if k == 0 {
        if !accumulate {
            for row in 0..m {
                dst[row * dst_rs..row * dst_rs + n].fill(0.0);
            }
        }
        return;
    }
    // SAFETY: every index the product touches is in bounds (checked above),
    // and `dst` is borrowed mutably, so it aliases neither input.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            dst_rs as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            // The threads split the batch (see `row_groups`), not the products.
            gemm::Parallelism::None,
        )
    }
}

/// The rows of the batch each thread takes: every row's recurrence is
/// independent of the others', so the threads never meet within a chunk.
fn row_groups(b: usize) -> Vec<Range<usize>> {
    let n = candle_core::utils::get_num_threads().clamp(1, b.max(1));
    (0..n).map(|i| i * b / n..(i + 1) * b / n).collect()
}

/// Runs `f` on every group, on its own thread when there are several.
fn each_group<R: Send>(groups: &[Range<usize>], f: impl Fn(Range<usize>) -> R + Sync) -> Vec<R> {
    if groups.len() == 1 {
        return vec![f(groups[0].clone())];
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = groups
            .iter()
            .map(|g| {
                let f = &f;
                let g = g.clone();
                scope.spawn(move || f(g))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a fused recurrence thread panicked"))
            .collect()
    })
}

/// Copies a group's `[T, rows, width]` block into its rows of `[T, B, width]`.
fn scatter(dst: &mut [f32], src: &[f32], t: usize, b: usize, rows: &Range<usize>, width: usize) {
    let n = rows.len() * width;
    for step in 0..t {
        dst[(step * b + rows.start) * width..][..n].copy_from_slice(&src[step * n..][..n]);
    }
}

impl FusedRecurrence {
    /// Runs the chunk: returns the outputs `[T, B, S·H]` and what backward needs.
    fn forward(
        &self,
        gx: &[f32],
        s0: &[f32],
        w: &[f32],
        t: usize,
        b: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let h = self.hidden;
        let sh = states(self.core) * h;
        let groups = row_groups(b);
        let parts = each_group(&groups, |rows| self.forward_rows(gx, s0, w, t, b, rows));
        if groups.len() == 1 {
            return parts.into_iter().next().expect("one group");
        }
        let mut out = vec![0f32; t * b * sh];
        let save = !parts[0].1.is_empty();
        let mut saved = vec![0f32; if save { t * b * 4 * h } else { 0 }];
        for (rows, (o, sv)) in groups.iter().zip(&parts) {
            scatter(&mut out, o, t, b, rows, sh);
            if save {
                scatter(&mut saved, sv, t, b, rows, 4 * h);
            }
        }
        (out, saved)
    }

    /// [`FusedRecurrence::forward`] for batch rows `rows`: `[T, rows, S·H]`
    /// outputs and `[T, rows, 4·H]` saved activations.
    fn forward_rows(
        &self,
        gx: &[f32],
        s0: &[f32],
        w: &[f32],
        t: usize,
        b: usize,
        rows: Range<usize>,
    ) -> (Vec<f32>, Vec<f32>) {
        let h = self.hidden;
        let gn = gates(self.core) * h;
        let sh = states(self.core) * h;
        let wr = h + 2;
        let bg = rows.len();
        let step_out = bg * sh;
        let mut out = vec![0f32; t * step_out];
        let save = self.keep && self.core != CoreKind::Tanh;
        let mut saved = vec![0f32; if save { t * bg * 4 * h } else { 0 }];
        let mut gh = vec![0f32; bg * gn];
        // Where a row's gate activations go when nothing is kept for backward.
        let mut scratch = vec![0f32; 4 * h];
        // W_hhᵀ: element (k, j) is W_hh[j, k].
        let w_t = Mat {
            data: w,
            rs: 1,
            cs: wr,
        };
        let s0 = &s0[rows.start * sh..rows.end * sh];
        // b_hh + b_ih, except the GRU's n block, where b_in stays outside r·(…).
        let gru = self.core == CoreKind::Gru;
        let bias: Vec<f32> = (0..gn)
            .map(|j| {
                w[j * wr + h]
                    + if gru && j >= 2 * h {
                        0.0
                    } else {
                        w[j * wr + h + 1]
                    }
            })
            .collect();
        let b_in: Vec<f32> = if gru {
            (2 * h..gn).map(|j| w[j * wr + h + 1]).collect()
        } else {
            Vec::new()
        };
        for step in 0..t {
            let (done, rest) = out.split_at_mut(step * step_out);
            let prev: &[f32] = if step == 0 {
                s0
            } else {
                &done[(step - 1) * step_out..]
            };
            let cur = &mut rest[..step_out];
            // gh = bias + h_prev · W_hhᵀ
            for row in gh.chunks_mut(gn) {
                row.copy_from_slice(&bias);
            }
            let h_prev = Mat {
                data: prev,
                rs: sh,
                cs: 1,
            };
            gemm(bg, gn, h, &mut gh, gn, true, h_prev, w_t);
            for r in 0..bg {
                let x = &gx[(step * b + rows.start + r) * gn..][..gn];
                let g = &gh[r * gn..][..gn];
                let p = &prev[r * sh..][..sh];
                let o = &mut cur[r * sh..][..sh];
                let sv = if save {
                    &mut saved[(step * bg + r) * 4 * h..][..4 * h]
                } else {
                    &mut [][..]
                };
                match self.core {
                    CoreKind::Tanh => {
                        for j in 0..h {
                            o[j] = tanh(x[j] + g[j]);
                        }
                    }
                    CoreKind::Gru => {
                        // Slices of exactly h, so the loop has no bounds checks and vectorizes.
                        let (xr, xz, xn) = (&x[..h], &x[h..2 * h], &x[2 * h..3 * h]);
                        let (gr, gz, gn_) = (&g[..h], &g[h..2 * h], &g[2 * h..3 * h]);
                        let (bn, hp, o) = (&b_in[..h], &p[..h], &mut o[..h]);
                        let sv = if save { sv } else { &mut scratch[..] };
                        let (sr, rest) = sv.split_at_mut(h);
                        let (sz, rest) = rest.split_at_mut(h);
                        let (sn, sg) = rest.split_at_mut(h);
                        let (sz, sn, sg) = (&mut sz[..h], &mut sn[..h], &mut sg[..h]);
                        for j in 0..h {
                            let rr = sigmoid(xr[j] + gr[j]);
                            let z = sigmoid(xz[j] + gz[j]);
                            let ghn = gn_[j];
                            let n = tanh(xn[j] + bn[j] + rr * ghn);
                            o[j] = n + z * (hp[j] - n);
                            sr[j] = rr;
                            sz[j] = z;
                            sn[j] = n;
                            sg[j] = ghn;
                        }
                    }
                    CoreKind::Lstm => {
                        for j in 0..h {
                            let i = sigmoid(x[j] + g[j]);
                            let f = sigmoid(x[h + j] + g[h + j]);
                            let cand = tanh(x[2 * h + j] + g[2 * h + j]);
                            let og = sigmoid(x[3 * h + j] + g[3 * h + j]);
                            let c = f * p[h + j] + i * cand;
                            o[j] = og * tanh(c);
                            o[h + j] = c;
                            if save {
                                sv[j] = i;
                                sv[h + j] = f;
                                sv[2 * h + j] = cand;
                                sv[3 * h + j] = og;
                            }
                        }
                    }
                }
            }
        }
        (out, saved)
    }

    /// Back-propagation through the chunk. `out`: the forward's outputs;
    /// `grad`: their gradient. Returns the gradients of `gates_x`, `state0`
    /// and `[W_hh | b_hh]`.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        s0: &[f32],
        w: &[f32],
        out: &[f32],
        grad: &[f32],
        saved: &[f32],
        t: usize,
        b: usize,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let h = self.hidden;
        let gn = gates(self.core) * h;
        let sh = states(self.core) * h;
        let groups = row_groups(b);
        let mut parts = each_group(&groups, |rows| {
            self.backward_rows(s0, w, out, grad, saved, t, b, rows)
        });
        if groups.len() == 1 {
            return parts.pop().expect("one group");
        }
        let mut d_gx = vec![0f32; t * b * gn];
        let mut d_s0 = vec![0f32; b * sh];
        let mut d_w = vec![0f32; gn * (h + 2)];
        for (rows, (dx, ds, dw)) in groups.iter().zip(&parts) {
            scatter(&mut d_gx, dx, t, b, rows, gn);
            d_s0[rows.start * sh..rows.end * sh].copy_from_slice(ds);
            for (a, v) in d_w.iter_mut().zip(dw) {
                *a += v;
            }
        }
        (d_gx, d_s0, d_w)
    }

    /// [`FusedRecurrence::backward`] for batch rows `rows`: the gradients of
    /// their `gates_x` (`[T, rows, G·H]`) and `state0` (`[rows, S·H]`), and
    /// their share of `[W_hh | b_hh]`'s.
    #[allow(clippy::too_many_arguments)]
    fn backward_rows(
        &self,
        s0: &[f32],
        w: &[f32],
        out: &[f32],
        grad: &[f32],
        saved: &[f32],
        t: usize,
        b: usize,
        rows: Range<usize>,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let h = self.hidden;
        let gn = gates(self.core) * h;
        let sh = states(self.core) * h;
        let wr = h + 2;
        let bg = rows.len();
        let gru = self.core == CoreKind::Gru;
        let lstm = self.core == CoreKind::Lstm;
        let mut d_gx = vec![0f32; t * bg * gn];
        // The GRU's n block reaches W_hn·h through r, so its recurrent
        // gradient differs from its input gradient; the others share one.
        let mut d_gh = vec![0f32; if gru { t * bg * gn } else { 0 }];
        let mut dh_next = vec![0f32; bg * h];
        let mut dc_next = vec![0f32; if lstm { bg * h } else { 0 }];
        // W_hh without its bias column: element (j, k) is W_hh[j, k].
        let w_hh = Mat {
            data: w,
            rs: wr,
            cs: 1,
        };
        // Row `r` of this group at `step` in a `[T, B, width]` tensor.
        let at = |step: usize, r: usize, width: usize| (step * b + rows.start + r) * width;
        for step in (0..t).rev() {
            let dx_step = &mut d_gx[step * bg * gn..][..bg * gn];
            for r in 0..bg {
                let p = if step == 0 {
                    &s0[(rows.start + r) * sh..][..sh]
                } else {
                    &out[at(step - 1, r, sh)..][..sh]
                };
                let o = &out[at(step, r, sh)..][..sh];
                let d = &grad[at(step, r, sh)..][..sh];
                let dx = &mut dx_step[r * gn..][..gn];
                let dhn = &mut dh_next[r * h..][..h];
                match self.core {
                    CoreKind::Tanh => {
                        for j in 0..h {
                            let dh = d[j] + dhn[j];
                            dx[j] = dh * (1.0 - o[j] * o[j]);
                        }
                    }
                    CoreKind::Gru => {
                        let sv = &saved[at(step, r, 4 * h)..][..4 * h];
                        let dg = &mut d_gh[(step * bg + r) * gn..][..gn];
                        // Slices of exactly h, so the loop has no bounds checks and vectorizes.
                        let (sr, sz, sn, sg) = (
                            &sv[..h],
                            &sv[h..2 * h],
                            &sv[2 * h..3 * h],
                            &sv[3 * h..4 * h],
                        );
                        let (d, hp, dhn) = (&d[..h], &p[..h], &mut dhn[..h]);
                        let (dxr, rest) = dx.split_at_mut(h);
                        let (dxz, dxn) = rest.split_at_mut(h);
                        let (dxz, dxn) = (&mut dxz[..h], &mut dxn[..h]);
                        let (dgr, rest) = dg.split_at_mut(h);
                        let (dgz, dgn) = rest.split_at_mut(h);
                        let (dgz, dgn) = (&mut dgz[..h], &mut dgn[..h]);
                        for j in 0..h {
                            let dh = d[j] + dhn[j];
                            let (rr, z, n, ghn) = (sr[j], sz[j], sn[j], sg[j]);
                            let dz = dh * (hp[j] - n);
                            let dn = dh * (1.0 - z);
                            let dnp = dn * (1.0 - n * n);
                            let drp = dnp * ghn * rr * (1.0 - rr);
                            let dzp = dz * z * (1.0 - z);
                            dxr[j] = drp;
                            dxz[j] = dzp;
                            dxn[j] = dnp;
                            dgr[j] = drp;
                            dgz[j] = dzp;
                            dgn[j] = dnp * rr;
                            // The direct path h' = … + z·h; the product with W_hh adds the rest.
                            dhn[j] = dh * z;
                        }
                    }
                    CoreKind::Lstm => {
                        let sv = &saved[at(step, r, 4 * h)..][..4 * h];
                        let dcn = &mut dc_next[r * h..][..h];
                        for j in 0..h {
                            let dh = d[j] + dhn[j];
                            let (i, f, cand, og) = (sv[j], sv[h + j], sv[2 * h + j], sv[3 * h + j]);
                            let tc = tanh(o[h + j]);
                            let dc = d[h + j] + dcn[j] + dh * og * (1.0 - tc * tc);
                            dx[j] = dc * cand * i * (1.0 - i);
                            dx[h + j] = dc * p[h + j] * f * (1.0 - f);
                            dx[2 * h + j] = dc * i * (1.0 - cand * cand);
                            dx[3 * h + j] = dh * tc * og * (1.0 - og);
                            dcn[j] = dc * f;
                        }
                    }
                }
            }
            // dh_prev (+)= d_gh · W_hh
            let dg = if gru {
                &d_gh[step * bg * gn..][..bg * gn]
            } else {
                &d_gx[step * bg * gn..][..bg * gn]
            };
            let dg = Mat {
                data: dg,
                rs: gn,
                cs: 1,
            };
            gemm(bg, h, gn, &mut dh_next, h, gru, dg, w_hh);
        }
        let mut d_s0 = vec![0f32; bg * sh];
        for r in 0..bg {
            d_s0[r * sh..r * sh + h].copy_from_slice(&dh_next[r * h..][..h]);
            if lstm {
                d_s0[r * sh + h..r * sh + 2 * h].copy_from_slice(&dc_next[r * h..][..h]);
            }
        }
        // d[W_hh | b_hh] = Σ_t d_ghᵀ · [h_prev | 1]: one product over all steps.
        let dg_all = if gru { &d_gh } else { &d_gx };
        let mut h_prev = vec![0f32; t * bg * h];
        for step in 0..t {
            for r in 0..bg {
                let src = if step == 0 {
                    &s0[(rows.start + r) * sh..][..h]
                } else {
                    &out[at(step - 1, r, sh)..][..h]
                };
                h_prev[(step * bg + r) * h..][..h].copy_from_slice(src);
            }
        }
        let mut d_w = vec![0f32; gn * wr];
        gemm(
            gn,
            h,
            t * bg,
            &mut d_w,
            wr,
            false,
            Mat {
                data: dg_all,
                rs: 1,
                cs: gn,
            },
            Mat {
                data: &h_prev,
                rs: h,
                cs: 1,
            },
        );
        // The biases: b_hh's gradient is the recurrent one's sum, b_ih's the input one's.
        // Summed into contiguous rows first (that vectorizes; the columns are strided).
        let column_sums = |m: &[f32]| {
            let mut acc = vec![0f32; gn];
            for row in m.chunks(gn) {
                for (a, v) in acc.iter_mut().zip(row) {
                    *a += v;
                }
            }
            acc
        };
        for (j, (bh, bi)) in column_sums(dg_all)
            .into_iter()
            .zip(column_sums(&d_gx))
            .enumerate()
        {
            d_w[j * wr + h] = bh;
            d_w[j * wr + h + 1] = bi;
        }
        (d_gx, d_s0, d_w)
    }

    fn check(&self, gx: &[usize], s0: &[usize], w: &[usize]) -> Result<(usize, usize)> {
        let h = self.hidden;
        let gn = gates(self.core) * h;
        let sh = states(self.core) * h;
        match (gx, s0, w) {
            ([t, b, g], [b2, s], [g2, c])
                if *g == gn && *b2 == *b && *s == sh && *g2 == gn && *c == h + 2 =>
            {
                Ok((*t, *b))
            }
            _ => candle_core::bail!(
                "fused {:?} recurrence of {h}: unexpected shapes {gx:?}, {s0:?}, {w:?}",
                self.core
            ),
        }
    }
}

impl CustomOp3 for FusedRecurrence {
    fn name(&self) -> &'static str {
        "fused-recurrence"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (t, b) = self.check(l1.dims(), l2.dims(), l3.dims())?;
        let (out, saved) = self.forward(cpu_f32(s1, l1)?, cpu_f32(s2, l2)?, cpu_f32(s3, l3)?, t, b);
        if self.keep {
            *self.saved.lock().expect("the saved activations' lock") = saved;
        }
        let sh = states(self.core) * self.hidden;
        Ok((CpuStorage::F32(out), Shape::from((t, b, sh))))
    }

    fn bwd(
        &self,
        gx: &Tensor,
        s0: &Tensor,
        w: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (t, b) = self.check(gx.dims(), s0.dims(), w.dims())?;
        if grad_res.dtype() != DType::F32 {
            candle_core::bail!("the fused recurrence runs on f32 only");
        }
        let grad_res = grad_res.contiguous()?;
        let (d_gx, d_s0, d_w) = {
            let (s0g, s0l) = s0.storage_and_layout();
            let (wg, wl) = w.storage_and_layout();
            let (og, ol) = res.storage_and_layout();
            let (gg, gl) = grad_res.storage_and_layout();
            let saved = self.saved.lock().expect("the saved activations' lock");
            let want = if self.core == CoreKind::Tanh {
                0
            } else {
                t * b * 4 * self.hidden
            };
            if saved.len() != want {
                candle_core::bail!("the fused recurrence kept no activations for its backward");
            }
            self.backward(
                storage_f32(&s0g, s0l)?,
                storage_f32(&wg, wl)?,
                storage_f32(&og, ol)?,
                storage_f32(&gg, gl)?,
                &saved,
                t,
                b,
            )
        };
        let dev = gx.device();
        Ok((
            Some(Tensor::from_vec(d_gx, gx.shape(), dev)?),
            Some(Tensor::from_vec(d_s0, s0.shape(), dev)?),
            Some(Tensor::from_vec(d_w, w.shape(), dev)?),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_branch_free_exp_tanh_and_sigmoid_are_accurate() {
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-4; // -100 to 100
            let xd = x as f64;
            if (-87.0..=88.0).contains(&x) {
                let rel = (exp(x) as f64 - xd.exp()).abs() / xd.exp();
                assert!(rel < 3e-7, "exp({x}): {rel}");
            }
            assert!((tanh(x) as f64 - xd.tanh()).abs() < 3e-7, "tanh({x})");
            let s = 1.0 / (1.0 + (-xd).exp());
            assert!((sigmoid(x) as f64 - s).abs() < 3e-7, "sigmoid({x})");
        }
        assert_eq!(tanh(1e30), 1.0);
        assert_eq!(tanh(-1e30), -1.0);
        assert!(sigmoid(1e30) == 1.0 && sigmoid(-1e30) >= 0.0);
    }
}
