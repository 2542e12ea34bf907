//! Logs of the simulator's own traffic in AWS's formats (docs/log-formats.md): S3 server
//! access logs (the space-delimited text format, one line per request) and CloudTrail
//! log files (`{"Records": [...]}`, gzip) with the S3 data events and the KMS calls
//! S3 made on a requester's behalf. `sse-bench forecast` reads both, so a run against
//! the simulator is the forecast's ground truth.

use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// CloudTrail records per log file (CloudTrail itself delivers about every five minutes).
const RECORDS_PER_FILE: usize = 5_000;

/// The role name an access key is a session of, if any.
fn role_name<'a>(roles: &'a HashMap<String, String>, ak: &str) -> Option<&'a str> {
    roles
        .get(ak)
        .map(|role| role.rsplit('/').next().unwrap_or(role))
}

/// The ARN an access key signs as: its assumed-role session, or an IAM user named
/// after the key (the access log's Requester, CloudTrail's `userIdentity.arn`).
pub(crate) fn principal_arn(account: &str, roles: &HashMap<String, String>, ak: &str) -> String {
    match role_name(roles, ak) {
        Some(name) => format!("arn:aws:sts::{account}:assumed-role/{name}/{ak}"),
        None => format!("arn:aws:iam::{account}:user/{ak}"),
    }
}

/// The `userIdentity` of an access key: a session of its role, or an IAM user named
/// after the key.
pub(crate) fn user_identity(account: &str, roles: &HashMap<String, String>, ak: &str) -> Value {
    let arn = principal_arn(account, roles, ak);
    match role_name(roles, ak) {
        Some(name) => {
            json!({
                "type": "AssumedRole",
                "principalId": format!("AROA{}:{ak}", name.to_uppercase()),
                "arn": arn,
                "accountId": account,
                "accessKeyId": ak,
                "sessionContext": {"sessionIssuer": {
                    "type": "Role",
                    "arn": format!("arn:aws:iam::{account}:role/{name}"),
                    "accountId": account,
                    "userName": name,
                }},
            })
        }
        None => json!({
            "type": "IAMUser",
            "principalId": format!("AIDA{}", ak.to_uppercase()),
            "arn": arn,
            "accountId": account,
            "accessKeyId": ak,
            "userName": ak,
        }),
    }
}

/// What one S3 request leaves in the logs.
pub(crate) struct S3Entry<'a> {
    /// Wall-clock arrival, seconds since the epoch.
    pub unix: f64,
    /// HTTP method.
    pub method: &'a str,
    /// Path (`/bucket/key`, percent-encoded as sent).
    pub path: &'a str,
    /// Query string.
    pub query: &'a str,
    /// Access key of the signer, if signed.
    pub access_key: Option<&'a str>,
    /// Whether `x-amz-copy-source` was sent.
    pub copy: bool,
    /// HTTP status.
    pub status: u16,
    /// S3 error code, if any.
    pub error: Option<&'a str>,
    /// Request body bytes (decoded).
    pub bytes_in: u64,
    /// Response body bytes.
    pub bytes_out: u64,
    /// Object size, when the operation has one.
    pub object_size: Option<u64>,
    /// Milliseconds from arrival to the response.
    pub total_ms: u64,
    /// User-Agent header.
    pub user_agent: &'a str,
    /// Host header.
    pub host: &'a str,
}

