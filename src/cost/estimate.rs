//! `sse-bench cost`: KMS requests per second, quota headroom and monthly cost per
//! mode from a traffic profile, a scenario or a results directory, with no load.

use super::{CostBreakdown, PriceTable, RegionPrices, S3Requests};
use crate::cli::{CostArgs, Format};
use crate::kms::{self, KmsRules, S3Work};
use crate::scenario::{self, Mode};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

/// S3 requests per second by operation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct OpRates {
    /// PutObject (or whole multipart uploads).
    pub puts: f64,
    /// GetObject.
    pub gets: f64,
    /// HeadObject.
    pub heads: f64,
    /// CopyObject.
    pub copies: f64,
    /// DeleteObject.
    pub deletes: f64,
}

impl OpRates {
    /// All operations per second.
    pub fn total(&self) -> f64 {
        self.puts + self.gets + self.heads + self.copies + self.deletes
    }

    fn scaled(&self, k: f64) -> OpRates {
        OpRates {
            puts: self.puts * k,
            gets: self.gets * k,
            heads: self.heads * k,
            copies: self.copies * k,
            deletes: self.deletes * k,
        }
    }
}

/// A traffic profile to estimate.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Profile {
    /// Where it came from ("profile", "scenario FILE", "results DIR").
    pub source: String,
    /// Region.
    pub region: String,
    /// Modes to estimate.
    pub modes: Vec<Mode>,
    /// Operations per second.
    pub rates: OpRates,
    /// Mean object size written (bytes).
    pub size: u64,
    /// Multipart part size, when uploads above it are split.
    pub part_size: Option<u64>,
    /// Principals that write.
    pub writers: u32,
    /// Principals that read.
    pub readers: u32,
    /// Bucket Key lifetime.
    #[serde(with = "humantime_serde_secs")]
    pub bucket_key_lifetime: Duration,
    /// How long the data read took to write.
    #[serde(with = "humantime_serde_secs")]
    pub data_age: Duration,
    /// Customer-managed keys charged.
    pub keys: u32,
    /// Measured KMS calls per S3 operation by mode (from a results directory).
    pub measured_kms_per_op: BTreeMap<Mode, f64>,
    /// Inferred rules in force.
    #[serde(skip)]
    pub rules: KmsRules,
}

mod humantime_serde_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// The estimate of one mode.
#[derive(Clone, Debug, Serialize)]
pub struct ModeEstimate {
    /// Mode.
    pub mode: Mode,
    /// "model" or "measured" (KMS calls per operation from a results directory).
    pub kms_basis: String,
    /// Whether every model rule used is documented ("documented") or not ("inferred").
    pub rule_status: Option<String>,
    /// KMS requests per second needed.
    pub kms_rps: f64,
    /// KMS requests per 1,000 S3 operations.
    pub kms_per_1000_ops: f64,
    /// Share of the regional quota, percent.
    pub quota_pct: f64,
    /// Whether the quota is exceeded.
    pub exceeds_quota: bool,
    /// S3 requests per month by tier.
    pub s3_requests_per_month: S3Requests,
    /// KMS requests per month.
    pub kms_requests_per_month: f64,
    /// Monthly charges (KMS after the free tier).
    pub monthly: CostBreakdown,
}

/// The whole answer.
#[derive(Clone, Debug, Serialize)]
pub struct CostReport {
    /// The profile estimated.
    pub profile: Profile,
    /// The region's prices and quota.
    pub prices: RegionPrices,
    /// The regional KMS quota (req/s).
    pub quota_rps: u64,
    /// Per mode.
    pub modes: Vec<ModeEstimate>,
    /// KMS request charges Bucket Keys save per month against SSE-KMS (USD, percent).
    pub bucket_key_saving: Option<(f64, f64)>,
    /// Plain-language findings (quota exceeded, assumptions).
    pub messages: Vec<String>,
}

/// Bad arguments (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(s: impl Into<String>) -> UsageError {
    UsageError(s.into())
}

fn parse_size(name: &str, v: &str) -> Result<u64, UsageError> {
    crate::units::parse_size(v).map_err(|e| usage(format!("{name}: {e}")))
}

fn parse_duration(name: &str, v: &str) -> Result<Duration, UsageError> {
    crate::units::parse_duration(v).map_err(|e| usage(format!("{name}: {e}")))
}

