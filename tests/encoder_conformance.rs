//! The plain encoder and price head against tract's run of the same bundle's ONNX graphs: user
//! vectors within 1e-5 for windows partly and fully filled, and equal demand curves.
#![cfg(feature = "onnx")]

use std::path::{Path, PathBuf};

use edgerec::bundle::VerifiedBundle;
use edgerec::interest::InterestModel;
use edgerec::pricing::head::{onnx::OnnxHead, plain::PlainHead};
use edgerec::pricing::ItemContext;
use edgerec::BundleFiles;

/// Every bundle with a plain form: the shipped ones and the test fixture.
fn bundles() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        "models/fixture",
        "models/beauty",
        "models/games",
        "models/grocery",
    ]
    .iter()
    .map(|dir| root.join(dir))
    .collect()
}

fn verified(dir: &Path) -> VerifiedBundle {
    VerifiedBundle::verify(BundleFiles::read_dir(dir).unwrap(), None).unwrap()
}

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
        let mut plain = InterestModel::load_plain(&bundle, &spec).unwrap();
        let mut onnx = InterestModel::load(&bundle).unwrap();
        assert!(
            matches!(onnx, InterestModel::Onnx(_)),
            "the onnx build runs the graph"
        );
        for filled in [0, 1, 2, l / 2, l - 1, l] {
            for seed in 0..3 {
                let emb = window(l, d, filled, seed);
                let (a, b) = (plain.encode(&emb).unwrap(), onnx.encode(&emb).unwrap());
                let worst = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (x - y).abs())
                    .fold(0f32, f32::max);
                assert!(
                    worst < 1e-5,
                    "{}: {filled} events: differs by {worst}",
                    dir.display()
                );
            }
        }
    }
}

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
    let onnx = OnnxHead::load(bundle.file("price.onnx").unwrap()).unwrap();
    let items: Vec<ItemContext> = (0..bundle.manifest.item_count)
        .step_by(7)
        .map(|row| ItemContext {
            row,
            department: (row % spec.departments) as u32,
            interest: (row as f32 * 0.37).sin() * 3.0,
            display: (row % 2) as f32,
            mailer: (row % 3 == 0) as u8 as f32,
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
