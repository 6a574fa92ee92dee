//! A quote request from start to end: the objective read from the caller's options, the price
//! head's inputs checked before any model runs, then each item priced (or its first price in the
//! session given again) inside the guardrails.

use std::collections::{HashMap, HashSet};

use serde::Deserialize;

use super::{
    allocate, best_price, to_cents, Allocation, BudgetOptions, BudgetUse, CurveParams, DemandCurve,
    Feature, ItemContext, ItemPrices, Levels, Objective, PriceMemory, Pricing, Quote,
    QuoteExplanation, ShopperSignals,
};
use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::events::Event;

/// The most items one `quote` call may price.
pub const MAX_QUOTE_ITEMS: usize = 1000;

/// `quote`'s options as a caller writes them (`{ objective, minMargin, budget, explain }`); any
/// other field is refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct QuoteOptions {
    /// `"margin"` (the default), `"revenue"` or `"conversion"`.
    pub objective: Option<String>,
    /// The conversion objective's lowest margin, as a fraction of cost; only it takes one.
    pub min_margin: Option<f64>,
    /// A promotion budget for the session (margin objective only): see [`BudgetOptions`].
    pub budget: Option<BudgetOptions>,
    /// Give each quote its `explanation` (demand curve, guardrail bounds, objective).
    pub explain: bool,
}

impl QuoteOptions {
    /// The budget's share, checked: above 0 and at most 1, with the margin objective.
    pub fn budget_share(&self) -> Result<Option<f64>> {
        let Some(budget) = self.budget else {
            return Ok(None);
        };
        let invalid = |reason: String| Error::InvalidArgument {
            name: "budget",
            reason,
        };
        if !(budget.share.is_finite() && budget.share > 0.0 && budget.share <= 1.0) {
            return Err(invalid(format!(
                "`share` must be above 0 and at most 1, got {}",
                budget.share
            )));
        }
        if self.objective()? != Objective::Margin {
            return Err(invalid(
                "a budget spends for the margin objective only; leave `objective` out or set it to \"margin\"".into(),
            ));
        }
        Ok(Some(budget.share))
    }

    /// The objective these options name, checked: the one place the objective rules live.
    pub fn objective(&self) -> Result<Objective> {
        let invalid = |name, reason: String| Error::InvalidArgument { name, reason };
        match (self.objective.as_deref(), self.min_margin) {
            (None | Some("margin"), None) => Ok(Objective::Margin),
            (Some("revenue"), None) => Ok(Objective::Revenue),
            (Some("conversion"), Some(m)) if m.is_finite() && m >= 0.0 => {
                Ok(Objective::Conversion { min_margin: m })
            }
            (Some("conversion"), Some(m)) => Err(invalid(
                "minMargin",
                format!("must be a number of at least 0, got {m}"),
            )),
            (Some("conversion"), None) => Err(invalid(
                "minMargin",
                "the conversion objective needs one".into(),
            )),
            (Some("margin" | "revenue") | None, Some(_)) => Err(invalid(
                "minMargin",
                "only the conversion objective takes one".into(),
            )),
            (Some(other), _) => Err(invalid(
                "objective",
                format!("expected margin, revenue or conversion, got {other:?}"),
            )),
        }
    }
}

/// The week of the year (1–53) of a time in milliseconds since the Unix epoch (UTC); weeks
/// start on 1 January.
pub fn week_of_year(now_ms: f64) -> u32 {
    // The Gregorian calendar repeats every 400 years (146,097 days), so any time, however far
    // from 1970 (or not finite: it saturates), takes at most 400 steps.
    let mut days = ((now_ms / 86_400_000.0).floor() as i64).rem_euclid(146_097);
    let mut year = 1970i64;
    loop {
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let length = if leap { 366 } else { 365 };
        if days < length {
            return (days / 7 + 1).min(53) as u32;
        }
        days -= length;
        year += 1;
    }
}

/// One item of a quote request: its id, catalogue row and the shopper's interest score.
#[derive(Debug, Clone)]
pub(crate) struct ItemToQuote<'a> {
    pub id: &'a str,
    pub row: usize,
    pub interest: f32,
}

