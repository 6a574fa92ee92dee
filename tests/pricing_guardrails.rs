//! Property tests: for any model output (NaN, ±inf, extreme values) and any valid guardrail
//! configuration, every quote respects every guardrail; invalid configurations fail clearly.

use edgerec::pricing::{ItemPrices, Jurisdiction, Objective, Pricing, PricingSettings, NEW_YORK};
use proptest::prelude::*;

fn model_output() -> impl Strategy<Value = f32> {
    prop_oneof![
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(f32::MAX),
        Just(f32::MIN),
        Just(0.0),
        -60.0f32..60.0,
    ]
}

fn settings() -> impl Strategy<Value = PricingSettings> {
    (
        0.05f64..0.95,
        0.0f64..1.0,
        0.0f64..1.0,
        0.0f64..0.99,
        proptest::collection::btree_set(0u8..100, 1..12),
        prop_oneof![
            Just(Jurisdiction::Eu),
            Just(Jurisdiction::NewYork),
            Just(Jurisdiction::Other)
        ],
    )
        .prop_map(
            |(cost_ratio, min_margin, max_discount, floor, endings, jurisdiction)| {
                PricingSettings {
                    default_cost_ratio: cost_ratio,
                    min_margin,
                    max_discount,
                    floor_ratio: floor,
                    price_endings: endings.into_iter().collect(),
                    jurisdiction,
                    locale: "en".into(),
                    max_shopper_spread: None,
                }
            },
        )
}

fn objective() -> impl Strategy<Value = Objective> {
    prop_oneof![
        Just(Objective::Margin),
        Just(Objective::Revenue),
        (0.0f64..2.0).prop_map(|m| Objective::Conversion { min_margin: m }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn every_quote_respects_every_guardrail(
        settings in settings(),
        list in 1i64..200_000,
        cost_share in 0.0f64..2.0,
        low_share in 0.3f64..1.2,
        base in model_output(),
        elasticity in model_output(),
        objective in objective(),
    ) {
        let prices = ItemPrices {
            list,
            cost: list as f64 * cost_share,
            low_30d: ((list as f64 * low_share).round() as i64).max(1),
        };
        let pricing = Pricing::new(settings.clone(), None).unwrap();
        let q = pricing.quote("sku", &prices, (base, elasticity), objective);
        let cents = (q.price * 100.0).round() as i64;
        prop_assert!(cents <= list, "above list: {q:?}");
        prop_assert_eq!(q.personalised, cents < list);
        if q.personalised {
            let lowest = [prices.cost * (1.0 + settings.min_margin), list as f64 * settings.floor_ratio,
                          list as f64 * (1.0 - settings.max_discount)];
            for bound in lowest {
                prop_assert!(cents as f64 >= bound - 1e-9, "below {bound}: {q:?}");
            }
            prop_assert!(settings.price_endings.contains(&((cents % 100) as u8)), "ending: {q:?}");
            let text = q.disclosure.as_deref().unwrap_or_default();
            prop_assert!(!text.is_empty());
            if settings.jurisdiction == Jurisdiction::NewYork {
                prop_assert_eq!(text, NEW_YORK);
            }
            prop_assert_eq!(q.reason, "PERSONAL_DISCOUNT");
        } else {
            prop_assert!(q.disclosure.is_none());
        }
        let reference = (q.reference_price * 100.0).round() as i64;
        prop_assert!(reference <= list && reference <= prices.low_30d, "reference above list or 30-day low: {q:?}");
        if cents >= reference {
            prop_assert_eq!(q.discount_pct, 0.0, "a discount shown against a price above the 30-day low: {:?}", q);
        } else {
            let exact = (reference - cents) as f64 / reference as f64 * 100.0;
            prop_assert!(q.discount_pct >= 0.0 && q.discount_pct <= exact + 1e-9, "the shown discount overstates: {q:?}");
        }
        if !(base.is_finite() && elasticity.is_finite()) {
            prop_assert!(!q.personalised, "a non-finite model output personalised a price: {q:?}");
        }
        if let Objective::Conversion { min_margin } = objective {
            if q.personalised {
                prop_assert!(cents as f64 >= prices.cost * (1.0 + min_margin) - 1e-9);
            }
        }
    }

    #[test]
    fn invalid_configurations_fail_clearly(ratio in prop_oneof![Just(f64::NAN), Just(-0.5), Just(1.0), Just(7.0)]) {
        for settings in [
            PricingSettings { default_cost_ratio: ratio, ..PricingSettings::default() },
            PricingSettings { max_discount: if ratio == 1.0 { 1.5 } else { ratio }, ..PricingSettings::default() },
            PricingSettings { floor_ratio: ratio, ..PricingSettings::default() },
        ] {
            let err = Pricing::new(settings, None).unwrap_err();
            prop_assert_eq!(err.code(), "INVALID_PRICING");
        }
    }
}
