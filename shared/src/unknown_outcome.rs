//! Calls whose outcome is unknown, counted per delivery attempt.
//!
//! A call that timed out after the request went out, or whose connection broke before the
//! answer arrived, or whose API error says it may have partly succeeded (Slack's `fatal_error`,
//! a connector's [`BodyFailure::with_outcome_unknown`](crate::http::classify::BodyFailure::with_outcome_unknown)),
//! may have been carried out by the destination: Slack may have posted the
//! message whose `ok` never reached us. The retry that follows is right (the record must not be
//! lost), but at a destination without an idempotency key it may deliver a second time. Such a
//! delivery cannot be prevented from this side; it can be *known about*: the idempotency layer
//! counts these calls per attempt and marks a delivery that followed one as "possibly delivered
//! twice" in the ledger ([`crate::idempotency`]), so an operator finds it with `switchyard
//! trace` instead of hearing about it from a customer.
//!
//! The counter is a tokio task-local, scoped by [`count_within`] around one attempt (the
//! idempotency layer's call of the handler), and bumped by [`note`] from the one place every
//! outbound call passes: [`HttpClient`](crate::http::HttpClient), which knows which failures
//! leave the outcome open ([`HttpError::outcome_unknown`](crate::http::HttpError::outcome_unknown)).
//! A task-local rather than a value threaded through every handler's signature: the in-place
//! retries, the rate limiter and the circuit breaker sit between the attempt and the call, and
//! none of them (nor any integration's code) should have to carry it. Outside a scope, [`note`]
//! does nothing.
//!
//! A scope covers the future it wraps wherever that future is polled, so the records of a
//! batch run concurrently (`join_all`) in one task each keep their own count.

use std::cell::Cell;
use std::future::Future;

tokio::task_local! {
    static UNKNOWN: Cell<u32>;
}

/// Runs `attempt`, counting the calls in it whose outcome is unknown.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use switchyard::unknown_outcome::{count_within, note};
///
/// let (answer, unknown) = count_within(async {
///     note(); // what the HTTP client does when a call times out after sending
///     "retried, then delivered"
/// })
/// .await;
/// assert_eq!((answer, unknown), ("retried, then delivered", 1));
/// note(); // outside a scope: nothing to count, nothing happens
/// # }
/// ```
pub async fn count_within<F: Future>(attempt: F) -> (F::Output, u32) {
    UNKNOWN
        .scope(Cell::new(0), async move {
            let output = attempt.await;
            (output, UNKNOWN.with(Cell::get))
        })
        .await
}

/// Counts one call whose outcome is unknown in the current attempt, if there is one.
pub fn note() {
    // Outside a scope there is no attempt to count for: not an error.
    let _ = UNKNOWN.try_with(|count| count.set(count.get().saturating_add(1)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn each_concurrent_attempt_keeps_its_own_count() {
        let attempt = |calls: u32| async move {
            for _ in 0..calls {
                note();
                tokio::task::yield_now().await;
            }
            calls
        };
        let results = futures::future::join_all([
            count_within(attempt(0)),
            count_within(attempt(2)),
            count_within(attempt(5)),
        ])
        .await;
        assert_eq!(results, vec![(0, 0), (2, 2), (5, 5)]);
    }

    #[tokio::test]
    async fn nested_scopes_count_apart() {
        let (inner, outer) = count_within(async {
            note();
            let (_, inner) = count_within(async { note() }).await;
            inner
        })
        .await;
        assert_eq!((inner, outer), (1, 1));
    }
}
