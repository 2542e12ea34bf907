//! HTTP front ends: the S3 port (s3s behind the latency and fault model) and the
//! KMS port (awsJson1_1, plus the admin endpoint under `/_sim/`).

use crate::SimState;
use crate::accounting::Caller;
use crate::faults::S3Fault;
use crate::kms::KmsError;
use crate::limits::{Guarded, Limits};
use crate::respond::{content_length, json_response, kms_error, xml_error};
use crate::sigv4::{self, AuthFailure};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
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
    let mut b = S3ServiceBuilder::new(crate::s3::SimS3 {
        state: state.clone(),
    });
    b.set_auth(Auth(state.secrets.clone()));
    b.build()
}

async fn accept_loop<F, Fut>(listener: TcpListener, limits: Limits, handle: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Response<s3s::Body>, std::io::Error>> + Send + 'static,
{
    loop {
        let stream = match listener.accept().await {
            Ok((s, _)) => s,
            Err(_) => {
                // Out of file descriptors, say: wait a little instead of spinning.
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let handle = handle.clone();
        let limits = limits.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(&handle);
            // The header timeout needs hyper's timer; without it a slow head waits forever.
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout.0)
                .max_buf_size(limits.max_header_bytes)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// A declared body length above the limit (`Content-Length`, or the decoded length
/// of an aws-chunked body).
fn declared_too_large(headers: &http::HeaderMap, limits: &Limits) -> bool {
    ["x-amz-decoded-content-length", "content-length"]
        .iter()
        .filter_map(|h| headers.get(*h))
        .filter_map(|v| v.to_str().ok()?.parse::<u64>().ok())
        .any(|n| n > limits.max_body_bytes)
}

/// Serves S3 until the task is aborted. `kms_port` is what `GET /_sim/endpoints`
/// tells a client looking for the KMS and admin endpoint.
pub async fn serve_s3(listener: TcpListener, state: Arc<SimState>, kms_port: u16) {
    let svc = build_s3(&state);
    let limits = state.config.limits.clone();
    accept_loop(listener, limits, move |req: Request<Incoming>| {
        let (svc, state) = (svc.clone(), state.clone());
        async move {
            // Discovery, outside S3 (no bucket may be named `_sim`): not counted, not
            // delayed, no signature needed, no secret in it.
            if req.method() == http::Method::GET && req.uri().path() == "/_sim/endpoints" {
                let v = serde_json::json!({
                    "server": "sse-bench serve",
                    "kms_port": kms_port,
                    "admin_path": "/_sim",
                    "region": state.config.region,
                });
                return Ok(json_response(
                    200,
                    v.to_string().into_bytes(),
                    "application/json",
                ));
            }
            let arrived = tokio::time::Instant::now();
            let seen = state.logs.as_ref().map(|_| Seen::of(&req));
            state.accounting.s3_request();
            let (n, fault) = state.faults.s3_fault();
            match fault {
                // Failing the service makes hyper drop the connection without a response.
                S3Fault::Reset => return Err(std::io::Error::other("injected connection reset")),
                S3Fault::InternalError => {
                    state.accounting.s3_error("InternalError");
                    log_s3(&state, seen.as_ref(), arrived, 500, 0, None);
                    return Ok(xml_error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "InternalError",
                        "We encountered an internal error. Please try again.",
                    ));
                }
                S3Fault::None => {}
            }
            if declared_too_large(req.headers(), &state.config.limits) {
                state.accounting.s3_error("EntityTooLarge");
                return Ok(xml_error(
                    StatusCode::BAD_REQUEST,
                    "EntityTooLarge",
                    "Your proposed upload exceeds the maximum allowed size",
                ));
            }
            let req_bytes = content_length::<Incoming>(req.headers(), None);
            let limits = &state.config.limits;
            let kms_wait = std::cell::Cell::new(std::time::Duration::ZERO);
            let (resp, kms_wait) = crate::sse::KMS_WAIT
                .scope(kms_wait, async {
                    let req = req.map(|b| s3s::Body::http_body_unsync(Guarded::new(b, limits)));
                    let r = svc.call(req).await;
                    (r, crate::sse::KMS_WAIT.with(|w| w.get()))
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
            let size = match seen.as_ref().map(|s| s.method.as_str()) {
                Some("PUT") => Some(req_bytes),
                Some("GET" | "HEAD") if resp.status().is_success() => {
                    Some(content_length::<s3s::Body>(resp.headers(), None))
                }
                _ => None,
            };
            log_s3(
                &state,
                seen.as_ref(),
                arrived,
                resp.status().as_u16(),
                resp_bytes,
                size,
            );
            Ok(resp)
        }
    })
    .await;
}

/// What the access log needs of a request, taken before the body is consumed.
struct Seen {
    unix: f64,
    method: String,
    path: String,
    query: String,
    access_key: Option<String>,
    copy: bool,
    bytes_in: u64,
    user_agent: String,
    host: String,
}

impl Seen {
    fn of<B>(req: &Request<B>) -> Seen {
        let h = req.headers();
        let header = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or("");
        let query = req.uri().query().unwrap_or("");
        // The signer's access key: `Credential=AKID/date/region/s3/aws4_request`, in the
        // Authorization header or (presigned) the query.
        let access_key = header("authorization")
            .split("Credential=")
            .nth(1)
            .or_else(|| query.split("X-Amz-Credential=").nth(1))
            .and_then(|c| c.split(['/', '%']).next())
            .filter(|k| !k.is_empty())
            .map(str::to_owned);
        Seen {
            unix: crate::logs::unix_now(),
            method: req.method().as_str().to_owned(),
            path: req.uri().path().to_owned(),
            query: query.to_owned(),
            access_key,
            copy: h.contains_key("x-amz-copy-source"),
            bytes_in: content_length::<Incoming>(h, None),
            user_agent: header("user-agent").to_owned(),
            host: header("host").to_owned(),
        }
    }
}

/// Writes the access log line (and CloudTrail data event) of one request.
fn log_s3(
    state: &SimState,
    seen: Option<&Seen>,
    arrived: tokio::time::Instant,
    status: u16,
    bytes_out: u64,
    object_size: Option<u64>,
) {
    let (Some(logs), Some(s)) = (&state.logs, seen) else {
        return;
    };
    // The code S3 gives the statuses the simulator answers with.
    let error = match status {
        0..=399 => None,
        403 => Some("AccessDenied"),
        404 => Some("NoSuchKey"),
        400 => Some("InvalidRequest"),
        503 => Some("SlowDown"),
        _ => Some("InternalError"),
    };
    logs.s3(&crate::logs::S3Entry {
        unix: s.unix,
        method: &s.method,
        path: &s.path,
        query: &s.query,
        access_key: s.access_key.as_deref(),
        copy: s.copy,
        status,
        error,
        bytes_in: s.bytes_in,
        bytes_out,
        object_size,
        total_ms: arrived.elapsed().as_millis() as u64,
        user_agent: &s.user_agent,
        host: &s.host,
    });
}

/// Serves KMS and the admin endpoint until the task is aborted.
pub async fn serve_kms(listener: TcpListener, state: Arc<SimState>) {
    let limits = state.config.limits.clone();
    accept_loop(listener, limits, move |req: Request<Incoming>| {
        let state = state.clone();
        async move { Ok::<_, std::io::Error>(handle_kms(req, &state).await) }
    })
    .await;
}

async fn handle_kms(req: Request<Incoming>, state: &Arc<SimState>) -> Response<s3s::Body> {
    let (parts, body) = req.into_parts();
    let body = Guarded::new(body, &state.config.limits);
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
        return crate::admin::handle(
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
    let target = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok());
    // CloudTrail's event history of the KMS calls, on the same port (awsJson1_1 too).
    if target.is_some_and(crate::trail::is_lookup_events) {
        return match state.kms.trail.lookup(&body) {
            Ok(v) => json_response(
                200,
                v.to_string().into_bytes(),
                "application/x-amz-json-1.1",
            ),
            Err((kind, message)) => kms_error(400, kind, &message),
        };
    }
    let Some(op) = target
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
    match crate::kms_api::dispatch(&state.kms, &op, &body, &caller) {
        Ok(v) => json_response(
            200,
            v.to_string().into_bytes(),
            "application/x-amz-json-1.1",
        ),
        Err(e) => kms_error(e.status(), e.type_name(), &e.to_string()),
    }
}
