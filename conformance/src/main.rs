//! `cargo run -p conformance -- [--backend NAME]... [--format table|markdown|json]`: runs the
//! whole suite and prints scenario × backend (`--differences`: prints the declared engine
//! differences instead). Exits 1 on any failure, 2 when nothing
//! ran (a `--scenario` or `--backend` that matches nothing).

use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use conformance::{driver, matrix};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Markdown,
    Json,
}

/// Runs sslsocket's conformance scenarios on every compiled backend and driver.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// Only these backends (repeatable); default: every usable compiled-in one.
    #[arg(long = "backend")]
    backends: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Only scenarios whose name contains this text.
    #[arg(long, default_value = "")]
    scenario: String,
    /// Print the declared engine differences (the README's "Where the engines differ, and
    /// why") as markdown instead of running anything; the scenarios check each row.
    #[arg(long)]
    differences: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.differences {
        print!(
            "{}\n{}",
            conformance::differences::markdown(),
            conformance::differences::limbo_disagreements_markdown()
        );
        return ExitCode::SUCCESS;
    }
    let mut backends = Vec::new();
    for info in sslsocket::available_backends() {
        if !args.backends.is_empty() && !args.backends.iter().any(|b| *b == info.name) {
            continue;
        }
        match (&info.unusable_reason, sslsocket::registry::backend(info.name)) {
            (None, Ok(b)) => backends.push(b),
            (reason, _) => eprintln!(
                "skipping {}: unusable: {}",
                info.name,
                reason.clone().unwrap_or_default()
            ),
        }
    }
    for wanted in &args.backends {
        if !backends.iter().any(|b| b.name() == wanted) {
            eprintln!("no usable backend {wanted:?} is compiled in");
            return ExitCode::from(2);
        }
    }
    let drivers = driver::drivers();
    let started = Instant::now();
    let cells = matrix::run(&backends, &drivers, &args.scenario);
    let took = started.elapsed();
    if cells.is_empty() {
        // A run of nothing is not a pass.
        let names: Vec<&str> = backends.iter().map(|b| b.name()).collect();
        eprintln!(
            "no cell to run: --scenario {:?} matches no scenario, or no backend is usable \
             (backends: [{}])",
            args.scenario,
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    let platform = format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH);
    // The verification API's answer per x509-limbo case, per backend that has one.
    let limbo: Vec<(&'static str, Vec<conformance::limbo::Verdict>)> =
        if "x509_limbo_chain_verification".contains(&args.scenario) {
            backends
                .iter()
                .filter(|b| b.features().contains(sslsocket::Feature::ChainVerification))
                .map(|b| (b.name(), conformance::limbo::run(b.as_ref())))
                .collect()
        } else {
            Vec::new()
        };
    match args.format {
        Format::Json => {
            let mut doc = matrix::json(&cells, &backends, &platform, took);
            doc["limbo"] = serde_json::Value::Array(
                limbo
                    .iter()
                    .flat_map(|(backend, verdicts)| {
                        verdicts.iter().map(move |v| {
                            serde_json::json!({
                                "backend": backend,
                                "case": v.id,
                                "expected": format!("{:?}", v.expected),
                                "answer": match &v.answer { Ok(a) => format!("{a:?}"), Err(e) => format!("unsupported: {e}") },
                            })
                        })
                    })
                    .collect(),
            );
            println!("{doc:#}");
        }
        Format::Markdown | Format::Table => {
            let body = if matches!(args.format, Format::Markdown) {
                matrix::markdown(&cells)
            } else {
                matrix::table(&cells)
            };
            println!("platform: {platform}");
            for b in &backends {
                println!("backend {}: {}", b.name(), b.library_version_string());
            }
            println!("time: {:.1} s\n", took.as_secs_f64());
            print!("{body}");
            for (backend, verdicts) in &limbo {
                let (answered, agree, not_run) = conformance::limbo::summary(verdicts);
                println!(
                    "\nx509-limbo on {backend}: {answered} cases answered, {agree} as the suite expects, {} otherwise (engine differences), {not_run} not run (an option the backend lacks)",
                    answered - agree
                );
            }
        }
    }
    let failed = cells
        .iter()
        .filter(|c| matches!(c.outcome, conformance::outcome::Outcome::Fail(_)))
        .count();
    if failed > 0 {
        eprintln!("{failed} failing cell(s)");
        return ExitCode::from(1);
    }
    ExitCode::SUCCESS
}
