//! Retries inside one invocation: jittered exponential backoff that honours `Retry-After` and
//! never runs past the Lambda deadline; and the [`Backoff`] schedule it shares with SQS
//! redelivery.
//!
//! [`retry`] runs an operation again only while that can help and there is time for it:
//!
//! - only throttled and transient failures ([`ErrorClass::is_retryable`]) are retried;
//!   permanent and auth failures return at once (an `Auth` failure needs
//!   a secret refresh first, which is the caller's business);
//! - the pause is the [`Backoff`] delay, raised to the server's `Retry-After` when it gave one;
//! - it gives up, returning the last error, when the retries are spent, when the server asks
//!   for a pause longer than [`RetryPolicy::max_wait`], or when the pause plus
//!   [`RetryPolicy::deadline_margin`] would end past the invocation's deadline. The batch runner
//!   then hands the record back to SQS with the error's delay, which is the cheaper way to wait.
//!
//! # Why backon
//!
//! The loop is [`backon`]'s `Retryable`: a small, well-kept crate (1.x, regular releases) with
//! exactly the hooks this needs and nothing more: `when` (which errors to retry), `adjust` (the
//! hook for a server's `Retry-After` and for the deadline: it may change or veto each pause),
//! `notify` (a log line per retry), and tokio's sleep, so tests run on paused virtual time.
//! Hand-rolling the loop would be short, but every hand-rolled loop gets the edge cases (last
//! error vs. first, a pause after the final try) subtly different.
//!
//! Its own `ExponentialBuilder` is not used as the schedule: the kit's [`Backoff`] is, for two
//! reasons. The same schedule must drive SQS visibility timeouts, so a failing destination sees
//! the same pressure in and out of an invocation. And backon's jitter, built without its `std`
//! feature (as here, to keep the dependency lean), draws from a fixed seed: every Lambda instance
//! would jitter identically, which defeats jitter. [`Backoff::delay`] uses the process-seeded
//! `fastrand`.
//!
//! [`ErrorClass::is_retryable`]: crate::ErrorClass::is_retryable

use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

use backon::Retryable;

use crate::taxonomy::{Classification, Classify};

/// An exponential backoff schedule with full jitter.
///
/// The same schedule drives two things: the pause between tries inside one invocation, and the
/// SQS visibility timeout of a record handed back for redelivery (keyed by its
/// `ApproximateReceiveCount`), so a failing destination sees the same gentle pressure either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first retry's delay.
    pub base: Duration,
    /// No delay is ever longer than this.
    pub max: Duration,
}

impl Default for Backoff {
    /// 1 s doubling up to 15 minutes: the longest delay is SQS's own cap on a visibility change
    /// that is still useful inside the default 4-day retention.
    fn default() -> Self {
        Self {
            base: Duration::from_secs(1),
            max: Duration::from_secs(15 * 60),
        }
    }
}

impl Backoff {
    /// The largest delay for the `attempt`-th retry (1-based): `base * 2^(attempt-1)`, capped.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(32);
        self.base
            .checked_mul(1u32 << exp.min(31))
            .map_or(self.max, |d| d.min(self.max))
    }

    /// A delay for the `attempt`-th retry with full jitter: uniform in
    /// `[ceiling/2, ceiling]`, so retries of many records spread out but never collapse to zero.
    pub fn delay(&self, attempt: u32) -> Duration {
        let ceiling = self.ceiling(attempt);
        let half = ceiling / 2;
        let spread = ceiling.saturating_sub(half).as_millis() as u64;
        half + Duration::from_millis(fastrand::u64(0..=spread))
    }
}

