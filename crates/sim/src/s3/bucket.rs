//! Bucket operations: create, head, delete, list; default encryption, tags,
//! lifecycle and versioning settings; the ACL and policy inspection tools read.

use super::*;

/// create bucket.
pub(super) async fn create_bucket(
    s: &SimS3,
    req: S3Request<CreateBucketInput>,
) -> S3Result<S3Response<CreateBucketOutput>> {
    s.op("CreateBucket");
    let name = req.input.bucket;
    let mut buckets = s.state.store.buckets.write();
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
            versioning_suspended: Default::default(),
        }),
    );
    Ok(S3Response::new(CreateBucketOutput {
        location: Some(format!("/{name}")),
    }))
}

/// head bucket.
pub(super) async fn head_bucket(
    s: &SimS3,
    req: S3Request<HeadBucketInput>,
) -> S3Result<S3Response<HeadBucketOutput>> {
    s.op("HeadBucket");
    s.bucket(&req.input.bucket)?;
    Ok(S3Response::new(HeadBucketOutput {
        bucket_region: Some(s.state.config.region.clone()),
        ..Default::default()
    }))
}

/// delete bucket.
pub(super) async fn delete_bucket(
    s: &SimS3,
    req: S3Request<DeleteBucketInput>,
) -> S3Result<S3Response<DeleteBucketOutput>> {
    s.op("DeleteBucket");
    let b = s.bucket(&req.input.bucket)?;
    let mut buckets = s.state.store.buckets.write();
    if !b.objects.read().is_empty() {
        return Err(s3_error!(
            BucketNotEmpty,
            "The bucket you tried to delete is not empty"
        ));
    }
    buckets.remove(&req.input.bucket);
    Ok(S3Response::new(DeleteBucketOutput {}))
}

/// list buckets.
pub(super) async fn list_buckets(
    s: &SimS3,
    _req: S3Request<ListBucketsInput>,
) -> S3Result<S3Response<ListBucketsOutput>> {
    s.op("ListBuckets");
    let buckets = s
        .state
        .store
        .buckets
        .read()
        .values()
        .map(|b| s3s::dto::Bucket {
            name: Some(b.name.clone()),
            creation_date: Some(timestamp(b.created)),
            bucket_region: Some(s.state.config.region.clone()),
        })
        .collect();
    Ok(S3Response::new(ListBucketsOutput {
        buckets: Some(buckets),
        ..Default::default()
    }))
}

