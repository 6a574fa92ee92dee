//! Offline evaluation of a shipped bundle with the engine's own code (a crate of its own, beside
//! the product: `edgerec` is what ships) (tract and the same quantised
//! scoring): leave-one-out next-item ranking under the protocols of `../shared/data/README.md`,
//! and next purchases over held-out weeks ([`weeks`]). With a streaming encoder every user's
//! streamed state is checked against the full recompute on the way ([`StreamCheck`]).
#![warn(missing_docs)]

pub mod data;
pub mod weeks;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use edgerec::events::SESSION_HISTORY;
use edgerec::retrieve::{repeat_boosts, Scorer};
use edgerec::{Error, Model, RawEvent, Result, Session};

/// Which held-out item is the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    /// The last item (inputs: everything before it).
    Test,
    /// The second-to-last item (inputs: everything before it).
    Valid,
}

/// What happens to items the user interacted with before the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Seen {
    /// They are removed from the ranking (the target itself never is).
    Remove,
    /// Their score is set to 0, as the published evaluations do (a repeated target too).
    Zero,
}

/// Against what the target is ranked.
#[derive(Debug, Clone, PartialEq)]
pub enum Protocol {
    /// Every item of the catalogue, with a policy for seen items.
    Full(Seen),
    /// The target and the given negatives (item ids), per user id.
    Sampled(HashMap<String, Vec<String>>),
}

/// HR@K and NDCG@K for K = 5, 10, 20, and how many users were ranked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metrics {
    /// Users ranked.
    pub users: usize,
    /// `("HR@5", value)`, … in a fixed order.
    pub values: Vec<(String, f64)>,
}

/// How far apart a streamed user vector and the full recompute may lie.
pub const STREAM_TOLERANCE: f32 = 1e-5;

/// With a streaming encoder (`encoder.reach`): every evaluated user's vector streamed one event at
/// a time, against the full recompute the evaluation ranks with.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StreamCheck {
    /// Users checked.
    pub users: usize,
    /// The largest difference of one value, over them all.
    pub largest: f32,
}

impl StreamCheck {
    /// Checks one user whose full recompute for `events` is `full`: the session starts from the
    /// window before the last 3 × `seqLen` events (a full encode) and takes those one at a time.
    /// A difference above [`STREAM_TOLERANCE`] is an error. Nothing to check without a stream.
    pub fn user(&mut self, model: &Model, events: &[RawEvent], full: &[f32]) -> Result<()> {
        if !model.streams() {
            return Ok(());
        }
        let split = events.len().saturating_sub(3 * model.manifest().seq_len);
        let mut session = Session::from_events(model, &events[..split], 1e12)?;
        session.user_vector(model)?;
        for event in &events[split..] {
            session.observe(model, std::slice::from_ref(event), 1e12)?;
        }
        let streamed_all_the_way = session.is_streaming();
        let streamed = session.user_vector(model)?;
        let off = streamed
            .iter()
            .zip(full)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        self.users += 1;
        self.largest = self.largest.max(off);
        if !streamed_all_the_way || off > STREAM_TOLERANCE {
            return Err(Error::Inference(format!(
                "the {}th user checked: the streamed user vector is {off} from the full recompute (streamed all the way: {streamed_all_the_way})",
                self.users
            )));
        }
        Ok(())
    }
}

