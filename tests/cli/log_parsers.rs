//! No input makes `forecast` panic: arbitrary bytes, and valid records of every format
//! with bytes replaced, inserted or cut, read through the same path `forecast` reads
//! files by (`forecast::source::read_all`), end as records, malformed counts, or a
//! usage error (exit 2) naming the file.

use proptest::prelude::*;
use sse_bench::forecast::source::{Kind, LogFile, ReadOptions, read_all};
use std::path::Path;

const ACCESS_LOG: &str = include_str!("../forecast/edge-cases.log");
const CLOUDWATCH: &str = include_str!("../forecast/cloudwatch.jsonl");
const CLOUDTRAIL: &str = include_str!("../forecast/cloudtrail-example.json");
const AGGREGATE: &str = "second,bucket,operation,requester,ok,requests,bytes\n\
1772359200,media-raw,REST.PUT.OBJECT,arn:aws:iam::111122223333:role/ingest,1,3,3072\n\
1772359201,media-raw,REST.GET.OBJECT,-,0,1,0\n";

/// Valid records of every format and kind, each one line or one document.
fn seeds() -> Vec<(Kind, String)> {
    let ndjson: String = {
        let v: serde_json::Value = serde_json::from_str(CLOUDTRAIL).unwrap();
        v["Records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.to_string() + "\n")
            .collect()
    };
    vec![
        (Kind::AccessLogs, ACCESS_LOG.to_owned()),
        (Kind::AccessLogs, CLOUDWATCH.to_owned()),
        (Kind::CloudTrail, CLOUDTRAIL.to_owned()),
        (Kind::CloudTrail, ndjson),
        (Kind::Aggregate, AGGREGATE.to_owned()),
    ]
}

/// Reads `bytes` as a file of `kind`: it must not panic (a panicking reader thread
/// comes back as the error "a log reader thread panicked").
fn read(dir: &Path, kind: Kind, bytes: &[u8]) {
    let path = dir.join("input");
    std::fs::write(&path, bytes).unwrap();
    let files = [LogFile { path, kind }];
    let o = ReadOptions {
        trace: true,
        ..ReadOptions::default()
    };
    match read_all(&files, o) {
        Ok(t) => assert!(t.malformed <= t.records, "malformed is a share of records"),
        Err(e) => {
            let text = e.to_string();
            assert!(!text.contains("panicked"), "{text}");
            assert_eq!(e.exit_code(), 2, "bad input is a usage error: {text}");
        }
    }
}

#[derive(Clone, Debug)]
enum Edit {
    Replace(usize, u8),
    Insert(usize, Vec<u8>),
    Cut(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Replace(i, b)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(i, v)| Edit::Insert(i, v)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Edit::Cut(i, n)),
    ]
}

fn apply(mut b: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        let len = b.len().max(1);
        match e {
            Edit::Replace(i, v) if !b.is_empty() => b[i % len] = *v,
            Edit::Insert(i, v) => {
                let at = i % (b.len() + 1);
                b.splice(at..at, v.iter().copied());
            }
            Edit::Cut(i, n) if !b.is_empty() => {
                let at = i % len;
                let end = (at + n).min(b.len());
                b.drain(at..end);
            }
            _ => {}
        }
    }
    b
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), kind in 0usize..3) {
        let dir = tempfile::tempdir().unwrap();
        let kind = [Kind::AccessLogs, Kind::CloudTrail, Kind::Aggregate][kind];
        read(dir.path(), kind, &bytes);
    }

    #[test]
    fn mutated_records_never_panic(seed in 0usize..5, edits in prop::collection::vec(edit(), 1..6)) {
        let dir = tempfile::tempdir().unwrap();
        let (kind, text) = &seeds()[seed];
        read(dir.path(), *kind, &apply(text.clone().into_bytes(), &edits));
    }
}

/// The seeds themselves read cleanly: the mutations start from valid input.
#[test]
fn the_seeds_are_valid() {
    let dir = tempfile::tempdir().unwrap();
    for (kind, text) in seeds() {
        let path = dir.path().join("seed");
        std::fs::write(&path, &text).unwrap();
        let t = read_all(&[LogFile { path, kind }], ReadOptions::default()).unwrap();
        assert_eq!(t.malformed, 0, "{kind:?}: {}", &text[..40]);
        assert!(t.records > 0);
    }
}

/// What a read counted, in a form two reads can be compared by.
fn counted(t: &sse_bench::forecast::traffic::Traffic) -> (Vec<String>, u64, u64, u64) {
    let mut cells: Vec<String> = t
        .seconds
        .iter()
        .map(|((s, b, q), c)| {
            format!(
                "{s} {} {} {c:?}",
                t.buckets.names[*b as usize], t.requesters.names[*q as usize]
            )
        })
        .collect();
    cells.sort();
    (cells, t.records, t.malformed, t.bytes_written as u64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// A plain file cut into parts at any size, read by any number of threads, counts
    /// every line once: the same cells, records and malformed lines as one reader.
    #[test]
    fn a_file_read_in_parts_counts_every_line_once(split in 1u64..4096, threads in 2usize..7) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        // Lines of several lengths, a malformed one, blank lines and no final newline.
        let text = format!("{ACCESS_LOG}garbage line\n\n{ACCESS_LOG}{}", ACCESS_LOG.trim_end());
        std::fs::write(&path, &text).unwrap();
        let files = [LogFile { path, kind: Kind::AccessLogs }];
        let whole = read_all(&files, ReadOptions { dedupe: false, ..ReadOptions::default() }).unwrap();
        let parts = read_all(
            &files,
            ReadOptions { dedupe: false, threads, split_bytes: split, ..ReadOptions::default() },
        )
        .unwrap();
        prop_assert_eq!(counted(&parts), counted(&whole));
        prop_assert_eq!(whole.malformed, 1);
    }
}
