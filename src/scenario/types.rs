//! The typed scenario: the whole file, its kind, the encryption modes and their
//! order, and the rules derived from it that every consumer shares (streams and
//! their normalised shares, principals, bucket roles, the steady rate). What a
//! scenario file may say is documented field by field in `scenarios/README.md`.

use super::phase::{Phase, PhaseSpec, Rate};
use super::target::TargetConfig;
use super::workload::{Op, Stream};
use serde::{Deserialize, Serialize};
use sse_sim::SimConfig;
use std::collections::BTreeMap;
use std::fmt;

/// The scenario format version this build understands.
pub const SCENARIO_VERSION: u32 = 1;

/// A whole scenario: validated (`Scenario`, its phases typed), or as the file spells
/// it (`Scenario<PhaseSpec>`, before validation).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario<P = Phase> {
    /// Format version; must be 1.
    pub version: u32,
    /// Short name, used in result directory names.
    pub name: String,
    /// Free text.
    #[serde(default)]
    pub description: String,
    /// What the scenario drives: S3 operations (default) or KMS directly.
    #[serde(default)]
    pub kind: ScenarioKind,
    /// Encryption modes to compare, in the order given (S3 scenarios; a KMS
    /// scenario runs as the single pseudo-mode `kms-direct`).
    #[serde(default)]
    pub modes: Vec<Mode>,
    /// How rounds of modes are ordered.
    #[serde(default)]
    pub order: Order,
    /// How many times each mode runs all phases.
    #[serde(default = "super::workload::one_u32")]
    pub rounds: u32,
    /// Seed for keys, sizes, payloads and the simulator (`--seed` overrides it).
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Where to run.
    #[serde(default)]
    pub target: TargetConfig,
    /// Simulator settings (embedded target only).
    #[serde(default)]
    pub simulator: SimConfig,
    /// A single stream of traffic (shorthand for one `[[streams]]` entry).
    pub workload: Option<Stream>,
    /// Several named streams running at the same time.
    #[serde(default)]
    pub streams: Vec<Stream>,
    /// Phases run in order for every mode and round.
    pub phases: Vec<P>,
    /// Pass/fail rules evaluated at the end (`"sse-kms.put.p99" = "< 80ms"`).
    #[serde(default)]
    pub thresholds: BTreeMap<String, String>,
    /// Whether runs price what they did (default true). `costs = false` leaves cost
    /// tables out and lets a run name a region the price table does not know.
    #[serde(default = "super::workload::yes", skip_serializing_if = "is_true")]
    pub costs: bool,
    /// The IAM role each principal is a session of (`[principal_roles]`, principal →
    /// role). Under the role rule, principals of one role are one Bucket Key requester.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub principal_roles: BTreeMap<String, String>,
}

/// Left out of echoes when it holds (results of older builds compare equal).
fn is_true(b: &bool) -> bool {
    *b
}

fn default_seed() -> u64 {
    1
}

/// What a scenario drives.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScenarioKind {
    /// S3 operations under each encryption mode.
    #[default]
    S3,
    /// KMS GenerateDataKey / Decrypt / Encrypt directly, no S3 (the quota probe).
    Kms,
}

/// An encryption mode.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// SSE-S3 (AES256).
    #[default]
    SseS3,
    /// SSE-KMS without Bucket Keys.
    SseKms,
    /// SSE-KMS with S3 Bucket Keys.
    SseKmsBucketKey,
    /// DSSE-KMS.
    DsseKms,
    /// Not an encryption mode: the series of a `kind = "kms"` scenario, which calls
    /// KMS directly. Never listed in `modes`.
    KmsDirect,
}

impl Mode {
    /// All modes.
    pub const ALL: [Mode; 4] = [
        Mode::SseS3,
        Mode::SseKms,
        Mode::SseKmsBucketKey,
        Mode::DsseKms,
    ];

