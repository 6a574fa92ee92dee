//! The streaming encoder (`encoder.reach`): a state streamed one event at a time equals the full
//! recompute over the window, for the encoder alone (every streaming conformance encoder) and for
//! sessions under random streams of batches, late events, forgets and refused batches.

mod common;

use std::path::{Path, PathBuf};

use common::{load, scaled, streaming_fixture_files, worst, EncoderShape, NOW_MS};
use edgerec::interest::plain::PlainEncoder;
use edgerec::session::encoding::most_streamed;
use edgerec::{Model, RawEvent, Session};
use proptest::prelude::*;

/// How far a streamed user vector may lie from the full recompute's (relative to the state's size
/// on the random-weight encoders: see [`scaled`]).
const TOLERANCE: f32 = 1e-5;

/// The conformance encoders of the streaming form.
fn streaming_encoders() -> Vec<(PathBuf, EncoderShape, PlainEncoder)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root).unwrap() {
        let dir = entry.unwrap().path();
        let Ok(spec) = std::fs::read(dir.join("spec.json")) else {
            continue;
        };
        let shape: EncoderShape = serde_json::from_slice(&spec).unwrap();
        if shape.encoder.reach.is_none() {
            continue;
        }
        let weights = std::fs::read(dir.join("encoder.safetensors")).unwrap();
        let encoder =
            PlainEncoder::load(&shape.encoder, &weights, shape.seq_len, shape.dims).unwrap();
        found.push((dir, shape, encoder));
    }
    assert!(
        found.len() >= 2,
        "the streaming conformance encoders are missing"
    );
    found
}

/// Pseudo-random item rows, `d` values each.
struct Rows(u64);

