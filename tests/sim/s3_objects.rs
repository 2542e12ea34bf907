//! The simulator's object data paths through the real aws-sdk-s3 client: ranged GETs
//! and checksums, multipart uploads, copy, list and delete, encrypted storage on disk.

use crate::common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedPart, Delete, ObjectIdentifier, ServerSideEncryption};
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
    let out = complete(&t.s3, "bkt", "big", &id, done).await;
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
    let id = create_upload(&t.s3, "bkt", "gone").await;
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
