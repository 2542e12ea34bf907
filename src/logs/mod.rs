//! The logs AWS keeps of S3 traffic, read record by record (docs/log-formats.md): S3
//! server access logs ([`access_log`]: the text format and the CloudWatch Logs JSON
//! form) and CloudTrail records ([`cloudtrail`]: S3 data events and the KMS calls S3
//! made for a requester). [`record`] is what both become, with the one requester rule
//! (an assumed-role session counts as its role) every reader of them follows: the
//! forecast of users' logs and the exact KMS counts of a run on AWS. What must not
//! live here: where files come from (forecast's sources) or what is made of the
//! records (traffic, the KMS model).

pub mod access_log;
pub mod cloudtrail;
pub mod record;
