//! The guardrails every quote obeys, whatever the model says: the prices an item may be offered
//! at, and the 30-day reference a discount is shown against. Money is in whole cents.

use super::settings::PricingSettings;

/// One item's prices, in cents.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ItemPrices {
    /// The list price: no quote is above it.
    pub list: i64,
    /// The merchant's cost (or the default assumption), in cents, possibly fractional.
    pub cost: f64,
    /// The lowest price of the last 30 days: the only reference a discount may be shown against.
    pub low_30d: i64,
}

/// Converts a price in currency units to cents; `None` for NaN, infinite, negative or absurd values.
pub fn to_cents(price: f64) -> Option<i64> {
    (price.is_finite() && (0.0..=1e9).contains(&price)).then(|| (price * 100.0).round() as i64)
}

/// The prices the item may be quoted at, ascending: at most the list price; at least cost ×
/// (1 + min margin), the merchant's floor and the list price less the maximum discount; ending in
/// an allowed cent ending. Empty when the guardrails leave no price (the caller then quotes the
/// list price, not personalised).
pub fn allowed_prices(item: &ItemPrices, settings: &PricingSettings) -> Vec<i64> {
    let list = item.list as f64;
    let lower = PriceBounds::new(item, settings).lowest();
    if !lower.is_finite() || lower > list {
        return Vec::new();
    }
    let lower = lower.ceil() as i64;
    (lower.max(1)..=item.list)
        .filter(|cents| settings.price_endings.contains(&((cents % 100) as u8)))
        .collect()
}

/// The lower bounds a quote obeys, in cents (possibly fractional): each guardrail on its own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriceBounds {
    /// Cost × (1 + min margin).
    pub min_margin: f64,
    /// The merchant's floor: list × floor ratio.
    pub floor: f64,
    /// List × (1 − max discount).
    pub max_discount: f64,
}

impl PriceBounds {
    /// The bounds for one item under the settings.
    pub fn new(item: &ItemPrices, settings: &PricingSettings) -> PriceBounds {
        let list = item.list as f64;
        PriceBounds {
            min_margin: item.cost * (1.0 + settings.min_margin),
            floor: list * settings.floor_ratio,
            max_discount: list * (1.0 - settings.max_discount),
        }
    }

    /// The binding lower bound: the highest of the three (at least 0).
    pub fn lowest(&self) -> f64 {
        [self.min_margin, self.floor, self.max_discount]
            .into_iter()
            .fold(0.0, f64::max)
    }
}

/// The discount shown for `price`: a percentage off the 30-day low (EU Omnibus rule), one
/// decimal, and 0 when the price is not below it.
pub fn shown_discount_pct(price: i64, low_30d: i64) -> f64 {
    if price >= low_30d || low_30d <= 0 {
        return 0.0;
    }
    ((low_30d - price) as f64 / low_30d as f64 * 1000.0).floor() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(endings: &[u8]) -> PricingSettings {
        PricingSettings {
            price_endings: endings.to_vec(),
            ..PricingSettings::default()
        }
    }

    #[test]
    fn prices_stay_between_the_bounds_with_allowed_endings() {
        let item = ItemPrices {
            list: 500,
            cost: 300.0,
            low_30d: 480,
        };
        let prices = allowed_prices(&item, &settings(&[49, 99]));
        // lower bound: max(300 × 1.05, 0, 500 × 0.7) = 350
        assert_eq!(prices, [399, 449, 499]);
    }

    #[test]
    fn no_price_when_cost_and_margin_exceed_the_list_price() {
        let item = ItemPrices {
            list: 100,
            cost: 99.0,
            low_30d: 100,
        };
        assert!(allowed_prices(&item, &settings(&[99])).is_empty());
    }

    #[test]
    fn discounts_are_shown_against_the_30_day_low_only() {
        assert_eq!(shown_discount_pct(450, 500), 10.0);
        assert_eq!(
            shown_discount_pct(480, 450),
            0.0,
            "below list but above the 30-day low: no discount shown"
        );
        assert_eq!(to_cents(f64::NAN), None);
        assert_eq!(to_cents(-1.0), None);
        assert_eq!(to_cents(1.29), Some(129));
    }
}
