//! One S3 operation through aws-sdk-s3, classified into an [`Outcome`].

use super::payload;
use crate::error::{Error, Result};
use crate::recorder::Outcome;
use crate::results::record::{INTEGRITY, THROTTLED_KMS};
use crate::scenario::{Multipart, Op};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use std::time::Instant;

/// What to do, chosen by the scheduler or a worker.
#[derive(Clone, Debug)]
pub struct Pick {
    /// Operation.
    pub op: Op,
    /// Stream index.
    pub stream: usize,
    /// Key index.
    pub key: u64,
    /// Second key (copy destination).
    pub aux: u64,
    /// Object size for writes.
    pub size: u64,
    /// Payload version for writes.
    pub version: u64,
    /// Principal index (client).
    pub principal: usize,
}

/// The object key of a key index, under `prefix` (empty, or the run's prefix in a reused bucket).
pub fn object_key(prefix: &str, stream: &str, key: u64) -> String {
    format!("{prefix}{stream}/{key:010}")
}

/// Encryption headers a write carries (`x-amz-server-side-encryption`, `-aws-kms-key-id`,
/// `-bucket-key-enabled`), for buckets whose default encryption the run did not set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sse {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub algorithm: String,
    /// KMS key id or ARN (KMS modes).
    pub kms_key_id: Option<String>,
    /// Bucket Key on or off (KMS modes; DSSE-KMS has none).
    pub bucket_key: Option<bool>,
}

impl Sse {
    fn algorithm(&self) -> aws_sdk_s3::types::ServerSideEncryption {
        aws_sdk_s3::types::ServerSideEncryption::from(self.algorithm.as_str())
    }
}

/// Error class of a failed SDK call (KMS throttling apart from the rest).
pub fn classify<E: ProvideErrorMetadata>(
    e: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>,
) -> String {
    match e {
        SdkError::ServiceError(s) => {
            let status = s.raw().status().as_u16();
            let code = s.err().code().unwrap_or("Unknown");
            let msg = s.err().message().unwrap_or("");
            if (status == 503 && code == "SlowDown" && msg.contains("KMS"))
                || code == "ThrottlingException"
            {
                THROTTLED_KMS.into()
            } else if status == 503 && code == "SlowDown" {
                "slowdown".into()
            } else if status >= 500 {
                format!("5xx:{code}")
            } else {
                format!("4xx:{code}")
            }
        }
        SdkError::TimeoutError(_) => "timeout".into(),
        SdkError::DispatchFailure(d) if d.is_timeout() => "timeout".into(),
        SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => "connection".into(),
        _ => "other".into(),
    }
}

/// What KMS operations need (`kind = "kms"` scenarios).
pub struct KmsEnv {
    /// One KMS client per principal.
    pub clients: Vec<aws_sdk_kms::Client>,
    /// Key id, ARN or alias.
    pub key_id: String,
    /// Encryption context sent with every call.
    pub context: std::collections::HashMap<String, String>,
    /// Data keys made before the run: (ciphertext, plaintext), for Decrypt.
    pub pool: Vec<(Vec<u8>, Vec<u8>)>,
}

/// Everything an operation needs.
pub struct OpEnv<'a> {
    /// Client of the chosen principal.
    pub client: &'a aws_sdk_s3::Client,
    /// Bucket of the stream in this mode.
    pub bucket: &'a str,
    /// Prefix of every key (the run's prefix in a reused bucket).
    pub key_prefix: &'a str,
    /// Encryption headers of writes, when the bucket's default is not the mode's.
    pub sse: Option<&'a Sse>,
    /// Stream name (key prefix).
    pub stream_name: &'a str,
    /// Payload seed.
    pub seed: u64,
    /// Multipart settings of the stream.
    pub multipart: Option<Multipart>,
    /// Verify GET payloads (and Decrypt results).
    pub verify: bool,
    /// KMS clients and data (KMS scenarios).
    pub kms: Option<&'a KmsEnv>,
}

fn fail(p: &Pick, class: String) -> Outcome {
    Outcome {
        op: p.op,
        stream: p.stream,
        bytes: 0,
        ttfb: None,
        error: Some(class),
        parts: 0,
    }
}

