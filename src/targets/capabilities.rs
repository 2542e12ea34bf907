//! What a target honours: one small PUT per encryption mode, judged by the response's
//! encryption headers. S3-compatible servers differ (moto echoes SSE-KMS without calling
//! a KMS and drops the key id of DSSE-KMS; MinIO has no Bucket Keys); a mode the target
//! does not honour is skipped rather than measured as something it is not.

use crate::driver::ops::Sse;
use crate::error::{Context as _, Result};
use crate::scenario::Mode;
use aws_sdk_s3::primitives::ByteStream;

/// The encryption headers of a PUT response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer {
    /// `x-amz-server-side-encryption`.
    pub algorithm: Option<String>,
    /// `x-amz-server-side-encryption-aws-kms-key-id`.
    pub kms_key_id: Option<String>,
    /// `x-amz-server-side-encryption-bucket-key-enabled`.
    pub bucket_key: Option<bool>,
}

/// What `answer` shows the target did instead of `mode`; `None` when it applied it.
pub fn mismatch(mode: Mode, answer: &Answer) -> Option<String> {
    let want = mode.algorithm();
    let got = answer.algorithm.as_deref().unwrap_or("");
    if got != want {
        return Some(if got.is_empty() {
            format!("the target stored the object without encryption headers (expected {want})")
        } else {
            format!("the target answered {got} (expected {want})")
        });
    }
    if mode.uses_kms() && answer.kms_key_id.as_deref().unwrap_or("").is_empty() {
        return Some(format!(
            "the target answered {got} without a KMS key id: it does not encrypt with a KMS key in this mode"
        ));
    }
    match (mode.bucket_key(), answer.bucket_key.unwrap_or(false)) {
        (true, false) => Some(
            "the target did not enable a Bucket Key (no bucket-key-enabled: true in its answer)"
                .into(),
        ),
        (false, true) => Some("the target enabled a Bucket Key the mode does not ask for".into()),
        _ => None,
    }
}

/// PUTs a 16-byte object at `key` (with `sse` headers when the bucket's default is not
/// the mode's), reads the answer, and deletes the object again.
pub async fn probe(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    sse: Option<&Sse>,
) -> Result<Answer> {
    let out = s3
        .put_object()
        .bucket(bucket)
        .key(key)
        .set_server_side_encryption(
            sse.map(|s| aws_sdk_s3::types::ServerSideEncryption::from(s.algorithm.as_str())),
        )
        .set_ssekms_key_id(sse.and_then(|s| s.kms_key_id.clone()))
        .set_bucket_key_enabled(sse.and_then(|s| s.bucket_key))
        .body(ByteStream::from_static(b"sse-bench probe\n"))
        .send()
        .await
        .map_err(crate::sdk_error::failure)
        .context("the probe PUT failed")?;
    let answer = Answer {
        algorithm: out.server_side_encryption().map(|a| a.as_str().to_owned()),
        kms_key_id: out.ssekms_key_id().map(str::to_owned),
        bucket_key: out.bucket_key_enabled(),
    };
    if let Err(e) = s3.delete_object().bucket(bucket).key(key).send().await {
        tracing::warn!(
            "{bucket}/{key}: the probe object was not deleted now (cleanup retries): {}",
            crate::sdk_error::describe(&e)
        );
    }
    Ok(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(alg: &str, key: Option<&str>, bk: Option<bool>) -> Answer {
        Answer {
            algorithm: (!alg.is_empty()).then(|| alg.to_owned()),
            kms_key_id: key.map(str::to_owned),
            bucket_key: bk,
        }
    }

    #[test]
    fn aws_answers_pass_for_every_mode() {
        let arn = Some("arn:aws:kms:us-east-1:111122223333:key/k");
        assert_eq!(mismatch(Mode::SseS3, &a("AES256", None, None)), None);
        assert_eq!(
            mismatch(Mode::SseKms, &a("aws:kms", arn, Some(false))),
            None
        );
        assert_eq!(
            mismatch(Mode::SseKmsBucketKey, &a("aws:kms", arn, Some(true))),
            None
        );
        assert_eq!(mismatch(Mode::DsseKms, &a("aws:kms:dsse", arn, None)), None);
    }

    #[test]
    fn what_foreign_servers_answer_is_refused_with_the_reason() {
        // moto: DSSE-KMS echoed without a key id.
        let e = mismatch(Mode::DsseKms, &a("aws:kms:dsse", None, None)).unwrap();
        assert!(e.contains("without a KMS key id"), "{e}");
        // No Bucket Key (MinIO).
        let e = mismatch(Mode::SseKmsBucketKey, &a("aws:kms", Some("k"), None)).unwrap();
        assert!(e.contains("Bucket Key"), "{e}");
        // Encryption ignored altogether.
        let e = mismatch(Mode::SseKms, &a("", None, None)).unwrap();
        assert!(e.contains("without encryption headers"), "{e}");
        // Another algorithm.
        let e = mismatch(Mode::SseKms, &a("AES256", None, None)).unwrap();
        assert!(e.contains("answered AES256"), "{e}");
    }
}
