//! Shared helpers for the integration tests: the fixture bundle and its expected outputs.
// Each test crate uses a different part of this module: what one leaves unused is not dead.
#![allow(dead_code)]

use std::path::PathBuf;

use edgerec::bundle::sha256_hex;
use edgerec::interest::spec::EncoderSpec;
use edgerec::{BundleFiles, Model, PricingSettings, RawEvent, Result};
use serde::Deserialize;

/// Later than every fixture timestamp, so none of them lies in the future.
pub const NOW_MS: f64 = 1_800_000_000_000.0;

pub fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/fixture")
}

/// The fixture bundle's files as bytes, signature included.
pub fn fixture_files() -> BundleFiles {
    BundleFiles::read_dir(&fixture_dir()).expect("the fixture bundle is readable")
}

/// Replaces one file and rewrites the manifest so that its size and hash match again.
pub fn with_file_rehashed(mut files: BundleFiles, name: &str, bytes: Vec<u8>) -> BundleFiles {
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    manifest["files"][name] =
        serde_json::json!({ "bytes": bytes.len(), "sha256": sha256_hex(&bytes) });
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    files.files.insert(name.to_owned(), bytes);
    files
}

/// The bundle with an f32 column added to (or replaced in) its item table, manifest rehashed.
pub fn with_f32_column(files: BundleFiles, name: &str, values: &[f32]) -> BundleFiles {
    use safetensors::tensor::TensorView;
    use safetensors::{Dtype, SafeTensors};

    let table = files.files["items.safetensors"].clone();
    let tensors = SafeTensors::deserialize(&table).unwrap();
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut views: Vec<(String, TensorView<'_>)> = tensors
        .tensors()
        .into_iter()
        .filter(|(n, _)| n != name)
        .collect();
    views.push((
        name.into(),
        TensorView::new(Dtype::F32, vec![values.len()], &bytes).unwrap(),
    ));
    let table = safetensors::serialize(views, None).unwrap();
    with_file_rehashed(files, "items.safetensors", table)
}

/// `files` loaded with the default pricing settings and no pinned key.
pub fn load(files: BundleFiles) -> Result<Model> {
    Model::load(files, None, PricingSettings::default())
}

/// A conformance encoder's `spec.json` (`tests/conformance/<name>/`, made by
/// `models/training/make_conformance.py`): its width, window and manifest `encoder` entry.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EncoderShape {
    pub dims: usize,
    pub seq_len: usize,
    pub encoder: EncoderSpec,
}

/// The largest difference of one value between two vectors of one length.
pub fn worst(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0f32, f32::max)
}

/// `tolerance` for the state `state`: relative to its largest value when that is above 1. The
/// conformance encoders' random weights are larger than trained ones and their states run to
/// several units; a single row through plain loops and a window's rows through packed kernels
/// (which fuse multiply and add on x86) round apart in proportion.
pub fn scaled(tolerance: f32, state: &[f32]) -> f32 {
    tolerance * state.iter().fold(1.0f32, |m, v| m.max(v.abs()))
}

/// The fixture bundle with a streaming encoder (`encoder.reach`) in place of its own: the
/// conformance encoder of its width (`tests/conformance/w16-b2-h2-reach4`), in both forms.
pub fn streaming_fixture_files() -> BundleFiles {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/w16-b2-h2-reach4");
    let read = |name: &str| std::fs::read(dir.join(name)).unwrap();
    let spec: serde_json::Value = serde_json::from_slice(&read("spec.json")).unwrap();
    let mut files = fixture_files();
    for name in ["interest.onnx", "encoder.safetensors"] {
        files = with_file_rehashed(files, name, read(name));
    }
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    manifest["seqLen"] = spec["seqLen"].clone();
    manifest["encoder"] = spec["encoder"].clone();
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    files
}

/// The grocery bundle's files (the demo shop's: a price head, repeat weights, 4,000 items).
pub fn grocery_files() -> BundleFiles {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/grocery");
    BundleFiles::read_dir(&dir).expect("models/grocery is readable")
}

/// The grocery bundle, loaded with the default pricing settings.
pub fn grocery() -> Model {
    load(grocery_files()).expect("the grocery bundle loads")
}

/// The fixture bundle, loaded.
pub fn model() -> Model {
    load(fixture_files()).expect("the fixture bundle loads")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Expected {
    pub public_key: String,
    pub k: usize,
    pub cases: Vec<Case>,
}

#[derive(Deserialize)]
pub struct Case {
    pub name: String,
    pub events: Vec<ExpectedEvent>,
    pub user: Vec<f32>,
    pub top: Vec<ExpectedItem>,
}

#[derive(Deserialize)]
pub struct ExpectedEvent {
    #[serde(rename = "type")]
    pub kind: String,
    pub item: String,
    pub ts: f64,
}

#[derive(Deserialize)]
pub struct ExpectedItem {
    pub item: String,
    pub score: f32,
}

pub fn expected() -> Expected {
    let bytes = std::fs::read(fixture_dir().join("expected.json")).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

impl Case {
    pub fn raw_events(&self) -> Vec<RawEvent> {
        self.events
            .iter()
            .map(|e| RawEvent {
                kind: Some(e.kind.clone()),
                item: Some(e.item.clone()),
                ts: Some(e.ts),
                price: None,
            })
            .collect()
    }
}

pub fn view(item: &str, ts: f64) -> RawEvent {
    RawEvent {
        kind: Some("view".into()),
        item: Some(item.into()),
        ts: Some(ts),
        price: None,
    }
}
