//! Threshold rules: `"<mode|all>.<op|all>.<metric>" = "< 80ms"` and
//! `"<mode|all>.<mode metric>" = "< 0.01"`. A name that selects no metric is an error.

use super::{Mode, Op};
use crate::error::Error;
use serde::Serialize;

/// Latency and throughput metrics of a (mode, operation).
pub const OP_METRICS: [&str; 12] = [
    "p50",
    "p50_overhead",
    "p99_overhead",
    "p90",
    "p99",
    "p999",
    "p9999",
    "max",
    "ops_per_s",
    "mib_per_s",
    "error_rate",
    "throttle_rate",
];
/// Metrics of a mode.
pub const MODE_METRICS: [&str; 7] = [
    "kms_per_op",
    "kms_calls",
    "kms_peak_rps",
    "error_rate",
    "throttle_rate",
    "dropped_rate",
    "achieved_rate",
];

/// Comparison of a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Cmp {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A parsed threshold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Threshold {
    /// The key as written.
    pub name: String,
    /// The rule as written.
    pub rule: String,
    /// Selected mode (`None` = every mode).
    pub mode: Option<Mode>,
    /// Selected operation (`None` = every operation, or a mode metric).
    pub op: Option<Op>,
    /// Whether the metric is per mode rather than per (mode, operation).
    pub mode_metric: bool,
    /// Metric name.
    pub metric: String,
    /// Comparison.
    pub cmp: Cmp,
    /// Bound, in the metric's unit (milliseconds for latencies, a fraction for rates).
    pub bound: f64,
}

impl Threshold {
    /// True when `actual` satisfies the rule.
    pub fn passes(&self, actual: f64) -> bool {
        match self.cmp {
            Cmp::Lt => actual < self.bound,
            Cmp::Le => actual <= self.bound,
            Cmp::Gt => actual > self.bound,
            Cmp::Ge => actual >= self.bound,
        }
    }

    /// Whether the metric is a latency (in milliseconds).
    pub fn is_latency(&self) -> bool {
        self.metric.starts_with('p') || self.metric == "max"
    }
}

