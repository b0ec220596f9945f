//! [`RateLimiter`]: the [`CallPolicy`] that holds calls to a destination to a [`RateLimit`],
//! waiting when the permit comes before the cutoff and refusing the call when it does not.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use tokio::time::Instant;

use super::RateLimit;
use super::clock::{TokioClock, TokioInstant};
use super::key::current_rate_key;
use super::lines::{Entry, Lines};
use crate::http::{CallInfo, CallPolicy, HttpError, PolicyFuture};
use crate::taxonomy::Classification;

/// The longest a call waits for a permit by default, cutoff permitting: ten seconds, a few
/// Slack-channel turns, short next to a deliverer's usual 30–60 s timeout. Past it a call is
/// handed back to the queue rather than hold the invocation (and its batch) idle.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(10);

/// Time kept free between the end of a wait and the cutoff by default, for the call itself:
/// one second, what a Slack or HubSpot answer takes with room to spare.
pub const DEFAULT_MARGIN: Duration = Duration::from_secs(1);

/// Keyed buckets are swept for idle keys once every this many checks.
const SWEEP_EVERY: u64 = 1024;

/// A bucket's key: the call's [rate key](super::with_rate_key), `None` for the shared bucket.
type Key = Option<Arc<str>>;

/// governor's GCRA state: one bucket per key, on tokio's clock.
type Gcra =
    governor::RateLimiter<Key, HashMapStateStore<Key>, TokioClock, NoOpMiddleware<TokioInstant>>;

/// Holds the calls to a destination to a [`RateLimit`]: a [`CallPolicy`] to attach with
/// [`Destination::with_policy`](crate::http::Destination::with_policy).
///
/// Before each call it takes a permit. When none is free it computes when the call's turn
/// comes (the bucket's next permit, plus one interval per call already waiting, see below) and
///
/// - **waits** if the turn comes within the max wait ([`DEFAULT_MAX_WAIT`]) and before the
///   invocation's cutoff minus a margin for the call itself ([`DEFAULT_MARGIN`]);
/// - otherwise **refuses** the call without sending it:
///   [`HttpError::refused`] with [`Classification::throttled`] and the wait as `retry_after`,
///   so the batch runner hands the record back to the queue, visible again when its turn has
///   come, rather than have the destination answer 429.
///
/// Calls waiting for one bucket form a line and go in arrival order (see `lines.rs`): each
/// knows up front whether its turn comes in time, and none overtakes another. A call dropped
/// while waiting (the runner's cutoff timeout) leaves the line.
///
/// [`RateLimiter::new`] has one bucket for every call to the destination;
/// [`RateLimiter::per_key`] one per [rate key](super::with_rate_key), e.g. per Slack channel,
/// each holding its own rate (calls made without a key share one more bucket). Both are cheap
/// to share: build once at cold start, in an `Arc`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use switchyard::http::{Destination, RateLimit, RateLimiter};
///
/// // Slack: about one message per second per channel, short bursts allowed.
/// let per_channel = match RateLimit::from_env("SLACK_RATE_LIMIT")? {
///     Some(limit) => limit,
///     None => "1/s burst 3".parse()?,
/// };
/// let slack = Destination::from_env("slack", "SLACK_API_BASE_URL", "https://slack.com/api")?
///     .with_policy(Arc::new(
///         RateLimiter::per_key(per_channel).with_max_wait(Duration::from_secs(5)),
///     ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Stacked with other policies, a permit is spent once this limiter lets a call through, even
/// if a policy further in then refuses it: put the policy that refuses most often first.
pub struct RateLimiter {
    limit: RateLimit,
    per_key: bool,
    gcra: Gcra,
    lines: Lines<Key>,
    max_wait: Duration,
    margin: Duration,
    checks: AtomicU64,
    name: String,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("limit", &self.limit.to_string())
            .field("per_key", &self.per_key)
            .field("max_wait", &self.max_wait)
            .field("margin", &self.margin)
            .finish()
    }
}

