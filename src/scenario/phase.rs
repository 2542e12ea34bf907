//! A phase of a scenario: how long it lasts and what kind of load it is. The file's
//! spelling ([`PhaseSpec`]: `concurrency`, `rate`, `max_in_flight`, `trace`) is read
//! once into a [`Phase`] whose [`Load`] says which of the three loads it is, so nothing
//! downstream decides it again from optional fields.

use super::trace::TracePhase;
use crate::units::HumanDuration;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;

/// What load a phase puts on the target, decided once when the scenario is read.
#[derive(Clone, Debug, PartialEq)]
pub enum Load {
    /// Closed loop: workers each issuing one request at a time.
    Closed {
        /// Workers.
        concurrency: u32,
    },
    /// Open loop at a fixed or ramped arrival rate.
    Open {
        /// Arrivals per second.
        rate: Rate,
        /// Most requests in flight; arrivals beyond it wait and count as late.
        max_in_flight: Option<u32>,
    },
    /// Open loop at a trace's recorded times (`forecast --emit-trace`).
    Trace {
        /// The trace and its replay speed.
        trace: TracePhase,
        /// Most requests in flight.
        max_in_flight: Option<u32>,
    },
}

impl Load {
    /// The open-loop rate, for an open-loop phase.
    pub fn rate(&self) -> Option<Rate> {
        match self {
            Load::Open { rate, .. } => Some(*rate),
            _ => None,
        }
    }

    /// The cap on requests in flight of an open-loop or trace phase, when the scenario sets one.
    pub fn max_in_flight(&self) -> Option<u32> {
        match self {
            Load::Open { max_in_flight, .. } | Load::Trace { max_in_flight, .. } => *max_in_flight,
            Load::Closed { .. } => None,
        }
    }
}

/// One phase of a validated scenario.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(into = "PhaseSpec", try_from = "PhaseSpec")]
pub struct Phase {
    /// Name (unique).
    pub name: String,
    /// How long the phase lasts.
    pub duration: Option<HumanDuration>,
    /// How many operations the phase issues (whichever of duration and count comes first).
    pub operations: Option<u64>,
    /// The kind of load.
    pub load: Load,
    /// Whether the phase is measured (warmups are not).
    pub record: bool,
}

/// One phase as a scenario file spells it (`[[phases]]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseSpec {
    /// Name (unique).
    pub name: String,
    /// How long the phase lasts.
    pub duration: Option<HumanDuration>,
    /// How many operations the phase issues (whichever of duration and count comes first).
    pub operations: Option<u64>,
    /// Closed loop: workers each issuing one request at a time.
    pub concurrency: Option<u32>,
    /// Open loop: arrivals per second, fixed or ramped.
    pub rate: Option<Rate>,
    /// Open loop: most requests in flight; arrivals beyond it wait and count as late.
    pub max_in_flight: Option<u32>,
    /// Open loop at a trace's recorded times (`forecast --emit-trace`), instead of a rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<TracePhase>,
    /// Whether the phase is measured (warmups are not).
    #[serde(default = "super::workload::yes")]
    pub record: bool,
}

impl PhaseSpec {
    /// The load this spelling asks for, or the field that makes it ambiguous and why
    /// (`validate` reports the other problems of a phase).
    pub fn load(&self) -> Result<Load, (&'static str, &'static str)> {
        match (&self.trace, self.concurrency, self.rate) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err((
                "trace",
                "a trace sets the arrival times: give no rate or concurrency",
            )),
            (Some(t), None, None) => Ok(Load::Trace {
                trace: t.clone(),
                max_in_flight: self.max_in_flight,
            }),
            (None, Some(_), Some(_)) => Err((
                "rate",
                "give either concurrency (closed loop) or rate (open loop), not both",
            )),
            (None, None, None) => Err(("", "give concurrency (closed loop) or rate (open loop)")),
            (None, Some(_), None) if self.max_in_flight.is_some() => Err((
                "max_in_flight",
                "only applies to open-loop phases (with rate)",
            )),
            (None, Some(concurrency), None) => Ok(Load::Closed { concurrency }),
            (None, None, Some(rate)) => Ok(Load::Open {
                rate,
                max_in_flight: self.max_in_flight,
            }),
        }
    }
}

impl TryFrom<PhaseSpec> for Phase {
    type Error = crate::error::Error;

    fn try_from(p: PhaseSpec) -> Result<Phase, Self::Error> {
        let load = p.load().map_err(|(field, why)| match field {
            "" => Self::Error::usage(why),
            f => Self::Error::usage(format!("{f}: {why}")),
        })?;
        Ok(Phase {
            name: p.name,
            duration: p.duration,
            operations: p.operations,
            load,
            record: p.record,
        })
    }
}

impl From<Phase> for PhaseSpec {
    fn from(p: Phase) -> PhaseSpec {
        let (concurrency, rate, max_in_flight, trace) = match p.load {
            Load::Closed { concurrency } => (Some(concurrency), None, None, None),
            Load::Open {
                rate,
                max_in_flight,
            } => (None, Some(rate), max_in_flight, None),
            Load::Trace {
                trace,
                max_in_flight,
            } => (None, None, max_in_flight, Some(trace)),
        };
        PhaseSpec {
            name: p.name,
            duration: p.duration,
            operations: p.operations,
            concurrency,
            rate,
            max_in_flight,
            trace,
            record: p.record,
        }
    }
}

/// Open-loop arrival rate.
#[derive(Clone, Copy, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Rate {
    /// Fixed arrivals per second.
    Fixed(f64),
    /// Linear ramp over the phase.
    Ramp {
        /// Rate at the start.
        from: f64,
        /// Rate at the end.
        to: f64,
    },
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Rate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("arrivals per second (a number) or a ramp { from = N, to = M }")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                Ok(Rate::Fixed(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                Ok(Rate::Fixed(v as f64))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Rate, E> {
                Ok(Rate::Fixed(v))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Rate, A::Error> {
                let (mut from, mut to) = (None, None);
                while let Some(k) = map.next_key::<String>()? {
                    match k.as_str() {
                        "from" => from = Some(map.next_value::<f64>()?),
                        "to" => to = Some(map.next_value::<f64>()?),
                        other => {
                            return Err(de::Error::custom(format!(
                                "unknown field `{other}`, expected `from` or `to`"
                            )));
                        }
                    }
                }
                match (from, to) {
                    (Some(from), Some(to)) => Ok(Rate::Ramp { from, to }),
                    _ => Err(de::Error::custom("a ramp needs both `from` and `to`")),
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl Rate {
    /// Rate at the start and at the end.
    pub fn bounds(&self) -> (f64, f64) {
        match *self {
            Rate::Fixed(r) => (r, r),
            Rate::Ramp { from, to } => (from, to),
        }
    }

    /// The mean rate over the phase (a linear ramp's midpoint).
    pub fn mean(&self) -> f64 {
        let (a, b) = self.bounds();
        (a + b) / 2.0
    }

    /// The highest rate of the phase.
    pub fn peak(&self) -> f64 {
        let (a, b) = self.bounds();
        a.max(b)
    }

    /// This rate scaled by a stream's share.
    pub fn scaled(&self, k: f64) -> Rate {
        match *self {
            Rate::Fixed(r) => Rate::Fixed(r * k),
            Rate::Ramp { from, to } => Rate::Ramp {
                from: from * k,
                to: to * k,
            },
        }
    }
}
