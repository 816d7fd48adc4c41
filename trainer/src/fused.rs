//! The fused recurrence: one candle op runs a layer's whole chunk of steps,
//! input projection included, and its backward is back-propagation through
//! time written by hand.
//!
//! Built from ordinary ops, every step of every layer costs a dozen small
//! tensors, each recorded for backward, and the per-step matrix products are
//! too small for the GEMM to pay off its set-up; that made a training step
//! about twice as slow as PyTorch's. Here a layer is one custom op over
//! `(x [B, T, I], state0 [B, S·H], [W_hh | b_hh | b_ih | W_ih] [G·H, H + 2 + I])`.
//! It returns `[B, T, S·H]`: each step's `h`, and for the LSTM its cell `c`
//! beside it (S = 2), so the carried state and any gradient through the cells
//! need nothing else. The forward keeps the gate activations the backward
//! needs. The input projection lives inside the op too, rather than as a
//! candle matmul: candle's backward would compute the gradient of the data
//! below the first layer, which nothing needs, and allocate and add a
//! zero-filled gradient for every intermediate tensor.
//!
//! The layout is batch-major, so each batch row's steps are contiguous. Each
//! row's recurrence is independent of the others', so the CPU threads split
//! the batch and run a whole chunk without meeting, every thread over its own
//! contiguous block of every buffer: its rows' input projection, weight
//! gradients and input gradients are each one single-threaded product (the
//! `gemm` crate candle's matmul uses) and only the per-step products remain
//! small. The threads are candle's barrier pool, the ones that run its
//! elementwise kernels, already started and spinning between ops (a second
//! pool, such as rayon's, would compete with them for the cores), and each
//! thread's scratch buffers are kept between calls, so a training step
//! neither starts threads nor faults in fresh pages for them.
//!
//! Maths and gate order are PyTorch's, as in [`crate::model`]'s unfused
//! cells, which stay the reference (`--recurrence unfused`). There is no CUDA
//! kernel: on a GPU the model uses the unfused ops.

use std::cell::RefCell;
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

/// Runs one layer over a chunk. `x`: `[B, T, I]`, the layer's inputs;
/// `state0`: `[B, S·H]` (`h`, then `c` for the LSTM); `w_ih`: `[G·H, I]`;
/// `w_hh`: `[G·H, H]`; `b_hh`, `b_ih`: `[G·H]`. Returns `[B, T, S·H]`.
pub fn recurrence(
    core: CoreKind,
    x: &Tensor,
    state0: &Tensor,
    w_ih: &Tensor,
    w_hh: &Tensor,
    b_hh: &Tensor,
    b_ih: &Tensor,
) -> Result<Tensor> {
    let (gh, hidden) = w_hh.dims2()?;
    if gh != gates(core) * hidden {
        candle_core::bail!("fused {core:?} recurrence: W_hh is {gh}×{hidden}");
    }
    // All weights in one tensor (a custom op takes three): the biases ride
    // beside W_hh, and the op adds them itself and sums their gradients,
    // much cheaper than candle's broadcast add over [B·T, G·H] and its backward.
    let w = Tensor::cat(&[w_hh, &b_hh.unsqueeze(1)?, &b_ih.unsqueeze(1)?, w_ih], 1)?;
    let keep = x.track_op() || state0.track_op() || w.track_op();
    x.contiguous()?.apply_op3(
        &state0.contiguous()?,
        &w.contiguous()?,
        FusedRecurrence {
            core,
            hidden,
            keep,
            x_grad: x.track_op(),
            saved: Mutex::new(Vec::new()),
        },
    )
}

/// The op. `saved` holds, per row and step (`[B, T, 4·H]`), what the
/// backward needs beyond the outputs: GRU `r, z, n, W_hn·h + b_hn`; LSTM
/// `i, f, g, o`; tanh nothing.
struct FusedRecurrence {
    core: CoreKind,
    hidden: usize,
    /// Whether a backward can follow (else nothing is saved).
    keep: bool,
    /// Whether the inputs need their gradient (not the data under the first layer).
    x_grad: bool,
    saved: Mutex<Vec<f32>>,
}

impl Drop for FusedRecurrence {
    fn drop(&mut self) {
        let saved = std::mem::take(self.saved.get_mut().unwrap_or_else(|e| e.into_inner()));
        give_back_saved(saved);
    }
}

