//! The typed scenario: what a scenario file may say (documented field by field
//! in `scenarios/README.md`).

use crate::sim::SimConfig;
use crate::target::RetryPolicy;
use crate::units::{HumanDuration, Size};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The scenario format version this build understands.
pub const SCENARIO_VERSION: u32 = 1;

/// A whole scenario file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Format version; must be 1.
    pub version: u32,
    /// Short name, used in result directory names.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// What the scenario drives: S3 operations (default) or KMS directly.
    #[serde(default)]
    pub kind: ScenarioKind,
    /// Encryption modes to compare, in the order given (S3 scenarios; a KMS
    /// scenario runs as the single pseudo-mode `kms-direct`).
    #[serde(default)]
    pub modes: Vec<Mode>,
    /// How rounds of modes are ordered.
    #[serde(default)]
    pub order: Order,
    /// How many times each mode runs all phases.
    #[serde(default = "one_u32")]
    pub rounds: u32,
    /// Seed for keys, sizes, payloads and the simulator (`--seed` overrides it).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Where to run.
    #[serde(default)]
    pub target: TargetConfig,
    /// Simulator settings (embedded target only).
    #[serde(default)]
    pub simulator: SimConfig,
    /// A single stream of traffic (shorthand for one `[[streams]]` entry).
    pub workload: Option<Stream>,
    /// Several named streams running at the same time.
    #[serde(default)]
    pub streams: Vec<Stream>,
    /// Phases run in order for every mode and round.
    pub phases: Vec<Phase>,
    /// Pass/fail rules evaluated at the end (`"sse-kms.put.p99" = "< 80ms"`).
    #[serde(default)]
    pub thresholds: BTreeMap<String, String>,
}

fn one_u32() -> u32 {
    1
}
fn default_seed() -> u64 {
    1
}
fn yes() -> bool {
    true
}

/// What a scenario drives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    /// S3 operations under each encryption mode.
    #[default]
    S3,
    /// KMS GenerateDataKey / Decrypt / Encrypt directly, no S3 (the quota probe).
    Kms,
}

/// An encryption mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// SSE-S3 (AES256).
    SseS3,
    /// SSE-KMS without Bucket Keys.
    SseKms,
    /// SSE-KMS with S3 Bucket Keys.
    SseKmsBucketKey,
    /// DSSE-KMS.
    DsseKms,
    /// Not an encryption mode: the series of a `kind = "kms"` scenario, which calls
    /// KMS directly. Never listed in `modes`.
    KmsDirect,
}

impl Mode {
    /// All modes.
    pub const ALL: [Mode; 4] = [
        Mode::SseS3,
        Mode::SseKms,
        Mode::SseKmsBucketKey,
        Mode::DsseKms,
    ];

    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SseS3 => "sse-s3",
            Mode::SseKms => "sse-kms",
            Mode::SseKmsBucketKey => "sse-kms-bucket-key",
            Mode::DsseKms => "dsse-kms",
            Mode::KmsDirect => "kms-direct",
        }
    }

    /// The bucket default-encryption algorithm.
    pub fn algorithm(self) -> &'static str {
        match self {
            Mode::SseS3 => "AES256",
            Mode::SseKms | Mode::SseKmsBucketKey | Mode::KmsDirect => "aws:kms",
            Mode::DsseKms => "aws:kms:dsse",
        }
    }

    /// Whether the mode uses KMS.
    pub fn uses_kms(self) -> bool {
        self != Mode::SseS3
    }

    /// Whether the bucket has Bucket Keys enabled.
    pub fn bucket_key(self) -> bool {
        self == Mode::SseKmsBucketKey
    }

    /// Parses the scenario spelling.
    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Order of modes within rounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Round by round, every mode in each round (in a seeded order), to cancel drift.
    #[default]
    Interleaved,
    /// All rounds of one mode, then the next mode.
    Sequential,
}

