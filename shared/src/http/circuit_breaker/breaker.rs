//! [`CircuitBreaker`]: the [`CallPolicy`] that stops calling a destination after transient
//! failures in a row, refusing calls at once while it is open, and lets one probe call find
//! out when it is back.

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::CircuitBreakerConfig;
use super::circuit::{Admission, CallId, Circuit, CircuitState, Transition, Verdict};
use super::metrics::{CIRCUIT_CLOSED, CIRCUIT_OPENED, CIRCUIT_REJECTED};
use crate::http::{CallInfo, CallOutcome, CallPolicy, HttpError, PolicyFuture};
use crate::taxonomy::{Classification, Classify, ErrorClass};
use crate::telemetry::Metrics;

/// The `retry_after` of a call refused while the half-open circuit's probe is in flight: five
/// seconds, about what a probe takes at worst (the client's default total timeout is 10 s,
/// most answers come in well under one), so the record comes back once the probe has decided.
pub const PROBE_RETRY_AFTER: Duration = Duration::from_secs(5);

/// Stops calling a destination that keeps failing: a [`CallPolicy`] to attach with
/// [`Destination::with_policy`](crate::http::Destination::with_policy), one per destination.
///
/// - **Closed**, calls go. Transient failures in a row are counted (5xx, timeouts,
///   connection errors); any answer of the destination ends the run (see the
///   [module documentation](super) for what counts). When the run reaches
///   [`failures`](CircuitBreakerConfig::failures), the circuit opens.
/// - **Open**, every call is refused at once without being sent:
///   [`HttpError::refused`] with [`Classification::transient`] and the time left until the
///   circuit half-opens as `retry_after`, so the batch runner hands the record back to the
///   queue, visible again when a probe may go.
/// - **Half-open**, once the open period is over, the next call goes as the probe; calls
///   meanwhile are refused with [`PROBE_RETRY_AFTER`]. An answer closes the circuit; a
///   transient failure opens it again for twice as long, up to
///   [`max_open_for`](CircuitBreakerConfig::max_open_for); a probe cancelled (the runner's
///   cutoff), refused by a policy further in, or failing before it reached the destination
///   gives the slot back to the next call. A probe whose outcome never comes back is taken as
///   lost after one [`open_for`](CircuitBreakerConfig::open_for), so the circuit cannot stay
///   half-open for good.
///
/// Transitions are logged with the destination's name (`warn` on opening, `info` on
/// half-opening and closing) and counted on the handle given to [`with_metrics`](Self::with_metrics)
/// (see [`metrics`](super::metrics)).
///
/// ```
/// use std::sync::Arc;
/// use switchyard::http::{CircuitBreaker, CircuitBreakerConfig, Destination};
/// use switchyard::telemetry::Metrics;
///
/// let metrics = Metrics::from_env();
/// let mut slack = Destination::from_env("slack", "SLACK_API_BASE_URL", "https://slack.com/api")?;
/// if let Some(config) = CircuitBreakerConfig::from_env("CIRCUIT_BREAKER")? {
///     slack = slack.with_policy(Arc::new(CircuitBreaker::new(config).with_metrics(metrics)));
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Put it first, before a rate limiter: an open circuit then refuses before the limiter
/// spends a permit or makes the call wait. The state lives in the execution environment:
/// each concurrent Lambda instance has its own circuit and sends its own probe.
pub struct CircuitBreaker {
    config: CircuitBreakerConfig,
    circuit: Mutex<Circuit>,
    metrics: Option<Metrics>,
    name: String,
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("config", &self.config.to_string())
            .field("state", &self.state())
            .finish()
    }
}

impl CircuitBreaker {
    /// A closed circuit with `config`.
    pub fn new(config: CircuitBreakerConfig) -> Self {
        Self {
            config,
            circuit: Mutex::new(Circuit::new(config)),
            metrics: None,
            name: format!("circuit breaker {config}"),
        }
    }

    /// Counts transitions and refusals on `metrics` (see [`metrics`](super::metrics)).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Its setting.
    pub fn config(&self) -> CircuitBreakerConfig {
        self.config
    }

    /// The circuit's state now (an open period that has ended reads as half-open).
    pub fn state(&self) -> CircuitState {
        self.circuit().state(Instant::now())
    }

