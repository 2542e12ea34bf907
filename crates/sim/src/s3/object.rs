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
    let (data, checksum) =
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
    let obj = s.object(&b, &input.key)?;
    let (range, content_range, parts_count) = if let Some(pn) = input.part_number {
        let idx = usize::try_from(pn - 1)
            .ok()
            .filter(|i| *i < obj.parts.len())
            .ok_or_else(|| s3_error!(InvalidPart, "The requested partnumber is not satisfiable"))?;
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
    Ok(S3Response::new(answer!(
        GetObjectOutput {
            content_length: Some(data.len() as i64),
            body: Some(StreamingBlob::from(s3s::Body::from(data))),
            content_range: content_range,
            parts_count: parts_count,
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
    let obj = s.object(&b, &input.key)?;
    let checksum = SimS3::with_stored_checksums(&obj, &input.checksum_mode);
    let stored = checksum.as_ref().is_some_and(|c| *c != Checksum::default());
    // Checksums of KMS objects are kept encrypted: reading them needs the data key (inferred).
    if stored && obj.sse.algorithm != Algorithm::Aes256 && s.state.config.head_checksum_decrypt {
        s.open_keys(&input.bucket, &input.key, &obj.protection, Some(&who))
            .await
            .map_err(kms_to_s3)?;
    }
    let checksum = checksum.unwrap_or_default();
    Ok(S3Response::new(answer!(
        HeadObjectOutput {
            content_length: Some(obj.size as i64),
            accept_ranges: Some("bytes".into()),
            e_tag: Some(quoted(&obj.etag)),
            last_modified: Some(timestamp(obj.last_modified)),
            content_type: obj.content_type.clone(),
            metadata: obj.metadata.clone(),
            parts_count: (obj.parts.len() > 1).then_some(obj.parts.len() as i32),
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

/// list objects v2.
pub(super) async fn list_objects_v2(
    s: &SimS3,
    req: S3Request<ListObjectsV2Input>,
) -> S3Result<S3Response<ListObjectsV2Output>> {
    s.op("ListObjectsV2");
    let input = req.input;
    let b = s.bucket(&input.bucket)?;
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

/// copy object.
pub(super) async fn copy_object(
    s: &SimS3,
    req: S3Request<CopyObjectInput>,
) -> S3Result<S3Response<CopyObjectOutput>> {
    s.op("CopyObject");
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
    let checksum = if src.parts.len() == 1 {
        src.checksum.clone()
    } else {
        Checksum::default()
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
