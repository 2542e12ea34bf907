//! The traffic profile `sse-bench cost` estimates: rates per operation, object size,
//! parts, requesters and Bucket Key lifetime, from flags, a scenario file or a
//! results directory.

use crate::cli::CostArgs;
use crate::error::Error;
use crate::kms::KmsRules;
use crate::prices::KeyBilling;
use crate::results::summary::KmsSource;
use crate::scenario::{self, Mode, Op};
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

fn usage(s: impl Into<String>) -> Error {
    Error::Usage(s.into())
}

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

    /// Rates from operation shares (fractions of all operations).
    pub fn of(shares: &[(Op, f64)]) -> OpRates {
        let mut r = OpRates::default();
        for &(op, share) in shares {
            match op {
                Op::Put => r.puts += share,
                Op::Get => r.gets += share,
                Op::Head => r.heads += share,
                Op::Copy => r.copies += share,
                Op::Delete => r.deletes += share,
                Op::GenerateDataKey | Op::Decrypt | Op::Encrypt => {}
            }
        }
        r
    }

    /// Every rate scaled by a factor.
    pub fn scaled(&self, k: f64) -> OpRates {
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
    /// Principals that write (all buckets).
    pub writers: u32,
    /// Principals that read (all buckets).
    pub readers: u32,
    /// Bucket Key requesters per bucket (each bucket fetches its own Bucket Keys),
    /// with each bucket's share of the reads; one bucket for a flag profile.
    pub buckets: Vec<BucketGroup>,
    /// Bucket Key lifetime.
    #[serde(with = "humantime_serde_secs")]
    pub bucket_key_lifetime: Duration,
    /// How long the data read took to write.
    #[serde(with = "humantime_serde_secs")]
    pub data_age: Duration,
    /// Keys charged.
    pub keys: u32,
    /// How the key is billed: AWS-managed, or customer-managed with rotations.
    pub key_billing: KeyBilling,
    /// Measured KMS calls per S3 operation by mode (from a results directory).
    pub measured_kms_per_op: BTreeMap<Mode, f64>,
    /// Inferred rules in force.
    #[serde(skip)]
    pub rules: KmsRules,
}

/// The Bucket Key requesters of one bucket and its share of the profile's reads.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct BucketGroup {
    /// Requesters that write.
    pub writers: u32,
    /// Requesters that read.
    pub readers: u32,
    /// Whether `readers` already counts the writers that read (a copy's source, a
    /// multipart upload's parts): a scenario says who they are; a flag profile does not.
    pub readers_include_writers: bool,
    /// Its reads as a share of all reads (the shares add up to 1).
    pub read_share: f64,
}

mod humantime_serde_secs {
    pub fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

fn parse_size(name: &str, v: &str) -> Result<u64, Error> {
    crate::units::parse_size(v).map_err(|e| usage(format!("{name}: {e}")))
}

fn parse_duration(name: &str, v: &str) -> Result<Duration, Error> {
    crate::units::parse_duration(v).map_err(|e| usage(format!("{name}: {e}")))
}

/// Builds the profile the arguments describe.
pub fn profile(a: &CostArgs) -> Result<Profile, Error> {
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
    let mut p = source(a, any_op_flag)?;
    if let Some(r) = &a.region {
        p.region = r.clone();
    }
    if !modes.is_empty() {
        p.modes = modes;
    }
    if let Some(l) = lifetime {
        p.bucket_key_lifetime = l;
    }
    overrides(&mut p, a)?;
    Ok(p)
}

/// The traffic the profile starts from: a scenario's, a run's, or the flags' rates.
fn source(a: &CostArgs, any_op_flag: bool) -> Result<Profile, Error> {
    if let Some(path) = &a.scenario {
        if any_op_flag {
            return Err(usage(
                "--scenario gives the operation mix: use --ops-per-s to change its rate",
            ));
        }
        return from_scenario(path, a.ops_per_s);
    }
    if let Some(dir) = &a.results {
        if any_op_flag {
            return Err(usage(
                "--results gives the operation mix: use --ops-per-s to change its rate",
            ));
        }
        return from_results(dir, a.ops_per_s);
    }
    if a.ops_per_s.is_some() {
        return Err(usage(
            "--ops-per-s scales a --scenario or --results; for a profile give --puts-per-s, --gets-per-s, ...",
        ));
    }
    let explicit = OpRates {
        puts: a.puts_per_s.unwrap_or(0.0),
        gets: a.gets_per_s.unwrap_or(0.0),
        heads: a.heads_per_s.unwrap_or(0.0),
        copies: a.copies_per_s.unwrap_or(0.0),
        deletes: a.deletes_per_s.unwrap_or(0.0),
    };
    if explicit.total() <= 0.0 {
        return Err(usage(
            "give a traffic profile (--puts-per-s, --gets-per-s, --heads-per-s, --copies-per-s, --deletes-per-s), --scenario FILE or --results DIR",
        ));
    }
    Ok(Profile {
        source: "profile".into(),
        region: "us-east-1".into(),
        modes: Mode::ALL.to_vec(),
        rates: explicit,
        size: 64 << 10,
        part_size: None,
        writers: 1,
        readers: 1,
        buckets: vec![BucketGroup {
            writers: 1,
            readers: 1,
            readers_include_writers: false,
            read_share: 1.0,
        }],
        bucket_key_lifetime: KmsRules::default().bucket_key_lifetime,
        data_age: Duration::ZERO,
        keys: 1,
        key_billing: KeyBilling::default(),
        measured_kms_per_op: BTreeMap::new(),
        rules: KmsRules::default(),
    })
}

/// What the flags say over the source: sizes, requesters, data age, keys and billing.
fn overrides(p: &mut Profile, a: &CostArgs) -> Result<(), Error> {
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
        p.buckets = vec![BucketGroup {
            writers: r,
            readers: r,
            readers_include_writers: false,
            read_share: 1.0,
        }];
    }
    p.rules.bucket_key_lifetime = p.bucket_key_lifetime;
    p.data_age = match &a.data_age {
        Some(v) => parse_duration("--data-age", v)?,
        None if p.data_age.is_zero() => p.bucket_key_lifetime,
        None => p.data_age,
    };
    p.keys = a.keys;
    if let Some(n) = a.rotations {
        p.key_billing.rotations = n;
    }
    p.key_billing.aws_managed |= a.aws_managed_key;
    Ok(())
}

