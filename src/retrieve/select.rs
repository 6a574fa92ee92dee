//! Top-k selection over a stream of `(key, row)` pairs in bounded memory: higher keys first,
//! equal keys by ascending row (the order every backend ranks by).

use std::cmp::Ordering;

/// The ranking order: `a` before `b` when its key is higher, or equal with a lower row.
pub fn ranks_before(a: &(f32, usize), b: &(f32, usize)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// Keeps the best `k` pairs pushed into it, holding at most `2k` at a time.
#[derive(Debug)]
pub struct Selector {
    k: usize,
    held: Vec<(f32, usize)>,
    /// The worst pair kept at the last compaction: anything not better cannot enter.
    bar: Option<(f32, usize)>,
}

impl Selector {
    /// An empty selector for the best `k`.
    pub fn new(k: usize) -> Selector {
        Selector {
            k,
            held: Vec::with_capacity(2 * k.max(1)),
            bar: None,
        }
    }

    /// Offers one pair.
    #[inline]
    pub fn push(&mut self, key: f32, row: usize) {
        if self.k == 0 {
            return;
        }
        if let Some(bar) = self.bar {
            if ranks_before(&(key, row), &bar) != Ordering::Less {
                return;
            }
        }
        if self.held.len() == 2 * self.k {
            self.compact();
        }
        self.held.push((key, row));
    }

    fn compact(&mut self) {
        self.held.select_nth_unstable_by(self.k - 1, ranks_before);
        self.held.truncate(self.k);
        self.bar = self.held.iter().copied().max_by(ranks_before);
    }

    /// The best `k` (fewer when fewer were pushed), best first.
    pub fn into_sorted(mut self) -> Vec<(f32, usize)> {
        if self.held.len() > self.k {
            self.compact();
        }
        self.held.sort_unstable_by(ranks_before);
        self.held
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_best_k_with_ties_by_row() {
        let mut selector = Selector::new(3);
        for (row, key) in [1.0, 5.0, 3.0, 5.0, 2.0, 3.0, 0.5, 5.0]
            .into_iter()
            .enumerate()
        {
            selector.push(key, row);
        }
        assert_eq!(selector.into_sorted(), [(5.0, 1), (5.0, 3), (5.0, 7)]);
    }

    #[test]
    fn matches_a_full_sort_on_many_rows() {
        let keys: Vec<f32> = (0..5000u32).map(|i| ((i * 7919) % 613) as f32).collect();
        let mut selector = Selector::new(100);
        keys.iter()
            .enumerate()
            .rev()
            .for_each(|(row, &key)| selector.push(key, row));
        let mut all: Vec<(f32, usize)> = keys.iter().copied().zip(0..).collect();
        all.sort_unstable_by(ranks_before);
        assert_eq!(selector.into_sorted(), all[..100]);
    }

    #[test]
    fn fewer_pushed_than_k_come_back_sorted() {
        let mut selector = Selector::new(10);
        selector.push(1.0, 4);
        selector.push(2.0, 9);
        assert_eq!(selector.into_sorted(), [(2.0, 9), (1.0, 4)]);
    }
}
