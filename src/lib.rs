//! sse-bench: what S3 server-side encryption with KMS does to latency, KMS
//! request volume and cost, measured side by side with SSE-S3.
//!
//! Data flows one way: [`scenario`] → [`plan`] → [`driver`] → [`recorder`] →
//! [`results`] → output ([`document`] for tables and text, [`charts`], [`report`] for
//! the pages). [`run`] strings them together against one of the [`targets`]; [`merge`],
//! [`compare`], [`cost`] and [`forecast`] answer from results, scenarios and logs, all
//! priced by [`prices`]. The simulator stands apart in its own crate (`sse_sim`): the
//! harness reaches it over HTTP and through its small public API. [`commands`]
//! is the command line's glue; `main.rs` only parses and calls it.

pub mod bounds;
pub mod charts;
pub mod cli;
mod commands;
mod compare;
mod cost;
mod document;
mod driver;
pub mod error;
pub mod forecast;
pub mod kms;
pub mod logs;
mod merge;
mod plan;
pub mod prices;
mod progress;
pub mod provenance;
pub mod recorder;
mod remote;
pub mod report;
pub mod results;
pub mod run;
pub mod scenario;
pub mod sdk_error;
mod serve;
pub mod shard;
mod signals;
pub mod targets;
pub mod units;

/// Sets up `tracing` output on stderr.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("sse_bench={level},s3s=off,aws=error"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs a parsed command line on a runtime of its own; returns the process exit code.
///
/// Synchronous on purpose: the whole async call tree is compiled here, once, instead
/// of again in every crate that would otherwise poll it (the binary).
pub fn main(cli: cli::Cli) -> i32 {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return cli::exit::FAILURE;
        }
    };
    runtime.block_on(commands::dispatch(cli))
}

/// A boxed, sendable future: what the library's async entry points return, so the
/// crates that await them (tests, benches) do not compile the whole call tree again.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;
