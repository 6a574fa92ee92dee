//! Native reference for `node bench/peers.mjs`: warm inference of a bundle's encoder at its full
//! sequence length, in the plain-weights form (the default build's encoder on tract-linalg's
//! kernels), as the ONNX build runs `interest.onnx` (pruned to the last position's state, one
//! reused state) and as exported (tract's own optimisation of the unchanged graph), runs
//! alternating after a warm-up; p50 and p99.
//!
//!     cargo run --profile native --features onnx --example bench_encoder -- models/grocery [--runs 5000]

use std::time::Instant;

use edgerec::bundle::VerifiedBundle;
use edgerec::interest::InterestModel;
use edgerec::BundleFiles;
use tract_onnx::prelude::*;

#[path = "support/encoder_bench.rs"]
mod encoder_bench;
#[path = "support/machine.rs"]
mod machine;

use encoder_bench::{quantile_us, EncoderBench};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bench = EncoderBench::from_args(5000)?;
    let (seq_len, dims, runs) = (bench.seq_len, bench.dims, bench.runs);
    let (bundle, onnx) = (&bench.bundle, &bench.onnx);
    let verified = VerifiedBundle::verify(
        BundleFiles::read_dir(bundle.as_ref())?,
        &[],
        edgerec::clock::now_ms(),
    )?;
    let spec =
        (verified.manifest.encoder.clone()).ok_or("the bundle has no plain-weights encoder")?;
    let plain = InterestModel::load_plain(&verified, &spec)?;
    let encoder = InterestModel::load(&verified)?;
    let exported = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])?
        .with_input_fact(0, f32::fact([1, seq_len, dims]).into())?
        .into_optimized()?
        .into_runnable()?;
    let mut exported = exported.spawn()?;
    let emb = bench.input();
    let input = Tensor::from_shape(&[1, seq_len, dims], &emb)?;

    let (mut plain_runs, mut pruned_runs, mut exported_runs) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..runs + runs / 10 {
        let start = Instant::now();
        plain.encode(&emb)?;
        let fast = start.elapsed();
        let start = Instant::now();
        encoder.encode(&emb)?;
        let pruned = start.elapsed();
        let start = Instant::now();
        exported.run(tvec!(input.clone().into_tvalue()))?;
        let plain = start.elapsed();
        if round >= runs / 10 {
            plain_runs.push(fast);
            pruned_runs.push(pruned);
            exported_runs.push(plain);
        }
    }
    println!("machine: {}", machine::cpu_model());
    println!(
        "{bundle}, L {seq_len}, d {dims}, {runs} alternating warm runs each (after {} warm-up):",
        runs / 10
    );
    for (name, spent) in [
        ("plain weights (default build)", &mut plain_runs),
        ("ONNX build (pruned, one reused state)", &mut pruned_runs),
        ("as exported (tract's optimisation)", &mut exported_runs),
    ] {
        println!(
            "  {name:36} p50 {:7.1} µs   p99 {:7.1} µs",
            quantile_us(spent, 0.5),
            quantile_us(spent, 0.99)
        );
    }
    Ok(())
}
