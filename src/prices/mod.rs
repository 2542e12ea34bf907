//! Price tables as data (`data/prices.toml`, overridable with `--prices FILE`)
//! and the arithmetic of S3 request, KMS request and key costs
//! (docs/aws-behaviour.md §6). What must not live here: traffic models (kms, cost,
//! forecast) or output.

use crate::error::Error;
use crate::kms::S3Requests;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The built-in table, compiled in so `cost` works anywhere.
pub const BUILTIN: &str = include_str!("../../data/prices.toml");

/// Bytes in a GB as AWS bills storage and data (2^30).
const GIB: f64 = (1u64 << 30) as f64;

/// How the KMS key of a run or profile is billed (docs/aws-behaviour.md §6).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyBilling {
    /// The AWS-managed `aws/s3` key: no monthly key charge.
    #[serde(default)]
    pub aws_managed: bool,
    /// Automatic rotations the key has had (each rotated version is charged, up to
    /// the table's cap).
    #[serde(default)]
    pub rotations: u32,
}

impl KeyBilling {
    /// The billing of a key named `key_id` with `rotations` rotations: the alias
    /// `aws/s3` (by alias name or ARN) is the AWS-managed key.
    pub fn of(key_id: &str, rotations: u32) -> Self {
        KeyBilling {
            aws_managed: key_id == "alias/aws/s3" || key_id.ends_with(":alias/aws/s3"),
            rotations,
        }
    }

    /// The billing of a scenario's key: `[target] kms_key` and `kms_key_rotations`.
    pub fn for_target(t: &crate::scenario::TargetConfig) -> Self {
        Self::of(&t.kms_key, t.kms_key_rotations)
    }

    /// Key versions charged per key-month: 0 for an AWS-managed key, else the key
    /// and its rotated versions up to `cap`.
    pub fn versions_charged(&self, cap: u32) -> f64 {
        if self.aws_managed {
            0.0
        } else {
            1.0 + f64::from(self.rotations.min(cap))
        }
    }
}

/// Prices and the KMS quota of one region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RegionPrices {
    /// Region name.
    pub region: String,
    /// PUT, COPY, POST, LIST requests per 1,000 (USD).
    pub s3_tier1_per_1000: f64,
    /// GET, HEAD and other requests per 1,000 (USD).
    pub s3_tier2_per_1000: f64,
    /// S3 Standard storage per GB-month (USD).
    pub storage_gb_month: f64,
    /// KMS symmetric requests per 10,000 (USD).
    pub kms_per_10000: f64,
    /// KMS requests free each month.
    pub kms_free_requests: u64,
    /// One customer-managed key per month (USD).
    pub kms_key_month: f64,
    /// DSSE-KMS per-GB charge on bytes written (inferred amount; `None` leaves it out).
    pub dsse_per_gb: Option<f64>,
    /// Rotated key versions charged at most, per key (later rotations are free).
    #[serde(default = "default_rotations_charged_max")]
    pub rotations_charged_max: u32,
    /// Default KMS request quota (req/s).
    pub kms_quota_rps: u64,
    /// Where the figures come from.
    pub source: String,
    /// When they were taken.
    pub as_of: String,
}

/// The documented cap, for summaries written before the field existed.
fn default_rotations_charged_max() -> u32 {
    2
}

/// A region entry as written in a file: every field optional so a user file can
/// override single figures.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialRegion {
    s3_tier1_per_1000: Option<f64>,
    s3_tier2_per_1000: Option<f64>,
    storage_gb_month: Option<f64>,
    kms_per_10000: Option<f64>,
    kms_free_requests: Option<u64>,
    kms_key_month: Option<f64>,
    dsse_per_gb: Option<f64>,
    kms_quota_rps: Option<u64>,
    source: Option<String>,
    as_of: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialTable {
    hours_per_month: Option<f64>,
    rotations_charged_max: Option<u32>,
    #[serde(default)]
    regions: BTreeMap<String, PartialRegion>,
}

