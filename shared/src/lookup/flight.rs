//! One fetch, made safe to share: bounded in time, a panic turned into an error, and its
//! failure reduced to something every waiter can have a copy of.
//!
//! The cache runs each fetch as a [`futures::future::Shared`] future that every lookup of the
//! key awaits, the one that started it included. Its output is cloned to each of them, so a
//! failure travels as its class and reason ([`Failure`]) rather than as the kit's
//! [`Error`], which is not `Clone`; each waiter gets an [`Error::Classified`] with the same
//! class, `Retry-After` and message, as the idempotency layer's waiting copies do.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt as _;

use super::{Resolution, Subject};
use crate::error::Error;
use crate::taxonomy::{Classification, Classify as _};

/// What a shared fetch hands every lookup waiting on it.
pub(super) type Landed<V> = Result<Resolution<V>, Failure>;

/// A failed fetch as every waiter receives it: the error's verdict and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Failure {
    classification: Classification,
    message: String,
}

impl Failure {
    fn of(error: &Error) -> Self {
        Failure {
            classification: error.classification(),
            message: error.to_string(),
        }
    }

    fn transient(message: String) -> Self {
        Failure {
            classification: Classification::transient(),
            message,
        }
    }

    /// The kit's error for one waiter: same class, delay and message.
    pub(super) fn into_error(self) -> Error {
        Error::classified(self.classification, self.message)
    }
}

/// Runs `fetch` with `timeout`, turning a timeout or a panic into a transient [`Failure`].
///
/// A panic in a fetch would otherwise poison the shared future and panic every waiter; as a
/// transient failure it is retried like a 5xx, which is what the batch runner does with a
/// panicking handler.
pub(super) async fn run<V>(
    subject: Subject,
    timeout: Duration,
    fetch: impl Future<Output = Result<Resolution<V>, Error>>,
) -> Landed<V> {
    match tokio::time::timeout(timeout, AssertUnwindSafe(fetch).catch_unwind()).await {
        Ok(Ok(Ok(resolution))) => Ok(resolution),
        Ok(Ok(Err(error))) => Err(Failure::of(&error)),
        Ok(Err(_panic)) => Err(Failure::transient(format!(
            "the {} lookup panicked",
            subject.thing()
        ))),
        Err(_elapsed) => Err(Failure::transient(format!(
            "the {} lookup took longer than {}",
            subject.thing(),
            humantime::format_duration(timeout)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::ErrorClass;

    const OWNER: Subject = Subject::new("owner", "owners", "the e-mail");

    #[tokio::test]
    async fn a_resolution_passes_through() {
        let landed = run(OWNER, Duration::from_secs(1), async {
            Ok(Resolution::Found(5))
        })
        .await;
        assert_eq!(landed, Ok(Resolution::Found(5)));
    }

    #[tokio::test]
    async fn an_error_keeps_its_class_delay_and_message() {
        let delay = Some(Duration::from_secs(9));
        let landed: Landed<u8> = run(OWNER, Duration::from_secs(1), async move {
            Err(Error::classified(
                Classification::throttled(delay),
                "HTTP 429: RATE_LIMIT",
            ))
        })
        .await;
        let error = landed.unwrap_err().into_error();
        assert_eq!(error.class(), ErrorClass::Throttled);
        assert_eq!(error.classification().retry_after, delay);
        assert_eq!(error.to_string(), "HTTP 429: RATE_LIMIT");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_past_its_timeout_is_transient() {
        let landed: Landed<u8> = run(OWNER, Duration::from_secs(30), async {
            tokio::time::sleep(Duration::from_secs(31)).await;
            Ok(Resolution::NotFound)
        })
        .await;
        let error = landed.unwrap_err().into_error();
        assert_eq!(error.class(), ErrorClass::Transient);
        assert_eq!(error.to_string(), "the owner lookup took longer than 30s");
    }

    #[tokio::test]
    async fn a_panicking_fetch_is_transient() {
        let landed: Landed<u8> = run(OWNER, Duration::from_secs(1), async {
            panic!("bug in the fetch")
        })
        .await;
        let error = landed.unwrap_err().into_error();
        assert_eq!(error.class(), ErrorClass::Transient);
        assert_eq!(error.to_string(), "the owner lookup panicked");
    }
}
