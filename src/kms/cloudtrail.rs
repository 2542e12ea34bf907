//! Exact per-run KMS counts on AWS from CloudTrail event history
//! (docs/aws-behaviour.md §7): LookupEvents for the KMS management events S3 made
//! (GenerateDataKey, Decrypt), kept when their encryption context names one of the
//! run's buckets and attributed to mode, bucket and requester. CloudTrail delivers
//! late (usually within 15 minutes), so the count is read until it stops changing or
//! a bound passes, and the output says which. Labelled "measured (CloudTrail)".

use crate::error::{Context as _, Error, Result};
use crate::logs::cloudtrail::{Event, Parsed, parse};
use crate::logs::record::identity;
use crate::scenario::Mode;
use aws_sdk_cloudtrail::primitives::DateTime;
use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// The KMS APIs S3 calls on a requester's behalf.
pub const EVENT_NAMES: [&str; 2] = ["GenerateDataKey", "Decrypt"];
/// LookupEvents is limited to about 2 requests a second per account and region.
pub const PAGE_INTERVAL: Duration = Duration::from_millis(500);
/// Default bound of the wait for late delivery.
pub const DEFAULT_WAIT: Duration = Duration::from_secs(15 * 60);

/// Time as the wait sees it: real, or a test's.
pub trait Clock {
    /// Time since the wait began.
    fn elapsed(&self) -> Duration;
    /// Waits `d`.
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send;
}

/// The wall clock.
pub struct RealClock(std::time::Instant);

impl RealClock {
    /// Starts now.
    pub fn start() -> Self {
        RealClock(std::time::Instant::now())
    }
}

impl Clock for RealClock {
    fn elapsed(&self) -> Duration {
        self.0.elapsed()
    }
    fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
        tokio::time::sleep(d)
    }
}

/// One KMS event of the history.
#[derive(Clone, Debug, PartialEq)]
pub struct KmsEvent {
    /// GenerateDataKey or Decrypt.
    pub api: String,
    /// The bucket its `aws:s3:arn` context names, if any.
    pub bucket: Option<String>,
    /// The requester, by the logs' one rule: an assumed-role session counts as its role.
    pub requester: String,
    /// Refused (throttled or failed): not a billed request.
    pub failed: bool,
    /// Unix second of the call (`eventTime`), when the record is S3's.
    pub unix: Option<i64>,
}

impl KmsEvent {
    /// Reads a `CloudTrailEvent` document with the parser `forecast` reads log files
    /// with (so the two can never disagree on who made a call): a KMS call S3 made,
    /// or an event that names no bucket (another workload's).
    pub fn parse(api: &str, record: &str) -> Result<KmsEvent> {
        let e: Event =
            serde_json::from_str(record).context("a CloudTrailEvent that is not a record")?;
        Ok(match parse(e) {
            Ok(Parsed::Kms(c)) => KmsEvent {
                api: c.api,
                bucket: Some(c.bucket),
                requester: identity(c.requester.as_deref(), false),
                failed: c.failed,
                unix: Some(c.unix),
            },
            Ok(_) => KmsEvent {
                api: api.to_owned(),
                bucket: None,
                requester: String::new(),
                failed: false,
                unix: None,
            },
            Err(why) => return Err(Error::failure(format!("a CloudTrailEvent: {why}"))),
        })
    }
}

/// The run's KMS calls of one mode, as CloudTrail recorded them.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ModeTrail {
    /// Billed calls (events without an error).
    pub calls: u64,
    /// By KMS API.
    pub calls_by_api: BTreeMap<String, u64>,
    /// By bucket.
    pub by_bucket: BTreeMap<String, u64>,
    /// By requester (role or identity ARN).
    pub by_requester: BTreeMap<String, u64>,
    /// Events with an error (throttled): not billed.
    pub failed: u64,
    /// The busiest second's calls of this mode alone (attempts, refused ones
    /// included: the quota counts them), by the events' `eventTime`.
    #[serde(default)]
    pub peak_per_s: u64,
}

/// How the wait for late delivery ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Settled {
    /// Two reads in a row gave the same count, at least the predicted one.
    Stable,
    /// The bound passed first: events may still be on their way.
    Bound,
}

/// KMS calls of a run from CloudTrail.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrailCounts {
    /// Always "measured (CloudTrail)".
    pub scope: String,
    /// Per mode.
    pub per_mode: BTreeMap<Mode, ModeTrail>,
    /// Events in the window whose context names no bucket of this run (other
    /// workloads of the account): left out.
    pub excluded_events: u64,
    /// How the wait ended.
    pub settled: Settled,
    /// Seconds waited for delivery.
    pub waited_s: f64,
}

