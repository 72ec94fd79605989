//! One run: start a server process pinned to its core, wait until it is ready, put the load on
//! it from the other core, and read what the server used meanwhile.

use std::error::Error;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use botwire_testkit::proc_stats::ProcStats;
use tokio::time::Instant;

use super::generator::{self, Deliveries, Load, Progress, Until, quantile_ms};
use super::scenario::{Scenario, Server, Store};

pub(crate) type BoxResult<T> = Result<T, Box<dyn Error + Send + Sync>>;

/// How every run is done.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) connections: usize,
    pub(crate) warmup: Duration,
    pub(crate) measure: Duration,
    /// The server's core and the generator's, when there are two to pin to.
    pub(crate) cores: Option<(usize, usize)>,
    pub(crate) redis_url: Option<String>,
}

/// What one timed run measured.
#[derive(Debug, Clone)]
pub(crate) struct Measured {
    pub(crate) startup_ms: f64,
    pub(crate) answers: u64,
    pub(crate) errors: u64,
    /// Of the errors, 503s after which the connection waited as asked (`Retry-After`).
    pub(crate) refused: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) window_s: f64,
    pub(crate) server_cpu_s: f64,
    pub(crate) generator_cpu_s: f64,
    pub(crate) rss_bytes: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
}

impl Measured {
    /// Answered deliveries (2xx) per second: refusals (a full queue's 503) do not count.
    pub(crate) fn per_second(&self) -> f64 {
        self.accepted() as f64 / self.window_s
    }

    pub(crate) fn per_server_cpu_second(&self) -> f64 {
        self.accepted() as f64 / self.server_cpu_s.max(1e-9)
    }

    fn accepted(&self) -> u64 {
        self.answers.saturating_sub(self.errors)
    }
}

/// A server process of the bench's own (`botwire-bench serve`), stopped when dropped.
struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    spawned: Instant,
    _data: Option<tempfile::TempDir>,
}

