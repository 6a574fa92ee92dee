//! A promotion budget for one session: the merchant gives a share of the expected revenue of
//! what the session is quoted to spend on discounts, and the spend goes where the expected
//! incremental margin per unit of expected discount is highest (`models/training/offers.py`,
//! `allocate`, is the same rule offline). Spend is counted when an offer is made, as its expected
//! discount (list − price) · P(price); it never exceeds the budget.

use serde::{Deserialize, Serialize};

/// `quote`'s `budget` option: `{ share }`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BudgetOptions {
    /// The share (above 0, at most 1) of the expected revenue at list price of every item the
    /// session is quoted that may be spent on discounts.
    pub share: f64,
}

/// One session's promotion account, in cents: what it may spend and what its offers committed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PromotionAccount {
    allowance: f64,
    committed: f64,
}

impl PromotionAccount {
    /// What is left to spend.
    pub fn remaining(&self) -> f64 {
        (self.allowance - self.committed).max(0.0)
    }

    /// Adds to the budget.
    pub fn accrue(&mut self, cents: f64) {
        self.allowance += cents;
    }

    /// Commits the expected discount of offers made; the caller keeps it within `remaining`.
    pub fn commit(&mut self, cents: f64) {
        self.committed += cents;
    }
}

/// One item's price levels under a budget: level 0 is the list price (spend 0, gain 0); each
/// other level an allowed price with its expected discount (`spend`) and its expected margin
/// over the list price's (`gain`).
#[derive(Debug, Clone, PartialEq)]
pub struct Levels {
    /// Prices in cents, level 0 the list price.
    pub prices: Vec<i64>,
    /// Expected discount per level, in cents.
    pub spend: Vec<f64>,
    /// Expected margin over the list price's, per level, in cents.
    pub gain: Vec<f64>,
}

/// What the budget gave one item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Allocation {
    /// The level chosen (0: the list price).
    pub level: usize,
    /// Whether a step the item would have taken did not fit in the budget.
    pub withheld: bool,
}

/// Indices of `levels`' upper concave hull of (spend, gain), from level 0 rising in spend.
fn upper_hull(levels: &Levels) -> Vec<usize> {
    let (spend, gain) = (&levels.spend, &levels.gain);
    let mut order: Vec<usize> = (0..spend.len())
        .filter(|&k| spend[k].is_finite() && gain[k].is_finite() && spend[k] > 0.0)
        .collect();
    order.sort_by(|&a, &b| spend[a].total_cmp(&spend[b]).then(a.cmp(&b)));
    let mut hull = vec![0usize];
    for k in order {
        if let Some(&last) = hull.last() {
            if spend[k] == spend[last] {
                if last == 0 || gain[k] <= gain[last] {
                    continue;
                }
                hull.pop();
            }
        }
        while hull.len() >= 2 {
            let (a, b) = (hull[hull.len() - 2], hull[hull.len() - 1]);
            if (gain[b] - gain[a]) * (spend[k] - spend[a])
                <= (gain[k] - gain[a]) * (spend[b] - spend[a])
            {
                hull.pop();
            } else {
                break;
            }
        }
        hull.push(k);
    }
    hull
}

/// One level per item: the steps between hull levels are taken in order of gain per unit of
/// spend, highest first, while they fit in `budget`; a step that does not fit ends its item.
/// The chosen levels' spends sum to at most `budget`.
pub fn allocate(items: &[Levels], budget: f64) -> Vec<Allocation> {
    let hulls: Vec<Vec<usize>> = items.iter().map(upper_hull).collect();
    let mut steps: Vec<(f64, usize, usize)> = Vec::new();
    for (g, hull) in hulls.iter().enumerate() {
        let (spend, gain) = (&items[g].spend, &items[g].gain);
        for j in 1..hull.len() {
            let ds = spend[hull[j]] - spend[hull[j - 1]];
            steps.push(((gain[hull[j]] - gain[hull[j - 1]]) / ds, g, j));
        }
    }
    steps.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut reached = vec![0usize; items.len()];
    let mut closed = vec![false; items.len()];
    let mut withheld = vec![false; items.len()];
    let mut used = 0.0;
    for (_, g, j) in steps {
        if closed[g] || j != reached[g] + 1 {
            closed[g] = true;
            continue;
        }
        let spend = &items[g].spend;
        let next = used - spend[hulls[g][reached[g]]] + spend[hulls[g][j]];
        if next > budget {
            closed[g] = true;
            withheld[g] = true;
            continue;
        }
        used = next;
        reached[g] = j;
    }
    (0..items.len())
        .map(|g| Allocation {
            level: hulls[g][reached[g]],
            withheld: withheld[g],
        })
        .collect()
}

/// What an explanation says of the budget after a quote: in currency units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetUse {
    /// The expected discount this quote committed.
    pub spend: f64,
    /// What was left of the session's budget after the quote's call.
    pub remaining: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(spend: &[f64], gain: &[f64]) -> Levels {
        Levels {
            prices: (0..spend.len() as i64).collect(),
            spend: spend.to_vec(),
            gain: gain.to_vec(),
        }
    }

    #[test]
    fn the_cheapest_margin_per_unit_of_discount_goes_first_within_the_budget() {
        let a = levels(&[0.0, 1.0, 2.0], &[0.0, -0.2, -0.6]); // steps cost 0.2, then 0.4 per unit
        let b = levels(&[0.0, 1.0], &[0.0, -0.5]);
        let run = |budget| {
            allocate(&[a.clone(), b.clone()], budget)
                .iter()
                .map(|c| (c.level, c.withheld))
                .collect::<Vec<_>>()
        };
        assert_eq!(run(1.5), [(1, true), (0, true)]);
        assert_eq!(run(2.5), [(2, false), (0, true)]);
        assert_eq!(run(3.0), [(2, false), (1, false)]);
        assert_eq!(run(0.5), [(0, true), (0, true)]);
    }

    #[test]
    fn levels_below_the_hull_are_skipped() {
        // Level 1 lies below the line from level 0 to level 2.
        let l = levels(&[0.0, 1.0, 2.0], &[0.0, -0.9, -1.0]);
        assert_eq!(upper_hull(&l), vec![0, 2]);
        assert_eq!(allocate(&[l], 10.0)[0].level, 2);
    }
}
