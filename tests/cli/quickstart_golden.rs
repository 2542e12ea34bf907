//! The README's main command, seeded, against a checked-in record of what it counts:
//! operations per (mode, op) and per phase, KMS calls measured and predicted, costs and
//! threshold verdicts. Latencies and timestamps vary from run to run; these do not, so a
//! change to the code that moves any of them changes what the tool reports.
//!
//! `SSE_BENCH_BLESS=1 cargo test --test cli quickstart_golden` rewrites the record
//! after a change that is meant to move a number (say why in the commit).

use crate::common;
use serde_json::{Map, Value, json};
use std::path::Path;

const GOLDEN: &str = "tests/golden/quickstart-seed7.json";

/// Rounds to 9 significant digits, so float formatting noise is not a difference.
fn num(v: &Value) -> Value {
    match v.as_f64() {
        Some(x) if x != 0.0 => {
            let digits = 9 - (x.abs().log10().floor() as i32) - 1;
            let k = 10f64.powi(digits);
            json!((x * k).round() / k)
        }
        Some(_) => json!(0.0),
        None => v.clone(),
    }
}

fn pick(o: &Value, keys: &[&str]) -> Value {
    let mut m = Map::new();
    for k in keys {
        m.insert((*k).to_owned(), o[*k].clone());
    }
    Value::Object(m)
}

fn costs(c: &Value) -> Value {
    let mut m = Map::new();
    for part in [
        "s3_requests_usd",
        "kms_requests_usd",
        "key_usd",
        "total_usd",
    ] {
        m.insert(part.to_owned(), num(&c[part]));
    }
    Value::Object(m)
}

/// What must not move: counts, KMS calls, costs, verdicts.
fn invariant(summary: &Value) -> Value {
    let results: Vec<Value> = summary["results"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| pick(r, &["mode", "op", "count", "ok", "errors"]))
        .collect();
    let phases: Vec<Value> = summary["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            pick(
                r,
                &["mode", "phase", "round", "stream", "op", "count", "errors"],
            )
        })
        .collect();
    let kms: Vec<Value> = summary["kms"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|k| {
            json!({
                "mode": k["mode"],
                "source": k["source"],
                "calls": k["calls"],
                "calls_by_api": k["calls_by_api"],
                "throttled": k["throttled"],
                "s3_ops": k["s3_ops"],
                "by_bucket_role": k["by_bucket_role"],
                "by_requester": k["by_requester"],
                "predicted_calls": num(&k["predicted"]["calls"]),
                "predicted_status": k["predicted"]["status"],
            })
        })
        .collect();
    let cost: Vec<Value> = summary["cost"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            json!({
                "mode": c["mode"],
                "kms_calls": num(&c["kms_calls"]),
                "run": costs(&c["run"]),
                "per_million_ops": costs(&c["per_million_ops"]),
                "monthly": costs(&c["monthly"]["cost"]),
                "monthly_kms_requests": num(&c["monthly"]["kms_requests"]),
            })
        })
        .collect();
    let thresholds: Vec<Value> = summary["thresholds"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| json!({"name": t["name"], "rule": t["rule"], "actual": num(&t["actual"]), "passed": t["passed"]}))
        .collect();
    json!({
        "complete": summary["complete"],
        "results": results,
        "phases": phases,
        "kms": kms,
        "cost": cost,
        "thresholds": thresholds,
    })
}

/// The README's main command, seeded, run once for this file: its output is checked
/// against the transcripts of the README and docs/running.md here (the pages' test does
/// not run it again), and
/// its results against the checked-in record.
fn run_dir() -> &'static Path {
    static DIR: std::sync::OnceLock<(tempfile::TempDir, std::path::PathBuf)> =
        std::sync::OnceLock::new();
    &DIR.get_or_init(|| {
        // An open loop's counts are exact only if no arrival is dropped: the machine to itself.
        let _turn = common::turns::timed();
        let sandbox = common::transcript::run_step(
            &["README.md", "docs/running.md"],
            "cargo run --release -- run scenarios/quickstart.toml",
            "--seed 7",
            file!(),
        );
        let out = common::transcript::results_dir(sandbox.path());
        (sandbox, out)
    })
    .1
}

