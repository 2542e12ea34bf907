//! `timeseries.csv`: one row per second per (mode, operation), plus an `all` row with
//! the KMS calls of that second. One serde row, written and read with `csv`, by the
//! recorder (streamed as the run goes), `merge` and `report`.

use crate::error::Error;
use crate::scenario::Mode;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// The file while a run is writing it (renamed when the run ends).
pub const PARTIAL: &str = "timeseries.csv.partial";
/// The finished file.
pub const FILE: &str = "timeseries.csv";

/// One row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SecondRow {
    /// Seconds since the run's start.
    pub second: u64,
    /// Wall clock when the second closed.
    pub unix_time: f64,
    /// Mode.
    pub mode: Mode,
    /// Phase.
    pub phase: String,
    /// Round.
    pub round: u32,
    /// Operation, or "all".
    pub op: String,
    /// Operations completed in the second.
    pub ops: u64,
    /// Of them, failed.
    pub errors: u64,
    /// Of them, KMS-throttled.
    pub throttled: u64,
    /// MiB moved.
    pub mib: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
    /// KMS calls the target served in the second ("all" rows, when known).
    pub kms_calls: Option<u64>,
    /// KMS calls throttled in the second.
    pub kms_throttled: Option<u64>,
}

/// Rounds to a thousandth: the file's precision (milliseconds, MiB).
pub fn milli(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Streams rows into a file, header first.
pub struct Writer(csv::Writer<BufWriter<File>>);

impl Writer {
    /// Creates the file.
    pub fn create(path: &Path) -> std::io::Result<Writer> {
        Ok(Writer(csv::Writer::from_writer(BufWriter::new(
            File::create(path)?,
        ))))
    }

    /// Appends a row.
    pub fn write(&mut self, row: &SecondRow) -> std::io::Result<()> {
        self.0.serialize(row).map_err(std::io::Error::other)
    }

    /// Pushes what is written to the file.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Renders rows as the file's bytes (header first).
pub fn to_bytes(rows: &[SecondRow]) -> std::io::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r).map_err(std::io::Error::other)?;
    }
    w.into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

/// Reads a file's rows. A run killed mid-write leaves a torn last line: rows up to it
/// are kept.
pub fn read(path: &Path) -> Result<Vec<SecondRow>, Error> {
    let mut rdr = csv::Reader::from_path(path)
        .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
    let mut rows = Vec::new();
    let mut failure = None;
    for row in rdr.deserialize() {
        match row {
            Ok(r) if failure.is_none() => rows.push(r),
            Ok(_) => return Err(Error::usage(failure.unwrap_or_default())),
            Err(e) => failure = Some(format!("{}: {e}", path.display())),
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(second: u64, op: &str, kms: Option<u64>) -> SecondRow {
        SecondRow {
            second,
            unix_time: 1_700_000_000.25 + second as f64,
            mode: Mode::SseKms,
            phase: "steady".into(),
            round: 0,
            op: op.into(),
            ops: 40,
            errors: 1,
            throttled: 0,
            mib: 0.625,
            p50_ms: 3.25,
            p99_ms: 12.5,
            max_ms: 20.0,
            kms_calls: kms,
            kms_throttled: kms.map(|_| 0),
        }
    }

    #[test]
    fn rows_round_trip_and_a_torn_last_line_is_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(FILE);
        let rows = vec![row(0, "put", None), row(0, "all", Some(17))];
        let mut w = Writer::create(&p).unwrap();
        for r in &rows {
            w.write(r).unwrap();
        }
        w.flush().unwrap();
        drop(w);
        assert_eq!(read(&p).unwrap(), rows);
        assert_eq!(std::fs::read(&p).unwrap(), to_bytes(&rows).unwrap());
        // A process killed mid-row leaves a partial line behind.
        let mut bytes = std::fs::read(&p).unwrap();
        bytes.extend_from_slice(b"1,1700000001.25,sse-kms,ste");
        std::fs::write(&p, bytes).unwrap();
        assert_eq!(read(&p).unwrap(), rows);
    }
}