/// The 0-based rank of every evaluated user's target, given the bundle, the data and the protocol.
/// `users`: which users (indices into `data`) to rank; users with fewer than 3 items are skipped.
/// Each ranked user goes through `check`.
pub fn ranks(
    model: &Model,
    data: &data::Sequences,
    stage: Stage,
    protocol: &Protocol,
    users: &[usize],
    check: &mut StreamCheck,
) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(users.len());
    for &u in users {
        let seq = &data.items[u];
        if seq.len() < 3 {
            continue;
        }
        let target_at = seq.len() - if stage == Stage::Test { 1 } else { 2 };
        let history = &seq[..target_at];
        let target = row_of(model, &seq[target_at])?;
        let seen: Vec<usize> = history
            .iter()
            .map(|id| row_of(model, id))
            .collect::<Result<_>>()?;
        let events = replayed(history.iter().map(String::as_str));
        let user = Session::from_events(model, &events, 1e12)?.user_vector(model)?;
        check.user(model, &events, &user)?;
        let window_rows = seen[seen.len().saturating_sub(SESSION_HISTORY)..]
            .iter()
            .copied();
        let boosts = repeat_boosts(model.catalog(), window_rows);
        let scorer = Scorer::new(model.catalog(), &user, &boosts);
        let rank = match protocol {
            Protocol::Full(policy) => {
                let mut keys: Vec<f32> =
                    (0..model.catalog().len()).map(|i| scorer.key(i)).collect();
                let mut removed = vec![false; keys.len()];
                for &s in &seen {
                    match policy {
                        Seen::Zero => keys[s] = 0.0,
                        Seen::Remove => removed[s] = s != target,
                    }
                }
                rank_of(
                    target,
                    keys[target],
                    (0..keys.len())
                        .filter(|&i| !removed[i])
                        .map(|i| (i, keys[i])),
                )
            }
            Protocol::Sampled(negatives) => {
                let ids = negatives
                    .get(&data.users[u])
                    .ok_or_else(|| Error::InvalidArgument {
                        name: "negatives",
                        reason: format!("no negatives for user {}", data.users[u]),
                    })?;
                let rows: Vec<usize> = ids
                    .iter()
                    .map(|id| row_of(model, id))
                    .collect::<Result<_>>()?;
                let target_key = scorer.key(target);
                rank_of(
                    target,
                    target_key,
                    rows.into_iter().map(|i| (i, scorer.key(i))),
                )
            }
        };
        out.push(rank);
    }
    Ok(out)
}

fn row_of(model: &Model, id: &str) -> Result<usize> {
    model
        .catalog()
        .index_of(id)
        .ok_or_else(|| Error::UnknownItem {
            item: id.to_owned(),
            context: "the data file".into(),
        })
}

/// A history of item ids as the purchase events a session would hold: the last
/// [`SESSION_HISTORY`], in order, with increasing timestamps long in the past.
pub fn replayed<'a>(history: impl ExactSizeIterator<Item = &'a str>) -> Vec<RawEvent> {
    let skip = history.len().saturating_sub(SESSION_HISTORY);
    history
        .skip(skip)
        .enumerate()
        .map(|(i, id)| RawEvent {
            kind: Some("purchase".into()),
            item: Some(id.to_owned()),
            ts: Some(i as f64),
            price: None,
        })
        .collect()
}

/// Items that outrank the target: a higher key, or an equal key and a lower index.
fn rank_of(target: usize, target_key: f32, others: impl Iterator<Item = (usize, f32)>) -> usize {
    others
        .filter(|&(i, k)| i != target && (k > target_key || (k == target_key && i < target)))
        .count()
}

/// HR@K and NDCG@K (K = 5, 10, 20) from 0-based ranks.
pub fn summarize(ranks: &[usize]) -> Metrics {
    let n = ranks.len().max(1) as f64;
    let mut values = Vec::new();
    for k in [5, 10, 20] {
        let hits = ranks.iter().filter(|&&r| r < k).count() as f64;
        let ndcg: f64 = ranks
            .iter()
            .filter(|&&r| r < k)
            .map(|&r| 1.0 / ((r + 2) as f64).log2())
            .sum();
        values.push((format!("HR@{k}"), hits / n));
        values.push((format!("NDCG@{k}"), ndcg / n));
    }
    Metrics {
        users: ranks.len(),
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_rank_by_index_and_the_target_is_not_its_own_rival() {
        let others = [(0, 1.0), (1, 2.0), (2, 2.0), (3, 2.0), (4, 0.5)];
        assert_eq!(
            rank_of(2, 2.0, others.into_iter()),
            1,
            "item 1 ties and comes first; item 3 ties and comes after"
        );
    }

    #[test]
    fn metrics_of_known_ranks() {
        let m = summarize(&[0, 1, 9, 30]);
        let get = |name: &str| m.values.iter().find(|(n, _)| n == name).unwrap().1;
        assert_eq!(get("HR@10"), 0.75);
        let ndcg10 = (1.0 + 1.0 / 3f64.log2() + 1.0 / 11f64.log2()) / 4.0;
        assert!((get("NDCG@10") - ndcg10).abs() < 1e-12);
        assert_eq!(get("HR@5"), 0.5);
    }
}
