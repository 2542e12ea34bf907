//! The simulator's object data paths through the real aws-sdk-s3 client: ranged GETs
//! and checksums, multipart uploads, copy, list and delete, encrypted storage on disk.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, ServerSideEncryption,
};
use common::*;
use sse_sim::SimConfig;

#[tokio::test]
async fn ranged_get_and_checksums() {
    let t = start(SimConfig::default()).await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "bkt", "aws:kms", Some("alias/k"), false).await;
    let body = payload(10_000, 3);
    put(&t.s3, "bkt", "k", body.clone()).await;
    let range = |r: &'static str| t.s3.get_object().bucket("bkt").key("k").range(r).send();
    let out = range("bytes=100-199").await.unwrap();
    assert_eq!(out.content_range.as_deref(), Some("bytes 100-199/10000"));
    assert_eq!(
        out.body.collect().await.unwrap().into_bytes().as_ref(),
        &body[100..200]
    );
    let out = range("bytes=-10").await.unwrap();
    assert_eq!(
        out.body.collect().await.unwrap().into_bytes().as_ref(),
        &body[9990..]
    );
    let e = range("bytes=20000-").await.unwrap_err();
    assert_eq!(s3_code(&e).1, 416);

    // The SDK sends CRC32 by default and the simulator stores and returns it.
    let out =
        t.s3.get_object()
            .bucket("bkt")
            .key("k")
            .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
            .send()
            .await
            .unwrap();
    assert!(out.checksum_crc32.is_some());

    // A wrong checksum is a 400 BadDigest and nothing is stored.
    let e =
        t.s3.put_object()
            .bucket("bkt")
            .key("bad")
            .checksum_crc32("AAAAAA==")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("BadDigest".into(), 400));
    let e =
        t.s3.head_object()
            .bucket("bkt")
            .key("bad")
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e).1, 404);
}

#[tokio::test]
async fn multipart_upload_with_kms() {
    let t = start(SimConfig::default()).await;
    let arn = key(&t.kms, "alias/k").await;
    bucket(&t.s3, "bkt", "aws:kms", Some("alias/k"), false).await;
    let create =
        t.s3.create_multipart_upload()
            .bucket("bkt")
            .key("big")
            .send()
            .await
            .unwrap();
    assert_eq!(create.ssekms_key_id.as_deref(), Some(arn.as_str()));
    let id = create.upload_id.unwrap();
    let parts: Vec<Vec<u8>> = (0..3)
        .map(|i| payload(if i < 2 { 5 << 20 } else { 1000 }, i as u8))
        .collect();
    let mut done = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let out =
            t.s3.upload_part()
                .bucket("bkt")
                .key("big")
                .upload_id(&id)
                .part_number(n)
                .body(p.clone().into())
                .send()
                .await
                .unwrap();
        assert_eq!(
            out.server_side_encryption,
            Some(ServerSideEncryption::AwsKms)
        );
        done.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag.unwrap())
                .set_checksum_crc32(out.checksum_crc32)
                .build(),
        );
    }
    let out =
        t.s3.complete_multipart_upload()
            .bucket("bkt")
            .key("big")
            .upload_id(&id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(done))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    assert!(out.e_tag.unwrap().ends_with("-3\""));
    let all: Vec<u8> = parts.concat();
    assert_eq!(get(&t.s3, "bkt", "big").await, all);
    let start = (5 << 20) - 10;
    let out =
        t.s3.get_object()
            .bucket("bkt")
            .key("big")
            .range(format!("bytes={start}-{}", start + 19))
            .send()
            .await
            .unwrap();
    assert_eq!(
        out.body.collect().await.unwrap().into_bytes().as_ref(),
        &all[start..start + 20]
    );
    let out =
        t.s3.get_object()
            .bucket("bkt")
            .key("big")
            .part_number(2)
            .send()
            .await
            .unwrap();
    assert_eq!(out.parts_count, Some(3));
    assert_eq!(
        out.body.collect().await.unwrap().into_bytes().as_ref(),
        &parts[1][..]
    );

    // Abort removes an upload.
    let id =
        t.s3.create_multipart_upload()
            .bucket("bkt")
            .key("gone")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
    t.s3.abort_multipart_upload()
        .bucket("bkt")
        .key("gone")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let e =
        t.s3.upload_part()
            .bucket("bkt")
            .key("gone")
            .upload_id(&id)
            .part_number(1)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e).0, "NoSuchUpload");
}

