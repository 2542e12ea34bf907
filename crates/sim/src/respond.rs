//! Small HTTP response builders shared by the S3, KMS and admin front ends.

use http::{Response, StatusCode};

/// A JSON (or other typed) body with a status.
pub(crate) fn json_response(
    status: u16,
    body: Vec<u8>,
    content_type: &'static str,
) -> Response<s3s::Body> {
    let mut r = Response::new(s3s::Body::from(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    r
}

/// A KMS error in the awsJson1_1 shape: `{"__type": ..., "message": ...}`.
pub(crate) fn kms_error(status: u16, type_name: &str, message: &str) -> Response<s3s::Body> {
    let body = serde_json::json!({ "__type": type_name, "message": message });
    json_response(
        status,
        body.to_string().into_bytes(),
        "application/x-amz-json-1.1",
    )
}

/// An S3 XML error.
pub(crate) fn xml_error(status: StatusCode, code: &str, message: &str) -> Response<s3s::Body> {
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

/// The body length a request or response declares (aws-chunked bodies declare the decoded length).
pub(crate) fn content_length<B>(h: &http::HeaderMap, fallback: Option<&B>) -> u64
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