/// `REST.<METHOD>.<RESOURCE>` as S3's access logs name an operation, and the
/// CloudTrail event name where the operation is an object data event.
pub(crate) fn operation(
    method: &str,
    has_key: bool,
    query: &str,
    copy: bool,
) -> (&'static str, Option<&'static str>) {
    let has = |k: &str| {
        query
            .split('&')
            .any(|p| p.split('=').next().is_some_and(|n| n == k))
    };
    if !has_key {
        return match method {
            "PUT" if has("encryption") => ("REST.PUT.ENCRYPTION", None),
            "PUT" => ("REST.PUT.BUCKET", None),
            "GET" if has("encryption") => ("REST.GET.ENCRYPTION", None),
            "GET" if has("uploads") => ("REST.GET.UPLOADS", None),
            "GET" => ("REST.GET.BUCKET", None),
            "HEAD" => ("REST.HEAD.BUCKET", None),
            "DELETE" => ("REST.DELETE.BUCKET", None),
            "POST" if has("delete") => ("REST.POST.MULTI_OBJECT_DELETE", None),
            _ => ("REST.OTHER.BUCKET", None),
        };
    }
    match method {
        "PUT" if has("partNumber") && copy => ("REST.COPY.PART", Some("UploadPartCopy")),
        "PUT" if has("partNumber") => ("REST.PUT.PART", Some("UploadPart")),
        "PUT" if has("tagging") => ("REST.PUT.OBJECT_TAGGING", Some("PutObjectTagging")),
        "PUT" if copy => ("REST.COPY.OBJECT", Some("CopyObject")),
        "PUT" => ("REST.PUT.OBJECT", Some("PutObject")),
        "GET" if has("uploadId") => ("REST.GET.UPLOAD", Some("ListParts")),
        "GET" if has("tagging") => ("REST.GET.OBJECT_TAGGING", Some("GetObjectTagging")),
        "GET" => ("REST.GET.OBJECT", Some("GetObject")),
        "HEAD" => ("REST.HEAD.OBJECT", Some("HeadObject")),
        "DELETE" if has("uploadId") => ("REST.DELETE.UPLOAD", Some("AbortMultipartUpload")),
        "DELETE" => ("REST.DELETE.OBJECT", Some("DeleteObject")),
        "POST" if has("uploads") => ("REST.POST.UPLOADS", Some("CreateMultipartUpload")),
        "POST" if has("uploadId") => ("REST.POST.UPLOAD", Some("CompleteMultipartUpload")),
        _ => ("REST.OTHER.OBJECT", None),
    }
}

struct TrailFile {
    records: Vec<Value>,
    files: u64,
}

/// The log writers of one simulator.
pub(crate) struct Logs {
    dir: PathBuf,
    account: String,
    region: String,
    roles: HashMap<String, String>,
    owner: String,
    started: String,
    access: Mutex<BufWriter<File>>,
    trail: Mutex<TrailFile>,
    request_id: std::sync::atomic::AtomicU64,
}

fn io_context(e: std::io::Error, what: &Path) -> std::io::Error {
    std::io::Error::new(e.kind(), format!("{}: {e}", what.display()))
}

impl Logs {
    /// Opens `dir/access-logs/` and `dir/cloudtrail/` for a new set of logs.
    pub(crate) fn open(
        dir: &Path,
        account: &str,
        region: &str,
        roles: HashMap<String, String>,
    ) -> std::io::Result<Logs> {
        let access_dir = dir.join("access-logs");
        let trail_dir = dir.join("cloudtrail");
        for d in [&access_dir, &trail_dir] {
            std::fs::create_dir_all(d).map_err(|e| io_context(e, d))?;
        }
        let now = time::OffsetDateTime::now_utc();
        let stamp = now
            .format(time::macros::format_description!(
                "[year]-[month]-[day]-[hour]-[minute]-[second]"
            ))
            .unwrap_or_default();
        // AWS names access log objects TargetPrefixYYYY-mm-DD-HH-MM-SS-UniqueString.
        let unique = format!("{:016X}", rand::random::<u64>());
        let path = access_dir.join(format!("{stamp}-{unique}"));
        let file = File::create(&path).map_err(|e| io_context(e, &path))?;
        Ok(Logs {
            dir: trail_dir,
            account: account.into(),
            region: region.into(),
            roles,
            // The canonical id of the simulated account (64 hex digits, as S3 writes it).
            owner: hex::encode(sha2::Digest::finalize(
                <sha2::Sha256 as sha2::Digest>::new_with_prefix(account.as_bytes()),
            )),
            started: unique,
            access: Mutex::new(BufWriter::with_capacity(1 << 16, file)),
            trail: Mutex::new(TrailFile {
                records: Vec::new(),
                files: 0,
            }),
            // A random start: two simulators logging into one place never share a
            // request ID (readers remove records delivered twice by it).
            request_id: std::sync::atomic::AtomicU64::new(rand::random::<u64>() >> 1),
        })
    }

