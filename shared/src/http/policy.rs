//! [`CallPolicy`]: the per-destination hook that rate limiters, circuit breakers and retry
//! budgets plug into, run by the client around every call.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};

use super::{HttpError, HttpResponse};
use crate::taxonomy::{Classification, Classify};

/// The future a [`CallPolicy::before`] returns: boxed so that policies can be trait objects
/// stacked on a destination, `Send` so that calls run on Lambda's multi-threaded runtime.
pub type PolicyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), HttpError>> + Send + 'a>>;

/// A per-destination policy run around every call the [`HttpClient`](super::HttpClient) makes
/// to that destination: a rate limiter, a circuit breaker, a retry budget, a metric.
///
/// A policy is attached with [`Destination::with_policy`](super::Destination::with_policy);
/// several stack in the order they were added, the first being the outermost, like tower
/// layers:
///
/// ```text
/// A.before → B.before → send, read and classify → B.after → A.after
/// ```
///
/// - [`before`](Self::before) may wait (a rate limiter sleeping until a slot frees, as long as
///   the wait ends before [`CallInfo::cutoff`]) or refuse the call with
///   [`HttpError::refused`]: the destination is then never called, the refusal is the call's
///   error, and the policies before it see it in their `after`.
/// - [`after`](Self::after) sees the outcome: the success status, or the classified
///   [`HttpError`] (body-level verdicts included), or [`CallOutcome::Cancelled`] when the
///   call's future was dropped (the runner's cutoff timeout), so a circuit breaker holding a
///   half-open probe slot always gets it back.
///
/// Both methods have defaults that do nothing, so a policy implements only the side it needs.
///
/// # Example: a concurrency limit that refuses rather than queue past the cutoff
///
/// ```
/// use std::sync::Arc;
/// use tokio::sync::Semaphore;
/// use switchyard::Classification;
/// use switchyard::http::{CallInfo, CallOutcome, CallPolicy, Destination, HttpError, PolicyFuture};
///
/// struct AtMost(Arc<Semaphore>);
///
/// impl CallPolicy for AtMost {
///     fn before<'a>(&'a self, call: &'a CallInfo) -> PolicyFuture<'a> {
///         Box::pin(async move {
///             let wait = self.0.acquire();
///             let permit = match call.cutoff() {
///                 Some(cutoff) => tokio::time::timeout_at(cutoff.into(), wait).await.ok(),
///                 None => Some(wait.await),
///             };
///             match permit {
///                 Some(Ok(permit)) => {
///                     permit.forget();
///                     Ok(())
///                 }
///                 _ => Err(HttpError::refused(
///                     call.destination(),
///                     Classification::throttled(None),
///                     "no call slot before the cutoff",
///                 )),
///             }
///         })
///     }
///
///     fn after(&self, _call: &CallInfo, _outcome: CallOutcome<'_>) {
///         self.0.add_permits(1);
///     }
/// }
///
/// let crm = Destination::new("crm", "https://api.example.com")?
///     .with_policy(Arc::new(AtMost(Arc::new(Semaphore::new(4)))));
/// # Ok::<(), HttpError>(())
/// ```
pub trait CallPolicy: Send + Sync {
    /// The policy's name, for logs and `Debug` output; the type's name by default.
    fn name(&self) -> &str {
        std::any::type_name::<Self>()
    }

    /// Runs before the request is sent: returns once the call may go (possibly after a wait),
    /// or refuses it with an [`HttpError::refused`].
    ///
    /// A wait must end by [`CallInfo::cutoff`]: past it the batch runner abandons the handler,
    /// so a policy that cannot let the call go before then should refuse it at once, throttled
    /// with the wait as `retry_after`, and let the record come back later.
    fn before<'a>(&'a self, call: &'a CallInfo) -> PolicyFuture<'a> {
        let _ = call;
        Box::pin(std::future::ready(Ok(())))
    }

    /// Runs once the call is over, for every policy whose `before` let it through, innermost
    /// first. It must be quick and must not panic: it runs inline, and also while a cancelled
    /// call is being dropped.
    fn after(&self, call: &CallInfo, outcome: CallOutcome<'_>) {
        let _ = (call, outcome);
    }
}

