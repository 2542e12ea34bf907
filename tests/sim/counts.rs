//! Exact KMS call counts per mode (docs/aws-behaviour.md §1–§2), Bucket Key lifetimes on
//! a manual clock, and the shared quota.

use crate::common;

use aws_sdk_s3::primitives::ByteStream;
use common::*;
use futures::future::join_all;
use sse_sim::{Clock, SimConfig};
use std::time::Duration;

async fn put_get(t: &Sim, bucket_name: &str, puts: usize, gets: usize) {
    for i in 0..puts {
        put(&t.s3, bucket_name, &format!("k{i}"), vec![i as u8; 100]).await;
    }
    for i in 0..gets {
        get(&t.s3, bucket_name, &format!("k{}", i % puts)).await;
    }
}

fn s3_calls(t: &Sim, api: &str) -> u64 {
    t.sim
        .stats()
        .kms
        .count_where(|c| c.via == sse_sim::Via::S3 && c.api == api)
}

#[tokio::test]
async fn counts_per_mode_match_the_documented_rules() {
    let (n, m) = (20, 30);
    for (alg, bk, gdk, dec) in [
        ("AES256", false, 0, 0),
        ("aws:kms", false, n, m),
        ("aws:kms", true, 1, 1),
        ("aws:kms:dsse", false, n, m),
    ] {
        let t = start(SimConfig::default()).await;
        key(&t.kms, "alias/k").await;
        t.sim.reset_stats();
        bucket(
            &t.s3,
            "count-b",
            alg,
            (alg != "AES256").then_some("alias/k"),
            bk,
        )
        .await;
        put_get(&t, "count-b", n as usize, m as usize).await;
        for i in 0..5 {
            t.s3.head_object()
                .bucket("count-b")
                .key(format!("k{i}"))
                .send()
                .await
                .unwrap();
        }
        assert_eq!(s3_calls(&t, "GenerateDataKey"), gdk, "{alg} bk={bk}");
        assert_eq!(s3_calls(&t, "Decrypt"), dec, "{alg} bk={bk}");
        assert_eq!(
            t.sim.stats().kms.total,
            gdk + dec,
            "{alg}: HEAD makes no KMS call"
        );
    }
}

#[tokio::test]
async fn bucket_keys_cut_kms_calls_by_99_percent_under_concurrency() {
    let t = start(SimConfig::default()).await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "plain-kms", "aws:kms", Some("alias/k"), false).await;
    bucket(&t.s3, "with-bk", "aws:kms", Some("alias/k"), true).await;
    let n = 10_000u64;
    let mut calls = Vec::new();
    for b in ["plain-kms", "with-bk"] {
        t.sim.reset_stats();
        for chunk in (0..n).collect::<Vec<_>>().chunks(64) {
            join_all(chunk.iter().map(|i| {
                t.s3.put_object()
                    .bucket(b)
                    .key(format!("o{i}"))
                    .body(ByteStream::from_static(b"tiny"))
                    .send()
            }))
            .await
            .into_iter()
            .for_each(|r| {
                r.unwrap();
            });
        }
        calls.push(t.sim.stats().kms.total);
    }
    let (without, with) = (calls[0], calls[1]);
    assert_eq!(without, n);
    assert_eq!(
        with, 1,
        "one Bucket Key for one requester within one lifetime"
    );
    assert!((without - with) as f64 / without as f64 >= 0.99);
}

