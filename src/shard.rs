//! Sharded runs: N identical workers, each with `--shard I/N`, take
//! disjoint parts of one scenario so that together they are the scenario: every
//! N-th arrival of each open-loop schedule, 1/N of each closed loop's workers and
//! operation budget, a contiguous 1/N of each stream's key space, and (when a stream
//! has at least N requesters) every N-th requester. A common `--start-at` lines them up.

use crate::error::Error;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// One worker's place among N.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 0-based index.
    pub index: u32,
    /// Number of workers.
    pub count: u32,
}

impl Default for Shard {
    fn default() -> Self {
        Shard::SINGLE
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// An unsharded run.
    pub const SINGLE: Shard = Shard { index: 0, count: 1 };

    /// `I/N` with 0 ≤ I < N.
    pub fn parse(s: &str) -> Result<Shard, Error> {
        let bad = || {
            Error::usage(format!(
                "--shard: expected I/N with 0 <= I < N (e.g. 0/3), got {s:?}"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// `--shards N` in a Kubernetes Indexed Job: the index from `JOB_COMPLETION_INDEX`.
    pub fn from_job_index(count: u32, job_index: Option<&str>) -> Result<Shard, Error> {
        let raw = job_index.ok_or_else(|| {
            Error::usage("--shards N needs JOB_COMPLETION_INDEX (set by a Kubernetes Indexed Job), or give --shard I/N")
        })?;
        let index: u32 = raw.trim().parse().map_err(|_| {
            Error::usage(format!(
                "JOB_COMPLETION_INDEX: expected a number, got {raw:?}"
            ))
        })?;
        if count == 0 || index >= count {
            return Err(Error::usage(format!(
                "JOB_COMPLETION_INDEX={index} is not below --shards {count}: the Job's completions and --shards must be equal"
            )));
        }
        Ok(Shard { index, count })
    }

    /// Whether this is an unsharded run.
    pub fn is_single(self) -> bool {
        self.count <= 1
    }

    /// This shard's part `[lo, hi)` of `n` items split as evenly as possible; the parts
    /// of all shards are disjoint and cover `0..n`.
    pub fn range(self, n: u64) -> (u64, u64) {
        let (i, c) = (u128::from(self.index), u128::from(self.count.max(1)));
        let n = u128::from(n);
        ((n * i / c) as u64, (n * (i + 1) / c) as u64)
    }

    /// How many of `n` items are this shard's.
    pub fn take(self, n: u64) -> u64 {
        let (lo, hi) = self.range(n);
        hi - lo
    }

    /// Whether the `j`-th arrival of a schedule is this shard's.
    pub fn owns(self, j: u64) -> bool {
        j % u64::from(self.count.max(1)) == u64::from(self.index)
    }

    /// This shard's principals among `all` (by position): every N-th when there are at
    /// least N, otherwise all of them (fewer requesters than workers are shared).
    pub fn principals<T: Clone>(self, all: &[T]) -> Vec<T> {
        if all.len() < self.count as usize {
            return all.to_vec();
        }
        all.iter()
            .enumerate()
            .filter(|(p, _)| self.owns(*p as u64))
            .map(|(_, t)| t.clone())
            .collect()
    }
}

/// `--start-at`: an RFC 3339 instant, or `+DURATION` from now.
pub fn parse_start_at(s: &str, now: time::OffsetDateTime) -> Result<time::OffsetDateTime, Error> {
    if let Some(rel) = s.strip_prefix('+') {
        let d = humantime::parse_duration(rel.trim()).map_err(|e| {
            Error::usage(format!(
                "--start-at {s:?}: {e} (expected +30s or an RFC 3339 time)"
            ))
        })?;
        return Ok(now + d);
    }
    time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).map_err(
        |e| {
            Error::usage(format!(
                "--start-at {s:?}: {e} (expected an RFC 3339 time such as 2026-11-24T02:00:00Z, or +30s)"
            ))
        },
    )
}

/// What the start barrier saw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Barrier {
    /// The instant every worker waited for (RFC 3339).
    pub start_at: String,
    /// How late this worker reached it, seconds (0 when it was early and waited).
    pub late_by_s: f64,
    /// How long it waited, seconds.
    pub waited_s: f64,
}

/// Waits until `at` (or cancellation); says how late this worker was.
pub async fn wait_until(
    at: time::OffsetDateTime,
    cancel: &tokio_util::sync::CancellationToken,
) -> Barrier {
    let now = time::OffsetDateTime::now_utc();
    let ahead = (at - now).as_seconds_f64();
    let start_at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    if ahead <= 0.0 {
        return Barrier {
            start_at,
            late_by_s: -ahead,
            waited_s: 0.0,
        };
    }
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs_f64(ahead)) => {}
        _ = cancel.cancelled() => {}
    }
    Barrier {
        start_at,
        late_by_s: 0.0,
        waited_s: ahead,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_are_disjoint_and_add_up() {
        for n in [0u64, 1, 2, 7, 10, 1000, 1001] {
            for count in 1..=5u32 {
                let mut covered = 0;
                let mut next = 0;
                for index in 0..count {
                    let s = Shard { index, count };
                    let (lo, hi) = s.range(n);
                    assert_eq!(lo, next, "contiguous");
                    next = hi;
                    covered += s.take(n);
                }
                assert_eq!(covered, n);
                assert_eq!(next, n);
            }
        }
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for j in 0..30u64 {
            assert_eq!(shards.iter().filter(|s| s.owns(j)).count(), 1);
        }
    }

    #[test]
    fn requesters_are_split_when_there_are_enough() {
        let all = ["a", "b", "c", "d", "e"];
        let s1 = Shard { index: 1, count: 2 };
        assert_eq!(s1.principals(&all), vec!["b", "d"]);
        assert_eq!(
            Shard { index: 0, count: 2 }.principals(&all),
            vec!["a", "c", "e"]
        );
        // Fewer requesters than shards: shared.
        assert_eq!(Shard { index: 2, count: 3 }.principals(&["x"]), vec!["x"]);
    }

    #[test]
    fn shard_flags_parse_and_refuse() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        for bad in ["3/3", "1", "a/3", "0/0", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Shard::from_job_index(3, Some("1")),
            Ok(Shard { index: 1, count: 3 })
        );
        assert!(Shard::from_job_index(3, Some("3")).is_err());
        assert!(Shard::from_job_index(3, None).is_err());
    }

    #[test]
    fn start_at_is_absolute_or_relative() {
        let now = time::macros::datetime!(2026-11-23 12:00:00 UTC);
        assert_eq!(
            parse_start_at("+30s", now).unwrap(),
            time::macros::datetime!(2026-11-23 12:00:30 UTC)
        );
        assert_eq!(
            parse_start_at("2026-11-24T02:00:00Z", now).unwrap(),
            time::macros::datetime!(2026-11-24 02:00:00 UTC)
        );
        assert!(parse_start_at("tomorrow", now).is_err());
    }
}
