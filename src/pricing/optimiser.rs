//! The price that serves the merchant's objective, among the allowed prices, under the demand
//! curve the price head gives: P(buy at p) = sigmoid(base − elasticity · ln(p / list)).

/// What the merchant maximises.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Objective {
    /// Expected margin, (p − cost) · P(p). The default.
    Margin,
    /// Expected revenue, p · P(p).
    Revenue,
    /// The probability of a purchase, among prices whose margin (p − cost) / cost is at least
    /// `min_margin`.
    Conversion {
        /// The margin the conversion objective must keep, as a fraction of cost.
        min_margin: f64,
    },
}

/// A demand curve from the price head; finite, with a positive elasticity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemandCurve {
    base: f64,
    elasticity: f64,
}

impl DemandCurve {
    /// A curve from the model's outputs, or `None` when they are unusable (NaN, infinite, an
    /// elasticity not above 0, or values so large that the curve says nothing).
    pub fn new(base: f32, elasticity: f32) -> Option<DemandCurve> {
        let (base, elasticity) = (f64::from(base), f64::from(elasticity));
        (base.is_finite()
            && elasticity.is_finite()
            && elasticity > 0.0
            && base.abs() <= 50.0
            && elasticity <= 50.0)
            .then_some(DemandCurve { base, elasticity })
    }

    /// P(buy) at `price` for an item listed at `list` (both in cents, positive).
    pub fn probability(&self, price: i64, list: i64) -> f64 {
        let x = self.base - self.elasticity * (price as f64 / list as f64).ln();
        1.0 / (1.0 + (-x).exp())
    }
}

/// The best of `prices` (ascending, non-empty) for the objective; equal values go to the higher
/// price. `None` when no price meets the conversion objective's margin.
pub fn best_price(
    curve: &DemandCurve,
    prices: &[i64],
    list: i64,
    cost: f64,
    objective: Objective,
) -> Option<i64> {
    let value = |p: i64| {
        let prob = curve.probability(p, list);
        match objective {
            Objective::Margin => (p as f64 - cost) * prob,
            Objective::Revenue => p as f64 * prob,
            Objective::Conversion { .. } => prob,
        }
    };
    prices
        .iter()
        .copied()
        .filter(|&p| match objective {
            Objective::Conversion { min_margin } => p as f64 >= cost * (1.0 + min_margin),
            _ => true,
        })
        .map(|p| (value(p), p))
        .fold(None, |best: Option<(f64, i64)>, (v, p)| match best {
            Some((bv, _)) if bv > v => best,
            _ => Some((v, p)),
        })
        .map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unusable_model_outputs_give_no_curve() {
        for (b, e) in [
            (f32::NAN, 1.0),
            (0.0, f32::INFINITY),
            (0.0, 0.0),
            (0.0, -1.0),
            (1e9, 1.0),
        ] {
            assert!(DemandCurve::new(b, e).is_none(), "{b} {e}");
        }
    }

    #[test]
    fn demand_falls_with_price() {
        let curve = DemandCurve::new(-2.0, 1.5).unwrap();
        assert!(curve.probability(400, 500) > curve.probability(450, 500));
    }

    #[test]
    fn objectives_pick_as_their_definitions_say() {
        let prices: Vec<i64> = (350..=500).collect();
        let curve = DemandCurve::new(-3.0, 4.0).unwrap();
        let margin = best_price(&curve, &prices, 500, 300.0, Objective::Margin).unwrap();
        let revenue = best_price(&curve, &prices, 500, 300.0, Objective::Revenue).unwrap();
        let conversion = best_price(
            &curve,
            &prices,
            500,
            300.0,
            Objective::Conversion { min_margin: 0.3 },
        )
        .unwrap();
        assert!(
            revenue < margin,
            "revenue ignores cost, so it discounts more: {revenue} {margin}"
        );
        assert_eq!(conversion, 390, "the lowest price keeping 30% over cost");
        let inelastic = DemandCurve::new(-3.0, 0.1).unwrap();
        assert_eq!(
            best_price(&inelastic, &prices, 500, 300.0, Objective::Margin),
            Some(500)
        );
    }
}
