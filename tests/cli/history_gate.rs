//! `compare --history`: the nightly gate against the last runs instead of one baseline.
//! Synthetic histories with known properties (copies of the checked-in baseline whose
//! SSE-KMS PUT p50 is set run by run) check the statistical rule: a shift of 3 standard
//! deviations and 10 % is flagged, 1 standard deviation is not, a significant but small
//! change is not, a large change inside a noisy history is not; exact gates stay exact;
//! a short history falls back to the fixed tolerances and says so. Real runs check that
//! `run --history` appends to a directory and to an s3:// prefix, and that a run is never
//! judged against itself.

use crate::common;

use std::path::{Path, PathBuf};

use common::sse_bench_output as sse_bench;

const BASELINE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/results/baselines/ci-nightly/summary.json"
);
const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/results/baselines/ci-nightly/rules.toml"
);
/// The SSE-KMS PUT p50 the synthetic histories centre on, ms.
const MEAN: f64 = 16.0;
/// What a slower SSE-KMS PUT (and an unchanged SSE-S3 PUT) regresses: its p50 and its
/// overhead against SSE-S3, by the same share of its p50.
const SLOWER_KMS_PUT: [&str; 2] = [
    "\"sse-kms\".\"put\".\"p50\"",
    "\"sse-kms\".\"put\".\"p50_overhead\"",
];

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A copy of the baseline as the run started on day `day` with SSE-KMS PUT p50 `p50`
/// (and `edit` applied); returns its path.
fn run_like(dir: &Path, day: u32, p50: f64, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(BASELINE).unwrap()).unwrap();
    v["started_at"] = format!("2026-10-{:02}T03:17:00Z", day).into();
    // In the run's results and in every round: the gate judges the median of the rounds.
    for table in ["results", "phases"] {
        for r in v[table].as_array_mut().unwrap() {
            if r["mode"] == "sse-kms" && r["op"] == "put" {
                r["latency_ms"]["p50"] = p50.into();
            }
        }
    }
    edit(&mut v);
    let p = dir.join(format!("run-{day:02}-{p50}.json"));
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p
}

/// A history of `n` runs whose SSE-KMS PUT p50 has mean `MEAN` and sample standard
/// deviation `sd` exactly (evenly spread values), built with `compare --append`.
fn history(dir: &Path, n: u32, sd: f64) -> PathBuf {
    let hist = dir.join(format!("history-{sd}"));
    let mid = (n - 1) as f64 / 2.0;
    let raw_sd = ((0..n).map(|i| (i as f64 - mid).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt();
    for i in 0..n {
        let p50 = MEAN + (i as f64 - mid) / raw_sd * sd;
        let run = run_like(dir, i + 1, p50, |_| {});
        let (code, out, err) = sse_bench(&[
            "compare",
            "--history",
            s(&hist),
            s(&run),
            "--rules",
            RULES,
            "--append",
        ]);
        assert!(code == 0 || code == 3, "{out}{err}");
    }
    hist
}

/// Judges a run against a history; returns the exit code and the JSON comparison.
fn judge(hist: &Path, run: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let mut args = vec![
        "--format",
        "json",
        "compare",
        "--history",
        s(hist),
        s(run),
        "--rules",
        RULES,
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = sse_bench(&args);
    assert!(code == 0 || code == 3, "{out}{err}");
    (code, serde_json::from_str(&out).unwrap())
}

fn row<'a>(c: &'a serde_json::Value, mode: &str, op: &str, metric: &str) -> &'a serde_json::Value {
    c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mode"] == mode && r["op"] == op && r["metric"] == metric)
        .unwrap_or_else(|| panic!("no row {mode}.{op}.{metric}"))
}

fn regressed(c: &serde_json::Value) -> Vec<String> {
    c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "regressed")
        .map(|r| format!("{}.{}.{}", r["mode"], r["op"], r["metric"]))
        .collect()
}

