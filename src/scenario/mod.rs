//! Scenario files: parsing, validation and errors that name the file, line and
//! field (DESIGN.md §3).

mod locate;
pub mod thresholds;
mod types;

pub use locate::Seg;
pub use thresholds::{Threshold, parse_threshold};
pub use types::*;

use std::fmt;
use std::path::{Path, PathBuf};

/// One problem in a scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file.
    pub file: PathBuf,
    /// 1-based line, when it could be found.
    pub line: Option<usize>,
    /// Field path (`workload.size.median`), empty for whole-file problems.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All problems found in one file.
#[derive(Debug, Clone)]
pub struct ScenarioErrors(pub Vec<ScenarioError>);

impl fmt::Display for ScenarioErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioErrors {}

/// A validated scenario with its source text.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The scenario.
    pub scenario: Scenario,
    /// The file it came from.
    pub path: PathBuf,
    /// The file's text (copied into results).
    pub text: String,
    /// Parsed thresholds.
    pub thresholds: Vec<Threshold>,
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<LoadedScenario, ScenarioErrors> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ScenarioErrors(vec![ScenarioError {
            file: path.into(),
            line: None,
            field: String::new(),
            message: format!("cannot read the scenario file: {e}"),
        }])
    })?;
    parse(path, &text)
}

/// Parses and validates scenario text (`path` is used in messages only).
pub fn parse(path: &Path, text: &str) -> Result<LoadedScenario, ScenarioErrors> {
    let err = |path_segs: &[Seg], line: Option<usize>, message: String| ScenarioError {
        file: path.into(),
        line: line.or_else(|| locate::line_of_path(text, path_segs)),
        field: locate::render(path_segs),
        message,
    };
    let de = toml::de::Deserializer::parse(text).map_err(|e| {
        let line = e.span().map(|s| locate::line_of(text, s.start));
        ScenarioErrors(vec![err(
            &[],
            line,
            format!("not valid TOML: {}", e.message()),
        )])
    })?;
    let mut scenario: Scenario = serde_path_to_error::deserialize(de).map_err(|e| {
        let segs = segments(e.path());
        let inner = e.inner();
        let line = locate::line_of_path(text, &segs)
            .or_else(|| inner.span().map(|s| locate::line_of(text, s.start)));
        ScenarioErrors(vec![err(&segs, line, inner.message().to_owned())])
    })?;
    if scenario.kind == ScenarioKind::Kms {
        // A KMS stream without a `mix` table gets the KMS default, not the S3 one.
        if let Some(w) = scenario.workload.as_mut()
            && locate::line_of_path(text, &[k("workload"), k("mix")]).is_none()
        {
            w.mix = Mix::kms_default();
        }
        for (i, st) in scenario.streams.iter_mut().enumerate() {
            if locate::line_of_path(text, &[k("streams"), Seg::Index(i), k("mix")]).is_none() {
                st.mix = Mix::kms_default();
            }
        }
    }
    let mut problems = Vec::new();
    let thresholds = validate(&mut scenario, &mut |segs: Vec<Seg>, msg: String| {
        problems.push(err(&segs, None, msg))
    });
    if problems.is_empty() {
        Ok(LoadedScenario {
            scenario,
            path: path.into(),
            text: text.to_owned(),
            thresholds,
        })
    } else {
        Err(ScenarioErrors(problems))
    }
}

fn segments(p: &serde_path_to_error::Path) -> Vec<Seg> {
    p.iter()
        .filter_map(|s| match s {
            serde_path_to_error::Segment::Map { key } => Some(Seg::Key(key.clone())),
            serde_path_to_error::Segment::Seq { index } => Some(Seg::Index(*index)),
            _ => None,
        })
        .collect()
}

fn k(s: &str) -> Seg {
    Seg::Key(s.to_owned())
}

/// The streams of a scenario (`[workload]` or `[[streams]]`).
pub fn streams(s: &Scenario) -> Vec<Stream> {
    match &s.workload {
        Some(w) => vec![w.clone()],
        None => s.streams.clone(),
    }
}

