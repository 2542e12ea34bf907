//! Finding `sse-bench serve` behind an endpoint URL: its S3 port answers an unsigned
//! `GET /_sim/endpoints` with the port of its KMS and admin endpoint, so
//! `--target http://host:port` needs nothing else. Any other server answers that
//! path with an error (no bucket may be named `_sim`), and nothing changes.

use http_body_util::BodyExt as _;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

/// What an `sse-bench serve` S3 endpoint says about itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    /// Its KMS endpoint, on the host the S3 URL names.
    pub kms_endpoint: String,
    /// Its admin endpoint (exact KMS counts).
    pub admin_endpoint: String,
    /// The region it claims.
    pub region: String,
}

/// Asks `s3_url` whether it is `sse-bench serve`; `None` for any other server, or no
/// answer within 3 s.
pub async fn discover(s3_url: &str) -> Option<Discovered> {
    let base: http::Uri = s3_url.parse().ok()?;
    if base.scheme_str() != Some("http") {
        return None;
    }
    let host = base.host()?;
    let uri: http::Uri = format!("{}/_sim/endpoints", s3_url.trim_end_matches('/'))
        .parse()
        .ok()?;
    let client =
        Client::builder(TokioExecutor::new()).build_http::<http_body_util::Empty<bytes::Bytes>>();
    let resp = tokio::time::timeout(Duration::from_secs(3), client.get(uri))
        .await
        .ok()?
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let body = tokio::time::timeout(Duration::from_secs(3), resp.into_body().collect())
        .await
        .ok()?
        .ok()?
        .to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    if v["server"] != "sse-bench serve" {
        return None;
    }
    let port = u16::try_from(v["kms_port"].as_u64()?).ok()?;
    // An IPv6 host keeps (or gets) its brackets.
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let kms_endpoint = format!("http://{host}:{port}");
    Some(Discovered {
        admin_endpoint: format!("{kms_endpoint}/_sim"),
        kms_endpoint,
        region: v["region"].as_str()?.to_owned(),
    })
}