/// Builds the profile the arguments describe.
pub fn profile(a: &CostArgs) -> Result<Profile, UsageError> {
    let flag_rates = [
        ("--puts-per-s", a.puts_per_s),
        ("--gets-per-s", a.gets_per_s),
        ("--heads-per-s", a.heads_per_s),
        ("--copies-per-s", a.copies_per_s),
        ("--deletes-per-s", a.deletes_per_s),
        ("--ops-per-s", a.ops_per_s),
    ];
    for (n, v) in flag_rates {
        if let Some(v) = v
            && !(v >= 0.0 && v.is_finite())
        {
            return Err(usage(format!("{n}: expected a rate of 0 or more, got {v}")));
        }
    }
    let explicit = OpRates {
        puts: a.puts_per_s.unwrap_or(0.0),
        gets: a.gets_per_s.unwrap_or(0.0),
        heads: a.heads_per_s.unwrap_or(0.0),
        copies: a.copies_per_s.unwrap_or(0.0),
        deletes: a.deletes_per_s.unwrap_or(0.0),
    };
    let any_op_flag = flag_rates[..5].iter().any(|f| f.1.is_some());
    let mut modes: Vec<Mode> = Vec::new();
    for m in &a.modes {
        modes.push(Mode::parse(m).ok_or_else(|| {
            usage(format!(
                "--modes: unknown mode {m:?}; expected sse-s3, sse-kms, sse-kms-bucket-key or dsse-kms"
            ))
        })?);
    }
    let lifetime = a
        .bucket_key_lifetime
        .as_deref()
        .map(|v| parse_duration("--bucket-key-lifetime", v))
        .transpose()?;
    if lifetime.is_some_and(|d| d.is_zero()) {
        return Err(usage(
            "--bucket-key-lifetime: expected a duration above zero",
        ));
    }
    let mut p = if let Some(path) = &a.scenario {
        if any_op_flag {
            return Err(usage(
                "--scenario gives the operation mix: use --ops-per-s to change its rate",
            ));
        }
        from_scenario(path, a.ops_per_s)?
    } else if let Some(dir) = &a.results {
        if any_op_flag {
            return Err(usage(
                "--results gives the operation mix: use --ops-per-s to change its rate",
            ));
        }
        from_results(dir, a.ops_per_s)?
    } else {
        if a.ops_per_s.is_some() {
            return Err(usage(
                "--ops-per-s scales a --scenario or --results; for a profile give --puts-per-s, --gets-per-s, ...",
            ));
        }
        if explicit.total() <= 0.0 {
            return Err(usage(
                "give a traffic profile (--puts-per-s, --gets-per-s, --heads-per-s, --copies-per-s, --deletes-per-s), --scenario FILE or --results DIR",
            ));
        }
        Profile {
            source: "profile".into(),
            region: "us-east-1".into(),
            modes: Mode::ALL.to_vec(),
            rates: explicit,
            size: 64 << 10,
            part_size: None,
            writers: 1,
            readers: 1,
            bucket_key_lifetime: KmsRules::default().bucket_key_lifetime,
            data_age: Duration::ZERO,
            keys: 1,
            measured_kms_per_op: BTreeMap::new(),
            rules: KmsRules::default(),
        }
    };
    if let Some(r) = &a.region {
        p.region = r.clone();
    }
    if !modes.is_empty() {
        p.modes = modes;
    }
    if let Some(s) = &a.size {
        p.size = parse_size("--size", s)?;
        if p.size == 0 {
            return Err(usage("--size: expected a size above zero"));
        }
    }
    if let Some(s) = &a.part_size {
        let part = parse_size("--part-size", s)?;
        if part < 5 << 20 {
            return Err(usage(format!(
                "--part-size: S3 parts are at least 5MiB, got {s}"
            )));
        }
        p.part_size = Some(part);
    }
    if let Some(r) = a.requesters {
        if r == 0 {
            return Err(usage("--requesters: expected at least 1"));
        }
        p.writers = r;
        p.readers = r;
    }
    if let Some(l) = lifetime {
        p.bucket_key_lifetime = l;
    }
    p.rules.bucket_key_lifetime = p.bucket_key_lifetime;
    p.data_age = match &a.data_age {
        Some(v) => parse_duration("--data-age", v)?,
        None if p.data_age.is_zero() => p.bucket_key_lifetime,
        None => p.data_age,
    };
    p.keys = a.keys;
    Ok(p)
}

