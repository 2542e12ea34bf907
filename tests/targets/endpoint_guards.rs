//! Real-target safety against `sse-bench serve` as an endpoint: the cost guard and
//! `--dry-run` send nothing, a run deletes exactly what it created (a bucket made
//! by hand beforehand is untouched), `--keep` keeps it, cleanup leaves alone a
//! bucket that lost the run's tag, and the admin endpoint gives exact KMS counts.

use crate::common;

use std::path::Path;

fn scenario(dir: &Path, serve: &common::ServeProcess, admin: bool) -> std::path::PathBuf {
    let p = dir.join("guard.toml");
    let admin = if admin {
        format!("admin_endpoint = \"{}\"\n", serve.admin)
    } else {
        String::new()
    };
    std::fs::write(
        &p,
        format!(
            "version = 1\nname = \"guard\"\nmodes = [\"sse-s3\", \"sse-kms\"]\n[target]\nkind = \"endpoint\"\nendpoint = \"{}\"\nkms_endpoint = \"{}\"\n{admin}[workload]\nkeys = 20\nsize = \"2KiB\"\nmix = {{ put = 1, get = 1 }}\n[[phases]]\nname = \"m\"\noperations = 100\nconcurrency = 4\n",
            serve.s3, serve.kms
        ),
    )
    .unwrap();
    p
}

fn run(serve: &common::ServeProcess, args: &[&str]) -> (i32, String, String) {
    let out = common::sse_bench_command()
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &serve.access_key)
        .env("AWS_SECRET_ACCESS_KEY", &serve.secret_key)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The simulator's own request counts (S3 requests, KMS calls).
fn requests(rt: &tokio::runtime::Runtime, serve: &common::ServeProcess) -> (u64, u64) {
    let (status, body) = rt.block_on(common::http("GET", &format!("{}/stats", serve.admin)));
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (
        v["s3"]["requests"].as_u64().unwrap(),
        v["kms"]["total"].as_u64().unwrap(),
    )
}

fn s3(rt: &tokio::runtime::Runtime, serve: &common::ServeProcess) -> aws_sdk_s3::Client {
    serve.s3_client(rt)
}

fn buckets(rt: &tokio::runtime::Runtime, c: &aws_sdk_s3::Client) -> Vec<String> {
    rt.block_on(c.list_buckets().send())
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect()
}

