//! The simulator's S3 API through the real aws-sdk-s3 client over HTTP.

mod common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier, ServerSideEncryption, Tag,
    Tagging,
};
use common::*;
use sse_bench::sim::SimConfig;

fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn bucket_operations() {
    let t = start(SimConfig::default()).await;
    let s3 = &t.s3;
    s3.create_bucket()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    s3.head_bucket().bucket("bucket-one").send().await.unwrap();
    let e = s3
        .create_bucket()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap_err();
    assert_eq!(s3_code(&e).0, "BucketAlreadyOwnedByYou");
    let names: Vec<_> = s3
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .filter_map(|b| b.name.clone())
        .collect();
    assert_eq!(names, ["bucket-one"]);

    // Every bucket has an SSE-S3 default, also after DeleteBucketEncryption.
    let enc = s3
        .get_bucket_encryption()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration.unwrap().rules[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default
            .as_ref()
            .unwrap()
            .sse_algorithm,
        ServerSideEncryption::Aes256
    );
    let arn = key(&t.kms, "alias/b").await;
    t.s3.delete_bucket()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    bucket(s3, "bucket-one", "aws:kms", Some("alias/b"), true).await;
    let enc = s3
        .get_bucket_encryption()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration.unwrap().rules[0];
    assert_eq!(rule.bucket_key_enabled, Some(true));
    assert_eq!(
        rule.apply_server_side_encryption_by_default
            .as_ref()
            .unwrap()
            .kms_master_key_id
            .as_deref(),
        Some("alias/b")
    );
    s3.delete_bucket_encryption()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    let enc = s3
        .get_bucket_encryption()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration.unwrap().rules[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default
            .as_ref()
            .unwrap()
            .sse_algorithm,
        ServerSideEncryption::Aes256
    );
    assert!(!arn.is_empty());

    let e = s3
        .get_bucket_tagging()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap_err();
    assert_eq!(s3_code(&e).0, "NoSuchTagSet");
    let tagging = Tagging::builder()
        .tag_set(
            Tag::builder()
                .key("sse-bench:run")
                .value("r1")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    s3.put_bucket_tagging()
        .bucket("bucket-one")
        .tagging(tagging)
        .send()
        .await
        .unwrap();
    let tags = s3
        .get_bucket_tagging()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tag_set()[0].value(), "r1");

    put(s3, "bucket-one", "k", b"x".to_vec()).await;
    let e = s3
        .delete_bucket()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap_err();
    assert_eq!(s3_code(&e), ("BucketNotEmpty".into(), 409));
    s3.delete_object()
        .bucket("bucket-one")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.delete_bucket()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    let e = s3
        .head_bucket()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap_err();
    assert_eq!(s3_code(&e).1, 404);
}

#[tokio::test]
async fn every_mode_round_trips_with_aws_response_headers_and_stores_ciphertext() {
    let t = start(SimConfig::default()).await;
    let arn = key(&t.kms, "alias/app").await;
    let cases = [
        (
            "sse-s3",
            "AES256",
            None,
            false,
            ServerSideEncryption::Aes256,
        ),
        (
            "sse-kms",
            "aws:kms",
            Some("alias/app"),
            false,
            ServerSideEncryption::AwsKms,
        ),
        (
            "sse-bk",
            "aws:kms",
            Some("alias/app"),
            true,
            ServerSideEncryption::AwsKms,
        ),
        (
            "dsse-kms",
            "aws:kms:dsse",
            Some("alias/app"),
            false,
            ServerSideEncryption::AwsKmsDsse,
        ),
    ];
    for (name, alg, key_ref, bk, expected) in cases {
        bucket(&t.s3, name, alg, key_ref, bk).await;
        let body = payload(100_000, 7);
        let out = put(&t.s3, name, "obj", body.clone()).await;
        assert_eq!(out.server_side_encryption, Some(expected.clone()), "{name}");
        assert_eq!(out.bucket_key_enabled, bk.then_some(true), "{name}");
        // The response names the key by its full ARN though the bucket used the alias.
        assert_eq!(
            out.ssekms_key_id.as_deref(),
            key_ref.map(|_| arn.as_str()),
            "{name}"
        );
        assert_eq!(get(&t.s3, name, "obj").await, body, "{name}");
        let head =
            t.s3.head_object()
                .bucket(name)
                .key("obj")
                .send()
                .await
                .unwrap();
        assert_eq!(head.content_length, Some(100_000));
        assert_eq!(head.server_side_encryption, Some(expected.clone()));
        assert_eq!(head.ssekms_key_id.as_deref(), key_ref.map(|_| arn.as_str()));

        // What is stored is ciphertext: no 32-byte window of the plaintext appears in it.
        let b = t.sim.state().store.bucket(name).unwrap();
        let obj = b.objects.read().get("obj").cloned().unwrap();
        let stored = obj.parts[0].blob.read().await.unwrap();
        assert!(stored.len() >= body.len());
        assert!(
            !stored.windows(32).any(|w| w == &body[1000..1032]),
            "{name}: plaintext stored"
        );
    }
}

