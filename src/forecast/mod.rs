//! `sse-bench forecast`: KMS load and cost per encryption mode from the traffic users
//! already log. Sources (S3 server access logs, CloudTrail) are read into
//! per-second counts ([`traffic`]), run through the KMS model and price tables for
//! every mode ([`model`]) and reported with a verdict first ([`output`]).

pub mod athena;
pub mod emit;
pub mod findings;
pub mod model;
pub mod output;
pub mod progress;
pub mod source;
pub mod traffic;
pub mod window;

use crate::error::Error;
use std::path::PathBuf;
use std::time::Duration;

/// What `forecast` was asked.
#[derive(Clone, Debug)]
pub struct Options {
    /// S3 server access logs: files, directories or s3:// prefixes.
    pub access_logs: Vec<String>,
    /// CloudTrail logs: files, directories or s3:// prefixes.
    pub cloudtrail: Vec<String>,
    /// Aggregates computed by the `--athena-sql` query (CSV files).
    pub aggregate: Vec<String>,
    /// Region (prices and the default quota); `None`: the one the logs name.
    pub region: Option<String>,
    /// KMS quota override, req/s.
    pub quota: Option<u64>,
    /// Customer-managed KMS keys the buckets would use (default: the keys CloudTrail
    /// shows, else 1).
    pub keys: Option<u32>,
    /// Count every assumed-role session as its own requester.
    pub per_session: bool,
    /// Count a record delivered more than once every time.
    pub keep_duplicates: bool,
    /// Count only records in this window; files named outside it are not read.
    pub window: window::Window,
    /// No progress on stderr.
    pub quiet: bool,
    /// Bucket Key lifetime (not documented by AWS; default 5 minutes).
    pub bucket_key_lifetime: Duration,
    /// Malformed records tolerated, percent of records.
    pub max_malformed_pct: f64,
    /// Price file merged over the built-in table.
    pub prices: Option<PathBuf>,
    /// Reader threads (default: the machine's cores).
    pub threads: Option<usize>,
    /// The account that owns the buckets (default: the commonest requester account).
    pub account: Option<String>,
    /// Profile for s3:// sources.
    pub profile: Option<String>,
    /// Write a scenario with the traffic's shape here.
    pub emit_scenario: Option<(PathBuf, emit::EmitOptions)>,
    /// Write a trace of every request here; with `true`, bucket names in it.
    pub emit_trace: Option<(PathBuf, bool)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            access_logs: Vec::new(),
            cloudtrail: Vec::new(),
            aggregate: Vec::new(),
            region: None,
            quota: None,
            keys: None,
            per_session: false,
            keep_duplicates: false,
            window: window::Window::default(),
            quiet: false,
            bucket_key_lifetime: Duration::from_secs(300),
            max_malformed_pct: 1.0,
            prices: None,
            threads: None,
            account: None,
            profile: None,
            emit_scenario: None,
            emit_trace: None,
        }
    }
}

/// Local files of the sources: s3:// prefixes are downloaded into `tmp`.
async fn local_files(
    o: &Options,
    tmp: &std::path::Path,
) -> Result<(Vec<source::LogFile>, u64), Error> {
    let mut files = Vec::new();
    let mut pruned = 0u64;
    let all = o
        .access_logs
        .iter()
        .map(|s| (s, source::Kind::AccessLogs))
        .chain(o.cloudtrail.iter().map(|s| (s, source::Kind::CloudTrail)))
        .chain(o.aggregate.iter().map(|s| (s, source::Kind::Aggregate)));
    for (i, (src, kind)) in all.enumerate() {
        let path = if src.starts_with("s3://") {
            let url = crate::remote::S3Url::parse(src)?;
            let access =
                crate::targets::AccessOptions::profile_region(o.profile.clone(), o.region.clone());
            let into = tmp.join(i.to_string());
            let keep = |key: &str| o.window.may_hold(key);
            let (n, skipped) = crate::remote::download_where(&url, &access, &into, &keep)
                .await
                .map_err(|e| Error::failure(format!("{src}: {e}")))?;
            pruned += skipped as u64;
            if n == 0 && skipped > 0 {
                return Err(Error::Usage(format!(
                    "{src}: no log objects delivered inside the window ({skipped} outside it)"
                )));
            }
            if n == 0 {
                return Err(Error::Usage(format!(
                    "{src}: no log objects under this prefix"
                )));
            }
            into
        } else {
            PathBuf::from(src)
        };
        let (found, skipped) = source::files(&path, kind, &o.window)?;
        pruned += skipped;
        if found.is_empty() && skipped > 0 {
            return Err(Error::Usage(format!(
                "{src}: no files delivered inside the window ({skipped} outside it)"
            )));
        }
        if found.is_empty() {
            return Err(Error::Usage(format!("{src}: no files to read")));
        }
        files.extend(found);
    }
    Ok((files, pruned))
}

