//! The table and the JSON file: medians of the runs of each scenario, the targets, and
//! whether each is met.

use std::fmt::Write as _;

use serde_json::{Value, json};

use super::run::{Growth, Measured};
use super::scenario::{Scenario, Server, Store};

/// Start-up to `/readyz` ready on the memory store, at most.
const STARTUP_TARGET_MS: f64 = 50.0;
/// p99 while the ledger grows, at most.
const GROWTH_P99_TARGET_MS: f64 = 5.0;
/// Bytes per remembered delivery beyond its cached answer, at most.
const BYTES_PER_ENTRY_TARGET: f64 = 128.0;
/// Resident memory with a million remembered deliveries, at most.
const MILLION_RSS_TARGET_MB: f64 = 250.0;
/// A generator busier than this share of its core may have been the bottleneck.
const GENERATOR_BOUND: f64 = 0.95;

/// A scenario and its runs.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) scenario: Scenario,
    pub(crate) runs: Vec<Measured>,
}

impl Row {
    fn median(&self, value: impl Fn(&Measured) -> f64) -> f64 {
        median(self.runs.iter().map(value).collect())
    }
}

/// The median of `values` (the mean of the middle two for an even count; 0 for none).
pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    match values.len() {
        0 => 0.0,
        n if n % 2 == 1 => values[n / 2],
        n => f64::midpoint(values[n / 2 - 1], values[n / 2]),
    }
}

/// Everything one invocation measured.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) machine: String,
    pub(crate) method: String,
    pub(crate) rows: Vec<Row>,
    pub(crate) growth: Option<Growth>,
    /// Scenarios not run, and why.
    pub(crate) skipped: Vec<(String, String)>,
}

fn mib(bytes: f64) -> f64 {
    bytes / (1024.0 * 1024.0)
}

fn yes_no(met: bool) -> &'static str {
    if met { "yes" } else { "**no**" }
}

impl Report {
    fn baseline_per_cpu_second(&self) -> Option<f64> {
        self.rows
            .iter()
            .find(|r| r.scenario.server == Server::Baseline)
            .map(|r| r.median(Measured::per_server_cpu_second))
    }

    fn startup_ms(&self) -> Option<f64> {
        let memory: Vec<f64> = self
            .rows
            .iter()
            .filter(|r| r.scenario.server.store() == Some(Store::Memory))
            .flat_map(|r| r.runs.iter().map(|m| m.startup_ms))
            .collect();
        (!memory.is_empty()).then(|| median(memory))
    }

    /// Whether a row meets its target (`None`: it has none, or there is no baseline).
    fn met(&self, row: &Row) -> Option<bool> {
        let target = row.scenario.target()?;
        let ratio = row.median(Measured::per_server_cpu_second) / self.baseline_per_cpu_second()?;
        let p99 = row.median(|m| m.p99_ms);
        // A server that refuses work (503 from a full queue) does not keep up, however fast
        // its refusals are.
        let refused = row.runs.iter().any(|m| m.errors > 0);
        Some(!refused && ratio >= target.ratio && target.p99_ms.is_none_or(|bound| p99 <= bound))
    }

