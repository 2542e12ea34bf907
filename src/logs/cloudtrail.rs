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
}

impl Event {
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

/// The records of one file's text; each is parsed on its own so one bad record costs
/// only itself. Errors: the file is not a CloudTrail file.
pub fn records(text: &str) -> Result<Vec<Value>, String> {
    #[derive(Deserialize)]
    struct File {
        #[serde(rename = "Records")]
        records: Vec<Value>,
    }
    serde_json::from_str::<File>(text)
        .map(|f| f.records)
        .map_err(|e| format!("not a CloudTrail log file ({{\"Records\": [...]}}): {e}"))
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
