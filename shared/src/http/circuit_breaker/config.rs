//! [`CircuitBreakerConfig`]: how many transient failures open the circuit and for how long,
//! read from a function's environment (`CIRCUIT_BREAKER="5 failures, open 30s up to 10m"`).

use std::fmt;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

/// The word that turns the breaker off in the environment.
const OFF: &str = "off";

/// When a [`CircuitBreaker`](super::CircuitBreaker) opens and how long it stays open.
///
/// - **failures**: transient failures in a row (5xx, timeouts, connection errors) that open a
///   closed circuit;
/// - **open for**: how long an opened circuit refuses every call before it lets one probe call
///   through;
/// - **up to**: the longest open period. Each failed probe doubles the period, up to this; a
///   probe that succeeds closes the circuit and the next opening starts from *open for* again.
///   Equal to *open for* (the text form without `up to`), the period never grows.
///
/// The default, `5 failures, open 30s up to 10m`: five failures in a row are not a blip of
/// one overloaded host, 30 s is long enough for a restart or a failover, and ten minutes keeps
/// a long outage probed from each execution environment a few times an hour at most.
///
/// # Text form
///
/// | text | meaning |
/// |---|---|
/// | `5 failures, open 30s` | opens after 5 transient failures in a row, for 30 s every time |
/// | `3 failures, open 1m up to 15m` | opens for 1 min, 2, 4, 8, then 15 while probes keep failing |
/// | `off` | no breaker ([`CircuitBreakerConfig::from_env`] gives `None`) |
///
/// Durations are [`humantime`]'s (`30s`, `1m 30s`, `500ms`, `2h`). The whole setting is one
/// variable, so it cannot be half-changed; the two clauses come in this order, the comma
/// between them required, and nothing else is accepted.
///
/// ```
/// use std::time::Duration;
/// use switchyard::http::CircuitBreakerConfig;
///
/// let config: CircuitBreakerConfig = "3 failures, open 1m up to 15m".parse()?;
/// assert_eq!(config.failures().get(), 3);
/// assert_eq!(config.open_for(), Duration::from_secs(60));
/// assert_eq!(config.max_open_for(), Duration::from_secs(900));
///
/// let off = CircuitBreakerConfig::from_lookup("CIRCUIT_BREAKER", |_| Some("off".into()))?;
/// assert_eq!(off, None);
/// let unset = CircuitBreakerConfig::from_lookup("CIRCUIT_BREAKER", |_| None)?;
/// assert_eq!(unset, Some(CircuitBreakerConfig::default()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CircuitBreakerConfig {
    failures: NonZeroU32,
    open_for: Duration,
    max_open_for: Duration,
}

impl Default for CircuitBreakerConfig {
    /// `5 failures, open 30s up to 10m` (see the type's documentation for why).
    fn default() -> Self {
        Self {
            failures: NonZeroU32::new(5).unwrap_or(NonZeroU32::MIN),
            open_for: Duration::from_secs(30),
            max_open_for: Duration::from_secs(600),
        }
    }
}

impl CircuitBreakerConfig {
    /// Opens after `failures` transient failures in a row, for `open_for` every time; `None`
    /// when `open_for` is zero (a circuit that never refuses anything).
    pub fn new(failures: NonZeroU32, open_for: Duration) -> Option<Self> {
        (!open_for.is_zero()).then_some(Self {
            failures,
            open_for,
            max_open_for: open_for,
        })
    }

    /// The same, the open period doubling after each failed probe up to `max_open_for`;
    /// `None` when that is shorter than [`open_for`](Self::open_for).
    pub fn growing_up_to(self, max_open_for: Duration) -> Option<Self> {
        (max_open_for >= self.open_for).then_some(Self {
            max_open_for,
            ..self
        })
    }

    /// Transient failures in a row that open the circuit.
    pub fn failures(&self) -> NonZeroU32 {
        self.failures
    }