/// Spare buffers for the saved activations: the largest buffer a step makes,
/// dropped with the graph after every backward. Reusing them saves faulting
/// in fresh pages each time.
static SAVED_SPARE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

fn saved_buffer(len: usize) -> Vec<f32> {
    let spare = SAVED_SPARE
        .lock()
        .ok()
        .and_then(|mut s| best_fit(&mut s, len));
    // Every entry is written by the forward before the backward reads it.
    reuse(spare, len, false)
}

fn give_back_saved(v: Vec<f32>) {
    if v.capacity() == 0 {
        return;
    }
    if let Ok(mut s) = SAVED_SPARE.lock() {
        // One per layer of the deepest model.
        if s.len() < 3 {
            s.push(v);
        }
    }
}

/// `len` numbers in `spare`'s memory when it has any: zeros when `zeroed`,
/// else whatever was there (for buffers the caller fills entirely, which
/// saves clearing megabytes per call).
fn reuse(spare: Option<Vec<f32>>, len: usize, zeroed: bool) -> Vec<f32> {
    match spare {
        Some(mut v) => {
            if zeroed {
                v.clear();
            }
            v.truncate(len);
            v.resize(len, 0.0);
            v
        }
        None => vec![0.0; len],
    }
}

/// Takes from `spare` the smallest buffer that holds `len` numbers, or else
/// the largest (to grow).
fn best_fit(spare: &mut Vec<Vec<f32>>, len: usize) -> Option<Vec<f32>> {
    let fits = (0..spare.len())
        .filter(|&i| spare[i].capacity() >= len)
        .min_by_key(|&i| spare[i].capacity());
    let at = fits.or_else(|| (0..spare.len()).max_by_key(|&i| spare[i].capacity()))?;
    Some(spare.swap_remove(at))
}

/// Scratch buffers a thread keeps: as many as a backward pass uses at once.
const SCRATCH_KEPT: usize = 5;

thread_local! {
    /// This thread's scratch buffers, kept between calls.
    static SCRATCH: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// `len` zeros from this thread's scratch.
fn scratch(len: usize) -> Vec<f32> {
    reuse(
        SCRATCH.with(|s| best_fit(&mut s.borrow_mut(), len)),
        len,
        true,
    )
}

/// `len` numbers of any value from this thread's scratch, for a buffer the
/// caller fills entirely before reading it.
fn scratch_to_fill(len: usize) -> Vec<f32> {
    reuse(
        SCRATCH.with(|s| best_fit(&mut s.borrow_mut(), len)),
        len,
        false,
    )
}

fn give_back(v: Vec<f32>) {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < SCRATCH_KEPT {
            s.push(v);
        }
    });
}

/// The rows of the batch each thread takes: every row's recurrence is
/// independent of the others', so the threads never meet within a chunk.
fn row_groups(b: usize, threads: usize) -> Vec<Range<usize>> {
    let n = threads.clamp(1, b.max(1));
    (0..n).map(|i| i * b / n..(i + 1) * b / n).collect()
}

/// Splits `buf` (`width` numbers per batch row) into the groups' blocks.
fn split_rows<'a>(
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
fn pool_threads() -> usize {
    candle_core::utils::barrier_pool().n_workers() + 1
}

