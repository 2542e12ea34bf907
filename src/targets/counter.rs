//! Where a target's exact KMS counts come from: one interface, two implementations.
//! The in-process simulator is read directly; an `sse-bench serve` elsewhere is read
//! over its admin endpoint (`/_sim/stats`, the same snapshot document). Both hand the
//! harness its own count types ([`crate::kms::counts`]). Other targets count nothing.

use crate::error::{Context as _, Error, Result};
use crate::kms::counts::{KmsCalls, KmsSnapshot, SecondCount, Via};
pub use crate::results::record::CounterScope;
use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use sse_sim::{SimStats, Simulator};
use std::time::Duration;

/// A target's KMS counters.
#[async_trait::async_trait]
pub trait KmsCounter: Send + Sync {
    /// Cumulative counts now.
    async fn snapshot(&self) -> Result<KmsSnapshot>;
    /// Cumulative (served, throttled) calls, cheaply, for the once-a-second column; `None`
    /// where a reading costs a request.
    fn totals(&self) -> Option<(u64, u64)>;
    /// The KMS quota in force, requests per second.
    fn quota(&self) -> Option<u64>;
    /// Whose counts these are.
    fn scope(&self) -> CounterScope;
}

/// The harness's view of the simulator's snapshot.
fn kms_snapshot(s: SimStats) -> KmsSnapshot {
    KmsSnapshot {
        calls: s
            .kms
            .calls
            .into_iter()
            .map(|c| KmsCalls {
                via: match c.via {
                    sse_sim::Via::S3 => Via::S3,
                    sse_sim::Via::Direct => Via::Direct,
                },
                api: c.api,
                key_arn: c.key_arn,
                requester: c.requester,
                bucket: c.bucket,
                count: c.count,
                throttled: c.throttled,
            })
            .collect(),
        per_second: s
            .kms
            .per_second
            .into_iter()
            .map(|p| SecondCount {
                second: p.second,
                calls: p.calls,
                throttled: p.throttled,
                by_bucket: p.by_bucket,
            })
            .collect(),
    }
}

/// The in-process simulator of an embedded run.
pub struct InProcess(pub Simulator);

#[async_trait::async_trait]
impl KmsCounter for InProcess {
    async fn snapshot(&self) -> Result<KmsSnapshot> {
        Ok(kms_snapshot(self.0.stats()))
    }

    fn totals(&self) -> Option<(u64, u64)> {
        Some(self.0.kms_totals())
    }

    fn quota(&self) -> Option<u64> {
        Some(self.0.kms_quota())
    }

    fn scope(&self) -> CounterScope {
        CounterScope::Own
    }
}

/// An `sse-bench serve` simulator read over its admin endpoint (loopback HTTP).
pub struct AdminEndpoint {
    base: String,
    quota: Option<u64>,
    client: Client<HttpConnector, http_body_util::Empty<bytes::Bytes>>,
}

impl AdminEndpoint {
    /// Connects to `url` (`http://host:port`, `.../_sim` or `.../_sim/stats`) and reads
    /// the simulator's configuration, so a wrong URL fails before anything is created.
    pub async fn connect(url: &str) -> Result<AdminEndpoint> {
        let u = url.trim_end_matches('/');
        let u = u.strip_suffix("/stats").unwrap_or(u);
        let base = if u.ends_with("/_sim") {
            u.to_owned()
        } else {
            format!("{u}/_sim")
        };
        if !base.starts_with("http://") {
            return Err(Error::failure(format!(
                "the admin endpoint must be an http:// URL, got {url}"
            )));
        }
        let mut e = AdminEndpoint {
            base,
            quota: None,
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        let config: serde_json::Value = serde_json::from_slice(&e.get("config").await?)
            .with_context(|| format!("{}/config: not the simulator's configuration", e.base))?;
        e.quota = config["kms_quota_rps"].as_u64();
        Ok(e)
    }

    /// The body of a 200 answer to `GET <base>/<path>`.
    async fn get(&self, path: &str) -> Result<bytes::Bytes> {
        let url = format!("{}/{path}", self.base);
        let uri: http::Uri = url.parse().with_context(|| format!("{url}: not a URL"))?;
        let resp = tokio::time::timeout(Duration::from_secs(30), self.client.get(uri))
            .await
            .with_context(|| format!("GET {url}: no answer within 30 s"))?
            .with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let body = resp
            .into_body()
            .collect()
            .await
            .with_context(|| format!("GET {url}: reading the body"))?
            .to_bytes();
        if !status.is_success() {
            return Err(Error::failure(format!(
                "GET {url}: HTTP {}",
                status.as_u16()
            )));
        }
        Ok(body)
    }
}

#[async_trait::async_trait]
impl KmsCounter for AdminEndpoint {
    async fn snapshot(&self) -> Result<KmsSnapshot> {
        let body = self.get("stats").await?;
        let stats: SimStats = serde_json::from_slice(&body)
            .with_context(|| format!("{}/stats: unreadable stats", self.base))?;
        Ok(kms_snapshot(stats))
    }

    fn totals(&self) -> Option<(u64, u64)> {
        None
    }

    fn quota(&self) -> Option<u64> {
        self.quota
    }

    fn scope(&self) -> CounterScope {
        CounterScope::Shared
    }
}
