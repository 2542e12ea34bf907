//! The `sse-bench` binary: parses the command line and hands it to the library.

use clap::Parser;
use sse_bench::cli::Cli;

// Small, short-lived allocations dominate an HTTP load loop; mimalloc handles them faster than glibc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    sse_bench::init_logging(cli.verbose, cli.quiet);
    std::process::exit(sse_bench::main(cli));
}
