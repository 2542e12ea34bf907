//! Command-line interface: argument definitions and dispatch to the library.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

/// The process exit codes shared by every command (they live with the error type,
/// which carries them).
pub use crate::error::exit;

/// Output format of summaries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Human-readable tables.
    #[default]
    Text,
    /// JSON on stdout.
    Json,
    /// CSV on stdout (`cost`; `run` prints ops.csv).
    Csv,
    /// Markdown tables on stdout.
    Markdown,
}

/// What S3 server-side encryption with KMS does to latency, KMS request volume and cost.
#[derive(Parser, Debug)]
#[command(name = "sse-bench", version = crate::provenance::LONG_VERSION, about)]
pub struct Cli {
    /// Subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Only print errors and the final result.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// More logging (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Output format of summaries.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a scenario and write a results directory.
    Run(RunArgs),
    /// Check scenario files without running them.
    Validate {
        /// Scenario files.
        #[arg(required = true)]
        scenarios: Vec<PathBuf>,
    },
    /// Run the embedded S3 + KMS simulator as a standalone server.
    Serve(ServeArgs),
    /// KMS quota and cost estimate without running load: from a traffic profile,
    /// a scenario file or a results directory.
    Cost(CostArgs),
    /// Regression gate: compare a run with a baseline, or with the history of past runs;
    /// exit 3 on regression.
    Compare(CompareArgs),
    /// Merge the results of N shards into one results directory (histograms added).
    Merge(MergeArgs),
    /// KMS load and cost per encryption mode from S3 server access logs and CloudTrail.
    Forecast(ForecastArgs),
    /// (Re)render charts, report.html and summary.md; several directories are overlaid.
    Report {
        /// Results directories.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Where to write (default: the directory itself; required for several).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// Arguments of `forecast`.
#[derive(Args, Debug)]
pub struct ForecastArgs {
    /// S3 server access logs (text or CloudWatch Logs JSON, plain or gzip): a file, a
    /// directory (every file in it, read in parallel) or s3://bucket/prefix/. Repeatable.
    #[arg(long, value_name = "PATH|S3URL")]
    pub access_logs: Vec<String>,
    /// CloudTrail log files ({"Records": [...]}, plain or gzip): S3 data events, and the
    /// KMS calls S3 made (today's measured KMS load). Repeatable.
    #[arg(long, value_name = "PATH|S3URL")]
    pub cloudtrail: Vec<String>,
    /// The per-second aggregate the `--athena-sql` query computed (CSV), instead of or
    /// beside the logs. Repeatable.
    #[arg(long, value_name = "FILE.csv")]
    pub aggregate: Vec<String>,
    /// Print the SQL that computes that aggregate over an access-log table, and exit.
    #[arg(long)]
    pub athena_sql: bool,
    /// The access-log table the SQL reads (AWS's documented table definition).
    #[arg(
        long,
        value_name = "DB.TABLE",
        default_value = "s3_access_logs_db.mybucket_logs",
        requires = "athena_sql"
    )]
    pub table: String,
    /// SQL dialect: athena, or duckdb (how the query is tested).
    #[arg(
        long,
        value_name = "athena|duckdb",
        default_value = "athena",
        requires = "athena_sql"
    )]
    pub sql_dialect: String,
    /// Region: prices and the KMS quota (default: the region the logs name; us-east-1
    /// when they name none).
    #[arg(long)]
    pub region: Option<String>,
    /// KMS request quota to forecast against, req/s (default: the region's).
    #[arg(long, value_name = "RPS")]
    pub quota: Option<u64>,
    /// Customer-managed KMS keys the buckets would use (default: as many as CloudTrail
    /// shows, else 1).
    #[arg(long, value_name = "N")]
    pub keys: Option<u32>,
    /// Count each assumed-role session as its own requester (Bucket Keys are cached per
    /// requester; by default sessions of one role are one).
    #[arg(long)]
    pub per_session: bool,
    /// Count records delivered more than once (same access log request ID and
    /// operation, same CloudTrail eventID) every time; by default each once.
    #[arg(long)]
    pub keep_duplicates: bool,
    /// Count only records from this time on: RFC 3339 (2026-03-01T00:00:00Z), a date, or
    /// a duration before now (7d). Files named as delivered before it are not read.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Count only records before this time (same forms as --since). Files named up to
    /// 24 hours after it are still read, for records delivered late.
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,
    /// How long S3 keeps a Bucket Key (not documented by AWS).
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = crate::units::parse_duration)]
    pub bucket_key_lifetime: std::time::Duration,
    /// Malformed records tolerated before the forecast refuses (exit 2), like 1%.
    #[arg(long, value_name = "PCT", default_value = "1%")]
    pub max_malformed: String,
    /// The account that owns the buckets (cross-account requesters are counted apart;
    /// default: the commonest requester account).
    #[arg(long, value_name = "ID")]
    pub account: Option<String>,
    /// Price file (TOML) merged over the built-in price table.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Reader threads (default: one per core).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Shared-config profile for s3:// sources.
    #[arg(long)]
    pub profile: Option<String>,
    /// Also write a self-contained HTML page (the forecast and its charts) here.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a scenario with the traffic's shape here (one stream per bucket, phases from
    /// the busiest hour's minutes); it validates and runs on the embedded target.
    #[arg(long, value_name = "FILE")]
    pub emit_scenario: Option<PathBuf>,
    /// Write a trace of every successful object request here (times, operation, size,
    /// requester, a hash of the key) for an exact replay; with --emit-scenario, the
    /// scenario replays it.
    #[arg(long, value_name = "FILE")]
    pub emit_trace: Option<PathBuf>,
    /// Name the buckets in the trace (default: bucket-1, bucket-2, ...).
    #[arg(long, requires = "emit_trace")]
    pub trace_names: bool,
    /// Rate factor of the emitted scenario (default 1, or less so its busiest minute is
    /// at most 1,000 op/s).
    #[arg(long, value_name = "F", requires = "emit_scenario")]
    pub scale: Option<f64>,
    /// How long each minute of the busiest hour lasts in the emitted scenario.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = crate::units::parse_duration, requires = "emit_scenario")]
    pub phase_duration: std::time::Duration,
}

