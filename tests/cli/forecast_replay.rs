//! `sse-bench forecast` beyond the forecast: the scenario it emits (validates, runs on
//! the embedded target, reproduces the op mix and sizes), the trace it emits (a replay
//! reproduces the per-second operation counts) and the Athena query (run in DuckDB, its
//! aggregate gives the same forecast as the logs).

use crate::common;

use common::forecast::{fixture, forecast_json, run_with_sim_logs, synthetic_log};
use common::sse_bench_output;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Each bucket's shares of PUT, GET and HEAD, from a forecast's JSON.
fn mix_of(r: &Value) -> BTreeMap<String, BTreeMap<String, f64>> {
    let mut out = BTreeMap::new();
    for b in r["buckets"].as_array().unwrap() {
        let ops: BTreeMap<String, f64> = b["requests"]
            .as_object()
            .unwrap()
            .iter()
            .filter(|(op, _)| ["put", "get", "head"].contains(&op.as_str()))
            .map(|(op, n)| (op.clone(), n.as_f64().unwrap()))
            .collect();
        let total: f64 = ops.values().sum();
        out.insert(
            b["bucket"].as_str().unwrap().to_owned(),
            ops.into_iter().map(|(o, n)| (o, n / total)).collect(),
        );
    }
    out
}

/// The files of an access-log path: the file, or every file of the directory.
fn log_files(path: &Path) -> Vec<PathBuf> {
    if path.is_dir() {
        std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect()
    } else {
        vec![path.to_owned()]
    }
}