/// Kind of target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// The in-process simulator.
    #[default]
    Embedded,
    /// Any S3-compatible URL.
    Endpoint,
    /// Real AWS.
    Aws,
}

/// `[target]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// embedded | endpoint | aws.
    #[serde(default)]
    pub kind: TargetKind,
    /// Region (default: the simulator's, or us-east-1).
    pub region: Option<String>,
    /// S3 endpoint URL (endpoint targets).
    pub endpoint: Option<String>,
    /// KMS endpoint URL (endpoint targets with a KMS).
    pub kms_endpoint: Option<String>,
    /// Admin endpoint of an `sse-bench serve` target, for exact KMS counts.
    pub admin_endpoint: Option<String>,
    /// KMS key for the KMS modes (embedded: created under this alias).
    #[serde(default = "default_kms_key")]
    pub kms_key: String,
    /// Prefix of bucket names the run creates.
    #[serde(default = "default_bucket_prefix")]
    pub bucket_prefix: String,
    /// SDK retries: off | standard | adaptive.
    #[serde(default)]
    pub retries: RetryPolicy,
    /// Timeout of one request attempt.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Read account-wide KMS call counts from CloudWatch after the run.
    pub cloudwatch: Option<CloudWatchConfig>,
    /// Credentials per principal on a real target (`[target.principals]`): a named
    /// profile or a role to assume, so each requester is its own principal to AWS.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub principals: BTreeMap<String, PrincipalSource>,
}

/// Where one principal's credentials come from on a real target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSource {
    /// A profile of the shared AWS config files.
    pub profile: Option<String>,
    /// A role to assume (through STS, from the default chain or `profile`).
    pub role_arn: Option<String>,
    /// External id for the role, when its trust policy asks for one.
    pub external_id: Option<String>,
}

/// `[target.cloudwatch]`: KMS `CallCount` from CloudWatch `AWS/Usage` (account-wide).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchConfig {
    /// How long to wait after the run for the metric to be published.
    #[serde(default = "default_settle")]
    pub settle: HumanDuration,
    /// CloudWatch endpoint URL (default: the region's; set it for an endpoint target).
    pub endpoint: Option<String>,
}

fn default_settle() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(300))
}

fn default_kms_key() -> String {
    "alias/sse-bench".into()
}
fn default_bucket_prefix() -> String {
    "sse-bench".into()
}
fn default_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(30))
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            kind: TargetKind::Embedded,
            region: None,
            endpoint: None,
            kms_endpoint: None,
            admin_endpoint: None,
            kms_key: default_kms_key(),
            bucket_prefix: default_bucket_prefix(),
            retries: RetryPolicy::Off,
            timeout: default_timeout(),
            cloudwatch: None,
            principals: BTreeMap::new(),
        }
    }
}

/// One stream of traffic (`[workload]` or an entry of `[[streams]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stream {
    /// Stream name (default "main").
    #[serde(default = "main_name")]
    pub name: String,
    /// Bucket role: streams naming the same role share a bucket (default: the stream name).
    pub bucket: Option<String>,
    /// Share of every phase's rate or concurrency (shares are normalised).
    #[serde(default = "one_f64")]
    pub share: f64,
    /// Number of distinct keys.
    #[serde(default = "default_keys")]
    pub keys: u64,
    /// Object size distribution.
    #[serde(default)]
    pub size: SizeDist,
    /// Operation mix (relative weights).
    #[serde(default)]
    pub mix: Mix,
    /// Write every key before measuring.
    #[serde(default = "yes")]
    pub prefill: bool,
    /// Use multipart uploads at or above a threshold.
    pub multipart: Option<Multipart>,
    /// Check every GET's bytes.
    #[serde(default = "yes")]
    pub verify: bool,
    /// Number of anonymous requester principals (ignored when writers/readers are named).
    #[serde(default = "one_u32")]
    pub requesters: u32,
    /// Named principals that write (PUT, COPY, DELETE).
    #[serde(default)]
    pub writers: Vec<String>,
    /// Named principals that read (GET, HEAD); default: the writers.
    #[serde(default)]
    pub readers: Vec<String>,
}

