//! Account-wide KMS counts from CloudWatch `AWS/Usage`, against a small local
//! endpoint that answers GetMetricData in CloudWatch's wire format (Smithy RPC v2
//! CBOR) with responses shaped like AWS's, and records what the SDK asked.

use crate::common;

use aws_smithy_cbor::Encoder;
use aws_smithy_types::DateTime;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use sse_bench::kms::cloudwatch::kms_call_count;
use sse_bench::targets::{ClientOptions, StaticCredentials, cloudwatch_client};
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

/// One recorded request.
#[derive(Clone, Debug)]
struct Seen {
    path: String,
    protocol: Option<String>,
    body: Vec<u8>,
}

/// A GetMetricData response: one result with (minute, value) points, maybe a NextToken.
fn response(points: &[(i64, f64)], next: Option<&str>) -> Vec<u8> {
    let mut e = Encoder::new(Vec::new());
    e.map(1 + usize::from(next.is_some()));
    e.str("MetricDataResults").array(1);
    e.map(5);
    e.str("Id").str("kms");
    e.str("Label").str("CallCount");
    e.str("Timestamps").array(points.len());
    for (t, _) in points {
        e.timestamp(&DateTime::from_secs(*t));
    }
    e.str("Values").array(points.len());
    for (_, v) in points {
        e.double(*v);
    }
    e.str("StatusCode").str("Complete");
    if let Some(n) = next {
        e.str("NextToken").str(n);
    }
    e.into_writer()
}

/// Serves `pages` in order (the last one repeatedly) on 127.0.0.1; returns its URL.
async fn fake_cloudwatch(pages: Vec<Vec<u8>>, seen: Arc<Mutex<Vec<Seen>>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let pages = Arc::new(pages);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                break;
            };
            let (pages, seen) = (pages.clone(), seen.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (pages, seen) = (pages.clone(), seen.clone());
                        async move {
                            let path = req.uri().path().to_owned();
                            let protocol = req
                                .headers()
                                .get("smithy-protocol")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let body = req.into_body().collect().await?.to_bytes().to_vec();
                            let n = {
                                let mut s = seen.lock().unwrap();
                                s.push(Seen {
                                    path,
                                    protocol,
                                    body,
                                });
                                s.len() - 1
                            };
                            let page = pages[n.min(pages.len() - 1)].clone();
                            Ok::<_, hyper::Error>(
                                hyper::Response::builder()
                                    .header("content-type", "application/cbor")
                                    .header("smithy-protocol", "rpc-v2-cbor")
                                    .body(Full::new(Bytes::from(page)))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    format!("http://{addr}")
}

/// The start of the current minute, unix seconds (CloudWatch's one-minute periods).
fn this_minute() -> i64 {
    std::time::SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        / 60
        * 60
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn sums_call_count_per_minute_across_pages() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let t0 = 1_790_000_040; // a whole minute
    let url = fake_cloudwatch(
        vec![
            response(&[(t0, 600.0), (t0 + 60, 1200.0)], Some("page-2")),
            response(&[(t0 + 120, 300.0)], None),
        ],
        seen.clone(),
    )
    .await;
    let client = cloudwatch_client(&ClientOptions::endpoint(
        &url,
        "eu-central-1",
        StaticCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "test-secret".into(),
        },
    ));
    let start = UNIX_EPOCH + Duration::from_secs(t0 as u64 + 10);
    let end = UNIX_EPOCH + Duration::from_secs(t0 as u64 + 150);
    let u = kms_call_count(&client, "eu-central-1", start, end)
        .await
        .unwrap();
    assert_eq!(u.scope, "account-wide");
    assert_eq!(
        u.per_minute,
        vec![(t0, 600.0), (t0 + 60, 1200.0), (t0 + 120, 300.0)]
    );
    assert_eq!(u.calls, 2100.0);
    assert_eq!(u.peak_minute_rps, 20.0);
    // The window is widened to whole minutes.
    assert_eq!((u.start_unix, u.end_unix), (t0, t0 + 180));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "the second page was requested");
    for s in &seen {
        assert!(s.path.ends_with("/operation/GetMetricData"), "{}", s.path);
        assert_eq!(s.protocol.as_deref(), Some("rpc-v2-cbor"));
        for field in [
            "AWS/Usage",
            "CallCount",
            "Service",
            "KMS",
            "Type",
            "API",
            "Class",
            "None",
            "Resource",
            "CryptographicOperationsSymmetric",
            "Sum",
        ] {
            assert!(contains(&s.body, field), "request lacks {field}");
        }
    }
    assert!(contains(&seen[1].body, "page-2"), "NextToken sent back");
}

