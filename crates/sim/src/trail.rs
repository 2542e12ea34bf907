//! CloudTrail event history of the simulated KMS: every cryptographic call becomes a
//! management event with the record shape CloudTrail gives S3's calls on a requester's
//! behalf (docs/aws-behaviour.md §7), served by `LookupEvents` on the KMS endpoint, so
//! the harness's CloudTrail reader is tested end to end.

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// The `X-Amz-Target` of LookupEvents (SDKs send it with or without the namespace).
pub fn is_lookup_events(target: &str) -> bool {
    target == "CloudTrail_20131101.LookupEvents"
        || target == "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"
}

/// Events kept; older ones are dropped first (CloudTrail keeps 90 days; a simulator
/// keeps a bounded number).
pub const MAX_EVENTS: usize = 200_000;

/// One KMS call as CloudTrail records it.
#[derive(Clone, Debug)]
struct Event {
    id: u64,
    unix: f64,
    api: &'static str,
    key_arn: String,
    access_key: String,
    via_s3: bool,
    context: BTreeMap<String, String>,
    throttled: bool,
}

/// The event history.
pub struct Trail {
    region: String,
    account: String,
    /// Access key → role it is a session of.
    roles: HashMap<String, String>,
    events: Mutex<(u64, VecDeque<Event>)>,
    /// Random, per history: its eventIDs are unique across simulators (readers remove
    /// records delivered twice by eventID).
    instance: u64,
    /// Where every record is also written as a CloudTrail log file, when logs are on.
    sink: Option<Arc<crate::logs::Logs>>,
}

/// What a KMS call records.
pub struct Call<'a> {
    /// KMS API.
    pub api: &'static str,
    /// Key ARN.
    pub key_arn: &'a str,
    /// Access key of the principal (the requester when S3 calls on its behalf).
    pub access_key: &'a str,
    /// S3 called on the requester's behalf.
    pub via_s3: bool,
    /// Encryption context of the call.
    pub context: &'a BTreeMap<String, String>,
    /// Refused by the quota.
    pub throttled: bool,
}

impl Trail {
    /// An empty history; `roles` maps access keys to the roles they are sessions of.
    pub fn new(region: &str, account: &str, roles: HashMap<String, String>) -> Self {
        Trail {
            region: region.into(),
            account: account.into(),
            roles,
            events: Mutex::new((0, VecDeque::new())),
            instance: rand::random(),
            sink: None,
        }
    }

    /// The same history, also written to CloudTrail log files.
    pub(crate) fn with_sink(mut self, sink: Option<Arc<crate::logs::Logs>>) -> Self {
        self.sink = sink;
        self
    }

    /// Records one call at the current wall-clock time.
    pub fn record(&self, c: Call<'_>) {
        let unix = crate::logs::unix_now();
        let mut g = self.events.lock();
        g.0 += 1;
        let id = g.0;
        if g.1.len() >= MAX_EVENTS {
            g.1.pop_front();
        }
        g.1.push_back(Event {
            id,
            unix,
            api: c.api,
            key_arn: c.key_arn.to_owned(),
            access_key: c.access_key.to_owned(),
            via_s3: c.via_s3,
            context: c.context.clone(),
            throttled: c.throttled,
        });
        // Only S3's calls on a requester's behalf go to the log files (the forecast's
        // measured side); the record is built here, and written after the history's
        // lock is released, since a full file is compressed and written on that call.
        let record = match (&self.sink, g.1.back()) {
            (Some(_), Some(e)) if e.via_s3 => Some(self.record_json(e)),
            _ => None,
        };
        drop(g);
        if let (Some(sink), Some(r)) = (&self.sink, record) {
            sink.push_trail(r);
        }
    }

    fn user_identity(&self, e: &Event) -> Value {
        let mut id = crate::logs::user_identity(&self.account, &self.roles, &e.access_key);
        if e.via_s3 {
            id["invokedBy"] = json!("s3.amazonaws.com");
        }
        id
    }

