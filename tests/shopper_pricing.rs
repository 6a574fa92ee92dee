//! Prices that respond to the shopper (issue 23): the grocery head's elasticity moves with the
//! shopper's deal share, a promotion budget is never overspent, and every guardrail and the
//! spread cap hold, for any events and any budget.

mod common;

use std::sync::OnceLock;

use common::{fixture_files, grocery_files, with_file_rehashed, NOW_MS};
use edgerec::pricing::{
    allowed_prices, best_price, week_start_ms, BudgetOptions, DemandCurve, ItemPrices,
};
use edgerec::{Model, Objective, PricingSettings, Quote, QuoteOptions, RawEvent, Session};
use proptest::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;

const DAY_MS: f64 = 86_400_000.0;
const SPREAD: f64 = 0.05;

fn grocery_with_spread(spread: Option<f64>) -> Model {
    let settings = PricingSettings {
        max_shopper_spread: spread,
        ..PricingSettings::default()
    };
    Model::load(grocery_files(), None, settings).expect("the grocery bundle loads")
}

/// The grocery bundle without (0) and with (1) the spread cap, loaded once.
fn models() -> &'static [Model; 2] {
    static MODELS: OnceLock<[Model; 2]> = OnceLock::new();
    MODELS.get_or_init(|| [grocery_with_spread(None), grocery_with_spread(Some(SPREAD))])
}

fn id(model: &Model, row: usize) -> String {
    model.catalog().item(row).id.clone()
}

fn list_price(model: &Model, row: usize) -> f64 {
    f64::from(model.catalog().prices().list_price.as_ref().unwrap()[row])
}

/// Purchases of `rows` in the weeks before NOW_MS, each paid at `paid` × its list price.
fn purchases(model: &Model, rows: &[usize], paid: &[f64]) -> Vec<RawEvent> {
    let before = week_start_ms(NOW_MS) - DAY_MS;
    rows.iter()
        .zip(paid)
        .enumerate()
        .map(|(i, (&row, share))| RawEvent {
            kind: Some("purchase".into()),
            item: Some(id(model, row)),
            ts: Some(before - i as f64 * 60_000.0),
            price: Some((list_price(model, row) * share * 100.0).round() / 100.0),
        })
        .collect()
}

fn budget(share: f64) -> QuoteOptions {
    QuoteOptions {
        budget: Some(BudgetOptions { share }),
        explain: true,
        ..QuoteOptions::default()
    }
}

fn cents(units: f64) -> i64 {
    (units * 100.0).round() as i64
}

