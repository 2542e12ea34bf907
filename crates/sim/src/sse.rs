//! Server-side encryption: which mode a write gets (request headers, then the
//! bucket default), the checks S3 applies to SSE headers (docs/aws-behaviour.md §9), and
//! the envelope: data keys from KMS, Bucket Keys or the simulator's master key.

use crate::accounting::Caller;
use crate::bucket_key::BucketKeys;
use crate::crypto;
use crate::faults::FaultModel;
use crate::kms::{EncryptionContext, Kms, KmsError};
use base64::Engine as _;
use std::sync::Arc;

tokio::task_local! {
    /// Time one S3 request spent waiting on simulated KMS calls.
    pub static KMS_WAIT: std::cell::Cell<std::time::Duration>;
}

/// The encryption mode of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// SSE-S3 (`AES256`).
    Aes256,
    /// SSE-KMS (`aws:kms`).
    Kms,
    /// DSSE-KMS (`aws:kms:dsse`).
    Dsse,
}

impl Algorithm {
    /// Parses the header value.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AES256" => Some(Algorithm::Aes256),
            "aws:kms" => Some(Algorithm::Kms),
            "aws:kms:dsse" => Some(Algorithm::Dsse),
            _ => None,
        }
    }

    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Aes256 => "AES256",
            Algorithm::Kms => "aws:kms",
            Algorithm::Dsse => "aws:kms:dsse",
        }
    }
}

/// Encryption settings of one object, as reported on responses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SseInfo {
    /// Mode.
    pub algorithm: Algorithm,
    /// Full key ARN for KMS modes.
    pub key_arn: Option<String>,
    /// Whether a Bucket Key protects the object.
    pub bucket_key: bool,
    /// The user's encryption context (base64 JSON, as sent).
    pub context_b64: Option<String>,
    /// The user's encryption context, parsed.
    pub user_context: EncryptionContext,
}

/// How an object's data key is kept.
#[derive(Clone, Debug)]
pub enum Protection {
    /// Data key sealed under the simulator's master key.
    SseS3 {
        /// Sealed data key.
        wrapped: Vec<u8>,
    },
    /// Data key encrypted by KMS under the object-ARN context.
    Kms {
        /// KMS ciphertext blob.
        blob: Vec<u8>,
        /// Full encryption context.
        context: EncryptionContext,
    },
    /// Data key derived from a Bucket Key.
    BucketKey {
        /// The Bucket Key as KMS encrypted it.
        bucket_key_blob: Arc<Vec<u8>>,
        /// Per-object salt.
        salt: [u8; 16],
        /// Full encryption context of the Bucket Key.
        context: EncryptionContext,
    },
    /// Two layers: a KMS data key and an S3 data key.
    Dsse {
        /// KMS ciphertext blob of the inner key.
        blob: Vec<u8>,
        /// Full encryption context.
        context: EncryptionContext,
        /// Outer key sealed under the master key.
        wrapped: Vec<u8>,
    },
}

/// The plaintext keys of one object.
pub struct DataKeys {
    inner: [u8; 32],
    outer: Option<[u8; 32]>,
}

/// A bucket's default encryption.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BucketEncryption {
    /// `AES256`, `aws:kms` or `aws:kms:dsse`.
    pub algorithm: String,
    /// KMS key as configured (any reference form).
    pub kms_key: Option<String>,
    /// BucketKeyEnabled.
    pub bucket_key: bool,
}

impl Default for BucketEncryption {
    /// Every bucket encrypts with SSE-S3 by default (since January 2023).
    fn default() -> Self {
        BucketEncryption {
            algorithm: "AES256".into(),
            kms_key: None,
            bucket_key: false,
        }
    }
}

/// Why a write's SSE headers were refused (400 InvalidArgument).
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidSse(pub String);

/// SSE-related request headers of a write.
#[derive(Default, Debug)]
pub struct SseRequest<'a> {
    /// `x-amz-server-side-encryption`.
    pub algorithm: Option<&'a str>,
    /// `x-amz-server-side-encryption-aws-kms-key-id`.
    pub key_id: Option<&'a str>,
    /// `x-amz-server-side-encryption-context`.
    pub context: Option<&'a str>,
    /// `x-amz-server-side-encryption-bucket-key-enabled`.
    pub bucket_key: Option<bool>,
}

/// Encryption settings chosen for a write, before the key is resolved.
#[derive(Debug, PartialEq, Eq)]
pub struct Chosen {
    /// Mode.
    pub algorithm: Algorithm,
    /// Key reference as given; `None` with a KMS mode means `aws/s3`.
    pub key: Option<String>,
    /// Bucket Key use.
    pub bucket_key: bool,
    /// User context (raw header and parsed).
    pub context: Option<(String, EncryptionContext)>,
}