fn main_name() -> String {
    "main".into()
}
fn one_f64() -> f64 {
    1.0
}
fn default_keys() -> u64 {
    1000
}

impl Stream {
    /// The bucket role.
    pub fn bucket_role(&self) -> &str {
        self.bucket.as_deref().unwrap_or(&self.name)
    }

    /// Principals that write.
    pub fn writer_names(&self) -> Vec<String> {
        if self.writers.is_empty() {
            (0..self.requesters.max(1))
                .map(|i| format!("{}-{i}", self.name))
                .collect()
        } else {
            self.writers.clone()
        }
    }

    /// Principals that read.
    pub fn reader_names(&self) -> Vec<String> {
        if self.readers.is_empty() {
            self.writer_names()
        } else {
            self.readers.clone()
        }
    }
}

/// Operation weights. Operations a `mix` table leaves out get weight 0; a
/// stream without a `mix` table gets 50 PUT / 50 GET.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    /// PutObject (multipart above the threshold).
    #[serde(default)]
    pub put: u32,
    /// GetObject.
    #[serde(default)]
    pub get: u32,
    /// HeadObject.
    #[serde(default)]
    pub head: u32,
    /// DeleteObject.
    #[serde(default)]
    pub delete: u32,
    /// CopyObject within the bucket.
    #[serde(default)]
    pub copy: u32,
    /// KMS GenerateDataKey (`kind = "kms"` scenarios).
    #[serde(default)]
    pub generate_data_key: u32,
    /// KMS Decrypt of a data key made before the run (`kind = "kms"`).
    #[serde(default)]
    pub decrypt: u32,
    /// KMS Encrypt of `size` bytes (`kind = "kms"`, at most 4 KiB).
    #[serde(default)]
    pub encrypt: u32,
}

impl Mix {
    /// Weight of the S3 operations.
    pub fn s3_weight(&self) -> u32 {
        self.put + self.get + self.head + self.delete + self.copy
    }

    /// Weight of the KMS operations.
    pub fn kms_weight(&self) -> u32 {
        self.generate_data_key + self.decrypt + self.encrypt
    }

    /// The default mix of a KMS scenario: half GenerateDataKey, half Decrypt.
    pub fn kms_default() -> Mix {
        Mix {
            put: 0,
            get: 0,
            head: 0,
            delete: 0,
            copy: 0,
            generate_data_key: 50,
            decrypt: 50,
            encrypt: 0,
        }
    }

    /// (operation, weight) pairs with a positive weight.
    pub fn weights(&self) -> Vec<(Op, u32)> {
        [
            (Op::Put, self.put),
            (Op::Get, self.get),
            (Op::Head, self.head),
            (Op::Delete, self.delete),
            (Op::Copy, self.copy),
            (Op::GenerateDataKey, self.generate_data_key),
            (Op::Decrypt, self.decrypt),
            (Op::Encrypt, self.encrypt),
        ]
        .into_iter()
        .filter(|(_, w)| *w > 0)
        .collect()
    }
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            put: 50,
            get: 50,
            head: 0,
            delete: 0,
            copy: 0,
            generate_data_key: 0,
            decrypt: 0,
            encrypt: 0,
        }
    }
}

/// Multipart settings.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Multipart {
    /// Objects of at least this size are uploaded in parts.
    pub threshold: Size,
    /// Part size (at least 5 MiB, as S3 requires).
    pub part: Size,
}

/// Object size distribution.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "dist", rename_all = "lowercase")]
pub enum SizeDist {
    /// Always the same size.
    Fixed {
        /// The size.
        value: Size,
    },
    /// Uniform between min and max.
    Uniform {
        /// Smallest size.
        min: Size,
        /// Largest size.
        max: Size,
    },
    /// Lognormal through median and p99, capped at max.
    Lognormal {
        /// Median size.
        median: Size,
        /// 99th percentile (default 4 × median).
        p99: Size,
        /// Cap.
        max: Size,
    },
    /// Weighted buckets of fixed sizes.
    Weighted {
        /// (size, weight) pairs.
        buckets: Vec<WeightedSize>,
    },
}

