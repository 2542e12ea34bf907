//! `forecast` on logs as AWS delivers them: CloudTrail's digest and Insights files
//! beside its log files, CloudTrail in every form CloudWatch Logs hands it out, records
//! delivered twice, lifecycle records, and requesters of other accounts.

use crate::common;

use common::forecast::{fixture, forecast_json};
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::Path;

fn mode<'a>(r: &'a Value, m: &str) -> &'a Value {
    r["modes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["mode"] == m))
        .expect("mode in the forecast")
}

fn caveat<'a>(r: &'a Value, needle: &str) -> Option<&'a str> {
    r["caveats"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|c| c.contains(needle))
}

fn gzip(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut gz = flate2::write::GzEncoder::new(
        std::fs::File::create(path).unwrap(),
        flate2::Compression::default(),
    );
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap();
}

/// The example trail's records, each given an eventID (CloudTrail always writes one).
fn trail_records() -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("cloudtrail-example.json")).unwrap())
            .unwrap();
    v["Records"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let mut r = r.clone();
            r["eventID"] = json!(format!("0000000{i}-EXAMPLE"));
            r
        })
        .collect()
}

/// What a forecast of the trail says, in the figures every form must agree on.
fn trail_figures(r: &Value) -> (Value, Value, Value) {
    (
        r["requests"].clone(),
        r["today"]["measured"].clone(),
        mode(r, "sse-kms")["kms_calls"].clone(),
    )
}

/// `AWSLogs/<account>/` as CloudTrail lays it out: log files, digest files (one told
/// by its folder, one by its content in the log folder), an Insights folder, and an
/// Insights record inside a log file. The forecast reads the log records alone.
#[test]
fn digest_and_insights_files_are_skipped_and_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("AWSLogs/111122223333");
    let mut records = trail_records();
    let plain = json!({ "Records": records.clone() }).to_string();
    let day = "eu-central-1/2026/03/01";
    gzip(
        &root.join(format!(
            "CloudTrail/{day}/111122223333_CloudTrail_eu-central-1_20260301T1000Z_a.json.gz"
        )),
        plain.as_bytes(),
    );
    let digest = json!({
        "awsAccountId": "111122223333", "digestStartTime": "2026-03-01T10:00:00Z",
        "digestEndTime": "2026-03-01T11:00:00Z", "digestPublicKeyFingerprint": "aa",
        "logFiles": [{"s3Bucket": "trail", "s3Object": "x.json.gz", "hashValue": "00"}]
    })
    .to_string();
    gzip(
        &root.join(format!(
            "CloudTrail-Digest/{day}/111122223333_CloudTrail-Digest_eu-central-1_x.json.gz"
        )),
        digest.as_bytes(),
    );
    gzip(
        &root.join(format!(
            "CloudTrail/{day}/111122223333_CloudTrail_eu-central-1_digest-copy.json.gz"
        )),
        digest.as_bytes(),
    );
    let insight = json!({"Records": [{"eventVersion": "1.08", "eventTime": "2026-03-01T10:00:00Z",
        "eventSource": "kms.amazonaws.com", "eventName": "GenerateDataKey", "eventCategory": "Insight",
        "insightDetails": {"state": "Start"}}]});
    gzip(
        &root.join(format!(
            "CloudTrail-Insight/{day}/111122223333_CloudTrail-Insight_x.json.gz"
        )),
        insight.to_string().as_bytes(),
    );
    // An Insights record among the log records: counted apart, not as a call.
    records.push(insight["Records"][0].clone());
    gzip(
        &root.join(format!(
            "CloudTrail/{day}/111122223333_CloudTrail_eu-central-1_20260301T1005Z_b.json.gz"
        )),
        json!({ "Records": [records.last().unwrap()] })
            .to_string()
            .as_bytes(),
    );
    let alone = forecast_json(&["--cloudtrail", &fixture("cloudtrail-example.json")]);
    let r = forecast_json(&["--cloudtrail", dir.path().to_str().unwrap()]);
    assert_eq!(r["sources"]["digest_files"], 2, "by folder and by content");
    assert_eq!(r["sources"]["insight_files"], 1);
    assert_eq!(r["sources"]["insight_records"], 1);
    assert_eq!(r["sources"]["malformed"], 0);
    assert_eq!(trail_figures(&r), trail_figures(&alone));
    assert!(caveat(&r, "2 CloudTrail digest file(s) skipped").is_some());
    assert!(
        caveat(
            &r,
            "1 CloudTrail Insights file(s) and 1 Insights record(s) skipped"
        )
        .is_some()
    );
}