    /// The scenario spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::SseS3 => "sse-s3",
            Mode::SseKms => "sse-kms",
            Mode::SseKmsBucketKey => "sse-kms-bucket-key",
            Mode::DsseKms => "dsse-kms",
            Mode::KmsDirect => "kms-direct",
        }
    }

    /// The bucket default-encryption algorithm.
    pub fn algorithm(self) -> &'static str {
        match self {
            Mode::SseS3 => "AES256",
            Mode::SseKms | Mode::SseKmsBucketKey | Mode::KmsDirect => "aws:kms",
            Mode::DsseKms => "aws:kms:dsse",
        }
    }

    /// Whether the mode uses KMS.
    pub fn uses_kms(self) -> bool {
        self != Mode::SseS3
    }

    /// Whether the bucket has Bucket Keys enabled.
    pub fn bucket_key(self) -> bool {
        self == Mode::SseKmsBucketKey
    }

    /// Parses the scenario spelling.
    pub fn parse(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Order of modes within rounds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Order {
    /// Round by round, every mode in each round (in a seeded order), to cancel drift.
    #[default]
    Interleaved,
    /// All rounds of one mode, then the next mode.
    Sequential,
}

impl Scenario<PhaseSpec> {
    /// The validated scenario, each phase's load decided; `None` when a phase's load is
    /// ambiguous (validation reports it).
    pub fn typed(self) -> Option<Scenario> {
        let phases = self
            .phases
            .into_iter()
            .map(|p| Phase::try_from(p).ok())
            .collect::<Option<Vec<Phase>>>()?;
        Some(Scenario {
            version: self.version,
            name: self.name,
            description: self.description,
            kind: self.kind,
            modes: self.modes,
            order: self.order,
            rounds: self.rounds,
            seed: self.seed,
            target: self.target,
            simulator: self.simulator,
            workload: self.workload,
            streams: self.streams,
            phases,
            thresholds: self.thresholds,
            costs: self.costs,
            principal_roles: self.principal_roles,
        })
    }
}

impl Scenario {
    /// The scenario's steady rate: the fixed open-loop rate of its longest measured
    /// phase with one (what cost projections scale a month by).
    pub fn steady_rate(&self) -> Option<f64> {
        self.phases
            .iter()
            .filter(|p| p.record)
            .filter_map(|p| match p.load.rate() {
                Some(Rate::Fixed(r)) => Some((p.duration.map_or(0.0, |d| d.0.as_secs_f64()), r)),
                _ => None,
            })
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|x| x.1)
    }

    /// The highest rate any phase reaches (the end of a ramp), when there is an open-loop phase.
    pub fn peak_rate(&self) -> Option<f64> {
        self.phases
            .iter()
            .filter_map(|p| p.load.rate().map(|r| r.peak()))
            .reduce(f64::max)
    }
}

impl<P> Scenario<P> {
    /// The streams: `[workload]` as one, or every `[[streams]]` entry.
    pub fn streams(&self) -> Vec<Stream> {
        match &self.workload {
            Some(w) => vec![w.clone()],
            None => self.streams.clone(),
        }
    }

    /// Each stream with its share of every phase's rate and concurrency, normalised
    /// to add up to 1 (equal shares when the scenario gives none above zero).
    pub fn shares(&self) -> Vec<(Stream, f64)> {
        let streams = self.streams();
        let total: f64 = streams.iter().map(|s| s.share).sum();
        let n = streams.len().max(1) as f64;
        streams
            .into_iter()
            .map(|s| {
                let share = if total > 0.0 {
                    s.share / total
                } else {
                    1.0 / n
                };
                (s, share)
            })
            .collect()
    }

    /// Every principal name, writers and readers, in the order the streams name them.
    pub fn principals(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for st in self.streams() {
            for n in st.writer_names().into_iter().chain(st.reader_names()) {
                if !out.contains(&n) {
                    out.push(n);
                }
            }
        }
        out
    }

    /// The IAM role a principal is a session of: `[principal_roles]`, else the role
    /// `[target.principals]` assumes for it.
    pub fn role_of(&self, principal: &str) -> Option<&str> {
        self.principal_roles
            .get(principal)
            .map(String::as_str)
            .or_else(|| {
                self.target
                    .principals
                    .get(principal)
                    .and_then(|p| p.role_arn.as_deref())
            })
    }