/// One weighted size.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WeightedSize {
    /// Size.
    pub size: Size,
    /// Relative weight.
    pub weight: u32,
}

impl Default for SizeDist {
    fn default() -> Self {
        SizeDist::Fixed {
            value: Size(64 << 10),
        }
    }
}

impl SizeDist {
    /// Largest size the distribution can produce.
    pub fn max(&self) -> u64 {
        match self {
            SizeDist::Fixed { value } => value.0,
            SizeDist::Uniform { max, .. } | SizeDist::Lognormal { max, .. } => max.0,
            SizeDist::Weighted { buckets } => buckets.iter().map(|b| b.size.0).max().unwrap_or(0),
        }
    }

    /// Mean size (for cost projections; lognormal from its parameters, ignoring the cap).
    pub fn mean(&self) -> f64 {
        match self {
            SizeDist::Fixed { value } => value.0 as f64,
            SizeDist::Uniform { min, max } => (min.0 + max.0) as f64 / 2.0,
            SizeDist::Lognormal { median, p99, max } => {
                let sigma = ((p99.0 as f64).ln() - (median.0 as f64).ln()) / 2.326_347_874;
                (median.0 as f64 * (sigma * sigma / 2.0).exp()).min(max.0 as f64)
            }
            SizeDist::Weighted { buckets } => {
                let w: u64 = buckets.iter().map(|b| b.weight as u64).sum();
                buckets
                    .iter()
                    .map(|b| b.size.0 as f64 * b.weight as f64)
                    .sum::<f64>()
                    / w.max(1) as f64
            }
        }
    }
}

impl<'de> Deserialize<'de> for SizeDist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = SizeDist;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like \"64KiB\" or a table with dist = fixed | uniform | lognormal | weighted")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<SizeDist, E> {
                crate::units::parse_size(v)
                    .map(|s| SizeDist::Fixed { value: Size(s) })
                    .map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SizeDist, A::Error> {
                let mut dist: Option<String> = None;
                let (mut value, mut min, mut max, mut median, mut p99) =
                    (None, None, None, None, None);
                let mut buckets: Option<Vec<WeightedSize>> = None;
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "dist" => dist = Some(map.next_value()?),
                        "value" => value = Some(map.next_value::<Size>()?),
                        "min" => min = Some(map.next_value::<Size>()?),
                        "max" => max = Some(map.next_value::<Size>()?),
                        "median" => median = Some(map.next_value::<Size>()?),
                        "p99" => p99 = Some(map.next_value::<Size>()?),
                        "buckets" => buckets = Some(map.next_value()?),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown field `{other}`, expected one of `dist`, `value`, `min`, `max`, `median`, `p99`, `buckets`"
                            )));
                        }
                    }
                }
                let need = |v: Option<Size>, name: &str, d: &str| {
                    v.ok_or_else(|| de::Error::custom(format!("dist = \"{d}\" needs `{name}`")))
                };
                match dist.as_deref() {
                    Some("fixed") => Ok(SizeDist::Fixed {
                        value: need(value, "value", "fixed")?,
                    }),
                    Some("uniform") => Ok(SizeDist::Uniform {
                        min: need(min, "min", "uniform")?,
                        max: need(max, "max", "uniform")?,
                    }),
                    Some("lognormal") => {
                        let median = need(median, "median", "lognormal")?;
                        let p99 = p99.unwrap_or(Size(median.0.saturating_mul(4)));
                        Ok(SizeDist::Lognormal {
                            median,
                            p99,
                            max: max.unwrap_or(Size(median.0.saturating_mul(64))),
                        })
                    }
                    Some("weighted") => Ok(SizeDist::Weighted {
                        buckets: buckets.ok_or_else(|| {
                            de::Error::custom("dist = \"weighted\" needs `buckets`")
                        })?,
                    }),
                    Some(other) => Err(de::Error::custom(format!(
                        "unknown dist \"{other}\", expected fixed, uniform, lognormal or weighted"
                    ))),
                    None => Err(de::Error::custom(
                        "missing `dist` (fixed, uniform, lognormal or weighted)",
                    )),
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// One phase.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// Name (unique).
    pub name: String,
    /// How long the phase lasts.
    pub duration: Option<HumanDuration>,
    /// How many operations the phase issues (whichever of duration and count comes first).
    pub operations: Option<u64>,
    /// Closed loop: workers each issuing one request at a time.
    pub concurrency: Option<u32>,
    /// Open loop: arrivals per second, fixed or ramped.
    pub rate: Option<Rate>,
    /// Open loop: most requests in flight; arrivals beyond it wait and count as late.
    pub max_in_flight: Option<u32>,
    /// Whether the phase is measured (warmups are not).
    #[serde(default = "yes")]
    pub record: bool,
}