/// Arguments of `compare`.
#[derive(Args, Debug)]
pub struct CompareArgs {
    /// BASELINE CURRENT, or CURRENT alone with --history: results directories or their
    /// summary.json.
    #[arg(required = true, num_args = 1..=2, value_name = "RESULTS")]
    pub results: Vec<PathBuf>,
    /// Judge CURRENT against the last runs of its scenario in this history (a directory
    /// or s3://bucket/prefix/, as `run --history` writes it) instead of one baseline.
    #[arg(long, value_name = "DIR|S3URL")]
    pub history: Option<String>,
    /// After judging, add CURRENT to the history (whatever the verdict).
    #[arg(long, requires = "history")]
    pub append: bool,
    /// How many of the latest runs form the history (default 20).
    #[arg(long, value_name = "N", requires = "history")]
    pub window: Option<usize>,
    /// Fewer history runs than this fall back to the fixed tolerances (default 10).
    #[arg(long, value_name = "N", requires = "history")]
    pub min_history: Option<usize>,
    /// The statistical test: `t` (Student's t prediction test, default) or `z` (z-score).
    #[arg(long, value_name = "t|z", requires = "history")]
    pub test: Option<String>,
    /// One-sided significance level per metric (default 0.01).
    #[arg(long, value_name = "P", requires = "history")]
    pub significance: Option<f64>,
    /// Smallest change that counts as a regression, like 5% (default 5%; `[min_effect]`
    /// in the rules file sets it per metric).
    #[arg(long, value_name = "PCT", requires = "history")]
    pub min_effect: Option<String>,
    /// Profile for an s3:// history.
    #[arg(long, requires = "history")]
    pub profile: Option<String>,
    /// Region for an s3:// history.
    #[arg(long, requires = "history")]
    pub region: Option<String>,
    /// Tolerance rules, e.g. `p99=10%`, `ops=5%`, `kms_per_op=0%`, `error_rate=0.1pp`,
    /// `sse-kms.put.p99=20%` (repeat or separate with commas).
    #[arg(long, value_delimiter = ',')]
    pub max_regression: Vec<String>,
    /// Rules from a TOML file with a `[max_regression]` table.
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Also write the comparison as Markdown here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Also write JUnit XML here (one testcase per gated metric).
    #[arg(long)]
    pub junit: Option<PathBuf>,
    /// Compare results of different scenarios.
    #[arg(long)]
    pub allow_different: bool,
}