/// Object sizes of the successful PUTs in access logs (a file or a directory of them)
/// whose bucket passes `keep`, sorted.
fn put_sizes(path: &Path, keep: impl Fn(&str) -> bool) -> Vec<f64> {
    let mut out = Vec::new();
    for f in log_files(path) {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            // owner bucket [time zone] ip requester id op key "method uri proto" status error sent size
            let t: Vec<&str> = line.split(' ').collect();
            if t.len() > 15 && keep(t[1]) && t[7] == "REST.PUT.OBJECT" && t[12] == "200" {
                out.push(t[15].parse::<f64>().unwrap());
            }
        }
    }
    out.sort_by(f64::total_cmp);
    out
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[test]
fn an_emitted_scenario_validates_runs_and_reproduces_mix_and_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    synthetic_log(&log);
    let scenario = dir.path().join("from-logs.toml");
    let original = forecast_json(&[
        "--access-logs",
        log.to_str().unwrap(),
        "--emit-scenario",
        scenario.to_str().unwrap(),
        // A quarter-second per minute of the busiest hour at four times the scale: the
        // same operations as 1 s at 12x, in a quarter of the time.
        "--scale",
        "48",
        "--phase-duration",
        "250ms",
    ]);
    let text = std::fs::read_to_string(&scenario).unwrap();
    assert!(
        text.contains("dist = \"lognormal\""),
        "the raw bucket's sizes fit a lognormal:\n{text}"
    );
    assert!(
        text.contains("dist = \"weighted\""),
        "the curated bucket's do not:\n{text}"
    );
    assert!(
        text.contains("\"ingest\"") && text.contains("\"dashboards\""),
        "{text}"
    );
    assert_eq!(
        text.matches("[[phases]]").count(),
        10,
        "one phase per minute"
    );
    let (code, _, err) = sse_bench_output(&["validate", scenario.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    // Run unchanged on the embedded target, with logs, and read its shape back.
    let logs = dir.path().join("logs");
    run_with_sim_logs(&scenario, &dir.path().join("results"), &logs);
    let summary = common::read_summary(dir.path().join("results"));
    let want = mix_of(&original);
    // Streams are bucket-1 (media-curated) and bucket-2 (media-raw), in name order.
    // The op mix of the measured phases (summary.json; the logs also hold prefill).
    let mut measured: BTreeMap<(String, String), f64> = BTreeMap::new();
    for s in summary["streams"].as_array().unwrap() {
        let b = if s["stream"] == "bucket-1" {
            "media-curated"
        } else {
            "media-raw"
        };
        *measured
            .entry((b.into(), s["op"].as_str().unwrap().into()))
            .or_default() += s["count"].as_f64().unwrap();
    }
    for (bucket, mix) in &want {
        let total: f64 = measured
            .iter()
            .filter(|((b, _), _)| b == bucket)
            .map(|(_, n)| n)
            .sum();
        assert!(total > 5000.0, "{bucket}: {total} measured operations");
        for (op, share) in mix {
            let ran = measured
                .get(&(bucket.clone(), op.clone()))
                .copied()
                .unwrap_or(0.0)
                / total;
            assert!(
                (ran - share).abs() <= 0.02,
                "{bucket} {op}: {ran:.4} ran vs {share:.4} in the logs"
            );
        }
        // Sizes: every PUT of the original log against every PUT of the run (all modes).
        let suffix = if bucket == "media-curated" {
            "-bucket-1"
        } else {
            "-bucket-2"
        };
        let want_sizes = put_sizes(&log, |b| b == bucket);
        let got_sizes = put_sizes(&logs.join("access-logs"), |b| b.ends_with(suffix));
        assert!(
            got_sizes.len() > 2000,
            "{bucket}: {} PUT sizes",
            got_sizes.len()
        );
        eprintln!(
            "{bucket}: {} PUT sizes in the logs, {} in the run",
            want_sizes.len(),
            got_sizes.len()
        );
        for (i, p) in ["p50", "p90", "p99"].iter().enumerate() {
            let q = [0.5, 0.9, 0.99][i];
            let (w, g) = (quantile(&want_sizes, q), quantile(&got_sizes, q));
            let rel = g / w - 1.0;
            eprintln!("{bucket} {p}: {g} vs {w} ({:+.2}%)", rel * 100.0);
            assert!(
                rel.abs() <= 0.05,
                "{bucket} PUT size {p}: {g} ran vs {w} in the logs ({:+.1}%)",
                rel * 100.0
            );
        }
    }
}

/// The parts of a forecast that do not depend on single requests' sizes.
fn comparable(r: &Value) -> Value {
    let mut buckets: Vec<Value> = r["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| serde_json::json!({"bucket": b["bucket"], "requests": b["requests"], "kms": b["kms"]}))
        .collect();
    buckets.sort_by_key(|b| b["bucket"].to_string());
    serde_json::json!({
        "modes": r["modes"],
        "requesters": r["requesters"],
        "buckets": buckets,
        "requests": r["requests"],
        "failed": r["failed"],
        "span": r["span"],
        "timeline": r["timeline"],
        "verdict": r["verdict"],
    })
}

#[test]
fn the_athena_query_run_in_duckdb_feeds_the_same_forecast() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    synthetic_log(&log);
    // The fixtures' edge cases too: anonymous, cross-account, a 404, sessions of a role.
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(&std::fs::read_to_string(fixture("edge-cases.log")).unwrap());
    std::fs::write(&log, text).unwrap();
    let (code, sql, err) =
        sse_bench_output(&["forecast", "--athena-sql", "--sql-dialect", "duckdb"]);
    assert_eq!(code, 0, "{err}");
    let query = dir.path().join("query.sql");
    std::fs::write(&query, &sql).unwrap();
    let csv = dir.path().join("aggregate.csv");
    let out = std::process::Command::new("python3")
        .arg(fixture("duckdb_aggregate.py"))
        .args([&log, &query, &csv])
        .output()
        .expect("python3 (with duckdb: .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let direct = forecast_json(&[
        "--access-logs",
        log.to_str().unwrap(),
        "--region",
        "eu-central-1",
    ]);
    let reduced = forecast_json(&[
        "--aggregate",
        csv.to_str().unwrap(),
        "--region",
        "eu-central-1",
    ]);
    assert!(
        reduced["sources"]["records"].as_u64().unwrap()
            < direct["sources"]["records"].as_u64().unwrap()
    );
    assert_eq!(comparable(&reduced), comparable(&direct));
    // The Athena text differs from DuckDB's only in the time expression.
    let (_, athena, _) = sse_bench_output(&["forecast", "--athena-sql"]);
    assert!(
        athena.contains("parse_datetime(requestdatetime, 'dd/MMM/yyyy:HH:mm:ss Z')"),
        "{athena}"
    );
    assert!(athena.contains("FROM s3_access_logs_db.mybucket_logs"));
}