    /// Logs one S3 request: an access log line, and a CloudTrail data event for
    /// object operations.
    pub(crate) fn s3(&self, e: &S3Entry<'_>) {
        let trimmed = e.path.trim_start_matches('/');
        let (bucket, key) = match trimmed.split_once('/') {
            Some((b, k)) if !k.is_empty() => (b, Some(k)),
            Some((b, _)) => (b, None),
            None => (trimmed, None),
        };
        if bucket.is_empty() {
            return;
        }
        let (op, event) = operation(e.method, key.is_some(), e.query, e.copy);
        let id = self
            .request_id
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let request_id = format!("{:016X}", id ^ 0x5EB0_0000_0000_0000);
        let time = time::OffsetDateTime::from_unix_timestamp(e.unix as i64)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        let stamp = time
            .format(time::macros::format_description!(
                "[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000"
            ))
            .unwrap_or_default();
        let dash = |v: Option<String>| v.unwrap_or_else(|| "-".into());
        let requester = dash(
            e.access_key
                .map(|a| principal_arn(&self.account, &self.roles, a)),
        );
        let uri = if e.query.is_empty() {
            format!("{} {} HTTP/1.1", e.method, e.path)
        } else {
            format!("{} {}?{} HTTP/1.1", e.method, e.path, e.query)
        };
        let bytes_sent = (e.bytes_out > 0).then(|| e.bytes_out.to_string());
        let line = format!(
            "{owner} {bucket} [{stamp}] 127.0.0.1 {requester} {request_id} {op} {key} \"{uri}\" {status} {error} {sent} {size} {total} - \"-\" \"{ua}\" - {host_id} {sig} - {auth} {host} - - - {region}\n",
            owner = self.owner,
            key = key.unwrap_or("-"),
            status = e.status,
            error = e.error.unwrap_or("-"),
            sent = dash(bytes_sent),
            size = dash(
                e.object_size
                    .filter(|_| key.is_some())
                    .map(|s| s.to_string())
            ),
            total = e.total_ms,
            ua = e.user_agent.replace('"', "'"),
            host_id = self.started,
            sig = if e.access_key.is_some() { "SigV4" } else { "-" },
            auth = if e.access_key.is_some() {
                "AuthHeader"
            } else {
                "-"
            },
            host = if e.host.is_empty() { "-" } else { e.host },
            // The region AWS's current records append after aclRequired.
            region = self.region,
        );
        let _ = self.access.lock().write_all(line.as_bytes());
        let (Some(event), Some(key)) = (event, key) else {
            return;
        };
        let key = percent_decode(key);
        let identity = match e.access_key {
            Some(ak) => user_identity(&self.account, &self.roles, ak),
            None => json!({"type": "AWSAccount", "principalId": "", "accountId": "anonymous"}),
        };
        let mut r = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": rfc3339(e.unix),
            "eventSource": "s3.amazonaws.com",
            "eventName": event,
            "awsRegion": self.region,
            "sourceIPAddress": "127.0.0.1",
            "userAgent": e.user_agent,
            "requestParameters": {"bucketName": bucket, "Host": e.host, "key": key},
            "responseElements": null,
            "additionalEventData": {
                "bytesTransferredIn": e.bytes_in,
                "bytesTransferredOut": e.bytes_out,
                "SignatureVersion": "SigV4",
                "AuthenticationMethod": "AuthHeader",
            },
            "requestID": request_id,
            "eventID": format!("{:08x}-0000-4000-9000-{:012x}", id >> 48, id),
            "readOnly": matches!(e.method, "GET" | "HEAD"),
            "resources": [
                {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")},
                {"accountId": self.account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")},
            ],
            "eventType": "AwsApiCall",
            "managementEvent": false,
            "recipientAccountId": self.account,
            "eventCategory": "Data",
        });
        if let Some(code) = e.error {
            r["errorCode"] = json!(code);
        }
        self.push_trail(r);
    }