    /// How long the circuit stays open the first time.
    pub fn open_for(&self) -> Duration {
        self.open_for
    }

    /// The longest it stays open while probes keep failing.
    pub fn max_open_for(&self) -> Duration {
        self.max_open_for
    }

    /// The setting in environment variable `variable`: `None` when it says `off`, the
    /// [default](Self::default) when it is unset or blank.
    ///
    /// The breaker is on unless turned off, because a deliverer without one keeps sending
    /// every record of a batch to a destination that is down.
    pub fn from_env(variable: &str) -> Result<Option<Self>, CircuitBreakerEnvError> {
        Self::from_lookup(variable, |key| std::env::var(key).ok())
    }

    /// [`CircuitBreakerConfig::from_env`] with the environment injected, for tests.
    pub fn from_lookup(
        variable: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, CircuitBreakerEnvError> {
        match lookup(variable) {
            Some(value) if value.trim().eq_ignore_ascii_case(OFF) => Ok(None),
            Some(value) if !value.trim().is_empty() => {
                value
                    .parse()
                    .map(Some)
                    .map_err(|reason| CircuitBreakerEnvError {
                        variable: variable.to_owned(),
                        value,
                        reason,
                    })
            }
            _ => Ok(Some(Self::default())),
        }
    }
}

impl fmt::Display for CircuitBreakerConfig {
    /// `5 failures, open 30s up to 10m`, `1 failure, open 1m 30s`: text that parses back to the
    /// same setting.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let noun = if self.failures.get() == 1 {
            "failure"
        } else {
            "failures"
        };
        write!(
            f,
            "{} {noun}, open {}",
            self.failures,
            humantime::format_duration(self.open_for)
        )?;
        if self.max_open_for > self.open_for {
            write!(
                f,
                " up to {}",
                humantime::format_duration(self.max_open_for)
            )?;
        }
        Ok(())
    }
}

impl FromStr for CircuitBreakerConfig {
    type Err = ParseCircuitBreakerError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().is_empty() {
            return Err(ParseCircuitBreakerError::Empty);
        }
        let (failures, open) = text
            .split_once(',')
            .ok_or(ParseCircuitBreakerError::Shape)?;
        let failures = parse_failures(failures)?;
        let words: Vec<&str> = open.split_whitespace().collect();
        let Some((&"open", period)) = words.split_first() else {
            return Err(ParseCircuitBreakerError::Shape);
        };
        let up_to = period.windows(2).position(|w| w == ["up", "to"]);
        let (open_for, max) = match up_to {
            Some(at) => (&period[..at], Some(&period[at + 2..])),
            None => (period, None),
        };
        let open_for = parse_duration(Clause::Open, open_for)?;
        let config = Self::new(failures, open_for).ok_or(ParseCircuitBreakerError::ZeroOpen)?;
        match max {
            None => Ok(config),
            Some(max) => {
                let max = parse_duration(Clause::UpTo, max)?;
                config
                    .growing_up_to(max)
                    .ok_or(ParseCircuitBreakerError::MaxBelowOpen)
            }
        }
    }
}

/// `5 failures`, `1 failure`: a whole number above zero and the noun.
fn parse_failures(clause: &str) -> Result<NonZeroU32, ParseCircuitBreakerError> {
    let mut words = clause.split_whitespace();
    let (Some(count), Some("failures" | "failure"), None) =
        (words.next(), words.next(), words.next())
    else {
        return Err(ParseCircuitBreakerError::Shape);
    };
    count
        .parse()
        .map_err(|_| ParseCircuitBreakerError::Failures(count.to_owned()))
}

/// A humantime duration written over one or more words (`30s`, `1m 30s`).
fn parse_duration(clause: Clause, words: &[&str]) -> Result<Duration, ParseCircuitBreakerError> {
    let text = words.join(" ");
    humantime::parse_duration(&text).map_err(|e| ParseCircuitBreakerError::Duration {
        clause,
        text,
        reason: e.to_string(),
    })
}

