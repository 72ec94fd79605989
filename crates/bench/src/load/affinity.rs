//! Pinning to a core, so that the server and the load generator do not share one.

use nix::sched::{CpuSet, sched_setaffinity};
use nix::unistd::Pid;

/// Pins the calling thread to `core`; threads it starts later inherit it.
///
/// # Errors
/// When the core does not exist here.
pub(crate) fn pin_current_thread(core: usize) -> nix::Result<()> {
    pin(Pid::from_raw(0), core)
}

/// Pins the process `pid` (its main thread) to `core`.
///
/// # Errors
/// When the core does not exist here, or the process is not ours.
pub(crate) fn pin_process(pid: u32, core: usize) -> nix::Result<()> {
    let pid = i32::try_from(pid).map_err(|_| nix::Error::ESRCH)?;
    pin(Pid::from_raw(pid), core)
}

fn pin(pid: Pid, core: usize) -> nix::Result<()> {
    let mut set = CpuSet::new();
    set.set(core)?;
    sched_setaffinity(pid, &set)
}

/// How many cores this process may run on.
pub(crate) fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}
