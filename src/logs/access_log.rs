//! S3 server access log records (docs/log-formats.md §1): the space-delimited text
//! format S3 delivers to a bucket, and the structured JSON form delivered to
//! CloudWatch Logs. Both become [`Request`]s.

use super::record::{Op, Request};

/// Why a line is not a record.
pub type Malformed = &'static str;

/// Splits the next field: a quoted string (quotes removed), a bracketed time, or a
/// run of non-space bytes.
fn next_field<'a>(s: &mut &'a str) -> Option<&'a str> {
    let t = s.trim_start_matches(' ');
    let b = t.as_bytes();
    if b.is_empty() {
        *s = t;
        return None;
    }
    let (field, rest) = match b[0] {
        b'"' => {
            let end = memchr::memchr(b'"', &b[1..])? + 1;
            (&t[1..end], &t[end + 1..])
        }
        b'[' => {
            let end = memchr::memchr(b']', b)?;
            (&t[1..end], &t[end + 1..])
        }
        _ => {
            let end = memchr::memchr(b' ', b).unwrap_or(b.len());
            (&t[..end], &t[end..])
        }
    };
    *s = rest;
    Some(field)
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

fn digits(b: &[u8]) -> Option<i64> {
    if b.is_empty() {
        return None;
    }
    let mut n = 0i64;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

/// Days from 1970-01-01 to a civil date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `06/Feb/2019:00:00:38 +0000` as Unix seconds.
pub(crate) fn parse_clf_time(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 20 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' {
        return None;
    }
    let day = digits(&b[0..2])?;
    let month = MONTHS.iter().position(|m| &b[3..6] == *m)? as i64 + 1;
    let year = digits(&b[7..11])?;
    let (h, mi, s) = (
        digits(&b[12..14])?,
        digits(&b[15..17])?,
        digits(&b[18..20])?,
    );
    let mut unix = days_from_civil(year, month, day) * 86_400 + h * 3600 + mi * 60 + s;
    // The zone is +0000 in every log S3 writes; honour another if present.
    if let Some(z) = t.get(21..26) {
        let zb = z.as_bytes();
        let sign = match zb[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let off = digits(&zb[1..3])? * 3600 + digits(&zb[3..5])? * 60;
        unix -= sign * off;
    }
    Some(unix)
}

/// ISO 8601 / RFC 3339 (`2019-02-06T00:00:38Z`, `...38.123Z`, `+00:00`) as Unix seconds.
pub(crate) fn parse_iso_time(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b'T' || b[10] == b' ') {
        return None;
    }
    let unix = days_from_civil(digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?) * 86_400
        + digits(&b[11..13])? * 3600
        + digits(&b[14..16])? * 60
        + digits(&b[17..19])?;
    // Fractions are dropped; an explicit offset is applied.
    let rest = t[19..].trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let off = match rest.as_bytes().first() {
        None | Some(b'Z') => 0,
        Some(&s @ (b'+' | b'-')) => {
            let r = rest[1..].replace(':', "");
            let r = r.as_bytes();
            let o = digits(r.get(0..2)?)? * 3600 + digits(r.get(2..4)?)? * 60;
            if s == b'+' { o } else { -o }
        }
        _ => return None,
    };
    Some(unix - off)
}

fn dash_to_none(v: &str) -> Option<&str> {
    (v != "-" && !v.is_empty()).then_some(v)
}

/// One line of the text format. Fields after the thirteenth are optional: of them only
/// the Host Header (the 23rd) and the region AWS's current records append after
/// aclRequired (the 27th) are read, for the region the request went to.
pub fn parse_line(line: &str) -> Result<Request<'_>, Malformed> {
    let mut s = line.trim_end_matches(['\r', '\n']);
    let mut f = || next_field(&mut s);
    let _owner = f().ok_or("empty line")?;
    let bucket = f().ok_or("no bucket field")?;
    let time = f().ok_or("no time field")?;
    let unix = parse_clf_time(time).ok_or("time is not [dd/Mon/yyyy:HH:MM:SS +0000]")?;
    let _ip = f().ok_or("no remote IP field")?;
    let requester = f().ok_or("no requester field")?;
    let request_id = f().ok_or("no request ID field")?;
    let operation = f().ok_or("no operation field")?;
    let key = f().ok_or("no key field")?;
    let _uri = f().ok_or("no request URI field")?;
    let status = f().ok_or("no HTTP status field")?;
    let status: u16 = match status {
        "-" => 0,
        s => s.parse().map_err(|_| "HTTP status is not a number")?,
    };
    let _error = f().ok_or("no error code field")?;
    let _sent = f().ok_or("no bytes sent field")?;
    let size = f().ok_or("no object size field")?;
    let size = match size {
        "-" => None,
        s => Some(s.parse().map_err(|_| "object size is not a number")?),
    };
    if !operation.contains('.') {
        return Err("operation is not like REST.GET.OBJECT");
    }
    // Fields 14 to 27: the host header is the tenth of them, the region the fourteenth.
    let rest: Vec<&str> = std::iter::from_fn(&mut f).take(14).collect();
    let region = rest
        .get(13)
        .copied()
        .filter(|r| super::record::is_region(r))
        .or_else(|| rest.get(9).and_then(|h| super::record::region_of_host(h)));
    Ok(Request {
        unix,
        bucket,
        op: Op::from_access_log(operation),
        requester: dash_to_none(requester).filter(|r| *r != "Anonymous"),
        key: dash_to_none(key),
        size,
        status,
        region,
        // A copy logs REST.COPY.OBJECT and REST.COPY.OBJECT_GET under one request ID.
        id: (request_id != "-").then_some((request_id, operation)),
    })
}

