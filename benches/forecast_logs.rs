//! How fast `forecast` reads S3 server access logs (issue: at least 1,000,000 lines a
//! second on two cores, memory bounded whatever the input size).
//!
//! A generator writes one file of 1,000,000 access-log lines shaped like the
//! simulator's (4 buckets, 12 assumed-role sessions of 4 roles, PUT/GET/HEAD, a few
//! errors, one hour of seconds); the benchmark reads it ten times over (10 million
//! lines) through the same path as `forecast`: files shared among reader threads,
//! lines parsed and counted per second, bucket, requester and operation, the readers'
//! counts merged. It prints lines per second and the peak resident memory.
//!
//! `cargo bench --bench forecast_logs`. Under `cargo test` (no `--bench` argument) it
//! reads 20,000 lines once, so the bench keeps working.

use criterion::{Criterion, Throughput};
use sse_bench::forecast::source::{Kind, LogFile, ReadOptions, read_all};
use std::io::Write as _;
use std::time::Duration;

fn generate(path: &std::path::Path, lines: u64) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    let roles = ["ingest", "etl", "query", "dashboards"];
    let ops = [
        ("REST.PUT.OBJECT", "PUT"),
        ("REST.GET.OBJECT", "GET"),
        ("REST.GET.OBJECT", "GET"),
        ("REST.HEAD.OBJECT", "HEAD"),
    ];
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..lines {
        // xorshift: a reproducible spread of buckets, requesters, keys and sizes.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let bucket = format!("media-{}", x % 4);
        let role = roles[(x >> 8) as usize % roles.len()];
        let session = (x >> 12) % 3;
        let (op, method) = ops[(x >> 16) as usize % ops.len()];
        let key = format!("obj/{:06}", (x >> 20) % 100_000);
        let size = 1024 + (x >> 40) % 65_536;
        let status = if x.is_multiple_of(97) {
            "404 NoSuchKey"
        } else {
            "200 -"
        };
        // An hour of traffic, in time order as S3 writes it.
        let second = i * 3600 / lines.max(1);
        let (m, s) = (second / 60, second % 60);
        writeln!(
            w,
            "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be {bucket} [01/Mar/2026:10:{m:02}:{s:02} +0000] 10.0.0.1 arn:aws:sts::111122223333:assumed-role/{role}/session-{session} {i:016X} {op} {key} \"{method} /{bucket}/{key} HTTP/1.1\" {status} {size} {size} 12 10 \"-\" \"aws-sdk-java/2.20 Linux/6.1 OpenJDK_64-Bit_Server_VM/17\" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3= SigV4 TLS_AES_128_GCM_SHA256 AuthHeader {bucket}.s3.eu-central-1.amazonaws.com TLSv1.3 - - eu-central-1"
        )?;
    }
    w.flush()
}

fn rss_peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() {
    let bench = std::env::args().any(|a| a == "--bench");
    let (per_file, copies) = if bench {
        (1_000_000u64, 10usize)
    } else {
        (10_000, 2)
    };
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("access.log");
    generate(&path, per_file).expect("generate the log");
    let files: Vec<LogFile> = (0..copies)
        .map(|_| LogFile {
            path: path.clone(),
            kind: Kind::AccessLogs,
        })
        .collect();
    let lines = per_file * copies as u64;
    let mut c = Criterion::default()
        .configure_from_args()
        .without_plots()
        .sample_size(10)
        .measurement_time(Duration::from_secs(if bench { 60 } else { 1 }));
    let mut g = c.benchmark_group("forecast");
    g.throughput(Throughput::Elements(lines));
    let read = |files: &[LogFile], dedupe: bool| {
        read_all(
            files,
            ReadOptions {
                traffic_from_trail: false,
                threads: 2,
                dedupe,
                ..ReadOptions::default()
            },
        )
        .expect("read")
    };
    g.bench_function(format!("access_log_lines_{lines}_2_threads"), |b| {
        b.iter(|| {
            let t = read(&files, false);
            assert_eq!(t.records, lines);
            t
        })
    });
    // One file (request IDs all different): the cost of removing duplicates.
    g.throughput(Throughput::Elements(per_file));
    for dedupe in [false, true] {
        g.bench_function(format!("one_file_{per_file}_lines_dedupe_{dedupe}"), |b| {
            b.iter(|| {
                let t = read(&files[..1], dedupe);
                assert_eq!(t.duplicates, 0);
                t
            })
        });
    }
    g.finish();
    c.final_summary();
    println!(
        "peak resident memory: {:.0} MiB ({lines} lines per iteration)",
        rss_peak_mib()
    );
}
