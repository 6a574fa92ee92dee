//! Does a pre-optimised model form load faster? The bundle's `interest.onnx` loaded by tract as
//! the engine loads it (parse, type, declutter, optimise) against the same encoder written as
//! tract NNEF after decluttering (read, optimise), natively; the outputs of both are checked to
//! agree. The wasm side of the same question: `node bench/cold-phases.mjs`.
//!
//!     cargo run --profile native --example model_forms -- models/grocery [--runs 20]

use std::time::Instant;

use tract_nnef::internal::Registry;
use tract_onnx::prelude::*;

#[path = "support/encoder_bench.rs"]
mod encoder_bench;
#[path = "support/machine.rs"]
mod machine;

use encoder_bench::{quantile_us, EncoderBench};

/// tract's NNEF with the one operator of these encoders that tract-core cannot write (exact GELU).
fn nnef() -> tract_nnef::framework::Nnef {
    let mut registry = Registry::new("edgerec");
    registry.register_unit_element_wise(
        "edgerec_gelu_exact",
        &tract_onnx::tract_core::ops::nn::GeluExact {},
    );
    tract_nnef::nnef().with_registry(registry)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bench = EncoderBench::from_args(20)?;
    let (seq_len, dims, runs) = (bench.seq_len, bench.dims, bench.runs);
    let (bundle, onnx) = (&bench.bundle, &bench.onnx);
    let load_onnx = || -> TractResult<TypedModel> {
        tract_onnx::onnx()
            .model_for_read(&mut &onnx[..])?
            .with_input_fact(0, f32::fact([1, seq_len, dims]).into())?
            .into_optimized()
    };
    let decluttered = tract_onnx::onnx()
        .model_for_read(&mut &onnx[..])?
        .with_input_fact(0, f32::fact([1, seq_len, dims]).into())?
        .into_typed()?
        .into_decluttered()?;
    let tar = nnef().write_to_tar(&decluttered, Vec::new())?;
    let load_nnef = || nnef().model_for_read(&mut &tar[..])?.into_optimized();

    let input = Tensor::from_shape(&[1, seq_len, dims], &bench.input())?;
    let from_onnx = load_onnx()?
        .into_runnable()?
        .run(tvec!(input.clone().into_tvalue()))?;
    let from_nnef = load_nnef()?
        .into_runnable()?
        .run(tvec!(input.into_tvalue()))?;
    from_onnx[0].close_enough(&from_nnef[0], true)?;

    let time = |load: &dyn Fn() -> TractResult<TypedModel>| -> TractResult<f64> {
        let mut spent = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            load()?;
            spent.push(start.elapsed());
        }
        Ok(quantile_us(&mut spent, 0.5) / 1e3)
    };
    println!("machine: {}", machine::cpu_model());
    println!("{bundle}/interest.onnx ({} bytes; NNEF form {} bytes; outputs agree), median of {runs} loads to an optimised model:", onnx.len(), tar.len());
    println!(
        "  ONNX (parse, type, declutter, optimise)  {:6.1} ms",
        time(&load_onnx)?
    );
    println!(
        "  NNEF (read, optimise)                    {:6.1} ms",
        time(&load_nnef)?
    );
    Ok(())
}
