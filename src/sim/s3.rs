//! The S3 API on top of s3s: buckets, objects, multipart uploads and copy, with
//! every object encrypted by the envelope in [`super::sse`].

use super::SimState;
use super::kms::KmsError;
use super::sse::{self, Algorithm, Chosen, DataKeys, SseInfo, SseRequest};
use super::store::{Bucket, BucketEncryption, Object, Part, Upload};
use bytes::{Bytes, BytesMut};
use futures::TryStreamExt;
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

/// How S3 surfaces a KMS failure (AWS-FACTS.md §4).
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

/// SSE headers belong to writes; on GET or HEAD they are refused (AWS-FACTS.md §9).
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

/// Checksums a client asked to be verified: header values, the SDK's algorithm, trailers.
struct ChecksumRequest {
    given: Checksum,
    algorithm: Option<ChecksumAlgorithm>,
    content_md5: Option<String>,
}

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

async fn read_body(
    body: Option<StreamingBlob>,
    len_hint: Option<i64>,
    mut want: ChecksumRequest,
    trailers: Option<s3s::TrailingHeaders>,
) -> S3Result<(Bytes, Checksum)> {
    let Some(body) = body else {
        return Err(s3_error!(IncompleteBody));
    };
    let mut hasher = s3s::checksum::ChecksumHasher::default();
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
    if g.checksum_crc64nvme.is_some() {
        hasher.crc64nvme = Some(Default::default());
    }
    if let Some(alg) = &want.algorithm {
        match alg.as_str() {
            ChecksumAlgorithm::CRC32 => hasher.crc32 = Some(Default::default()),
            ChecksumAlgorithm::CRC32C => hasher.crc32c = Some(Default::default()),
            ChecksumAlgorithm::SHA1 => hasher.sha1 = Some(Default::default()),
            ChecksumAlgorithm::SHA256 => hasher.sha256 = Some(Default::default()),
            ChecksumAlgorithm::CRC64NVME => hasher.crc64nvme = Some(Default::default()),
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
    Ok((buf.freeze(), want.given))
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
            }],
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

#[async_trait::async_trait]
impl S3 for SimS3 {
    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        self.op("CreateBucket");
        let name = req.input.bucket;
        let mut buckets = self.state.store.buckets.write();
        if buckets.contains_key(&name) {
            return Err(s3_error!(
                BucketAlreadyOwnedByYou,
                "Your previous request to create the named bucket succeeded and you already own it."
            ));
        }
        buckets.insert(
            name.clone(),
            Arc::new(Bucket {
                name: name.clone(),
                created: OffsetDateTime::now_utc(),
                encryption: Default::default(),
                tags: Default::default(),
                lifecycle: Default::default(),
                objects: Default::default(),
                uploads: Default::default(),
            }),
        );
        Ok(S3Response::new(CreateBucketOutput {
            location: Some(format!("/{name}")),
        }))
    }

    async fn head_bucket(
        &self,
        req: S3Request<HeadBucketInput>,
    ) -> S3Result<S3Response<HeadBucketOutput>> {
        self.op("HeadBucket");
        self.bucket(&req.input.bucket)?;
        Ok(S3Response::new(HeadBucketOutput {
            bucket_region: Some(self.state.config.region.clone()),
            ..Default::default()
        }))
    }

    async fn delete_bucket(
        &self,
        req: S3Request<DeleteBucketInput>,
    ) -> S3Result<S3Response<DeleteBucketOutput>> {
        self.op("DeleteBucket");
        let b = self.bucket(&req.input.bucket)?;
        let mut buckets = self.state.store.buckets.write();
        if !b.objects.read().is_empty() {
            return Err(s3_error!(
                BucketNotEmpty,
                "The bucket you tried to delete is not empty"
            ));
        }
        buckets.remove(&req.input.bucket);
        Ok(S3Response::new(DeleteBucketOutput {}))
    }

    async fn list_buckets(
        &self,
        _req: S3Request<ListBucketsInput>,
    ) -> S3Result<S3Response<ListBucketsOutput>> {
        self.op("ListBuckets");
        let buckets = self
            .state
            .store
            .buckets
            .read()
            .values()
            .map(|b| s3s::dto::Bucket {
                name: Some(b.name.clone()),
                creation_date: Some(timestamp(b.created)),
                bucket_region: Some(self.state.config.region.clone()),
            })
            .collect();
        Ok(S3Response::new(ListBucketsOutput {
            buckets: Some(buckets),
            ..Default::default()
        }))
    }

    async fn put_bucket_encryption(
        &self,
        req: S3Request<PutBucketEncryptionInput>,
    ) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
        self.op("PutBucketEncryption");
        let b = self.bucket(&req.input.bucket)?;
        let rule = req
            .input
            .server_side_encryption_configuration
            .rules
            .into_iter()
            .next()
            .ok_or_else(|| s3_error!(MalformedXML, "The XML you provided was not well-formed"))?;
        let by_default = rule
            .apply_server_side_encryption_by_default
            .ok_or_else(|| {
                s3_error!(
                    MalformedXML,
                    "ApplyServerSideEncryptionByDefault is required"
                )
            })?;
        let alg = Algorithm::parse(by_default.sse_algorithm.as_str()).ok_or_else(|| {
            invalid_argument(format!(
                "The encryption method specified is not supported: {}",
                by_default.sse_algorithm.as_str()
            ))
        })?;
        if alg == Algorithm::Aes256 && by_default.kms_master_key_id.is_some() {
            return Err(invalid_argument(
                "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse",
            ));
        }
        *b.encryption.write() = BucketEncryption {
            algorithm: alg.as_str().into(),
            kms_key: by_default.kms_master_key_id,
            bucket_key: rule.bucket_key_enabled.unwrap_or(false) && alg == Algorithm::Kms,
        };
        Ok(S3Response::new(PutBucketEncryptionOutput {}))
    }

    async fn get_bucket_encryption(
        &self,
        req: S3Request<GetBucketEncryptionInput>,
    ) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
        self.op("GetBucketEncryption");
        let enc = self.bucket(&req.input.bucket)?.encryption.read().clone();
        let rule = ServerSideEncryptionRule {
            apply_server_side_encryption_by_default: Some(ServerSideEncryptionByDefault {
                kms_master_key_id: enc.kms_key,
                sse_algorithm: ServerSideEncryption::from(enc.algorithm),
            }),
            bucket_key_enabled: Some(enc.bucket_key),
        };
        Ok(S3Response::new(GetBucketEncryptionOutput {
            server_side_encryption_configuration: Some(ServerSideEncryptionConfiguration {
                rules: vec![rule],
            }),
        }))
    }

    async fn delete_bucket_encryption(
        &self,
        req: S3Request<DeleteBucketEncryptionInput>,
    ) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
        self.op("DeleteBucketEncryption");
        *self.bucket(&req.input.bucket)?.encryption.write() = BucketEncryption::default();
        Ok(S3Response::new(DeleteBucketEncryptionOutput {}))
    }

    async fn put_bucket_tagging(
        &self,
        req: S3Request<PutBucketTaggingInput>,
    ) -> S3Result<S3Response<PutBucketTaggingOutput>> {
        self.op("PutBucketTagging");
        let b = self.bucket(&req.input.bucket)?;
        let tags = req
            .input
            .tagging
            .tag_set
            .into_iter()
            .map(|t| (t.key.unwrap_or_default(), t.value.unwrap_or_default()))
            .collect();
        *b.tags.write() = Some(tags);
        Ok(S3Response::new(PutBucketTaggingOutput {}))
    }

    async fn get_bucket_tagging(
        &self,
        req: S3Request<GetBucketTaggingInput>,
    ) -> S3Result<S3Response<GetBucketTaggingOutput>> {
        self.op("GetBucketTagging");
        let b = self.bucket(&req.input.bucket)?;
        let tags = b
            .tags
            .read()
            .clone()
            .ok_or_else(|| s3_error!(NoSuchTagSet, "The TagSet does not exist"))?;
        let tag_set = tags
            .into_iter()
            .map(|(k, v)| Tag {
                key: Some(k),
                value: Some(v),
            })
            .collect();
        Ok(S3Response::new(GetBucketTaggingOutput { tag_set }))
    }

    async fn delete_bucket_tagging(
        &self,
        req: S3Request<DeleteBucketTaggingInput>,
    ) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
        self.op("DeleteBucketTagging");
        *self.bucket(&req.input.bucket)?.tags.write() = None;
        Ok(S3Response::new(DeleteBucketTaggingOutput {}))
    }

    async fn put_bucket_lifecycle_configuration(
        &self,
        req: S3Request<PutBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
        self.op("PutBucketLifecycleConfiguration");
        let b = self.bucket(&req.input.bucket)?;
        *b.lifecycle.write() = req.input.lifecycle_configuration;
        Ok(S3Response::new(
            PutBucketLifecycleConfigurationOutput::default(),
        ))
    }

    async fn get_bucket_lifecycle_configuration(
        &self,
        req: S3Request<GetBucketLifecycleConfigurationInput>,
    ) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
        self.op("GetBucketLifecycleConfiguration");
        let b = self.bucket(&req.input.bucket)?;
        let lc = b.lifecycle.read().clone().ok_or_else(|| {
            s3_error!(
                NoSuchLifecycleConfiguration,
                "The lifecycle configuration does not exist"
            )
        })?;
        Ok(S3Response::new(GetBucketLifecycleConfigurationOutput {
            rules: Some(lc.rules),
            ..Default::default()
        }))
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        self.op("PutObject");
        let who = requester(&req);
        let input = req.input;
        let b = self.bucket(&input.bucket)?;
        let sse = self.sse_for_write(&b, &sse_request!(input))?;
        let want = checksum_request!(input);
        let (data, checksum) =
            read_body(input.body, input.content_length, want, req.trailing_headers).await?;
        let obj = self
            .store_object(
                &b,
                &input.key,
                NewObject {
                    sse,
                    plaintext: &data,
                    checksum: checksum.clone(),
                    content_type: input.content_type,
                    metadata: input.metadata,
                    requester: &who,
                },
            )
            .await?;
        let (alg, key_arn, bk) = sse_fields(&obj.sse);
        Ok(S3Response::new(PutObjectOutput {
            e_tag: Some(quoted(&obj.etag)),
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            ssekms_encryption_context: obj.sse.context_b64.clone(),
            checksum_crc32: checksum.checksum_crc32,
            checksum_crc32c: checksum.checksum_crc32c,
            checksum_sha1: checksum.checksum_sha1,
            checksum_sha256: checksum.checksum_sha256,
            checksum_crc64nvme: checksum.checksum_crc64nvme,
            size: Some(obj.size as i64),
            ..Default::default()
        }))
    }

    async fn get_object(
        &self,
        req: S3Request<GetObjectInput>,
    ) -> S3Result<S3Response<GetObjectOutput>> {
        self.op("GetObject");
        reject_sse_headers(&req.headers)?;
        let who = requester(&req);
        let input = req.input;
        let b = self.bucket(&input.bucket)?;
        let obj = self.object(&b, &input.key)?;
        let (range, content_range, parts_count) = if let Some(pn) = input.part_number {
            let idx = usize::try_from(pn - 1)
                .ok()
                .filter(|i| *i < obj.parts.len())
                .ok_or_else(|| {
                    s3_error!(InvalidPart, "The requested partnumber is not satisfiable")
                })?;
            let start: u64 = obj.parts[..idx].iter().map(|p| p.plain_len).sum();
            let end = start + obj.parts[idx].plain_len;
            let cr = (obj.parts.len() > 1)
                .then(|| format!("bytes {start}-{}/{}", end.saturating_sub(1), obj.size));
            (start..end, cr, Some(obj.parts.len() as i32))
        } else if let Some(r) = &input.range {
            let r = r
                .check(obj.size)
                .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
            let cr = format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), obj.size);
            (r, Some(cr), None)
        } else {
            (0..obj.size, None, None)
        };
        let keys = self
            .state
            .envelope
            .open_keys(&input.bucket, &input.key, &obj.protection, Some(&who))
            .await
            .map_err(kms_to_s3)?;
        let full = content_range.is_none();
        let data = self
            .read_plain(&input.bucket, &input.key, &obj, &keys, range)
            .await?;
        let checksum = if full {
            Self::with_stored_checksums(&obj, &input.checksum_mode)
        } else {
            None
        }
        .unwrap_or_default();
        let (alg, key_arn, bk) = sse_fields(&obj.sse);
        Ok(S3Response::new(GetObjectOutput {
            content_length: Some(data.len() as i64),
            body: Some(StreamingBlob::from(s3s::Body::from(data))),
            content_range,
            parts_count,
            accept_ranges: Some("bytes".into()),
            e_tag: Some(quoted(&obj.etag)),
            last_modified: Some(timestamp(obj.last_modified)),
            content_type: obj.content_type.clone(),
            metadata: obj.metadata.clone(),
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            checksum_crc32: checksum.checksum_crc32,
            checksum_crc32c: checksum.checksum_crc32c,
            checksum_sha1: checksum.checksum_sha1,
            checksum_sha256: checksum.checksum_sha256,
            checksum_crc64nvme: checksum.checksum_crc64nvme,
            checksum_type: None,
            ..Default::default()
        }))
    }

    async fn head_object(
        &self,
        req: S3Request<HeadObjectInput>,
    ) -> S3Result<S3Response<HeadObjectOutput>> {
        self.op("HeadObject");
        reject_sse_headers(&req.headers)?;
        let who = requester(&req);
        let input = req.input;
        let b = self.bucket(&input.bucket)?;
        let obj = self.object(&b, &input.key)?;
        let checksum = Self::with_stored_checksums(&obj, &input.checksum_mode);
        let stored = checksum.as_ref().is_some_and(|c| *c != Checksum::default());
        // Checksums of KMS objects are kept encrypted: reading them needs the data key (inferred).
        if stored
            && obj.sse.algorithm != Algorithm::Aes256
            && self.state.config.head_checksum_decrypt
        {
            self.state
                .envelope
                .open_keys(&input.bucket, &input.key, &obj.protection, Some(&who))
                .await
                .map_err(kms_to_s3)?;
        }
        let checksum = checksum.unwrap_or_default();
        let (alg, key_arn, bk) = sse_fields(&obj.sse);
        Ok(S3Response::new(HeadObjectOutput {
            content_length: Some(obj.size as i64),
            accept_ranges: Some("bytes".into()),
            e_tag: Some(quoted(&obj.etag)),
            last_modified: Some(timestamp(obj.last_modified)),
            content_type: obj.content_type.clone(),
            metadata: obj.metadata.clone(),
            parts_count: (obj.parts.len() > 1).then_some(obj.parts.len() as i32),
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            checksum_crc32: checksum.checksum_crc32,
            checksum_crc32c: checksum.checksum_crc32c,
            checksum_sha1: checksum.checksum_sha1,
            checksum_sha256: checksum.checksum_sha256,
            checksum_crc64nvme: checksum.checksum_crc64nvme,
            ..Default::default()
        }))
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        self.op("DeleteObject");
        let b = self.bucket(&req.input.bucket)?;
        b.objects.write().remove(&req.input.key);
        Ok(S3Response::new(DeleteObjectOutput::default()))
    }

    async fn delete_objects(
        &self,
        req: S3Request<DeleteObjectsInput>,
    ) -> S3Result<S3Response<DeleteObjectsOutput>> {
        self.op("DeleteObjects");
        let b = self.bucket(&req.input.bucket)?;
        let quiet = req.input.delete.quiet.unwrap_or(false);
        let mut deleted = Vec::new();
        {
            let mut objects = b.objects.write();
            for o in req.input.delete.objects {
                objects.remove(&o.key);
                if !quiet {
                    deleted.push(DeletedObject {
                        key: Some(o.key),
                        ..Default::default()
                    });
                }
            }
        }
        Ok(S3Response::new(DeleteObjectsOutput {
            deleted: Some(deleted),
            ..Default::default()
        }))
    }

    async fn list_objects_v2(
        &self,
        req: S3Request<ListObjectsV2Input>,
    ) -> S3Result<S3Response<ListObjectsV2Output>> {
        self.op("ListObjectsV2");
        let input = req.input;
        let b = self.bucket(&input.bucket)?;
        let prefix = input.prefix.clone().unwrap_or_default();
        let max_keys = input.max_keys.unwrap_or(1000).clamp(0, 1000) as usize;
        let after = input
            .continuation_token
            .clone()
            .or(input.start_after.clone())
            .unwrap_or_default();
        let mut contents = Vec::new();
        let mut prefixes: Vec<String> = Vec::new();
        let mut truncated = false;
        let mut last = None;
        let objects = b.objects.read();
        let start = if after.is_empty() {
            prefix.clone()
        } else {
            after.clone()
        };
        for (k, o) in objects.range(start..) {
            if !k.starts_with(&prefix) {
                if k.as_str() > prefix.as_str() {
                    break;
                }
                continue;
            }
            if !after.is_empty() && *k <= after {
                continue;
            }
            if let Some(d) = input.delimiter.as_deref().filter(|d| !d.is_empty())
                && let Some(pos) = k[prefix.len()..].find(d)
            {
                let cp = k[..prefix.len() + pos + d.len()].to_owned();
                if prefixes.last() != Some(&cp) {
                    if contents.len() + prefixes.len() >= max_keys {
                        truncated = true;
                        break;
                    }
                    prefixes.push(cp);
                }
                last = Some(k.clone());
                continue;
            }
            if contents.len() + prefixes.len() >= max_keys {
                truncated = true;
                break;
            }
            contents.push(s3s::dto::Object {
                key: Some(k.clone()),
                size: Some(o.size as i64),
                e_tag: Some(quoted(&o.etag)),
                last_modified: Some(timestamp(o.last_modified)),
                storage_class: Some(ObjectStorageClass::from_static(
                    ObjectStorageClass::STANDARD,
                )),
                ..Default::default()
            });
            last = Some(k.clone());
        }
        let key_count = (contents.len() + prefixes.len()) as i32;
        Ok(S3Response::new(ListObjectsV2Output {
            name: Some(input.bucket),
            prefix: input.prefix,
            delimiter: input.delimiter,
            max_keys: Some(max_keys as i32),
            key_count: Some(key_count),
            is_truncated: Some(truncated),
            continuation_token: input.continuation_token,
            next_continuation_token: if truncated { last } else { None },
            start_after: input.start_after,
            contents: Some(contents),
            common_prefixes: Some(
                prefixes
                    .into_iter()
                    .map(|p| CommonPrefix { prefix: Some(p) })
                    .collect(),
            ),
            ..Default::default()
        }))
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        self.op("CopyObject");
        let who = requester(&req);
        let input = req.input;
        let CopySource::Bucket {
            bucket: src_bucket,
            key: src_key,
            ..
        } = &input.copy_source
        else {
            return Err(s3_error!(
                NotImplemented,
                "Access point copy sources are not supported"
            ));
        };
        let sb = self.bucket(src_bucket)?;
        let src = self.object(&sb, src_key)?;
        let db = self.bucket(&input.bucket)?;
        let sse = self.sse_for_write(&db, &sse_request!(input))?;
        let keys = self
            .state
            .envelope
            .open_keys(src_bucket, src_key, &src.protection, Some(&who))
            .await
            .map_err(kms_to_s3)?;
        let data = self
            .read_plain(src_bucket, src_key, &src, &keys, 0..src.size)
            .await?;
        let replace = input
            .metadata_directive
            .as_ref()
            .is_some_and(|d| d.as_str() == MetadataDirective::REPLACE);
        let (content_type, metadata) = if replace {
            (input.content_type, input.metadata)
        } else {
            (src.content_type.clone(), src.metadata.clone())
        };
        let checksum = if src.parts.len() == 1 {
            src.checksum.clone()
        } else {
            Checksum::default()
        };
        let obj = self
            .store_object(
                &db,
                &input.key,
                NewObject {
                    sse,
                    plaintext: &data,
                    checksum,
                    content_type,
                    metadata,
                    requester: &who,
                },
            )
            .await?;
        let (alg, key_arn, bk) = sse_fields(&obj.sse);
        Ok(S3Response::new(CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(quoted(&obj.etag)),
                last_modified: Some(timestamp(obj.last_modified)),
                ..Default::default()
            }),
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            ssekms_encryption_context: obj.sse.context_b64.clone(),
            ..Default::default()
        }))
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        self.op("CreateMultipartUpload");
        let who = requester(&req);
        let input = req.input;
        let b = self.bucket(&input.bucket)?;
        let sse = self.sse_for_write(&b, &sse_request!(input))?;
        let (protection, _keys) = self
            .state
            .envelope
            .new_keys(&b.name, &input.key, &sse, &who)
            .await
            .map_err(kms_to_s3)?;
        let upload_id = uuid::Uuid::new_v4().simple().to_string();
        let (alg, key_arn, bk) = sse_fields(&sse);
        let context = sse.context_b64.clone();
        b.uploads.lock().insert(
            upload_id.clone(),
            Upload {
                key: input.key.clone(),
                sse,
                protection,
                content_type: input.content_type,
                metadata: input.metadata,
                parts: BTreeMap::new(),
            },
        );
        Ok(S3Response::new(CreateMultipartUploadOutput {
            bucket: Some(input.bucket),
            key: Some(input.key),
            upload_id: Some(upload_id),
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            ssekms_encryption_context: context,
            checksum_algorithm: input.checksum_algorithm,
            ..Default::default()
        }))
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        self.op("UploadPart");
        let who = requester(&req);
        let input = req.input;
        let b = self.bucket(&input.bucket)?;
        if !(1..=10_000).contains(&input.part_number) {
            return Err(invalid_argument(
                "Part number must be an integer between 1 and 10000, inclusive",
            ));
        }
        let (protection, sse) = {
            let uploads = b.uploads.lock();
            let u = uploads
                .get(&input.upload_id)
                .filter(|u| u.key == input.key)
                .ok_or_else(|| s3_error!(NoSuchUpload, "The specified upload does not exist."))?;
            (u.protection.clone(), u.sse.clone())
        };
        let want = checksum_request!(input);
        let (data, checksum) =
            read_body(input.body, input.content_length, want, req.trailing_headers).await?;
        // Each part needs the object's data key: for KMS objects S3 decrypts it (kms:Decrypt on UploadPart).
        let metered = self.state.config.upload_part_decrypt;
        let keys = self
            .state
            .envelope
            .open_keys(
                &b.name,
                &input.key,
                &protection,
                metered.then_some(who.as_str()),
            )
            .await
            .map_err(kms_to_s3)?;
        let etag = etag_of(sse.algorithm, &data);
        // Parts are re-keyed by position at completion; seal under the part number until then.
        let ct = keys.seal(
            &part_aad(&b.name, &input.key, input.part_number as usize + 100_000),
            &data,
        );
        let blob = self
            .state
            .store
            .make_blob(ct)
            .await
            .map_err(|e| s3_error!(e, InternalError))?;
        let mut uploads = b.uploads.lock();
        let u = uploads
            .get_mut(&input.upload_id)
            .ok_or_else(|| s3_error!(NoSuchUpload, "The specified upload does not exist."))?;
        u.parts.insert(
            input.part_number,
            Part {
                plain_len: data.len() as u64,
                blob,
                etag: etag.clone(),
                checksum: checksum.clone(),
            },
        );
        let (alg, key_arn, bk) = sse_fields(&sse);
        Ok(S3Response::new(UploadPartOutput {
            e_tag: Some(quoted(&etag)),
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            checksum_crc32: checksum.checksum_crc32,
            checksum_crc32c: checksum.checksum_crc32c,
            checksum_sha1: checksum.checksum_sha1,
            checksum_sha256: checksum.checksum_sha256,
            checksum_crc64nvme: checksum.checksum_crc64nvme,
            ..Default::default()
        }))
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        self.op("CompleteMultipartUpload");
        let who = requester(&req);
        let input = req.input;
        let b = self.bucket(&input.bucket)?;
        let mut upload = {
            let mut uploads = b.uploads.lock();
            match uploads.get(&input.upload_id) {
                Some(u) if u.key == input.key => {}
                _ => {
                    return Err(s3_error!(
                        NoSuchUpload,
                        "The specified upload does not exist."
                    ));
                }
            }
            uploads
                .remove(&input.upload_id)
                .ok_or_else(|| s3_error!(NoSuchUpload))?
        };
        let listed = input
            .multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default();
        let mut chosen = Vec::with_capacity(listed.len());
        let mut prev = 0;
        for p in &listed {
            let n = p.part_number.unwrap_or(0);
            if n <= prev {
                b.uploads.lock().insert(input.upload_id.clone(), upload);
                return Err(s3_error!(
                    InvalidPartOrder,
                    "The list of parts was not in ascending order."
                ));
            }
            prev = n;
            let ok = upload
                .parts
                .get(&n)
                .is_some_and(|stored| p.e_tag.as_ref().is_none_or(|e| e.value() == stored.etag));
            if !ok {
                b.uploads.lock().insert(input.upload_id.clone(), upload);
                return Err(s3_error!(
                    InvalidPart,
                    "One or more of the specified parts could not be found."
                ));
            }
            chosen.push(n);
        }
        if chosen.is_empty() {
            b.uploads.lock().insert(input.upload_id.clone(), upload);
            return Err(s3_error!(
                MalformedXML,
                "You must specify at least one part"
            ));
        }
        let with_checksums = upload
            .parts
            .values()
            .any(|p| p.checksum != Checksum::default());
        // Additional checksums of KMS objects are re-encrypted at completion (inferred: one Decrypt).
        let metered = with_checksums
            && upload.sse.algorithm != Algorithm::Aes256
            && self.state.config.complete_checksum_decrypt;
        let keys = self
            .state
            .envelope
            .open_keys(
                &b.name,
                &input.key,
                &upload.protection,
                metered.then_some(who.as_str()),
            )
            .await;
        let keys = match keys {
            Ok(k) => k,
            Err(e) => {
                b.uploads.lock().insert(input.upload_id.clone(), upload);
                return Err(kms_to_s3(e));
            }
        };
        let mut parts = Vec::with_capacity(chosen.len());
        let mut md5_of_etags = Md5::new();
        for (i, n) in chosen.iter().enumerate() {
            let Some(p) = upload.parts.remove(n) else {
                return Err(s3_error!(InternalError));
            };
            md5_of_etags.update(p.etag.as_bytes());
            // Re-seal under the part's position so ranged reads address parts by index.
            let ct = p
                .blob
                .read()
                .await
                .map_err(|e| s3_error!(e, InternalError))?;
            let pt = keys
                .open(&part_aad(&b.name, &input.key, *n as usize + 100_000), &ct)
                .map_err(|_| s3_error!(InternalError, "stored part failed authentication"))?;
            let blob = self
                .state
                .store
                .make_blob(keys.seal(&part_aad(&b.name, &input.key, i), &pt))
                .await
                .map_err(|e| s3_error!(e, InternalError))?;
            parts.push(Part {
                plain_len: p.plain_len,
                blob,
                etag: p.etag,
                checksum: p.checksum,
            });
        }
        let etag = format!("{}-{}", hex::encode(md5_of_etags.finalize()), parts.len());
        let obj = Arc::new(Object {
            size: parts.iter().map(|p| p.plain_len).sum(),
            etag: etag.clone(),
            last_modified: OffsetDateTime::now_utc(),
            content_type: upload.content_type,
            metadata: upload.metadata,
            checksum: Checksum::default(),
            sse: upload.sse,
            protection: upload.protection,
            parts,
            corrupt: AtomicBool::new(false),
        });
        b.objects.write().insert(input.key.clone(), obj.clone());
        let (alg, key_arn, bk) = sse_fields(&obj.sse);
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(quoted(&etag)),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            server_side_encryption: alg,
            ssekms_key_id: key_arn,
            bucket_key_enabled: bk,
            ..Default::default()
        }))
    }

    async fn abort_multipart_upload(
        &self,
        req: S3Request<AbortMultipartUploadInput>,
    ) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
        self.op("AbortMultipartUpload");
        let b = self.bucket(&req.input.bucket)?;
        b.uploads
            .lock()
            .remove(&req.input.upload_id)
            .ok_or_else(|| s3_error!(NoSuchUpload, "The specified upload does not exist."))?;
        Ok(S3Response::new(AbortMultipartUploadOutput::default()))
    }
}
