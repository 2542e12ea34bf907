//! How a run may use a real target, from `run`'s flags: credentials profile, region,
//! KMS key or `--create-key`, existing buckets (`--bucket`) under a key prefix.

use super::TargetSpec;
use crate::error::Error;

/// How to reach a real target, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct AccessOptions {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--kms-key`.
    pub kms_key: Option<String>,
    /// `--create-key`.
    pub create_key: bool,
    /// `--bucket [ROLE=]NAME`, repeatable.
    pub buckets: Vec<String>,
    /// `--key-prefix`.
    pub key_prefix: Option<String>,
    /// `--sim-logs DIR`: the embedded simulator's access logs and CloudTrail files.
    pub sim_logs: Option<std::path::PathBuf>,
}

impl AccessOptions {
    /// Only a profile and a region: how `merge`, `compare --history` and `forecast`
    /// reach s3:// locations.
    pub fn profile_region(profile: Option<String>, region: Option<String>) -> Self {
        AccessOptions {
            profile,
            region,
            ..Default::default()
        }
    }

    /// Checks the flags against the target: what the target module works with.
    pub fn resolve(&self, spec: &TargetSpec) -> Result<Access, Error> {
        let reuse = Access::parse_buckets(&self.buckets)?;
        if *spec == TargetSpec::Embedded
            && (!reuse.is_empty()
                || self.create_key
                || self.key_prefix.is_some()
                || self.profile.is_some()
                || self.kms_key.is_some())
        {
            return Err(Error::Usage(
                "--bucket, --key-prefix, --create-key, --kms-key and --profile apply to endpoint and aws targets; the embedded simulator makes its own buckets, key and credentials".into(),
            ));
        }
        if self.sim_logs.is_some() && *spec != TargetSpec::Embedded {
            return Err(Error::Usage(
                "--sim-logs applies to the embedded target (for `sse-bench serve`, pass --logs to serve)".into(),
            ));
        }
        if self.key_prefix.is_some() && reuse.is_empty() {
            return Err(Error::Usage(
                "--key-prefix applies with --bucket (existing buckets)".into(),
            ));
        }
        if self.create_key && self.kms_key.is_some() {
            return Err(Error::Usage(
                "give --kms-key or --create-key, not both".into(),
            ));
        }
        Ok(Access {
            profile: self.profile.clone(),
            region: self.region.clone(),
            kms_key: self.kms_key.clone(),
            create_key: self.create_key,
            reuse,
            key_prefix: self.key_prefix.clone(),
            sim_logs: self.sim_logs.clone(),
        })
    }
}

/// How to reach and use a real target, from the command line (`run`'s flags).
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// `--profile`: the shared-config profile of the default credentials.
    pub profile: Option<String>,
    /// `--region` (over `[target] region` and the chain's region).
    pub region: Option<String>,
    /// `--kms-key ALIAS|ARN` (over `[target] kms_key`).
    pub kms_key: Option<String>,
    /// `--create-key`: create a key tagged for the run, schedule its deletion at the end.
    pub create_key: bool,
    /// `--bucket [ROLE=]NAME`: existing buckets to use under a run prefix (no role: every role).
    pub reuse: Vec<(Option<String>, String)>,
    /// `--key-prefix`: the prefix in reused buckets (default `sse-bench-<run id>/`).
    pub key_prefix: Option<String>,
    /// `--sim-logs`: where the embedded simulator writes logs of its traffic.
    pub sim_logs: Option<std::path::PathBuf>,
}

impl Access {
    /// Parses `--bucket` values: `NAME` (every bucket role) or `ROLE=NAME`.
    pub fn parse_buckets(values: &[String]) -> Result<Vec<(Option<String>, String)>, Error> {
        values
            .iter()
            .map(|v| {
                let (role, name) = match v.split_once('=') {
                    Some((r, n)) => (Some(r.trim().to_owned()), n.trim()),
                    None => (None, v.trim()),
                };
                let ok = (3..=63).contains(&name.len())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-".contains(c));
                if ok {
                    Ok((role, name.to_owned()))
                } else {
                    Err(Error::usage(format!(
                        "--bucket: expected NAME or ROLE=NAME with a valid bucket name (3-63 of a-z 0-9 . -), got {v:?}"
                    )))
                }
            })
            .collect()
    }

    /// Refuses a `--bucket ROLE=NAME` whose role the scenario does not have.
    pub fn check_roles(&self, roles: &[String]) -> Result<(), Error> {
        for (role, _) in &self.reuse {
            if let Some(r) = role
                && !roles.contains(r)
            {
                return Err(Error::usage(format!(
                    "--bucket {r}=...: the scenario has no bucket role {r:?} (its roles: {})",
                    roles.join(", ")
                )));
            }
        }
        Ok(())
    }

    /// The reused bucket of a bucket role: its own `--bucket ROLE=NAME`, else `--bucket NAME`.
    pub fn bucket_for(&self, role: &str) -> Option<&str> {
        self.reuse
            .iter()
            .find(|(r, _)| r.as_deref() == Some(role))
            .or_else(|| self.reuse.iter().find(|(r, _)| r.is_none()))
            .map(|(_, n)| n.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_flags_name_a_bucket_for_every_role_or_one() {
        assert_eq!(
            Access::parse_buckets(&["team-bench".into(), "logs=log.bucket-1".into()]).unwrap(),
            vec![
                (None, "team-bench".to_owned()),
                (Some("logs".to_owned()), "log.bucket-1".to_owned())
            ]
        );
        for bad in ["Upper", "ab", "under_score", "role=", &"x".repeat(64)] {
            let e = Access::parse_buckets(&[bad.to_owned()]).unwrap_err();
            assert!(e.to_string().contains("--bucket"), "{bad}: {e}");
        }
    }
}
