/// A recurrent cell: given the input's gate pre-activations `W_ih x + b_ih`,
/// it updates its state in place. Cannot fail, never allocates.
pub trait RecurrentCell {
    /// Gate blocks in the stacked matrices (GRU 3, LSTM 4, tanh 1).
    const GATES: usize;
    /// Advances one step; `gi` has `GATES * hidden` entries.
    fn step(&mut self, gi: &[f32]);
    /// The output the next layer and the heads read.
    fn hidden(&self) -> &[f32];
    /// Back to the zero state.
    fn reset(&mut self);
}