/// How [`retry`] retries inside one invocation.
///
/// Whether to retry (the error's class), how long to wait (the schedule, the server's delay) and
/// how much time there is (the deadline) are decided separately, as in tower's retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The pause schedule before the server's delay is applied.
    pub backoff: Backoff,
    /// Retries after the first try (so at most `max_retries + 1` calls).
    pub max_retries: u32,
    /// The longest single pause worth taking inside the invocation. A server asking for longer
    /// ends the loop: the record goes back to SQS with that delay instead of holding a Lambda
    /// (and its bill) idle.
    pub max_wait: Duration,
    /// Time kept free before the deadline for the next try and for reporting the batch
    /// response. Keep it at least as long as one call may take (the HTTP client's total
    /// timeout): a try cut off by the Lambda timeout loses the whole batch's outcome.
    pub deadline_margin: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, pauses from 0.5 s doubling up to 5 s (jittered), server delays up to 30 s, and
    /// 10 s kept free before the deadline (the HTTP client's default total timeout).
    fn default() -> Self {
        Self {
            backoff: Backoff {
                base: Duration::from_millis(500),
                max: Duration::from_secs(5),
            },
            max_retries: 3,
            max_wait: Duration::from_secs(30),
            deadline_margin: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// The jittered pauses before each retry, from the [`Backoff`] schedule (one per retry).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + Send + Sync + Unpin + use<> {
        let backoff = self.backoff;
        (1..=self.max_retries).map(move |attempt| backoff.delay(attempt))
    }

    /// The pause before the next try after a failure classified `failure`, given the schedule's
    /// `scheduled` pause, or `None` to stop and return the error.
    ///
    /// The pause is the larger of the schedule's and the server's `Retry-After` (never sooner
    /// than the server asked, never sooner than our own backoff). It is refused when longer
    /// than [`RetryPolicy::max_wait`], or when it plus [`RetryPolicy::deadline_margin`] would
    /// end after `deadline`.
    pub fn pause(
        &self,
        failure: Classification,
        scheduled: Duration,
        now: Instant,
        deadline: Option<Instant>,
    ) -> Option<Duration> {
        if !failure.class.is_retryable() {
            return None;
        }
        let pause = failure.retry_after.map_or(scheduled, |r| r.max(scheduled));
        if pause > self.max_wait {
            return None;
        }
        if let Some(deadline) = deadline {
            let resume = now.checked_add(pause.saturating_add(self.deadline_margin))?;
            if resume > deadline {
                return None;
            }
        }
        Some(pause)
    }
}

