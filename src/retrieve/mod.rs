//! Retrieval: score the user vector against the catalogue (or a candidate list), add the repeat
//! term of items already in the window, and keep the top K, ties broken by item index so that
//! every backend returns the same list.

mod dot;
mod repeat;
mod score;
mod select;

pub use repeat::repeat_boosts;

pub use score::UserQuery;
pub use select::{ranks_before, Selector};

use crate::catalog::{Catalog, Embeddings};
pub use dot::WideQuery;

/// One ranked item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The item's row in the catalogue.
    pub item: usize,
    /// Its score: approximately `u · e_item`, plus the item's repeat term when it has one.
    pub score: f32,
}

/// Which items may be ranked.
#[derive(Debug, Clone, Copy)]
pub enum Pool<'a> {
    /// Every item of the catalogue.
    All,
    /// Only these rows (distinct, in range).
    Candidates(&'a [usize]),
}

/// An int8 table's rows with their scales, in row order.
type Int8Rows<'a> = std::iter::Zip<std::slice::ChunksExact<'a, i8>, std::slice::Iter<'a, f32>>;

/// Ranking keys of one user's vector against a catalogue, boosts included.
#[derive(Debug)]
pub struct Scorer<'a> {
    catalog: &'a Catalog,
    query: UserQuery,
    extra: Vec<f32>,
}

impl<'a> Scorer<'a> {
    /// Prepares `user` for the catalogue's table; `boosts` are `(row, amount)` in score units.
    pub fn new(catalog: &'a Catalog, user: &[f32], boosts: &[(usize, f32)]) -> Scorer<'a> {
        let query = UserQuery::new(user, catalog.embeddings());
        let mut extra = vec![0f32; if boosts.is_empty() { 0 } else { catalog.len() }];
        for &(row, amount) in boosts {
            extra[row] = query.key_of_score(amount);
        }
        Scorer {
            catalog,
            query,
            extra,
        }
    }

    /// The ranking key of `row`: higher ranks first, equal keys by row.
    pub fn key(&self, row: usize) -> f32 {
        self.query.key(self.catalog.embeddings(), row) + self.extra.get(row).copied().unwrap_or(0.0)
    }

    /// The score a key stands for: approximately `u · e_row` plus the row's boost.
    pub fn score(&self, key: f32) -> f32 {
        self.query.score(key)
    }

    /// For an int8 table: the widened user vector and every row's values with its scale, in
    /// row order. Keys from them equal [`Scorer::key`]'s.
    fn int8_rows(&self) -> Option<(&WideQuery, Int8Rows<'_>)> {
        match (&self.query, self.catalog.embeddings()) {
            (
                UserQuery::Int8 {
                    values: query,
                    wide,
                    ..
                },
                Embeddings::Int8 { values, scales },
            ) => Some((wide, values.chunks_exact(query.len()).zip(scales))),
            _ => None,
        }
    }

    fn scored(&self, ranked: Vec<(f32, usize)>) -> Vec<Scored> {
        ranked
            .into_iter()
            .map(|(key, item)| Scored {
                item,
                score: self.score(key),
            })
            .collect()
    }
}

/// The `k` best items of `pool` for `user`, skipping rows where `excluded[row]` is true; best
/// first, equal scores in ascending item order. Fewer than `k` when fewer items are eligible.
/// `boosts`: `(row, amount)` added to those rows' scores (the repeat term, see [`repeat_boosts`]).
pub fn top_k(
    catalog: &Catalog,
    user: &[f32],
    k: usize,
    pool: Pool<'_>,
    excluded: &[bool],
    boosts: &[(usize, f32)],
) -> Vec<Scored> {
    let scorer = Scorer::new(catalog, user, boosts);
    let mut selector = Selector::new(k);
    match (pool, scorer.int8_rows()) {
        // The hot path: every row of an int8 table, walked in order without per-row dispatch.
        (Pool::All, Some((query, rows))) => {
            for (row, (values, &scale)) in rows.enumerate() {
                if !excluded[row] {
                    let boost = scorer.extra.get(row).copied().unwrap_or(0.0);
                    selector.push(query.dot(values) as f32 * scale + boost, row);
                }
            }
        }
        _ => {
            let mut offer = |row: usize| {
                if !excluded[row] {
                    selector.push(scorer.key(row), row);
                }
            };
            match pool {
                Pool::All => (0..catalog.len()).for_each(&mut offer),
                Pool::Candidates(rows) => rows.iter().copied().for_each(&mut offer),
            }
        }
    }
    scorer.scored(selector.into_sorted())
}

/// Finishes a whole-catalogue ranking made elsewhere (the GPU) over every row except the
/// excluded and the boosted ones: `best` holds that ranking's top `k` ranking keys, as
/// [`UserQuery::key`] computes them. The boosted rows that are not excluded are scored here
/// and merged in, so the result equals [`top_k`] over [`Pool::All`].
pub fn merge_boosted(
    catalog: &Catalog,
    user: &[f32],
    k: usize,
    best: &[(f32, usize)],
    excluded: &[bool],
    boosts: &[(usize, f32)],
) -> Vec<Scored> {
    let scorer = Scorer::new(catalog, user, boosts);
    let mut selector = Selector::new(k);
    best.iter().for_each(|&(key, row)| selector.push(key, row));
    let mut boosted: Vec<usize> = boosts.iter().map(|&(row, _)| row).collect();
    boosted.sort_unstable();
    boosted.dedup();
    for row in boosted.into_iter().filter(|&row| !excluded[row]) {
        selector.push(scorer.key(row), row);
    }
    scorer.scored(selector.into_sorted())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{Embeddings, ItemInfo};

    fn catalog(embeddings: Embeddings, n: usize) -> Catalog {
        let items = (0..n)
            .map(|i| ItemInfo {
                id: format!("i{i}"),
                name: None,
                category: None,
            })
            .collect();
        Catalog::from_parts(items, embeddings, 2).unwrap()
    }

    #[test]
    fn float_tables_rank_by_dot_product_then_index() {
        let table = Embeddings::Float(vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 2.0, 0.0]);
        let top = top_k(
            &catalog(table, 4),
            &[1.0, 0.5],
            3,
            Pool::All,
            &[false; 4],
            &[],
        );
        let order: Vec<usize> = top.iter().map(|s| s.item).collect();
        assert_eq!(order, [3, 0, 2]);
        assert_eq!(top[0].score, 2.0);
    }

