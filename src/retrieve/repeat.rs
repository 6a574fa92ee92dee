//! The repeat term: an item already in the window scores `w_i · ln(1 + count)` more, with the
//! per-item weights w_i ≥ 0 the bundle learned (grocery shoppers mostly buy again). Each event
//! counts `decay^(events after it)`, so recent purchases weigh more (decay 1: plain counts).
//! Bundles without a `repeat` column have no repeat term.

use crate::catalog::Catalog;

/// `(row, amount)` for every item of the window (oldest event first) whose weight is positive,
/// in row order.
pub fn repeat_boosts(catalog: &Catalog, window: impl Iterator<Item = usize>) -> Vec<(usize, f32)> {
    let Some(term) = catalog.repeat_term() else {
        return Vec::new();
    };
    let mut hits: Vec<(usize, usize)> = window.enumerate().map(|(at, row)| (row, at)).collect();
    let newest = hits.len().saturating_sub(1);
    hits.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    hits.chunk_by(|a, b| a.0 == b.0)
        .filter(|run| term.weights[run[0].0] > 0.0)
        .map(|run| {
            let count: f32 = run
                .iter()
                // A window holds at most 1,000 events: the age fits an i32.
                .map(|&(_, at)| term.decay.powi((newest - at) as i32))
                .sum();
            (run[0].0, term.weights[run[0].0] * count.ln_1p())
        })
        .collect()
}
