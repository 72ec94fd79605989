//! This process's resident memory and open file descriptors, from `/proc` (Linux).

use std::io;

/// Resident set size, in bytes (`VmRSS` of `/proc/self/status`).
///
/// # Errors
/// Where `/proc` is missing or does not say.
pub(crate) fn rss_bytes() -> io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map(|kib| kib * 1024)
        .ok_or_else(|| io::Error::other("/proc/self/status has no VmRSS line"))
}

/// How many file descriptors are open (entries of `/proc/self/fd`).
///
/// # Errors
/// Where `/proc` is missing.
pub(crate) fn open_fds() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/fd")?.count())
}
