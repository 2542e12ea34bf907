//! The README is a contract: every transcript in README.md and scenarios/README.md (a
//! fenced block whose first line starts with `$ `) runs as written, and what it prints
//! on stdout must have the shape the README shows. Numbers, times, paths of temporary
//! directories and verdicts that depend on noise are masked on both sides (snapbox
//! redactions); everything else (words, rows, columns, order) is compared exactly, and a
//! `...` line in the README stands for lines it leaves out. Blocks that need AWS,
//! Docker or Kubernetes carry a `<!-- readme-test: ... -->` comment saying so: their
//! `sse-bench` commands are checked with `--dry-run`, the rest only parsed; the aws CLI
//! example runs against a fresh `sse-bench serve`.
//!
//! What the test changes before running a command, and nothing else:
//! - `cargo run --release --` is the built `sse-bench` binary;
//! - `/tmp/` is this test's own temporary directory;
//! - `sse-bench serve` listens on an ephemeral port and is stopped after its banner;
//! - `scenarios/moto.toml` is pointed at the moto server `.ci/run` starts.

mod common;

use regex::Regex;
use snapbox::{Data, Redactions, assert_data_eq};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

/// One `$ command` and the lines the README shows after it.
#[derive(Debug)]
struct Step {
    command: String,
    expected: String,
}

/// A fenced block with its place and the directive before it.
#[derive(Debug)]
struct Block {
    place: String,
    directive: Option<String>,
    lang: String,
    body: Vec<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every fenced block of a Markdown file.
fn blocks(file: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(root().join(file)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim_start();
        if let Some(lang) = l.strip_prefix("```") {
            let indent = lines[i].len() - l.len();
            let directive = lines[..i]
                .iter()
                .rev()
                .find(|p| !p.trim().is_empty())
                .and_then(|p| p.trim().strip_prefix("<!-- readme-test:"))
                .and_then(|p| p.strip_suffix("-->"))
                .map(|d| d.trim().to_owned());
            let start = i + 1;
            let mut j = start;
            while j < lines.len() && !lines[j].trim_start().starts_with("```") {
                j += 1;
            }
            let body = lines[start..j]
                .iter()
                .map(|b| b.get(indent..).unwrap_or(b.trim_start()).to_owned())
                .collect();
            out.push(Block {
                place: format!("{file}:{}", i + 1),
                directive,
                lang: lang.trim().to_owned(),
                body,
            });
            i = j + 1;
        } else {
            i += 1;
        }
    }
    out
}

/// The `$ ` steps of a transcript (a command continued with `\` spans lines).
fn steps(body: &[String]) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut continuing = false;
    for l in body {
        if continuing {
            let s = steps.last_mut().unwrap();
            s.command.push(' ');
            s.command.push_str(l.trim().trim_end_matches('\\'));
            continuing = l.trim_end().ends_with('\\');
        } else if let Some(c) = l.strip_prefix("$ ") {
            continuing = c.trim_end().ends_with('\\');
            steps.push(Step {
                command: c.trim_end().trim_end_matches('\\').trim().to_owned(),
                expected: String::new(),
            });
        } else if let Some(s) = steps.last_mut() {
            s.expected.push_str(l);
            s.expected.push('\n');
        }
    }
    steps
}

/// Masks what changes from run to run, the same way on both sides.
fn mask(text: &str, tmp: &Path) -> String {
    // Commands write under the sandbox's tmp/ where the README says /tmp/.
    let text = text.replace(&format!("{}/tmp", tmp.display()), "/tmp");
    let mut r = Redactions::new();
    let re = |s: &str| Regex::new(s).unwrap();
    // Latency changes: a number with a share, or "noise (...)", depend on noise.
    r.insert(
        "[CHANGE]",
        re(r"(?<redacted>noise \([^)]*\)|[+-]\d[\d.,]* ms \([+-][\d.,]+%\))"),
    )
    .unwrap();
    // Regression verdicts that noise can flip.
    r.insert(
        "[VERDICT]",
        re(r"(?<redacted>\b(?:unchanged|improved|REGRESSED)\b|- \(\d+ operations: too few for this percentile\))"),
    )
    .unwrap();
    r.insert(
        "[TIME]",
        re(r"(?<redacted>\d{8}T\d{6}Z|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)"),
    )
    .unwrap();
    r.insert("[N]", re(r"(?<redacted>[+-]?\$?\d[\d,]*(\.\d+)?)"))
        .unwrap();
    let text = r.redact(&text);
    // Columns move with the widths of the numbers in them.
    let spaces = re(r"[ \t]+");
    text.lines()
        .map(|l| spaces.replace_all(l.trim_end(), " ").into_owned())
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// A sandbox with the repository's inputs, so runs write their results in it.
fn sandbox() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for d in ["scenarios", "tests", "data", "docs", "assets"] {
        std::os::unix::fs::symlink(root().join(d), tmp.path().join(d)).unwrap();
    }
    std::fs::create_dir(tmp.path().join("results")).unwrap();
    std::os::unix::fs::symlink(
        root().join("results/baselines"),
        tmp.path().join("results/baselines"),
    )
    .unwrap();
    std::fs::create_dir(tmp.path().join("tmp")).unwrap();
    tmp
}

