//! The engine's GPU path: handing a plan's whole-catalogue ranking to the GPU and completing it,
//! or falling back to the CPU for good when the GPU fails.

use super::{GpuDevice, GpuError, GpuRanker, Shared, MAX_K};
use crate::engine::{Engine, RankingPlan, Recommendation};
use crate::error::Result;
use crate::retrieve::{merge_boosted, UserQuery};

/// The GPU's share of one ranking: everything it needs, owned, so that it can be awaited
/// without holding the engine.
#[derive(Debug)]
pub struct GpuJob {
    ranker: Shared<GpuRanker>,
    query: Vec<i8>,
    k: usize,
    set_aside: Vec<usize>,
}

impl GpuJob {
    /// Runs the ranking on the GPU: the best `k` keys of the rows not set aside.
    pub async fn run(&self) -> std::result::Result<Vec<(f32, usize)>, GpuError> {
        self.ranker
            .top_k(&self.query, self.k, &self.set_aside)
            .await
    }
}

impl Engine {
    /// Moves the catalogue's table to `device` and ranks there from now on; on an error the
    /// engine stays on the CPU.
    pub fn use_gpu(&mut self, device: GpuDevice) -> std::result::Result<(), GpuError> {
        self.gpu = Some(Shared::new(GpuRanker::new(device, self.catalog())?));
        Ok(())
    }

    /// Destroys the GPU device in use, as a lost device would be (for tests of the fallback).
    pub fn lose_gpu_device(&self) {
        if let Some(gpu) = &self.gpu {
            gpu.lose_device();
        }
    }

    /// The GPU's share of `plan`, or `None` when it ranks on the CPU: no GPU in use, a failed
    /// one (dropped here), candidates (few rows: the CPU is quicker), or k above [`MAX_K`].
    pub fn gpu_job(&mut self, plan: &RankingPlan) -> Option<GpuJob> {
        if self.gpu.as_ref().is_some_and(|gpu| gpu.has_failed()) {
            self.gpu = None;
        }
        let ranker = Shared::clone(self.gpu.as_ref()?);
        if plan.candidates.is_some() || plan.k > MAX_K {
            return None;
        }
        let UserQuery::Int8 { values, .. } =
            UserQuery::new(&plan.user, self.catalog().embeddings())
        else {
            return None;
        };
        let mut set_aside: Vec<usize> = plan.boosts.iter().map(|&(row, _)| row).collect();
        set_aside.extend(
            plan.excluded
                .iter()
                .enumerate()
                .filter(|(_, &x)| x)
                .map(|(row, _)| row),
        );
        Some(GpuJob {
            ranker,
            query: values,
            k: plan.k,
            set_aside,
        })
    }

    /// Completes `plan` from the GPU's answer. A failed answer drops the GPU (the engine is on
    /// the CPU from then on) and ranks the plan on the CPU: the shopper sees no error.
    pub fn complete_on_gpu(
        &mut self,
        plan: &RankingPlan,
        answer: std::result::Result<Vec<(f32, usize)>, GpuError>,
    ) -> Result<Vec<Recommendation>> {
        match answer {
            Ok(best) => {
                let ranked = merge_boosted(
                    self.catalog(),
                    &plan.user,
                    plan.k,
                    &best,
                    &plan.excluded,
                    &plan.boosts,
                );
                self.recommendations(plan, ranked)
            }
            Err(_) => {
                self.gpu = None;
                self.rank_on_cpu(plan)
            }
        }
    }
}