impl TrailCounts {
    /// Billed calls over every mode.
    pub fn total(&self) -> u64 {
        self.per_mode.values().map(|m| m.calls).sum()
    }
}

/// Attributes events to the run's modes by the bucket their context names.
pub fn attribute(events: &[KmsEvent], buckets: &BTreeMap<String, Mode>) -> TrailCounts {
    let mut per_mode: BTreeMap<Mode, ModeTrail> = BTreeMap::new();
    let mut seconds: BTreeMap<(Mode, i64), u64> = BTreeMap::new();
    let mut excluded = 0;
    for e in events {
        let Some((bucket, mode)) = e
            .bucket
            .as_ref()
            .and_then(|b| buckets.get(b).map(|m| (b, *m)))
        else {
            excluded += 1;
            continue;
        };
        let m = per_mode.entry(mode).or_default();
        if let Some(unix) = e.unix {
            let n = seconds.entry((mode, unix)).or_default();
            *n += 1;
            m.peak_per_s = m.peak_per_s.max(*n);
        }
        if e.failed {
            m.failed += 1;
            continue;
        }
        m.calls += 1;
        *m.calls_by_api.entry(e.api.clone()).or_default() += 1;
        *m.by_bucket.entry(bucket.clone()).or_default() += 1;
        *m.by_requester.entry(e.requester.clone()).or_default() += 1;
    }
    TrailCounts {
        scope: "measured (CloudTrail)".into(),
        per_mode,
        excluded_events: excluded,
        settled: Settled::Bound,
        waited_s: 0.0,
    }
}

/// Reads `fetch` every `poll` until two reads in a row agree on a count of at least
/// `at_least` (Stable), or `bound` has passed (Bound).
pub async fn settle<C, F, Fut>(
    clock: &C,
    poll: Duration,
    bound: Duration,
    at_least: u64,
    mut fetch: F,
) -> Result<TrailCounts>
where
    C: Clock,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<TrailCounts>>,
{
    let mut previous = None;
    loop {
        let mut c = fetch().await?;
        let total = c.total();
        c.waited_s = clock.elapsed().as_secs_f64();
        if previous == Some(total) && total >= at_least {
            c.settled = Settled::Stable;
            return Ok(c);
        }
        if clock.elapsed() >= bound {
            c.settled = Settled::Bound;
            return Ok(c);
        }
        previous = Some(total);
        clock.sleep(poll).await;
    }
}

