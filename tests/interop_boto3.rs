//! A foreign client against `sse-bench serve`: boto3 (installed by `.ci/run`).

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
fn boto3_drives_the_standalone_simulator() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sse-bench"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start sse-bench serve");
    let stdout = child.stdout.take().expect("stdout");
    let _server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    let (mut s3, mut kms, mut admin, mut creds) = (None, None, None, None);
    for line in lines.by_ref() {
        let line = line.expect("banner");
        let value = |l: &str| l.split_whitespace().nth(2).map(str::to_owned);
        if line.contains("S3 endpoint:") {
            s3 = value(&line);
        } else if line.contains("KMS endpoint:") {
            kms = value(&line);
        } else if line.contains("admin endpoint:") {
            admin = value(&line).map(|u| u.trim_end_matches("/stats").to_owned());
        } else if line.contains("AWS_ACCESS_KEY_ID=") && creds.is_none() {
            let kv: Vec<String> = line
                .split_whitespace()
                .map(|p| p.split_once('=').map(|x| x.1).unwrap_or("").to_owned())
                .collect();
            creds = Some((kv[0].clone(), kv[1].clone()));
        } else if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let (s3, kms, admin, (ak, sk)) = (s3.unwrap(), kms.unwrap(), admin.unwrap(), creds.unwrap());
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/boto3_client.py");
    let out = Command::new("python3")
        .args([script, &s3, &kms, &admin, &ak, &sk])
        .output()
        .expect("python3 runs (install boto3: .ci/run does)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "boto3 client failed:\n{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("boto3 interop: ok"));
}
