//! Reading the sources: files, directories (every file, in parallel) and s3:// prefixes
//! (downloaded through the standard credential chain), plain or gzip, into one
//! [`Traffic`]. A file is read as a stream of lines (access logs) or one CloudTrail
//! document at a time, so memory does not grow with the size of the logs.

use super::traffic::Traffic;
use crate::error::Error;
use crate::logs::access_log::{parse_cloudwatch, parse_line};
use crate::logs::cloudtrail::{Event, Parsed, TrailFile, parse, read_file};
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Records seen so far, by their 64-bit [`crate::logs::record::dedupe_key`], shared by
/// the reader threads (a duplicate may sit in another file). About 16 bytes a record
/// (a hash set of u64 at its load factor), so about 16 MiB per million records; with
/// 64-bit hashes the chance of one false duplicate among a billion records is about 3%
/// (the birthday bound), among ten million about 3 in a million.
pub struct Seen {
    shards: Vec<Mutex<HashSet<u64>>>,
}

impl Seen {
    /// Empty.
    pub fn new() -> Self {
        Seen {
            shards: (0..64).map(|_| Mutex::new(HashSet::new())).collect(),
        }
    }

    /// True the first time `key` is seen.
    fn first(&self, key: u64) -> bool {
        let shard = &self.shards[(key % 64) as usize];
        // A poisoned shard (a reader panicked) still holds valid hashes.
        let mut set = shard.lock().unwrap_or_else(|e| e.into_inner());
        set.insert(key)
    }
}

impl Default for Seen {
    fn default() -> Self {
        Self::new()
    }
}

/// Whether `path` lies under a folder CloudTrail names `name` (its S3 layout:
/// `AWSLogs/<account>/CloudTrail-Digest/...`).
fn under(path: &Path, name: &str) -> bool {
    path.components().any(|c| c.as_os_str() == name)
}

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

/// Every regular file under `path` (or `path` itself), sorted, hidden files left out,
/// and how many files and folders were left out because their names say they were
/// delivered outside `window`.
pub fn files(
    path: &Path,
    kind: Kind,
    window: &super::window::Window,
) -> Result<(Vec<LogFile>, u64), Error> {
    let mut pruned = 0u64;
    let meta =
        std::fs::metadata(path).map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
    let mut out = Vec::new();
    if meta.is_file() {
        out.push(LogFile {
            path: path.to_owned(),
            kind,
        });
        return Ok((out, pruned));
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
            if !window.may_hold(&p.to_string_lossy()) {
                pruned += 1;
                continue;
            }
            if ft.is_dir() {
                stack.push(p);
            } else if ft.is_file() {
                out.push(LogFile { path: p, kind });
            }
        }
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((out, pruned))
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

/// Counts one request, unless `seen` has had it already.
fn add_once(t: &mut Traffic, r: &crate::logs::record::Request<'_>, seen: Option<&Seen>) {
    if let Some(seen) = seen
        && let Some(k) = r.dedupe_key()
        && !seen.first(k)
    {
        t.records += 1;
        t.duplicates += 1;
        return;
    }
    t.add(r);
}

/// Plain files larger than this are read by several threads, each a range of lines.
pub const SPLIT_BYTES: u64 = 32 << 20;

/// A file, or a byte range of one, read by one thread.
struct Part<'a> {
    file: &'a LogFile,
    /// Lines that start in `[start, end)`; None: the whole file.
    range: Option<(u64, u64)>,
    /// Its size in bytes (the range's, or the file's as stored).
    bytes: u64,
}

/// The files as parts: a plain access log larger than `split` bytes is cut at line
/// boundaries into one part per thread (gzip streams cannot be cut: one reader each).
fn parts(files: &[LogFile], threads: usize, split: u64) -> Vec<Part<'_>> {
    let mut out = Vec::new();
    for f in files {
        let len = std::fs::metadata(&f.path).map_or(0, |m| m.len());
        let plain = || {
            let mut magic = [0u8; 2];
            std::fs::File::open(&f.path)
                .and_then(|mut h| h.read_exact(&mut magic))
                .is_ok_and(|_| magic != [0x1f, 0x8b])
        };
        if f.kind == Kind::AccessLogs && threads > 1 && len > split && plain() {
            let n = (threads as u64).min(len / split.max(1)).max(2);
            let step = len.div_ceil(n);
            for i in 0..n {
                let (start, end) = (i * step, ((i + 1) * step).min(len));
                if start < end {
                    out.push(Part {
                        file: f,
                        range: Some((start, end)),
                        bytes: end - start,
                    });
                }
            }
        } else {
            out.push(Part {
                file: f,
                range: None,
                bytes: len,
            });
        }
    }
    out
}