#[tokio::test]
async fn bucket_keys_are_per_requester_and_per_lifetime() {
    let clock = Clock::manual();
    let requesters = 3;
    let t = start_with_clock(
        SimConfig {
            requesters,
            ..SimConfig::default()
        },
        clock.clone(),
    )
    .await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "bk-bucket", "aws:kms", Some("alias/k"), true).await;
    t.sim.reset_stats();
    let clients: Vec<_> = (0..requesters as usize)
        .map(|r| s3_for(&t.sim, r))
        .collect();
    for (r, c) in clients.iter().enumerate() {
        for i in 0..10 {
            put(c, "bk-bucket", &format!("r{r}-{i}"), vec![1; 10]).await;
        }
    }
    for (r, c) in clients.iter().enumerate() {
        for i in 0..10 {
            get(c, "bk-bucket", &format!("r{}-{i}", (r + 1) % 3)).await;
        }
    }
    assert_eq!(s3_calls(&t, "GenerateDataKey"), 3);
    // Each requester decrypts the Bucket Key of the objects it reads: once per (requester, Bucket Key).
    assert_eq!(s3_calls(&t, "Decrypt"), 3);
    let per_requester: Vec<u64> = (0..3)
        .map(|r| {
            let ak = sse_sim::requester_credential(r).access_key_id;
            t.sim.stats().kms.count_where(|c| c.requester == ak)
        })
        .collect();
    assert_eq!(per_requester, [2, 2, 2]);

    // Within the lifetime nothing new; past it, one more of each per requester.
    clock.advance(Duration::from_secs(299));
    put(&clients[0], "bk-bucket", "again", vec![1]).await;
    get(&clients[0], "bk-bucket", "r1-0").await;
    assert_eq!(s3_calls(&t, "GenerateDataKey"), 3);
    assert_eq!(s3_calls(&t, "Decrypt"), 3);
    clock.advance(Duration::from_secs(1));
    put(&clients[0], "bk-bucket", "later", vec![1]).await;
    get(&clients[0], "bk-bucket", "r1-0").await;
    assert_eq!(s3_calls(&t, "GenerateDataKey"), 4);
    assert_eq!(s3_calls(&t, "Decrypt"), 4);
}

#[tokio::test]
async fn multipart_and_copy_counts() {
    let t = start(SimConfig::default()).await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "mp-kms", "aws:kms", Some("alias/k"), false).await;
    t.sim.reset_stats();
    let id = create_upload(&t.s3, "mp-kms", "m").await;
    let mut parts = Vec::new();
    for n in 1..=3 {
        let out =
            t.s3.upload_part()
                .bucket("mp-kms")
                .key("m")
                .upload_id(&id)
                .part_number(n)
                .body(vec![n as u8; 5 << 20].into())
                .send()
                .await
                .unwrap();
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag.unwrap())
                .set_checksum_crc32(out.checksum_crc32)
                .build(),
        );
    }
    assert_eq!(s3_calls(&t, "GenerateDataKey"), 1, "CreateMultipartUpload");
    assert_eq!(s3_calls(&t, "Decrypt"), 3, "one per UploadPart");
    complete(&t.s3, "mp-kms", "m", &id, parts).await;
    assert_eq!(
        s3_calls(&t, "Decrypt"),
        4,
        "Complete with additional checksums"
    );
    t.s3.copy_object()
        .bucket("mp-kms")
        .key("copy")
        .copy_source("mp-kms/m")
        .send()
        .await
        .unwrap();
    assert_eq!(s3_calls(&t, "Decrypt"), 5, "copy decrypts the source");
    assert_eq!(
        s3_calls(&t, "GenerateDataKey"),
        2,
        "copy encrypts the destination"
    );
}

#[tokio::test]
async fn quota_throttles_s3_and_direct_calls_within_one_window() {
    let clock = Clock::manual();
    let q = 50;
    let t = start_with_clock(
        SimConfig {
            kms_quota_rps: Some(q),
            ..SimConfig::default()
        },
        clock.clone(),
    )
    .await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "quota-b", "aws:kms", Some("alias/k"), false).await;
    let results = join_all((0..200).map(|i| {
        t.s3.put_object()
            .bucket("quota-b")
            .key(format!("o{i}"))
            .body(ByteStream::from_static(b"x"))
            .send()
    }))
    .await;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(
        ok as u64, q,
        "at most Q KMS-backed requests succeed in one second window"
    );
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(s3_code(r), ("SlowDown".into(), 503));
        assert_eq!(
            s3_message(r),
            "Please reduce your request rate for operations involving AWS KMS."
        );
    }
    // SSE-S3 writes are not limited by the KMS quota.
    bucket(&t.s3, "quota-s3", "AES256", None, false).await;
    put(&t.s3, "quota-s3", "fine", b"x".to_vec()).await;
    // Direct calls share the same window.
    let e = t
        .kms
        .generate_data_key()
        .key_id("alias/k")
        .number_of_bytes(32)
        .send()
        .await
        .unwrap_err();
    let meta = aws_sdk_kms::error::ProvideErrorMetadata::code(e.as_service_error().unwrap())
        .map(str::to_owned);
    assert_eq!(meta.as_deref(), Some("ThrottlingException"));
    let stats = t.sim.stats();
    assert_eq!(stats.kms.throttled, 151);
    assert_eq!(stats.kms.per_second[0].calls, q);
    // A new second opens a new window.
    clock.advance(Duration::from_secs(1));
    put(&t.s3, "quota-b", "next-second", b"x".to_vec()).await;
}

