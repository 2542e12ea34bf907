//! Records every operation into HdrHistograms per (mode, phase, round, stream,
//! operation) and per-second interval histograms, which are streamed to disk as
//! they close (`timeseries.csv`, `histograms/*.hlog`), so memory stays flat
//! however long the run.

use crate::results::hlog::{self, HlogWriter};
use crate::results::record::{
    Hist, OfferedSecond, OpStats, OpenLoad, SeriesKey, StepTotals, THROTTLED_KMS, new_hist,
};
use crate::results::timeseries::{self, SecondRow, milli};
use crate::scenario::{Mode, Op};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// What one operation did.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Operation.
    pub op: Op,
    /// Stream index.
    pub stream: usize,
    /// Payload bytes moved.
    pub bytes: u64,
    /// Time to first byte (GET).
    pub ttfb: Option<Duration>,
    /// Error class, if it failed.
    pub error: Option<String>,
    /// Parts, when the operation was a multipart upload (0 otherwise).
    pub parts: u32,
}

#[derive(Default)]
struct Interval {
    hist: Option<Hist>,
    ops: u64,
    errors: u64,
    throttled: u64,
    bytes: u64,
}

struct Active {
    mode: Mode,
    phase: String,
    round: u32,
    record: bool,
    streams: Vec<String>,
    stats: HashMap<(usize, Op), OpStats>,
    interval: BTreeMap<Op, Interval>,
    late: u64,
    started: Instant,
    arrivals: BTreeMap<i64, (u64, u64)>,
    /// Open-loop (scheduled, issued, planned seconds), summed over streams.
    open: Option<(u64, u64, f64)>,
}

struct Sink {
    dir: PathBuf,
    run_start: Instant,
    start_unix: f64,
    timeseries: timeseries::Writer,
    hlogs: HashMap<(Mode, Op), HlogWriter<BufWriter<File>>>,
}

struct Inner {
    active: Option<Active>,
    stats: BTreeMap<SeriesKey, OpStats>,
    steps: Vec<StepTotals>,
    second: u64,
    kms_last: Option<(u64, u64)>,
    kms_per_second: BTreeMap<Mode, Vec<(u64, u64, u64)>>,
    sink: Sink,
    live_ops: u64,
    live_errors: u64,
    live_throttled: u64,
}

/// The recorder shared by every worker.
pub struct Recorder {
    inner: Mutex<Inner>,
}

/// Live counters for progress display.
#[derive(Clone, Copy, Debug, Default)]
pub struct Live {
    /// Operations in the current step.
    pub ops: u64,
    /// Failed operations in the current step.
    pub errors: u64,
    /// KMS-throttled operations in the current step.
    pub throttled: u64,
    /// Open-loop arrivals issued late in the current step (the generator is behind).
    pub late: u64,
}

