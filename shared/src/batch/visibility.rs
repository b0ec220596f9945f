//! How long a record handed back to SQS stays invisible before it is redelivered.
//!
//! Lambda's partial batch response does not touch a failed record's visibility: it reappears
//! when the queue's visibility timeout runs out, however hard the destination is throttling. The
//! runner instead sets it per record: the server's `Retry-After` when it gave one, else the kit's
//! [`Backoff`] keyed by the record's `ApproximateReceiveCount`, so redelivery follows the same
//! schedule as in-invocation retries. Always capped at SQS's 12-hour maximum.

use std::time::Duration;

use aws_lambda_events::sqs::SqsMessage;

use crate::retry::Backoff;
use crate::taxonomy::Classification;

/// SQS's limit on a visibility timeout: 12 hours.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

/// How many times SQS has delivered this record (`ApproximateReceiveCount`), at least 1.
///
/// A missing or garbled attribute counts as the first delivery: the shortest backoff is the safe
/// guess, and the queue's redrive policy still bounds the retries.
pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1)
}

/// The visibility timeout for a record handed back after a retryable failure, in whole seconds
/// as SQS wants it: `retry_after` if the server gave one (rounded up, so we never come back
/// early), else a jittered backoff for this delivery, capped by `max` and by [`MAX_VISIBILITY`].
pub fn visibility_timeout(
    classification: Classification,
    receive_count: u32,
    backoff: &Backoff,
    max: Duration,
) -> i32 {
    let delay = classification
        .retry_after
        .unwrap_or_else(|| backoff.delay(receive_count));
    let capped = delay.min(max).min(MAX_VISIBILITY);
    let secs = capped.as_secs() + u64::from(capped.subsec_nanos() > 0);
    // At most 43 200 after the cap, so always fits; the fallback is for the type system only.
    i32::try_from(secs.min(MAX_VISIBILITY.as_secs())).unwrap_or(i32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn record_with_count(count: Option<&str>) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.attributes = count
            .map(|c| HashMap::from([("ApproximateReceiveCount".to_string(), c.to_string())]))
            .unwrap_or_default();
        record
    }

    #[test]
    fn receive_count_defaults_to_one() {
        assert_eq!(receive_count(&record_with_count(Some("3"))), 3);
        assert_eq!(receive_count(&record_with_count(Some("0"))), 1);
        assert_eq!(receive_count(&record_with_count(Some("x"))), 1);
        assert_eq!(receive_count(&record_with_count(None)), 1);
    }

    #[test]
    fn retry_after_wins_and_rounds_up() {
        let b = Backoff::default();
        let c = Classification::throttled(Some(Duration::from_millis(30_001)));
        assert_eq!(visibility_timeout(c, 5, &b, MAX_VISIBILITY), 31);
        let zero = Classification::transient().with_retry_after(Some(Duration::ZERO));
        assert_eq!(visibility_timeout(zero, 5, &b, MAX_VISIBILITY), 0);
    }

    #[test]
    fn without_retry_after_the_backoff_for_this_delivery_is_used() {
        let b = Backoff {
            base: Duration::from_secs(10),
            max: Duration::from_secs(3600),
        };
        for _ in 0..50 {
            // 3rd delivery: ceiling 40 s, jitter in [20, 40].
            let v = visibility_timeout(Classification::transient(), 3, &b, MAX_VISIBILITY);
            assert!((20..=40).contains(&v), "{v}");
        }
    }

    #[test]
    fn capped_by_the_configured_max_and_by_twelve_hours() {
        let b = Backoff::default();
        let day = Classification::throttled(Some(Duration::from_secs(86_400)));
        assert_eq!(visibility_timeout(day, 1, &b, MAX_VISIBILITY), 43_200);
        assert_eq!(
            visibility_timeout(day, 1, &b, Duration::from_secs(3600)),
            3600
        );
        assert_eq!(visibility_timeout(day, 1, &b, Duration::MAX), 43_200);
    }
}
