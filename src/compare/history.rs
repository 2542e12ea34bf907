//! The run history of the nightly gate: one small JSON record per run with every gated
//! metric's value, in `DIR/<scenario>/` or under an `s3://` prefix. `run --history` and
//! `compare --history --append` add to it; `compare --history` reads the last N runs of
//! the same scenario on the same kind of target.

use super::values;
use crate::error::Error;
use crate::remote::S3Url;
use crate::results::Summary;
use crate::scenario::TargetKind;
use crate::targets::AccessOptions;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of the record format.
pub const HISTORY_SCHEMA: u32 = 1;

/// One run in the history.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// Record format version.
    pub schema: u32,
    /// Scenario name.
    pub scenario: String,
    /// The scenario as far as comparability goes (workload, phases, modes, rounds, order).
    pub identity: serde_json::Value,
    /// Where the run ran.
    pub target: TargetKind,
    /// Start of the run, RFC 3339 UTC: orders the history and names the file.
    pub started_at: String,
    /// The sse-bench version that measured it.
    pub tool_version: String,
    /// Git commit of that build, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    /// Every metric's value, by rule key (`sse-kms.put.p50`).
    pub metrics: BTreeMap<String, f64>,
}

impl HistoryRecord {
    /// The record of a summary.
    pub fn of(s: &Summary) -> HistoryRecord {
        HistoryRecord {
            schema: HISTORY_SCHEMA,
            scenario: s.scenario.name.clone(),
            identity: values::identity(s),
            target: s.target.kind,
            started_at: s.started_at.clone(),
            tool_version: s.tool.version.clone(),
            git_commit: s.tool.git_commit.clone(),
            metrics: values::all_values(s),
        }
    }

    /// Of the scenario whose identity (`values::identity`) is `identity`, on `target`.
    pub fn comparable(&self, identity: &serde_json::Value, target: TargetKind) -> bool {
        self.identity == *identity && self.target == target
    }
}

/// Where a history lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// A local directory.
    Dir(PathBuf),
    /// An S3 prefix, through the aws target's credential chain.
    S3(S3Url),
}

impl Location {
    /// `s3://bucket/prefix/` or a directory.
    pub fn parse(s: &str) -> Result<Location, Error> {
        if s.starts_with("s3://") {
            S3Url::parse(s).map(Location::S3)
        } else if s.is_empty() {
            Err(Error::Usage(
                "--history: expected a directory or s3://bucket/prefix/".into(),
            ))
        } else {
            Ok(Location::Dir(PathBuf::from(s)))
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Dir(d) => write!(f, "{}", d.display()),
            Location::S3(u) => write!(f, "{u}"),
        }
    }
}

/// A scenario name as a path component.
fn folder(scenario: &str) -> String {
    let s: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() || s.starts_with('.') {
        format!("_{s}")
    } else {
        s
    }
}

/// The record's file name: its start time, sortable and without colons.
fn file_name(r: &HistoryRecord) -> String {
    format!("{}.json", r.started_at.replace(':', "-"))
}

/// Adds a run to the history; returns where it went.
pub async fn append(
    at: &Location,
    r: &HistoryRecord,
    access: &AccessOptions,
) -> Result<String, Error> {
    let body = serde_json::to_vec_pretty(r)
        .map_err(|e| Error::failure(format!("encoding the history record: {e}")))?;
    let rel = format!("{}/{}", folder(&r.scenario), file_name(r));
    match at {
        Location::Dir(d) => {
            let path = d.join(&rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::failure(format!("--history {}: {e}", parent.display())))?;
            }
            crate::results::write_atomic(&path, &body)
                .map_err(|e| Error::failure(format!("--history {}: {e}", path.display())))?;
            Ok(path.display().to_string())
        }
        Location::S3(u) => {
            crate::remote::put(u, &rel, body, access)
                .await
                .map_err(|e| Error::failure(format!("--history {u}: {e}")))?;
            Ok(format!("{u}{rel}"))
        }
    }
}

/// What a history holds for a scenario.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Readable records of the scenario, oldest first.
    pub records: Vec<HistoryRecord>,
    /// Files that were not records of this format.
    pub unreadable: usize,
}

/// Reads every record of `scenario` in a local directory.
fn load_dir(dir: &Path) -> Result<Loaded, Error> {
    let mut out = Loaded::default();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::Usage(format!("--history {}: {e}", dir.display()))),
    };
    for e in entries {
        let path = e
            .map_err(|e| Error::Usage(format!("--history {}: {e}", dir.display())))?
            .path();
        if path.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let parsed = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<HistoryRecord>(&b).ok())
            .filter(|r| r.schema == HISTORY_SCHEMA);
        match parsed {
            Some(r) => out.records.push(r),
            None => out.unreadable += 1,
        }
    }
    out.records.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    Ok(out)
}

/// Reads every record of `scenario`; a history that does not exist yet is empty.
pub async fn load(at: &Location, scenario: &str, access: &AccessOptions) -> Result<Loaded, Error> {
    match at {
        Location::Dir(d) => load_dir(&d.join(folder(scenario))),
        Location::S3(u) => {
            let url = S3Url {
                bucket: u.bucket.clone(),
                prefix: format!("{}{}/", u.prefix, folder(scenario)),
            };
            let tmp = tempfile::tempdir()
                .map_err(|e| Error::failure(format!("a temporary directory: {e}")))?;
            crate::remote::download(&url, access, tmp.path())
                .await
                .map_err(|e| Error::Usage(format!("--history {url}: {e}")))?;
            load_dir(tmp.path())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_safe_path_components() {
        assert_eq!(folder("ci-nightly"), "ci-nightly");
        assert_eq!(folder("../x y"), "_.._x_y");
        assert_eq!(folder(""), "_");
        assert!(Location::parse("s3://bucket/p").is_ok());
        assert!(Location::parse("s3://").is_err());
        assert_eq!(
            Location::parse("hist").unwrap(),
            Location::Dir(PathBuf::from("hist"))
        );
    }
}
