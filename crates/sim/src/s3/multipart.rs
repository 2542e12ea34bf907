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
            checksum_algorithm: input.checksum_algorithm,
            parts: BTreeMap::new(),
        },
    );
    Ok(S3Response::new(answer))
}

/// The parts of an upload: `part_number` checked, the upload found (for `key`).
fn upload_of(b: &Bucket, upload_id: &str, key: &str) -> S3Result<(Protection, SseInfo)> {
    let uploads = b.uploads.lock();
    let u = uploads
        .get(upload_id)
        .filter(|u| u.key == key)
        .ok_or_else(|| s3_error!(NoSuchUpload, "The specified upload does not exist."))?;
    Ok((u.protection.clone(), u.sse.clone()))
}

fn check_part_number(n: i32) -> S3Result<()> {
    if (1..=10_000).contains(&n) {
        Ok(())
    } else {
        Err(invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
        ))
    }
}

/// Where a part goes and who sends it.
struct PartTarget<'a> {
    bucket: &'a Bucket,
    key: &'a str,
    upload_id: &'a str,
    part_number: i32,
    who: &'a str,
}

impl<'a> PartTarget<'a> {
    /// The part's place, once its number is valid and its upload exists (checked before
    /// the body or the copy source is read).
    fn checked(
        bucket: &'a Bucket,
        key: &'a str,
        upload_id: &'a str,
        part_number: i32,
        who: &'a str,
    ) -> S3Result<Self> {
        check_part_number(part_number)?;
        upload_of(bucket, upload_id, key)?;
        Ok(PartTarget {
            bucket,
            key,
            upload_id,
            part_number,
            who,
        })
    }
}

/// Seals a part under the upload's data keys and stores it (UploadPart and
/// UploadPartCopy). Returns the upload's encryption and the stored part's ETag and time.
async fn store_part(
    s: &SimS3,
    t: PartTarget<'_>,
    body: Body,
) -> S3Result<(SseInfo, String, OffsetDateTime)> {
    let (protection, sse) = upload_of(t.bucket, t.upload_id, t.key)?;
    // Each part needs the object's data key: for KMS objects S3 decrypts it (kms:Decrypt on UploadPart).
    let metered = s.state.config.upload_part_decrypt;
    let keys = s
        .open_keys(&t.bucket.name, t.key, &protection, metered.then_some(t.who))
        .await
        .map_err(kms_to_s3)?;
    let etag = etag_of(sse.algorithm, &body.data);
    // Parts are re-keyed by position at completion; seal under the part number until then.
    let ct = keys.seal(
        &part_aad(&t.bucket.name, t.key, t.part_number as usize + 100_000),
        &body.data,
    );
    let blob = s
        .state
        .store
        .make_blob(ct)
        .await
        .map_err(|e| s3_error!(e, InternalError))?;
    let now = OffsetDateTime::now_utc();
    let mut uploads = t.bucket.uploads.lock();
    let u = uploads
        .get_mut(t.upload_id)
        .ok_or_else(|| s3_error!(NoSuchUpload, "The specified upload does not exist."))?;
    u.parts.insert(
        t.part_number,
        Part {
            plain_len: body.data.len() as u64,
            blob,
            etag: etag.clone(),
            checksum: body.checksum,
            client_checksum: body.client_checksum,
            last_modified: now,
        },
    );
    Ok((sse, etag, now))
}

/// upload part.
pub(super) async fn upload_part(
    s: &SimS3,
    req: S3Request<UploadPartInput>,
) -> S3Result<S3Response<UploadPartOutput>> {
    let (who, input, b) = begin!(s, req, "UploadPart");
    let target = PartTarget::checked(&b, &input.key, &input.upload_id, input.part_number, &who)?;
    let want = checksum_request!(input);
    let body = read_body(input.body, input.content_length, want, req.trailing_headers).await?;
    let checksum = body.checksum.clone();
    let (sse, etag, _) = store_part(s, target, body).await?;
    Ok(S3Response::new(answer!(
        UploadPartOutput {
            e_tag: Some(quoted(&etag)),
        },
        &sse,
        checksum
    )))
}