/// One trail, six ways: a log file, one event per line, a CloudWatch Logs export with
/// timestamps and `message` wrappers, `aws logs filter-log-events` output, and a
/// subscription payload decoded and as delivered (base64 of gzip). Same figures.
#[test]
fn cloudtrail_reads_alike_in_every_delivery_form() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().unwrap();
    let records = trail_records();
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    let events: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(i, r)| json!({"id": i.to_string(), "timestamp": 1772359200000u64, "message": r.to_string()}))
        .collect();
    let subscription = json!({"messageType": "DATA_MESSAGE", "owner": "111122223333",
        "logGroup": "trail", "logStream": "s", "subscriptionFilters": ["f"], "logEvents": events});
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(subscription.to_string().as_bytes()).unwrap();
    let delivered = base64::engine::general_purpose::STANDARD.encode(gz.finish().unwrap());
    let forms: Vec<(&str, String)> = vec![
        ("records.json", json!({ "Records": records }).to_string()),
        ("lines.ndjson", lines.join("\n")),
        (
            "export.log",
            events
                .iter()
                .map(|e| format!("2026-03-01T10:00:00.000Z {e}"))
                .collect::<Vec<_>>()
                .join("\n"),
        ),
        (
            "filter-log-events.json",
            json!({"events": events, "searchedLogStreams": []}).to_string(),
        ),
        ("subscription.json", subscription.to_string()),
        ("subscription.b64", delivered),
    ];
    let mut figures = Vec::new();
    for (name, text) in &forms {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let r = forecast_json(&["--cloudtrail", path.to_str().unwrap()]);
        assert_eq!(r["sources"]["malformed"], 0, "{name}");
        figures.push((name, trail_figures(&r)));
    }
    for (name, f) in &figures[1..] {
        assert_eq!(f, &figures[0].1, "{name} reads like a log file");
    }
    assert_eq!(figures[0].1.1["GenerateDataKey"], 2);
}

/// Records delivered twice count once: an access log in two folders, a trail file
/// copied. A copy's two records share a request ID and stay two. --keep-duplicates
/// counts every copy.
#[test]
fn records_delivered_twice_count_once() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("edge-cases.log")).unwrap();
    let copy = "o media-raw [01/Mar/2026:10:00:05 +0000] 10.0.0.1 arn:aws:sts::111122223333:assumed-role/ingest/i-1 RC REST.COPY.OBJECT b.wav \"PUT /media-raw/b.wav HTTP/1.1\" 200 - 100 4096 10 5 \"-\" \"agent\" -\n\
o media-raw [01/Mar/2026:10:00:05 +0000] 10.0.0.1 arn:aws:sts::111122223333:assumed-role/ingest/i-1 RC REST.COPY.OBJECT_GET a.wav \"PUT /media-raw/b.wav HTTP/1.1\" 200 - 100 4096 10 5 \"-\" \"agent\" -\n";
    for d in ["a", "b"] {
        std::fs::create_dir_all(dir.path().join(d)).unwrap();
        std::fs::write(dir.path().join(d).join("log"), format!("{text}{copy}")).unwrap();
    }
    let once = forecast_json(&["--access-logs", &dir.path().join("a").display().to_string()]);
    let twice = forecast_json(&["--access-logs", dir.path().to_str().unwrap()]);
    assert_eq!(
        once["sources"]["duplicates_removed"], 0,
        "a copy's two records are two"
    );
    assert_eq!(once["requests"]["copy"], 1);
    assert_eq!(twice["requests"], once["requests"]);
    assert_eq!(twice["failed"], once["failed"]);
    let lines = text.lines().count() + 2;
    assert_eq!(twice["sources"]["duplicates_removed"], lines as u64);
    assert!(caveat(&twice, &format!("{lines} duplicate records removed")).is_some());
    let kept = forecast_json(&[
        "--access-logs",
        dir.path().to_str().unwrap(),
        "--keep-duplicates",
    ]);
    assert_eq!(kept["sources"]["duplicates_removed"], 0);
    assert_eq!(
        kept["requests"]["put"],
        2 * once["requests"]["put"].as_u64().unwrap()
    );

    // CloudTrail: the same file twice, by eventID.
    let trail = json!({ "Records": trail_records() }).to_string();
    std::fs::write(dir.path().join("t1.json"), &trail).unwrap();
    std::fs::write(dir.path().join("t2.json"), &trail).unwrap();
    let one = forecast_json(&[
        "--cloudtrail",
        &dir.path().join("t1.json").display().to_string(),
    ]);
    let both = forecast_json(&[
        "--cloudtrail",
        &dir.path().join("t1.json").display().to_string(),
        "--cloudtrail",
        &dir.path().join("t2.json").display().to_string(),
    ]);
    assert_eq!(trail_figures(&both), trail_figures(&one));
    assert_eq!(
        both["sources"]["duplicates_removed"],
        trail_records().len() as u64
    );
}

