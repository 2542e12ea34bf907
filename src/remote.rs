//! Results directories in S3 (`--out s3://bucket/prefix/`, `merge s3://...`), so workers
//! in a cluster need no shared disk. The client is aws-sdk-s3 through aws-config's
//! standard chain (`--profile`, `--region`, `AWS_ENDPOINT_URL[_S3]` honoured).

use crate::error::{Context as _, Error, Result};
use crate::targets::AccessOptions;
use aws_sdk_s3::primitives::ByteStream;
use std::path::{Path, PathBuf};

/// `s3://bucket/prefix/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Url {
    /// Bucket.
    pub bucket: String,
    /// Key prefix: empty or ending in `/`.
    pub prefix: String,
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

impl S3Url {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(s: &str) -> Result<S3Url> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| Error::usage(format!("{s:?}: expected s3://bucket/prefix/")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.len() < 3 || bucket.contains(char::is_whitespace) {
            return Err(Error::usage(format!(
                "{s:?}: expected s3://bucket/prefix/ with a bucket name"
            )));
        }
        let prefix = prefix.trim_start_matches('/');
        Ok(S3Url {
            bucket: bucket.to_owned(),
            prefix: if prefix.is_empty() || prefix.ends_with('/') {
                prefix.to_owned()
            } else {
                format!("{prefix}/")
            },
        })
    }
}

async fn client(access: &AccessOptions) -> aws_sdk_s3::Client {
    let base = crate::targets::aws::load(
        access.profile.as_deref(),
        Some(access.region.as_deref().unwrap_or("us-east-1")),
    )
    .await;
    let path_style = crate::targets::aws::custom_s3_endpoint(&base);
    crate::targets::aws::s3_client(
        &base,
        crate::targets::RetryPolicy::Standard,
        std::time::Duration::from_secs(60),
        path_style,
    )
}

fn files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            out.extend(files(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

/// Uploads a results directory; `summary.json` goes last, so its presence marks a
/// complete upload as it marks a complete directory.
pub async fn upload_dir(dir: &Path, url: &S3Url, access: &AccessOptions) -> Result<()> {
    let s3 = client(access).await;
    let mut all = files(dir).with_context(|| format!("reading {}", dir.display()))?;
    all.sort_by_key(|p| p.file_name().is_some_and(|n| n == "summary.json"));
    for p in all {
        let rel = p
            .strip_prefix(dir)
            .context("a file outside the results directory")?
            .to_string_lossy()
            .replace('\\', "/");
        let body = ByteStream::from_path(&p)
            .await
            .with_context(|| format!("reading {}", p.display()))?;
        put_object(&s3, url, &rel, body).await?;
    }
    Ok(())
}

/// Writes `body` as `rel` under the prefix of `url`.
async fn put_object(
    s3: &aws_sdk_s3::Client,
    url: &S3Url,
    rel: &str,
    body: ByteStream,
) -> Result<()> {
    let key = format!("{}{rel}", url.prefix);
    s3.put_object()
        .bucket(&url.bucket)
        .key(&key)
        .body(body)
        .send()
        .await
        .map_err(crate::sdk_error::failure)
        .with_context(|| format!("uploading s3://{}/{key}", url.bucket))?;
    Ok(())
}

/// Writes one object, `rel` under the prefix of `url`.
pub async fn put(url: &S3Url, rel: &str, body: Vec<u8>, access: &AccessOptions) -> Result<()> {
    put_object(&client(access).await, url, rel, ByteStream::from(body)).await
}

/// Downloads everything under `url` into `into` (keys relative to the prefix); refuses
/// keys that would leave `into`. Returns how many objects it wrote.
pub async fn download(url: &S3Url, access: &AccessOptions, into: &Path) -> Result<usize> {
    download_where(url, access, into, &|_| true)
        .await
        .map(|(n, _)| n)
}

/// [`download`], of the keys `keep` accepts; returns the objects downloaded and the
/// objects left out.
pub async fn download_where(
    url: &S3Url,
    access: &AccessOptions,
    into: &Path,
    keep: &(dyn Fn(&str) -> bool + Sync),
) -> Result<(usize, usize)> {
    let s3 = client(access).await;
    let mut token: Option<String> = None;
    let mut n = 0usize;
    let mut skipped = 0usize;
    // Bounded: at most 10,000 pages of 1,000 keys.
    for _ in 0..10_000 {
        let page = s3
            .list_objects_v2()
            .bucket(&url.bucket)
            .prefix(&url.prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(crate::sdk_error::failure)
            .with_context(|| format!("listing {url}"))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            let rel = key.strip_prefix(&url.prefix).unwrap_or(key);
            if rel.is_empty()
                || rel.ends_with('/')
                || rel.split('/').any(|c| c == ".." || c.is_empty())
            {
                continue;
            }
            if !keep(key) {
                skipped += 1;
                continue;
            }
            let dest = into.join(rel);
            if let Some(parent) = dest.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            let body = s3
                .get_object()
                .bucket(&url.bucket)
                .key(key)
                .send()
                .await
                .map_err(crate::sdk_error::failure)
                .with_context(|| format!("downloading s3://{}/{key}", url.bucket))?
                .body
                .collect()
                .await
                .with_context(|| format!("downloading s3://{}/{key}", url.bucket))?
                .into_bytes();
            std::fs::write(&dest, &body).with_context(|| format!("writing {}", dest.display()))?;
            n += 1;
        }
        token = page.next_continuation_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    Ok((n, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_with_a_normalised_prefix() {
        assert_eq!(
            S3Url::parse("s3://results/runs/nightly/shard-0").unwrap(),
            S3Url {
                bucket: "results".into(),
                prefix: "runs/nightly/shard-0/".into()
            }
        );
        assert_eq!(S3Url::parse("s3://results").unwrap().prefix, "");
        assert!(S3Url::parse("results/x").is_err());
        assert!(S3Url::parse("s3:///x").is_err());
    }
}