    /// Who a principal is to S3's Bucket Key cache (docs/aws-behaviour.md §2): its role
    /// under the role rule (AWS today), itself under the session rule.
    pub fn bucket_key_requester(&self, principal: &str) -> String {
        match (self.simulator.bucket_key_requester, self.role_of(principal)) {
            (sse_sim::RequesterRule::Role, Some(role)) => format!("role {role}"),
            _ => format!("principal {principal}"),
        }
    }

    /// The distinct Bucket Key requesters among `principals`.
    pub fn bucket_key_requesters(&self, principals: impl IntoIterator<Item = String>) -> u32 {
        let set: std::collections::BTreeSet<String> = principals
            .into_iter()
            .map(|p| self.bucket_key_requester(&p))
            .collect();
        set.len() as u32
    }

    /// The distinct bucket roles, sorted.
    pub fn bucket_roles(&self) -> Vec<String> {
        let roles: std::collections::BTreeSet<String> = self
            .streams()
            .iter()
            .map(|st| st.bucket_role().to_owned())
            .collect();
        roles.into_iter().collect()
    }

    /// The share of each S3 operation in all of the scenario's traffic (streams
    /// weighted by their shares, operations by their mix weights).
    pub fn op_shares(&self) -> Vec<(Op, f64)> {
        let mut out: Vec<(Op, f64)> = Vec::new();
        for (st, share) in self.shares() {
            let w = st.mix.s3_weight() as f64;
            if w <= 0.0 {
                continue;
            }
            for (op, weight) in st.mix.weights().into_iter().filter(|(o, _)| !o.is_kms()) {
                let add = share * weight as f64 / w;
                match out.iter_mut().find(|(o, _)| *o == op) {
                    Some(e) => e.1 += add,
                    None => out.push((op, add)),
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;
    use std::path::Path;

    const BASE: &str = "version = 1\nname = \"r\"\nmodes = [\"sse-kms-bucket-key\"]\n\
        [workload]\nwriters = [\"a\", \"b\", \"c\"]\n\
        [[phases]]\nname = \"p\"\nduration = \"1s\"\nconcurrency = 1\n";

    fn requesters(extra: &str) -> u32 {
        let ls =
            parse(Path::new("r.toml"), &format!("{BASE}{extra}")).unwrap_or_else(|e| panic!("{e}"));
        let names = ["a", "b", "c"].map(String::from);
        ls.scenario.bucket_key_requesters(names)
    }

    /// docs/aws-behaviour.md §2: principals that are sessions of one role are one
    /// requester, whether the scenario names the role or the aws target assumes it.
    #[test]
    fn principals_of_one_role_are_one_bucket_key_requester() {
        assert_eq!(requesters(""), 3);
        assert_eq!(
            requesters("[principal_roles]\na = \"etl\"\nb = \"etl\"\n"),
            2
        );
        let arn = "arn:aws:iam::111122223333:role/etl";
        let aws = format!(
            "[target]\nkind = \"aws\"\nregion = \"us-east-1\"\n\
             [target.principals.a]\nrole_arn = \"{arn}\"\n\
             [target.principals.b]\nrole_arn = \"{arn}\"\n\
             [target.principals.c]\nprofile = \"other\"\n"
        );
        assert_eq!(requesters(&aws), 2);
        let session = "[simulator]\nbucket_key_requester = \"session\"\n[principal_roles]\na = \"etl\"\nb = \"etl\"\n";
        assert_eq!(requesters(session), 3);
    }

    #[test]
    fn a_role_for_an_unknown_principal_is_refused() {
        let e = parse(
            Path::new("r.toml"),
            &format!("{BASE}[principal_roles]\nzed = \"etl\"\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("principal_roles.zed")
                && e.contains("no stream has a principal named \"zed\""),
            "{e}"
        );
    }
}
