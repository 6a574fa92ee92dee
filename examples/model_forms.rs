//! Does a pre-optimised model form load faster? The bundle's `interest.onnx` loaded by tract as
//! the engine loads it (parse, type, declutter, optimise) against the same encoder written as
//! tract NNEF after decluttering (read, optimise), natively; the outputs of both are checked to
//! agree. The wasm side of the same question: `node bench/cold-phases.mjs`.
//!
//!     cargo run --profile native --example model_forms -- models/grocery [--runs 20]

use std::time::{Duration, Instant};

use tract_nnef::internal::Registry;
use tract_onnx::prelude::*;

#[path = "support/machine.rs"]
mod machine;

/// tract's NNEF with the one operator of these encoders that tract-core cannot write (exact GELU).
fn nnef() -> tract_nnef::framework::Nnef {
    let mut registry = Registry::new("edgerec");
    registry.register_unit_element_wise(
        "edgerec_gelu_exact",
        &tract_onnx::tract_core::ops::nn::GeluExact {},
    );
    tract_nnef::nnef().with_registry(registry)
}

fn median(mut runs: Vec<Duration>) -> f64 {
    runs.sort();
    runs[runs.len() / 2].as_secs_f64() * 1e3
}

fn main() -> TractResult<()> {
    let args: Vec<String> = std::env::args().collect();
    let bundle = args.get(1).map_or("models/grocery", String::as_str);
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(20);
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(format!("{bundle}/manifest.json"))?)?;
    let (seq_len, dims) = (
        manifest["seqLen"].as_u64().unwrap_or(0) as usize,
        manifest["dims"].as_u64().unwrap_or(0) as usize,
    );
    let onnx = std::fs::read(format!("{bundle}/interest.onnx"))?;
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

    let input = Tensor::from_shape(
        &[1, seq_len, dims],
        &(0..seq_len * dims)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 200.0)
            .collect::<Vec<_>>(),
    )?;
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
        Ok(median(spent))
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