/// Arguments of `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// `embedded` (default), an endpoint URL, or `aws`.
    #[arg(long)]
    pub target: Option<String>,
    /// Results directory (default `results/<name>-<UTC timestamp>`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Seed for key choice, sizes, payloads and the simulator (overrides the scenario's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Price file (TOML) merged over the built-in price table.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Also save the summary as baseline NAME under results/baselines/NAME/.
    #[arg(long, value_name = "NAME")]
    pub save_baseline: Option<String>,
    /// Print the plan, the buckets and key it would create and the predicted cost; touch nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Cost cap in USD: a billed run predicted to cost more is refused, and any run
    /// stops issuing requests before its priced requests would cross it (default 1 on
    /// endpoint and aws targets; none on the embedded simulator unless given).
    #[arg(long, value_name = "USD")]
    pub max_cost: Option<f64>,
    /// Prefill only the first N keys of each stream (reads draw from those); needed
    /// for key spaces above 1,000,000 objects per mode with prefill on.
    #[arg(long, value_name = "N")]
    pub prefill_limit: Option<u64>,
    /// Keep the buckets (and objects) the run created on a real target.
    #[arg(long)]
    pub keep: bool,
    /// On the aws target, do not read the run's KMS calls from CloudTrail event history
    /// afterwards (needs cloudtrail:LookupEvents).
    #[arg(long)]
    pub no_cloudtrail: bool,
    /// How long to wait at most for CloudTrail to deliver the run's KMS events (default 15m).
    #[arg(long, value_name = "DURATION", value_parser = crate::units::parse_duration)]
    pub cloudtrail_wait: Option<std::time::Duration>,
    /// Shared-config profile for the aws target's credentials (else AWS_PROFILE / default chain).
    #[arg(long)]
    pub profile: Option<String>,
    /// Region: of an aws or endpoint target (over `[target] region` and the profile's), or
    /// the one the embedded simulator claims (its prices and default KMS quota).
    #[arg(long)]
    pub region: Option<String>,
    /// KMS key of the KMS modes on a real target: alias, key id or ARN (over `[target] kms_key`).
    #[arg(long, value_name = "ALIAS|ARN")]
    pub kms_key: Option<String>,
    /// Create a KMS key tagged for this run and schedule its deletion (7 days) at the end.
    #[arg(long)]
    pub create_key: bool,
    /// Use an existing bucket under a fresh key prefix instead of creating buckets:
    /// `NAME` for every bucket role, or `ROLE=NAME` (repeat). Its settings are not changed.
    #[arg(long, value_name = "[ROLE=]NAME")]
    pub bucket: Vec<String>,
    /// Key prefix in `--bucket` buckets (default `sse-bench-<run id>/`); refused if objects exist under it.
    #[arg(long)]
    pub key_prefix: Option<String>,
    /// Run shard I of N: 1/N of every rate and concurrency, a disjoint slice of the keys.
    #[arg(long, value_name = "I/N", conflicts_with = "shards")]
    pub shard: Option<String>,
    /// Run as one of N shards, the index from JOB_COMPLETION_INDEX (Kubernetes Indexed Job).
    #[arg(long, value_name = "N")]
    pub shards: Option<u32>,
    /// Wait for this instant before the first phase: RFC 3339 (2026-11-24T02:00:00Z) or +30s.
    #[arg(long, value_name = "TIME")]
    pub start_at: Option<String>,
    /// Append a record of the run's gated metrics to this history (a directory or
    /// s3://bucket/prefix/), which `compare --history` judges later runs against.
    #[arg(long, value_name = "DIR|S3URL")]
    pub history: Option<String>,
    /// Embedded target: write the simulator's S3 server access logs and CloudTrail
    /// records (S3 data events, KMS calls) into DIR, in AWS's formats (`forecast` reads them).
    #[arg(long, value_name = "DIR")]
    pub sim_logs: Option<PathBuf>,
}

