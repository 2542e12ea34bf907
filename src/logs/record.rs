//! One S3 request as the logs tell it, whatever the source format, and who made it.

use serde::{Deserialize, Serialize};

/// S3 operations the forecast tells apart (everything the KMS model or the bill needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    /// PutObject, POST Object.
    Put,
    /// GetObject.
    Get,
    /// HeadObject.
    Head,
    /// CopyObject (destination side).
    Copy,
    /// CreateMultipartUpload.
    MpuCreate,
    /// UploadPart, UploadPartCopy.
    MpuPart,
    /// CompleteMultipartUpload.
    MpuComplete,
    /// DeleteObject, AbortMultipartUpload and other free requests.
    Delete,
    /// Other PUT, COPY, POST, LIST requests (S3's first price tier).
    OtherTier1,
    /// Other GET and HEAD requests (second tier).
    OtherTier2,
    /// S3's own work on the bucket, logged as `S3.*` (lifecycle expirations and
    /// transitions, delete markers, aborted uploads): no requester's request, no KMS
    /// call S3 makes for a requester, not billed at the request tiers.
    #[serde(rename = "s3-internal")]
    Internal,
}

impl Op {
    /// All, in table order.
    pub const ALL: [Op; 11] = [
        Op::Put,
        Op::Get,
        Op::Head,
        Op::Copy,
        Op::MpuCreate,
        Op::MpuPart,
        Op::MpuComplete,
        Op::Delete,
        Op::OtherTier1,
        Op::OtherTier2,
        Op::Internal,
    ];

    /// Number of operations.
    pub const COUNT: usize = 11;

    /// Position in [`Op::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Name in tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Head => "head",
            Op::Copy => "copy",
            Op::MpuCreate => "mpu-create",
            Op::MpuPart => "mpu-part",
            Op::MpuComplete => "mpu-complete",
            Op::Delete => "delete",
            Op::OtherTier1 => "other-tier1",
            Op::OtherTier2 => "other-tier2",
            Op::Internal => "s3-internal",
        }
    }

    /// From the access log's `REST.<METHOD>.<RESOURCE>` (docs/log-formats.md §1).
    pub fn from_access_log(op: &str) -> Op {
        // S3's own operations (lifecycle) are logged as S3.*, requests as REST.*, WEBSITE.*, BATCH.*.
        if op.starts_with("S3.") {
            return Op::Internal;
        }
        let mut parts = op.splitn(3, '.');
        let _api = parts.next();
        let method = parts.next().unwrap_or("");
        let resource = parts.next().unwrap_or("");
        match (method, resource) {
            ("PUT", "OBJECT") | ("POST", "OBJECT") => Op::Put,
            ("GET", "OBJECT") => Op::Get,
            ("HEAD", "OBJECT") => Op::Head,
            ("COPY", "OBJECT") => Op::Copy,
            ("POST", "UPLOADS") => Op::MpuCreate,
            ("PUT", "PART") | ("COPY", "PART") => Op::MpuPart,
            ("POST", "UPLOAD") => Op::MpuComplete,
            ("DELETE", _) => Op::Delete,
            // The source side of a copy is logged on the source bucket; the KMS
            // model counts a copy once, at its destination.
            ("COPY", "OBJECT_GET") => Op::OtherTier2,
            ("GET", "BUCKET") | ("GET", "UPLOADS") | ("GET", "UPLOAD") => Op::OtherTier1,
            ("GET", _) | ("HEAD", _) => Op::OtherTier2,
            _ => Op::OtherTier1,
        }
    }

    /// From a CloudTrail S3 data event's `eventName`; None for events that are not S3 requests.
    pub fn from_event_name(name: &str) -> Option<Op> {
        Some(match name {
            "PutObject" | "PostObject" => Op::Put,
            "GetObject" => Op::Get,
            "HeadObject" => Op::Head,
            "CopyObject" => Op::Copy,
            "CreateMultipartUpload" => Op::MpuCreate,
            "UploadPart" | "UploadPartCopy" => Op::MpuPart,
            "CompleteMultipartUpload" => Op::MpuComplete,
            "DeleteObject" | "DeleteObjects" | "AbortMultipartUpload" => Op::Delete,
            "ListObjects"
            | "ListObjectsV2"
            | "ListObjectVersions"
            | "ListParts"
            | "ListMultipartUploads"
            | "PutObjectTagging"
            | "PutObjectAcl" => Op::OtherTier1,
            "GetObjectTagging" | "GetObjectAcl" | "GetObjectAttributes" | "HeadBucket" => {
                Op::OtherTier2
            }
            _ => return None,
        })
    }

    /// The S3 price tier: 1 (PUT, COPY, POST, LIST), 2 (GET, HEAD), or 0 (free).
    pub fn tier(self) -> u8 {
        match self {
            Op::Put | Op::Copy | Op::MpuCreate | Op::MpuPart | Op::MpuComplete | Op::OtherTier1 => {
                1
            }
            Op::Get | Op::Head | Op::OtherTier2 => 2,
            Op::Delete | Op::Internal => 0,
        }
    }

    /// Writes a new object (needs a data key or a Bucket Key).
    pub fn writes(self) -> bool {
        matches!(self, Op::Put | Op::Copy | Op::MpuCreate)
    }

    /// Reads KMS-protected data (needs a Decrypt or a Bucket Key).
    pub fn reads(self) -> bool {
        matches!(self, Op::Get | Op::Copy | Op::MpuPart | Op::MpuComplete)
    }
}

