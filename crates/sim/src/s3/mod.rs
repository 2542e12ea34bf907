//! The S3 API on top of s3s: buckets, objects, multipart uploads and copy, with
//! every object encrypted by the envelope in [`super::sse`].

/// The SSE headers of a write (PutObject, CopyObject, CreateMultipartUpload).
macro_rules! sse_request {
    ($input:expr) => {
        SseRequest {
            algorithm: $input.server_side_encryption.as_ref().map(|s| s.as_str()),
            key_id: $input.ssekms_key_id.as_deref(),
            context: $input.ssekms_encryption_context.as_deref(),
            bucket_key: $input.bucket_key_enabled,
        }
    };
}

/// The checksums a write (PutObject, UploadPart) asked to be verified.
macro_rules! checksum_request {
    ($input:expr) => {
        ChecksumRequest {
            given: Checksum {
                checksum_crc32: $input.checksum_crc32,
                checksum_crc32c: $input.checksum_crc32c,
                checksum_sha1: $input.checksum_sha1,
                checksum_sha256: $input.checksum_sha256,
                checksum_crc64nvme: $input.checksum_crc64nvme,
                checksum_type: None,
            },
            algorithm: $input.checksum_algorithm,
            content_md5: $input.content_md5,
        }
    };
}

/// An S3 response with the object's encryption (algorithm, key ARN, Bucket Key flag)
/// and, when given, its checksums, besides the fields listed.
macro_rules! answer {
    ($ty:ident { $($f:ident: $v:expr),* $(,)? }, $sse:expr) => {{
        let (alg, key_arn, bk) = sse_fields($sse);
        $ty {
            $($f: $v,)*
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            ..Default::default()
        }
    }};
    ($ty:ident { $($f:ident: $v:expr),* $(,)? }, $sse:expr, $checksum:expr) => {{
        let (alg, key_arn, bk) = sse_fields($sse);
        let c: Checksum = $checksum;
        $ty {
            $($f: $v,)*
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            checksum_crc32: c.checksum_crc32,
            checksum_crc32c: c.checksum_crc32c,
            checksum_sha1: c.checksum_sha1,
            checksum_sha256: c.checksum_sha256,
            checksum_crc64nvme: c.checksum_crc64nvme,
            ..Default::default()
        }
    }};
}

/// The start of a handler: count the operation, refuse SSE headers on a read, name
/// the requester, find the bucket. Evaluates to `(requester, input, bucket)`.
macro_rules! begin {
    ($s:expr, $req:expr, $op:literal, read) => {{
        $s.op($op);
        reject_sse_headers(&$req.headers)?;
        begin!(@rest $s, $req)
    }};
    ($s:expr, $req:expr, $op:literal) => {{
        $s.op($op);
        begin!(@rest $s, $req)
    }};
    (@rest $s:expr, $req:expr) => {{
        let who = requester(&$req);
        let input = $req.input;
        let bucket = $s.bucket(&input.bucket)?;
        (who, input, bucket)
    }};
}

mod body;
use body::{Body, ChecksumRequest, default_checksum, read_body};
mod bucket;
mod listing;
mod multipart;
mod object;
mod service;

use crate::SimState;
use crate::kms::KmsError;
use crate::sse::BucketEncryption;
use crate::sse::{self, Algorithm, Chosen, DataKeys, Protection, SseInfo, SseRequest};
use crate::store::{Bucket, Object, Part, Upload};
use bytes::{Bytes, BytesMut};
use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use time::OffsetDateTime;

/// The S3 service the s3s router calls.
#[derive(Clone)]
pub struct SimS3 {
    pub(crate) state: Arc<SimState>,
}

fn requester<T>(req: &S3Request<T>) -> String {
    req.credentials
        .as_ref()
        .map_or_else(|| "anonymous".to_owned(), |c| c.access_key.clone())
}

fn invalid_argument(msg: impl Into<String>) -> S3Error {
    S3Error::with_message(S3ErrorCode::InvalidArgument, msg.into())
}

/// Entries a listing page holds: the request's maximum, at most (and by default) 1,000.
fn page_size(max: Option<i32>) -> usize {
    max.unwrap_or(1000).clamp(0, 1000) as usize
}

/// The version id of every object in an unversioned bucket.
const NULL_VERSION: &str = "null";
const INVALID_VERSION: &str = "Invalid version id specified";

/// Buckets are unversioned: only the `null` version exists (docs/aws-behaviour.md §10).
fn check_version(version_id: Option<&str>) -> S3Result<()> {
    match version_id {
        None | Some(NULL_VERSION) => Ok(()),
        Some(_) => Err(invalid_argument(INVALID_VERSION)),
    }
}

