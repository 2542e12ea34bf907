//! The KMS model and the cost report against the simulator: predicted KMS calls
//! equal the measured ones for every shipped scenario, the throttling knee is
//! found where the quota is, and `sse-bench cost` answers without load.

use crate::common;
use common::sse_bench_output as sse_bench;
use futures::StreamExt as _;
use sse_bench::results::Summary;
use sse_bench::run::{RunOptions, run_loaded};
use sse_bench::scenario::{self, LoadedScenario, Mode};
use sse_bench::units::HumanDuration;
use std::path::Path;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// A run whose KMS calls are counted: it may share the machine with other counting runs.
async fn run(ls: &LoadedScenario, dir: &Path) -> Summary {
    let _turn = common::turns::load_async().await;
    run_counted(ls, dir).await
}

/// [`run`] without taking a turn (the caller holds one).
async fn run_counted(ls: &LoadedScenario, dir: &Path) -> Summary {
    let opts = RunOptions {
        out: Some(dir.to_owned()),
        quiet: true,
        ..Default::default()
    };
    match run_loaded(ls, opts, CancellationToken::new(), None).await {
        Ok(o) => o.summary,
        Err(e) => panic!("{}: run failed: {e}", ls.path.display()),
    }
}

fn shipped() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    v.sort();
    v
}