/// Lifecycle records (`S3.*`) are S3's own: the requester s3-internal, not failures,
/// no KMS calls.
#[test]
fn lifecycle_records_are_s3_internal() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = std::fs::read_to_string(fixture("edge-cases.log")).unwrap();
    for (i, op) in [
        "S3.EXPIRE.OBJECT",
        "S3.TRANSITION_SIA.OBJECT",
        "S3.CREATE.DELETEMARKER",
    ]
    .iter()
    .enumerate()
    {
        text.push_str(&format!(
            "o media-raw [01/Mar/2026:10:00:0{i} +0000] - AmazonS3 L{i} {op} old/{i}.wav \"-\" - - - 4096 - - \"-\" \"-\" -\n"
        ));
    }
    let path = dir.path().join("log");
    std::fs::write(&path, text).unwrap();
    let base = forecast_json(&["--access-logs", &fixture("edge-cases.log")]);
    let r = forecast_json(&["--access-logs", path.to_str().unwrap()]);
    assert_eq!(r["sources"]["malformed"], 0);
    assert_eq!(
        r["failed"], base["failed"],
        "S3's own operations are not failures"
    );
    assert_eq!(r["requests"]["s3-internal"], 3);
    let internal = r["requesters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["requester"] == "s3-internal")
        .expect("the s3-internal requester");
    assert_eq!(internal["class"], "s3-internal");
    assert_eq!(internal["requests"], 3);
    for m in ["sse-kms", "sse-kms-bucket-key", "dsse-kms"] {
        assert_eq!(mode(&r, m)["kms_calls"], mode(&base, m)["kms_calls"], "{m}");
    }
    assert!(caveat(&r, "3 S3-internal records").is_some());
}

