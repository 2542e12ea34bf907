//! The semantic checks of a parsed scenario: every problem is reported with the
//! field it is about (the caller adds the file and line).

use super::{
    Load, Mode, PhaseSpec, Rate, SCENARIO_VERSION, Scenario, ScenarioKind, Seg, SizeDist, Stream,
    TargetKind, Threshold, k, parse_threshold,
};

/// Semantic checks; returns the parsed thresholds. A KMS scenario's modes become
/// the single pseudo-mode `kms-direct`.
pub(super) fn validate(
    s: &mut Scenario<PhaseSpec>,
    report: &mut dyn FnMut(Vec<Seg>, String),
) -> Vec<Threshold> {
    kms_modes(s, report);
    let s: &Scenario<PhaseSpec> = s;
    header(s, report);
    let streams = streams(s, report);
    for (i, st) in streams.iter().enumerate() {
        stream(s, &streams, i, st, report);
    }
    if s.phases.is_empty() {
        report(
            vec![k("phases")],
            "expected at least one [[phases]] entry".into(),
        );
    }
    for (i, p) in s.phases.iter().enumerate() {
        phase(s, streams.len(), i, p, report);
    }
    if !s.phases.iter().any(|p| p.record) && !s.phases.is_empty() {
        report(
            vec![k("phases")],
            "every phase has record = false: nothing would be measured".into(),
        );
    }
    principal_roles(s, !streams.is_empty(), report);
    target_principals(s, !streams.is_empty(), report);
    thresholds(s, report)
}

/// A KMS scenario has no encryption modes (its series is `kms-direct`); an S3 scenario
/// does not name `kms-direct`.
fn kms_modes(s: &mut Scenario<PhaseSpec>, report: &mut dyn FnMut(Vec<Seg>, String)) {
    if s.kind == ScenarioKind::Kms {
        if !s.modes.is_empty() {
            report(
                vec![k("modes")],
                "a kind = \"kms\" scenario calls KMS directly and has no encryption modes: remove `modes`".into(),
            );
        }
        s.modes = vec![Mode::KmsDirect];
    } else if let Some(i) = s.modes.iter().position(|m| *m == Mode::KmsDirect) {
        report(
            vec![k("modes"), Seg::Index(i)],
            "kms-direct is not an encryption mode: write kind = \"kms\" for a KMS scenario".into(),
        );
    }
}

/// The version, the name, the modes and rounds, the simulator's models and the target.
fn header(s: &Scenario<PhaseSpec>, report: &mut dyn FnMut(Vec<Seg>, String)) {
    if s.version != SCENARIO_VERSION {
        report(
            vec![k("version")],
            format!(
                "this build of sse-bench reads version {SCENARIO_VERSION}, got {}",
                s.version
            ),
        );
    }
    if s.name.is_empty() || !s.name.chars().all(super::is_name_char) {
        report(
            vec![k("name")],
            format!(
                "expected letters, digits, '-', '_' or '.', got {:?}",
                s.name
            ),
        );
    }
    if s.modes.is_empty() {
        report(vec![k("modes")], "expected at least one of \"sse-s3\", \"sse-kms\", \"sse-kms-bucket-key\", \"dsse-kms\"".into());
    }
    for (i, m) in s.modes.iter().enumerate() {
        if s.modes[..i].contains(m) {
            report(
                vec![k("modes"), Seg::Index(i)],
                format!("{m} is listed twice"),
            );
        }
    }
    if s.rounds == 0 {
        report(vec![k("rounds")], "expected at least 1".into());
    }
    if let Err(e) = s.simulator.faults.validate() {
        report(vec![k("simulator"), k("faults")], e);
    }
    for name in ["s3_latency", "kms_latency"] {
        let m = if name == "s3_latency" {
            &s.simulator.s3_latency
        } else {
            &s.simulator.kms_latency
        };
        if let Err(e) = m.validate() {
            report(vec![k("simulator"), k(name)], e);
        }
    }
    if s.target.kind == TargetKind::Endpoint && s.target.endpoint.is_none() {
        report(
            vec![k("target"), k("endpoint")],
            "kind = \"endpoint\" needs an endpoint URL (or pass --target URL)".into(),
        );
    }
}

