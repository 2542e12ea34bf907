//! The Kubernetes manifests and the Dockerfile, checked offline (no kubectl, no docker):
//! the Indexed Job's fields agree with each other, with the ConfigMap and the service
//! account, its arguments are accepted by the real CLI (`--dry-run`, which touches
//! nothing), the scenario it mounts is valid, and the Dockerfile builds the way the
//! README says, as the user the Job runs as.

use crate::common;

use std::path::Path;
use std::process::Command;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// YAML documents as JSON, through PyYAML (installed by `.ci/run`).
fn yaml(path: &Path) -> Vec<serde_json::Value> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d]))",
        ])
        .arg(path)
        .output()
        .expect("python3 runs (PyYAML: .ci/run installs it)");
    assert!(
        out.status.success(),
        "{}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn one(path: &str, kind: &str) -> serde_json::Value {
    let docs = yaml(&root().join(path));
    let found: Vec<_> = docs.into_iter().filter(|d| d["kind"] == kind).collect();
    assert_eq!(found.len(), 1, "{path}: one {kind}");
    found.into_iter().next().unwrap()
}

#[test]
fn the_indexed_job_is_consistent_and_its_arguments_run() {
    let job = one("deploy/kubernetes/job.yaml", "Job");
    let cm = one("deploy/kubernetes/scenario-configmap.yaml", "ConfigMap");
    let sa = one("deploy/kubernetes/serviceaccount.yaml", "ServiceAccount");
    assert_eq!(job["apiVersion"], "batch/v1");
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert!(n >= 2);
    assert_eq!(spec["parallelism"].as_u64(), Some(n), "all workers at once");
    assert_eq!(
        spec["backoffLimit"], 0,
        "a retried shard would miss the barrier"
    );
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_eq!(pod["serviceAccountName"], sa["metadata"]["name"]);
    assert!(
        sa["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:iam::"),
        "IRSA role"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let containers = pod["containers"].as_array().unwrap();
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    assert!(
        c.get("env")
            .is_none_or(|e| !e.to_string().contains("AWS_SECRET")),
        "no keys in the manifest"
    );
    let args: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect();
    let value = |flag: &str| -> String {
        let i = args
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("{flag} in {args:?}"));
        args[i + 1].clone()
    };
    assert_eq!(args[0], "run");
    assert_eq!(value("--shards"), n.to_string(), "--shards = completions");
    assert!(value("--out").starts_with("s3://") && value("--out").contains("{shard}"));
    assert!(!value("--start-at").is_empty());
    // The scenario comes from the ConfigMap, at the path the arguments name.
    let vol = pod["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["configMap"]["name"] == cm["metadata"]["name"])
        .expect("the ConfigMap is mounted");
    let mount = c["volumeMounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == vol["name"])
        .unwrap();
    let scenario_arg = &args[1];
    let (dir, file) = scenario_arg.rsplit_once('/').unwrap();
    assert_eq!(mount["mountPath"].as_str(), Some(dir));
    let text = cm["data"][file]
        .as_str()
        .expect("the scenario file in the ConfigMap");

    let tmp = tempfile::tempdir().unwrap();
    let sc = tmp.path().join(file);
    std::fs::write(&sc, text).unwrap();
    let o = common::sse_bench_command()
        .arg("validate")
        .arg(&sc)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // The same arguments, as worker 1 would see them, through the real CLI: --dry-run.
    let mut dry: Vec<String> = args.clone();
    dry[1] = sc.display().to_string();
    for a in &mut dry {
        if a == "__START_AT__" {
            *a = "+1s".into();
        }
    }
    dry.push("--dry-run".into());
    let o = common::sse_bench_command()
        .args(&dry)
        .env("JOB_COMPLETION_INDEX", "1")
        .env_remove("AWS_ACCESS_KEY_ID")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{dry:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("dry run: nothing is created"), "{out}");
    assert!(out.contains(&format!("shard 1/{n}")), "{out}");
    // The Job's cost ceiling lets its own scenario start.
    let predicted: f64 = out
        .split("predicted cost: $")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    let max: f64 = value("--max-cost").parse().unwrap();
    assert!(
        predicted <= max,
        "predicted ${predicted} > --max-cost {max}"
    );
    // Out of range for the Job: refused.
    let o = common::sse_bench_command()
        .args(&dry)
        .env("JOB_COMPLETION_INDEX", n.to_string())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));

    // The image runs as the Job's user.
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let user = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert_eq!(
        pod["securityContext"]["runAsUser"]
            .as_u64()
            .map(|u| u.to_string()),
        Some(user.trim().to_owned())
    );
}

#[test]
fn the_dockerfile_builds_as_the_readme_says() {
    let dockerfile = std::fs::read_to_string(root().join("Dockerfile")).unwrap();
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter(|l| l.starts_with("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "multi-stage: build, then runtime");
    assert!(froms[0].contains("rust:") && froms[0].contains(" AS build"));
    assert!(
        !froms[1].contains("rust"),
        "the runtime image has no toolchain"
    );
    let builds: Vec<&str> = dockerfile
        .lines()
        .filter_map(|l| l.strip_prefix("RUN "))
        .filter(|l| l.starts_with("cargo "))
        .collect();
    assert_eq!(builds.len(), 1);
    assert!(
        readme.contains(builds[0]),
        "the README shows the build step `{}`",
        builds[0]
    );
    assert!(readme.contains(
        "docker build --build-arg SSE_BENCH_GIT_COMMIT=$(git rev-parse HEAD) -t sse-bench ."
    ));
    assert!(
        dockerfile.contains("ARG SSE_BENCH_GIT_COMMIT"),
        "the build stage takes the commit"
    );
    // The toolchain in the image is the one the crate declares.
    let cargo = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let rust_version = cargo
        .lines()
        .find_map(|l| l.strip_prefix("rust-version = "))
        .unwrap()
        .trim_matches('"');
    assert!(
        froms[0].contains(&format!("rust:{rust_version}")),
        "{}",
        froms[0]
    );
    assert!(
        dockerfile
            .lines()
            .any(|l| l.starts_with("USER ") && !l.contains("root"))
    );
}
