//! One function per subcommand: turn parsed arguments into library calls, print
//! what they produce through the presentation layer, and return the exit code.
//! Every failure is an [`Error`], which carries its own exit code.

use crate::cli::{self, CompareArgs, CostArgs, Format, MergeArgs, RunArgs, ServeArgs, exit};
use crate::document::{self, compare::compare_doc, cost::cost_doc};
use crate::error::Error;
use crate::{compare, cost, merge, remote, report, run, scenario, shard, targets};
use std::path::{Path, PathBuf};

/// `run`: a scenario against a target; prints the summary.
pub async fn run(args: RunArgs, quiet: bool, format: Format) -> Result<i32, Error> {
    let shard = match (&args.shard, args.shards) {
        (Some(s), _) => shard::Shard::parse(s)?,
        (None, Some(n)) => {
            shard::Shard::from_job_index(n, std::env::var("JOB_COMPLETION_INDEX").ok().as_deref())?
        }
        (None, None) => shard::Shard::SINGLE,
    };
    let sharded = !shard.is_single();
    let history = match &args.history {
        Some(_) if sharded => {
            return Err(Error::Usage(
                "--history records whole runs: a shard is a slice of one (record the merged run with `compare --history DIR MERGED --append`)".into(),
            ));
        }
        Some(h) => Some(compare::Location::parse(h)?),
        None => None,
    };
    if let Some(m) = args.max_cost
        && !(m >= 0.0 && m.is_finite())
    {
        return Err(Error::Usage(format!(
            "--max-cost: expected an amount of USD of 0 or more, got {m}"
        )));
    }
    let opts = run::RunOptions {
        target: args.target,
        out: args.out,
        seed: args.seed,
        prices: args.prices,
        save_baseline: args.save_baseline,
        keep: args.keep,
        cloudtrail: if args.no_cloudtrail {
            None
        } else {
            Some(
                args.cloudtrail_wait
                    .unwrap_or(crate::kms::cloudtrail::DEFAULT_WAIT),
            )
        },
        max_cost: args.max_cost,
        prefill_limit: args.prefill_limit,
        format,
        quiet,
        access: targets::AccessOptions {
            profile: args.profile,
            region: args.region,
            kms_key: args.kms_key,
            create_key: args.create_key,
            buckets: args.bucket,
            key_prefix: args.key_prefix,
            sim_logs: args.sim_logs,
        },
        shard,
        start_at: args.start_at,
        history,
    };
    let ls = scenario::load(&args.scenario)?;
    if args.dry_run {
        print!("{}", run::dry_run(&ls, &opts)?);
        return Ok(exit::OK);
    }
    let cancel = tokio_util::sync::CancellationToken::new();
    run::cancel_on_signals(cancel.clone());
    let outcome = run::run_loaded(&ls, opts, cancel, None).await?;
    let mut footer = vec![match &outcome.write_error {
        Some(_) => format!("results: NOT written in full to {}", outcome.dir.display()),
        None => format!("results: {}", outcome.dir.display()),
    }];
    let html = outcome.dir.join("report.html");
    if html.exists() {
        footer.push(format!("report:  {}", html.display()));
    }
    if quiet && format == Format::Text && sharded {
        // A quiet worker of a sharded run prints where its results are; the tables are
        // merge's to print.
        println!("{}", footer.join("\n"));
    } else {
        print!(
            "{}",
            document::summary_output(&outcome.summary, format, &footer)?
        );
    }
    if let Some(e) = &outcome.write_error {
        eprintln!("error: {e}");
    }
    Ok(outcome.exit_code)
}

