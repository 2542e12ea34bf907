//! Reading the sources: files, directories (every file, in parallel) and s3:// prefixes
//! (downloaded through the standard credential chain), plain or gzip, into one
//! [`Traffic`]. A file is read as a stream of lines (access logs) or one CloudTrail
//! document at a time, so memory does not grow with the size of the logs.

use super::traffic::Traffic;
use crate::error::Error;
use crate::logs::access_log::{parse_cloudwatch, parse_line};
use crate::logs::cloudtrail::{Event, Parsed, parse, records};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What a source holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// S3 server access logs (text, or CloudWatch Logs JSON).
    AccessLogs,
    /// CloudTrail log files.
    CloudTrail,
    /// The per-second aggregate of `--athena-sql` (CSV).
    Aggregate,
}

/// One file to read.
#[derive(Clone, Debug)]
pub struct LogFile {
    /// Path.
    pub path: PathBuf,
    /// Kind.
    pub kind: Kind,
}

/// Every regular file under `path` (or `path` itself), sorted, hidden files left out.
pub fn files(path: &Path, kind: Kind) -> Result<Vec<LogFile>, Error> {
    let meta =
        std::fs::metadata(path).map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    if meta.is_file() {
        out.push(LogFile {
            path: path.to_owned(),
            kind,
        });
        return Ok(out);
    }
    let mut stack = vec![path.to_owned()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).map_err(|e| Error::usage(format!("{}: {e}", dir.display())))?;
        for e in entries {
            let e = e.map_err(|e| Error::usage(format!("{}: {e}", dir.display())))?;
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            let p = e.path();
            let ft = e
                .file_type()
                .map_err(|e| Error::usage(format!("{}: {e}", p.display())))?;
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.push(LogFile { path: p, kind });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Opens a file, decompressing gzip (told by its magic bytes, not its name).
fn open(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut f = BufReader::with_capacity(1 << 17, std::fs::File::open(path)?);
    let gz = f.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(BufReader::with_capacity(
            1 << 17,
            flate2::bufread::MultiGzDecoder::new(f),
        ))
    } else {
        Box::new(f)
    })
}

/// The CloudWatch Logs form, possibly wrapped: a bare record, an exported event
/// (`{"timestamp": ..., "message": "<record>"}`), or a line prefixed with its
/// timestamp (`2026-01-02T03:04:05.000Z {...}`, CloudWatch's export to S3).
fn cloudwatch_line(line: &str) -> Option<&str> {
    let t = line.trim();
    if t.starts_with('{') {
        return Some(t);
    }
    let (stamp, rest) = t.split_once(' ')?;
    (stamp.len() >= 19 && stamp.as_bytes()[4] == b'-' && rest.trim_start().starts_with('{'))
        .then(|| rest.trim_start())
}

fn read_access_log(file: &LogFile, t: &mut Traffic) -> Result<(), Error> {
    let name = file.path.display().to_string();
    let mut r = open(&file.path).map_err(|e| Error::usage(format!("{name}: {e}")))?;
    let mut buf = Vec::with_capacity(1024);
    let mut n = 0u64;
    loop {
        buf.clear();
        let got = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| Error::usage(format!("{name}: {e}")))?;
        if got == 0 {
            break;
        }
        n += 1;
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(json) = cloudwatch_line(line) {
            match parse_cloudwatch_any(json) {
                Ok(o) => t.add(&o.view()),
                Err(why) => t.malformed(|| format!("{name}:{n}: {why}")),
            }
            continue;
        }
        match parse_line(line) {
            Ok(req) => t.add(&req),
            Err(why) => t.malformed(|| format!("{name}:{n}: {why}")),
        }
    }
    Ok(())
}

fn parse_cloudwatch_any(json: &str) -> Result<crate::logs::access_log::Owned, &'static str> {
    match parse_cloudwatch(json) {
        Ok(o) => Ok(o),
        Err(why) => {
            // An exported event wraps the record in `message`.
            let v: serde_json::Value = serde_json::from_str(json).map_err(|_| why)?;
            let inner = v["message"].as_str().ok_or(why)?;
            parse_cloudwatch(inner)
        }
    }
}

fn read_cloudtrail(file: &LogFile, t: &mut Traffic, traffic_from_trail: bool) -> Result<(), Error> {
    let name = file.path.display().to_string();
    let mut text = String::new();
    open(&file.path)
        .and_then(|mut r| r.read_to_string(&mut text))
        .map_err(|e| Error::usage(format!("{name}: {e}")))?;
    let recs = records(&text).map_err(|e| Error::usage(format!("{name}: {e}")))?;
    drop(text);
    for (i, v) in recs.into_iter().enumerate() {
        let at = || format!("{name}: record {}", i + 1);
        let e: Event = match serde_json::from_value(v) {
            Ok(e) => e,
            Err(_) => {
                t.malformed(|| format!("{}: not a CloudTrail record", at()));
                continue;
            }
        };
        if let Some(a) = e.recipient() {
            *t.recipients.entry(a.to_owned()).or_default() += 1;
        }
        match parse(e) {
            Ok(Parsed::Request(o)) if traffic_from_trail => t.add(&o.view()),
            Ok(Parsed::Request(_)) => {
                t.records += 1;
                t.duplicate_events += 1;
            }
            Ok(Parsed::Kms(k)) => t.add_kms(&k),
            Ok(Parsed::Skip) => t.records += 1,
            Err(why) => t.malformed(|| format!("{}: {why}", at())),
        }
    }
    Ok(())
}

/// Reads every file on `threads` threads and merges what they counted. S3 data
/// events in CloudTrail count as traffic only when `traffic_from_trail` (no access
/// logs were given: the same requests would be counted twice).
pub fn read_all(
    files: &[LogFile],
    per_session: bool,
    traffic_from_trail: bool,
    threads: usize,
    trace: bool,
) -> Result<Traffic, Error> {
    let fresh = || {
        let mut t = Traffic::new(per_session);
        t.trace = trace.then(Vec::new);
        t
    };
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, files.len().max(1));
    let results: Vec<Result<Traffic, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut t = fresh();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(f) = files.get(i) else { break };
                        match f.kind {
                            Kind::AccessLogs => read_access_log(f, &mut t)?,
                            Kind::CloudTrail => read_cloudtrail(f, &mut t, traffic_from_trail)?,
                            Kind::Aggregate => super::athena::read(&f.path, &mut t)?,
                        }
                    }
                    Ok(t)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(Error::failure("a log reader thread panicked")))
            })
            .collect()
    });
    let mut all = fresh();
    for r in results {
        all.merge(r?);
    }
    Ok(all)
}