/// Checks every guardrail and the spread cap on one explained quote; returns its budget spend
/// and the budget it brings (its share of the item's expected revenue at list price), in cents.
fn check_quote(q: &Quote, settings: &PricingSettings, share: Option<f64>) -> (f64, f64) {
    let e = q.explanation.as_ref().expect("explained");
    let (price, list) = (cents(q.price), cents(q.list_price));
    assert!(price <= list, "{q:?}");
    if price < list {
        assert!(q.personalised && q.disclosure.is_some(), "{q:?}");
        assert!(q.price >= e.guardrails.lowest - 1e-9, "{q:?}");
        assert!(
            settings.price_endings.contains(&((price % 100) as u8)),
            "{q:?}"
        );
    } else {
        assert!(!q.personalised && q.disclosure.is_none(), "{q:?}");
    }
    if let (Some(spread), Some(reference)) = (settings.max_shopper_spread, e.reference_curve) {
        let prices = ItemPrices {
            list,
            cost: e.cost * 100.0,
            low_30d: cents(e.guardrails.reference),
        };
        let mut candidates = allowed_prices(&prices, settings);
        if !candidates.is_empty() && candidates.last() != Some(&list) {
            candidates.push(list);
        }
        let curve = DemandCurve::new(reference.base as f32, reference.elasticity as f32);
        if let (Some(curve), false) = (curve, candidates.is_empty()) {
            let discount = |p: i64| (list - p) as f64 / list as f64;
            let reference_discount =
                best_price(&curve, &candidates, list, prices.cost, Objective::Margin)
                    .map_or(0.0, discount);
            // Under a budget the list price is always allowed: the budget wins over the cap.
            let exempt = share.is_some() && price == list;
            assert!(
                exempt || (discount(price) - reference_discount).abs() <= spread + 1e-9,
                "{q:?}: discount {} against the reference's {reference_discount}",
                discount(price)
            );
        }
    }
    match (share, e.budget, e.curve) {
        (Some(share), Some(used), Some(curve)) => {
            let p_list = 1.0 / (1.0 + (-curve.base).exp());
            (used.spend * 100.0, share * list as f64 * p_list)
        }
        (Some(_), None, _) => panic!("a budgeted quote's explanation has its budget: {q:?}"),
        _ => (0.0, 0.0),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn spend_never_exceeds_the_budget_and_every_guardrail_holds(
        capped in any::<bool>(),
        share in prop_oneof![Just(1e-6), 0.0001f64..0.2, Just(1.0)],
        bought in proptest::collection::vec((0usize..4000, 0.5f64..1.2), 0..40),
        calls in proptest::collection::vec(proptest::collection::vec(0usize..4000, 1..40), 1..4),
    ) {
        let model = &models()[usize::from(capped)];
        let settings = model.pricing().settings().clone();
        let (rows, paid): (Vec<usize>, Vec<f64>) = bought.into_iter().unzip();
        let mut session = Session::from_events(model, &purchases(model, &rows, &paid), NOW_MS).unwrap();
        let (mut spent, mut allowance) = (0.0, 0.0);
        let mut priced = std::collections::HashSet::new();
        for call in calls {
            let items: Vec<String> = call.iter().map(|&r| id(model, r)).collect();
            let quotes = session.quote(model, &items, &budget(share), NOW_MS).unwrap();
            for (q, &row) in quotes.iter().zip(&call) {
                let (spend, brings) = check_quote(q, &settings, Some(share));
                if priced.insert(row) {
                    spent += spend;
                    allowance += brings;
                }
            }
            prop_assert!(spent <= allowance * (1.0 + 1e-9) + 1e-9, "spent {spent} of {allowance}");
        }
    }

    #[test]
    fn without_a_budget_every_guardrail_and_the_spread_cap_hold(
        bought in proptest::collection::vec((0usize..4000, 0.5f64..1.2), 0..40),
        items in proptest::collection::vec(0usize..4000, 1..60),
        objective in prop_oneof![Just("margin"), Just("revenue")],
    ) {
        let model = &models()[1];
        let settings = model.pricing().settings().clone();
        let (rows, paid): (Vec<usize>, Vec<f64>) = bought.into_iter().unzip();
        let mut session = Session::from_events(model, &purchases(model, &rows, &paid), NOW_MS).unwrap();
        let ids: Vec<String> = items.iter().map(|&r| id(model, r)).collect();
        let options = QuoteOptions { objective: Some(objective.into()), explain: true, ..QuoteOptions::default() };
        for q in session.quote(model, &ids, &options, NOW_MS).unwrap() {
            if objective == "margin" {
                check_quote(&q, &settings, None);
            }
        }
    }
}

/// Two shoppers who bought the same 30 items, one always on discount, one always at list price.
fn deal_prone_and_full_price(model: &Model) -> (Session, Session) {
    let rows: Vec<usize> = (0..30).map(|i| i * 37).collect();
    let session = |paid: f64| {
        Session::from_events(model, &purchases(model, &rows, &[paid; 30]), NOW_MS).unwrap()
    };
    (session(0.8), session(1.0))
}

fn offers(quotes: &[Quote]) -> usize {
    quotes.iter().filter(|q| q.personalised).count()
}

#[test]
fn a_deal_prone_shopper_responds_more_to_price_and_gets_more_of_the_budget() {
    let model = &models()[0];
    let (mut deal_prone, mut full_price) = deal_prone_and_full_price(model);
    let items: Vec<String> = (0..200).map(|row| id(model, row * 13 + 5)).collect();
    let a = deal_prone
        .quote(model, &items, &budget(0.03), NOW_MS)
        .unwrap();
    let b = full_price
        .quote(model, &items, &budget(0.03), NOW_MS)
        .unwrap();
    let elasticity = |q: &Quote| q.explanation.as_ref().unwrap().curve.unwrap().elasticity;
    let reference = |q: &Quote| {
        q.explanation
            .as_ref()
            .unwrap()
            .reference_curve
            .unwrap()
            .elasticity
    };
    let shopper = |q: &Quote| q.explanation.as_ref().unwrap().shopper.unwrap();
    assert_eq!(
        (shopper(&a[0]).purchases, shopper(&a[0]).discounted),
        (30, 30)
    );
    assert_eq!(
        (shopper(&b[0]).purchases, shopper(&b[0]).discounted),
        (30, 0)
    );
    for (x, y) in a.iter().zip(&b) {
        assert!(
            elasticity(x) > reference(x) && reference(y) > elasticity(y),
            "{x:?} {y:?}"
        );
    }
    println!(
        "offers: deal-prone {}, full-price {}",
        offers(&a),
        offers(&b)
    );
    assert!(
        offers(&a) > 2 * offers(&b).max(1),
        "deal-prone {} full-price {}",
        offers(&a),
        offers(&b)
    );
    let reasons: std::collections::BTreeSet<&str> = a.iter().chain(&b).map(|q| q.reason).collect();
    assert!(reasons.contains("BUDGET_SPENT"), "{reasons:?}");
}

#[test]
fn a_bad_budget_is_refused_and_changes_nothing() {
    let model = &models()[0];
    let items = vec![id(model, 1), id(model, 2)];
    let mut session = Session::new();
    for (options, naming) in [
        (budget(0.0), "share"),
        (budget(1.5), "share"),
        (budget(f64::NAN), "share"),
        (
            QuoteOptions {
                objective: Some("revenue".into()),
                ..budget(0.05)
            },
            "margin objective only",
        ),
    ] {
        let err = session.quote(model, &items, &options, NOW_MS).unwrap_err();
        assert_eq!(err.code(), "INVALID_ARGUMENT", "{err}");
        assert!(err.to_string().contains(naming), "{err}");
    }
    let first = session.quote(model, &items, &budget(0.05), NOW_MS).unwrap();
    let mut fresh = Session::new();
    assert_eq!(
        first,
        fresh.quote(model, &items, &budget(0.05), NOW_MS).unwrap()
    );
}

#[test]
fn forget_empties_the_promotion_account() {
    let model = &models()[0];
    let (mut shopper, _) = deal_prone_and_full_price(model);
    let items: Vec<String> = (0..200).map(|row| id(model, row * 13 + 5)).collect();
    let remaining = |quotes: &[Quote]| {
        quotes[0]
            .explanation
            .as_ref()
            .unwrap()
            .budget
            .unwrap()
            .remaining
    };
    let first = shopper.quote(model, &items, &budget(0.03), NOW_MS).unwrap();
    shopper.forget();
    let again = shopper.quote(model, &items, &budget(0.03), NOW_MS).unwrap();
    let mut fresh = Session::new();
    let new = fresh.quote(model, &items, &budget(0.03), NOW_MS).unwrap();
    assert_eq!(again, new, "after forget the session quotes as a new one");
    assert!(remaining(&first) >= 0.0);
}

#[test]
fn a_spread_cap_needs_a_shopper_level_head() {
    // The grocery head without its response: the manifest's entry and the weight both removed.
    let files = grocery_files();
    let weights = files.files["price.safetensors"].clone();
    let tensors = SafeTensors::deserialize(&weights).unwrap();
    let kept: Vec<(String, TensorView<'_>)> = tensors
        .tensors()
        .into_iter()
        .filter(|(name, _)| name != "response_weight")
        .collect();
    let mut files = with_file_rehashed(
        files,
        "price.safetensors",
        safetensors::serialize(kept, None).unwrap(),
    );
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    manifest["priceHead"]
        .as_object_mut()
        .unwrap()
        .remove("response");
    // price.onnx takes the response's signals: without it every build reads the plain head.
    manifest["files"]
        .as_object_mut()
        .unwrap()
        .remove("price.onnx");
    files.files.remove("price.onnx");
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    Model::load(files.clone(), None, PricingSettings::default()).expect("loads without a cap");
    let settings = PricingSettings {
        max_shopper_spread: Some(0.05),
        ..PricingSettings::default()
    };
    let err = Model::load(files, None, settings.clone()).unwrap_err();
    assert_eq!(err.code(), "INVALID_PRICING", "{err}");
    assert!(err.to_string().contains("maxShopperSpread"), "{err}");
    // A bundle without a price head (the fixture) has no reference shopper either.
    let err = Model::load(fixture_files(), None, settings).unwrap_err();
    assert_eq!(err.code(), "INVALID_PRICING", "{err}");
}

#[test]
fn a_response_that_disagrees_with_itself_is_refused_naming_the_field() {
    for (field, value) in [
        ("mean", serde_json::json!([0.0])),
        ("std", serde_json::json!([1.0, 0.0])),
        ("dealSharePrior", serde_json::json!(1.5)),
        ("signals", serde_json::json!([])),
    ] {
        let mut files = grocery_files();
        let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
        manifest["priceHead"]["response"][field] = value;
        files.manifest = serde_json::to_vec(&manifest).unwrap();
        let err = Model::load(files, None, PricingSettings::default()).unwrap_err();
        assert_eq!(err.code(), "INVALID_MODEL", "{field}: {err}");
        assert!(
            err.to_string().contains("priceHead.response"),
            "{field}: {err}"
        );
    }
}

/// The grocery bundle with its response's fields replaced (`edit` on `priceHead.response`).
fn grocery_with_response(edit: impl FnOnce(&mut serde_json::Value)) -> edgerec::BundleFiles {
    let mut files = grocery_files();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    edit(&mut manifest["priceHead"]["response"]);
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    files
}

#[test]
fn a_response_whose_signals_disagree_with_the_weights_or_graph_is_refused_at_load() {
    let files = grocery_with_response(|r| {
        r["signals"] = serde_json::json!(["interest", "dealShare", "dealShare"]);
        r["mean"] = serde_json::json!([0.0, 0.5, 0.5]);
        r["std"] = serde_json::json!([1.0, 0.1, 0.1]);
    });
    let err = Model::load(files, None, PricingSettings::default()).unwrap_err();
    assert_eq!(err.code(), "INVALID_MODEL", "{err}");
}

/// Where the reference shopper's curve is unusable the spread cannot be measured: the cap fails
/// closed (list prices), never open. (The plain head reads the manifest's standardisation;
/// price.onnx carries its own, so this bundle edit reaches the default build only.)
#[cfg(not(feature = "onnx"))]
#[test]
fn the_spread_cap_fails_closed_when_the_reference_curve_is_unusable() {
    let files = grocery_with_response(|r| {
        r["mean"][1] = serde_json::json!(0.5);
        r["std"][1] = serde_json::json!(1e-3);
        r["dealSharePrior"] = serde_json::json!(0.99);
        r["pseudoLines"] = serde_json::json!(0.0);
    });
    let settings = PricingSettings {
        max_shopper_spread: Some(0.0),
        ..PricingSettings::default()
    };
    let model = Model::load(files, None, settings).unwrap();
    let rows: Vec<usize> = (0..20).map(|i| i * 37).collect();
    let paid: Vec<f64> = (0..20).map(|i| if i < 11 { 0.8 } else { 1.0 }).collect();
    let mut session =
        Session::from_events(&model, &purchases(&model, &rows, &paid), NOW_MS).unwrap();
    let items: Vec<String> = (0..300).map(|row| id(&model, row * 13 + 5)).collect();
    let quotes = session.quote(&model, &items, &budget(1.0), NOW_MS).unwrap();
    let free = QuoteOptions {
        explain: true,
        ..QuoteOptions::default()
    };
    let unbudgeted = Session::from_events(&model, &purchases(&model, &rows, &paid), NOW_MS)
        .unwrap()
        .quote(&model, &items, &free, NOW_MS)
        .unwrap();
    for q in quotes.iter().chain(&unbudgeted) {
        let e = q.explanation.as_ref().unwrap();
        assert!(
            e.reference_curve.is_none(),
            "the edit makes the reference unusable: {q:?}"
        );
        assert!(!q.personalised && q.price == q.list_price, "{q:?}");
    }
}
