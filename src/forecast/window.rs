//! The time window of a forecast (`--since`, `--until`): which records count, and
//! which files need not be read at all, told by the delivery time AWS puts in their
//! names and folders (docs/log-formats.md). A file is delivered after the records in
//! it, usually within minutes, sometimes hours: files named before the window are
//! skipped, files named up to [`LATE_MARGIN_S`] after it are still read for records
//! delivered late.

use crate::error::Error;

/// How long after `--until` a file may be named and still hold records inside the
/// window (access logs are delivered within a few hours, best effort).
pub const LATE_MARGIN_S: i64 = 24 * 3600;

/// Records from `since` (inclusive) to `until` (exclusive), Unix seconds; either open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    /// First second counted.
    pub since: Option<i64>,
    /// First second not counted.
    pub until: Option<i64>,
}

impl Window {
    /// Whether a record of second `unix` counts.
    pub fn contains(&self, unix: i64) -> bool {
        self.since.is_none_or(|s| unix >= s) && self.until.is_none_or(|u| unix < u)
    }

    /// Whether a file or folder, by the delivery time in its name, may hold records
    /// inside the window. Names without a time may.
    pub fn may_hold(&self, path: &str) -> bool {
        let Some((first, last)) = delivered(path) else {
            return true;
        };
        // Records precede their delivery: a file delivered before `since` holds none.
        self.since.is_none_or(|s| last >= s)
            && self
                .until
                .is_none_or(|u| first < u.saturating_add(LATE_MARGIN_S))
    }
}

/// `--since`/`--until`: RFC 3339 (`2026-03-01T00:00:00Z`, or a date `2026-03-01`), or a
/// duration before `now` (`7d`, `36h`).
pub fn parse_time(s: &str, now: i64) -> Result<i64, Error> {
    let t = s.trim();
    if t.len() == 10
        && let Some(u) = crate::logs::access_log::parse_iso_time(&format!("{t}T00:00:00Z"))
    {
        return Ok(u);
    }
    if let Some(u) = crate::logs::access_log::parse_iso_time(t) {
        return Ok(u);
    }
    match humantime::parse_duration(t) {
        Ok(d) => Ok(now - d.as_secs() as i64),
        Err(_) => Err(Error::usage(format!(
            "{s:?} is neither a time (2026-03-01T00:00:00Z, 2026-03-01) nor a duration before now (7d, 36h)"
        ))),
    }
}

fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

fn unix(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> Option<i64> {
    let ok = (1970..=9999).contains(&y)
        && (1..=12).contains(&mo)
        && (1..=31).contains(&d)
        && (0..24).contains(&h)
        && (0..60).contains(&mi)
        && (0..=60).contains(&s);
    ok.then(|| crate::logs::access_log::days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s)
}

/// The delivery time a name tells, as a range of seconds: a CloudTrail file's
/// `_YYYYMMDDTHHmmZ_` (that minute), an access log's `YYYY-MM-DD-HH-MM-SS-` (that
/// second), else a folder path ending in `YYYY/MM/DD` (that day).
fn delivered(path: &str) -> Option<(i64, i64)> {
    let name = path.rsplit('/').next().unwrap_or(path);
    for part in name.split('_') {
        let b = part.as_bytes();
        if b.len() == 14 && b[8] == b'T' && b[13] == b'Z' {
            let t = unix(
                num(&part[0..4])?,
                num(&part[4..6])?,
                num(&part[6..8])?,
                num(&part[9..11])?,
                num(&part[11..13])?,
                0,
            )?;
            return Some((t, t + 59));
        }
    }
    let f: Vec<&str> = name.splitn(7, '-').collect();
    if f.len() == 7 && f[..6].iter().all(|x| num(x).is_some()) && f[0].len() == 4 {
        let t = unix(
            num(f[0])?,
            num(f[1])?,
            num(f[2])?,
            num(f[3])?,
            num(f[4])?,
            num(f[5])?,
        )?;
        return Some((t, t));
    }
    let parts: Vec<&str> = path.trim_end_matches('/').rsplit('/').take(3).collect();
    if let [d, m, y] = parts.as_slice()
        && y.len() == 4
        && m.len() == 2
        && d.len() == 2
    {
        let t = unix(num(y)?, num(m)?, num(d)?, 0, 0, 0)?;
        return Some((t, t + 86_399));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAR1: i64 = 1_772_323_200; // 2026-03-01T00:00:00Z

    #[test]
    fn names_tell_their_delivery_time() {
        assert_eq!(
            delivered("t/111_CloudTrail_eu-central-1_20260301T1005Z_AbC.json.gz"),
            Some((MAR1 + 36_300, MAR1 + 36_359))
        );
        assert_eq!(
            delivered("logs/2026-03-01-10-05-00-0A1B2C3D"),
            Some((MAR1 + 36_300, MAR1 + 36_300))
        );
        assert_eq!(
            delivered("AWSLogs/111/CloudTrail/eu-central-1/2026/03/01"),
            Some((MAR1, MAR1 + 86_399))
        );
        assert_eq!(delivered("AWSLogs/111/CloudTrail/eu-central-1/2026"), None);
        assert_eq!(delivered("my-export.json"), None);
        assert_eq!(delivered("logs/2026-13-01-10-05-00-X"), None, "no month 13");
    }

    #[test]
    fn a_window_prunes_files_delivered_before_it_and_long_after_it() {
        let w = Window {
            since: Some(MAR1),
            until: Some(MAR1 + 7 * 86_400),
        };
        assert!(
            !w.may_hold("logs/2026-02-28-23-59-59-X"),
            "delivered before"
        );
        assert!(w.may_hold("logs/2026-03-01-00-00-00-X"));
        // Delivered the hour after --until: may hold records of the window's last hour.
        assert!(w.may_hold("logs/2026-03-08-00-30-00-X"));
        assert!(!w.may_hold("logs/2026-03-09-00-00-01-X"), "past the margin");
        assert!(!w.may_hold("t/2026/02/27"));
        assert!(w.may_hold("t/2026/03/08"));
        assert!(w.may_hold("anything-else.json"));
        assert!(w.contains(MAR1) && !w.contains(MAR1 - 1) && !w.contains(MAR1 + 7 * 86_400));
    }

    #[test]
    fn times_are_absolute_or_before_now() {
        assert_eq!(parse_time("2026-03-01", 0).unwrap(), MAR1);
        assert_eq!(parse_time("2026-03-01T00:00:10Z", 0).unwrap(), MAR1 + 10);
        assert_eq!(parse_time("7d", MAR1).unwrap(), MAR1 - 7 * 86_400);
        assert_eq!(parse_time("soon", 0).unwrap_err().exit_code(), 2);
    }
}