/// The price table in force.
#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable {
    /// Hours in a billing month (AWS uses 730).
    pub hours_per_month: f64,
    /// Rotated key versions charged at most, per key.
    pub rotations_charged_max: u32,
    /// Regions by name.
    pub regions: BTreeMap<String, RegionPrices>,
    /// User file merged over the built-in table, if any.
    pub user_file: Option<PathBuf>,
}

impl PriceTable {
    /// The built-in table.
    pub fn builtin() -> Result<PriceTable, Error> {
        let mut t = PriceTable {
            hours_per_month: 730.0,
            rotations_charged_max: default_rotations_charged_max(),
            regions: BTreeMap::new(),
            user_file: None,
        };
        t.merge(BUILTIN, "data/prices.toml")?;
        Ok(t)
    }

    /// The built-in table with `user` merged over it.
    pub fn load(user: Option<&Path>) -> Result<PriceTable, Error> {
        let mut t = Self::builtin()?;
        if let Some(p) = user {
            let text = std::fs::read_to_string(p)
                .map_err(|e| Error::usage(format!("{}: {e}", p.display())))?;
            t.merge(&text, &p.display().to_string())?;
            t.user_file = Some(p.to_owned());
        }
        Ok(t)
    }

    fn merge(&mut self, text: &str, origin: &str) -> Result<(), Error> {
        let de = toml::de::Deserializer::parse(text)
            .map_err(|e| Error::usage(format!("{origin}: {}", e.message())))?;
        let parsed: PartialTable = serde_path_to_error::deserialize(de).map_err(|e| {
            Error::usage(format!("{origin}: {}: {}", e.path(), e.inner().message()))
        })?;
        if let Some(h) = parsed.hours_per_month {
            if !(h > 0.0 && h.is_finite()) {
                return Err(Error::usage(format!(
                    "{origin}: hours_per_month must be positive"
                )));
            }
            self.hours_per_month = h;
        }
        if let Some(n) = parsed.rotations_charged_max {
            self.rotations_charged_max = n;
            for r in self.regions.values_mut() {
                r.rotations_charged_max = n;
            }
        }
        for (name, p) in parsed.regions {
            let base = self.regions.get(&name);
            let missing = |field: &str| {
                Error::usage(format!(
                    "{origin}: regions.{name}.{field} is missing (a new region needs every price)"
                ))
            };
            macro_rules! take {
                ($f:ident) => {
                    match (p.$f.clone(), base) {
                        (Some(v), _) => v,
                        (None, Some(b)) => b.$f.clone(),
                        (None, None) => return Err(missing(stringify!($f))),
                    }
                };
            }
            let r = RegionPrices {
                region: name.clone(),
                s3_tier1_per_1000: take!(s3_tier1_per_1000),
                s3_tier2_per_1000: take!(s3_tier2_per_1000),
                storage_gb_month: take!(storage_gb_month),
                kms_per_10000: take!(kms_per_10000),
                kms_free_requests: take!(kms_free_requests),
                kms_key_month: take!(kms_key_month),
                dsse_per_gb: p.dsse_per_gb.or(base.and_then(|b| b.dsse_per_gb)),
                rotations_charged_max: self.rotations_charged_max,
                kms_quota_rps: take!(kms_quota_rps),
                source: p
                    .source
                    .or_else(|| base.map(|b| b.source.clone()))
                    .unwrap_or_else(|| origin.to_owned()),
                as_of: p
                    .as_of
                    .or_else(|| base.map(|b| b.as_of.clone()))
                    .unwrap_or_default(),
            };
            for (field, v) in [
                ("s3_tier1_per_1000", r.s3_tier1_per_1000),
                ("s3_tier2_per_1000", r.s3_tier2_per_1000),
                ("storage_gb_month", r.storage_gb_month),
                ("kms_per_10000", r.kms_per_10000),
                ("kms_key_month", r.kms_key_month),
                ("dsse_per_gb", r.dsse_per_gb.unwrap_or(0.0)),
            ] {
                if !(v >= 0.0 && v.is_finite()) {
                    return Err(Error::usage(format!(
                        "{origin}: regions.{name}.{field} must be a non-negative number, got {v}"
                    )));
                }
            }
            self.regions.insert(name, r);
        }
        Ok(())
    }

