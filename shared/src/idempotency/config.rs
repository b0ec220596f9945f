//! The layer's configuration, from the environment in one place.
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `IDEMPOTENCY_TABLE` | required | the DynamoDB table (String partition key `id`, TTL on `expiration`) |
//! | `IDEMPOTENCY_WINDOW` | `72h` | how long a completed event deduplicates its redeliveries; providers retry for days |
//! | `IDEMPOTENCY_RECORD_TTL` | `7d` | how long a record is kept (the ledger), from its last write; at least the window |
//!
//! Durations are humantime (`90m`, `72h`, `7days`). A variable that is set but invalid stops the
//! cold start with a message naming it: a deliverer running with a window nobody asked for
//! would deliver duplicates silently.

use std::time::Duration;

/// The environment variable naming the table.
pub const TABLE_ENV: &str = "IDEMPOTENCY_TABLE";
/// The environment variable with the dedup window.
pub const WINDOW_ENV: &str = "IDEMPOTENCY_WINDOW";
/// The environment variable with the records' time to live.
pub const RECORD_TTL_ENV: &str = "IDEMPOTENCY_RECORD_TTL";

/// The dedup window unless configured: 72 hours. Stripe retries a webhook for up to three days,
/// and the runner's own retry period is 72 h, so a redelivery of any age the kit produces is
/// still caught.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(72 * 60 * 60);

/// How long records are kept unless configured: 7 days, long enough to trace an event well
/// after its window closed (the ledger), short enough that the table stays small.
pub const DEFAULT_RECORD_TTL: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The lock's life when the invocation has no deadline (tools, local runs): Lambda's longest
/// timeout, so such a lock never expires while a Lambda could still be working on the event.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Where and how long the layer keeps its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyConfig {
    table: String,
    window: Duration,
    record_ttl: Duration,
    idempotent_destination: bool,
}

/// Why the configuration from the environment was refused; names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum IdempotencyConfigError {
    /// `IDEMPOTENCY_TABLE` is unset or empty.
    #[error("`{TABLE_ENV}` is required: the DynamoDB table holding the idempotency records")]
    MissingTable,
    /// A duration variable does not parse, or is zero.
    #[error("invalid `{variable}`: `{value}` is not a positive duration such as `72h` ({reason})")]
    InvalidDuration {
        /// The variable.
        variable: &'static str,
        /// Its value, trimmed (configuration, not payload).
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The records would expire before their window closes, and DynamoDB's TTL would delete
    /// completed records that must still catch duplicates.
    #[error(
        "`{RECORD_TTL_ENV}` ({ttl}) is shorter than `{WINDOW_ENV}` ({window}): records would be deleted while they must still catch duplicates"
    )]
    TtlShorterThanWindow {
        /// The TTL, humantime.
        ttl: String,
        /// The window, humantime.
        window: String,
    },
}

impl IdempotencyConfig {
    /// Records in `table`, with the [`DEFAULT_WINDOW`] and [`DEFAULT_RECORD_TTL`].
    pub fn new(table: impl Into<String>) -> Self {
        Self {
            table: table.into(),
            window: DEFAULT_WINDOW,
            record_ttl: DEFAULT_RECORD_TTL,
            idempotent_destination: false,
        }
    }

    /// The configuration from `IDEMPOTENCY_TABLE`, `IDEMPOTENCY_WINDOW` and
    /// `IDEMPOTENCY_RECORD_TTL`.
    ///
    /// # Errors
    /// The table is missing, a duration is invalid or zero, or the TTL is shorter than the
    /// window; the message names the variable.
    pub fn from_env() -> Result<Self, IdempotencyConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`IdempotencyConfig::from_env`] with the environment injected.
    ///
    /// # Errors
    /// As [`IdempotencyConfig::from_env`].
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, IdempotencyConfigError> {
        let table = lookup(TABLE_ENV)
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(IdempotencyConfigError::MissingTable)?;
        let mut config = Self::new(table);
        if let Some(window) = duration(&lookup, WINDOW_ENV)? {
            config.window = window;
        }
        if let Some(ttl) = duration(&lookup, RECORD_TTL_ENV)? {
            config.record_ttl = ttl;
        }
        if config.record_ttl < config.window {
            return Err(IdempotencyConfigError::TtlShorterThanWindow {
                ttl: humantime::format_duration(config.record_ttl).to_string(),
                window: humantime::format_duration(config.window).to_string(),
            });
        }
        Ok(config)
    }

    /// Another dedup window.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// Another time to live for records (never shorter than the window, see
    /// [`record_ttl`](Self::record_ttl)).
    pub fn with_record_ttl(mut self, record_ttl: Duration) -> Self {
        self.record_ttl = record_ttl;
        self
    }

    /// Says that doing a delivery twice leaves the destination as doing it once (an upsert by
    /// a natural key, a call with an idempotency key), so a retry after a call whose outcome
    /// is unknown cannot make a duplicate, and the ledger does not mark such deliveries as
    /// possibly delivered twice. Off by default: a chat message posted twice is two messages.
    pub fn with_idempotent_destination(mut self) -> Self {
        self.idempotent_destination = true;
        self
    }

    /// Whether the destination makes repeated deliveries harmless
    /// ([`with_idempotent_destination`](Self::with_idempotent_destination)).
    pub fn idempotent_destination(&self) -> bool {
        self.idempotent_destination
    }

    /// The table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// How long a completed event deduplicates its redeliveries.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// How long a record is kept after its last write: the configured TTL, raised to the window
    /// if shorter (the environment refuses that; code that sets both gets the safe one).
    pub fn record_ttl(&self) -> Duration {
        self.record_ttl.max(self.window)
    }
}

