//! Who a scenario's Bucket Keys are fetched for: per bucket role (each role is its own
//! bucket, with Bucket Keys of its own), the requesters that write and read it, as S3
//! counts them (docs/aws-behaviour.md §2: per IAM identity). `run` predicts and prices
//! with it, `cost --scenario` estimates with it: one definition.

use super::{Scenario, Stream};
use std::collections::BTreeSet;

/// The Bucket Key requesters of one bucket role, and what its streams do.
#[derive(Clone, Debug, PartialEq)]
pub struct BucketRequesters {
    /// The bucket role.
    pub role: String,
    /// Its streams.
    pub streams: Vec<String>,
    /// Requesters that write KMS-protected data (phases, or prefill).
    pub writers: u32,
    /// Requesters that read it (GETs; a copy's source and a multipart upload's parts
    /// are read by the writer).
    pub readers: u32,
    /// Whether phases write.
    pub writes: bool,
    /// Whether phases read.
    pub reads: bool,
    /// Whether a stream of the role is prefilled.
    pub prefill: bool,
    /// Its reads (GETs and copies) as a share of the scenario's S3 operations.
    pub read_share: f64,
}

impl<P> Scenario<P> {
    /// The Bucket Key requesters of every bucket role.
    pub fn bucket_requesters(&self) -> Vec<BucketRequesters> {
        let shares = self.shares();
        let roles: BTreeSet<String> = shares
            .iter()
            .map(|(st, _)| st.bucket_role().to_owned())
            .collect();
        roles
            .into_iter()
            .map(|role| {
                let on: Vec<&(Stream, f64)> = shares
                    .iter()
                    .filter(|(st, _)| st.bucket_role() == role)
                    .collect();
                self.role_requesters(role, &on)
            })
            .collect()
    }

    fn role_requesters(&self, role: String, streams: &[&(Stream, f64)]) -> BucketRequesters {
        let mut writers = BTreeSet::new();
        let mut readers = BTreeSet::new();
        let (mut writes, mut reads, mut read_share) = (false, false, 0.0);
        for (st, share) in streams {
            let m = &st.mix;
            let w = m.put > 0 || m.copy > 0;
            if w || st.prefill {
                writers.extend(st.writer_names());
            }
            if m.get > 0 {
                readers.extend(st.reader_names());
                reads = true;
            }
            // A copy's source and a multipart upload's parts are read by the writer.
            if m.copy > 0 || (m.put > 0 && st.multipart.is_some()) {
                readers.extend(st.writer_names());
                reads = true;
            }
            writes |= w;
            let weight = m.s3_weight() as f64;
            if weight > 0.0 {
                read_share += share * f64::from(m.get + m.copy) / weight;
            }
        }
        BucketRequesters {
            role,
            streams: streams.iter().map(|(s, _)| s.name.clone()).collect(),
            writers: self.bucket_key_requesters(writers),
            readers: self.bucket_key_requesters(readers),
            writes,
            reads,
            prefill: streams.iter().any(|(s, _)| s.prefill),
            read_share,
        }
    }
}
