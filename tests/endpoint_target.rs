//! The same run against an endpoint: `sse-bench serve` as a separate process,
//! reached through `--target URL` with credentials from the environment.

mod common;

use std::process::Command;

#[test]
fn run_against_sse_bench_serve_as_an_endpoint() {
    let serve = common::spawn_serve();
    let (s3, kms, ak, sk) = (&serve.s3, &serve.kms, &serve.access_key, &serve.secret_key);
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("ep.toml");
    std::fs::write(
        &scenario,
        format!(
            "version = 1\nname = \"ep\"\nmodes = [\"sse-s3\", \"sse-kms\"]\n[target]\nkind = \"endpoint\"\nendpoint = \"{s3}\"\nkms_endpoint = \"{kms}\"\n[workload]\nkeys = 20\nsize = \"2KiB\"\nmix = {{ put = 1, get = 1 }}\n[[phases]]\nname = \"m\"\noperations = 100\nconcurrency = 4\n"
        ),
    )
    .unwrap();
    let out = tmp.path().join("out");
    let run = Command::new(env!("CARGO_BIN_EXE_sse-bench"))
        .args(["-q", "--format", "json", "run"])
        .arg(&scenario)
        .arg("--out")
        .arg(&out)
        .env("AWS_ACCESS_KEY_ID", ak)
        .env("AWS_SECRET_ACCESS_KEY", sk)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(summary["target"]["kind"], "endpoint");
    assert_eq!(summary["target"]["kms_counts"], "unavailable");
    for r in summary["results"].as_array().unwrap() {
        assert_eq!(r["errors"].as_object().unwrap().len(), 0, "{r}");
    }
    let total: u64 = summary["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 200, "100 operations per mode");
    assert!(
        !String::from_utf8_lossy(&run.stdout).contains(sk.as_str()),
        "no secret in the output"
    );
}