/// Bucket and key of a copy source (`bucket/key[?versionId=null]`).
fn copy_source(src: &CopySource) -> S3Result<(&str, &str)> {
    match src {
        CopySource::Bucket {
            bucket,
            key,
            version_id,
        } => {
            check_version(version_id.as_deref())?;
            Ok((bucket, key))
        }
        _ => Err(s3_error!(
            NotImplemented,
            "Access point copy sources are not supported"
        )),
    }
}

/// The plaintext range of part `n` (1-based) and, for objects of several parts, its
/// Content-Range.
fn part_range(obj: &Object, n: i32) -> S3Result<(std::ops::Range<u64>, Option<String>)> {
    let idx = usize::try_from(n - 1)
        .ok()
        .filter(|i| *i < obj.parts.len())
        .ok_or_else(|| s3_error!(InvalidPart, "The requested partnumber is not satisfiable"))?;
    let start: u64 = obj.parts[..idx].iter().map(|p| p.plain_len).sum();
    let end = start + obj.parts[idx].plain_len;
    let cr = (obj.parts.len() > 1)
        .then(|| format!("bytes {start}-{}/{}", end.saturating_sub(1), obj.size));
    Ok((start..end, cr))
}

/// How S3 surfaces a KMS failure (docs/aws-behaviour.md §4).
pub fn kms_to_s3(e: KmsError) -> S3Error {
    let (code, status) = match &e {
        KmsError::Throttling => {
            let mut err = S3Error::with_message(
                S3ErrorCode::SlowDown,
                "Please reduce your request rate for operations involving AWS KMS.",
            );
            err.set_status_code(http::StatusCode::SERVICE_UNAVAILABLE);
            return err;
        }
        KmsError::NotFound(_) => ("KMS.NotFoundException", 400),
        KmsError::Disabled(_) => ("KMS.DisabledException", 400),
        KmsError::InvalidCiphertext => ("KMS.InvalidCiphertextException", 400),
        KmsError::IncorrectKey => ("KMS.IncorrectKeyException", 400),
        KmsError::Validation(_) => ("KMS.ValidationException", 400),
        KmsError::AlreadyExists(_) => ("KMS.AlreadyExistsException", 400),
        KmsError::Internal => ("KMS.KMSInternalException", 500),
        KmsError::InvalidState(_) => ("KMS.KMSInvalidStateException", 400),
    };
    let mut err = S3Error::with_message(S3ErrorCode::Custom(code.into()), e.to_string());
    err.set_status_code(
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST),
    );
    err
}

/// SSE headers belong to writes; on GET or HEAD they are refused (docs/aws-behaviour.md §9).
fn reject_sse_headers(headers: &http::HeaderMap) -> S3Result<()> {
    for name in headers.keys() {
        let n = name.as_str();
        if n.starts_with("x-amz-server-side-encryption")
            && !n.starts_with("x-amz-server-side-encryption-customer-")
        {
            return Err(invalid_argument(format!(
                "The {n} header is only allowed on write requests of SSE-KMS or SSE-S3 objects"
            )));
        }
    }
    Ok(())
}

fn etag_of(algorithm: Algorithm, plaintext: &[u8]) -> String {
    // S3 uses the MD5 as ETag for SSE-S3 objects only; KMS-encrypted objects get an opaque one.
    match algorithm {
        Algorithm::Aes256 => hex::encode(Md5::digest(plaintext)),
        _ => hex::encode(super::crypto::random_bytes(16)),
    }
}

fn part_aad(bucket: &str, key: &str, part: usize) -> Vec<u8> {
    format!("{}#{part}", sse::s3_arn(bucket, Some(key))).into_bytes()
}

/// SSE response fields: algorithm, key ARN, Bucket Key flag.
fn sse_fields(sse: &SseInfo) -> (Option<ServerSideEncryption>, Option<String>, Option<bool>) {
    (
        Some(ServerSideEncryption::from_static(sse.algorithm.as_str())),
        sse.key_arn.clone(),
        sse.bucket_key.then_some(true),
    )
}

impl SimS3 {
    fn op(&self, name: &str) {
        self.state.accounting.s3_op(name);
    }

    fn bucket(&self, name: &str) -> S3Result<Arc<Bucket>> {
        self.state
            .store
            .bucket(name)
            .ok_or_else(|| s3_error!(NoSuchBucket, "The specified bucket does not exist"))
    }

    fn object(&self, bucket: &Bucket, key: &str) -> S3Result<Arc<Object>> {
        bucket
            .objects
            .read()
            .get(key)
            .cloned()
            .ok_or_else(|| s3_error!(NoSuchKey, "The specified key does not exist."))
    }

