//! The run engine end to end against the embedded simulator: measurement
//! accuracy against injected ground truth, coordinated omission, open-loop rate
//! accuracy, integrity errors, KMS counts, thresholds and the results files.

use crate::common;

use sse_bench::results::Summary;
use sse_bench::results::record::INTEGRITY;
use sse_bench::run::{RunOptions, RunOutcome, run_loaded};
use sse_bench::scenario::{self, LoadedScenario, Mode, Op};
use std::path::Path;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

fn load(text: &str) -> LoadedScenario {
    scenario::parse(Path::new("test.toml"), text).unwrap_or_else(|e| panic!("{e}"))
}

/// A one-mode scenario of 1 KiB HEADs over 10 keys: `tables` go before the workload,
/// `phase` is the settings of its one phase.
fn heads(name: &str, tables: &str, phase: &str) -> String {
    format!(
        "version = 1\nname = \"{name}\"\nmodes = [\"sse-s3\"]\n{tables}\n[workload]\nkeys = 10\nsize = \"1KiB\"\nmix = {{ head = 1 }}\n[[phases]]\nname = \"m\"\n{phase}\n"
    )
}

async fn run(text: &str, dir: &Path) -> RunOutcome {
    run_with(text, dir, None).await
}

async fn run_with(
    text: &str,
    dir: &Path,
    hook: Option<sse_bench::run::AfterPrefill>,
) -> RunOutcome {
    let opts = RunOptions {
        out: Some(dir.to_owned()),
        quiet: true,
        ..Default::default()
    };
    match run_loaded(&load(text), opts, CancellationToken::new(), hook).await {
        Ok(o) => o,
        Err(e) => panic!("run failed: {e}"),
    }
}

/// Runs and returns the simulator's own record of the latency it served during the measured phase.
async fn run_served(text: &str, dir: &Path) -> (RunOutcome, sse_sim::ServedLatency) {
    let served = Arc::new(std::sync::Mutex::new(None));
    let slot = served.clone();
    // Zero the simulator's counters after prefill, so only measured requests count.
    let hook: sse_bench::run::AfterPrefill = Box::new(move |target, _| {
        let sim = target.sim.as_ref().unwrap();
        sim.reset_stats();
        *slot.lock().unwrap() = Some(sim.clone());
    });
    let o = run_with(text, dir, Some(hook)).await;
    let sim = served.lock().unwrap().clone().unwrap();
    (o, sim.stats().s3.served_latency)
}

fn result(s: &Summary, mode: Mode, op: Op) -> &sse_bench::results::summary::OpResult {
    s.results
        .iter()
        .find(|r| r.mode == mode && r.op == op)
        .expect("result row")
}

/// The harness's view of a request includes the simulator's (the server's time is inside
/// the client's) plus the client's own share of two shared cores. Medians must agree
/// closely; a tail may gain scheduling delays on a busy machine, but never lose any.
fn reports(reported: f64, served: f64, slack: f64) -> bool {
    reported >= served * 0.95 - 0.5 && reported <= served * (1.0 + slack) + 2.0
}

/// The harness's median and tail against what the simulator served.
fn assert_reports(
    reported: &sse_bench::results::record::Percentiles,
    served: &sse_sim::ServedLatency,
) {
    assert!(
        reports(reported.p50, served.p50_ms, 0.1),
        "p50 {} vs served {}",
        reported.p50,
        served.p50_ms
    );
    assert!(
        reports(reported.p99, served.p99_ms, 0.5),
        "p99 {} vs served {}",
        reported.p99,
        served.p99_ms
    );
}