/// Which duration of the text form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clause {
    /// `open <duration>`.
    Open,
    /// `up to <duration>`.
    UpTo,
}

impl fmt::Display for Clause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Clause::Open => "open",
            Clause::UpTo => "up to",
        })
    }
}

/// Why a text is not a [`CircuitBreakerConfig`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseCircuitBreakerError {
    /// Nothing but whitespace.
    #[error("no setting given")]
    Empty,
    /// Not `<n> failures, open <duration>[ up to <duration>]`.
    #[error("the setting must be `<n> failures, open <duration>`, optionally `up to <duration>`")]
    Shape,
    /// The failure count is not a whole number above zero.
    #[error("the failure count `{0}` is not a whole number above zero")]
    Failures(String),
    /// A duration that is not one.
    #[error("`{clause} {text}` is not a duration ({reason})")]
    Duration {
        /// Which duration.
        clause: Clause,
        /// The duration as written.
        text: String,
        /// humantime's reason.
        reason: String,
    },
    /// `open 0s`: a circuit that never refuses.
    #[error("the open period must be longer than zero")]
    ZeroOpen,
    /// `up to` shorter than `open`.
    #[error("`up to` must not be shorter than the open period")]
    MaxBelowOpen,
}

/// An environment variable that does not hold a [`CircuitBreakerConfig`]: names the variable,
/// so the function's cold-start error says which setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{variable}=`{value}`: {reason} (expected e.g. `5 failures, open 30s`, \
     `5 failures, open 30s up to 10m` or `off`)"
)]
pub struct CircuitBreakerEnvError {
    /// The environment variable.
    pub variable: String,
    /// Its value (a breaker setting is configuration, not a secret).
    pub value: String,
    /// What is wrong with it.
    #[source]
    pub reason: ParseCircuitBreakerError,
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn parse(text: &str) -> Result<CircuitBreakerConfig, ParseCircuitBreakerError> {
        text.parse()
    }

    #[test]
    fn reads_a_setting_with_and_without_growth() {
        let cases = [
            ("5 failures, open 30s", 5, 30 * SECOND, 30 * SECOND),
            (
                "3 failures, open 1m up to 15m",
                3,
                60 * SECOND,
                900 * SECOND,
            ),
            ("1 failure, open 1m 30s", 1, 90 * SECOND, 90 * SECOND),
            (
                "  2 failures ,open   500ms  up to 2s ",
                2,
                SECOND / 2,
                2 * SECOND,
            ),
            (
                "4 failures, open 1m up to 1h 30m",
                4,
                60 * SECOND,
                5400 * SECOND,
            ),
            ("4 failures, open 1m up to 1m", 4, 60 * SECOND, 60 * SECOND),
        ];
        for (text, failures, open, max) in cases {
            let config = parse(text).unwrap();
            assert_eq!(config.failures().get(), failures, "{text}");
            assert_eq!(config.open_for(), open, "{text}");
            assert_eq!(config.max_open_for(), max, "{text}");
        }
    }

    #[test]
    fn displays_text_that_parses_back() {
        for text in [
            "5 failures, open 30s",
            "1 failure, open 1m 30s up to 1h",
            "5 failures, open 30s up to 10m",
        ] {
            let config = parse(text).unwrap();
            assert_eq!(config.to_string(), text);
            assert_eq!(parse(&config.to_string()).unwrap(), config);
        }
        assert_eq!(
            CircuitBreakerConfig::default().to_string(),
            "5 failures, open 30s up to 10m"
        );
    }

    #[test]
    fn constructors_agree_with_the_text_form() {
        let three = NonZeroU32::new(3).unwrap();
        assert_eq!(
            CircuitBreakerConfig::new(three, 60 * SECOND)
                .and_then(|c| c.growing_up_to(900 * SECOND)),
            Some(parse("3 failures, open 1m up to 15m").unwrap())
        );
        assert_eq!(CircuitBreakerConfig::new(three, Duration::ZERO), None);
        let config = CircuitBreakerConfig::new(three, 60 * SECOND).unwrap();
        assert_eq!(config.growing_up_to(59 * SECOND), None);
    }