    /// Prices of one region, or an error listing the known ones.
    pub fn region(&self, region: &str) -> Result<&RegionPrices, Error> {
        self.regions.get(region).ok_or_else(|| {
            let known: Vec<&str> = self.regions.keys().map(String::as_str).collect();
            Error::usage(format!(
                "no prices for region {region:?}; known regions: {}. Add it with --prices FILE",
                known.join(", ")
            ))
        })
    }

    /// Seconds in a billing month.
    pub fn seconds_per_month(&self) -> f64 {
        self.hours_per_month * 3600.0
    }
}

/// A cost split the way a bill splits it (USD).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CostBreakdown {
    /// S3 request charges.
    pub s3_requests_usd: f64,
    /// KMS request charges.
    pub kms_requests_usd: f64,
    /// KMS key charges (or the run's share of them).
    pub key_usd: f64,
    /// DSSE-KMS per-GB charges, when priced.
    pub dsse_usd: Option<f64>,
    /// Sum of the above.
    pub total_usd: f64,
}

/// What S3 Bucket Keys save against SSE-KMS: the one definition every output uses
/// (`run`, `cost`, `forecast`, reports and summary.json).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saving {
    /// SSE-KMS's monthly total minus the Bucket Key mode's, on the same traffic, USD.
    pub monthly_usd: f64,
    /// The saving as a share of SSE-KMS's monthly KMS request cost, percent.
    /// (Summaries of older builds called a share of SSE-KMS's whole bill `pct`; they
    /// still load.)
    #[serde(alias = "pct")]
    pub of_kms_requests_pct: f64,
}

impl Saving {
    /// The saving as every output says it.
    pub fn sentence(&self) -> String {
        format!(
            "Bucket Keys save {} a month, {:.1}% of SSE-KMS's KMS request cost.",
            crate::units::dollars(self.monthly_usd),
            self.of_kms_requests_pct
        )
    }

    /// The saving of `bucket_key`'s month against `sse_kms`'s (both on the same
    /// traffic); none when SSE-KMS pays nothing for KMS requests.
    pub fn of(sse_kms: &CostBreakdown, bucket_key: &CostBreakdown) -> Option<Saving> {
        let saved = sse_kms.total_usd - bucket_key.total_usd;
        (sse_kms.kms_requests_usd > 0.0).then(|| Saving {
            monthly_usd: saved,
            of_kms_requests_pct: 100.0 * saved / sse_kms.kms_requests_usd,
        })
    }
}

impl CostBreakdown {
    /// A breakdown with its total.
    pub fn new(s3: f64, kms: f64, key: f64, dsse: Option<f64>) -> Self {
        CostBreakdown {
            s3_requests_usd: s3,
            kms_requests_usd: kms,
            key_usd: key,
            dsse_usd: dsse,
            total_usd: s3 + kms + key + dsse.unwrap_or(0.0),
        }
    }

    /// Every part scaled by a factor.
    pub fn scaled(&self, k: f64) -> Self {
        Self::new(
            self.s3_requests_usd * k,
            self.kms_requests_usd * k,
            self.key_usd * k,
            self.dsse_usd.map(|d| d * k),
        )
    }
}

impl RegionPrices {
    /// S3 request charges.
    pub fn s3_requests_usd(&self, r: S3Requests) -> f64 {
        r.tier1 * self.s3_tier1_per_1000 / 1000.0 + r.tier2 * self.s3_tier2_per_1000 / 1000.0
    }

