//! Three shards of one scenario as three processes against one `sse-bench serve`, with
//! a common `--start-at`; one shard writes its results straight to S3 (the simulator's),
//! then `merge` adds them up: operations, histograms (identical to one histogram of the
//! union of recorded values), KMS calls (equal to the simulator's own total) and the
//! open-loop rate. Mismatched and missing shards are refused.

use crate::common;

use base64::Engine as _;
use hdrhistogram::serialization::Deserializer;
use std::path::{Path, PathBuf};

const RATE: f64 = 300.0;
const SECONDS: f64 = 3.0;

fn scenario(dir: &Path, serve: &common::ServeProcess) -> PathBuf {
    let p = dir.join("sharded.toml");
    // No prefill and no warm-up: every KMS call the simulator serves is a measured one.
    std::fs::write(
        &p,
        format!(
            "version = 1\nname = \"sharded\"\nmodes = [\"sse-s3\", \"sse-kms\", \"sse-kms-bucket-key\"]\n[target]\nkind = \"endpoint\"\nendpoint = \"{}\"\nkms_endpoint = \"{}\"\nadmin_endpoint = \"{}\"\n[workload]\nkeys = 300\nsize = \"1KiB\"\nmix = {{ put = 1, get = 2 }}\nprefill = false\n[[phases]]\nname = \"steady\"\nduration = \"{SECONDS}s\"\nrate = {RATE}\n",
            serve.s3, serve.kms, serve.admin
        ),
    )
    .unwrap();
    p
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Copies every object under `prefix` of the results bucket into `into`.
fn download(
    rt: &tokio::runtime::Runtime,
    s3: &aws_sdk_s3::Client,
    prefix: &str,
    into: &Path,
) -> PathBuf {
    rt.block_on(async {
        let list = s3
            .list_objects_v2()
            .bucket("bench-results")
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        for o in list.contents() {
            let key = o.key().unwrap();
            let dest = into.join(key.strip_prefix(prefix).unwrap());
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            let body = s3
                .get_object()
                .bucket("bench-results")
                .key(key)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
            std::fs::write(dest, body).unwrap();
        }
    });
    into.to_owned()
}

fn merge(serve: &common::ServeProcess, inputs: &[&str], out: &Path) -> (i32, String) {
    let o = serve
        .sse_bench()
        .args(["-q", "merge"])
        .args(inputs)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn three_shards_merge_into_exactly_the_scenario() {
    // The merged rate and the barrier are judged: the machine to itself.
    let _turn = common::turns::timed();
    let serve = common::spawn_serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(tmp.path(), &serve);
    // The results store for the shard that writes to S3.
    let s3 = serve.s3_client(&rt);
    rt.block_on(s3.create_bucket().bucket("bench-results").send())
        .unwrap();
    let before = common::kms_crypto_total(&rt, &serve.admin);

    let start = (time::OffsetDateTime::now_utc() + time::Duration::seconds(3))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let outs: Vec<String> = vec![
        tmp.path().join("shard-0").display().to_string(),
        tmp.path().join("shard-{shard}").display().to_string(),
        "s3://bench-results/run/shard-{shard}/".to_owned(),
    ];
    let children: Vec<_> = (0..3)
        .map(|i| {
            serve
                .sse_bench()
                .args(["-q", "run"])
                .arg(&sc)
                .args([
                    "--shard",
                    &format!("{i}/3"),
                    "--start-at",
                    &start,
                    "--out",
                    &outs[i],
                ])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let o = c.wait_with_output().unwrap();
        common::assert_exit(&o, 0);
        // A quiet worker says where its results went; the tables are merge's.
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert!(stdout.starts_with("results: "), "{stdout}");
        assert!(!stdout.contains("Latency and throughput"), "{stdout}");
    }
    let local: Vec<PathBuf> = (0..2)
        .map(|i| tmp.path().join(format!("shard-{i}")))
        .collect();
    for (i, d) in local.iter().enumerate() {
        let s = json(&d.join("summary.json"));
        assert_eq!(s["shards"]["index"], i);
        assert_eq!(s["shards"]["count"], 3);
        assert_eq!(s["shards"]["start_at"].as_str(), Some(start.as_str()));
        assert!(s["shards"]["late_by_s"].as_f64().unwrap() < 3.0);
    }
    // Shard 2 went to S3 only.
    assert!(!tmp.path().join("shard-2").exists());
    let listed = rt
        .block_on(
            s3.list_objects_v2()
                .bucket("bench-results")
                .prefix("run/shard-2/")
                .send(),
        )
        .unwrap();
    assert!(
        listed
            .contents()
            .iter()
            .any(|o| o.key() == Some("run/shard-2/summary.json")),
        "{listed:?}"
    );

    let merged = tmp.path().join("merged");
    let (code, err) = merge(
        &serve,
        &[
            local[0].to_str().unwrap(),
            local[1].to_str().unwrap(),
            "s3://bench-results/run/",
        ],
        &merged,
    );
    assert_eq!(code, 0, "{err}");
    let m = json(&merged.join("summary.json"));
    let errors = common::schema_errors(&m);
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(m["shards"]["count"], 3);
    assert_eq!(m["shards"]["merged"].as_array().unwrap().len(), 3);
    // The merged summary carries its own verdict, built from the added-up record.
    let modes = m["verdict"]["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 3);
    assert!(modes[1]["kms"]["per_1000_ops"].as_f64().unwrap() > 0.0);

    // The shards' own directories (shard 2's from S3).
    let shard_dirs: Vec<PathBuf> = vec![
        local[0].clone(),
        local[1].clone(),
        download(&rt, &s3, "run/shard-2/", &tmp.path().join("shard-2-all")),
    ];
    let records: Vec<serde_json::Value> = shard_dirs
        .iter()
        .map(|d| json(&d.join("shard.json")))
        .collect();

    for mode in ["sse-s3", "sse-kms", "sse-kms-bucket-key"] {
        let mut total = 0u64;
        for op in ["put", "get"] {
            // Every recorded value of every shard in one histogram...
            let mut union =
                hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
            let mut count = 0u64;
            for r in &records {
                for s in r["series"].as_array().unwrap() {
                    if s["key"]["mode"] == mode && s["key"]["op"] == op {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(s["corrected"].as_str().unwrap())
                            .unwrap();
                        let h: hdrhistogram::Histogram<u64> = Deserializer::new()
                            .deserialize(&mut std::io::Cursor::new(bytes))
                            .unwrap();
                        union.add(&h).unwrap();
                        count += s["count"].as_u64().unwrap();
                    }
                }
            }
            // ...has exactly the merged result's percentiles.
            let row = m["results"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["mode"] == mode && r["op"] == op)
                .unwrap();
            assert_eq!(row["count"].as_u64().unwrap(), count, "{mode} {op}");
            assert_eq!(union.len(), count, "every operation recorded once");
            let expect = sse_bench::results::record::Percentiles::of(&union);
            let got: sse_bench::results::record::Percentiles =
                serde_json::from_value(row["latency_ms"].clone()).unwrap();
            assert_eq!(got, expect, "{mode} {op}");
            total += count;
        }
        // The open-loop rate adds up to the scenario's: every arrival of the schedule once.
        assert_eq!(total, (RATE * SECONDS) as u64, "{mode}");
        let rate: f64 = m["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["mode"] == mode)
            .map(|r| r["ops_per_s"].as_f64().unwrap())
            .sum();
        assert!((rate - RATE).abs() / RATE < 0.02, "{mode}: {rate} op/s");
    }
    // KMS calls: the shards' counts add up to what the simulator served.
    let merged_calls: u64 = m["kms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["calls"].as_u64().unwrap())
        .sum();
    let served = common::kms_crypto_total(&rt, &serve.admin) - before;
    assert!(merged_calls > 0);
    assert_eq!(merged_calls, served);
    let per_shard: u64 = records
        .iter()
        .flat_map(|r| r["step_kms"].as_array().unwrap().iter())
        .flat_map(|s| s["calls"].as_array().unwrap().iter())
        .map(|c| c["count"].as_u64().unwrap())
        .sum();
    assert_eq!(per_shard, served, "no call counted by two shards");
    // Each shard made its own buckets, so each fetched its own Bucket Keys: the merged
    // prediction counts one set per shard, as the simulator did.
    for k in m["kms"].as_array().unwrap() {
        assert_eq!(k["difference"], 0.0, "measured = predicted: {k}");
    }

    // report and compare take the merged directory like any other.
    let o = serve
        .sse_bench()
        .args(["-q", "compare"])
        .arg(&merged)
        .arg(&merged)
        .output()
        .unwrap();
    common::assert_exit(&o, 0);
    assert!(merged.join("report.html").is_file());
    // Time series and interval logs: the shards' rows and intervals, added.
    let series_ops = |path: &Path| -> u64 {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .skip(1)
            .filter(|l| l.split(',').nth(5) != Some("all"))
            .map(|l| l.split(',').nth(6).unwrap().parse::<u64>().unwrap())
            .sum()
    };
    let shards_ops: u64 = shard_dirs
        .iter()
        .map(|d| series_ops(&d.join("timeseries.csv")))
        .sum();
    assert!(shards_ops > 0);
    assert_eq!(series_ops(&merged.join("timeseries.csv")), shards_ops);
    let hlog_count = |path: &Path| -> u64 {
        std::fs::read_to_string(path)
            .map(|t| {
                t.lines()
                    .filter(|l| l.starts_with("Tag="))
                    .map(|l| {
                        let b64 = l.splitn(5, ',').nth(4).unwrap();
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .unwrap();
                        let h: hdrhistogram::Histogram<u64> = Deserializer::new()
                            .deserialize(&mut std::io::Cursor::new(bytes))
                            .unwrap();
                        h.len()
                    })
                    .sum()
            })
            .unwrap_or(0)
    };
    for f in ["sse-kms.put.hlog", "sse-s3.get.hlog"] {
        let parts: u64 = shard_dirs
            .iter()
            .map(|d| hlog_count(&d.join("histograms").join(f)))
            .sum();
        assert!(parts > 0, "{f}");
        assert_eq!(hlog_count(&merged.join("histograms").join(f)), parts, "{f}");
    }

    // --format json prints the merged summary.
    let o = serve
        .sse_bench()
        .args(["--format", "json", "merge"])
        .args([
            local[0].to_str().unwrap(),
            local[1].to_str().unwrap(),
            "s3://bench-results/run/",
        ])
        .arg("--out")
        .arg(tmp.path().join("merged-json"))
        .output()
        .unwrap();
    common::assert_exit(&o, 0);
    let printed: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(printed["results"], m["results"]);

    // Refusals, exit 2: a missing shard, a shard twice, another seed, another scenario.
    let (code, err) = merge(
        &serve,
        &[local[0].to_str().unwrap(), local[1].to_str().unwrap()],
        &tmp.path().join("m2"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("missing shard 2/3"), "{err}");
    let (code, err) = merge(
        &serve,
        &[local[0].to_str().unwrap(), local[0].to_str().unwrap()],
        &tmp.path().join("m3"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("appears twice"), "{err}");
    for (field, value, says) in [
        ("seed", serde_json::json!(7), "the seed differs"),
        (
            "scenario_sha256",
            serde_json::json!("0".repeat(64)),
            "the scenario differs",
        ),
        (
            "shard",
            serde_json::json!({"index": 1, "count": 4}),
            "the shard count differs",
        ),
    ] {
        let odd = tmp.path().join(format!("odd-{field}"));
        std::fs::create_dir_all(&odd).unwrap();
        for f in ["shard.json", "scenario.toml", "summary.json"] {
            std::fs::copy(local[1].join(f), odd.join(f)).unwrap();
        }
        let mut r = json(&odd.join("shard.json"));
        r[field] = value;
        std::fs::write(odd.join("shard.json"), r.to_string()).unwrap();
        let (code, err) = merge(
            &serve,
            &[
                local[0].to_str().unwrap(),
                odd.to_str().unwrap(),
                "s3://bench-results/run/",
            ],
            &tmp.path().join(format!("m-{field}")),
        );
        assert_eq!(code, 2, "{field}: {err}");
        assert!(err.contains(says), "{field}: {err}");
        assert!(!tmp.path().join(format!("m-{field}")).exists());
    }
}

#[test]
fn a_worker_that_reaches_the_barrier_late_says_by_how_much() {
    // The merged rate and the barrier are judged: the machine to itself.
    let _turn = common::turns::timed();
    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join("late.toml");
    std::fs::write(
        &sc,
        "version = 1\nname = \"late\"\nmodes = [\"sse-s3\"]\n[workload]\nkeys = 10\nsize = \"1KiB\"\n[[phases]]\nname = \"m\"\noperations = 20\nconcurrency = 2\n",
    )
    .unwrap();
    let past = (time::OffsetDateTime::now_utc() - time::Duration::seconds(5))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let out = tmp.path().join("out");
    let o = common::sse_bench_command()
        .args(["-q", "run"])
        .arg(&sc)
        .args(["--shard", "1/2", "--start-at", &past, "--out"])
        .arg(&out)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        err.contains("shard 1/2: reached the start instant"),
        "{err}"
    );
    let s = json(&out.join("summary.json"));
    let late = s["shards"]["late_by_s"].as_f64().unwrap();
    assert!(late >= 5.0, "{late}");
    // Shard 1 of 2 ran half of the 20 operations.
    let ops: u64 = s["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["count"].as_u64().unwrap())
        .sum();
    assert_eq!(ops, 10);
    // A malformed instant is a usage error before anything starts.
    let o = common::sse_bench_command()
        .args(["-q", "run"])
        .arg(&sc)
        .args(["--start-at", "tomorrow", "--out"])
        .arg(tmp.path().join("never"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--start-at"));
    assert!(!tmp.path().join("never").exists());
}
