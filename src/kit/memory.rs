//! The host's memory counters of this process, from `/proc/self/status` (Linux; `None`
//! elsewhere).

/// Resident-set counters read together from one `/proc/self/status` snapshot, so that
/// `peak >= now` holds (two separate reads can see the process grow in between).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rss {
    /// Peak resident set size so far (`VmHWM`), bytes.
    pub peak: u64,
    /// Resident set size now (`VmRSS`), bytes.
    pub now: u64,
}

/// A `kB` field (`VmHWM:`, `VmRSS:`) of a `/proc/self/status` text, in bytes.
fn field_bytes(status: &str, field: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Both counters from one read of `/proc/self/status`.
pub fn rss() -> Option<Rss> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    Some(Rss {
        peak: field_bytes(&status, "VmHWM:")?,
        now: field_bytes(&status, "VmRSS:")?,
    })
}

/// Peak resident set size of this process so far (`VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    rss().map(|r| r.peak)
}

/// Resident set size of this process now (`VmRSS`).
pub fn rss_bytes() -> Option<u64> {
    rss().map(|r| r.now)
}

/// Anonymous resident memory now (`RssAnon`: heap, and device buffers on a CPU adapter;
/// not the pages of memory-mapped files).
pub fn anon_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    field_bytes(&status, "RssAnon:")
}

/// The high-water mark of [`anon_rss_bytes`] while it lives: a thread samples it every
/// 2 ms (the kernel keeps no high-water mark of anonymous memory alone; `VmHWM` also
/// counts mapped file pages).
#[cfg(feature = "native")]
pub struct AnonPeak {
    peak: std::sync::Arc<std::sync::atomic::AtomicU64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(feature = "native")]
impl AnonPeak {
    pub fn start() -> AnonPeak {
        use std::sync::atomic::Ordering::Relaxed;
        let peak = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, s) = (peak.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Relaxed) {
                p.fetch_max(anon_rss_bytes().unwrap_or(0), Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        });
        AnonPeak {
            peak,
            stop,
            thread: Some(thread),
        }
    }

    /// The highest sample so far.
    pub fn peak(&self) -> u64 {
        self.peak.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stops sampling; the high-water mark.
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.peak().max(anon_rss_bytes().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_parsed_in_bytes() {
        let text = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(field_bytes(text, "VmHWM:"), Some(2 << 20));
        assert_eq!(field_bytes(text, "VmRSS:"), Some(1 << 20));
        assert_eq!(field_bytes(text, "VmSwap:"), None);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn rss_is_read_on_linux() {
        // One snapshot: the kernel reports VmHWM as max(high-water mark, current RSS).
        let r = rss().unwrap();
        assert!(r.peak >= r.now && r.now > 0, "{r:?}");
    }
}
