//! Helpers of the `forecast` tests: fixtures, the JSON of a forecast, a synthetic log.

use super::{sse_bench_command, sse_bench_output};
use serde_json::Value;
use std::io::Write as _;
use std::path::Path;

pub fn fixture(name: &str) -> String {
    format!("{}/tests/forecast/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn forecast_json(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json", "forecast"];
    all.extend_from_slice(args);
    let (code, out, err) = sse_bench_output(&all);
    assert_eq!(code, 0, "forecast failed: {err}");
    serde_json::from_str(&out).expect("forecast prints JSON")
}

/// A synthetic hour-long-shaped access log: ten minutes of two buckets' traffic from
/// four roles, sizes drawn from known distributions (seeded).
pub fn synthetic_log(path: &Path) {
    use rand::{Rng as _, SeedableRng as _};
    use rand_distr::Distribution as _;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let lognormal = rand_distr::LogNormal::new((20_000f64).ln(), 0.45).unwrap();
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for minute in 0..10u32 {
        // A wave: 3,000 to 6,000 requests a minute.
        let n = 3000 + 3000 * (minute % 5) / 4;
        for i in 0..n {
            let second = i * 60 / n;
            let raw = rng.random_bool(0.5);
            let pick: f64 = rng.random();
            let (bucket, op, who, size) = if raw {
                let size = lognormal.sample(&mut rng) as u64;
                match pick {
                    p if p < 0.3 => (
                        "media-raw",
                        "REST.PUT.OBJECT",
                        format!("assumed-role/ingest/s{}", i % 2),
                        size,
                    ),
                    p if p < 0.9 => (
                        "media-raw",
                        "REST.GET.OBJECT",
                        "assumed-role/etl/job".into(),
                        size,
                    ),
                    _ => (
                        "media-raw",
                        "REST.HEAD.OBJECT",
                        "assumed-role/etl/job".into(),
                        size,
                    ),
                }
            } else {
                let s: f64 = rng.random();
                let size = if s < 0.6 {
                    1024
                } else if s < 0.95 {
                    65_536
                } else {
                    1_048_576
                };
                match pick {
                    p if p < 0.1 => (
                        "media-curated",
                        "REST.PUT.OBJECT",
                        "assumed-role/etl/job".into(),
                        size,
                    ),
                    p if p < 0.95 => (
                        "media-curated",
                        "REST.GET.OBJECT",
                        "assumed-role/query/q".into(),
                        size,
                    ),
                    _ => (
                        "media-curated",
                        "REST.HEAD.OBJECT",
                        "assumed-role/dashboards/d".into(),
                        size,
                    ),
                }
            };
            writeln!(
                w,
                "owner {bucket} [01/Mar/2026:10:{minute:02}:{second:02} +0000] 10.0.0.1 arn:aws:sts::111122223333:{who} R{minute}x{i} {op} k/{i} \"X /{bucket}/k/{i} HTTP/1.1\" 200 - {size} {size} 5 4 \"-\" \"agent\" -"
            )
            .unwrap();
        }
    }
}

/// Runs `scenario` on the embedded target with its results in `out` and the
/// simulator's logs in `logs` (`--sim-logs`); panics with stderr if it fails.
pub fn run_with_sim_logs(scenario: &Path, out: &Path, logs: &Path) {
    let _turn = super::turns::load();
    let o = sse_bench_command()
        .args(["run", "-q"])
        .arg(scenario)
        .arg("--out")
        .arg(out)
        .arg("--sim-logs")
        .arg(logs)
        .output()
        .expect("run sse-bench");
    assert!(
        o.status.success(),
        "the run failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
