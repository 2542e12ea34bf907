//! The aws target's whole request sequence against `sse-bench serve` posing as AWS
//! (`AWS_ENDPOINT_URL_S3` / `_KMS`): credentials from shared config files through
//! aws-config's chain, one profile per principal, `--create-key`, bucket creation with
//! default encryption, tags and the expiry rule, the capability probe, the run, cleanup
//! and the key's scheduled deletion. Everything but the real network.

use crate::common;

use std::path::Path;
use std::process::Command;

fn write_profiles(
    dir: &Path,
    serve: &common::ServeProcess,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let config = dir.join("config");
    let credentials = dir.join("credentials");
    std::fs::write(
        &config,
        "[profile bench-writer]\nregion = eu-central-1\n[profile bench-reader]\nregion = eu-central-1\n",
    )
    .unwrap();
    std::fs::write(
        &credentials,
        format!(
            "[bench-writer]\naws_access_key_id = {}\naws_secret_access_key = {}\n[bench-reader]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            serve.creds[0].0, serve.creds[0].1, serve.creds[1].0, serve.creds[1].1
        ),
    )
    .unwrap();
    (config, credentials)
}

fn scenario(dir: &Path, principals: bool) -> std::path::PathBuf {
    let p = dir.join("aws.toml");
    let map = if principals {
        "[target.principals]\nw = { profile = \"bench-writer\" }\nr = { profile = \"bench-reader\" }\n"
    } else {
        ""
    };
    std::fs::write(
        &p,
        format!(
            "version = 1\nname = \"aws-sequence\"\nmodes = [\"sse-s3\", \"sse-kms\", \"sse-kms-bucket-key\", \"dsse-kms\"]\n[target]\nkind = \"aws\"\nregion = \"eu-central-1\"\n{map}[workload]\nkeys = 10\nsize = \"1KiB\"\nmix = {{ put = 1, get = 1 }}\nwriters = [\"w\"]\nreaders = [\"r\"]\n[[phases]]\nname = \"m\"\noperations = 40\nconcurrency = 2\n"
        ),
    )
    .unwrap();
    p
}

/// sse-bench with only the shared config files as credentials, the simulator posing as AWS.
fn sse_bench(serve: &common::ServeProcess, dir: &Path) -> Command {
    let (config, credentials) = write_profiles(dir, serve);
    let mut c = common::sse_bench_command();
    c.env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL_S3", &serve.s3)
        .env("AWS_ENDPOINT_URL_KMS", &serve.kms)
        // serve answers CloudTrail's LookupEvents on its KMS port, as AWS's event history.
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &serve.kms);
    c
}

/// Runs sse-bench to completion; (exit code, stdout, stderr).
fn run(serve: &common::ServeProcess, dir: &Path, args: &[&str]) -> (i32, String, String) {
    output(sse_bench(serve, dir).args(args))
}

/// `sse-bench -q run SCENARIO --target aws --profile bench-writer EXTRA...` against `serve`.
fn aws_run(serve: &common::ServeProcess, dir: &Path, sc: &Path, extra: &[&str]) -> Command {
    let mut c = sse_bench(serve, dir);
    c.args(["-q", "run"])
        .arg(sc)
        .args(["--target", "aws", "--profile", "bench-writer"])
        .args(["--cloudtrail-wait", "3s"])
        .args(extra);
    c
}

/// Runs the four-mode scenario, principals mapped to profiles, with `--create-key`, to a
/// successful end; (results directory, stdout, stderr).
fn mapped_run_with_created_key(
    serve: &common::ServeProcess,
    dir: &Path,
) -> (std::path::PathBuf, String, String) {
    let out_dir = dir.join("out");
    let sc = scenario(dir, true);
    let (code, stdout, err) = output(&mut aws_run(
        serve,
        dir,
        &sc,
        &["--create-key", "--out", out_dir.to_str().unwrap()],
    ));
    assert_eq!(code, 0, "{err}");
    (out_dir, stdout, err)
}

