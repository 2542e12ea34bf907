//! The traffic of a scenario: streams (keys, sizes, operation mix, principals),
//! phases (closed or open loop, fixed or ramped rates) and the operations.

use crate::units::Size;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// Serde default: 1.
pub(super) fn one_u32() -> u32 {
    1
}
/// Serde default: true.
pub(super) fn yes() -> bool {
    true
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
