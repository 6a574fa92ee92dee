//! Personalised prices: the price head's demand curves, the optimiser, and the guardrails that
//! every quote obeys whatever the model says (list price cap, cost and floor, maximum discount,
//! price endings, one price per shopper and item per session, discounts shown only against the
//! 30-day low, a disclosure beside every personalised price).

mod disclosure;
mod explanation;
mod guardrails;
pub mod head;
mod optimiser;
mod settings;

use std::collections::{HashMap, VecDeque};

use serde::Serialize;

pub use disclosure::{disclosure, NEW_YORK};
pub use explanation::{CurveParams, GuardrailBounds, QuoteExplanation};
pub use guardrails::{allowed_prices, shown_discount_pct, to_cents, ItemPrices, PriceBounds};
pub use head::plain::PriceHeadSpec;
pub use head::{Feature, ItemContext, PriceHead};
pub use optimiser::{best_price, DemandCurve, Objective};
pub use settings::{Jurisdiction, PricingSettings};

/// How many (session, item) prices are remembered; the oldest are forgotten first.
const REMEMBERED_PRICES: usize = 10_000;

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
    /// `GUARDRAILS_INFEASIBLE`, `MODEL_OUTPUT_UNUSABLE`, `OBJECTIVE_INFEASIBLE`.
    pub reason: &'static str,
    /// What the price was computed from (curve, guardrails, objective), as it was when the
    /// item was first priced in the session; serialised only when the caller asks (`explain`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<QuoteExplanation>,
}

/// The merchant's settings, the price head (when the bundle has one), and the prices already
/// quoted per session.
#[derive(Debug)]
pub struct Pricer {
    settings: PricingSettings,
    head: Option<PriceHead>,
    quoted: HashMap<(String, usize), Quote>,
    order: VecDeque<(String, usize)>,
}

impl Pricer {
    /// A pricer with validated settings.
    pub fn new(settings: PricingSettings, head: Option<PriceHead>) -> crate::Result<Pricer> {
        settings.validate()?;
        Ok(Pricer {
            settings,
            head,
            quoted: HashMap::new(),
            order: VecDeque::new(),
        })
    }

    /// The settings in force.
    pub fn settings(&self) -> &PricingSettings {
        &self.settings
    }

    /// Replaces the settings, once they validate; prices already quoted stay as they were.
    pub fn set_settings(&mut self, settings: PricingSettings) -> crate::Result<()> {
        settings.validate()?;
        self.settings = settings;
        Ok(())
    }

    /// The price head, when the bundle has one.
    pub fn head(&self) -> Option<&PriceHead> {
        self.head.as_ref()
    }

    /// The price quoted earlier in `session` for `row`, if any.
    pub fn remembered(&self, session: &str, row: usize) -> Option<&Quote> {
        self.quoted.get(&(session.to_owned(), row))
    }

    /// Remembers a quote for the rest of the session.
    pub fn remember(&mut self, session: &str, row: usize, quote: Quote) {
        let key = (session.to_owned(), row);
        if self.quoted.insert(key.clone(), quote).is_none() {
            self.order.push_back(key);
        }
        while self.order.len() > REMEMBERED_PRICES {
            if let Some(old) = self.order.pop_front() {
                self.quoted.remove(&old);
            }
        }
    }

    /// Forgets the prices quoted in `session`.
    pub fn forget(&mut self, session: &str) {
        self.quoted.retain(|(s, _), _| s != session);
        self.order.retain(|(s, _)| s != session);
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
        let list_only = |reason| self.make_quote(item, prices, prices.list, reason);
        let allowed = allowed_prices(prices, &self.settings);
        if allowed.is_empty() {
            return list_only("GUARDRAILS_INFEASIBLE");
        }
        let Some(curve) = DemandCurve::new(curve.0, curve.1) else {
            return list_only("MODEL_OUTPUT_UNUSABLE");
        };
        let mut candidates = allowed;
        if candidates.last() != Some(&prices.list) {
            candidates.push(prices.list);
        }
        match best_price(&curve, &candidates, prices.list, prices.cost, objective) {
            None => list_only("OBJECTIVE_INFEASIBLE"),
            Some(p) if p >= prices.list => list_only("LIST_PRICE_BEST"),
            Some(p) => self.make_quote(item, prices, p, "PERSONAL_DISCOUNT"),
        }
    }

    fn make_quote(
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
