//! Why an item is recommended: how much its score falls when one of the shopper's recent events
//! is left out (the encoder and the repeat term run again without it). The events whose absence
//! costs the most are the reasons.

use serde::Serialize;

use crate::error::Result;
use crate::events::{Event, EventKind, SessionWindow};
use crate::model::Model;
use crate::retrieve::{repeat_boosts, Scorer};

/// The most reasons given per recommendation.
pub const MAX_REASONS: usize = 3;

/// One event that led to a recommendation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The event's item id.
    pub item: String,
    /// What the shopper did.
    #[serde(rename = "type")]
    pub kind: EventKind,
    /// When (milliseconds since the Unix epoch).
    pub ts: f64,
    /// How much the recommended item's score falls without this event (positive).
    pub effect: f32,
}

/// The reasons of each of `rows` for the events of `window`: the events (among those the
/// encoder reads) whose absence lowers its score most.
pub fn explain(model: &Model, window: &SessionWindow, rows: &[usize]) -> Result<Vec<Vec<Reason>>> {
    let full = scores(model, window, rows)?;
    let effects = reasons(window, model.manifest().seq_len, rows, &full, |without| {
        scores(model, without, rows)
    })?;
    let events: Vec<Event> = window.events().copied().collect();
    Ok(effects
        .into_iter()
        .map(|list| {
            list.into_iter()
                .map(|(index, effect)| Reason {
                    item: model.catalog().item(events[index].item).id.clone(),
                    kind: events[index].kind,
                    ts: events[index].ts,
                    effect,
                })
                .collect()
        })
        .collect())
}

/// The scores of `rows` for a window, as ranking computes them (repeat term included).
fn scores(model: &Model, window: &SessionWindow, rows: &[usize]) -> Result<Vec<f32>> {
    let items: Vec<usize> = window.events().map(|e| e.item).collect();
    let user = model.encode(&items)?;
    let boosts = repeat_boosts(model.catalog(), items.iter().copied());
    let scorer = Scorer::new(model.catalog(), &user, &boosts);
    Ok(rows
        .iter()
        .map(|&row| scorer.score(scorer.key(row)))
        .collect())
}

/// For each of `rows` (scored `full` with the whole window), the events among the newest
/// `considered` whose removal lowers its score, largest effect first, at most [`MAX_REASONS`]:
/// as `(event index in the window, effect)`. `scores_without` scores `rows` for a window.
fn reasons(
    window: &SessionWindow,
    considered: usize,
    rows: &[usize],
    full: &[f32],
    mut scores_without: impl FnMut(&SessionWindow) -> Result<Vec<f32>>,
) -> Result<Vec<Vec<(usize, f32)>>> {
    let mut effects: Vec<Vec<(usize, f32)>> = vec![Vec::new(); rows.len()];
    let first = window.len().saturating_sub(considered);
    for index in first..window.len() {
        let without = scores_without(&window.without(index))?;
        for (slot, (&with, &without)) in full.iter().zip(&without).enumerate() {
            let effect = with - without;
            if effect > 0.0 {
                effects[slot].push((index, effect));
            }
        }
    }
    for list in &mut effects {
        list.sort_by(|a, b| b.1.total_cmp(&a.1).then(b.0.cmp(&a.0)));
        list.truncate(MAX_REASONS);
    }
    Ok(effects)
}
