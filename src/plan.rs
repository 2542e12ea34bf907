//! Expands modes × rounds × phases into an ordered list of steps, deterministic
//! from the seed, and says how many bytes of objects the plan leaves on the target.

use crate::scenario::{Mode, Order, Scenario, ScenarioKind};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// One step: one phase of one mode in one round.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Position in the plan.
    pub index: usize,
    /// Round (0-based).
    pub round: u32,
    /// Mode.
    pub mode: Mode,
    /// Phase index into the scenario's phases.
    pub phase: usize,
    /// Phase name.
    pub phase_name: String,
    /// Whether the step is measured.
    pub record: bool,
}

/// Builds the plan. Interleaved order shuffles the modes of each round with the seed.
pub fn plan(s: &Scenario, seed: u64) -> Vec<Step> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_91a4);
    let mut order: Vec<(u32, Mode)> = Vec::new();
    match s.order {
        Order::Sequential => {
            for &m in &s.modes {
                for r in 0..s.rounds {
                    order.push((r, m));
                }
            }
        }
        Order::Interleaved => {
            for r in 0..s.rounds {
                let mut modes = s.modes.clone();
                if s.rounds > 1 {
                    modes.shuffle(&mut rng);
                }
                order.extend(modes.into_iter().map(|m| (r, m)));
            }
        }
    }
    let mut steps = Vec::new();
    for (round, mode) in order {
        for (i, p) in s.phases.iter().enumerate() {
            steps.push(Step {
                index: steps.len(),
                round,
                mode,
                phase: i,
                phase_name: p.name.clone(),
                record: p.record,
            });
        }
    }
    steps
}

/// Above this many bytes of objects the embedded simulator keeps them in a temporary
/// directory instead of memory (its process stays under about 1 GB).
pub const MEMORY_BUDGET_BYTES: f64 = 256.0 * 1024.0 * 1024.0;

/// About how many bytes of objects the target holds at most: every mode has its own
/// buckets, and each stream at most `keys` objects of its mean size (a PUT to a key
/// replaces what was there).
pub fn stored_bytes(s: &Scenario) -> f64 {
    if s.kind == ScenarioKind::Kms {
        return 0.0;
    }
    let per_mode: f64 = s
        .streams()
        .iter()
        .map(|st| st.keys as f64 * st.size.mean())
        .sum();
    s.modes.len() as f64 * per_mode
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(order: &str, rounds: u32) -> Scenario {
        let text = format!(
            "version = 1\nname = \"t\"\nmodes = [\"sse-s3\", \"sse-kms\", \"dsse-kms\"]\norder = \"{order}\"\nrounds = {rounds}\n[workload]\n[[phases]]\nname = \"w\"\nduration = \"1s\"\nconcurrency = 1\nrecord = false\n[[phases]]\nname = \"m\"\nduration = \"1s\"\nconcurrency = 1\n"
        );
        crate::scenario::parse(std::path::Path::new("t.toml"), &text)
            .unwrap()
            .scenario
    }

    #[test]
    fn sequential_and_interleaved_orders() {
        let s = scenario("sequential", 2);
        let p = plan(&s, 1);
        assert_eq!(p.len(), 12);
        assert_eq!(
            p.iter().map(|s| s.mode).take(4).collect::<Vec<_>>(),
            [Mode::SseS3; 4]
        );
        let s = scenario("interleaved", 3);
        let a = plan(&s, 7);
        assert_eq!(a, plan(&s, 7), "deterministic from the seed");
        for r in 0..3 {
            let mut modes: Vec<Mode> = a
                .iter()
                .filter(|x| x.round == r && x.phase == 0)
                .map(|x| x.mode)
                .collect();
            modes.sort();
            assert_eq!(
                modes,
                [Mode::SseS3, Mode::SseKms, Mode::DsseKms],
                "every mode once per round"
            );
        }
        let orders: std::collections::BTreeSet<Vec<Mode>> = (0..20u64)
            .map(|seed| {
                plan(&s, seed)
                    .iter()
                    .filter(|x| x.phase == 0)
                    .map(|x| x.mode)
                    .collect()
            })
            .collect();
        assert!(orders.len() > 1, "seeds change the interleaving");
    }
}
