//! The verdict in words: for each mode, what it changes against SSE-S3 (latency
//! with its interval, KMS load against the quota, the monthly bill), what Bucket
//! Keys save, and the caveats; sentences a reviewer can paste into a change request.

use super::doc::Doc;
use super::format::{dollars, rate, thousands};
use super::table::Table;
use crate::results::verdict::{Assessment, LatencyChange, ModeVerdict, Percentile, Verdict};

/// The change cell: `+3.2 ms (+35%)`, or `noise (+0.7 ms)` when the interval spans zero.
fn change_cell(c: Option<&LatencyChange>) -> String {
    let Some(c) = c else {
        return "-".into();
    };
    match (c.assessment, c.change_ms) {
        (Assessment::TooFewRounds, _) | (_, None) => "too few rounds".into(),
        (Assessment::NotDistinguishable, Some(ms)) => format!("noise ({ms:+.1} ms)"),
        (_, Some(ms)) => match c.change_pct {
            Some(p) => format!("{ms:+.1} ms ({p:+.0}%)"),
            None => format!("{ms:+.1} ms"),
        },
    }
}

/// The interval cell: `+1.7 to +4.7`.
fn interval_cell(c: Option<&LatencyChange>) -> String {
    c.and_then(|c| c.interval_ms)
        .map_or("-".into(), |[lo, hi]| format!("{lo:+.1} to {hi:+.1}"))
}

/// Latency change per (mode, operation) at p50 and p99.
pub fn latency_table(v: &Verdict) -> Table {
    let mut t = Table::new(&[
        "<mode",
        "<op",
        "p50 change",
        "95% interval, ms",
        "p99 change",
        "95% interval, ms",
    ])
    .with_class("verdict");
    for m in &v.modes {
        let mut ops: Vec<_> = m.latency.iter().map(|c| c.op).collect();
        ops.dedup();
        for op in ops {
            let at = |p: Percentile| m.latency.iter().find(|c| c.op == op && c.percentile == p);
            t.row([
                m.mode.to_string(),
                op.to_string(),
                change_cell(at(Percentile::P50)),
                interval_cell(at(Percentile::P50)),
                change_cell(at(Percentile::P99)),
                interval_cell(at(Percentile::P99)),
            ]);
        }
    }
    t
}

fn per_1000(v: f64) -> String {
    if v > 0.0 && v < 10.0 {
        format!("{v:.2}")
    } else {
        thousands(v)
    }
}

/// A mode's KMS load and bill in one sentence.
fn mode_sentence(m: &ModeVerdict, baseline: bool) -> String {
    let k = &m.kms;
    let mut s = format!("{}: ", m.mode);
    if !m.mode.uses_kms() {
        s.push_str("no KMS requests (S3 keeps the keys)");
    } else {
        s.push_str(&format!(
            "{} KMS requests per 1,000 S3 operations, {} req/s at {} op/s",
            per_1000(k.per_1000_ops),
            rate(k.kms_rps),
            thousands(k.ops_per_s)
        ));
        if let (Some(q), Some(share)) = (k.quota_rps, k.quota_share_pct) {
            s.push_str(&format!(
                ", {share:.1}% of the {} req/s KMS quota",
                thousands(q as f64)
            ));
            match k.ops_per_s_at_quota {
                Some(at) => s.push_str(&format!(" (reached at {} op/s)", thousands(at))),
                None => s.push_str(" (its KMS requests grow with requesters and Bucket Key lifetimes, not with traffic)"),
            }
        }
    }
    if let Some(c) = &m.cost {
        s.push_str(&format!("; {} a month", dollars(c.monthly_usd)));
        if !baseline {
            let sign = if c.change_usd >= 0.0 { "+" } else { "-" };
            s.push_str(&format!(
                ", {sign}{}{} against SSE-S3",
                dollars(c.change_usd.abs()),
                c.change_pct
                    .map_or(String::new(), |p| format!(" ({p:+.0}%)"))
            ));
        }
    }
    s.push('.');
    s
}

/// The verdict block.
pub fn verdict_doc(v: &Verdict) -> Doc {
    let mut d = Doc::default();
    d.heading(format!(
        "Verdict: what each mode changes against {}",
        v.baseline
    ));
    let rounds = v
        .modes
        .iter()
        .flat_map(|m| m.latency.iter().map(|c| c.rounds))
        .min()
        .unwrap_or(0);
    let latency = latency_table(v);
    if !latency.rows.is_empty() {
        if (rounds as usize) < crate::results::verdict::MIN_ROUNDS {
            d.text([format!(
                "Latency: {rounds} round{}, too few to tell a change from noise (run rounds = {} or more).",
                if rounds == 1 { "" } else { "s" },
                crate::results::verdict::MIN_ROUNDS
            )]);
        } else {
            d.text([format!(
                "Latency change against {} ({rounds} rounds, each mode paired with it round by round; 95% intervals from the round-to-round variation, \"noise\" where one spans zero; at 95%, about one comparison in twenty is flagged by chance):",
                v.baseline
            )]);
            d.table(latency);
        }
    }
    // Monthly figures bill every mode for the same S3 requests: the differences are KMS,
    // keys and DSSE.
    let mut lines: Vec<String> = v
        .modes
        .iter()
        // The baseline first: the others' changes are against its bill.
        .filter(|m| m.mode == v.baseline)
        .chain(v.modes.iter().filter(|m| m.mode != v.baseline))
        .map(|m| mode_sentence(m, m.mode == v.baseline))
        .collect();
    if let Some(s) = &v.bucket_key_saving {
        lines.push(s.sentence());
    }
    d.list(lines);
    d.list(v.caveats.iter().map(|c| format!("Caveat: {}", c.text)));
    d
}
