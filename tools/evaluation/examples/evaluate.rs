//! Evaluates a shipped bundle with the engine's own code (tract + the same quantised scoring) on
//! a leave-one-out data file, under the protocol the flags name.
//!
//! ```text
//! cargo run --release --example evaluate -- --bundle models/beauty --data ../shared/data/amazon-beauty.txt \
//!     [--protocol full|sampled100] [--seen zero|remove] [--stage test|valid] \
//!     [--negatives models/games/sampled100.json] [--users N] [--json]
//! ```
//! `--users N` ranks N users spread evenly over the file (the same ones every run); default all.
//! `sampled100` needs `--negatives`: the fixed draw committed beside the bundle.
//!
//! Grocery next purchases over held-out weeks (a `household item week` file, as
//! `models/training/export_grocery.py --data-out` writes it):
//! ```text
//! cargo run --release --example evaluate -- --bundle models/grocery --data purchases.txt \
//!     --protocol weeks --from-week 50 [--k 10] [--json]
//! ```
//! With a streaming encoder (`encoder.reach`) every user's state is also streamed one event at a
//! time and checked against the full recompute the ranking uses (`streamCheck` in `--json`); a
//! difference above 1e-5 fails the run.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use edgerec::{BundleFiles, Model, PricingSettings};
use edgerec_evaluation::{data, ranks, summarize, weeks, Protocol, Seen, Stage, StreamCheck};

struct Args {
    bundle: PathBuf,
    data: PathBuf,
    protocol: String,
    seen: Seen,
    stage: Stage,
    negatives: Option<PathBuf>,
    users: Option<usize>,
    from_week: u32,
    k: usize,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bundle: PathBuf::new(),
        data: PathBuf::new(),
        protocol: "full".into(),
        seen: Seen::Zero,
        stage: Stage::Test,
        negatives: None,
        users: None,
        from_week: 0,
        k: 10,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bundle" => args.bundle = value()?.into(),
            "--data" => args.data = value()?.into(),
            "--protocol" => args.protocol = value()?,
            "--seen" => {
                args.seen = match value()?.as_str() {
                    "zero" => Seen::Zero,
                    "remove" => Seen::Remove,
                    other => return Err(format!("--seen: expected zero or remove, got {other}")),
                }
            }
            "--stage" => {
                args.stage = match value()?.as_str() {
                    "test" => Stage::Test,
                    "valid" => Stage::Valid,
                    other => return Err(format!("--stage: expected test or valid, got {other}")),
                }
            }
            "--negatives" => args.negatives = Some(value()?.into()),
            "--users" => args.users = Some(value()?.parse().map_err(|e| format!("--users: {e}"))?),
            "--from-week" => {
                args.from_week = value()?.parse().map_err(|e| format!("--from-week: {e}"))?
            }
            "--k" => args.k = value()?.parse().map_err(|e| format!("--k: {e}"))?,
            "--json" => args.json = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.bundle.as_os_str().is_empty() || args.data.as_os_str().is_empty() {
        return Err("--bundle and --data are required".into());
    }
    Ok(args)
}

#[derive(serde::Deserialize)]
struct Negatives {
    negatives: HashMap<String, Vec<String>>,
}

/// Next purchases over the held-out weeks from `--from-week` on.
fn run_weeks(args: &Args, text: &str, model: &Model) -> Result<(), String> {
    if args.from_week == 0 {
        return Err("--protocol weeks needs --from-week N (the first held-out week)".into());
    }
    let purchases = weeks::parse(text).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut check = StreamCheck::default();
    let m = weeks::evaluate(model, &purchases, args.from_week, args.k, &mut check)
        .map_err(|e| e.to_string())?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "protocol": "weeks", "fromWeek": args.from_week, "metrics": m,
                                "streamCheck": streamed(&check) })
        );
    } else {
        println!(
            "{} — next purchases from week {}, {} households, model {} ({:.1} s)\n  Recall@{k} {:.4}\n  NDCG@{k}   {:.4}",
            args.bundle.display(),
            args.from_week,
            m.households,
            model.manifest().model_version,
            start.elapsed().as_secs_f64(),
            m.recall,
            m.ndcg,
            k = m.k
        );
        print_check(&check);
    }
    Ok(())
}

