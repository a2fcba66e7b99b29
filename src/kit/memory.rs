//! The host's memory counters of this process, from `/proc/self/status` (Linux; `None`
//! elsewhere).

/// A `/proc/self/status` field (`VmHWM:`, `VmRSS:`) in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident set size of this process so far (`VmHWM`).
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Resident set size of this process now (`VmRSS`).
pub fn rss_bytes() -> Option<u64> {
    status_bytes("VmRSS:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_os = "linux")]
    fn rss_is_read_on_linux() {
        let (peak, now) = (peak_rss_bytes().unwrap(), rss_bytes().unwrap());
        assert!(peak >= now && now > 0);
    }
}