/// One S3 request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Request<'a> {
    /// Unix seconds of arrival.
    pub unix: i64,
    /// Bucket name.
    pub bucket: &'a str,
    /// Operation.
    pub op: Op,
    /// The requester as logged (an ARN, a canonical user id); None when anonymous;
    /// [`S3_INTERNAL`] for S3's own operations.
    pub requester: Option<&'a str>,
    /// Object key (as logged).
    pub key: Option<&'a str>,
    /// Object size.
    pub size: Option<u64>,
    /// HTTP status (0 when not logged).
    pub status: u16,
    /// The AWS region the request went to, when the record names it (a regional
    /// endpoint in the host header, a region field, CloudTrail's `awsRegion`).
    pub region: Option<&'a str>,
    /// The request ID and the operation as logged: together with the bucket, what
    /// makes an access log record unique ([`Request::dedupe_key`]). None when the
    /// record carries no request ID.
    pub id: Option<(&'a str, &'a str)>,
}

impl Request<'_> {
    /// The request succeeded (2xx), so S3 did its KMS work. S3's own operations log
    /// no HTTP status and are never failures.
    pub fn succeeded(&self) -> bool {
        self.op == Op::Internal || (200..300).contains(&self.status)
    }

    /// The hashed (bucket, request ID, operation): the same record delivered twice has
    /// the same key. Hashed only when asked, so reading without removing duplicates
    /// pays nothing for it.
    pub fn dedupe_key(&self) -> Option<u64> {
        self.id
            .map(|(request_id, operation)| dedupe_key(&[self.bucket, request_id, operation]))
    }
}

/// A 64-bit hash of the fields that identify one record (an access log's bucket,
/// request ID and operation; a CloudTrail event's eventID). Fixed keys, so every
/// reader thread hashes alike.
pub fn dedupe_key(parts: &[&str]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for p in parts {
        p.hash(&mut h);
    }
    h.finish()
}

/// The requester S3's own operations (lifecycle) are counted as.
pub const S3_INTERNAL: &str = "s3-internal";

/// Whether `s` is an AWS region name: `eu-central-1`, `us-gov-west-1`, `cn-north-1`.
pub fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let (Some(first), Some(last)) = (parts.first(), parts.last()) else {
        return false;
    };
    (3..=4).contains(&parts.len())
        && first.len() == 2
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && !last.is_empty()
        && last.bytes().all(|b| b.is_ascii_digit())
        && parts[1..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
}

/// The region an S3 endpoint host names (`s3.eu-central-1.amazonaws.com`,
/// `bucket.s3.us-west-2.amazonaws.com`, `s3.dualstack.ap-south-1.amazonaws.com`,
/// `s3-us-west-2.amazonaws.com`); `None` for the global endpoint (`s3.amazonaws.com`,
/// which serves buckets of any region through redirects) and for hosts that are not S3's.
pub fn region_of_host(host: &str) -> Option<&str> {
    let host = host.split(':').next().unwrap_or(host);
    if !host.contains(".amazonaws.com") {
        return None;
    }
    host.split('.')
        .map(|label| label.strip_prefix("s3-").unwrap_or(label))
        .find(|label| is_region(label))
}

