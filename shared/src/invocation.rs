//! The Lambda invocation a piece of work runs in: its request id, its deadline, and the time
//! kept free at its end.
//!
//! Lambda stops a function at its deadline, whatever it is doing. For a deliverer that is the
//! worst moment to be stopped: the partial batch response never reaches Lambda, so every record
//! of the batch comes back — the ones already delivered and dead-lettered included. So the batch
//! runner, the handlers and the per-destination policies all work to one clock:
//!
//! - the **deadline** is Lambda's (`lambda-runtime-deadline-ms`, [`lambda_runtime::Context`]);
//! - the **cutoff** is the deadline minus a **reserve** ([`DEFAULT_RESERVE`]): the time the
//!   runner keeps for itself to hand records back, dead-letter them and answer. Handler work
//!   (calls, retries, rate-limit waits) must end by the cutoff, and the runner enforces it with a
//!   timeout on every handler call.
//!
//! The invocation is passed to handlers explicitly, and is also the *current* invocation of the
//! task while the runner drives a handler ([`Invocation::current`]), so code far from the
//! handler's signature (a rate limiter inside the HTTP client) can size its waits without every
//! function threading it through.
//!
//! ```
//! use std::time::Duration;
//! use switchyard::invocation::Invocation;
//!
//! let invocation = Invocation::with_timeout("req-1", Duration::from_secs(30));
//! assert!(invocation.remaining().unwrap() <= Duration::from_secs(28)); // 30 s minus the reserve
//! ```

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::retry::{RetryPolicy, deadline_from_epoch_millis};
use crate::taxonomy::Classify;

/// Time kept free before the Lambda deadline for the runner's own bookkeeping (visibility
/// changes, dead-letter sends, the response): two seconds, which covers a couple of SQS round
/// trips with room to spare, while costing little of a typical 30–60 s deliverer timeout.
pub const DEFAULT_RESERVE: Duration = Duration::from_secs(2);

tokio::task_local! {
    static CURRENT: Invocation;
}

/// One Lambda invocation: request id, deadline and reserve. Cheap to clone.
#[derive(Clone)]
pub struct Invocation {
    request_id: Arc<str>,
    deadline: Option<Instant>,
    reserve: Duration,
}

impl fmt::Debug for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Invocation")
            .field("request_id", &self.request_id)
            .field("remaining", &self.remaining())
            .field("reserve", &self.reserve)
            .finish()
    }
}

impl Invocation {
    /// An invocation with an explicit deadline (`None`: no deadline, e.g. a local run) and the
    /// [`DEFAULT_RESERVE`].
    pub fn new(request_id: impl Into<String>, deadline: Option<Instant>) -> Self {
        Self {
            request_id: Arc::from(request_id.into()),
            deadline,
            reserve: DEFAULT_RESERVE,
        }
    }

    /// The invocation a Lambda [`Context`](lambda_runtime::Context) describes. A context without
    /// a deadline (`deadline == 0`, as in a default test context) has none.
    pub fn from_context(ctx: &lambda_runtime::Context) -> Self {
        let deadline = deadline_from_epoch_millis(ctx.deadline, SystemTime::now(), Instant::now());
        Self::new(ctx.request_id.clone(), deadline)
    }

    /// An invocation ending `timeout` from now, as Lambda would start one with that timeout.
    pub fn with_timeout(request_id: impl Into<String>, timeout: Duration) -> Self {
        Self::new(request_id, Instant::now().checked_add(timeout))
    }

    /// An invocation without a deadline (tests, tools): nothing is ever cut short by time.
    pub fn unbounded(request_id: impl Into<String>) -> Self {
        Self::new(request_id, None)
    }

    /// The same invocation ending no later than `timeout` from now: for runtimes that announce
    /// a deadline longer than the function's timeout (`cargo lambda watch` gives every
    /// invocation 600 s). On Lambda the announced deadline already is the timeout's, and the
    /// earlier of the two wins.
    pub fn capped(mut self, timeout: Duration) -> Self {
        let cap = Instant::now().checked_add(timeout);
        self.deadline = match (self.deadline, cap) {
            (Some(deadline), Some(cap)) => Some(deadline.min(cap)),
            (deadline, cap) => deadline.or(cap),
        };
        self
    }

