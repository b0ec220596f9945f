//! HubSpot's per-app burst limit: at most `max` requests in any rolling `interval` (100 per
//! 10 s on most tiers), answered with 429 `TEN_SECONDLY_ROLLING` beyond it.
//!
//! A true rolling window (the arrival times of the counted requests), not a token bucket: a
//! client that spends its 100 requests at once is refused until the first of them is
//! `interval` old, which is what HubSpot's name for the policy promises.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// A rolling-window limit: `max` requests in any `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RollingWindow {
    /// Requests allowed in one window.
    pub max: u32,
    /// The window's length.
    pub interval: Duration,
}

impl RollingWindow {
    /// `max` requests in any `interval`.
    pub fn new(max: u32, interval: Duration) -> Self {
        Self {
            max: max.max(1),
            interval,
        }
    }
}

impl Default for RollingWindow {
    /// 100 requests per 10 s: HubSpot's limit for an app on the common tiers.
    fn default() -> Self {
        Self::new(100, Duration::from_secs(10))
    }
}

/// Where a request stands against the window: what the `X-HubSpot-RateLimit-*` headers say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Standing {
    pub(super) window: RollingWindow,
    /// Requests still allowed in the window, this one counted.
    pub(super) remaining: u32,
    /// Whether this request is over the limit (and not counted).
    pub(super) limited: bool,
}

/// The counted requests of the current window.
#[derive(Debug)]
pub(super) struct Window {
    limit: Option<RollingWindow>,
    arrivals: VecDeque<Instant>,
}

impl Window {
    pub(super) fn new(limit: Option<RollingWindow>) -> Self {
        Self {
            limit,
            arrivals: VecDeque::new(),
        }
    }

    /// Changes the limit (`None`: none), with an empty window.
    pub(super) fn set(&mut self, limit: Option<RollingWindow>) {
        self.limit = limit;
        self.arrivals.clear();
    }

    /// Counts a request arriving at `at` if the window has room; a limited one is not counted,
    /// so a client that keeps knocking gets in once the window has rolled on. `None` when no
    /// limit is set.
    pub(super) fn admit(&mut self, at: Instant) -> Option<Standing> {
        let window = self.limit?;
        self.forget_before(at, window);
        let used = u32::try_from(self.arrivals.len()).unwrap_or(u32::MAX);
        if used >= window.max {
            return Some(Standing {
                window,
                remaining: 0,
                limited: true,
            });
        }
        self.arrivals.push_back(at);
        Some(Standing {
            window,
            remaining: window.max - used - 1,
            limited: false,
        })
    }

    /// The standing at `at` without counting a request: for answers that never reached the
    /// limiter (a fault, a refused token).
    pub(super) fn peek(&mut self, at: Instant) -> Option<Standing> {
        let window = self.limit?;
        self.forget_before(at, window);
        let used = u32::try_from(self.arrivals.len()).unwrap_or(u32::MAX);
        Some(Standing {
            window,
            remaining: window.max.saturating_sub(used),
            limited: false,
        })
    }

    fn forget_before(&mut self, at: Instant, window: RollingWindow) {
        while let Some(first) = self.arrivals.front() {
            if at.saturating_duration_since(*first) >= window.interval {
                self.arrivals.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_down_then_limits_until_the_oldest_request_is_a_window_old() {
        let start = Instant::now();
        let mut window = Window::new(Some(RollingWindow::new(3, Duration::from_secs(10))));
        let remaining: Vec<_> = (0..3)
            .map(|i| window.admit(start + Duration::from_secs(i)).unwrap())
            .map(|s| (s.remaining, s.limited))
            .collect();
        assert_eq!(remaining, [(2, false), (1, false), (0, false)]);
        let refused = window.admit(start + Duration::from_secs(9)).unwrap();
        assert!(refused.limited);
        assert_eq!(refused.remaining, 0);
        // The first request is ten seconds old: one slot is free again, not three.
        let again = window.admit(start + Duration::from_secs(10)).unwrap();
        assert!(!again.limited);
        assert_eq!(again.remaining, 0);
        assert!(
            window
                .admit(start + Duration::from_secs(10))
                .unwrap()
                .limited
        );
    }

    #[test]
    fn peeking_counts_nothing_and_no_limit_means_no_standing() {
        let start = Instant::now();
        let mut window = Window::new(Some(RollingWindow::new(2, Duration::from_secs(10))));
        assert_eq!(window.peek(start).unwrap().remaining, 2);
        assert_eq!(window.admit(start).unwrap().remaining, 1);
        assert_eq!(window.peek(start).unwrap().remaining, 1);
        window.set(None);
        assert_eq!(window.admit(start), None);
        assert_eq!(window.peek(start), None);
    }
}