/// The partner role of another account: its calls are in the cost and the requester
/// table, out of the owner's quota figures, and its own busiest second is named.
#[test]
fn cross_account_calls_count_against_their_own_account() {
    let r = forecast_json(&["--access-logs", &fixture("edge-cases.log")]);
    let kms = mode(&r, "sse-kms");
    assert_eq!(kms["other_accounts_peak"]["444455556666"], 1.0);
    let partner = r["requesters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["class"] == "cross-account")
        .unwrap();
    let partner_calls = partner["kms"]["sse-kms"].as_f64().unwrap();
    assert!(partner_calls > 0.0);
    let own_calls = kms["kms_calls"].as_f64().unwrap() - partner_calls;
    let span = r["span"][2].as_f64().unwrap();
    assert!((kms["avg_rps"].as_f64().unwrap() - own_calls / span).abs() < 1e-9);
    let c = caveat(&r, "cross-account requester(s)").unwrap();
    assert!(
        c.contains("against their own accounts' quotas") && c.contains("444455556666 1 req/s"),
        "{c}"
    );
}

/// One access log line of a signed PUT by the ingest role at `unix`.
fn put_line(unix: i64, id: &str) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(unix).unwrap();
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][usize::from(u8::from(t.month())) - 1];
    format!(
        "o media-raw [{:02}/{month}/{}:{:02}:{:02}:{:02} +0000] 10.0.0.1 arn:aws:sts::111122223333:assumed-role/ingest/i-1 {id} REST.PUT.OBJECT k/{id} \"PUT /media-raw/k HTTP/1.1\" 200 - - 1024 10 5 \"-\" \"agent\" -\n",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Three weeks of hourly access log files, a one-week window: the files delivered
/// before it and over a day after it are not read, a file delivered the hour after it
/// still counts its records from inside it, and the figures are those of the window's
/// records alone.
#[test]
fn a_window_reads_its_records_and_prunes_files_by_name() {
    const MAR1: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    let (since, until) = (MAR1 + 7 * 86_400, MAR1 + 14 * 86_400);
    let mut inside = String::new();
    for h in 0..(21 * 24) {
        let start = MAR1 + h * 3600;
        // Delivered 50 minutes after the hour it covers (records of minutes 10 and 40).
        let name = time::OffsetDateTime::from_unix_timestamp(start + 3000).unwrap();
        let file = logs.join(format!(
            "{}-{:02}-{:02}-{:02}-{:02}-00-{h:04}",
            name.year(),
            u8::from(name.month()),
            name.day(),
            name.hour(),
            name.minute()
        ));
        let mut text = String::new();
        for (i, at) in [start + 600, start + 2400].iter().enumerate() {
            let l = put_line(*at, &format!("R{h}x{i}"));
            if (since..until).contains(at) {
                inside.push_str(&l);
            }
            text.push_str(&l);
        }
        std::fs::write(file, text).unwrap();
    }
    // Delivered late: named 30 minutes after --until, one record from inside the window.
    let late = put_line(until - 60, "LATE");
    inside.push_str(&late);
    std::fs::write(logs.join("2026-03-15-00-30-00-LATE"), late).unwrap();
    let alone = dir.path().join("inside.log");
    std::fs::write(&alone, &inside).unwrap();

    let r = forecast_json(&[
        "--access-logs",
        logs.to_str().unwrap(),
        "--since",
        "2026-03-08",
        "--until",
        "2026-03-15T00:00:00Z",
    ]);
    let a = forecast_json(&["--access-logs", alone.to_str().unwrap()]);
    assert_eq!(r["requests"], a["requests"]);
    assert_eq!(
        r["requests"]["put"],
        7 * 24 * 2 + 1,
        "the late record counts"
    );
    assert_eq!(
        mode(&r, "sse-kms")["kms_calls"],
        mode(&a, "sse-kms")["kms_calls"]
    );
    assert_eq!(
        mode(&r, "sse-kms")["peak_rps"],
        mode(&a, "sse-kms")["peak_rps"]
    );
    // Read: the window's 168 files, the 24 named in the day after it, the late one.
    // Not read: the week before and the six days after the margin.
    let read = 7 * 24 + 24 + 1;
    assert_eq!(r["sources"]["files"], read);
    assert_eq!(r["sources"]["pruned_files"], 21 * 24 + 1 - read);
    // Records in files read but outside the window: the day after it.
    assert_eq!(r["sources"]["outside_window"], 24 * 2);
    assert!(caveat(&r, "files or folders not read").is_some());
    // Bad windows are refused before anything is read.
    for (since, until) in [("2026-03-15", "2026-03-08"), ("yesterday-ish", "1d")] {
        let (code, _, err) = common::sse_bench_output(&[
            "forecast",
            "--access-logs",
            logs.to_str().unwrap(),
            "--since",
            since,
            "--until",
            until,
        ]);
        assert_eq!(code, 2, "{err}");
    }
}

/// Reading says what it read on stderr (a line every 5 s while it reads, one at the
/// end), never on stdout, and nothing with -q.
#[test]
fn progress_goes_to_stderr_and_quiet_silences_it() {
    let log = fixture("edge-cases.log");
    let (code, out, err) = common::sse_bench_output(&["forecast", "--access-logs", &log]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("read 1 of 1 files") && err.contains("7 records"),
        "{err}"
    );
    assert!(!out.contains("read 1 of 1 files"));
    let (code, _, err) = common::sse_bench_output(&["-q", "forecast", "--access-logs", &log]);
    assert_eq!(code, 0);
    assert!(!err.contains("read 1 of"), "{err}");
}