/// What bounds a wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// The limiter's max wait.
    MaxWait(Duration),
    /// The invocation's cutoff minus the margin.
    Cutoff,
}

impl fmt::Display for Bound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Bound::MaxWait(max) => write!(f, "more than the {} max wait", Human(*max)),
            Bound::Cutoff => f.write_str("past the invocation's cutoff"),
        }
    }
}

impl RateLimiter {
    /// One bucket for every call to the destination.
    pub fn new(limit: RateLimit) -> Self {
        Self::build(limit, false)
    }

    /// One bucket per [rate key](super::with_rate_key) (a Slack channel), each at `limit`;
    /// calls without a key share one more.
    pub fn per_key(limit: RateLimit) -> Self {
        Self::build(limit, true)
    }

    fn build(limit: RateLimit, per_key: bool) -> Self {
        let name = format!(
            "rate limit {limit}{}",
            if per_key { " per key" } else { "" }
        );
        Self {
            limit,
            per_key,
            gcra: Gcra::hashmap_with_clock(limit.quota(), TokioClock),
            lines: Lines::new(),
            max_wait: DEFAULT_MAX_WAIT,
            margin: DEFAULT_MARGIN,
            checks: AtomicU64::new(0),
            name,
        }
    }

    /// Waits at most `max_wait` for a permit ([`DEFAULT_MAX_WAIT`] by default); zero never
    /// waits: a call without a free permit is refused at once.
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Ends every wait at least `margin` before the invocation's cutoff ([`DEFAULT_MARGIN`] by
    /// default), leaving that much for the call itself.
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// The rate it holds calls to.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a permit for the call, waiting for it if it comes in time.
    async fn acquire(&self, call: &CallInfo) -> Result<(), HttpError> {
        let key = if self.per_key {
            current_rate_key()
        } else {
            None
        };
        let (place, ahead, wait) = match self.lines.enter(&key, || self.check(&key)) {
            Entry::Now => return Ok(()),
            Entry::Queued { place, ahead, wait } => (place, ahead, wait),
        };
        let now = Instant::now();
        let (deadline, bound) = self.deadline(call, now);
        // Alone, the bucket's own answer; behind others, at most one interval per caller
        // ahead plus one for this one (while a line exists, the bucket is empty).
        let turn = wait.unwrap_or_else(|| self.turns(ahead + 1));
        if !ends_by(now, turn, deadline) {
            return Err(self.refusal(call, turn, bound));
        }
        let Ok(_front) = tokio::time::timeout_at(deadline, place.front()).await else {
            // Callers ahead took longer than their share (they all waited their turn).
            return Err(self.refusal(call, self.turns(place.waiting()), bound));
        };
        loop {
            match self.check(&key) {
                Ok(()) => return Ok(()),
                Err(wait) if !ends_by(Instant::now(), wait, deadline) => {
                    return Err(self.refusal(call, wait, bound));
                }
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }

    /// Takes a permit from `key`'s bucket, or says how long until the next one.
    fn check(&self, key: &Key) -> Result<(), Duration> {
        if self.per_key
            && self
                .checks
                .fetch_add(1, Ordering::Relaxed)
                .is_multiple_of(SWEEP_EVERY)
        {
            // Forgets buckets that are full again (their keys left alone for a burst's worth
            // of intervals): a keyed limiter's memory follows the keys in use, not all keys
            // ever seen.
            self.gcra.retain_recent();
        }
        self.gcra
            .check_key(key)
            .map_err(|not_until| not_until.wait_time_from(TokioClock.now()))
    }

    /// `n` intervals.
    fn turns(&self, n: usize) -> Duration {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.limit.interval().saturating_mul(n)
    }

    /// When a wait starting `now` must be over, and what sets that.
    fn deadline(&self, call: &CallInfo, now: Instant) -> (Instant, Bound) {
        let by_max_wait = now.checked_add(self.max_wait);
        let by_cutoff = call.cutoff().map(|cutoff| {
            Instant::from_std(cutoff)
                .checked_sub(self.margin)
                .unwrap_or(now)
        });
        match (by_max_wait, by_cutoff) {
            (Some(wait), Some(cutoff)) if wait <= cutoff => (wait, Bound::MaxWait(self.max_wait)),
            (_, Some(cutoff)) => (cutoff, Bound::Cutoff),
            (Some(wait), None) => (wait, Bound::MaxWait(self.max_wait)),
            // A max wait beyond the clock's range: no bound but the cutoff, and there is none.
            (None, None) => (far_future(now), Bound::MaxWait(self.max_wait)),
        }
    }

    /// The call refused, throttled for `wait`.
    fn refusal(&self, call: &CallInfo, wait: Duration, bound: Bound) -> HttpError {
        HttpError::refused(
            call.destination(),
            Classification::throttled(Some(wait)),
            format!(
                "rate limit {}: next permit in {}, {bound}",
                self.limit,
                Human(wait)
            ),
        )
    }

    /// Buckets governor tracks (keys seen and not yet swept).
    #[cfg(test)]
    fn buckets(&self) -> usize {
        self.gcra.len()
    }
}

/// Whether a wait of `wait` from `now` is over by `deadline`.
fn ends_by(now: Instant, wait: Duration, deadline: Instant) -> bool {
    now.checked_add(wait).is_some_and(|end| end <= deadline)
}

/// About 30 years from `now`: later than any wait.
fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(86_400 * 365 * 30)
}

impl CallPolicy for RateLimiter {
    fn name(&self) -> &str {
        &self.name
    }

