//! sse-bench: what S3 server-side encryption with KMS does to latency, KMS
//! request volume and cost, measured side by side with SSE-S3.
//!
//! Data flows one way: [`scenario`] → [`plan`] → [`driver`] → [`recorder`] →
//! [`results`] → reports. The [`sim`] module stands apart: the harness reaches
//! it only over HTTP.

pub mod cli;
pub mod serve;
pub mod sim;
pub mod target;
pub mod units;

use cli::{Cli, Command, exit};

/// Sets up `tracing` output on stderr.
pub fn init_logging(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("sse_bench={level},s3s=off,aws=error")));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

/// Runs a parsed command line; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Serve(args) => match serve::serve(args).await {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: {e:#}");
                exit::FAILURE
            }
        },
        Command::Run(_) | Command::Validate { .. } => {
            eprintln!("error: not available yet");
            exit::USAGE
        }
    }
}
