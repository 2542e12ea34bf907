//! `sse-bench forecast`: the round trip against the simulator (its logs forecast its
//! own KMS calls exactly), the fixtures made from AWS's documented examples and hand-made
//! edge cases, and bad input.

use crate::common;

use common::forecast::{fixture, forecast_json, run_with_sim_logs};
use common::sse_bench_output;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};

fn mode<'a>(r: &'a Value, m: &str) -> &'a Value {
    r["modes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["mode"] == m))
        .expect("mode in the forecast")
}

/// Runs the round-trip scenario in `mode` on the embedded target with logs on.
fn run_with_logs(dir: &Path, mode: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixture("pipeline.toml"))
        .unwrap()
        .replace("modes = [\"sse-kms\"]", &format!("modes = [\"{mode}\"]"));
    let scenario = dir.join(format!("pipeline-{mode}.toml"));
    std::fs::write(&scenario, text).unwrap();
    let logs = dir.join(format!("logs-{mode}"));
    run_with_sim_logs(&scenario, &dir.join(format!("results-{mode}")), &logs);
    logs
}

/// The KMS calls the simulator made on requesters' behalf, per (role or user ARN, API),
/// read from the CloudTrail files it wrote at each call.
fn simulator_kms_calls(trail_dir: &Path) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(trail_dir).unwrap() {
        let mut text = String::new();
        flate2::read::GzDecoder::new(std::fs::File::open(e.unwrap().path()).unwrap())
            .read_to_string(&mut text)
            .unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        for r in doc["Records"].as_array().unwrap() {
            if r["eventSource"] != "kms.amazonaws.com" || r.get("errorCode").is_some() {
                continue;
            }
            let id = &r["userIdentity"];
            let who = id["sessionContext"]["sessionIssuer"]["arn"]
                .as_str()
                .or(id["arn"].as_str())
                .unwrap()
                .to_owned();
            *out.entry((who, r["eventName"].as_str().unwrap().to_owned()))
                .or_default() += 1;
        }
    }
    out
}

/// The forecast's calls of `m` per (requester, API), rounded (Bucket Key reads are
/// expected values; with one writer role per bucket they are whole).
fn predicted(r: &Value, m: &str) -> BTreeMap<(String, String), u64> {
    let mut out = BTreeMap::new();
    for q in r["requesters"].as_array().unwrap() {
        if let Some(apis) = q["kms_by_api"][m].as_object() {
            for (api, n) in apis {
                let n = n.as_f64().unwrap();
                assert!(
                    (n - n.round()).abs() < 1e-6,
                    "{api} of {q}: {n} is not whole"
                );
                if n.round() > 0.0 {
                    out.insert(
                        (q["requester"].as_str().unwrap().to_owned(), api.clone()),
                        n.round() as u64,
                    );
                }
            }
        }
    }
    out
}

#[test]
fn logs_of_a_simulator_run_forecast_its_kms_calls_exactly() {
    let dir = tempfile::tempdir().unwrap();
    for m in ["sse-kms", "sse-kms-bucket-key"] {
        let logs = run_with_logs(dir.path(), m);
        let truth = simulator_kms_calls(&logs.join("cloudtrail"));
        assert!(!truth.is_empty(), "{m}: the simulator made KMS calls");
        // From the access logs alone: the model's count for the mode that ran.
        let access = logs.join("access-logs");
        let r = forecast_json(&[
            "--access-logs",
            access.to_str().unwrap(),
            "--region",
            "eu-central-1",
        ]);
        assert_eq!(
            predicted(&r, m),
            truth,
            "{m}: forecast vs the simulator, per requester and API"
        );
        // Two sessions of the ingest role are one requester; four identities in all.
        let names: Vec<&str> = r["requesters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|q| q["requester"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"arn:aws:iam::111122223333:role/ingest"),
            "{names:?}"
        );
        assert_eq!(names.len(), 4, "{names:?}");
        // The other modes are consistent with it.
        let calls = |x: &str| mode(&r, x)["kms_calls"].as_f64().unwrap();
        assert_eq!(calls("sse-s3"), 0.0);
        assert_eq!(calls("dsse-kms"), calls("sse-kms"));
        assert!(calls("sse-kms-bucket-key") * 20.0 < calls("sse-kms"));
        // With CloudTrail too: today's measured calls beside the model, no difference.
        let trail = logs.join("cloudtrail");
        let r = forecast_json(&[
            "--access-logs",
            access.to_str().unwrap(),
            "--cloudtrail",
            trail.to_str().unwrap(),
            "--region",
            "eu-central-1",
        ]);
        let today = &r["today"];
        assert!(
            today["buckets"]
                .as_object()
                .unwrap()
                .values()
                .all(|v| v == m),
            "{today}"
        );
        for row in today["by_requester"].as_array().unwrap() {
            assert_eq!(
                row["measured"].as_f64().unwrap(),
                row["model"].as_f64().unwrap().round(),
                "{row}"
            );
        }
        assert!(r["sources"]["duplicate_events"].as_u64().unwrap() > 0);
    }
}

