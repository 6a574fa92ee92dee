//! The plain encoder against onnxruntime's and tract's runs of the same ONNX graphs: user vectors
//! within 1e-5, on random-weight encoders of every shape the form allows
//! (`tests/conformance/`, made by `models/training/make_conformance.py`) and on every shipped
//! bundle, for windows empty, partly and fully filled; and the plain price head's demand curves
//! against `price.onnx`'s. The comparisons with tract need the `onnx` feature.

mod common;

use std::path::{Path, PathBuf};

use common::{scaled, worst, EncoderShape};
use edgerec::bundle::VerifiedBundle;
use edgerec::interest::plain::PlainEncoder;
#[cfg(feature = "onnx")]
use edgerec::interest::{onnx::OnnxEncoder, InterestModel};
#[cfg(feature = "onnx")]
use edgerec::pricing::head::onnx::OnnxHead;
use edgerec::pricing::head::plain::PlainHead;
use edgerec::pricing::{Feature, ItemContext};
use edgerec::BundleFiles;
use serde::Deserialize;

const TOLERANCE: f32 = 1e-5;
/// An empty window's state is every runtime's attention over masked scores only: each score is
/// rounded to the mask value's precision (its ulp at 1e4 is 1e-3) before the softmax, so runtimes
/// differ there by more than anywhere else. The engine encodes it for a shopper with no events.
const EMPTY_TOLERANCE: f32 = 1e-3;

/// What a window of `filled` events whose state is `user` allows (see [`scaled`]).
fn tolerance(filled: usize, user: &[f32]) -> f32 {
    scaled(
        if filled == 0 {
            EMPTY_TOLERANCE
        } else {
            TOLERANCE
        },
        user,
    )
}

#[derive(Deserialize)]
struct Case {
    filled: usize,
    emb: Vec<f32>,
    user: Vec<f32>,
}

/// Each random-weight encoder's folder.
fn shapes() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir()) // price_shopper.json sits beside the encoders' folders
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 8, "the conformance encoders are missing");
    dirs
}

#[test]
fn random_encoders_of_every_shape_match_onnxruntime_and_tract() {
    for dir in shapes() {
        let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
        let shape: EncoderShape = serde_json::from_slice(&read("spec.json")).unwrap();
        let cases: Vec<Case> = serde_json::from_slice(&read("expected.json")).unwrap();
        shape.encoder.check(shape.dims, shape.seq_len).unwrap();
        let plain = PlainEncoder::load(
            &shape.encoder,
            &read("encoder.safetensors"),
            shape.seq_len,
            shape.dims,
        )
        .unwrap();
        #[cfg(feature = "onnx")]
        let tract = OnnxEncoder::load(&read("interest.onnx"), shape.seq_len, shape.dims).unwrap();
        for case in &cases {
            let user = plain.encode(&case.emb).unwrap();
            let off = worst(&user, &case.user);
            let allowed = tolerance(case.filled, &case.user);
            assert!(
                off < allowed,
                "{}: {} events: onnxruntime differs by {off}",
                dir.display(),
                case.filled
            );
            #[cfg(feature = "onnx")]
            {
                let off = worst(&user, &tract.encode(&case.emb).unwrap());
                assert!(
                    off < allowed,
                    "{}: {} events: tract differs by {off}",
                    dir.display(),
                    case.filled
                );
            }
        }
    }
}

/// Every bundle with a plain form: the shipped ones and the test fixture.
#[cfg(feature = "onnx")]
fn bundles() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        "models/fixture",
        "models/beauty",
        "models/games",
        "models/grocery",
        "models/grocery-stream",
    ]
    .iter()
    .map(|dir| root.join(dir))
    .collect()
}

fn verified(dir: &Path) -> VerifiedBundle {
    VerifiedBundle::verify(
        BundleFiles::read_dir(dir).unwrap(),
        &[],
        edgerec::clock::now_ms(),
    )
    .unwrap()
}

#[cfg(feature = "onnx")]
/// A window of `l` rows of width `d` whose last `filled` rows hold pseudo-random values.
fn window(l: usize, d: usize, filled: usize, seed: u64) -> Vec<f32> {
    let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
    let mut emb = vec![0f32; l * d];
    for v in &mut emb[(l - filled) * d..] {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *v = ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.2;
    }
    emb
}

