//! The flood, small: Chatwork deliveries faster than a rate-limited API takes replies, past a
//! small queue capacity, with two SIGKILLs. `botwire-bench flood` fails when an acknowledged
//! delivery is not answered, is answered out of its room's order, or ends as a dead letter.

use std::process::Command;

#[test]
fn a_small_flood_with_two_kills_answers_every_acknowledged_delivery_in_order() {
    let output = Command::new(env!("CARGO_BIN_EXE_botwire-bench"))
        .args([
            "flood",
            "--deliveries",
            "2000",
            "--rooms",
            "10",
            "--kills",
            "2",
        ])
        // Below the backlog: the rest is kept and taken up by itself.
        .args(["--capacity", "300"])
        .args(["--token-limit", "500/1s", "--room-limit", "100/1s"])
        .output()
        .expect("the bench runs");
    let report = String::from_utf8_lossy(&output.stdout);
    println!("{report}");
    assert!(
        output.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        report.contains("dead letters 0, still queued 0"),
        "{report}"
    );
}

#[test]
fn a_wrong_limit_is_refused_with_its_flag() {
    let output = Command::new(env!("CARGO_BIN_EXE_botwire-bench"))
        .args(["flood", "--token-limit", "lots"])
        .output()
        .expect("the bench runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--token-limit is N/DURATION"), "{stderr}");
}