fn from_scenario(path: &std::path::Path, ops: Option<f64>) -> Result<Profile, UsageError> {
    let ls = scenario::load(path).map_err(|e| usage(e.to_string()))?;
    let s = &ls.scenario;
    if s.kind == scenario::ScenarioKind::Kms {
        return Err(usage(format!(
            "{}: a kind = \"kms\" scenario drives KMS directly; its KMS rate is its phase rate",
            path.display()
        )));
    }
    // The steady rate: the longest measured fixed rate, else the peak of a ramp.
    let fixed = s.steady_rate();
    let ramp_peak = s
        .phases
        .iter()
        .filter_map(|p| p.rate.map(|r| r.bounds().1))
        .reduce(f64::max);
    let rate = ops.or(fixed).or(ramp_peak).ok_or_else(|| {
        usage(format!(
            "{}: the scenario has no open-loop rate (closed-loop phases only): pass --ops-per-s",
            path.display()
        ))
    })?;
    let streams = scenario::streams(s);
    let total_share: f64 = streams.iter().map(|st| st.share).sum();
    let mut rates = OpRates::default();
    let (mut bytes, mut puts) = (0.0, 0.0);
    let mut part_size = None;
    let mut writers = std::collections::BTreeSet::new();
    let mut readers = std::collections::BTreeSet::new();
    for st in &streams {
        let m = &st.mix;
        let w = (m.put + m.get + m.head + m.copy + m.delete) as f64;
        if w <= 0.0 {
            continue;
        }
        let r = rate * st.share / total_share / w;
        rates.puts += m.put as f64 * r;
        rates.gets += m.get as f64 * r;
        rates.heads += m.head as f64 * r;
        rates.copies += m.copy as f64 * r;
        rates.deletes += m.delete as f64 * r;
        bytes += st.size.mean() * m.put as f64 * r;
        puts += m.put as f64 * r;
        if let Some(mp) = st.multipart
            && st.size.mean() >= mp.threshold.0 as f64
        {
            part_size = Some(mp.part.0);
        }
        writers.extend(st.writer_names());
        readers.extend(st.reader_names());
    }
    let rules = KmsRules::from_sim(&s.simulator);
    Ok(Profile {
        source: format!("scenario {}", path.display()),
        region: s
            .target
            .region
            .clone()
            .unwrap_or_else(|| s.simulator.region.clone()),
        modes: s.modes.clone(),
        rates,
        size: if puts > 0.0 {
            (bytes / puts).round() as u64
        } else {
            64 << 10
        },
        part_size,
        writers: writers.len().max(1) as u32,
        readers: readers.len().max(1) as u32,
        bucket_key_lifetime: rules.bucket_key_lifetime,
        data_age: Duration::ZERO,
        keys: 1,
        measured_kms_per_op: BTreeMap::new(),
        rules,
    })
}

