//! Quotes from the grocery bundle's price head through the engine: guardrails, disclosures,
//! one price per item per session, and clear errors that change nothing.

mod common;

use std::path::PathBuf;

use common::{engine as fixture_engine, with_f32_column, NOW_MS};
use edgerec::pricing::{Jurisdiction, NEW_YORK};
use edgerec::{BundleFiles, Engine, Objective, PricingSettings, QuoteRequest, RawEvent};

fn grocery_files() -> BundleFiles {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/grocery");
    BundleFiles::read_dir(&dir).expect("models/grocery is readable")
}

fn grocery() -> Engine {
    Engine::load(grocery_files(), None).expect("the grocery bundle loads")
}

fn ids(engine: &Engine, n: usize) -> Vec<String> {
    (0..n)
        .map(|row| engine.catalog().item(row).id.clone())
        .collect()
}

fn purchases(items: &[String]) -> Vec<RawEvent> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| RawEvent {
            kind: Some("purchase".into()),
            item: Some(item.clone()),
            ts: Some(1_700_000_000_000.0 + i as f64),
            price: None,
        })
        .collect()
}

fn request(items: Vec<String>) -> QuoteRequest {
    QuoteRequest {
        items,
        ..QuoteRequest::default()
    }
}

#[test]
fn quotes_respect_the_guardrails_and_disclose_personalised_prices() {
    let items = ids(&grocery(), 300);
    for objective in [
        Objective::Margin,
        Objective::Revenue,
        Objective::Conversion { min_margin: 0.1 },
    ] {
        let mut engine = grocery();
        engine.observe(&purchases(&items[..12]), NOW_MS).unwrap();
        let settings = engine.pricing().clone();
        let request = QuoteRequest {
            objective: Some(objective),
            ..request(items.clone())
        };
        let quotes = engine.quote(&request, NOW_MS).unwrap();
        assert_eq!(quotes.len(), items.len());
        for (q, id) in quotes.iter().zip(&items) {
            assert_eq!(&q.item, id);
            assert!(q.price <= q.list_price + 1e-9, "{q:?}");
            if q.personalised {
                let cents = (q.price * 100.0).round() as i64;
                let list = q.list_price * 100.0;
                let cost = list * settings.default_cost_ratio;
                assert!(
                    cents as f64 >= cost * (1.0 + settings.min_margin) - 1e-6,
                    "{q:?}"
                );
                assert!(
                    cents as f64 >= list * (1.0 - settings.max_discount) - 1e-6,
                    "{q:?}"
                );
                assert!(
                    settings.price_endings.contains(&((cents % 100) as u8)),
                    "{q:?}"
                );
                assert!(q.disclosure.is_some(), "{q:?}");
            } else {
                assert!(q.disclosure.is_none(), "{q:?}");
            }
            if q.price >= q.reference_price {
                assert_eq!(q.discount_pct, 0.0, "{q:?}");
            }
        }
        if let Objective::Conversion { .. } = objective {
            // The lowest allowed price is always the most likely to sell: every item with room
            // between its floors and its list price gets a personalised price.
            assert!(
                quotes.iter().filter(|q| q.personalised).count() > 100,
                "{quotes:?}"
            );
        }
    }
}

#[test]
fn an_item_keeps_its_first_price_for_the_session_and_forget_lets_it_go() {
    let mut engine = grocery();
    let items = ids(&engine, 40);
    engine.observe(&purchases(&items[..3]), NOW_MS).unwrap();
    let first = engine.quote(&request(items.clone()), NOW_MS).unwrap();
    engine.observe(&purchases(&items[20..40]), NOW_MS).unwrap();
    let again = engine.quote(&request(items.clone()), NOW_MS).unwrap();
    assert_eq!(
        first, again,
        "the same shopper saw the same items at new prices"
    );

    let edge = |key: &str, events: &[String]| QuoteRequest {
        items: items.clone(),
        events: Some(purchases(events)),
        session_key: Some(key.into()),
        ..QuoteRequest::default()
    };
    let a = engine
        .quote(&edge("shopper-a", &items[..3]), NOW_MS)
        .unwrap();
    let a_later = engine
        .quote(&edge("shopper-a", &items[20..40]), NOW_MS)
        .unwrap();
    assert_eq!(a, a_later, "an edge session keeps its prices by key");
    engine.forget();
    assert_eq!(engine.session().len(), 0);
}

