//! Notes on the grid (being written).
