//! Ranking one session's events against the catalogue: a request checked and encoded into a
//! [`RankingPlan`], ranked on the CPU (or by the GPU path, which completes the same plan), and
//! the ranked rows named, with their reasons when asked.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::SessionWindow;
use crate::explain::{explain, Reason};
use crate::model::Model;
use crate::retrieve::{repeat_boosts, top_k, Pool, Scored};

/// How many results `recommend` returns when the caller does not say.
pub const DEFAULT_K: usize = 10;

/// What `recommend` is asked (`{ k, exclude, candidates, explain }`); any other field is refused.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct RecommendRequest {
    /// How many items to return: 1 to the catalogue's size. Default [`DEFAULT_K`].
    pub k: usize,
    /// Item ids never to return (ids the catalogue lacks are ignored: they cannot be returned anyway).
    pub exclude: Vec<String>,
    /// Rank only these item ids (e.g. server-sent candidates); every id must be in the catalogue.
    pub candidates: Option<Vec<String>>,
    /// Give each recommendation the recent events that led to it (`why`); costs one encoder
    /// run per event the encoder reads.
    pub explain: bool,
}

impl Default for RecommendRequest {
    fn default() -> Self {
        RecommendRequest {
            k: DEFAULT_K,
            exclude: Vec::new(),
            candidates: None,
            explain: false,
        }
    }
}

/// One recommended item.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    /// The item's id (the shop's SKU).
    pub item: String,
    /// Its score, approximately the dot product of the user and item vectors; higher is better.
    pub score: f32,
    /// When asked (`explain`): the recent events whose absence lowers the score most.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<Vec<Reason>>,
}

/// Which path ranks the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The CPU (wasm SIMD128, or native SIMD).
    Cpu,
    /// The GPU through wgpu (WebGPU in a browser, Vulkan natively).
    Gpu,
}

/// A recommendation request checked and encoded, waiting to be ranked: what either backend
/// needs. Built only by [`RankingPlan::new`], so its rows are the catalogue's.
#[derive(Debug, Clone)]
pub struct RankingPlan {
    user: Vec<f32>,
    k: usize,
    candidates: Option<Vec<usize>>,
    excluded: Vec<bool>,
    boosts: Vec<(usize, f32)>,
    explain: Option<SessionWindow>,
}

impl RankingPlan {
    /// Checks `request` against the model's catalogue, then encodes the events of `window`
    /// (`encode` gives their user vector; it is not run for a request that is refused).
    pub(crate) fn new(
        model: &Model,
        request: &RecommendRequest,
        window: &SessionWindow,
        encode: impl FnOnce() -> Result<Vec<f32>>,
    ) -> Result<RankingPlan> {
        let catalog = model.catalog();
        let n = catalog.len();
        if request.k == 0 || request.k > n {
            return Err(Error::InvalidArgument {
                name: "k",
                reason: format!("must be 1 to {n} (the catalogue's size), got {}", request.k),
            });
        }
        let candidates = request
            .candidates
            .as_deref()
            .map(|ids| candidate_rows(model, ids))
            .transpose()?;
        let mut excluded = vec![false; n];
        for row in request.exclude.iter().filter_map(|id| catalog.index_of(id)) {
            excluded[row] = true;
        }
        Ok(RankingPlan {
            user: encode()?,
            k: request.k,
            candidates,
            excluded,
            boosts: repeat_boosts(catalog, window.events().map(|e| e.item)),
            explain: request.explain.then(|| window.clone()),
        })
    }

    /// Ranks the plan on the CPU.
    pub fn rank_on_cpu(&self, model: &Model) -> Vec<Scored> {
        let pool = self
            .candidates
            .as_deref()
            .map_or(Pool::All, Pool::Candidates);
        top_k(
            model.catalog(),
            &self.user,
            self.k,
            pool,
            &self.excluded,
            &self.boosts,
        )
    }

    /// Names the ranked rows, with their reasons when the plan asks for them.
    pub fn recommendations(
        &self,
        model: &Model,
        ranked: Vec<Scored>,
    ) -> Result<Vec<Recommendation>> {
        let why = match &self.explain {
            Some(window) => {
                let rows: Vec<usize> = ranked.iter().map(|s| s.item).collect();
                Some(explain(model, window, &rows)?)
            }
            None => None,
        };
        let catalog = model.catalog();
        Ok(ranked
            .into_iter()
            .enumerate()
            .map(|(slot, s)| Recommendation {
                item: catalog.item(s.item).id.clone(),
                score: s.score,
                why: why.as_ref().map(|all| all[slot].clone()),
            })
            .collect())
    }
}

/// The rows of candidate ids, each once, in order; an unknown id is an error.
fn candidate_rows(model: &Model, ids: &[String]) -> Result<Vec<usize>> {
    if ids.is_empty() {
        return Err(Error::InvalidArgument {
            name: "candidates",
            reason: "must not be empty when given".into(),
        });
    }
    let catalog = model.catalog();
    let mut seen = vec![false; catalog.len()];
    let mut rows = Vec::with_capacity(ids.len());
    for id in ids {
        let row = catalog
            .index_of(id)
            .ok_or_else(|| Error::unknown_item(id, "candidates"))?;
        if !std::mem::replace(&mut seen[row], true) {
            rows.push(row);
        }
    }
    Ok(rows)
}

#[cfg(feature = "gpu")]
impl RankingPlan {
    /// The plan as the GPU path reads it.
    fn gpu_query(&self) -> crate::gpu::GpuQuery<'_> {
        crate::gpu::GpuQuery {
            user: &self.user,
            k: self.k,
            excluded: &self.excluded,
            boosts: &self.boosts,
        }
    }

    /// The GPU's share of the plan, or `None` when it ranks on the CPU (candidates are few rows:
    /// the CPU is quicker; see [`crate::gpu::GpuPath::job`] for the rest).
    pub fn gpu_job(
        &self,
        model: &Model,
        gpu: &mut crate::gpu::GpuPath,
    ) -> Option<crate::gpu::GpuJob> {
        if self.candidates.is_some() {
            return None;
        }
        gpu.job(model.catalog(), self.gpu_query())
    }

    /// Completes the plan from the GPU's answer; a failed answer drops the GPU and ranks on the
    /// CPU, so the shopper sees no error.
    pub fn complete_on_gpu(
        &self,
        model: &Model,
        gpu: &mut crate::gpu::GpuPath,
        answer: std::result::Result<Vec<(f32, usize)>, crate::gpu::GpuError>,
    ) -> Result<Vec<Recommendation>> {
        let ranked = gpu
            .complete(model.catalog(), self.gpu_query(), answer)
            .unwrap_or_else(|| self.rank_on_cpu(model));
        self.recommendations(model, ranked)
    }
}