/// The scenario, shortened: one round, phases of at most a second, a small key space.
fn shortened(path: &Path) -> LoadedScenario {
    let mut ls = scenario::load(path).unwrap_or_else(|e| panic!("{e}"));
    let s = &mut ls.scenario;
    s.rounds = 1;
    for p in &mut s.phases {
        let d = p.duration.map_or(Duration::from_secs(1), |d| d.0);
        p.duration = Some(HumanDuration(d.min(Duration::from_secs(1))));
    }
    if let Some(w) = s.workload.as_mut() {
        w.keys = w.keys.min(64);
    }
    for st in &mut s.streams {
        st.keys = st.keys.min(64);
    }
    // The endpoint scenarios' workloads run on the simulator here, where counts are exact.
    s.target.kind = scenario::TargetKind::Embedded;
    s.target.endpoint = None;
    // Thresholds of the full scenario do not apply to a shortened one.
    ls.thresholds.clear();
    ls
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn predicted_kms_calls_equal_measured_for_every_shipped_scenario() {
    let files = shipped();
    assert!(files.len() >= 8, "{files:?}");
    // Counts do not depend on timing: two scenarios at a time.
    let _turn = common::turns::load_async().await;
    let runs = futures::stream::iter(files.iter().map(|f| async move {
        let dir = tempfile::tempdir().unwrap();
        let s = run_counted(&shortened(f), dir.path()).await;
        (f, s)
    }))
    .buffer_unordered(2)
    .collect::<Vec<_>>()
    .await;
    for (f, s) in runs {
        for k in &s.kms {
            assert_eq!(k.source, sse_bench::results::summary::KmsSource::Measured);
            let measured = k.calls as f64;
            let predicted = k.predicted.calls;
            let name = format!("{} {}", f.display(), k.mode);
            if k.mode.bucket_key() {
                // Inferred (lifetime not documented) and an expected value: which Bucket
                // Keys a reader meets depends on the keys it happens to read.
                assert!(
                    (measured - predicted).abs() <= (0.1 * predicted).max(3.0),
                    "{name}: measured {measured}, predicted {predicted}"
                );
            } else {
                // Documented rules, and inferred ones the simulator follows: exact.
                assert_eq!(measured, predicted, "{name}: {:#?}", k.predicted.basis);
                assert_eq!(k.difference, Some(0.0), "{name}");
            }
            for (api, n) in &k.calls_by_api {
                if !k.mode.bucket_key() {
                    assert_eq!(*n as f64, k.predicted.calls_by_api[api], "{name} {api}");
                }
            }
        }
        // Every mode is priced, and the KMS modes pay for KMS when they call it.
        assert_eq!(s.cost.len(), s.kms.len(), "{}", f.display());
        for c in &s.cost {
            let k = s.kms.iter().find(|k| k.mode == c.mode).unwrap();
            assert_eq!(c.kms_calls, k.calls as f64);
            assert_eq!(c.run.kms_requests_usd > 0.0, k.calls > 0, "{}", c.mode);
            assert_eq!(c.keys, u32::from(c.mode != Mode::SseS3));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_model_labels_documented_and_inferred_rules() {
    // One scenario with every operation, every mode: PUT/GET are documented,
    // COPY, multipart parts and DSSE inferred.
    let text = r#"
version = 1
name = "all-ops"
modes = ["sse-s3", "sse-kms", "sse-kms-bucket-key", "dsse-kms"]
[workload]
keys = 20
size = "6MiB"
multipart = { threshold = "6MiB", part = "5MiB" }
mix = { put = 2, get = 4, head = 1, copy = 1, delete = 1 }
[[phases]]
name = "steady"
operations = 60
concurrency = 4
"#;
    let ls = scenario::parse(Path::new("all-ops.toml"), text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = run(&ls, dir.path()).await;
    let kms = |m: Mode| s.kms.iter().find(|k| k.mode == m).unwrap();
    let sse_kms = kms(Mode::SseKms);
    assert_eq!(sse_kms.calls as f64, sse_kms.predicted.calls);
    let status = |op: &str| {
        sse_kms
            .predicted
            .basis
            .iter()
            .find(|r| r.s3_operation == op)
            .map(|r| r.status.as_str())
    };
    assert_eq!(status("CreateMultipartUpload"), Some("documented"));
    assert_eq!(status("GetObject"), Some("documented"));
    assert_eq!(status("UploadPart"), Some("inferred"));
    assert_eq!(status("CopyObject (source)"), Some("inferred"));
    assert_eq!(
        sse_kms.predicted.status.map(|s| s.as_str()),
        Some("inferred")
    );
    let dsse = kms(Mode::DsseKms);
    assert_eq!(dsse.calls as f64, dsse.predicted.calls);
    assert!(
        dsse.predicted
            .basis
            .iter()
            .all(|r| r.status.as_str() == "inferred")
    );
    assert_eq!(kms(Mode::SseS3).predicted.calls, 0.0);
    // Multipart uploads of 6 MiB in 5 MiB parts: two parts each, billed as four tier-1 requests.
    let c = s.cost.iter().find(|c| c.mode == Mode::SseKms).unwrap();
    let puts = s
        .results
        .iter()
        .find(|r| r.mode == Mode::SseKms && r.op == sse_bench::scenario::Op::Put)
        .unwrap()
        .ok as f64;
    let copies = s
        .results
        .iter()
        .find(|r| r.mode == Mode::SseKms && r.op == sse_bench::scenario::Op::Copy)
        .map_or(0.0, |r| r.ok as f64);
    assert_eq!(c.s3_requests.tier1, puts * 4.0 + copies);
}

/// Runs a docs/quota.md transcript's scenario (checking its output against the page) and
/// returns its knees and the quota the scenario simulates.
fn knees_of(command: &str, scenario: &str) -> (Vec<sse_bench::results::summary::Knee>, u64) {
    let sandbox = common::transcript::run_step(&["docs/quota.md"], command, "", file!());
    let s = sse_bench::results::read_summary(&common::transcript::results_dir(sandbox.path()))
        .expect("the run's summary");
    let quota = scenario::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(scenario))
        .unwrap()
        .scenario
        .simulator
        .kms_quota_rps
        .expect("the scenario sets a quota");
    (s.knees, quota)
}

#[test]
fn quota_knee_scenario_finds_the_simulated_quota() {
    let _turn = common::turns::timed();
    let (knees, quota) = knees_of(
        "sse-bench run scenarios/quota-knee.toml",
        "scenarios/quota-knee.toml",
    );
    let k = knees
        .iter()
        .find(|k| k.mode == Mode::SseKms)
        .expect("a knee of sse-kms");
    let at = k.knee_kms_rps.expect("a knee");
    assert!(
        (at - quota as f64).abs() <= 0.05 * quota as f64,
        "knee at {at} KMS req/s, quota {quota}"
    );
    assert!(k.throttling_from_ops_per_s.is_some());
}

#[test]
fn kms_direct_scenario_finds_the_simulated_quota() {
    let _turn = common::turns::timed();
    let (knees, quota) = knees_of(
        "sse-bench run scenarios/kms-quota-probe.toml",
        "scenarios/kms-quota-probe.toml",
    );
    let k = &knees[0];
    assert_eq!(k.mode, Mode::KmsDirect);
    let at = k.knee_kms_rps.expect("a knee");
    assert!(
        (at - quota as f64).abs() <= 0.05 * quota as f64,
        "knee at {at} KMS req/s, quota {quota}"
    );
}

#[test]
fn cost_over_the_quota_says_so_and_exits_zero() {
    let (code, out, err) = sse_bench(&[
        "cost",
        "--region",
        "eu-central-1",
        "--puts-per-s",
        "6000",
        "--gets-per-s",
        "20000",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "sse-kms needs 26,000 KMS req/s; eu-central-1 allows 20,000: request a quota increase or enable Bucket Keys"
        ),
        "{out}"
    );
    assert!(out.contains("Bucket Keys save"), "{out}");
    assert!(!out.contains("dsse-kms needs") || out.contains("dsse-kms needs 26,000"));
}

/// The estimate of one mode in `cost --format json` output.
fn mode_of<'a>(v: &'a serde_json::Value, mode: &str) -> &'a serde_json::Value {
    v["modes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["mode"] == mode)
        .unwrap()
}

#[test]
fn cost_formats_parse() {
    let base = ["cost", "--puts-per-s", "100", "--gets-per-s", "300"];
    let (code, out, _) = sse_bench(&[&base[..], &["--format", "json"]].concat());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["modes"].as_array().unwrap().len(), 4);
    assert_eq!(v["quota_rps"], 100_000);
    let kms = mode_of(&v, "sse-kms");
    assert_eq!(kms["kms_rps"], 400.0);
    let (code, out, _) = sse_bench(&[&base[..], &["--format", "csv"]].concat());
    assert_eq!(code, 0);
    let mut r = csv::Reader::from_reader(out.as_bytes());
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    assert_eq!(rows.len(), 4);
    assert!(r.headers().unwrap().iter().any(|h| h == "kms_rps"));
    let (code, out, _) = sse_bench(&[&base[..], &["--format", "markdown"]].concat());
    assert_eq!(code, 0);
    assert!(
        out.contains("| mode | KMS req/s |") && out.contains("| sse-kms | 400 |"),
        "{out}"
    );
}

#[test]
fn cost_bad_arguments_exit_2() {
    for (args, needle) in [
        (vec!["cost"], "--puts-per-s"),
        (
            vec!["cost", "--puts-per-s", "10", "--region", "mars-1"],
            "eu-central-1",
        ),
        (
            vec!["cost", "--puts-per-s", "10", "--size", "ten"],
            "--size",
        ),
        (
            vec!["cost", "--puts-per-s", "10", "--modes", "sse-c"],
            "sse-c",
        ),
        (vec!["cost", "--puts-per-s=-5"], "--puts-per-s"),
        (
            vec!["cost", "--scenario", "/nonexistent.toml"],
            "nonexistent",
        ),
        (vec!["cost", "--results", "/nonexistent-dir"], "nonexistent"),
        (
            vec![
                "cost",
                "--puts-per-s",
                "10",
                "--prices",
                "/nonexistent.toml",
            ],
            "nonexistent",
        ),
    ] {
        let (code, _, err) = sse_bench(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn cost_from_a_scenario_uses_its_rate_mix_and_region() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/bucket-keys.toml");
    let (code, out, err) = sse_bench(&["cost", "--scenario", path, "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["profile"]["region"], "eu-central-1");
    // 500 ops/s, 30 % PUT and 65 % GET: 475 KMS req/s without Bucket Keys.
    let kms = mode_of(&v, "sse-kms");
    assert!(
        (kms["kms_rps"].as_f64().unwrap() - 475.0).abs() < 1e-6,
        "{kms}"
    );
    assert_eq!(kms["rule_status"], "documented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cost_from_results_uses_measured_kms_calls() {
    let ls = shortened(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/quickstart.toml"
    )));
    let dir = tempfile::tempdir().unwrap();
    let s = run(&ls, dir.path()).await;
    let measured = s
        .kms
        .iter()
        .find(|k| k.mode == Mode::SseKms)
        .unwrap()
        .per_s3_op;
    let d = dir.path().to_str().unwrap();
    let (code, out, err) = sse_bench(&[
        "cost",
        "--results",
        d,
        "--ops-per-s",
        "1000",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let kms = mode_of(&v, "sse-kms");
    assert_eq!(kms["kms_basis"], "measured");
    assert!((kms["kms_rps"].as_f64().unwrap() - measured * 1000.0).abs() < 1e-6);
}

/// docs/aws-behaviour.md §2: sessions of one role are one Bucket Key requester; the
/// session rule makes each its own. The simulator and the model agree under both
/// rules, and the prediction is labelled a lower bound.
#[tokio::test]
async fn sessions_of_one_role_are_one_bucket_key_requester() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/requesters.toml"
    ));
    let mut calls = Vec::new();
    for rule in [
        sse_sim::RequesterRule::Role,
        sse_sim::RequesterRule::Session,
    ] {
        let mut ls = shortened(path);
        ls.scenario.simulator.bucket_key_requester = rule;
        let s = &ls.scenario;
        let sessions: Vec<String> = (0..4).map(|i| format!("sessions-{i}")).collect();
        let want = if rule == sse_sim::RequesterRule::Role {
            1
        } else {
            4
        };
        assert_eq!(s.bucket_key_requesters(sessions), want, "{rule:?}");
        let dir = tempfile::tempdir().unwrap();
        let summary = run(&ls, dir.path()).await;
        let k = &summary.kms[0];
        assert_eq!(k.mode, Mode::SseKmsBucketKey);
        let (measured, predicted) = (k.calls as f64, k.predicted.calls);
        // The same tolerance as every Bucket Key prediction (an expected value).
        assert!(
            (measured - predicted).abs() <= (0.1 * predicted).max(3.0),
            "{rule:?}: measured {measured}, predicted {predicted}"
        );
        assert!(k.predicted.lower_bound);
        let text = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
        assert!(text.contains(&k.predicted.calls_text()), "{text}");
        assert!(k.predicted.calls_text().starts_with('≥'));
        assert!(text.contains("at least once per requester"), "{text}");
        calls.push(k.calls);
    }
    // Four readers each decrypt the (about four) Bucket Keys they meet, where one
    // role decrypts the one it made: about 15 more calls under the session rule.
    assert!(calls[1] >= calls[0] + 9, "{calls:?}");
}

/// docs/aws-behaviour.md §6 through `cost`: DSSE-KMS pays its per-GB charge on the
/// bytes written (10 TiB a month in eu-central-1: $30.72), the AWS-managed key has no
/// key fee, a rotated key pays for each rotated version up to two.
#[test]
fn cost_prices_dsse_bytes_managed_keys_and_rotations() {
    // 4 PUT/s of 1 MiB for a 730-hour month: 10,512,000 MiB = 10,265.625 GiB.
    let json = |extra: &[&str]| {
        let mut args = vec![
            "cost",
            "--region",
            "eu-central-1",
            "--puts-per-s",
            "4",
            "--size",
            "1MiB",
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let (code, out, err) = sse_bench(&args);
        assert_eq!(code, 0, "{err}");
        serde_json::from_str::<serde_json::Value>(&out).unwrap()
    };
    let v = json(&[]);
    let dsse = &mode_of(&v, "dsse-kms")["monthly"];
    let gib = 4.0 * 730.0 * 3600.0 / 1024.0;
    assert!(
        (dsse["dsse_usd"].as_f64().unwrap() - 0.003 * gib).abs() < 1e-6,
        "{dsse}"
    );
    assert!(mode_of(&v, "sse-kms")["monthly"]["dsse_usd"].is_null());
    assert_eq!(mode_of(&v, "sse-kms")["monthly"]["key_usd"], 1.0);
    let rotated = json(&["--rotations", "5"]);
    assert_eq!(mode_of(&rotated, "sse-kms")["monthly"]["key_usd"], 3.0);
    assert_eq!(mode_of(&rotated, "sse-s3")["monthly"]["key_usd"], 0.0);
    let managed = json(&["--aws-managed-key", "--rotations", "5"]);
    assert_eq!(mode_of(&managed, "sse-kms")["monthly"]["key_usd"], 0.0);
    assert_eq!(
        mode_of(&managed, "sse-kms-bucket-key")["kms_lower_bound"],
        true
    );
    assert_eq!(mode_of(&managed, "sse-kms")["kms_lower_bound"], false);
}
