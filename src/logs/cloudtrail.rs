//! CloudTrail records (docs/log-formats.md §3), from log files (`{"Records": [...]}`)
//! or LookupEvents' `CloudTrailEvent` documents alike: S3 data events are traffic; KMS
//! events whose encryption context names an S3 ARN are the KMS calls S3 made on a
//! requester's behalf. The forecast and a run's exact counts on AWS both read them here.

use super::access_log::{Malformed, Owned, parse_iso_time};
use super::record::Op;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Identity {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    arn: Option<String>,
    #[serde(rename = "accountId", default)]
    account_id: Option<String>,
}

/// One record, with the fields the forecast reads.
#[derive(Deserialize)]
pub struct Event {
    #[serde(rename = "eventTime")]
    event_time: Option<String>,
    #[serde(rename = "eventSource")]
    event_source: Option<String>,
    #[serde(rename = "eventName")]
    event_name: Option<String>,
    #[serde(rename = "userIdentity")]
    user_identity: Option<Identity>,
    #[serde(rename = "requestParameters", default)]
    request_parameters: Value,
    #[serde(rename = "additionalEventData", default)]
    additional: Value,
    #[serde(rename = "errorCode", default)]
    error_code: Option<String>,
    #[serde(rename = "recipientAccountId", default)]
    recipient: Option<String>,
    #[serde(rename = "awsRegion", default)]
    region: Option<String>,
    #[serde(rename = "eventID", default)]
    event_id: Option<String>,
    #[serde(rename = "eventCategory", default)]
    event_category: Option<String>,
}

impl Event {
    /// The event's identity for removing duplicates (its eventID, hashed).
    pub fn dedupe(&self) -> Option<u64> {
        self.event_id
            .as_deref()
            .map(|id| super::record::dedupe_key(&[id]))
    }

    /// A CloudTrail Insights event (unusual API activity), not a call.
    pub fn is_insight(&self) -> bool {
        self.event_category.as_deref() == Some("Insight")
    }

    /// The account whose trail recorded the event (the bucket or key owner).
    pub fn recipient(&self) -> Option<&str> {
        self.recipient.as_deref()
    }
}

/// A KMS call S3 made on a requester's behalf, as CloudTrail recorded it.
#[derive(Clone, Debug, PartialEq)]
pub struct KmsCall {
    /// Unix seconds.
    pub unix: i64,
    /// KMS API.
    pub api: String,
    /// Bucket, from the `aws:s3:arn` encryption context.
    pub bucket: String,
    /// The context names the bucket, not an object: a Bucket Key call.
    pub bucket_level: bool,
    /// The requester as recorded (None: anonymous).
    pub requester: Option<String>,
    /// The KMS key.
    pub key: Option<String>,
    /// Refused by the quota (ThrottlingException).
    pub throttled: bool,
    /// Refused for any reason (an `errorCode`, throttling included): not a billed
    /// request, and no key was used.
    pub failed: bool,
    /// The region of the call (`awsRegion`).
    pub region: Option<String>,
}

/// What one record is.
pub enum Parsed {
    /// An S3 request.
    Request(Owned),
    /// A KMS call for S3.
    Kms(KmsCall),
    /// Something else (management events, KMS calls not for S3).
    Skip,
}

fn requester(id: &Option<Identity>) -> Option<String> {
    let id = id.as_ref()?;
    if id.account_id.as_deref() == Some("anonymous") || id.kind.as_deref() == Some("Anonymous") {
        return None;
    }
    id.arn.clone().or_else(|| id.account_id.clone())
}

/// Reads one record.
pub fn parse(e: Event) -> Result<Parsed, Malformed> {
    let (Some(time), Some(source), Some(name)) = (&e.event_time, &e.event_source, &e.event_name)
    else {
        return Err("record without eventTime, eventSource or eventName");
    };
    let unix = parse_iso_time(time).ok_or("eventTime is not ISO 8601")?;
    let p = &e.request_parameters;
    match source.as_str() {
        "s3.amazonaws.com" => {
            let Some(op) = Op::from_event_name(name) else {
                return Ok(Parsed::Skip);
            };
            let bucket = p["bucketName"]
                .as_str()
                .ok_or("S3 data event without requestParameters.bucketName")?;
            let size = match op {
                Op::Get => e.additional["bytesTransferredOut"].as_f64(),
                _ => e.additional["bytesTransferredIn"].as_f64(),
            }
            .map(|v| v as u64);
            Ok(Parsed::Request(Owned {
                unix,
                bucket: bucket.to_owned(),
                op,
                requester: requester(&e.user_identity),
                key: p["key"].as_str().map(str::to_owned),
                size,
                status: if e.error_code.is_some() { 400 } else { 200 },
                region: e.region.clone(),
                // Duplicates are removed by eventID, before parsing.
                id: None,
            }))
        }
        "kms.amazonaws.com" => {
            let Some(arn) = p["encryptionContext"]["aws:s3:arn"].as_str() else {
                return Ok(Parsed::Skip);
            };
            let path = arn.split(":::").nth(1).unwrap_or("");
            let (bucket, object) = match path.split_once('/') {
                Some((b, k)) => (b, !k.is_empty()),
                None => (path, false),
            };
            if bucket.is_empty() {
                return Err("aws:s3:arn context without a bucket");
            }
            Ok(Parsed::Kms(KmsCall {
                unix,
                api: name.clone(),
                bucket: bucket.to_owned(),
                bucket_level: !object,
                requester: requester(&e.user_identity),
                key: p["keyId"].as_str().map(str::to_owned),
                throttled: e.error_code.as_deref() == Some("ThrottlingException"),
                failed: e.error_code.is_some(),
                region: e.region.clone(),
            }))
        }
        _ => Ok(Parsed::Skip),
    }
}