/// The command as the test runs it (see the file's header).
fn rewrite(command: &str, tmp: &Path) -> String {
    let mut c = command.replace("cargo run --release --", "sse-bench");
    c = c.replace("/tmp/", &format!("{}/tmp/", tmp.display()));
    if c.contains("scenarios/moto.toml") {
        let url = std::env::var("SSE_BENCH_MOTO_URL").expect(
            "SSE_BENCH_MOTO_URL: run the tests through .ci/run, which starts moto's server",
        );
        c = c.replace(
            "scenarios/moto.toml",
            &format!("scenarios/moto.toml --target {url}"),
        );
    }
    c
}

fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_sse-bench"))
        .parent()
        .unwrap()
        .to_owned()
}

fn shell(command: &str, dir: &Path) -> Command {
    let mut c = Command::new("bash");
    c.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin_dir().display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env_remove("GITHUB_STEP_SUMMARY");
    c
}

/// Runs `serve` until its banner is complete, then stops it; returns the banner.
fn serve_banner(command: &str, dir: &Path) -> String {
    use std::io::{BufRead, BufReader};
    let re = Regex::new(r"--listen \S+").unwrap();
    let command = re.replace(command, "--listen 127.0.0.1:0").into_owned();
    let mut child = shell(&format!("exec {command}"), dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut banner = String::new();
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .take(40)
    {
        let line = line.unwrap();
        banner.push_str(&line);
        banner.push('\n');
        if line.starts_with("Press Ctrl-C") {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    banner
}

/// Runs a transcript's steps in order and compares each step's output: stdout, or
/// stderr for a command that prints nothing else (a usage error). A command must
/// succeed unless the next step shows its exit code (`$ echo $?`) or it is a usage
/// error shown as such.
fn check_transcript(b: &Block) {
    let tmp = sandbox();
    let steps = steps(&b.body);
    let mut last_code = 0;
    for (i, s) in steps.iter().enumerate() {
        let command = rewrite(&s.command, tmp.path());
        let actual = if s.command.starts_with("sse-bench serve") {
            serve_banner(&command, tmp.path())
        } else if s.command == "echo $?" {
            format!("{last_code}\n")
        } else {
            let o = shell(&command, tmp.path()).output().unwrap();
            last_code = o.status.code().unwrap_or(-1);
            let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
            let code_shown = steps.get(i + 1).is_some_and(|n| n.command == "echo $?");
            assert!(
                last_code == 0 || code_shown || (last_code == 2 && stdout.is_empty()),
                "{}: `{}` exited {last_code}:\n{}",
                b.place,
                s.command,
                String::from_utf8_lossy(&o.stderr)
            );
            if stdout.is_empty() {
                String::from_utf8_lossy(&o.stderr).into_owned()
            } else {
                stdout
            }
        };
        eprintln!("{}: $ {}", b.place, s.command);
        let expected = Data::text(mask(&s.expected, tmp.path()));
        assert_data_eq!(mask(&actual, tmp.path()), expected);
    }
}

/// Checks the `sse-bench` commands of a block that needs AWS with `--dry-run`.
fn check_dry_run(b: &Block) {
    let tmp = sandbox();
    let mut n = 0;
    for l in &b.body {
        let l = l.trim();
        let Some(rest) = l.strip_prefix("sse-bench ") else {
            continue;
        };
        let command = rest
            .split(" #")
            .next()
            .unwrap()
            .trim()
            .trim_end_matches('\\');
        if !command.starts_with("run ") {
            continue;
        }
        let full = if command.contains("--dry-run") {
            format!("sse-bench {command}")
        } else {
            format!("sse-bench {command} --dry-run")
        };
        let o = shell(&full, tmp.path()).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "{}: `{full}`: {}",
            b.place,
            String::from_utf8_lossy(&o.stderr)
        );
        n += 1;
    }
    assert!(n > 0, "{}: no sse-bench run command to check", b.place);
}

/// Transcripts run one at a time: load runs beside each other would disturb them.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn all_blocks() -> Vec<Block> {
    let mut v = blocks("README.md");
    v.extend(blocks("scenarios/README.md"));
    v
}

/// The blocks whose `<!-- readme-test: ... -->` comment is exactly `directive`.
fn marked_with(directive: &str) -> Vec<Block> {
    all_blocks()
        .into_iter()
        .filter(|b| b.directive.as_deref() == Some(directive))
        .collect()
}

fn transcripts(filter: impl Fn(&Block) -> bool) {
    let _g = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut n = 0;
    for b in all_blocks().iter().filter(|b| {
        b.body.first().is_some_and(|l| l.starts_with("$ ")) && b.directive.is_none() && filter(b)
    }) {
        check_transcript(b);
        n += 1;
    }
    assert!(n > 0, "no transcript matched");
}

fn is_run(b: &Block) -> bool {
    b.body
        .iter()
        .any(|l| l.starts_with("$ ") && (l.contains(" run ") || l.contains("-- run ")))
}

#[test]
fn transcripts_without_a_load_run() {
    transcripts(|b| !is_run(b));
}

#[test]
fn transcripts_with_a_load_run() {
    transcripts(is_run);
}

#[test]
fn blocks_that_need_aws_are_checked_with_dry_run() {
    let marked = marked_with("needs aws");
    assert!(!marked.is_empty());
    for b in &marked {
        check_dry_run(b);
    }
}

#[test]
fn every_block_is_run_or_marked() {
    for b in all_blocks() {
        let has_command = b.body.iter().any(|l| {
            let l = l.trim_start();
            l.starts_with("$ ") || l.starts_with("sse-bench ") || l.starts_with("cargo ")
        });
        if !has_command || !(b.lang.is_empty() || b.lang == "sh" || b.lang == "console") {
            continue;
        }
        let transcript = b.body.first().is_some_and(|l| l.starts_with("$ "));
        assert!(
            (transcript && b.directive.is_none())
                || b.directive.as_deref().is_some_and(|d| {
                    d.starts_with("needs aws")
                        || d.starts_with("needs docker")
                        || d == "runs against sse-bench serve"
                        || d.starts_with("tested by ")
                }),
            "{}: a block with commands is neither a transcript nor marked with <!-- readme-test: needs aws|docker|kubernetes, or tested by FILE -->",
            b.place
        );
        if let Some(f) = b
            .directive
            .as_deref()
            .and_then(|d| d.strip_prefix("tested by "))
        {
            let f = f.split_whitespace().next().unwrap();
            assert!(root().join(f).exists(), "{}: {f} does not exist", b.place);
        }
    }
}

/// The aws CLI v1 and boto3 read AWS_DEFAULT_REGION, not AWS_REGION: a block that runs
/// them exports it.
#[test]
fn aws_cli_blocks_set_the_region_the_cli_reads() {
    let cli = marked_with("runs against sse-bench serve");
    assert!(!cli.is_empty());
    for b in &cli {
        assert!(
            b.body
                .iter()
                .any(|l| l.starts_with("export ") && l.contains("AWS_DEFAULT_REGION=")),
            "{}: export AWS_DEFAULT_REGION",
            b.place
        );
    }
}

/// The aws CLI block, run as written against a fresh `sse-bench serve` (its ports
/// put in place of 9000 and 9001), with the aws CLI `.ci/run` installs: every command
/// succeeds, and the simulator counted the KMS call S3 made for the encrypted PUT.
#[test]
fn the_aws_cli_block_runs_against_serve() {
    let blocks = marked_with("runs against sse-bench serve");
    assert_eq!(blocks.len(), 1);
    let serve = common::spawn_serve();
    let tmp = sandbox();
    std::os::unix::fs::symlink(root().join("README.md"), tmp.path().join("README.md")).unwrap();
    let script = blocks[0]
        .body
        .join("\n")
        .replace("http://127.0.0.1:9000", &serve.s3)
        .replace("http://127.0.0.1:9001", &serve.kms);
    let o = shell(&format!("set -euo pipefail\n{script}"), tmp.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}: {}\n{stdout}",
        blocks[0].place,
        String::from_utf8_lossy(&o.stderr)
    );
    let stats: serde_json::Value =
        serde_json::from_str(stdout.lines().last().expect("curl printed the stats")).unwrap();
    assert!(stats.to_string().contains("GenerateDataKey"), "{stats}");
}