fn ok(p: &Pick, bytes: u64, ttfb: Option<std::time::Duration>) -> Outcome {
    Outcome {
        op: p.op,
        stream: p.stream,
        bytes,
        ttfb,
        error: None,
        parts: 0,
    }
}

/// Runs one operation.
pub async fn execute(env: &OpEnv<'_>, p: &Pick) -> Outcome {
    let key = object_key(env.key_prefix, env.stream_name, p.key);
    let c = env.client;
    match p.op {
        Op::Put => {
            let body =
                payload::generate(env.seed, p.stream as u32, p.key, p.version, p.size as usize);
            match env.multipart {
                Some(mp) if p.size >= mp.threshold.0 => {
                    multipart_put(env, p, &key, body, mp.part.0 as usize).await
                }
                _ => match c
                    .put_object()
                    .bucket(env.bucket)
                    .key(&key)
                    .set_server_side_encryption(env.sse.map(Sse::algorithm))
                    .set_ssekms_key_id(env.sse.and_then(|s| s.kms_key_id.clone()))
                    .set_bucket_key_enabled(env.sse.and_then(|s| s.bucket_key))
                    .body(ByteStream::from(body))
                    .send()
                    .await
                {
                    Ok(_) => ok(p, p.size, None),
                    Err(e) => fail(p, classify(&e)),
                },
            }
        }
        Op::Get => {
            let started = Instant::now();
            match c.get_object().bucket(env.bucket).key(&key).send().await {
                Ok(out) => {
                    let ttfb = started.elapsed();
                    let data = match out.body.collect().await {
                        Ok(d) => d.into_bytes(),
                        Err(_) => return fail(p, "connection".into()),
                    };
                    if env.verify
                        && payload::verify(env.seed, p.stream as u32, p.key, &data).is_err()
                    {
                        return Outcome {
                            ttfb: Some(ttfb),
                            ..fail(p, INTEGRITY.into())
                        };
                    }
                    ok(p, data.len() as u64, Some(ttfb))
                }
                Err(e) => fail(p, classify(&e)),
            }
        }
        Op::Head => match c.head_object().bucket(env.bucket).key(&key).send().await {
            Ok(_) => ok(p, 0, None),
            Err(e) => fail(p, classify(&e)),
        },
        Op::Delete => match c.delete_object().bucket(env.bucket).key(&key).send().await {
            Ok(_) => ok(p, 0, None),
            Err(e) => fail(p, classify(&e)),
        },
        Op::GenerateDataKey | Op::Decrypt | Op::Encrypt => match env.kms {
            Some(k) => execute_kms(env, k, p).await,
            None => fail(p, "other".into()),
        },
        Op::Copy => {
            let dest = object_key(env.key_prefix, env.stream_name, p.aux);
            match c
                .copy_object()
                .bucket(env.bucket)
                .key(&dest)
                .set_server_side_encryption(env.sse.map(Sse::algorithm))
                .set_ssekms_key_id(env.sse.and_then(|s| s.kms_key_id.clone()))
                .set_bucket_key_enabled(env.sse.and_then(|s| s.bucket_key))
                .copy_source(format!("{}/{key}", env.bucket))
                .send()
                .await
            {
                Ok(_) => ok(p, 0, None),
                Err(e) => fail(p, classify(&e)),
            }
        }
    }
}

