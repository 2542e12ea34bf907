//! Operations foreign tools use, against the simulator through the real aws-sdk-s3
//! client: UploadPartCopy across SSE modes with exact KMS counts, ListParts, the
//! versioning and inspection calls of unversioned buckets, S3's default CRC64NVME
//! checksums and PartsCount (docs/aws-behaviour.md §1, §10).

use crate::common;

use aws_sdk_s3::types::{CompletedPart, Delete, ObjectIdentifier, ServerSideEncryption};
use common::*;
use sse_sim::SimConfig;

fn s3_kms(t: &Sim, api: &str) -> u64 {
    t.sim
        .stats()
        .kms
        .count_where(|c| c.via == sse_sim::Via::S3 && c.api == api)
}

/// A bucket of one of the three source/destination kinds UploadPartCopy is tested
/// across: no encryption configured (S3's SSE-S3 default applies), SSE-S3, SSE-KMS.
async fn kind_bucket(t: &Sim, name: &str, kind: &str) {
    match kind {
        "default" => {
            t.s3.create_bucket().bucket(name).send().await.unwrap();
        }
        "AES256" => bucket(&t.s3, name, "AES256", None, false).await,
        _ => bucket(&t.s3, name, "aws:kms", Some("alias/k"), false).await,
    }
}

#[tokio::test]
async fn upload_part_copy_across_modes_with_exact_kms_counts() {
    let kinds = ["default", "AES256", "aws:kms"];
    for src_kind in kinds {
        for dst_kind in kinds {
            let t = start(SimConfig::default()).await;
            key(&t.kms, "alias/k").await;
            kind_bucket(&t, "src", src_kind).await;
            kind_bucket(&t, "dst", dst_kind).await;
            let body = payload(12_000, 7);
            put(&t.s3, "src", "obj", body.clone()).await;
            t.sim.reset_stats();
            let id = create_upload(&t.s3, "dst", "copy").await;
            let mut done = Vec::new();
            for (n, range) in [(1, "bytes=0-4999"), (2, "bytes=5000-11999")] {
                let out =
                    t.s3.upload_part_copy()
                        .bucket("dst")
                        .key("copy")
                        .upload_id(&id)
                        .part_number(n)
                        .copy_source("src/obj")
                        .copy_source_range(range)
                        .send()
                        .await
                        .unwrap();
                let want = if dst_kind == "aws:kms" {
                    ServerSideEncryption::AwsKms
                } else {
                    ServerSideEncryption::Aes256
                };
                assert_eq!(
                    out.server_side_encryption,
                    Some(want),
                    "{src_kind}->{dst_kind}"
                );
                let etag = out.copy_part_result.unwrap().e_tag.unwrap();
                done.push(CompletedPart::builder().part_number(n).e_tag(etag).build());
            }
            let listed =
                t.s3.list_parts()
                    .bucket("dst")
                    .key("copy")
                    .upload_id(&id)
                    .send()
                    .await
                    .unwrap();
            let sizes: Vec<_> = listed.parts().iter().map(|p| p.size).collect();
            assert_eq!(sizes, [Some(5000), Some(7000)]);
            complete(&t.s3, "dst", "copy", &id, done).await;
            // docs/aws-behaviour.md §1: a KMS source is decrypted once per UploadPartCopy;
            // a KMS destination costs one GenerateDataKey for the upload and one Decrypt
            // of the upload's key per part.
            let (src_kms, dst_kms) = (src_kind == "aws:kms", dst_kind == "aws:kms");
            let label = format!("{src_kind}->{dst_kind}");
            assert_eq!(s3_kms(&t, "GenerateDataKey"), u64::from(dst_kms), "{label}");
            assert_eq!(
                s3_kms(&t, "Decrypt"),
                2 * u64::from(src_kms) + 2 * u64::from(dst_kms),
                "{label}"
            );
            assert_eq!(get(&t.s3, "dst", "copy").await, body, "{label}");
        }
    }
}

