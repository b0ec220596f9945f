//! [`Circuit`]: the breaker's state machine — closed, open, half-open — on instants handed in,
//! with no lock, clock, log or metric of its own, so every transition is a plain function call
//! its tests can make.

use std::time::Duration;

use tokio::time::Instant;

use super::CircuitBreakerConfig;

/// The state of a circuit, as [`CircuitBreaker::state`](super::CircuitBreaker::state) reports
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    /// Calls pass; transient failures in a row are counted.
    Closed,
    /// Calls are refused without being sent, until the open period ends.
    Open,
    /// The open period is over: the next call goes as the probe (or one already is in flight)
    /// and decides whether the circuit closes or opens again.
    HalfOpen,
}

impl CircuitState {
    /// The lower-case name used in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            CircuitState::Closed => "closed",
            CircuitState::Open => "open",
            CircuitState::HalfOpen => "half-open",
        }
    }
}

/// Which call an outcome belongs to: the address of the call's [`CallInfo`]
/// (see [`CallId::of`]).
///
/// [`CallInfo`]: crate::http::CallInfo
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct CallId(usize);

impl CallId {
    /// The id of the call `info` describes.
    ///
    /// The client lends the same `CallInfo` to a call's `before` and `after` and keeps it alive
    /// in between, so two calls in flight never share an address: enough to tell the probe's
    /// outcome from that of a call let through before the circuit opened and still running.
    pub(super) fn of<T>(info: &T) -> Self {
        CallId(std::ptr::from_ref(info).addr())
    }
}

/// How a finished call bears on the destination's health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// The destination answered: a success, or an answer that is not a transient failure.
    Answered,
    /// A transient failure: a 5xx, a timeout, a connection error.
    Failed,
    /// Nothing learnt: the call was cancelled, refused by another policy, or failed before
    /// reaching the destination.
    Unknown,
}

/// What [`Circuit::admit`] decides for a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// The circuit is closed: the call goes.
    Pass,
    /// The circuit is half-open and the call is its probe.
    Probe,
    /// The circuit is open, for `left` more.
    Open {
        /// Time left until the circuit half-opens.
        left: Duration,
    },
    /// The circuit is half-open and another call is probing.
    Probing,
}

/// A change of state, for the breaker to log and count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transition {
    /// Closed → open, after `failures` transient failures in a row, for `open_for`.
    Opened {
        /// The failures that opened it.
        failures: u32,
        /// How long it stays open.
        open_for: Duration,
    },
    /// Half-open → open: the probe failed; open for `open_for` (grown).
    Reopened {
        /// How long it stays open.
        open_for: Duration,
    },
    /// Open → half-open: the open period is over, a probe goes.
    HalfOpened,
    /// Half-open → closed: the probe was answered.
    Closed,
}

/// The call let through as the half-open circuit's probe.
#[derive(Debug, Clone, Copy)]
struct Probe {
    call: CallId,
    since: Instant,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        open_for: Duration,
    },
    HalfOpen {
        /// The open period that ended, doubled if the probe fails.
        open_for: Duration,
        probe: Option<Probe>,
    },
}

/// A circuit's state and its rules; see the [module documentation](super).
#[derive(Debug)]
pub(super) struct Circuit {
    config: CircuitBreakerConfig,
    phase: Phase,
}

impl Circuit {
    /// A closed circuit.
    pub(super) fn new(config: CircuitBreakerConfig) -> Self {
        Self {
            config,
            phase: Phase::Closed { failures: 0 },
        }
    }

    /// The state at `now` (an open period that has ended reads as half-open).
    pub(super) fn state(&self, now: Instant) -> CircuitState {
        match self.phase {
            Phase::Closed { .. } => CircuitState::Closed,
            Phase::Open { until, .. } if now < until => CircuitState::Open,
            Phase::Open { .. } | Phase::HalfOpen { .. } => CircuitState::HalfOpen,
        }
    }