fn from_results(dir: &std::path::Path, ops: Option<f64>) -> Result<Profile, UsageError> {
    let s = crate::results::read_summary(dir).map_err(usage)?;
    let mut counts = OpRates::default();
    let (mut bytes, mut put_ok) = (0.0, 0.0);
    let mut measured_kms_per_op = BTreeMap::new();
    for k in &s.kms {
        if k.source == "measured" && k.s3_ops > 0 {
            measured_kms_per_op.insert(k.mode, k.per_s3_op);
        }
    }
    // The mix of the first mode (every mode ran the same workload).
    let Some(first) = s.scenario.modes.first().copied() else {
        return Err(usage(format!(
            "{}: the results have no modes",
            dir.display()
        )));
    };
    for r in s.results.iter().filter(|r| r.mode == first) {
        let n = r.count as f64;
        match r.op {
            crate::scenario::Op::Put => {
                counts.puts += n;
                bytes += r.mib_per_s;
                put_ok += r.ops_per_s;
            }
            crate::scenario::Op::Get => counts.gets += n,
            crate::scenario::Op::Head => counts.heads += n,
            crate::scenario::Op::Copy => counts.copies += n,
            crate::scenario::Op::Delete => counts.deletes += n,
            _ => {}
        }
    }
    if counts.total() <= 0.0 {
        return Err(usage(format!(
            "{}: the results hold no S3 operations to take a mix from",
            dir.display()
        )));
    }
    let measured_rate = s
        .cost
        .iter()
        .find(|c| c.mode == first)
        .map(|c| c.monthly.ops_per_s)
        .unwrap_or_else(|| {
            s.results
                .iter()
                .filter(|r| r.mode == first)
                .map(|r| r.ops_per_s)
                .sum()
        });
    let rate = ops.unwrap_or(measured_rate);
    let rates = counts.scaled(rate / counts.total());
    let requesters = s
        .kms
        .iter()
        .map(|k| k.by_requester.len())
        .max()
        .unwrap_or(1)
        .max(1) as u32;
    let rules = s
        .target
        .simulator
        .as_ref()
        .and_then(|v| serde_json::from_value::<crate::sim::SimConfig>(v.clone()).ok())
        .map_or_else(KmsRules::default, |c| KmsRules::from_sim(&c));
    Ok(Profile {
        source: format!("results {}", dir.display()),
        region: s.target.region.clone(),
        modes: s.scenario.modes.clone(),
        rates,
        size: if put_ok > 0.0 {
            (bytes / put_ok * (1u64 << 20) as f64).round() as u64
        } else {
            64 << 10
        },
        part_size: None,
        writers: requesters,
        readers: requesters,
        bucket_key_lifetime: rules.bucket_key_lifetime,
        data_age: Duration::ZERO,
        keys: 1,
        measured_kms_per_op,
        rules,
    })
}

/// S3 work per second of a profile.
fn work_per_s(p: &Profile) -> S3Work {
    let r = &p.rates;
    let parts = match p.part_size {
        Some(part) if p.size > part => p.size.div_ceil(part) as f64,
        _ => 0.0,
    };
    let (puts, mpu) = if parts > 0.0 {
        (0.0, r.puts)
    } else {
        (r.puts, 0.0)
    };
    S3Work {
        puts,
        multipart_uploads: mpu,
        parts: mpu * parts,
        gets: r.gets,
        heads: r.heads,
        checksum_heads: 0.0,
        copies: r.copies,
        deletes: r.deletes,
    }
}

/// KMS requests per second the model predicts for a mode, with the rules' status.
fn model_kms_rps(p: &Profile, mode: Mode) -> (f64, Option<kms::Status>) {
    let w = work_per_s(p);
    if mode.bucket_key() {
        let reads_as_writer = w.copies > 0.0 || w.parts > 0.0;
        let readers = p.readers + if reads_as_writer { p.writers } else { 0 };
        let reads = w.gets + w.copies + w.parts;
        let (g, d) = kms::bucket_key_rates(&p.rules, p.writers, readers, reads, p.data_age);
        (g + d, Some(kms::Status::Inferred))
    } else {
        let pred = kms::per_request(mode, &p.rules, &w);
        (pred.calls, pred.status)
    }
}

fn estimate_mode(p: &Profile, prices: &RegionPrices, spm: f64, mode: Mode) -> ModeEstimate {
    let w = work_per_s(p);
    let ops = p.rates.total();
    // Bucket Key calls follow requesters and time, not operations: a run's calls per
    // operation would not scale, so the steady-state model answers for that mode.
    let measured = p
        .measured_kms_per_op
        .get(&mode)
        .filter(|_| !mode.bucket_key());
    let (kms_rps, basis, status) = match measured {
        Some(per_op) => (per_op * ops, "measured", None),
        None => {
            let (r, s) = model_kms_rps(p, mode);
            (r, "model", s)
        }
    };
    let quota = prices.kms_quota_rps as f64;
    let s3 = w.requests().scaled(spm);
    let kms_month = kms_rps * spm;
    let keys = if mode.uses_kms() { p.keys } else { 0 };
    let dsse = (mode == Mode::DsseKms)
        .then(|| prices.dsse_usd(p.rates.puts * p.size as f64 * spm))
        .flatten();
    ModeEstimate {
        mode,
        kms_basis: basis.into(),
        rule_status: status.map(|s| s.as_str().to_owned()),
        kms_rps,
        kms_per_1000_ops: if ops > 0.0 {
            1000.0 * kms_rps / ops
        } else {
            0.0
        },
        quota_pct: if quota > 0.0 {
            100.0 * kms_rps / quota
        } else {
            0.0
        },
        exceeds_quota: quota > 0.0 && kms_rps > quota,
        s3_requests_per_month: s3,
        kms_requests_per_month: kms_month,
        monthly: CostBreakdown::new(
            prices.s3_requests_usd(s3),
            prices.kms_monthly_usd(kms_month),
            keys as f64 * prices.kms_key_month,
            dsse,
        ),
    }
}

