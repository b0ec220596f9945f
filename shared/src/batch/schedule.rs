//! When a record handed back to SQS comes back, and when the runner stops trying.
//!
//! Lambda's partial batch response leaves a failed record's visibility alone and the queue's
//! redrive policy moves it to the dead-letter queue after `maxReceiveCount` receives — with a
//! 1-second backoff and five receives, a 30-second outage of a SaaS API would dead-letter every
//! record in flight, without saying why. Webhook senders retry for days instead (Svix:
//! 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; Standard Webhooks about three days), and so does the
//! runner: each record handed back gets a visibility timeout from a [`RedeliverySchedule`], and
//! the runner itself dead-letters a record — with its class and reason — once its retry period
//! (measured from its first receive) or its attempts run out. The queue's `maxReceiveCount`
//! stays as a backstop set above [`RedeliverySchedule::max_attempts`], for records that never
//! reach the runner (a function that crashes on them).
//!
//! | failure | visibility before the next try |
//! |---|---|
//! | throttled with a server delay (`Retry-After`) | that delay: the server knows best |
//! | transient with a delay (an open circuit breaker, a locked record) | that delay or the schedule's for this attempt, whichever is longer: the attempts last the retry period even through a long outage |
//! | throttled or transient without one | the schedule's delay for this attempt (±10 % jitter), the last one repeating |
//! | auth (a failure of the function: missing secret, rejected token) | [`function_failure_delay`](RedeliverySchedule::function_failure_delay), the long end of the schedule |
//!
//! Every delay is cut so the last try falls at the end of the retry period, and capped at SQS's
//! 12 hours. Configured by environment (see [`RedeliverySchedule::from_lookup`]):
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `REDELIVERY_SCHEDULE` | `5s,5m,30m,2h,5h,10h,10h` | delays before the 2nd, 3rd, … attempt; the last repeats |
//! | `RETRY_PERIOD` | `72h` | from the first receive; then the record is dead-lettered with its last class and reason |
//! | `MAX_ATTEMPTS` | `50` | receives after which the record is dead-lettered even within the period |
//! | `FUNCTION_FAILURE_DELAY` | `30m` | delay for auth failures: often enough that a fixed secret heals the backlog within half an hour, rarely enough not to hammer a broken configuration |
//!
//! The queue's `MessageRetentionPeriod` must exceed the retry period (the template sets 14 days),
//! or SQS deletes records the runner still means to retry.

use std::time::Duration;

use crate::taxonomy::{Classification, ErrorClass};

/// SQS's limit on a visibility timeout: 12 hours.
pub const MAX_VISIBILITY: Duration = Duration::from_secs(12 * 60 * 60);

/// The environment variable with the delays, e.g. `5s,5m,30m,2h,5h,10h,10h`.
pub const SCHEDULE_ENV: &str = "REDELIVERY_SCHEDULE";
/// The environment variable with the retry period, e.g. `72h`.
pub const RETRY_PERIOD_ENV: &str = "RETRY_PERIOD";
/// The environment variable with the most receives before dead-lettering.
pub const MAX_ATTEMPTS_ENV: &str = "MAX_ATTEMPTS";
/// The environment variable with the delay after a failure of the function itself.
pub const FUNCTION_FAILURE_DELAY_ENV: &str = "FUNCTION_FAILURE_DELAY";

/// What to do with a record that failed and may be retried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redelivery {
    /// Hand it back to SQS, invisible for this long.
    After(Duration),
    /// Stop: dead-letter it, saying why (the retry period or the attempts ran out).
    GiveUp(String),
}

/// Why a schedule from the environment was refused; names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{variable}`: {problem}")]
pub struct ScheduleError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

/// The redelivery schedule; see the [module documentation](self).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedeliverySchedule {
    delays: Vec<Duration>,
    retry_period: Duration,
    max_attempts: u32,
    function_failure_delay: Duration,
}

impl Default for RedeliverySchedule {
    /// Svix's schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) over Standard Webhooks' three
    /// days, at most 50 attempts, 30 minutes after a failure of the function.
    fn default() -> Self {
        let minutes = |m: u64| Duration::from_secs(m * 60);
        Self {
            delays: vec![
                Duration::from_secs(5),
                minutes(5),
                minutes(30),
                minutes(120),
                minutes(300),
                minutes(600),
                minutes(600),
            ],
            retry_period: Duration::from_secs(72 * 3600),
            max_attempts: 50,
            function_failure_delay: minutes(30),
        }
    }
}

