//! `botwire-bench`: the load bench. One command measures, side by side and under the same
//! load, a bare hyper server (the ceiling; and the same doing only the token, HMAC, parse and
//! dedupe every receiver must) and botwire with the sample bot: FUNTEK answered in
//! the response and Kamigo acknowledged for the API, on the memory, embedded and Redis stores.
//! Each server runs in a process of its own pinned to one core; the load generator runs on the
//! other. Runs are interleaved and repeated; the table holds medians.
//!
//! ```text
//! cargo run --release -p botwire-bench            # everything, about 4 minutes
//! cargo run --release -p botwire-bench -- --only baseline,funtek/memory --ledger-entries 0
//! cargo run --release -p botwire-bench -- flood   # 50,000 Chatwork deliveries, 3 × kill -9
//! ```

mod flood;
mod load;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use load::report::{Report, Row};
use load::run::{self, Settings};
use load::scenario::{self, Store};
use load::{affinity, serve};

#[derive(Debug, Parser)]
#[command(
    name = "botwire-bench",
    version,
    about = "botwire's load bench, against bare hyper"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Seconds measured per run (after the warm-up).
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Seconds of warm-up per run, not measured.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Rounds: every scenario runs once per round, and the table shows the medians.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Connections the generator keeps busy.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// The share of repeated delivery ids in the duplicates row (0 leaves the row out).
    #[arg(long, default_value_t = 0.1)]
    duplicates: f64,
    /// Deliveries of the ledger-growth run (0 leaves it out).
    #[arg(long, default_value_t = 2_000_000)]
    ledger_entries: u64,
    /// Only these scenarios, by name: baseline, funtek/memory, kamigo/redis, …
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Where load.md and load.json are written.
    #[arg(long, default_value = "target/botwire-bench")]
    out: PathBuf,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// One server process of a run (the bench starts these itself).
    #[command(hide = true)]
    Serve(serve::ServeArgs),
    /// A burst of Chatwork deliveries faster than the API takes replies, with SIGKILLs.
    Flood(flood::FloodArgs),
    /// The bot process of a flood (the flood starts these itself).
    #[command(hide = true)]
    FloodBot,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Command::Serve(args)) => serve::serve(args),
        Some(Command::Flood(args)) => flood::flood(args),
        Some(Command::FloodBot) => flood::bot::serve(),
        None => bench(&cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("botwire-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn seconds(value: f64, what: &str) -> run::BoxResult<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero() || what == "--warmup")
        .ok_or_else(|| format!("{what} must be a positive number of seconds, not {value}").into())
}

fn bench(cli: &Cli) -> run::BoxResult<()> {
    if cli.runs == 0 || cli.connections == 0 {
        return Err("--runs and --connections must be at least 1".into());
    }
    if !(0.0..1.0).contains(&cli.duplicates) {
        return Err(format!("--duplicates is a share below 1, not {}", cli.duplicates).into());
    }
    let mut scenarios = scenario::all(cli.duplicates);
    if !cli.only.is_empty() {
        scenarios.retain(|s| {
            cli.only
                .iter()
                .any(|o| *o == s.label() || *o == s.server.to_string())
        });
        if scenarios.is_empty() {
            return Err(format!("--only matches no scenario: {:?}", cli.only).into());
        }
    }
    // Counted before pinning: a pinned thread sees only its core.
    let available = affinity::cores();
    let cores = (available >= 2).then_some((0, 1));
    match cores {
        Some((_, generator)) => affinity::pin_current_thread(generator)?,
        None => eprintln!("one core only: the server and the generator share it"),
    }
    let mut skipped = Vec::new();
    let redis = if scenarios
        .iter()
        .any(|s| s.server.store() == Some(Store::Redis))
    {
        match botwire_testkit::redis_server::RedisServer::start() {
            Some(redis) => {
                if let Some((server_core, _)) = cores {
                    // Redis shares the server's core: the generator keeps its own.
                    affinity::pin_process(redis.pid(), server_core)?;
                }
                Some(redis)
            }
            None => {
                for s in scenarios
                    .iter()
                    .filter(|s| s.server.store() == Some(Store::Redis))
                {
                    skipped.push((s.label(), "redis-server is not on PATH".to_owned()));
                }
                scenarios.retain(|s| s.server.store() != Some(Store::Redis));
                None
            }
        }
    } else {
        None
    };
    let settings = Settings {
        connections: cli.connections,
        warmup: seconds(cli.warmup, "--warmup")?,
        measure: seconds(cli.seconds, "--seconds")?,
        cores,
        redis_url: redis
            .as_ref()
            .map(botwire_testkit::redis_server::RedisServer::url),
    };
    let mut rows: Vec<Row> = scenarios
        .iter()
        .map(|s| Row {
            scenario: *s,
            runs: Vec::new(),
        })
        .collect();
    for round in 1..=cli.runs {
        for row in &mut rows {
            let measured = run::timed(&row.scenario, &settings)?;
            eprintln!(
                "round {round}/{}: {:<22} {:>8.0} req/s {:>8.0} req/server-CPU-s  p99 {:.2} ms  errors {}",
                cli.runs,
                row.scenario.label(),
                measured.per_second(),
                measured.per_server_cpu_second(),
                measured.p99_ms,
                measured.errors,
            );
            if let Some(error) = &measured.first_error {
                eprintln!("  first error: {error}");
            }
            row.runs.push(measured);
        }
    }
    let growth = if cli.ledger_entries > 0 {
        eprintln!("ledger growth: 0 → {} entries …", cli.ledger_entries);
        Some(run::growth(cli.ledger_entries, &settings)?)
    } else {
        None
    };
    let report = Report {
        machine: machine(available),
        method: format!(
            "{} rounds, interleaved; {} s measured after {} s of warm-up; {} connections; \
             server pinned to core {}, generator to core {}; Redis (append-only, fsync always) \
             on the server's core.",
            cli.runs,
            cli.seconds,
            cli.warmup,
            cli.connections,
            cores.map_or_else(|| "any".to_owned(), |c| c.0.to_string()),
            cores.map_or_else(|| "any".to_owned(), |c| c.1.to_string()),
        ),
        rows,
        growth,
        skipped,
    };
    let markdown = report.markdown();
    std::fs::create_dir_all(&cli.out)?;
    std::fs::write(cli.out.join("load.md"), &markdown)?;
    std::fs::write(
        cli.out.join("load.json"),
        serde_json::to_string_pretty(&report.json())?,
    )?;
    println!("{markdown}");
    eprintln!(
        "written: {} and {}",
        cli.out.join("load.md").display(),
        cli.out.join("load.json").display()
    );
    Ok(())
}

/// The CPU model, the cores, and the kernel (from `/proc`).
fn machine(cores: usize) -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| "unknown".to_owned(), |k| k.trim().to_owned());
    format!("{model}, {cores} cores, Linux {kernel}")
}

/// The sample bot's allocator, so that the bench measures what users run.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