impl Recorder {
    /// A recorder streaming interval data into `dir` (created if needed).
    pub fn new(dir: &Path, run_start: Instant) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir.join("histograms"))?;
        let timeseries = timeseries::Writer::create(&dir.join(timeseries::PARTIAL))?;
        let start_unix = hlog::unix_now() - run_start.elapsed().as_secs_f64();
        Ok(Recorder {
            inner: Mutex::new(Inner {
                active: None,
                stats: BTreeMap::new(),
                steps: Vec::new(),
                second: 0,
                kms_last: None,
                kms_per_second: BTreeMap::new(),
                sink: Sink {
                    dir: dir.to_owned(),
                    run_start,
                    start_unix,
                    timeseries,
                    hlogs: HashMap::new(),
                },
                live_ops: 0,
                live_errors: 0,
                live_throttled: 0,
            }),
        })
    }

    /// Unix time of the recorder's start (the hlogs' StartTime).
    pub fn start_unix(&self) -> f64 {
        self.inner.lock().sink.start_unix
    }

    /// Starts a step; operations recorded until [`Recorder::end_step`] belong to it.
    pub fn begin_step(
        &self,
        mode: Mode,
        phase: &str,
        round: u32,
        record: bool,
        streams: Vec<String>,
    ) {
        let mut g = self.inner.lock();
        g.live_ops = 0;
        g.live_errors = 0;
        g.live_throttled = 0;
        g.active = Some(Active {
            mode,
            phase: phase.to_owned(),
            round,
            record,
            streams,
            stats: HashMap::new(),
            interval: BTreeMap::new(),
            late: 0,
            started: Instant::now(),
            arrivals: BTreeMap::new(),
            open: None,
        });
    }

    /// Records one operation with its corrected and uncorrected latency.
    pub fn record(&self, o: &Outcome, corrected: Duration, uncorrected: Duration) {
        let mut g = self.inner.lock();
        g.live_ops += 1;
        if o.error.is_some() {
            g.live_errors += 1;
        }
        let throttled = o.error.as_deref() == Some(THROTTLED_KMS);
        if throttled {
            g.live_throttled += 1;
        }
        let g = &mut *g;
        let Some(a) = g.active.as_mut().filter(|a| a.record) else {
            return;
        };
        // The intended start on the wall clock: now minus the corrected latency.
        let intended =
            g.sink.start_unix + g.sink.run_start.elapsed().as_secs_f64() - corrected.as_secs_f64();
        let slot = a.arrivals.entry(intended.floor() as i64).or_default();
        slot.0 += 1;
        if throttled {
            slot.1 += 1;
        }
        let c = corrected.as_micros().max(1) as u64;
        let u = uncorrected.as_micros().max(1) as u64;
        let s = a.stats.entry((o.stream, o.op)).or_default();
        s.count += 1;
        let _ = s.corrected.record(c);
        let _ = s.uncorrected.record(u);
        if let Some(t) = o.ttfb {
            let _ = s.ttfb.record(t.as_micros().max(1) as u64);
        }
        match &o.error {
            None => {
                s.ok += 1;
                s.bytes += o.bytes;
                if o.parts > 0 {
                    s.multipart += 1;
                    s.parts += o.parts as u64;
                }
            }
            Some(e) => *s.errors.entry(e.clone()).or_default() += 1,
        }
        let iv = a.interval.entry(o.op).or_default();
        iv.ops += 1;
        let _ = iv.hist.get_or_insert_with(new_hist).record(c);
        if o.error.is_some() {
            iv.errors += 1;
        } else {
            iv.bytes += o.bytes;
        }
        if throttled {
            iv.throttled += 1;
        }
    }

    /// Counts an open-loop arrival issued late.
    pub fn late_arrival(&self) {
        if let Some(a) = self.inner.lock().active.as_mut() {
            a.late += 1;
        }
    }

    /// Adds one stream's open-loop schedule of the current step: arrivals scheduled
    /// inside the phase, those issued, and the phase's planned seconds.
    pub fn open_loop(&self, scheduled: u64, issued: u64, planned_s: f64) {
        if let Some(a) = self.inner.lock().active.as_mut() {
            let o = a.open.get_or_insert((0, 0, planned_s));
            o.0 += scheduled;
            o.1 += issued;
        }
    }

    /// Live counters of the current step.
    pub fn live(&self) -> Live {
        let g = self.inner.lock();
        Live {
            ops: g.live_ops,
            errors: g.live_errors,
            throttled: g.live_throttled,
            late: g.active.as_ref().map_or(0, |a| a.late),
        }
    }

    /// Closes the current second: writes the interval rows and histograms. `kms` is the
    /// target's cumulative (served, throttled) KMS calls, when known.
    pub fn tick(&self, kms: Option<(u64, u64)>) -> std::io::Result<()> {
        let mut g = self.inner.lock();
        let g = &mut *g;
        let second = g.second;
        g.second += 1;
        let kms_delta = match (kms, g.kms_last) {
            (Some(now), Some(last)) => {
                Some((now.0.saturating_sub(last.0), now.1.saturating_sub(last.1)))
            }
            _ => None,
        };
        if kms.is_some() {
            g.kms_last = kms;
        }
        let Some(a) = g.active.as_mut().filter(|a| a.record) else {
            return Ok(());
        };
        if let Some((calls, throttled)) = kms_delta {
            g.kms_per_second
                .entry(a.mode)
                .or_default()
                .push((second, calls, throttled));
        }
        let sink = &mut g.sink;
        let unix = sink.start_unix + sink.run_start.elapsed().as_secs_f64();
        let mut all = Interval::default();
        let intervals = std::mem::take(&mut a.interval);
        let tag = hlog::tag(&a.phase, a.round);
        for (op, mut iv) in intervals {
            let hist = iv.hist.take().unwrap_or_else(new_hist);
            sink.timeseries
                .write(&second_row(second, unix, a, op.as_str(), &iv, &hist, None))?;
            let hlog = match sink.hlogs.entry((a.mode, op)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let name = hlog::file_name(a.mode.as_str(), op.as_str());
                    let path = sink.dir.join("histograms").join(format!("{name}.partial"));
                    let file = BufWriter::new(File::create(path)?);
                    v.insert(HlogWriter::begin(file, sink.start_unix, None)?)
                }
            };
            hlog.append(&tag, second as f64, 1.0, &hist)?;
            all.ops += iv.ops;
            all.errors += iv.errors;
            all.throttled += iv.throttled;
            all.bytes += iv.bytes;
            let _ = all.hist.get_or_insert_with(new_hist).add(&hist);
        }
        let hist = all.hist.take().unwrap_or_else(new_hist);
        sink.timeseries
            .write(&second_row(second, unix, a, "all", &all, &hist, kms_delta))?;
        // Once a second: what was measured is on disk even if the process dies.
        sink.timeseries.flush()?;
        for w in sink.hlogs.values_mut() {
            w.flush()?;
        }
        Ok(())
    }

    /// Ends the current step and folds its stats into the run's.
    pub fn end_step(&self) -> Option<StepTotals> {
        let mut g = self.inner.lock();
        let a = g.active.take()?;
        let seconds = a.started.elapsed().as_secs_f64();
        let open = a.open.map(|(scheduled, issued, planned)| OpenLoad {
            scheduled,
            issued,
            dropped: scheduled.saturating_sub(issued),
            offered_per_s: scheduled as f64 / planned.max(1e-9),
            achieved_per_s: g.live_ops as f64 / seconds.max(1e-9),
        });
        let totals = StepTotals {
            mode: a.mode,
            phase: a.phase.clone(),
            round: a.round,
            record: a.record,
            seconds,
            late: a.late,
            open,
            start_s: a
                .started
                .saturating_duration_since(g.sink.run_start)
                .as_secs_f64(),
            offered: a
                .arrivals
                .iter()
                .map(|(&unix_second, &(arrivals, throttled))| OfferedSecond {
                    unix_second,
                    arrivals,
                    throttled,
                })
                .collect(),
        };
        if a.record {
            for ((stream, op), s) in a.stats {
                let key = SeriesKey {
                    mode: a.mode,
                    phase: a.phase.clone(),
                    round: a.round,
                    stream: a.streams.get(stream).cloned().unwrap_or_default(),
                    op,
                };
                g.stats.entry(key).or_default().merge(&s);
            }
        }
        g.steps.push(totals.clone());
        Some(totals)
    }

    /// Flushes the streamed files (an error here loses none of what [`Recorder::finish`]
    /// returns).
    pub fn flush(&self) -> std::io::Result<()> {
        let mut g = self.inner.lock();
        g.sink.timeseries.flush()?;
        for w in g.sink.hlogs.values_mut() {
            w.flush()?;
        }
        Ok(())
    }

    /// Everything measured.
    pub fn finish(&self) -> Recorded {
        let g = self.inner.lock();
        Recorded {
            stats: g.stats.clone(),
            steps: g.steps.clone(),
            kms_per_second: g.kms_per_second.clone(),
        }
    }
}