/// "1 mode", "2 modes".
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// `validate`: checks every file, prints every problem; exit 2 if any. With
/// `--format json`, one object per file on stdout.
pub fn validate(paths: &[PathBuf], quiet: bool, format: Format) -> Result<i32, Error> {
    let mut code = exit::OK;
    let mut json = Vec::new();
    for p in paths {
        // The plan a single-worker run of the scenario's own target would make: its
        // steps, the machine's limits, its prices.
        let loaded = scenario::load(p)
            .map_err(Error::from)
            .and_then(|ls| run::plan(&ls, &run::RunOptions::default()).map(|plan| (ls, plan)));
        match loaded {
            Ok((ls, plan)) => {
                let s = &ls.scenario;
                let steps = plan.steps.len();
                let what = match s.kind {
                    scenario::ScenarioKind::Kms => "KMS direct".to_owned(),
                    scenario::ScenarioKind::S3 => count(s.modes.len(), "mode"),
                };
                if format == Format::Json {
                    json.push(serde_json::json!({
                        "file": p.display().to_string(), "ok": true, "name": s.name,
                        "modes": s.modes, "phases": s.phases.len(), "steps": steps,
                    }));
                } else if !quiet {
                    println!(
                        "{}: ok ({what}, {}, {})",
                        p.display(),
                        count(s.phases.len(), "phase"),
                        count(steps, "step")
                    );
                }
            }
            Err(e) => {
                if format == Format::Json {
                    json.push(serde_json::json!({
                        "file": p.display().to_string(), "ok": false, "error": e.to_string(),
                    }));
                }
                eprintln!("{e}");
                code = exit::USAGE;
            }
        }
    }
    if format == Format::Json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).map_err(|e| Error::failure(format!("{e}")))?
        );
    }
    Ok(code)
}

/// `serve`: the simulator until Ctrl-C.
pub async fn serve(args: ServeArgs) -> Result<i32, Error> {
    crate::serve::serve(args).await?;
    Ok(exit::OK)
}

/// `compare`: the regression gate; exit 3 on regression.
pub async fn compare(a: CompareArgs, format: Format) -> Result<i32, Error> {
    let mut results = a.results;
    let current = results.pop().unwrap_or_default();
    let history = match &a.history {
        Some(h) => Some(compare::HistoryOptions {
            location: compare::Location::parse(h)?,
            append: a.append,
            window: a.window,
            min_runs: a.min_history,
            test: a.test,
            significance: a.significance,
            min_effect: a.min_effect,
            access: targets::AccessOptions::profile_region(a.profile, a.region),
        }),
        None => None,
    };
    let c = compare::run(&compare::CompareOptions {
        baseline: results.pop(),
        current,
        max_regression: a.max_regression,
        rules: a.rules,
        allow_different: a.allow_different,
        history,
    })
    .await?;
    let doc = compare_doc(&c);
    let md = doc.markdown();
    if let Some(f) = &a.markdown {
        crate::results::write_atomic(f, md.as_bytes())
            .map_err(|e| Error::Usage(format!("--markdown {}: {e}", f.display())))?;
    }
    report::append_step_summary(&md);
    if let Some(f) = &a.junit {
        let xml = document::compare::compare_junit(&c);
        crate::results::write_atomic(f, xml.as_bytes())
            .map_err(|e| Error::Usage(format!("--junit {}: {e}", f.display())))?;
    }
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&c).map_err(|e| Error::failure(format!("{e}")))?
        ),
        Format::Markdown => print!("{md}"),
        // Refused by `dispatch` before anything is read.
        Format::Text | Format::Csv => print!("{}", doc.text_output()),
    }
    Ok(if c.regressions > 0 {
        exit::THRESHOLD
    } else {
        exit::OK
    })
}

/// `report`: charts, report.html and summary.md of one or several results directories.
pub fn report(
    dirs: &[PathBuf],
    out: Option<&Path>,
    quiet: bool,
    format: Format,
) -> Result<i32, Error> {
    let w = report::command(dirs, out)?;
    if format == Format::Json {
        let v = serde_json::json!({ "charts": w.charts, "html": w.html, "markdown": w.markdown });
        println!(
            "{}",
            serde_json::to_string_pretty(&v).map_err(|e| Error::failure(format!("{e}")))?
        );
    } else if !quiet {
        println!(
            "{} charts, {}, {}",
            w.charts.len(),
            w.html.display(),
            w.markdown.display()
        );
    }
    Ok(exit::OK)
}