/// The CloudWatch Logs form: one JSON object per line (or per event of an export),
/// fields as AWS's `sal-cw-log-format` table names them.
#[derive(serde::Deserialize)]
pub struct CloudWatchRecord<'a> {
    #[serde(borrow, default)]
    bucket_name: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    bucket_arn: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    request_time: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    requester: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    operation: std::borrow::Cow<'a, str>,
    #[serde(borrow, default)]
    key: Option<std::borrow::Cow<'a, str>>,
    #[serde(default)]
    http_status: Option<serde_json::Value>,
    #[serde(default)]
    object_size: Option<serde_json::Value>,
    /// By analogy with the text format's Host Header (inferred).
    #[serde(borrow, default)]
    host_header: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow, default)]
    request_id: Option<std::borrow::Cow<'a, str>>,
}

/// An owned [`Request`] for records whose fields had to be unescaped.
pub struct Owned {
    /// Unix seconds.
    pub unix: i64,
    /// Bucket.
    pub bucket: String,
    /// Operation.
    pub op: Op,
    /// Requester.
    pub requester: Option<String>,
    /// Key.
    pub key: Option<String>,
    /// Object size.
    pub size: Option<u64>,
    /// The region the request went to, when the record names it.
    pub region: Option<String>,
    /// HTTP status.
    pub status: u16,
    /// See [`Request::id`].
    pub id: Option<(String, String)>,
}

impl Owned {
    /// Borrowed view.
    pub fn view(&self) -> Request<'_> {
        Request {
            unix: self.unix,
            bucket: &self.bucket,
            op: self.op,
            requester: self.requester.as_deref(),
            key: self.key.as_deref(),
            size: self.size,
            status: self.status,
            region: self.region.as_deref(),
            id: self.id.as_ref().map(|(r, o)| (r.as_str(), o.as_str())),
        }
    }
}

fn number(v: &Option<serde_json::Value>) -> Option<u64> {
    match v.as_ref()? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

/// One CloudWatch Logs JSON record.
pub fn parse_cloudwatch(line: &str) -> Result<Owned, Malformed> {
    let r: CloudWatchRecord<'_> =
        serde_json::from_str(line).map_err(|_| "not a CloudWatch access log record")?;
    let bucket = match (&r.bucket_name, &r.bucket_arn) {
        (Some(b), _) => b.to_string(),
        (None, Some(arn)) => arn.rsplit(':').next().unwrap_or_default().to_owned(),
        (None, None) => return Err("no bucket_name or bucket_arn"),
    };
    let id = r
        .request_id
        .as_deref()
        .filter(|id| *id != "-" && !id.is_empty())
        .map(|id| (id.to_owned(), r.operation.to_string()));
    Ok(Owned {
        id,
        unix: parse_iso_time(&r.request_time).ok_or("request_time is not ISO 8601")?,
        bucket,
        op: Op::from_access_log(&r.operation),
        requester: r
            .requester
            .map(|s| s.into_owned())
            .filter(|s| s != "-" && !s.is_empty()),
        key: r.key.map(|s| s.into_owned()).filter(|s| s != "-"),
        size: number(&r.object_size),
        status: number(&r.http_status).unwrap_or(0) as u16,
        region: r
            .host_header
            .as_deref()
            .and_then(super::record::region_of_host)
            .map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_to_unix_seconds() {
        assert_eq!(
            parse_clf_time("06/Feb/2019:00:00:38 +0000"),
            Some(1_549_411_238)
        );
        assert_eq!(
            parse_clf_time("06/Feb/2019:01:00:38 +0100"),
            Some(1_549_411_238)
        );
        assert_eq!(
            parse_iso_time("2019-02-06T00:00:38.123Z"),
            Some(1_549_411_238)
        );
        assert_eq!(
            parse_iso_time("2019-02-06T01:00:38+01:00"),
            Some(1_549_411_238)
        );
        assert_eq!(parse_clf_time("6/Feb/2019:00:00:38"), None);
    }

    #[test]
    fn quoted_fields_keep_their_spaces() {
        let line = r#"o b [06/Feb/2019:00:00:38 +0000] 1.2.3.4 - ID REST.GET.OBJECT a%20b "GET /b/a%20b HTTP/1.1" 200 - 10 10 1 1 "-" "agent with spaces" -"#;
        let r = parse_line(line).expect("parses");
        assert_eq!(r.op, Op::Get);
        assert_eq!(r.key, Some("a%20b"));
        assert_eq!(r.requester, None);
        assert_eq!(r.size, Some(10));
    }
}