    fn before<'a>(&'a self, call: &'a CallInfo) -> PolicyFuture<'a> {
        Box::pin(self.acquire(call))
    }
}

/// A duration for messages, to the millisecond: `1s 500ms`.
struct Human(Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let millis = Duration::from_millis(u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX));
        let rounded = if millis < self.0 {
            millis + Duration::from_millis(1)
        } else {
            millis
        };
        write!(f, "{}", humantime::format_duration(rounded))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::rate_limit::with_rate_key;
    use crate::http::{Destination, HttpClient};
    use crate::invocation::Invocation;
    use crate::taxonomy::{Classify, ErrorClass};
    use reqwest::Method;
    use std::num::NonZeroU32;

    const SECOND: Duration = Duration::from_secs(1);

    fn per_second(burst: u32) -> RateLimit {
        RateLimit::per_second(NonZeroU32::MIN).with_burst(NonZeroU32::new(burst).unwrap())
    }

    fn unbounded() -> CallInfo {
        CallInfo::new("slack", Method::POST, None)
    }

    /// A call whose invocation's cutoff is `left` from now.
    fn with_cutoff_in(left: Duration) -> CallInfo {
        CallInfo::new(
            "slack",
            Method::POST,
            Some(std::time::Instant::now() + left),
        )
    }

    async fn take(limiter: &RateLimiter) -> Result<(), HttpError> {
        limiter.before(&unbounded()).await
    }