#[tokio::test]
async fn injected_faults_and_latency() {
    let t = start(SimConfig {
        faults: sse_sim::Faults {
            s3_5xx: 1.0,
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await;
    let e = t.s3.list_buckets().send().await.unwrap_err();
    assert_eq!(s3_code(&e), ("InternalError".into(), 500));

    let t = start(SimConfig {
        faults: sse_sim::Faults {
            connection_reset: 1.0,
            ..Default::default()
        },
        ..SimConfig::default()
    })
    .await;
    let e = t.s3.list_buckets().send().await.unwrap_err();
    assert!(
        matches!(
            e,
            aws_sdk_s3::error::SdkError::DispatchFailure(_)
                | aws_sdk_s3::error::SdkError::ResponseError(_)
        ),
        "{e:?}"
    );

    let t = start(SimConfig {
        s3_latency: sse_sim::LatencyModel::fixed(Duration::from_millis(50)),
        ..SimConfig::default()
    })
    .await;
    let started = std::time::Instant::now();
    t.s3.list_buckets().send().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(50),
        "the injected latency is a lower bound"
    );
}

#[tokio::test]
async fn kms_round_trips_add_to_s3_latency() {
    let ms = Duration::from_millis;
    let t = start(SimConfig {
        s3_latency: sse_sim::LatencyModel::fixed(ms(30)),
        kms_latency: sse_sim::LatencyModel::fixed(ms(30)),
        ..SimConfig::default()
    })
    .await;
    key(&t.kms, "alias/k").await;
    bucket(&t.s3, "lat-kms", "aws:kms", Some("alias/k"), false).await;
    let started = std::time::Instant::now();
    put(&t.s3, "lat-kms", "k", b"v".to_vec()).await;
    assert!(
        started.elapsed() >= ms(60),
        "S3 latency plus one KMS round trip: {:?}",
        started.elapsed()
    );
    let started = std::time::Instant::now();
    get(&t.s3, "lat-kms", "k").await;
    assert!(
        started.elapsed() >= ms(60),
        "GET decrypts through KMS: {:?}",
        started.elapsed()
    );
}

/// docs/aws-behaviour.md §2: credentials that are sessions of one role share the
/// role's Bucket Key; under the session rule each session fetches its own.
#[tokio::test]
async fn sessions_of_one_role_share_a_bucket_key() {
    for (rule, want) in [
        (sse_sim::RequesterRule::Role, 1),
        (sse_sim::RequesterRule::Session, 2),
    ] {
        let session = |i: u32| sse_sim::Credential {
            access_key_id: format!("SESSION{i}"),
            secret_access_key: format!("secret-{i}"),
            role: Some("arn:aws:iam::111122223333:role/etl".into()),
        };
        let config = SimConfig {
            credentials: vec![session(1), session(2)],
            bucket_key_requester: rule,
            ..SimConfig::default()
        };
        let t = start(config).await;
        key(&t.kms, "alias/k").await;
        bucket(&t.s3, "role-b", "aws:kms", Some("alias/k"), true).await;
        t.sim.reset_stats();
        for (n, i) in [(1, 0), (2, 1), (1, 2), (2, 3)] {
            let s3 = s3_for(&t.sim, n);
            put(&s3, "role-b", &format!("k{i}"), vec![1; 100]).await;
        }
        assert_eq!(s3_calls(&t, "GenerateDataKey"), want, "{rule:?}");
    }
}
