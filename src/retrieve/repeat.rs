//! The repeat term: an item already in the window scores `w_i · ln(1 + count)` more, with the
//! per-item weights w_i ≥ 0 the bundle learned (grocery shoppers mostly buy again). Bundles
//! without a `repeat` column have no repeat term.

use crate::catalog::Catalog;

/// `(row, amount)` for every item of the window whose weight is positive, in row order.
pub fn repeat_boosts(catalog: &Catalog, window: impl Iterator<Item = usize>) -> Vec<(usize, f32)> {
    let Some(weights) = catalog.repeat_weights() else {
        return Vec::new();
    };
    let mut rows: Vec<usize> = window.collect();
    rows.sort_unstable();
    rows.chunk_by(|a, b| a == b)
        .filter(|run| weights[run[0]] > 0.0)
        .map(|run| (run[0], weights[run[0]] * (run.len() as f32).ln_1p()))
        .collect()
}