impl RedeliverySchedule {
    /// A schedule with these delays (before the 2nd, 3rd, … attempt; the last repeats), retry
    /// period and attempt limit, and the default function-failure delay.
    ///
    /// # Errors
    /// No delays, a delay over SQS's 12 hours, a zero period or zero attempts.
    pub fn new(
        delays: Vec<Duration>,
        retry_period: Duration,
        max_attempts: u32,
    ) -> Result<Self, ScheduleError> {
        let schedule = Self {
            delays,
            retry_period,
            max_attempts,
            ..Self::default()
        };
        schedule.validate()?;
        Ok(schedule)
    }

    /// The same schedule with another delay for failures of the function itself (auth).
    ///
    /// # Errors
    /// A delay over SQS's 12 hours.
    pub fn with_function_failure_delay(mut self, delay: Duration) -> Result<Self, ScheduleError> {
        self.function_failure_delay = delay;
        self.validate()?;
        Ok(self)
    }

    /// The schedule the environment describes, defaults for what it leaves out.
    ///
    /// # Errors
    /// A variable that does not parse or describes an impossible schedule.
    pub fn from_env() -> Result<Self, ScheduleError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`RedeliverySchedule::from_env`] with the environment injected. Durations are
    /// [`humantime`]'s (`5s`, `30m`, `2h`, `1h 30m`, `3days`); the schedule is comma-separated.
    ///
    /// # Errors
    /// As [`RedeliverySchedule::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ScheduleError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut schedule = Self::default();
        if let Some(value) = set(SCHEDULE_ENV) {
            schedule.delays = value
                .split(',')
                .map(|part| parse_duration(SCHEDULE_ENV, part))
                .collect::<Result<_, _>>()?;
        }
        if let Some(value) = set(RETRY_PERIOD_ENV) {
            schedule.retry_period = parse_duration(RETRY_PERIOD_ENV, &value)?;
        }
        if let Some(value) = set(MAX_ATTEMPTS_ENV) {
            schedule.max_attempts = value.trim().parse().map_err(|_| ScheduleError {
                variable: MAX_ATTEMPTS_ENV,
                problem: "not a whole number".into(),
            })?;
        }
        if let Some(value) = set(FUNCTION_FAILURE_DELAY_ENV) {
            schedule.function_failure_delay = parse_duration(FUNCTION_FAILURE_DELAY_ENV, &value)?;
        }
        schedule.validate()?;
        Ok(schedule)
    }

    fn validate(&self) -> Result<(), ScheduleError> {
        let problem = |variable, problem: &str| {
            Err(ScheduleError {
                variable,
                problem: problem.into(),
            })
        };
        if self.delays.is_empty() {
            return problem(SCHEDULE_ENV, "no delays");
        }
        if self.delays.iter().any(|d| *d > MAX_VISIBILITY) {
            return problem(SCHEDULE_ENV, "a delay is longer than SQS's 12-hour maximum");
        }
        if self.retry_period.is_zero() {
            return problem(RETRY_PERIOD_ENV, "must be longer than zero");
        }
        if self.max_attempts == 0 {
            return problem(MAX_ATTEMPTS_ENV, "must be at least 1");
        }
        if self.function_failure_delay > MAX_VISIBILITY {
            return problem(
                FUNCTION_FAILURE_DELAY_ENV,
                "longer than SQS's 12-hour maximum",
            );
        }
        Ok(())
    }

    /// The delays before the 2nd, 3rd, … attempt.
    pub fn delays(&self) -> &[Duration] {
        &self.delays
    }

    /// How long after its first receive a record is still retried.
    pub fn retry_period(&self) -> Duration {
        self.retry_period
    }

    /// The most receives of a record before it is dead-lettered. The queue's `maxReceiveCount`
    /// must be above this, so the runner, not the redrive policy, decides.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The delay after a failure of the function itself (auth).
    pub fn function_failure_delay(&self) -> Duration {
        self.function_failure_delay
    }

    /// The scheduled delay after the `attempt`-th attempt failed (1-based), before jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        let index = usize::try_from(attempt.max(1) - 1).unwrap_or(usize::MAX);
        self.delays
            .get(index)
            .or(self.delays.last())
            .copied()
            .unwrap_or_default()
    }

    /// What to do after the `attempt`-th attempt failed with `failure`, the record having been
    /// first received `age` ago (`None` when SQS did not say).
    ///
    /// Only for retryable and auth failures: a permanent one is dead-lettered by the caller.
    pub fn next(&self, failure: Classification, attempt: u32, age: Option<Duration>) -> Redelivery {
        if attempt >= self.max_attempts {
            return Redelivery::GiveUp(format!("gave up after {attempt} attempts"));
        }
        if let Some(age) = age.filter(|a| *a >= self.retry_period) {
            return Redelivery::GiveUp(format!(
                "gave up after {attempt} attempts: the retry period of {} ended ({} since the first receive)",
                humantime::format_duration(self.retry_period),
                humantime::format_duration(Duration::from_secs(age.as_secs())),
            ));
        }
        let delay = match (failure.class, failure.retry_after) {
            (ErrorClass::Auth, _) => self.function_failure_delay,
            // A transient failure's hint (an open circuit, a locked record) is a floor, not the
            // schedule: otherwise a circuit open for minutes at a time would spend the record's
            // attempts in hours instead of its retry period.
            (ErrorClass::Transient, Some(hint)) => hint.max(jitter(self.delay(attempt))),
            (_, Some(server)) => server,
            _ => jitter(self.delay(attempt)),
        };
        let left = age.map_or(Duration::MAX, |a| self.retry_period - a);
        Redelivery::After(delay.min(left).min(MAX_VISIBILITY))
    }
}

