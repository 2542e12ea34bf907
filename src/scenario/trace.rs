//! Traces: the requests of real traffic, for an exact replay (`forecast --emit-trace`
//! writes them, a phase with `trace = { file = "..." }` replays them open loop at their
//! recorded times). A trace is text: `#` header lines naming the buckets and requesters
//! by index, then one CSV row per request: milliseconds from the start, bucket index,
//! operation, object size, requester index and a 64-bit hash of the object key. No
//! object name appears in a trace; bucket names only when asked (`--trace-names`).

use super::workload::Op;
use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// First line of every trace.
pub const MAGIC: &str = "# sse-bench trace 1";

/// A phase that replays a trace.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TracePhase {
    /// The trace file (relative to the scenario file).
    pub file: PathBuf,
    /// Replay speed: 2 replays twice as fast (every gap halved).
    #[serde(default = "one")]
    pub speed: f64,
}

fn one() -> f64 {
    1.0
}

/// One request of a trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Milliseconds from the trace's start.
    pub ms: u64,
    /// Bucket index (the scenario's stream of that position).
    pub bucket: u32,
    /// Operation.
    pub op: Op,
    /// Object size in bytes (0: unknown, the stream's size distribution decides).
    pub size: u64,
    /// Requester index.
    pub requester: u32,
    /// Hash of the object key.
    pub key: u64,
}

/// A whole trace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Trace {
    /// Unix second of the start (from the logs), when known.
    pub start: Option<i64>,
    /// Bucket labels by index (`bucket-1`, or names with `--trace-names`).
    pub buckets: Vec<String>,
    /// Requester (principal) names by index.
    pub requesters: Vec<String>,
    /// Requests in time order.
    pub entries: Vec<Entry>,
}

impl Trace {
    /// Milliseconds from the start to the last request.
    pub fn span_ms(&self) -> u64 {
        self.entries.last().map_or(0, |e| e.ms)
    }

    /// Writes the trace.
    pub fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        writeln!(w, "{MAGIC}")?;
        if let Some(s) = self.start {
            writeln!(w, "# start {s}")?;
        }
        writeln!(w, "# buckets {}", self.buckets.join(","))?;
        writeln!(w, "# requesters {}", self.requesters.join(","))?;
        writeln!(w, "ms,bucket,op,size,requester,key")?;
        for e in &self.entries {
            writeln!(
                w,
                "{},{},{},{},{},{:016x}",
                e.ms,
                e.bucket,
                e.op.as_str(),
                e.size,
                e.requester,
                e.key
            )?;
        }
        Ok(())
    }

    /// Reads a trace; errors name the line.
    pub fn read(path: &Path) -> Result<Trace, Error> {
        let name = path.display();
        let f = std::fs::File::open(path).map_err(|e| Error::usage(format!("{name}: {e}")))?;
        let mut t = Trace::default();
        let mut lines = std::io::BufReader::new(f).lines();
        match lines.next() {
            Some(Ok(l)) if l.trim_end() == MAGIC => {}
            _ => {
                return Err(Error::usage(format!(
                    "{name}:1: not an sse-bench trace (expected {MAGIC:?})"
                )));
            }
        }
        let list = |v: &str| -> Vec<String> {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        };
        for (i, line) in lines.enumerate() {
            let n = i + 2;
            let line = line.map_err(|e| Error::usage(format!("{name}:{n}: {e}")))?;
            if let Some(h) = line.strip_prefix("# ") {
                let (k, v) = h.split_once(' ').unwrap_or((h, ""));
                match k {
                    "start" => t.start = v.trim().parse().ok(),
                    "buckets" => t.buckets = list(v),
                    "requesters" => t.requesters = list(v),
                    _ => {}
                }
                continue;
            }
            if line.starts_with("ms,") || line.trim().is_empty() {
                continue;
            }
            let f: Vec<&str> = line.split(',').collect();
            let bad = |what: &str| Error::usage(format!("{name}:{n}: {what}"));
            if f.len() != 6 {
                return Err(bad("expected ms,bucket,op,size,requester,key"));
            }
            let e = Entry {
                ms: f[0].parse().map_err(|_| bad("ms is not a number"))?,
                bucket: f[1].parse().map_err(|_| bad("bucket is not an index"))?,
                op: Op::parse(f[2])
                    .filter(|o| !o.is_kms())
                    .ok_or_else(|| bad("op is not put, get, head, delete or copy"))?,
                size: f[3].parse().map_err(|_| bad("size is not a number"))?,
                requester: f[4].parse().map_err(|_| bad("requester is not an index"))?,
                key: u64::from_str_radix(f[5], 16).map_err(|_| bad("key is not a hex hash"))?,
            };
            if e.bucket as usize >= t.buckets.len() || e.requester as usize >= t.requesters.len() {
                return Err(bad("bucket or requester index not in the header"));
            }
            if t.entries.last().is_some_and(|p| p.ms > e.ms) {
                return Err(bad("rows are not in time order"));
            }
            t.entries.push(e);
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trace_reads_back_what_was_written() {
        let t = Trace {
            start: Some(1_772_359_200),
            buckets: vec!["bucket-1".into()],
            requesters: vec!["etl".into(), "query".into()],
            entries: vec![
                Entry {
                    ms: 0,
                    bucket: 0,
                    op: Op::Put,
                    size: 10,
                    requester: 0,
                    key: 0xabc,
                },
                Entry {
                    ms: 500,
                    bucket: 0,
                    op: Op::Get,
                    size: 0,
                    requester: 1,
                    key: u64::MAX,
                },
            ],
        };
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.trace");
        let mut f = std::fs::File::create(&p).unwrap();
        t.write(&mut f).unwrap();
        assert_eq!(Trace::read(&p).unwrap(), t);
        std::fs::write(
            &p,
            format!("{MAGIC}\n# buckets b\n# requesters r\n5,0,get,0,0,1\n1,0,get,0,0,1\n"),
        )
        .unwrap();
        assert!(
            Trace::read(&p)
                .unwrap_err()
                .to_string()
                .contains(":5: rows are not in time order")
        );
    }
}
