//! `histograms/<mode>.<op>.hlog`: HdrHistogram interval logs (V2 deflate, one
//! interval per second, values and interval maxima in microseconds), through
//! hdrhistogram's own interval-log writer and reader. The recorder streams them,
//! `merge` adds them, `report` reads them.

use super::record::{Hist, new_hist};
use crate::error::Error;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, LogIteratorError, Tag,
};
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The file name of a (mode, operation) series.
pub fn file_name(mode: &str, op: &str) -> String {
    format!("{mode}.{op}.hlog")
}

/// The tag of a step's intervals: `<phase>-r<round>`.
pub fn tag(phase: &str, round: u32) -> String {
    format!("{phase}-r{round}")
}

/// Writes one interval log.
pub struct HlogWriter<W: Write> {
    out: W,
    serializer: V2DeflateSerializer,
}

impl<W: Write> HlogWriter<W> {
    /// Starts a log whose timestamps count from `start_unix` (seconds since the epoch).
    pub fn begin(mut out: W, start_unix: f64, comment: Option<&str>) -> std::io::Result<Self> {
        let start = UNIX_EPOCH + Duration::from_secs_f64(start_unix.max(0.0));
        let mut serializer = V2DeflateSerializer::new();
        let mut b = IntervalLogWriterBuilder::new();
        b.add_comment("[Histogram log format version 1.3]")
            .add_comment("[Values and interval maxima are latencies in microseconds]")
            .with_start_time(start)
            .with_base_time(start);
        if let Some(c) = comment {
            b.add_comment(c);
        }
        b.begin_log_with(&mut out, &mut serializer)?;
        writeln!(
            out,
            "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\""
        )?;
        Ok(HlogWriter { out, serializer })
    }

    /// Appends one interval: `start_s` seconds after the log's start, `len_s` long.
    pub fn append(&mut self, tag: &str, start_s: f64, len_s: f64, h: &Hist) -> std::io::Result<()> {
        // A builder without headers writes nothing of its own: this appends one line.
        let mut w =
            IntervalLogWriterBuilder::new().begin_log_with(&mut self.out, &mut self.serializer)?;
        w.write_histogram(
            h,
            Duration::from_secs_f64(start_s.max(0.0)),
            Duration::from_secs_f64(len_s.max(0.0)),
            Tag::new(tag),
        )
        .map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// Pushes what is written to the underlying writer.
    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// The underlying writer.
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One interval read back.
pub struct Interval {
    /// Its tag (`<phase>-r<round>`), if any.
    pub tag: Option<String>,
    /// Seconds after the log's start.
    pub start_s: f64,
    /// The histogram.
    pub hist: Hist,
}

/// Reads every interval of a log. A run killed mid-write leaves a torn last line:
/// the intervals before it are kept.
pub fn read(bytes: &[u8]) -> Result<Vec<Interval>, Error> {
    let mut out = Vec::new();
    for item in IntervalLogIterator::new(bytes) {
        let entry = match item {
            Ok(e) => e,
            // Unparsable from `offset` on: a torn last line when no line ends after it.
            Err(LogIteratorError::ParseError { offset })
                if !bytes[offset.min(bytes.len())..].contains(&b'\n') =>
            {
                break;
            }
            Err(e) => return Err(Error::usage(format!("interval log: {e:?}"))),
        };
        if let LogEntry::Interval(ih) = entry {
            let hist = super::record::decode_hist(ih.encoded_histogram())
                .map_err(|e| Error::usage(format!("interval log: {e}")))?;
            out.push(Interval {
                tag: ih.tag().map(|t| t.as_str().to_owned()),
                start_s: ih.start_timestamp().as_secs_f64(),
                hist,
            });
        }
    }
    Ok(out)
}

/// Adds every interval of a log into one histogram.
pub fn read_total(bytes: &[u8]) -> Result<Hist, Error> {
    let mut total = new_hist();
    for i in read(bytes)? {
        total
            .add(&i.hist)
            .map_err(|e| Error::usage(format!("interval log: {e:?}")))?;
    }
    Ok(total)
}

/// Seconds since the epoch, now.
pub fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: &[u64]) -> Hist {
        let mut h = new_hist();
        for v in values {
            h.record(*v).unwrap();
        }
        h
    }

    #[test]
    fn intervals_round_trip_and_add_up() {
        let mut w = HlogWriter::begin(Vec::new(), 1_700_000_000.5, Some("[a test]")).unwrap();
        w.append("steady-r0", 0.0, 1.0, &hist(&[100, 200])).unwrap();
        w.append("steady-r0", 1.0, 1.0, &hist(&[300])).unwrap();
        let bytes = w.into_inner();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains("#[StartTime: 1700000000.500"), "{text}");
        assert!(text.contains("Tag=steady-r0,1.000,1.000,"), "{text}");
        let iv = read(&bytes).unwrap();
        assert_eq!(iv.len(), 2);
        assert_eq!(iv[1].tag.as_deref(), Some("steady-r0"));
        assert_eq!(iv[1].start_s, 1.0);
        let total = read_total(&bytes).unwrap();
        assert_eq!(total.len(), 3);
        assert_eq!(total.max(), hist(&[300]).max());
        // A torn last line (the process was killed mid-write) loses only that interval.
        let mut torn = bytes.clone();
        torn.extend_from_slice(b"Tag=steady-r0,2.000,1.000,0.3,HIST");
        assert_eq!(read(&torn).unwrap().len(), 2);
    }
}