#[test]
fn the_documentation_examples_parse_old_and_new_field_counts() {
    // tests/forecast/aws-doc-examples.log: the S3 UG LogFormat example records (today's,
    // with a trailing region field after aclRequired, and the 2014 ones that end at
    // Version Id).
    let r = forecast_json(&["--access-logs", &fixture("aws-doc-examples.log")]);
    assert_eq!(r["sources"]["records"], 7);
    assert_eq!(r["sources"]["malformed"], 0);
    assert_eq!(r["requests"]["put"], 2);
    assert_eq!(r["requests"]["other-tier2"], 4);
    // The 404 GET of the bucket policy is billed but makes no KMS call.
    assert_eq!(r["failed"], 1);
    assert_eq!(mode(&r, "sse-kms")["by_api"]["GenerateDataKey"], 2.0);
    let raw = r["buckets"].as_array().unwrap();
    assert_eq!(raw.len(), 2, "amzn-s3-demo-bucket1 and mybucket");
}

#[test]
fn edge_cases_quoted_dashes_missing_and_extra_fields_requesters() {
    let r = forecast_json(&["--access-logs", &fixture("edge-cases.log")]);
    assert_eq!(r["sources"]["malformed"], 0);
    assert_eq!(r["requests"]["put"], 2);
    assert_eq!(r["requests"]["get"], 3);
    assert_eq!(r["requests"]["head"], 1);
    assert_eq!(r["failed"], 1, "the 404");
    let class: BTreeMap<String, String> = r["requesters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| {
            (
                q["requester"].as_str().unwrap().to_owned(),
                q["class"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        class["arn:aws:iam::111122223333:role/ingest"], "own",
        "two sessions, one role"
    );
    assert_eq!(
        class["arn:aws:iam::444455556666:role/partner"],
        "cross-account"
    );
    assert_eq!(class["anonymous"], "anonymous");
    assert_eq!(class.len(), 4);
    // Anonymous GETs of KMS objects fail: 2 signed GETs decrypt, 2 PUTs generate.
    let kms = mode(&r, "sse-kms");
    assert_eq!(kms["by_api"]["Decrypt"], 2.0);
    assert_eq!(kms["by_api"]["GenerateDataKey"], 2.0);
    assert!(
        r["caveats"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("anonymous"))
    );
    // Per session: the ingest role's two sessions count apart.
    let r = forecast_json(&["--access-logs", &fixture("edge-cases.log"), "--per-session"]);
    assert_eq!(r["requesters"].as_array().unwrap().len(), 6);
}

#[test]
fn gzip_directories_and_cloudwatch_json_read_alike() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read(fixture("edge-cases.log")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(dir.path().join("2026-03-01-10-00-00-ABC")).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(&text).unwrap();
    gz.finish().unwrap();
    std::fs::copy(fixture("cloudwatch.jsonl"), dir.path().join("cw.jsonl")).unwrap();
    let r = forecast_json(&[
        "--access-logs",
        dir.path().to_str().unwrap(),
        "--threads",
        "2",
    ]);
    assert_eq!(r["sources"]["files"], 2);
    assert_eq!(r["sources"]["malformed"], 0);
    // 6 successful from the text log, 4 from CloudWatch (a bare record, one with a
    // timestamp prefix, one exported event wrapping it in `message`).
    assert_eq!(
        r["requests"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        10
    );
    let buckets: Vec<&str> = r["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["bucket"].as_str().unwrap())
        .collect();
    assert!(
        buckets.contains(&"media-curated") && buckets.contains(&"media-raw"),
        "{buckets:?}"
    );
}

#[test]
fn cloudtrail_alone_gives_traffic_and_todays_kms_calls() {
    // tests/forecast/cloudtrail-example.json: KMS records shaped like the KMS DG's
    // GenerateDataKey CloudTrail example, with S3's aws:s3:arn context.
    let r = forecast_json(&["--cloudtrail", &fixture("cloudtrail-example.json")]);
    assert_eq!(r["home_account"], "111122223333", "from recipientAccountId");
    assert_eq!(r["requests"]["put"], 1);
    assert_eq!(r["requests"]["get"], 2);
    let today = &r["today"];
    assert_eq!(today["buckets"]["media-curated"], "sse-kms-bucket-key");
    assert_eq!(today["buckets"]["media-raw"], "sse-kms");
    assert_eq!(today["measured"]["GenerateDataKey"], 2);
    assert_eq!(today["measured"]["Decrypt"], 1);
    assert_eq!(today["throttled"], 1);
}

#[test]
fn bad_input_exits_2_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    // Over 1% malformed: refused, the first reported with file:line.
    let mut text = std::fs::read_to_string(fixture("edge-cases.log")).unwrap();
    text.push_str("this is not a log line\n");
    let bad = dir.path().join("bad.log");
    std::fs::write(&bad, &text).unwrap();
    let (code, _, err) = sse_bench_output(&["forecast", "--access-logs", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("bad.log:8:"), "{err}");
    // Under a looser threshold it is counted and skipped.
    let r = forecast_json(&[
        "--access-logs",
        bad.to_str().unwrap(),
        "--max-malformed",
        "20%",
    ]);
    assert_eq!(r["sources"]["malformed"], 1);
    assert_eq!(
        r["sources"]["first_malformed"][0]
            .as_str()
            .unwrap()
            .split(": ")
            .next()
            .unwrap(),
        format!("{}:8", bad.display())
    );
    // Empty, unknown format, no S3 traffic, missing path.
    let empty = dir.path().join("empty.log");
    std::fs::write(&empty, "").unwrap();
    let unknown = dir.path().join("unknown.log");
    std::fs::write(&unknown, "hello world\nfoo bar\n").unwrap();
    let kms_only = dir.path().join("kms-only.json");
    std::fs::write(&kms_only, r#"{"Records": [{"eventTime": "2026-03-01T10:00:00Z", "eventSource": "kms.amazonaws.com", "eventName": "Decrypt", "requestParameters": {"encryptionContext": {"aws:s3:arn": "arn:aws:s3:::b/k"}}}]}"#).unwrap();
    let not_trail = dir.path().join("not-trail.json");
    std::fs::write(&not_trail, "[1, 2, 3]").unwrap();
    for (args, says) in [
        (vec!["--access-logs", empty.to_str().unwrap()], "no records"),
        (
            vec!["--access-logs", unknown.to_str().unwrap()],
            "known format",
        ),
        (
            vec!["--cloudtrail", kms_only.to_str().unwrap()],
            "no S3 requests",
        ),
        (
            vec!["--cloudtrail", not_trail.to_str().unwrap()],
            "not a CloudTrail file",
        ),
        (
            vec!["--access-logs", "/nonexistent/logs"],
            "/nonexistent/logs",
        ),
        (vec![], "--access-logs"),
    ] {
        let mut all = vec!["forecast"];
        all.extend(args.iter().copied());
        let (code, out, err) = sse_bench_output(&all);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.is_empty(), "{args:?} printed {out}");
    }
}

#[test]
fn the_html_page_is_self_contained_with_the_verdict_and_three_charts() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("forecast.html");
    let (code, out, err) = sse_bench_output(&[
        "forecast",
        "--access-logs",
        &fixture("edge-cases.log"),
        "--html",
        page.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let html = std::fs::read_to_string(&page).unwrap();
    let first_line = out.lines().nth(1).unwrap();
    assert!(
        html.contains(first_line.split(';').next().unwrap()),
        "the verdict is on the page"
    );
    assert_eq!(
        html.matches("<svg").count(),
        3,
        "KMS over time, cost, requesters"
    );
    assert!(html.contains("default-src 'none'"), "no network resources");
    assert!(
        !html.contains("http://") && !html.contains("https://")
            || html.contains("xmlns=\"http://www.w3.org/2000/svg\"")
    );
    assert!(html.contains("KMS requests per second against the quota"));
    // Nothing else was written beside it.
    let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(files.len(), 1);
}

/// `serve --logs` logs its own traffic (written out at Ctrl-C), and `forecast` reads
/// s3:// sources through the standard chain (`AWS_ENDPOINT_URL_S3` here) like local files.
#[test]
fn serve_logs_its_traffic_and_s3_sources_read_like_files() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("serve-logs");
    let serve = common::spawn_serve_with(&["--logs", logs.to_str().unwrap()]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = serve.s3_client(&rt);
    rt.block_on(async {
        s3.create_bucket()
            .bucket("log-archive")
            .send()
            .await
            .unwrap();
        for (key, file) in [
            ("access/2026-03-01-10-00-00-A", "edge-cases.log"),
            (
                "trail/111122223333_CloudTrail_eu-central-1_20260301T1000Z_A.json",
                "cloudtrail-example.json",
            ),
        ] {
            s3.put_object()
                .bucket("log-archive")
                .key(key)
                .body(std::fs::read(fixture(file)).unwrap().into())
                .send()
                .await
                .unwrap();
        }
    });
    let out = serve
        .sse_bench()
        .args([
            "--format",
            "json",
            "forecast",
            "--access-logs",
            "s3://log-archive/access/",
        ])
        .args([
            "--cloudtrail",
            "s3://log-archive/trail/",
            "--region",
            "eu-central-1",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let remote: Value = serde_json::from_slice(&out.stdout).unwrap();
    let local = forecast_json(&[
        "--access-logs",
        &fixture("edge-cases.log"),
        "--cloudtrail",
        &fixture("cloudtrail-example.json"),
        "--region",
        "eu-central-1",
    ]);
    assert_eq!(remote["modes"], local["modes"]);
    assert_eq!(remote["today"], local["today"]);
    // Ctrl-C: serve writes out its logs; they hold the bucket's creation, the two PUTs
    // and the forecast's listing and GETs, signed by the simulator's first requester.
    assert!(serve.interrupt().success());
    let r = forecast_json(&["--access-logs", logs.join("access-logs").to_str().unwrap()]);
    assert_eq!(r["requests"]["put"], 2, "{}", r["requests"]);
    assert_eq!(r["requests"]["get"], 2, "{}", r["requests"]);
    assert!(
        r["requests"]["other-tier1"].as_u64().unwrap() >= 3,
        "create bucket, listings"
    );
    let trail = std::fs::read_dir(logs.join("cloudtrail")).unwrap().count();
    assert!(trail >= 1, "a CloudTrail file with the data events");
}

/// One reader of CloudTrail: the same records counted for a run on AWS (its exact
/// KMS counts, from LookupEvents' `CloudTrailEvent` documents) and by `forecast` (from a
/// log file) give the same calls per requester, failures apart.
#[test]
fn cloudtrail_records_count_alike_for_a_run_on_aws_and_for_forecast() {
    use sse_bench::kms::cloudtrail::{KmsEvent, attribute};
    use sse_bench::scenario::Mode;
    let path = fixture("cloudtrail-example.json");
    let file: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let events: Vec<KmsEvent> = file["Records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["eventSource"] == "kms.amazonaws.com")
        .map(|r| KmsEvent::parse(r["eventName"].as_str().unwrap(), &r.to_string()).unwrap())
        .collect();
    assert!(events.len() >= 3, "the fixture has KMS records");
    let buckets = BTreeMap::from([
        ("media-raw".to_owned(), Mode::SseKms),
        ("media-curated".to_owned(), Mode::SseKmsBucketKey),
    ]);
    let run = attribute(&events, &buckets);
    let mut on_aws: BTreeMap<String, u64> = BTreeMap::new();
    for m in run.per_mode.values() {
        for (who, n) in &m.by_requester {
            *on_aws.entry(who.clone()).or_default() += n;
        }
    }
    let r = forecast_json(&["--cloudtrail", &path]);
    let mut forecast: BTreeMap<String, u64> = BTreeMap::new();
    for row in r["today"]["by_requester"].as_array().unwrap() {
        let n = row["measured"].as_u64().unwrap();
        if n > 0 {
            *forecast
                .entry(row["requester"].as_str().unwrap().to_owned())
                .or_default() += n;
        }
    }
    assert!(!on_aws.is_empty());
    assert_eq!(on_aws, forecast, "calls per requester");
    let failed: u64 = run.per_mode.values().map(|m| m.failed).sum();
    assert_eq!(failed, r["today"]["throttled"].as_u64().unwrap());
}

/// `docker stop` and systemd stop with SIGTERM: serve writes out the access log and
/// CloudTrail records it holds, as on Ctrl-C.
#[test]
fn serve_writes_its_logs_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let serve = common::spawn_serve_with(&["--logs", logs.to_str().unwrap()]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = serve.s3_client(&rt);
    rt.block_on(async {
        s3.create_bucket().bucket("kept").send().await.unwrap();
        s3.put_object()
            .bucket("kept")
            .key("k")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    assert!(serve.terminate().success());
    let access: String = std::fs::read_dir(logs.join("access-logs"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(access.contains("REST.PUT.OBJECT"), "{access}");
    assert!(
        std::fs::read_dir(logs.join("cloudtrail")).unwrap().count() > 0,
        "CloudTrail records written"
    );
}