/// Every GenerateDataKey and Decrypt event of `[start, end]`, paginated and paced
/// under LookupEvents' rate limit (the SDK's retries back off on throttling). Paging
/// reads about 100 events a second; past `deadline` it gives up with an error rather
/// than return part of the count.
pub async fn lookup<C: Clock>(
    client: &aws_sdk_cloudtrail::Client,
    clock: &C,
    start: SystemTime,
    end: SystemTime,
    deadline: Duration,
) -> Result<Vec<KmsEvent>> {
    let mut out = Vec::new();
    for api in EVENT_NAMES {
        let mut token = None;
        loop {
            let page = client
                .lookup_events()
                .lookup_attributes(
                    LookupAttribute::builder()
                        .attribute_key(LookupAttributeKey::EventName)
                        .attribute_value(api)
                        .build()
                        .context("lookup attribute")?,
                )
                .start_time(DateTime::from(start))
                .end_time(DateTime::from(end))
                .max_results(50)
                .set_next_token(token)
                .send()
                .await
                .map_err(crate::sdk_error::failure)
                .with_context(|| format!("CloudTrail LookupEvents ({api})"))?;
            for e in page.events() {
                if let Some(record) = e.cloud_trail_event() {
                    out.push(KmsEvent::parse(api, record)?);
                }
            }
            token = page.next_token().map(str::to_owned);
            if token.is_none() {
                break;
            }
            if clock.elapsed() >= deadline {
                return Err(Error::failure(format!(
                    "{} events read and more to page through when the wait's bound passed: LookupEvents reads about 100 events a second, too few for this run (count it with a trail and Athena, and pass --no-cloudtrail)",
                    out.len()
                )));
            }
            clock.sleep(PAGE_INTERVAL).await;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::Mutex;

    /// A clock that moves only when the code under test sleeps.
    struct Manual(Mutex<Duration>);

    impl Clock for Manual {
        fn elapsed(&self) -> Duration {
            *self.0.lock().unwrap()
        }
        fn sleep(&self, d: Duration) -> impl Future<Output = ()> + Send {
            *self.0.lock().unwrap() += d;
            std::future::ready(())
        }
    }

    fn counts(n: u64) -> TrailCounts {
        let mut c = attribute(&[], &BTreeMap::new());
        c.per_mode.insert(
            Mode::SseKms,
            ModeTrail {
                calls: n,
                ..Default::default()
            },
        );
        c
    }

    /// Events arrive over three polls, then the count holds: stable after the
    /// first repeat, having waited three poll intervals.
    #[tokio::test]
    async fn waits_until_the_count_stops_changing() {
        let clock = Manual(Mutex::new(Duration::ZERO));
        let seen = [0, 40, 90, 100, 100, 100];
        let i = Cell::new(0);
        let poll = Duration::from_secs(30);
        let c = settle(&clock, poll, DEFAULT_WAIT, 100, || {
            let n = seen[i.get()];
            i.set(i.get() + 1);
            async move { Ok(counts(n)) }
        })
        .await
        .unwrap();
        assert_eq!((c.total(), c.settled), (100, Settled::Stable));
        assert_eq!(c.waited_s, 120.0);
    }

    /// A count that stays below the prediction (or keeps moving) ends at the bound,
    /// and says so.
    #[tokio::test]
    async fn stops_at_the_bound_and_says_so() {
        let clock = Manual(Mutex::new(Duration::ZERO));
        let c = settle(
            &clock,
            Duration::from_secs(60),
            Duration::from_secs(600),
            100,
            || async { Ok(counts(7)) },
        )
        .await
        .unwrap();
        assert_eq!((c.total(), c.settled), (7, Settled::Bound));
        assert_eq!(c.waited_s, 600.0);
    }

    #[test]
    fn events_are_attributed_by_the_bucket_their_context_names() {
        let record = |api: &str, context: Option<&str>, who: serde_json::Value, err: bool| {
            let mut v = serde_json::json!({
                "eventTime": "2026-12-05T10:00:00Z",
                "eventSource": "kms.amazonaws.com",
                "eventName": api,
                "userIdentity": who,
                "requestParameters": {},
            });
            if let Some(arn) = context {
                v["requestParameters"]["encryptionContext"] =
                    serde_json::json!({"aws:s3:arn": arn});
            }
            if err {
                v["errorCode"] = "ThrottlingException".into();
            }
            v.to_string()
        };
        let user = serde_json::json!({"type": "IAMUser", "arn": "arn:aws:iam::1:user/u1"});
        let session = serde_json::json!({"type": "AssumedRole",
            "arn": "arn:aws:sts::1:assumed-role/etl/s1",
            "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::1:role/etl"}}});
        let other = serde_json::json!({"type": "IAMUser", "arn": "arn:aws:iam::1:user/u2"});
        let parse = |api: &str, record: String| KmsEvent::parse(api, &record).unwrap();
        let events = [
            parse(
                "GenerateDataKey",
                record(
                    "GenerateDataKey",
                    Some("arn:aws:s3:::run-a/k1"),
                    user.clone(),
                    false,
                ),
            ),
            parse(
                "Decrypt",
                record(
                    "Decrypt",
                    Some("arn:aws:s3:::run-a/k1"),
                    user.clone(),
                    false,
                ),
            ),
            parse(
                "Decrypt",
                record("Decrypt", Some("arn:aws:s3:::run-a/k2"), user.clone(), true),
            ),
            parse(
                "GenerateDataKey",
                record(
                    "GenerateDataKey",
                    Some("arn:aws:s3:::run-b"),
                    session,
                    false,
                ),
            ),
            parse(
                "Decrypt",
                record(
                    "Decrypt",
                    Some("arn:aws:s3:::someone-else/x"),
                    other.clone(),
                    false,
                ),
            ),
            parse("Decrypt", record("Decrypt", None, other, false)),
        ];
        let buckets = BTreeMap::from([
            ("run-a".to_owned(), Mode::SseKms),
            ("run-b".to_owned(), Mode::SseKmsBucketKey),
        ]);
        let c = attribute(&events, &buckets);
        let a = &c.per_mode[&Mode::SseKms];
        assert_eq!((a.calls, a.failed), (2, 1));
        assert_eq!(a.calls_by_api["Decrypt"], 1);
        assert_eq!(a.by_requester["arn:aws:iam::1:user/u1"], 2);
        let b = &c.per_mode[&Mode::SseKmsBucketKey];
        assert_eq!(
            b.by_requester["arn:aws:iam::1:role/etl"], 1,
            "a session counts as its role"
        );
        assert_eq!(c.excluded_events, 2);
        assert_eq!(c.total(), 3);
        assert_eq!(
            (a.peak_per_s, b.peak_per_s),
            (3, 1),
            "one second's events count for their own mode only, refused ones included"
        );
        assert!(
            KmsEvent::parse("Decrypt", "{}").is_err(),
            "a record without its time, source and name is refused"
        );
    }
}
