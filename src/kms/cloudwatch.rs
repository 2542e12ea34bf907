//! Measured KMS request counts in a real account: CloudWatch `AWS/Usage`
//! `CallCount` for KMS's symmetric cryptographic operations (docs/aws-behaviour.md §7).
//! The metric is account-wide per region (every caller, S3's calls on your
//! behalf included), per minute, so every output labels it "account-wide".

use crate::error::{Context as _, Result};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy};
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The CloudWatch namespace of service usage metrics.
pub const NAMESPACE: &str = "AWS/Usage";
/// The metric.
pub const METRIC: &str = "CallCount";
/// Its dimensions for KMS's shared symmetric quota.
pub const DIMENSIONS: [(&str, &str); 4] = [
    ("Service", "KMS"),
    ("Type", "API"),
    ("Class", "None"),
    ("Resource", "CryptographicOperationsSymmetric"),
];

/// KMS calls CloudWatch counted over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountUsage {
    /// Always "account-wide": other callers in the account and region are included.
    pub scope: String,
    /// Region queried.
    pub region: String,
    /// Window start (whole minute, Unix seconds).
    pub start_unix: i64,
    /// Window end (whole minute, Unix seconds).
    pub end_unix: i64,
    /// (minute start in Unix seconds, calls) in time order.
    pub per_minute: Vec<(i64, f64)>,
    /// Sum over the window.
    pub calls: f64,
    /// The busiest minute's calls divided by 60.
    pub peak_minute_rps: f64,
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Sums KMS `CallCount` per minute over `[start, end]`, widened to whole minutes.
pub async fn kms_call_count(
    client: &aws_sdk_cloudwatch::Client,
    region: &str,
    start: SystemTime,
    end: SystemTime,
) -> Result<AccountUsage> {
    let start_unix = unix(start) / 60 * 60;
    let end_unix = (unix(end) + 59) / 60 * 60;
    let mut metric = Metric::builder().namespace(NAMESPACE).metric_name(METRIC);
    for (name, value) in DIMENSIONS {
        metric = metric.dimensions(Dimension::builder().name(name).value(value).build());
    }
    let query = MetricDataQuery::builder()
        .id("kms")
        .metric_stat(
            MetricStat::builder()
                .metric(metric.build())
                .period(60)
                .stat("Sum")
                .build(),
        )
        .return_data(true)
        .build();
    let mut per_minute = Vec::new();
    let mut token: Option<String> = None;
    // Bounded: a window of a day is 1,440 points, well inside a few pages.
    for _ in 0..100 {
        let out = client
            .get_metric_data()
            .metric_data_queries(query.clone())
            .start_time(DateTime::from_secs(start_unix))
            .end_time(DateTime::from_secs(end_unix))
            .scan_by(ScanBy::TimestampAscending)
            .set_next_token(token.take())
            .send()
            .await
            .context("CloudWatch GetMetricData (AWS/Usage CallCount)")?;
        for r in out.metric_data_results() {
            for (t, v) in r.timestamps().iter().zip(r.values()) {
                per_minute.push((t.secs(), *v));
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    per_minute.sort_by_key(|p| p.0);
    let calls = per_minute.iter().map(|p| p.1).sum();
    let peak = per_minute.iter().map(|p| p.1).fold(0.0, f64::max);
    Ok(AccountUsage {
        scope: "account-wide".into(),
        region: region.to_owned(),
        start_unix,
        end_unix,
        per_minute,
        calls,
        peak_minute_rps: peak / 60.0,
    })
}

/// Waits `settle` (CloudWatch publishes usage metrics with a delay), then counts.
pub async fn after_settle(
    client: &aws_sdk_cloudwatch::Client,
    region: &str,
    start: SystemTime,
    end: SystemTime,
    settle: Duration,
) -> Result<AccountUsage> {
    tokio::time::sleep(settle).await;
    kms_call_count(client, region, start, end).await
}
