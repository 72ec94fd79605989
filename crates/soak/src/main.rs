//! `botwire-soak`: runs the sample bot's server in process and drives a bounded, seeded, mixed
//! load at it over 127.0.0.1 for a number of seconds. It prints one summary line and exits
//! non-zero unless every good delivery was handled exactly once, every bad one was refused, no
//! reply was lost, memory after warm-up grew by less than 10 %, and open file descriptors came
//! back to their baseline.

mod bot;
mod load;
mod platforms;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use botwire::store::{LedgerLimits, MemoryLedger};
use botwire::{Limits, Server, Workers};
use clap::Parser;
use tokio::time::Instant;

use crate::bot::{CountingOutbox, Tally};
use crate::load::Sent;
use crate::platforms::ALL;

/// Soak the sample bot: a bounded mixed load on every platform that sends text, with checks.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// How long to drive the load.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Requests per second, in all.
    #[arg(long, default_value_t = 1000)]
    rate: u32,
    /// Concurrent clients sharing that rate.
    #[arg(long, default_value_t = 16)]
    clients: u32,
    /// Seeds the schedule of request kinds, failures and panics.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The share of the run before memory is first measured.
const WARM_UP: f64 = 0.2;
/// How much memory may grow from the end of warm-up to the end of the run.
const MAX_RSS_GROWTH: f64 = 0.10;
/// Ledger entries kept: small, so the ledger is full (steady) before warm-up ends.
const LEDGER_ENTRIES: usize = 2_000;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    bot::quiet_scheduled_panics();
    match soak(&args).await {
        Ok(report) => {
            println!("{}", report.line());
            if report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(error) => {
            eprintln!("botwire-soak: {error}");
            ExitCode::from(2)
        }
    }
}

async fn soak(args: &Args) -> Result<Report, Box<dyn std::error::Error>> {
    // Room for every good delivery the run can number, allocated before the baseline.
    let capacity = usize::try_from(u64::from(args.rate) * (args.seconds + 1))?;
    let handled = Tally::new(capacity);
    let replies = Tally::new(capacity);
    let sent = Arc::new(Sent::new(capacity));

    let mut server = Server::new()
        .listen(SocketAddr::from(([127, 0, 0, 1], 0)))
        .without_admin()
        .limits(
            Limits::default()
                .with_header_timeout(Duration::from_secs(1))
                .with_shutdown_grace(Duration::from_secs(5)),
        )
        .workers(
            Workers::default()
                .with_workers(8)
                .with_backoff(Duration::from_millis(10), Duration::from_millis(50)),
        )
        .ledger(MemoryLedger::new(LedgerLimits::with_capacity(
            LEDGER_ENTRIES,
        )))
        .bot(bot::bot(handled.clone(), capacity));
    for platform in ALL {
        let channel = platform.channel();
        server = server.channel(if platform.via_api() {
            channel.with_outbox(CountingOutbox(replies.clone()))
        } else {
            channel
        });
    }
    let running = server.bind().await?;
    let addr = running.local_addr();
    let proc = botwire_testkit::proc_stats::ProcStats::current();
    let fds_start = proc.open_fds()?;

    let started = Instant::now();
    let until = started + Duration::from_secs(args.seconds);
    let per_client = (args.rate / args.clients.max(1)).max(1);
    let mut load = tokio::task::JoinSet::new();
    for i in 0..args.clients {
        load.spawn(load::client(
            addr,
            sent.clone(),
            args.seed.wrapping_mul(1_000_003) ^ u64::from(i),
            per_client,
            until,
        ));
    }
    load.spawn(load::slow_clients(addr, sent.clone(), until));

    tokio::time::sleep(Duration::from_secs(args.seconds).mul_f64(WARM_UP)).await;
    let rss_start = proc.rss_bytes()?;
    while load.join_next().await.is_some() {}

    // Via-API replies go out after the acknowledgement: wait for the queue to work off.
    let numbered = sent.numbered();
    let settle = Instant::now() + Duration::from_secs(30);
    let outstanding = || {
        (0..numbered)
            .filter(|n| sent.platform_of(*n).is_some_and(|p| p.via_api()))
            .filter(|n| replies.get(*n) == 0)
            .count()
    };
    while outstanding() > 0 && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let rss_end = proc.rss_bytes()?;
    // Closed connections leave the server's table a moment after the clients hang up.
    let mut fds_end = proc.open_fds()?;
    while fds_end > fds_start && Instant::now() < settle {
        tokio::time::sleep(Duration::from_millis(50)).await;
        fds_end = proc.open_fds()?;
    }

    let mut report = Report {
        seconds: started.elapsed().as_secs_f64(),
        good: sent.good.load(Ordering::SeqCst),
        duplicates: sent.duplicates.load(Ordering::SeqCst),
        rejected: sent.rejected.load(Ordering::SeqCst),
        slow: sent.slow.load(Ordering::SeqCst),
        faults: sent.faults.load(Ordering::SeqCst),
        unexpected: sent.unexpected.load(Ordering::SeqCst),
        first_unexpected: sent.first_unexpected(),
        not_once: 0,
        lost: 0,
        rss_start,
        rss_end,
        fds_start,
        fds_end,
    };
    for n in 0..numbered {
        let Some(platform) = sent.platform_of(n) else {
            continue;
        };
        if handled.get(n) != 1 {
            report.not_once += 1;
        }
        if platform.via_api() && replies.get(n) != 1 {
            report.lost += 1;
        }
    }
    running.shutdown().await;
    Ok(report)
}

/// What the run saw, and whether it passed.
#[derive(Debug)]
struct Report {
    seconds: f64,
    good: u64,
    duplicates: u64,
    rejected: u64,
    slow: u64,
    faults: u64,
    unexpected: u64,
    first_unexpected: Option<String>,
    /// Good deliveries handled other than exactly once.
    not_once: u64,
    /// Via-API good deliveries whose reply was not sent exactly once.
    lost: u64,
    rss_start: u64,
    rss_end: u64,
    fds_start: usize,
    fds_end: usize,
}

impl Report {
    fn rss_growth(&self) -> f64 {
        self.rss_end as f64 / self.rss_start.max(1) as f64 - 1.0
    }

    fn passed(&self) -> bool {
        self.good > 0
            && self.unexpected == 0
            && self.not_once == 0
            && self.lost == 0
            && self.rss_growth() < MAX_RSS_GROWTH
            && self.fds_end <= self.fds_start
    }

    fn line(&self) -> String {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        let mut line = format!(
            "soak {}: {:.1}s deliveries={} duplicates={} rejected={} slow_clients={} \
             scheduled_faults={} unexpected={} not_once={} lost={} \
             rss_start={:.1}MiB rss_end={:.1}MiB ({:+.1}%) fds_start={} fds_end={}",
            if self.passed() { "PASS" } else { "FAIL" },
            self.seconds,
            self.good,
            self.duplicates,
            self.rejected,
            self.slow,
            self.faults,
            self.unexpected,
            self.not_once,
            self.lost,
            mib(self.rss_start),
            mib(self.rss_end),
            self.rss_growth() * 100.0,
            self.fds_start,
            self.fds_end,
        );
        if let Some(first) = &self.first_unexpected {
            line.push_str(&format!(" first_unexpected={first:?}"));
        }
        line
    }
}