    fn assert_throttled_for(err: &HttpError, wait: Duration) {
        assert!(err.is_refused(), "{err}");
        assert_eq!(err.class(), ErrorClass::Throttled, "{err}");
        assert_eq!(err.retry_after(), Some(wait), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_calls_are_spaced_by_the_interval() {
        let limiter = RateLimiter::new(per_second(3));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..6 {
            take(&limiter).await.unwrap();
            times.push(start.elapsed());
        }
        let zero = Duration::ZERO;
        assert_eq!(times, [zero, zero, zero, SECOND, 2 * SECOND, 3 * SECOND]);

        // Left alone for three intervals, the bucket holds a full burst again.
        tokio::time::sleep(3 * SECOND).await;
        let start = Instant::now();
        for _ in 0..3 {
            take(&limiter).await.unwrap();
        }
        assert_eq!(start.elapsed(), zero);
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_that_ends_past_the_cutoff_refuses_the_call_at_once() {
        let limiter = RateLimiter::new(per_second(1));
        take(&limiter).await.unwrap();
        let start = Instant::now();
        // 1.5 s to the cutoff, minus the 1 s margin: the 1 s wait does not fit.
        let err = limiter
            .before(&with_cutoff_in(Duration::from_millis(1500)))
            .await
            .unwrap_err();
        assert_throttled_for(&err, SECOND);
        assert_eq!(err.destination(), "slack");
        assert_eq!(
            err.to_string(),
            "slack: refused before sending: rate limit 1/1s: next permit in 1s, past the \
             invocation's cutoff [throttled, retry after 1s]"
        );
        assert_eq!(start.elapsed(), Duration::ZERO, "refused without waiting");

        // 2.5 s to the cutoff: it fits, the call waits for its permit.
        limiter
            .before(&with_cutoff_in(Duration::from_millis(2500)))
            .await
            .unwrap();
        assert_eq!(start.elapsed(), SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn the_margin_is_configurable() {
        let limiter = RateLimiter::new(per_second(1)).with_margin(Duration::ZERO);
        take(&limiter).await.unwrap();
        limiter
            .before(&with_cutoff_in(Duration::from_millis(1500)))
            .await
            .unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_cutoff_already_inside_the_margin_refuses_any_wait() {
        let limiter = RateLimiter::new(per_second(1));
        take(&limiter).await.unwrap();
        let err = limiter
            .before(&with_cutoff_in(Duration::from_millis(200)))
            .await
            .unwrap_err();
        assert_throttled_for(&err, SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn the_refusal_carries_the_time_left_until_the_next_permit() {
        let limiter = RateLimiter::new(per_second(1)).with_max_wait(Duration::ZERO);
        take(&limiter).await.unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        let err = take(&limiter).await.unwrap_err();
        assert_throttled_for(&err, Duration::from_millis(600));
        assert!(
            err.to_string()
                .contains("next permit in 600ms, more than the 0s max wait"),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_wait_longer_than_the_max_wait_is_refused() {
        let limiter = RateLimiter::new(RateLimit::new(NonZeroU32::MIN, 2 * SECOND).unwrap())
            .with_max_wait(Duration::from_millis(1500));
        take(&limiter).await.unwrap();
        let err = take(&limiter).await.unwrap_err();
        assert_throttled_for(&err, 2 * SECOND);
        assert!(
            err.to_string().contains("more than the 1s 500ms max wait"),
            "{err}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_calls_go_in_arrival_order_and_a_turn_too_late_is_refused_up_front() {
        let limiter = RateLimiter::new(per_second(1)).with_max_wait(3 * SECOND);
        let start = Instant::now();
        let calls = (0..5).map(|_| async {
            let result = take(&limiter).await;
            (start.elapsed(), result.map_err(|e| e.retry_after()))
        });
        let outcomes = futures::future::join_all(calls).await;
        assert_eq!(
            outcomes,
            [
                (Duration::ZERO, Ok(())),
                (SECOND, Ok(())),
                (2 * SECOND, Ok(())),
                (3 * SECOND, Ok(())),
                // Three ahead: its turn is 4 s away, past the 3 s max wait; told at once.
                (Duration::ZERO, Err(Some(4 * SECOND))),
            ]
        );
        assert_eq!(limiter.lines.len(), 0, "the line is gone with its callers");
    }

    #[tokio::test(start_paused = true)]
    async fn a_call_dropped_while_waiting_leaves_the_line() {
        let limiter = RateLimiter::new(per_second(1)).with_max_wait(SECOND);
        take(&limiter).await.unwrap();
        let abandoned = tokio::time::timeout(Duration::from_millis(100), take(&limiter)).await;
        assert!(abandoned.is_err(), "still waiting when dropped");
        assert_eq!(limiter.lines.len(), 0);
        // Nobody ahead any more: the next call's turn is the bucket's next permit, 0.9 s away.
        let start = Instant::now();
        take(&limiter).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_millis(900));
    }

    #[tokio::test(start_paused = true)]
    async fn keyed_buckets_are_independent() {
        let limiter = RateLimiter::per_key(per_second(1)).with_max_wait(Duration::ZERO);
        let on = |key: &'static str| with_rate_key(key, take(&limiter));
        on("C1").await.unwrap();
        assert_throttled_for(&on("C1").await.unwrap_err(), SECOND);
        on("C2").await.unwrap();
        // Calls without a key share one bucket of their own.
        take(&limiter).await.unwrap();
        assert_throttled_for(&take(&limiter).await.unwrap_err(), SECOND);
        tokio::time::sleep(SECOND).await;
        on("C1").await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_keyed_line_holds_only_its_own_key() {
        let limiter = RateLimiter::per_key(per_second(1)).with_max_wait(5 * SECOND);
        let start = Instant::now();
        let on = |key: &'static str| {
            with_rate_key(key, async {
                take(&limiter).await.unwrap();
                start.elapsed()
            })
        };
        let times = futures::future::join_all([on("C1"), on("C1"), on("C2"), on("C1")]).await;
        assert_eq!(times, [Duration::ZERO, SECOND, Duration::ZERO, 2 * SECOND]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unkeyed_limiter_ignores_keys() {
        let limiter = RateLimiter::new(per_second(1)).with_max_wait(Duration::ZERO);
        with_rate_key("C1", take(&limiter)).await.unwrap();
        assert!(with_rate_key("C2", take(&limiter)).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn idle_keys_are_forgotten() {
        let limiter = RateLimiter::per_key(per_second(1));
        for channel in 0..SWEEP_EVERY {
            with_rate_key(format!("C{channel}"), take(&limiter))
                .await
                .unwrap();
        }
        assert_eq!(limiter.buckets(), 1024);
        tokio::time::sleep(2 * SECOND).await;
        with_rate_key("C-new", take(&limiter)).await.unwrap();
        assert_eq!(limiter.buckets(), 1, "the full buckets were swept");
    }

    #[test]
    fn names_its_rate() {
        let limiter = RateLimiter::per_key(per_second(3));
        assert_eq!(limiter.name(), "rate limit 1/1s burst 3 per key");
        assert_eq!(RateLimiter::new(per_second(1)).name(), "rate limit 1/1s");
        assert_eq!(limiter.limit(), per_second(3));
        assert!(format!("{limiter:?}").contains("1/1s burst 3"));
    }

    /// The same through the client, on real time: the cutoff is too close for any wait, so
    /// the second call is refused and never reaches the destination.
    #[tokio::test]
    async fn a_refused_call_never_reaches_the_destination() {
        use wiremock::matchers::any;
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let dest = Destination::new("slack", &server.uri())
            .unwrap()
            .with_policy(Arc::new(RateLimiter::new(per_second(1))));
        let http = HttpClient::new("t").unwrap();
        let post = || http.send(&dest, http.request(Method::POST, &dest, "x").unwrap());
        // 2.5 s to the deadline, 2 s of reserve, 1 s of margin: no time to wait.
        let invocation = Invocation::with_timeout("r", Duration::from_millis(2500));
        invocation.scope(post()).await.unwrap();
        let err = invocation.scope(post()).await.unwrap_err();
        assert!(err.is_refused(), "{err}");
        assert_eq!(err.class(), ErrorClass::Throttled);
        assert!(
            err.retry_after()
                .is_some_and(|w| w > Duration::ZERO && w <= SECOND)
        );
        server.verify().await;
    }
}
