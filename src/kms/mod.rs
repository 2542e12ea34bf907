//! The KMS request model (docs/aws-behaviour.md §1–§2): how many KMS calls S3 makes per
//! operation in each encryption mode, with every rule marked documented or
//! inferred. Runs report this prediction beside the target's measured count;
//! `sse-bench cost` uses it without running load.

mod bucket_key;
pub mod cloudtrail;
pub mod cloudwatch;
pub mod counts;

pub use bucket_key::{BucketActivity, Span, bucket_key, bucket_key_rates};

use crate::scenario::Mode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// Whether AWS documents a rule or it is inferred (docs/aws-behaviour.md marks each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// AWS says so.
    Documented,
    /// From permissions, field reports or analogy.
    Inferred,
}

impl Status {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Documented => "documented",
            Status::Inferred => "inferred",
        }
    }
}

/// The settings of the inferred rules (the simulator's options of the same names).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct KmsRules {
    /// HeadObject with checksum mode on a KMS object with a stored checksum calls Decrypt.
    pub head_checksum_decrypt: bool,
    /// UploadPart of a KMS object calls Decrypt once per part.
    pub upload_part_decrypt: bool,
    /// CompleteMultipartUpload with additional checksums calls Decrypt once.
    pub complete_checksum_decrypt: bool,
    /// How long S3 keeps a Bucket Key (not documented; default 5 minutes).
    pub bucket_key_lifetime: Duration,
}

impl Default for KmsRules {
    fn default() -> Self {
        KmsRules {
            head_checksum_decrypt: true,
            upload_part_decrypt: true,
            complete_checksum_decrypt: true,
            bucket_key_lifetime: Duration::from_secs(300),
        }
    }
}

impl KmsRules {
    /// The rules a simulator configuration follows.
    pub fn from_sim(c: &sse_sim::SimConfig) -> Self {
        KmsRules {
            head_checksum_decrypt: c.head_checksum_decrypt,
            upload_part_decrypt: c.upload_part_decrypt,
            complete_checksum_decrypt: c.complete_checksum_decrypt,
            bucket_key_lifetime: c.bucket_key_lifetime.0,
        }
    }
}

/// S3 requests by price tier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct S3Requests {
    /// PUT, COPY, POST, LIST (CreateMultipartUpload, UploadPart, Complete included).
    pub tier1: f64,
    /// GET, HEAD.
    pub tier2: f64,
}

impl S3Requests {
    /// Scaled by a factor.
    pub fn scaled(self, k: f64) -> S3Requests {
        S3Requests {
            tier1: self.tier1 * k,
            tier2: self.tier2 * k,
        }
    }

    /// Sum of two.
    pub fn plus(self, o: S3Requests) -> S3Requests {
        S3Requests {
            tier1: self.tier1 + o.tier1,
            tier2: self.tier2 + o.tier2,
        }
    }
}

/// S3 work done (or planned), as the model needs it. Counts may be rates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct S3Work {
    /// Single-request PutObject.
    pub puts: f64,
    /// Multipart uploads (CreateMultipartUpload + parts + CompleteMultipartUpload).
    pub multipart_uploads: f64,
    /// Parts of those uploads.
    pub parts: f64,
    /// GetObject.
    pub gets: f64,
    /// HeadObject without checksum mode (what the driver sends).
    pub heads: f64,
    /// HeadObject with `x-amz-checksum-mode: ENABLED`.
    pub checksum_heads: f64,
    /// CopyObject within a bucket.
    pub copies: f64,
    /// DeleteObject.
    pub deletes: f64,
}

impl S3Work {
    /// Billed S3 requests by tier (DELETE is free; multipart is create + parts + complete).
    pub fn requests(&self) -> S3Requests {
        S3Requests {
            tier1: self.puts + self.copies + 2.0 * self.multipart_uploads + self.parts,
            tier2: self.gets + self.heads + self.checksum_heads,
        }
    }