    /// KMS request charges before the free tier.
    pub fn kms_requests_usd(&self, requests: f64) -> f64 {
        requests * self.kms_per_10000 / 10_000.0
    }

    /// KMS request charges of one month's requests after the monthly free tier
    /// (which is account-wide: this assumes nothing else uses it).
    pub fn kms_monthly_usd(&self, requests_per_month: f64) -> f64 {
        self.kms_requests_usd((requests_per_month - self.kms_free_requests as f64).max(0.0))
    }

    /// A month of `keys` keys billed as `billing` says: nothing for the AWS-managed
    /// key; a customer-managed key pays for itself and each rotated version up to the
    /// cap (docs/aws-behaviour.md §6).
    pub fn key_month_usd(&self, keys: u32, billing: &KeyBilling) -> f64 {
        keys as f64 * self.kms_key_month * billing.versions_charged(self.rotations_charged_max)
    }

    /// Charges of `keys` keys kept for `hours`: prorated hourly, so every started
    /// hour counts.
    pub fn key_usd(
        &self,
        keys: u32,
        billing: &KeyBilling,
        hours: f64,
        hours_per_month: f64,
    ) -> f64 {
        if keys == 0 || hours <= 0.0 {
            return 0.0;
        }
        self.key_month_usd(keys, billing) * hours.ceil() / hours_per_month
    }