#[test]
fn jurisdiction_and_objectives_shape_the_quote() {
    let mut engine = grocery();
    engine
        .set_pricing(PricingSettings {
            jurisdiction: Jurisdiction::NewYork,
            ..PricingSettings::default()
        })
        .unwrap();
    let items = ids(&engine, 300);
    engine.observe(&purchases(&items[..12]), NOW_MS).unwrap();
    let quotes = engine.quote(&request(items.clone()), NOW_MS).unwrap();
    for q in quotes.iter().filter(|q| q.personalised) {
        assert_eq!(q.disclosure.as_deref(), Some(NEW_YORK));
    }
    engine.forget();
    let conversion = QuoteRequest {
        objective: Some(Objective::Conversion { min_margin: 0.2 }),
        ..request(items)
    };
    for q in engine
        .quote(&conversion, NOW_MS)
        .unwrap()
        .iter()
        .filter(|q| q.personalised)
    {
        assert!(q.price >= q.list_price * 0.7 * 1.2 - 0.005, "{q:?}");
    }
}

#[test]
fn bad_requests_are_named_and_change_nothing() {
    let mut engine = grocery();
    let items = ids(&engine, 5);
    let code = |engine: &mut Engine, r: QuoteRequest| engine.quote(&r, NOW_MS).unwrap_err().code();
    assert_eq!(code(&mut engine, request(vec![])), "INVALID_ARGUMENT");
    assert_eq!(
        code(&mut engine, request(vec!["no-such-sku".into()])),
        "UNKNOWN_ITEM"
    );
    assert_eq!(
        code(&mut engine, request(vec![items[0].clone(); 1001])),
        "INVALID_ARGUMENT"
    );
    let nan_margin = QuoteRequest {
        objective: Some(Objective::Conversion {
            min_margin: f64::NAN,
        }),
        ..request(items.clone())
    };
    assert_eq!(code(&mut engine, nan_margin), "INVALID_ARGUMENT");
    let bad = PricingSettings {
        max_discount: 2.0,
        ..PricingSettings::default()
    };
    assert_eq!(
        engine.set_pricing(bad).unwrap_err().code(),
        "INVALID_PRICING"
    );
    assert_eq!(
        engine.pricing(),
        &PricingSettings::default(),
        "a rejected setting changes nothing"
    );
    assert_eq!(engine.quote(&request(items), NOW_MS).unwrap().len(), 5);

    let mut fixture = fixture_engine();
    let err = fixture
        .quote(&request(vec!["SKU-0001".into()]), NOW_MS)
        .unwrap_err();
    assert_eq!(err.code(), "PRICING_UNAVAILABLE", "{err}");
}

#[test]
fn the_catalogues_costs_replace_the_default_assumption() {
    let engine = grocery();
    let list = engine.catalog().prices().list_price.clone().unwrap();
    let items = ids(&engine, 50);
    // Costs at the list price: no price keeps the minimum margin, so every quote is the list price.
    let mut costly = Engine::load(with_f32_column(grocery_files(), "cost", &list), None).unwrap();
    let conversion = QuoteRequest {
        objective: Some(Objective::Conversion { min_margin: 0.0 }),
        ..request(items)
    };
    for q in costly.quote(&conversion, NOW_MS).unwrap() {
        assert!(
            !q.personalised && q.reason == "GUARDRAILS_INFEASIBLE",
            "{q:?}"
        );
    }
    let mut bad = list.clone();
    bad[3] = f32::NAN;
    let err = Engine::load(with_f32_column(grocery_files(), "cost", &bad), None).unwrap_err();
    assert_eq!(err.code(), "INVALID_CATALOG", "{err}");
}