/// What quotes need beyond the request: the price head and the catalogue's price columns.
struct QuoteInputs<'p, 'c> {
    head: &'p super::PriceHead,
    list: &'c [f32],
    low_30d: &'c [f32],
    department: &'c [u32],
}

impl Pricing {
    /// Refuses, before any model runs, a bundle that cannot quote: no price head, or no list
    /// prices, 30-day lows or departments in its catalogue (`PRICING_UNAVAILABLE`).
    pub fn check_available(&self, catalog: &Catalog) -> Result<()> {
        self.inputs(catalog).map(|_| ())
    }

    fn inputs<'p, 'c>(&'p self, catalog: &'c Catalog) -> Result<QuoteInputs<'p, 'c>> {
        let unavailable =
            |what: &str| Error::PricingUnavailable(format!("this bundle has no {what}"));
        let prices = catalog.prices();
        Ok(QuoteInputs {
            head: self.head().ok_or_else(|| unavailable("price head"))?,
            list: prices
                .list_price
                .as_deref()
                .ok_or_else(|| unavailable("list prices (`list_price`)"))?,
            low_30d: prices
                .low_30d
                .as_deref()
                .ok_or_else(|| unavailable("30-day low prices (`low_30d`)"))?,
            department: prices
                .department
                .as_deref()
                .ok_or_else(|| unavailable("departments (`department`)"))?,
        })
    }
}

/// One `quote` call, checked: the items, the objective, the budget share (if any) and the time.
pub(crate) struct QuoteCall<'a> {
    pub items: &'a [ItemToQuote<'a>],
    pub objective: Objective,
    pub budget_share: Option<f64>,
    pub now_ms: f64,
    pub explain: bool,
}

/// An item priced for the first time in the session: what its quote is chosen from.
struct Fresh<'a> {
    item: &'a ItemToQuote<'a>,
    prices: ItemPrices,
    raw_curve: (f32, f32),
    /// The allowed prices inside the spread cap, ascending, the list price last; `None` when
    /// the guardrails leave none.
    candidates: Option<Vec<i64>>,
    reference_curve: Option<(f32, f32)>,
}

/// Quotes `items` for one session whose events are `history`: an item it already priced keeps
/// that price; the others are priced from the head's demand curves for this shopper under the
/// call's objective (and budget), inside the guardrails and the spread cap, and remembered in
/// `memory`. Explanations are kept in memory and returned only when the call asks.
pub(crate) fn quote_items<'e>(
    pricing: &Pricing,
    catalog: &Catalog,
    memory: &mut PriceMemory,
    history: impl Iterator<Item = &'e Event>,
    call: &QuoteCall<'_>,
) -> Result<Vec<Quote>> {
    let inputs = pricing.inputs(catalog)?;
    let earlier: Vec<Option<Quote>> = call
        .items
        .iter()
        .map(|i| memory.get(i.row).cloned())
        .collect();
    let mut seen = HashSet::new();
    let fresh_items: Vec<&ItemToQuote<'_>> = call
        .items
        .iter()
        .zip(&earlier)
        .filter(|(item, quoted)| quoted.is_none() && seen.insert(item.row))
        .map(|(item, _)| item)
        .collect();
    let response = inputs.head.response();
    let signals =
        response.map(|r| ShopperSignals::from_events(history, inputs.list, r, call.now_ms));
    let fresh = price_inputs(pricing, catalog, &inputs, &fresh_items, signals, call)?;
    let quotes = match call.budget_share {
        Some(share) => quote_under_budget(pricing, memory, &fresh, share),
        None => fresh
            .iter()
            .map(|f| quote_freely(pricing, f, call.objective))
            .collect(),
    };
    let mut priced = HashMap::new();
    for (f, (mut quote, spend)) in fresh.iter().zip(quotes) {
        if let Some(explanation) = quote.explanation.as_mut() {
            explanation.interest = Some(f.item.interest);
            explanation.shopper = signals;
            explanation.reference_curve = f.reference_curve.and_then(CurveParams::usable);
            explanation.budget = spend.map(|spend| BudgetUse {
                spend: spend / 100.0,
                remaining: memory.account.remaining() / 100.0,
            });
        }
        memory.remember(f.item.row, quote.clone());
        priced.insert(f.item.row, quote);
    }
    Ok(call
        .items
        .iter()
        .zip(earlier)
        .map(|(item, earlier)| {
            let mut quote = earlier.unwrap_or_else(|| priced[&item.row].clone());
            if !call.explain {
                quote.explanation = None;
            }
            quote
        })
        .collect())
}