fn from_scenario(path: &std::path::Path, ops: Option<f64>) -> Result<Profile, Error> {
    let ls = scenario::load(path).map_err(|e| usage(e.to_string()))?;
    let s = &ls.scenario;
    if s.kind == scenario::ScenarioKind::Kms {
        return Err(usage(format!(
            "{}: a kind = \"kms\" scenario drives KMS directly; its KMS rate is its phase rate",
            path.display()
        )));
    }
    // The steady rate: the longest measured fixed rate, else the peak of a ramp.
    let rate = ops.or(s.steady_rate()).or(s.peak_rate()).ok_or_else(|| {
        usage(format!(
            "{}: the scenario has no open-loop rate (closed-loop phases only): pass --ops-per-s",
            path.display()
        ))
    })?;
    let rates = OpRates::of(&s.op_shares()).scaled(rate);
    let (mut bytes, mut puts) = (0.0, 0.0);
    let mut part_size = None;
    let mut writers = std::collections::BTreeSet::new();
    let mut readers = std::collections::BTreeSet::new();
    let buckets = groups(s);
    for (st, share) in s.shares() {
        let w = st.mix.s3_weight() as f64;
        if w <= 0.0 {
            continue;
        }
        let st_puts = rate * share * st.mix.put as f64 / w;
        bytes += st.size.mean() * st_puts;
        puts += st_puts;
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
        writers: s.bucket_key_requesters(writers).max(1),
        readers: s.bucket_key_requesters(readers).max(1),
        buckets,
        bucket_key_lifetime: rules.bucket_key_lifetime,
        data_age: Duration::ZERO,
        keys: 1,
        key_billing: KeyBilling::for_target(&s.target),
        measured_kms_per_op: BTreeMap::new(),
        rules,
    })
}

/// Bucket Key requesters per bucket role of a scenario, as `run` counts them.
fn groups(s: &scenario::Scenario) -> Vec<BucketGroup> {
    let groups = s.bucket_requesters();
    let reads: f64 = groups.iter().map(|g| g.read_share).sum();
    groups
        .iter()
        .map(|g| BucketGroup {
            writers: g.writers,
            readers: g.readers,
            readers_include_writers: true,
            read_share: if reads > 0.0 {
                g.read_share / reads
            } else {
                1.0 / groups.len() as f64
            },
        })
        .collect()
}

fn from_results(dir: &std::path::Path, ops: Option<f64>) -> Result<Profile, Error> {
    let s = crate::results::read_summary(dir)?;
    let mut counts = OpRates::default();
    let (mut bytes, mut put_ok) = (0.0, 0.0);
    let mut measured_kms_per_op = BTreeMap::new();
    for k in &s.kms {
        if k.source == KmsSource::Measured && k.s3_ops > 0 {
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
            Op::Put => {
                counts.puts += n;
                bytes += r.mib_per_s;
                put_ok += r.ops_per_s;
            }
            Op::Get => counts.gets += n,
            Op::Head => counts.heads += n,
            Op::Copy => counts.copies += n,
            Op::Delete => counts.deletes += n,
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
        .and_then(|v| serde_json::from_value::<sse_sim::SimConfig>(v.clone()).ok())
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
        // The run's scenario, echoed in its summary, says who read and wrote which bucket.
        buckets: serde_json::from_value::<scenario::Scenario>(s.scenario.definition.clone())
            .map_or_else(
                |_| {
                    vec![BucketGroup {
                        writers: requesters,
                        readers: requesters,
                        readers_include_writers: false,
                        read_share: 1.0,
                    }]
                },
                |sc| groups(&sc),
            ),
        bucket_key_lifetime: rules.bucket_key_lifetime,
        data_age: Duration::ZERO,
        keys: 1,
        key_billing: KeyBilling::default(),
        measured_kms_per_op,
        rules,
    })
}