/// Reads the sources and forecasts every mode.
pub async fn run(o: &Options) -> Result<output::Report, Error> {
    if o.access_logs.is_empty() && o.cloudtrail.is_empty() && o.aggregate.is_empty() {
        return Err(Error::Usage(
            "forecast: give --access-logs PATH, --cloudtrail PATH (files, directories or s3:// prefixes) or --aggregate FILE.csv".into(),
        ));
    }
    let table = crate::prices::PriceTable::load(o.prices.as_deref())?;
    if let Some(r) = &o.region {
        // A region without prices is refused before any log is read.
        table.region(r)?;
    }
    let tmp = tempfile::Builder::new()
        .prefix("sse-bench-forecast-")
        .tempdir()
        .map_err(|e| Error::failure(format!("a temporary directory: {e}")))?;
    let (files, pruned) = local_files(o, tmp.path()).await?;
    let threads = o
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let (per_session, from_trail) = (
        o.per_session,
        o.access_logs.is_empty() && o.aggregate.is_empty(),
    );
    let nfiles = files.len();
    let counters = std::sync::Arc::new(progress::Counters::default());
    let read = source::ReadOptions {
        per_session,
        traffic_from_trail: from_trail,
        threads,
        trace: o.emit_trace.is_some(),
        dedupe: !o.keep_duplicates,
        window: o.window,
        progress: Some(counters.clone()),
        split_bytes: source::SPLIT_BYTES,
    };
    let display = progress::start(counters, nfiles, o.quiet);
    let traffic = tokio::task::spawn_blocking(move || source::read_all(&files, read))
        .await
        .map_err(|e| Error::failure(format!("reading the logs: {e}")));
    display.finish();
    let mut traffic = traffic??;
    traffic.pruned_files = pruned;
    check(&traffic, o.max_malformed_pct)?;
    let (region, region_from) = region(o.region.as_deref(), &traffic)?;
    let prices = table.region(&region)?.clone();
    let mut rules = crate::kms::KmsRules {
        bucket_key_lifetime: o.bucket_key_lifetime,
        ..Default::default()
    };
    // Access logs do not say whether a HEAD asked for checksums; none is assumed.
    rules.head_checksum_decrypt = false;
    let keys = o
        .keys
        .unwrap_or_else(|| (traffic.kms_keys.len() as u32).max(1));
    let settings = model::Settings {
        region: region.clone(),
        region_from,
        quota_rps: o.quota.unwrap_or(prices.kms_quota_rps),
        rules,
        keys,
        key_billing: crate::prices::KeyBilling::of("customer-managed", 0),
        home_account: output::home_account(&traffic, o.account.clone()),
    };
    let f = model::forecast(&traffic, &settings, &prices, table.seconds_per_month());
    let r = output::build(&traffic, &f, &settings, nfiles);
    let home = r.home_account.as_deref();
    if let Some((path, names)) = &o.emit_trace {
        let tr = emit::trace(&traffic, home, *names);
        let mut text = Vec::new();
        tr.write(&mut text)
            .and_then(|_| crate::results::write_atomic(path, &text))
            .map_err(|e| Error::failure(format!("{}: {e}", path.display())))?;
    }
    if let Some((path, eo)) = &o.emit_scenario {
        let trace = o.emit_trace.as_ref().map(|(t, _)| relative_to(t, path));
        let eo = emit::EmitOptions {
            region: region.clone(),
            ..eo.clone()
        };
        write_scenario(&traffic, home, path, &eo, trace.as_deref())?;
    }
    Ok(r)
}

