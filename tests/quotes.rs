//! Quotes from the grocery bundle's price head through a session: guardrails, disclosures,
//! one price per item per session (and none shared between sessions), and clear errors that
//! change nothing.

mod common;

use common::{grocery, grocery_files, model as fixture_model, with_f32_column, NOW_MS};
use edgerec::pricing::{Jurisdiction, NEW_YORK};
use edgerec::{
    Model, Objective, PricingSettings, Quote, QuoteOptions, RawEvent, Session, SessionStore,
    StoreLimits,
};

fn grocery_with(settings: PricingSettings) -> Model {
    Model::load(grocery_files(), None, settings).expect("the grocery bundle loads")
}

fn ids(model: &Model, n: usize) -> Vec<String> {
    (0..n)
        .map(|row| model.catalog().item(row).id.clone())
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

/// The options a caller writes for `objective`.
fn options(objective: Objective) -> QuoteOptions {
    let (name, min_margin) = match objective {
        Objective::Margin => ("margin", None),
        Objective::Revenue => ("revenue", None),
        Objective::Conversion { min_margin } => ("conversion", Some(min_margin)),
    };
    QuoteOptions {
        objective: Some(name.into()),
        min_margin,
        ..QuoteOptions::default()
    }
}

fn explained() -> QuoteOptions {
    QuoteOptions {
        explain: true,
        ..QuoteOptions::default()
    }
}

/// The interest each quote's explanation records.
fn interests(quotes: &[Quote]) -> Vec<Option<f32>> {
    quotes
        .iter()
        .map(|q| q.explanation.as_ref().unwrap().interest)
        .collect()
}

#[test]
fn quotes_respect_the_guardrails_and_disclose_personalised_prices() {
    let model = grocery();
    let items = ids(&model, 300);
    let settings = model.pricing().settings().clone();
    for objective in [
        Objective::Margin,
        Objective::Revenue,
        Objective::Conversion { min_margin: 0.1 },
    ] {
        let mut session = Session::from_events(&model, &purchases(&items[..12]), NOW_MS).unwrap();
        let quotes = session
            .quote(&model, &items, &options(objective), NOW_MS)
            .unwrap();
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
    let model = grocery();
    let items = ids(&model, 40);
    let none = QuoteOptions::default();
    let mut session = Session::from_events(&model, &purchases(&items[..3]), NOW_MS).unwrap();
    let first = session.quote(&model, &items, &none, NOW_MS).unwrap();
    session
        .observe(&model, &purchases(&items[20..40]), NOW_MS)
        .unwrap();
    let again = session.quote(&model, &items, &none, NOW_MS).unwrap();
    assert_eq!(
        first, again,
        "the same shopper saw the same items at new prices"
    );
    session.forget();
    assert_eq!(session.events().len(), 0);
    assert_eq!(
        session.approx_bytes(),
        Session::new().approx_bytes(),
        "forget leaves nothing of the shopper: no events, no vector, no prices"
    );
}

#[test]
fn sessions_never_share_prices() {
    let model = grocery();
    let items = ids(&model, 40);
    let mut a = Session::from_events(&model, &purchases(&items[..3]), NOW_MS).unwrap();
    let a_quotes = a.quote(&model, &items, &explained(), NOW_MS).unwrap();
    // B has another history: its prices are its own, as a fresh session's, not A's.
    let b_events = purchases(&items[20..40]);
    let mut b = Session::from_events(&model, &b_events, NOW_MS).unwrap();
    let b_quotes = b.quote(&model, &items, &explained(), NOW_MS).unwrap();
    let mut fresh = Session::from_events(&model, &b_events, NOW_MS).unwrap();
    assert_eq!(
        b_quotes,
        fresh.quote(&model, &items, &explained(), NOW_MS).unwrap()
    );
    assert_ne!(
        interests(&a_quotes),
        interests(&b_quotes),
        "B was priced from A's interest"
    );
    // And A still has its own.
    assert_eq!(
        a.quote(&model, &items, &explained(), NOW_MS).unwrap(),
        a_quotes
    );

    // The same through a store, by key.
    let mut store = SessionStore::new(StoreLimits::default()).unwrap();
    let quote_as = |store: &mut SessionStore, key: &str, events: &[RawEvent]| {
        store
            .with(key, NOW_MS, |s| {
                s.observe(&model, events, NOW_MS)?;
                s.quote(&model, &items, &explained(), NOW_MS)
            })
            .unwrap()
    };
    let by_a = quote_as(&mut store, "shopper-a", &purchases(&items[..3]));
    assert_eq!(by_a, a_quotes);
    let by_b = quote_as(&mut store, "shopper-b", &b_events);
    assert_eq!(by_b, b_quotes, "shopper-b is priced for its own events");
    assert_eq!(
        quote_as(&mut store, "shopper-a", &b_events),
        a_quotes,
        "a key keeps its prices"
    );
    assert!(store.remove("shopper-a"));
    assert_eq!(
        quote_as(&mut store, "shopper-a", &b_events),
        b_quotes,
        "a removed key is a new session, priced anew"
    );
}

#[test]
fn jurisdiction_and_objectives_shape_the_quote() {
    let model = grocery_with(PricingSettings {
        jurisdiction: Jurisdiction::NewYork,
        ..PricingSettings::default()
    });
    let items = ids(&model, 300);
    let mut session = Session::from_events(&model, &purchases(&items[..12]), NOW_MS).unwrap();
    // The conversion objective personalises most prices (the margin objective, on this bundle,
    // few or none), so that the disclosures are there to check.
    let conversion = |min_margin| options(Objective::Conversion { min_margin });
    let quotes = session
        .quote(&model, &items, &conversion(0.1), NOW_MS)
        .unwrap();
    assert!(quotes.iter().any(|q| q.personalised));
    for q in quotes.iter().filter(|q| q.personalised) {
        assert_eq!(q.disclosure.as_deref(), Some(NEW_YORK));
    }
    session.forget();
    for q in session
        .quote(&model, &items, &conversion(0.2), NOW_MS)
        .unwrap()
        .iter()
        .filter(|q| q.personalised)
    {
        assert!(q.price >= q.list_price * 0.7 * 1.2 - 0.005, "{q:?}");
    }
}

#[test]
fn bad_requests_are_named_and_change_nothing() {
    let model = grocery();
    let items = ids(&model, 5);
    let mut session = Session::from_events(&model, &purchases(&items[..2]), NOW_MS).unwrap();
    session
        .quote(&model, &items[..1], &QuoteOptions::default(), NOW_MS)
        .unwrap();
    let bytes = session.approx_bytes();
    let mut refused = |items: &[String], options: QuoteOptions| {
        let err = session.quote(&model, items, &options, NOW_MS).unwrap_err();
        assert_eq!(session.approx_bytes(), bytes, "{err}: the session changed");
        assert_eq!(session.events().len(), 2);
        err
    };
    let code = |err: edgerec::Error| err.code();
    let none = QuoteOptions::default;
    assert_eq!(code(refused(&[], none())), "INVALID_ARGUMENT");
    assert_eq!(
        code(refused(&["no-such-sku".into()], none())),
        "UNKNOWN_ITEM"
    );
    assert_eq!(
        code(refused(&vec![items[0].clone(); 1001], none())),
        "INVALID_ARGUMENT"
    );
    for (objective, min_margin, naming) in [
        (Some("conversion"), Some(f64::NAN), "minMargin"),
        (Some("conversion"), Some(-0.5), "minMargin"),
        (Some("conversion"), None, "minMargin"),
        (Some("margin"), Some(0.1), "minMargin"),
        (None, Some(0.1), "minMargin"),
        (Some("revenue"), Some(0.1), "minMargin"),
        (Some("profit"), None, "objective"),
    ] {
        let options = QuoteOptions {
            objective: objective.map(str::to_owned),
            min_margin,
            ..QuoteOptions::default()
        };
        let err = refused(&items, options);
        assert!(
            matches!(err, edgerec::Error::InvalidArgument { name, .. } if name == naming),
            "{objective:?} {min_margin:?}: {err}"
        );
    }
    let bad = PricingSettings {
        max_discount: 2.0,
        ..PricingSettings::default()
    };
    let err = Model::load(grocery_files(), None, bad).unwrap_err();
    assert_eq!(err.code(), "INVALID_PRICING", "{err}");
    assert!(err.to_string().contains("maxDiscount"), "{err}");
    assert_eq!(
        session
            .quote(&model, &items, &QuoteOptions::default(), NOW_MS)
            .unwrap()
            .len(),
        5
    );

    let fixture = fixture_model();
    let err = Session::new()
        .quote(&fixture, &["SKU-0001".into()], &none(), NOW_MS)
        .unwrap_err();
    assert_eq!(err.code(), "PRICING_UNAVAILABLE", "{err}");
}

#[test]
fn the_catalogues_costs_replace_the_default_assumption() {
    let model = grocery();
    let list = model.catalog().prices().list_price.clone().unwrap();
    let items = ids(&model, 50);
    // Costs at the list price: no price keeps the minimum margin, so every quote is the list price.
    let costly = Model::load(
        with_f32_column(grocery_files(), "cost", &list),
        None,
        PricingSettings::default(),
    )
    .unwrap();
    let conversion = options(Objective::Conversion { min_margin: 0.0 });
    for q in Session::new()
        .quote(&costly, &items, &conversion, NOW_MS)
        .unwrap()
    {
        assert!(
            !q.personalised && q.reason == "GUARDRAILS_INFEASIBLE",
            "{q:?}"
        );
    }
    let mut bad = list.clone();
    bad[3] = f32::NAN;
    let err = Model::load(
        with_f32_column(grocery_files(), "cost", &bad),
        None,
        PricingSettings::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "INVALID_CATALOG", "{err}");
}

#[test]
fn explained_quotes_carry_the_curve_guardrails_and_objective_that_chose_them() {
    let model = grocery();
    let items = ids(&model, 300);
    // A deal-prone shopper (every earlier purchase below list), whose demand responds to price.
    let list = model.catalog().prices().list_price.clone().unwrap();
    let deals: Vec<RawEvent> = purchases(&items[..12])
        .into_iter()
        .enumerate()
        .map(|(row, e)| RawEvent {
            price: Some(f64::from(list[row]) * 0.8),
            ..e
        })
        .collect();
    let mut session = Session::from_events(&model, &deals, NOW_MS).unwrap();
    let settings = model.pricing().settings().clone();
    let plain = session
        .quote(&model, &items[..5], &QuoteOptions::default(), NOW_MS)
        .unwrap();
    for q in &plain {
        assert!(q.explanation.is_none(), "{q:?}");
        let json = serde_json::to_value(q).unwrap();
        assert!(json.get("explanation").is_none(), "{json}");
    }
    let explained = QuoteOptions {
        explain: true,
        ..options(Objective::Revenue)
    };
    let quotes = session.quote(&model, &items, &explained, NOW_MS).unwrap();
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
    let model = grocery();
    let items = ids(&model, 40);
    let mut session = Session::from_events(&model, &purchases(&items[..3]), NOW_MS).unwrap();
    let first = session.quote(&model, &items, &explained(), NOW_MS).unwrap();
    session
        .observe(&model, &purchases(&items[20..40]), NOW_MS)
        .unwrap();
    let again = session.quote(&model, &items, &explained(), NOW_MS).unwrap();
    assert_eq!(first, again, "the same prices and the same explanations");
    session.forget();
    session
        .observe(&model, &purchases(&items[20..40]), NOW_MS)
        .unwrap();
    let fresh = session.quote(&model, &items, &explained(), NOW_MS).unwrap();
    assert!(
        interests(&fresh)
            .iter()
            .zip(interests(&first))
            .any(|(f, e)| *f != e),
        "after forget, the items are priced anew for the new history"
    );
}