/// The streams: `[workload]` or `[[streams]]`, not both, not neither.
fn streams<'a>(
    s: &'a Scenario<PhaseSpec>,
    report: &mut dyn FnMut(Vec<Seg>, String),
) -> Vec<(Vec<Seg>, &'a Stream)> {
    let (base, streams): (Vec<Seg>, Vec<&Stream>) = match (&s.workload, s.streams.is_empty()) {
        (Some(w), true) => (vec![k("workload")], vec![w]),
        (None, false) => (vec![k("streams")], s.streams.iter().collect()),
        (Some(_), false) => {
            report(
                vec![k("streams")],
                "give either [workload] or [[streams]], not both".into(),
            );
            (vec![], vec![])
        }
        (None, true) => {
            report(
                vec![k("workload")],
                "missing: describe the traffic in [workload] (or several [[streams]])".into(),
            );
            (vec![], vec![])
        }
    };
    let many = streams.len() > 1 || s.workload.is_none();
    streams
        .into_iter()
        .enumerate()
        .map(|(i, st)| {
            let mut at = base.clone();
            if many {
                at.push(Seg::Index(i));
            }
            (at, st)
        })
        .collect()
}

/// One stream: a name of its own, keys, share and requesters, its operation mix, its
/// sizes and multipart settings.
fn stream(
    s: &Scenario<PhaseSpec>,
    streams: &[(Vec<Seg>, &Stream)],
    i: usize,
    (base, st): &(Vec<Seg>, &Stream),
    report: &mut dyn FnMut(Vec<Seg>, String),
) {
    let at = |field: &[&str]| {
        let mut p = base.clone();
        p.extend(field.iter().map(|f| k(f)));
        p
    };
    if streams[..i].iter().any(|(_, o)| o.name == st.name) {
        report(
            at(&["name"]),
            format!("stream name {:?} is used twice", st.name),
        );
    }
    if st.keys == 0 {
        report(at(&["keys"]), "expected at least 1 key".into());
    }
    if !(st.share > 0.0 && st.share.is_finite()) {
        report(
            at(&["share"]),
            format!("expected a positive share, got {}", st.share),
        );
    }
    if st.requesters == 0 {
        report(at(&["requesters"]), "expected at least 1 requester".into());
    }
    mix(s.kind == ScenarioKind::Kms, st, &at, report);
    sizes(st, &at, report);
}

/// A stream's operation mix: S3 operations in an S3 scenario, KMS calls in a KMS one.
fn mix(
    kms: bool,
    st: &Stream,
    at: &dyn Fn(&[&str]) -> Vec<Seg>,
    report: &mut dyn FnMut(Vec<Seg>, String),
) {
    let m = &st.mix;
    if kms {
        if m.s3_weight() > 0 {
            report(
                at(&["mix"]),
                "a kind = \"kms\" scenario mixes generate_data_key, decrypt and encrypt, not S3 operations".into(),
            );
        } else if m.kms_weight() == 0 {
            report(
                at(&["mix"]),
                "expected at least one of generate_data_key, decrypt, encrypt with a positive weight".into(),
            );
        }
        if st.multipart.is_some() {
            report(
                at(&["multipart"]),
                "KMS scenarios have no multipart uploads".into(),
            );
        }
        if m.encrypt > 0 && st.size.max() > 4096 {
            report(
                at(&["size"]),
                format!(
                    "KMS Encrypt takes at most 4KiB of plaintext, got up to {}",
                    crate::units::format_size(st.size.max())
                ),
            );
        }
    } else if m.kms_weight() > 0 {
        report(
            at(&["mix"]),
            "generate_data_key, decrypt and encrypt call KMS directly: write kind = \"kms\" at the top of the scenario".into(),
        );
    } else if m.s3_weight() == 0 {
        report(
            at(&["mix"]),
            "expected at least one operation with a positive weight".into(),
        );
    }
}

