//! The KMS prediction, cost and throttling knee of a run, assembled from what the
//! recorder measured, the scenario and the price table.

use super::record::{INTEGRITY, RunRecord, StepTotals};
use super::summary::{
    KmsSource, Knee, ModeCost, ModeKms, MonthlyProjection, PriceInfo, RateSource,
};
use crate::kms::{self, BucketActivity, KmsRules, Prediction, S3Work, Span};
use crate::prices::CostBreakdown;
use crate::scenario::{Mode, Op, Rate, Scenario};

/// What a run's economics are worked out from.
pub struct Context<'a> {
    /// The run record.
    pub record: &'a RunRecord,
    /// The scenario as measured (skipped modes left out).
    pub scenario: &'a Scenario,
    /// The rules the KMS model follows (the simulator's settings, or the defaults).
    pub rules: KmsRules,
    /// Prices of the run's region, when known.
    pub prices: Option<PriceInfo>,
    /// Hours in a billing month.
    pub hours_per_month: f64,
    /// Open-loop load per mode (offered, achieved, whether the generator fell behind).
    pub load: Vec<super::load::ModeLoad>,
}

/// Throttled share at and above which a second counts as throttled (0.1 %).
pub const KNEE_THROTTLE_SHARE: f64 = 0.001;

/// The S3 work of one mode's measured steps (successful operations; failed GETs
/// whose payload did not verify still made their KMS call).
pub fn work_of(rec: &RunRecord, mode: Mode) -> S3Work {
    let mut w = S3Work::default();
    for series in rec.series_of(mode) {
        let (k, st) = (&series.key, &series.stats);
        let ok = st.ok as f64;
        match k.op {
            Op::Put => {
                w.puts += (st.ok - st.multipart) as f64;
                w.multipart_uploads += st.multipart as f64;
                w.parts += st.parts as f64;
            }
            Op::Get => w.gets += ok + st.errors_of(INTEGRITY) as f64,
            Op::Head => w.heads += ok,
            Op::Copy => w.copies += ok,
            Op::Delete => w.deletes += ok,
            // Direct KMS calls are not S3 work.
            Op::GenerateDataKey | Op::Decrypt | Op::Encrypt => {}
        }
    }
    w
}

/// Successful direct KMS calls of a mode by API (KMS scenarios).
fn direct_calls(rec: &RunRecord, mode: Mode) -> Vec<(&'static str, f64)> {
    let mut out = Vec::new();
    for (op, api) in [
        (Op::GenerateDataKey, "GenerateDataKey"),
        (Op::Decrypt, "Decrypt"),
        (Op::Encrypt, "Encrypt"),
    ] {
        let n: u64 = rec
            .series_of(mode)
            .filter(|s| s.key.op == op)
            .map(|s| s.stats.ok + s.stats.errors_of(INTEGRITY))
            .sum();
        if n > 0 {
            out.push((api, n as f64));
        }
    }
    out
}

/// Operations that succeeded in a mode's measured steps.
fn ok_ops(rec: &RunRecord, mode: Mode) -> f64 {
    rec.series_of(mode).map(|s| s.stats.ok as f64).sum()
}

/// The model's KMS calls for one mode of the run.
pub fn predict(ctx: &Context<'_>, mode: Mode) -> Prediction {
    let rec = ctx.record;
    if mode == Mode::KmsDirect {
        return kms::direct(&direct_calls(rec, mode));
    }
    if !mode.bucket_key() {
        return kms::per_request(mode, &ctx.rules, &work_of(rec, mode));
    }
    let prefill = rec.prefills.iter().find(|p| p.0 == mode).map(|p| Span {
        start: p.1,
        end: p.2,
        recorded: false,
        ops: None,
    });
    let steps: Vec<_> = rec.steps.iter().filter(|t| t.mode == mode).collect();
    kms::sum(ctx.scenario.bucket_requesters().into_iter().map(|r| {
        // Reads that need the Bucket Key: GETs, copy sources, multipart parts.
        let reads_in_step = |t: &StepTotals| -> Option<f64> {
            t.record.then(|| {
                rec.series_of(mode)
                    .filter(|s| {
                        s.key.phase == t.phase
                            && s.key.round == t.round
                            && r.streams.contains(&s.key.stream)
                    })
                    .map(|s| match s.key.op {
                        Op::Get | Op::Copy => s.stats.ok as f64,
                        Op::Put => s.stats.parts as f64,
                        _ => 0.0,
                    })
                    .sum()
            })
        };
        let step_spans: Vec<Span> = steps
            .iter()
            .map(|t| Span {
                start: t.start_s,
                end: t.start_s + t.seconds,
                recorded: t.record,
                ops: reads_in_step(t),
            })
            .collect();
        let mut writes: Vec<Span> = Vec::new();
        if r.prefill
            && let Some(p) = prefill
        {
            writes.push(p);
        }
        if r.writes {
            writes.extend(&step_spans);
        }
        let reads = if r.reads {
            step_spans.clone()
        } else {
            Vec::new()
        };
        kms::bucket_key(
            &ctx.rules,
            &BucketActivity {
                writers: r.writers,
                readers: r.readers,
                writes,
                reads,
            },
        )
    }))
    .times(rec.bucket_sets)
}