/// put bucket encryption.
pub(super) async fn put_bucket_encryption(
    s: &SimS3,
    req: S3Request<PutBucketEncryptionInput>,
) -> S3Result<S3Response<PutBucketEncryptionOutput>> {
    s.op("PutBucketEncryption");
    let b = s.bucket(&req.input.bucket)?;
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

/// get bucket encryption.
pub(super) async fn get_bucket_encryption(
    s: &SimS3,
    req: S3Request<GetBucketEncryptionInput>,
) -> S3Result<S3Response<GetBucketEncryptionOutput>> {
    s.op("GetBucketEncryption");
    let enc = s.bucket(&req.input.bucket)?.encryption.read().clone();
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

/// delete bucket encryption.
pub(super) async fn delete_bucket_encryption(
    s: &SimS3,
    req: S3Request<DeleteBucketEncryptionInput>,
) -> S3Result<S3Response<DeleteBucketEncryptionOutput>> {
    s.op("DeleteBucketEncryption");
    *s.bucket(&req.input.bucket)?.encryption.write() = BucketEncryption::default();
    Ok(S3Response::new(DeleteBucketEncryptionOutput {}))
}

/// put bucket tagging.
pub(super) async fn put_bucket_tagging(
    s: &SimS3,
    req: S3Request<PutBucketTaggingInput>,
) -> S3Result<S3Response<PutBucketTaggingOutput>> {
    s.op("PutBucketTagging");
    let b = s.bucket(&req.input.bucket)?;
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

/// get bucket tagging.
pub(super) async fn get_bucket_tagging(
    s: &SimS3,
    req: S3Request<GetBucketTaggingInput>,
) -> S3Result<S3Response<GetBucketTaggingOutput>> {
    s.op("GetBucketTagging");
    let b = s.bucket(&req.input.bucket)?;
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

/// delete bucket tagging.
pub(super) async fn delete_bucket_tagging(
    s: &SimS3,
    req: S3Request<DeleteBucketTaggingInput>,
) -> S3Result<S3Response<DeleteBucketTaggingOutput>> {
    s.op("DeleteBucketTagging");
    *s.bucket(&req.input.bucket)?.tags.write() = None;
    Ok(S3Response::new(DeleteBucketTaggingOutput {}))
}

/// put bucket lifecycle configuration.
pub(super) async fn put_bucket_lifecycle_configuration(
    s: &SimS3,
    req: S3Request<PutBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<PutBucketLifecycleConfigurationOutput>> {
    s.op("PutBucketLifecycleConfiguration");
    let b = s.bucket(&req.input.bucket)?;
    *b.lifecycle.write() = req.input.lifecycle_configuration;
    Ok(S3Response::new(
        PutBucketLifecycleConfigurationOutput::default(),
    ))
}

/// get bucket lifecycle configuration.
pub(super) async fn get_bucket_lifecycle_configuration(
    s: &SimS3,
    req: S3Request<GetBucketLifecycleConfigurationInput>,
) -> S3Result<S3Response<GetBucketLifecycleConfigurationOutput>> {
    s.op("GetBucketLifecycleConfiguration");
    let b = s.bucket(&req.input.bucket)?;
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

/// get bucket versioning: buckets are unversioned, so no status unless versioning was
/// suspended (docs/aws-behaviour.md §10).
pub(super) async fn get_bucket_versioning(
    s: &SimS3,
    req: S3Request<GetBucketVersioningInput>,
) -> S3Result<S3Response<GetBucketVersioningOutput>> {
    s.op("GetBucketVersioning");
    let b = s.bucket(&req.input.bucket)?;
    let suspended = b.versioning_suspended.load(Ordering::Relaxed);
    Ok(S3Response::new(GetBucketVersioningOutput {
        status: suspended
            .then(|| BucketVersioningStatus::from_static(BucketVersioningStatus::SUSPENDED)),
        ..Default::default()
    }))
}

/// put bucket versioning: suspending is accepted (objects keep the `null` version they
/// have anyway); enabling is not simulated.
pub(super) async fn put_bucket_versioning(
    s: &SimS3,
    req: S3Request<PutBucketVersioningInput>,
) -> S3Result<S3Response<PutBucketVersioningOutput>> {
    s.op("PutBucketVersioning");
    let b = s.bucket(&req.input.bucket)?;
    match req
        .input
        .versioning_configuration
        .status
        .as_ref()
        .map(|v| v.as_str())
    {
        Some(BucketVersioningStatus::SUSPENDED) => {
            b.versioning_suspended.store(true, Ordering::Relaxed);
            Ok(S3Response::new(PutBucketVersioningOutput {}))
        }
        Some(BucketVersioningStatus::ENABLED) => Err(s3_error!(
            NotImplemented,
            "Bucket versioning is not simulated: sse-bench's buckets stay unversioned"
        )),
        _ => Err(s3_error!(
            MalformedXML,
            "The XML you provided was not well-formed or did not validate against our published schema"
        )),
    }
}

/// get bucket acl: the owner has full control, as on a new bucket with ACLs disabled.
pub(super) async fn get_bucket_acl(
    s: &SimS3,
    req: S3Request<GetBucketAclInput>,
) -> S3Result<S3Response<GetBucketAclOutput>> {
    s.op("GetBucketAcl");
    s.bucket(&req.input.bucket)?;
    let owner = super::listing::owner(s);
    Ok(S3Response::new(GetBucketAclOutput {
        grants: Some(vec![Grant {
            grantee: Some(Grantee {
                display_name: owner.display_name.clone(),
                id: owner.id.clone(),
                type_: Type::from_static(Type::CANONICAL_USER),
                email_address: None,
                uri: None,
            }),
            permission: Some(Permission::from_static(Permission::FULL_CONTROL)),
        }]),
        owner: Some(owner),
    }))
}

/// get bucket policy: buckets have none.
pub(super) async fn get_bucket_policy(
    s: &SimS3,
    req: S3Request<GetBucketPolicyInput>,
) -> S3Result<S3Response<GetBucketPolicyOutput>> {
    s.op("GetBucketPolicy");
    s.bucket(&req.input.bucket)?;
    Err(s3_error!(
        NoSuchBucketPolicy,
        "The bucket policy does not exist"
    ))
}
