//! Throughput benchmark (not a test): how fast the simulator serves aws-sdk-s3,
//! where its KMS saturates, how close `run` gets to a bare SDK loop, the CPU
//! per operation, and (with `--soak SECS`) whether memory stays flat.
//!
//! `cargo bench --bench throughput -- [--seconds N] [--soak SECS]`. Under `cargo test`
//! (no `--bench` argument) it makes a 0.2 s smoke pass, so the bench keeps working.

mod common;

use sse_bench::run::{RunOptions, RunOutcome, run_loaded};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

fn cpu_seconds() -> f64 {
    // utime + stime of this process, in clock ticks (100 Hz on Linux).
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
    ticks / 100.0
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

const BUCKET: &str = "bench-kms";

async fn setup() -> common::BenchSim {
    common::start(&[(BUCKET, "aws:kms", false)]).await
}

/// One PutObject; true when it succeeded.
async fn put_ok(c: aws_sdk_s3::Client, key: String, body: bytes::Bytes) -> bool {
    c.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(body.into())
        .send()
        .await
        .is_ok()
}

/// One GetObject with its body read; true when it succeeded.
async fn get_ok(c: aws_sdk_s3::Client, key: String) -> bool {
    match c.get_object().bucket(BUCKET).key(key).send().await {
        Ok(o) => o.body.collect().await.is_ok(),
        Err(_) => false,
    }
}

/// PUT/s then GET/s of `body` over `keys` keys named `<prefix><n>`, at c = 64.
async fn put_get_rates(
    s3: &aws_sdk_s3::Client,
    prefix: &'static str,
    keys: u64,
    body: bytes::Bytes,
    secs: f64,
) -> (f64, f64) {
    let c = s3.clone();
    let put = bare_loop(64, secs, move |i| {
        put_ok(c.clone(), format!("{prefix}{}", i % keys), body.clone())
    })
    .await;
    let c = s3.clone();
    let get = bare_loop(64, secs, move |i| {
        get_ok(c.clone(), format!("{prefix}{}", i % keys))
    })
    .await;
    (put, get)
}

/// Runs a scenario text through the library, quietly, into a temporary directory.
async fn run_scenario(text: &str) -> RunOutcome {
    let ls = sse_bench::scenario::parse(std::path::Path::new("bench.toml"), text).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let opts = RunOptions {
        out: Some(dir.path().join("r")),
        quiet: true,
        ..Default::default()
    };
    run_loaded(&ls, opts, CancellationToken::new(), None)
        .await
        .unwrap()
}

/// Runs `f` from `concurrency` tasks for `secs`; returns completed calls per second.
async fn bare_loop<F, Fut>(concurrency: usize, secs: f64, f: F) -> f64
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (f, done) = (f.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = w as u64 * 1_000_000;
            while Instant::now() < deadline {
                if f(i).await {
                    done.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64()
}

fn arg(name: &str) -> Option<f64> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
}

fn harness_scenario(secs: f64, extra: &str) -> String {
    format!(
        "version = 1\nname = \"bench\"\nmodes = [\"sse-kms\"]\n[workload]\nkeys = 1000\nsize = \"1KiB\"\nmix = {{ put = 1, get = 1 }}\n[[phases]]\nname = \"m\"\nduration = \"{secs}s\"\n{extra}\n"
    )
}

// The same allocator as the sse-bench binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    // `cargo bench` passes --bench; `cargo test` does not: then only a smoke pass.
    let measuring = std::env::args().any(|a| a == "--bench");
    let secs = if measuring {
        arg("--seconds").unwrap_or(5.0)
    } else {
        0.2
    };
    let bench = setup().await;
    let (s3, kms, key) = (&bench.s3, &bench.kms, &bench.key);
    println!(
        "simulator throughput, latency models off, aws-sdk-s3 in the same process, {secs}s per figure"
    );

    let body1k = bytes::Bytes::from(vec![1u8; 1024]);
    let (put, get) = put_get_rates(s3, "k", 1000, body1k.clone(), secs).await;
    println!("  1 KiB SSE-KMS, c=64: {put:.0} PUT/s, {get:.0} GET/s");
    let c = s3.clone();
    let head = bare_loop(64, secs, move |i| {
        let c = c.clone();
        async move {
            c.head_object()
                .bucket(BUCKET)
                .key(format!("k{}", i % 1000))
                .send()
                .await
                .is_ok()
        }
    })
    .await;
    println!(
        "  floor of the HTTP + SigV4 + SDK path, HEAD (no body, no crypto), c=64: {head:.0} HEAD/s"
    );

    let (put_mib, get_mib) =
        put_get_rates(s3, "m", 64, bytes::Bytes::from(vec![2u8; 1 << 20]), secs).await;
    println!("  1 MiB SSE-KMS, c=64: {put_mib:.0} MiB/s PUT, {get_mib:.0} MiB/s GET");

    let (k, key2) = (kms.clone(), key.clone());
    let gdk = bare_loop(64, secs, move |_| {
        let (k, key2) = (k.clone(), key2.clone());
        async move {
            k.generate_data_key()
                .key_id(key2)
                .number_of_bytes(32)
                .send()
                .await
                .is_ok()
        }
    })
    .await;
    println!("  KMS GenerateDataKey via aws-sdk-kms, c=64: {gdk:.0} req/s (direct KMS saturation)");
    println!(
        "  SSE-KMS PUTs above make one KMS call each: S3-driven KMS saturates near {put:.0} req/s"
    );
    drop(bench);

    println!(
        "\nharness vs bare loop: 1 KiB SSE-KMS, 50% PUT / 50% GET, closed loop c=64, alternated twice"
    );
    let mut harness = Vec::new();
    let mut bare = Vec::new();
    let mut cpu_per_op = Vec::new();
    for _ in 0..2 {
        let bench = setup().await;
        for i in 0..1000 {
            assert!(put_ok(bench.s3.clone(), format!("main/{i:010}"), body1k.clone()).await);
        }
        let (c, b) = (bench.s3.clone(), body1k.clone());
        let cpu0 = cpu_seconds();
        let t0 = Instant::now();
        let rate = bare_loop(64, secs, move |i| {
            let key = format!("main/{:010}", (i * 7919) % 1000);
            let (c, b) = (c.clone(), b.clone());
            async move {
                if i % 2 == 0 {
                    put_ok(c, key, b).await
                } else {
                    get_ok(c, key).await
                }
            }
        })
        .await;
        let bare_cpu = (cpu_seconds() - cpu0) / (rate * t0.elapsed().as_secs_f64());
        bare.push(rate);
        drop(bench);

        let cpu0 = cpu_seconds();
        let out = run_scenario(&harness_scenario(secs, "concurrency = 64")).await;
        let cpu = cpu_seconds() - cpu0;
        let ops: u64 = out.summary.results.iter().map(|r| r.count).sum();
        let secs_measured: f64 = out
            .summary
            .steps
            .iter()
            .filter(|s| s.record)
            .map(|s| s.seconds)
            .sum();
        harness.push(ops as f64 / secs_measured);
        // The run's CPU also covers setup and prefill; report it per measured op as an upper bound.
        cpu_per_op.push((cpu / ops as f64, bare_cpu));
    }
    for i in 0..2 {
        println!(
            "  round {}: bare {:.0} ops/s, run {:.0} ops/s ({:.1}%); CPU per op (client + simulator): bare {:.0} µs, run {:.0} µs",
            i + 1,
            bare[i],
            harness[i],
            100.0 * harness[i] / bare[i],
            cpu_per_op[i].1 * 1e6,
            cpu_per_op[i].0 * 1e6
        );
    }
    let ratio = harness.iter().sum::<f64>() / bare.iter().sum::<f64>();
    println!("  run / bare loop: {:.1}%", 100.0 * ratio);

    if let Some(soak) = arg("--soak").filter(|_| measuring) {
        println!("\nsoak: open loop 2000 ops/s, 1 KiB SSE-KMS, {soak}s");
        let rss_before = rss_mib();
        let samples = Arc::new(parking_lot::Mutex::new(Vec::new()));
        let sampler = {
            let samples = samples.clone();
            tokio::spawn(async move {
                let start = Instant::now();
                loop {
                    tokio::time::sleep(Duration::from_secs(30)).await;
                    samples.lock().push((start.elapsed().as_secs(), rss_mib()));
                }
            })
        };
        let out = run_scenario(&harness_scenario(soak, "rate = 2000\nmax_in_flight = 256")).await;
        sampler.abort();
        let ops: u64 = out.summary.results.iter().map(|r| r.count).sum();
        println!(
            "  {ops} operations; RSS before {rss_before:.1} MiB, after {:.1} MiB",
            rss_mib()
        );
        for (t, r) in samples.lock().iter() {
            println!("    t={t:>4}s RSS {r:.1} MiB");
        }
    }
}
