//! The fuzz targets (`fuzz/src/lib.rs`) as a bounded, deterministic run: every corpus input
//! (`fuzz/corpus/<target>/`), then `FUZZ_ITERATIONS` mutations of them (byte flips, interesting
//! values, insertions, deletions, duplications and splices) from the fixed `FUZZ_SEED`. A panic
//! fails the test and leaves its input in `fuzz/artifacts/<target>/`. Not coverage-guided: the
//! libFuzzer build of the same targets is (docs/security.md).
#![cfg(feature = "onnx")]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "../fuzz/src/lib.rs"]
mod targets;

/// Mutations per target unless `FUZZ_ITERATIONS` says otherwise; the ONNX gate's target runs a
/// tenth of them (an accepted graph is loaded by tract).
const ITERATIONS: u64 = 3_000;
/// The default seed of the mutations.
const SEED: u64 = 0x5eed_ed6e_4ec0_0001;

/// xorshift64*: a fixed sequence for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One to four mutations of `input`, sometimes spliced with `other`.
fn mutate(rng: &mut Rng, input: &[u8], other: &[u8]) -> Vec<u8> {
    const INTERESTING: [u8; 8] = [0, 1, 0x7f, 0x80, 0xff, b'-', b'9', b'"'];
    let mut data = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(data.len());
        match rng.below(7) {
            0 if !data.is_empty() => data[at] ^= 1 << rng.below(8),
            1 if !data.is_empty() => data[at] = INTERESTING[rng.below(INTERESTING.len())],
            2 => data.insert(at.min(data.len()), rng.next() as u8),
            3 if !data.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(data.len());
                data.drain(at..end);
            }
            4 if !data.is_empty() && data.len() < 1 << 20 => {
                let end = (at + 1 + rng.below(64)).min(data.len());
                let copy = data[at..end].to_vec();
                let to = rng.below(data.len());
                data.splice(to..to, copy);
            }
            5 if !other.is_empty() => {
                let from = rng.below(other.len());
                let end = (from + 1 + rng.below(256)).min(other.len());
                let to = rng.below(data.len());
                data.splice(to..to, other[from..end].iter().copied());
            }
            _ if data.len() >= 8 => {
                let at = rng.below(data.len() - 7);
                let value = [0u64, u64::MAX, i64::MAX as u64, 1 << 40][rng.below(4)];
                data[at..at + 8].copy_from_slice(&value.to_le_bytes());
            }
            _ => data.push(rng.next() as u8),
        }
    }
    data
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = root().join("corpus").join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `input` through `target`; a panic saves the input and fails the test.
fn run(name: &str, target: fn(&[u8]), input: &[u8]) {
    if catch_unwind(AssertUnwindSafe(|| target(input))).is_err() {
        let dir = root().join("artifacts").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("crash-{}", edgerec::bundle::sha256_hex(input)));
        std::fs::write(&path, input).unwrap();
        panic!(
            "fuzz target {name} panicked; input saved to {}",
            path.display()
        );
    }
}

#[test]
fn every_target_survives_its_corpus_and_a_fixed_seed_of_mutations() {
    let seed = env("FUZZ_SEED", SEED);
    let iterations = env("FUZZ_ITERATIONS", ITERATIONS);
    for (name, target) in targets::TARGETS {
        let start = std::time::Instant::now();
        let seeds = corpus(name);
        assert!(!seeds.is_empty(), "fuzz/corpus/{name} is empty");
        for input in &seeds {
            run(name, target, input);
        }
        let mut rng = Rng((seed ^ name.len() as u64) | 1);
        let rounds = if name == "onnx_gate" {
            iterations / 10
        } else {
            iterations
        };
        for _ in 0..rounds {
            let input = &seeds[rng.below(seeds.len())];
            let other = &seeds[rng.below(seeds.len())];
            run(name, target, &mutate(&mut rng, input, other));
        }
        println!(
            "{name}: {} seeds and {rounds} mutations in {:?}",
            seeds.len(),
            start.elapsed()
        );
    }
}
