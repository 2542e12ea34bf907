//! Embeds the build's provenance: the git commit the binary is built from and whether
//! the tree had uncommitted changes. Results name the build, not whatever repository a
//! user happens to run the tool in. Without git or a repository (a source tarball), the
//! commit comes from `SSE_BENCH_GIT_COMMIT` if set, else it stays unknown.

use std::path::Path;
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let dir = std::env::var("CARGO_MANIFEST_DIR").ok()?;
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    println!("cargo:rerun-if-env-changed=SSE_BENCH_GIT_COMMIT");
    for p in ["build.rs", "Cargo.toml", "Cargo.lock", "src", "crates"] {
        println!("cargo:rerun-if-changed={p}");
    }
    let commit = git(&["rev-parse", "HEAD"]).filter(|c| !c.is_empty());
    if let Some(git_dir) = git(&["rev-parse", "--absolute-git-dir"]) {
        // A new commit moves HEAD or the branch ref; staging changes the index.
        let git_dir = Path::new(&git_dir);
        println!("cargo:rerun-if-changed={}", git_dir.join("HEAD").display());
        println!("cargo:rerun-if-changed={}", git_dir.join("index").display());
        if let Some(r) = git(&["symbolic-ref", "-q", "HEAD"]) {
            println!("cargo:rerun-if-changed={}", git_dir.join(r).display());
        }
    }
    let commit = commit.or_else(|| std::env::var("SSE_BENCH_GIT_COMMIT").ok());
    // Uncommitted changes to tracked files (untracked files, such as results/, do not
    // change the build).
    let dirty = commit.is_some()
        && git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    let long = match &commit {
        Some(c) if dirty => format!("{version} (commit {c}, with uncommitted changes)"),
        Some(c) => format!("{version} (commit {c})"),
        None => format!("{version} (commit unknown)"),
    };
    if let Some(c) = commit {
        println!("cargo:rustc-env=SSE_BENCH_BUILD_COMMIT={c}");
    }
    println!("cargo:rustc-env=SSE_BENCH_BUILD_DIRTY={dirty}");
    println!("cargo:rustc-env=SSE_BENCH_VERSION_LONG={long}");
}