/// The byte range of `x-amz-copy-source-range` (`bytes=first-last`, inclusive) in an
/// object of `size` bytes, as a half-open range.
fn copy_range(header: Option<&str>, size: u64) -> S3Result<std::ops::Range<u64>> {
    let Some(h) = header else {
        return Ok(0..size);
    };
    let parsed = h
        .strip_prefix("bytes=")
        .and_then(|r| r.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?)));
    let Some((first, last)) = parsed else {
        return Err(invalid_argument(
            "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
        ));
    };
    if first > last || last >= size {
        return Err(invalid_argument(format!(
            "Range specified is not valid for source object of size: {size}"
        )));
    }
    Ok(first..last + 1)
}

/// upload part copy: the source is read (a KMS source is decrypted as a GET would be,
/// for the requester) and the bytes become a part sealed under the upload's key.
pub(super) async fn upload_part_copy(
    s: &SimS3,
    req: S3Request<UploadPartCopyInput>,
) -> S3Result<S3Response<UploadPartCopyOutput>> {
    let (who, input, b) = begin!(s, req, "UploadPartCopy");
    let target = PartTarget::checked(&b, &input.key, &input.upload_id, input.part_number, &who)?;
    let (src_bucket, src_key) = copy_source(&input.copy_source)?;
    let sb = s.bucket(src_bucket)?;
    let src = s.object(&sb, src_key)?;
    let range = copy_range(input.copy_source_range.as_deref(), src.size)?;
    let keys = s
        .open_keys(src_bucket, src_key, &src.protection, Some(&who))
        .await
        .map_err(kms_to_s3)?;
    let data = s
        .read_plain(src_bucket, src_key, &src, &keys, range)
        .await?;
    let body = Body {
        checksum: default_checksum(&data),
        data,
        client_checksum: false,
    };
    let checksum = body.checksum.clone();
    let (sse, etag, at) = store_part(s, target, body).await?;
    Ok(S3Response::new(answer!(
        UploadPartCopyOutput {
            copy_part_result: Some(CopyPartResult {
                e_tag: Some(quoted(&etag)),
                last_modified: Some(timestamp(at)),
                checksum_crc64nvme: checksum.checksum_crc64nvme,
                ..Default::default()
            }),
        },
        &sse
    )))
}

/// list parts.
pub(super) async fn list_parts(
    s: &SimS3,
    req: S3Request<ListPartsInput>,
) -> S3Result<S3Response<ListPartsOutput>> {
    let (_who, input, b) = begin!(s, req, "ListParts");
    let max_parts = page_size(input.max_parts);
    let after = input.part_number_marker.unwrap_or(0);
    let uploads = b.uploads.lock();
    let u = uploads
        .get(&input.upload_id)
        .filter(|u| u.key == input.key)
        .ok_or_else(|| s3_error!(NoSuchUpload, "The specified upload does not exist."))?;
    let mut parts = Vec::new();
    let mut truncated = false;
    for (n, p) in u.parts.range(after.saturating_add(1)..) {
        if parts.len() >= max_parts {
            truncated = true;
            break;
        }
        parts.push(s3s::dto::Part {
            part_number: Some(*n),
            size: Some(p.plain_len as i64),
            e_tag: Some(quoted(&p.etag)),
            last_modified: Some(timestamp(p.last_modified)),
            checksum_crc32: p.checksum.checksum_crc32.clone(),
            checksum_crc32c: p.checksum.checksum_crc32c.clone(),
            checksum_sha1: p.checksum.checksum_sha1.clone(),
            checksum_sha256: p.checksum.checksum_sha256.clone(),
            checksum_crc64nvme: p.checksum.checksum_crc64nvme.clone(),
        });
    }
    let next = parts.last().and_then(|p| p.part_number);
    let owner = super::listing::owner(s);
    Ok(S3Response::new(ListPartsOutput {
        bucket: Some(input.bucket),
        key: Some(input.key),
        upload_id: Some(input.upload_id),
        part_number_marker: input.part_number_marker,
        next_part_number_marker: if truncated { next } else { None },
        max_parts: Some(max_parts as i32),
        is_truncated: Some(truncated),
        parts: Some(parts),
        checksum_algorithm: u.checksum_algorithm.clone(),
        initiator: Some(Initiator {
            display_name: owner.display_name.clone(),
            id: owner.id.clone(),
        }),
        owner: Some(owner),
        storage_class: Some(StorageClass::from_static(StorageClass::STANDARD)),
        ..Default::default()
    }))
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
    let chosen = match chosen_parts(&listed, &upload) {
        Ok(c) => c,
        Err(e) => {
            // A refused completion leaves the upload as it was.
            b.uploads.lock().insert(input.upload_id.clone(), upload);
            return Err(e);
        }
    };
    let with_checksums = upload.parts.values().any(|p| p.client_checksum);
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
    let (parts, etag, checksum) = reseal(
        s,
        &b.name,
        &input.key,
        &keys,
        &mut upload,
        &chosen,
        with_checksums,
    )
    .await?;
    let obj = Arc::new(Object {
        size: parts.iter().map(|p| p.plain_len).sum(),
        etag: etag.clone(),
        last_modified: OffsetDateTime::now_utc(),
        content_type: upload.content_type,
        metadata: upload.metadata,
        checksum,
        sse: upload.sse,
        protection: upload.protection,
        parts,
        multipart: true,
        corrupt: AtomicBool::new(false),
    });
    b.objects.write().insert(input.key.clone(), obj.clone());
    Ok(S3Response::new(answer!(
        CompleteMultipartUploadOutput {
            bucket: Some(input.bucket.clone()),
            key: Some(input.key.clone()),
            e_tag: Some(quoted(&etag)),
            location: Some(format!("/{}/{}", input.bucket, input.key)),
            checksum_crc64nvme: obj.checksum.checksum_crc64nvme.clone(),
            checksum_type: obj.checksum.checksum_type.clone(),
        },
        &obj.sse
    )))
}

