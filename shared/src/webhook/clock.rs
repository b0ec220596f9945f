//! Where "now" comes from when a signed timestamp is checked: the system in production, a fixed
//! second in tests and replays.

use std::time::{SystemTime, UNIX_EPOCH};

/// Where "now" comes from when checking a signed timestamp.
///
/// Injected rather than read from the system so the tolerance edges (exactly 300 s accepted,
/// 301 s refused) can be tested.
pub trait Clock: Send + Sync {
    /// The current time in unix seconds.
    fn unix_now(&self) -> i64;
}

/// The system clock: what receivers use in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn unix_now(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => i64::try_from(e.duration().as_secs()).map_or(i64::MIN, |s| -s),
        }
    }
}

/// A clock stopped at a given unix second: for tests and for replaying a recorded request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn unix_now(&self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.unix_now() > 1_577_836_800);
    }

    #[test]
    fn fixed_clock_stays_put() {
        assert_eq!(FixedClock(42).unix_now(), 42);
    }
}