    /// Chooses and resolves the encryption of a write.
    fn sse_for_write(&self, bucket: &Bucket, req: &SseRequest<'_>) -> S3Result<SseInfo> {
        let default = bucket.encryption.read().clone();
        let Chosen {
            algorithm,
            key,
            bucket_key,
            context,
        } = sse::choose(req, &default).map_err(|e| invalid_argument(e.0))?;
        let chosen = Chosen {
            algorithm,
            key,
            bucket_key,
            context: None,
        };
        let key_arn = self
            .state
            .envelope
            .resolve_key(&chosen)
            .map_err(kms_to_s3)?;
        let (context_b64, user_context) = match context {
            Some((raw, ctx)) => (Some(raw), ctx),
            None => (None, Default::default()),
        };
        Ok(SseInfo {
            algorithm,
            key_arn,
            bucket_key,
            context_b64,
            user_context,
        })
    }

    /// Encrypts a plaintext into a new single-part object.
    async fn store_object(
        &self,
        bucket: &Bucket,
        key: &str,
        w: NewObject<'_>,
    ) -> S3Result<Arc<Object>> {
        let NewObject {
            sse,
            plaintext,
            checksum,
            content_type,
            metadata,
            requester,
        } = w;
        let (protection, keys) = self
            .state
            .envelope
            .new_keys(&bucket.name, key, &sse, requester)
            .await
            .map_err(kms_to_s3)?;
        let ct = keys.seal(&part_aad(&bucket.name, key, 0), plaintext);
        let blob = self
            .state
            .store
            .make_blob(ct)
            .await
            .map_err(|e| s3_error!(e, InternalError))?;
        let etag = etag_of(sse.algorithm, plaintext);
        let obj = Arc::new(Object {
            size: plaintext.len() as u64,
            etag: etag.clone(),
            last_modified: OffsetDateTime::now_utc(),
            content_type,
            metadata,
            checksum,
            sse,
            protection,
            parts: vec![Part {
                plain_len: plaintext.len() as u64,
                blob,
                etag,
                checksum: Checksum::default(),
                client_checksum: false,
                last_modified: OffsetDateTime::now_utc(),
            }],
            multipart: false,
            corrupt: AtomicBool::new(false),
        });
        bucket.objects.write().insert(key.to_owned(), obj.clone());
        Ok(obj)
    }

    /// Decrypts the parts overlapping `range` (half-open, in plaintext bytes).
    async fn read_plain(
        &self,
        bucket: &str,
        key: &str,
        obj: &Object,
        keys: &DataKeys,
        range: std::ops::Range<u64>,
    ) -> S3Result<Bytes> {
        let mut out = BytesMut::with_capacity((range.end - range.start) as usize);
        let mut offset = 0u64;
        for (i, part) in obj.parts.iter().enumerate() {
            let (start, end) = (offset, offset + part.plain_len);
            offset = end;
            if end <= range.start || start >= range.end {
                continue;
            }
            let ct = part
                .blob
                .read()
                .await
                .map_err(|e| s3_error!(e, InternalError))?;
            let pt = keys.open(&part_aad(bucket, key, i), &ct).map_err(|_| {
                S3Error::with_message(
                    S3ErrorCode::InternalError,
                    "stored object failed authentication",
                )
            })?;
            let lo = range.start.max(start) - start;
            let hi = range.end.min(end) - start;
            // A whole single part (the common GET) is handed over without another copy.
            if obj.parts.len() == 1
                && lo == 0
                && hi == part.plain_len
                && !obj.corrupt.load(Ordering::Relaxed)
            {
                return Ok(Bytes::from(pt));
            }
            out.extend_from_slice(&pt[lo as usize..hi as usize]);
        }
        if obj.corrupt.load(Ordering::Relaxed) && !out.is_empty() {
            out[0] ^= 0xff;
        }
        Ok(out.freeze())
    }

    /// The data keys of an object (or upload): KMS-protected keys are unwrapped by a
    /// KMS call counted for `metered` (`None`: an internal, unmetered unwrap).
    async fn open_keys(
        &self,
        bucket: &str,
        key: &str,
        protection: &crate::sse::Protection,
        metered: Option<&str>,
    ) -> Result<DataKeys, KmsError> {
        self.state
            .envelope
            .open_keys(bucket, key, protection, metered)
            .await
    }

    fn with_stored_checksums(obj: &Object, mode: &Option<ChecksumMode>) -> Option<Checksum> {
        let enabled = mode
            .as_ref()
            .is_some_and(|m| m.as_str() == ChecksumMode::ENABLED);
        (enabled && !obj.corrupt.load(Ordering::Relaxed)).then(|| obj.checksum.clone())
    }
}

/// What a single-part write stores.
struct NewObject<'a> {
    sse: SseInfo,
    plaintext: &'a [u8],
    checksum: Checksum,
    content_type: Option<String>,
    metadata: Option<Metadata>,
    requester: &'a str,
}

fn timestamp(t: OffsetDateTime) -> Timestamp {
    Timestamp::from(t)
}

fn quoted(etag: &str) -> ETag {
    ETag::Strong(etag.to_owned())
}