/// What a mode's month is priced on. Every mode is priced on the same traffic, so each
/// has one monthly total and the differences between modes are their encryption's
/// alone: the rate of the baseline mode (SSE-S3 when it ran, else the mode itself),
/// which is the scenario's longest measured fixed open-loop rate, else (or when the
/// load generator could not offer it) what the baseline achieved; and the baseline's
/// S3 request charges per operation (a mode's own sample of the mix would show as a
/// cost of its encryption).
struct MonthBasis {
    ops_per_s: f64,
    rate_source: RateSource,
    s3_usd_per_op: f64,
}

fn month_basis(ctx: &Context<'_>, mode: Mode, p: &crate::prices::RegionPrices) -> MonthBasis {
    let rec = ctx.record;
    let base = if mode != Mode::KmsDirect && rec.series_of(Mode::SseS3).next().is_some() {
        Mode::SseS3
    } else {
        mode
    };
    let ops = operations(rec, base);
    let seconds = rec.mode_seconds(base);
    let measured_rate = if seconds > 0.0 { ops / seconds } else { 0.0 };
    let behind = ctx.load.iter().any(|l| l.mode == base && l.behind);
    let (ops_per_s, rate_source) = match ctx.scenario.steady_rate() {
        Some(r) if !behind => (r, RateSource::Scenario),
        _ => (measured_rate, RateSource::Measured),
    };
    MonthBasis {
        ops_per_s,
        rate_source,
        s3_usd_per_op: if ops > 0.0 {
            p.s3_requests_usd(work_of(rec, base).requests()) / ops
        } else {
            0.0
        },
    }
}

/// Operations of a mode's measured steps: S3 operations, or direct KMS calls.
fn operations(rec: &RunRecord, mode: Mode) -> f64 {
    if mode == Mode::KmsDirect {
        direct_calls(rec, mode).iter().map(|c| c.1).sum()
    } else {
        work_of(rec, mode).operations()
    }
}

