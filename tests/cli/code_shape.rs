//! The shape of the code, checked from its text: no source file over 600 lines, no
//! import cycle between the top-level modules of either crate, and a simulator crate
//! that knows nothing of the harness. `cargo test --test code_shape` shows it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file past this many lines holds two concerns.
const MAX_LINES: usize = 600;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without its comments (doc links name modules too).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to (`None` for the crate root).
fn top_module(root: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(root).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_owned();
    (!matches!(name.as_str(), "lib" | "main")).then_some(name)
}

/// Edges between top-level modules: `crate::m` (and `super::m` from a top-level file).
fn module_graph(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(root, &mut files);
    let modules: BTreeSet<String> = files.iter().filter_map(|f| top_module(root, f)).collect();
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let Some(from) = top_module(root, f) else {
            continue;
        };
        let top_level_file = f.parent() == Some(root);
        let text = code(f);
        let mut refs = Vec::new();
        for (prefix, applies) in [("crate::", true), ("super::", top_level_file)] {
            if !applies {
                continue;
            }
            for (i, _) in text.match_indices(prefix) {
                let before = text[..i].chars().last();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &text[i + prefix.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                refs.push(name);
            }
            // `use crate::{a, b::c}` names several modules at once.
            for (i, _) in text.match_indices(&format!("{prefix}{{")) {
                let inner = &text[i + prefix.len() + 1..];
                let inner = &inner[..inner.find('}').unwrap_or(inner.len())];
                for part in inner.split(',') {
                    let name: String = part
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    refs.push(name);
                }
            }
        }
        let edges = graph.entry(from.clone()).or_default();
        for r in refs {
            if r != from && modules.contains(&r) {
                edges.insert(r);
            }
        }
    }
    graph
}

/// A cycle in the graph, if there is one, as the path that closes it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(n.to_owned(), 1);
        stack.push(n.to_owned());
        for m in graph.get(n).into_iter().flatten() {
            match state.get(m.as_str()) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(m.clone());
                    return Some(cycle);
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(m, graph, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(n.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for n in graph.keys() {
        if !state.contains_key(n.as_str())
            && let Some(c) = visit(n, graph, &mut state, &mut Vec::new())
        {
            return Some(c);
        }
    }
    None
}

#[test]
fn no_source_file_is_over_600_lines() {
    let mut files = Vec::new();
    for dir in [
        "src",
        "tests",
        "benches",
        "crates/sim/src",
        "crates/sim/benches",
    ] {
        rust_files(Path::new(dir), &mut files);
    }
    assert!(files.len() > 50, "the source tree was found");
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} ({n} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

#[test]
fn top_level_modules_import_in_one_direction() {
    for root in ["src", "crates/sim/src"] {
        let graph = module_graph(Path::new(root));
        assert!(graph.len() > 10, "{root}: modules found");
        if let Some(c) = find_cycle(&graph) {
            panic!("{root}: modules import in a cycle: {}", c.join(" -> "));
        }
    }
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("c".into());
    assert_eq!(find_cycle(&g), None);
    g.entry("c".into()).or_default().insert("a".into());
    assert_eq!(
        find_cycle(&g),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
}

#[test]
fn the_simulator_crate_knows_nothing_of_the_harness() {
    let manifest = std::fs::read_to_string("crates/sim/Cargo.toml").unwrap();
    assert!(
        !manifest.contains("sse-bench") && !manifest.contains("path = \"../.."),
        "crates/sim depends on the harness"
    );
    let mut files = Vec::new();
    rust_files(Path::new("crates/sim"), &mut files);
    for f in files {
        assert!(
            !code(&f).contains("sse_bench"),
            "{} refers to the harness",
            f.display()
        );
    }
}
