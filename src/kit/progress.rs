//! Progress of long work on stderr: an indicatif bar or spinner on a terminal; where
//! stderr is a file, a pipe or a notebook (bars are hidden there) a plain line every
//! few seconds instead, so a log shows the run is alive.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// Seconds between two plain lines.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// A bar (known total) or a spinner; silent when built with `enabled = false`.
pub struct Progress {
    bar: Option<ProgressBar>,
    plain: Option<Plain>,
}

/// The plain-line reporter: a thread that prints the counters every few seconds.
struct Plain {
    stop: Arc<AtomicBool>,
    counts: Arc<[AtomicU64; 2]>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Progress {
    /// A bar over `unit`s (e.g. "sentences"), its length set by [`Progress::set`].
    pub fn bar(enabled: bool, message: String, unit: &'static str) -> Progress {
        Self::new(enabled, message, Some(unit))
    }

    /// A spinner for work of unknown length.
    pub fn spinner(enabled: bool, message: String) -> Progress {
        Self::new(enabled, message, None)
    }

    fn new(enabled: bool, message: String, unit: Option<&'static str>) -> Progress {
        let silent = Progress {
            bar: None,
            plain: None,
        };
        match (enabled, std::io::stderr().is_terminal()) {
            (false, _) => silent,
            (true, true) => Progress {
                bar: Some(terminal_bar(message, unit)),
                plain: None,
            },
            (true, false) => Progress {
                bar: None,
                plain: Some(Plain::start(message, unit)),
            },
        }
    }

    /// `done` of `total` units so far.
    pub fn set(&self, done: u64, total: u64) {
        if let Some(b) = &self.bar {
            b.set_length(total);
            b.set_position(done);
        }
        if let Some(p) = &self.plain {
            p.counts[0].store(done, Ordering::Relaxed);
            p.counts[1].store(total, Ordering::Relaxed);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if let Some(p) = &mut self.plain {
            p.stop.store(true, Ordering::Relaxed);
            if let Some(t) = p.thread.take() {
                let _ = t.join();
            }
        }
    }
}

fn terminal_bar(message: String, unit: Option<&'static str>) -> ProgressBar {
    let Some(unit) = unit else {
        let s = ProgressBar::new_spinner().with_message(message);
        s.enable_steady_tick(Duration::from_millis(120));
        return s;
    };
    let template = format!("{{msg}} [{{bar:30}}] {{pos}}/{{len}} {unit}, {{per_sec}}, eta {{eta}}");
    let style = ProgressStyle::with_template(&template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::new(0).with_message(message).with_style(style)
}

impl Plain {
    fn start(message: String, unit: Option<&'static str>) -> Plain {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let (s, c) = (stop.clone(), counts.clone());
        let thread = std::thread::spawn(move || {
            let start = Instant::now();
            let mut next = PLAIN_EVERY;
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let t = start.elapsed();
                if t < next {
                    continue;
                }
                next += PLAIN_EVERY;
                let (done, total) = (c[0].load(Ordering::Relaxed), c[1].load(Ordering::Relaxed));
                match unit {
                    Some(u) => {
                        eprintln!("{message}: {done}/{total} {u} ({:.0} s)", t.as_secs_f64())
                    }
                    None => eprintln!("{message}: running ({:.0} s)", t.as_secs_f64()),
                }
            }
        });
        Plain {
            stop,
            counts,
            thread: Some(thread),
        }
    }
}