    /// Operations as the harness counts them (a multipart upload is one PUT).
    pub fn operations(&self) -> f64 {
        self.puts
            + self.multipart_uploads
            + self.gets
            + self.heads
            + self.checksum_heads
            + self.copies
            + self.deletes
    }

    /// Sum of two.
    pub fn plus(&self, o: &S3Work) -> S3Work {
        S3Work {
            puts: self.puts + o.puts,
            multipart_uploads: self.multipart_uploads + o.multipart_uploads,
            parts: self.parts + o.parts,
            gets: self.gets + o.gets,
            heads: self.heads + o.heads,
            checksum_heads: self.checksum_heads + o.checksum_heads,
            copies: self.copies + o.copies,
            deletes: self.deletes + o.deletes,
        }
    }
}

/// One rule applied: an S3 operation, the KMS calls it makes, and how sure we are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RuleUse {
    /// S3 API.
    pub s3_operation: String,
    /// KMS API.
    pub kms_api: String,
    /// KMS calls per S3 request.
    pub per_request: f64,
    /// S3 requests it applied to.
    pub requests: f64,
    /// KMS calls it predicts.
    pub calls: f64,
    /// Documented or inferred.
    pub status: Status,
    /// Where the rule comes from.
    pub source: String,
    /// AWS documents a minimum ("at least once per requester"): the real count can
    /// be higher (docs/aws-behaviour.md §2 lists what adds calls).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lower_bound: bool,
}

/// A predicted KMS call count.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// Calls by KMS API.
    pub calls_by_api: BTreeMap<String, f64>,
    /// All calls.
    pub calls: f64,
    /// Documented when every rule that contributed is documented.
    pub status: Option<Status>,
    /// The rules that contributed.
    pub basis: Vec<RuleUse>,
    /// Some rule is a documented minimum, so the prediction is a lower bound.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lower_bound: bool,
}

impl Prediction {
    /// The count as text: `≥N` when it is a lower bound.
    pub fn calls_text(&self) -> String {
        let sign = if self.lower_bound { "≥" } else { "" };
        format!("{sign}{:.0}", self.calls)
    }

    /// The prediction for `n` separate copies of the same activity: shards that each
    /// made their own buckets, so each has its own Bucket Keys.
    pub fn times(self, n: u32) -> Prediction {
        if n <= 1 {
            return self;
        }
        let f = f64::from(n);
        let mut out = Prediction::default();
        for mut r in self.basis {
            r.s3_operation = format!("{} × {n} bucket sets (one per shard)", r.s3_operation);
            r.requests *= f;
            r.calls *= f;
            out.add(r);
        }
        out
    }

    fn add(&mut self, r: RuleUse) {
        if r.requests <= 0.0 {
            return;
        }
        *self.calls_by_api.entry(r.kms_api.clone()).or_default() += r.calls;
        self.calls += r.calls;
        self.status = Some(self.status.map_or(r.status, |s| s.max(r.status)));
        self.lower_bound |= r.lower_bound;
        self.basis.push(r);
    }
}

const GDK: &str = "GenerateDataKey";
const DECRYPT: &str = "Decrypt";
const SRC_PUT: &str = "KMS-DG requests-per-second, API requests made on your behalf";
const SRC_GET: &str = "S3 UG bucket-key: a call to AWS KMS every time a request is made against a KMS-encrypted object";
const SRC_MPU: &str = "S3 API model: kms:GenerateDataKey permission on CreateMultipartUpload";
const SRC_DSSE: &str = "docs/aws-behaviour.md §3: DSSE-KMS calls KMS as SSE-KMS without Bucket Key";