/// A stream's object sizes and multipart settings, within S3's limits.
fn sizes(st: &Stream, at: &dyn Fn(&[&str]) -> Vec<Seg>, report: &mut dyn FnMut(Vec<Seg>, String)) {
    const MIN_PART: u64 = 5 << 20;
    const MAX_OBJECT: u64 = 5 << 30;
    match &st.size {
        SizeDist::Fixed { value } if value.0 == 0 => {
            report(at(&["size"]), "expected a size above zero".into())
        }
        SizeDist::Uniform { min, max } if min.0 == 0 || max.0 < min.0 => report(
            at(&["size"]),
            format!("expected 0 < min <= max, got min {min} and max {max}"),
        ),
        SizeDist::Lognormal { median, p99, max }
            if median.0 == 0 || p99.0 < median.0 || max.0 < median.0 =>
        {
            report(
                at(&["size"]),
                format!(
                    "expected 0 < median <= p99 and median <= max, got median {median}, p99 {p99}, max {max}"
                ),
            )
        }
        SizeDist::Weighted { buckets }
            if buckets.is_empty() || buckets.iter().any(|b| b.size.0 == 0 || b.weight == 0) =>
        {
            report(
                at(&["size", "buckets"]),
                "expected buckets with sizes and weights above zero".into(),
            )
        }
        _ => {}
    }
    let max = st.size.max();
    match &st.multipart {
        Some(mp) => {
            if mp.part.0 < MIN_PART {
                report(
                    at(&["multipart", "part"]),
                    format!("S3 parts are at least 5MiB, got {}", mp.part),
                );
            }
            if mp.threshold.0 < MIN_PART {
                report(
                    at(&["multipart", "threshold"]),
                    format!("expected at least 5MiB, got {}", mp.threshold),
                );
            }
        }
        None if max > MAX_OBJECT => {
            report(at(&["size"]), "objects above 5GiB need [multipart]".into())
        }
        None => {}
    }
}

/// `[principal_roles]`: every principal it names is a stream's, every role is named.
fn principal_roles(
    s: &Scenario<PhaseSpec>,
    has_streams: bool,
    report: &mut dyn FnMut(Vec<Seg>, String),
) {
    if !s.principal_roles.is_empty() && has_streams {
        let known = s.principals();
        for (name, role) in &s.principal_roles {
            let at = vec![k("principal_roles"), k(name)];
            if !known.contains(name) {
                report(
                    at.clone(),
                    format!(
                        "no stream has a principal named {name:?} (the scenario's principals: {})",
                        known.join(", ")
                    ),
                );
            }
            if role.trim().is_empty() {
                report(
                    at,
                    "expected a role name or ARN, got an empty string".into(),
                );
            }
        }
    }
}

/// `[target.principals]`: every principal it maps is a stream's, each with a profile or
/// a role ARN.
fn target_principals(
    s: &Scenario<PhaseSpec>,
    has_streams: bool,
    report: &mut dyn FnMut(Vec<Seg>, String),
) {
    if !s.target.principals.is_empty() {
        // With both [workload] and [[streams]] (reported above) nothing is known.
        let known = if !has_streams {
            Vec::new()
        } else {
            s.principals()
        };
        for (name, src) in &s.target.principals {
            let at = vec![k("target"), k("principals"), k(name)];
            if !known.is_empty() && !known.contains(name) {
                report(
                    at.clone(),
                    format!(
                        "no stream has a principal named {name:?} (the scenario's principals: {})",
                        known.join(", ")
                    ),
                );
            }
            if src.profile.is_none() && src.role_arn.is_none() {
                report(at.clone(), "give profile = \"NAME\", role_arn = \"arn:aws:iam::...:role/...\", or both (the role assumed from the profile)".into());
            }
            if let Some(r) = &src.role_arn
                && !(r.starts_with("arn:") && r.contains(":role/"))
            {
                report(
                    at.clone(),
                    format!("role_arn: expected arn:aws:iam::ACCOUNT:role/NAME, got {r:?}"),
                );
            }
            if src.external_id.is_some() && src.role_arn.is_none() {
                report(at, "external_id only applies with role_arn".into());
            }
        }
    }
}