#[test]
fn three_standard_deviations_and_ten_percent_is_flagged_one_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    // sd 0.5333 ms: 10 % of 16 ms is 3 sd.
    let hist = history(tmp.path(), 20, 1.6 / 3.0);

    let (code, c) = judge(&hist, &run_like(tmp.path(), 28, MEAN * 1.10, |_| {}), &[]);
    assert_eq!(code, 3, "{c}");
    assert_eq!(regressed(&c), SLOWER_KMS_PUT);
    let r = row(&c, "sse-kms", "put", "p50");
    let h = &r["history"];
    assert_eq!(h["runs"], 20);
    assert!((h["mean"].as_f64().unwrap() - MEAN).abs() < 1e-9, "{h}");
    assert!((h["sd"].as_f64().unwrap() - 1.6 / 3.0).abs() < 1e-9, "{h}");
    assert_eq!(h["method"], "t");
    // t = 3 / sqrt(1 + 1/20) with 19 degrees of freedom: p between 0.0025 and 0.005.
    let (t, p) = (
        h["statistic"].as_f64().unwrap(),
        h["p_value"].as_f64().unwrap(),
    );
    assert!(
        (t - 3.0 / 1.05f64.sqrt()).abs() < 1e-6 && p > 0.0025 && p < 0.005,
        "{h}"
    );
    assert!((r["change_pct"].as_f64().unwrap() - 10.0).abs() < 1e-6);
    assert_eq!(c["history"]["settings"]["test"], "t");

    // One standard deviation (+3.3 %): neither unlikely enough nor large enough.
    let (code, c) = judge(
        &hist,
        &run_like(tmp.path(), 28, MEAN + 1.6 / 3.0, |_| {}),
        &[],
    );
    assert_eq!(code, 0, "{c}");
    assert_eq!(row(&c, "sse-kms", "put", "p50")["verdict"], "unchanged");

    // The z-score names itself and is sharper: z = 3 exactly.
    let (code, c) = judge(
        &hist,
        &run_like(tmp.path(), 28, MEAN * 1.10, |_| {}),
        &["--test", "z"],
    );
    assert_eq!(code, 3);
    let h = &row(&c, "sse-kms", "put", "p50")["history"];
    assert_eq!(h["method"], "z");
    assert!((h["statistic"].as_f64().unwrap() - 3.0).abs() < 1e-6, "{h}");

    // A stricter significance than the t-test's p lets the same change pass.
    let (code, _) = judge(
        &hist,
        &run_like(tmp.path(), 28, MEAN * 1.10, |_| {}),
        &["--significance", "0.001"],
    );
    assert_eq!(code, 0);
}

/// A runner 2 ms slower for every mode's PUT, in every round: every PUT p50 regresses, and
/// no overhead moves, because each round's SSE-S3 PUT slowed by as much.
#[test]
fn a_slower_runner_moves_every_p50_and_no_overhead() {
    let tmp = tempfile::tempdir().unwrap();
    let hist = history(tmp.path(), 20, 0.1);
    let cur = run_like(tmp.path(), 28, MEAN + 2.0, |v| {
        for r in v["phases"].as_array_mut().unwrap() {
            if r["op"] == "put" && r["mode"] != "sse-kms" {
                let x = r["latency_ms"]["p50"].as_f64().unwrap();
                r["latency_ms"]["p50"] = (x + 2.0).into();
            }
        }
    });
    let (code, c) = judge(&hist, &cur, &[]);
    assert_eq!(code, 3);
    assert_eq!(
        regressed(&c),
        ["sse-s3", "sse-kms", "sse-kms-bucket-key", "dsse-kms"]
            .map(|m| format!("\"{m}\".\"put\".\"p50\""))
    );
    for mode in ["sse-kms", "sse-kms-bucket-key", "dsse-kms"] {
        let o = row(&c, mode, "put", "p50_overhead");
        assert!(o["change_pct"].as_f64().unwrap().abs() < 0.2, "{o}");
    }
}