#[cfg(feature = "onnx")]
#[test]
fn plain_encoders_compute_what_their_onnx_graphs_compute() {
    for dir in bundles() {
        let bundle = verified(&dir);
        let (l, d) = (bundle.manifest.seq_len, bundle.manifest.dims);
        let spec = bundle
            .manifest
            .encoder
            .clone()
            .expect("a plain-weights encoder");
        let plain = InterestModel::load_plain(&bundle, &spec).unwrap();
        let onnx = InterestModel::load(&bundle).unwrap();
        assert!(
            matches!(onnx, InterestModel::Onnx(_)),
            "the onnx build runs the graph"
        );
        for filled in [0, 1, 2, l / 2, l - 1, l] {
            for seed in 0..3 {
                let emb = window(l, d, filled, seed);
                let (a, b) = (plain.encode(&emb).unwrap(), onnx.encode(&emb).unwrap());
                let off = worst(&a, &b);
                assert!(
                    off < tolerance(filled, &b),
                    "{}: {filled} events: differs by {off}",
                    dir.display()
                );
            }
        }
    }
}

#[cfg(feature = "onnx")]
#[test]
fn the_plain_price_head_gives_the_onnx_head_curves() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/grocery");
    let bundle = verified(&dir);
    let spec = bundle.manifest.price_head.clone().unwrap();
    let plain = PlainHead::load(
        &spec,
        bundle.file(&spec.weights).unwrap(),
        bundle.manifest.item_count,
        None,
    )
    .unwrap();
    let onnx = OnnxHead::load(
        bundle.file("price.onnx").unwrap(),
        bundle.manifest.item_count,
        None,
        spec.response.as_ref(),
    )
    .unwrap();
    let items: Vec<ItemContext> = (0..bundle.manifest.item_count)
        .step_by(7)
        .map(|row| ItemContext {
            row,
            department: (row % spec.departments) as u32,
            interest: (row as f32 * 0.37).sin() * 3.0,
            display: (row % 2) as f32,
            mailer: (row % 3 == 0) as u8 as f32,
            deal_share: (row as f32 * 0.13).cos().abs(),
        })
        .collect();
    for week in [1, 20, 53] {
        let (a, b) = (
            plain.curves(&items, week),
            onnx.curves(&items, week).unwrap(),
        );
        for ((item, x), y) in items.iter().zip(&a).zip(&b) {
            assert!(
                (x.0 - y.0).abs() < 1e-5 && (x.1 - y.1).abs() < 1e-5,
                "row {}: {x:?} vs {y:?}",
                item.row
            );
        }
    }
}

#[derive(Deserialize)]
struct PriceRow {
    row: usize,
    department: u32,
    week: u32,
    features: Vec<f32>,
    signals: Vec<f32>,
    base: f32,
    elasticity: f32,
}

#[derive(Deserialize)]
struct PriceRows {
    tolerance: f32,
    rows: Vec<PriceRow>,
}

#[test]
fn the_shipped_price_head_gives_the_torch_models_curves_for_any_shopper() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let expected: PriceRows = serde_json::from_slice(
        &std::fs::read(root.join("tests/conformance/price_shopper.json")).unwrap(),
    )
    .unwrap();
    let bundle = verified(&root.join("models/grocery"));
    let spec = bundle.manifest.price_head.clone().unwrap();
    let head = PlainHead::load(
        &spec,
        bundle.file(&spec.weights).unwrap(),
        bundle.manifest.item_count,
        None,
    )
    .unwrap();
    let response = spec
        .response
        .as_ref()
        .expect("the grocery head is shopper-level");
    assert_eq!(response.signals, [Feature::Interest, Feature::DealShare]);
    for r in &expected.rows {
        let item = ItemContext {
            row: r.row,
            department: r.department,
            interest: r.features[0],
            display: r.features[1],
            mailer: r.features[2],
            deal_share: r.signals[1],
        };
        let (base, elasticity) = head.curves(&[item], r.week)[0];
        assert!(
            (base - r.base).abs() < expected.tolerance
                && (elasticity - r.elasticity).abs() < expected.tolerance,
            "row {}: ({base}, {elasticity}) against ({}, {})",
            r.row,
            r.base,
            r.elasticity
        );
    }
}
