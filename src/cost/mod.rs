//! `sse-bench cost`: KMS requests per second, quota headroom and monthly cost per
//! mode from a traffic profile ([`profile`]), with no load; and the upper estimate
//! of a scenario's cost that guards runs on billed targets ([`run_estimate`]).

mod profile;

pub use profile::{OpRates, Profile, profile};

use crate::error::Error;
use crate::kms::{self, KmsRules, S3Requests, S3Work};
use crate::prices::{CostBreakdown, KeyBilling, PriceTable, RegionPrices};
use crate::scenario::{Load, Mode};
use crate::units::{rate, thousands};
use serde::Serialize;

/// Where an estimate's KMS calls come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KmsBasis {
    /// The KMS model.
    Model,
    /// KMS calls per operation a run measured.
    Measured,
}

impl KmsBasis {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            KmsBasis::Model => "model",
            KmsBasis::Measured => "measured",
        }
    }
}

/// The estimate of one mode.
#[derive(Clone, Debug, Serialize)]
pub struct ModeEstimate {
    /// Mode.
    pub mode: Mode,
    /// The model's count, or KMS calls per operation measured in a results directory.
    pub kms_basis: KmsBasis,
    /// Whether every model rule used is documented ("documented") or not ("inferred").
    pub rule_status: Option<String>,
    /// KMS requests per second needed.
    pub kms_rps: f64,
    /// The count is a documented minimum (Bucket Keys: at least once per requester).
    pub kms_lower_bound: bool,
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
    /// What Bucket Keys save against SSE-KMS.
    pub bucket_key_saving: Option<crate::prices::Saving>,
    /// Plain-language findings (quota exceeded, assumptions).
    pub messages: Vec<String>,
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
        // Each bucket fetches its own Bucket Keys, for its own requesters.
        let reads = w.gets + w.copies + w.parts;
        let reads_as_writer = w.copies > 0.0 || w.parts > 0.0;
        let rps = p
            .buckets
            .iter()
            .map(|b| {
                let writers_read = reads_as_writer && !b.readers_include_writers;
                let readers = b.readers + if writers_read { b.writers } else { 0 };
                let (g, d) = kms::bucket_key_rates(
                    &p.rules,
                    b.writers,
                    readers,
                    reads * b.read_share,
                    p.data_age,
                );
                g + d
            })
            .sum();
        (rps, Some(kms::Status::Inferred))
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
        Some(per_op) => (per_op * ops, KmsBasis::Measured, None),
        None => {
            let (r, s) = model_kms_rps(p, mode);
            (r, KmsBasis::Model, s)
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
        kms_basis: basis,
        rule_status: status.map(|s| s.as_str().to_owned()),
        kms_rps,
        kms_lower_bound: basis == KmsBasis::Model && mode.bucket_key(),
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
            prices.key_month_usd(keys, &p.key_billing),
            dsse,
        ),
    }
}