/// What a policy knows about the call it is asked about. Deliberately neither the URL nor the
/// headers: they may carry tokens and ids, and a policy decides per destination.
#[derive(Debug, Clone)]
pub struct CallInfo {
    destination: String,
    method: Method,
    cutoff: Option<Instant>,
}

impl CallInfo {
    /// A call to `destination` with `method`, to be over by `cutoff`. The client builds it with
    /// [`Invocation::current_cutoff`](crate::invocation::Invocation::current_cutoff); policies'
    /// own tests build it directly.
    pub fn new(destination: impl Into<String>, method: Method, cutoff: Option<Instant>) -> Self {
        Self {
            destination: destination.into(),
            method,
            cutoff,
        }
    }

    /// The destination's name ([`Destination::name`](super::Destination::name)): the key of a
    /// policy's per-destination state, and the name for [`HttpError::refused`].
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// The request's method (a policy may let reads through a breaker that stops writes).
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// When the invocation's handler work must be over (its deadline minus the runner's
    /// reserve); `None` outside an invocation or without a deadline.
    pub fn cutoff(&self) -> Option<Instant> {
        self.cutoff
    }

    /// Time left until the cutoff (zero once passed); `None` without one.
    pub fn remaining(&self) -> Option<Duration> {
        self.cutoff
            .map(|cutoff| cutoff.saturating_duration_since(Instant::now()))
    }

    /// Whether a wait of `wait` ends before the cutoff (always, without one).
    pub fn has_time_for(&self, wait: Duration) -> bool {
        self.remaining().is_none_or(|left| left >= wait)
    }
}

/// How a call ended, as [`CallPolicy::after`] sees it.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum CallOutcome<'a> {
    /// The destination answered with a success status and a body within bounds that the
    /// connector's classifier did not turn into an error.
    Success(StatusCode),
    /// The call failed: an error status or body-level error, a transport failure, an oversized
    /// body, or a refusal by a policy further in ([`HttpError::is_refused`]).
    Failure(&'a HttpError),
    /// The call's future was dropped before it ended (a timeout around it): nothing is known
    /// of the destination's answer.
    Cancelled,
}

impl CallOutcome<'_> {
    /// The response status, when a response arrived.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            CallOutcome::Success(status) => Some(*status),
            CallOutcome::Failure(error) => error.status_code(),
            CallOutcome::Cancelled => None,
        }
    }

    /// The failure's classification; `None` for a success or a cancelled call.
    pub fn classification(&self) -> Option<Classification> {
        match self {
            CallOutcome::Failure(error) => Some(error.classification()),
            CallOutcome::Success(_) | CallOutcome::Cancelled => None,
        }
    }
}

/// Runs `exchange` inside `policies`: every `before` in order, then the exchange, then the
/// `after` of every policy that let the call through, in reverse order.
pub(super) async fn around<F>(
    policies: &[Arc<dyn CallPolicy>],
    call: &CallInfo,
    exchange: F,
) -> Result<HttpResponse, HttpError>
where
    F: Future<Output = Result<HttpResponse, HttpError>>,
{
    let mut entered = Entered {
        policies,
        call,
        count: 0,
        finished: false,
    };
    for policy in policies {
        if let Err(refusal) = policy.before(call).await {
            entered.finish(CallOutcome::Failure(&refusal));
            return Err(refusal);
        }
        entered.count += 1;
    }
    let result = exchange.await;
    entered.finish(match &result {
        Ok(response) => CallOutcome::Success(response.status()),
        Err(error) => CallOutcome::Failure(error),
    });
    result
}

/// The policies whose `before` let the call through; tells them the outcome exactly once,
/// [`CallOutcome::Cancelled`] if the call is dropped first.
struct Entered<'a> {
    policies: &'a [Arc<dyn CallPolicy>],
    call: &'a CallInfo,
    count: usize,
    finished: bool,
}

