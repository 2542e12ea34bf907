//! SIGINT during a run: the load stops promptly, what was measured is written
//! with `"complete": false`, and the exit code is 130.

use crate::common;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn sigint_writes_partial_results_and_exits_non_zero() {
    // How fast it stops and what it dropped are judged: the machine to itself.
    let _turn = common::turns::timed();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("long.toml");
    std::fs::write(
        &scenario,
        "version = 1\nname = \"long\"\nmodes = [\"sse-kms\"]\n[workload]\nkeys = 20\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\nduration = \"60s\"\nrate = 200\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let mut child = common::sse_bench_command()
        .args(["-q", "run"])
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // Wait (bounded) until the run has measured two seconds: the time series has rows.
    let series = out.join("timeseries.csv.partial");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::fs::read_to_string(&series).map_or(0, |t| t.lines().count()) < 3 {
        assert!(Instant::now() < deadline, "the run never started measuring");
        std::thread::sleep(Duration::from_millis(50));
    }
    let signalled = Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    // Generous bound for a loaded CI machine; the load itself stops at the next await.
    assert!(
        signalled.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        signalled.elapsed()
    );
    assert_eq!(status.code(), Some(130));
    let summary: serde_json::Value = common::read_summary(&out);
    assert_eq!(summary["complete"], false);
    // Stopped early is not behind: only the arrivals due until the stop were asked for.
    let load = &summary["load"][0];
    assert_eq!(load["behind"], false, "{load}");
    assert!(load["dropped"].as_u64().unwrap() <= 2, "{load}");
    assert!(
        summary["incomplete_reason"]
            .as_str()
            .unwrap()
            .contains("interrupted")
    );
    let ops: u64 = summary["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert!(
        ops >= 200,
        "what was measured before the signal is kept: {ops}"
    );
    assert!(out.join("timeseries.csv").exists());
}