/// Each fresh item's prices, this shopper's curve, the reference shopper's curve and the
/// candidates inside the guardrails and the spread cap.
fn price_inputs<'a>(
    pricing: &Pricing,
    catalog: &Catalog,
    inputs: &QuoteInputs<'_, '_>,
    items: &[&'a ItemToQuote<'a>],
    signals: Option<ShopperSignals>,
    call: &QuoteCall<'_>,
) -> Result<Vec<Fresh<'a>>> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let week = week_of_year(call.now_ms);
    let context = |item: &ItemToQuote<'_>, interest: f32, deal_share: f32| ItemContext {
        row: item.row,
        department: inputs.department[item.row],
        interest,
        display: 0.0,
        mailer: 0.0,
        deal_share,
    };
    let deal_share = signals.map_or(0.0, |s| s.deal_share);
    let own: Vec<ItemContext> = items
        .iter()
        .map(|i| context(i, i.interest, deal_share))
        .collect();
    let curves = inputs.head.curves(&own, week)?;
    let references: Vec<Option<(f32, f32)>> = match inputs.head.response() {
        Some(r) => {
            let mean_interest = r
                .signals
                .iter()
                .position(|f| *f == Feature::Interest)
                .map(|j| r.mean[j]);
            let unknown: Vec<ItemContext> = items
                .iter()
                .map(|i| {
                    context(
                        i,
                        mean_interest.unwrap_or(i.interest),
                        ShopperSignals::unknown(r).deal_share,
                    )
                })
                .collect();
            inputs
                .head
                .curves(&unknown, week)?
                .into_iter()
                .map(Some)
                .collect()
        }
        None => vec![None; items.len()],
    };
    let cost_ratio = pricing.settings().default_cost_ratio;
    let costs = catalog.prices().cost.as_deref();
    Ok(items
        .iter()
        .zip(curves.into_iter().zip(references))
        .map(|(item, (raw_curve, reference_curve))| {
            let row = item.row;
            let list = to_cents(f64::from(inputs.list[row])).unwrap_or(0).max(1);
            let prices = ItemPrices {
                list,
                cost: costs.map_or(list as f64 * cost_ratio, |c| f64::from(c[row]) * 100.0),
                low_30d: to_cents(f64::from(inputs.low_30d[row]))
                    .unwrap_or(list)
                    .max(1),
            };
            let candidates = pricing
                .candidates(&prices)
                .map(|c| within_spread(pricing, &prices, c, reference_curve, call.objective));
            Fresh {
                item,
                prices,
                raw_curve,
                candidates,
                reference_curve,
            }
        })
        .collect())
}

/// The candidates whose discount (a fraction of the list price) is within the merchant's
/// spread cap of the discount the reference shopper gets under the same objective. When the
/// reference shopper has no usable curve, the cap cannot be measured and only the list price
/// stays (the cap fails closed).
fn within_spread(
    pricing: &Pricing,
    prices: &ItemPrices,
    candidates: Vec<i64>,
    reference: Option<(f32, f32)>,
    objective: Objective,
) -> Vec<i64> {
    let Some(spread) = pricing.settings().max_shopper_spread else {
        return candidates;
    };
    let Some(reference) = reference.and_then(|(b, e)| DemandCurve::new(b, e)) else {
        return vec![prices.list];
    };
    let discount = |p: i64| (prices.list - p) as f64 / prices.list as f64;
    let reference_discount =
        best_price(&reference, &candidates, prices.list, prices.cost, objective)
            .map_or(0.0, discount);
    candidates
        .into_iter()
        .filter(|&p| (discount(p) - reference_discount).abs() <= spread + 1e-9)
        .collect()
}

