//! The KMS key of the KMS modes: found (alias, id or ARN), created under an alias on a
//! simulator endpoint, or created for one run with `--create-key` and scheduled for
//! deletion at its end. A real target never gets a key made silently.

use super::{RUN_TAG, Target};
use crate::error::{Context as _, Error, Result};

pub use crate::results::summary::CreatedKey;

/// The key of the KMS modes as a run names it.
pub(super) enum KeyRef<'a> {
    /// An alias on a simulator endpoint: a key is made under it when missing.
    Alias(&'a str),
    /// A key on AWS (alias, id or ARN): it must exist and be enabled.
    Existing {
        /// The reference.
        key: &'a str,
        /// The region, for messages.
        region: &'a str,
    },
}

impl Target {
    /// Settles the run's KMS key through `admin`: a new key with `--create-key`, else
    /// the named one (`None` when no mode uses KMS). `admin` later retires a created key.
    pub(super) async fn settle_key(
        &mut self,
        admin: aws_sdk_kms::Client,
        key: Option<KeyRef<'_>>,
        create: bool,
        run_id: &str,
    ) -> Result<()> {
        if let Some(key) = key {
            let arn = if create {
                let arn = create_run_key(&admin, run_id).await?;
                self.created_key = Some(arn.clone());
                arn
            } else {
                match key {
                    KeyRef::Alias(alias) => ensure_key(&admin, alias).await?,
                    KeyRef::Existing { key, region } => existing_key(&admin, key, region).await?,
                }
            };
            self.kms_key_arn = Some(arn);
        }
        self.key_admin = Some(admin);
        Ok(())
    }
}

/// The window of a scheduled key deletion: 7 days, the minimum KMS allows.
pub const KEY_DELETION_DAYS: i32 = 7;

impl Target {
    /// Schedules the deletion of the key `--create-key` made (unless `keep`: objects kept
    /// with `--keep` stay readable), and says so loudly.
    pub async fn retire_key(&self, keep: bool) -> Option<CreatedKey> {
        let arn = self.created_key.clone()?;
        let fate = if keep {
            format!(
                "kept (--keep): schedule its deletion with: aws kms schedule-key-deletion --key-id {arn} --pending-window-in-days {KEY_DELETION_DAYS}"
            )
        } else {
            match &self.key_admin {
                Some(kms) => match kms
                    .schedule_key_deletion()
                    .key_id(&arn)
                    .pending_window_in_days(KEY_DELETION_DAYS)
                    .send()
                    .await
                {
                    Ok(out) => format!(
                        "scheduled for deletion on {}",
                        out.deletion_date()
                            .and_then(|d| d.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                            .unwrap_or_else(|| format!("in {KEY_DELETION_DAYS} days"))
                    ),
                    Err(e) => format!(
                        "NOT scheduled for deletion ({}): run aws kms schedule-key-deletion --key-id {arn} --pending-window-in-days {KEY_DELETION_DAYS}",
                        crate::sdk_error::describe(&e)
                    ),
                },
                None => "NOT scheduled for deletion (no KMS client)".into(),
            }
        };
        eprintln!("KMS KEY {arn} created by this run: {fate}");
        Some(CreatedKey { arn, fate })
    }
}

/// The ARN of `alias`, creating a key under it when the alias does not exist yet.
async fn ensure_key(kms: &aws_sdk_kms::Client, alias: &str) -> Result<String> {
    if let Ok(d) = kms.describe_key().key_id(alias).send().await
        && let Some(arn) = d.key_metadata.and_then(|m| m.arn)
    {
        return Ok(arn);
    }
    let meta = kms
        .create_key()
        .description("sse-bench run key")
        .send()
        .await
        .context("creating the KMS key")?
        .key_metadata
        .context("CreateKey returned no metadata")?;
    match kms
        .create_alias()
        .alias_name(alias)
        .target_key_id(meta.key_id())
        .send()
        .await
    {
        Ok(_) => meta.arn.context("CreateKey returned no ARN"),
        // Another worker (a shard started at the same moment) made the alias first: use its key.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_already_exists_exception()) =>
        {
            kms.describe_key()
                .key_id(alias)
                .send()
                .await
                .context("reading the key alias another worker created")?
                .key_metadata
                .and_then(|m| m.arn)
                .context("DescribeKey returned no ARN")
        }
        Err(e) => Err(crate::sdk_error::failure(e)).context("creating the key alias"),
    }
}

/// `--create-key`: a symmetric key tagged with the run id.
async fn create_run_key(kms: &aws_sdk_kms::Client, run_id: &str) -> Result<String> {
    let meta = kms
        .create_key()
        .description(format!(
            "sse-bench run {run_id}: created for one benchmark run, deletion scheduled at its end"
        ))
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(RUN_TAG)
                .tag_value(run_id)
                .build()
                .context("building the request")?,
        )
        .send()
        .await
        .map_err(crate::sdk_error::failure)
        .context("--create-key: creating the KMS key")?
        .key_metadata
        .context("CreateKey returned no metadata")?;
    meta.arn.context("CreateKey returned no ARN")
}

/// The ARN of an existing key (alias, id or ARN); a real target never gets a key made
/// silently.
async fn existing_key(kms: &aws_sdk_kms::Client, key: &str, region: &str) -> Result<String> {
    let d = kms.describe_key().key_id(key).send().await.map_err(|e| {
        Error::failure(format!("KMS key {key} in {region}: {}; pass --kms-key ALIAS|ARN of a key you may use, or --create-key",
            crate::sdk_error::describe(&e)))
    })?;
    let meta = d.key_metadata.context("DescribeKey returned no metadata")?;
    if let Some(state) = meta.key_state()
        && state.as_str() != "Enabled"
    {
        return Err(Error::failure(format!(
            "KMS key {key} is {}: it cannot encrypt",
            state.as_str()
        )));
    }
    meta.arn.context("DescribeKey returned no ARN")
}
