//! Which build this is: the version and the git commit the binary was built from,
//! embedded by `build.rs`. Results and `--version` name the build, never the
//! repository a user happens to run the tool in.

/// Crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The full commit hash the binary was built from, when the build knew it.
pub const COMMIT: Option<&str> = option_env!("SSE_BENCH_BUILD_COMMIT");

/// Whether tracked files differed from that commit when the binary was built.
pub const DIRTY: bool = matches!(env!("SSE_BENCH_BUILD_DIRTY").as_bytes(), b"true");

/// `0.1.0 (commit 1234…)`, for `--version` and reports.
pub const LONG_VERSION: &str = env!("SSE_BENCH_VERSION_LONG");
