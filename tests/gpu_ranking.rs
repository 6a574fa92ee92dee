//! The GPU path (feature `gpu`) against the CPU path on the same cases: identical top-k lists
//! (ties by item index) and identical scores, on native wgpu (Vulkan; lavapipe in CI). Also: a
//! device lost mid-session falls back to the CPU with no error reaching the caller.
//!
//!     cargo test --features gpu --test gpu_ranking
#![cfg(feature = "gpu")]

mod common;

use common::grocery;
use edgerec::catalog::{Catalog, Embeddings, ItemInfo};
use edgerec::gpu::{request_device, GpuDevice, GpuPath, GpuRanker};
use edgerec::retrieve::{merge_boosted, top_k, Pool, UserQuery};
use edgerec::{Model, RawEvent, RecommendRequest, Recommendation, Session};

const NOW_MS: f64 = 1_800_000_000_000.0;

/// A device from any adapter, software ones included: CI has only lavapipe.
fn device() -> GpuDevice {
    let (device, info) = pollster::block_on(request_device(true))
        .expect("a Vulkan adapter (install mesa-vulkan-drivers for lavapipe)");
    eprintln!(
        "adapter: {} ({:?}, {:?})",
        info.name, info.device_type, info.backend
    );
    device
}

/// A fixed pseudo-random stream.
struct Stream(u64);

impl Stream {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn int8(&mut self) -> i8 {
        ((self.next() % 255) as i16 - 127) as i8
    }
    fn unit(&mut self) -> f32 {
        (self.next() % 2_000_001) as f32 / 1_000_000.0 - 1.0
    }
}

/// `n` items of width `dims`; every seventh row repeats the row before it (same values, same
/// scale), so ties occur and must break by index.
fn catalog(n: usize, dims: usize, seed: u64) -> Catalog {
    let mut stream = Stream(seed);
    let mut values = Vec::with_capacity(n * dims);
    let mut scales = Vec::with_capacity(n);
    for row in 0..n {
        if row % 7 == 6 {
            values.extend_from_within((row - 1) * dims..row * dims);
            scales.push(scales[row - 1]);
        } else {
            values.extend((0..dims).map(|_| stream.int8()));
            scales.push(0.001 + (stream.next() % 1000) as f32 * 1e-5);
        }
    }
    let items = (0..n)
        .map(|i| ItemInfo {
            id: format!("i{i}"),
            name: None,
            category: None,
        })
        .collect();
    Catalog::from_parts(items, Embeddings::Int8 { values, scales }, dims).unwrap()
}

#[test]
fn gpu_and_cpu_rank_identically() {
    let mut first = Some(device());
    let cases = [
        (1, 64),
        (100, 13),
        (1025, 64),
        (5000, 16),
        (70_000, 64),
        (300_000, 64),
    ];
    for (case, &(n, dims)) in cases.iter().enumerate() {
        let catalog = catalog(n, dims, case as u64 + 1);
        // A ranker owns its device: each case after the first requests a fresh one.
        let device = first.take().unwrap_or_else(device);
        let ranker = GpuRanker::new(device, &catalog).expect("the table fits");
        let mut stream = Stream(99 + case as u64);
        for trial in 0..3 {
            let user: Vec<f32> = (0..dims).map(|_| stream.unit()).collect();
            let mut excluded = vec![false; n];
            let mut boosts = Vec::new();
            if trial > 0 {
                for _ in 0..(n / 50).min(40) {
                    excluded[(stream.next() as usize) % n] = true;
                    boosts.push(((stream.next() as usize) % n, stream.unit().abs() * 3.0));
                }
                boosts.sort_by_key(|&(row, _)| row);
                boosts.dedup_by_key(|b| b.0);
            }
            for k in [1, 10, 100, 256] {
                let k = k.min(n);
                let cpu = top_k(&catalog, &user, k, Pool::All, &excluded, &boosts);
                let UserQuery::Int8 { values, .. } = UserQuery::new(&user, catalog.embeddings())
                else {
                    unreachable!("int8 table")
                };
                let mut set_aside: Vec<usize> = boosts.iter().map(|b| b.0).collect();
                set_aside.extend((0..n).filter(|&r| excluded[r]));
                let best = pollster::block_on(ranker.top_k(&values, k, &set_aside)).unwrap();
                let merged = merge_boosted(&catalog, &user, k, &best, &excluded, &boosts);
                assert_eq!(merged, cpu, "n {n}, dims {dims}, trial {trial}, k {k}");
            }
        }
    }
}

fn purchases(model: &Model, rows: &[usize]) -> Vec<RawEvent> {
    rows.iter()
        .enumerate()
        .map(|(i, &row)| RawEvent {
            kind: Some("purchase".into()),
            item: Some(model.catalog().item(row).id.clone()),
            ts: Some(1_700_000_000_000.0 + i as f64),
            price: None,
        })
        .collect()
}

/// The session's recommendations through the GPU path (which may decline and use the CPU).
fn on_gpu(
    model: &Model,
    session: &mut Session,
    gpu: &mut GpuPath,
    request: &RecommendRequest,
) -> Vec<Recommendation> {
    pollster::block_on(session.recommend_on_gpu(model, gpu, request)).unwrap()
}

#[test]
fn a_session_ranks_on_the_gpu_like_the_cpu_and_falls_back_when_the_device_is_lost() {
    let model = grocery();
    let mut gpu = GpuPath::default();
    gpu.use_device(device(), model.catalog())
        .expect("the grocery table fits");
    assert!(gpu.in_use());
    let history = purchases(&model, &[3, 17, 17, 250, 1999, 3, 640]);
    let mut session = Session::from_events(&model, &history, NOW_MS).unwrap();
    let request = RecommendRequest {
        k: 50,
        exclude: vec![model.catalog().item(17).id.clone()],
        ..RecommendRequest::default()
    };
    let expected = session.recommend(&model, &request).unwrap();
    assert_eq!(on_gpu(&model, &mut session, &mut gpu, &request), expected);
    assert!(gpu.in_use(), "still on the GPU after a ranking");
    // Another session shares the path and gets its own ranking.
    let mut other = Session::from_events(&model, &purchases(&model, &[8, 900]), NOW_MS).unwrap();
    assert_eq!(
        on_gpu(&model, &mut other, &mut gpu, &request),
        other.recommend(&model, &request).unwrap()
    );

    gpu.lose_device();
    assert_eq!(
        on_gpu(&model, &mut session, &mut gpu, &request),
        expected,
        "the CPU answers instead"
    );
    assert!(!gpu.in_use());
    assert_eq!(on_gpu(&model, &mut session, &mut gpu, &request), expected);
}

#[test]
fn requests_the_gpu_cannot_serve_rank_on_the_cpu() {
    let model = grocery();
    let mut gpu = GpuPath::default();
    gpu.use_device(device(), model.catalog()).unwrap();
    let mut session = Session::new();
    let ids: Vec<String> = (0..40)
        .map(|r| model.catalog().item(r * 3).id.clone())
        .collect();
    for request in [
        RecommendRequest {
            k: 300,
            ..RecommendRequest::default()
        },
        RecommendRequest {
            k: 5,
            candidates: Some(ids),
            ..RecommendRequest::default()
        },
    ] {
        assert_eq!(
            on_gpu(&model, &mut session, &mut gpu, &request),
            session.recommend(&model, &request).unwrap()
        );
    }
    assert!(gpu.in_use(), "declining a request is not a failure");
}
