//! Scenario files: parsing, validation and errors that name the file, line and
//! field.

mod locate;
mod phase;
mod requesters;
mod target;
pub mod thresholds;
pub mod trace;
mod types;
mod validate;
mod workload;

pub use locate::Seg;
pub use phase::{Load, Phase, PhaseSpec, Rate};
pub use requesters::BucketRequesters;
pub use target::*;
pub use thresholds::{Threshold, parse_threshold};
pub use types::*;
pub use workload::*;

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

/// A scenario's problems are bad input: nothing was started.
impl From<ScenarioErrors> for crate::error::Error {
    fn from(e: ScenarioErrors) -> Self {
        crate::error::Error::Usage(e.to_string())
    }
}

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

impl LoadedScenario {
    /// A problem about the field at `path`, with its line in the file.
    pub fn error_at(&self, path: &[Seg], message: String) -> ScenarioError {
        ScenarioError {
            file: self.path.clone(),
            line: locate::line_of_path(&self.text, path),
            field: locate::render(path),
            message,
        }
    }
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
    let mut scenario: Scenario<PhaseSpec> = serde_path_to_error::deserialize(de).map_err(|e| {
        let segs = segments(e.path());
        let inner = e.inner();
        let line = locate::line_of_path(text, &segs)
            .or_else(|| inner.span().map(|s| locate::line_of(text, s.start)));
        ScenarioErrors(vec![err(&segs, line, did_you_mean(inner.message()))])
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
    // A trace is found beside the scenario file that names it.
    for p in &mut scenario.phases {
        if let Some(t) = p.trace.as_mut()
            && t.file.is_relative()
            && let Some(dir) = path.parent()
        {
            t.file = dir.join(&t.file);
        }
    }
    let mut problems = Vec::new();
    let thresholds = validate::validate(&mut scenario, &mut |segs: Vec<Seg>, msg: String| {
        problems.push(err(&segs, None, msg))
    });
    match scenario.typed() {
        Some(scenario) if problems.is_empty() => Ok(LoadedScenario {
            scenario,
            path: path.into(),
            text: text.to_owned(),
            thresholds,
        }),
        _ => Err(ScenarioErrors(problems)),
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

/// serde's "unknown field `sise`, expected one of `name`, `size`, ..." with "; did you
/// mean `size`?" when one allowed name is a slip away (at most two edits, and closer
/// than half the word).
fn did_you_mean(message: &str) -> String {
    let Some(rest) = message.strip_prefix("unknown field `") else {
        return message.to_owned();
    };
    let Some((unknown, expected)) = rest.split_once('`') else {
        return message.to_owned();
    };
    let allowed = expected.split('`').skip(1).step_by(2);
    let best = allowed
        .map(|name| (strsim::levenshtein(unknown, name), name))
        .filter(|(d, name)| *d <= 2 && *d * 2 < unknown.len().max(name.len()))
        .min_by_key(|(d, _)| *d);
    match best {
        Some((_, name)) => format!("{message}; did you mean `{name}`?"),
        None => message.to_owned(),
    }
}

/// Whether `c` may appear in a name sse-bench writes into paths and scenario files
/// (scenario and baseline names): letters, digits, `-`, `_`, `.`.
pub fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.".contains(c)
}

/// `s` with every character a name may not hold turned into `-`.
pub fn safe_name(s: &str) -> String {
    s.chars()
        .map(|c| if is_name_char(c) { c } else { '-' })
        .collect()
}

pub(crate) fn k(s: &str) -> Seg {
    Seg::Key(s.to_owned())
}