/// Applies docs/aws-behaviour.md §9 to a write's headers and the bucket default.
pub fn choose(req: &SseRequest<'_>, default: &BucketEncryption) -> Result<Chosen, InvalidSse> {
    let requested = match req.algorithm {
        None => None,
        Some(a) => Some(Algorithm::parse(a).ok_or_else(|| {
            InvalidSse(format!(
                "The encryption method specified is not supported: {a}"
            ))
        })?),
    };
    let kms_requested = matches!(requested, Some(Algorithm::Kms | Algorithm::Dsse));
    if !kms_requested && (req.key_id.is_some() || req.context.is_some() || req.bucket_key.is_some())
    {
        return Err(InvalidSse(
            "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms or aws:kms:dsse"
                .into(),
        ));
    }
    let context = match req.context {
        None => None,
        Some(raw) => Some((raw.to_owned(), parse_context(raw)?)),
    };
    let chosen = match requested {
        Some(algorithm) => Chosen {
            algorithm,
            key: req.key_id.map(str::to_owned),
            bucket_key: req
                .bucket_key
                .unwrap_or(default.bucket_key && algorithm == Algorithm::Kms),
            context,
        },
        None => {
            let algorithm = Algorithm::parse(&default.algorithm).unwrap_or(Algorithm::Aes256);
            Chosen {
                algorithm,
                key: if algorithm == Algorithm::Aes256 {
                    None
                } else {
                    default.kms_key.clone()
                },
                bucket_key: default.bucket_key && algorithm == Algorithm::Kms,
                context: None,
            }
        }
    };
    if chosen.algorithm == Algorithm::Dsse && req.bucket_key == Some(true) {
        return Err(InvalidSse(
            "S3 Bucket Keys are not supported with DSSE-KMS".into(),
        ));
    }
    Ok(chosen)
}

