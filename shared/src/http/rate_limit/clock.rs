//! [`TokioClock`]: governor's GCRA read off tokio's clock, the clock the limiter sleeps on.

use std::ops::Add;
use std::time::Duration;

use governor::clock::{Clock, Reference};
use governor::nanos::Nanos;
use tokio::time::Instant;

/// A [`governor::clock::Clock`] that reads [`tokio::time::Instant::now`].
///
/// Why not governor's default `QuantaClock`: the limiter measures a wait with governor's clock
/// and sleeps it with tokio's timer, and one clock for both means a sleep of exactly the wait
/// it was told always lands on or after the permit (no drift between two time sources to
/// absorb with an extra wake-up). It also costs nothing at cold start, where `quanta`
/// calibrates its TSC reading against the OS clock on first use (at least 500 rounds, up to
/// 200 ms), and it follows tokio's paused test clock, so the limiter's tests run in virtual
/// time. Reading the clock costs a few tens of nanoseconds more than quanta's, next to an HTTP
/// call of milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct TokioClock;

/// A reading of [`TokioClock`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct TokioInstant(pub(super) Instant);

impl Clock for TokioClock {
    type Instant = TokioInstant;

    fn now(&self) -> TokioInstant {
        TokioInstant(Instant::now())
    }
}

impl Add<Nanos> for TokioInstant {
    type Output = TokioInstant;

    fn add(self, other: Nanos) -> TokioInstant {
        // Saturates rather than panics: governor only adds a bucket's worth to its start.
        let later = self.0.checked_add(Duration::from(other));
        TokioInstant(later.unwrap_or(self.0))
    }
}

impl Reference for TokioInstant {
    fn duration_since(&self, earlier: Self) -> Nanos {
        let nanos = self.0.saturating_duration_since(earlier.0).as_nanos();
        Nanos::new(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    fn saturating_sub(&self, duration: Nanos) -> Self {
        TokioInstant(self.0.checked_sub(duration.into()).unwrap_or(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn follows_tokios_paused_clock() {
        let before = TokioClock.now();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let after = TokioClock.now();
        assert_eq!(
            after.duration_since(before),
            Nanos::from(Duration::from_millis(1500))
        );
        assert_eq!(before.duration_since(after), Nanos::new(0), "saturates");
        assert_eq!(
            after.saturating_sub(Nanos::from(Duration::from_millis(1500))),
            before
        );
        assert_eq!(before + Nanos::from(Duration::from_millis(1500)), after);
    }
}