/// What kind of principal a requester is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// An IAM identity of the bucket's own account.
    Own,
    /// An IAM identity of another account.
    CrossAccount,
    /// Unauthenticated.
    Anonymous,
    /// Named without an account (a canonical user id, a service).
    Other,
    /// S3 itself (lifecycle actions): no KMS call for a requester.
    S3Internal,
}

impl Class {
    /// Name in tables (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Own => "own",
            Class::CrossAccount => "cross-account",
            Class::Anonymous => "anonymous",
            Class::Other => "other",
            Class::S3Internal => "s3-internal",
        }
    }
}

/// The identity a requester counts as, the one rule every reader of the logs follows
/// (docs/aws-behaviour.md §2: S3 caches a Bucket Key per IAM identity): an
/// assumed-role session counts as its role, `arn:PARTITION:iam::ACCOUNT:role/NAME`
/// (or as the session itself with `per_session`); a role named with its path counts
/// as the same role without it (role names are unique in an account, and access logs
/// never show the path); an IAM user or root as logged; `None` (unsigned) is
/// `anonymous`.
pub fn identity(requester: Option<&str>, per_session: bool) -> String {
    let Some(r) = requester else {
        return "anonymous".into();
    };
    let Some(rest) = r.strip_prefix("arn:") else {
        return r.to_owned();
    };
    // arn:<partition>:<service>::<account>:<resource>
    let mut p = rest.splitn(5, ':');
    let (partition, service, _region, account, resource) =
        (p.next(), p.next(), p.next(), p.next(), p.next());
    let (Some(part), Some(acct), Some(res)) = (partition, account, resource) else {
        return r.to_owned();
    };
    let role = match service {
        Some("sts") if !per_session => res
            .strip_prefix("assumed-role/")
            .map(|rs| rs.split('/').next().unwrap_or(rs)),
        Some("iam") => res
            .strip_prefix("role/")
            .map(|path_and_name| path_and_name.rsplit('/').next().unwrap_or(path_and_name)),
        _ => None,
    };
    match role {
        Some(name) => format!("arn:{part}:iam::{acct}:role/{name}"),
        None => r.to_owned(),
    }
}

/// The account of an ARN identity.
pub fn account_of(identity: &str) -> Option<&str> {
    let rest = identity.strip_prefix("arn:")?;
    let acct = rest.split(':').nth(3)?;
    (!acct.is_empty()).then_some(acct)
}

/// The class of an identity given the bucket owner's account.
pub fn class_of(identity: &str, home: Option<&str>) -> Class {
    if identity == "anonymous" {
        return Class::Anonymous;
    }
    if identity == S3_INTERNAL {
        return Class::S3Internal;
    }
    match (account_of(identity), home) {
        (Some(a), Some(h)) if a != h => Class::CrossAccount,
        (Some(_), _) => Class::Own,
        (None, _) => Class::Other,
    }
}

/// A short name for tables: `role/etl`, `user/alice`, `anonymous`, or the id.
pub fn short_name(identity: &str) -> String {
    match identity.strip_prefix("arn:") {
        Some(rest) => {
            let mut p = rest.splitn(5, ':');
            let acct = p.nth(3).unwrap_or("");
            let res = p.next().unwrap_or(rest);
            if acct.is_empty() {
                res.to_owned()
            } else {
                format!("{res} ({acct})")
            }
        }
        // Characters, not bytes: a name may be any UTF-8.
        None if identity.chars().count() > 20 => {
            format!("{}…", identity.chars().take(12).collect::<String>())
        }
        None => identity.to_owned(),
    }
}

