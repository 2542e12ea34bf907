//! The simulator's S3 API through the real aws-sdk-s3 client over HTTP: buckets,
//! every encryption mode with AWS's response headers, SSE header rules, KMS errors
//! surfaced as S3 errors, and credentials.

use crate::common;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ServerSideEncryption, Tag, Tagging};
use common::*;
use sse_sim::SimConfig;

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
    let default_rule = || async {
        let enc = s3
            .get_bucket_encryption()
            .bucket("bucket-one")
            .send()
            .await
            .unwrap();
        let rule = enc.server_side_encryption_configuration.unwrap().rules[0].clone();
        let by_default = rule
            .apply_server_side_encryption_by_default
            .clone()
            .unwrap();
        (rule, by_default)
    };
    assert_eq!(
        default_rule().await.1.sse_algorithm,
        ServerSideEncryption::Aes256
    );
    key(&t.kms, "alias/b").await;
    t.s3.delete_bucket()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    bucket(s3, "bucket-one", "aws:kms", Some("alias/b"), true).await;
    let (rule, by_default) = default_rule().await;
    assert_eq!(rule.bucket_key_enabled, Some(true));
    assert_eq!(by_default.kms_master_key_id.as_deref(), Some("alias/b"));
    s3.delete_bucket_encryption()
        .bucket("bucket-one")
        .send()
        .await
        .unwrap();
    assert_eq!(
        default_rule().await.1.sse_algorithm,
        ServerSideEncryption::Aes256
    );

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
    // Objects go to files here, so what the simulator stores can be read back as it is.
    let data = tempfile::tempdir().unwrap();
    let t = start(SimConfig {
        data_dir: Some(data.path().to_owned()),
        ..SimConfig::default()
    })
    .await;
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

        // What is stored is ciphertext: no 32-byte window of the plaintext appears in any
        // file of the data directory, and the object's file is there.
        let mut files = 0;
        for f in std::fs::read_dir(data.path()).unwrap() {
            let stored = std::fs::read(f.unwrap().path()).unwrap();
            files += usize::from(stored.len() >= body.len());
            assert!(
                !stored.windows(32).any(|w| w == &body[1000..1032]),
                "{name}: plaintext stored"
            );
        }
        assert!(files > 0, "{name}: no stored object in the data directory");
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
    type Put = aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder;
    type Headers = fn(Put) -> Put;
    let cases: [(&str, Headers); 4] = [
        ("a KMS key without aws:kms", |p| p.ssekms_key_id("alias/k")),
        ("AES256 with a KMS key", |p| {
            p.server_side_encryption(ServerSideEncryption::Aes256)
                .ssekms_key_id("alias/k")
        }),
        ("an unknown algorithm", |p| {
            p.server_side_encryption(ServerSideEncryption::from("aes:kms"))
        }),
        ("a context that is not base64 JSON", |p| {
            p.server_side_encryption(ServerSideEncryption::AwsKms)
                .ssekms_encryption_context("not base64 json")
        }),
    ];
    for (what, headers) in cases {
        let put = t.s3.put_object().bucket("bkt").key("a");
        let e = headers(put)
            .body(ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(s3_code(&e), ("InvalidArgument".into(), 400), "{what}");
    }

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
async fn wrong_credentials_get_403() {
    let t = start(SimConfig::default()).await;
    let good = sse_sim::requester_credential(0);
    let bad_secret = sse_bench::targets::StaticCredentials {
        access_key_id: good.access_key_id.clone(),
        secret_access_key: "wrong".into(),
    };
    let s3 = sse_bench::targets::s3_client(&sse_bench::targets::ClientOptions::endpoint(
        &t.sim.s3_endpoint(),
        "us-east-1",
        bad_secret.clone(),
    ));
    let e = s3.list_buckets().send().await.unwrap_err();
    assert_eq!(s3_code(&e), ("SignatureDoesNotMatch".into(), 403));
    let unknown = sse_bench::targets::StaticCredentials {
        access_key_id: "AKIDUNKNOWN".into(),
        secret_access_key: "x".into(),
    };
    let s3 = sse_bench::targets::s3_client(&sse_bench::targets::ClientOptions::endpoint(
        &t.sim.s3_endpoint(),
        "us-east-1",
        unknown,
    ));
    let e = s3.list_buckets().send().await.unwrap_err();
    assert_eq!(s3_code(&e), ("InvalidAccessKeyId".into(), 403));
    let kms = sse_bench::targets::kms_client(&sse_bench::targets::ClientOptions::endpoint(
        &t.sim.kms_endpoint(),
        "us-east-1",
        bad_secret,
    ));
    let e = kms.list_keys().send().await.unwrap_err();
    assert!(format!("{e:?}").contains("InvalidSignatureException"));
}