#[test]
fn both_the_test_and_the_minimum_effect_must_agree() {
    let tmp = tempfile::tempdir().unwrap();
    // A quiet history: +4 % is 12 sd away, but below the 5 % minimum effect.
    let quiet = history(tmp.path(), 20, 0.05);
    let (code, c) = judge(&quiet, &run_like(tmp.path(), 28, MEAN * 1.04, |_| {}), &[]);
    assert_eq!(code, 0, "{c}");
    let h = &row(&c, "sse-kms", "put", "p50")["history"];
    assert!(h["p_value"].as_f64().unwrap() < 1e-6, "{h}");
    assert_eq!(h["min_effect_pct"], 5.0);
    // ... and a lower minimum effect lets it count.
    let (code, _) = judge(
        &quiet,
        &run_like(tmp.path(), 28, MEAN * 1.04, |_| {}),
        &["--min-effect", "3%"],
    );
    assert_eq!(code, 3);

    // A noisy history: +10 % is less than one sd (2 ms).
    let noisy = history(tmp.path(), 20, 2.0);
    let (code, c) = judge(&noisy, &run_like(tmp.path(), 28, MEAN * 1.10, |_| {}), &[]);
    assert_eq!(code, 0, "{c}");

    // Exact gates stay exact: one KMS call per thousand operations more fails whatever
    // the latency history says.
    let (code, c) = judge(
        &noisy,
        &run_like(tmp.path(), 28, MEAN, |v| {
            for k in v["kms"].as_array_mut().unwrap() {
                if k["mode"] == "sse-kms" {
                    let per = k["per_s3_op"].as_f64().unwrap();
                    k["per_s3_op"] = (per + 0.001).into();
                }
            }
        }),
        &[],
    );
    assert_eq!(code, 3);
    assert_eq!(regressed(&c), ["\"sse-kms\".null.\"kms_per_op\""]);
    assert_eq!(
        row_mode(&c, "sse-kms", "kms_per_op")["history"]["method"],
        "exact"
    );
}

fn row_mode<'a>(c: &'a serde_json::Value, mode: &str, metric: &str) -> &'a serde_json::Value {
    c["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["mode"] == mode && r["op"].is_null() && r["metric"] == metric)
        .unwrap()
}

#[test]
fn a_short_history_falls_back_to_the_fixed_tolerances_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let hist = history(tmp.path(), 20, 0.1);
    // The last 3 runs only: fewer than the 10 the t-test needs.
    let (code, c) = judge(
        &hist,
        &run_like(tmp.path(), 28, MEAN * 1.10, |_| {}),
        &["--window", "3"],
    );
    assert_eq!(code, 0, "+10 % is inside the fixed 20 %: {c}");
    assert_eq!(c["history"]["runs"], 3);
    let why = c["history"]["fallback"].as_str().unwrap();
    assert!(
        why.contains("3 run(s)") && why.contains("fixed tolerances"),
        "{why}"
    );
    assert_eq!(
        row(&c, "sse-kms", "put", "p50")["history"]["method"],
        "fixed"
    );
    let (code, c) = judge(
        &hist,
        &run_like(tmp.path(), 28, MEAN * 1.30, |_| {}),
        &["--window", "3"],
    );
    assert_eq!(code, 3);
    assert_eq!(regressed(&c), SLOWER_KMS_PUT);

    // The terminal says it too, and an empty history gates nothing.
    let cur = run_like(tmp.path(), 28, MEAN, |_| {});
    let (code, out, _) = sse_bench(&[
        "compare",
        "--history",
        s(&hist),
        s(&cur),
        "--rules",
        RULES,
        "--window",
        "3",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("fallback: 3 run(s) in the history, fewer than the 10"),
        "{out}"
    );
    let (code, c) = judge(&tmp.path().join("empty"), &cur, &[]);
    assert_eq!(code, 0);
    assert_eq!(c["history"]["runs"], 0);
    assert_eq!(row(&c, "sse-kms", "put", "p50")["note"], "no history yet");
}