async fn multipart_put(
    env: &OpEnv<'_>,
    p: &Pick,
    key: &str,
    body: bytes::Bytes,
    part: usize,
) -> Outcome {
    let c = env.client;
    let id = match c
        .create_multipart_upload()
        .bucket(env.bucket)
        .key(key)
        .set_server_side_encryption(env.sse.map(Sse::algorithm))
        .set_ssekms_key_id(env.sse.and_then(|s| s.kms_key_id.clone()))
        .set_bucket_key_enabled(env.sse.and_then(|s| s.bucket_key))
        .send()
        .await
    {
        Ok(o) => match o.upload_id {
            Some(id) => id,
            None => return fail(p, "other".into()),
        },
        Err(e) => return fail(p, classify(&e)),
    };
    let mut parts = Vec::new();
    for (i, chunk) in body.chunks(part.max(1)).enumerate() {
        let n = i as i32 + 1;
        let slice = body.slice_ref(chunk);
        match c
            .upload_part()
            .bucket(env.bucket)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(slice))
            .send()
            .await
        {
            Ok(o) => parts.push(
                CompletedPart::builder()
                    .part_number(n)
                    .set_e_tag(o.e_tag)
                    .set_checksum_crc32(o.checksum_crc32)
                    .build(),
            ),
            Err(e) => {
                let _ = c
                    .abort_multipart_upload()
                    .bucket(env.bucket)
                    .key(key)
                    .upload_id(&id)
                    .send()
                    .await;
                return fail(p, classify(&e));
            }
        }
    }
    let n_parts = parts.len() as u32;
    let done = CompletedMultipartUpload::builder()
        .set_parts(Some(parts))
        .build();
    match c
        .complete_multipart_upload()
        .bucket(env.bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(done)
        .send()
        .await
    {
        Ok(_) => Outcome {
            parts: n_parts,
            ..ok(p, p.size, None)
        },
        Err(e) => fail(p, classify(&e)),
    }
}

/// One direct KMS call.
async fn execute_kms(env: &OpEnv<'_>, k: &KmsEnv, p: &Pick) -> Outcome {
    let Some(c) = k.clients.get(p.principal).or(k.clients.first()) else {
        return fail(p, "other".into());
    };
    match p.op {
        Op::GenerateDataKey => match c
            .generate_data_key()
            .key_id(&k.key_id)
            .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
            .set_encryption_context(Some(k.context.clone()))
            .send()
            .await
        {
            Ok(_) => ok(p, 32, None),
            Err(e) => fail(p, classify(&e)),
        },
        Op::Decrypt => {
            let Some((blob, plaintext)) = k.pool.get((p.key as usize) % k.pool.len().max(1)) else {
                return fail(p, "other".into());
            };
            match c
                .decrypt()
                .ciphertext_blob(aws_sdk_kms::primitives::Blob::new(blob.clone()))
                .set_encryption_context(Some(k.context.clone()))
                .send()
                .await
            {
                Ok(o) => {
                    let got = o.plaintext.as_ref().map(|b| b.as_ref());
                    if env.verify && got != Some(plaintext.as_slice()) {
                        return fail(p, INTEGRITY.into());
                    }
                    ok(p, plaintext.len() as u64, None)
                }
                Err(e) => fail(p, classify(&e)),
            }
        }
        _ => {
            let body =
                payload::generate(env.seed, p.stream as u32, p.key, p.version, p.size as usize);
            match c
                .encrypt()
                .key_id(&k.key_id)
                .plaintext(aws_sdk_kms::primitives::Blob::new(body.to_vec()))
                .set_encryption_context(Some(k.context.clone()))
                .send()
                .await
            {
                Ok(_) => ok(p, p.size, None),
                Err(e) => fail(p, classify(&e)),
            }
        }
    }
}

/// Makes `n` data keys for Decrypt to work on (before measuring; throttled calls are
/// retried after a pause, at most a few times each).
pub async fn kms_pool(
    client: &aws_sdk_kms::Client,
    key_id: &str,
    context: &std::collections::HashMap<String, String>,
    n: usize,
) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut pool = Vec::with_capacity(n);
    for _ in 0..n {
        let mut attempt = 0;
        let out = loop {
            match client
                .generate_data_key()
                .key_id(key_id)
                .key_spec(aws_sdk_kms::types::DataKeySpec::Aes256)
                .set_encryption_context(Some(context.clone()))
                .send()
                .await
            {
                Ok(o) => break o,
                Err(e) if classify(&e) == THROTTLED_KMS && attempt < 5 => {
                    attempt += 1;
                    // The quota window is one second: wait for the next one.
                    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
                }
                Err(e) => {
                    return Err(
                        crate::sdk_error::failure(e).context("making data keys for Decrypt")
                    );
                }
            }
        };
        match (out.ciphertext_blob, out.plaintext) {
            (Some(c), Some(p)) => pool.push((c.into_inner(), p.into_inner())),
            _ => return Err(Error::failure("GenerateDataKey returned no key material")),
        }
    }
    Ok(pool)
}