/// Exit code, stdout and stderr of a finished command.
fn output(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stats(rt: &tokio::runtime::Runtime, serve: &common::ServeProcess) -> serde_json::Value {
    let (status, body) = rt.block_on(common::http("GET", &format!("{}/stats", serve.admin)));
    assert_eq!(status, 200);
    serde_json::from_str(&body).unwrap()
}

#[test]
fn the_aws_target_provisions_runs_and_cleans_up_through_the_standard_chain() {
    let serve = common::spawn_serve_with(&["--requesters", "2"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (out_dir, _, err) = mapped_run_with_created_key(&serve, tmp.path());
    assert!(
        err.contains("CREATED KMS KEY arn:aws:kms:"),
        "said loudly: {err}"
    );
    assert!(err.contains("scheduled for deletion on"), "{err}");

    let st = stats(&rt, &serve);
    let ops = &st["s3"]["by_operation"];
    let n = |op: &str| ops[op].as_u64().unwrap_or(0);
    // One bucket per mode: created, tagged, encrypted by default, given the expiry rule,
    // and deleted after a tag check.
    for op in [
        "CreateBucket",
        "PutBucketTagging",
        "PutBucketEncryption",
        "PutBucketLifecycleConfiguration",
        "GetBucketTagging",
        "DeleteBucket",
    ] {
        assert_eq!(n(op), 4, "{op}: {ops}");
    }
    // The probe PUT per mode plus the run's writes and the prefill.
    assert!(n("PutObject") >= 4 + 4 * 10, "{ops}");
    assert!(n("GetObject") > 0, "{ops}");
    let kms = &st["kms"]["by_api"];
    assert_eq!(kms["CreateKey"], 1, "{kms}");
    assert_eq!(kms["ScheduleKeyDeletion"], 1, "{kms}");
    // Writer and reader signed with their own profiles' keys: both appear as KMS requesters.
    let requesters: std::collections::BTreeSet<&str> = st["kms"]["calls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["via"] == "s3")
        .filter_map(|c| c["requester"].as_str())
        .collect();
    assert_eq!(
        requesters,
        [serve.creds[0].0.as_str(), serve.creds[1].0.as_str()]
            .into_iter()
            .collect(),
    );

    // Nothing is left; the key is pending deletion and tagged with the run.
    let summary: serde_json::Value = common::read_summary(&out_dir);
    let t = &summary["target"];
    assert_eq!(t["kind"], "aws");
    assert_eq!(t["region"], "eu-central-1");
    assert_eq!(t["kms_counts"], "predicted");
    assert_eq!(t["buckets"].as_array().unwrap().len(), 4);
    assert_eq!(t["left_behind"].as_array().unwrap().len(), 0);
    assert!(t.get("skipped_modes").is_none(), "{t}");
    let arn = t["created_key"]["arn"].as_str().unwrap().to_owned();
    assert!(
        t["created_key"]["fate"]
            .as_str()
            .unwrap()
            .starts_with("scheduled for deletion on"),
        "{t}"
    );
    assert_eq!(t["kms_key_arn"].as_str(), Some(arn.as_str()));
    let client = serve.kms_client(&rt);
    let meta = rt
        .block_on(client.describe_key().key_id(&arn).send())
        .unwrap()
        .key_metadata
        .unwrap();
    assert_eq!(
        meta.key_state().map(|s| s.as_str()),
        Some("PendingDeletion")
    );
    let tags = rt
        .block_on(client.list_resource_tags().key_id(&arn).send())
        .unwrap();
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.tag_key() == "sse-bench:run" && !t.tag_value().is_empty()),
        "{tags:?}"
    );
    let s3 = serve.s3_client(&rt);
    let left = rt.block_on(s3.list_buckets().send()).unwrap();
    assert!(left.buckets().is_empty(), "{:?}", left.buckets());

    // The summary holds no secret from the credentials file.
    let text = std::fs::read_to_string(out_dir.join("summary.json")).unwrap();
    for (_, secret) in &serve.creds {
        assert!(!text.contains(secret.as_str()));
        assert!(!err.contains(secret.as_str()));
    }
}

#[test]
fn unmapped_principals_on_aws_are_refused_before_any_request() {
    let serve = common::spawn_serve_with(&["--requesters", "2"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(tmp.path(), false);
    let before = stats(&rt, &serve);
    let (code, _, err) = run(
        &serve,
        tmp.path(),
        &["run", sc.to_str().unwrap(), "--target", "aws"],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("[target.principals]") && err.contains("missing: w, r"),
        "{err}"
    );
    let after = stats(&rt, &serve);
    assert_eq!(after["s3"]["requests"], before["s3"]["requests"]);
    assert_eq!(after["kms"]["total"], before["kms"]["total"]);
}

#[test]
fn a_missing_key_is_not_created_silently_on_aws() {
    let serve = common::spawn_serve_with(&["--requesters", "2"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(tmp.path(), true);
    let (code, _, err) = output(&mut aws_run(
        &serve,
        tmp.path(),
        &sc,
        &["--kms-key", "alias/does-not-exist"],
    ));
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("alias/does-not-exist") && err.contains("--create-key"),
        "{err}"
    );
    let st = stats(&rt, &serve);
    assert!(st["kms"]["by_api"].get("CreateKey").is_none(), "{st}");
    assert!(
        st["s3"]["by_operation"].get("CreateBucket").is_none(),
        "{st}"
    );
}

#[test]
fn an_interrupted_aws_run_still_cleans_up_and_retires_its_key() {
    let serve = common::spawn_serve_with(&["--requesters", "2"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("long.toml");
    std::fs::write(
        &sc,
        "version = 1\nname = \"long\"\nmodes = [\"sse-kms\"]\n[target]\nkind = \"aws\"\nregion = \"eu-central-1\"\n[workload]\nkeys = 20\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\nduration = \"60s\"\nrate = 100\n",
    )
    .unwrap();
    let out = tmp.path().join("out");
    let child = aws_run(&serve, tmp.path(), &sc, &["--create-key", "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) until the run has measured two seconds.
    let series = out.join("timeseries.csv.partial");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::read_to_string(&series).map_or(0, |t| t.lines().count()) < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started measuring"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .unwrap()
            .success()
    );
    let done = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&done.stderr);
    assert_eq!(done.status.code(), Some(130), "{err}");
    let st = stats(&rt, &serve);
    assert_eq!(st["s3"]["by_operation"]["DeleteBucket"], 1, "{st}");
    assert_eq!(st["kms"]["by_api"]["ScheduleKeyDeletion"], 1, "{st}");
    let summary: serde_json::Value = common::read_summary(&out);
    assert_eq!(summary["complete"], false);
    assert_eq!(summary["target"]["left_behind"], serde_json::json!([]));
    assert!(
        summary["target"]["created_key"]["fate"]
            .as_str()
            .unwrap()
            .starts_with("scheduled for deletion"),
        "{err}"
    );
}

/// A loopback stand-in for STS (AWS's STS cannot exist here): answers every request with
/// an AssumeRole response carrying `creds`, and hands each request body to the test.
fn fake_sts(creds: (String, String)) -> (String, std::sync::mpsc::Receiver<String>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(mut s) = stream else { break };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // Headers, then Content-Length bytes of body.
            let body = loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break String::new();
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        break body.to_owned();
                    }
                }
            };
            let _ = tx.send(body);
            let xml = format!(
                "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey><SessionToken>session-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/reader/s</Arn><AssumedRoleId>AROAEXAMPLE:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></AssumeRoleResponse>",
                creds.0, creds.1
            );
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                xml.len()
            );
        }
    });
    (url, rx)
}

