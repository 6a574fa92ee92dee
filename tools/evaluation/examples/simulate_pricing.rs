//! Policy evaluation by simulation: in each held-out week a household shops, the shop shows it its
//! top-k recommendations (from its purchases before that week) at the prices of three policies —
//! the list price, a uniform 10% discount, and edgerec's personalised quote — and a demand model
//! fitted on a different split (the held-out weeks themselves) plays the shopper. Expected margin
//! and revenue per household-week, with 95% bootstrap intervals over households.
//!
//! ```text
//! cargo run --release --features onnx --example simulate_pricing -- --bundle models/grocery \
//!     --data purchases.txt --simulator simulator.onnx --from-week 50 [--k 20] \
//!     [--objective margin|revenue] [--json]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use edgerec::pricing::head::onnx::OnnxHead;
use edgerec::pricing::ItemContext;
use edgerec::{
    BundleFiles, Model, Objective, PricingSettings, QuoteOptions, RecommendRequest, Session,
};
use edgerec_evaluation::{replayed, weeks};

/// 2017-01-01, where the data's week 1 begins, in ms since the Unix epoch.
const WEEK_ONE_MS: f64 = 1_483_228_800_000.0;
const POLICIES: [&str; 3] = ["listPrice", "uniform10", "personalised"];

struct Args {
    bundle: PathBuf,
    data: PathBuf,
    simulator: PathBuf,
    from_week: u32,
    k: usize,
    objective: Objective,
    json: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        bundle: PathBuf::new(),
        data: PathBuf::new(),
        simulator: PathBuf::new(),
        from_week: 0,
        k: 20,
        objective: Objective::Margin,
        json: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bundle" => args.bundle = value()?.into(),
            "--data" => args.data = value()?.into(),
            "--simulator" => args.simulator = value()?.into(),
            "--from-week" => {
                args.from_week = value()?.parse().map_err(|e| format!("--from-week: {e}"))?
            }
            "--k" => args.k = value()?.parse().map_err(|e| format!("--k: {e}"))?,
            "--objective" => {
                args.objective = match value()?.as_str() {
                    "margin" => Objective::Margin,
                    "revenue" => Objective::Revenue,
                    other => {
                        return Err(format!(
                            "--objective: expected margin or revenue, got {other}"
                        ))
                    }
                }
            }
            "--json" => args.json = true,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if args.bundle.as_os_str().is_empty()
        || args.data.as_os_str().is_empty()
        || args.simulator.as_os_str().is_empty()
        || args.from_week == 0
    {
        return Err("--bundle, --data, --simulator and --from-week are required".into());
    }
    Ok(args)
}

/// Per household: expected (margin, revenue) summed over its held-out shopping weeks, per policy,
/// and how many household-weeks it had.
struct Outcome {
    totals: [[f64; 2]; 3],
    weeks: usize,
}

fn simulate(args: &Args) -> Result<Vec<Outcome>, String> {
    let text =
        std::fs::read_to_string(&args.data).map_err(|e| format!("{}: {e}", args.data.display()))?;
    let purchases = weeks::parse(&text).map_err(|e| e.to_string())?;
    let model = Model::load(
        BundleFiles::read_dir(&args.bundle).map_err(|e| e.to_string())?,
        None,
        PricingSettings::default(),
    )
    .map_err(|e| e.to_string())?;
    let options = QuoteOptions {
        objective: Some(
            match args.objective {
                Objective::Revenue => "revenue",
                _ => "margin",
            }
            .into(),
        ),
        ..QuoteOptions::default()
    };
    let simulator = OnnxHead::load(
        &std::fs::read(&args.simulator)
            .map_err(|e| format!("{}: {e}", args.simulator.display()))?,
        model.catalog().len(),
        model.catalog().prices().department.as_deref(),
        None,
    )
    .map_err(|e| e.to_string())?;
    let catalog = model.catalog().clone();
    let list = catalog
        .prices()
        .list_price
        .clone()
        .ok_or("the bundle has no list prices")?;
    let department = catalog
        .prices()
        .department
        .clone()
        .ok_or("the bundle has no departments")?;
    let cost_ratio = model.pricing().settings().default_cost_ratio;
    let mut outcomes = Vec::new();
    for lines in &purchases.lines {
        let mut shopped: Vec<u32> = lines
            .iter()
            .map(|&(_, w)| w)
            .filter(|&w| w >= args.from_week)
            .collect();
        shopped.dedup();
        let mut outcome = Outcome {
            totals: [[0.0; 2]; 3],
            weeks: 0,
        };
        for week in shopped {
            let history: Vec<&str> = lines
                .iter()
                .filter(|(_, w)| *w < week)
                .map(|(item, _)| item.as_str())
                .collect();
            let before = replayed(history.into_iter());
            if before.is_empty() {
                continue;
            }
            let now = WEEK_ONE_MS + f64::from(week - 1) * 7.0 * 86_400_000.0 + 3.0 * 86_400_000.0;
            // Each household-week is a session of its own: its prices are its own.
            let mut session =
                Session::from_events(&model, &before, now).map_err(|e| e.to_string())?;
            let request = RecommendRequest {
                k: args.k,
                ..RecommendRequest::default()
            };
            let top = session
                .recommend(&model, &request)
                .map_err(|e| e.to_string())?;
            let items: Vec<String> = top.iter().map(|r| r.item.clone()).collect();
            let quotes = session
                .quote(&model, &items, &options, now)
                .map_err(|e| e.to_string())?;
            let contexts: Vec<ItemContext> = top
                .iter()
                .map(|r| {
                    let row = catalog
                        .index_of(&r.item)
                        .expect("recommended items are in the catalogue");
                    ItemContext {
                        row,
                        department: department[row],
                        interest: r.score,
                        display: 0.0,
                        mailer: 0.0,
                        // The simulator has no shopper-level response: it reads no signal.
                        deal_share: 0.0,
                    }
                })
                .collect();
            let curves = simulator
                .curves(&contexts, week)
                .map_err(|e| e.to_string())?;
            for ((context, quote), (base, elasticity)) in contexts.iter().zip(&quotes).zip(curves) {
                let list_price = f64::from(list[context.row]);
                let cost = list_price * cost_ratio;
                let prices = [
                    list_price,
                    (list_price * 0.9 * 100.0).round() / 100.0,
                    quote.price,
                ];
                for (policy, price) in prices.into_iter().enumerate() {
                    let x = f64::from(base) - f64::from(elasticity) * (price / list_price).ln();
                    let p = 1.0 / (1.0 + (-x).exp());
                    outcome.totals[policy][0] += (price - cost) * p;
                    outcome.totals[policy][1] += price * p;
                }
            }
            outcome.weeks += 1;
        }
        if outcome.weeks > 0 {
            outcomes.push(outcome);
        }
    }
    Ok(outcomes)
}