#[test]
fn cost_guard_and_dry_run_touch_nothing() {
    let serve = common::spawn_serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(tmp.path(), &serve, false);
    let sc = sc.to_str().unwrap();
    let before = requests(&rt, &serve);

    let (code, out, err) = run(&serve, &["run", sc, "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("dry run") && out.contains("sse-bench-xxxxxxxx-sse-kms-main"),
        "{out}"
    );
    assert!(out.contains("predicted cost: $"), "{out}");

    let (code, _, err) = run(&serve, &["run", sc, "--max-cost", "0.0000001"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("above --max-cost"), "{err}");
    assert_eq!(
        requests(&rt, &serve),
        before,
        "the simulator saw no request at all"
    );
    assert!(!tmp.path().join("results").exists());
}

#[test]
fn a_run_cleans_up_only_what_it_created() {
    let serve = common::spawn_serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = s3(&rt, &serve);
    // Someone else's bucket, with an object, made before the run.
    rt.block_on(client.create_bucket().bucket("not-ours").send())
        .unwrap();
    rt.block_on(
        client
            .put_object()
            .bucket("not-ours")
            .key("keep-me")
            .body(b"x".to_vec().into())
            .send(),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(tmp.path(), &serve, true);
    let out_dir = tmp.path().join("out");
    let (code, _, err) = run(
        &serve,
        &[
            "-q",
            "run",
            sc.to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        buckets(&rt, &client),
        vec!["not-ours".to_owned()],
        "only the run's buckets are gone"
    );
    rt.block_on(
        client
            .head_object()
            .bucket("not-ours")
            .key("keep-me")
            .send(),
    )
    .unwrap();

    let summary: serde_json::Value = common::read_summary(&out_dir);
    assert_eq!(summary["target"]["buckets"].as_array().unwrap().len(), 2);
    assert_eq!(
        summary["target"]["left_behind"].as_array().unwrap().len(),
        0
    );
    // Exact KMS counts through the admin endpoint, equal to the model's prediction.
    assert_eq!(summary["target"]["kms_counts"], "measured");
    let kms = summary["kms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["mode"] == "sse-kms")
        .unwrap();
    assert_eq!(kms["source"], "measured");
    assert_eq!(kms["calls"], 100);
    assert_eq!(kms["predicted"]["calls"], 100.0);

    // --keep leaves them, tagged with the run id.
    let (code, _, err) = run(
        &serve,
        &[
            "-q",
            "run",
            sc.to_str().unwrap(),
            "--out",
            tmp.path().join("kept").to_str().unwrap(),
            "--keep",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let kept: Vec<String> = buckets(&rt, &client)
        .into_iter()
        .filter(|b| b != "not-ours")
        .collect();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let tags = rt
        .block_on(client.get_bucket_tagging().bucket(&kept[0]).send())
        .unwrap();
    assert!(tags.tag_set().iter().any(|t| t.key() == "sse-bench:run"));
    let lc = rt
        .block_on(
            client
                .get_bucket_lifecycle_configuration()
                .bucket(&kept[0])
                .send(),
        )
        .unwrap();
    assert_eq!(lc.rules()[0].expiration().and_then(|e| e.days()), Some(1));
}

#[test]
fn cleanup_leaves_a_bucket_without_the_run_tag_alone() {
    let serve = common::spawn_serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = s3(&rt, &serve);
    // A run's bucket whose tag was changed by someone: cleanup must not delete it.
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("sse-bench-abcd1234-sse-kms-main")
            .send()
            .await
            .unwrap();
        let tagging = aws_sdk_s3::types::Tagging::builder()
            .tag_set(
                aws_sdk_s3::types::Tag::builder()
                    .key("sse-bench:run")
                    .value("someone-else")
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        client
            .put_bucket_tagging()
            .bucket("sse-bench-abcd1234-sse-kms-main")
            .tagging(tagging)
            .send()
            .await
            .unwrap();
    });
    // And one with no tags at all, with an object in it.
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("sse-bench-abcd1234-sse-s3-main")
            .send()
            .await
            .unwrap();
        client
            .put_object()
            .bucket("sse-bench-abcd1234-sse-s3-main")
            .key("k")
            .body(b"x".to_vec().into())
            .send()
            .await
            .unwrap();
    });
    let mut target = sse_bench::targets::Target::for_clients(vec![client.clone()]);
    target
        .created
        .insert("sse-bench-abcd1234-sse-kms-main".into());
    target
        .created
        .insert("sse-bench-abcd1234-sse-s3-main".into());
    let left = rt.block_on(target.cleanup("abcd1234"));
    assert_eq!(left.len(), 2, "{left:?}");
    let why = |b: &str| {
        left.iter()
            .find(|l| l.what == format!("bucket {b}"))
            .map(|l| l.why.clone())
            .unwrap()
    };
    assert!(
        why("sse-bench-abcd1234-sse-kms-main").contains("not tagged"),
        "{left:?}"
    );
    assert!(
        why("sse-bench-abcd1234-sse-s3-main").contains("cannot read its tags"),
        "{left:?}"
    );
    assert!(
        left.iter().all(|l| l.remove.starts_with("aws s3 rb s3://")),
        "{left:?}"
    );
    let now = buckets(&rt, &client);
    assert!(now.contains(&"sse-bench-abcd1234-sse-kms-main".to_owned()));
    assert!(now.contains(&"sse-bench-abcd1234-sse-s3-main".to_owned()));
    rt.block_on(
        client
            .head_object()
            .bucket("sse-bench-abcd1234-sse-s3-main")
            .key("k")
            .send(),
    )
    .expect("the untagged bucket's object is still there");
}

/// S3 operation counts the simulator served.
fn s3_ops(rt: &tokio::runtime::Runtime, serve: &common::ServeProcess) -> serde_json::Value {
    let (status, body) = rt.block_on(common::http("GET", &format!("{}/stats", serve.admin)));
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["s3"]["by_operation"].clone()
}

#[test]
fn a_reused_bucket_keeps_its_settings_and_other_objects() {
    let serve = common::spawn_serve();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = s3(&rt, &serve);
    rt.block_on(async {
        client
            .create_bucket()
            .bucket("shared")
            .send()
            .await
            .unwrap();
        for key in ["other/keep-me", "taken/x"] {
            client
                .put_object()
                .bucket("shared")
                .key(key)
                .body(b"x".to_vec().into())
                .send()
                .await
                .unwrap();
        }
    });
    let tmp = tempfile::tempdir().unwrap();
    let sc = scenario(tmp.path(), &serve, true);
    let sc = sc.to_str().unwrap();

    // A prefix with objects under it is refused before anything is written.
    let puts = s3_ops(&rt, &serve)["PutObject"].as_u64().unwrap();
    let (code, _, err) = run(
        &serve,
        &[
            "-q",
            "run",
            sc,
            "--bucket",
            "shared",
            "--key-prefix",
            "taken",
            "--out",
            tmp.path().join("refused").to_str().unwrap(),
        ],
    );
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("already has objects under taken/"), "{err}");
    assert_eq!(s3_ops(&rt, &serve)["PutObject"].as_u64().unwrap(), puts);

    // A bucket role the scenario does not have is a usage error.
    let (code, _, err) = run(&serve, &["-q", "run", sc, "--bucket", "logs=shared"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("no bucket role \"logs\""), "{err}");

    let out_dir = tmp.path().join("out");
    let (code, _, err) = run(
        &serve,
        &[
            "-q",
            "run",
            sc,
            "--bucket",
            "shared",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{err}");
    let summary: serde_json::Value = common::read_summary(&out_dir);
    let prefix = summary["target"]["key_prefix"].as_str().unwrap().to_owned();
    assert!(
        prefix.starts_with("sse-bench-") && prefix.ends_with('/'),
        "{prefix}"
    );
    assert_eq!(
        summary["target"]["reused_buckets"],
        serde_json::json!(["shared"])
    );
    assert_eq!(summary["target"]["buckets"], serde_json::json!([]));
    // Writes carried the mode's headers: SSE-KMS made exactly the predicted KMS calls.
    let kms = summary["kms"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["mode"] == "sse-kms")
        .unwrap();
    assert_eq!(kms["calls"], 100);
    assert_eq!(kms["predicted"]["calls"], 100.0);
    // Only what was there before is left; the bucket was not reconfigured.
    let keys: Vec<String> = rt
        .block_on(client.list_objects_v2().bucket("shared").send())
        .unwrap()
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    assert_eq!(keys, vec!["other/keep-me".to_owned(), "taken/x".to_owned()]);
    let ops = s3_ops(&rt, &serve);
    for op in [
        "PutBucketEncryption",
        "PutBucketTagging",
        "PutBucketLifecycleConfiguration",
        "DeleteBucket",
    ] {
        assert!(ops.get(op).is_none(), "{op} was sent: {ops}");
    }
    assert_eq!(buckets(&rt, &client), vec!["shared".to_owned()]);
}

#[test]
fn real_target_flags_are_refused_on_the_embedded_simulator() {
    for flags in [
        &["--create-key"][..],
        &["--bucket", "shared"][..],
        &["--kms-key", "alias/a", "--create-key", "--target", "aws"][..],
        &["--target", "aws", "--key-prefix", "p/"][..],
    ] {
        let out = common::sse_bench_command()
            .args(["run", "scenarios/quickstart.toml"])
            .args(flags)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("AWS_ACCESS_KEY_ID")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {err}");
        assert!(
            err.contains("--create-key") || err.contains("--key-prefix"),
            "{flags:?}: {err}"
        );
    }
}