#[test]
fn explained_quotes_carry_the_curve_guardrails_and_objective_that_chose_them() {
    let mut engine = grocery();
    let items = ids(&engine, 300);
    engine.observe(&purchases(&items[..12]), NOW_MS).unwrap();
    let settings = engine.pricing().clone();
    let plain = engine.quote(&request(items[..5].to_vec()), NOW_MS).unwrap();
    for q in &plain {
        assert!(q.explanation.is_none(), "{q:?}");
        let json = serde_json::to_value(q).unwrap();
        assert!(json.get("explanation").is_none(), "{json}");
    }
    let explained = QuoteRequest {
        objective: Some(Objective::Revenue),
        explain: true,
        ..request(items.clone())
    };
    let quotes = engine.quote(&explained, NOW_MS).unwrap();
    assert_eq!(
        quotes[..5]
            .iter()
            .map(|q| (q.price, q.reason))
            .collect::<Vec<_>>(),
        plain
            .iter()
            .map(|q| (q.price, q.reason))
            .collect::<Vec<_>>(),
        "asking for the explanation changes no price"
    );
    let mut discounted = 0;
    for q in &quotes[5..] {
        let e = q.explanation.as_ref().expect("an explanation when asked");
        assert_eq!(e.objective, "revenue");
        assert!(e.interest.is_some_and(f32::is_finite), "{e:?}");
        let g = &e.guardrails;
        assert_eq!(g.ceiling, q.list_price, "{q:?}");
        assert_eq!(g.reference, q.reference_price, "{q:?}");
        assert!((e.cost - q.list_price * settings.default_cost_ratio).abs() < 1e-4);
        assert!((g.min_margin_price - e.cost * (1.0 + settings.min_margin)).abs() < 1e-9);
        assert!((g.max_discount_price - q.list_price * (1.0 - settings.max_discount)).abs() < 1e-6);
        assert_eq!(g.floor_price, 0.0);
        assert_eq!(g.lowest, g.min_margin_price.max(g.max_discount_price));
        assert!(q.price <= g.ceiling && (!q.personalised || q.price >= g.lowest - 1e-9));
        let curve = e.curve.expect("the shipped head's outputs are usable");
        assert!(curve.elasticity > 0.0);
        // The curve and bounds reproduce the choice: no allowed price earns more revenue.
        let list = (q.list_price * 100.0).round() as i64;
        let revenue = |cents: i64| {
            let x = curve.base - curve.elasticity * (cents as f64 / list as f64).ln();
            cents as f64 / (1.0 + (-x).exp())
        };
        let chosen = (q.price * 100.0).round() as i64;
        let lowest = (g.lowest * 100.0 - 1e-6).ceil() as i64;
        for cents in (lowest..=list).filter(|c| e.price_endings.contains(&((c % 100) as u8))) {
            assert!(
                revenue(chosen) >= revenue(cents) - 1e-9,
                "{q:?}: {cents} earns more"
            );
        }
        discounted += usize::from(q.reason == "PERSONAL_DISCOUNT");
    }
    assert!(discounted > 0, "the revenue objective discounts somewhere");
    let json = serde_json::to_value(&quotes[5]).unwrap();
    assert!(
        json["explanation"]["guardrails"]["minMarginPrice"].is_number(),
        "{json}"
    );
    assert!(
        json["explanation"]["curve"]["elasticity"].is_number(),
        "{json}"
    );
}

#[test]
fn a_remembered_quote_keeps_the_explanation_of_the_moment_it_was_priced() {
    let mut engine = grocery();
    let items = ids(&engine, 40);
    let explained = |items: &[String]| QuoteRequest {
        explain: true,
        ..request(items.to_vec())
    };
    engine.observe(&purchases(&items[..3]), NOW_MS).unwrap();
    let first = engine.quote(&explained(&items), NOW_MS).unwrap();
    engine.observe(&purchases(&items[20..40]), NOW_MS).unwrap();
    let again = engine.quote(&explained(&items), NOW_MS).unwrap();
    assert_eq!(first, again, "the same prices and the same explanations");
    engine.forget();
    engine.observe(&purchases(&items[20..40]), NOW_MS).unwrap();
    let fresh = engine.quote(&explained(&items), NOW_MS).unwrap();
    assert!(
        fresh
            .iter()
            .zip(&first)
            .any(|(f, e)| f.explanation.as_ref().unwrap().interest
                != e.explanation.as_ref().unwrap().interest),
        "after forget, the items are priced anew for the new history"
    );
}