#[test]
fn a_principal_mapped_to_a_role_signs_with_the_assumed_role() {
    let serve = common::spawn_serve_with(&["--requesters", "2"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let (sts, requests) = fake_sts(serve.creds[1].clone());
    let sc = tmp.path().join("role.toml");
    std::fs::write(
        &sc,
        "version = 1\nname = \"role\"\nmodes = [\"sse-kms\"]\n[target]\nkind = \"aws\"\nregion = \"eu-central-1\"\n[target.principals]\nw = { profile = \"bench-writer\" }\nr = { role_arn = \"arn:aws:iam::123456789012:role/reader\", external_id = \"bench\" }\n[workload]\nkeys = 10\nsize = \"1KiB\"\nmix = { put = 1, get = 1 }\nwriters = [\"w\"]\nreaders = [\"r\"]\n[[phases]]\nname = \"m\"\noperations = 20\nconcurrency = 2\n",
    )
    .unwrap();
    let out = aws_run(&serve, tmp.path(), &sc, &["--create-key", "--out"])
        .arg(tmp.path().join("out"))
        .env("AWS_ENDPOINT_URL_STS", &sts)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let body = requests.try_recv().expect("STS was asked");
    assert!(body.contains("Action=AssumeRole"), "{body}");
    assert!(
        body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Freader"),
        "{body}"
    );
    assert!(body.contains("RoleSessionName=sse-bench-"), "{body}");
    assert!(body.contains("ExternalId=bench"), "{body}");
    // The reader's GETs made S3 call KMS as the assumed role's key, the writer's as its own.
    let st = stats(&rt, &serve);
    let by = |who: &str, api: &str| -> u64 {
        st["kms"]["calls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["via"] == "s3" && c["requester"] == who && c["api"] == api)
            .map(|c| c["count"].as_u64().unwrap())
            .sum()
    };
    assert!(by(&serve.creds[1].0, "Decrypt") > 0, "{st}");
    assert_eq!(by(&serve.creds[1].0, "GenerateDataKey"), 0, "{st}");
    assert!(by(&serve.creds[0].0, "GenerateDataKey") > 0, "{st}");
}

/// KMS calls S3 made for the run's buckets, by mode bucket, from serve's exact counts.
fn served_kms_by_bucket(st: &serde_json::Value) -> std::collections::BTreeMap<String, u64> {
    let mut out = std::collections::BTreeMap::new();
    for c in st["kms"]["calls"].as_array().unwrap() {
        if c["via"] == "s3" && (c["api"] == "GenerateDataKey" || c["api"] == "Decrypt") {
            *out.entry(c["bucket"].as_str().unwrap().to_owned())
                .or_default() += c["count"].as_u64().unwrap();
        }
    }
    out
}

/// docs/aws-behaviour.md §7: after a run on the aws target, CloudTrail's event history
/// gives the run's own KMS calls per mode, equal to what the simulator counted, with
/// another workload's calls in the same account left out.
#[test]
fn cloudtrail_counts_the_runs_own_kms_calls_and_leaves_out_the_rest() {
    let serve = common::spawn_serve_with(&["--requesters", "2"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // Another workload of the account: KMS calls for a bucket that is not the run's.
    let kms = serve.kms_client(&rt);
    let other = rt
        .block_on(kms.create_key().description("another workload").send())
        .unwrap()
        .key_metadata
        .unwrap()
        .arn
        .unwrap();
    for _ in 0..3 {
        rt.block_on(
            kms.generate_data_key()
                .key_id(&other)
                .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
                .encryption_context("aws:s3:arn", "arn:aws:s3:::someone-elses-bucket/x")
                .send(),
        )
        .unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let (out_dir, stdout, err) = mapped_run_with_created_key(&serve, tmp.path());
    assert!(
        stdout.contains("KMS calls measured (CloudTrail)"),
        "{stdout}\n{err}"
    );
    let summary: serde_json::Value = common::read_summary(&out_dir);
    // The aws target's summary, CloudTrail counts and lower bounds included, fits the schema.
    let errors = common::schema_errors(&summary);
    assert!(errors.is_empty(), "{errors:#?}");
    let trail = &summary["kms_cloudtrail"];
    assert_eq!(trail["scope"], "measured (CloudTrail)");
    assert_eq!(trail["excluded_events"], 3, "{trail}");
    let served = served_kms_by_bucket(&stats(&rt, &serve));
    let mut total = 0;
    for (mode, m) in trail["per_mode"].as_object().unwrap() {
        let by_bucket = m["by_bucket"].as_object().unwrap();
        assert_eq!(by_bucket.len(), 1, "{mode}: one bucket per mode");
        for (bucket, n) in by_bucket {
            assert_eq!(n.as_u64(), served.get(bucket).copied(), "{mode} {bucket}");
        }
        assert_eq!(
            m["calls"],
            m["by_bucket"]
                .as_object()
                .unwrap()
                .values()
                .map(|v| v.as_u64().unwrap())
                .sum::<u64>()
        );
        total += m["calls"].as_u64().unwrap();
    }
    let run_buckets: u64 = served
        .iter()
        .filter(|(b, _)| b.as_str() != "someone-elses-bucket")
        .map(|(_, n)| *n)
        .sum();
    assert_eq!(total, run_buckets);
    assert!(total > 0);
    assert!(
        trail["per_mode"].get("sse-s3").is_none(),
        "SSE-S3 calls no KMS"
    );
}