    /// Adds one CloudTrail record (a KMS call from the event history).
    pub(crate) fn push_trail(&self, record: Value) {
        let mut g = self.trail.lock();
        g.records.push(record);
        if g.records.len() >= RECORDS_PER_FILE {
            let _ = self.write_trail(&mut g);
        }
    }

    fn write_trail(&self, g: &mut TrailFile) -> std::io::Result<()> {
        if g.records.is_empty() {
            return Ok(());
        }
        g.files += 1;
        let now = time::OffsetDateTime::now_utc()
            .format(time::macros::format_description!(
                "[year][month][day]T[hour][minute]Z"
            ))
            .unwrap_or_default();
        // CloudTrail's object names: AccountID_CloudTrail_RegionName_YYYYMMDDTHHmmZ_UniqueString.json.gz
        let name = format!(
            "{}_CloudTrail_{}_{now}_{}{:04}.json.gz",
            self.account, self.region, self.started, g.files
        );
        let records = std::mem::take(&mut g.records);
        let body = serde_json::to_vec(&json!({ "Records": records }))?;
        let tmp = self.dir.join(format!(".{name}.tmp"));
        let mut gz = flate2::write::GzEncoder::new(
            File::create(&tmp).map_err(|e| io_context(e, &tmp))?,
            flate2::Compression::fast(),
        );
        gz.write_all(&body)?;
        gz.finish()?.sync_all()?;
        std::fs::rename(&tmp, self.dir.join(name))
    }

    /// Writes everything buffered: the access log's buffer and a CloudTrail file of
    /// the records not yet written.
    pub(crate) fn flush(&self) -> std::io::Result<()> {
        self.access.lock().flush()?;
        let mut g = self.trail.lock();
        self.write_trail(&mut g)
    }
}

/// RFC 3339 seconds, as CloudTrail writes `eventTime`.
pub(crate) fn rfc3339(unix: f64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix as i64)
        .ok()
        .and_then(|t| {
            t.format(time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// Percent-decodes a path segment (keys appear decoded in CloudTrail).
fn percent_decode(s: &str) -> String {
    form_urlencoded::parse(format!("k={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map_or_else(|| s.to_owned(), |(_, v)| v.into_owned())
}

/// Seconds since the epoch now.
pub(crate) fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_named_as_s3_logs_name_them() {
        assert_eq!(operation("PUT", true, "", false).0, "REST.PUT.OBJECT");
        assert_eq!(operation("PUT", true, "", true).0, "REST.COPY.OBJECT");
        assert_eq!(
            operation("PUT", true, "partNumber=1&uploadId=x", false),
            ("REST.PUT.PART", Some("UploadPart"))
        );
        assert_eq!(
            operation("POST", true, "uploads", false),
            ("REST.POST.UPLOADS", Some("CreateMultipartUpload"))
        );
        assert_eq!(
            operation("POST", true, "uploadId=x", false),
            ("REST.POST.UPLOAD", Some("CompleteMultipartUpload"))
        );
        assert_eq!(
            operation("GET", false, "list-type=2", false).0,
            "REST.GET.BUCKET"
        );
        assert_eq!(operation("HEAD", true, "", false).1, Some("HeadObject"));
    }

    #[test]
    fn keys_are_decoded_for_cloudtrail() {
        assert_eq!(percent_decode("a%20b/c%2Bd"), "a b/c+d");
    }
}
