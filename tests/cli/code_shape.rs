//! The shape of the code, checked from its text: no source file over 600 lines, no
//! function over 120 lines in either crate, no import cycle between the top-level
//! modules of either crate, and a simulator crate that knows nothing of the harness.
//! `cargo test --test cli code_shape` shows it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file past this many lines holds two concerns.
const MAX_LINES: usize = 600;

/// A function past this many lines is several steps that deserve names.
const MAX_FN_LINES: usize = 120;

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

/// `text` with the contents of string and character literals blanked out, so the
/// braces left are the code's.
fn without_literals(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            // A raw string: r"..." or r#"..."#, with as many hashes at the end.
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
                if b.get(i + 1 + hashes) != Some(&b'"') {
                    out.push('r');
                    i += 1;
                    continue;
                }
                let end = format!("\"{}", "#".repeat(hashes));
                let body = i + 2 + hashes;
                let close = text[body..]
                    .find(&end)
                    .map_or(b.len(), |j| body + j + end.len());
                out.extend(
                    text[i..close]
                        .chars()
                        .map(|c| if c == '\n' { c } else { ' ' }),
                );
                i = close;
            }
            b'"' => {
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let close = (j + 1).min(b.len());
                out.extend(
                    text[i..close]
                        .chars()
                        .map(|c| if c == '\n' { c } else { ' ' }),
                );
                i = close;
            }
            // A character literal ('{', '\'') but not a lifetime ('a).
            b'\'' if b.get(i + 2) == Some(&b'\'') || b.get(i + 1) == Some(&b'\\') => {
                let close = text[i + 1..].find('\'').map_or(b.len(), |j| {
                    let j = i + 1 + j;
                    // '\'' closes one later.
                    if b.get(i + 1) == Some(&b'\\') && b.get(i + 2) == Some(&b'\'') {
                        j + 2
                    } else {
                        j + 1
                    }
                });
                out.push_str(&" ".repeat(close - i));
                i = close;
            }
            _ => {
                let c = text[i..].chars().next().unwrap_or(' ');
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    out
}

/// Functions of `text` longer than `max` lines: (first line, length, the line).
fn long_functions(text: &str, max: usize) -> Vec<(usize, usize, String)> {
    let code: Vec<String> = without_literals(text)
        .lines()
        .map(|l| l.split("//").next().unwrap_or("").to_owned())
        .collect();
    let is_fn = |l: &str| {
        let mut t = l.trim_start();
        for word in [
            "pub(crate) ",
            "pub(super) ",
            "pub ",
            "const ",
            "async ",
            "unsafe ",
        ] {
            t = t.strip_prefix(word).unwrap_or(t);
        }
        t.starts_with("fn ") && !l.trim_end().ends_with(';')
    };
    let mut long = Vec::new();
    let mut depth = 0i64;
    // (first line, depth outside it, whether its body has opened)
    let mut open: Vec<(usize, i64, bool)> = Vec::new();
    for (n, l) in code.iter().enumerate() {
        if is_fn(l) {
            open.push((n, depth, false));
        }
        for c in l.chars() {
            match c {
                '{' => {
                    depth += 1;
                    if let Some(f) = open.last_mut() {
                        f.2 = true;
                    }
                }
                '}' => {
                    depth -= 1;
                    while let Some(&(start, outside, opened)) = open.last() {
                        if !(opened && depth <= outside) {
                            break;
                        }
                        open.pop();
                        let len = n - start + 1;
                        if len > max {
                            long.push((
                                start + 1,
                                len,
                                text.lines().nth(start).unwrap_or("").trim().to_owned(),
                            ));
                        }
                    }
                }
                _ => {}
            }
        }
    }
    long
}

#[test]
fn no_function_is_over_120_lines() {
    let mut files = Vec::new();
    for dir in ["src", "crates/sim/src"] {
        rust_files(Path::new(dir), &mut files);
    }
    let mut long = Vec::new();
    for f in &files {
        for (line, len, head) in long_functions(&std::fs::read_to_string(f).unwrap(), MAX_FN_LINES)
        {
            long.push(format!("{}:{line} ({len} lines): {head}", f.display()));
        }
    }
    assert!(
        long.is_empty(),
        "functions over {MAX_FN_LINES} lines:\n{}",
        long.join("\n")
    );
}

#[test]
fn the_function_length_check_sees_braces_in_code_only() {
    let body = "    let x = 1;\n".repeat(5);
    let text = format!(
        "fn short() {{\n    let s = \"}}}}{{\";\n    let c = '{{';\n}}\nfn long() {{\n{body}    let r = r#\"}}\"#;\n}}\ntrait T {{\n    fn decl(&self);\n}}\n"
    );
    assert_eq!(long_functions(&text, 4).len(), 1, "{text}");
    assert_eq!(long_functions(&text, 4)[0].0, 5);
    assert_eq!(long_functions(&text, 8), vec![]);
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