/// Runs `op` until it succeeds, fails in a way a retry cannot fix, or there is no more time,
/// and returns its last result.
///
/// See the [module documentation](self) for the rules. `deadline` is the invocation's end (see
/// [`invocation_deadline`]); `None` means no deadline (the retries and `max_wait` still bound
/// the loop). The pauses are tokio sleeps.
///
/// ```
/// use switchyard::retry::{retry, RetryPolicy};
/// use switchyard::Error;
///
/// # async fn demo() -> Result<(), Error> {
/// let policy = RetryPolicy::default();
/// let reply = retry(&policy, None, || async { Ok::<_, Error>("sent") }).await?;
/// # assert_eq!(reply, "sent");
/// # Ok(())
/// # }
/// ```
pub async fn retry<T, E, F, Fut>(
    policy: &RetryPolicy,
    deadline: Option<Instant>,
    op: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
    E: Classify + fmt::Display,
{
    let policy = *policy;
    let mut retries = 0u32;
    op.retry(policy.delays())
        .when(|e: &E| e.class().is_retryable())
        .adjust(move |e: &E, scheduled: Option<Duration>| {
            let failure = e.classification();
            let Some(scheduled) = scheduled else {
                tracing::debug!(class = %failure.class, "retries spent, giving up");
                return None;
            };
            let now = tokio::time::Instant::now().into_std();
            let pause = policy.pause(failure, scheduled, now, deadline);
            if pause.is_none() {
                tracing::debug!(
                    class = %failure.class,
                    retry_after_ms = failure.retry_after.map(|d| d.as_millis() as u64),
                    "no time to wait for a retry, giving up"
                );
            }
            pause
        })
        .notify(|e: &E, pause: Duration| {
            retries += 1;
            tracing::warn!(
                retry = retries,
                class = %e.class(),
                pause_ms = pause.as_millis() as u64,
                error = %e,
                "call failed, retrying"
            );
        })
        .await
}

/// The deadline of the Lambda invocation `ctx` belongs to, as an [`Instant`] for [`retry`];
/// `None` when the context carries none (`deadline == 0`, as in a default test context).
pub fn invocation_deadline(ctx: &lambda_runtime::Context) -> Option<Instant> {
    deadline_from_epoch_millis(ctx.deadline, SystemTime::now(), Instant::now())
}

/// Deadlines below this many milliseconds (10^12: 2001-09-09 as an epoch time) are durations
/// from now, not epoch times: see [`deadline_from_epoch_millis`].
pub const RELATIVE_DEADLINE_LIMIT_MS: u64 = 1_000_000_000_000;

/// Converts a wall-clock deadline in Unix epoch milliseconds (Lambda's
/// `lambda-runtime-deadline-ms`) to an [`Instant`], given the same moment on both clocks.
///
/// A deadline already passed maps to `now_instant` (no retry will fit); `0` and deadlines too far
/// ahead to represent map to `None` (no deadline).
///
/// A value below [`RELATIVE_DEADLINE_LIMIT_MS`] cannot be a Lambda deadline (it would fall
/// before September 2001) and is read as the time left from now: `cargo lambda watch` (1.9)
/// sends its timeout that way (`lambda-runtime-deadline-ms: 600000`), and read as an epoch
/// time it would make every invocation look already past its deadline, so a deliverer run
/// locally would hand back every record unstarted.
pub fn deadline_from_epoch_millis(
    epoch_millis: u64,
    now: SystemTime,
    now_instant: Instant,
) -> Option<Instant> {
    if epoch_millis == 0 {
        return None;
    }
    if epoch_millis < RELATIVE_DEADLINE_LIMIT_MS {
        return now_instant.checked_add(Duration::from_millis(epoch_millis));
    }
    let at = SystemTime::UNIX_EPOCH.checked_add(Duration::from_millis(epoch_millis))?;
    let remaining = at.duration_since(now).unwrap_or(Duration::ZERO);
    now_instant.checked_add(remaining)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::ErrorClass;

    #[test]
    fn ceiling_doubles_and_caps() {
        let b = Backoff {
            base: Duration::from_secs(1),
            max: Duration::from_secs(60),
        };
        assert_eq!(b.ceiling(0), Duration::from_secs(1));
        assert_eq!(b.ceiling(1), Duration::from_secs(1));
        assert_eq!(b.ceiling(2), Duration::from_secs(2));
        assert_eq!(b.ceiling(6), Duration::from_secs(32));
        assert_eq!(b.ceiling(7), Duration::from_secs(60));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(60));
    }

    #[test]
    fn jittered_delay_stays_within_half_and_full_ceiling() {
        let b = Backoff::default();
        for attempt in 1..20 {
            for _ in 0..50 {
                let d = b.delay(attempt);
                let c = b.ceiling(attempt);
                assert!(
                    d >= c / 2 && d <= c,
                    "attempt {attempt}: {d:?} not in [{:?}, {c:?}]",
                    c / 2
                );
            }
        }
    }

    // The retry loop.

    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A failure that says which call it was.
    #[derive(Debug, PartialEq)]
    struct Failed {
        call: u32,
        classification: Classification,
    }

    impl fmt::Display for Failed {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "call {} failed", self.call)
        }
    }

    impl Classify for Failed {
        fn classification(&self) -> Classification {
            self.classification
        }
    }

    fn quick() -> RetryPolicy {
        RetryPolicy {
            backoff: Backoff {
                base: Duration::from_millis(10),
                max: Duration::from_millis(100),
            },
            max_retries: 3,
            max_wait: Duration::from_secs(30),
            deadline_margin: Duration::ZERO,
        }
    }

    /// An operation failing with `classification` on every call before `succeed_on` (1-based),
    /// and its call counter.
    fn failing(
        classification: Classification,
        succeed_on: u32,
    ) -> (
        Arc<AtomicU32>,
        impl FnMut() -> std::future::Ready<Result<u32, Failed>>,
    ) {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let op = move || {
            let call = counter.fetch_add(1, Ordering::SeqCst) + 1;
            std::future::ready(if call >= succeed_on {
                Ok(call)
            } else {
                Err(Failed {
                    call,
                    classification,
                })
            })
        };
        (calls, op)
    }

    #[tokio::test(start_paused = true)]
    async fn transient_failures_are_retried_up_to_the_limit_then_the_last_error_returns() {
        let (calls, op) = failing(Classification::transient(), u32::MAX);
        let err = retry(&quick(), None, op).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 4, "1 try + 3 retries");
        assert_eq!(err.call, 4, "the last error, not the first");
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_that_succeeds_returns_the_value() {
        let (calls, op) = failing(Classification::throttled(None), 3);
        assert_eq!(retry(&quick(), None, op).await, Ok(3));
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn permanent_and_auth_failures_return_at_once() {
        for classification in [Classification::permanent(), Classification::auth()] {
            let (calls, op) = failing(classification, u32::MAX);
            let started = tokio::time::Instant::now();
            let err = retry(&quick(), None, op).await.unwrap_err();
            assert_eq!(calls.load(Ordering::SeqCst), 1, "{classification:?}");
            assert_eq!(err.call, 1);
            assert_eq!(started.elapsed(), Duration::ZERO, "no pause");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn the_servers_retry_after_is_honoured() {
        let (calls, op) = failing(Classification::throttled(Some(Duration::from_secs(5))), 2);
        let started = tokio::time::Instant::now();
        assert_eq!(retry(&quick(), None, op).await, Ok(2));
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(5), "waited only {waited:?}");
        assert!(waited < Duration::from_secs(6), "waited {waited:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn no_pause_runs_past_the_deadline() {
        let deadline = tokio::time::Instant::now().into_std() + Duration::from_secs(2);

        let (calls, op) = failing(Classification::throttled(Some(Duration::from_secs(5))), 2);
        let started = tokio::time::Instant::now();
        let err = retry(&quick(), Some(deadline), op).await.unwrap_err();
        assert_eq!(started.elapsed(), Duration::ZERO, "no sleep happened");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(err.classification.retry_after, Some(Duration::from_secs(5)));

        // The same deadline leaves room for a 1 s pause.
        let (calls, op) = failing(Classification::throttled(Some(Duration::from_secs(1))), 2);
        assert_eq!(retry(&quick(), Some(deadline), op).await, Ok(2));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_deadline_margin_is_kept_free() {
        let deadline = tokio::time::Instant::now().into_std() + Duration::from_secs(12);
        let policy = RetryPolicy {
            deadline_margin: Duration::from_secs(10),
            ..quick()
        };
        let (calls, op) = failing(Classification::throttled(Some(Duration::from_secs(3))), 2);
        assert!(retry(&policy, Some(deadline), op).await.is_err());
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "3 s + 10 s margin > 12 s left"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_server_delay_longer_than_max_wait_is_left_to_sqs() {
        let (calls, op) = failing(Classification::throttled(Some(Duration::from_secs(60))), 2);
        let err = retry(&quick(), None, op).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(
            err.classification.retry_after,
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn the_schedule_has_one_bounded_jittered_pause_per_retry() {
        let policy = RetryPolicy::default();
        for _ in 0..50 {
            let delays: Vec<_> = policy.delays().collect();
            assert_eq!(delays.len(), 3);
            for (i, d) in delays.iter().enumerate() {
                let ceiling = policy.backoff.ceiling(i as u32 + 1);
                assert!(*d >= ceiling / 2 && *d <= ceiling, "retry {}: {d:?}", i + 1);
            }
            assert!(delays.iter().all(|d| *d <= policy.backoff.max));
        }
    }

    #[test]
    fn the_pause_is_the_larger_of_backoff_and_retry_after() {
        let policy = quick();
        let now = Instant::now();
        let second = Duration::from_secs(1);
        let ms = Duration::from_millis(300);
        assert_eq!(
            policy.pause(Classification::throttled(Some(second)), ms, now, None),
            Some(second)
        );
        assert_eq!(
            policy.pause(
                Classification::throttled(Some(Duration::ZERO)),
                ms,
                now,
                None
            ),
            Some(ms)
        );
        assert_eq!(
            policy.pause(Classification::transient(), ms, now, None),
            Some(ms)
        );
        assert_eq!(
            policy.pause(Classification::permanent(), ms, now, None),
            None
        );
        assert_eq!(policy.pause(Classification::auth(), ms, now, None), None);
        // Exactly at the deadline still fits; a millisecond more does not.
        assert_eq!(
            policy.pause(Classification::transient(), ms, now, Some(now + ms)),
            Some(ms)
        );
        assert_eq!(
            policy.pause(
                Classification::transient(),
                ms,
                now,
                Some(now + ms - Duration::from_millis(1))
            ),
            None
        );
    }

    #[test]
    fn lambda_deadlines_convert_to_instants() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let now_instant = Instant::now();
        let in_ms = |ms: u64| 1_700_000_000_000 + ms;
        assert_eq!(
            deadline_from_epoch_millis(in_ms(2_500), now, now_instant),
            Some(now_instant + Duration::from_millis(2_500))
        );
        assert_eq!(
            deadline_from_epoch_millis(1_600_000_000_000, now, now_instant),
            Some(now_instant),
            "a passed deadline is now"
        );
        assert_eq!(deadline_from_epoch_millis(0, now, now_instant), None);
        // cargo lambda watch's form: the time left, in milliseconds.
        assert_eq!(
            deadline_from_epoch_millis(600_000, now, now_instant),
            Some(now_instant + Duration::from_secs(600))
        );
        assert_eq!(
            deadline_from_epoch_millis(RELATIVE_DEADLINE_LIMIT_MS, now, now_instant),
            Some(now_instant),
            "2001 as an epoch time is long past"
        );

        let mut ctx = lambda_runtime::Context::default();
        assert_eq!(invocation_deadline(&ctx), None);
        let in_a_minute = SystemTime::now() + Duration::from_secs(60);
        ctx.deadline = in_a_minute
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = invocation_deadline(&ctx).unwrap() - Instant::now();
        assert!(
            left > Duration::from_secs(58) && left <= Duration::from_secs(60),
            "{left:?}"
        );
    }

    /// Lambda handlers run on a multi-threaded runtime: retrying an HTTP call must give a
    /// `Send` future (a compile error otherwise).
    #[test]
    fn retrying_an_http_call_is_a_send_future() {
        use crate::http::{Destination, HttpClient};
        fn assert_send<F: Future + Send>(_: F) {}
        let http = HttpClient::new("t").unwrap();
        let dest = Destination::new("d", "http://127.0.0.1:9").unwrap();
        let policy = RetryPolicy::default();
        assert_send(retry(&policy, None, || async {
            let request = http.request(reqwest::Method::GET, &dest, "x")?;
            http.send_body(&dest, request, None).await
        }));
    }

    #[test]
    fn errors_of_the_kit_are_retried_by_their_class() {
        let e = crate::Error::transient("flaky");
        assert_eq!(e.class(), ErrorClass::Transient);
        assert!(
            quick()
                .pause(e.classification(), Duration::ZERO, Instant::now(), None)
                .is_some()
        );
    }
}
