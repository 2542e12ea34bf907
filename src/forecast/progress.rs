//! Progress of reading the logs, on stderr as `run` shows its own: an indicatif bar on
//! a terminal, a plain line every 5 seconds otherwise (CI logs), and one closing line
//! of what was read; nothing with `--quiet`.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What the readers have done so far, updated after each file.
#[derive(Debug, Default)]
pub struct Counters {
    /// Files read.
    pub files: AtomicU64,
    /// Bytes of those files (as stored: compressed when gzip).
    pub bytes: AtomicU64,
    /// Records read.
    pub records: AtomicU64,
    /// Records not understood.
    pub malformed: AtomicU64,
    /// Records delivered twice, removed.
    pub duplicates: AtomicU64,
}

impl Counters {
    /// Adds the counts of one file, or of one part of a file read in parts (`file`:
    /// this part counts the file itself).
    pub fn file_done(&self, file: bool, bytes: u64, records: u64, malformed: u64, duplicates: u64) {
        self.files.fetch_add(u64::from(file), Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.records.fetch_add(records, Ordering::Relaxed);
        self.malformed.fetch_add(malformed, Ordering::Relaxed);
        self.duplicates.fetch_add(duplicates, Ordering::Relaxed);
    }

    fn line(&self, total: usize, elapsed: Duration) -> String {
        let records = self.records.load(Ordering::Relaxed);
        let secs = elapsed.as_secs_f64().max(1e-3);
        format!(
            "read {} of {total} files, {}, {records} records ({:.0} records/s), {} malformed, {} duplicates",
            self.files.load(Ordering::Relaxed),
            crate::units::format_size(self.bytes.load(Ordering::Relaxed)),
            records as f64 / secs,
            self.malformed.load(Ordering::Relaxed),
            self.duplicates.load(Ordering::Relaxed),
        )
    }
}

/// The display; [`Display::finish`] stops it and prints the closing line.
pub struct Display {
    counters: Arc<Counters>,
    total: usize,
    started: Instant,
    stop: Option<mpsc::Sender<()>>,
    ticker: Option<std::thread::JoinHandle<()>>,
    bar: Option<ProgressBar>,
}

/// Starts showing the progress of reading `total` files.
pub fn start(counters: Arc<Counters>, total: usize, quiet: bool) -> Display {
    let started = Instant::now();
    if quiet {
        return Display {
            counters,
            total,
            started,
            stop: None,
            ticker: None,
            bar: None,
        };
    }
    let tty = std::io::stderr().is_terminal();
    let bar = tty.then(|| {
        let b = ProgressBar::new(total as u64);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{bar:30}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        b
    });
    let (tx, rx) = mpsc::channel::<()>();
    let (c, b) = (counters.clone(), bar.clone());
    let period = if tty {
        Duration::from_millis(250)
    } else {
        Duration::from_secs(5)
    };
    // Wakes every period until told to stop (or the display is dropped).
    let ticker = std::thread::spawn(move || {
        while let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(period) {
            let line = c.line(total, started.elapsed());
            match &b {
                Some(b) => {
                    b.set_position(c.files.load(Ordering::Relaxed));
                    b.set_message(line);
                }
                None => eprintln!("{line}"),
            }
        }
    });
    Display {
        counters,
        total,
        started,
        stop: Some(tx),
        ticker: Some(ticker),
        bar,
    }
}

impl Display {
    /// Stops the display and says what was read (unless quiet).
    pub fn finish(mut self) {
        let Some(stop) = self.stop.take() else {
            return;
        };
        let _ = stop.send(());
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
        }
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        eprintln!(
            "{} in {:.1} s",
            self.counters.line(self.total, self.started.elapsed()),
            self.started.elapsed().as_secs_f64()
        );
    }
}