fn read_access_log(part: &Part<'_>, t: &mut Traffic, seen: Option<&Seen>) -> Result<(), Error> {
    use std::io::{Seek as _, SeekFrom};
    let name = part.file.path.display().to_string();
    let io = |e: std::io::Error| Error::usage(format!("{name}: {e}"));
    let mut buf = Vec::with_capacity(1024);
    let (mut r, mut pos, end): (Box<dyn BufRead + Send>, u64, u64) = match part.range {
        None => (open(&part.file.path).map_err(io)?, 0, u64::MAX),
        Some((start, end)) => {
            let mut f = std::fs::File::open(&part.file.path).map_err(io)?;
            // A line that starts before `start` is the previous part's.
            let from = start.saturating_sub(1);
            f.seek(SeekFrom::Start(from)).map_err(io)?;
            let mut r = BufReader::with_capacity(1 << 17, f);
            let mut pos = from;
            if start > 0 {
                pos += r.read_until(b'\n', &mut buf).map_err(io)? as u64;
            }
            (Box::new(r), pos, end)
        }
    };
    // Whole files name a bad line by number, parts by its byte offset.
    let mut n = 0u64;
    let at = |n: u64, pos: u64| match part.range {
        None => format!("{name}:{n}"),
        Some(_) => format!("{name} (byte {pos})"),
    };
    while pos < end {
        buf.clear();
        let got = r.read_until(b'\n', &mut buf).map_err(io)?;
        if got == 0 {
            break;
        }
        let line_at = pos;
        pos += got as u64;
        n += 1;
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            continue;
        }
        if let Some(json) = cloudwatch_line(line) {
            match parse_cloudwatch_any(json) {
                Ok(o) => add_once(t, &o.view(), seen),
                Err(why) => t.malformed(|| format!("{}: {why}", at(n, line_at))),
            }
            continue;
        }
        match parse_line(line) {
            Ok(req) => add_once(t, &req, seen),
            Err(why) => t.malformed(|| format!("{}: {why}", at(n, line_at))),
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

fn read_cloudtrail(
    file: &LogFile,
    t: &mut Traffic,
    traffic_from_trail: bool,
    seen: Option<&Seen>,
) -> Result<(), Error> {
    if under(&file.path, "CloudTrail-Digest") {
        t.digest_files += 1;
        return Ok(());
    }
    if under(&file.path, "CloudTrail-Insight") {
        t.insight_files += 1;
        return Ok(());
    }
    let name = file.path.display().to_string();
    let mut bytes = Vec::new();
    open(&file.path)
        .and_then(|mut r| r.read_to_end(&mut bytes))
        .map_err(|e| Error::usage(format!("{name}: {e}")))?;
    let file_read = read_file(&bytes).map_err(|e| Error::usage(format!("{name}: {e}")))?;
    drop(bytes);
    let (recs, bad) = match file_read {
        TrailFile::Digest => {
            t.digest_files += 1;
            return Ok(());
        }
        TrailFile::Records(recs, bad) => (recs, bad),
    };
    for why in bad {
        t.malformed(|| format!("{name}: {why}"));
    }
    for (i, v) in recs.into_iter().enumerate() {
        let at = || format!("{name}: record {}", i + 1);
        let e: Event = match serde_json::from_value(v) {
            Ok(e) => e,
            Err(_) => {
                t.malformed(|| format!("{}: not a CloudTrail record", at()));
                continue;
            }
        };
        if e.is_insight() {
            t.records += 1;
            t.insight_records += 1;
            continue;
        }
        if let Some(seen) = seen
            && let Some(k) = e.dedupe()
            && !seen.first(k)
        {
            t.records += 1;
            t.duplicates += 1;
            continue;
        }
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

/// How the files are read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Count each assumed-role session as its own requester.
    pub per_session: bool,
    /// S3 data events in CloudTrail count as traffic (no access logs were given: the
    /// same requests would be counted twice).
    pub traffic_from_trail: bool,
    /// Reader threads.
    pub threads: usize,
    /// Keep every request for `--emit-trace`.
    pub trace: bool,
    /// Count a record delivered twice (in one file or two) once.
    pub dedupe: bool,
    /// Count only records inside this window.
    pub window: super::window::Window,
    /// Where each file's counts go as it is done (the progress display).
    pub progress: Option<std::sync::Arc<super::progress::Counters>>,
    /// Plain access logs larger than this are cut into one part per thread.
    pub split_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            per_session: false,
            traffic_from_trail: true,
            threads: 1,
            trace: false,
            dedupe: true,
            window: Default::default(),
            progress: None,
            split_bytes: SPLIT_BYTES,
        }
    }
}

/// Reads every file on `o.threads` threads and merges what they counted.
pub fn read_all(files: &[LogFile], o: ReadOptions) -> Result<Traffic, Error> {
    let ReadOptions {
        per_session,
        traffic_from_trail,
        threads,
        trace,
        dedupe,
        window,
        progress,
        split_bytes,
    } = o;
    let progress = progress.as_deref();
    let seen = dedupe.then(Seen::new);
    let seen = seen.as_ref();
    let fresh = || {
        let mut t = Traffic::new(per_session);
        t.window = window;
        t.trace = trace.then(Vec::new);
        t
    };
    let parts = parts(files, threads, split_bytes);
    let next = AtomicUsize::new(0);
    let threads = threads.clamp(1, parts.len().max(1));
    let results: Vec<Result<Traffic, Error>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut t = fresh();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(part) = parts.get(i) else { break };
                        let f = part.file;
                        let before = (t.records, t.malformed, t.duplicates);
                        match f.kind {
                            Kind::AccessLogs => read_access_log(part, &mut t, seen)?,
                            Kind::CloudTrail => {
                                read_cloudtrail(f, &mut t, traffic_from_trail, seen)?
                            }
                            Kind::Aggregate => super::athena::read(&f.path, &mut t)?,
                        }
                        if let Some(p) = progress {
                            p.file_done(
                                part.range.is_none_or(|(a, _)| a == 0),
                                part.bytes,
                                t.records - before.0,
                                t.malformed - before.1,
                                t.duplicates - before.2,
                            );
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
