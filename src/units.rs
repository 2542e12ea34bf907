//! Human-readable quantities: sizes ("64KiB") and durations ("30s") for TOML
//! files, with messages that say what is allowed, and counts and rates with
//! thousands separators.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Durations come from the simulator crate, whose configuration uses them too.
pub use sse_sim::{HumanDuration, parse_duration};

/// A byte size written like `"64KiB"`, `"8MiB"` or a plain number of bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

/// Parses a size such as `"64KiB"` (binary and decimal units, or plain bytes).
pub fn parse_size(s: &str) -> Result<u64, crate::error::Error> {
    let t = s;
    let err = || {
        crate::error::Error::usage(format!(
            "expected a size like \"64KiB\" or \"8MiB\", got {s:?}{}",
            if s.trim() != s {
                " (stray whitespace)"
            } else {
                ""
            }
        ))
    };
    if s.trim() != s {
        return Err(err());
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num.parse().map_err(|_| err())?;
    let mult: u64 = match unit.trim() {
        "" | "B" => 1,
        "KiB" => 1 << 10,
        "MiB" => 1 << 20,
        "GiB" => 1 << 30,
        "TiB" => 1 << 40,
        "KB" | "kB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        "TB" => 1_000_000_000_000,
        _ => return Err(err()),
    };
    let bytes = value * mult as f64;
    if !bytes.is_finite() || bytes < 0.0 || bytes > u64::MAX as f64 {
        return Err(err());
    }
    Ok(bytes.round() as u64)
}

/// Formats a byte count the way the parser reads it back ("64KiB").
pub fn format_size(bytes: u64) -> String {
    const UNITS: [(&str, u64); 4] = [
        ("TiB", 1 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ];
    for (name, m) in UNITS {
        if bytes >= m && bytes.is_multiple_of(m) {
            return format!("{}{name}", bytes / m);
        }
    }
    for (name, m) in UNITS {
        if bytes >= m {
            return format!("{:.1}{name}", bytes as f64 / m as f64);
        }
    }
    format!("{bytes}B")
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_size(self.0))
    }
}

impl Serialize for Size {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Size {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size like \"64KiB\" or a number of bytes")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Size, E> {
                parse_size(v).map(Size).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom(format!("expected a size like \"64KiB\", got {v}")))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// `12345.6` → `12,346`.
pub fn thousands(v: f64) -> String {
    let n = v.round() as i64;
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A request rate: whole numbers with separators, small rates with decimals.
pub fn rate(v: f64) -> String {
    if v > 0.0 && v < 10.0 {
        format!("{v:.3}")
    } else {
        thousands(v)
    }
}

/// An amount of USD with the sign, to the cent: `$12.34`, `$4,776`.
pub fn dollars(v: f64) -> String {
    if v >= 100.0 {
        format!("${}", thousands(v))
    } else {
        format!("${v:.2}")
    }
}

/// A change in USD with its sign: `+$12.34`, `-$4,776`.
pub fn signed_dollars(v: f64) -> String {
    let sign = if v < 0.0 { "-" } else { "+" };
    format!("{sign}{}", dollars(v.abs()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_format() {
        assert_eq!(parse_size("64KiB").unwrap(), 65536);
        assert_eq!(parse_size("1.5MiB").unwrap(), 1_572_864);
        assert_eq!(parse_size("10MB").unwrap(), 10_000_000);
        assert_eq!(parse_size("512").unwrap(), 512);
        assert!(
            parse_size("64 kilobytes")
                .unwrap_err()
                .to_string()
                .contains("64KiB")
        );
        assert!(parse_size("-1KiB").is_err());
        let e = parse_size("64KB ").unwrap_err().to_string();
        assert!(e.contains("stray whitespace"), "{e}");
        assert!(parse_size(" 1MiB").is_err());
        assert_eq!(format_size(65536), "64KiB");
        assert_eq!(format_size(1_572_864), "1536KiB");
        assert_eq!(format_size(1_500_000), "1.4MiB");
        assert_eq!(format_size(100), "100B");
    }
}