#[allow(clippy::too_many_arguments)]
fn rule(
    s3: &str,
    api: &str,
    per: f64,
    requests: f64,
    status: Status,
    source: &str,
    dsse: bool,
) -> RuleUse {
    // Every DSSE rule rests on the inference that DSSE calls KMS like SSE-KMS.
    let (status, source) = if dsse {
        (Status::Inferred, format!("{source}; {SRC_DSSE}"))
    } else {
        (status, source.to_owned())
    };
    RuleUse {
        s3_operation: s3.into(),
        kms_api: api.into(),
        per_request: per,
        requests,
        calls: per * requests,
        status,
        source,
        lower_bound: false,
    }
}

/// KMS calls of S3 work in a mode without Bucket Keys (SSE-S3, SSE-KMS, DSSE-KMS):
/// a fixed number per request. SSE-S3 makes none.
pub fn per_request(mode: Mode, rules: &KmsRules, w: &S3Work) -> Prediction {
    let mut p = Prediction::default();
    if !mode.uses_kms() {
        p.status = Some(Status::Documented);
        return p;
    }
    let dsse = mode == Mode::DsseKms;
    let r = |s3, api, per, n, st, src| rule(s3, api, per, n, st, src, dsse);
    p.add(r(
        "PutObject",
        GDK,
        1.0,
        w.puts,
        Status::Documented,
        SRC_PUT,
    ));
    p.add(r(
        "CreateMultipartUpload",
        GDK,
        1.0,
        w.multipart_uploads,
        Status::Documented,
        SRC_MPU,
    ));
    if rules.upload_part_decrypt {
        p.add(r(
            "UploadPart",
            DECRYPT,
            1.0,
            w.parts,
            Status::Inferred,
            "S3 API model: kms:Decrypt permission on UploadPart (docs/aws-behaviour.md §1)",
        ));
    }
    if rules.complete_checksum_decrypt {
        // The SDK sends CRC32 checksums on every part by default.
        p.add(r(
            "CompleteMultipartUpload",
            DECRYPT,
            1.0,
            w.multipart_uploads,
            Status::Inferred,
            "docs/aws-behaviour.md §1: one Decrypt when the parts carry additional checksums (the SDK default)",
        ));
    }
    p.add(r(
        "GetObject",
        DECRYPT,
        1.0,
        w.gets,
        Status::Documented,
        SRC_GET,
    ));
    if rules.head_checksum_decrypt {
        p.add(r(
            "HeadObject (checksum mode)",
            DECRYPT,
            1.0,
            w.checksum_heads,
            Status::Inferred,
            "S3 API model: HeadObject ChecksumMode (docs/aws-behaviour.md §1)",
        ));
    }
    p.add(r(
        "CopyObject (source)",
        DECRYPT,
        1.0,
        w.copies,
        Status::Inferred,
        "S3 UG: replication doubles the KMS request rate (docs/aws-behaviour.md §1)",
    ));
    p.add(r(
        "CopyObject (destination)",
        GDK,
        1.0,
        w.copies,
        Status::Inferred,
        "S3 UG: replication doubles the KMS request rate (docs/aws-behaviour.md §1)",
    ));
    if p.status.is_none() {
        // Only operations that never call KMS (HEAD, DELETE): documented by absence.
        p.status = Some(Status::Documented);
    }
    p
}

/// Direct KMS calls (`kind = "kms"` scenarios): one request per call, by API.
pub fn direct(calls: &[(&str, f64)]) -> Prediction {
    let mut p = Prediction::default();
    for &(api, n) in calls {
        p.add(RuleUse {
            s3_operation: "none (direct KMS call)".into(),
            kms_api: api.into(),
            per_request: 1.0,
            requests: n,
            calls: n,
            status: Status::Documented,
            source: "KMS API: each call is one request".into(),
            lower_bound: false,
        });
    }
    p.status.get_or_insert(Status::Documented);
    p
}

