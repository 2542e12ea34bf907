//! What the command line promises beyond a single command: results name the build
//! they came from wherever the tool is run, and every global option is honoured or
//! refused (exit 2), never silently ignored.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};

/// One mode, well under a second of load.
const SCENARIO: &str = r#"
version = 1
name = "contract"
modes = ["sse-s3"]
[workload]
keys = 10
size = "1KiB"
mix = { put = 1, get = 1 }
[[phases]]
name = "m"
duration = "300ms"
concurrency = 2
"#;

fn sse_bench(dir: &Path, args: &[&str]) -> Output {
    common::sse_bench_command()
        .current_dir(dir)
        .args(args)
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_owned()
}

/// Runs the scenario from `cwd`, writing into `cwd/out`; returns the summary.
fn run_in(cwd: &Path, extra: &[&str]) -> serde_json::Value {
    let _turn = common::turns::load();
    std::fs::write(cwd.join("contract.toml"), SCENARIO).unwrap();
    let mut args = vec!["-q", "run", "contract.toml", "--out", "out"];
    args.extend_from_slice(extra);
    common::assert_exit(&sse_bench(cwd, &args), 0);
    common::read_summary(cwd.join("out"))
}

#[test]
fn results_name_the_build_not_the_directory_it_runs_in() {
    let built_from = git(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["rev-parse", "HEAD"],
    );

    // Inside an unrelated repository with a commit of its own.
    let other = tempfile::tempdir().unwrap();
    git(other.path(), &["init", "-q"]);
    std::fs::write(other.path().join("f"), "x").unwrap();
    git(other.path(), &["add", "f"]);
    git(
        other.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.com",
            "commit",
            "-q",
            "-m",
            "unrelated",
        ],
    );
    let unrelated = git(other.path(), &["rev-parse", "HEAD"]);
    assert_ne!(unrelated, built_from);
    let s = run_in(other.path(), &[]);
    assert_eq!(s["tool"]["git_commit"], built_from.as_str());
    assert!(s["tool"]["git_dirty"].is_boolean(), "{}", s["tool"]);

    // Outside any repository.
    let plain = tempfile::tempdir().unwrap();
    let o = Command::new("git")
        .args(["-C", &plain.path().display().to_string(), "rev-parse"])
        .output()
        .unwrap();
    assert!(
        !o.status.success(),
        "the temporary directory is in no repository"
    );
    let s = run_in(plain.path(), &[]);
    assert_eq!(s["tool"]["git_commit"], built_from.as_str());

    // `--version` and the report say the same.
    let v = sse_bench(plain.path(), &["--version"]);
    assert!(String::from_utf8_lossy(&v.stdout).contains(&built_from));
    let html = std::fs::read_to_string(plain.path().join("out/report.html")).unwrap();
    assert!(html.contains(&built_from));
}

#[test]
fn region_on_the_embedded_target_sets_the_simulated_region_and_its_prices() {
    let tmp = tempfile::tempdir().unwrap();
    let s = run_in(tmp.path(), &["--region", "eu-west-1"]);
    assert_eq!(s["target"]["region"], "eu-west-1");
    assert_eq!(s["prices"]["region"], "eu-west-1");
    let o = sse_bench(
        tmp.path(),
        &[
            "run",
            "contract.toml",
            "--region",
            "nowhere-1",
            "--out",
            "x",
        ],
    );
    common::assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--region nowhere-1"));
    assert!(!tmp.path().join("x").exists(), "nothing written");
    // Flags of real targets are refused on the simulator, not ignored.
    for flag in [["--profile", "p"], ["--kms-key", "alias/k"]] {
        let mut args = vec!["run", "contract.toml", "--out", "y"];
        args.extend_from_slice(&flag);
        let o = sse_bench(tmp.path(), &args);
        common::assert_exit(&o, 2);
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(flag[0]),
            "{flag:?}"
        );
    }
}

#[test]
fn every_format_is_printed_or_refused() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("contract.toml"), SCENARIO).unwrap();

    let o = sse_bench(tmp.path(), &["validate", "contract.toml"]);
    common::assert_exit(&o, 0);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "contract.toml: ok (1 mode, 1 phase, 1 step)"
    );
    let o = sse_bench(
        tmp.path(),
        &["--format", "json", "validate", "contract.toml"],
    );
    common::assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v[0]["ok"], true);
    assert_eq!(v[0]["steps"], 1);

    let s = run_in(tmp.path(), &[]);
    assert_eq!(s["complete"], true);
    let o = sse_bench(
        tmp.path(),
        &["--format", "json", "report", "out", "--out", "rep"],
    );
    common::assert_exit(&o, 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(tmp.path().join(v["html"].as_str().unwrap()).exists(), "{v}");

    for (args, names) in [
        (
            vec!["--format", "csv", "compare", "out", "out"],
            "`compare` prints text, json, markdown",
        ),
        (
            vec!["--format", "markdown", "validate", "contract.toml"],
            "`validate` prints text, json",
        ),
        (
            vec!["--format", "csv", "report", "out"],
            "`report` prints text, json",
        ),
        (vec!["--format", "json", "serve"], "`serve` prints text"),
    ] {
        let o = sse_bench(tmp.path(), &args);
        common::assert_exit(&o, 2);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(names), "{args:?}: {err}");
    }
}

#[test]
fn an_endpoint_without_credentials_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("contract.toml"), SCENARIO).unwrap();
    // Port 9 on loopback: nothing is listening, and nothing must be tried.
    let o = common::sse_bench_command()
        .current_dir(tmp.path())
        .args(["run", "contract.toml", "--target", "http://127.0.0.1:9"])
        .args(["--out", "out"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .output()
        .unwrap();
    common::assert_exit(&o, 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("set AWS_ACCESS_KEY_ID"));
    assert!(!tmp.path().join("out").exists());
}

#[test]
fn dry_run_says_where_the_simulator_keeps_objects() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let line = |scenario: &str| {
        let o = sse_bench(root, &["run", scenario, "--dry-run"]);
        common::assert_exit(&o, 0);
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .find(|l| l.starts_with("simulator objects:"))
            .map(str::to_owned)
            .unwrap_or_default()
    };
    // 500 keys of 16 KiB in 4 modes.
    assert_eq!(
        line("scenarios/quickstart.toml"),
        "simulator objects: about 31 MiB, in memory"
    );
    // 16 keys of 32 MiB in 4 modes: over the budget, on disk.
    assert_eq!(
        line("scenarios/large-objects.toml"),
        "simulator objects: about 2048 MiB, in a temporary directory (over the 256 MiB kept in memory), removed at the end"
    );
}