/// Estimates every mode of a profile.
pub fn estimate(p: &Profile, table: &PriceTable) -> Result<CostReport, UsageError> {
    let prices = table.region(&p.region).map_err(|e| usage(e.to_string()))?;
    let spm = table.seconds_per_month();
    let modes: Vec<ModeEstimate> = p
        .modes
        .iter()
        .map(|&m| estimate_mode(p, prices, spm, m))
        .collect();
    let mut messages = Vec::new();
    let quota = prices.kms_quota_rps;
    for m in modes.iter().filter(|m| m.exceeds_quota) {
        let advice = if m.mode == Mode::SseKms {
            "request a quota increase or enable Bucket Keys"
        } else {
            "request a quota increase"
        };
        messages.push(format!(
            "{} needs {} KMS req/s; {} allows {}: {advice}",
            m.mode,
            rate(m.kms_rps),
            p.region,
            thousands(quota as f64)
        ));
    }
    let bucket_key_saving = modes
        .iter()
        .find(|m| m.mode == Mode::SseKmsBucketKey)
        .map(|bk| {
            let without = estimate_mode(p, prices, spm, Mode::SseKms);
            let saved = without.monthly.kms_requests_usd - bk.monthly.kms_requests_usd;
            let pct = if without.monthly.kms_requests_usd > 0.0 {
                100.0 * saved / without.monthly.kms_requests_usd
            } else {
                0.0
            };
            (saved, pct)
        });
    if p.modes.contains(&Mode::SseKmsBucketKey)
        && p.measured_kms_per_op.contains_key(&Mode::SseKmsBucketKey)
    {
        messages.push(
            "sse-kms-bucket-key: Bucket Key calls follow requesters and lifetimes, not operations, so the steady-state model is used instead of the run's calls per operation".into(),
        );
    }
    if p.modes.contains(&Mode::SseKmsBucketKey) {
        messages.push(format!(
            "Bucket Key figures assume {} writer(s), {} reader(s), a {} lifetime (not documented by AWS) and data written over {}",
            p.writers,
            p.readers,
            humantime::format_duration(p.bucket_key_lifetime),
            humantime::format_duration(p.data_age)
        ));
    }
    if p.modes.contains(&Mode::DsseKms) && prices.dsse_per_gb.is_none() {
        messages.push(
            "DSSE-KMS per-GB charge not included: its price is not confirmed (set dsse_per_gb with --prices)".into(),
        );
    }
    Ok(CostReport {
        profile: p.clone(),
        prices: prices.clone(),
        quota_rps: quota,
        modes,
        bucket_key_saving,
        messages,
    })
}

/// `12345.6` → `12,346`.
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A request rate: whole numbers with separators, small rates with decimals.
fn rate(v: f64) -> String {
    if v > 0.0 && v < 10.0 {
        format!("{v:.3}")
    } else {
        thousands(v)
    }
}

fn usd(v: f64) -> String {
    if v >= 100.0 {
        format!("${}", thousands(v))
    } else {
        format!("${v:.2}")
    }
}

/// Renders a report.
pub fn render(r: &CostReport, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(r).unwrap_or_default() + "\n",
        Format::Csv => render_csv(r),
        Format::Markdown => render_markdown(r),
        Format::Text => render_text(r),
    }
}

fn describe(p: &Profile) -> String {
    let r = &p.rates;
    let mut parts = Vec::new();
    for (n, v) in [
        ("PUT", r.puts),
        ("GET", r.gets),
        ("HEAD", r.heads),
        ("COPY", r.copies),
        ("DELETE", r.deletes),
    ] {
        if v > 0.0 {
            parts.push(format!("{} {n}/s", thousands(v)));
        }
    }
    let mut s = format!(
        "{} of {}",
        parts.join(" + "),
        crate::units::format_size(p.size)
    );
    if let Some(part) = p.part_size
        && p.size > part
    {
        let _ = write!(s, " in {} parts", crate::units::format_size(part));
    }
    if p.writers == p.readers {
        let _ = write!(s, ", {} requester(s)", p.writers);
    } else {
        let _ = write!(s, ", {} writer(s) and {} reader(s)", p.writers, p.readers);
    }
    s
}

