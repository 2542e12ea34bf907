//! The same run against an endpoint: `sse-bench serve` as a separate process,
//! reached through `--target URL` with credentials from the environment.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn run_against_sse_bench_serve_as_an_endpoint() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sse-bench"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let (mut s3, mut kms, mut creds) = (None, None, None);
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        let value = |l: &str| l.split_whitespace().nth(2).map(str::to_owned);
        if line.contains("S3 endpoint:") {
            s3 = value(&line);
        } else if line.contains("KMS endpoint:") {
            kms = value(&line);
        } else if line.contains("AWS_ACCESS_KEY_ID=") && creds.is_none() {
            let v: Vec<String> = line
                .split_whitespace()
                .filter_map(|p| p.split_once('=').map(|x| x.1.to_owned()))
                .collect();
            creds = Some((v[0].clone(), v[1].clone()));
        } else if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let (s3, kms, (ak, sk)) = (s3.unwrap(), kms.unwrap(), creds.unwrap());
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
        .env("AWS_ACCESS_KEY_ID", &ak)
        .env("AWS_SECRET_ACCESS_KEY", &sk)
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
        !String::from_utf8_lossy(&run.stdout).contains(&sk),
        "no secret in the output"
    );
}
