//! Memory kept between calls: the saved activations' buffers (the largest a
//! training step makes, freed with the graph after every backward) and each
//! thread's scratch, so a training step does not fault in fresh pages.

use std::cell::RefCell;
use std::sync::Mutex;

/// Spare buffers for the saved activations: the largest buffer a step makes,
/// dropped with the graph after every backward. Reusing them saves faulting
/// in fresh pages each time.
static SAVED_SPARE: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

pub(super) fn saved_buffer(len: usize) -> Vec<f32> {
    let spare = SAVED_SPARE
        .lock()
        .ok()
        .and_then(|mut s| best_fit(&mut s, len));
    // Every entry is written by the forward before the backward reads it.
    reuse(spare, len, false)
}

pub(super) fn give_back_saved(v: Vec<f32>) {
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
pub(super) fn scratch(len: usize) -> Vec<f32> {
    reuse(
        SCRATCH.with(|s| best_fit(&mut s.borrow_mut(), len)),
        len,
        true,
    )
}

/// `len` numbers of any value from this thread's scratch, for a buffer the
/// caller fills entirely before reading it.
pub(super) fn scratch_to_fill(len: usize) -> Vec<f32> {
    reuse(
        SCRATCH.with(|s| best_fit(&mut s.borrow_mut(), len)),
        len,
        false,
    )
}

/// Returns `v` to this thread's scratch (up to `SCRATCH_KEPT` buffers).
pub(super) fn give_back(v: Vec<f32>) {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < SCRATCH_KEPT {
            s.push(v);
        }
    });
}
