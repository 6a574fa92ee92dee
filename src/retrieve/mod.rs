//! Retrieval: score the user vector against the catalogue (or a candidate list) and keep the
//! top K, ties broken by item index so that every backend returns the same list.

mod score;

pub use score::UserQuery;

use crate::catalog::Catalog;

/// One ranked item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scored {
    /// The item's row in the catalogue.
    pub item: usize,
    /// Its score, approximately `u · e_item`.
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

/// The `k` best items of `pool` for `user`, skipping rows where `excluded[row]` is true; best
/// first, equal scores in ascending item order. Fewer than `k` when fewer items are eligible.
pub fn top_k(catalog: &Catalog, user: &[f32], k: usize, pool: Pool<'_>, excluded: &[bool]) -> Vec<Scored> {
    let table = catalog.embeddings();
    let query = UserQuery::new(user, table);
    let keyed = |row: usize| (query.key(table, row), row);
    let mut ranked: Vec<(f32, usize)> = match pool {
        Pool::All => (0..catalog.len()).filter(|&r| !excluded[r]).map(keyed).collect(),
        Pool::Candidates(rows) => rows.iter().copied().filter(|&r| !excluded[r]).map(keyed).collect(),
    };
    let better = |a: &(f32, usize), b: &(f32, usize)| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1));
    if k < ranked.len() {
        ranked.select_nth_unstable_by(k, better);
        ranked.truncate(k);
    }
    ranked.sort_unstable_by(better);
    ranked.into_iter().map(|(key, item)| Scored { item, score: query.score(key) }).collect()
}