/// Parses `x-amz-server-side-encryption-context`: base64 of a JSON object of strings.
pub fn parse_context(raw: &str) -> Result<EncryptionContext, InvalidSse> {
    let bad = || {
        InvalidSse("The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string holding JSON which represents a string-string map".into())
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(raw.trim())
        .map_err(|_| bad())?;
    let ctx: EncryptionContext = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    if ctx.keys().any(|k| k.starts_with("aws:")) {
        return Err(InvalidSse(
            "The encryption context may not use keys beginning with 'aws:'".into(),
        ));
    }
    Ok(ctx)
}

/// The ARN S3 puts in an encryption context.
pub fn s3_arn(bucket: &str, key: Option<&str>) -> String {
    match key {
        Some(k) => format!("arn:aws:s3:::{bucket}/{k}"),
        None => format!("arn:aws:s3:::{bucket}"),
    }
}

/// The envelope machinery S3 uses: KMS, Bucket Keys and the master key.
pub struct Envelope {
    /// Simulated KMS.
    pub kms: Arc<Kms>,
    /// Bucket Key caches.
    pub bucket_keys: BucketKeys,
    faults: Arc<FaultModel>,
    master: [u8; 32],
}

impl Envelope {
    /// New envelope state with a fresh master key.
    pub fn new(kms: Arc<Kms>, bucket_keys: BucketKeys, faults: Arc<FaultModel>) -> Self {
        Envelope {
            kms,
            bucket_keys,
            faults,
            master: crypto::random_key(),
        }
    }

    /// One KMS call made by S3, after the simulated S3→KMS latency.
    async fn kms_call<T>(
        &self,
        f: impl FnOnce(&Kms) -> Result<T, KmsError>,
    ) -> Result<T, KmsError> {
        let d = self.faults.kms_delay();
        if !d.is_zero() {
            tokio::time::sleep(d).await;
            // The S3 front end adds its own latency on top of the KMS round trips S3 made.
            let _ = KMS_WAIT.try_with(|w| w.set(w.get() + d));
        }
        f(&self.kms)
    }

    /// Resolves the chosen key (or `aws/s3`) to its ARN without a billed KMS call.
    pub fn resolve_key(&self, chosen: &Chosen) -> Result<Option<String>, KmsError> {
        match chosen.algorithm {
            Algorithm::Aes256 => Ok(None),
            _ => match &chosen.key {
                Some(k) => self.kms.resolve_arn(k).map(Some),
                None => Ok(Some(self.kms.s3_managed_key())),
            },
        }
    }

    /// Makes the data keys of a new object: KMS GenerateDataKey, a Bucket Key, or local.
    pub async fn new_keys(
        &self,
        bucket: &str,
        key: &str,
        sse: &SseInfo,
        requester: &str,
    ) -> Result<(Protection, DataKeys), KmsError> {
        let caller = Caller::via_s3(requester, bucket);
        match (sse.algorithm, &sse.key_arn) {
            (Algorithm::Aes256, _) | (_, None) => {
                let dk = crypto::random_key();
                let wrapped = crypto::seal(&self.master, s3_arn(bucket, Some(key)).as_bytes(), &dk);
                Ok((
                    Protection::SseS3 { wrapped },
                    DataKeys {
                        inner: dk,
                        outer: None,
                    },
                ))
            }
            (Algorithm::Kms, Some(arn)) if sse.bucket_key => {
                let mut context = sse.user_context.clone();
                context.insert("aws:s3:arn".into(), s3_arn(bucket, None));
                let who = self.bucket_keys.requester(requester).to_owned();
                let cache_key = (who, bucket.to_owned(), arn.clone());
                let bk = self
                    .bucket_keys
                    .generate
                    .get_or_fetch(cache_key, || async {
                        let dk = self
                            .kms_call(|k| k.generate_data_key(arn, &context, 32, &caller, true))
                            .await?;
                        Ok::<_, KmsError>((to_key(&dk.plaintext)?, dk.ciphertext_blob))
                    })
                    .await?;
                let mut salt = [0u8; 16];
                salt.copy_from_slice(&crypto::random_bytes(16));
                let inner =
                    crypto::derive_key(&bk.plaintext, &salt, s3_arn(bucket, Some(key)).as_bytes());
                Ok((
                    Protection::BucketKey {
                        bucket_key_blob: bk.blob,
                        salt,
                        context,
                    },
                    DataKeys { inner, outer: None },
                ))
            }
            (alg, Some(arn)) => {
                let mut context = sse.user_context.clone();
                context.insert("aws:s3:arn".into(), s3_arn(bucket, Some(key)));
                let dk = self
                    .kms_call(|k| k.generate_data_key(arn, &context, 32, &caller, true))
                    .await?;
                let inner = to_key(&dk.plaintext)?;
                if alg == Algorithm::Dsse {
                    let outer = crypto::random_key();
                    let wrapped =
                        crypto::seal(&self.master, s3_arn(bucket, Some(key)).as_bytes(), &outer);
                    Ok((
                        Protection::Dsse {
                            blob: dk.ciphertext_blob,
                            context,
                            wrapped,
                        },
                        DataKeys {
                            inner,
                            outer: Some(outer),
                        },
                    ))
                } else {
                    Ok((
                        Protection::Kms {
                            blob: dk.ciphertext_blob,
                            context,
                        },
                        DataKeys { inner, outer: None },
                    ))
                }
            }
        }
    }

    /// Opens a data key sealed under the simulator's master key.
    fn unseal_local(&self, bucket: &str, key: &str, wrapped: &[u8]) -> Result<[u8; 32], KmsError> {
        crypto::open(&self.master, s3_arn(bucket, Some(key)).as_bytes(), wrapped)
            .map_err(|_| KmsError::InvalidCiphertext)
            .and_then(|k| to_key(&k))
    }

    /// Decrypts a KMS-wrapped key: as S3's metered call for `caller`, or unmetered without one.
    async fn kms_unwrap(
        &self,
        blob: &[u8],
        context: &EncryptionContext,
        caller: Option<&Caller>,
    ) -> Result<[u8; 32], KmsError> {
        match caller {
            Some(c) => {
                let (pt, _) = self.kms_call(|k| k.decrypt(blob, context, None, c)).await?;
                to_key(&pt)
            }
            None => to_key(&self.kms.decrypt_unmetered(blob, context)?),
        }
    }

    /// Recovers an object's data keys: a KMS Decrypt, a cached Bucket Key, or local.
    /// With `requester`, KMS work is S3's metered call on that requester's behalf; without
    /// one (steps where AWS makes no KMS call) nothing is counted, delayed or cached.
    pub async fn open_keys(
        &self,
        bucket: &str,
        key: &str,
        p: &Protection,
        requester: Option<&str>,
    ) -> Result<DataKeys, KmsError> {
        let caller = requester.map(|r| Caller::via_s3(r, bucket));
        let caller = caller.as_ref();
        let local = |wrapped: &[u8]| self.unseal_local(bucket, key, wrapped);
        match p {
            Protection::SseS3 { wrapped } => Ok(DataKeys {
                inner: local(wrapped)?,
                outer: None,
            }),
            Protection::Kms { blob, context } => Ok(DataKeys {
                inner: self.kms_unwrap(blob, context, caller).await?,
                outer: None,
            }),
            Protection::Dsse {
                blob,
                context,
                wrapped,
            } => Ok(DataKeys {
                inner: self.kms_unwrap(blob, context, caller).await?,
                outer: Some(local(wrapped)?),
            }),
            Protection::BucketKey {
                bucket_key_blob,
                salt,
                context,
            } => {
                let bucket_key = match requester {
                    Some(r) => {
                        self.bucket_keys
                            .decrypt
                            .get_or_fetch(
                                (
                                    self.bucket_keys.requester(r).to_owned(),
                                    bucket_key_blob.clone(),
                                ),
                                || async {
                                    let k =
                                        self.kms_unwrap(bucket_key_blob, context, caller).await?;
                                    Ok::<_, KmsError>((k, bucket_key_blob.to_vec()))
                                },
                            )
                            .await?
                            .plaintext
                    }
                    None => self.kms_unwrap(bucket_key_blob, context, None).await?,
                };
                Ok(DataKeys {
                    inner: crypto::derive_key(
                        &bucket_key,
                        salt,
                        s3_arn(bucket, Some(key)).as_bytes(),
                    ),
                    outer: None,
                })
            }
        }
    }
}

fn to_key(b: &[u8]) -> Result<[u8; 32], KmsError> {
    b.try_into().map_err(|_| KmsError::InvalidCiphertext)
}

impl DataKeys {
    /// Encrypts one part; DSSE adds the outer layer.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
        let inner = crypto::seal(&self.inner, aad, plaintext);
        match &self.outer {
            Some(o) => crypto::seal(o, aad, &inner),
            None => inner,
        }
    }

    /// Decrypts one part.
    pub fn open(&self, aad: &[u8], ciphertext: &[u8]) -> Result<Vec<u8>, crypto::AuthError> {
        match &self.outer {
            Some(o) => crypto::open(&self.inner, aad, &crypto::open(o, aad, ciphertext)?),
            None => crypto::open(&self.inner, aad, ciphertext),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(alg: Option<&'a str>, key: Option<&'a str>) -> SseRequest<'a> {
        SseRequest {
            algorithm: alg,
            key_id: key,
            ..Default::default()
        }
    }

    #[test]
    fn header_rules_follow_aws() {
        let d = BucketEncryption::default();
        assert!(choose(&req(Some("aes:kms"), None), &d).is_err());
        assert!(choose(&req(Some("AES256"), Some("k")), &d).is_err());
        assert!(choose(&req(None, Some("k")), &d).is_err());
        let bk_only = SseRequest {
            bucket_key: Some(true),
            ..Default::default()
        };
        assert!(choose(&bk_only, &d).is_err());
        let c = choose(&req(Some("aws:kms"), None), &d).unwrap();
        assert_eq!(
            (c.algorithm, c.key.as_deref(), c.bucket_key),
            (Algorithm::Kms, None, false)
        );
        let dsse_bk = SseRequest {
            algorithm: Some("aws:kms:dsse"),
            bucket_key: Some(true),
            ..Default::default()
        };
        assert!(choose(&dsse_bk, &d).is_err());
    }

    #[test]
    fn bucket_default_applies_and_header_overrides_bucket_key() {
        let d = BucketEncryption {
            algorithm: "aws:kms".into(),
            kms_key: Some("alias/k".into()),
            bucket_key: true,
        };
        let c = choose(&SseRequest::default(), &d).unwrap();
        assert_eq!(
            (c.algorithm, c.key.as_deref(), c.bucket_key),
            (Algorithm::Kms, Some("alias/k"), true)
        );
        let off = SseRequest {
            algorithm: Some("aws:kms"),
            bucket_key: Some(false),
            ..Default::default()
        };
        assert!(!choose(&off, &d).unwrap().bucket_key);
        let inherit = req(Some("aws:kms"), Some("alias/other"));
        assert!(choose(&inherit, &d).unwrap().bucket_key);
    }

    #[test]
    fn context_must_be_base64_json_of_strings() {
        let ok = base64::engine::general_purpose::STANDARD.encode(r#"{"team":"audio"}"#);
        assert_eq!(parse_context(&ok).unwrap()["team"], "audio");
        let nested = base64::engine::general_purpose::STANDARD.encode(r#"{"a":{"b":1}}"#);
        assert!(parse_context(&nested).is_err());
        assert!(parse_context("%%%").is_err());
    }
}