/// `cost`: the estimate of a profile, a scenario or a results directory.
pub fn cost(args: &CostArgs, format: Format) -> Result<i32, Error> {
    let table = crate::prices::PriceTable::load(args.prices.as_deref())?;
    let r = cost::estimate(&cost::profile(args)?, &table)?;
    match format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&r).map_err(|e| Error::failure(format!("{e}")))?
        ),
        Format::Csv => print!("{}", document::cost::cost_csv(&r)),
        Format::Markdown => print!("{}", cost_doc(&r).markdown()),
        Format::Text => print!("{}", cost_doc(&r).text_output()),
    }
    Ok(exit::OK)
}

/// `merge`: s3:// inputs are downloaded to a temporary directory first.
pub async fn merge(args: MergeArgs, quiet: bool, format: Format) -> Result<i32, Error> {
    let access = targets::AccessOptions::profile_region(args.profile, args.region);
    let tmp = std::env::temp_dir().join(format!("sse-bench-merge-{:08x}", rand::random::<u32>()));
    let result = async {
        let mut inputs = Vec::new();
        for (i, input) in args.inputs.iter().enumerate() {
            if input.starts_with("s3://") {
                let url = remote::S3Url::parse(input)?;
                let local = tmp.join(i.to_string());
                let n = remote::download(&url, &access, &local)
                    .await
                    .map_err(|e| Error::Usage(format!("{e}")))?;
                if n == 0 {
                    return Err(Error::Usage(format!("{url}: no objects there")));
                }
                inputs.push(local);
            } else {
                inputs.push(PathBuf::from(input));
            }
        }
        merge::merge(&inputs, &args.out, args.prices.as_deref())
    }
    .await;
    let _ = std::fs::remove_dir_all(&tmp);
    let m = result?;
    if !(quiet && format == Format::Text) {
        let footer = [format!(
            "merged {} shards into {}",
            m.inputs.len(),
            args.out.display()
        )];
        print!("{}", document::summary_output(&m.summary, format, &footer)?);
    }
    Ok(exit::OK)
}

/// A scenario name from a file name: its stem, in the letters scenario names allow.
fn scenario_name(path: &std::path::Path) -> String {
    let stem = path
        .file_stem()
        .map_or_else(|| "forecast".into(), |s| s.to_string_lossy().into_owned());
    let name = scenario::safe_name(&stem);
    if name.is_empty() {
        "forecast".into()
    } else {
        name
    }
}

