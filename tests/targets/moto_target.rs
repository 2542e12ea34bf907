//! A foreign S3-compatible server as an endpoint target: moto's server (`moto[server]`
//! from PyPI, installed and started by `.ci/run`, which exports `SSE_BENCH_MOTO_URL`;
//! started here when that is not set). moto echoes SSE-S3 and SSE-KMS (with Bucket Keys)
//! without calling a KMS, and answers DSSE-KMS without a key id: the run measures the
//! first three, skips DSSE-KMS with the reason, labels KMS counts unavailable, and
//! removes exactly the buckets it made.

use crate::common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

struct Moto {
    url: String,
    child: Option<Child>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn moto() -> Moto {
    if let Ok(url) = std::env::var("SSE_BENCH_MOTO_URL") {
        return Moto { url, child: None };
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new("python3")
        .args([
            "-m",
            "moto.server",
            "-H",
            "127.0.0.1",
            "-p",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 starts (install moto[server]: .ci/run does)");
    // Werkzeug says when it listens; anything else first means moto is missing or broken.
    let stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    for line in BufReader::new(stderr).lines().take(200) {
        let line = line.unwrap_or_default();
        if line.contains("Running on") {
            return Moto {
                url: format!("http://127.0.0.1:{port}"),
                child: Some(child),
            };
        }
        seen.push_str(&line);
        seen.push('\n');
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("moto's server did not start (install moto[server]: .ci/run does):\n{seen}");
}

fn client(rt: &tokio::runtime::Runtime, url: &str) -> aws_sdk_s3::Client {
    let _g = rt.enter();
    sse_bench::targets::s3_client(&sse_bench::targets::ClientOptions::endpoint(
        url,
        "us-east-1",
        sse_bench::targets::StaticCredentials {
            access_key_id: "testing".into(),
            secret_access_key: "testing".into(),
        },
    ))
}

#[test]
fn moto_runs_the_modes_it_honours_and_is_left_as_found() {
    let moto = moto();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let s3 = client(&rt, &moto.url);
    rt.block_on(async {
        s3.create_bucket().bucket("hand-made").send().await.unwrap();
        s3.put_object()
            .bucket("hand-made")
            .key("keep-me")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    let tmp = tempfile::tempdir().unwrap();
    // The shipped scenario the README runs, pointed at this moto.
    let sc = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/moto.toml");
    let out_dir = tmp.path().join("out");
    let out = common::sse_bench_command()
        .args([
            "run",
            sc.to_str().unwrap(),
            "--target",
            &moto.url,
            "--out",
            out_dir.to_str().unwrap(),
        ])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("probe: dsse-kms is not honoured by this target, skipped: the target answered aws:kms:dsse without a KMS key id"),
        "{stderr}"
    );
    assert!(
        stdout.contains("skipped dsse-kms: the target answered aws:kms:dsse"),
        "{stdout}"
    );

    let summary: serde_json::Value = common::read_summary(&out_dir);
    let t = &summary["target"];
    assert_eq!(t["kind"], "endpoint");
    assert_eq!(t["kms_counts"], "unavailable");
    let skipped: Vec<&str> = t["skipped_modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mode"].as_str().unwrap())
        .collect();
    assert_eq!(skipped, vec!["dsse-kms"]);
    let measured: std::collections::BTreeSet<&str> = summary["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["count"].as_u64().unwrap() > 0)
        .map(|r| r["mode"].as_str().unwrap())
        .collect();
    assert_eq!(
        measured,
        ["sse-s3", "sse-kms", "sse-kms-bucket-key"]
            .into_iter()
            .collect()
    );
    for r in summary["results"].as_array().unwrap() {
        assert_eq!(r["count"], r["ok"], "no failed operation on moto: {r}");
    }
    // The rule on the skipped mode is reported as skipped and does not fail the run.
    assert!(
        stdout
            .contains("SKIP dsse-kms.error_rate < 0.1% (dsse-kms was skipped: the target answered"),
        "{stdout}"
    );
    let rules = summary["thresholds"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["passed"], true, "{}", rules[0]);
    assert!(rules[1]["skipped"].is_string(), "{}", rules[1]);
    let md = std::fs::read_to_string(out_dir.join("summary.md")).unwrap();
    assert!(md.contains("skipped dsse-kms"), "{md}");

    // The four buckets it made (the skipped mode's too) are gone; the hand-made one is not.
    let created: Vec<String> = t["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(created.len(), 4);
    let now: Vec<String> = rt
        .block_on(s3.list_buckets().send())
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect();
    assert!(now.contains(&"hand-made".to_owned()), "{now:?}");
    for b in &created {
        assert!(!now.contains(b), "{b} left behind: {now:?}");
    }
    rt.block_on(s3.head_object().bucket("hand-made").key("keep-me").send())
        .expect("the hand-made bucket's object is untouched");
}