#[test]
fn the_verdict_sizes_the_quota_from_the_run_record() {
    // The quickstart's record priced again under a 1,000 req/s quota: SSE-KMS makes about
    // 0.9 KMS calls per operation, so 400 op/s needs about 360 req/s, 36% of the quota,
    // which 1,000 / 0.9 = about 1,110 op/s would reach.
    let dir = run_dir();
    let mut record: sse_bench::results::record::RunRecord =
        serde_json::from_str(&std::fs::read_to_string(dir.join("shard.json")).unwrap()).unwrap();
    record.quota_rps = Some(1000);
    let ls = sse_bench::scenario::load(&dir.join("scenario.toml")).unwrap();
    let table = sse_bench::prices::PriceTable::builtin().unwrap();
    let s = sse_bench::results::build(&record, &ls, &table);
    let v = s.verdict.expect("SSE-S3 ran");
    let of = |mode: &str| {
        &v.modes
            .iter()
            .find(|m| m.mode.as_str() == mode)
            .unwrap()
            .kms
    };
    let kms = of("sse-kms");
    let per_op = kms.per_1000_ops / 1000.0;
    assert!((0.85..0.95).contains(&per_op), "{kms:?}");
    let share = kms.quota_share_pct.unwrap();
    assert!((34.0..38.0).contains(&share), "{kms:?}");
    let at = kms.ops_per_s_at_quota.unwrap();
    assert!((1_050.0..1_180.0).contains(&at), "{kms:?}");
    assert!((at * per_op - 1000.0).abs() < 1e-6);
    // Bucket Keys: their KMS requests do not grow with traffic.
    assert_eq!(of("sse-kms-bucket-key").ops_per_s_at_quota, None);
    assert!(v.bucket_key_saving.as_ref().unwrap().monthly_usd > 1000.0);
}

#[test]
fn seeded_quickstart_counts_and_costs_do_not_move() {
    let out = run_dir();
    let text = std::fs::read_to_string(out.join("summary.json")).unwrap();
    let got = invariant(&serde_json::from_str(&text).unwrap());
    if std::env::var_os("SSE_BENCH_BLESS").is_some() {
        let pretty = serde_json::to_string_pretty(&got).unwrap() + "\n";
        std::fs::write(Path::new(GOLDEN), pretty).unwrap();
        return;
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(GOLDEN).unwrap()).unwrap();
    for section in ["complete", "results", "phases", "kms", "cost", "thresholds"] {
        assert_eq!(
            got[section],
            want[section],
            "{section} moved: got {}",
            serde_json::to_string_pretty(&got[section]).unwrap()
        );
    }
}

/// Interleaved rounds share wall-clock seconds where one mode's step ends and the
/// next begins: a mode's peak counts its own calls only, so SSE-S3's is 0 and no
/// mode's busiest second is below its own mean.
#[test]
fn every_modes_kms_peak_counts_its_own_calls() {
    let summary = common::read_summary(run_dir());
    let kms = summary["kms"].as_array().expect("a KMS table");
    assert_eq!(kms.len(), 4, "{kms:?}");
    for k in kms {
        let (mode, peak, mean) = (
            k["mode"].as_str().unwrap(),
            k["peak_rps"].as_u64().unwrap(),
            k["mean_rps"].as_f64().unwrap(),
        );
        if mode == "sse-s3" {
            assert_eq!((k["calls"].as_u64(), peak), (Some(0), 0), "{k}");
        } else {
            assert!(
                peak as f64 >= mean,
                "{mode}: peak {peak}/s below its mean {mean}/s"
            );
        }
        if mode == "sse-kms" {
            assert!(
                mean > 100.0,
                "SSE-KMS makes a call for most operations: {k}"
            );
        }
    }
}
