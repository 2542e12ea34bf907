//! Envelope encryption per encryption mode and object size, as the simulator does
//! it for a PUT followed by a GET (seal, then open), without the KMS call:
//! - sse-s3: a fresh data key seals the object and is wrapped by the S3 master key;
//! - sse-kms: a data key (from KMS, not timed here) seals the object;
//! - sse-kms-bucket-key: the object key is derived from the Bucket Key (HKDF), then seals;
//! - dsse-kms: two independent AES-256-GCM layers.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sse_sim::crypto;

fn envelope(c: &mut Criterion) {
    let mut g = c.benchmark_group("envelope_encryption_seal_open");
    let master = crypto::random_key();
    let data_key = crypto::random_key();
    let bucket_key = crypto::random_key();
    let outer = crypto::random_key();
    let aad = b"arn:aws:s3:::bucket/key";
    for size in [1usize << 10, 64 << 10, 1 << 20] {
        let data = vec![7u8; size];
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("sse-s3", size), &data, |b, d| {
            b.iter(|| {
                let k = crypto::random_key();
                let wrapped = crypto::seal(&master, aad, &k);
                let sealed = crypto::seal(&k, aad, d);
                let k2: [u8; 32] = crypto::open(&master, aad, &wrapped)
                    .unwrap()
                    .try_into()
                    .unwrap();
                crypto::open(&k2, aad, &sealed).unwrap()
            })
        });
        g.bench_with_input(BenchmarkId::new("sse-kms", size), &data, |b, d| {
            b.iter(|| crypto::open(&data_key, aad, &crypto::seal(&data_key, aad, d)).unwrap())
        });
        g.bench_with_input(
            BenchmarkId::new("sse-kms-bucket-key", size),
            &data,
            |b, d| {
                b.iter(|| {
                    let k = crypto::derive_key(&bucket_key, b"0123456789abcdef", aad);
                    let sealed = crypto::seal(&k, aad, d);
                    let k2 = crypto::derive_key(&bucket_key, b"0123456789abcdef", aad);
                    crypto::open(&k2, aad, &sealed).unwrap()
                })
            },
        );
        g.bench_with_input(BenchmarkId::new("dsse-kms", size), &data, |b, d| {
            b.iter(|| {
                let inner = crypto::seal(&data_key, aad, d);
                let sealed = crypto::seal(&outer, aad, &inner);
                crypto::open(&data_key, aad, &crypto::open(&outer, aad, &sealed).unwrap()).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, envelope);
criterion_main!(benches);
