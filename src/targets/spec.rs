//! Which target a run goes to: `--target` over the scenario's `[target]`.

use crate::error::{Error, Result};
use crate::scenario::{LoadedScenario, TargetKind};

/// Where a run goes, as chosen by `--target` or `[target]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetSpec {
    /// The in-process simulator.
    Embedded,
    /// An S3-compatible endpoint.
    Endpoint(String),
    /// Real AWS.
    Aws,
}

impl TargetSpec {
    /// Resolves `--target` against the scenario's `[target]`.
    pub fn resolve(flag: Option<&str>, ls: &LoadedScenario) -> Result<TargetSpec> {
        match flag {
            Some("embedded") => Ok(TargetSpec::Embedded),
            Some("aws") => Ok(TargetSpec::Aws),
            Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
                Ok(TargetSpec::Endpoint(u.to_owned()))
            }
            Some(other) => Err(Error::usage(format!(
                "--target: expected embedded, aws or an http(s):// URL, got {other:?}"
            ))),
            None => match ls.scenario.target.kind {
                TargetKind::Embedded => Ok(TargetSpec::Embedded),
                TargetKind::Aws => Ok(TargetSpec::Aws),
                TargetKind::Endpoint => ls
                    .scenario
                    .target
                    .endpoint
                    .clone()
                    .map(TargetSpec::Endpoint)
                    .ok_or_else(|| {
                        Error::usage("target.endpoint is required for kind = \"endpoint\"")
                    }),
            },
        }
    }
}

impl TargetSpec {
    /// The kind of target, as summaries record it.
    pub fn kind(&self) -> TargetKind {
        match self {
            TargetSpec::Embedded => TargetKind::Embedded,
            TargetSpec::Endpoint(_) => TargetKind::Endpoint,
            TargetSpec::Aws => TargetKind::Aws,
        }
    }

    /// A description for summaries: the URL, "embedded" or "aws".
    pub fn label(&self) -> String {
        match self {
            TargetSpec::Embedded => "embedded".into(),
            TargetSpec::Endpoint(u) => u.clone(),
            TargetSpec::Aws => "aws".into(),
        }
    }
}
