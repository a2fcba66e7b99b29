//! Wall-clock timing of whole passes and the host's memory counters.

use std::time::Instant;

use crate::Result;

/// How many passes to run and time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeats {
    /// Untimed passes first (pipeline compilation, caches, allocations).
    pub warmup: usize,
    /// Timed passes; the report keeps each and uses their median.
    pub timed: usize,
}

/// Runs `pass` `warmup` times untimed, then `timed` times; returns each timed duration.
pub fn time_passes(reps: Repeats, mut pass: impl FnMut() -> Result<()>) -> Result<Vec<f64>> {
    for _ in 0..reps.warmup {
        pass()?;
    }
    let mut seconds = Vec::with_capacity(reps.timed);
    for _ in 0..reps.timed.max(1) {
        let t0 = Instant::now();
        pass()?;
        seconds.push(t0.elapsed().as_secs_f64());
    }
    Ok(seconds)
}

/// A `/proc/self/status` field in bytes (`VmHWM`: peak resident set; `VmRSS`: now).
fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Peak resident set size of this process so far (0 where /proc is missing).
pub fn peak_rss_bytes() -> u64 {
    status_bytes("VmHWM:")
}

/// Resident set size of this process now.
pub fn rss_bytes() -> u64 {
    status_bytes("VmRSS:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_passes_are_not_timed() {
        let mut calls = 0;
        let secs = time_passes(
            Repeats {
                warmup: 2,
                timed: 3,
            },
            || {
                calls += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!((calls, secs.len()), (5, 3));
    }

    #[test]
    fn rss_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(peak_rss_bytes() >= rss_bytes() && rss_bytes() > 0);
        }
    }
}
