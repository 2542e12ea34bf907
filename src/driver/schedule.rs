//! The open-loop schedule: when the i-th arrival of a fixed or ramped rate is due, and
//! how many are due by a time.

use crate::scenario::Rate;

/// Seconds after the start of a phase at which the i-th arrival is due.
pub fn arrival_time(rate: &Rate, duration: f64, i: u64) -> f64 {
    let (a, b) = rate.bounds();
    let k = if duration > 0.0 {
        (b - a) / duration
    } else {
        0.0
    };
    let i = i as f64;
    if k.abs() < 1e-12 {
        i / a
    } else {
        // Solve a·t + k·t²/2 = i for the cumulative number of arrivals.
        (-a + (a * a + 2.0 * k * i).max(0.0).sqrt()) / k
    }
}

/// Arrivals of a phase's schedule due before `t` seconds into it: the count `n`
/// with `arrival_time(n) >= t` first (the i-th arrival is due when the cumulative
/// rate reaches i).
pub fn arrivals_before(rate: &Rate, duration: f64, t: f64) -> u64 {
    let t = t.min(duration);
    let (a, b) = rate.bounds();
    let k = if duration > 0.0 {
        (b - a) / duration
    } else {
        0.0
    };
    let total = a * t + k * t * t / 2.0;
    if !(total.is_finite() && total > 0.0) {
        return 0;
    }
    let mut n = total.ceil() as u64;
    // Rounding at the edge: arrival n-1 must be due before t, arrival n not.
    while n > 0 && arrival_time(rate, duration, n - 1) >= t {
        n -= 1;
    }
    while arrival_time(rate, duration, n) < t {
        n += 1;
    }
    n
}

/// Arrivals of a schedule that fall inside the phase.
pub fn scheduled_arrivals(rate: &Rate, duration: f64) -> u64 {
    arrivals_before(rate, duration, duration)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_schedule_matches_fixed_and_ramped_rates() {
        let fixed = Rate::Fixed(500.0);
        assert!((arrival_time(&fixed, 10.0, 500) - 1.0).abs() < 1e-9);
        let ramp = Rate::Ramp {
            from: 100.0,
            to: 300.0,
        };
        // Over 10 s a 100→300 ramp delivers (100+300)/2·10 = 2000 arrivals.
        assert!((arrival_time(&ramp, 10.0, 2000) - 10.0).abs() < 1e-6);
        assert!(
            arrival_time(&ramp, 10.0, 1000) > 5.0,
            "the first half of the arrivals take more than half the time"
        );
        let from_zero = Rate::Ramp {
            from: 0.0,
            to: 100.0,
        };
        assert_eq!(arrival_time(&from_zero, 10.0, 0), 0.0);
        assert!((arrival_time(&from_zero, 10.0, 500) - 10.0).abs() < 1e-6);
    }

    #[test]
    fn scheduled_arrivals_count_the_schedule_inside_the_phase() {
        assert_eq!(scheduled_arrivals(&Rate::Fixed(500.0), 10.0), 5000);
        assert_eq!(scheduled_arrivals(&Rate::Fixed(3.0), 1.5), 5);
        let ramp = Rate::Ramp {
            from: 100.0,
            to: 300.0,
        };
        let n = scheduled_arrivals(&ramp, 10.0);
        assert!(arrival_time(&ramp, 10.0, n - 1) < 10.0 && arrival_time(&ramp, 10.0, n) >= 10.0);
        assert_eq!(n, 2000);
        // Halfway through the ramp: 100·5 + 20·25/2 = 750 arrivals were due.
        assert_eq!(arrivals_before(&ramp, 10.0, 5.0), 750);
        assert_eq!(arrivals_before(&Rate::Fixed(500.0), 10.0, 0.0), 0);
    }
}
