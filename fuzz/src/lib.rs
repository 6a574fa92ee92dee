//! edgerec's fuzz targets: each takes arbitrary bytes and must return without panicking, whatever
//! the bytes are. They run two ways: coverage-guided under libFuzzer (`fuzz_targets/`, see
//! docs/security.md), and as a bounded, fixed-seed replay and mutation run in `cargo test`
//! (`tests/fuzz_replay.rs` includes this file).

use edgerec::catalog::Catalog;
use edgerec::events::{validate_batch, SessionWindow};
use edgerec::{Manifest, RawEvent};

/// The fixture bundle's files, the context the targets parse their input against.
const ITEMS_JSON: &[u8] = include_bytes!("../../models/fixture/items.json");
const ITEM_TABLE: &[u8] = include_bytes!("../../models/fixture/items.safetensors");
/// The fixture's item count and width.
const ITEMS: usize = 60;
const DIMS: usize = 16;
/// A time after every fixture event.
const NOW_MS: f64 = 1.8e12;

/// A fuzz target: bytes in, no panic out.
pub type Target = fn(&[u8]);

/// The targets by name, as the replay run and the corpus folders name them.
pub const TARGETS: [(&str, Target); 5] = [
    ("manifest", manifest),
    ("item_table", item_table),
    ("items_json", items_json),
    ("events", events),
    ("onnx_gate", onnx_gate),
];

/// `manifest.json`: parsed and checked.
pub fn manifest(data: &[u8]) {
    let _ = Manifest::parse(data);
}

/// `items.safetensors`: read against the fixture's `items.json`, at the fixture's shape and at
/// the shape the input's first two bytes choose.
pub fn item_table(data: &[u8]) {
    let _ = Catalog::load(ITEMS_JSON, data, ITEMS, DIMS);
    if let [n, d, ..] = data {
        let _ = Catalog::load(ITEMS_JSON, data, usize::from(*n), usize::from(*d));
    }
}

/// `items.json`: read against the fixture's table.
pub fn items_json(data: &[u8]) {
    let _ = Catalog::load(data, ITEM_TABLE, ITEMS, DIMS);
}

/// A batch of events as JSON, validated against the fixture catalogue and windowed.
pub fn events(data: &[u8]) {
    let Ok(raw) = serde_json::from_slice::<Vec<RawEvent>>(data) else {
        return;
    };
    let Ok(catalog) = Catalog::load(ITEMS_JSON, ITEM_TABLE, ITEMS, DIMS) else {
        return;
    };
    if let Ok(events) = validate_batch(&raw, &catalog, NOW_MS) {
        let mut window = SessionWindow::new(50);
        window.extend(&events);
        assert!(window.len() <= 50, "the window outgrew its capacity");
    }
}

/// `interest.onnx`: the gate, and for every graph it accepts, tract's load and one run (which
/// must not panic: the gate's whole point).
pub fn onnx_gate(data: &[u8]) {
    use edgerec::interest::onnx::OnnxEncoder;
    use edgerec::onnx_gate::{check, LIMITS};
    const SEQ_LEN: usize = 50;
    if check(data, &[&[Some(1), Some(SEQ_LEN), Some(DIMS)]], LIMITS).is_ok() {
        if let Ok(encoder) = OnnxEncoder::load(data, SEQ_LEN, DIMS) {
            let _ = encoder.encode(&[0.1; SEQ_LEN * DIMS]);
        }
    }
}
