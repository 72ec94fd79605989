//! A process's resident memory, CPU time and open file descriptors, read from `/proc` (Linux):
//! what the soak and the load bench watch, of themselves or of a server they started.
//!
//! ```
//! use botwire_testkit::proc_stats::ProcStats;
//!
//! let me = ProcStats::current();
//! assert!(me.rss_bytes().expect("/proc is there") > 0);
//! assert!(me.open_fds().expect("/proc is there") >= 3);
//! ```

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// One process's entry in `/proc`.
#[derive(Debug, Clone)]
pub struct ProcStats {
    dir: PathBuf,
}

impl ProcStats {
    /// This process.
    pub fn current() -> Self {
        Self {
            dir: PathBuf::from("/proc/self"),
        }
    }

    /// The process `pid`.
    pub fn of(pid: u32) -> Self {
        Self {
            dir: PathBuf::from(format!("/proc/{pid}")),
        }
    }

    /// Resident set size, in bytes (`VmRSS`).
    ///
    /// # Errors
    /// Where `/proc` is missing or does not say (the process is gone).
    pub fn rss_bytes(&self) -> io::Result<u64> {
        self.status_kib("VmRSS:")
    }

    /// The largest resident set size so far, in bytes (`VmHWM`).
    ///
    /// # Errors
    /// As [`rss_bytes`](Self::rss_bytes).
    pub fn peak_rss_bytes(&self) -> io::Result<u64> {
        self.status_kib("VmHWM:")
    }

    /// CPU time used so far, user and system, by all of its threads.
    ///
    /// # Errors
    /// Where `/proc` is missing or its `stat` line does not parse.
    pub fn cpu_time(&self) -> io::Result<Duration> {
        let stat = std::fs::read_to_string(self.dir.join("stat"))?;
        // The command name (field 2) is in parentheses and may hold spaces: count from after it.
        let after_name = stat
            .rsplit_once(')')
            .map(|(_, rest)| rest)
            .ok_or_else(|| io::Error::other("the stat line has no command name"))?;
        let fields: Vec<&str> = after_name.split_whitespace().collect();
        // utime and stime are fields 14 and 15 of the line, 12th and 13th after the name.
        let ticks = |n: usize| -> io::Result<u64> {
            fields
                .get(n)
                .and_then(|f| f.parse().ok())
                .ok_or_else(|| io::Error::other("the stat line has no CPU times"))
        };
        let total = ticks(11)? + ticks(12)?;
        Ok(Duration::from_secs_f64(
            total as f64 / clock_ticks()? as f64,
        ))
    }

    /// How many file descriptors are open (entries of `fd`).
    ///
    /// # Errors
    /// Where `/proc` is missing.
    pub fn open_fds(&self) -> io::Result<usize> {
        Ok(std::fs::read_dir(self.dir.join("fd"))?.count())
    }

    fn status_kib(&self, line: &str) -> io::Result<u64> {
        let status = std::fs::read_to_string(self.dir.join("status"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .and_then(|rest| {
                rest.trim()
                    .trim_end_matches("kB")
                    .trim()
                    .parse::<u64>()
                    .ok()
            })
            .map(|kib| kib * 1024)
            .ok_or_else(|| io::Error::other(format!("the status file has no {line} line")))
    }
}

/// Clock ticks per second, the unit of the CPU times in `stat`.
fn clock_ticks() -> io::Result<u64> {
    match nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => Ok(ticks.unsigned_abs()),
        _ => Err(io::Error::other("the clock tick rate is unknown")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_process_has_used_cpu_time() {
        let me = ProcStats::current();
        let before = me.cpu_time().expect("readable");
        let mut x = 0u64;
        while me.cpu_time().expect("readable") == before {
            x = x.wrapping_add(1);
        }
        assert!(x > 0);
        let rss = me.rss_bytes().expect("readable");
        assert!(me.peak_rss_bytes().expect("readable") >= rss);
    }

    #[test]
    fn a_process_that_is_gone_is_an_error() {
        let gone = ProcStats::of(u32::MAX);
        assert!(gone.rss_bytes().is_err());
        assert!(gone.cpu_time().is_err());
        assert!(gone.open_fds().is_err());
    }
}
