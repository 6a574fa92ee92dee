//! Personalised prices: the price head's demand curves, the optimiser, and the guardrails that
//! every quote obeys whatever the model says (list price cap, cost and floor, maximum discount,
//! price endings, one price per shopper and item per session, discounts shown only against the
//! 30-day low, a disclosure beside every personalised price).

mod budget;
mod disclosure;
mod explanation;
mod guardrails;
pub mod head;
mod memory;
mod optimiser;
mod quote_items;
mod settings;
mod signals;

use serde::Serialize;

pub use budget::{allocate, Allocation, BudgetOptions, BudgetUse, Levels, PromotionAccount};
pub use disclosure::{disclosure, NEW_YORK};
pub use explanation::{CurveParams, GuardrailBounds, QuoteExplanation};
pub use guardrails::{allowed_prices, shown_discount_pct, to_cents, ItemPrices, PriceBounds};
pub use head::plain::PriceHeadSpec;
pub use head::{Feature, ItemContext, PriceHead, PriceResponse};
pub use memory::{PriceMemory, MAX_PRICES_PER_SESSION};
pub use optimiser::{best_price, DemandCurve, Objective};
pub(crate) use quote_items::{quote_items, ItemToQuote, QuoteCall};
pub use quote_items::{week_of_year, QuoteOptions, MAX_QUOTE_ITEMS};
pub use settings::{Jurisdiction, PricingSettings};
pub use signals::{week_start_ms, ShopperSignals};

/// One item's quote.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Quote {
    /// The item's id.
    pub item: String,
    /// The price to show, in currency units.
    pub price: f64,
    /// The list price.
    pub list_price: f64,
    /// The lowest price of the last 30 days (at most the list price): the reference of any
    /// discount shown.
    pub reference_price: f64,
    /// The discount to show, in percent of the reference price (0: show none).
    pub discount_pct: f64,
    /// Whether the price was set for this shopper (below the list price).
    pub personalised: bool,
    /// The text to show beside a personalised price; `None` when the price is the list price.
    pub disclosure: Option<String>,
    /// Why this price, machine-readable: `PERSONAL_DISCOUNT`, `LIST_PRICE_BEST`,
    /// `GUARDRAILS_INFEASIBLE`, `MODEL_OUTPUT_UNUSABLE`, `OBJECTIVE_INFEASIBLE`, `BUDGET_SPENT`
    /// (the promotion budget could not cover the offer the item would have had).
    pub reason: &'static str,
    /// What the price was computed from (curve, guardrails, objective), as it was when the
    /// item was first priced in the session; serialised only when the caller asks (`explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<QuoteExplanation>,
}

/// The model's pricing: the merchant's settings (validated once, at load) and the price head,
/// when the bundle has one. Immutable; what each session quoted lives in its [`PriceMemory`].
#[derive(Debug)]
pub struct Pricing {
    settings: PricingSettings,
    head: Option<PriceHead>,
}

impl Pricing {
    /// Pricing with validated settings; a spread cap needs a price head with a shopper-level
    /// response (the reference shopper it measures the spread from).
    pub fn new(settings: PricingSettings, head: Option<PriceHead>) -> crate::Result<Pricing> {
        settings.validate()?;
        if settings.max_shopper_spread.is_some()
            && head.as_ref().and_then(PriceHead::response).is_none()
        {
            return Err(crate::Error::InvalidPricing(
                "maxShopperSpread needs a price head with a shopper-level response (`priceHead.response`); this bundle's has none".into(),
            ));
        }
        Ok(Pricing { settings, head })
    }

    /// The settings in force.
    pub fn settings(&self) -> &PricingSettings {
        &self.settings
    }

    /// The price head, when the bundle has one.
    pub fn head(&self) -> Option<&PriceHead> {
        self.head.as_ref()
    }

    /// The quote for one item, given its prices and the price head's outputs for it, with its
    /// explanation.
    pub fn quote(
        &self,
        item: &str,
        prices: &ItemPrices,
        curve: (f32, f32),
        objective: Objective,
    ) -> Quote {
        let mut quote = self.choose(item, prices, curve, objective);
        quote.explanation = Some(QuoteExplanation::new(
            prices,
            &self.settings,
            curve,
            objective,
        ));
        quote
    }

    fn choose(
        &self,
        item: &str,
        prices: &ItemPrices,
        curve: (f32, f32),
        objective: Objective,
    ) -> Quote {
        self.choose_among(
            item,
            prices,
            curve,
            self.candidates(prices).as_deref(),
            objective,
        )
    }

    /// The quote for the objective among `candidates` (`None`: the guardrails left none), or
    /// the list price with the reason none could be chosen.
    pub(crate) fn choose_among(
        &self,
        item: &str,
        prices: &ItemPrices,
        curve: (f32, f32),
        candidates: Option<&[i64]>,
        objective: Objective,
    ) -> Quote {
        let list_only = |reason| self.make_quote(item, prices, prices.list, reason);
        let Some(candidates) = candidates else {
            return list_only("GUARDRAILS_INFEASIBLE");
        };
        let Some(curve) = DemandCurve::new(curve.0, curve.1) else {
            return list_only("MODEL_OUTPUT_UNUSABLE");
        };
        match best_price(&curve, candidates, prices.list, prices.cost, objective) {
            None => list_only("OBJECTIVE_INFEASIBLE"),
            Some(p) if p >= prices.list => list_only("LIST_PRICE_BEST"),
            Some(p) => self.make_quote(item, prices, p, "PERSONAL_DISCOUNT"),
        }
    }

    /// The prices an item may be quoted at, ascending, the list price last; `None` when the
    /// guardrails leave no price below or at the list price but the list price itself.
    pub(crate) fn candidates(&self, prices: &ItemPrices) -> Option<Vec<i64>> {
        let mut candidates = allowed_prices(prices, &self.settings);
        if candidates.is_empty() {
            return None;
        }
        if candidates.last() != Some(&prices.list) {
            candidates.push(prices.list);
        }
        Some(candidates)
    }

    /// The quote of `price` for the item, with `reason`; no explanation yet.
    pub(crate) fn make_quote(
        &self,
        item: &str,
        prices: &ItemPrices,
        price: i64,
        reason: &'static str,
    ) -> Quote {
        let personalised = price < prices.list;
        // A 30-day low above today's list price would make a discount look larger than it is.
        let reference = prices.low_30d.min(prices.list);
        Quote {
            item: item.to_owned(),
            price: price as f64 / 100.0,
            list_price: prices.list as f64 / 100.0,
            reference_price: reference as f64 / 100.0,
            discount_pct: shown_discount_pct(price, reference),
            personalised,
            disclosure: personalised
                .then(|| disclosure(self.settings.jurisdiction, &self.settings.locale).to_owned()),
            reason,
            explanation: None,
        }
    }
}
