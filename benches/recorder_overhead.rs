//! Criterion bench of the recorder's cost per recorded operation.

use criterion::{Criterion, criterion_group, criterion_main};
use sse_bench::recorder::{Outcome, Recorder};
use sse_bench::scenario::{Mode, Op};
use std::time::{Duration, Instant};

fn record(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let rec = Recorder::new(dir.path(), Instant::now()).unwrap();
    rec.begin_step(Mode::SseKms, "steady", 0, true, vec!["main".into()]);
    let o = Outcome {
        op: Op::Get,
        stream: 0,
        bytes: 1024,
        ttfb: Some(Duration::from_micros(900)),
        error: None,
        parts: 0,
    };
    let mut i = 0u64;
    c.bench_function("recorder_overhead_per_recorded_operation", |b| {
        b.iter(|| {
            i += 1;
            rec.record(
                &o,
                Duration::from_micros(1000 + i % 5000),
                Duration::from_micros(900 + i % 5000),
            );
        })
    });
}

criterion_group!(benches, record);
criterion_main!(benches);