    /// Decides whether `call` may go at `now`; half-opens an open circuit whose period is over,
    /// the call becoming the probe.
    pub(super) fn admit(&mut self, now: Instant, call: CallId) -> (Admission, Option<Transition>) {
        let probe = Some(Probe { call, since: now });
        match self.phase {
            Phase::Closed { .. } => (Admission::Pass, None),
            Phase::Open { until, open_for } => {
                if now < until {
                    (
                        Admission::Open {
                            left: until.duration_since(now),
                        },
                        None,
                    )
                } else {
                    self.phase = Phase::HalfOpen { open_for, probe };
                    (Admission::Probe, Some(Transition::HalfOpened))
                }
            }
            Phase::HalfOpen {
                probe: Some(Probe { since, .. }),
                ..
            } if now.duration_since(since) < self.config.open_for() => (Admission::Probing, None),
            // No probe in flight, or one out longer than an open period: lost (its outcome
            // never came back), so this call probes instead.
            Phase::HalfOpen { open_for, .. } => {
                self.phase = Phase::HalfOpen { open_for, probe };
                (Admission::Probe, None)
            }
        }
    }

    /// Takes `call`'s outcome into account at `now`.
    ///
    /// Closed, every call counts: a transient failure adds one to the run (opening the circuit
    /// when it reaches the configured failures), an answer ends the run. Half-open, only the
    /// probe's outcome counts: an answer closes the circuit, a failure opens it again for twice
    /// as long (capped), an unknown outcome gives the probe slot back. Open, nothing counts:
    /// the outcomes are those of calls let through before it opened.
    pub(super) fn record(
        &mut self,
        now: Instant,
        call: CallId,
        verdict: Verdict,
    ) -> Option<Transition> {
        match (self.phase, verdict) {
            (Phase::Closed { failures }, Verdict::Failed) => {
                let failures = failures.saturating_add(1);
                if failures < self.config.failures().get() {
                    self.phase = Phase::Closed { failures };
                    return None;
                }
                let open_for = self.config.open_for();
                self.open(now, open_for);
                Some(Transition::Opened { failures, open_for })
            }
            (Phase::Closed { .. }, Verdict::Answered) => {
                self.phase = Phase::Closed { failures: 0 };
                None
            }
            (
                Phase::HalfOpen {
                    open_for,
                    probe: Some(probe),
                },
                verdict,
            ) if probe.call == call => match verdict {
                Verdict::Answered => {
                    self.phase = Phase::Closed { failures: 0 };
                    Some(Transition::Closed)
                }
                Verdict::Failed => {
                    let open_for = open_for.saturating_mul(2).min(self.config.max_open_for());
                    self.open(now, open_for);
                    Some(Transition::Reopened { open_for })
                }
                Verdict::Unknown => {
                    self.phase = Phase::HalfOpen {
                        open_for,
                        probe: None,
                    };
                    None
                }
            },
            _ => None,
        }
    }

    fn open(&mut self, now: Instant, open_for: Duration) {
        // An open period beyond the clock's range: as long as the clock goes.
        let until = now.checked_add(open_for).unwrap_or_else(|| far_future(now));
        self.phase = Phase::Open { until, open_for };
    }
}

