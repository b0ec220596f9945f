//! The circuit breaker's metrics, by name: counts recorded on the [`Metrics`] handle given to
//! [`CircuitBreaker::with_metrics`](super::CircuitBreaker::with_metrics), flushed with the
//! invocation's other metrics.
//!
//! | name | unit | counts |
//! |---|---|---|
//! | [`CIRCUIT_OPENED`] | count | times a circuit opened: after the failures in a row, or again after a failed probe |
//! | [`CIRCUIT_CLOSED`] | count | times a probe was answered and closed a circuit |
//! | [`CIRCUIT_REJECTED`] | count | calls refused without being sent, the circuit open or its probe in flight |
//!
//! The names carry no destination: EMF dimensions are fixed per handle (the `service`), and a
//! deliverer calls one destination. The log line of each transition names it.
//! There is no state gauge: the kit's [`Metrics`] records counts and latencies only; an alarm
//! on `circuit_opened` > 0 says the same.
//!
//! [`Metrics`]: crate::telemetry::Metrics

/// Times a circuit opened (from closed, or again from half-open).
pub const CIRCUIT_OPENED: &str = "circuit_opened";
/// Times a circuit closed after a probe was answered.
pub const CIRCUIT_CLOSED: &str = "circuit_closed";
/// Calls refused without being sent because a circuit was open or probing.
pub const CIRCUIT_REJECTED: &str = "circuit_rejected";