fn render_text(r: &CostReport) -> String {
    let mut o = String::new();
    let p = &r.profile;
    let _ = writeln!(
        o,
        "{} ({}): {}; KMS quota {} req/s",
        p.region,
        p.source,
        describe(p),
        thousands(r.quota_rps as f64)
    );
    let _ = writeln!(o, "prices: {} (as of {})", r.prices.source, r.prices.as_of);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "{:<20} {:>11} {:>8} {:>10} {:>13} {:>13} {:>9} {:>12}  KMS basis",
        "mode",
        "KMS req/s",
        "quota",
        "KMS/1k op",
        "S3 req $/mo",
        "KMS req $/mo",
        "key $/mo",
        "total $/mo",
    );
    for m in &r.modes {
        let _ = writeln!(
            o,
            "{:<20} {:>11} {:>7.1}% {:>10.1} {:>13} {:>13} {:>9} {:>12}  {}",
            m.mode.as_str(),
            rate(m.kms_rps),
            m.quota_pct,
            m.kms_per_1000_ops,
            usd(m.monthly.s3_requests_usd),
            usd(m.monthly.kms_requests_usd),
            usd(m.monthly.key_usd),
            usd(m.monthly.total_usd),
            basis(m)
        );
    }
    let _ = writeln!(o);
    if let Some((saved, pct)) = r.bucket_key_saving {
        let _ = writeln!(
            o,
            "Bucket Keys save {}/month of KMS requests against SSE-KMS ({pct:.1}%).",
            usd(saved)
        );
    }
    for m in &r.messages {
        let _ = writeln!(o, "{m}");
    }
    o
}

fn basis(m: &ModeEstimate) -> String {
    match &m.rule_status {
        Some(s) => format!("{} ({s})", m.kms_basis),
        None => m.kms_basis.clone(),
    }
}

fn render_markdown(r: &CostReport) -> String {
    let mut o = String::new();
    let p = &r.profile;
    let _ = writeln!(
        o,
        "**{}** ({}): {}; KMS quota {} req/s\n",
        p.region,
        p.source,
        describe(p),
        thousands(r.quota_rps as f64)
    );
    let _ = writeln!(
        o,
        "| mode | KMS req/s | % of quota | KMS per 1k ops | S3 requests $/month | KMS requests $/month | key $/month | total $/month | KMS basis |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---:|---:|---|");
    for m in &r.modes {
        let _ = writeln!(
            o,
            "| {} | {} | {:.1}% | {:.1} | {} | {} | {} | {} | {} |",
            m.mode,
            rate(m.kms_rps),
            m.quota_pct,
            m.kms_per_1000_ops,
            usd(m.monthly.s3_requests_usd),
            usd(m.monthly.kms_requests_usd),
            usd(m.monthly.key_usd),
            usd(m.monthly.total_usd),
            basis(m)
        );
    }
    let _ = writeln!(o);
    if let Some((saved, pct)) = r.bucket_key_saving {
        let _ = writeln!(
            o,
            "- Bucket Keys save {}/month of KMS requests against SSE-KMS ({pct:.1}%).",
            usd(saved)
        );
    }
    for m in &r.messages {
        let _ = writeln!(o, "- {m}");
    }
    let _ = writeln!(
        o,
        "\nPrices: {} (as of {}).",
        r.prices.source, r.prices.as_of
    );
    o
}