/// The quote for the objective alone (no budget), with its explanation; no spend.
fn quote_freely(pricing: &Pricing, f: &Fresh<'_>, objective: Objective) -> (Quote, Option<f64>) {
    let mut quote = pricing.choose_among(
        f.item.id,
        &f.prices,
        f.raw_curve,
        f.candidates.as_deref(),
        objective,
    );
    quote.explanation = Some(QuoteExplanation::new(
        &f.prices,
        pricing.settings(),
        f.raw_curve,
        objective,
    ));
    (quote, None)
}

/// The quotes under a promotion budget of `share` of the expected revenue at list price of the
/// items priced: the session's account grows by that share of these items' expected revenue,
/// then [`allocate`] spends what is left where the expected margin per unit of expected discount
/// is highest. Returns each quote with the spend it committed (cents).
fn quote_under_budget(
    pricing: &Pricing,
    memory: &mut PriceMemory,
    fresh: &[Fresh<'_>],
    share: f64,
) -> Vec<(Quote, Option<f64>)> {
    let mut levels = Vec::new();
    let mut usable = Vec::new();
    for (k, f) in fresh.iter().enumerate() {
        let (Some(candidates), Some(curve)) = (
            &f.candidates,
            DemandCurve::new(f.raw_curve.0, f.raw_curve.1),
        ) else {
            continue;
        };
        let (list, cost) = (f.prices.list, f.prices.cost);
        let margin = |p: i64| (p as f64 - cost) * curve.probability(p, list);
        let list_margin = margin(list);
        let prices: Vec<i64> = std::iter::once(list)
            .chain(candidates.iter().copied().filter(|&p| p < list))
            .collect();
        memory
            .account
            .accrue(share * list as f64 * curve.probability(list, list));
        levels.push(Levels {
            spend: prices
                .iter()
                .map(|&p| (list - p) as f64 * curve.probability(p, list))
                .collect(),
            gain: prices.iter().map(|&p| margin(p) - list_margin).collect(),
            prices,
        });
        usable.push(k);
    }
    let chosen = allocate(&levels, memory.account.remaining());
    let mut outcome: Vec<Option<(Allocation, &Levels)>> = vec![None; fresh.len()];
    for ((k, allocation), levels) in usable.iter().zip(chosen).zip(&levels) {
        outcome[*k] = Some((allocation, levels));
    }
    fresh
        .iter()
        .zip(outcome)
        .map(|(f, outcome)| {
            let (mut quote, spend) = match outcome {
                None => (quote_freely(pricing, f, Objective::Margin).0, Some(0.0)),
                Some((a, levels)) => {
                    let (id, prices) = (f.item.id, &f.prices);
                    let quote = match (a.level, a.withheld) {
                        (0, true) => pricing.make_quote(id, prices, prices.list, "BUDGET_SPENT"),
                        (0, false) => {
                            pricing.make_quote(id, prices, prices.list, "LIST_PRICE_BEST")
                        }
                        (level, _) => {
                            let price = levels.prices[level];
                            pricing.make_quote(id, prices, price, "PERSONAL_DISCOUNT")
                        }
                    };
                    let spend = levels.spend[a.level];
                    memory.account.commit(spend);
                    (quote, Some(spend))
                }
            };
            quote.explanation = Some(QuoteExplanation::new(
                &f.prices,
                pricing.settings(),
                f.raw_curve,
                Objective::Margin,
            ));
            (quote, spend)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::week_of_year;

    #[test]
    fn weeks_of_the_year_from_any_time() {
        let day = 86_400_000.0;
        let jan_1_2017 = 1_483_228_800_000.0;
        assert_eq!(week_of_year(jan_1_2017), 1);
        assert_eq!(week_of_year(jan_1_2017 + 7.0 * day), 2);
        assert_eq!(
            week_of_year(jan_1_2017 + 364.0 * day),
            53,
            "31 December 2017"
        );
        assert_eq!(week_of_year(jan_1_2017 + 365.0 * day), 1, "1 January 2018");
        for odd in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1e300, 1e300] {
            assert!((1..=53).contains(&week_of_year(odd)));
        }
    }
}
