//! The pages are a contract: every transcript in README.md, docs/*.md and
//! scenarios/README.md (a fenced block whose first line starts with `$ `) runs as
//! written, and what it prints on stdout must have the shape the page shows. Numbers,
//! times, paths of temporary directories and verdicts that depend on noise are masked
//! on both sides (snapbox redactions); everything else (words, rows, columns, order) is
//! compared exactly, and a `...` line on a page stands for lines it leaves out. Blocks
//! that need AWS, Docker or Kubernetes carry a `<!-- readme-test: ... -->` comment
//! saying so: their `sse-bench` commands are checked with `--dry-run`, the rest only
//! parsed; the aws CLI example runs against a fresh `sse-bench serve`.
//!
//! What the test changes before running a command, and nothing else:
//! - `cargo run --release --` is the built `sse-bench` binary;
//! - `/tmp/` is this test's own temporary directory;
//! - `sse-bench serve` listens on an ephemeral port and is stopped after its banner;
//! - `scenarios/moto.toml` is pointed at the moto server `.ci/run` starts.

mod common;

use common::transcript::*;

fn transcripts(filter: impl Fn(&Block) -> bool) {
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

/// Load runs judge thresholds and print rates: they have the machine to themselves.
#[test]
fn transcripts_with_a_load_run() {
    let _turn = common::turns::timed();
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
            let text = std::fs::read_to_string(root().join(f))
                .unwrap_or_else(|e| panic!("{}: {f}: {e}", b.place));
            // A transcript another test runs: that test names its command.
            if let Some(first) = transcript.then(|| steps(&b.body)[0].command.clone()) {
                assert!(
                    text.contains(&format!("{first:?}")),
                    "{}: {f} does not run `{first}`",
                    b.place
                );
            }
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