impl Rows {
    fn next(&mut self, d: usize) -> Vec<f32> {
        (0..d)
            .map(|_| {
                self.0 = self
                    .0
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((self.0 >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 2.0
            })
            .collect()
    }
}

/// The window form of the last `seq_len` of `rows`, left-padded with zero rows.
fn window(rows: &[Vec<f32>], seq_len: usize, d: usize) -> Vec<f32> {
    let used = &rows[rows.len().saturating_sub(seq_len)..];
    let mut emb = vec![0f32; (seq_len - used.len()) * d];
    emb.extend(used.iter().flatten());
    emb
}

#[test]
fn a_state_streamed_event_by_event_equals_the_full_recompute_of_its_window() {
    for (dir, shape, encoder) in streaming_encoders() {
        let (l, d) = (shape.seq_len, shape.dims);
        for seed in 0..3 {
            let mut random = Rows(seed);
            let mut rows: Vec<Vec<f32>> = Vec::new();
            let mut stream = encoder
                .encode_streamed(&vec![0.0; l * d])
                .unwrap()
                .expect("a streaming encoder keeps a stream");
            for _ in 0..3 * l {
                let row = random.next(d);
                stream = encoder.step(stream, &row).unwrap();
                rows.push(row);
                let full = encoder.encode(&window(&rows, l, d)).unwrap();
                let off = worst(stream.user(), &full);
                assert!(
                    off < scaled(TOLERANCE, &full),
                    "{}: after {} events the stream is {off} off",
                    dir.display(),
                    rows.len()
                );
            }
            // A stream started from a full window goes on like one streamed from the start.
            let mut restarted = encoder
                .encode_streamed(&window(&rows, l, d))
                .unwrap()
                .unwrap();
            // Its caches have room for every row they hold between trims: no event grows them.
            let bytes = restarted.approx_bytes();
            for _ in 0..l {
                let row = random.next(d);
                stream = encoder.step(stream, &row).unwrap();
                restarted = encoder.step(restarted, &row).unwrap();
                assert_eq!(restarted.approx_bytes(), bytes, "{}", dir.display());
                assert!(
                    worst(stream.user(), restarted.user()) < scaled(TOLERANCE, restarted.user())
                );
            }
        }
    }
}

#[test]
fn the_window_form_keeps_no_stream() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/w64-b2-h1-lowpass");
    let shape: EncoderShape =
        serde_json::from_slice(&std::fs::read(dir.join("spec.json")).unwrap()).unwrap();
    let weights = std::fs::read(dir.join("encoder.safetensors")).unwrap();
    let encoder = PlainEncoder::load(&shape.encoder, &weights, shape.seq_len, shape.dims).unwrap();
    assert!(!encoder.streams());
    let empty = vec![0.0; shape.seq_len * shape.dims];
    assert!(encoder.encode_streamed(&empty).unwrap().is_none());
}

#[test]
fn a_manifest_whose_window_is_not_the_reach_of_its_blocks_is_refused() {
    let mut files = streaming_fixture_files();
    let mut manifest: serde_json::Value = serde_json::from_slice(&files.manifest).unwrap();
    manifest["seqLen"] = serde_json::json!(8);
    files.manifest = serde_json::to_vec(&manifest).unwrap();
    let error = load(files).unwrap_err().to_string();
    assert!(error.contains("reads 7 events"), "{error}");
}

/// One step of a shopper's session.
#[derive(Debug, Clone)]
enum Op {
    /// Events after every one held, in order: items by index.
    Append(Vec<usize>),
    /// One event older than every one held: it lands at the window's start.
    Late(usize),
    /// A batch with an unknown item: refused whole.
    Refused(Vec<usize>),
    Forget,
    /// A user vector read (the stream is built, or read).
    Read,
}

fn op() -> impl Strategy<Value = Op> {
    let items = || prop::collection::vec(0usize..60, 1..6);
    prop_oneof![
        6 => items().prop_map(Op::Append),
        1 => prop::collection::vec(0usize..60, 8..12).prop_map(Op::Append),
        1 => (0usize..60).prop_map(Op::Late),
        1 => items().prop_map(Op::Refused),
        1 => Just(Op::Forget),
        3 => Just(Op::Read),
    ]
}

fn event(item: usize, ts: f64) -> RawEvent {
    RawEvent {
        kind: Some("view".into()),
        item: Some(format!("SKU-{item:04}")),
        ts: Some(ts),
        price: None,
    }
}

/// The full recompute of a session's window.
fn recomputed(model: &Model, session: &Session) -> Vec<f32> {
    let rows: Vec<usize> = session.events().map(|e| e.item).collect();
    model.encode(&rows).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_session_streams_what_the_full_recompute_gives(ops in prop::collection::vec(op(), 1..40)) {
        let model = load(streaming_fixture_files()).unwrap();
        let streams = model.encode_streamed(&[]).unwrap().is_some();
        prop_assert_eq!(streams, cfg!(not(feature = "onnx")));
        let mut session = Session::new();
        let (mut next_ts, mut first_ts) = (1e12, 1e12);
        for op in ops {
            let streaming_before = session.is_streaming();
            match op {
                Op::Append(items) => {
                    let batch: Vec<RawEvent> = items
                        .iter()
                        .map(|&i| {
                            next_ts += 1000.0;
                            event(i, next_ts)
                        })
                        .collect();
                    session.observe(&model, &batch, NOW_MS).unwrap();
                    let streamed = streaming_before && items.len() <= most_streamed(&model);
                    prop_assert_eq!(session.is_streaming(), streamed);
                }
                Op::Late(item) => {
                    let held = session.events().len();
                    first_ts -= 1000.0;
                    session.observe(&model, &[event(item, first_ts)], NOW_MS).unwrap();
                    // Into an empty session a late event is the newest.
                    prop_assert_eq!(session.is_streaming(), streaming_before && held == 0);
                }
                Op::Refused(items) => {
                    let before: Vec<(usize, f64)> = session.events().map(|e| (e.item, e.ts)).collect();
                    let mut batch: Vec<RawEvent> = items.iter().map(|&i| event(i, next_ts + 1.0)).collect();
                    batch.push(event(0, next_ts + 2.0));
                    batch.last_mut().unwrap().item = Some("no-such-item".into());
                    prop_assert!(session.observe(&model, &batch, NOW_MS).is_err());
                    let after: Vec<(usize, f64)> = session.events().map(|e| (e.item, e.ts)).collect();
                    prop_assert_eq!(before, after);
                    prop_assert_eq!(session.is_streaming(), streaming_before);
                }
                Op::Forget => {
                    session.forget();
                    prop_assert!(!session.is_streaming());
                }
                Op::Read => {
                    let user = session.user_vector(&model).unwrap();
                    let off = worst(&user, &recomputed(&model, &session));
                    prop_assert!(off < TOLERANCE, "the streamed user vector is {} off", off);
                    prop_assert_eq!(session.is_streaming(), streams);
                }
            }
        }
        let user = session.user_vector(&model).unwrap();
        prop_assert!(worst(&user, &recomputed(&model, &session)) < TOLERANCE);
    }
}