    /// DSSE per-GB charges on `bytes` written, when the table has a price (AWS bills
    /// a GB as 2^30 bytes).
    pub fn dsse_usd(&self, bytes: f64) -> Option<f64> {
        self.dsse_per_gb.map(|p| p * bytes / GIB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> PriceTable {
        PriceTable::builtin().expect("the built-in table parses")
    }

    #[test]
    fn ten_million_puts_in_frankfurt_cost_what_aws_facts_says() {
        let t = table();
        let p = t.region("eu-central-1").unwrap();
        let s3 = p.s3_requests_usd(S3Requests {
            tier1: 10e6,
            tier2: 0.0,
        });
        let kms = p.kms_requests_usd(10e6);
        assert!((s3 - 54.0).abs() < 1e-9, "S3 requests: {s3}");
        assert!((kms - 30.0).abs() < 1e-9, "KMS requests: {kms}");
    }

    #[test]
    fn free_tier_and_hourly_key_proration() {
        let t = table();
        let p = t.region("us-east-1").unwrap();
        assert_eq!(p.kms_monthly_usd(20_000.0), 0.0);
        assert!((p.kms_monthly_usd(30_000.0) - 0.03).abs() < 1e-12);
        // A key kept for 90 minutes is billed for two hours of a 730-hour month.
        let h = t.hours_per_month;
        let cmk = KeyBilling::default();
        assert!((p.key_usd(1, &cmk, 1.5, h) - 2.0 / 730.0).abs() < 1e-12);
        assert!((p.key_usd(2, &cmk, 730.0, h) - 2.0).abs() < 1e-12);
        assert_eq!(p.key_usd(0, &cmk, 10.0, h), 0.0);
    }

    #[test]
    fn quota_table_matches_aws_facts() {
        let t = table();
        for (r, q) in [
            ("us-east-1", 100_000),
            ("us-west-2", 100_000),
            ("eu-west-1", 100_000),
            ("us-east-2", 20_000),
            ("ap-southeast-1", 20_000),
            ("ap-southeast-2", 20_000),
            ("ap-northeast-1", 20_000),
            ("eu-central-1", 20_000),
            ("eu-west-2", 20_000),
        ] {
            assert_eq!(t.region(r).unwrap().kms_quota_rps, q, "{r}");
            assert_eq!(
                sse_sim::default_kms_quota(r),
                q,
                "the simulator's default quota for {r} follows the same table"
            );
        }
        for p in t.regions.values() {
            assert!(!p.source.is_empty() && !p.as_of.is_empty(), "{}", p.region);
            assert_eq!(p.kms_free_requests, 20_000);
            assert_eq!(
                p.dsse_per_gb,
                Some(0.003),
                "{}: docs/aws-behaviour.md §6",
                p.region
            );
        }
    }

    /// docs/aws-behaviour.md §6: 10 TB written a month with DSSE-KMS in eu-central-1
    /// carries the per-GB charge ($0.003 per GB, inferred amount).
    #[test]
    fn dsse_per_gb_charge_on_ten_tb_written_in_frankfurt() {
        let t = table();
        let p = t.region("eu-central-1").unwrap();
        let ten_tb = 10.0 * 1024.0 * GIB;
        let usd = p.dsse_usd(ten_tb).unwrap();
        assert!((usd - 30.72).abs() < 1e-9, "{usd}");
    }

    /// docs/aws-behaviour.md §6: the AWS-managed aws/s3 key has no key fee; a rotated
    /// customer-managed key pays for each rotated version up to two.
    #[test]
    fn key_fees_follow_management_and_rotations() {
        let t = table();
        let p = t.region("us-east-1").unwrap();
        let managed = KeyBilling::of("alias/aws/s3", 0);
        assert!(managed.aws_managed);
        assert_eq!(p.key_month_usd(1, &managed), 0.0);
        let arn = KeyBilling::of("arn:aws:kms:us-east-1:111122223333:alias/aws/s3", 3);
        assert_eq!(p.key_month_usd(1, &arn), 0.0);
        let month = |rotations| p.key_month_usd(1, &KeyBilling::of("alias/mine", rotations));
        assert_eq!(month(0), 1.0);
        assert_eq!(month(1), 2.0);
        assert_eq!(month(2), 3.0);
        assert_eq!(month(7), 3.0, "rotations past the second are not charged");
        assert_eq!(p.key_month_usd(2, &KeyBilling::of("alias/mine", 1)), 4.0);
    }

    #[test]
    fn unknown_region_lists_the_known_ones() {
        let e = table().region("mars-north-1").unwrap_err().to_string();
        assert!(e.contains("mars-north-1") && e.contains("eu-central-1") && e.contains("--prices"));
    }

    #[test]
    fn a_user_file_overrides_fields_and_adds_regions() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.toml");
        std::fs::write(
            &f,
            "[regions.eu-central-1]\nkms_per_10000 = 0.06\ndsse_per_gb = 0.004\n\
             [regions.sa-east-1]\ns3_tier1_per_1000 = 0.007\ns3_tier2_per_1000 = 0.00056\n\
             storage_gb_month = 0.0405\nkms_per_10000 = 0.03\nkms_free_requests = 20000\n\
             kms_key_month = 1.0\nkms_quota_rps = 10000\n",
        )
        .unwrap();
        let t = PriceTable::load(Some(&f)).unwrap();
        let fra = t.region("eu-central-1").unwrap();
        assert_eq!(fra.kms_per_10000, 0.06);
        assert_eq!(fra.s3_tier1_per_1000, 0.0054, "fields not given are kept");
        assert_eq!(fra.dsse_usd(2.0 * GIB), Some(0.008));
        let sao = t.region("sa-east-1").unwrap();
        assert_eq!(sao.kms_quota_rps, 10_000);
        assert!(sao.source.contains("p.toml"));

        std::fs::write(&f, "[regions.xx-1]\nkms_per_10000 = 0.03\n").unwrap();
        let e = PriceTable::load(Some(&f)).unwrap_err().to_string();
        assert!(
            e.contains("regions.xx-1.s3_tier1_per_1000 is missing"),
            "{e}"
        );
        std::fs::write(&f, "[regions.eu-west-1]\nkms_per_1000 = 0.03\n").unwrap();
        let e = PriceTable::load(Some(&f)).unwrap_err().to_string();
        assert!(e.contains("kms_per_1000"), "{e}");
    }
}