    /// The `CloudTrailEvent` document of one event.
    fn record_json(&self, e: &Event) -> Value {
        let by = if e.via_s3 {
            "s3.amazonaws.com"
        } else {
            "sse-bench-simulator"
        };
        let mut r = json!({
            "eventVersion": "1.09",
            "userIdentity": self.user_identity(e),
            "eventTime": crate::logs::rfc3339(e.unix),
            "eventSource": "kms.amazonaws.com",
            "eventName": e.api,
            "awsRegion": self.region,
            "sourceIPAddress": by,
            "userAgent": by,
            "requestParameters": {"encryptionContext": e.context, "keyId": e.key_arn},
            "responseElements": null,
            "eventID": format!(
                "{:08x}-{:04x}-4000-8000-{:012x}",
                self.instance >> 32,
                (self.instance >> 16) & 0xffff,
                e.id
            ),
            "readOnly": true,
            "resources": [{"accountId": self.account, "type": "AWS::KMS::Key", "ARN": e.key_arn}],
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": self.account,
            "eventCategory": "Management",
        });
        if e.throttled {
            r["errorCode"] = json!("ThrottlingException");
            r["errorMessage"] = json!("Rate exceeded");
        }
        r
    }

    /// LookupEvents: events newest first, filtered by one lookup attribute (EventName,
    /// EventSource, ResourceName or AccessKeyId) and a time window, 50 a page at most.
    pub fn lookup(&self, body: &[u8]) -> Result<Value, (&'static str, String)> {
        let r: LookupRequest = if body.is_empty() {
            LookupRequest::default()
        } else {
            serde_json::from_slice(body).map_err(|e| {
                (
                    "InvalidLookupAttributesException",
                    format!("malformed request: {e}"),
                )
            })?
        };
        if r.lookup_attributes.len() > 1 {
            return Err((
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute per request.".into(),
            ));
        }
        let max = r.max_results.unwrap_or(50);
        if !(1..=50).contains(&max) {
            return Err((
                "InvalidMaxResultsException",
                "MaxResults must be between 1 and 50.".into(),
            ));
        }
        let after: u64 = match &r.next_token {
            Some(t) => t
                .parse()
                .map_err(|_| ("InvalidNextTokenException", "Invalid NextToken".to_owned()))?,
            None => u64::MAX,
        };
        let attr = r.lookup_attributes.first();
        let matches = |e: &Event| match attr {
            None => true,
            Some(a) => match a.attribute_key.as_str() {
                "EventName" => e.api == a.attribute_value,
                "EventSource" => a.attribute_value == "kms.amazonaws.com",
                "ResourceName" => e.key_arn == a.attribute_value,
                "AccessKeyId" => e.access_key == a.attribute_value,
                _ => false,
            },
        };
        let g = self.events.lock();
        let mut page = Vec::new();
        let mut next = None;
        // Ids grow along the deque: the page starts below `after` without a scan.
        let end = g.1.partition_point(|e| e.id < after);
        for e in g.1.range(..end).rev() {
            if r.start_time.is_some_and(|t| e.unix < t) {
                break;
            }
            if r.end_time.is_some_and(|t| e.unix > t) || !matches(e) {
                continue;
            }
            if page.len() == max as usize {
                next = Some((e.id + 1).to_string());
                break;
            }
            let record = self.record_json(e);
            page.push(json!({
                "EventId": record["eventID"],
                "EventName": e.api,
                "ReadOnly": "true",
                "AccessKeyId": e.access_key,
                "EventTime": e.unix,
                "EventSource": "kms.amazonaws.com",
                "Username": e.access_key,
                "Resources": [{"ResourceType": "AWS::KMS::Key", "ResourceName": e.key_arn}],
                "CloudTrailEvent": record.to_string(),
            }));
        }
        let mut out = json!({ "Events": page });
        if let Some(n) = next {
            out["NextToken"] = json!(n);
        }
        Ok(out)
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct LookupRequest {
    lookup_attributes: Vec<LookupAttribute>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttribute {
    attribute_key: String,
    attribute_value: String,
}
