use super::{matvec_add, RecurrentCell};

/// The vanilla RNN: `h' = tanh(W_ih x + b_ih + W_hh h + b_hh)`.
#[derive(Clone, Debug)]
pub struct TanhRnn {
    w_hh: Vec<f32>,
    b_hh: Vec<f32>,
    h: Vec<f32>,
    pre: Vec<f32>,
}

impl TanhRnn {
    /// `w_hh` is row-major `[H, H]`, `b_hh` is `[H]`.
    pub fn new(hidden: usize, w_hh: Vec<f32>, b_hh: Vec<f32>) -> Self {
        debug_assert_eq!(w_hh.len(), hidden * hidden);
        Self {
            w_hh,
            b_hh,
            h: vec![0.0; hidden],
            pre: vec![0.0; hidden],
        }
    }
}

impl RecurrentCell for TanhRnn {
    const GATES: usize = 1;

    fn step(&mut self, gi: &[f32]) {
        for (p, (a, b)) in self.pre.iter_mut().zip(gi.iter().zip(&self.b_hh)) {
            *p = a + b;
        }
        matvec_add(&self.w_hh, &self.h, &mut self.pre);
        for (h, p) in self.h.iter_mut().zip(&self.pre) {
            *h = p.tanh();
        }
    }

    fn hidden(&self) -> &[f32] {
        &self.h
    }

    fn reset(&mut self) {
        self.h.fill(0.0);
    }
}