/// Short names for tables, one per identity, never the same for two identities: the
/// identities whose short names clash are printed whole (whole identities differ).
pub fn short_names<'a>(
    identities: impl IntoIterator<Item = &'a str>,
) -> std::collections::BTreeMap<String, String> {
    let mut out: std::collections::BTreeMap<String, String> = identities
        .into_iter()
        .map(|id| (id.to_owned(), short_name(id)))
        .collect();
    loop {
        let mut seen: std::collections::HashMap<&str, usize> = Default::default();
        for name in out.values() {
            *seen.entry(name.as_str()).or_default() += 1;
        }
        let clashing: Vec<String> = out
            .iter()
            .filter(|(id, name)| seen[name.as_str()] > 1 && id != name)
            .map(|(id, _)| id.clone())
            .collect();
        if clashing.is_empty() {
            return out;
        }
        for id in clashing {
            out.insert(id.clone(), id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_count_as_their_role_unless_asked() {
        let s = "arn:aws:sts::111122223333:assumed-role/etl/i-0abc";
        assert_eq!(
            identity(Some(s), false),
            "arn:aws:iam::111122223333:role/etl"
        );
        assert_eq!(identity(Some(s), true), s);
        assert_eq!(
            identity(
                Some("arn:aws:iam::111122223333:role/service-role/etl"),
                false
            ),
            "arn:aws:iam::111122223333:role/etl",
            "a role's path is not part of who it is"
        );
        assert_eq!(
            identity(Some("arn:aws:iam::111122223333:user/alice"), false),
            "arn:aws:iam::111122223333:user/alice"
        );
        assert_eq!(identity(None, false), "anonymous");
        assert_eq!(
            class_of("arn:aws:iam::444455556666:role/x", Some("111122223333")),
            Class::CrossAccount
        );
        assert_eq!(class_of("anonymous", None), Class::Anonymous);
        assert_eq!(class_of("79a59df900b9", None), Class::Other);
    }

    #[test]
    fn short_names_cut_characters_and_never_print_two_requesters_alike() {
        // 25 characters, 50 bytes: a byte cut would split a character.
        let id = "é".repeat(25);
        assert_eq!(short_name(&id), format!("{}…", "é".repeat(12)));
        let a = "canonical0123456789abcdefA";
        let b = "canonical0123456789abcdefB";
        let role = "arn:aws:iam::111122223333:role/etl";
        let names = short_names([a, b, role, id.as_str()]);
        assert_eq!(names[role], "role/etl (111122223333)");
        assert_eq!(names[a], a, "clashing short names are printed whole");
        assert_eq!(names[b], b);
        let distinct: std::collections::BTreeSet<&String> = names.values().collect();
        assert_eq!(distinct.len(), names.len());
        // A whole identity that reads like another's short name.
        let odd = "role/etl (111122223333)";
        let names = short_names([role, odd]);
        assert_ne!(names[role], names[odd]);
    }

    #[test]
    fn lifecycle_operations_are_s3_internal() {
        assert_eq!(Op::from_access_log("S3.EXPIRE.OBJECT"), Op::Internal);
        assert_eq!(
            Op::from_access_log("S3.TRANSITION_SIA.OBJECT"),
            Op::Internal
        );
        assert_eq!(Op::from_access_log("REST.PUT.OBJECT"), Op::Put);
        assert_eq!(Op::Internal.tier(), 0);
        assert!(!Op::Internal.reads() && !Op::Internal.writes());
        assert_eq!(
            class_of(S3_INTERNAL, Some("111122223333")),
            Class::S3Internal
        );
    }

    #[test]
    fn regions_are_read_from_regional_endpoints_only() {
        assert_eq!(
            region_of_host("s3.eu-central-1.amazonaws.com"),
            Some("eu-central-1")
        );
        assert_eq!(
            region_of_host("media.s3.us-west-2.amazonaws.com"),
            Some("us-west-2")
        );
        assert_eq!(
            region_of_host("s3-us-gov-west-1.amazonaws.com"),
            Some("us-gov-west-1")
        );
        assert_eq!(region_of_host("s3.amazonaws.com"), None);
        assert_eq!(region_of_host("127.0.0.1:9000"), None);
        assert!(is_region("cn-north-1") && !is_region("s3") && !is_region("us-east"));
    }

    #[test]
    fn access_log_operations_map_to_ops() {
        assert_eq!(Op::from_access_log("REST.PUT.OBJECT"), Op::Put);
        assert_eq!(Op::from_access_log("REST.PUT.PART"), Op::MpuPart);
        assert_eq!(Op::from_access_log("REST.GET.VERSIONING"), Op::OtherTier2);
        assert_eq!(Op::from_access_log("REST.GET.BUCKET"), Op::OtherTier1);
        assert_eq!(Op::from_access_log("REST.DELETE.OBJECT").tier(), 0);
    }
}