#[tokio::test]
async fn copy_list_and_delete() {
    let t = start(SimConfig::default()).await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "src-bucket", "AES256", None, false).await;
    bucket(&t.s3, "dst-bucket", "aws:kms", Some("alias/k"), true).await;
    for i in 0..5 {
        put(&t.s3, "src-bucket", &format!("dir/{i}"), vec![i as u8; 10]).await;
    }
    put(&t.s3, "src-bucket", "top", b"t".to_vec()).await;
    let out =
        t.s3.copy_object()
            .bucket("dst-bucket")
            .key("copied")
            .copy_source("src-bucket/dir/3")
            .send()
            .await
            .unwrap();
    assert_eq!(
        out.server_side_encryption,
        Some(ServerSideEncryption::AwsKms)
    );
    assert_eq!(out.bucket_key_enabled, Some(true));
    assert_eq!(get(&t.s3, "dst-bucket", "copied").await, vec![3u8; 10]);

    let l =
        t.s3.list_objects_v2()
            .bucket("src-bucket")
            .delimiter("/")
            .send()
            .await
            .unwrap();
    assert_eq!(
        l.contents()
            .iter()
            .map(|o| o.key().unwrap())
            .collect::<Vec<_>>(),
        ["top"]
    );
    assert_eq!(l.common_prefixes()[0].prefix(), Some("dir/"));
    let page1 =
        t.s3.list_objects_v2()
            .bucket("src-bucket")
            .prefix("dir/")
            .max_keys(2)
            .send()
            .await
            .unwrap();
    assert_eq!(page1.key_count, Some(2));
    assert_eq!(page1.is_truncated, Some(true));
    let page2 =
        t.s3.list_objects_v2()
            .bucket("src-bucket")
            .prefix("dir/")
            .continuation_token(page1.next_continuation_token.unwrap())
            .send()
            .await
            .unwrap();
    assert_eq!(
        page2
            .contents()
            .iter()
            .map(|o| o.key().unwrap())
            .collect::<Vec<_>>(),
        ["dir/2", "dir/3", "dir/4"]
    );

    let ids = (0..5)
        .map(|i| {
            ObjectIdentifier::builder()
                .key(format!("dir/{i}"))
                .build()
                .unwrap()
        })
        .collect();
    t.s3.delete_objects()
        .bucket("src-bucket")
        .delete(Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap();
    let l =
        t.s3.list_objects_v2()
            .bucket("src-bucket")
            .send()
            .await
            .unwrap();
    assert_eq!(l.key_count, Some(1));
}

#[tokio::test]
async fn objects_on_disk_are_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let t = start(SimConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..SimConfig::default()
    })
    .await;
    bucket(&t.s3, "bkt", "AES256", None, false).await;
    let body = payload(50_000, 9);
    put(&t.s3, "bkt", "k", body.clone()).await;
    let files: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1);
    let stored = std::fs::read(&files[0]).unwrap();
    assert!(!stored.windows(32).any(|w| w == &body[0..32]));
    assert_eq!(get(&t.s3, "bkt", "k").await, body);
    t.s3.delete_object()
        .bucket("bkt")
        .key("k")
        .send()
        .await
        .unwrap();
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

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
            let id =
                t.s3.create_multipart_upload()
                    .bucket("dst")
                    .key("copy")
                    .send()
                    .await
                    .unwrap()
                    .upload_id
                    .unwrap();
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
            t.s3.complete_multipart_upload()
                .bucket("dst")
                .key("copy")
                .upload_id(&id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(done))
                        .build(),
                )
                .send()
                .await
                .unwrap();
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
    let id =
        t.s3.create_multipart_upload()
            .bucket("bkt")
            .key("dst")
            .send()
            .await
            .unwrap()
            .upload_id
            .unwrap();
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
    let id = plain
        .create_multipart_upload()
        .bucket("bkt")
        .key("mp")
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap();
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
    plain
        .complete_multipart_upload()
        .bucket("bkt")
        .key("mp")
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(done))
                .build(),
        )
        .send()
        .await
        .unwrap();
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
