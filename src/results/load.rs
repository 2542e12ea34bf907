//! Offered against achieved load of a run's open-loop steps, per mode, and the rule
//! that says the load generator fell behind: more than 0.1% of the schedule dropped
//! (not issued by the phase's deadline), or more than 0.1% of the arrivals issued
//! over 100 ms late.

use super::record::{OpenLoad, StepTotals};
use crate::scenario::Mode;
use serde::{Deserialize, Serialize};

/// Share of dropped (or late) arrivals above which the generator fell behind.
pub const BEHIND_SHARE: f64 = 0.001;

/// Open-loop load of one mode over its measured steps.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModeLoad {
    /// Mode.
    pub mode: Mode,
    /// Arrivals scheduled inside the phases.
    pub scheduled: u64,
    /// Arrivals issued.
    pub issued: u64,
    /// Arrivals dropped (scheduled, never issued).
    pub dropped: u64,
    /// `dropped / scheduled`.
    pub dropped_rate: f64,
    /// Arrivals issued over 100 ms after their scheduled time.
    pub late: u64,
    /// Scheduled arrivals per second of planned phase time.
    pub offered_per_s: f64,
    /// Operations completed per second of the steps' wall time.
    pub achieved_per_s: f64,
    /// The generator could not offer the load asked for (see the module doc).
    pub behind: bool,
}

impl ModeLoad {
    /// One line for people: what was asked, what was done, what was dropped.
    pub fn describe(&self) -> String {
        format!(
            "{}: offered {:.0}/s, achieved {:.0}/s; {} of {} scheduled arrivals dropped ({:.2}%), {} issued late",
            self.mode,
            self.offered_per_s,
            self.achieved_per_s,
            self.dropped,
            self.scheduled,
            self.dropped_rate * 100.0,
            self.late
        )
    }
}

/// Per mode, the open-loop load of the measured steps (modes without any are left out).
pub fn of_steps(steps: &[StepTotals]) -> Vec<ModeLoad> {
    let mut modes: Vec<Mode> = steps.iter().map(|t| t.mode).collect();
    modes.sort();
    modes.dedup();
    modes
        .into_iter()
        .filter_map(|m| {
            let mine: Vec<(&StepTotals, &OpenLoad)> = steps
                .iter()
                .filter(|t| t.mode == m && t.record)
                .filter_map(|t| t.open.as_ref().map(|o| (t, o)))
                .collect();
            if mine.is_empty() {
                return None;
            }
            let sum = mine.iter().fold(OpenLoad::default(), |a, (_, o)| OpenLoad {
                scheduled: a.scheduled + o.scheduled,
                issued: a.issued + o.issued,
                dropped: a.dropped + o.dropped,
                ..a
            });
            let planned: f64 = mine
                .iter()
                .map(|(_, o)| o.scheduled as f64 / o.offered_per_s.max(1e-9))
                .sum();
            let wall: f64 = mine.iter().map(|(t, _)| t.seconds).sum();
            let done: f64 = mine.iter().map(|(t, o)| o.achieved_per_s * t.seconds).sum();
            let late: u64 = mine.iter().map(|(t, _)| t.late).sum();
            let dropped_rate = sum.dropped_rate();
            Some(ModeLoad {
                mode: m,
                scheduled: sum.scheduled,
                issued: sum.issued,
                dropped: sum.dropped,
                dropped_rate,
                late,
                offered_per_s: sum.scheduled as f64 / planned.max(1e-9),
                achieved_per_s: done / wall.max(1e-9),
                behind: dropped_rate > BEHIND_SHARE
                    || late as f64 > BEHIND_SHARE * sum.issued.max(1) as f64,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(mode: Mode, scheduled: u64, issued: u64, late: u64) -> StepTotals {
        StepTotals {
            mode,
            phase: "m".into(),
            round: 0,
            record: true,
            seconds: 2.0,
            late,
            start_s: 0.0,
            offered: Vec::new(),
            open: Some(OpenLoad {
                scheduled,
                issued,
                dropped: scheduled - issued,
                offered_per_s: scheduled as f64 / 2.0,
                achieved_per_s: issued as f64 / 2.0,
            }),
        }
    }

    #[test]
    fn a_dropped_share_above_a_tenth_of_a_percent_is_behind() {
        let l = of_steps(&[
            step(Mode::SseS3, 10_000, 10_000, 0),
            step(Mode::SseKms, 10_000, 9_980, 0),
            step(Mode::DsseKms, 10_000, 10_000, 50),
        ]);
        assert_eq!(l.len(), 3);
        assert!(!l[0].behind);
        assert!(l[1].behind && (l[1].dropped_rate - 0.002).abs() < 1e-12);
        assert!(l[2].behind, "0.5% issued late");
        assert!((l[1].offered_per_s - 5000.0).abs() < 1e-9);
        assert!((l[1].achieved_per_s - 4990.0).abs() < 1e-9);
    }
}