/// About 30 years from `now`.
fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(86_400 * 365 * 30)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);
    const A: CallId = CallId(1);
    const B: CallId = CallId(2);

    /// `2 failures, open 10s up to 25s`.
    fn circuit() -> Circuit {
        Circuit::new("2 failures, open 10s up to 25s".parse().unwrap())
    }

    /// Opens `circuit` at `now` with two failures.
    fn open(circuit: &mut Circuit, now: Instant) {
        circuit.record(now, A, Verdict::Failed);
        let opened = circuit.record(now, A, Verdict::Failed);
        assert!(matches!(
            opened,
            Some(Transition::Opened { failures: 2, .. })
        ));
    }

    #[test]
    fn each_failed_probe_doubles_the_open_period_up_to_the_cap() {
        let mut circuit = circuit();
        let mut now = Instant::now();
        open(&mut circuit, now);
        let mut periods = Vec::new();
        for _ in 0..3 {
            now += 30 * SECOND;
            assert_eq!(circuit.admit(now, A).0, Admission::Probe);
            match circuit.record(now, A, Verdict::Failed) {
                Some(Transition::Reopened { open_for }) => periods.push(open_for),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(periods, [20 * SECOND, 25 * SECOND, 25 * SECOND]);
        assert_eq!(
            circuit.admit(now + 24 * SECOND, B).0,
            Admission::Open { left: SECOND }
        );

        // Closed again, the next opening starts from the configured period.
        now += 30 * SECOND;
        circuit.admit(now, A);
        assert_eq!(
            circuit.record(now, A, Verdict::Answered),
            Some(Transition::Closed)
        );
        open(&mut circuit, now);
        assert_eq!(
            circuit.admit(now + 9 * SECOND, B).0,
            Admission::Open { left: SECOND }
        );
    }

    #[test]
    fn outcomes_of_calls_from_before_the_opening_change_nothing() {
        let mut circuit = circuit();
        let now = Instant::now();
        open(&mut circuit, now);
        // A call let through while closed ends while the circuit is open...
        assert_eq!(circuit.record(now + SECOND, B, Verdict::Answered), None);
        assert_eq!(circuit.record(now + SECOND, B, Verdict::Failed), None);
        assert_eq!(circuit.state(now + SECOND), CircuitState::Open);
        // ... or while A probes: A's slot stays taken, and only A's outcome decides.
        let later = now + 10 * SECOND;
        assert_eq!(
            circuit.admit(later, A),
            (Admission::Probe, Some(Transition::HalfOpened))
        );
        for verdict in [Verdict::Answered, Verdict::Failed, Verdict::Unknown] {
            assert_eq!(circuit.record(later, B, verdict), None);
        }
        assert_eq!(circuit.admit(later, B).0, Admission::Probing);
        assert_eq!(
            circuit.record(later, A, Verdict::Answered),
            Some(Transition::Closed)
        );
    }

    #[test]
    fn a_probe_out_longer_than_an_open_period_is_taken_as_lost() {
        let mut circuit = circuit();
        let now = Instant::now();
        open(&mut circuit, now);
        let half_open = now + 10 * SECOND;
        assert_eq!(circuit.admit(half_open, A).0, Admission::Probe);
        assert_eq!(
            circuit.admit(half_open + 9 * SECOND, B).0,
            Admission::Probing
        );
        assert_eq!(
            circuit.admit(half_open + 10 * SECOND, B).0,
            Admission::Probe
        );
        // The lost probe's outcome, should it come after all, no longer decides.
        assert_eq!(
            circuit.record(half_open + 11 * SECOND, A, Verdict::Answered),
            None
        );
        assert_eq!(
            circuit.state(half_open + 11 * SECOND),
            CircuitState::HalfOpen
        );
    }

    #[test]
    fn unknown_outcomes_neither_count_nor_end_a_run() {
        let mut circuit = circuit();
        let now = Instant::now();
        circuit.record(now, A, Verdict::Failed);
        circuit.record(now, A, Verdict::Unknown);
        assert_eq!(circuit.state(now), CircuitState::Closed);
        assert!(
            circuit.record(now, A, Verdict::Failed).is_some(),
            "two in a row"
        );
    }

    #[test]
    fn an_open_period_past_the_clocks_range_does_not_panic() {
        let config = CircuitBreakerConfig::new(std::num::NonZeroU32::MIN, Duration::MAX).unwrap();
        let mut circuit = Circuit::new(config);
        let now = Instant::now();
        circuit.record(now, A, Verdict::Failed);
        assert_eq!(
            circuit.state(now + 86_400 * 365 * SECOND),
            CircuitState::Open
        );
    }

    #[test]
    fn call_ids_tell_live_values_apart() {
        let (x, y) = (1_u8, 1_u8);
        assert_eq!(CallId::of(&x), CallId::of(&x));
        assert_ne!(CallId::of(&x), CallId::of(&y));
    }
}