/// Mean per household-week of `value`, and a 95% bootstrap interval over households.
fn estimate(outcomes: &[Outcome], value: impl Fn(&Outcome) -> f64) -> [f64; 3] {
    let weeks: f64 = outcomes.iter().map(|o| o.weeks as f64).sum();
    let mean = outcomes.iter().map(&value).sum::<f64>() / weeks;
    let mut state = 0x9e37_79b9_7f4a_7c15u64; // a fixed seed: the interval is the same every run
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % outcomes.len() as u64) as usize
    };
    let mut means: Vec<f64> = (0..1000)
        .map(|_| {
            let (mut v, mut w) = (0.0, 0.0);
            for _ in 0..outcomes.len() {
                let o = &outcomes[next()];
                v += value(o);
                w += o.weeks as f64;
            }
            v / w
        })
        .collect();
    means.sort_by(f64::total_cmp);
    [mean, means[25], means[974]]
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(m) => {
            eprintln!("simulate_pricing: {m}");
            return ExitCode::FAILURE;
        }
    };
    let outcomes = match simulate(&args) {
        Ok(o) if !o.is_empty() => o,
        Ok(_) => {
            eprintln!("simulate_pricing: no household shops in the held-out weeks");
            return ExitCode::FAILURE;
        }
        Err(m) => {
            eprintln!("simulate_pricing: {m}");
            return ExitCode::FAILURE;
        }
    };
    let mut report = serde_json::Map::new();
    for (policy, name) in POLICIES.iter().enumerate() {
        let mut entry = serde_json::Map::new();
        for (measure, label) in ["margin", "revenue"].iter().enumerate() {
            let [mean, lo, hi] = estimate(&outcomes, |o| o.totals[policy][measure]);
            let [d, dlo, dhi] = estimate(&outcomes, |o| {
                o.totals[policy][measure] - o.totals[0][measure]
            });
            entry.insert((*label).into(), serde_json::json!({ "mean": mean, "ci95": [lo, hi], "vsListPrice": { "mean": d, "ci95": [dlo, dhi] } }));
        }
        report.insert((*name).into(), entry.into());
    }
    let households = outcomes.len();
    let household_weeks: usize = outcomes.iter().map(|o| o.weeks).sum();
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "households": households, "householdWeeks": household_weeks, "k": args.k, "policies": report })
        );
    } else {
        println!(
            "{households} households, {household_weeks} household-weeks, top {} shown each week, personalised for {:?}; per household-week:",
            args.k, args.objective
        );
        let show = |v: &serde_json::Value| {
            let f = |x: &serde_json::Value| x.as_f64().unwrap_or_default();
            format!(
                "{:+.3} [{:+.3}, {:+.3}]",
                f(&v["mean"]),
                f(&v["ci95"][0]),
                f(&v["ci95"][1])
            )
        };
        for name in POLICIES {
            let p = &report[name];
            println!(
                "  {name:13} margin {}  revenue {}  vs list: margin {}  revenue {}",
                show(&p["margin"]),
                show(&p["revenue"]),
                show(&p["margin"]["vsListPrice"]),
                show(&p["revenue"]["vsListPrice"])
            );
        }
    }
    ExitCode::SUCCESS
}
