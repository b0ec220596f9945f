//! Circuit breaking per destination: [`CircuitBreaker`], a [`CallPolicy`](super::CallPolicy)
//! that stops calling a destination after transient failures in a row and refuses its calls at
//! once, for a while, instead of sending each one to fail after a timeout.
//!
//! Why, when the batch runner retries anyway: a SaaS API that is down answers every record of
//! every batch with a 503 or a timeout, and each of those costs the invocation a round trip or
//! up to the client's 10-second timeout, retries within the invocation included. With the circuit open, a record is handed back to the queue in microseconds,
//! visible again when the breaker means to try the destination, and the destination is spared
//! the load while it recovers; one probe call then finds out whether it is back.
//!
//! # What counts
//!
//! | outcome of a call | closed | half-open (the probe) |
//! |---|---|---|
//! | [transient](crate::ErrorClass::Transient) failure: 5xx, 408, timeout, connection error | one more in the run; the run reaching `failures` opens | opens again, for twice as long (capped) |
//! | success | ends the run | closes |
//! | throttled, permanent or auth answer (429, 503 with `Retry-After`, 4xx) | ends the run: the destination answered | closes |
//! | refused by another policy, cancelled, failed with no response and not transient (a request that could not be built, a body that did not decode) | nothing | gives the probe slot back |
//!
//! Throttled answers do not count: the destination is up and says when to come back, which the
//! rate limiter and the runner's `Retry-After` handling already honour; opening the circuit on
//! them would only hide that delay behind the breaker's. Permanent and auth failures are about
//! the request or the function's credentials, not the destination's health.
//!
//! # What a refusal carries
//!
//! Open, a call is refused with [`HttpError::refused`](super::HttpError::refused),
//! [`Classification::transient`](crate::Classification::transient) and the time left until
//! the circuit half-opens as `retry_after` (rounded up to the millisecond); half-open with the
//! probe in flight, with [`PROBE_RETRY_AFTER`]. The batch runner uses a transient failure's
//! server delay as the record's visibility (see [`crate::batch::schedule`]), so the record
//! comes back when a call could go. Each refusal is a receive of the record: over a long outage
//! records come back at the breaker's pace (30 s, 1 min, ... up to 10 min by default) rather
//! than on the redelivery schedule's, so `MAX_ATTEMPTS` should leave room for it (50 attempts
//! at the 10-minute cap last about eight hours).
//!
//! # Why hand-written
//!
//! [`failsafe`](https://docs.rs/failsafe) (1.3) is the established crate, and the model for the
//! states and the doubling open period, but does not fit the hooks: its half-open state lets
//! calls through rather than exactly one probe, `is_call_permitted` answers yes or no without
//! the time left that the refusal's `retry_after` needs, it has no way to hand back a probe
//! slot when a call is cancelled, and it reads `std::time::Instant`, which tokio's paused test
//! time does not drive. [`recloser`](https://docs.rs/recloser) wraps the call itself
//! (`call(f)`), where a [`CallPolicy`](super::CallPolicy) only sees before and after, and
//! judges by a failure rate over a ring of calls, also in half-open; tower has no circuit
//! breaker. The state machine here is some hundred lines (`circuit.rs`): a plain struct under
//! one short `std::sync::Mutex` section per hook (no await, no log or metric inside it), on
//! tokio's clock.
//!
//! # Configuration
//!
//! One environment variable, e.g. `CIRCUIT_BREAKER="5 failures, open 30s up to 10m"`, or
//! `off` ([`CircuitBreakerConfig`] documents the form, [`CircuitBreakerConfig::from_env`]
//! reads it; unset, the default above applies).
//!
//! | file | concept |
//! |---|---|
//! | `config.rs` | [`CircuitBreakerConfig`]: failures, open period and its cap, the text form, the environment |
//! | `circuit.rs` | [`CircuitState`] and the state machine, on instants handed in |
//! | `breaker.rs` | [`CircuitBreaker`]: the policy: outcomes to verdicts, refusals, logs and metrics |
//! | `metrics.rs` | the metric names |

mod breaker;
mod circuit;
mod config;
pub mod metrics;

pub use self::breaker::{CircuitBreaker, PROBE_RETRY_AFTER};
pub use self::circuit::CircuitState;
pub use self::config::{
    CircuitBreakerConfig, CircuitBreakerEnvError, Clause, ParseCircuitBreakerError,
};