#[tokio::test]
async fn request_headers_override_bucket_default_and_aws_s3_key_is_created_on_first_use() {
    let t = start(SimConfig::default()).await;
    t.s3.create_bucket().bucket("bkt").send().await.unwrap();
    let out =
        t.s3.put_object()
            .bucket("bkt")
            .key("k")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .body(ByteStream::from_static(b"hello"))
            .send()
            .await
            .unwrap();
    let managed = out.ssekms_key_id.unwrap();
    let aliases = t.kms.list_aliases().send().await.unwrap();
    let s3_alias = aliases
        .aliases()
        .iter()
        .find(|a| a.alias_name() == Some("alias/aws/s3"))
        .unwrap();
    assert!(managed.ends_with(s3_alias.target_key_id().unwrap()));
    let d = t
        .kms
        .describe_key()
        .key_id("alias/aws/s3")
        .send()
        .await
        .unwrap();
    assert_eq!(d.key_metadata.unwrap().key_manager.unwrap().as_str(), "AWS");

    // A per-request Bucket Key header on an aws:kms write.
    let out =
        t.s3.put_object()
            .bucket("bkt")
            .key("k2")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .bucket_key_enabled(true)
            .body(ByteStream::from_static(b"hello"))
            .send()
            .await
            .unwrap();
    assert_eq!(out.bucket_key_enabled, Some(true));
    assert_eq!(get(&t.s3, "bkt", "k2").await, b"hello");

    // A user encryption context is echoed and bound.
    use base64::Engine as _;
    let ctx = base64::engine::general_purpose::STANDARD.encode(r#"{"team":"audio"}"#);
    let out =
        t.s3.put_object()
            .bucket("bkt")
            .key("k3")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_encryption_context(&ctx)
            .body(ByteStream::from_static(b"ctx"))
            .send()
            .await
            .unwrap();
    assert_eq!(out.ssekms_encryption_context.as_deref(), Some(ctx.as_str()));
    assert_eq!(get(&t.s3, "bkt", "k3").await, b"ctx");
}

#[tokio::test]
async fn invalid_sse_headers_are_refused_like_aws() {
    let t = start(SimConfig::default()).await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "bkt", "aws:kms", Some("alias/k"), false).await;
    let body = || ByteStream::from_static(b"x");
    let e =
        t.s3.put_object()
            .bucket("bkt")
            .key("a")
            .ssekms_key_id("alias/k")
            .body(body())
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));
    let e =
        t.s3.put_object()
            .bucket("bkt")
            .key("a")
            .server_side_encryption(ServerSideEncryption::Aes256)
            .ssekms_key_id("alias/k")
            .body(body())
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));
    let e =
        t.s3.put_object()
            .bucket("bkt")
            .key("a")
            .server_side_encryption(ServerSideEncryption::from("aes:kms"))
            .body(body())
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));
    let e =
        t.s3.put_object()
            .bucket("bkt")
            .key("a")
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_encryption_context("not base64 json")
            .body(body())
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));

    // SSE headers on a read are refused.
    put(&t.s3, "bkt", "k", b"v".to_vec()).await;
    let e =
        t.s3.get_object()
            .bucket("bkt")
            .key("k")
            .customize()
            .mutate_request(|r| {
                r.headers_mut()
                    .insert("x-amz-server-side-encryption", "aws:kms");
            })
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400));
}

