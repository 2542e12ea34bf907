//! Multipart uploads: create, upload parts, complete, abort; every part sealed under
//! the upload's data keys.

use super::*;

/// create multipart upload.
pub(super) async fn create_multipart_upload(
    s: &SimS3,
    req: S3Request<CreateMultipartUploadInput>,
) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
    let (who, input, b) = begin!(s, req, "CreateMultipartUpload");
    let sse = s.sse_for_write(&b, &sse_request!(input))?;
    let (protection, _keys) = s
        .state
        .envelope
        .new_keys(&b.name, &input.key, &sse, &who)
        .await
        .map_err(kms_to_s3)?;
    let upload_id = uuid::Uuid::new_v4().simple().to_string();
    let answer = answer!(
        CreateMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            upload_id: Some(upload_id.clone()),
            ssekms_encryption_context: sse.context_b64.clone(),
            checksum_algorithm: input.checksum_algorithm.clone(),
        },
        &sse
    );
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
    Ok(S3Response::new(answer))
}

/// upload part.
pub(super) async fn upload_part(
    s: &SimS3,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let (who, input, b) = begin!(s, req, "UploadPart");
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
    let metered = s.state.config.upload_part_decrypt;
    let keys = s
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
    let blob = s
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
    Ok(S3Response::new(answer!(
        UploadPartOutput {
            e_tag: Some(quoted(&etag)),
        },
        &sse,
        checksum
    )))
}

/// complete multipart upload.
pub(super) async fn complete_multipart_upload(
    s: &SimS3,
    req: S3Request<CompleteMultipartUploadInput>,
) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
    let (who, input, b) = begin!(s, req, "CompleteMultipartUpload");
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
        && s.state.config.complete_checksum_decrypt;
    let keys = s
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
        let blob = s
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
    Ok(S3Response::new(answer!(
        CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(quoted(&etag)),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
        },
        &obj.sse
    )))
}

/// abort multipart upload.
pub(super) async fn abort_multipart_upload(
    s: &SimS3,
    req: S3Request<AbortMultipartUploadInput>,
) -> S3Result<S3Response<AbortMultipartUploadOutput>> {
    s.op("AbortMultipartUpload");
    let b = s.bucket(&req.input.bucket)?;
    b.uploads
        .lock()
        .remove(&req.input.upload_id)
        .ok_or_else(|| s3_error!(NoSuchUpload, "The specified upload does not exist."))?;
    Ok(S3Response::new(AbortMultipartUploadOutput::default()))
}
