//! Taking back what a run created on a real target: its own buckets (each only after
//! its `sse-bench:run` tag is checked) and, in reused buckets, only the objects under
//! the run's key prefix. Whatever stays is reported with the command that removes it.

use super::{RUN_TAG, Target};
use crate::error::{Context as _, Error, Result};

impl Target {
    /// Deletes what the run created: its buckets (objects first), each only after checking
    /// its `sse-bench:run` tag, so a bucket without this run's tag is never touched; in
    /// reused buckets, only the objects under the run prefix. Returns what is left behind,
    /// with why and the command that removes it.
    pub async fn cleanup(&self, run_id: &str) -> Vec<LeftBehind> {
        let mut left = Vec::new();
        let Some(s3) = self.clients.first() else {
            return left;
        };
        for name in &self.created {
            if let Err(why) = delete_run_bucket(s3, name, run_id).await {
                left.push(LeftBehind {
                    what: format!("bucket {name}"),
                    why: why.to_string(),
                    remove: format!("aws s3 rb s3://{name} --force"),
                });
            }
        }
        if !self.key_prefix.is_empty() {
            for name in &self.bucket_names() {
                if let Err(why) = delete_under(s3, name, &self.key_prefix).await {
                    left.push(LeftBehind {
                        what: format!("objects in s3://{name}/{}", self.key_prefix),
                        why: why.to_string(),
                        remove: format!("aws s3 rm s3://{name}/{} --recursive", self.key_prefix),
                    });
                }
            }
        }
        left
    }

    /// Writes out the embedded simulator's logs (`--sim-logs`) at the end of a run.
    pub fn flush_sim_logs(&self) {
        if let Some(sim) = &self.sim
            && let Err(e) = sim.flush_logs()
        {
            tracing::warn!("writing the simulator's logs: {e}");
        }
    }
}

/// Something a run created and did not remove.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeftBehind {
    /// "bucket NAME" or "objects in s3://NAME/PREFIX".
    pub what: String,
    /// Why it is still there.
    pub why: String,
    /// The command that removes it.
    pub remove: String,
}

/// Deletes the objects under `prefix` (never anything else: every key is checked).
async fn delete_under(s3: &aws_sdk_s3::Client, name: &str, prefix: &str) -> Result<()> {
    if prefix.is_empty() {
        return Err(Error::failure("no run prefix: nothing deleted"));
    }
    delete_objects(s3, name, Some(prefix)).await
}

/// Deletes one bucket the run created, if its tag says so.
async fn delete_run_bucket(s3: &aws_sdk_s3::Client, name: &str, run_id: &str) -> Result<()> {
    let tags = s3
        .get_bucket_tagging()
        .bucket(name)
        .send()
        .await
        .map_err(crate::sdk_error::failure)
        .context("cannot read its tags")?;
    let ours = tags
        .tag_set()
        .iter()
        .any(|t| t.key() == RUN_TAG && t.value() == run_id);
    if !ours {
        return Err(Error::failure(format!(
            "not tagged {RUN_TAG}={run_id}: not this run's bucket, left alone"
        )));
    }
    delete_objects(s3, name, None).await?;
    s3.delete_bucket()
        .bucket(name)
        .send()
        .await
        .map_err(crate::sdk_error::failure)
        .context("deleting the bucket")?;
    Ok(())
}

/// Deletes every object of a bucket, or those under `prefix`.
async fn delete_objects(s3: &aws_sdk_s3::Client, name: &str, prefix: Option<&str>) -> Result<()> {
    let mut token: Option<String> = None;
    // Bounded: a run writes at most its key space per stream.
    for _ in 0..100_000 {
        let page = s3
            .list_objects_v2()
            .bucket(name)
            .set_prefix(prefix.map(str::to_owned))
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(crate::sdk_error::failure)
            .context("listing objects")?;
        let ids: Vec<aws_sdk_s3::types::ObjectIdentifier> = page
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .filter(|k| prefix.is_none_or(|p| k.starts_with(p)))
            .filter_map(|k| {
                aws_sdk_s3::types::ObjectIdentifier::builder()
                    .key(k)
                    .build()
                    .ok()
            })
            .collect();
        if !ids.is_empty() {
            let delete = aws_sdk_s3::types::Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .context("building the delete request")?;
            s3.delete_objects()
                .bucket(name)
                .delete(delete)
                .send()
                .await
                .map_err(crate::sdk_error::failure)
                .context("deleting objects")?;
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok(())
}