/// The stream check for `--json`: none when the encoder does not stream.
fn streamed(check: &StreamCheck) -> Option<&StreamCheck> {
    (check.users > 0).then_some(check)
}

/// The stream check's line, when the encoder streams.
fn print_check(check: &StreamCheck) {
    if check.users > 0 {
        println!(
            "  streamed state = full recompute for {} users (largest difference {:.1e})",
            check.users, check.largest
        );
    }
}

fn run(args: &Args) -> Result<(), String> {
    let text = std::fs::read_to_string(&args.data).map_err(|e| {
        format!(
            "data file {}: {e} (see ../shared/data/README.md)",
            args.data.display()
        )
    })?;
    let files = BundleFiles::read_dir(&args.bundle).map_err(|e| e.to_string())?;
    let loading = Instant::now();
    let model = Model::load(files, None, PricingSettings::default()).map_err(|e| e.to_string())?;
    eprintln!(
        "bundle verified, models optimised: {:.1} ms (native; the wasm figure: bench/cold-phases.mjs)",
        loading.elapsed().as_secs_f64() * 1e3
    );
    if args.protocol == "weeks" {
        return run_weeks(args, &text, &model);
    }
    let sequences = data::parse(&text).map_err(|e| e.to_string())?;
    let protocol = match args.protocol.as_str() {
        "full" => Protocol::Full(args.seen),
        "sampled100" => {
            let path = args
                .negatives
                .as_ref()
                .ok_or("sampled100 needs --negatives FILE")?;
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let parsed: Negatives =
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            Protocol::Sampled(parsed.negatives)
        }
        other => {
            return Err(format!(
                "--protocol: expected full, sampled100 or weeks, got {other}"
            ))
        }
    };
    let all = sequences.users.len();
    let users: Vec<usize> = match (&protocol, args.users) {
        (Protocol::Sampled(negatives), _) => (0..all)
            .filter(|&u| negatives.contains_key(&sequences.users[u]))
            .collect(),
        (_, Some(n)) => (0..n.min(all)).map(|i| i * all / n.min(all)).collect(),
        (_, None) => (0..all).collect(),
    };
    let start = Instant::now();
    let mut check = StreamCheck::default();
    let ranked = ranks(
        &model, &sequences, args.stage, &protocol, &users, &mut check,
    )
    .map_err(|e| e.to_string())?;
    let metrics = summarize(&ranked);
    let label = match &protocol {
        Protocol::Full(Seen::Zero) => "full ranking, seen items score 0",
        Protocol::Full(Seen::Remove) => "full ranking, seen items removed",
        Protocol::Sampled(_) => "target vs 100 sampled negatives",
    };
    if args.json {
        let values: serde_json::Map<String, serde_json::Value> = metrics
            .values
            .iter()
            .map(|(k, v)| (k.clone(), (*v).into()))
            .collect();
        println!(
            "{}",
            serde_json::json!({ "users": metrics.users, "protocol": label, "stage": args.stage, "metrics": values,
                                "streamCheck": streamed(&check) })
        );
    } else {
        println!(
            "{} — {:?} target, {label}, {} users, model {} ({:.1} s)",
            args.bundle.display(),
            args.stage,
            metrics.users,
            model.manifest().model_version,
            start.elapsed().as_secs_f64()
        );
        for (name, value) in &metrics.values {
            println!("  {name:8} {value:.4}");
        }
        print_check(&check);
    }
    Ok(())
}

fn main() -> ExitCode {
    match parse_args().and_then(|args| run(&args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("evaluate: {message}");
            ExitCode::FAILURE
        }
    }
}