    /// The same invocation with another reserve before the deadline.
    pub fn with_reserve(mut self, reserve: Duration) -> Self {
        self.reserve = reserve;
        self
    }

    /// Lambda's request id (`requestId` in the logs).
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// When Lambda stops the function, if there is a deadline.
    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The time kept free before the deadline.
    pub fn reserve(&self) -> Duration {
        self.reserve
    }

    /// When handler work must be over: the deadline minus the reserve (never before now's
    /// epoch: a deadline closer than the reserve gives a cutoff that has already passed).
    pub fn cutoff(&self) -> Option<Instant> {
        self.deadline.map(|d| {
            d.checked_sub(self.reserve)
                .unwrap_or_else(|| d.min(Instant::now()))
        })
    }

    /// Time left until the [cutoff](Self::cutoff) (zero once it has passed); `None` without a
    /// deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.cutoff()
            .map(|c| c.saturating_duration_since(Instant::now()))
    }

    /// Whether at least `needed` is left before the cutoff (always, without a deadline).
    pub fn has_time_for(&self, needed: Duration) -> bool {
        self.remaining().is_none_or(|left| left >= needed)
    }

    /// [`crate::retry::retry`] bounded by this invocation: no pause (and, with the policy's
    /// `deadline_margin`, no next try) runs past the cutoff.
    pub async fn retry<T, E, F, Fut>(&self, policy: &RetryPolicy, op: F) -> Result<T, E>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Classify + fmt::Display,
    {
        crate::retry::retry(policy, self.cutoff(), op).await
    }

    /// Runs `future` with this as the [current](Self::current) invocation of the task.
    pub async fn scope<F: Future>(&self, future: F) -> F::Output {
        CURRENT.scope(self.clone(), future).await
    }

    /// The invocation the runner is driving the current task for, if any.
    pub fn current() -> Option<Invocation> {
        CURRENT.try_with(Invocation::clone).ok()
    }

    /// The [cutoff](Self::cutoff) of the current invocation, if there is one and it has a
    /// deadline: what a wait deep inside a call (a rate limiter) must end by.
    pub fn current_cutoff() -> Option<Instant> {
        CURRENT.try_with(Invocation::cutoff).ok().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoff_keeps_the_reserve_free() {
        let now = Instant::now();
        let inv = Invocation::new("r", Some(now + Duration::from_secs(30)));
        assert_eq!(inv.cutoff(), Some(now + Duration::from_secs(28)));
        let left = inv.remaining().unwrap();
        assert!(left <= Duration::from_secs(28) && left > Duration::from_secs(27));
        assert!(inv.has_time_for(Duration::from_secs(20)));
        assert!(!inv.has_time_for(Duration::from_secs(29)));

        let tight = Invocation::new("r", Some(now + Duration::from_secs(1)));
        assert_eq!(
            tight.remaining(),
            Some(Duration::ZERO),
            "1 s left, 2 s reserve"
        );
        assert!(!tight.has_time_for(Duration::from_millis(1)));

        let custom = inv.clone().with_reserve(Duration::from_secs(10));
        assert_eq!(custom.cutoff(), Some(now + Duration::from_secs(20)));
    }

    #[test]
    fn without_a_deadline_there_is_always_time() {
        let inv = Invocation::unbounded("r");
        assert_eq!(inv.cutoff(), None);
        assert_eq!(inv.remaining(), None);
        assert!(inv.has_time_for(Duration::MAX));
        assert_eq!(inv.request_id(), "r");
        let ctx = lambda_runtime::Context::default();
        assert_eq!(Invocation::from_context(&ctx).deadline(), None);
    }

    #[tokio::test]
    async fn the_current_invocation_is_seen_inside_its_scope_only() {
        assert!(Invocation::current().is_none());
        let inv = Invocation::with_timeout("req-7", Duration::from_secs(60));
        let (id, cutoff) = inv
            .scope(async {
                tokio::task::yield_now().await;
                (
                    Invocation::current().map(|i| i.request_id().to_owned()),
                    Invocation::current_cutoff(),
                )
            })
            .await;
        assert_eq!(id.as_deref(), Some("req-7"));
        assert_eq!(cutoff, inv.cutoff());
        assert!(Invocation::current_cutoff().is_none());
    }
}
