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