/// Semantic checks; returns the parsed thresholds. A KMS scenario's modes become
/// the single pseudo-mode `kms-direct`.
fn validate(s: &mut Scenario, report: &mut dyn FnMut(Vec<Seg>, String)) -> Vec<Threshold> {
    let kms = s.kind == ScenarioKind::Kms;
    if kms {
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
    let s: &Scenario = s;
    const MIN_PART: u64 = 5 << 20;
    const MAX_OBJECT: u64 = 5 << 30;
    if s.version != SCENARIO_VERSION {
        report(
            vec![k("version")],
            format!(
                "this build of sse-bench reads version {SCENARIO_VERSION}, got {}",
                s.version
            ),
        );
    }
    if s.name.is_empty()
        || !s
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
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
    for (i, st) in streams.iter().enumerate() {
        let at = |field: &[&str]| {
            let mut p = base.clone();
            if many {
                p.push(Seg::Index(i));
            }
            p.extend(field.iter().map(|f| k(f)));
            p
        };
        if streams[..i].iter().any(|o| o.name == st.name) {
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
    if s.phases.is_empty() {
        report(
            vec![k("phases")],
            "expected at least one [[phases]] entry".into(),
        );
    }
    for (i, p) in s.phases.iter().enumerate() {
        let at = |f: &str| vec![k("phases"), Seg::Index(i), k(f)];
        if s.phases[..i].iter().any(|o| o.name == p.name) {
            report(at("name"), format!("phase name {:?} is used twice", p.name));
        }
        if p.duration.is_none() && p.operations.is_none() {
            report(
                vec![k("phases"), Seg::Index(i)],
                "give a duration (\"60s\") or a number of operations".into(),
            );
        }
        if p.duration.is_some_and(|d| d.0.is_zero()) {
            report(at("duration"), "expected a duration above zero".into());
        }
        if p.operations == Some(0) {
            report(at("operations"), "expected at least 1 operation".into());
        }
        match (p.concurrency, &p.rate) {
            (Some(_), Some(_)) => report(
                at("rate"),
                "give either concurrency (closed loop) or rate (open loop), not both".into(),
            ),
            (None, None) => report(
                vec![k("phases"), Seg::Index(i)],
                "give concurrency (closed loop) or rate (open loop)".into(),
            ),
            (Some(0), None) => report(at("concurrency"), "expected at least 1".into()),
            (None, Some(r)) => {
                let (a, b) = r.bounds();
                if !(a.is_finite() && b.is_finite())
                    || a < 0.0
                    || b <= 0.0
                    || (matches!(r, Rate::Fixed(_)) && a <= 0.0)
                {
                    report(
                        at("rate"),
                        format!("expected a positive rate, got {a}..{b}"),
                    );
                }
            }
            _ => {}
        }
        if p.max_in_flight == Some(0) {
            report(at("max_in_flight"), "expected at least 1".into());
        }
        if p.max_in_flight.is_some() && p.rate.is_none() {
            report(
                at("max_in_flight"),
                "only applies to open-loop phases (with rate)".into(),
            );
        }
    }
    if !s.phases.iter().any(|p| p.record) && !s.phases.is_empty() {
        report(
            vec![k("phases")],
            "every phase has record = false: nothing would be measured".into(),
        );
    }
    if !s.target.principals.is_empty() {
        let mut known: Vec<String> = Vec::new();
        for st in &streams {
            for n in st.writer_names().into_iter().chain(st.reader_names()) {
                if !known.contains(&n) {
                    known.push(n);
                }
            }
        }
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
    let mut parsed = Vec::new();
    for (name, rule) in &s.thresholds {
        match parse_threshold(name, rule, &s.modes) {
            Ok(t) => parsed.push(t),
            Err(e) => report(vec![k("thresholds"), k(name)], e),
        }
    }
    parsed
}