#[test]
fn junit_and_markdown_carry_the_history_and_the_test() {
    let tmp = tempfile::tempdir().unwrap();
    let hist = history(tmp.path(), 12, 0.2);
    let junit = tmp.path().join("junit.xml");
    let md = tmp.path().join("compare.md");
    let cur = run_like(tmp.path(), 28, MEAN * 1.2, |_| {});
    let (code, out, err) = sse_bench(&[
        "compare",
        "--history",
        s(&hist),
        s(&cur),
        "--rules",
        RULES,
        "--junit",
        s(&junit),
        "--markdown",
        s(&md),
    ]);
    assert_eq!(code, 3, "{out}{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<failure ").count(), 2, "{xml}");
    assert!(
        xml.contains("sse-kms.put.p50 regressed: history mean 16.00 (sd 0.2000, 12 runs) -&gt; 19.20 (+20.0%), test t=+"),
        "{xml}"
    );
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.contains("| history mean |") && md.contains("| sd |"),
        "{md}"
    );
    assert!(md.contains("judged against 12 run(s) of history"), "{md}");
    assert_eq!(md.matches("| REGRESSED |").count(), 2, "{md}");
}

#[test]
fn bad_history_settings_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cur = run_like(tmp.path(), 1, MEAN, |_| {});
    let h = s(tmp.path());
    for (args, needle) in [
        (
            vec!["compare", "--history", h, BASELINE, s(&cur)],
            "only the current",
        ),
        (vec!["compare", s(&cur)], "--history"),
        (
            vec!["compare", "--history", h, s(&cur), "--test", "w"],
            "t or z",
        ),
        (
            vec!["compare", "--history", h, s(&cur), "--significance", "2"],
            "(0, 0.5]",
        ),
        (
            vec!["compare", "--history", h, s(&cur), "--min-effect", "five"],
            "percentage",
        ),
        (
            vec!["compare", "--history", h, s(&cur), "--min-history", "1"],
            "at least 2",
        ),
        (vec!["compare", BASELINE, s(&cur), "--append"], "--history"),
    ] {
        let (code, _, err) = sse_bench(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

/// Two short real runs: one appends to a directory, the other to an s3:// prefix of a
/// `serve` simulator; each history holds its run, and a run is not judged against itself.
#[test]
fn run_appends_to_a_directory_and_to_s3() {
    // Runs whose records are judged.
    let _turn = common::turns::load();
    let serve = common::spawn_serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(
        serve
            .s3_client(&rt)
            .create_bucket()
            .bucket("nightly-history")
            .send(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let sc = common::scenario_file(
        tmp.path(),
        "tiny",
        "modes = [\"sse-s3\", \"sse-kms\"]\nrounds = 2\n[workload]\nkeys = 10\nsize = \"1KiB\"\nmix = { put = 1, get = 1 }\n[[phases]]\nname = \"m\"\noperations = 40\nduration = \"5s\"\nrate = 200\n",
    );
    let local = tmp.path().join("history");
    let mut runs = Vec::new();
    for (i, hist) in [s(&local), "s3://nightly-history/ci/"]
        .into_iter()
        .enumerate()
    {
        let out = tmp.path().join(format!("run-{i}"));
        let o = serve
            .sse_bench()
            .args(["run", s(&sc), "--out", s(&out), "--history", hist])
            .output()
            .unwrap();
        common::assert_exit(&o, 0);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains("history: "),
            "says where"
        );
        runs.push(out);
    }
    let files: Vec<_> = std::fs::read_dir(local.join("tiny")).unwrap().collect();
    assert_eq!(files.len(), 1);
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(files[0].as_ref().unwrap().path()).unwrap())
            .unwrap();
    assert_eq!(record["scenario"], "tiny");
    assert!(
        record["metrics"]["sse-kms.put.p50_overhead"].is_f64(),
        "{record}"
    );
    assert!(record["metrics"]["sse-kms.kms_per_op"].as_f64().unwrap() > 0.0);

    // Each history holds one run; judged against its own, a run finds nothing.
    for (hist, run, expect) in [
        (s(&local), &runs[0], 0),
        (s(&local), &runs[1], 1),
        ("s3://nightly-history/ci/", &runs[1], 0),
        ("s3://nightly-history/ci/", &runs[0], 1),
    ] {
        let o = serve
            .sse_bench()
            // Two 80-operation runs differ by more than any latency rule: gate errors only.
            .args(["--format", "json", "compare", "--history", hist, s(run)])
            .args(["--max-regression", "error_rate=1pp"])
            .output()
            .unwrap();
        common::assert_exit(&o, 0);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["history"]["runs"], expect, "{hist} {}", run.display());
    }
}