/// Everything a run measured, ready for the results writer.
#[derive(Clone, Debug)]
pub struct Recorded {
    /// Per-series statistics.
    pub stats: BTreeMap<SeriesKey, OpStats>,
    /// Per-step totals.
    pub steps: Vec<StepTotals>,
    /// KMS (second, calls, throttled) per mode during measured steps.
    pub kms_per_second: BTreeMap<Mode, Vec<(u64, u64, u64)>>,
}

/// The time-series row of one second of one operation (or "all").
fn second_row(
    second: u64,
    unix: f64,
    a: &Active,
    op: &str,
    iv: &Interval,
    hist: &Hist,
    kms: Option<(u64, u64)>,
) -> SecondRow {
    let ms = |v: u64| v as f64 / 1000.0;
    SecondRow {
        second,
        unix_time: milli(unix),
        mode: a.mode,
        phase: a.phase.clone(),
        round: a.round,
        op: op.to_owned(),
        ops: iv.ops,
        errors: iv.errors,
        throttled: iv.throttled,
        mib: milli(iv.bytes as f64 / (1u64 << 20) as f64),
        p50_ms: ms(hist.value_at_quantile(0.5)),
        p99_ms: ms(hist.value_at_quantile(0.99)),
        max_ms: ms(hist.max()),
        kms_calls: kms.map(|k| k.0),
        kms_throttled: kms.map(|k| k.1),
    }
}