    fn circuit(&self) -> MutexGuard<'_, Circuit> {
        // Every update is one assignment of the phase, so a panic elsewhere while holding the
        // lock (there is no code that can panic under it) leaves a consistent circuit.
        self.circuit.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets `call` go, or refuses it.
    fn admit(&self, call: &CallInfo) -> Result<(), HttpError> {
        let (admission, transition) = self.circuit().admit(Instant::now(), CallId::of(call));
        if let Some(transition) = transition {
            self.announce(call, transition);
        }
        let (retry_after, reason) = match admission {
            Admission::Pass | Admission::Probe => return Ok(()),
            Admission::Open { left } => {
                let left = ceil_millis(left);
                let reason = format!(
                    "circuit breaker open after transient failures, next probe in {}",
                    humantime::format_duration(left)
                );
                (left, reason)
            }
            Admission::Probing => (
                PROBE_RETRY_AFTER,
                "circuit breaker half-open, its probe call in flight".to_owned(),
            ),
        };
        self.count(CIRCUIT_REJECTED);
        Err(HttpError::refused(
            call.destination(),
            Classification::transient().with_retry_after(Some(retry_after)),
            reason,
        ))
    }

    /// Logs and counts a change of state.
    fn announce(&self, call: &CallInfo, transition: Transition) {
        let destination = call.destination();
        match transition {
            Transition::Opened { failures, open_for } => {
                let open_for = humantime::format_duration(open_for);
                tracing::warn!(
                    destination,
                    failures,
                    open_for = %open_for,
                    "circuit breaker opened: {failures} transient failures in a row; \
                     calls to {destination} refused for {open_for}"
                );
                self.count(CIRCUIT_OPENED);
            }
            Transition::Reopened { open_for } => {
                let open_for = humantime::format_duration(open_for);
                tracing::warn!(
                    destination,
                    open_for = %open_for,
                    "circuit breaker opened again: the probe call failed; \
                     calls to {destination} refused for {open_for}"
                );
                self.count(CIRCUIT_OPENED);
            }
            Transition::HalfOpened => {
                tracing::info!(
                    destination,
                    "circuit breaker half-open: one probe call to {destination} goes"
                );
            }
            Transition::Closed => {
                tracing::info!(
                    destination,
                    "circuit breaker closed: {destination} answered the probe call"
                );
                self.count(CIRCUIT_CLOSED);
            }
        }
    }

    fn count(&self, name: &'static str) {
        if let Some(metrics) = &self.metrics {
            metrics.count(name, 1);
        }
    }
}

impl CallPolicy for CircuitBreaker {
    fn name(&self) -> &str {
        &self.name
    }

    fn before<'a>(&'a self, call: &'a CallInfo) -> PolicyFuture<'a> {
        Box::pin(std::future::ready(self.admit(call)))
    }

    fn after(&self, call: &CallInfo, outcome: CallOutcome<'_>) {
        let transition = self
            .circuit()
            .record(Instant::now(), CallId::of(call), verdict(&outcome));
        if let Some(transition) = transition {
            self.announce(call, transition);
        }
    }
}

/// What a call's outcome says of the destination's health.
fn verdict(outcome: &CallOutcome<'_>) -> Verdict {
    match outcome {
        CallOutcome::Success(_) => Verdict::Answered,
        CallOutcome::Cancelled => Verdict::Unknown,
        CallOutcome::Failure(error) if error.is_refused() => Verdict::Unknown,
        CallOutcome::Failure(error) if error.class() == ErrorClass::Transient => Verdict::Failed,
        // Throttled, permanent or auth, with a response: the destination is up and answering.
        CallOutcome::Failure(error) if error.status_code().is_some() => Verdict::Answered,
        // Without one (a request that could not be built, a body that did not decode): the
        // destination's health is not in question.
        CallOutcome::Failure(_) => Verdict::Unknown,
    }
}