/// What one CloudTrail source file holds.
#[derive(Debug)]
pub enum TrailFile {
    /// Event records, each to be parsed on its own (so one bad record costs only
    /// itself), and the lines that were not events (`line N: why`).
    Records(Vec<Value>, Vec<String>),
    /// A digest file: hashes of delivered log files, no events.
    Digest,
}

/// Reads a CloudTrail source file, told apart by its content (docs/log-formats.md §3):
/// a log file (`{"Records": [...]}`), a digest file, one event per line (CloudWatch
/// Logs exports: bare, prefixed with a timestamp, or wrapped in `message`), the output
/// of `aws logs filter-log-events` (`{"events": [{"message": ...}]}`), or a CloudWatch
/// Logs subscription payload (`{"logEvents": [{"message": ...}]}`), decoded or as
/// delivered (base64 of gzip). Errors: the file is none of these.
pub fn read_file(bytes: &[u8]) -> Result<TrailFile, String> {
    read_nested(bytes, 0)
}

fn read_nested(bytes: &[u8], depth: u8) -> Result<TrailFile, String> {
    const NOT: &str = "not a CloudTrail file ({\"Records\": [...]}, one event per line, or CloudWatch Logs events)";
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!("{NOT}: empty"));
    }
    if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
        return document(v).ok_or_else(|| NOT.to_owned());
    }
    if depth == 0
        && let Some(decoded) = subscription_payload(trimmed)
    {
        return read_nested(&decoded, depth + 1);
    }
    let mut records = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in trimmed.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match event_of_line(line) {
            Some(v) => records.push(v),
            None => bad.push(format!("line {}: not a CloudTrail event", i + 1)),
        }
    }
    if records.is_empty() {
        return Err(NOT.to_owned());
    }
    Ok(TrailFile::Records(records, bad))
}

/// One JSON document: a log file, a digest, a list of CloudWatch Logs events, or one event.
fn document(mut v: Value) -> Option<TrailFile> {
    if let Some(Value::Array(records)) = v.get_mut("Records").map(Value::take) {
        return Some(TrailFile::Records(records, Vec::new()));
    }
    if v.get("digestStartTime").is_some() || v.get("logFiles").is_some() {
        return Some(TrailFile::Digest);
    }
    for list in ["logEvents", "events"] {
        if let Some(Value::Array(events)) = v.get(list) {
            let mut records = Vec::new();
            let mut bad = Vec::new();
            for (i, e) in events.iter().enumerate() {
                match e["message"]
                    .as_str()
                    .and_then(|m| serde_json::from_str(m).ok())
                {
                    Some(r) if is_event(&r) => records.push(r),
                    _ => bad.push(format!(
                        "{list}[{i}]: its message is not a CloudTrail event"
                    )),
                }
            }
            return Some(TrailFile::Records(records, bad));
        }
    }
    is_event(&v).then(|| TrailFile::Records(vec![v], Vec::new()))
}

fn is_event(v: &Value) -> bool {
    v.get("eventTime").is_some() && v.get("eventName").is_some()
}

/// One line of an export: an event, an event wrapped in `message`, either after a
/// timestamp (`2026-01-02T03:04:05.000Z {...}`).
fn event_of_line(line: &str) -> Option<Value> {
    let json = if line.starts_with('{') {
        line
    } else {
        let (stamp, rest) = line.split_once(' ')?;
        (stamp.len() >= 19 && stamp.as_bytes().get(4) == Some(&b'-'))
            .then_some(rest.trim_start())?
    };
    let v: Value = serde_json::from_str(json).ok()?;
    if is_event(&v) {
        return Some(v);
    }
    let inner: Value = serde_json::from_str(v.get("message")?.as_str()?).ok()?;
    is_event(&inner).then_some(inner)
}

/// A subscription payload as delivered (Kinesis, Firehose, Lambda): base64 of gzip.
fn subscription_payload(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    use std::io::Read as _;
    let compact: String = text.split_whitespace().collect();
    let raw = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()?;
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Some(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_key_call_is_told_by_its_context() {
        let e: Event = serde_json::from_value(serde_json::json!({
            "eventTime": "2026-01-02T03:04:05Z",
            "eventSource": "kms.amazonaws.com",
            "eventName": "GenerateDataKey",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/etl/s"},
            "requestParameters": {"encryptionContext": {"aws:s3:arn": "arn:aws:s3:::media"}, "keyId": "k"},
        }))
        .expect("event");
        let Ok(Parsed::Kms(k)) = parse(e) else {
            panic!("a KMS call")
        };
        assert!(k.bucket_level);
        assert_eq!(k.bucket, "media");
    }
}