/// Cost of one mode: the run, per million operations, and a month at the steady rate.
pub fn mode_cost(ctx: &Context<'_>, k: &ModeKms) -> Option<ModeCost> {
    let rec = ctx.record;
    let run_seconds = rec.duration_s;
    let info = ctx.prices.as_ref()?;
    let p = &info.prices;
    let work = work_of(rec, k.mode);
    let requests = work.requests();
    let measured = k.source.is_measured();
    let kms_calls = if measured {
        k.calls as f64
    } else {
        k.predicted.calls
    };
    let keys = if k.mode.uses_kms() { rec.keys } else { 0 };
    let bytes_written: f64 = rec
        .series_of(k.mode)
        .filter(|s| s.key.op == Op::Put)
        .map(|s| s.stats.bytes as f64)
        .sum();
    let dsse = (k.mode == Mode::DsseKms)
        .then(|| p.dsse_usd(bytes_written))
        .flatten();
    let hpm = ctx.hours_per_month;
    let run = CostBreakdown::new(
        p.s3_requests_usd(requests),
        p.kms_requests_usd(kms_calls),
        p.key_usd(keys, &rec.key_billing, run_seconds / 3600.0, hpm),
        dsse,
    );
    let ops = operations(rec, k.mode);
    let basis = month_basis(ctx, k.mode, p);
    let rate = basis.ops_per_s;
    let month_ops = rate * hpm * 3600.0;
    // Everything scales with operations, except the key, which is a flat monthly charge.
    let per_op = if ops > 0.0 { 1.0 / ops } else { 0.0 };
    // A short run sees few Bucket Key refreshes: a month is projected from the
    // steady-state model (writers × lifetimes, readers × Bucket Keys × lifetimes).
    let kms_rate = if k.mode.bucket_key() {
        ctx.scenario
            .bucket_requesters()
            .into_iter()
            .map(|r| {
                // The role's reads that need its Bucket Key, per operation of the run.
                let reads: f64 = rec
                    .series_of(k.mode)
                    .filter(|s| r.streams.contains(&s.key.stream))
                    .map(|s| match s.key.op {
                        Op::Get | Op::Copy => s.stats.ok as f64,
                        Op::Put => s.stats.parts as f64,
                        _ => 0.0,
                    })
                    .sum();
                let (g, d) = kms::bucket_key_rates(
                    &ctx.rules,
                    r.writers,
                    r.readers,
                    rate * reads * per_op,
                    ctx.rules.bucket_key_lifetime,
                );
                g + d
            })
            .sum::<f64>()
    } else {
        kms_calls * per_op * rate
    };
    let month_kms = kms_rate * hpm * 3600.0;
    let monthly = MonthlyProjection {
        ops_per_s: rate,
        rate_source: basis.rate_source,
        operations: month_ops,
        kms_requests: month_kms,
        kms_rps: kms_rate,
        cost: CostBreakdown::new(
            basis.s3_usd_per_op * month_ops,
            p.kms_monthly_usd(month_kms),
            p.key_month_usd(keys, &rec.key_billing),
            dsse.map(|d| d * per_op * month_ops),
        ),
    };
    let per_million_ops = CostBreakdown::new(
        run.s3_requests_usd * per_op * 1e6,
        run.kms_requests_usd * per_op * 1e6,
        if month_ops > 0.0 {
            monthly.cost.key_usd / month_ops * 1e6
        } else {
            0.0
        },
        dsse.map(|d| d * per_op * 1e6),
    );
    Some(ModeCost {
        mode: k.mode,
        kms_calls_basis: if measured {
            KmsSource::Measured
        } else {
            KmsSource::Predicted
        },
        kms_calls,
        s3_requests: requests,
        keys,
        run,
        per_million_ops,
        monthly,
    })
}

/// Knees of every measured ramp step: the highest offered second with under 0.1 %
/// KMS throttling, before throttling first reached 0.1 %.
pub fn knees(ctx: &Context<'_>, kms: &[ModeKms]) -> Vec<Knee> {
    let (rec, s) = (ctx.record, ctx.scenario);
    let mut out = Vec::new();
    for t in rec.steps.iter().filter(|t| t.record) {
        let Some(phase) = s.phases.iter().find(|p| p.name == t.phase) else {
            continue;
        };
        let Some(Rate::Ramp { from, to }) = phase.load.rate() else {
            continue;
        };
        // The first and last seconds are partial: they would understate the rate.
        let full: &[_] = if t.offered.len() > 2 {
            &t.offered[1..t.offered.len() - 1]
        } else {
            &[]
        };
        let mut knee: Option<f64> = None;
        let mut throttling_from = None;
        for sec in full {
            let rate = sec.arrivals as f64;
            if sec.arrivals > 0 && sec.throttled as f64 / rate >= KNEE_THROTTLE_SHARE {
                throttling_from = Some(rate);
                break;
            }
            knee = Some(knee.map_or(rate, |k: f64| k.max(rate)));
        }
        // Below the knee every operation succeeds: KMS calls per successful operation.
        let ok = ok_ops(rec, t.mode);
        let kms_per_op = kms.iter().find(|k| k.mode == t.mode).map_or(0.0, |k| {
            let calls = if k.source.is_measured() {
                k.calls as f64
            } else {
                k.predicted.calls
            };
            if ok > 0.0 { calls / ok } else { 0.0 }
        });
        out.push(Knee {
            mode: t.mode,
            phase: t.phase.clone(),
            round: t.round,
            ramp: (from, to),
            knee_ops_per_s: knee,
            knee_kms_rps: knee.map(|r| r * kms_per_op),
            throttling_from_ops_per_s: throttling_from,
            kms_per_op,
        });
    }
    out
}