fn render_csv(r: &CostReport) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([
        "region",
        "mode",
        "kms_basis",
        "kms_rps",
        "quota_rps",
        "quota_pct",
        "exceeds_quota",
        "s3_tier1_requests_per_month",
        "s3_tier2_requests_per_month",
        "kms_requests_per_month",
        "s3_requests_usd",
        "kms_requests_usd",
        "key_usd",
        "dsse_usd",
        "total_usd",
    ]);
    for m in &r.modes {
        let _ = w.write_record([
            r.profile.region.clone(),
            m.mode.to_string(),
            m.kms_basis.clone(),
            format!("{:.3}", m.kms_rps),
            r.quota_rps.to_string(),
            format!("{:.3}", m.quota_pct),
            m.exceeds_quota.to_string(),
            format!("{:.0}", m.s3_requests_per_month.tier1),
            format!("{:.0}", m.s3_requests_per_month.tier2),
            format!("{:.0}", m.kms_requests_per_month),
            format!("{:.4}", m.monthly.s3_requests_usd),
            format!("{:.4}", m.monthly.kms_requests_usd),
            format!("{:.4}", m.monthly.key_usd),
            m.monthly
                .dsse_usd
                .map(|d| format!("{d:.4}"))
                .unwrap_or_default(),
            format!("{:.4}", m.monthly.total_usd),
        ]);
    }
    w.into_inner()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default()
}

/// What a scenario run is predicted to cost on a billed target (the cost guard).
#[derive(Clone, Debug, Serialize)]
pub struct RunEstimate {
    /// S3 operations, at most (prefill included).
    pub operations: f64,
    /// KMS requests S3 makes for them, per the model.
    pub kms_requests: f64,
    /// The charges.
    pub cost: CostBreakdown,
}

/// At least this long per request when bounding a closed-loop phase without an
/// operation count (a fast endpoint), so the bound errs on the expensive side.
const MIN_REQUEST_SECONDS: f64 = 0.005;

/// An upper estimate of a scenario's cost: every phase at its full rate (or, closed
/// loop, at one request per 5 ms per worker), every mode and round, prefill included.
pub fn run_estimate(
    s: &crate::scenario::Scenario,
    prices: &RegionPrices,
    hours_per_month: f64,
) -> RunEstimate {
    let streams = scenario::streams(s);
    let total_share: f64 = streams.iter().map(|st| st.share).sum::<f64>().max(1e-9);
    let mut per_op = OpRates::default();
    for st in &streams {
        let m = &st.mix;
        let w = m.s3_weight() as f64;
        if w > 0.0 {
            let k = st.share / total_share / w;
            per_op.puts += m.put as f64 * k;
            per_op.gets += m.get as f64 * k;
            per_op.heads += m.head as f64 * k;
            per_op.copies += m.copy as f64 * k;
            per_op.deletes += m.delete as f64 * k;
        }
    }
    let mut ops_per_round = 0.0;
    let mut seconds_per_round = 0.0;
    for p in &s.phases {
        let dur = p
            .duration
            .map_or(crate::driver::MAX_PHASE.as_secs_f64(), |d| {
                d.0.as_secs_f64()
            });
        let by_time = match (p.rate, p.concurrency) {
            (Some(r), _) => {
                let (a, b) = r.bounds();
                (a + b) / 2.0 * dur
            }
            (None, Some(c)) => c as f64 * dur / MIN_REQUEST_SECONDS,
            _ => 0.0,
        };
        ops_per_round += p.operations.map_or(by_time, |n| (n as f64).min(by_time));
        seconds_per_round += dur;
    }
    let prefill: f64 = streams
        .iter()
        .filter(|st| st.prefill)
        .map(|st| st.keys as f64)
        .sum();
    let rules = KmsRules::default();
    let (mut s3_usd, mut kms_usd, mut ops, mut kms) = (0.0, 0.0, 0.0, 0.0);
    for &mode in &s.modes {
        let n = ops_per_round * s.rounds as f64;
        let r = per_op.scaled(n);
        let work = S3Work {
            puts: r.puts + prefill,
            gets: r.gets,
            heads: r.heads,
            copies: r.copies,
            deletes: r.deletes,
            ..Default::default()
        };
        let calls = if mode.bucket_key() {
            0.0
        } else {
            kms::per_request(mode, &rules, &work).calls
        };
        s3_usd += prices.s3_requests_usd(work.requests());
        kms_usd += prices.kms_requests_usd(calls);
        ops += n + prefill;
        kms += calls;
    }
    let hours = seconds_per_round * s.rounds as f64 * s.modes.len() as f64 / 3600.0;
    let keys = u32::from(s.modes.iter().any(|m| m.uses_kms()));
    RunEstimate {
        operations: ops,
        kms_requests: kms,
        cost: CostBreakdown::new(
            s3_usd,
            kms_usd,
            prices.key_usd(keys, hours, hours_per_month),
            None,
        ),
    }
}