#[tokio::test]
async fn an_error_from_cloudwatch_is_an_error() {
    // Not CBOR at all: the SDK must refuse it rather than report zero calls.
    let seen = Arc::new(Mutex::new(Vec::new()));
    let url = fake_cloudwatch(vec![b"not cbor".to_vec()], seen).await;
    let client = cloudwatch_client(&ClientOptions::endpoint(
        &url,
        "us-east-1",
        StaticCredentials {
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "test-secret".into(),
        },
    ));
    let now = std::time::SystemTime::now();
    assert!(
        kms_call_count(&client, "us-east-1", now, now)
            .await
            .is_err()
    );
}

/// `sse-bench -q run SCENARIO --out OUT`.
fn sse_bench_run(scenario: &std::path::Path, out: &std::path::Path) -> std::process::Command {
    let mut c = common::sse_bench_command();
    c.args(["-q", "run"]).arg(scenario).arg("--out").arg(out);
    c
}

/// Runs `cmd` off the async runtime (the fake CloudWatch answers on it); asserts success
/// and returns stdout and the summary written under `out`.
async fn run_ok(
    mut cmd: std::process::Command,
    out: std::path::PathBuf,
) -> (String, serde_json::Value) {
    let run = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary = common::read_summary(&out);
    (String::from_utf8_lossy(&run.stdout).into_owned(), summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_reports_cloudwatch_counts_as_account_wide() {
    let serve = common::spawn_serve();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let now = this_minute();
    let cw = fake_cloudwatch(vec![response(&[(now, 4321.0)], None)], seen.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("cw.toml");
    std::fs::write(
        &scenario,
        format!(
            "version = 1\nname = \"cw\"\nmodes = [\"sse-kms\"]\n[target]\nkind = \"endpoint\"\nendpoint = \"{}\"\nkms_endpoint = \"{}\"\ncloudwatch = {{ settle = \"0s\", endpoint = \"{cw}\" }}\n[workload]\nkeys = 10\nsize = \"1KiB\"\nmix = {{ put = 1, get = 1 }}\n[[phases]]\nname = \"m\"\noperations = 40\nconcurrency = 2\n",
            serve.s3, serve.kms
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let mut cmd = sse_bench_run(&scenario, &out);
    cmd.env("AWS_ACCESS_KEY_ID", &serve.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &serve.secret_key);
    let (stdout, summary) = run_ok(cmd, out).await;
    assert!(stdout.contains("4321 KMS calls account-wide"), "{stdout}");
    assert_eq!(summary["kms_account_wide"]["scope"], "account-wide");
    assert_eq!(summary["kms_account_wide"]["calls"], 4321.0);
    // Without counts from the target, KMS cost rests on the model's prediction.
    let kms = &summary["kms"][0];
    assert_eq!(kms["source"], "unavailable");
    assert_eq!(kms["predicted"]["calls"], 40.0);
    assert_eq!(summary["cost"][0]["kms_calls_basis"], "predicted");
    assert_eq!(seen.lock().unwrap().len(), 1);
    assert!(!stdout.contains(serve.secret_key.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_target_reads_cloudwatch_through_its_credential_chain() {
    let serve = common::spawn_serve();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let now = this_minute();
    let cw = fake_cloudwatch(vec![response(&[(now, 987.0)], None)], seen.clone()).await;
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("cw-aws.toml");
    // No CloudWatch endpoint in the scenario: AWS_ENDPOINT_URL_CLOUDWATCH, through aws-config.
    std::fs::write(
        &scenario,
        "version = 1\nname = \"cw-aws\"\nmodes = [\"sse-kms\"]\n[target]\nkind = \"aws\"\nregion = \"us-east-1\"\ncloudwatch = { settle = \"0s\" }\n[workload]\nkeys = 10\nsize = \"1KiB\"\nmix = { put = 1, get = 1 }\n[[phases]]\nname = \"m\"\noperations = 40\nconcurrency = 2\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let mut cmd = sse_bench_run(&scenario, &out);
    cmd.arg("--create-key")
        .env("AWS_ACCESS_KEY_ID", &serve.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &serve.secret_key)
        .env("AWS_ENDPOINT_URL_S3", &serve.s3)
        .env("AWS_ENDPOINT_URL_KMS", &serve.kms)
        .env("AWS_ENDPOINT_URL_CLOUDWATCH", cw)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("GITHUB_STEP_SUMMARY");
    let (stdout, summary) = run_ok(cmd, out).await;
    assert!(stdout.contains("987 KMS calls account-wide"), "{stdout}");
    assert_eq!(summary["target"]["kind"], "aws");
    assert_eq!(summary["target"]["kms_counts"], "predicted");
    assert_eq!(summary["kms_account_wide"]["calls"], 987.0);
    assert_eq!(seen.lock().unwrap().len(), 1);
}