/// Arguments of `merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Shard results: directories (or a directory of them) or s3://bucket/prefix/ URLs.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Where to write the merged results directory.
    #[arg(long)]
    pub out: PathBuf,
    /// Price file (TOML) merged over the built-in price table.
    #[arg(long)]
    pub prices: Option<PathBuf>,
    /// Profile for reading s3:// inputs.
    #[arg(long)]
    pub profile: Option<String>,
    /// Region for reading s3:// inputs.
    #[arg(long)]
    pub region: Option<String>,
}

/// Arguments of `cost`.
#[derive(Args, Debug, Default)]
pub struct CostArgs {
    /// Take rates, mix, sizes and requesters from a scenario file.
    #[arg(long, conflicts_with = "results")]
    pub scenario: Option<PathBuf>,
    /// Take measured KMS calls per operation and the rate from a results directory.
    #[arg(long)]
    pub results: Option<PathBuf>,
    /// Region (default: the scenario's or the results', else us-east-1).
    #[arg(long)]
    pub region: Option<String>,
    /// Modes to estimate, comma-separated (default: all four, or the scenario's).
    #[arg(long, value_delimiter = ',')]
    pub modes: Vec<String>,
    /// PutObject requests per second.
    #[arg(long)]
    pub puts_per_s: Option<f64>,
    /// GetObject requests per second.
    #[arg(long)]
    pub gets_per_s: Option<f64>,
    /// HeadObject requests per second.
    #[arg(long)]
    pub heads_per_s: Option<f64>,
    /// CopyObject requests per second.
    #[arg(long)]
    pub copies_per_s: Option<f64>,
    /// DeleteObject requests per second.
    #[arg(long)]
    pub deletes_per_s: Option<f64>,
    /// Total S3 operations per second (with --scenario or --results: replaces their rate).
    #[arg(long)]
    pub ops_per_s: Option<f64>,
    /// Object size (e.g. 64KiB).
    #[arg(long)]
    pub size: Option<String>,
    /// Multipart part size: larger objects are uploaded in parts of this size.
    #[arg(long)]
    pub part_size: Option<String>,
    /// Distinct requester principals (Bucket Keys are fetched per requester).
    #[arg(long)]
    pub requesters: Option<u32>,
    /// Bucket Key lifetime (not documented by AWS; default 5m).
    #[arg(long)]
    pub bucket_key_lifetime: Option<String>,
    /// How long the data being read took to write (Bucket Keys it spans); default one lifetime.
    #[arg(long)]
    pub data_age: Option<String>,
    /// KMS keys charged (0 leaves key charges out).
    #[arg(long, default_value_t = 1)]
    pub keys: u32,
    /// Automatic rotations the customer-managed key has had: each rotated version
    /// adds a key-month, up to the price table's cap.
    #[arg(long)]
    pub rotations: Option<u32>,
    /// The key is the AWS-managed aws/s3 key: no monthly key charge.
    #[arg(long)]
    pub aws_managed_key: bool,
    /// Price file (TOML) merged over the built-in price table.
    #[arg(long)]
    pub prices: Option<PathBuf>,
}

/// Arguments of `serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address of the S3 endpoint.
    #[arg(long, default_value = "127.0.0.1:9000")]
    pub listen: SocketAddr,
    /// Address of the KMS (and admin) endpoint; default: the S3 port + 1.
    #[arg(long)]
    pub kms_listen: Option<SocketAddr>,
    /// Simulator configuration file (TOML, the `[simulator]` table's fields).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Keep object data (encrypted) in this directory instead of memory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Write S3 server access logs and CloudTrail records of the traffic into DIR.
    #[arg(long, value_name = "DIR")]
    pub logs: Option<PathBuf>,
    /// Number of requester credentials to accept.
    #[arg(long)]
    pub requesters: Option<u32>,
    /// KMS quota in requests per second (0 = unlimited).
    #[arg(long)]
    pub kms_quota: Option<u64>,
    /// Largest request body accepted (default 5GiB, S3's limit for a PUT or a part);
    /// larger ones get EntityTooLarge.
    #[arg(long, value_name = "SIZE", value_parser = crate::units::parse_size)]
    pub max_body: Option<u64>,
    /// Listen on addresses other than loopback (the simulator's credentials are
    /// printed and fixed: anyone who can reach the port can use it).
    #[arg(long)]
    pub allow_remote: bool,
}