/// `forecast`: reads the logs, prints the forecast.
async fn forecast(args: cli::ForecastArgs, quiet: bool, format: Format) -> Result<i32, Error> {
    if args.athena_sql {
        let d = crate::forecast::athena::Dialect::parse(&args.sql_dialect).ok_or_else(|| {
            Error::Usage(format!(
                "--sql-dialect {:?}: expected athena or duckdb",
                args.sql_dialect
            ))
        })?;
        print!("{}", crate::forecast::athena::query(&args.table, d));
        return Ok(exit::OK);
    }
    let max = args.max_malformed.trim();
    let max_malformed_pct: f64 = max
        .strip_suffix('%')
        .unwrap_or(max)
        .trim()
        .parse()
        .map_err(|_| {
            Error::Usage(format!(
                "--max-malformed {max:?}: expected a percentage like 1%"
            ))
        })?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let when = |flag: &str, v: &Option<String>| -> Result<Option<i64>, Error> {
        v.as_deref()
            .map(|s| crate::forecast::window::parse_time(s, now).map_err(|e| e.context(flag)))
            .transpose()
    };
    let window = crate::forecast::window::Window {
        since: when("--since", &args.since)?,
        until: when("--until", &args.until)?,
    };
    if let (Some(s), Some(u)) = (window.since, window.until)
        && s >= u
    {
        return Err(Error::Usage("--since must be before --until".into()));
    }
    let o = crate::forecast::Options {
        window,
        quiet,
        access_logs: args.access_logs.clone(),
        cloudtrail: args.cloudtrail.clone(),
        aggregate: args.aggregate.clone(),
        region: args.region.clone(),
        quota: args.quota,
        keys: args.keys,
        per_session: args.per_session,
        keep_duplicates: args.keep_duplicates,
        bucket_key_lifetime: args.bucket_key_lifetime,
        max_malformed_pct,
        prices: args.prices.clone(),
        threads: args.threads,
        account: args.account.clone(),
        profile: args.profile.clone(),
        emit_trace: args.emit_trace.clone().map(|p| (p, args.trace_names)),
        emit_scenario: match &args.emit_scenario {
            Some(path) => {
                if args.scale.is_some_and(|k| !(k > 0.0 && k.is_finite())) {
                    return Err(Error::Usage("--scale: expected a positive factor".into()));
                }
                Some((
                    path.clone(),
                    crate::forecast::emit::EmitOptions {
                        name: scenario_name(path),
                        scale: args.scale,
                        max_rate: 1000.0,
                        phase_duration: args.phase_duration,
                        // Set to the forecast's region once the logs are read.
                        region: String::new(),
                    },
                ))
            }
            None => None,
        },
    };
    let r = crate::forecast::run(&o).await?;
    if let Some(path) = &args.html {
        let page = crate::report::forecast_html(&r)?;
        crate::results::write_atomic(path, page.as_bytes())
            .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
    }
    let out = match format {
        Format::Json => serde_json::to_string_pretty(&r).map_err(Error::failure)? + "\n",
        Format::Csv => document::forecast::forecast_csv(&r),
        Format::Markdown => document::forecast::forecast_doc(&r).markdown(),
        Format::Text => document::forecast::forecast_doc(&r).text_output(),
    };
    print!("{out}");
    Ok(exit::OK)
}

/// The `--format` values each command prints; any other is refused (exit 2) before
/// the command starts.
fn formats(command: &cli::Command) -> (&'static str, &'static [Format]) {
    use Format::*;
    match command {
        cli::Command::Run(_) => ("run", &[Text, Json, Csv, Markdown]),
        cli::Command::Validate { .. } => ("validate", &[Text, Json]),
        cli::Command::Serve(_) => ("serve", &[Text]),
        cli::Command::Compare(_) => ("compare", &[Text, Json, Markdown]),
        cli::Command::Report { .. } => ("report", &[Text, Json]),
        cli::Command::Cost(_) => ("cost", &[Text, Json, Csv, Markdown]),
        cli::Command::Merge(_) => ("merge", &[Text, Json, Csv, Markdown]),
        cli::Command::Forecast(_) => ("forecast", &[Text, Json, Csv, Markdown]),
    }
}

/// The name `--format` takes for `f`, as clap spells it.
fn format_name(f: Format) -> String {
    clap::ValueEnum::to_possible_value(&f).map_or_else(String::new, |v| v.get_name().to_owned())
}

/// Runs a parsed command line; returns the process exit code.
pub async fn dispatch(cli: cli::Cli) -> i32 {
    let (quiet, format) = (cli.quiet, cli.format);
    let (name, supported) = formats(&cli.command);
    if !supported.contains(&format) {
        let names: Vec<String> = supported.iter().map(|f| format_name(*f)).collect();
        eprintln!(
            "error: --format {}: `{name}` prints {}",
            format_name(format),
            names.join(", ")
        );
        return exit::USAGE;
    }
    let result = match cli.command {
        cli::Command::Run(args) => run(args, quiet, format).await,
        cli::Command::Validate { scenarios } => validate(&scenarios, quiet, format),
        cli::Command::Serve(args) => serve(args).await,
        cli::Command::Compare(a) => compare(a, format).await,
        cli::Command::Report { dirs, out } => report(&dirs, out.as_deref(), quiet, format),
        cli::Command::Cost(args) => cost(&args, format),
        cli::Command::Merge(args) => merge(args, quiet, format).await,
        cli::Command::Forecast(args) => forecast(args, quiet, format).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}
