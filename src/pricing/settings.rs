//! The merchant's pricing settings: validated once, when the engine is created.

use serde::Deserialize;

use crate::error::{Error, Result};

/// Where the shop sells, which decides the disclosure shown beside a personalised price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Jurisdiction {
    /// The European Union: personalised prices are disclosed (Directive 2011/83/EU art. 6(1)(ea)).
    #[serde(rename = "EU")]
    Eu,
    /// New York State: the Algorithmic Pricing Disclosure Act's text, verbatim.
    #[serde(rename = "US-NY")]
    NewYork,
    /// Elsewhere: a plain-language disclosure all the same.
    #[serde(rename = "OTHER")]
    Other,
}

/// Merchant settings for quotes. Every amount is a fraction of a price, not a percentage.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PricingSettings {
    /// Cost as a fraction of the list price, for items whose catalogue row has no cost. Default
    /// 0.7: the catalogue data has no costs, and 30% is a typical grocery gross margin.
    pub default_cost_ratio: f64,
    /// The lowest margin a quote may leave: price ≥ cost × (1 + min_margin). Default 0.05.
    pub min_margin: f64,
    /// The largest discount from the list price, as a fraction of it. Default 0.3.
    pub max_discount: f64,
    /// The merchant's floor as a fraction of the list price. Default 0 (no floor beyond the others).
    pub floor_ratio: f64,
    /// The cent endings a price may have (0–99), e.g. `[49, 99]`. Default: every ending in 9.
    pub price_endings: Vec<u8>,
    /// Which disclosure applies. Default EU.
    pub jurisdiction: Jurisdiction,
    /// The disclosure's language (`en`, `de`, `fr`, …); others fall back to English. Default `en`.
    pub locale: String,
    /// The most a shopper's discount on an item may differ from the discount a shopper the
    /// device knows nothing about gets, as a fraction of the list price (0.05: five points);
    /// two shoppers' discounts then differ by at most twice it. Needs a price head with a
    /// shopper-level response. Default: no cap.
    pub max_shopper_spread: Option<f64>,
}

impl Default for PricingSettings {
    fn default() -> Self {
        PricingSettings {
            default_cost_ratio: 0.7,
            min_margin: 0.05,
            max_discount: 0.3,
            floor_ratio: 0.0,
            price_endings: (0..10).map(|t| t * 10 + 9).collect(),
            jurisdiction: Jurisdiction::Eu,
            locale: "en".into(),
            max_shopper_spread: None,
        }
    }
}

impl PricingSettings {
    /// Checks every setting; the first bad one is an [`Error::InvalidPricing`] that names it.
    pub fn validate(&self) -> Result<()> {
        let bad = |name: &str, reason: &str| Err(Error::InvalidPricing(format!("{name} {reason}")));
        let fraction = |v: f64| v.is_finite() && (0.0..1.0).contains(&v);
        if !fraction(self.default_cost_ratio) || self.default_cost_ratio == 0.0 {
            return bad("defaultCostRatio", "must be above 0 and below 1");
        }
        if !self.min_margin.is_finite() || !(0.0..=10.0).contains(&self.min_margin) {
            return bad("minMargin", "must be between 0 and 10");
        }
        if !self.max_discount.is_finite() || !(0.0..=1.0).contains(&self.max_discount) {
            return bad("maxDiscount", "must be between 0 and 1");
        }
        if !fraction(self.floor_ratio) {
            return bad("floorRatio", "must be at least 0 and below 1");
        }
        if self.price_endings.is_empty() || self.price_endings.iter().any(|&e| e > 99) {
            return bad("priceEndings", "must list cent endings from 0 to 99");
        }
        let mut endings = self.price_endings.clone();
        endings.sort_unstable();
        endings.dedup();
        if endings.len() != self.price_endings.len() {
            return bad("priceEndings", "must not repeat an ending");
        }
        if self
            .max_shopper_spread
            .is_some_and(|s| !(s.is_finite() && (0.0..=1.0).contains(&s)))
        {
            return bad("maxShopperSpread", "must be between 0 and 1");
        }
        if self.locale.is_empty() || self.locale.len() > 35 {
            return bad("locale", "must be a language tag such as `en` or `de-AT`");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_valid_and_each_bad_setting_is_named() {
        PricingSettings::default().validate().unwrap();
        type Breaker = fn(&mut PricingSettings);
        let cases: [(&str, Breaker); 8] = [
            ("maxShopperSpread", |s| s.max_shopper_spread = Some(1.5)),
            ("defaultCostRatio", |s| s.default_cost_ratio = 1.2),
            ("minMargin", |s| s.min_margin = f64::NAN),
            ("maxDiscount", |s| s.max_discount = -0.1),
            ("floorRatio", |s| s.floor_ratio = 1.0),
            ("priceEndings", |s| s.price_endings = vec![]),
            ("priceEndings", |s| s.price_endings = vec![9, 9]),
            ("priceEndings", |s| s.price_endings = vec![100]),
        ];
        for (name, break_it) in cases {
            let mut settings = PricingSettings::default();
            break_it(&mut settings);
            let err = settings.validate().unwrap_err();
            assert!(err.to_string().contains(name), "{err}");
        }
    }
}
