//! A foreign client against `sse-bench serve`: boto3 (installed by `.ci/run`).

use crate::common;

use std::process::Command;

#[test]
fn boto3_drives_the_standalone_simulator() {
    let serve = common::spawn_serve();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/boto3_client.py");
    let out = Command::new("python3")
        .args([
            script,
            &serve.s3,
            &serve.kms,
            &serve.admin,
            &serve.access_key,
            &serve.secret_key,
        ])
        .output()
        .expect("python3 runs (install boto3: .ci/run does)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "boto3 client failed:\n{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("boto3 interop: ok"));
}