impl ServerProcess {
    fn start(server: Server, settings: &Settings, ledger_capacity: usize) -> BoxResult<Self> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["serve", "--server", &server.to_string()])
            .args(["--ledger-capacity", &ledger_capacity.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some((core, _)) = settings.cores {
            command.args(["--core", &core.to_string()]);
        }
        let data = match server.store() {
            Some(Store::Embedded) => {
                let dir = tempfile::tempdir()?;
                command.arg("--data-dir").arg(dir.path());
                Some(dir)
            }
            Some(Store::Redis) => {
                let url = settings
                    .redis_url
                    .as_ref()
                    .ok_or("no redis-server to run against")?;
                command.args(["--redis-url", url]);
                None
            }
            _ => None,
        };
        let spawned = Instant::now();
        let mut child = command.spawn()?;
        let stdout = child.stdout.take().ok_or("the server's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line)?;
        let addr = line
            .trim()
            .strip_prefix("listening ")
            .ok_or_else(|| format!("the {server} server did not start: {line:?}"))?
            .parse()?;
        Ok(Self {
            child,
            addr,
            spawned,
            _data: data,
        })
    }

    fn stats(&self) -> ProcStats {
        ProcStats::of(self.child.id())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Closing its stdin stops it; one that does not stop is killed.
        drop(self.child.stdin.take());
        for _ in 0..500 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn runtime() -> BoxResult<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

fn deliveries(server: Server) -> Deliveries {
    match server {
        Server::Kamigo(_) => Deliveries::kamigo(),
        Server::Baseline | Server::BaselineWork | Server::Funtek(_) => Deliveries::funtek(),
    }
}

/// One timed run of `scenario`: warm-up, then the measured window.
pub(crate) fn timed(scenario: &Scenario, settings: &Settings) -> BoxResult<Measured> {
    let server = ServerProcess::start(scenario.server, settings, 1_000_000)?;
    runtime()?.block_on(async {
        generator::wait_ready(server.addr, Duration::from_secs(10)).await?;
        let startup = server.spawned.elapsed();
        let (server_stats, me) = (server.stats(), ProcStats::current());
        let measure_from = Instant::now() + settings.warmup;
        let end = measure_from + settings.measure;
        let load = Arc::new(Load {
            addr: server.addr,
            deliveries: deliveries(scenario.server),
            connections: settings.connections,
            duplicates: scenario.duplicates,
            until: Until::Time { measure_from, end },
        });
        let running = tokio::spawn(generator::run(load, Arc::default()));
        tokio::time::sleep_until(measure_from).await;
        let (server_before, me_before) = (server_stats.cpu_time()?, me.cpu_time()?);
        let started = Instant::now();
        tokio::time::sleep_until(end).await;
        let (server_after, me_after) = (server_stats.cpu_time()?, me.cpu_time()?);
        let window = started.elapsed();
        let rss_bytes = server_stats.rss_bytes()?;
        let seen = running.await?;
        Ok(Measured {
            startup_ms: startup.as_secs_f64() * 1e3,
            answers: seen.answers,
            errors: seen.errors,
            refused: seen.refused,
            first_error: seen.first_error,
            window_s: window.as_secs_f64(),
            server_cpu_s: (server_after - server_before).as_secs_f64(),
            generator_cpu_s: (me_after - me_before).as_secs_f64(),
            rss_bytes,
            p50_ms: quantile_ms(&seen.latency, 0.5),
            p99_ms: quantile_ms(&seen.latency, 0.99),
            p999_ms: quantile_ms(&seen.latency, 0.999),
        })
    })
}

/// What the ledger-growth run measured.
#[derive(Debug, Clone)]
pub(crate) struct Growth {
    pub(crate) entries: u64,
    pub(crate) seconds: f64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) p99_ms: f64,
    pub(crate) p999_ms: f64,
    /// p99 of each eighth of the run, in order.
    pub(crate) segment_p99_ms: Vec<f64>,
    pub(crate) rss_start: u64,
    /// Resident memory when (about) half the entries were in, and how many were.
    pub(crate) rss_half: (u64, u64),
    pub(crate) rss_end: u64,
    /// The cached answer's body length.
    pub(crate) response_bytes: usize,
}

impl Growth {
    /// Resident memory per remembered delivery, all of it.
    pub(crate) fn bytes_per_entry(&self) -> f64 {
        self.rss_end.saturating_sub(self.rss_start) as f64 / self.entries.max(1) as f64
    }
}

/// Takes the in-memory ledger of a FUNTEK server from 0 to `entries` deliveries, all distinct.
pub(crate) fn growth(entries: u64, settings: &Settings) -> BoxResult<Growth> {
    let capacity = usize::try_from(entries + entries / 4)?;
    let server = ServerProcess::start(Server::Funtek(Store::Memory), settings, capacity)?;
    runtime()?.block_on(async {
        generator::wait_ready(server.addr, Duration::from_secs(10)).await?;
        let server_stats = server.stats();
        let rss_start = server_stats.rss_bytes()?;
        let load = Arc::new(Load {
            addr: server.addr,
            deliveries: Deliveries::funtek(),
            connections: settings.connections,
            duplicates: 0.0,
            until: Until::Requests {
                total: entries,
                segment: entries.div_ceil(8),
            },
        });
        let progress = Arc::new(Progress::default());
        let started = Instant::now();
        let running = tokio::spawn(generator::run(load, progress.clone()));
        // Resident memory once half the deliveries are in.
        let mut half = None;
        let mut every = tokio::time::interval(Duration::from_millis(10));
        while !running.is_finished() {
            every.tick().await;
            let answered = progress.answered.load(Ordering::Relaxed);
            if half.is_none() && answered >= entries / 2 {
                half = Some((server_stats.rss_bytes()?, answered));
            }
        }
        let seen = running.await?;
        let seconds = started.elapsed().as_secs_f64();
        let rss_end = server_stats.rss_bytes()?;
        Ok(Growth {
            entries,
            seconds,
            errors: seen.errors,
            first_error: seen.first_error,
            p99_ms: quantile_ms(&seen.latency, 0.99),
            p999_ms: quantile_ms(&seen.latency, 0.999),
            segment_p99_ms: seen.segments.iter().map(|h| quantile_ms(h, 0.99)).collect(),
            rss_start,
            rss_half: half.unwrap_or((rss_end, entries)),
            rss_end,
            response_bytes: seen.response_bytes,
        })
    })
}
