//! The `sse-bench` binary: parses the command line and hands it to the library.

use clap::Parser;
use sse_bench::cli::{Cli, exit};

// Small, short-lived allocations dominate an HTTP load loop; mimalloc handles them faster than glibc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = Cli::parse();
    sse_bench::init_logging(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(exit::FAILURE);
        }
    };
    std::process::exit(runtime.block_on(sse_bench::main(cli)));
}
