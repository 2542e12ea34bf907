//! Request bodies of writes: read whole, with every checksum the client sent (headers,
//! the SDK's algorithm, aws-chunked trailers) and Content-MD5 verified; a write that
//! sent none gets the CRC64NVME S3 adds by default (docs/aws-behaviour.md §10).

use super::invalid_argument;
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{S3Error, S3ErrorCode, S3Result, s3_error};

/// Checksums a client asked to be verified: header values, the SDK's algorithm, trailers.
pub(super) struct ChecksumRequest {
    pub(super) given: Checksum,
    pub(super) algorithm: Option<ChecksumAlgorithm>,
    pub(super) content_md5: Option<String>,
}

/// A request body read whole, with the checksums to store.
pub(super) struct Body {
    pub(super) data: Bytes,
    /// The client's checksums, or the default CRC64NVME when it sent none.
    pub(super) checksum: Checksum,
    /// Whether the client sent a checksum (an "additional checksum", as S3 calls it).
    pub(super) client_checksum: bool,
}

/// Reads a write's body and verifies the checksums the client asked for.
pub(super) async fn read_body(
    body: Option<StreamingBlob>,
    len_hint: Option<i64>,
    mut want: ChecksumRequest,
    trailers: Option<s3s::TrailingHeaders>,
) -> S3Result<Body> {
    let Some(body) = body else {
        return Err(s3_error!(IncompleteBody));
    };
    // CRC64NVME is always computed: it is the default when the client sends no checksum.
    let mut hasher = s3s::checksum::ChecksumHasher {
        crc64nvme: Some(Default::default()),
        ..Default::default()
    };
    let g = &want.given;
    if g.checksum_crc32.is_some() {
        hasher.crc32 = Some(Default::default());
    }
    if g.checksum_crc32c.is_some() {
        hasher.crc32c = Some(Default::default());
    }
    if g.checksum_sha1.is_some() {
        hasher.sha1 = Some(Default::default());
    }
    if g.checksum_sha256.is_some() {
        hasher.sha256 = Some(Default::default());
    }
    if let Some(alg) = &want.algorithm {
        match alg.as_str() {
            ChecksumAlgorithm::CRC32 => hasher.crc32 = Some(Default::default()),
            ChecksumAlgorithm::CRC32C => hasher.crc32c = Some(Default::default()),
            ChecksumAlgorithm::SHA1 => hasher.sha1 = Some(Default::default()),
            ChecksumAlgorithm::SHA256 => hasher.sha256 = Some(Default::default()),
            ChecksumAlgorithm::CRC64NVME => {}
            other => {
                return Err(invalid_argument(format!(
                    "Unsupported checksum algorithm {other}"
                )));
            }
        }
    }
    let mut buf = BytesMut::with_capacity(len_hint.unwrap_or(0).clamp(0, 64 << 20) as usize);
    let mut stream = body;
    while let Some(chunk) = stream.try_next().await.map_err(|e| {
        S3Error::with_message(
            S3ErrorCode::IncompleteBody,
            format!("reading the request body failed: {e}"),
        )
    })? {
        hasher.update(&chunk);
        buf.extend_from_slice(&chunk);
    }
    if let Some(t) = trailers.and_then(|t| t.take()) {
        let get = |n: &str| t.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let g = &mut want.given;
        g.checksum_crc32 = get("x-amz-checksum-crc32").or(g.checksum_crc32.take());
        g.checksum_crc32c = get("x-amz-checksum-crc32c").or(g.checksum_crc32c.take());
        g.checksum_sha1 = get("x-amz-checksum-sha1").or(g.checksum_sha1.take());
        g.checksum_sha256 = get("x-amz-checksum-sha256").or(g.checksum_sha256.take());
        g.checksum_crc64nvme = get("x-amz-checksum-crc64nvme").or(g.checksum_crc64nvme.take());
    }
    let computed = hasher.finalize();
    let g = &want.given;
    for (name, given, got) in [
        ("CRC32", &g.checksum_crc32, &computed.checksum_crc32),
        ("CRC32C", &g.checksum_crc32c, &computed.checksum_crc32c),
        ("SHA1", &g.checksum_sha1, &computed.checksum_sha1),
        ("SHA256", &g.checksum_sha256, &computed.checksum_sha256),
        (
            "CRC64NVME",
            &g.checksum_crc64nvme,
            &computed.checksum_crc64nvme,
        ),
    ] {
        if let Some(given) = given
            && Some(given) != got.as_ref()
        {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                format!("The {name} you specified did not match the calculated checksum."),
            ));
        }
    }
    if let Some(md5) = &want.content_md5 {
        use base64::Engine as _;
        let expected = base64::engine::general_purpose::STANDARD
            .decode(md5)
            .map_err(|_| {
                S3Error::with_message(
                    S3ErrorCode::InvalidDigest,
                    "The Content-MD5 you specified was invalid.",
                )
            })?;
        if expected != Md5::digest(&buf).as_slice() {
            return Err(S3Error::with_message(
                S3ErrorCode::BadDigest,
                "The Content-MD5 you specified did not match what we received.",
            ));
        }
    }
    let mut stored = want.given;
    let sent = stored != Checksum::default();
    if !sent {
        stored.checksum_crc64nvme = computed.checksum_crc64nvme;
    }
    Ok(Body {
        data: buf.freeze(),
        checksum: stored,
        client_checksum: sent,
    })
}

/// The default checksum S3 gives data written without one: CRC64NVME.
pub(super) fn default_checksum(data: &[u8]) -> Checksum {
    let mut hasher = s3s::checksum::ChecksumHasher {
        crc64nvme: Some(Default::default()),
        ..Default::default()
    };
    hasher.update(data);
    Checksum {
        checksum_crc64nvme: hasher.finalize().checksum_crc64nvme,
        ..Default::default()
    }
}
