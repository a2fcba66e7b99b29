//! Wall-clock timing of whole passes.

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
}
