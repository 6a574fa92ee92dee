//! A manifest whose encoder or price head architecture disagrees with its weights is refused at
//! load with `INVALID_MODEL` naming the tensor (or the field). The default build reads the plain
//! weights; the ONNX build reads the ONNX graphs instead.
#![cfg(not(feature = "onnx"))]

mod common;

use common::{fixture_files, load, with_file_rehashed};
use edgerec::BundleFiles;
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};

const WEIGHTS: &str = "encoder.safetensors";

/// The fixture's encoder weights rewritten by `edit` (name, dtype, shape, bytes of each tensor).
fn with_weights(edit: impl FnOnce(&mut Vec<(String, Dtype, Vec<usize>, Vec<u8>)>)) -> BundleFiles {
    let files = fixture_files();
    let bytes = files.files[WEIGHTS].clone();
    let tensors = SafeTensors::deserialize(&bytes).unwrap();
    let mut list: Vec<_> = tensors
        .tensors()
        .into_iter()
        .map(|(name, t)| (name, t.dtype(), t.shape().to_vec(), t.data().to_vec()))
        .collect();
    edit(&mut list);
    let views: Vec<(String, TensorView<'_>)> = list
        .iter()
        .map(|(name, dtype, shape, data)| {
            (
                name.clone(),
                TensorView::new(*dtype, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    let rewritten = safetensors::serialize(views, None).unwrap();
    with_file_rehashed(files, WEIGHTS, rewritten)
}

fn with_encoder_field(field: &str, value: serde_json::Value) -> BundleFiles {
    let mut files = fixture_files();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    manifest["encoder"][field] = value;
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    files
}

fn refused(files: BundleFiles, naming: &str) {
    let err = load(files).unwrap_err();
    assert_eq!(err.code(), "INVALID_MODEL", "{err}");
    assert!(
        err.to_string().contains(naming),
        "{err} should name {naming}"
    );
}

#[test]
fn the_fixture_loads_from_its_plain_weights() {
    load(fixture_files()).unwrap();
}

#[test]
fn a_missing_tensor_is_named() {
    refused(
        with_weights(|t| t.retain(|(name, ..)| name != "blocks.1.out.bias")),
        "blocks.1.out.bias",
    );
}

#[test]
fn an_unknown_tensor_is_named() {
    refused(
        with_weights(|t| t.push(("blocks.9.extra".into(), Dtype::F32, vec![1], vec![0; 4]))),
        "blocks.9.extra",
    );
}

#[test]
fn a_wrong_shape_is_named() {
    refused(
        with_weights(|t| {
            let pos = t.iter_mut().find(|(name, ..)| name == "pos").unwrap();
            pos.2 = vec![pos.2[1], pos.2[0]];
        }),
        "pos",
    );
}

#[test]
fn a_wrong_dtype_is_named() {
    refused(
        with_weights(|t| {
            let w = t
                .iter_mut()
                .find(|(name, ..)| name == "ln_in.weight")
                .unwrap();
            w.1 = Dtype::I32;
        }),
        "ln_in.weight",
    );
}

#[test]
fn a_non_finite_weight_is_named() {
    refused(
        with_weights(|t| {
            let w = t
                .iter_mut()
                .find(|(name, ..)| name == "blocks.0.qkv.weight")
                .unwrap();
            w.3[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
        }),
        "blocks.0.qkv.weight",
    );
}

#[test]
fn an_architecture_that_disagrees_with_the_weights_is_refused() {
    // One block more than the weights hold: its first tensor is missing.
    refused(with_encoder_field("blocks", 3.into()), "blocks.2.");
    // A wider feed-forward layer: its weight has another shape.
    refused(
        with_encoder_field("ffnWidth", 64.into()),
        "blocks.0.ffn.0.weight",
    );
    // Heads that do not divide the width, and absurd sizes, are refused before anything is read.
    refused(with_encoder_field("heads", 3.into()), "heads");
    refused(
        with_encoder_field("ffnWidth", 1_000_000_000.into()),
        "ffnWidth",
    );
    refused(with_encoder_field("blocks", 100_000.into()), "blocks");
    refused(
        with_encoder_field("maskValue", serde_json::json!(-1.0)),
        "maskValue",
    );
}

#[test]
fn a_price_head_whose_departments_miss_an_item_is_refused_at_load() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/grocery");
    let mut files = BundleFiles::read_dir(&dir).unwrap();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    manifest["priceHead"]["departments"] = 3.into();
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    let err = load(files).unwrap_err();
    assert_eq!(err.code(), "INVALID_CATALOG", "{err}");
    assert!(err.to_string().contains("department"), "{err}");
}
