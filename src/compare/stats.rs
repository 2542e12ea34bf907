//! The statistical test of the nightly gate: is tonight's value of a metric unlikely
//! under the distribution of the last N runs, and is the change large enough to matter?
//! Both must hold for a regression, so a quiet history does not turn a 1 % wobble into
//! a failed build, and a noisy one does not hide behind a large change.

use serde::{Deserialize, Serialize};
use statrs::distribution::{ContinuousCDF, Normal, StudentsT};

/// Which test judges a value against the history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Test {
    /// Student's t prediction test: `(x − mean) / (sd · √(1 + 1/n))` with n − 1 degrees
    /// of freedom; accounts for the history's mean and spread being estimates.
    #[default]
    T,
    /// z-score: `(x − mean) / sd` against the normal distribution (the history taken as
    /// the truth; sharper with a long history, too eager with a short one).
    Z,
}

impl Test {
    /// Parses `t` or `z`.
    pub fn parse(s: &str) -> Option<Test> {
        match s {
            "t" => Some(Test::T),
            "z" => Some(Test::Z),
            _ => None,
        }
    }

    /// The name output shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Test::T => "t",
            Test::Z => "z",
        }
    }
}

/// How the history is used.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The last this many runs of the scenario form the history.
    pub window: usize,
    /// Below this many runs the statistical test is not used: the fixed tolerances
    /// judge against the history's mean instead.
    pub min_runs: usize,
    /// The test.
    pub test: Test,
    /// One-sided significance level per metric.
    pub significance: f64,
    /// Default smallest change that counts, percent (a `[min_effect]` rule overrides it).
    pub min_effect_pct: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            window: 20,
            min_runs: 10,
            test: Test::T,
            significance: 0.01,
            min_effect_pct: 5.0,
        }
    }
}

/// The history's distribution of one metric.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Distribution {
    /// Runs.
    pub n: usize,
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for a single run).
    pub sd: f64,
}

impl Distribution {
    /// The distribution of `values`; `None` when empty.
    pub fn of(values: &[f64]) -> Option<Distribution> {
        let n = values.len();
        if n == 0 {
            return None;
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Some(Distribution { n, mean, sd })
    }
}

/// The outcome of the test for one value.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    /// The test statistic, signed so that positive means worse.
    pub statistic: f64,
    /// One-sided p-value of a change at least this much worse.
    pub p_worse: f64,
    /// One-sided p-value of a change at least this much better.
    pub p_better: f64,
}

/// Tests `current` against `history`. `lower_is_worse` flips the direction (throughput).
/// A history without spread makes any difference infinitely unlikely: the minimum effect
/// alone then decides.
pub fn test(test: Test, history: Distribution, current: f64, lower_is_worse: bool) -> Outcome {
    let worse = if lower_is_worse {
        history.mean - current
    } else {
        current - history.mean
    };
    let scale = match test {
        Test::T => history.sd * (1.0 + 1.0 / history.n as f64).sqrt(),
        Test::Z => history.sd,
    };
    let statistic = if scale > 0.0 {
        worse / scale
    } else if worse == 0.0 {
        0.0
    } else {
        worse.signum() * f64::INFINITY
    };
    let cdf = |x: f64| -> f64 {
        if x.is_infinite() {
            return if x > 0.0 { 1.0 } else { 0.0 };
        }
        match test {
            Test::T if history.n >= 2 => {
                StudentsT::new(0.0, 1.0, (history.n - 1) as f64).map_or(0.5, |d| d.cdf(x))
            }
            // One run has no spread to estimate: the normal is all there is.
            _ => Normal::new(0.0, 1.0).map_or(0.5, |d| d.cdf(x)),
        }
    };
    Outcome {
        statistic,
        p_worse: 1.0 - cdf(statistic),
        p_better: cdf(statistic),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` values with the given mean and sample standard deviation exactly.
    fn history(n: usize, mean: f64, sd: f64) -> Vec<f64> {
        let raw: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let d = Distribution::of(&raw).unwrap();
        raw.iter()
            .map(|v| mean + (v - d.mean) / d.sd * sd)
            .collect()
    }

    #[test]
    fn distributions_have_the_sample_spread() {
        let d = Distribution::of(&history(20, 100.0, 3.0)).unwrap();
        assert!((d.mean - 100.0).abs() < 1e-9 && (d.sd - 3.0).abs() < 1e-9);
        assert_eq!(Distribution::of(&[4.0]).unwrap().sd, 0.0);
        assert_eq!(Distribution::of(&[]), None);
    }

    #[test]
    fn t_and_z_give_known_tail_probabilities() {
        let d = Distribution::of(&history(20, 100.0, 2.0)).unwrap();
        // z = 3: one-sided 0.00135.
        let z = test(Test::Z, d, 106.0, false);
        assert!((z.statistic - 3.0).abs() < 1e-9);
        assert!((z.p_worse - 0.00135).abs() < 1e-5, "{z:?}");
        // t = 3 / sqrt(1.05) = 2.928 with 19 df: one-sided 0.0043 (tables: t(19) at
        // 0.005 is 2.861, at 0.0025 is 3.174).
        let t = test(Test::T, d, 106.0, false);
        assert!(t.p_worse > 0.0025 && t.p_worse < 0.005, "{t:?}");
        // Better, not worse: a lower latency.
        let b = test(Test::T, d, 94.0, false);
        assert!(b.statistic < 0.0 && b.p_better < 0.005 && b.p_worse > 0.99);
        // Throughput: lower is worse.
        let o = test(Test::T, d, 94.0, true);
        assert!(o.statistic > 0.0 && o.p_worse < 0.005);
    }

    #[test]
    fn a_history_without_spread_leaves_it_to_the_size_of_the_change() {
        let d = Distribution::of(&[0.9, 0.9, 0.9]).unwrap();
        assert_eq!(test(Test::T, d, 0.9, false).p_worse, 0.5);
        assert_eq!(test(Test::T, d, 0.91, false).p_worse, 0.0);
        assert_eq!(test(Test::T, d, 0.89, false).p_better, 0.0);
    }
}
