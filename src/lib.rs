//! sse-bench: what S3 server-side encryption with KMS does to latency, KMS
//! request volume and cost, measured side by side with SSE-S3.
//!
//! Data flows one way: [`scenario`] → [`plan`] → [`driver`] → [`recorder`] →
//! [`results`] → reports. The [`sim`] module stands apart: the harness reaches
//! it only over HTTP.

pub mod cli;
pub mod compare;
pub mod cost;
pub mod driver;
pub mod kms;
pub mod merge;
pub mod plan;
pub mod progress;
pub mod recorder;
pub mod report;
pub mod results;
pub mod run;
pub mod scenario;
pub mod serve;
pub mod shard;
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
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(format!("sse_bench={level},s3s=off,aws=error"))
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// `merge`: s3:// inputs are downloaded to a temporary directory first.
async fn merge_command(args: cli::MergeArgs, quiet: bool, format: cli::Format) -> i32 {
    let access = run::AccessOptions {
        profile: args.profile,
        region: args.region,
        ..Default::default()
    };
    let tmp = std::env::temp_dir().join(format!("sse-bench-merge-{:08x}", rand::random::<u32>()));
    let mut inputs = Vec::new();
    for (i, input) in args.inputs.iter().enumerate() {
        if input.starts_with("s3://") {
            let url = match results::remote::S3Url::parse(input) {
                Ok(u) => u,
                Err(e) => {
                    eprintln!("error: {e}");
                    return exit::USAGE;
                }
            };
            let local = tmp.join(i.to_string());
            if let Err(e) = results::remote::download(&url, &access, &local).await {
                eprintln!("error: {e:#}");
                let _ = std::fs::remove_dir_all(&tmp);
                return exit::USAGE;
            }
            inputs.push(local);
        } else {
            inputs.push(std::path::PathBuf::from(input));
        }
    }
    let code = merge::command(&inputs, &args.out, args.prices.as_deref(), quiet, format);
    let _ = std::fs::remove_dir_all(&tmp);
    code
}

/// Runs a parsed command line; returns the process exit code.
pub async fn main(cli: Cli) -> i32 {
    match cli.command {
        Command::Merge(args) => merge_command(args, cli.quiet, cli.format).await,
        Command::Serve(args) => match serve::serve(args).await {
            Ok(()) => exit::OK,
            Err(e) => {
                eprintln!("error: {e:#}");
                exit::FAILURE
            }
        },
        Command::Validate { scenarios } => validate(&scenarios, cli.quiet),
        Command::Compare(a) => {
            let o = compare::CompareOptions {
                baseline: a.baseline,
                current: a.current,
                max_regression: a.max_regression,
                rules: a.rules,
                markdown: a.markdown,
                junit: a.junit,
                allow_different: a.allow_different,
            };
            match compare::command(&o, cli.format) {
                Ok((out, code)) => {
                    print!("{out}");
                    code
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    exit::USAGE
                }
            }
        }
        Command::Report { dirs, out } => match report::command(&dirs, out.as_deref()) {
            Ok(w) => {
                if !cli.quiet {
                    println!(
                        "{} charts, {}, {}",
                        w.charts.len(),
                        w.html.display(),
                        w.markdown.display()
                    );
                }
                exit::OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::USAGE
            }
        },
        Command::Cost(args) => match cost::estimate::command(&args, cli.format) {
            Ok(out) => {
                print!("{out}");
                exit::OK
            }
            Err(e) => {
                eprintln!("error: {e}");
                exit::USAGE
            }
        },
        Command::Run(args) => {
            let cancel = std::sync::Arc::new(driver::Cancel::default());
            run::cancel_on_signals(cancel.clone());
            let opts = run::RunOptions {
                target: args.target,
                out: args.out,
                seed: args.seed,
                prices: args.prices,
                save_baseline: args.save_baseline,
                keep: args.keep,
                max_cost: args.max_cost,
                format: cli.format,
                quiet: cli.quiet,
                access: run::AccessOptions {
                    profile: args.profile,
                    region: args.region,
                    kms_key: args.kms_key,
                    create_key: args.create_key,
                    buckets: args.bucket,
                    key_prefix: args.key_prefix,
                },
                shard: match (&args.shard, args.shards) {
                    (Some(s), _) => match shard::Shard::parse(s) {
                        Ok(s) => s,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return exit::USAGE;
                        }
                    },
                    (None, Some(n)) => match shard::Shard::from_job_index(
                        n,
                        std::env::var("JOB_COMPLETION_INDEX").ok().as_deref(),
                    ) {
                        Ok(s) => s,
                        Err(e) => {
                            eprintln!("error: {e}");
                            return exit::USAGE;
                        }
                    },
                    (None, None) => shard::Shard::SINGLE,
                },
                start_at: args.start_at,
            };
            if let Some(m) = opts.max_cost
                && !(m >= 0.0 && m.is_finite())
            {
                eprintln!("error: --max-cost: expected an amount of USD of 0 or more, got {m}");
                return exit::USAGE;
            }
            if args.dry_run {
                let dry = scenario::load(&args.scenario)
                    .map_err(|e| run::RunError::Usage(e.to_string()))
                    .and_then(|ls| run::dry_run(&ls, &opts));
                return match dry {
                    Ok(text) => {
                        print!("{text}");
                        exit::OK
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        e.exit_code()
                    }
                };
            }
            match run::run(&args.scenario, opts, cancel).await {
                Ok(outcome) => {
                    match cli.format {
                        cli::Format::Json => match serde_json::to_string_pretty(&outcome.summary) {
                            Ok(j) => println!("{j}"),
                            Err(e) => eprintln!("error: {e}"),
                        },
                        cli::Format::Csv => match results::ops_csv(&outcome.summary) {
                            Ok(b) => print!("{}", String::from_utf8_lossy(&b)),
                            Err(e) => eprintln!("error: {e}"),
                        },
                        cli::Format::Markdown => {
                            print!("{}", results::table::render_markdown(&outcome.summary))
                        }
                        cli::Format::Text => {
                            print!("{}", results::table::render(&outcome.summary));
                            println!("\nresults: {}", outcome.dir.display());
                            let html = outcome.dir.join("report.html");
                            if html.exists() {
                                println!("report:  {}", html.display());
                            }
                        }
                    }
                    outcome.exit_code
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    e.exit_code()
                }
            }
        }
    }
}

/// `validate`: checks every file, prints every problem; exit 2 if any.
fn validate(paths: &[std::path::PathBuf], quiet: bool) -> i32 {
    let mut code = exit::OK;
    for p in paths {
        match scenario::load(p) {
            Ok(ls) => {
                if !quiet {
                    let steps = plan::plan(&ls.scenario, ls.scenario.seed).len();
                    let what = match ls.scenario.kind {
                        scenario::ScenarioKind::Kms => "KMS direct".to_owned(),
                        scenario::ScenarioKind::S3 => format!("{} modes", ls.scenario.modes.len()),
                    };
                    println!(
                        "{}: ok ({what}, {} phases, {steps} steps)",
                        p.display(),
                        ls.scenario.phases.len()
                    );
                }
            }
            Err(e) => {
                eprintln!("{e}");
                code = exit::USAGE;
            }
        }
    }
    code
}
