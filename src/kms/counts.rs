//! KMS calls as a target counted them: rows by (API, key, caller, bucket) and
//! calls per second of the target's quota windows. These are the harness's own
//! types (summary.json and shard.json hold them); a target's counter converts
//! whatever it reads into them.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Who made a KMS call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// S3 called KMS on the requester's behalf.
    S3,
    /// The requester called KMS itself.
    Direct,
}

/// KMS calls grouped by API, key, caller and bucket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsCalls {
    /// KMS API name, e.g. `GenerateDataKey`.
    pub api: String,
    /// ARN of the key used.
    pub key_arn: String,
    /// Whether S3 made the call on the requester's behalf.
    pub via: Via,
    /// Access key id of the principal.
    pub requester: String,
    /// Bucket S3 called KMS for; empty for direct calls.
    #[serde(default)]
    pub bucket: String,
    /// Calls served (not throttled).
    pub count: u64,
    /// Calls rejected by the quota.
    pub throttled: u64,
}

/// KMS calls in one second of the target's quota windows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondCount {
    /// Second since the target's counters started.
    pub second: u64,
    /// Symmetric cryptographic calls served.
    pub calls: u64,
    /// Calls throttled.
    pub throttled: u64,
    /// Served calls S3 made for each bucket in that second, where the target says
    /// (the simulator and `sse-bench serve` do): what attributes a second's calls to
    /// the mode whose bucket they were for.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_bucket: BTreeMap<String, u64>,
}

/// Cumulative KMS counts read from a target at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KmsSnapshot {
    /// Rows by (API, key, caller, bucket).
    pub calls: Vec<KmsCalls>,
    /// Symmetric cryptographic calls per second.
    pub per_second: Vec<SecondCount>,
}

impl KmsSnapshot {
    /// Calls made since `earlier` (a snapshot of the same counters), row by row.
    pub fn since(&self, earlier: &KmsSnapshot) -> Vec<KmsCalls> {
        let key = |c: &KmsCalls| {
            (
                c.api.clone(),
                c.key_arn.clone(),
                c.via,
                c.requester.clone(),
                c.bucket.clone(),
            )
        };
        let before: HashMap<_, (u64, u64)> = earlier
            .calls
            .iter()
            .map(|c| (key(c), (c.count, c.throttled)))
            .collect();
        self.calls
            .iter()
            .filter_map(|c| {
                let (n, t) = before.get(&key(c)).copied().unwrap_or((0, 0));
                let d = KmsCalls {
                    count: c.count.saturating_sub(n),
                    throttled: c.throttled.saturating_sub(t),
                    ..c.clone()
                };
                (d.count > 0 || d.throttled > 0).then_some(d)
            })
            .collect()
    }

    /// Per-second counts added since `earlier`, on the target's quota windows.
    pub fn seconds_since(&self, earlier: &KmsSnapshot) -> Vec<SecondCount> {
        let before: HashMap<u64, &SecondCount> =
            earlier.per_second.iter().map(|s| (s.second, s)).collect();
        self.per_second
            .iter()
            .filter_map(|s| {
                let b = before.get(&s.second);
                let d = SecondCount {
                    second: s.second,
                    calls: s.calls.saturating_sub(b.map_or(0, |b| b.calls)),
                    throttled: s.throttled.saturating_sub(b.map_or(0, |b| b.throttled)),
                    by_bucket: s
                        .by_bucket
                        .iter()
                        .filter_map(|(bucket, n)| {
                            let was = b.and_then(|b| b.by_bucket.get(bucket)).copied();
                            let d = n.saturating_sub(was.unwrap_or(0));
                            (d > 0).then(|| (bucket.clone(), d))
                        })
                        .collect(),
                };
                (d.calls > 0 || d.throttled > 0).then_some(d)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(api: &str, count: u64) -> KmsCalls {
        KmsCalls {
            api: api.into(),
            key_arn: "arn:k".into(),
            via: Via::S3,
            requester: "R".into(),
            bucket: "b".into(),
            count,
            throttled: 0,
        }
    }

    #[test]
    fn differences_keep_only_what_moved() {
        let before = KmsSnapshot {
            calls: vec![row("Decrypt", 5), row("GenerateDataKey", 2)],
            per_second: vec![SecondCount {
                second: 3,
                calls: 4,
                throttled: 0,
                by_bucket: BTreeMap::new(),
            }],
        };
        let after = KmsSnapshot {
            calls: vec![row("Decrypt", 9), row("GenerateDataKey", 2)],
            per_second: vec![
                SecondCount {
                    second: 3,
                    calls: 6,
                    throttled: 1,
                    by_bucket: BTreeMap::new(),
                },
                SecondCount {
                    second: 4,
                    calls: 2,
                    throttled: 0,
                    by_bucket: BTreeMap::new(),
                },
            ],
        };
        assert_eq!(after.since(&before), vec![row("Decrypt", 4)]);
        let secs = after.seconds_since(&before);
        assert_eq!(secs.len(), 2);
        assert_eq!((secs[0].calls, secs[0].throttled), (2, 1));
        assert_eq!(secs[1].calls, 2);
    }
}
