//! Criterion benches of the simulator's hot paths: envelope encryption per mode
//! and object size, and an in-process PUT+GET round trip per mode through aws-sdk-s3.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sse_bench::sim::{SimConfig, Simulator, crypto};
use sse_bench::target::{ClientOptions, StaticCredentials, s3_client};

fn envelope(c: &mut Criterion) {
    let mut g = c.benchmark_group("envelope_seal_open");
    let key = crypto::random_key();
    let outer = crypto::random_key();
    for size in [1usize << 10, 64 << 10, 1 << 20] {
        let data = vec![7u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("single_layer", size), &data, |b, d| {
            b.iter(|| crypto::open(&key, b"aad", &crypto::seal(&key, b"aad", d)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("dsse_two_layers", size), &data, |b, d| {
            b.iter(|| {
                let inner = crypto::seal(&key, b"aad", d);
                let sealed = crypto::seal(&outer, b"aad", &inner);
                crypto::open(
                    &key,
                    b"aad",
                    &crypto::open(&outer, b"aad", &sealed).unwrap(),
                )
                .unwrap()
            })
        });
    }
    g.finish();
}

fn round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (sim, s3) = rt.block_on(async {
        let sim = Simulator::start(SimConfig::default()).await.unwrap();
        let creds = StaticCredentials::from(&sim.credentials()[0]);
        let s3 = s3_client(&ClientOptions::endpoint(
            &sim.s3_endpoint(),
            "us-east-1",
            creds.clone(),
        ));
        let kms = sse_bench::target::kms_client(&ClientOptions::endpoint(
            &sim.kms_endpoint(),
            "us-east-1",
            creds,
        ));
        let key = kms
            .create_key()
            .send()
            .await
            .unwrap()
            .key_metadata
            .unwrap()
            .arn
            .unwrap();
        for (name, alg, bk) in [
            ("sse-s3", "AES256", false),
            ("sse-kms", "aws:kms", false),
            ("sse-kms-bk", "aws:kms", true),
            ("dsse-kms", "aws:kms:dsse", false),
        ] {
            use aws_sdk_s3::types::*;
            s3.create_bucket().bucket(name).send().await.unwrap();
            let mut d = ServerSideEncryptionByDefault::builder()
                .sse_algorithm(ServerSideEncryption::from(alg));
            if alg != "AES256" {
                d = d.kms_master_key_id(&key);
            }
            let rule = ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(d.build().unwrap())
                .bucket_key_enabled(bk)
                .build();
            s3.put_bucket_encryption()
                .bucket(name)
                .server_side_encryption_configuration(
                    ServerSideEncryptionConfiguration::builder()
                        .rules(rule)
                        .build()
                        .unwrap(),
                )
                .send()
                .await
                .unwrap();
        }
        (sim, s3)
    });
    let mut g = c.benchmark_group("put_get_round_trip_1KiB");
    let body = bytes::Bytes::from(vec![1u8; 1024]);
    for mode in ["sse-s3", "sse-kms", "sse-kms-bk", "dsse-kms"] {
        g.bench_function(mode, |b| {
            b.to_async(&rt).iter(|| async {
                s3.put_object()
                    .bucket(mode)
                    .key("k")
                    .body(body.clone().into())
                    .send()
                    .await
                    .unwrap();
                s3.get_object()
                    .bucket(mode)
                    .key("k")
                    .send()
                    .await
                    .unwrap()
                    .body
                    .collect()
                    .await
                    .unwrap();
            })
        });
    }
    g.finish();
    drop(sim);
}

criterion_group!(benches, envelope, round_trip);
criterion_main!(benches);