/// The region the forecast is priced in, and where it came from: `--region`, else the
/// one region the records name (host headers, access logs' region field, CloudTrail's
/// `awsRegion`), else us-east-1. Records naming several regions need `--region`: one
/// account's quota is per region, and a forecast prices one.
fn region(flag: Option<&str>, t: &traffic::Traffic) -> Result<(String, String), Error> {
    if let Some(r) = flag {
        return Ok((r.to_owned(), "--region".into()));
    }
    let named: Vec<String> = t
        .regions
        .iter()
        .map(|(r, n)| format!("{r} ({n} records)"))
        .collect();
    match t.regions.keys().collect::<Vec<_>>().as_slice() {
        [] => Ok((
            "us-east-1".into(),
            "no region in the logs: pass --region".into(),
        )),
        [one] => Ok(((*one).clone(), "from the logs".into())),
        _ => Err(Error::usage(format!(
            "the logs name several regions: {}; a forecast prices one region's quota: pass --region R (and sources of that region)",
            named.join(", ")
        ))),
    }
}

/// How a scenario at `scenario` names the file `file`: its name when they share a
/// directory, else its absolute path.
fn relative_to(file: &std::path::Path, scenario: &std::path::Path) -> String {
    let dir = |p: &std::path::Path| {
        p.parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    std::path::Path::new(".")
                } else {
                    d
                }
            })
            .and_then(|d| d.canonicalize().ok())
    };
    match (dir(file), dir(scenario), file.file_name()) {
        (Some(a), Some(b), Some(n)) if a == b => n.to_string_lossy().into_owned(),
        _ => std::path::absolute(file)
            .unwrap_or_else(|_| file.to_owned())
            .display()
            .to_string(),
    }
}

/// Writes the emitted scenario, checked by the scenario parser first.
fn write_scenario(
    t: &traffic::Traffic,
    home: Option<&str>,
    path: &std::path::Path,
    eo: &emit::EmitOptions,
    trace: Option<&str>,
) -> Result<(), Error> {
    let text = emit::scenario(t, home, eo, trace)?;
    if let Err(e) = crate::scenario::parse(path, &text) {
        return Err(Error::failure(format!(
            "the emitted scenario does not validate (a bug): {e}"
        )));
    }
    crate::results::write_atomic(path, text.as_bytes())
        .map_err(|e| Error::failure(format!("{}: {e}", path.display())))
}

/// Refuses input that cannot carry a forecast: nothing read, too many malformed
/// records, no S3 traffic.
fn check(t: &traffic::Traffic, max_pct: f64) -> Result<(), Error> {
    let first = || {
        t.first_malformed
            .iter()
            .map(|m| format!("\n  {m}"))
            .collect::<String>()
    };
    if t.records == 0 {
        return Err(Error::Usage(
            "forecast: the sources hold no records (empty files?)".into(),
        ));
    }
    if t.malformed == t.records {
        return Err(Error::Usage(format!(
            "forecast: no record is in a known format (S3 server access log text, its CloudWatch Logs JSON form, or CloudTrail); first problems:{}",
            first()
        )));
    }
    let pct = t.malformed as f64 / t.records as f64 * 100.0;
    if pct > max_pct {
        return Err(Error::Usage(format!(
            "forecast: {} of {} records ({pct:.2}%) are malformed, over the {max_pct}% allowed (--max-malformed); first problems:{}",
            t.malformed,
            t.records,
            first()
        )));
    }
    if t.seconds.is_empty() && t.failed.is_empty() {
        return Err(Error::Usage(
            "forecast: the sources hold no S3 requests (access log lines or CloudTrail S3 data events)".into(),
        ));
    }
    Ok(())
}
