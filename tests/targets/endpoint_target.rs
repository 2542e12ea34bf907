//! The same run against an endpoint: `sse-bench serve` as a separate process,
//! reached through `--target URL` with credentials from the environment.

use crate::common;

use std::path::Path;

/// `sse-bench -q --format json run SCENARIO --out OUT` with endpoint credentials; it must
/// succeed. Returns stdout and the summary it printed.
fn run_json(scenario: &Path, out: &Path, ak: &str, sk: &str) -> (String, serde_json::Value) {
    let run = common::sse_bench_command()
        .args(["-q", "--format", "json", "run"])
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .env("AWS_ACCESS_KEY_ID", ak)
        .env("AWS_SECRET_ACCESS_KEY", sk)
        .output()
        .unwrap();
    common::assert_exit(&run, 0);
    let summary = serde_json::from_slice(&run.stdout).unwrap();
    (String::from_utf8_lossy(&run.stdout).into_owned(), summary)
}

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
    let (stdout, summary) = run_json(&scenario, &out, ak, sk);
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
    assert!(!stdout.contains(sk.as_str()), "no secret in the output");
}

#[test]
fn kms_direct_scenario_against_a_kms_endpoint() {
    let serve = common::spawn_serve();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = tmp.path().join("kms.toml");
    std::fs::write(
        &scenario,
        format!(
            "version = 1\nkind = \"kms\"\nname = \"kms-ep\"\n[target]\nkind = \"endpoint\"\nendpoint = \"{}\"\nkms_endpoint = \"{}\"\n[workload]\nkeys = 8\nsize = \"1KiB\"\nmix = {{ generate_data_key = 1, decrypt = 1, encrypt = 1 }}\n[[phases]]\nname = \"probe\"\noperations = 90\nconcurrency = 3\n",
            serve.s3, serve.kms
        ),
    )
    .unwrap();
    let (_, summary) = run_json(
        &scenario,
        &tmp.path().join("out"),
        &serve.access_key,
        &serve.secret_key,
    );
    let results = summary["results"].as_array().unwrap();
    let ops: Vec<&str> = results.iter().map(|r| r["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["generate_data_key", "decrypt", "encrypt"]);
    for r in results {
        assert_eq!(r["mode"], "kms-direct");
        assert_eq!(r["ok"], r["count"], "{r}");
    }
    let total: u64 = results.iter().map(|r| r["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 90);
    // The endpoint's own admin counters saw the calls the run made (plus the Decrypt pool).
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (status, body) = rt.block_on(common::http("GET", &format!("{}/stats", serve.admin)));
    assert_eq!(status, 200);
    let stats: serde_json::Value = serde_json::from_str(&body).unwrap();
    let direct = stats["kms"]["total"].as_u64().unwrap();
    assert!(direct >= 90, "{stats}");
    assert_eq!(summary["kms"][0]["predicted"]["calls"], 90.0);
}

/// The README's endpoint command: the shipped scenario, `--target` and the server's
/// credentials, nothing else. The run finds `serve`'s KMS and admin endpoints itself,
/// runs every mode and counts KMS calls exactly.
#[test]
fn the_shipped_endpoint_scenario_needs_only_the_url_of_serve() {
    let serve = common::spawn_serve();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/endpoint.toml");
    let run = common::sse_bench_command()
        .args(["--format", "json", "run"])
        .arg(&scenario)
        .args(["--target", &serve.s3, "--out"])
        .arg(tmp.path().join("out"))
        .env("AWS_ACCESS_KEY_ID", &serve.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &serve.secret_key)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    common::assert_exit(&run, 0);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("is sse-bench serve: KMS at"), "{stderr}");
    let s: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(
        s["target"]["skipped_modes"].as_array().map_or(0, Vec::len),
        0,
        "no mode skipped"
    );
    assert_eq!(s["target"]["kms_counts"], "measured");
    let modes: Vec<&str> = s["kms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["mode"].as_str().unwrap())
        .collect();
    assert_eq!(
        modes,
        ["sse-s3", "sse-kms", "sse-kms-bucket-key", "dsse-kms"]
    );
    for k in s["kms"].as_array().unwrap() {
        assert_eq!(k["difference"], 0.0, "measured = predicted: {k}");
        assert_eq!(k["source"], "measured", "{k}");
    }
    assert!(
        s["kms"][1]["calls"].as_u64().unwrap() > 0,
        "SSE-KMS called KMS"
    );
    for t in s["thresholds"].as_array().unwrap() {
        assert_eq!(t["passed"], true, "{t}");
    }
}
