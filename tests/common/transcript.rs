//! README and docs transcripts: the fenced blocks of a Markdown file, the `$ ` steps of
//! a transcript, and their output compared with what the page shows. Numbers, times,
//! paths of temporary directories and verdicts that depend on noise are masked on both
//! sides (snapbox redactions); everything else (words, rows, columns, order) is compared
//! exactly, and a `...` line on the page stands for lines it leaves out.
//!
//! What is changed before running a command, and nothing else:
//! - `cargo run --release --` is the built `sse-bench` binary;
//! - `/tmp/` is the test's own temporary directory;
//! - `sse-bench serve` listens on an ephemeral port and is stopped after its banner;
//! - `scenarios/moto.toml` is pointed at the moto server `.ci/run` starts.

use regex::Regex;
use snapbox::{Data, Redactions, assert_data_eq};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// One `$ command` and the lines the README shows after it.
#[derive(Debug)]
pub struct Step {
    pub command: String,
    pub expected: String,
}

/// A fenced block with its place and the directive before it.
#[derive(Debug)]
pub struct Block {
    pub place: String,
    pub directive: Option<String>,
    pub lang: String,
    pub body: Vec<String>,
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every fenced block of a Markdown file.
pub fn blocks(file: &str) -> Vec<Block> {
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
pub fn steps(body: &[String]) -> Vec<Step> {
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
pub fn mask(text: &str, tmp: &Path) -> String {
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
pub fn sandbox() -> tempfile::TempDir {
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
pub fn rewrite(command: &str, tmp: &Path) -> String {
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

pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_sse-bench"))
        .parent()
        .unwrap()
        .to_owned()
}

pub fn shell(command: &str, dir: &Path) -> Command {
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
pub fn serve_banner(command: &str, dir: &Path) -> String {
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
pub fn check_transcript(b: &Block) {
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
pub fn check_dry_run(b: &Block) {
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

/// The pages whose blocks are checked: the README, every page of `docs/`, and the
/// scenario reference.
pub fn pages() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md"))
        .map(|n| format!("docs/{n}"))
        .collect();
    docs.sort();
    let mut v = vec!["README.md".to_owned()];
    v.extend(docs);
    v.push("scenarios/README.md".to_owned());
    v
}

pub fn all_blocks() -> Vec<Block> {
    pages().iter().flat_map(|p| blocks(p)).collect()
}

/// The blocks whose `<!-- readme-test: ... -->` comment is exactly `directive`.
pub fn marked_with(directive: &str) -> Vec<Block> {
    all_blocks()
        .into_iter()
        .filter(|b| b.directive.as_deref() == Some(directive))
        .collect()
}

/// The transcript step of `file` whose command is exactly `command`, with the block it
/// stands in. Panics when the page has no such step: the page and the test moved apart.
pub fn find_step(file: &str, command: &str) -> (Block, Step) {
    for b in blocks(file) {
        if let Some(s) = steps(&b.body).into_iter().find(|s| s.command == command) {
            return (b, s);
        }
    }
    panic!("{file} has no transcript step `$ {command}`");
}

/// Runs a transcript step as written (plus `extra` arguments) in a fresh sandbox, checks
/// that it succeeds and that its stdout has the shape each of `files` shows for it (a
/// page may leave lines out with `...`), and returns the sandbox for the caller's own
/// checks of what the run wrote. For a test that needs the run anyway: each page marks
/// the block <!-- readme-test: tested by FILE --> with the caller's file (`by`, its
/// `file!()`), and the pages' own test does not run it a second time.
pub fn run_step(files: &[&str], command: &str, extra: &str, by: &str) -> tempfile::TempDir {
    let shown: Vec<(Block, Step)> = files.iter().map(|f| find_step(f, command)).collect();
    for (b, _) in &shown {
        let marked = b
            .directive
            .as_deref()
            .and_then(|d| d.strip_prefix("tested by "));
        assert!(
            marked.is_some_and(|m| m.split_whitespace().next() == Some(by)),
            "{}: mark the block <!-- readme-test: tested by {by} -->",
            b.place
        );
    }
    let tmp = sandbox();
    let full = format!("{} {extra}", rewrite(command, tmp.path()));
    let o = shell(&full, tmp.path()).output().unwrap();
    assert!(
        o.status.success(),
        "`{full}` exited {:?}:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    let actual = mask(&String::from_utf8_lossy(&o.stdout), tmp.path());
    for (b, s) in &shown {
        eprintln!("{}: $ {full}", b.place);
        assert_data_eq!(actual.clone(), Data::text(mask(&s.expected, tmp.path())));
    }
    tmp
}

/// The one results directory a run made under `sandbox/results/` (beside `baselines`).
pub fn results_dir(sandbox: &Path) -> PathBuf {
    let dirs: Vec<PathBuf> = std::fs::read_dir(sandbox.join("results"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().is_some_and(|n| n != "baselines"))
        .collect();
    assert_eq!(dirs.len(), 1, "one results directory: {dirs:?}");
    dirs[0].clone()
}
