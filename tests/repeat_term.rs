//! The optional `repeat` column: an item already in the window scores w_i · ln(1 + count) more,
//! exactly that much, each event counting `repeat_decay^(events after it)`; bad weights and
//! decays are rejected when the bundle loads.

mod common;

use common::{fixture_files, load, with_f32_column, NOW_MS};
use edgerec::{BundleFiles, Model, RawEvent, RecommendRequest, Session};

/// The fixture with a `repeat` column added to its item table.
fn with_repeat(weights: &[f32]) -> BundleFiles {
    with_f32_column(fixture_files(), "repeat", weights)
}

fn item_count() -> usize {
    let manifest: serde_json::Value = serde_json::from_slice(&fixture_files().manifest).unwrap();
    manifest["itemCount"].as_u64().unwrap() as usize
}

fn views(items: &[&str]) -> Vec<RawEvent> {
    items
        .iter()
        .enumerate()
        .map(|(i, item)| RawEvent {
            kind: Some("view".into()),
            item: Some((*item).into()),
            ts: Some(1_700_000_000_000.0 + i as f64),
            price: None,
        })
        .collect()
}

/// Every item's score for a session holding `events`, by item id.
fn scores(files: BundleFiles, events: &[RawEvent]) -> Vec<(String, f32)> {
    let model: Model = load(files).unwrap();
    let request = RecommendRequest {
        k: model.catalog().len(),
        ..RecommendRequest::default()
    };
    let mut all: Vec<(String, f32)> = Session::from_events(&model, events, NOW_MS)
        .unwrap()
        .recommend(&model, &request)
        .unwrap()
        .into_iter()
        .map(|r| (r.item, r.score))
        .collect();
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

#[test]
fn items_in_the_window_gain_their_repeat_term() {
    let n = item_count();
    let weights: Vec<f32> = (0..n).map(|i| if i == 3 { 0.0 } else { 0.5 }).collect();
    let events = views(&["SKU-0001", "SKU-0002", "SKU-0001", "SKU-0003"]);
    let plain = scores(fixture_files(), &events);
    let boosted = scores(with_repeat(&weights), &events);
    for ((item, before), (_, after)) in plain.iter().zip(&boosted) {
        let expected = match item.as_str() {
            "SKU-0001" => 0.5 * 3f32.ln(),
            "SKU-0002" => 0.5 * 2f32.ln(),
            _ => 0.0, // SKU-0003 has weight 0; the rest are not in the window
        };
        assert!(
            (after - before - expected).abs() < 1e-4,
            "{item}: {before} -> {after}"
        );
    }
}

#[test]
fn a_decay_counts_older_events_less() {
    let n = item_count();
    let with_decay =
        |decay: f32| with_f32_column(with_repeat(&vec![0.5; n]), "repeat_decay", &[decay]);
    let events = views(&["SKU-0001", "SKU-0002", "SKU-0001", "SKU-0003"]);
    let plain = scores(fixture_files(), &events);
    let decayed = scores(with_decay(0.5), &events);
    for ((item, before), (_, after)) in plain.iter().zip(&decayed) {
        let count = match item.as_str() {
            "SKU-0001" => 0.5f32.powi(3) + 0.5, // three and one events after them
            "SKU-0002" => 0.25,
            "SKU-0003" => 1.0,
            _ => 0.0,
        };
        let expected = 0.5 * count.ln_1p();
        assert!(
            (after - before - expected).abs() < 1e-4,
            "{item}: {before} -> {after}, expected +{expected}"
        );
    }
    let undecayed = scores(with_decay(1.0), &events);
    let counted = scores(with_repeat(&vec![0.5; n]), &events);
    assert_eq!(undecayed, counted, "decay 1 is the plain count");
    for bad in [0.0, -0.5, 1.5, f32::NAN] {
        let err = load(with_decay(bad)).unwrap_err();
        assert_eq!(err.code(), "INVALID_CATALOG", "decay {bad}: {err}");
    }
    let orphan = with_f32_column(fixture_files(), "repeat_decay", &[0.9]);
    let err = load(orphan).unwrap_err();
    assert_eq!(
        err.code(),
        "INVALID_CATALOG",
        "a decay without weights: {err}"
    );
}

#[test]
fn negative_or_non_finite_weights_are_rejected() {
    let n = item_count();
    for bad in [-1.0, f32::NAN, f32::INFINITY] {
        let mut weights = vec![0.5; n];
        weights[7] = bad;
        let err = load(with_repeat(&weights)).unwrap_err();
        assert_eq!(err.code(), "INVALID_CATALOG", "{err}");
    }
    let err = load(with_repeat(&[0.5; 3])).unwrap_err();
    assert_eq!(
        err.code(),
        "INVALID_CATALOG",
        "a column of the wrong length: {err}"
    );
}