/// What the simulator serves: never faster than the injected latency, and slower only
/// by its own scheduling delays (bounded, even with the other core fully busy).
fn serves(served: f64, injected: f64) -> bool {
    served >= injected - 1.0 && served <= injected * 1.6 + 2.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_latency_matches_injected_ground_truth() {
    // Latency or rate is judged: the machine to itself.
    let _turn = common::turns::timed_async().await;
    let dir = tempfile::tempdir().unwrap();
    let fixed = heads(
        "fixed",
        "[simulator]\ns3_latency = { median = \"20ms\", p99 = \"20ms\" }",
        "duration = \"2s\"\nconcurrency = 8",
    );
    let (o, served) = run_served(&fixed, &dir.path().join("fixed")).await;
    let r = result(&o.summary, Mode::SseS3, Op::Head);
    assert!(r.count > 500, "{}", r.count);
    // The simulator imposes the configured latency (to the precision of tokio's 1 ms timer)...
    assert!(serves(served.p50_ms, 20.0), "served p50 {}", served.p50_ms);
    // ...and the harness reports what the simulator actually imposed.
    assert_reports(&r.latency_ms, &served);
    assert!(r.latency_ms.p50 >= 20.0);

    let lognormal = fixed
        .replace("name = \"fixed\"", "name = \"lognormal\"")
        .replace(
            "median = \"20ms\", p99 = \"20ms\"",
            "median = \"10ms\", p99 = \"40ms\"",
        )
        .replace("concurrency = 8", "concurrency = 64")
        .replace("duration = \"2s\"", "duration = \"4s\"");
    let (o, served) = run_served(&lognormal, &dir.path().join("lognormal")).await;
    let r = result(&o.summary, Mode::SseS3, Op::Head);
    assert!(r.count > 10_000, "{}", r.count);
    assert!(serves(served.p50_ms, 10.0), "served p50 {}", served.p50_ms);
    // The tail of what the simulator serves at 64 in flight on 2 cores includes its own
    // scheduling delays (46 ms seen once on a loaded CI machine): a sanity bound on the
    // model, while the harness-vs-served comparison below follows what was served.
    assert!(serves(served.p99_ms, 40.0), "served p99 {}", served.p99_ms);
    assert_reports(&r.latency_ms, &served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_shows_in_corrected_latency_only() {
    // Latency or rate is judged: the machine to itself.
    let _turn = common::turns::timed_async().await;
    // 3 setup requests for the bucket + 10 prefill PUTs; the 200th request of the phase stalls for 1 s.
    let text = heads(
        "co",
        "[simulator]\nfaults = { stall_at_request = 213, stall = \"1s\" }",
        "duration = \"4s\"\nrate = 200\nmax_in_flight = 1",
    );
    let dir = tempfile::tempdir().unwrap();
    let o = run(&text, dir.path()).await;
    let r = result(&o.summary, Mode::SseS3, Op::Head);
    assert!(
        r.latency_ms.p99 > 500.0,
        "corrected p99 {} shows the stall",
        r.latency_ms.p99
    );
    assert!(
        r.service_time_ms.p99 < 100.0,
        "uncorrected p99 {} hides it",
        r.service_time_ms.p99
    );
    assert!(
        r.service_time_ms.max >= 1000.0,
        "the stalled request itself took the stall"
    );
    assert!(
        o.summary.steps.iter().any(|s| s.late > 100),
        "arrivals waited for the in-flight cap"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_delivers_the_configured_rate() {
    // Latency or rate is judged: the machine to itself.
    let _turn = common::turns::timed_async().await;
    let text = heads("rate", "", "duration = \"4s\"\nrate = 500");
    let dir = tempfile::tempdir().unwrap();
    let o = run(&text, dir.path()).await;
    let r = result(&o.summary, Mode::SseS3, Op::Head);
    assert!((r.count as f64 - 2000.0).abs() <= 40.0, "count {}", r.count);
    assert!((r.ops_per_s - 500.0).abs() <= 10.0, "ops/s {}", r.ops_per_s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupted_object_is_an_integrity_error() {
    // Counts and files are judged.
    let _turn = common::turns::load_async().await;
    let text = r#"
version = 1
name = "integrity"
modes = ["sse-kms"]
[workload]
keys = 4
size = "4KiB"
mix = { get = 1 }
[[phases]]
name = "m"
operations = 200
concurrency = 2
"#;
    let dir = tempfile::tempdir().unwrap();
    let hook: sse_bench::run::AfterPrefill = Box::new(|target, mode| {
        let bucket = &target.buckets[&(mode, "main".to_string())];
        assert!(
            target
                .sim
                .as_ref()
                .unwrap()
                .corrupt_object(bucket, "main/0000000002")
        );
    });
    let o = run_with(text, dir.path(), Some(hook)).await;
    let r = result(&o.summary, Mode::SseKms, Op::Get);
    assert_eq!(r.count, 200);
    let bad = r.errors.get(INTEGRITY).copied().unwrap_or(0);
    assert!(
        bad > 20 && bad < 100,
        "about a quarter of GETs read the corrupted key: {bad}"
    );
    assert_eq!(r.ok + bad, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kms_counts_per_mode_and_stream_and_the_results_files() {
    // Counts and files are judged.
    let _turn = common::turns::load_async().await;
    let text = r#"
version = 1
name = "streams"
modes = ["sse-s3", "sse-kms", "sse-kms-bucket-key"]
order = "interleaved"
rounds = 2
[[streams]]
name = "uploads"
bucket = "input"
keys = 20
size = "2KiB"
mix = { put = 1 }
writers = ["writer"]
share = 1
[[streams]]
name = "reads"
bucket = "results"
keys = 20
size = { dist = "weighted", buckets = [{ size = "1KiB", weight = 3 }, { size = "8KiB", weight = 1 }] }
mix = { put = 1, get = 3, head = 1 }
writers = ["pipeline"]
readers = ["etl", "query", "dash"]
share = 2
[[phases]]
name = "m"
operations = 300
concurrency = 6
[thresholds]
"sse-kms-bucket-key.kms_per_op" = "< 0.05"
"sse-s3.all.p50" = "< 5ms"
[simulator]
s3_latency = { median = "5ms", p99 = "5ms" }
"#;
    let dir = tempfile::tempdir().unwrap();
    let o = run(text, dir.path()).await;
    let s = &o.summary;
    assert_eq!(
        o.exit_code, 3,
        "every request takes at least the injected 5 ms, so p50 < 5ms is crossed"
    );
    let failed: Vec<&str> = s
        .thresholds
        .iter()
        .filter(|t| !t.passed)
        .map(|t| t.name.as_str())
        .collect();
    assert_eq!(failed, ["sse-s3.all.p50"]);
    assert!(
        s.thresholds
            .iter()
            .find(|t| t.name == "sse-s3.all.p50")
            .unwrap()
            .actual
            .unwrap()
            >= 5.0
    );

    // SSE-KMS: exactly one GenerateDataKey per PUT and one Decrypt per GET.
    let kms = s.kms.iter().find(|k| k.mode == Mode::SseKms).unwrap();
    let puts = result(s, Mode::SseKms, Op::Put).ok;
    let gets = result(s, Mode::SseKms, Op::Get).ok;
    assert_eq!(kms.calls_by_api.get("GenerateDataKey").copied(), Some(puts));
    assert_eq!(kms.calls_by_api.get("Decrypt").copied(), Some(gets));
    assert_eq!(kms.by_bucket_role.values().sum::<u64>(), kms.calls);
    assert!(kms.by_bucket_role["input"] > 0 && kms.by_bucket_role["results"] > 0);
    // Bucket Keys: prefill fetched each writer's key; in the measured steps each of the three
    // readers decrypts the pipeline's Bucket Key once, and nothing else calls KMS within the lifetime.
    let bk = s
        .kms
        .iter()
        .find(|k| k.mode == Mode::SseKmsBucketKey)
        .unwrap();
    assert_eq!(
        bk.calls_by_api,
        [("Decrypt".to_string(), 3)].into(),
        "{bk:?}"
    );
    let s3 = s.kms.iter().find(|k| k.mode == Mode::SseS3).unwrap();
    assert_eq!(s3.calls, 0);
    assert_eq!(
        kms.by_requester.keys().cloned().collect::<Vec<_>>(),
        ["dash", "etl", "pipeline", "query", "writer"]
    );

    // Per-stream rows exist for every mode.
    for m in [Mode::SseS3, Mode::SseKms, Mode::SseKmsBucketKey] {
        assert!(
            s.streams
                .iter()
                .any(|r| r.mode == m && r.stream == "uploads" && r.bucket_role == "input")
        );
        assert!(
            s.streams
                .iter()
                .any(|r| r.mode == m && r.stream == "reads" && r.op == Op::Get)
        );
    }
    assert_eq!(s.steps.len(), 6);

    // summary.json validates against the checked-in schema.
    let written: serde_json::Value = common::read_summary(dir.path());
    let errors = common::schema_errors(&written);
    assert!(errors.is_empty(), "{errors:#?}");
    assert!(
        !std::fs::read_to_string(dir.path().join("summary.json"))
            .unwrap()
            .contains("secret")
    );

    // ops.csv and timeseries.csv parse; the scenario is copied in.
    let mut ops = csv::Reader::from_path(dir.path().join("ops.csv")).unwrap();
    assert_eq!(ops.records().count(), s.phases.len());
    let mut ts = csv::Reader::from_path(dir.path().join("timeseries.csv")).unwrap();
    let headers = ts.headers().unwrap().clone();
    assert!(headers.iter().any(|h| h == "kms_calls"));
    assert!(ts.records().count() > 0);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("scenario.toml")).unwrap(),
        text
    );

    // The hlog files are HdrHistogram interval logs the crate's reader understands.
    let hlog = std::fs::read(dir.path().join("histograms/sse-kms.get.hlog")).unwrap();
    let mut intervals = 0;
    let mut total = 0;
    for item in hdrhistogram::serialization::interval_log::IntervalLogIterator::new(&hlog) {
        if let hdrhistogram::serialization::interval_log::LogEntry::Interval(ih) = item.unwrap() {
            let raw = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                ih.encoded_histogram(),
            )
            .unwrap();
            let h: hdrhistogram::Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
                .deserialize(&mut raw.as_slice())
                .unwrap();
            total += h.len();
            intervals += 1;
        }
    }
    assert!(intervals >= 1);
    assert!(total > 0 && total <= result(s, Mode::SseKms, Op::Get).count);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_puts_follow_the_kms_rules() {
    // Counts and files are judged.
    let _turn = common::turns::load_async().await;
    let text = r#"
version = 1
name = "multipart"
modes = ["sse-kms"]
[workload]
keys = 3
size = "12MiB"
mix = { put = 1, get = 1 }
multipart = { threshold = "6MiB", part = "5MiB" }
[[phases]]
name = "m"
operations = 12
concurrency = 2
"#;
    let dir = tempfile::tempdir().unwrap();
    let o = run(text, dir.path()).await;
    let s = &o.summary;
    let (put, get) = (
        result(s, Mode::SseKms, Op::Put),
        result(s, Mode::SseKms, Op::Get),
    );
    assert_eq!(put.count + get.count, 12);
    assert_eq!(put.ok, put.count, "{:?}", put.errors);
    assert_eq!(get.ok, get.count, "{:?}", get.errors);
    let kms = &s.kms[0];
    // Each 12 MiB PUT: CreateMultipartUpload (GenerateDataKey), 3 UploadParts (Decrypt each), Complete with checksums (Decrypt).
    assert_eq!(kms.calls_by_api["GenerateDataKey"], put.ok);
    assert_eq!(kms.calls_by_api["Decrypt"], 4 * put.ok + get.ok);
    assert!(put.mib_per_s > 0.0 && get.mib_per_s > 0.0);
}
