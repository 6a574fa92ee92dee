//! A quote request from start to end: the objective read from the caller's options, the price
//! head's inputs checked before any model runs, then each item priced (or its first price in the
//! session given again) inside the guardrails.

use serde::Deserialize;

use super::{to_cents, ItemContext, ItemPrices, Objective, PriceMemory, Pricing, Quote};
use crate::catalog::Catalog;
use crate::error::{Error, Result};

/// The most items one `quote` call may price.
pub const MAX_QUOTE_ITEMS: usize = 1000;

/// `quote`'s options as a caller writes them (`{ objective, minMargin, explain }`); any other
/// field is refused.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct QuoteOptions {
    /// `"margin"` (the default), `"revenue"` or `"conversion"`.
    pub objective: Option<String>,
    /// The conversion objective's lowest margin, as a fraction of cost; only it takes one.
    pub min_margin: Option<f64>,
    /// Give each quote its `explanation` (demand curve, guardrail bounds, objective).
    pub explain: bool,
}

impl QuoteOptions {
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

/// Quotes `items` for one session: an item it already priced keeps that price; the others are
/// priced from the head's demand curves under `objective` and remembered in `memory`.
/// Explanations are kept in memory and returned only when `explain` is set.
pub(crate) fn quote_items(
    pricing: &Pricing,
    catalog: &Catalog,
    memory: &mut PriceMemory,
    items: &[ItemToQuote<'_>],
    objective: Objective,
    now_ms: f64,
    explain: bool,
) -> Result<Vec<Quote>> {
    let inputs = pricing.inputs(catalog)?;
    let contexts: Vec<ItemContext> = items
        .iter()
        .map(|item| ItemContext {
            row: item.row,
            department: inputs.department[item.row],
            interest: item.interest,
            display: 0.0,
            mailer: 0.0,
        })
        .collect();
    let curves = inputs.head.curves(&contexts, week_of_year(now_ms))?;
    let cost_ratio = pricing.settings().default_cost_ratio;
    let costs = catalog.prices().cost.as_deref();
    let mut quotes = Vec::with_capacity(items.len());
    for ((item, curve), context) in items.iter().zip(curves).zip(&contexts) {
        let row = item.row;
        let mut quote = match memory.get(row) {
            Some(earlier) => earlier.clone(),
            None => {
                let list = to_cents(f64::from(inputs.list[row])).unwrap_or(0).max(1);
                let prices = ItemPrices {
                    list,
                    cost: costs.map_or(list as f64 * cost_ratio, |c| f64::from(c[row]) * 100.0),
                    low_30d: to_cents(f64::from(inputs.low_30d[row]))
                        .unwrap_or(list)
                        .max(1),
                };
                let mut quote = pricing.quote(item.id, &prices, curve, objective);
                if let Some(explanation) = quote.explanation.as_mut() {
                    explanation.interest = Some(context.interest);
                }
                memory.remember(row, quote.clone());
                quote
            }
        };
        if !explain {
            quote.explanation = None;
        }
        quotes.push(quote);
    }
    Ok(quotes)
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
