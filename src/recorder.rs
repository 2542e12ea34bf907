//! Records every operation into HdrHistograms per (mode, phase, round, stream,
//! operation) and per-second interval histograms, which are streamed to disk as
//! they close (`timeseries.csv`, `histograms/*.hlog`), so memory stays flat
//! however long the run.

use crate::scenario::{Mode, Op};
use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Serializer, V2DeflateSerializer};
use parking_lot::Mutex;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// Latency histograms count microseconds.
pub type Hist = Histogram<u64>;

/// A new histogram with three significant digits that grows as needed.
pub fn new_hist() -> Hist {
    Histogram::new(3)
        .unwrap_or_else(|_| Histogram::new_with_max(3_600_000_000, 3).expect("valid bounds"))
}

/// The error class of the KMS-throttling S3 error.
pub const THROTTLED_KMS: &str = "throttled_kms";
/// The error class of failed payload verification.
pub const INTEGRITY: &str = "integrity";

/// Identifies one series of measurements.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct SeriesKey {
    /// Mode.
    pub mode: Mode,
    /// Phase name.
    pub phase: String,
    /// Round.
    pub round: u32,
    /// Stream name.
    pub stream: String,
    /// Operation.
    pub op: Op,
}

/// Everything measured for one series.
#[derive(Clone, Debug)]
pub struct OpStats {
    /// Latency from the intended start (open loop) or the actual start (closed loop).
    pub corrected: Hist,
    /// Service time from the actual start.
    pub uncorrected: Hist,
    /// Time to first byte (GET).
    pub ttfb: Hist,
    /// Operations completed (ok or not).
    pub count: u64,
    /// Operations that succeeded.
    pub ok: u64,
    /// Payload bytes moved by successful operations.
    pub bytes: u64,
    /// Failures by class.
    pub errors: BTreeMap<String, u64>,
    /// Successful multipart uploads among the operations.
    pub multipart: u64,
    /// Parts of those uploads.
    pub parts: u64,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats {
            corrected: new_hist(),
            uncorrected: new_hist(),
            ttfb: new_hist(),
            count: 0,
            ok: 0,
            bytes: 0,
            errors: BTreeMap::new(),
            multipart: 0,
            parts: 0,
        }
    }
}

impl OpStats {
    /// Adds another series into this one (histograms are added, never percentiles).
    pub fn merge(&mut self, o: &OpStats) {
        let _ = self.corrected.add(&o.corrected);
        let _ = self.uncorrected.add(&o.uncorrected);
        let _ = self.ttfb.add(&o.ttfb);
        self.count += o.count;
        self.ok += o.ok;
        self.bytes += o.bytes;
        self.multipart += o.multipart;
        self.parts += o.parts;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    /// Failed operations.
    pub fn failed(&self) -> u64 {
        self.count - self.ok
    }
}

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
}

/// Operations by the wall-clock second of their intended start (open loop: the
/// offered load), with how many of them KMS throttled.
#[derive(Clone, Debug, PartialEq, Serialize, serde::Deserialize)]
pub struct OfferedSecond {
    /// Unix second.
    pub unix_second: i64,
    /// Operations whose intended start fell in it.
    pub arrivals: u64,
    /// Of those, KMS-throttled.
    pub throttled: u64,
}

/// Totals for one step.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct StepTotals {
    /// Mode.
    pub mode: Mode,
    /// Phase.
    pub phase: String,
    /// Round.
    pub round: u32,
    /// Whether it was measured.
    pub record: bool,
    /// Seconds it ran.
    pub seconds: f64,
    /// Open-loop arrivals that waited for the in-flight cap.
    pub late: u64,
    /// Seconds from the run's start to the step's start.
    #[serde(default)]
    pub start_s: f64,
    /// Operations per wall-clock second of intended start (measured steps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<OfferedSecond>,
}

struct Sink {
    dir: PathBuf,
    run_start: Instant,
    start_unix: f64,
    timeseries: BufWriter<File>,
    hlogs: HashMap<(Mode, Op), BufWriter<File>>,
    serializer: V2DeflateSerializer,
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
}

/// Name of the streaming time-series file while the run is going.
pub const TIMESERIES_PARTIAL: &str = "timeseries.csv.partial";