/// Runs `f` on every item (thread `i` of `n` takes items `i`, `i + n`, …) on
/// candle's barrier pool: the same threads that run candle's elementwise
/// kernels, already started and spinning between ops. (rayon's pool, a
/// second set of threads, would compete with them for the cores.)
fn each<T: Send, R: Send>(items: Vec<T>, f: impl Fn(T) -> R + Sync) -> Vec<R> {
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

/// The sizes of one call.
#[derive(Clone, Copy)]
struct Dims {
    /// Steps.
    t: usize,
    /// Inputs per step.
    i: usize,
}

impl FusedRecurrence {
    fn gn(&self) -> usize {
        gates(self.core) * self.hidden
    }

    fn sh(&self) -> usize {
        states(self.core) * self.hidden
    }

    /// Whether the forward keeps activations.
    fn saves(&self) -> bool {
        self.keep && self.core != CoreKind::Tanh
    }

    /// Runs the chunk: returns the outputs `[B, T, S·H]` and what backward
    /// needs, with the batch split into `threads` groups.
    fn forward(
        &self,
        x: &[f32],
        s0: &[f32],
        w: &[f32],
        b: usize,
        d: Dims,
        threads: usize,
    ) -> (Vec<f32>, Vec<f32>) {
        let (h, sh) = (self.hidden, self.sh());
        let groups = row_groups(b, threads);
        let mut out = vec![0f32; b * d.t * sh];
        let mut saved = if self.saves() {
            saved_buffer(b * d.t * 4 * h)
        } else {
            Vec::new()
        };
        let saved_width = if self.saves() { d.t * 4 * h } else { 0 };
        let work: Vec<_> = groups
            .iter()
            .cloned()
            .zip(split_rows(&mut out, &groups, d.t * sh))
            .zip(split_rows(&mut saved, &groups, saved_width))
            .collect();
        each(work, |((rows, out), saved)| {
            let x = &x[rows.start * d.t * d.i..rows.end * d.t * d.i];
            let s0 = &s0[rows.start * sh..rows.end * sh];
            self.forward_rows(x, s0, w, rows.len(), d, out, saved)
        });
        (out, saved)
    }

    /// [`FusedRecurrence::forward`] for a group of `bg` rows: `x`
    /// `[bg, T, I]`, `s0` `[bg, S·H]`; writes `out` `[bg, T, S·H]` and, when
    /// not empty, `saved` `[bg, T, 4·H]`.
    #[allow(clippy::too_many_arguments)]
    fn forward_rows(
        &self,
        x: &[f32],
        s0: &[f32],
        w: &[f32],
        bg: usize,
        d: Dims,
        out: &mut [f32],
        saved: &mut [f32],
    ) {
        let (h, gn, sh, t) = (self.hidden, self.gn(), self.sh(), d.t);
        let wr = h + 2 + d.i;
        let gru = self.core == CoreKind::Gru;
        let save = !saved.is_empty();
        // gx = x·W_ihᵀ + b_ih + b_hh, except the GRU's n block, where b_hn
        // stays with W_hn·h inside r·(…): one product for all the group's steps.
        let mut gx = scratch_to_fill(bg * t * gn);
        let x_bias: Vec<f32> = (0..gn)
            .map(|j| {
                w[j * wr + h + 1]
                    + if gru && j >= 2 * h {
                        0.0
                    } else {
                        w[j * wr + h]
                    }
            })
            .collect();
        let h_bias: Vec<f32> = (0..gn)
            .map(|j| {
                if gru && j >= 2 * h {
                    w[j * wr + h]
                } else {
                    0.0
                }
            })
            .collect();
        for row in gx.chunks_mut(gn) {
            row.copy_from_slice(&x_bias);
        }
        // W_ihᵀ: element (k, j) is W_ih[j, k].
        let w_ih_t = Mat {
            data: &w[h + 2..],
            rs: 1,
            cs: wr,
        };
        let xs = Mat {
            data: x,
            rs: d.i,
            cs: 1,
        };
        gemm(bg * t, gn, d.i, &mut gx, gn, true, xs, w_ih_t);
        // W_hhᵀ, copied row-major ([H, G·H]) once for all steps: the GEMM
        // reads it in place, where the strided view of W_hh inside `w` made
        // it repack the whole matrix for every step's product.
        let mut w_hh_t_data = scratch_to_fill(h * gn);
        for (j, row) in w.chunks(wr).enumerate().take(gn) {
            for (k, &v) in row[..h].iter().enumerate() {
                w_hh_t_data[k * gn + j] = v;
            }
        }
        let w_hh_t = Mat::rows(&w_hh_t_data, gn);
        let mut gh = scratch_to_fill(bg * gn);
        // The state before and after the step, rows contiguous for the product.
        let mut prev = scratch_to_fill(bg * sh);
        prev.copy_from_slice(s0);
        let mut cur = scratch_to_fill(bg * sh);
        // Where a row's gate activations go when nothing is kept for backward.
        let mut unsaved = vec![0f32; 4 * h];
        for step in 0..t {
            // gh = [0 | 0 | b_hn] + h_prev · W_hhᵀ
            for row in gh.chunks_mut(gn) {
                row.copy_from_slice(&h_bias);
            }
            let h_prev = Mat {
                data: &prev,
                rs: sh,
                cs: 1,
            };
            gemm(bg, gn, h, &mut gh, gn, true, h_prev, w_hh_t);
            for r in 0..bg {
                let at = r * t + step;
                let x = &gx[at * gn..][..gn];
                let g = &gh[r * gn..][..gn];
                let p = &prev[r * sh..][..sh];
                let o = &mut cur[r * sh..][..sh];
                let sv = if save {
                    &mut saved[at * 4 * h..][..4 * h]
                } else {
                    &mut unsaved[..]
                };
                match self.core {
                    CoreKind::Tanh => {
                        let (x, g, o) = (&x[..h], &g[..h], &mut o[..h]);
                        for j in 0..h {
                            o[j] = tanh(x[j] + g[j]);
                        }
                    }
                    CoreKind::Gru => {
                        // Slices of exactly h, so the loop has no bounds checks and vectorizes.
                        let (xr, xz, xn) = (&x[..h], &x[h..2 * h], &x[2 * h..3 * h]);
                        let (gr, gz, gn_) = (&g[..h], &g[h..2 * h], &g[2 * h..3 * h]);
                        let (hp, o) = (&p[..h], &mut o[..h]);
                        let (sr, rest) = sv.split_at_mut(h);
                        let (sz, rest) = rest.split_at_mut(h);
                        let (sn, sg) = rest.split_at_mut(h);
                        let (sz, sn, sg) = (&mut sz[..h], &mut sn[..h], &mut sg[..h]);
                        for j in 0..h {
                            let rr = sigmoid(xr[j] + gr[j]);
                            let z = sigmoid(xz[j] + gz[j]);
                            let ghn = gn_[j];
                            let n = tanh(xn[j] + rr * ghn);
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
                            sv[j] = i;
                            sv[h + j] = f;
                            sv[2 * h + j] = cand;
                            sv[3 * h + j] = og;
                        }
                    }
                }
                out[at * sh..][..sh].copy_from_slice(o);
            }
            std::mem::swap(&mut prev, &mut cur);
        }
        for v in [gx, gh, prev, cur, w_hh_t_data] {
            give_back(v);
        }
    }

    /// Back-propagation through the chunk. `out`: the forward's outputs;
    /// `grad`: their gradient. Returns the gradients of `x` (when it needs
    /// one), `state0` and the weights `[W_hh | b_hh | b_ih | W_ih]`, with the
    /// batch split into `threads` groups.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        x: &[f32],
        s0: &[f32],
        w: &[f32],
        out: &[f32],
        grad: &[f32],
        saved: &[f32],
        b: usize,
        d: Dims,
        threads: usize,
    ) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
        let (h, sh, t) = (self.hidden, self.sh(), d.t);
        let groups = row_groups(b, threads);
        let mut d_x = if self.x_grad {
            vec![0f32; b * t * d.i]
        } else {
            Vec::new()
        };
        let mut d_s0 = vec![0f32; b * sh];
        let dx_width = if self.x_grad { t * d.i } else { 0 };
        let saved_width = if saved.is_empty() { 0 } else { t * 4 * h };
        let work: Vec<_> = groups
            .iter()
            .cloned()
            .zip(split_rows(&mut d_x, &groups, dx_width))
            .zip(split_rows(&mut d_s0, &groups, sh))
            .collect();
        let parts = each(work, |((rows, d_x), d_s0)| {
            let span = |width: usize| rows.start * width..rows.end * width;
            self.backward_rows(
                &x[span(t * d.i)],
                &s0[span(sh)],
                w,
                &out[span(t * sh)],
                &grad[span(t * sh)],
                &saved[span(saved_width)],
                rows.len(),
                d,
                d_x,
                d_s0,
            )
        });
        // The groups' shares of the weights' gradient.
        let mut parts = parts.into_iter();
        let mut d_w = parts.next().expect("at least one group");
        for part in parts {
            for (a, v) in d_w.iter_mut().zip(&part) {
                *a += v;
            }
        }
        (self.x_grad.then_some(d_x), d_s0, d_w)
    }

    /// [`FusedRecurrence::backward`] for a group of `bg` rows (all slices
    /// are the group's): writes the gradients of `x` (when `d_x` is not
    /// empty) and `s0`, and returns the group's share of the weights'.
    #[allow(clippy::too_many_arguments)]
    fn backward_rows(
        &self,
        x: &[f32],
        s0: &[f32],
        w: &[f32],
        out: &[f32],
        grad: &[f32],
        saved: &[f32],
        bg: usize,
        d: Dims,
        d_x: &mut [f32],
        d_s0: &mut [f32],
    ) -> Vec<f32> {
        let (h, gn, sh, t) = (self.hidden, self.gn(), self.sh(), d.t);
        let wr = h + 2 + d.i;
        let gru = self.core == CoreKind::Gru;
        let lstm = self.core == CoreKind::Lstm;
        // The gradient of the gate pre-activations on the input side.
        let mut d_gx = scratch_to_fill(bg * t * gn);
        // The GRU's n block reaches W_hn·h through r, so its recurrent
        // gradient differs from its input gradient; the others share one.
        let mut d_gh = scratch_to_fill(if gru { bg * t * gn } else { 0 });
        let mut dh_next = scratch(bg * h);
        let mut dc_next = scratch(if lstm { bg * h } else { 0 });
        // W_hh without its bias columns: element (j, k) is W_hh[j, k].
        let w_hh = Mat {
            data: w,
            rs: wr,
            cs: 1,
        };
        for step in (0..t).rev() {
            for r in 0..bg {
                let at = r * t + step;
                let p = if step == 0 {
                    &s0[r * sh..][..sh]
                } else {
                    &out[(at - 1) * sh..][..sh]
                };
                let o = &out[at * sh..][..sh];
                let dy = &grad[at * sh..][..sh];
                let dx = &mut d_gx[at * gn..][..gn];
                let dhn = &mut dh_next[r * h..][..h];
                match self.core {
                    CoreKind::Tanh => {
                        let (dy, o, dx) = (&dy[..h], &o[..h], &mut dx[..h]);
                        for j in 0..h {
                            let dh = dy[j] + dhn[j];
                            dx[j] = dh * (1.0 - o[j] * o[j]);
                        }
                    }
                    CoreKind::Gru => {
                        let sv = &saved[at * 4 * h..][..4 * h];
                        let dg = &mut d_gh[at * gn..][..gn];
                        // Slices of exactly h, so the loop has no bounds checks and vectorizes.
                        let (sr, sz, sn, sg) = (
                            &sv[..h],
                            &sv[h..2 * h],
                            &sv[2 * h..3 * h],
                            &sv[3 * h..4 * h],
                        );
                        let (dy, hp, dhn) = (&dy[..h], &p[..h], &mut dhn[..h]);
                        let (dxr, rest) = dx.split_at_mut(h);
                        let (dxz, dxn) = rest.split_at_mut(h);
                        let (dxz, dxn) = (&mut dxz[..h], &mut dxn[..h]);
                        let (dgr, rest) = dg.split_at_mut(h);
                        let (dgz, dgn) = rest.split_at_mut(h);
                        let (dgz, dgn) = (&mut dgz[..h], &mut dgn[..h]);
                        for j in 0..h {
                            let dh = dy[j] + dhn[j];
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
                        let sv = &saved[at * 4 * h..][..4 * h];
                        let dcn = &mut dc_next[r * h..][..h];
                        for j in 0..h {
                            let dh = dy[j] + dhn[j];
                            let (i, f, cand, og) = (sv[j], sv[h + j], sv[2 * h + j], sv[3 * h + j]);
                            let tc = tanh(o[h + j]);
                            let dc = dy[h + j] + dcn[j] + dh * og * (1.0 - tc * tc);
                            dx[j] = dc * cand * i * (1.0 - i);
                            dx[h + j] = dc * p[h + j] * f * (1.0 - f);
                            dx[2 * h + j] = dc * i * (1.0 - cand * cand);
                            dx[3 * h + j] = dh * tc * og * (1.0 - og);
                            dcn[j] = dc * f;
                        }
                    }
                }
            }
            // dh_prev (+)= d_gh · W_hh, over the rows' entries at this step.
            let dg = Mat {
                data: if gru {
                    &d_gh[step * gn..]
                } else {
                    &d_gx[step * gn..]
                },
                rs: t * gn,
                cs: 1,
            };
            gemm(bg, h, gn, &mut dh_next, h, gru, dg, w_hh);
        }
        for r in 0..bg {
            d_s0[r * sh..r * sh + h].copy_from_slice(&dh_next[r * h..][..h]);
            if lstm {
                d_s0[r * sh + h..r * sh + 2 * h].copy_from_slice(&dc_next[r * h..][..h]);
            }
        }
        let dg_all = if gru { &d_gh } else { &d_gx };
        let mut d_w = vec![0f32; gn * wr];
        // d W_hh = Σ d_ghᵀ · h_prev: one product over all the rows' steps.
        let mut h_prev = scratch_to_fill(bg * t * h);
        for r in 0..bg {
            for step in 0..t {
                let at = r * t + step;
                let src = if step == 0 {
                    &s0[r * sh..][..h]
                } else {
                    &out[(at - 1) * sh..][..h]
                };
                h_prev[at * h..][..h].copy_from_slice(src);
            }
        }
        gemm(
            gn,
            h,
            bg * t,
            &mut d_w,
            wr,
            false,
            Mat::transposed(dg_all, gn),
            Mat::rows(&h_prev, h),
        );
        // d W_ih = Σ d_gxᵀ · x.
        gemm(
            gn,
            d.i,
            bg * t,
            &mut d_w[h + 2..],
            wr,
            false,
            Mat::transposed(&d_gx, gn),
            Mat::rows(x, d.i),
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
        // d x = d_gx · W_ih.
        if !d_x.is_empty() {
            let w_ih = Mat {
                data: &w[h + 2..],
                rs: wr,
                cs: 1,
            };
            gemm(bg * t, d.i, gn, d_x, d.i, false, Mat::rows(&d_gx, gn), w_ih);
        }
        for v in [d_gx, d_gh, dh_next, dc_next, h_prev] {
            give_back(v);
        }
        d_w
    }

    fn check(&self, x: &[usize], s0: &[usize], w: &[usize]) -> Result<(usize, Dims)> {
        let (h, gn, sh) = (self.hidden, self.gn(), self.sh());
        match (x, s0, w) {
            ([b, t, i], [b2, s], [g2, c])
                if *b2 == *b && *s == sh && *g2 == gn && *c == h + 2 + *i =>
            {
                Ok((*b, Dims { t: *t, i: *i }))
            }
            _ => candle_core::bail!(
                "fused {:?} recurrence of {h}: unexpected shapes {x:?}, {s0:?}, {w:?}",
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
        let (b, d) = self.check(l1.dims(), l2.dims(), l3.dims())?;
        let threads = pool_threads();
        let (out, saved) = self.forward(
            cpu_f32(s1, l1)?,
            cpu_f32(s2, l2)?,
            cpu_f32(s3, l3)?,
            b,
            d,
            threads,
        );
        if self.keep {
            let mut slot = self.saved.lock().expect("the saved activations' lock");
            give_back_saved(std::mem::replace(&mut *slot, saved));
        } else {
            give_back_saved(saved);
        }
        Ok((CpuStorage::F32(out), Shape::from((b, d.t, self.sh()))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        s0: &Tensor,
        w: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (b, d) = self.check(x.dims(), s0.dims(), w.dims())?;
        if grad_res.dtype() != DType::F32 {
            candle_core::bail!("the fused recurrence runs on f32 only");
        }
        let grad_res = grad_res.contiguous()?;
        let (d_x, d_s0, d_w) = {
            let (xg, xl) = x.storage_and_layout();
            let (s0g, s0l) = s0.storage_and_layout();
            let (wg, wl) = w.storage_and_layout();
            let (og, ol) = res.storage_and_layout();
            let (gg, gl) = grad_res.storage_and_layout();
            let saved = self.saved.lock().expect("the saved activations' lock");
            let want = if self.saves() {
                b * d.t * 4 * self.hidden
            } else {
                0
            };
            if !self.keep || saved.len() != want {
                candle_core::bail!("the fused recurrence kept no activations for its backward");
            }
            self.backward(
                storage_f32(&xg, xl)?,
                storage_f32(&s0g, s0l)?,
                storage_f32(&wg, wl)?,
                storage_f32(&og, ol)?,
                storage_f32(&gg, gl)?,
                &saved,
                b,
                d,
                pool_threads(),
            )
        };
        let dev = x.device();
        Ok((
            d_x.map(|v| Tensor::from_vec(v, x.shape(), dev))
                .transpose()?,
            Some(Tensor::from_vec(d_s0, s0.shape(), dev)?),
            Some(Tensor::from_vec(d_w, w.shape(), dev)?),
        ))
    }
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

impl<'a> Mat<'a> {
    /// A row-major matrix of rows of `width`.
    fn rows(data: &'a [f32], width: usize) -> Self {
        Mat {
            data,
            rs: width,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix of rows of `width`.
    fn transposed(data: &'a [f32], width: usize) -> Self {
        Mat {
            data,
            rs: 1,
            cs: width,
        }
    }

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
