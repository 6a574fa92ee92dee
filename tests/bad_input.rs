//! Every bad input gets its named error, and the session (or the next load) keeps working.

mod common;

use common::{
    expected, fixture_files, load, model, view, with_f32_column, with_file_rehashed, NOW_MS,
};
use edgerec::bundle::parse_public_key_hex;
use edgerec::{BundleFiles, Error, Model, PricingSettings, RawEvent, RecommendRequest, Session};

/// The session is what it was, and recommendations still come.
fn assert_unchanged_and_working(model: &Model, session: &mut Session, events_before: usize) {
    assert_eq!(
        session.events().len(),
        events_before,
        "a rejected call must change nothing"
    );
    let top = session
        .recommend(
            model,
            &RecommendRequest {
                k: 5,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(top.len(), 5);
}

fn observe_error(events: Vec<RawEvent>) -> Error {
    let model = model();
    let mut session = Session::new();
    session
        .observe(&model, &[view("SKU-0001", 1.0)], NOW_MS)
        .unwrap();
    let err = session.observe(&model, &events, NOW_MS).unwrap_err();
    assert_unchanged_and_working(&model, &mut session, 1);
    err
}

#[test]
fn an_event_with_no_item() {
    let event = RawEvent {
        item: None,
        ..view("x", 1.0)
    };
    let err = observe_error(vec![view("SKU-0002", 2.0), event]);
    assert!(matches!(err, Error::InvalidEvent { index: 1, .. }), "{err}");
    assert_eq!(err.code(), "INVALID_EVENT");
}

#[test]
fn an_unknown_event_type() {
    let event = RawEvent {
        kind: Some("wishlist".into()),
        ..view("SKU-0002", 2.0)
    };
    let err = observe_error(vec![event]);
    assert!(
        matches!(err, Error::InvalidEvent { index: 0, ref reason } if reason.contains("wishlist")),
        "{err}"
    );
}

#[test]
fn a_nan_timestamp() {
    let err = observe_error(vec![view("SKU-0002", f64::NAN)]);
    assert!(
        matches!(err, Error::InvalidEvent { index: 0, ref reason } if reason.contains("ts")),
        "{err}"
    );
}

#[test]
fn a_future_timestamp() {
    let err = observe_error(vec![view("SKU-0002", NOW_MS + 10.0 * 60_000.0)]);
    assert!(
        matches!(err, Error::InvalidEvent { index: 0, ref reason } if reason.contains("future")),
        "{err}"
    );
    // Within the allowed clock skew is fine.
    Session::new()
        .observe(&model(), &[view("SKU-0002", NOW_MS + 60_000.0)], NOW_MS)
        .unwrap();
}

#[test]
fn a_negative_or_nan_price() {
    for price in [-1.0, f64::NAN, f64::INFINITY] {
        let event = RawEvent {
            price: Some(price),
            ..view("SKU-0002", 2.0)
        };
        let err = observe_error(vec![event]);
        assert!(
            matches!(err, Error::InvalidEvent { ref reason, .. } if reason.contains("price")),
            "{err}"
        );
    }
}

/// The rule: an event about an item outside the catalogue rejects its whole batch.
#[test]
fn an_unknown_item_rejects_the_batch() {
    let err = observe_error(vec![view("SKU-0002", 2.0), view("SKU-9999", 3.0)]);
    assert!(
        matches!(err, Error::UnknownItem { ref item, .. } if item == "SKU-9999"),
        "{err}"
    );
    assert_eq!(err.code(), "UNKNOWN_ITEM");
}

#[test]
fn ten_thousand_events_at_once() {
    let events: Vec<RawEvent> = (0..10_000)
        .map(|i| view("SKU-0003", f64::from(i)))
        .collect();
    let err = observe_error(events.clone());
    assert_eq!(
        err,
        Error::TooManyEvents {
            count: 10_000,
            max: 1_000
        }
    );

    let model = model();
    assert!(matches!(
        Session::from_events(&model, &events, NOW_MS),
        Err(Error::TooManyEvents { .. })
    ));
    // A session given too many at once keeps none of them.
    let mut session = Session::new();
    assert!(matches!(
        session.observe(&model, &events, NOW_MS),
        Err(Error::TooManyEvents { .. })
    ));
    assert_unchanged_and_working(&model, &mut session, 0);
}

#[test]
fn k_zero_or_larger_than_the_catalogue() {
    let model = model();
    let mut session = Session::new();
    for k in [0, 61, usize::MAX] {
        let err = session
            .recommend(
                &model,
                &RecommendRequest {
                    k,
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidArgument { name: "k", .. }),
            "{err}"
        );
    }
    assert_eq!(
        session
            .recommend(
                &model,
                &RecommendRequest {
                    k: 60,
                    ..Default::default()
                },
            )
            .unwrap()
            .len(),
        60
    );
    assert_unchanged_and_working(&model, &mut session, 0);
}

#[test]
fn unknown_or_empty_candidates() {
    let model = model();
    let mut session = Session::new();
    let unknown = RecommendRequest {
        candidates: Some(vec!["SKU-0001".into(), "nope".into()]),
        ..Default::default()
    };
    assert!(
        matches!(session.recommend(&model, &unknown), Err(Error::UnknownItem { ref item, .. }) if item == "nope")
    );
    let empty = RecommendRequest {
        candidates: Some(vec![]),
        ..Default::default()
    };
    assert!(matches!(
        session.recommend(&model, &empty),
        Err(Error::InvalidArgument {
            name: "candidates",
            ..
        })
    ));
    assert_unchanged_and_working(&model, &mut session, 0);
}

#[test]
fn a_truncated_onnx_file_fails_its_size_check() {
    let mut files = fixture_files();
    let onnx = files.files.get_mut("interest.onnx").unwrap();
    onnx.truncate(onnx.len() / 2);
    let err = load(files).unwrap_err();
    assert!(
        matches!(err, Error::SizeMismatch { ref file, .. } if file == "interest.onnx"),
        "{err}"
    );
    model();
}

#[test]
fn a_truncated_model_file_listed_as_such_fails_to_load_as_a_model() {
    // The file this build reads the encoder from.
    let name = if cfg!(feature = "onnx") {
        "interest.onnx"
    } else {
        "encoder.safetensors"
    };
    let files = fixture_files();
    let bytes = files.files[name].clone();
    let files = with_file_rehashed(files, name, bytes[..bytes.len() / 2].to_vec());
    let err = load(files).unwrap_err();
    assert_eq!(err.code(), "INVALID_MODEL", "{err}");
    model();
}

#[test]
fn a_sha256_mismatch() {
    let mut files = fixture_files();
    let table = files.files.get_mut("items.safetensors").unwrap();
    let last = table.len() - 1;
    table[last] ^= 0x01;
    let err = load(files).unwrap_err();
    assert!(
        matches!(err, Error::ChecksumMismatch { ref file, .. } if file == "items.safetensors"),
        "{err}"
    );
}

#[test]
fn a_missing_file() {
    let mut files = fixture_files();
    files.files.remove("items.json");
    assert_eq!(
        load(files).unwrap_err(),
        Error::MissingFile("items.json".into())
    );
}

/// `files` loaded with `key` pinned.
fn signed(files: BundleFiles, key: Option<&[u8; 32]>) -> Result<Model, Error> {
    Model::load(files, key, PricingSettings::default())
}

#[test]
fn signatures_verify_against_a_pinned_key() {
    let key = parse_public_key_hex(&expected().public_key).unwrap();
    signed(fixture_files(), Some(&key)).expect("the fixture is signed by its key");

    let mut tampered = fixture_files();
    tampered.signature.as_mut().unwrap()[10] ^= 0x40;
    assert_eq!(
        signed(tampered, Some(&key)).unwrap_err().code(),
        "BAD_SIGNATURE"
    );

    let mut unsigned = fixture_files();
    unsigned.signature = None;
    assert_eq!(
        signed(unsigned.clone(), Some(&key)).unwrap_err().code(),
        "BAD_SIGNATURE"
    );
    signed(unsigned, None).expect("no key pinned: no signature needed");

    let mut other_key = key;
    other_key[0] ^= 0x01;
    assert!(signed(fixture_files(), Some(&other_key)).is_err());
}

#[test]
fn a_manifest_edited_after_signing_is_rejected() {
    let key = parse_public_key_hex(&expected().public_key).unwrap();
    let mut files = fixture_files();
    let text = String::from_utf8(files.manifest)
        .unwrap()
        .replace("fixture-1", "fixture-2");
    files.manifest = text.into_bytes();
    assert_eq!(
        signed(files, Some(&key)).unwrap_err().code(),
        "BAD_SIGNATURE"
    );
}

#[test]
fn a_malformed_public_key() {
    for hex in ["", "zz", &"g".repeat(64), "é".repeat(32).as_str()] {
        assert!(matches!(
            parse_public_key_hex(hex),
            Err(Error::InvalidArgument {
                name: "publicKey",
                ..
            })
        ));
    }
}

#[test]
fn a_manifest_of_an_unknown_format_version() {
    let mut files = fixture_files();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    manifest["formatVersion"] = 3.into();
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    assert_eq!(
        load(files).unwrap_err(),
        Error::UnsupportedFormatVersion {
            found: 3,
            supported: 2
        }
    );
}

#[test]
fn a_manifest_that_is_not_json_or_lacks_fields() {
    for text in [
        "",
        "{",
        "[]",
        r#"{"formatVersion": 1}"#,
        r#"{"formatVersion": "1"}"#,
    ] {
        let mut files = fixture_files();
        files.manifest = text.as_bytes().to_vec();
        assert_eq!(
            load(files).unwrap_err().code(),
            "INVALID_MANIFEST",
            "{text}"
        );
    }
}

#[test]
fn a_manifest_whose_shape_disagrees_with_the_table() {
    let mut files = fixture_files();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    manifest["itemCount"] = 61.into();
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    assert_eq!(load(files).unwrap_err().code(), "INVALID_CATALOG");
}

#[test]
fn duplicate_item_ids() {
    let files = fixture_files();
    let text = String::from_utf8(files.files["items.json"].clone())
        .unwrap()
        .replace("SKU-0001", "SKU-0000");
    let err = load(with_file_rehashed(files, "items.json", text.into_bytes())).unwrap_err();
    assert!(
        matches!(err, Error::InvalidCatalog(ref m) if m.contains("twice")),
        "{err}"
    );
}

/// The fixture with a catalogue column set to `values` except one row, the result of its load.
fn load_with_column(name: &str, fill: f32, row: usize, value: f32) -> Result<Model, Error> {
    let mut values = vec![fill; 60];
    values[row] = value;
    load(with_f32_column(fixture_files(), name, &values))
}

#[test]
fn catalogue_columns_out_of_their_ranges_are_refused_naming_column_and_row() {
    let cases = [
        // A list price above 1e9 quoted 0.01.
        ("list_price", 10.0, 2e9),
        ("list_price", 10.0, 0.0),
        ("low_30d", 10.0, f32::INFINITY),
        ("cost", 1.0, -1.0),
        // A finite but huge repeat weight gave `score: null`.
        ("repeat", 1.0, 1e30),
        ("repeat", 1.0, f32::NAN),
    ];
    for (name, fill, value) in cases {
        assert!(
            load_with_column(name, fill, 0, fill).is_ok(),
            "{name} {fill}"
        );
        let err = load_with_column(name, fill, 17, value).unwrap_err();
        assert_eq!(err.code(), "INVALID_CATALOG", "{err}");
        assert!(
            err.to_string()
                .contains(&format!("`{name}` of row 17 is {value}")),
            "{err}"
        );
    }
}

#[test]
fn a_cost_above_the_list_price_is_refused() {
    let files = with_f32_column(fixture_files(), "list_price", &[10.0; 60]);
    let mut costs = [5.0; 60];
    assert!(load(with_f32_column(files.clone(), "cost", &costs)).is_ok());
    costs[42] = 10.5;
    let err = load(with_f32_column(files, "cost", &costs)).unwrap_err();
    assert!(
        err.to_string()
            .contains("`cost` of row 42 is 10.5, above its `list_price` 10"),
        "{err}"
    );
}
