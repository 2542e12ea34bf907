//! Criterion benches of the simulator's hot paths: envelope encryption per mode
//! and object size, and an in-process PUT+GET round trip per mode through aws-sdk-s3.

mod common;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sse_bench::sim::crypto;

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
    let bench = rt.block_on(common::start(&[
        ("sse-s3", "AES256", false),
        ("sse-kms", "aws:kms", false),
        ("sse-kms-bk", "aws:kms", true),
        ("dsse-kms", "aws:kms:dsse", false),
    ]));
    let s3 = &bench.s3;
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
    drop(bench);
}

criterion_group!(benches, envelope, round_trip);
criterion_main!(benches);
