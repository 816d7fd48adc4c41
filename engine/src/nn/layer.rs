use super::{add_columns, matvec_add, Gru, Lstm, RecurrentCell, TanhRnn};

/// How a layer's input reaches its gates.
#[derive(Clone, Debug)]
pub enum Input {
    /// One-hot/multi-hot input (the first layer): `W_ih` stored column-major,
    /// so the product is a sum of the active columns.
    Columns(Vec<f32>),
    /// Dense input (the layer below): `W_ih` row-major.
    Rows(Vec<f32>),
}

/// The cell of a layer; an enum rather than a trait object so the step is a
/// plain, inlinable call.
#[derive(Clone, Debug)]
pub enum Cell {
    Gru(Gru),
    Lstm(Lstm),
    Tanh(TanhRnn),
}

/// One recurrent layer: input projection plus cell.
#[derive(Clone, Debug)]
pub struct Layer {
    input: Input,
    b_ih: Vec<f32>,
    gi: Vec<f32>,
    cell: Cell,
}

impl Layer {
    pub fn new(input: Input, b_ih: Vec<f32>, cell: Cell) -> Self {
        let gi = vec![0.0; b_ih.len()];
        Self {
            input,
            b_ih,
            gi,
            cell,
        }
    }

    /// Steps with the multi-hot input whose active indices are `active`.
    pub fn step_active(&mut self, active: &[usize]) {
        self.gi.copy_from_slice(&self.b_ih);
        match &self.input {
            Input::Columns(w) => add_columns(w, active, &mut self.gi),
            Input::Rows(_) => unreachable_input(),
        }
        self.step_cell();
    }

    /// Steps with a dense input vector.
    pub fn step_dense(&mut self, x: &[f32]) {
        self.gi.copy_from_slice(&self.b_ih);
        match &self.input {
            Input::Rows(w) => matvec_add(w, x, &mut self.gi),
            Input::Columns(_) => unreachable_input(),
        }
        self.step_cell();
    }

    fn step_cell(&mut self) {
        match &mut self.cell {
            Cell::Gru(c) => c.step(&self.gi),
            Cell::Lstm(c) => c.step(&self.gi),
            Cell::Tanh(c) => c.step(&self.gi),
        }
    }

    pub fn hidden(&self) -> &[f32] {
        match &self.cell {
            Cell::Gru(c) => c.hidden(),
            Cell::Lstm(c) => c.hidden(),
            Cell::Tanh(c) => c.hidden(),
        }
    }

    pub fn reset(&mut self) {
        match &mut self.cell {
            Cell::Gru(c) => c.reset(),
            Cell::Lstm(c) => c.reset(),
            Cell::Tanh(c) => c.reset(),
        }
    }
}

/// The model builds the first layer with columns and the rest with rows, and
/// calls them accordingly; a mix-up is a bug in this crate, caught in debug
/// builds and harmless (the input is skipped) in release ones.
#[inline]
fn unreachable_input() {
    debug_assert!(false, "layer input kind does not match its call");
}