    /// The report as markdown: the comparison table, then the other targets.
    pub(crate) fn markdown(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "Machine: {}  \n{}\n", self.machine, self.method);
        out.push_str(
            "| scenario | req/s | req per server CPU-s | × baseline | p50 ms | p99 ms | p99.9 ms \
             | server CPU | generator CPU | server RSS MiB | errors (all runs; refused) | start-up ms | target | met |\n\
             |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|\n",
        );
        let baseline = self.baseline_per_cpu_second();
        for row in &self.rows {
            let per_cpu = row.median(Measured::per_server_cpu_second);
            let ratio = baseline.map_or_else(|| "—".to_owned(), |b| format!("{:.2}", per_cpu / b));
            let generator = row.median(|m| m.generator_cpu_s / m.window_s);
            let generator = if generator >= GENERATOR_BOUND {
                format!("{:.0}% (bound)", generator * 100.0)
            } else {
                format!("{:.0}%", generator * 100.0)
            };
            let errors: u64 = row.runs.iter().map(|m| m.errors).sum();
            let refused: u64 = row.runs.iter().map(|m| m.refused).sum();
            let errors = if refused > 0 {
                format!("{errors} ({refused} refused)")
            } else {
                errors.to_string()
            };
            let target = row
                .scenario
                .target()
                .map_or_else(|| row.scenario.server.role().to_owned(), |t| t.to_string());
            let met = self.met(row).map_or("—", yes_no);
            let _ = writeln!(
                out,
                "| {} | {:.0} | {:.0} | {} | {:.3} | {:.3} | {:.3} | {:.0}% | {} | {:.1} | {} | {:.1} | {} | {} |",
                row.scenario.label(),
                row.median(Measured::per_second),
                per_cpu,
                ratio,
                row.median(|m| m.p50_ms),
                row.median(|m| m.p99_ms),
                row.median(|m| m.p999_ms),
                row.median(|m| m.server_cpu_s / m.window_s) * 100.0,
                generator,
                mib(row.median(|m| m.rss_bytes as f64)),
                errors,
                row.median(|m| m.startup_ms),
                target,
                met,
            );
        }
        for (name, why) in &self.skipped {
            let _ = writeln!(out, "| {name} | skipped: {why} |||||||||||||");
        }
        for row in &self.rows {
            if let Some(error) = row.runs.iter().find_map(|m| m.first_error.as_deref()) {
                let _ = writeln!(
                    out,
                    "\n{}: the first error was `{}` (req/s counts answered deliveries only).",
                    row.scenario.label(),
                    error.chars().take(200).collect::<String>(),
                );
            }
        }
        out.push_str("\n| target | measured | met |\n|---|---|---|\n");
        if let Some(startup) = self.startup_ms() {
            let _ = writeln!(
                out,
                "| start-up to `/readyz` ready, memory store ≤ {STARTUP_TARGET_MS} ms | {startup:.1} ms (median, process start included) | {} |",
                yes_no(startup <= STARTUP_TARGET_MS)
            );
        }
        if let Some(growth) = &self.growth {
            let segments: Vec<String> = growth
                .segment_p99_ms
                .iter()
                .map(|p| format!("{p:.2}"))
                .collect();
            let _ = writeln!(
                out,
                "| ledger 0 → {} entries: p99 ≤ {GROWTH_P99_TARGET_MS} ms | p99 {:.2} ms, p99.9 {:.2} ms; p99 per eighth: {} ms; {:.0} req/s; {} errors | {} |",
                growth.entries,
                growth.p99_ms,
                growth.p999_ms,
                segments.join(", "),
                growth.entries as f64 / growth.seconds,
                growth.errors,
                yes_no(growth.p99_ms <= GROWTH_P99_TARGET_MS),
            );
            let beyond = growth.bytes_per_entry() - growth.response_bytes as f64;
            let _ = writeln!(
                out,
                "| ≤ {BYTES_PER_ENTRY_TARGET} B per remembered delivery beyond its cached answer | {:.0} B per entry in all ({:.1} → {:.1} MiB), less the {} B answer: {beyond:.0} B | {} |",
                growth.bytes_per_entry(),
                mib(growth.rss_start as f64),
                mib(growth.rss_end as f64),
                growth.response_bytes,
                yes_no(beyond <= BYTES_PER_ENTRY_TARGET),
            );
            let (rss, at) = growth.rss_half;
            // Measured at a million entries or a little past it: the bound holds for a million.
            let met = if at >= 1_000_000 {
                yes_no(rss as f64 / 1e6 <= MILLION_RSS_TARGET_MB)
            } else {
                "not measured (fewer entries)"
            };
            let _ = writeln!(
                out,
                "| 1 M entries (answers ≤ 100 B) in ≤ {MILLION_RSS_TARGET_MB} MB RSS | {:.1} MB at {at} entries | {met} |",
                rss as f64 / 1e6,
            );
        }
        out
    }

    /// The report as JSON: every run, and the medians.
    pub(crate) fn json(&self) -> Value {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let runs: Vec<Value> = row
                    .runs
                    .iter()
                    .map(|m| {
                        json!({
                            "requests_per_second": m.per_second(),
                            "requests_per_server_cpu_second": m.per_server_cpu_second(),
                            "answers": m.answers,
                            "errors": m.errors,
                            "refused": m.refused,
                            "first_error": m.first_error,
                            "window_seconds": m.window_s,
                            "server_cpu_seconds": m.server_cpu_s,
                            "generator_cpu_seconds": m.generator_cpu_s,
                            "server_rss_bytes": m.rss_bytes,
                            "p50_ms": m.p50_ms,
                            "p99_ms": m.p99_ms,
                            "p999_ms": m.p999_ms,
                            "startup_ms": m.startup_ms,
                        })
                    })
                    .collect();
                json!({
                    "scenario": row.scenario.label(),
                    "target": row.scenario.target().map(|t| t.to_string()),
                    "met": self.met(row),
                    "median": {
                        "requests_per_second": row.median(Measured::per_second),
                        "requests_per_server_cpu_second": row.median(Measured::per_server_cpu_second),
                        "p50_ms": row.median(|m| m.p50_ms),
                        "p99_ms": row.median(|m| m.p99_ms),
                        "p999_ms": row.median(|m| m.p999_ms),
                        "server_rss_bytes": row.median(|m| m.rss_bytes as f64),
                        "startup_ms": row.median(|m| m.startup_ms),
                    },
                    "runs": runs,
                })
            })
            .collect();
        let growth = self.growth.as_ref().map(|g| {
            json!({
                "entries": g.entries,
                "seconds": g.seconds,
                "errors": g.errors,
                "first_error": g.first_error,
                "p99_ms": g.p99_ms,
                "p999_ms": g.p999_ms,
                "segment_p99_ms": g.segment_p99_ms,
                "rss_start_bytes": g.rss_start,
                "rss_half_bytes": g.rss_half.0,
                "rss_half_entries": g.rss_half.1,
                "rss_end_bytes": g.rss_end,
                "bytes_per_entry": g.bytes_per_entry(),
                "response_bytes": g.response_bytes,
            })
        });
        json!({
            "machine": self.machine,
            "method": self.method,
            "baseline_requests_per_server_cpu_second": self.baseline_per_cpu_second(),
            "startup_ms": self.startup_ms(),
            "scenarios": rows,
            "ledger_growth": growth,
            "skipped": self.skipped.iter().map(|(n, w)| json!({"scenario": n, "why": w})).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(vec![3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(Vec::new()), 0.0);
    }
}
