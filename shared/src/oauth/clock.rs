//! The time the provider reads: the monotonic clock, or one a test moves by hand.
//!
//! The token cache's timing (renew shortly before expiry, at most one forced renewal a minute)
//! is tested against a real local HTTP token endpoint. Tokio's paused clock cannot be used
//! there: a paused runtime that waits on a socket jumps to its next timer, which is the HTTP
//! client's own timeout, so the exchange would time out at random. A clock of our own keeps the
//! network on real time and the cache's decisions on the test's.

use std::time::Instant;

/// Where [`super::TokenProvider`] reads "now".
#[derive(Clone, Default)]
pub(super) enum Clock {
    /// `Instant::now()`.
    #[default]
    System,
    /// A time that moves only when the test says so.
    #[cfg(test)]
    Manual(std::sync::Arc<std::sync::Mutex<Instant>>),
}

impl Clock {
    pub(super) fn now(&self) -> Instant {
        match self {
            Clock::System => Instant::now(),
            #[cfg(test)]
            Clock::Manual(now) => *now.lock().unwrap(),
        }
    }

    /// A clock standing still at the moment of the call.
    #[cfg(test)]
    pub(super) fn manual() -> Self {
        Clock::Manual(std::sync::Arc::new(std::sync::Mutex::new(Instant::now())))
    }

    /// Moves a manual clock forward.
    #[cfg(test)]
    pub(super) fn advance(&self, by: std::time::Duration) {
        if let Clock::Manual(now) = self {
            *now.lock().unwrap() += by;
        }
    }
}