impl Recorder {
    /// A recorder streaming interval data into `dir` (created if needed).
    pub fn new(dir: &Path, run_start: Instant) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir.join("histograms"))?;
        let mut timeseries = BufWriter::new(File::create(dir.join(TIMESERIES_PARTIAL))?);
        writeln!(
            timeseries,
            "second,unix_time,mode,phase,round,op,ops,errors,throttled,mib,p50_ms,p99_ms,max_ms,kms_calls,kms_throttled"
        )?;
        let start_unix = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
            - run_start.elapsed().as_secs_f64();
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
                    serializer: V2DeflateSerializer::new(),
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

    /// Counts an open-loop arrival that had to wait for the in-flight cap.
    pub fn late_arrival(&self) {
        if let Some(a) = self.inner.lock().active.as_mut() {
            a.late += 1;
        }
    }

    /// Live counters of the current step.
    pub fn live(&self) -> Live {
        let g = self.inner.lock();
        Live {
            ops: g.live_ops,
            errors: g.live_errors,
            throttled: g.live_throttled,
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
        let elapsed_start = second as f64;
        for (op, mut iv) in intervals {
            let hist = iv.hist.take().unwrap_or_else(new_hist);
            write_row(
                &mut sink.timeseries,
                second,
                unix,
                a,
                op.as_str(),
                &iv_counts(&iv),
                &hist,
                None,
            )?;
            let hlog = match sink.hlogs.entry((a.mode, op)) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    let path = sink
                        .dir
                        .join("histograms")
                        .join(format!("{}.{}.hlog.partial", a.mode, op));
                    let mut w = BufWriter::new(File::create(path)?);
                    write_hlog_header(&mut w, sink.start_unix)?;
                    v.insert(w)
                }
            };
            let mut buf = Vec::new();
            if sink.serializer.serialize(&hist, &mut buf).is_ok() {
                writeln!(
                    hlog,
                    "Tag={}-r{},{:.3},{:.3},{:.3},{}",
                    a.phase,
                    a.round,
                    elapsed_start,
                    1.0,
                    hist.max() as f64 / 1000.0,
                    base64::engine::general_purpose::STANDARD.encode(&buf)
                )?;
            }
            all.ops += iv.ops;
            all.errors += iv.errors;
            all.throttled += iv.throttled;
            all.bytes += iv.bytes;
            let _ = all.hist.get_or_insert_with(new_hist).add(&hist);
        }
        let hist = all.hist.take().unwrap_or_else(new_hist);
        write_row(
            &mut sink.timeseries,
            second,
            unix,
            a,
            "all",
            &iv_counts(&all),
            &hist,
            kms_delta,
        )?;
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
        let totals = StepTotals {
            mode: a.mode,
            phase: a.phase.clone(),
            round: a.round,
            record: a.record,
            seconds: a.started.elapsed().as_secs_f64(),
            late: a.late,
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

    /// Flushes the streamed files and returns everything measured.
    pub fn finish(&self) -> std::io::Result<Recorded> {
        let mut g = self.inner.lock();
        g.sink.timeseries.flush()?;
        for w in g.sink.hlogs.values_mut() {
            w.flush()?;
        }
        Ok(Recorded {
            stats: g.stats.clone(),
            steps: g.steps.clone(),
            kms_per_second: g.kms_per_second.clone(),
        })
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

fn iv_counts(iv: &Interval) -> (u64, u64, u64, u64) {
    (iv.ops, iv.errors, iv.throttled, iv.bytes)
}

#[allow(clippy::too_many_arguments)]
fn write_row(
    w: &mut BufWriter<File>,
    second: u64,
    unix: f64,
    a: &Active,
    op: &str,
    (ops, errors, throttled, bytes): &(u64, u64, u64, u64),
    hist: &Hist,
    kms: Option<(u64, u64)>,
) -> std::io::Result<()> {
    let ms = |v: u64| v as f64 / 1000.0;
    let (kc, kt) = kms.map_or((String::new(), String::new()), |(c, t)| {
        (c.to_string(), t.to_string())
    });
    writeln!(
        w,
        "{second},{unix:.3},{},{},{},{op},{ops},{errors},{throttled},{:.3},{:.3},{:.3},{:.3},{kc},{kt}",
        a.mode,
        a.phase,
        a.round,
        *bytes as f64 / (1u64 << 20) as f64,
        ms(hist.value_at_quantile(0.5)),
        ms(hist.value_at_quantile(0.99)),
        ms(hist.max()),
    )
}

fn write_hlog_header(w: &mut impl Write, start_unix: f64) -> std::io::Result<()> {
    writeln!(w, "#[Histogram log format version 1.3]")?;
    writeln!(
        w,
        "#[Values are latencies in microseconds; interval max in milliseconds]"
    )?;
    writeln!(w, "#[StartTime: {start_unix:.3} (seconds since epoch)]")?;
    writeln!(w, "#[BaseTime: {start_unix:.3} (seconds since epoch)]")?;
    writeln!(
        w,
        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
    )
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, Serialize, serde::Deserialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// 99.99th.
    pub p9999: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    /// Percentiles of a histogram of microseconds.
    pub fn of(h: &Hist) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            p9999: ms(h.value_at_quantile(0.9999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }

    /// A percentile by threshold metric name.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "p50" => self.p50,
            "p90" => self.p90,
            "p99" => self.p99,
            "p999" => self.p999,
            "p9999" => self.p9999,
            "max" => self.max,
            _ => return None,
        })
    }
}