/// Parses one threshold; the error says what is allowed.
pub fn parse_threshold(name: &str, rule: &str, modes: &[Mode]) -> Result<Threshold, Error> {
    let parts: Vec<&str> = name.split('.').collect();
    let mode_of = |s: &str| -> Result<Option<Mode>, Error> {
        if s == "all" {
            return Ok(None);
        }
        let parsed = Mode::parse(s).or((s == "kms-direct").then_some(Mode::KmsDirect));
        match parsed {
            Some(m) if modes.contains(&m) => Ok(Some(m)),
            Some(m) => Err(Error::usage(format!(
                "mode {m} is not in this scenario's modes"
            ))),
            None => Err(Error::usage(format!(
                "unknown mode {s:?}: expected one of the scenario's modes or \"all\""
            ))),
        }
    };
    let (mode, op, metric, mode_metric) = match parts.as_slice() {
        [m, metric] if MODE_METRICS.contains(metric) => (mode_of(m)?, None, *metric, true),
        [m, o, metric] if OP_METRICS.contains(metric) => {
            let op = if *o == "all" {
                None
            } else {
                Some(Op::parse(o).ok_or_else(|| {
                    Error::usage(format!("unknown operation {o:?}: expected put, get, head, delete, copy, generate_data_key, decrypt, encrypt or all"))
                })?)
            };
            (mode_of(m)?, op, *metric, false)
        }
        _ => {
            return Err(Error::usage(format!(
                "names no metric: expected \"<mode|all>.<op|all>.<{}>\" or \"<mode|all>.<{}>\"",
                OP_METRICS.join("|"),
                MODE_METRICS.join("|")
            )));
        }
    };
    if metric.ends_with("_overhead") {
        // The overhead is against SSE-S3 in the same rounds: it needs SSE-S3 to run, and
        // SSE-S3 has none of its own.
        if !modes.contains(&Mode::SseS3) {
            return Err(Error::usage(format!(
                "{metric} is measured against sse-s3 in the same run: add sse-s3 to the modes"
            )));
        }
        if mode == Some(Mode::SseS3) {
            return Err(Error::usage(format!(
                "{metric}: sse-s3 is what overheads are measured against; name another mode or \"all\""
            )));
        }
    }
    if rule.trim() != rule {
        return Err(Error::usage(format!(
            "expected a rule like \"< 80ms\" or \"<= 0.01\", got {rule:?} (stray whitespace)"
        )));
    }
    let r = rule;
    let (cmp, rest) = if let Some(x) = r.strip_prefix("<=") {
        (Cmp::Le, x)
    } else if let Some(x) = r.strip_prefix(">=") {
        (Cmp::Ge, x)
    } else if let Some(x) = r.strip_prefix('<') {
        (Cmp::Lt, x)
    } else if let Some(x) = r.strip_prefix('>') {
        (Cmp::Gt, x)
    } else {
        return Err(Error::usage(format!(
            "expected a rule like \"< 80ms\" or \"<= 0.01\", got {rule:?}"
        )));
    };
    let v = rest.trim();
    let latency = metric.starts_with('p') || metric == "max";
    let bound = if latency {
        crate::units::parse_duration(v)
            .map(|d| d.as_secs_f64() * 1e3)
            .map_err(Error::usage)?
    } else if let Some(p) = v.strip_suffix('%') {
        p.trim()
            .parse::<f64>()
            .map(|x| x / 100.0)
            .map_err(|_| Error::usage(format!("expected a percentage like \"0.1%\", got {v:?}")))?
    } else {
        v.parse::<f64>()
            .map_err(|_| Error::usage(format!("expected a number, got {v:?}")))?
    };
    Ok(Threshold {
        name: name.into(),
        rule: rule.into(),
        mode,
        op,
        mode_metric,
        metric: metric.into(),
        cmp,
        bound,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overheads_need_sse_s3_and_another_mode() {
        let modes = [Mode::SseS3, Mode::SseKms];
        let t = parse_threshold("all.put.p50_overhead", "< 6ms", &modes).unwrap();
        assert_eq!((t.metric.as_str(), t.bound), ("p50_overhead", 6.0));
        assert!(t.is_latency());
        let e = parse_threshold("sse-s3.put.p99_overhead", "< 6ms", &modes).unwrap_err();
        assert!(
            e.to_string()
                .contains("what overheads are measured against"),
            "{e}"
        );
        let e = parse_threshold("sse-kms.put.p50_overhead", "< 6ms", &[Mode::SseKms]).unwrap_err();
        assert!(e.to_string().contains("add sse-s3"), "{e}");
    }

    #[test]
    fn parses_and_checks_rules() {
        let modes = [Mode::SseKms, Mode::SseKmsBucketKey];
        let t = parse_threshold("sse-kms.put.p99", "< 80ms", &modes).unwrap();
        assert_eq!(
            (t.mode, t.op, t.bound),
            (Some(Mode::SseKms), Some(Op::Put), 80.0)
        );
        assert!(t.passes(79.9) && !t.passes(80.0));
        let t = parse_threshold("all.error_rate", "< 0.1%", &modes).unwrap();
        assert!(t.mode_metric && (t.bound - 0.001).abs() < 1e-12);
        let t = parse_threshold("sse-kms-bucket-key.kms_per_op", "<= 0.01", &modes).unwrap();
        assert!(t.passes(0.01));
        assert!(
            parse_threshold("sse-kms.put.p98", "< 1ms", &modes)
                .unwrap_err()
                .to_string()
                .contains("names no metric")
        );
        assert!(
            parse_threshold("sse-s3.put.p99", "< 1ms", &modes)
                .unwrap_err()
                .to_string()
                .contains("not in this scenario")
        );
        assert!(parse_threshold("sse-kms.list.p99", "< 1ms", &modes).is_err());
        assert!(parse_threshold("sse-kms.put.p99", "about 80ms", &modes).is_err());
    }
}
