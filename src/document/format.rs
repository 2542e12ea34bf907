//! How numbers read in every output: money, measured values, signed changes (and,
//! from [`crate::units`], thousands separators and rates). One place, so a figure
//! reads the same in every table.

pub use crate::units::{dollars, rate, thousands};

/// An amount of USD without the sign: small amounts keep their digits, large ones
/// get separators.
pub fn usd(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 0.01 {
        format!("{v:.6}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        thousands(v)
    }
}

/// A small amount of USD to four significant digits (`0.008928`, `0.02381`), so a
/// column of them keeps the same precision; large ones as [`usd`].
pub fn usd_precise(v: f64) -> String {
    if v == 0.0 || !v.is_finite() || v.abs() >= 100.0 {
        return usd(v);
    }
    let decimals = (3 - v.abs().log10().floor() as i32).max(2) as usize;
    format!("{v:.decimals$}")
}

/// A measured value with as many decimals as its size calls for; "missing" for none.
pub fn num(v: Option<f64>) -> String {
    match v {
        None => "missing".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.1}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
    }
}

/// A signed change in percent: `+12.5%`; "-" for none.
pub fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |p| format!("{p:+.1}%"))
}

/// A value formatted by `f`, or "-".
pub fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or("-".into(), f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_the_same_everywhere() {
        assert_eq!(thousands(26000.0), "26,000");
        assert_eq!(thousands(999.6), "1,000");
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(thousands(-1234.0), "-1,234");
        assert_eq!(usd(0.005899), "0.005899");
        assert_eq!(usd(4776.4), "4,776");
        // A column of small amounts keeps four significant digits throughout.
        assert_eq!(usd_precise(0.008928), "0.008928");
        assert_eq!(usd_precise(0.023814), "0.02381");
        assert_eq!(usd_precise(1.23456), "1.235");
        assert_eq!(usd_precise(12.3), "12.30");
        assert_eq!(usd_precise(4776.4), "4,776");
        assert_eq!(dollars(12.345), "$12.35");
        assert_eq!(dollars(4776.4), "$4,776");
        assert_eq!(rate(0.25), "0.250");
        assert_eq!(num(Some(0.9)), "0.9000");
        assert_eq!(pct(Some(12.46)), "+12.5%");
        assert_eq!(opt(None, |v| v.to_string()), "-");
    }
}
