//! The committed benchmark bundle still scores what its manifest says, on the fixed CI sample of
//! users (the same users the export measured: spread evenly over the data file). CI does not
//! train; this catches a bundle, an engine or a scoring change that moves the figure.

use std::path::PathBuf;

use edgerec::{BundleFiles, Model, PricingSettings};
use edgerec_evaluation::{data, ranks, summarize, Protocol, Seen, Stage, StreamCheck};

const TOLERANCE: f64 = 1e-3;

fn root() -> PathBuf {
    // The repository's root, two folders above this crate.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn the_beauty_bundle_matches_its_manifest_on_the_ci_sample() {
    let data_path = root().join("../shared/data/amazon-beauty.txt");
    let text = std::fs::read_to_string(&data_path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; the shared data must sit beside the repository",
            data_path.display()
        )
    });
    let sequences = data::parse(&text).unwrap();
    let model = Model::load(
        BundleFiles::read_dir(&root().join("models/beauty")).unwrap(),
        None,
        PricingSettings::default(),
    )
    .unwrap();
    let sample = model.manifest().metrics["ciSample"].clone();
    let n = sample["users"]
        .as_u64()
        .expect("the manifest records its CI sample") as usize;
    let all = sequences.users.len();
    let users: Vec<usize> = (0..n).map(|i| i * all / n).collect();
    let metrics = summarize(
        &ranks(
            &model,
            &sequences,
            Stage::Test,
            &Protocol::Full(Seen::Zero),
            &users,
            &mut StreamCheck::default(),
        )
        .unwrap(),
    );
    for (name, value) in &metrics.values {
        let recorded = sample[name]
            .as_f64()
            .unwrap_or_else(|| panic!("the manifest lacks ciSample.{name}"));
        assert!(
            (value - recorded).abs() <= TOLERANCE,
            "{name}: {value:.4} now, {recorded:.4} in the manifest"
        );
    }
}
