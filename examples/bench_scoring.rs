//! Catalogue scoring natively: top-100 of synthetic int8 catalogues (10k, 100k, 1M items × 64
//! dims) on the CPU (SSE2 dot products, bounded selection) and, when an adapter exists, on the
//! GPU through wgpu (scores and top-k on the GPU, readback of k pairs included). Prints the
//! machine and the adapter. The wasm CPU figures: `node bench/scoring.mjs`.
//!
//!     cargo run --profile native --features gpu --example bench_scoring [-- --calls 50]

use std::time::Instant;

#[path = "support/machine.rs"]
mod machine;

use edgerec::catalog::{Catalog, Embeddings, ItemInfo};
use edgerec::gpu::{request_device, GpuRanker};
use edgerec::retrieve::{top_k, Pool, UserQuery};

const DIMS: usize = 64;
const K: usize = 100;
const SIZES: [usize; 3] = [10_000, 100_000, 1_000_000];

fn catalog(n: usize) -> Catalog {
    let mut state = 12345u32;
    let mut next = || {
        state = state.wrapping_mul(1103515245).wrapping_add(12345);
        state
    };
    let values = (0..n * DIMS)
        .map(|_| ((next() >> 24) as i32 - 128) as i8)
        .collect();
    let scales = (0..n)
        .map(|_| 0.001 + (next() % 1000) as f32 * 1e-5)
        .collect();
    let items = (0..n)
        .map(|i| ItemInfo {
            id: format!("sku-{i}"),
            name: None,
            category: None,
        })
        .collect();
    Catalog::from_parts(items, Embeddings::Int8 { values, scales }, DIMS)
        .expect("a valid catalogue")
}

/// p50 and p99 in milliseconds of `calls` runs of `f` after three warm-up runs.
fn time(calls: usize, mut f: impl FnMut()) -> (f64, f64) {
    (0..3).for_each(|_| f());
    let mut ms: Vec<f64> = (0..calls)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((q * calls as f64).ceil() as usize).clamp(1, calls) - 1];
    (at(0.5), at(0.99))
}

fn main() {
    let calls: usize = std::env::args()
        .skip_while(|a| a != "--calls")
        .nth(1)
        .map_or(50, |v| v.parse().expect("--calls takes a number"));
    println!("machine: {}", machine::cpu_model());
    let user: Vec<f32> = (0..DIMS)
        .map(|i| ((i * 37 % 17) as f32 - 8.0) / 8.0)
        .collect();
    let adapter = pollster::block_on(request_device(true));
    match &adapter {
        Ok((_, info)) => println!(
            "GPU: {} ({:?}, {:?}, driver {})",
            info.name, info.device_type, info.backend, info.driver_info
        ),
        Err(e) => println!("GPU: none ({e})"),
    }
    let mut device = adapter.ok().map(|(device, _)| device);
    for n in SIZES {
        let catalog = catalog(n);
        let excluded = vec![false; n];
        let (p50, p99) = time(calls, || {
            std::hint::black_box(top_k(&catalog, &user, K, Pool::All, &excluded, &[]));
        });
        print!("{n:>9} items × {DIMS}, top-{K}: CPU native p50 {p50:.3} ms, p99 {p99:.3} ms");
        let gpu = device.take().or_else(|| {
            pollster::block_on(request_device(true))
                .ok()
                .map(|(d, _)| d)
        });
        if let Some(ranker) = gpu.and_then(|d| GpuRanker::new(d, &catalog).ok()) {
            let UserQuery::Int8 { values, .. } = UserQuery::new(&user, catalog.embeddings()) else {
                unreachable!("an int8 table")
            };
            let (p50, p99) = time(calls, || {
                std::hint::black_box(
                    pollster::block_on(ranker.top_k(&values, K, &[])).expect("the GPU answers"),
                );
            });
            print!("; GPU (incl. readback) p50 {p50:.3} ms, p99 {p99:.3} ms");
        }
        println!();
    }
}