#[tokio::test]
async fn kms_errors_surface_as_s3_errors() {
    let t = start(SimConfig::default()).await;
    let arn = key(&t.kms, "alias/k").await;
    bucket(
        &t.s3,
        "unknown-key",
        "aws:kms",
        Some("alias/missing"),
        false,
    )
    .await;
    let e =
        t.s3.put_object()
            .bucket("unknown-key")
            .key("a")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("KMS.NotFoundException".into(), 400));

    bucket(&t.s3, "bkt", "aws:kms", Some(&arn), false).await;
    put(&t.s3, "bkt", "before", b"v".to_vec()).await;
    t.kms.disable_key().key_id(&arn).send().await.unwrap();
    let e =
        t.s3.put_object()
            .bucket("bkt")
            .key("a")
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("KMS.DisabledException".into(), 400));
    let e =
        t.s3.get_object()
            .bucket("bkt")
            .key("before")
            .send()
            .await
            .unwrap_err();
    assert_eq!(s3_code(&e), ("KMS.DisabledException".into(), 400));
    t.kms.enable_key().key_id(&arn).send().await.unwrap();
    assert_eq!(get(&t.s3, "bkt", "before").await, b"v");
}

#[tokio::test]
async fn ranged_get_and_checksums() {
    let t = start(SimConfig::default()).await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "bkt", "aws:kms", Some("alias/k"), false).await;
    let body = payload(10_000, 3);
    put(&t.s3, "bkt", "k", body.clone()).await;
    let out =
        t.s3.get_object()
            .bucket("bkt")
            .key("k")
            .range("bytes=100-199")
            .send()
            .await
            .unwrap();
    assert_eq!(out.content_range.as_deref(), Some("bytes 100-199/10000"));
    assert_eq!(
        out.body.collect().await.unwrap().into_bytes().as_ref(),
        &body[100..200]
    );
    let out =
        t.s3.get_object()
            .bucket("bkt")
            .key("k")
            .range("bytes=-10")
            .send()
            .await
            .unwrap();
    assert_eq!(
        out.body.collect().await.unwrap().into_bytes().as_ref(),
        &body[9990..]
    );
    let e =
        t.s3.get_object()
            .bucket("bkt")
            .key("k")
            .range("bytes=20000-")
            .send()
            .await
            .unwrap_err();
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
async fn wrong_credentials_get_403() {
    let t = start(SimConfig::default()).await;
    let good = sse_bench::sim::config::requester_credential(0);
    let bad_secret = sse_bench::target::StaticCredentials {
        access_key_id: good.access_key_id.clone(),
        secret_access_key: "wrong".into(),
    };
    let s3 = sse_bench::target::s3_client(&sse_bench::target::ClientOptions::endpoint(
        &t.sim.s3_endpoint(),
        "us-east-1",
        bad_secret.clone(),
    ));
    let e = s3.list_buckets().send().await.unwrap_err();
    assert_eq!(s3_code(&e), ("SignatureDoesNotMatch".into(), 403));
    let unknown = sse_bench::target::StaticCredentials {
        access_key_id: "AKIDUNKNOWN".into(),
        secret_access_key: "x".into(),
    };
    let s3 = sse_bench::target::s3_client(&sse_bench::target::ClientOptions::endpoint(
        &t.sim.s3_endpoint(),
        "us-east-1",
        unknown,
    ));
    let e = s3.list_buckets().send().await.unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidAccessKeyId".into(), 403));
    let kms = sse_bench::target::kms_client(&sse_bench::target::ClientOptions::endpoint(
        &t.sim.kms_endpoint(),
        "us-east-1",
        bad_secret,
    ));
    let e = kms.list_keys().send().await.unwrap_err();
    assert!(format!("{e:?}").contains("InvalidSignatureException"));
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
