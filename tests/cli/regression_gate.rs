//! `sse-bench compare` as CI uses it: verdicts, exit codes, JUnit and Markdown
//! output on copies of real results, and the real gate: `scenarios/ci-nightly.toml`
//! run twice compares clean against itself and the checked-in baseline, and a run
//! with the simulator's KMS latency doubled is flagged.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::sse_bench_output as sse_bench;

const BASELINE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/results/baselines/ci-nightly");
const RULES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/results/baselines/ci-nightly/rules.toml"
);

fn baseline() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(Path::new(BASELINE).join("summary.json")).unwrap(),
    )
    .unwrap()
}

/// Writes a modified copy of the baseline summary; returns its path.
fn variant(dir: &Path, name: &str, edit: impl FnOnce(&mut serde_json::Value)) -> PathBuf {
    let mut v = baseline();
    edit(&mut v);
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
    p
}

/// Multiplies a percentile of an operation in the selected modes by `factor`, in the
/// run's results and in every round (the gate judges the median of the rounds).
fn scale(
    v: &mut serde_json::Value,
    mode: impl Fn(&serde_json::Value) -> bool,
    op: &str,
    p: &str,
    factor: f64,
) {
    for table in ["results", "phases"] {
        for r in v[table].as_array_mut().unwrap() {
            if mode(&r["mode"]) && r["op"] == op {
                let x = r["latency_ms"][p].as_f64().unwrap();
                r["latency_ms"][p] = (x * factor).into();
            }
        }
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn identical_results_compare_unchanged() {
    let (code, out, err) = sse_bench(&["--format", "json", "compare", BASELINE, BASELINE]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.len() > 40);
    for r in rows {
        assert!(
            r["verdict"] == "unchanged" || r["verdict"] == "not_gated",
            "{r}"
        );
    }
    assert_eq!(v["regressions"], 0);
}

#[test]
fn a_p99_raised_30_percent_is_a_regression_named_by_its_row() {
    let tmp = tempfile::tempdir().unwrap();
    let cur = variant(tmp.path(), "slow", |v| {
        scale(v, |m| m == "sse-kms", "get", "p99", 1.3)
    });
    let (code, out, _) = sse_bench(&["compare", BASELINE, s(&cur), "--max-regression", "p99=10%"]);
    assert_eq!(code, 3, "{out}");
    let bad: Vec<&str> = out.lines().filter(|l| l.contains("REGRESSED")).collect();
    assert_eq!(bad.len(), 1, "{out}");
    assert!(bad[0].starts_with("sse-kms ") && bad[0].contains(" get ") && bad[0].contains("p99"));
    assert!(bad[0].contains("+30.0%"), "{}", bad[0]);
}

#[test]
fn one_more_kms_call_per_op_fails_even_with_generous_latency_tolerances() {
    let tmp = tempfile::tempdir().unwrap();
    let cur = variant(tmp.path(), "kms", |v| {
        for k in v["kms"].as_array_mut().unwrap() {
            if k["mode"] == "sse-kms" {
                let per = k["per_s3_op"].as_f64().unwrap();
                k["per_s3_op"] = (per + 1.0).into();
            }
        }
    });
    let (code, out, _) = sse_bench(&[
        "compare",
        BASELINE,
        s(&cur),
        "--max-regression",
        "p50=1000%,p99=1000%,ops=100%,kms_per_op=0%",
    ]);
    assert_eq!(code, 3, "{out}");
    let bad: Vec<&str> = out.lines().filter(|l| l.contains("REGRESSED")).collect();
    assert_eq!(bad.len(), 1, "{out}");
    assert!(bad[0].contains("sse-kms") && bad[0].contains("KMS calls/op"));
}

#[test]
fn bad_input_exits_2() {
    let tmp = tempfile::tempdir().unwrap();
    let other = variant(tmp.path(), "other", |v| {
        v["scenario"]["definition"]["phases"][1]["rate"] = 301.into();
    });
    let old = variant(tmp.path(), "old", |v| v["schema_version"] = 0.into());
    for (args, needle) in [
        (
            vec!["compare", BASELINE, BASELINE, "--max-regression", "p98=10%"],
            "unknown metric",
        ),
        (
            vec![
                "compare",
                BASELINE,
                BASELINE,
                "--max-regression",
                "dsse-kms.copy.p99=10%",
            ],
            "matches no metric",
        ),
        (vec!["compare", BASELINE, "/nonexistent"], "/nonexistent"),
        (vec!["compare", BASELINE, s(&other)], "--allow-different"),
        (vec!["compare", BASELINE, s(&old)], "schema_version"),
    ] {
        let (code, _, err) = sse_bench(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let (code, _, err) = sse_bench(&["compare", BASELINE, s(&other), "--allow-different"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn junit_and_markdown_carry_the_failures() {
    let tmp = tempfile::tempdir().unwrap();
    let cur = variant(tmp.path(), "slow", |v| {
        scale(v, |_| true, "put", "p50", 2.0)
    });
    let junit = tmp.path().join("junit.xml");
    let md = tmp.path().join("summary.md");
    let step = tmp.path().join("step-summary.md");
    let out = common::sse_bench_command()
        .args([
            "compare",
            BASELINE,
            s(&cur),
            "--rules",
            RULES,
            "--junit",
            s(&junit),
            "--markdown",
            s(&md),
        ])
        .env("GITHUB_STEP_SUMMARY", &step)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));

    // Parse the XML: count testcases and failures, and check the totals agree.
    let xml = std::fs::read_to_string(&junit).unwrap();
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures, mut declared) = (0, 0, None);
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                match e.name().as_ref() {
                    b"testcase" => cases += 1,
                    b"failure" => {
                        failures += 1;
                        let msg = e.try_get_attribute("message").unwrap().unwrap();
                        let msg = msg
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .unwrap();
                        // A doubled PUT p50 in both modes of a pair doubles the overhead too.
                        assert!(
                            (msg.contains("put.p50 regressed") && msg.contains("+100.0%"))
                                || msg.contains("kms.put.p50_overhead regressed"),
                            "{msg}"
                        );
                    }
                    b"testsuite" => {
                        let f = e.try_get_attribute("failures").unwrap().unwrap();
                        declared = Some(
                            f.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .parse::<usize>()
                                .unwrap(),
                        );
                    }
                    _ => {}
                }
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(
        failures, 6,
        "one PUT p50 per mode, and the PUT overhead of SSE-KMS and DSSE-KMS"
    );
    assert_eq!(declared, Some(6));
    assert!(cases > 40);
    let md = std::fs::read_to_string(&md).unwrap();
    assert_eq!(md.matches("| REGRESSED |").count(), 6, "{md}");
    assert_eq!(
        std::fs::read_to_string(&step).unwrap(),
        md,
        "appended to $GITHUB_STEP_SUMMARY"
    );
}

fn run_nightly(scenario: &Path, out: &Path, extra: &[&str], baselines: &Path) {
    let o = common::sse_bench_command()
        .args(["-q", "run"])
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("SSE_BENCH_BASELINES", baselines)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn the_nightly_gate_passes_on_the_baseline_and_flags_slow_kms() {
    // Two runs judged on their latency: the machine to themselves.
    let _turn = common::turns::timed();
    let tmp = tempfile::tempdir().unwrap();
    let scenario = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scenarios/ci-nightly.toml"
    ));
    let (tonight, slow_run) = (tmp.path().join("tonight"), tmp.path().join("slow"));
    let baselines = tmp.path().join("baselines");
    run_nightly(
        scenario,
        &tonight,
        &["--save-baseline", "tonight"],
        &baselines,
    );
    let gate = |base: &Path, cur: &Path| sse_bench(&["compare", s(base), s(cur), "--rules", RULES]);
    let (code, out, err) = gate(Path::new(BASELINE), &tonight);
    assert_eq!(
        code, 0,
        "checked-in baseline against this machine:\n{out}{err}"
    );

    // The same scenario with the simulator's KMS latency doubled, judged against the
    // baseline --save-baseline wrote from tonight's run.
    let text = std::fs::read_to_string(scenario).unwrap();
    let slow_text = text.replace(
        "kms_latency = { median = \"5ms\", p99 = \"8ms\" }",
        "kms_latency = { median = \"10ms\", p99 = \"16ms\" }",
    );
    assert_ne!(text, slow_text);
    let slow = tmp.path().join("ci-nightly.toml");
    std::fs::write(&slow, slow_text).unwrap();
    run_nightly(&slow, &slow_run, &[], &baselines);
    let (code, out, _) = gate(&baselines.join("tonight"), &slow_run);
    assert_eq!(code, 3, "{out}");
    for line in out.lines().filter(|l| l.contains("REGRESSED")) {
        assert!(
            line.starts_with("sse-kms ") || line.starts_with("dsse-kms "),
            "only the KMS modes without Bucket Keys slow down: {line}"
        );
    }
}

/// The example workflow parses (PyYAML, installed by `.ci/run`), is scheduled, runs the
/// nightly scenario and the gate with files that exist, and keeps the AWS job opt-in.
#[test]
fn the_example_workflow_runs_the_gate() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/ci/github-actions-nightly.yml"
    );
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
            path,
        ])
        .output()
        .expect("python3 runs (install PyYAML: .ci/run does)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let w: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // YAML 1.1 reads the key `on` as true.
    let on = w.get("on").or(w.get("true")).expect("triggers");
    assert!(on["schedule"][0]["cron"].is_string());
    let steps = w["jobs"]["simulator"]["steps"].as_array().unwrap();
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    let all = runs.join("\n");
    for needle in [
        "run scenarios/ci-nightly.toml --out results/nightly --history nightly-history",
        "compare --history nightly-history results/nightly",
        "--rules results/baselines/ci-nightly/rules.toml",
        "--junit",
    ] {
        assert!(all.contains(needle), "{needle} in {all}");
    }
    // The history is restored before the run and saved only when the gate passed, so a
    // regressed night never joins the runs later nights are judged against.
    let uses = |action: &str| {
        steps
            .iter()
            .position(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(action)))
            .unwrap_or_else(|| panic!("a step uses {action}"))
    };
    let (restore, save) = (uses("actions/cache/restore@"), uses("actions/cache/save@"));
    let gate = steps
        .iter()
        .position(|s| {
            s["run"]
                .as_str()
                .is_some_and(|r| r.contains("compare --history"))
        })
        .unwrap();
    assert!(restore < gate && gate < save);
    assert_eq!(steps[save]["if"], "success()");
    assert_eq!(steps[save]["with"]["path"], steps[restore]["with"]["path"]);
    assert_eq!(steps[restore]["with"]["path"], "nightly-history");
    for file in [
        "scenarios/ci-nightly.toml",
        "results/baselines/ci-nightly/summary.json",
        "results/baselines/ci-nightly/rules.toml",
    ] {
        assert!(
            Path::new(env!("CARGO_MANIFEST_DIR")).join(file).exists(),
            "{file}"
        );
    }
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("actions/upload-artifact"))
        })
        .expect("artifact upload");
    assert_eq!(upload["if"], "always()");
    let aws = &w["jobs"]["aws"];
    assert!(aws["if"].as_str().unwrap().contains("vars.SSE_BENCH_AWS"));
    assert_eq!(aws["permissions"]["id-token"], "write");
    let aws_runs: String = aws["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(
        aws_runs.contains("--max-cost"),
        "the AWS job runs behind the cost guard"
    );
    // It gates on a history of AWS runs, as the simulator job does, and adds a run to it
    // only when the gate passed.
    let aws_steps = aws["steps"].as_array().unwrap();
    let gate = aws_steps
        .iter()
        .position(|s| {
            s["run"].as_str().is_some_and(|r| {
                r.contains("compare --history ${{ vars.SSE_BENCH_HISTORY_URL }} results/aws")
                    && !r.contains("--append")
            })
        })
        .expect("the AWS job gates against its history");
    let append = aws_steps
        .iter()
        .position(|s| s["run"].as_str().is_some_and(|r| r.contains("--append")))
        .expect("the AWS job appends to its history");
    assert!(gate < append);
    assert_eq!(aws_steps[append]["if"], "success()");
}
