//! Object operations: PUT, GET, HEAD, DELETE, LIST and COPY, each encrypting or
//! decrypting through the envelope.

use super::*;

/// put object.
pub(super) async fn put_object(
    s: &SimS3,
    req: S3Request<PutObjectInput>,
) -> S3Result<S3Response<PutObjectOutput>> {
    let (who, input, b) = begin!(s, req, "PutObject");
    let sse = s.sse_for_write(&b, &sse_request!(input))?;
    let want = checksum_request!(input);
    let Body { data, checksum, .. } =
        read_body(input.body, input.content_length, want, req.trailing_headers).await?;
    let obj = s
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
    Ok(S3Response::new(answer!(
        PutObjectOutput {
            e_tag: Some(quoted(&obj.etag)),
            ssekms_encryption_context: obj.sse.context_b64.clone(),
            size: Some(obj.size as i64),
        },
        &obj.sse,
        checksum
    )))
}

/// get object.
pub(super) async fn get_object(
    s: &SimS3,
    req: S3Request<GetObjectInput>,
) -> S3Result<S3Response<GetObjectOutput>> {
    let (who, input, b) = begin!(s, req, "GetObject", read);
    check_version(input.version_id.as_deref())?;
    let obj = s.object(&b, &input.key)?;
    let (range, content_range, parts_count) = if let Some(pn) = input.part_number {
        let (range, cr) = part_range(&obj, pn)?;
        (range, cr, obj.parts_count())
    } else if let Some(r) = &input.range {
        let r = r
            .check(obj.size)
            .map_err(|_| s3_error!(InvalidRange, "The requested range is not satisfiable"))?;
        let cr = format!("bytes {}-{}/{}", r.start, r.end.saturating_sub(1), obj.size);
        (r, Some(cr), None)
    } else {
        (0..obj.size, None, None)
    };
    let keys = s
        .open_keys(&input.bucket, &input.key, &obj.protection, Some(&who))
        .await
        .map_err(kms_to_s3)?;
    let full = content_range.is_none();
    let data = s
        .read_plain(&input.bucket, &input.key, &obj, &keys, range)
        .await?;
    let checksum = if full {
        SimS3::with_stored_checksums(&obj, &input.checksum_mode)
    } else {
        None
    }
    .unwrap_or_default();
    let checksum_type = checksum.checksum_type.clone();
    Ok(S3Response::new(answer!(
        GetObjectOutput {
            content_length: Some(data.len() as i64),
            body: Some(StreamingBlob::from(s3s::Body::from(data))),
            content_range: content_range,
            parts_count: parts_count,
            checksum_type: checksum_type,
            accept_ranges: Some("bytes".into()),
            e_tag: Some(quoted(&obj.etag)),
            last_modified: Some(timestamp(obj.last_modified)),
            content_type: obj.content_type.clone(),
            metadata: obj.metadata.clone(),
        },
        &obj.sse,
        checksum
    )))
}

/// head object.
pub(super) async fn head_object(
    s: &SimS3,
    req: S3Request<HeadObjectInput>,
) -> S3Result<S3Response<HeadObjectOutput>> {
    let (who, input, b) = begin!(s, req, "HeadObject", read);
    check_version(input.version_id.as_deref())?;
    let obj = s.object(&b, &input.key)?;
    // PartsCount only answers a question about a part (S3 API: HeadObject).
    let (content_length, parts_count) = match input.part_number {
        Some(pn) => {
            let (range, _) = part_range(&obj, pn)?;
            (range.end - range.start, obj.parts_count())
        }
        None => (obj.size, None),
    };
    let checksum = SimS3::with_stored_checksums(&obj, &input.checksum_mode);
    let stored = checksum.as_ref().is_some_and(|c| *c != Checksum::default());
    // Checksums of KMS objects are kept encrypted: reading them needs the data key (inferred).
    if stored && obj.sse.algorithm != Algorithm::Aes256 && s.state.config.head_checksum_decrypt {
        s.open_keys(&input.bucket, &input.key, &obj.protection, Some(&who))
            .await
            .map_err(kms_to_s3)?;
    }
    let checksum = checksum.unwrap_or_default();
    let checksum_type = checksum.checksum_type.clone();
    Ok(S3Response::new(answer!(
        HeadObjectOutput {
            content_length: Some(content_length as i64),
            accept_ranges: Some("bytes".into()),
            e_tag: Some(quoted(&obj.etag)),
            last_modified: Some(timestamp(obj.last_modified)),
            content_type: obj.content_type.clone(),
            metadata: obj.metadata.clone(),
            parts_count: parts_count,
            checksum_type: checksum_type,
        },
        &obj.sse,
        checksum
    )))
}

/// delete object.
pub(super) async fn delete_object(
    s: &SimS3,
    req: S3Request<DeleteObjectInput>,
) -> S3Result<S3Response<DeleteObjectOutput>> {
    s.op("DeleteObject");
    let b = s.bucket(&req.input.bucket)?;
    check_version(req.input.version_id.as_deref())?;
    b.objects.write().remove(&req.input.key);
    Ok(S3Response::new(DeleteObjectOutput::default()))
}

/// delete objects.
pub(super) async fn delete_objects(
    s: &SimS3,
    req: S3Request<DeleteObjectsInput>,
) -> S3Result<S3Response<DeleteObjectsOutput>> {
    s.op("DeleteObjects");
    let b = s.bucket(&req.input.bucket)?;
    let quiet = req.input.delete.quiet.unwrap_or(false);
    let mut deleted = Vec::new();
    let mut errors = Vec::new();
    {
        let mut objects = b.objects.write();
        for o in req.input.delete.objects {
            // Each entry fails on its own; the rest of the batch goes on (S3 API).
            if check_version(o.version_id.as_deref()).is_err() {
                errors.push(Error {
                    code: Some("InvalidArgument".into()),
                    message: Some(INVALID_VERSION.into()),
                    key: Some(o.key),
                    version_id: o.version_id,
                });
                continue;
            }
            objects.remove(&o.key);
            if !quiet {
                deleted.push(DeletedObject {
                    key: Some(o.key),
                    version_id: o.version_id,
                    ..Default::default()
                });
            }
        }
    }
    Ok(S3Response::new(DeleteObjectsOutput {
        deleted: Some(deleted),
        errors: (!errors.is_empty()).then_some(errors),
        ..Default::default()
    }))
}

/// copy object.
pub(super) async fn copy_object(
    s: &SimS3,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    s.op("CopyObject");
    let who = requester(&req);
    let input = req.input;
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    let sb = s.bucket(src_bucket)?;
    let src = s.object(&sb, src_key)?;
    let db = s.bucket(&input.bucket)?;
    let sse = s.sse_for_write(&db, &sse_request!(input))?;
    let keys = s
        .open_keys(src_bucket, src_key, &src.protection, Some(&who))
        .await
        .map_err(kms_to_s3)?;
    let data = s
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
    // A copy keeps a single-part source's checksum; otherwise S3 computes the default.
    let checksum = if src.parts.len() == 1 && src.checksum != Checksum::default() {
        src.checksum.clone()
    } else {
        default_checksum(&data)
    };
    let obj = s
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
    Ok(S3Response::new(answer!(
        CopyObjectOutput {
            copy_object_result: Some(CopyObjectResult {
                e_tag: Some(quoted(&obj.etag)),
                last_modified: Some(timestamp(obj.last_modified)),
                ..Default::default()
            }),
            ssekms_encryption_context: obj.sse.context_b64.clone(),
        },
        &obj.sse
    )))
}