/// `sse-bench cost`: prints the estimate; exit 0, or 2 for bad arguments.
pub fn command(a: &CostArgs, format: Format) -> Result<String, UsageError> {
    let table = PriceTable::load(a.prices.as_deref()).map_err(|e| usage(e.to_string()))?;
    let p = profile(a)?;
    let r = estimate(&p, &table)?;
    Ok(render(&r, format))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> CostArgs {
        CostArgs {
            keys: 1,
            ..Default::default()
        }
    }

    #[test]
    fn ten_million_puts_a_month_in_frankfurt() {
        let table = PriceTable::builtin().unwrap();
        let spm = table.seconds_per_month();
        let mut a = args();
        a.region = Some("eu-central-1".into());
        a.puts_per_s = Some(10e6 / spm);
        let r = estimate(&profile(&a).unwrap(), &table).unwrap();
        let kms = r.modes.iter().find(|m| m.mode == Mode::SseKms).unwrap();
        assert!((kms.monthly.s3_requests_usd - 54.0).abs() < 1e-6);
        // $30 before the free tier; 20,000 requests free.
        assert!((kms.monthly.kms_requests_usd - (30.0 - 0.06)).abs() < 1e-6);
        assert_eq!(kms.monthly.key_usd, 1.0);
        let bk = r
            .modes
            .iter()
            .find(|m| m.mode == Mode::SseKmsBucketKey)
            .unwrap();
        assert!(
            bk.monthly.kms_requests_usd < 0.01,
            "{}",
            bk.monthly.kms_requests_usd
        );
        let s3 = r.modes.iter().find(|m| m.mode == Mode::SseS3).unwrap();
        assert_eq!((s3.kms_rps, s3.monthly.key_usd), (0.0, 0.0));
        let (saved, pct) = r.bucket_key_saving.unwrap();
        assert!(saved > 29.9 && pct > 99.9);
    }

    #[test]
    fn a_profile_over_the_quota_says_by_how_much() {
        let mut a = args();
        a.region = Some("eu-central-1".into());
        a.puts_per_s = Some(6000.0);
        a.gets_per_s = Some(20000.0);
        let r = estimate(&profile(&a).unwrap(), &PriceTable::builtin().unwrap()).unwrap();
        assert!(
            r.messages.iter().any(|m| m
                == "sse-kms needs 26,000 KMS req/s; eu-central-1 allows 20,000: request a quota increase or enable Bucket Keys"),
            "{:?}",
            r.messages
        );
        let bk = r
            .modes
            .iter()
            .find(|m| m.mode == Mode::SseKmsBucketKey)
            .unwrap();
        assert!(!bk.exceeds_quota);
    }

    #[test]
    fn bad_arguments_are_usage_errors() {
        assert!(profile(&args()).unwrap_err().0.contains("--puts-per-s"));
        let mut a = args();
        a.puts_per_s = Some(-1.0);
        assert!(profile(&a).unwrap_err().0.contains("--puts-per-s"));
        let mut a = args();
        a.puts_per_s = Some(1.0);
        a.modes = vec!["sse-c".into()];
        assert!(profile(&a).unwrap_err().0.contains("sse-c"));
        let mut a = args();
        a.puts_per_s = Some(1.0);
        a.part_size = Some("1MiB".into());
        assert!(profile(&a).unwrap_err().0.contains("5MiB"));
        let mut a = args();
        a.puts_per_s = Some(1.0);
        a.region = Some("xx-nowhere-1".into());
        let e = estimate(&profile(&a).unwrap(), &PriceTable::builtin().unwrap()).unwrap_err();
        assert!(e.0.contains("us-east-1"), "{e}");
    }

    #[test]
    fn multipart_uploads_count_parts() {
        let mut a = args();
        a.puts_per_s = Some(10.0);
        a.size = Some("64MiB".into());
        a.part_size = Some("16MiB".into());
        a.modes = vec!["sse-kms".into()];
        let r = estimate(&profile(&a).unwrap(), &PriceTable::builtin().unwrap()).unwrap();
        // Create (GenerateDataKey) + 4 parts + complete (Decrypt each).
        assert!((r.modes[0].kms_rps - 60.0).abs() < 1e-9);
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(26000.0), "26,000");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(1234567.0), "1,234,567");
    }
}
