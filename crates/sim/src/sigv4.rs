//! SigV4 header-signature verification for the KMS endpoint (s3s verifies the
//! S3 side). Only what awsJson1_1 clients send: header auth, single-chunk body.

use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

type HmacSha256 = Hmac<Sha256>;

/// Why a request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No or malformed Authorization header.
    Missing,
    /// The access key is not known.
    UnknownAccessKey,
    /// The signature does not match.
    BadSignature,
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).expect("hmac accepts any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

struct Parsed<'a> {
    access_key: &'a str,
    scope: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: &'a str,
    signature: &'a str,
}

fn parse(auth: &str) -> Option<Parsed<'_>> {
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256")?.trim();
    let mut cred = None;
    let mut sh = None;
    let mut sig = None;
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k {
            "Credential" => cred = Some(v),
            "SignedHeaders" => sh = Some(v),
            "Signature" => sig = Some(v),
            _ => {}
        }
    }
    let cred = cred?;
    let (access_key, scope) = cred.split_once('/')?;
    let mut it = scope.split('/');
    let date = it.next()?;
    let region = it.next()?;
    let service = it.next()?;
    if it.next()? != "aws4_request" {
        return None;
    }
    Some(Parsed {
        access_key,
        scope,
        date,
        region,
        service,
        signed_headers: sh?,
        signature: sig?,
    })
}

/// Verifies a signed request; returns the access key id of the signer.
pub fn verify(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    secrets: &HashMap<String, String>,
) -> Result<String, AuthFailure> {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or(AuthFailure::Missing)?;
    let p = parse(auth).ok_or(AuthFailure::Missing)?;
    let secret = secrets
        .get(p.access_key)
        .ok_or(AuthFailure::UnknownAccessKey)?;
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or(AuthFailure::Missing)?;

    let mut canonical_headers = String::new();
    for name in p.signed_headers.split(';') {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| {
                v.to_str()
                    .unwrap_or("")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        canonical_headers.push_str(name);
        canonical_headers.push(':');
        canonical_headers.push_str(&values.join(","));
        canonical_headers.push('\n');
    }
    // The body's own hash, never the client's word for it: a header that disagrees
    // with the body (or says UNSIGNED-PAYLOAD) fails like a bad signature.
    let payload_hash = hex::encode(Sha256::digest(body));
    if let Some(claimed) = headers.get("x-amz-content-sha256")
        && claimed.as_bytes() != payload_hash.as_bytes()
    {
        return Err(AuthFailure::BadSignature);
    }
    let mut q: Vec<&str> = query.split('&').filter(|s| !s.is_empty()).collect();
    q.sort_unstable();
    let canonical_request = format!(
        "{method}\n{path}\n{}\n{canonical_headers}\n{}\n{payload_hash}",
        q.join("&"),
        p.signed_headers
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}\n{}",
        p.scope,
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let k_date = hmac(format!("AWS4{secret}").as_bytes(), p.date.as_bytes());
    let k_region = hmac(&k_date, p.region.as_bytes());
    let k_service = hmac(&k_region, p.service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let expected = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    // Constant-time comparison through the HMAC crate's verifier is overkill for a loopback
    // simulator, but comparing full strings costs nothing extra.
    if expected.len() == p.signature.len()
        && expected
            .bytes()
            .zip(p.signature.bytes())
            .fold(0u8, |a, (x, y)| a | (x ^ y))
            == 0
    {
        Ok(p.access_key.to_owned())
    } else {
        Err(AuthFailure::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The GET example from the AWS SigV4 documentation ("get-vanilla" test suite),
    // secret "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".
    #[test]
    fn aws_test_suite_get_vanilla() {
        let mut h = HeaderMap::new();
        h.insert("host", "example.amazonaws.com".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                .parse()
                .unwrap(),
        );
        let secrets: HashMap<String, String> = [(
            "AKIDEXAMPLE".to_string(),
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string(),
        )]
        .into();
        assert_eq!(
            verify("GET", "/", "", &h, b"", &secrets),
            Ok("AKIDEXAMPLE".into())
        );
        assert_eq!(
            verify("POST", "/", "", &h, b"", &secrets),
            Err(AuthFailure::BadSignature)
        );
        let other: HashMap<String, String> =
            [("AKIDEXAMPLE".to_string(), "wrong".to_string())].into();
        assert_eq!(
            verify("GET", "/", "", &h, b"", &other),
            Err(AuthFailure::BadSignature)
        );
        assert_eq!(
            verify("GET", "/", "", &h, b"", &HashMap::new()),
            Err(AuthFailure::UnknownAccessKey)
        );
        // The payload hash header must be the body's: a claimed hash of other bytes fails.
        let empty = hex::encode(Sha256::digest(b""));
        h.insert("x-amz-content-sha256", empty.parse().unwrap());
        assert_eq!(
            verify("GET", "/", "", &h, b"", &secrets),
            Ok("AKIDEXAMPLE".into())
        );
        assert_eq!(
            verify("GET", "/", "", &h, b"tampered", &secrets),
            Err(AuthFailure::BadSignature)
        );
        h.insert("x-amz-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
        assert_eq!(
            verify("GET", "/", "", &h, b"", &secrets),
            Err(AuthFailure::BadSignature)
        );
        h.remove("x-amz-content-sha256");
        h.remove("authorization");
        assert_eq!(
            verify("GET", "/", "", &h, b"", &secrets),
            Err(AuthFailure::Missing)
        );
    }
}