/// `wait` rounded up to the millisecond: a `retry_after` that reads well in logs and never
/// ends before the circuit half-opens.
fn ceil_millis(wait: Duration) -> Duration {
    let millis = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    let floor = Duration::from_millis(millis);
    if floor < wait {
        floor.saturating_add(Duration::from_millis(1))
    } else {
        floor
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::classify::classify_status;
    use crate::http::{Destination, ErrorBody, Failure, HttpClient};
    use reqwest::{Method, StatusCode};
    use std::sync::Arc;

    const SECOND: Duration = Duration::from_secs(1);

    fn breaker(setting: &str) -> CircuitBreaker {
        CircuitBreaker::new(setting.parse().unwrap())
    }

    fn call() -> CallInfo {
        CallInfo::new("crm", Method::POST, None)
    }

    /// The destination's answer with `status`, classified as the client does.
    fn answer(status: u16) -> HttpError {
        let status = StatusCode::from_u16(status).unwrap();
        let classification = classify_status(status, None).unwrap();
        let body = ErrorBody::default();
        HttpError::new("crm", classification, Failure::Status { status, body })
    }

    /// One call through the breaker, ending with `outcome` if it was let through.
    fn go(breaker: &CircuitBreaker, outcome: CallOutcome<'_>) -> Result<(), HttpError> {
        let call = call();
        breaker.admit(&call)?;
        breaker.after(&call, outcome);
        Ok(())
    }

    fn fail(breaker: &CircuitBreaker, status: u16) {
        go(breaker, CallOutcome::Failure(&answer(status))).unwrap();
    }

    fn succeed(breaker: &CircuitBreaker) {
        go(breaker, CallOutcome::Success(StatusCode::OK)).unwrap();
    }

    fn assert_refused_for(err: &HttpError, wait: Duration) {
        assert!(err.is_refused(), "{err}");
        assert_eq!(err.class(), ErrorClass::Transient, "{err}");
        assert_eq!(err.retry_after(), Some(wait), "{err}");
        assert_eq!(err.destination(), "crm");
    }

    /// A `before` that must refuse.
    async fn refused(breaker: &CircuitBreaker, call: &CallInfo) -> HttpError {
        breaker.before(call).await.unwrap_err()
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_the_configured_transient_failures_in_a_row() {
        let breaker = breaker("3 failures, open 30s");
        fail(&breaker, 503);
        fail(&breaker, 500);
        assert_eq!(breaker.state(), CircuitState::Closed);
        fail(&breaker, 504);
        assert_eq!(breaker.state(), CircuitState::Open);
        let err = refused(&breaker, &call()).await;
        assert_refused_for(&err, 30 * SECOND);
        assert_eq!(
            err.to_string(),
            "crm: refused before sending: circuit breaker open after transient failures, next \
             probe in 30s [transient, retry after 30s]"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn throttled_permanent_and_auth_answers_do_not_count() {
        let breaker = breaker("3 failures, open 30s");
        for status in [400, 401, 403, 404, 422, 429, 400, 401, 429, 404] {
            fail(&breaker, status);
        }
        assert_eq!(answer(429).class(), ErrorClass::Throttled);
        assert_eq!(answer(401).class(), ErrorClass::Auth);
        assert_eq!(breaker.state(), CircuitState::Closed);
        // Nor do they add to a run: they end it, the destination having answered.
        fail(&breaker, 503);
        fail(&breaker, 503);
        fail(&breaker, 429);
        fail(&breaker, 503);
        fail(&breaker, 503);
        assert_eq!(breaker.state(), CircuitState::Closed);
        fail(&breaker, 503);
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn a_success_ends_the_run_of_failures() {
        let breaker = breaker("3 failures, open 30s");
        fail(&breaker, 503);
        fail(&breaker, 503);
        succeed(&breaker);
        fail(&breaker, 503);
        fail(&breaker, 503);
        assert_eq!(breaker.state(), CircuitState::Closed);
        fail(&breaker, 503);
        assert_eq!(breaker.state(), CircuitState::Open);
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_and_cancellations_do_not_count() {
        let breaker = breaker("2 failures, open 30s");
        let throttled = Classification::throttled(Some(SECOND));
        let by_limiter = HttpError::refused("crm", throttled, "rate limit");
        let by_breaker = HttpError::refused("crm", Classification::transient(), "open");
        fail(&breaker, 503);
        for _ in 0..5 {
            go(&breaker, CallOutcome::Failure(&by_limiter)).unwrap();
            go(&breaker, CallOutcome::Failure(&by_breaker)).unwrap();
            go(&breaker, CallOutcome::Cancelled).unwrap();
        }
        assert_eq!(breaker.state(), CircuitState::Closed, "none counted");
        fail(&breaker, 503);
        assert_eq!(breaker.state(), CircuitState::Open, "none ended the run");
    }

    #[tokio::test(start_paused = true)]
    async fn open_refuses_with_the_time_left_until_the_probe() {
        let breaker = breaker("1 failure, open 30s");
        fail(&breaker, 503);
        tokio::time::advance(Duration::from_millis(12_250)).await;
        let err = refused(&breaker, &call()).await;
        assert_refused_for(&err, Duration::from_millis(17_750));
        tokio::time::advance(Duration::from_millis(17_749)).await;
        assert_refused_for(&refused(&breaker, &call()).await, Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn half_open_lets_exactly_one_probe_through_and_its_success_closes() {
        let breaker = breaker("1 failure, open 30s");
        fail(&breaker, 503);
        tokio::time::advance(30 * SECOND).await;
        assert_eq!(breaker.state(), CircuitState::HalfOpen);

        let probe = call();
        breaker.before(&probe).await.unwrap();
        for _ in 0..3 {
            let err = refused(&breaker, &call()).await;
            assert_refused_for(&err, PROBE_RETRY_AFTER);
            assert!(err.to_string().contains("probe call in flight"), "{err}");
        }
        breaker.after(&probe, CallOutcome::Success(StatusCode::OK));
        assert_eq!(breaker.state(), CircuitState::Closed);
        succeed(&breaker);
        succeed(&breaker);
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_answered_with_a_client_error_closes_too() {
        let breaker = breaker("1 failure, open 30s");
        fail(&breaker, 503);
        tokio::time::advance(30 * SECOND).await;
        fail(&breaker, 422);
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_probe_opens_the_circuit_again_for_longer() {
        let breaker = breaker("1 failure, open 30s up to 45s");
        fail(&breaker, 503);
        tokio::time::advance(30 * SECOND).await;
        fail(&breaker, 502);
        assert_eq!(breaker.state(), CircuitState::Open);
        assert_refused_for(&refused(&breaker, &call()).await, 45 * SECOND);
        tokio::time::advance(45 * SECOND).await;
        fail(&breaker, 500);
        assert_refused_for(&refused(&breaker, &call()).await, 45 * SECOND);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_probe_gives_its_slot_to_the_next_call() {
        let breaker = breaker("1 failure, open 30s");
        fail(&breaker, 503);
        tokio::time::advance(30 * SECOND).await;
        let first = call();
        breaker.before(&first).await.unwrap();
        breaker.after(&first, CallOutcome::Cancelled);
        assert_eq!(breaker.state(), CircuitState::HalfOpen);

        // The next call probes, and holds the slot in turn.
        let second = call();
        breaker.before(&second).await.unwrap();
        assert_refused_for(&refused(&breaker, &call()).await, PROBE_RETRY_AFTER);
        // Refused by a policy further in, it gives the slot back too.
        let limited = HttpError::refused("crm", Classification::throttled(None), "rate limit");
        breaker.after(&second, CallOutcome::Failure(&limited));
        let third = call();
        breaker.before(&third).await.unwrap();
        breaker.after(&third, CallOutcome::Success(StatusCode::OK));
        assert_eq!(breaker.state(), CircuitState::Closed);
    }

    #[tokio::test(start_paused = true)]
    async fn transitions_and_refusals_are_counted() {
        let metrics = Metrics::builder().without_cold_start().build().unwrap();
        let breaker = breaker("1 failure, open 30s").with_metrics(metrics.clone());
        fail(&breaker, 503);
        refused(&breaker, &call()).await;
        tokio::time::advance(30 * SECOND).await;
        let probe = call();
        breaker.before(&probe).await.unwrap();
        refused(&breaker, &call()).await;
        breaker.after(&probe, CallOutcome::Failure(&answer(503)));
        tokio::time::advance(60 * SECOND).await;
        succeed(&breaker);

        let lines = metrics.take_lines();
        let emf: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(emf[CIRCUIT_OPENED], 2, "{emf}");
        assert_eq!(emf[CIRCUIT_REJECTED], 2, "{emf}");
        assert_eq!(emf[CIRCUIT_CLOSED], 1, "{emf}");
    }

    #[test]
    fn names_its_setting() {
        let breaker = breaker("5 failures, open 30s up to 10m");
        assert_eq!(
            breaker.name(),
            "circuit breaker 5 failures, open 30s up to 10m"
        );
        assert_eq!(breaker.config(), CircuitBreakerConfig::default());
        let debug = format!("{breaker:?}");
        assert!(debug.contains("5 failures, open 30s up to 10m"), "{debug}");
        assert!(debug.contains("Closed"), "{debug}");
    }

    #[test]
    fn retry_after_is_rounded_up_to_the_millisecond() {
        assert_eq!(
            ceil_millis(Duration::from_micros(1500)),
            Duration::from_millis(2)
        );
        assert_eq!(
            ceil_millis(Duration::from_millis(3)),
            Duration::from_millis(3)
        );
        assert_eq!(ceil_millis(Duration::ZERO), Duration::ZERO);
    }

    /// Through the client: after three 503s the destination is no longer called.
    #[tokio::test]
    async fn an_open_circuit_stops_calls_reaching_the_destination() {
        use wiremock::matchers::any;
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(503))
            .expect(3)
            .mount(&server)
            .await;
        let breaker = Arc::new(breaker("3 failures, open 30s"));
        let dest = Destination::new("crm", &server.uri())
            .unwrap()
            .with_policy(breaker.clone());
        let http = HttpClient::new("t").unwrap();
        let post = || http.send(&dest, http.request(Method::POST, &dest, "x").unwrap());
        for _ in 0..3 {
            let err = post().await.unwrap_err();
            assert!(!err.is_refused(), "{err}");
            assert_eq!(err.status_code(), Some(StatusCode::SERVICE_UNAVAILABLE));
        }
        assert_eq!(breaker.state(), CircuitState::Open);
        for _ in 0..5 {
            let err = post().await.unwrap_err();
            assert!(err.is_refused(), "{err}");
            assert_eq!(err.class(), ErrorClass::Transient);
            assert!(
                err.retry_after()
                    .is_some_and(|left| left > 25 * SECOND && left <= 30 * SECOND),
                "{err}"
            );
        }
        server.verify().await;
    }

    /// Through the client, on real time once half-open: a probe dropped while in flight (the
    /// runner's cutoff) gives its slot back, and the next call probes and closes the circuit.
    #[tokio::test(start_paused = true)]
    async fn a_probe_dropped_in_flight_frees_the_slot_for_the_next_call() {
        use wiremock::matchers::any;
        use wiremock::{Mock, MockServer, ResponseTemplate};

        let breaker = Arc::new(breaker("1 failure, open 30s"));
        fail(&breaker, 503);
        tokio::time::advance(30 * SECOND).await;
        tokio::time::resume();

        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_delay(5 * SECOND))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200))
            .expect(1)
            .mount(&server)
            .await;
        let dest = Destination::new("crm", &server.uri())
            .unwrap()
            .with_policy(breaker.clone());
        let http = HttpClient::new("t").unwrap();
        let post = || http.send(&dest, http.request(Method::POST, &dest, "x").unwrap());

        let mut probe = Box::pin(post());
        let waited = tokio::time::timeout(Duration::from_millis(100), probe.as_mut()).await;
        assert!(waited.is_err(), "the probe waits for its slow answer");
        let err = post().await.unwrap_err();
        assert_refused_for(&err, PROBE_RETRY_AFTER);
        drop(probe);

        assert_eq!(breaker.state(), CircuitState::HalfOpen);
        post().await.unwrap();
        assert_eq!(breaker.state(), CircuitState::Closed);
        server.verify().await;
    }

    /// Through the client, connection errors (nothing listening) count as transient failures.
    #[tokio::test]
    async fn connection_errors_open_the_circuit() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let breaker = Arc::new(breaker("2 failures, open 30s"));
        let dest = Destination::new("crm", &format!("http://127.0.0.1:{port}"))
            .unwrap()
            .with_policy(breaker.clone());
        let http = HttpClient::new("t").unwrap();
        for _ in 0..2 {
            let err = http
                .send(&dest, http.request(Method::GET, &dest, "x").unwrap())
                .await
                .unwrap_err();
            assert_eq!(err.class(), ErrorClass::Transient, "{err}");
            assert_eq!(err.status_code(), None);
        }
        assert_eq!(breaker.state(), CircuitState::Open);
    }
}