/// Estimates every mode of a profile.
pub fn estimate(p: &Profile, table: &PriceTable) -> Result<CostReport, Error> {
    let prices = table.region(&p.region)?;
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
        .and_then(|bk| {
            let without = estimate_mode(p, prices, spm, Mode::SseKms);
            crate::prices::Saving::of(&without.monthly, &bk.monthly)
        });
    if p.modes.contains(&Mode::SseKmsBucketKey)
        && p.measured_kms_per_op.contains_key(&Mode::SseKmsBucketKey)
    {
        messages.push(
            "sse-kms-bucket-key: Bucket Key calls follow requesters and lifetimes, not operations, so the steady-state model is used instead of the run's calls per operation".into(),
        );
    }
    if p.modes.contains(&Mode::SseKmsBucketKey) {
        let who = match p.buckets.as_slice() {
            [one] => format!("{} writer(s), {} reader(s)", one.writers, one.readers),
            many => format!(
                "{} buckets, each with its own Bucket Keys (writers/readers: {})",
                many.len(),
                many.iter()
                    .map(|b| format!("{}/{}", b.writers, b.readers))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        messages.push(format!(
            "Bucket Key figures assume {who}, a {} lifetime (not documented by AWS) and data written over {}",
            humantime::format_duration(p.bucket_key_lifetime),
            humantime::format_duration(p.data_age)
        ));
    }
    if p.modes.contains(&Mode::DsseKms) {
        messages.push(match prices.dsse_per_gb {
            Some(d) => format!(
                "DSSE-KMS includes ${d}/GB written (inferred amount, docs/aws-behaviour.md §6; change it with --prices)"
            ),
            None => "DSSE-KMS per-GB charge not included: the price table has none (set dsse_per_gb with --prices)".into(),
        });
    }
    if p.key_billing.aws_managed {
        messages.push("key: the AWS-managed aws/s3 key has no monthly charge".into());
    } else if p.key_billing.rotations > 0 {
        messages.push(format!(
            "key: {} rotation(s), {} rotated version(s) charged (at most {}, docs/aws-behaviour.md §6)",
            p.key_billing.rotations,
            p.key_billing.rotations.min(prices.rotations_charged_max),
            prices.rotations_charged_max
        ));
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

/// What a scenario run is predicted to cost on a billed target (the cost guard).
#[derive(Clone, Debug, Serialize)]
pub struct RunEstimate {
    /// S3 operations, at most (prefill included).
    pub operations: f64,
    /// KMS requests S3 makes for them, per the model.
    pub kms_requests: f64,
    /// The charges.
    pub cost: CostBreakdown,
    /// Whether it is a true upper bound: every phase is open loop or counted, so the
    /// operations cannot exceed it (SDK retries aside). A closed-loop phase bounded
    /// only by time is estimated at one request per 5 ms per worker, which a fast
    /// target beats.
    pub bound: bool,
}

impl RunEstimate {
    /// "at most" for a bound, "about" for an estimate.
    pub fn qualifier(&self) -> &'static str {
        if self.bound { "at most" } else { "about" }
    }
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
    let streams = s.streams();
    let per_op = OpRates::of(&s.op_shares());
    let mut ops_per_round = 0.0;
    let mut seconds_per_round = 0.0;
    let mut bound = true;
    for p in &s.phases {
        let dur = p
            .duration
            .map_or(crate::driver::MAX_PHASE.as_secs_f64(), |d| {
                d.0.as_secs_f64()
            });
        let by_time = match &p.load {
            Load::Open { rate, .. } => rate.mean() * dur,
            Load::Closed { concurrency } => {
                // A closed loop goes as fast as the target answers: an estimate, not a
                // bound, unless the phase counts its operations.
                bound &= p.operations.is_some();
                f64::from(*concurrency) * dur / MIN_REQUEST_SECONDS
            }
            // A replay issues at most the trace's requests.
            Load::Trace { trace, .. } => match crate::scenario::trace::Trace::read(&trace.file) {
                Ok(t) => t.entries.len() as f64,
                Err(_) => {
                    bound = false;
                    0.0
                }
            },
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
        // Bucket Keys make fewer calls, never more, than SSE-KMS without them.
        let unbucketed = if mode.bucket_key() {
            Mode::SseKms
        } else {
            mode
        };
        let calls = kms::per_request(unbucketed, &rules, &work).calls;
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
            prices.key_usd(
                keys,
                &KeyBilling::for_target(&s.target),
                hours,
                hours_per_month,
            ),
            None,
        ),
        bound,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::CostArgs;

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
        let crate::prices::Saving {
            monthly_usd: saved,
            of_kms_requests_pct: pct,
        } = r.bucket_key_saving.unwrap();
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
        assert!(
            profile(&args())
                .unwrap_err()
                .to_string()
                .contains("--puts-per-s")
        );
        let mut a = args();
        a.puts_per_s = Some(-1.0);
        assert!(
            profile(&a)
                .unwrap_err()
                .to_string()
                .contains("--puts-per-s")
        );
        let mut a = args();
        a.puts_per_s = Some(1.0);
        a.modes = vec!["sse-c".into()];
        assert!(profile(&a).unwrap_err().to_string().contains("sse-c"));
        let mut a = args();
        a.puts_per_s = Some(1.0);
        a.part_size = Some("1MiB".into());
        assert!(profile(&a).unwrap_err().to_string().contains("5MiB"));
        let mut a = args();
        a.puts_per_s = Some(1.0);
        a.region = Some("xx-nowhere-1".into());
        let e = estimate(&profile(&a).unwrap(), &PriceTable::builtin().unwrap()).unwrap_err();
        assert!(e.to_string().contains("us-east-1"), "{e}");
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
}