/// The part numbers a completion lists, as S3 checks them: ascending, each uploaded
/// (with its ETag when one is given), at least one.
fn chosen_parts(listed: &[CompletedPart], upload: &Upload) -> S3Result<Vec<i32>> {
    let mut chosen = Vec::with_capacity(listed.len());
    let mut prev = 0;
    for p in listed {
        let n = p.part_number.unwrap_or(0);
        if n <= prev {
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
            return Err(s3_error!(
                InvalidPart,
                "One or more of the specified parts could not be found."
            ));
        }
        chosen.push(n);
    }
    if chosen.is_empty() {
        return Err(s3_error!(
            MalformedXML,
            "You must specify at least one part"
        ));
    }
    Ok(chosen)
}

/// The chosen parts re-sealed under their position in the object (so ranged reads
/// address parts by index), the multipart ETag, and the object's checksum (without
/// additional checksums, S3 gives it a full-object CRC64NVME).
async fn reseal(
    s: &SimS3,
    bucket: &str,
    key: &str,
    keys: &DataKeys,
    upload: &mut Upload,
    chosen: &[i32],
    with_checksums: bool,
) -> S3Result<(Vec<Part>, String, Checksum)> {
    let mut parts = Vec::with_capacity(chosen.len());
    let mut md5_of_etags = Md5::new();
    let mut crc = (!with_checksums).then(|| s3s::checksum::ChecksumHasher {
        crc64nvme: Some(Default::default()),
        ..Default::default()
    });
    for (i, n) in chosen.iter().enumerate() {
        let Some(p) = upload.parts.remove(n) else {
            return Err(s3_error!(InternalError));
        };
        md5_of_etags.update(p.etag.as_bytes());
        let ct = p
            .blob
            .read()
            .await
            .map_err(|e| s3_error!(e, InternalError))?;
        let pt = keys
            .open(&part_aad(bucket, key, *n as usize + 100_000), &ct)
            .map_err(|_| s3_error!(InternalError, "stored part failed authentication"))?;
        if let Some(h) = crc.as_mut() {
            h.update(&pt);
        }
        let blob = s
            .state
            .store
            .make_blob(keys.seal(&part_aad(bucket, key, i), &pt))
            .await
            .map_err(|e| s3_error!(e, InternalError))?;
        parts.push(Part { blob, ..p });
    }
    let etag = format!("{}-{}", hex::encode(md5_of_etags.finalize()), parts.len());
    let checksum = crc
        .map(|h| Checksum {
            checksum_crc64nvme: h.finalize().checksum_crc64nvme,
            checksum_type: Some(ChecksumType::from_static(ChecksumType::FULL_OBJECT)),
            ..Default::default()
        })
        .unwrap_or_default();
    Ok((parts, etag, checksum))
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