#[tokio::test]
async fn upload_part_copy_and_list_parts_errors() {
    let t = start(SimConfig::default()).await;
    bucket(&t.s3, "bkt", "AES256", None, false).await;
    put(&t.s3, "bkt", "src", payload(1000, 1)).await;
    let id = create_upload(&t.s3, "bkt", "dst").await;
    let copy = |source: &str, range: Option<&str>, upload: &str| {
        t.s3.upload_part_copy()
            .bucket("bkt")
            .key("dst")
            .upload_id(upload)
            .part_number(1)
            .copy_source(source)
            .set_copy_source_range(range.map(str::to_owned))
            .send()
    };
    let e = copy("bkt/src", Some("bytes=10-5"), &id).await.unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));
    assert!(s3_message(&e).contains("size: 1000"), "{}", s3_message(&e));
    let e = copy("bkt/src", Some("bytes=0-1000"), &id)
        .await
        .unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));
    let e = copy("bkt/src", Some("0-10"), &id).await.unwrap_err();
    assert!(s3_message(&e).contains("bytes=first-last"));
    let e = copy("bkt/missing", None, &id).await.unwrap_err();
    assert_eq!(s3_code(&e), ("NoSuchKey".into(), 404));
    let e = copy("bkt/src?versionId=abc", None, &id).await.unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));
    let e = copy("bkt/src", None, "no-such-upload").await.unwrap_err();
    assert_eq!(s3_code(&e), ("NoSuchUpload".into(), 404));
    // The `null` version of the source is the object itself.
    let out = copy("bkt/src?versionId=null", Some("bytes=0-99"), &id)
        .await
        .unwrap();
    assert!(out.copy_part_result.unwrap().e_tag.is_some());
    let e =
        t.s3.list_parts()
            .bucket("bkt")
            .key("dst")
            .upload_id("no-such-upload")
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("NoSuchUpload".into(), 404));
}

#[tokio::test]
async fn unversioned_buckets_answer_the_clean_up_and_inspection_calls() {
    let t = start(SimConfig::default()).await;
    bucket(&t.s3, "bkt", "AES256", None, false).await;
    for k in ["a", "b/1", "c"] {
        put(&t.s3, "bkt", k, vec![1; 10]).await;
    }
    let v =
        t.s3.get_bucket_versioning()
            .bucket("bkt")
            .send()
            .await
            .unwrap();
    assert_eq!(v.status, None, "never versioned: no status");
    let out =
        t.s3.list_object_versions()
            .bucket("bkt")
            .max_keys(2)
            .send()
            .await
            .unwrap();
    let keys: Vec<_> = out
        .versions()
        .iter()
        .map(|v| v.key().unwrap_or(""))
        .collect();
    assert_eq!(keys, ["a", "b/1"]);
    assert!(
        out.versions()
            .iter()
            .all(|v| v.version_id() == Some("null"))
    );
    assert!(out.versions().iter().all(|v| v.is_latest() == Some(true)));
    assert_eq!(out.is_truncated(), Some(true));
    let rest =
        t.s3.list_object_versions()
            .bucket("bkt")
            .key_marker(out.next_key_marker().unwrap())
            .send()
            .await
            .unwrap();
    assert_eq!(rest.versions().len(), 1);

    let e =
        t.s3.get_object()
            .bucket("bkt")
            .key("a")
            .version_id("3HL4kqtJlcpXroDTDmJ")
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));
    get_version_null(&t).await;

    let del =
        t.s3.delete_objects()
            .bucket("bkt")
            .delete(
                Delete::builder()
                    .objects(
                        ObjectIdentifier::builder()
                            .key("a")
                            .version_id("null")
                            .build()
                            .unwrap(),
                    )
                    .objects(
                        ObjectIdentifier::builder()
                            .key("c")
                            .version_id("other")
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    assert_eq!(del.deleted().len(), 1);
    assert_eq!(del.errors().len(), 1);
    assert_eq!(del.errors()[0].key(), Some("c"));

    let e =
        t.s3.put_bucket_versioning()
            .bucket("bkt")
            .versioning_configuration(
                aws_sdk_s3::types::VersioningConfiguration::builder()
                    .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("NotImplemented".into(), 501));
    assert!(s3_message(&e).contains("versioning is not simulated"));

    let acl = t.s3.get_bucket_acl().bucket("bkt").send().await.unwrap();
    let grant = &acl.grants()[0];
    assert_eq!(
        grant.permission(),
        Some(&aws_sdk_s3::types::Permission::FullControl)
    );
    assert_eq!(
        grant.grantee().and_then(|g| g.id()),
        acl.owner().and_then(|o| o.id())
    );
    let e =
        t.s3.get_bucket_policy()
            .bucket("bkt")
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("NoSuchBucketPolicy".into(), 404));
}

