//! An in-process PUT + GET round trip of a 1 KiB object per encryption mode,
//! through aws-sdk-s3 against the simulator (latency models off): what each mode
//! costs the request path, KMS calls included.

mod common;

use criterion::{Criterion, criterion_group, criterion_main};

fn round_trip(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let bench = rt.block_on(common::start(&[
        ("sse-s3", "AES256", false),
        ("sse-kms", "aws:kms", false),
        ("sse-kms-bk", "aws:kms", true),
        ("dsse-kms", "aws:kms:dsse", false),
    ]));
    let s3 = &bench.s3;
    let mut g = c.benchmark_group("s3_put_get_round_trip_1KiB");
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

criterion_group!(benches, round_trip);
criterion_main!(benches);
