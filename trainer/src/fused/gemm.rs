//! The matrix product: strided views and one call into the `gemm` crate,
//! the GEMM candle's own CPU matmul uses, single-threaded (the threads split
//! the batch instead).

/// A matrix view: element `(i, j)` is `data[i * rs + j * cs]`.
#[derive(Clone, Copy)]
pub(super) struct Mat<'a> {
    pub(super) data: &'a [f32],
    pub(super) rs: usize,
    pub(super) cs: usize,
}

impl<'a> Mat<'a> {
    /// A row-major matrix of rows of `width`.
    pub(super) fn rows(data: &'a [f32], width: usize) -> Self {
        Mat {
            data,
            rs: width,
            cs: 1,
        }
    }

    /// The transpose of a row-major matrix of rows of `width`.
    pub(super) fn transposed(data: &'a [f32], width: usize) -> Self {
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
pub(super) fn gemm(
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
        ::gemm::gemm(
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
            ::gemm::Parallelism::None,
        )
    }
}