    #[test]
    fn int8_tables_score_in_integers_with_row_scales() {
        let table = Embeddings::Int8 {
            values: vec![127, 0, 0, 127, 127, 0],
            scales: vec![0.01, 0.02, 0.03],
        };
        let top = top_k(
            &catalog(table, 3),
            &[1.0, 1.0],
            3,
            Pool::All,
            &[false, false, true],
            &[],
        );
        let order: Vec<usize> = top.iter().map(|s| s.item).collect();
        assert_eq!(
            order,
            [1, 0],
            "row 1 has the larger scale; row 2 is excluded"
        );
        assert!(
            (top[0].score - 127.0 * 0.02).abs() < 1e-4,
            "{}",
            top[0].score
        );
    }

    #[test]
    fn boosts_add_to_scores_and_can_change_the_order() {
        let table = Embeddings::Int8 {
            values: vec![127, 0, 100, 0, 0, 127],
            scales: vec![0.01, 0.01, 0.01],
        };
        let top = top_k(
            &catalog(table, 3),
            &[1.0, 0.0],
            3,
            Pool::All,
            &[false; 3],
            &[(1, 0.5)],
        );
        assert_eq!(top.iter().map(|s| s.item).collect::<Vec<_>>(), [1, 0, 2]);
        assert!(
            (top[0].score - (1.0 + 0.5)).abs() < 1e-3,
            "{}",
            top[0].score
        );
    }

    #[test]
    fn candidates_limit_the_pool() {
        let table = Embeddings::Float(vec![1.0, 0.0, 2.0, 0.0, 3.0, 0.0]);
        let top = top_k(
            &catalog(table, 3),
            &[1.0, 0.0],
            5,
            Pool::Candidates(&[0, 1]),
            &[false; 3],
            &[],
        );
        assert_eq!(top.iter().map(|s| s.item).collect::<Vec<_>>(), [1, 0]);
    }
}