    #[test]
    fn rejects_what_is_not_a_setting() {
        use ParseCircuitBreakerError as E;
        let duration = |text: &str| match parse(text) {
            Err(E::Duration { clause, text, .. }) => (clause, text),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(parse(""), Err(E::Empty));
        assert_eq!(parse("  "), Err(E::Empty));
        assert_eq!(parse("5 failures"), Err(E::Shape));
        assert_eq!(parse("5 failures open 30s"), Err(E::Shape));
        assert_eq!(parse("open 30s, 5 failures"), Err(E::Shape));
        assert_eq!(parse("5, open 30s"), Err(E::Shape));
        assert_eq!(parse("5 errors, open 30s"), Err(E::Shape));
        assert_eq!(parse("5 failures, 30s"), Err(E::Shape));
        assert_eq!(parse("5 failures, closed 30s"), Err(E::Shape));
        assert_eq!(parse("0 failures, open 30s"), Err(E::Failures("0".into())));
        assert_eq!(
            parse("five failures, open 30s"),
            Err(E::Failures("five".into()))
        );
        assert_eq!(
            parse("-1 failures, open 30s"),
            Err(E::Failures("-1".into()))
        );
        assert_eq!(
            duration("5 failures, open soon"),
            (Clause::Open, "soon".into())
        );
        assert_eq!(duration("5 failures, open"), (Clause::Open, String::new()));
        assert_eq!(duration("5 failures, open 30"), (Clause::Open, "30".into()));
        assert_eq!(
            duration("5 failures, open 30s up to"),
            (Clause::UpTo, String::new())
        );
        assert_eq!(
            duration("5 failures, open 30s up to 5m, extra"),
            (Clause::UpTo, "5m, extra".into())
        );
        assert_eq!(parse("5 failures, open 0s"), Err(E::ZeroOpen));
        assert_eq!(parse("5 failures, open 1m up to 30s"), Err(E::MaxBelowOpen));
    }

    #[test]
    fn unset_or_blank_is_the_default_and_off_is_none() {
        for value in [None, Some(String::new()), Some("  ".to_owned())] {
            let config = CircuitBreakerConfig::from_lookup("CIRCUIT_BREAKER", |_| value.clone());
            assert_eq!(config, Ok(Some(CircuitBreakerConfig::default())));
        }
        for off in ["off", " OFF ", "Off"] {
            let config = CircuitBreakerConfig::from_lookup("CIRCUIT_BREAKER", |_| Some(off.into()));
            assert_eq!(config, Ok(None), "{off}");
        }
        let set = CircuitBreakerConfig::from_lookup("CIRCUIT_BREAKER", |_| {
            Some("2 failures, open 10s".into())
        });
        assert_eq!(set, Ok(Some(parse("2 failures, open 10s").unwrap())));
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        let err = CircuitBreakerConfig::from_lookup("SLACK_CIRCUIT_BREAKER", |key| {
            assert_eq!(key, "SLACK_CIRCUIT_BREAKER");
            Some("5 failures in 30s".into())
        })
        .unwrap_err();
        assert_eq!(err.variable, "SLACK_CIRCUIT_BREAKER");
        assert_eq!(err.reason, ParseCircuitBreakerError::Shape);
        assert_eq!(
            err.to_string(),
            "SLACK_CIRCUIT_BREAKER=`5 failures in 30s`: the setting must be \
             `<n> failures, open <duration>`, optionally `up to <duration>` \
             (expected e.g. `5 failures, open 30s`, `5 failures, open 30s up to 10m` or `off`)"
        );
        assert!(std::error::Error::source(&err).is_some());
    }
}
