//! edgerec's fuzz targets: each takes arbitrary bytes and must return without panicking, whatever
//! the bytes are. They run two ways: coverage-guided under libFuzzer (`fuzz_targets/`, see
//! docs/security.md), and as a bounded, fixed-seed replay and mutation run in `cargo test`
//! (`tests/fuzz_replay.rs` includes this file).

use std::collections::HashMap;
use std::sync::OnceLock;

use edgerec::catalog::Catalog;
use edgerec::events::{validate_batch, SessionWindow};
use edgerec::session::store::MIN_STORE_BYTES;
use edgerec::{BundleFiles, Manifest, Model, PricingSettings, RawEvent, SessionStore, StoreLimits};

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
pub const TARGETS: [(&str, Target); 6] = [
    ("manifest", manifest),
    ("item_table", item_table),
    ("items_json", items_json),
    ("events", events),
    ("onnx_gate", onnx_gate),
    ("session_store", session_store),
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

/// The fixture bundle's model, loaded once.
fn fixture_model() -> &'static Model {
    static MODEL: OnceLock<Model> = OnceLock::new();
    MODEL.get_or_init(|| {
        let files = HashMap::from([
            (
                "encoder.safetensors".to_owned(),
                include_bytes!("../../models/fixture/encoder.safetensors").to_vec(),
            ),
            (
                "interest.onnx".to_owned(),
                include_bytes!("../../models/fixture/interest.onnx").to_vec(),
            ),
            ("items.json".to_owned(), ITEMS_JSON.to_vec()),
            ("items.safetensors".to_owned(), ITEM_TABLE.to_vec()),
        ]);
        let bundle = BundleFiles {
            manifest: include_bytes!("../../models/fixture/manifest.json").to_vec(),
            signature: None,
            files,
            digests: HashMap::new(),
        };
        Model::load(bundle, None, PricingSettings::default()).expect("the fixture loads")
    })
}

/// The fixture's item ids.
fn fixture_ids() -> &'static [String] {
    static IDS: OnceLock<Vec<String>> = OnceLock::new();
    IDS.get_or_init(|| {
        let items: Vec<serde_json::Value> = serde_json::from_slice(ITEMS_JSON).expect("items.json");
        items
            .iter()
            .map(|i| i["id"].as_str().expect("an id").to_owned())
            .collect()
    })
}

/// The most operations a `session_store` input runs.
const MAX_STORE_OPS: usize = 96;

/// The session store under caps and a sequence of operations the input chooses, with at most
/// 1,000 events in all: quick enough for the replay in `cargo test` (the libFuzzer target allows
/// more, see `store_operations`).
pub fn session_store(data: &[u8]) {
    store_operations(data, 1_000);
}

/// The session store under caps and a sequence of operations the input chooses (observe, a call
/// that reads the session, a refused call, remove, a clock jump) on keys of every length, valid
/// or not, with at most `events_left` events in all (filling a store past its byte cap, 2 MiB at
/// least, takes some 50,000). After each: the caps hold (sessions and bytes), an empty store
/// holds no bytes, a refused call on a new key leaves no session, and no session holds more than
/// 1,000 events.
pub fn store_operations(data: &[u8], mut events_left: usize) {
    let [a, b, c, ops @ ..] = data else {
        return;
    };
    let limits = StoreLimits {
        max_sessions: usize::from(*a % 64),
        max_bytes: MIN_STORE_BYTES - 4096 + usize::from(*b) * 4096,
        idle_minutes: [f64::NAN, -1.0, 0.0, 0.5, 30.0, f64::INFINITY][usize::from(*c % 6)],
    };
    let Ok(mut store) = SessionStore::new(limits.clone()) else {
        return;
    };
    let model = fixture_model();
    let ids = fixture_ids();
    let mut now = 1.8e12;
    for op in ops.chunks(2).take(MAX_STORE_OPS) {
        let [op, arg] = *op else { break };
        let arg = usize::from(arg);
        // Keys of every kind: too short, too long, the longest, multi-byte, and up to 64 more.
        let key = match op >> 4 {
            0 => String::new(),
            1 => "k".repeat(129),
            2 => "k".repeat(128),
            3 => "ü".repeat(64),
            4 => "\u{1F600}".into(),
            5 => "__proto__".into(),
            _ => format!("s{}", arg % 64),
        };
        let key = key.as_str();
        let was_held = store.get(key).is_some();
        match op % 6 {
            0 | 1 => {
                // A batch of as many events as the argument says, or four times as many (up to 1,000).
                let count = (if op % 6 == 0 { arg } else { arg * 4 }).min(events_left);
                events_left -= count;
                let events: Vec<RawEvent> = (0..count.min(1000))
                    .map(|i| RawEvent {
                        kind: Some(["view", "cart", "purchase"][i % 3].into()),
                        item: Some(ids[(i * 7 + arg) % ids.len()].clone()),
                        ts: Some(now - 1000.0 + i as f64),
                        price: None,
                    })
                    .collect();
                let _ = store.with(key, now, |s| s.observe(model, &events, now));
            }
            2 => {
                let _ = store.with(key, now, |s| Ok(s.events().len()));
            }
            3 => {
                let unknown = [RawEvent {
                    kind: Some("view".into()),
                    item: Some("no such item".into()),
                    ts: Some(now),
                    price: None,
                }];
                assert!(store
                    .with(key, now, |s| s.observe(model, &unknown, now))
                    .is_err());
                // (A held session may have gone all the same: idle, it is dropped before the call.)
                assert!(
                    was_held || store.get(key).is_none(),
                    "a refused call left a session under {key:?}"
                );
            }
            4 => {
                store.remove(key);
            }
            _ => now += [0.0, 1.0, 60_000.0, 3.6e6, -3.6e6, f64::NAN][arg % 6],
        }
        let stats = store.stats();
        assert!(
            stats.sessions <= limits.max_sessions,
            "{} sessions over the cap {}",
            stats.sessions,
            limits.max_sessions
        );
        assert!(
            stats.bytes <= limits.max_bytes,
            "{} bytes over the cap {}",
            stats.bytes,
            limits.max_bytes
        );
        assert!(
            stats.sessions > 0 || stats.bytes == 0,
            "an empty store counts {} bytes",
            stats.bytes
        );
        if let Some(session) = store.get(key) {
            assert!(
                session.events().len() <= 1000,
                "a session holds {} events",
                session.events().len()
            );
        }
    }
}