async fn get_version_null(t: &Sim) {
    let out =
        t.s3.get_object()
            .bucket("bkt")
            .key("a")
            .version_id("null")
            .send()
            .await
            .unwrap();
    assert_eq!(out.content_length(), Some(10));
}

#[tokio::test]
async fn default_crc64nvme_checksums_and_parts_count_on_head() {
    use aws_sdk_s3::config::RequestChecksumCalculation;
    use aws_sdk_s3::types::{ChecksumMode, ChecksumType};
    let t = start(SimConfig::default()).await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "bkt", "aws:kms", Some("alias/k"), false).await;
    // A client that sends no checksum: S3 adds CRC64NVME.
    let plain = aws_sdk_s3::Client::from_conf(
        t.s3.config()
            .to_builder()
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .build(),
    );
    let body = payload(3000, 9);
    let out = put(&plain, "bkt", "one", body.clone()).await;
    assert!(out.checksum_crc32().is_none());
    assert!(out.checksum_crc64_nvme().is_some());
    t.sim.reset_stats();
    // The SDK validates the returned CRC64NVME against the body it receives.
    let got = plain
        .get_object()
        .bucket("bkt")
        .key("one")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_crc64_nvme(), out.checksum_crc64_nvme());
    assert_eq!(
        got.body.collect().await.unwrap().into_bytes().as_ref(),
        &body[..]
    );
    let head = plain
        .head_object()
        .bucket("bkt")
        .key("one")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert!(head.checksum_crc64_nvme().is_some());
    // GET and HEAD with checksum mode each decrypt the data key (§1).
    assert_eq!(s3_kms(&t, "Decrypt"), 2);

    // A multipart upload without additional checksums gets a full-object CRC64NVME.
    let id = create_upload(&plain, "bkt", "mp").await;
    let mut done = Vec::new();
    for n in 1..=2 {
        let out = plain
            .upload_part_copy()
            .bucket("bkt")
            .key("mp")
            .upload_id(&id)
            .part_number(n)
            .copy_source("bkt/one")
            .send()
            .await
            .unwrap();
        let etag = out.copy_part_result.unwrap().e_tag.unwrap();
        done.push(CompletedPart::builder().part_number(n).e_tag(etag).build());
    }
    complete(&plain, "bkt", "mp", &id, done).await;
    let got = plain
        .get_object()
        .bucket("bkt")
        .key("mp")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_type(), Some(&ChecksumType::FullObject));
    assert!(got.checksum_crc64_nvme().is_some());
    assert_eq!(got.body.collect().await.unwrap().into_bytes().len(), 6000);

    // PartsCount answers only a question about a part, and only for multipart objects.
    let head = |k: &'static str, part: Option<i32>| {
        plain
            .head_object()
            .bucket("bkt")
            .key(k)
            .set_part_number(part)
            .send()
    };
    let h = head("mp", None).await.unwrap();
    assert_eq!((h.parts_count(), h.content_length()), (None, Some(6000)));
    let h = head("mp", Some(2)).await.unwrap();
    assert_eq!((h.parts_count(), h.content_length()), (Some(2), Some(3000)));
    let h = head("one", Some(1)).await.unwrap();
    assert_eq!(h.parts_count(), None);
}