/// The thresholds, parsed against the scenario's modes.
fn thresholds(s: &Scenario<PhaseSpec>, report: &mut dyn FnMut(Vec<Seg>, String)) -> Vec<Threshold> {
    let mut parsed = Vec::new();
    for (name, rule) in &s.thresholds {
        match parse_threshold(name, rule, &s.modes) {
            Ok(t) if t.metric.ends_with("_overhead") && s.rounds < 2 => report(
                vec![k("thresholds"), k(name)],
                format!(
                    "{} is paired round by round with sse-s3: it needs rounds = 2 or more (rounds = {})",
                    t.metric, s.rounds
                ),
            ),
            Ok(t) => parsed.push(t),
            Err(e) => report(vec![k("thresholds"), k(name)], e.to_string()),
        }
    }
    parsed
}

/// One phase: a name of its own, a bound (duration or operations) above zero, and a
/// load that is one of the three, with sensible numbers.
fn phase(
    s: &Scenario<PhaseSpec>,
    streams: usize,
    i: usize,
    p: &PhaseSpec,
    report: &mut dyn FnMut(Vec<Seg>, String),
) {
    let at = |f: &str| vec![k("phases"), Seg::Index(i), k(f)];
    let whole = || vec![k("phases"), Seg::Index(i)];
    if s.phases[..i].iter().any(|o| o.name == p.name) {
        report(at("name"), format!("phase name {:?} is used twice", p.name));
    }
    if p.max_in_flight == Some(0) {
        report(at("max_in_flight"), "expected at least 1".into());
    }
    let load = match p.load() {
        Ok(load) => load,
        Err(("", why)) => return report(whole(), why.into()),
        Err((field, why)) => return report(at(field), why.into()),
    };
    if let Load::Trace { trace, .. } = &load {
        return trace_phase(s, streams, trace, &at, report);
    }
    if p.duration.is_none() && p.operations.is_none() {
        report(
            whole(),
            "give a duration (\"60s\") or a number of operations".into(),
        );
    }
    if p.duration.is_some_and(|d| d.0.is_zero()) {
        report(at("duration"), "expected a duration above zero".into());
    }
    if p.operations == Some(0) {
        report(at("operations"), "expected at least 1 operation".into());
    }
    match load {
        Load::Closed { concurrency: 0 } => report(at("concurrency"), "expected at least 1".into()),
        Load::Open { rate: r, .. } => {
            let (a, b) = r.bounds();
            if !(a.is_finite() && b.is_finite())
                || a < 0.0
                || b <= 0.0
                || (matches!(r, Rate::Fixed(_)) && a <= 0.0)
            {
                let got = match r {
                    Rate::Fixed(_) => format!("{a}"),
                    _ => format!("{a} to {b}"),
                };
                report(at("rate"), format!("expected a positive rate, got {got}"));
            }
        }
        _ => {}
    }
}

/// A phase that replays a trace: a positive speed, a readable trace whose buckets are
/// the scenario's streams (by position) and whose requesters are its principals.
fn trace_phase(
    s: &Scenario<PhaseSpec>,
    streams: usize,
    t: &super::trace::TracePhase,
    at: &dyn Fn(&str) -> Vec<Seg>,
    report: &mut dyn FnMut(Vec<Seg>, String),
) {
    if !(t.speed.is_finite() && t.speed > 0.0) {
        report(
            at("trace"),
            format!("speed: expected a positive factor, got {}", t.speed),
        );
    }
    match super::trace::Trace::read(&t.file) {
        Err(e) => report(at("trace"), e.to_string()),
        Ok(tr) => {
            if tr.buckets.len() > streams {
                report(
                    at("trace"),
                    format!(
                        "the trace has {} buckets and the scenario {streams} stream(s): bucket i replays into the i-th stream",
                        tr.buckets.len()
                    ),
                );
            }
            let known = s.principals();
            let unknown: Vec<&String> = tr
                .requesters
                .iter()
                .filter(|r| !known.contains(r))
                .collect();
            if !unknown.is_empty() {
                report(
                    at("trace"),
                    format!(
                        "the trace's requesters {unknown:?} are not principals of the scenario's streams (writers, readers)"
                    ),
                );
            }
        }
    }
}