impl Entered<'_> {
    fn finish(&mut self, outcome: CallOutcome<'_>) {
        self.finished = true;
        let entered = self.policies.iter().take(self.count).rev();
        for policy in entered {
            policy.after(self.call, outcome);
        }
    }
}

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.finish(CallOutcome::Cancelled);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Destination, HttpClient};
    use crate::invocation::Invocation;
    use crate::taxonomy::ErrorClass;
    use std::sync::Mutex;
    use tokio::sync::Semaphore;
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};

    type Log = Arc<Mutex<Vec<String>>>;

    /// Records what it sees: `A before`, `A after 200`, `A after transient 503`, ...
    struct Recorder(&'static str, Log);

    impl CallPolicy for Recorder {
        fn before<'a>(&'a self, call: &'a CallInfo) -> PolicyFuture<'a> {
            self.1
                .lock()
                .unwrap()
                .push(format!("{} before {}", self.0, call.destination()));
            Box::pin(std::future::ready(Ok(())))
        }

        fn after(&self, _call: &CallInfo, outcome: CallOutcome<'_>) {
            let seen = match outcome {
                CallOutcome::Success(status) => format!("{}", status.as_u16()),
                CallOutcome::Failure(e) if e.is_refused() => format!("refused {}", e.class()),
                CallOutcome::Failure(e) => format!(
                    "{} {}",
                    e.class(),
                    outcome.status().map_or(0, |s| s.as_u16())
                ),
                CallOutcome::Cancelled => "cancelled".to_owned(),
            };
            self.1
                .lock()
                .unwrap()
                .push(format!("{} after {seen}", self.0));
        }
    }

    /// Refuses every call, throttled for 5 s.
    struct Refuse;

    impl CallPolicy for Refuse {
        fn before<'a>(&'a self, call: &'a CallInfo) -> PolicyFuture<'a> {
            Box::pin(async move {
                Err(HttpError::refused(
                    call.destination(),
                    Classification::throttled(Some(Duration::from_secs(5))),
                    "test limit reached",
                ))
            })
        }
    }

    /// Holds every call until a permit is added.
    struct Gate(Arc<Semaphore>);

    impl CallPolicy for Gate {
        fn before<'a>(&'a self, _call: &'a CallInfo) -> PolicyFuture<'a> {
            Box::pin(async move {
                self.0
                    .acquire()
                    .await
                    .map(|p| p.forget())
                    .map_err(|_| HttpError::refused("gate", Classification::transient(), "closed"))
            })
        }
    }

    /// Remembers the cutoff it was shown.
    struct SeesCutoff(Mutex<Option<Option<Instant>>>);

    impl CallPolicy for SeesCutoff {
        fn before<'a>(&'a self, call: &'a CallInfo) -> PolicyFuture<'a> {
            *self.0.lock().unwrap() = Some(call.cutoff());
            Box::pin(std::future::ready(Ok(())))
        }
    }

    async fn server(status: u16, expected_calls: u64) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(status))
            .expect(expected_calls)
            .mount(&server)
            .await;
        server
    }

    async fn get(dest: &Destination) -> Result<crate::http::HttpResponse, HttpError> {
        let http = HttpClient::new("t").unwrap();
        let request = http.request(Method::GET, dest, "x").unwrap();
        http.send(dest, request).await
    }

    fn log() -> Log {
        Arc::new(Mutex::new(Vec::new()))
    }

    fn lines(log: &Log) -> Vec<String> {
        log.lock().unwrap().clone()
    }

    #[tokio::test]
    async fn a_refusing_policy_fails_the_call_without_calling_the_destination() {
        let server = server(200, 0).await;
        let seen = log();
        let dest = Destination::new("crm", &server.uri())
            .unwrap()
            .with_policy(Arc::new(Recorder("A", seen.clone())))
            .with_policy(Arc::new(Refuse))
            .with_policy(Arc::new(Recorder("C", seen.clone())));
        let err = get(&dest).await.unwrap_err();
        assert_eq!(
            err.classification(),
            Classification::throttled(Some(Duration::from_secs(5)))
        );
        assert!(err.is_refused(), "{err}");
        assert_eq!(
            err.to_string(),
            "crm: refused before sending: test limit reached [throttled, retry after 5s]"
        );
        // C never ran; A, outside the refusing policy, saw the refusal.
        assert_eq!(lines(&seen), ["A before crm", "A after refused throttled"]);
        server.verify().await;
    }

    #[tokio::test]
    async fn a_policy_can_hold_the_call_until_it_may_go() {
        let server = server(200, 1).await;
        let gate = Arc::new(Semaphore::new(0));
        let dest = Destination::new("crm", &server.uri())
            .unwrap()
            .with_policy(Arc::new(Gate(gate.clone())));
        let call = tokio::spawn(async move { get(&dest).await.map(|r| r.status()) });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            server.received_requests().await.unwrap().is_empty(),
            "sent while the policy was holding it"
        );
        gate.add_permits(1);
        assert_eq!(call.await.unwrap().unwrap(), StatusCode::OK);
        server.verify().await;
    }

    #[tokio::test]
    async fn the_after_hook_sees_a_503_as_transient() {
        let server = server(503, 1).await;
        let seen = log();
        let dest = Destination::new("crm", &server.uri())
            .unwrap()
            .with_policy(Arc::new(Recorder("A", seen.clone())));
        let err = get(&dest).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient);
        assert_eq!(lines(&seen), ["A before crm", "A after transient 503"]);
    }

    #[tokio::test]
    async fn policies_run_in_order_and_unwind_in_reverse() {
        let server = server(200, 1).await;
        let seen = log();
        let dest = Destination::new("crm", &server.uri())
            .unwrap()
            .with_policy(Arc::new(Recorder("A", seen.clone())))
            .with_policy(Arc::new(Recorder("B", seen.clone())));
        get(&dest).await.unwrap();
        assert_eq!(
            lines(&seen),
            ["A before crm", "B before crm", "B after 200", "A after 200"]
        );
    }

    #[tokio::test]
    async fn a_cancelled_call_is_reported_to_the_policies_it_passed() {
        let server = server(200, 0).await;
        let seen = log();
        let dest = Destination::new("crm", &server.uri())
            .unwrap()
            .with_policy(Arc::new(Recorder("A", seen.clone())))
            .with_policy(Arc::new(Gate(Arc::new(Semaphore::new(0)))))
            .with_policy(Arc::new(Recorder("C", seen.clone())));
        let outcome = tokio::time::timeout(Duration::from_millis(50), get(&dest)).await;
        assert!(outcome.is_err(), "the gate never opens");
        assert_eq!(lines(&seen), ["A before crm", "A after cancelled"]);
        server.verify().await;
    }

    #[tokio::test]
    async fn policies_see_the_current_invocations_cutoff() {
        let server = server(200, 2).await;
        let policy = Arc::new(SeesCutoff(Mutex::new(None)));
        let dest = Destination::new("crm", &server.uri())
            .unwrap()
            .with_policy(policy.clone());

        let invocation = Invocation::with_timeout("req-1", Duration::from_secs(30));
        invocation.scope(get(&dest)).await.unwrap();
        let seen = policy.0.lock().unwrap().take().unwrap();
        assert!(seen.is_some());
        assert_eq!(seen, invocation.cutoff());

        get(&dest).await.unwrap();
        assert_eq!(policy.0.lock().unwrap().take(), Some(None), "no invocation");
    }

    #[test]
    fn time_left_before_the_cutoff() {
        let call = CallInfo::new(
            "crm",
            Method::POST,
            Some(Instant::now() + Duration::from_secs(10)),
        );
        assert!(call.has_time_for(Duration::from_secs(5)));
        assert!(!call.has_time_for(Duration::from_secs(11)));
        assert_eq!(call.method(), Method::POST);
        let unbounded = CallInfo::new("crm", Method::GET, None);
        assert_eq!(unbounded.remaining(), None);
        assert!(unbounded.has_time_for(Duration::MAX));
    }
}
