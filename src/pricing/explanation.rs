//! What a quote was computed from, for a merchant's view of it: the demand curve the price head
//! gave for this shopper, each guardrail's bound and the objective. Amounts in currency units.

use serde::Serialize;

use super::budget::BudgetUse;
use super::guardrails::{ItemPrices, PriceBounds};
use super::optimiser::{DemandCurve, Objective};
use super::settings::PricingSettings;
use super::signals::ShopperSignals;

/// The price head's demand curve for the item and shopper: P(buy at p) =
/// sigmoid(base − elasticity · ln(p / list)).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurveParams {
    /// The logit of P(buy) at the list price.
    pub base: f64,
    /// How fast the logit falls with ln(p / list); positive.
    pub elasticity: f64,
}

impl CurveParams {
    /// The head's raw outputs as a curve, `None` when they are unusable.
    pub fn usable(curve: (f32, f32)) -> Option<CurveParams> {
        DemandCurve::new(curve.0, curve.1).map(|_| CurveParams {
            base: f64::from(curve.0),
            elasticity: f64::from(curve.1),
        })
    }
}

/// Each guardrail's bound on the item's price, in currency units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GuardrailBounds {
    /// The ceiling: the list price. No quote is above it.
    pub ceiling: f64,
    /// Cost × (1 + minMargin): no quote is below it.
    pub min_margin_price: f64,
    /// List × (1 − maxDiscount): no quote is below it.
    pub max_discount_price: f64,
    /// The merchant's floor, list × floorRatio: no quote is below it.
    pub floor_price: f64,
    /// The binding lower bound: the highest of the three above.
    pub lowest: f64,
    /// The 30-day low (at most the list price): the only reference a discount is shown against.
    pub reference: f64,
    /// The conversion objective's own bound, cost × (1 + its minMargin); absent for the others.
    pub objective_min_price: Option<f64>,
}

/// Why a quote is what it is: the inputs the optimiser weighed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct QuoteExplanation {
    /// The objective the price serves: `margin`, `revenue` or `conversion`.
    pub objective: &'static str,
    /// The demand curve, or `None` when the price head's outputs were unusable.
    pub curve: Option<CurveParams>,
    /// The engine's interest score for the item and shopper.
    pub interest: Option<f32>,
    /// What the shopper's own events say about their price response (their deal share, from
    /// the purchases it counts), when the head has a shopper-level response.
    pub shopper: Option<ShopperSignals>,
    /// The curve the head gives a shopper the device knows nothing about (the population's
    /// deal share and mean interest), when the head has a shopper-level response: the shopper's
    /// elasticity against this one is what their signals moved.
    pub reference_curve: Option<CurveParams>,
    /// The promotion budget's part in the quote, when the call had a budget.
    pub budget: Option<BudgetUse>,
    /// The cost assumed (the catalogue's, or list × defaultCostRatio).
    pub cost: f64,
    /// The guardrails' bounds.
    pub guardrails: GuardrailBounds,
    /// The cent endings a personalised price may have.
    pub price_endings: Vec<u8>,
}

impl QuoteExplanation {
    /// The explanation of a quote for `prices` under `settings`, from the head's raw `curve`
    /// outputs and the objective; the interest score is filled in by the caller that has it.
    pub fn new(
        prices: &ItemPrices,
        settings: &PricingSettings,
        curve: (f32, f32),
        objective: Objective,
    ) -> QuoteExplanation {
        let bounds = PriceBounds::new(prices, settings);
        let units = |cents: f64| cents / 100.0;
        let (name, objective_min_price) = match objective {
            Objective::Margin => ("margin", None),
            Objective::Revenue => ("revenue", None),
            Objective::Conversion { min_margin } => {
                ("conversion", Some(units(prices.cost * (1.0 + min_margin))))
            }
        };
        QuoteExplanation {
            objective: name,
            curve: CurveParams::usable(curve),
            interest: None,
            shopper: None,
            reference_curve: None,
            budget: None,
            cost: units(prices.cost),
            guardrails: GuardrailBounds {
                ceiling: units(prices.list as f64),
                min_margin_price: units(bounds.min_margin),
                max_discount_price: units(bounds.max_discount),
                floor_price: units(bounds.floor),
                lowest: units(bounds.lowest()),
                reference: units(prices.low_30d.min(prices.list) as f64),
                objective_min_price,
            },
            price_endings: settings.price_endings.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_and_curve_as_the_settings_and_head_give_them() {
        let prices = ItemPrices {
            list: 500,
            cost: 300.0,
            low_30d: 480,
        };
        let settings = PricingSettings::default();
        let e = QuoteExplanation::new(
            &prices,
            &settings,
            (-2.0, 1.5),
            Objective::Conversion { min_margin: 0.2 },
        );
        assert_eq!(e.objective, "conversion");
        assert_eq!(e.guardrails.ceiling, 5.0);
        assert!((e.guardrails.min_margin_price - 3.15).abs() < 1e-9);
        assert!((e.guardrails.max_discount_price - 3.5).abs() < 1e-9);
        assert_eq!(e.guardrails.floor_price, 0.0);
        assert!((e.guardrails.lowest - 3.5).abs() < 1e-9);
        assert_eq!(e.guardrails.reference, 4.8);
        assert!((e.guardrails.objective_min_price.unwrap() - 3.6).abs() < 1e-9);
        assert_eq!(
            e.curve,
            Some(CurveParams {
                base: -2.0,
                elasticity: 1.5
            })
        );
        let unusable =
            QuoteExplanation::new(&prices, &settings, (f32::NAN, 1.0), Objective::Margin);
        assert_eq!(unusable.curve, None);
        assert_eq!(unusable.guardrails.objective_min_price, None);
    }
}