/// Open-loop arrival rate.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Rate {
    /// Fixed arrivals per second.
    Fixed(f64),
    /// Linear ramp over the phase.
    Ramp {
        /// Rate at the start.
        from: f64,
        /// Rate at the end.
        to: f64,
    },
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("arrivals per second (a number) or a ramp { from = N, to = M }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                Ok(Rate::Fixed(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                Ok(Rate::Fixed(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
                Ok(Rate::Fixed(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Rate, A::Error> {
                let (mut from, mut to) = (None, None);
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "from" => from = Some(map.next_value::<f64>()?),
                        "to" => to = Some(map.next_value::<f64>()?),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown field `{other}`, expected `from` or `to`"
                            )));
                        }
                    }
                }
                match (from, to) {
                    (Some(from), Some(to)) => Ok(Rate::Ramp { from, to }),
                    _ => Err(de::Error::custom("a ramp needs both `from` and `to`")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Scenario {
    /// The scenario's steady rate: the fixed open-loop rate of its longest measured
    /// phase with one (what cost projections scale a month by).
    pub fn steady_rate(&self) -> Option<f64> {
        self.phases
            .iter()
            .filter(|p| p.record)
            .filter_map(|p| match p.rate {
                Some(Rate::Fixed(r)) => Some((p.duration.map_or(0.0, |d| d.0.as_secs_f64()), r)),
                _ => None,
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|x| x.1)
    }
}

impl Rate {
    /// Rate at the start and at the end.
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Rate::Fixed(r) => (r, r),
            Rate::Ramp { from, to } => (from, to),
        }
    }
}

/// S3 operations the driver issues.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// PutObject (or a whole multipart upload).
    Put,
    /// GetObject.
    Get,
    /// HeadObject.
    Head,
    /// DeleteObject.
    Delete,
    /// CopyObject.
    Copy,
    /// KMS GenerateDataKey (KMS scenarios).
    #[serde(rename = "generate_data_key")]
    GenerateDataKey,
    /// KMS Decrypt (KMS scenarios).
    Decrypt,
    /// KMS Encrypt (KMS scenarios).
    Encrypt,
}

impl Op {
    /// All operations.
    pub const ALL: [Op; 8] = [
        Op::Put,
        Op::Get,
        Op::Head,
        Op::Delete,
        Op::Copy,
        Op::GenerateDataKey,
        Op::Decrypt,
        Op::Encrypt,
    ];

    /// Whether this is a KMS operation (KMS scenarios).
    pub fn is_kms(self) -> bool {
        matches!(self, Op::GenerateDataKey | Op::Decrypt | Op::Encrypt)
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Head => "head",
            Op::Delete => "delete",
            Op::Copy => "copy",
            Op::GenerateDataKey => "generate_data_key",
            Op::Decrypt => "decrypt",
            Op::Encrypt => "encrypt",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(s: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
