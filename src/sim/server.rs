//! HTTP front ends: the S3 port (s3s behind the latency and fault model) and the
//! KMS port (awsJson1_1, plus the admin endpoint under `/_sim/`).

use super::SimState;
use super::accounting::Caller;
use super::faults::S3Fault;
use super::kms::KmsError;
use super::sigv4::{self, AuthFailure};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use s3s::auth::{S3Auth, SecretKey};
use s3s::service::{S3Service, S3ServiceBuilder};
use s3s::{S3Result, s3_error};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::net::TcpListener;

struct Auth(HashMap<String, String>);

#[async_trait::async_trait]
impl S3Auth for Auth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.0.get(access_key) {
            Some(s) => Ok(SecretKey::from(s.clone())),
            None => Err(s3_error!(
                InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records."
            )),
        }
    }
}

fn build_s3(state: &Arc<SimState>) -> S3Service {
    let mut b = S3ServiceBuilder::new(super::s3::SimS3 {
        state: state.clone(),
    });
    b.set_auth(Auth(state.secrets.clone()));
    b.build()
}

async fn accept_loop<F, Fut>(listener: TcpListener, handle: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<s3s::Body>, std::io::Error>> + Send + 'static,
{
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(&handle);
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn content_length<B>(h: &http::HeaderMap, fallback: Option<&B>) -> u64
where
    B: hyper::body::Body,
{
    h.get("x-amz-decoded-content-length")
        .or_else(|| h.get(http::header::CONTENT_LENGTH))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .or_else(|| fallback.and_then(|b| b.size_hint().exact()))
        .unwrap_or(0)
}

fn xml_error(status: StatusCode, code: &str, message: &str) -> Response<s3s::Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut r = Response::new(s3s::Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    r
}

/// Serves S3 until the task is aborted.
pub async fn serve_s3(listener: TcpListener, state: Arc<SimState>) {
    let svc = build_s3(&state);
    accept_loop(listener, move |req: Request<Incoming>| {
        let (svc, state) = (svc.clone(), state.clone());
        async move {
            let arrived = tokio::time::Instant::now();
            state.accounting.s3_request();
            let (n, fault) = state.faults.s3_fault();
            match fault {
                // Failing the service makes hyper drop the connection without a response.
                S3Fault::Reset => return Err(std::io::Error::other("injected connection reset")),
                S3Fault::InternalError => {
                    state.accounting.s3_error("InternalError");
                    return Ok(xml_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        "We encountered an internal error. Please try again.",
                    ));
                }
                S3Fault::None => {}
            }
            let req_bytes = content_length::<Incoming>(req.headers(), None);
            let kms_wait = std::cell::Cell::new(std::time::Duration::ZERO);
            let (resp, kms_wait) = super::sse::KMS_WAIT
                .scope(kms_wait, async {
                    let r = svc.call(req.map(s3s::Body::from)).await;
                    (r, super::sse::KMS_WAIT.with(|w| w.get()))
                })
                .await;
            let resp = match resp {
                Ok(r) => r,
                Err(e) => {
                    state.accounting.s3_error("InternalError");
                    return Ok(xml_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        &format!("{e:?}"),
                    ));
                }
            };
            if resp.status().as_u16() >= 400 {
                state
                    .accounting
                    .s3_error(&format!("HTTP {}", resp.status().as_u16()));
            }
            let resp_bytes = content_length(resp.headers(), Some(resp.body()));
            // Counted from arrival, so the handler's own work is part of the injected latency;
            // S3's round trips to KMS come on top, as they do on AWS.
            let delay = state.faults.s3_delay(req_bytes + resp_bytes, n);
            if !delay.is_zero() {
                tokio::time::sleep_until(arrived + kms_wait + delay).await;
            }
            state.accounting.s3_served(arrived.elapsed());
            Ok(resp)
        }
    })
    .await;
}

fn json_response(status: u16, body: Vec<u8>, content_type: &'static str) -> Response<s3s::Body> {
    let mut r = Response::new(s3s::Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    r
}

fn kms_error(status: u16, type_name: &str, message: &str) -> Response<s3s::Body> {
    let body = serde_json::json!({ "__type": type_name, "message": message });
    json_response(
        status,
        body.to_string().into_bytes(),
        "application/x-amz-json-1.1",
    )
}

/// Serves KMS and the admin endpoint until the task is aborted.
pub async fn serve_kms(listener: TcpListener, state: Arc<SimState>) {
    accept_loop(listener, move |req: Request<Incoming>| {
        let state = state.clone();
        async move { Ok::<_, std::io::Error>(handle_kms(req, &state).await) }
    })
    .await;
}

async fn handle_kms(req: Request<Incoming>, state: &Arc<SimState>) -> Response<s3s::Body> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, 1 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return kms_error(
                400,
                "ValidationException",
                "request body too large or unreadable",
            );
        }
    };
    if let Some(admin) = parts.uri.path().strip_prefix("/_sim/") {
        return handle_admin(
            admin,
            parts.method.as_str(),
            parts.uri.query().unwrap_or(""),
            state,
        );
    }
    let caller = match sigv4::verify(
        parts.method.as_str(),
        parts.uri.path(),
        parts.uri.query().unwrap_or(""),
        &parts.headers,
        &body,
        &state.secrets,
    ) {
        Ok(ak) => Caller::direct(&ak),
        Err(AuthFailure::Missing) => {
            return kms_error(
                400,
                "MissingAuthenticationTokenException",
                "Missing Authentication Token",
            );
        }
        Err(AuthFailure::UnknownAccessKey) => {
            return kms_error(
                400,
                "UnrecognizedClientException",
                "The security token included in the request is invalid.",
            );
        }
        Err(AuthFailure::BadSignature) => {
            return kms_error(
                400,
                "InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided.",
            );
        }
    };
    let Some(op) = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("TrentService."))
        .map(str::to_owned)
    else {
        return kms_error(
            400,
            "UnknownOperationException",
            "missing or unknown X-Amz-Target",
        );
    };
    let delay = state.faults.kms_delay();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if state.faults.kms_internal_error() {
        let e = KmsError::Internal;
        return kms_error(e.status(), e.type_name(), &e.to_string());
    }
    match super::kms_api::dispatch(&state.kms, &op, &body, &caller) {
        Ok(v) => json_response(
            200,
            v.to_string().into_bytes(),
            "application/x-amz-json-1.1",
        ),
        Err(e) => kms_error(e.status(), e.type_name(), &e.to_string()),
    }
}

fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match u8::from_str_radix(&s[i + 1..i + 3], 16) {
                Ok(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                Err(_) => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn handle_admin(
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
