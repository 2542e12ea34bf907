//! The admin endpoint (`/_sim/` on the KMS port): the stats snapshot as JSON and
//! Prometheus text, the configuration in force, and switches for tests and scripts.
//! Read-only for counters except `reset`; it never exposes secrets. The S3 port
//! answers `GET /_sim/endpoints` with this port, so clients can find it (`server.rs`).

use crate::SimState;
use crate::respond::json_response;
use http::Response;
use std::sync::Arc;

/// A query parameter, percent-decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Answers `/_sim/<path>`: stats (JSON), metrics (Prometheus), config, and the
/// switches tests and scripts use (reset, quota, corrupt).
pub(crate) fn handle(
    path: &str,
    method: &str,
    query: &str,
    state: &Arc<SimState>,
) -> Response<s3s::Body> {
    let ok =
        |v: serde_json::Value| json_response(200, v.to_string().into_bytes(), "application/json");
    match (method, path) {
        ("GET", "stats") => {
            let s = state.accounting.snapshot();
            json_response(200, serde_json::to_vec(&s).unwrap_or_default(), "application/json")
        }
        ("GET", "metrics") => json_response(200, state.accounting.snapshot().to_prometheus().into_bytes(), "text/plain; version=0.0.4"),
        ("GET", "config") => {
            let c = &state.config;
            ok(serde_json::json!({
                "region": c.region,
                "kms_quota_rps": state.kms.quota.limit(),
                "bucket_key_lifetime": c.bucket_key_lifetime.to_string(),
                "s3_latency": c.s3_latency,
                "kms_latency": c.kms_latency,
                "faults": c.faults,
                "requesters": c.all_credentials().iter().map(|c| c.access_key_id.clone()).collect::<Vec<_>>(),
            }))
        }
        ("POST", "reset") => {
            state.accounting.reset();
            ok(serde_json::json!({"reset": true}))
        }
        ("POST", "quota") => match query_param(query, "rps").and_then(|v| v.parse::<u64>().ok()) {
            Some(rps) => {
                state.kms.quota.set_limit(rps);
                ok(serde_json::json!({"kms_quota_rps": rps}))
            }
            None => json_response(400, b"{\"error\":\"expected ?rps=N\"}".to_vec(), "application/json"),
        },
        ("POST", "corrupt") => match (query_param(query, "bucket"), query_param(query, "key")) {
            (Some(b), Some(k)) if state.store.corrupt(&b, &k) => ok(serde_json::json!({"corrupted": format!("{b}/{k}")})),
            _ => json_response(404, b"{\"error\":\"no such object\"}".to_vec(), "application/json"),
        },
        _ => json_response(404, b"{\"error\":\"unknown admin path; try GET /_sim/stats, /_sim/metrics, /_sim/config, POST /_sim/reset, /_sim/quota?rps=N, /_sim/corrupt?bucket=B&key=K\"}".to_vec(), "application/json"),
    }
}