/// Merges predictions (several buckets of one mode).
pub fn sum(preds: impl IntoIterator<Item = Prediction>) -> Prediction {
    let mut out = Prediction::default();
    for p in preds {
        for r in p.basis {
            out.add(r);
        }
        if out.status.is_none() {
            out.status = p.status;
        } else if let Some(s) = p.status {
            out.status = out.status.map(|o| o.max(s));
        }
    }
    out
}

/// The rules of a mode for display (`cost --format`, README).
pub fn rule_table() -> Vec<(&'static str, &'static str, &'static str, Status)> {
    vec![
        (
            "PutObject, POST Object",
            "SSE-KMS, DSSE-KMS",
            "1 GenerateDataKey",
            Status::Documented,
        ),
        (
            "GetObject",
            "SSE-KMS, DSSE-KMS",
            "1 Decrypt",
            Status::Documented,
        ),
        (
            "HeadObject",
            "all",
            "0 (1 Decrypt with checksum mode)",
            Status::Inferred,
        ),
        (
            "CopyObject",
            "SSE-KMS, DSSE-KMS",
            "1 Decrypt + 1 GenerateDataKey",
            Status::Inferred,
        ),
        (
            "CreateMultipartUpload",
            "SSE-KMS, DSSE-KMS",
            "1 GenerateDataKey",
            Status::Documented,
        ),
        (
            "UploadPart",
            "SSE-KMS, DSSE-KMS",
            "1 Decrypt",
            Status::Inferred,
        ),
        (
            "CompleteMultipartUpload",
            "SSE-KMS, DSSE-KMS",
            "1 Decrypt with checksums",
            Status::Inferred,
        ),
        ("DeleteObject, List", "all", "0", Status::Documented),
        (
            "any",
            "SSE-KMS + Bucket Key",
            "1 GenerateDataKey per writer per lifetime; 1 Decrypt per reader per Bucket Key per lifetime",
            Status::Inferred,
        ),
        (
            "any",
            "DSSE-KMS",
            "as SSE-KMS without Bucket Key",
            Status::Inferred,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sse_kms_calls_one_per_put_and_get_and_none_for_head_or_delete() {
        let w = S3Work {
            puts: 50.0,
            gets: 100.0,
            heads: 7.0,
            deletes: 3.0,
            ..Default::default()
        };
        let p = per_request(Mode::SseKms, &KmsRules::default(), &w);
        // The field check in docs/aws-behaviour.md §1: 50 PUTs + 100 GETs = 150 KMS calls.
        assert_eq!(p.calls, 150.0);
        assert_eq!(p.calls_by_api[GDK], 50.0);
        assert_eq!(p.calls_by_api[DECRYPT], 100.0);
        assert_eq!(p.status, Some(Status::Documented));
        assert_eq!(
            per_request(Mode::SseS3, &KmsRules::default(), &w).calls,
            0.0
        );
        let d = per_request(Mode::DsseKms, &KmsRules::default(), &w);
        assert_eq!((d.calls, d.status), (150.0, Some(Status::Inferred)));
    }

    #[test]
    fn multipart_and_copy_follow_the_inferred_rules_and_their_switches() {
        let w = S3Work {
            multipart_uploads: 2.0,
            parts: 6.0,
            copies: 4.0,
            checksum_heads: 5.0,
            ..Default::default()
        };
        let on = per_request(Mode::SseKms, &KmsRules::default(), &w);
        // 2 creates + 6 parts + 2 completes + 5 heads + 4 × 2 for copies.
        assert_eq!(on.calls, 2.0 + 6.0 + 2.0 + 5.0 + 8.0);
        assert_eq!(on.status, Some(Status::Inferred));
        let off = KmsRules {
            upload_part_decrypt: false,
            complete_checksum_decrypt: false,
            head_checksum_decrypt: false,
            ..Default::default()
        };
        assert_eq!(per_request(Mode::SseKms, &off, &w).calls, 2.0 + 8.0);
        assert_eq!(w.requests().tier1, 4.0 + 2.0 * 2.0 + 6.0);
    }
}
