use super::{matvec_add, sigmoid, RecurrentCell};

/// GRU in PyTorch's form, gates r, z, n:
/// `n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`, `h' = (1 - z) * n + z * h`.
#[derive(Clone, Debug)]
pub struct Gru {
    w_hh: Vec<f32>,
    b_hh: Vec<f32>,
    h: Vec<f32>,
    gh: Vec<f32>,
}

impl Gru {
    /// `w_hh` is row-major `[3H, H]`, `b_hh` is `[3H]`.
    pub fn new(hidden: usize, w_hh: Vec<f32>, b_hh: Vec<f32>) -> Self {
        debug_assert_eq!(w_hh.len(), 3 * hidden * hidden);
        Self {
            w_hh,
            b_hh,
            h: vec![0.0; hidden],
            gh: vec![0.0; 3 * hidden],
        }
    }
}

impl RecurrentCell for Gru {
    const GATES: usize = 3;

    fn step(&mut self, gi: &[f32]) {
        let n = self.h.len();
        self.gh.copy_from_slice(&self.b_hh);
        matvec_add(&self.w_hh, &self.h, &mut self.gh);
        let (gi_r, rest) = gi.split_at(n);
        let (gi_z, gi_n) = rest.split_at(n);
        let (gh_r, rest) = self.gh.split_at(n);
        let (gh_z, gh_n) = rest.split_at(n);
        for i in 0..n {
            let r = sigmoid(gi_r[i] + gh_r[i]);
            let z = sigmoid(gi_z[i] + gh_z[i]);
            let c = (gi_n[i] + r * gh_n[i]).tanh();
            self.h[i] = (1.0 - z) * c + z * self.h[i];
        }
    }

    fn hidden(&self) -> &[f32] {
        &self.h
    }

    fn reset(&mut self) {
        self.h.fill(0.0);
    }
}