/// A positive duration from `variable`, if set and not empty.
fn duration(
    lookup: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<Option<Duration>, IdempotencyConfigError> {
    let Some(value) = lookup(variable).map(|v| v.trim().to_owned()) else {
        return Ok(None);
    };
    if value.is_empty() {
        return Ok(None);
    }
    match humantime::parse_duration(&value) {
        Ok(d) if !d.is_zero() => Ok(Some(d)),
        Ok(_) => Err(IdempotencyConfigError::InvalidDuration {
            variable,
            value,
            reason: "it is zero".into(),
        }),
        Err(e) => Err(IdempotencyConfigError::InvalidDuration {
            variable,
            reason: e.to_string(),
            value,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_table_alone_gives_the_defaults() {
        let config = IdempotencyConfig::from_lookup(vars(&[(TABLE_ENV, " idem ")])).unwrap();
        assert_eq!(config.table(), "idem");
        assert_eq!(config.window(), DEFAULT_WINDOW);
        assert_eq!(config.record_ttl(), DEFAULT_RECORD_TTL);
        assert_eq!(config, IdempotencyConfig::new("idem"));
    }

    #[test]
    fn windows_are_configurable() {
        let config = IdempotencyConfig::from_lookup(vars(&[
            (TABLE_ENV, "idem"),
            (WINDOW_ENV, "24h"),
            (RECORD_TTL_ENV, "30days"),
            ("unrelated", "x"),
        ]))
        .unwrap();
        assert_eq!(config.window(), Duration::from_secs(24 * 3600));
        assert_eq!(config.record_ttl(), Duration::from_secs(30 * 24 * 3600));
        let blank = IdempotencyConfig::from_lookup(vars(&[(TABLE_ENV, "idem"), (WINDOW_ENV, " ")]))
            .unwrap();
        assert_eq!(blank.window(), DEFAULT_WINDOW);
    }

    #[test]
    fn a_missing_table_is_refused_by_name() {
        for table in [&[][..], &[(TABLE_ENV, "  ")][..]] {
            let pairs: &'static [(&str, &str)] = table;
            let error = IdempotencyConfig::from_lookup(vars(pairs)).unwrap_err();
            assert_eq!(error, IdempotencyConfigError::MissingTable);
            assert!(error.to_string().contains(TABLE_ENV), "{error}");
        }
    }

    #[test]
    fn bad_durations_are_refused_by_name() {
        for (pairs, variable) in [
            (
                &[(TABLE_ENV, "t"), (WINDOW_ENV, "three days")][..],
                WINDOW_ENV,
            ),
            (&[(TABLE_ENV, "t"), (WINDOW_ENV, "0s")][..], WINDOW_ENV),
            (
                &[(TABLE_ENV, "t"), (RECORD_TTL_ENV, "-1h")][..],
                RECORD_TTL_ENV,
            ),
        ] {
            let pairs: &'static [(&str, &str)] = pairs;
            let error = IdempotencyConfig::from_lookup(vars(pairs)).unwrap_err();
            assert!(
                matches!(error, IdempotencyConfigError::InvalidDuration { variable: v, .. } if v == variable),
                "{error:?}"
            );
            assert!(error.to_string().contains(variable), "{error}");
        }
    }

    #[test]
    fn a_ttl_shorter_than_the_window_is_refused() {
        let error = IdempotencyConfig::from_lookup(vars(&[
            (TABLE_ENV, "t"),
            (WINDOW_ENV, "72h"),
            (RECORD_TTL_ENV, "1day"),
        ]))
        .unwrap_err();
        assert!(
            matches!(error, IdempotencyConfigError::TtlShorterThanWindow { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains(RECORD_TTL_ENV), "{error}");
        // In code, the safe value wins.
        let config = IdempotencyConfig::new("t").with_record_ttl(Duration::from_secs(60));
        assert_eq!(config.record_ttl(), DEFAULT_WINDOW);
    }
}
