//! A `redis-server` of the test's own, on a free loopback port, stopped when dropped.
//!
//! Where `redis-server` is not on `PATH`, [`RedisServer::start`] returns `None` and says how to
//! install it, so the test can report itself skipped; under `CI=true` it panics instead, since
//! CI installs it (`.ci/run`).

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};

/// A running `redis-server`. It keeps its data in an append-only file (fsync on every write),
/// so that a restart finds what was written before, as a production server would.
#[derive(Debug)]
pub struct RedisServer {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts one, or `None` when `redis-server` is missing (outside CI).
    ///
    /// # Panics
    /// When it is missing under `CI=true`, or does not start.
    pub fn start() -> Option<Self> {
        let dir = tempfile::tempdir().expect("a directory for redis-server");
        // A free port: bind one, let it go, give it to redis-server.
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let child = match spawn(port, dir.path()) {
            Ok(child) => child,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let how = "redis-server is not on PATH; install it (Debian: apt-get install redis-server)";
                assert!(std::env::var_os("CI").is_none(), "{how}");
                eprintln!("skipped: {how}");
                return None;
            }
            Err(error) => panic!("redis-server does not start: {error}"),
        };
        Some(Self { child, port, dir })
    }

    /// Starts it again on the same port and data, after [`stop`](Self::stop).
    ///
    /// # Panics
    /// When it does not start.
    pub fn restart(&mut self) {
        self.stop();
        self.child = spawn(self.port, self.dir.path()).expect("redis-server starts again");
    }

    /// Its process id (the load bench pins it to a core).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its URL (`redis://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Stops it by its PID, as a crash or an operator would, and waits for it to exit.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `redis-server` on `port` with its files in `dir`, and waits until it says it is ready.
fn spawn(port: u16, dir: &std::path::Path) -> std::io::Result<Child> {
    let mut child = Command::new("redis-server")
        .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
        ])
        .args(["--logfile", ""])
        .arg("--dir")
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    // It says when it is ready; nothing else to wait for.
    let stdout = child.stdout.take().expect("piped");
    let mut lines = BufReader::new(stdout).lines();
    let ready =
        lines.any(|line| line.is_ok_and(|line| line.contains("Ready to accept connections")));
    assert!(
        ready,
        "redis-server exited before it was ready (port {port} taken?)"
    );
    // Drain the rest of its log so it never blocks on a full pipe.
    std::thread::spawn(move || lines.for_each(drop));
    Ok(child)
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
