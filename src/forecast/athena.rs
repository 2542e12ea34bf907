//! Beyond one machine: the SQL that reduces access logs to the per-second aggregate
//! `forecast --aggregate` reads, for Athena over the AWS-documented access-log table
//! (S3 User Guide, "Querying access logs for requests by using Amazon Athena"), and the
//! reader of that aggregate. Every difference between SQL dialects lives in
//! [`Dialect`]: the query is otherwise the same text.

use super::traffic::Traffic;
use crate::logs::record::{Op, Request};

/// SQL dialects the query is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// Amazon Athena (Trino).
    Athena,
    /// DuckDB (how the query is tested here).
    DuckDb,
}

impl Dialect {
    /// Parses `athena` or `duckdb`.
    pub fn parse(s: &str) -> Option<Dialect> {
        match s {
            "athena" => Some(Dialect::Athena),
            "duckdb" => Some(Dialect::DuckDb),
            _ => None,
        }
    }

    /// Unix seconds of the table's `requestdatetime` (`06/Feb/2019:00:00:38 +0000`).
    fn unix_seconds(self) -> &'static str {
        match self {
            Dialect::Athena => {
                "CAST(to_unixtime(parse_datetime(requestdatetime, 'dd/MMM/yyyy:HH:mm:ss Z')) AS BIGINT)"
            }
            Dialect::DuckDb => {
                "CAST(epoch(strptime(requestdatetime, '%d/%b/%Y:%H:%M:%S %z')) AS BIGINT)"
            }
        }
    }
}

/// The columns of the aggregate, in order.
pub const COLUMNS: [&str; 7] = [
    "second",
    "bucket",
    "operation",
    "requester",
    "ok",
    "requests",
    "bytes",
];

/// The query over `table` (an access-log table with the AWS-documented columns
/// `bucket_name`, `requestdatetime`, `requester`, `operation`, `httpstatus`,
/// `objectsize`).
pub fn query(table: &str, dialect: Dialect) -> String {
    format!(
        "-- sse-bench forecast --aggregate input: S3 requests per second, bucket, operation,\n\
         -- requester and outcome. Save the result as CSV (Athena writes one to its output location).\n\
         SELECT\n  {} AS second,\n  bucket_name AS bucket,\n  operation,\n  requester,\n  \
         CASE WHEN httpstatus LIKE '2%' THEN 1 ELSE 0 END AS ok,\n  count(*) AS requests,\n  \
         coalesce(sum(objectsize), 0) AS bytes\nFROM {table}\n\
         GROUP BY 1, 2, 3, 4, 5\nORDER BY 1, 2, 3, 4, 5\n",
        dialect.unix_seconds()
    )
}

/// Reads one aggregate CSV (with the header [`COLUMNS`]) into `t`. Rows that do not
/// parse are counted as malformed with their line.
pub fn read(path: &std::path::Path, t: &mut Traffic) -> Result<(), crate::error::Error> {
    let name = path.display().to_string();
    let mut r = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| crate::error::Error::usage(format!("{name}: {e}")))?;
    let header = r
        .headers()
        .map_err(|e| crate::error::Error::usage(format!("{name}: {e}")))?
        .clone();
    let pos = |c: &str| header.iter().position(|h| h.trim().eq_ignore_ascii_case(c));
    let cols: Vec<usize> = COLUMNS
        .iter()
        .map(|c| {
            pos(c).ok_or_else(|| {
                crate::error::Error::usage(format!(
                    "{name}: not an aggregate: no column {c:?} (expected {})",
                    COLUMNS.join(",")
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    for (i, row) in r.records().enumerate() {
        let line = i + 2;
        let Ok(row) = row else {
            t.malformed(|| format!("{name}:{line}: not a CSV row"));
            continue;
        };
        let f = |k: usize| row.get(cols[k]).unwrap_or("").trim();
        let parsed = (|| -> Result<(i64, u32, bool, f64), &'static str> {
            let second = f(0).parse::<f64>().map_err(|_| "second is not a number")?;
            // Unix seconds of years 1970 to 9999, as the logs' own timestamps can be.
            if !(0.0..253_402_300_800.0).contains(&second) {
                return Err("second is not a Unix time between 1970 and 9999");
            }
            let second = second as i64;
            let ok = matches!(f(4), "1" | "true" | "TRUE" | "True");
            let n: u64 = f(5).parse().map_err(|_| "requests is not a count")?;
            let bytes: f64 = if f(6).is_empty() {
                0.0
            } else {
                f(6).parse().map_err(|_| "bytes is not a number")?
            };
            if !(bytes.is_finite() && bytes >= 0.0) {
                return Err("bytes is not a size");
            }
            Ok((
                second,
                u32::try_from(n).map_err(|_| "requests is too large for one row")?,
                ok,
                bytes,
            ))
        })();
        match parsed {
            Ok((second, n, ok, bytes)) => {
                let requester = f(3);
                t.add_many(
                    &Request {
                        unix: second,
                        bucket: f(1),
                        op: Op::from_access_log(f(2)),
                        requester: (requester != "-"
                            && !requester.is_empty()
                            && requester != "Anonymous")
                            .then_some(requester),
                        key: None,
                        size: None,
                        status: if ok { 200 } else { 400 },
                        region: None,
                        // An aggregate row is many requests: nothing to deduplicate.
                        id: None,
                    },
                    n,
                    bytes,
                );
            }
            Err(why) => t.malformed(|| format!("{name}:{line}: {why}")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dialects_differ_only_in_the_time_expression() {
        let a = query("t", Dialect::Athena);
        let d = query("t", Dialect::DuckDb);
        assert_eq!(
            a.replace(Dialect::Athena.unix_seconds(), "X"),
            d.replace(Dialect::DuckDb.unix_seconds(), "X")
        );
    }
}
