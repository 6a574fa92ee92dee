//! What the native encoder benchmarks share: the bundle and run count named on the command line,
//! a fixed input, and quantiles of measured times.

use std::time::Duration;

/// A bundle's encoder as the benchmarks read it.
pub struct EncoderBench {
    /// The bundle folder.
    pub bundle: String,
    /// The bundle's `interest.onnx`.
    pub onnx: Vec<u8>,
    /// The encoder's window length (the manifest's `seqLen`).
    pub seq_len: usize,
    /// The embedding width (the manifest's `dims`).
    pub dims: usize,
    /// How many timed runs (`--runs N`).
    pub runs: usize,
}

impl EncoderBench {
    /// Reads `<bundle> [--runs N]` from the command line (bundle `models/grocery` by default).
    pub fn from_args(default_runs: usize) -> Result<Self, Box<dyn std::error::Error>> {
        let args: Vec<String> = std::env::args().collect();
        let bundle = args
            .get(1)
            .filter(|a| !a.starts_with("--"))
            .map_or("models/grocery", String::as_str)
            .to_owned();
        let runs = match args.iter().position(|a| a == "--runs") {
            Some(i) => args
                .get(i + 1)
                .and_then(|n| n.parse().ok())
                .filter(|&n| n > 0)
                .ok_or("--runs needs a positive count")?,
            None => default_runs,
        };
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(format!("{bundle}/manifest.json"))?)?;
        let size = |key: &str| {
            manifest[key]
                .as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| format!("{bundle}/manifest.json has no {key}"))
        };
        let (seq_len, dims) = (size("seqLen")?, size("dims")?);
        if seq_len == 0 || dims == 0 || seq_len.checked_mul(dims).is_none_or(|n| n > 1 << 24) {
            return Err(format!(
                "{bundle}/manifest.json: seqLen {seq_len} × dims {dims} is no encoder window"
            )
            .into());
        }
        let onnx = std::fs::read(format!("{bundle}/interest.onnx"))?;
        Ok(Self {
            bundle,
            onnx,
            seq_len,
            dims,
            runs,
        })
    }

    /// A fixed input window of embedding-sized values (within ±0.25).
    pub fn input(&self) -> Vec<f32> {
        (0..self.seq_len * self.dims)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 200.0)
            .collect()
    }
}

/// The `q` quantile of measured times, in microseconds; sorts `runs`, which must not be empty.
pub fn quantile_us(runs: &mut [Duration], q: f64) -> f64 {
    runs.sort();
    runs[((runs.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1e6
}
