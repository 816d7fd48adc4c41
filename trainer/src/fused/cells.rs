//! The gate maths: one step of each cell for one batch row, forward and
//! back, in PyTorch's gate order, and the branch-free `exp`, `tanh` and
//! `sigmoid` that let the loops vectorize. Each loop runs over slices of
//! exactly `h`, so it has no bounds checks.
//!
//! Forward, `x` holds the step's input-side pre-activations (`x·W_ihᵀ` plus
//! biases), `g` the recurrent side (`h_prev·W_hhᵀ`, plus `b_hn` for the
//! GRU), `p` the previous state and `o` the new one; `sv` receives what the
//! backward needs (see `op::FusedRecurrence`). Backward, `dy` is the output's
//! gradient, `dx` (and for the GRU `dg`) receive the pre-activations'
//! gradients, and `dhn` (`dcn`) carry the state's gradient to the step before.

/// A tanh cell: `h' = tanh(x + g)`.
pub(super) fn tanh_step(h: usize, x: &[f32], g: &[f32], o: &mut [f32]) {
    let (x, g, o) = (&x[..h], &g[..h], &mut o[..h]);
    for j in 0..h {
        o[j] = tanh(x[j] + g[j]);
    }
}

/// A GRU cell; keeps `r, z, n` and `W_hn·h + b_hn`.
pub(super) fn gru_step(h: usize, x: &[f32], g: &[f32], p: &[f32], o: &mut [f32], sv: &mut [f32]) {
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

/// An LSTM cell (`p` and `o` hold `h`, then `c`); keeps `i, f, g, o`.
pub(super) fn lstm_step(h: usize, x: &[f32], g: &[f32], p: &[f32], o: &mut [f32], sv: &mut [f32]) {
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

/// Back through a tanh cell.
pub(super) fn tanh_step_back(h: usize, dy: &[f32], o: &[f32], dx: &mut [f32], dhn: &[f32]) {
    let (dy, o, dx) = (&dy[..h], &o[..h], &mut dx[..h]);
    for j in 0..h {
        let dh = dy[j] + dhn[j];
        dx[j] = dh * (1.0 - o[j] * o[j]);
    }
}

/// Back through a GRU cell: `dx` gets the input side's gradient and `dg` the
/// recurrent side's (they differ in the n block, which reaches `W_hn·h`
/// through r); `dhn` keeps only the direct path's share of `dh_prev`.
pub(super) fn gru_step_back(
    h: usize,
    dy: &[f32],
    p: &[f32],
    sv: &[f32],
    dx: &mut [f32],
    dg: &mut [f32],
    dhn: &mut [f32],
) {
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

/// Back through an LSTM cell (`p` and `o` hold `h`, then `c`); `dcn`
/// carries the cell's gradient to the step before.
#[allow(clippy::too_many_arguments)]
pub(super) fn lstm_step_back(
    h: usize,
    dy: &[f32],
    p: &[f32],
    o: &[f32],
    sv: &[f32],
    dx: &mut [f32],
    dhn: &[f32],
    dcn: &mut [f32],
) {
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