/// Counts per (second from the first, bucket, operation) of object requests in access
/// logs, buckets named by `bucket(name)` (None: left out).
fn per_second_ops(
    path: &Path,
    bucket: impl Fn(&str) -> Option<String>,
) -> BTreeMap<(i64, String, String), u64> {
    let mut raw: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for f in log_files(path) {
        for line in std::fs::read_to_string(f).unwrap().lines() {
            let t: Vec<&str> = line.split(' ').collect();
            let op = t[7];
            if !["REST.PUT.OBJECT", "REST.GET.OBJECT", "REST.HEAD.OBJECT"].contains(&op) {
                continue;
            }
            if let Some(b) = bucket(t[1]) {
                // [01/Mar/2026:10:00:07 +0000]: the time of day is enough within a run.
                *raw.entry((t[2][13..21].to_owned(), b, op.to_owned()))
                    .or_default() += 1;
            }
        }
    }
    let secs = |hms: &str| -> i64 {
        let p: Vec<i64> = hms.split(':').map(|x| x.parse().unwrap()).collect();
        p[0] * 3600 + p[1] * 60 + p[2]
    };
    let first = raw.keys().map(|k| secs(&k.0)).min().unwrap_or(0);
    raw.into_iter()
        .map(|((s, b, o), n)| ((secs(&s) - first, b, o), n))
        .collect()
}

#[test]
fn a_replayed_trace_reproduces_its_per_second_operation_counts() {
    use rand::{Rng as _, SeedableRng as _};
    let dir = tempfile::tempdir().unwrap();
    // Twelve seconds of two buckets' traffic, 0 to 150 requests a second (one idle second).
    let log = dir.path().join("access.log");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut text = String::new();
    for second in 0..12u32 {
        let n = if second == 5 {
            0
        } else {
            rng.random_range(20..150)
        };
        for i in 0..n {
            let (bucket, who) = if rng.random_bool(0.4) {
                ("media-raw", "ingest/s1")
            } else {
                ("media-curated", "query/q")
            };
            let op =
                ["REST.PUT.OBJECT", "REST.GET.OBJECT", "REST.HEAD.OBJECT"][rng.random_range(0..3)];
            text.push_str(&format!(
                "o {bucket} [01/Mar/2026:10:00:{second:02} +0000] 10.0.0.1 arn:aws:sts::111122223333:assumed-role/{who} R{second}x{i} {op} k/{i} \"X /{bucket}/k/{i} HTTP/1.1\" 200 - 100 4096 5 4 \"-\" \"a\" -\n"
            ));
        }
    }
    std::fs::write(&log, text).unwrap();
    let trace = dir.path().join("traffic.trace");
    forecast_json(&[
        "--access-logs",
        log.to_str().unwrap(),
        "--emit-trace",
        trace.to_str().unwrap(),
    ]);
    let t = std::fs::read_to_string(&trace).unwrap();
    assert!(
        !t.contains("media-") && !t.contains("k/"),
        "no bucket or object names in a trace"
    );
    assert!(t.contains("# buckets bucket-1,bucket-2"));
    // Replay it on the embedded target: bucket-1 is media-curated, bucket-2 media-raw.
    let scenario = common::scenario_file(
        dir.path(),
        "replay",
        r#"modes = ["sse-kms"]
[[streams]]
name = "bucket-1"
keys = 200
size = "4KiB"
prefill = false
verify = false
writers = ["query"]
[[streams]]
name = "bucket-2"
keys = 200
size = "4KiB"
prefill = false
verify = false
writers = ["ingest"]
[[phases]]
name = "replay"
trace = { file = "traffic.trace" }
"#,
    );
    let logs = dir.path().join("logs");
    run_with_sim_logs(&scenario, &dir.path().join("results"), &logs);
    let want = per_second_ops(&log, |b| {
        Some(
            if b == "media-curated" {
                "bucket-1"
            } else {
                "bucket-2"
            }
            .to_owned(),
        )
    });
    let got = per_second_ops(&logs.join("access-logs"), |b| {
        ["bucket-1", "bucket-2"]
            .iter()
            .find(|s| b.ends_with(*s))
            .map(|s| (*s).to_owned())
    });
    assert_eq!(
        got, want,
        "per-second operation counts of the replay vs the logs"
    );
}
