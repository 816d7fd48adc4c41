use super::{matvec_add, sigmoid, RecurrentCell};

/// LSTM in PyTorch's form, gates i, f, g, o:
/// `c' = f * c + i * g`, `h' = o * tanh(c')`.
#[derive(Clone, Debug)]
pub struct Lstm {
    w_hh: Vec<f32>,
    b_hh: Vec<f32>,
    h: Vec<f32>,
    c: Vec<f32>,
    gates: Vec<f32>,
}

impl Lstm {
    /// `w_hh` is row-major `[4H, H]`, `b_hh` is `[4H]`.
    pub fn new(hidden: usize, w_hh: Vec<f32>, b_hh: Vec<f32>) -> Self {
        debug_assert_eq!(w_hh.len(), 4 * hidden * hidden);
        Self {
            w_hh,
            b_hh,
            h: vec![0.0; hidden],
            c: vec![0.0; hidden],
            gates: vec![0.0; 4 * hidden],
        }
    }
}

impl RecurrentCell for Lstm {
    const GATES: usize = 4;

    fn step(&mut self, gi: &[f32]) {
        let n = self.h.len();
        for (g, (a, b)) in self.gates.iter_mut().zip(gi.iter().zip(&self.b_hh)) {
            *g = a + b;
        }
        matvec_add(&self.w_hh, &self.h, &mut self.gates);
        let (i_g, rest) = self.gates.split_at(n);
        let (f_g, rest) = rest.split_at(n);
        let (g_g, o_g) = rest.split_at(n);
        for k in 0..n {
            let c = sigmoid(f_g[k]) * self.c[k] + sigmoid(i_g[k]) * g_g[k].tanh();
            self.c[k] = c;
            self.h[k] = sigmoid(o_g[k]) * c.tanh();
        }
    }

    fn hidden(&self) -> &[f32] {
        &self.h
    }

    fn reset(&mut self) {
        self.h.fill(0.0);
        self.c.fill(0.0);
    }
}
