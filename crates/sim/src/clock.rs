//! Time source for the simulator: real by default, manual in tests so that
//! Bucket Key lifetimes and quota windows can be stepped without sleeping.

use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A monotonic clock measured from the simulator's start.
#[derive(Clone, Debug)]
pub enum Clock {
    /// Wall time since `start`.
    Real(Instant),
    /// Time advanced explicitly with [`Clock::advance`].
    Manual(Arc<Mutex<Duration>>),
}

impl Clock {
    /// A real clock starting now.
    pub fn real() -> Self {
        Clock::Real(Instant::now())
    }

    /// A manual clock at zero.
    pub fn manual() -> Self {
        Clock::Manual(Arc::new(Mutex::new(Duration::ZERO)))
    }

    /// Time elapsed since the clock started.
    pub fn now(&self) -> Duration {
        match self {
            Clock::Real(start) => start.elapsed(),
            Clock::Manual(t) => *t.lock(),
        }
    }

    /// Moves a manual clock forward; a real clock ignores it.
    pub fn advance(&self, by: Duration) {
        if let Clock::Manual(t) = self {
            *t.lock() += by;
        }
    }
}
