//! A model's GPU ranking path: its catalogue's table on a device, handed whole-catalogue rankings
//! and dropped for good (back to the CPU) when it fails. It knows the catalogue and the scoring,
//! nothing of sessions or the model around them.

use super::{GpuDevice, GpuError, GpuRanker, Shared, MAX_K};
use crate::catalog::Catalog;
use crate::retrieve::{merge_boosted, Scored, UserQuery};

/// What one ranking asks of the GPU path: the user vector, k, the rows never to return, and the
/// repeat term's boosts.
#[derive(Debug, Clone, Copy)]
pub struct GpuQuery<'a> {
    /// The user vector.
    pub user: &'a [f32],
    /// How many items to return.
    pub k: usize,
    /// `excluded[row]`: never return that row.
    pub excluded: &'a [bool],
    /// `(row, amount)` added to those rows' scores.
    pub boosts: &'a [(usize, f32)],
}

/// The GPU's share of one ranking: everything it needs, owned, so that it can be awaited
/// without holding the path.
#[derive(Debug)]
pub struct GpuJob {
    ranker: Shared<GpuRanker>,
    query: Vec<i8>,
    k: usize,
    set_aside: Vec<usize>,
}

impl GpuJob {
    /// Runs the ranking on the GPU: the best `k` keys of the rows not set aside.
    pub async fn run(&self) -> Result<Vec<(f32, usize)>, GpuError> {
        self.ranker
            .top_k(&self.query, self.k, &self.set_aside)
            .await
    }
}

/// The GPU ranker in use, if any.
#[derive(Debug, Default)]
pub struct GpuPath {
    ranker: Option<Shared<GpuRanker>>,
}

impl GpuPath {
    /// Moves `catalog`'s table to `device` and ranks there from now on; on an error the path
    /// stays off (rankings on the CPU).
    pub fn use_device(&mut self, device: GpuDevice, catalog: &Catalog) -> Result<(), GpuError> {
        self.ranker = Some(Shared::new(GpuRanker::new(device, catalog)?));
        Ok(())
    }

    /// Whether rankings go to the GPU now.
    pub fn in_use(&self) -> bool {
        self.ranker.is_some()
    }

    /// Destroys the device in use, as a lost device would be (for tests of the fallback).
    pub fn lose_device(&self) {
        if let Some(ranker) = &self.ranker {
            ranker.lose_device();
        }
    }

    /// The GPU's share of a whole-catalogue ranking, or `None` when it ranks on the CPU: no GPU
    /// in use, a failed one (dropped here), k above [`MAX_K`], or a table without int8 keys.
    pub fn job(&mut self, catalog: &Catalog, query: GpuQuery<'_>) -> Option<GpuJob> {
        if self.ranker.as_ref().is_some_and(|r| r.has_failed()) {
            self.ranker = None;
        }
        let ranker = Shared::clone(self.ranker.as_ref()?);
        if query.k > MAX_K {
            return None;
        }
        let UserQuery::Int8 { values, .. } = UserQuery::new(query.user, catalog.embeddings())
        else {
            return None;
        };
        let mut set_aside: Vec<usize> = query.boosts.iter().map(|&(row, _)| row).collect();
        set_aside.extend(
            query
                .excluded
                .iter()
                .enumerate()
                .filter(|(_, &x)| x)
                .map(|(row, _)| row),
        );
        Some(GpuJob {
            ranker,
            query: values,
            k: query.k,
            set_aside,
        })
    }

    /// The ranking from the GPU's answer, as the CPU would give it; `None` when the answer
    /// failed, which drops the GPU (rankings on the CPU from then on: the shopper sees no error).
    pub fn complete(
        &mut self,
        catalog: &Catalog,
        query: GpuQuery<'_>,
        answer: Result<Vec<(f32, usize)>, GpuError>,
    ) -> Option<Vec<Scored>> {
        match answer {
            Ok(best) => Some(merge_boosted(
                catalog,
                query.user,
                query.k,
                &best,
                query.excluded,
                query.boosts,
            )),
            Err(_) => {
                self.ranker = None;
                None
            }
        }
    }
}