/// `delay` spread uniformly over ±10 %, so a backlog handed back together does not come back
/// together.
fn jitter(delay: Duration) -> Duration {
    let tenth = delay / 10;
    let spread = u64::try_from((tenth * 2).as_millis()).unwrap_or(u64::MAX);
    (delay - tenth) + Duration::from_millis(fastrand::u64(0..=spread))
}

fn parse_duration(variable: &'static str, value: &str) -> Result<Duration, ScheduleError> {
    humantime::parse_duration(value.trim()).map_err(|e| ScheduleError {
        variable,
        problem: format!("`{}` is not a duration ({e})", value.trim()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const MIN: Duration = Duration::from_secs(60);
    const HOUR: Duration = Duration::from_secs(3600);

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    fn after(r: Redelivery) -> Duration {
        match r {
            Redelivery::After(d) => d,
            Redelivery::GiveUp(why) => panic!("gave up: {why}"),
        }
    }

    #[test]
    fn the_default_is_svix_over_three_days() {
        let s = RedeliverySchedule::default();
        assert_eq!(s.delay(1), Duration::from_secs(5));
        assert_eq!(s.delay(2), 5 * MIN);
        assert_eq!(s.delay(3), 30 * MIN);
        assert_eq!(s.delay(4), 2 * HOUR);
        assert_eq!(s.delay(5), 5 * HOUR);
        assert_eq!(s.delay(6), 10 * HOUR);
        assert_eq!(s.delay(7), 10 * HOUR);
        assert_eq!(s.delay(40), 10 * HOUR, "the last delay repeats");
        assert_eq!(s.delay(0), Duration::from_secs(5));
        assert_eq!(s.retry_period(), 72 * HOUR);
        assert_eq!(s.max_attempts(), 50);
        assert_eq!(s.function_failure_delay(), 30 * MIN);
        assert_eq!(RedeliverySchedule::from_lookup(env(&[])), Ok(s));
    }

    #[test]
    fn delays_are_jittered_by_ten_percent() {
        let s = RedeliverySchedule::default();
        for _ in 0..200 {
            let d = after(s.next(Classification::transient(), 2, None));
            assert!(
                d >= 270 * Duration::from_secs(1) && d <= 330 * Duration::from_secs(1),
                "{d:?}"
            );
        }
    }

    #[test]
    fn the_servers_delay_takes_precedence() {
        let s = RedeliverySchedule::default();
        let throttled = Classification::throttled(Some(Duration::from_secs(7)));
        assert_eq!(after(s.next(throttled, 5, None)), Duration::from_secs(7));
        let transient = Classification::transient().with_retry_after(Some(2 * HOUR));
        assert_eq!(after(s.next(transient, 1, None)), 2 * HOUR);
        // A transient hint shorter than the schedule's delay is only a floor: an open circuit
        // breaker (30 s) late in an outage does not spend attempts faster than the schedule.
        let circuit = Classification::transient().with_retry_after(Some(Duration::from_secs(30)));
        let d = after(s.next(circuit, 4, None));
        assert!(
            d >= 2 * HOUR - 12 * MIN && d <= 2 * HOUR + 12 * MIN,
            "{d:?}"
        );
        assert_eq!(after(s.next(circuit, 1, None)), Duration::from_secs(30));
        let day = Classification::throttled(Some(24 * HOUR));
        assert_eq!(after(s.next(day, 1, None)), MAX_VISIBILITY);
    }

    #[test]
    fn failures_of_the_function_wait_on_the_long_end() {
        let s = RedeliverySchedule::default();
        assert_eq!(after(s.next(Classification::auth(), 1, None)), 30 * MIN);
        assert_eq!(
            after(s.next(Classification::auth(), 1, Some(HOUR))),
            30 * MIN
        );
    }

    #[test]
    fn the_last_try_falls_at_the_end_of_the_period() {
        let s = RedeliverySchedule::default();
        let age = 72 * HOUR - 20 * MIN;
        assert_eq!(
            after(s.next(Classification::transient(), 9, Some(age))),
            20 * MIN
        );
        assert_eq!(
            after(s.next(Classification::auth(), 9, Some(age))),
            20 * MIN
        );
    }

    #[test]
    fn the_period_or_the_attempts_running_out_gives_up_saying_why() {
        let s = RedeliverySchedule::default();
        match s.next(Classification::transient(), 12, Some(72 * HOUR)) {
            Redelivery::GiveUp(why) => {
                assert!(why.contains("12 attempts"), "{why}");
                assert!(why.contains("retry period of 3days"), "{why}");
            }
            other => panic!("{other:?}"),
        }
        match s.next(Classification::throttled(None), 50, Some(MIN)) {
            Redelivery::GiveUp(why) => assert_eq!(why, "gave up after 50 attempts"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            s.next(Classification::auth(), 49, Some(71 * HOUR)),
            Redelivery::After(_)
        ));
    }

    #[test]
    fn the_environment_configures_every_part() {
        let s = RedeliverySchedule::from_lookup(env(&[
            (SCHEDULE_ENV, "1s, 2s,4s"),
            (RETRY_PERIOD_ENV, "5m"),
            (MAX_ATTEMPTS_ENV, " 7 "),
            (FUNCTION_FAILURE_DELAY_ENV, "3s"),
        ]))
        .unwrap();
        assert_eq!(s.delays(), [1, 2, 4].map(Duration::from_secs).as_slice());
        assert_eq!(s.retry_period(), 5 * MIN);
        assert_eq!(s.max_attempts(), 7);
        assert_eq!(s.function_failure_delay(), Duration::from_secs(3));
        assert_eq!(s.delay(9), Duration::from_secs(4));
    }

    #[test]
    fn bad_configuration_names_the_variable() {
        let cases = [
            (SCHEDULE_ENV, "5s,soon", "`soon` is not a duration"),
            (SCHEDULE_ENV, "13h", "12-hour"),
            (SCHEDULE_ENV, " , ", "is not a duration"),
            (RETRY_PERIOD_ENV, "0s", "longer than zero"),
            (RETRY_PERIOD_ENV, "forever", "not a duration"),
            (MAX_ATTEMPTS_ENV, "0", "at least 1"),
            (MAX_ATTEMPTS_ENV, "-3", "whole number"),
            (FUNCTION_FAILURE_DELAY_ENV, "1day", "12-hour"),
        ];
        for (variable, value, expected) in cases {
            let error = RedeliverySchedule::from_lookup(env(&[(variable, value)])).unwrap_err();
            assert_eq!(error.variable, variable, "{value}");
            assert!(error.to_string().contains(expected), "{value}: {error}");
            assert!(
                error
                    .to_string()
                    .starts_with(&format!("invalid `{variable}`"))
            );
        }
        assert!(RedeliverySchedule::new(vec![], HOUR, 3).is_err());
        assert!(
            RedeliverySchedule::default()
                .with_function_failure_delay(13 * HOUR)
                .is_err()
        );
    }
}
