//! What a bundle's manifest says about trust: its release number, its expiry, the keys that may
//! sign it (several, during a key rotation), and the file names it may list.
mod common;

use common::{expected, fixture_files};
use ed25519_dalek::{Signer, SigningKey};
use edgerec::bundle::{parse_public_key_hex, VerifiedBundle, MAX_RELEASE};
use edgerec::{BundleFiles, Manifest, Model, PricingSettings};
use sha2::{Digest, Sha256};

/// The fixture's signing key (models/training/bundle_writer.py derives it from this seed).
fn fixture_key() -> SigningKey {
    SigningKey::from_bytes(&Sha256::digest(b"edgerec fixture signing key").into())
}

fn other_key() -> SigningKey {
    SigningKey::from_bytes(&[7; 32])
}

/// The fixture with its manifest edited by `change` and signed again by `key`.
fn edited(change: impl FnOnce(&mut serde_json::Value), key: &SigningKey) -> BundleFiles {
    let mut files = fixture_files();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    change(&mut manifest);
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    files.signature = Some(key.sign(&files.manifest).to_bytes().to_vec());
    files
}

fn load_code(files: BundleFiles, keys: &[[u8; 32]]) -> &'static str {
    Model::load(files, keys, PricingSettings::default())
        .unwrap_err()
        .code()
}

#[test]
fn the_fixture_is_release_1_signed_by_the_fixture_key() {
    let key = parse_public_key_hex(&expected().public_key).unwrap();
    assert_eq!(key, fixture_key().verifying_key().to_bytes());
    let model = Model::load(fixture_files(), Some(&key), PricingSettings::default()).unwrap();
    assert_eq!(model.manifest().release, 1);
    assert_eq!(model.manifest().expires, None);
}

#[test]
fn a_manifest_without_release_is_release_0() {
    let files = edited(
        |m| {
            m.as_object_mut().unwrap().remove("release");
        },
        &fixture_key(),
    );
    assert_eq!(Manifest::parse(&files.manifest).unwrap().release, 0);
    let shipped = std::fs::read(common::fixture_dir().join("../grocery/manifest.json")).unwrap();
    assert_eq!(Manifest::parse(&shipped).unwrap().release, 0);
}

#[test]
fn a_release_that_is_not_a_safe_whole_number_is_refused() {
    let too_large = serde_json::json!(MAX_RELEASE + 1);
    for bad in [
        serde_json::json!(-1),
        serde_json::json!(1.5),
        serde_json::json!("7"),
        too_large,
    ] {
        let files = edited(|m| m["release"] = bad.clone(), &fixture_key());
        assert_eq!(load_code(files, &[]), "INVALID_MANIFEST", "{bad}");
    }
    let largest = edited(|m| m["release"] = MAX_RELEASE.into(), &fixture_key());
    assert_eq!(
        Model::load(largest, None, PricingSettings::default())
            .unwrap()
            .manifest()
            .release,
        MAX_RELEASE
    );
}

#[test]
fn an_expired_manifest_is_refused_and_a_current_one_loads() {
    let key = fixture_key().verifying_key().to_bytes();
    let expired = edited(
        |m| m["expires"] = "2020-01-01T00:00:00Z".into(),
        &fixture_key(),
    );
    assert_eq!(load_code(expired.clone(), &[key]), "BUNDLE_EXPIRED");
    assert_eq!(load_code(expired, &[]), "BUNDLE_EXPIRED");

    let current = edited(
        |m| m["expires"] = "2999-12-31T23:59:59+01:00".into(),
        &fixture_key(),
    );
    let model = Model::load(current, Some(&key), PricingSettings::default()).unwrap();
    assert_eq!(
        model.manifest().expires.as_deref(),
        Some("2999-12-31T23:59:59+01:00")
    );
}

#[test]
fn expiry_is_checked_against_the_time_given() {
    let files = edited(
        |m| m["expires"] = "2027-01-01T00:00:00Z".into(),
        &fixture_key(),
    );
    let at = 1_798_761_600_000.0; // 2027-01-01T00:00:00Z
    let verify = |now| VerifiedBundle::verify(files.clone(), &[], now).map(|_| ());
    assert_eq!(verify(at - 1.0), Ok(()));
    assert_eq!(verify(at).unwrap_err().code(), "BUNDLE_EXPIRED");
}

#[test]
fn an_expiry_that_is_not_a_date_time_with_a_zone_is_refused() {
    for bad in [
        serde_json::json!("2027-01-01"),
        serde_json::json!("2027-01-01T00:00:00"),
        serde_json::json!("tomorrow"),
        serde_json::json!(1_798_761_600_000u64),
    ] {
        let files = edited(|m| m["expires"] = bad.clone(), &fixture_key());
        assert_eq!(load_code(files, &[]), "INVALID_MANIFEST", "{bad}");
    }
}

