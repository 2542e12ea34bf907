//! A malformed-scenario corpus: every file exits 2 naming its line and field,
//! for `validate` and for `run`, and `run` writes nothing.

use crate::common;

use std::path::Path;

fn expectations(text: &str) -> (String, Option<usize>) {
    let expect = text
        .lines()
        .find_map(|l| l.strip_prefix("# expect: "))
        .expect("# expect: line")
        .to_owned();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("# line: "))
        .and_then(|l| l.trim().parse().ok());
    (expect, line)
}

#[test]
fn every_malformed_scenario_is_refused_with_file_line_and_field() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_scenarios");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus is present");
    let tmp = tempfile::tempdir().unwrap();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let (expect, line) = expectations(&text);
        let out = common::sse_bench_command()
            .arg("validate")
            .arg(&f)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {stderr}", f.display());
        assert!(
            stderr.contains(&expect),
            "{}: expected {expect:?} in {stderr:?}",
            f.display()
        );
        // A slip of a field name gets the allowed name it was meant to be.
        if f.ends_with("misspelt-field.toml") {
            assert!(stderr.contains("did you mean `size`?"), "{stderr}");
        }
        let located = format!(
            "{}:{}:",
            f.display(),
            line.map_or(String::new(), |l| l.to_string())
        );
        if line.is_some() {
            assert!(
                stderr.contains(&located),
                "{}: expected {located:?} in {stderr:?}",
                f.display()
            );
        } else {
            assert!(stderr.contains(&f.display().to_string()));
        }

        let results = tmp.path().join(f.file_stem().unwrap());
        let out = common::sse_bench_command()
            .arg("run")
            .arg(&f)
            .arg("--out")
            .arg(&results)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", f.display());
        assert!(String::from_utf8_lossy(&out.stderr).contains(&expect));
        assert!(
            !results.exists(),
            "{}: run wrote results for an invalid scenario",
            f.display()
        );
    }
}

#[test]
fn unreadable_file_and_bad_target_exit_2() {
    let out = common::sse_bench_command()
        .args(["validate", "no/such/file.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("no/such/file.toml: cannot read the scenario file")
    );
    let quickstart = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/quickstart.toml");
    let out = common::sse_bench_command()
        .args(["run", quickstart, "--target", "ftp://x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--target: expected embedded, aws or an http(s):// URL")
    );
}

#[test]
fn shipped_scenarios_validate() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let out = common::sse_bench_command()
                .arg("validate")
                .arg(&p)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}: {}",
                p.display(),
                String::from_utf8_lossy(&out.stderr)
            );
            n += 1;
        }
    }
    assert!(n >= 1);
}
