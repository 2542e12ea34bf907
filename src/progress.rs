//! Live progress: an indicatif bar on a terminal, a plain line every few
//! seconds otherwise (CI logs), nothing with `--quiet`.

use crate::recorder::Recorder;
use indicatif::{ProgressBar, ProgressStyle};
use parking_lot::Mutex;
use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct State {
    label: String,
    length: Option<Duration>,
    started: Instant,
}

/// Handle of the progress display.
pub struct Progress {
    state: Arc<Mutex<State>>,
    bar: Option<ProgressBar>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the display.
pub fn spawn(recorder: Arc<Recorder>, quiet: bool) -> Progress {
    let state = Arc::new(Mutex::new(State {
        label: String::new(),
        length: None,
        started: Instant::now(),
    }));
    if quiet {
        return Progress {
            state,
            bar: None,
            task: None,
        };
    }
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let b = ProgressBar::new(100);
        b.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<40} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b
    });
    let (st, b) = (state.clone(), bar.clone());
    let task = tokio::spawn(async move {
        let period = if tty {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(5)
        };
        let mut iv = tokio::time::interval(period);
        iv.tick().await;
        loop {
            iv.tick().await;
            let live = recorder.live();
            let (label, length, elapsed) = {
                let s = st.lock();
                (s.label.clone(), s.length, s.started.elapsed())
            };
            let rate = live.ops as f64 / elapsed.as_secs_f64().max(1e-3);
            let msg = format!(
                "{:.0}s{} {rate:.0} ops/s, {} errors, {} throttled{}",
                elapsed.as_secs_f64(),
                length.map_or(String::new(), |l| format!("/{:.0}s", l.as_secs_f64())),
                live.errors,
                live.throttled,
                if live.late > 0 {
                    format!(", BEHIND: {} arrivals issued late", live.late)
                } else {
                    String::new()
                }
            );
            match &b {
                Some(b) => {
                    b.set_prefix(label);
                    if let Some(l) = length {
                        b.set_position(
                            (100.0 * elapsed.as_secs_f64() / l.as_secs_f64().max(1e-3)).min(100.0)
                                as u64,
                        );
                    }
                    b.set_message(msg);
                }
                None => eprintln!("[{label}] {msg}"),
            }
        }
    });
    Progress {
        state,
        bar,
        task: Some(task),
    }
}

impl Progress {
    /// Names the current step.
    pub fn set_label(&self, label: String) {
        let mut s = self.state.lock();
        s.label = label;
        s.started = Instant::now();
    }

    /// Sets the expected length of the current step.
    pub fn set_length(&self, length: Option<Duration>) {
        let mut s = self.state.lock();
        s.length = length;
        s.started = Instant::now();
    }

    /// Stops the display.
    pub fn finish(&self) {
        if let Some(t) = &self.task {
            t.abort();
        }
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