#[test]
fn any_of_several_pinned_keys_may_sign() {
    let (old, new) = (fixture_key(), other_key());
    let pinned = [
        old.verifying_key().to_bytes(),
        new.verifying_key().to_bytes(),
    ];
    let by_new = edited(|m| m["release"] = 2.into(), &new);
    assert_eq!(
        Model::load(by_new.clone(), &pinned, PricingSettings::default())
            .unwrap()
            .manifest()
            .release,
        2
    );
    Model::load(fixture_files(), &pinned, PricingSettings::default())
        .expect("the old key still signs");
    assert_eq!(load_code(by_new.clone(), &pinned[..1]), "BAD_SIGNATURE");

    let mut unsigned = by_new;
    unsigned.signature = None;
    assert_eq!(load_code(unsigned, &pinned), "BAD_SIGNATURE");
}

#[test]
fn a_release_or_expiry_edited_after_signing_is_refused() {
    let key = fixture_key().verifying_key().to_bytes();
    let mut files = fixture_files();
    let text = String::from_utf8(files.manifest).unwrap();
    files.manifest = text
        .replace("\"release\": 1", "\"release\": 9")
        .into_bytes();
    assert_eq!(load_code(files, &[key]), "BAD_SIGNATURE");
}

#[test]
fn file_names_that_are_paths_are_refused() {
    for name in [
        "../items.json",
        "a/b",
        "a\\b",
        ".hidden",
        "..",
        "",
        "é.json",
    ] {
        let files = edited(
            |m| m["files"][name] = serde_json::json!({ "bytes": 1, "sha256": "0".repeat(64) }),
            &fixture_key(),
        );
        assert_eq!(load_code(files, &[]), "INVALID_MANIFEST", "{name:?}");
    }
}

#[test]
fn reading_a_folder_never_joins_a_path_from_the_manifest() {
    let root = std::env::temp_dir().join(format!("edgerec-bundle-trust-{}", std::process::id()));
    let dir = root.join("bundle");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(root.join("secret"), b"outside the bundle").unwrap();
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fixture_files().manifest).unwrap();
    manifest["files"]["../secret"] = serde_json::json!({ "bytes": 18, "sha256": "0".repeat(64) });
    std::fs::write(
        dir.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    let result = BundleFiles::read_dir(&dir);
    std::fs::remove_dir_all(&root).unwrap();
    assert_eq!(result.unwrap_err().code(), "INVALID_MANIFEST");
}

/// A `privacy` entry as export.py writes it for a DP-trained bundle.
fn privacy() -> serde_json::Value {
    serde_json::json!({
        "unit": "shopper", "adjacency": "add/remove one shopper", "epsilon": 3.99, "delta": 1e-6,
        "accountant": "rdp", "maxGradNorm": 1.0, "noiseMultiplier": 1.25, "sampleRate": 0.0229,
        "epochs": 8, "steps": 352, "covers": ["encoder.safetensors", "interest.onnx", "items.safetensors"],
        "library": "opacus 1.5.4"
    })
}

#[test]
fn a_privacy_guarantee_parses_loads_and_is_reported() {
    let files = edited(|m| m["privacy"] = privacy(), &fixture_key());
    let parsed = Manifest::parse(&files.manifest).unwrap().privacy.unwrap();
    assert_eq!(
        (parsed.epsilon, parsed.steps, parsed.covers.len()),
        (3.99, 352, 3)
    );
    let key = fixture_key().verifying_key().to_bytes();
    let model = Model::load(files, Some(&key), PricingSettings::default()).unwrap();
    let reported = serde_json::to_value(model.manifest()).unwrap();
    assert_eq!(reported["privacy"], privacy());
    assert!(Manifest::parse(&fixture_files().manifest)
        .unwrap()
        .privacy
        .is_none());
}

#[test]
fn a_privacy_entry_with_an_unknown_or_impossible_field_is_refused() {
    let cases: [(&str, serde_json::Value); 4] = [
        ("epsilonPerEpoch", serde_json::json!(0.5)),
        ("delta", serde_json::json!(0.0)),
        ("sampleRate", serde_json::json!(1.5)),
        ("covers", serde_json::json!(["weights.bin"])),
    ];
    let key = fixture_key().verifying_key().to_bytes();
    for (field, value) in cases {
        let files = edited(
            |m| {
                m["privacy"] = privacy();
                m["privacy"][field] = value;
            },
            &fixture_key(),
        );
        assert!(Manifest::parse(&files.manifest).is_err(), "{field}");
        assert_eq!(load_code(files, &[key]), "INVALID_MANIFEST", "{field}");
    }
}
