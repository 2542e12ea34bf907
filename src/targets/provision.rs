//! Making a run's buckets ready: one bucket per (mode, bucket role), created and tagged
//! first, then its default encryption and a one-day expiry rule; or, with `--bucket`,
//! existing buckets checked under a fresh key prefix. Then the capability probe.

use super::{Access, RUN_TAG, Target, TargetSpec, bucket_name, capabilities};
use crate::error::{Context as _, Error, Result};
use crate::scenario::Mode;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, ServerSideEncryption, ServerSideEncryptionByDefault,
    ServerSideEncryptionConfiguration, ServerSideEncryptionRule, Tag, Tagging,
};
use std::collections::BTreeMap;

impl Target {
    /// Makes the buckets ready: creates and configures one bucket per (mode, role), tagged
    /// with the run id, or, with `--bucket`, checks the existing buckets and the run prefix.
    /// Returns the modes the target refused to configure, with its answer.
    pub async fn provision(
        &mut self,
        modes: &[Mode],
        roles: &[String],
        prefix: &str,
        run_id: &str,
        access: &Access,
    ) -> Result<BTreeMap<Mode, String>> {
        if !access.reuse.is_empty() {
            self.reuse(modes, roles, run_id, access).await?;
            return Ok(BTreeMap::new());
        }
        let mut refused = BTreeMap::new();
        let s3 = self.clients.first().context("no client")?.clone();
        for &mode in modes {
            for role in roles {
                let name = bucket_name(prefix, run_id, mode, role);
                let mut create = s3.create_bucket().bucket(&name);
                // Outside us-east-1, AWS wants the region in the request body.
                if self.spec == TargetSpec::Aws && self.region != "us-east-1" {
                    create = create.create_bucket_configuration(
                        aws_sdk_s3::types::CreateBucketConfiguration::builder()
                            .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(
                                self.region.as_str(),
                            ))
                            .build(),
                    );
                }
                create
                    .send()
                    .await
                    .map_err(crate::sdk_error::failure)
                    .with_context(|| format!("creating bucket {name}"))?;
                // Recorded at once and tagged first, so cleanup finds it whatever fails next.
                self.created.insert(name.clone());
                self.buckets.insert((mode, role.clone()), name.clone());
                let tags = Tagging::builder()
                    .tag_set(
                        Tag::builder()
                            .key(RUN_TAG)
                            .value(run_id)
                            .build()
                            .context("building the request")?,
                    )
                    .build()
                    .context("building the request")?;
                s3.put_bucket_tagging()
                    .bucket(&name)
                    .tagging(tags)
                    .send()
                    .await
                    .map_err(crate::sdk_error::failure)
                    .with_context(|| format!("tagging {name}"))?;
                let mut by_default = ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(ServerSideEncryption::from(mode.algorithm()));
                if mode.uses_kms() {
                    by_default = by_default.set_kms_master_key_id(self.kms_key_arn.clone());
                }
                let rule = ServerSideEncryptionRule::builder()
                    .apply_server_side_encryption_by_default(
                        by_default.build().context("building the request")?,
                    )
                    .bucket_key_enabled(mode.bucket_key())
                    .build();
                // A target that cannot configure a mode (no KMS, no DSSE) loses that mode, not the run.
                if let Err(e) = s3
                    .put_bucket_encryption()
                    .bucket(&name)
                    .server_side_encryption_configuration(
                        ServerSideEncryptionConfiguration::builder()
                            .rules(rule)
                            .build()
                            .context("building the request")?,
                    )
                    .send()
                    .await
                {
                    refused.entry(mode).or_insert_with(|| {
                        format!(
                            "the target refused the bucket's default encryption: {}",
                            crate::sdk_error::describe(&e)
                        )
                    });
                }
                // A safety net for whatever cleanup misses: objects expire after a day.
                let rule = LifecycleRule::builder()
                    .id("sse-bench-expire")
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("").build())
                    .expiration(LifecycleExpiration::builder().days(1).build())
                    .build()
                    .context("building the request")?;
                if let Err(e) = s3
                    .put_bucket_lifecycle_configuration()
                    .bucket(&name)
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .rules(rule)
                            .build()
                            .context("building the request")?,
                    )
                    .send()
                    .await
                {
                    tracing::warn!(
                        "{name}: no expiry lifecycle rule (the endpoint refused it): {}",
                        crate::sdk_error::describe(&e)
                    );
                }
            }
        }
        Ok(refused)
    }

    /// `--bucket`: existing buckets, used under a run prefix they must not have objects under.
    /// Their configuration is never changed; writes carry the mode's encryption headers.
    async fn reuse(
        &mut self,
        modes: &[Mode],
        roles: &[String],
        run_id: &str,
        access: &Access,
    ) -> Result<()> {
        access.check_roles(roles)?;
        let prefix = match &access.key_prefix {
            Some(p) => {
                let p = p.trim_start_matches('/');
                if p.is_empty() {
                    return Err(Error::usage(
                        "--key-prefix must not be empty: the run deletes what is under it",
                    ));
                }
                if p.ends_with('/') {
                    p.to_owned()
                } else {
                    format!("{p}/")
                }
            }
            None => format!("sse-bench-{run_id}/"),
        };
        let s3 = self.clients.first().context("no client")?.clone();
        for role in roles {
            let name = access
                .bucket_for(role)
                .map(str::to_owned)
                .with_context(|| {
                    format!("no --bucket for the bucket role {role:?} (give --bucket NAME or --bucket {role}=NAME)")
                })?;
            for &mode in modes {
                self.buckets.insert((mode, role.clone()), name.clone());
            }
        }
        for name in &self.bucket_names() {
            s3.head_bucket()
                .bucket(name)
                .send()
                .await
                .map_err(crate::sdk_error::failure)
                .with_context(|| format!("--bucket {name}: not reachable"))?;
            let page = s3
                .list_objects_v2()
                .bucket(name)
                .prefix(&prefix)
                .max_keys(1)
                .send()
                .await
                .map_err(crate::sdk_error::failure)
                .with_context(|| format!("--bucket {name}: listing {prefix}"))?;
            if !page.contents().is_empty() {
                return Err(Error::failure(format!(
                    "--bucket {name} already has objects under {prefix}: refusing to write (and later delete) there; choose another --key-prefix"
                )));
            }
        }
        self.key_prefix = prefix;
        Ok(())
    }

    /// Probes what the target honours: one small PUT per mode (skipped on the simulator,
    /// in-process or behind an admin endpoint, which honours every mode). Returns the
    /// modes to skip, with why.
    pub async fn probe(&self, modes: &[Mode], roles: &[String]) -> BTreeMap<Mode, String> {
        let mut skip = BTreeMap::new();
        if self.kms_measured() {
            return skip;
        }
        let (Some(s3), Some(role)) = (self.clients.first(), roles.first()) else {
            return skip;
        };
        for &mode in modes {
            let Some(bucket) = self.buckets.get(&(mode, role.clone())) else {
                continue;
            };
            let key = format!("{}_sse-bench-probe/{mode}", self.key_prefix);
            let sse = self.sse_for(mode);
            let why = match capabilities::probe(s3, bucket, &key, sse.as_ref()).await {
                Ok(answer) => capabilities::mismatch(mode, &answer),
                Err(e) => Some(e.to_string()),
            };
            if let Some(why) = why {
                skip.insert(mode, why);
            }
        }
        skip
    }
}
