//! [`LookupConfig`]: how long answers are kept, how many, and how long a fetch may take; read
//! from the environment at cold start.

use std::num::NonZeroUsize;
use std::time::Duration;

/// How long an answer is served from memory when nothing else is configured: long enough that
/// a burst of records for one owner asks once, short enough that a new or re-assigned owner is
/// picked up within minutes by a Lambda process that lives for hours.
pub const DEFAULT_TTL: Duration = Duration::from_secs(5 * 60);

/// Answers kept per cache when nothing else is configured: a few hundred kilobytes at most for
/// e-mail → id entries.
pub const DEFAULT_CAPACITY: NonZeroUsize = NonZeroUsize::MIN.saturating_add(1023);

/// How long one fetch (every page of it) may take before it fails as transient.
pub const DEFAULT_FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// The environment variable that overrides [`DEFAULT_TTL`], e.g. `10m`.
pub const TTL_ENV: &str = "LOOKUP_TTL";

/// The environment variable that overrides [`DEFAULT_CAPACITY`], e.g. `4096`.
pub const CAPACITY_ENV: &str = "LOOKUP_CAPACITY";

/// A lookup cache's settings, by default from the environment ([`LookupConfig::from_env`]):
///
/// | variable | default | meaning |
/// |---|---|---|
/// | `LOOKUP_TTL` | `5m` | how long an answer (a match, none, several) is served from memory; any [`humantime`] duration, `0s` turns caching off (concurrent lookups still share one fetch) |
/// | `LOOKUP_CAPACITY` | `1024` | answers kept per cache at most; the least recently used goes first |
///
/// The fetch timeout ([`DEFAULT_FETCH_TIMEOUT`]) is set in code
/// ([`LookupConfig::with_fetch_timeout`]): it bounds a whole fetch, every page of it, and
/// depends on the destination rather than on the deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LookupConfig {
    ttl: Duration,
    capacity: NonZeroUsize,
    fetch_timeout: Duration,
}

impl Default for LookupConfig {
    /// Five minutes, 1024 answers, 30 seconds a fetch.
    fn default() -> Self {
        LookupConfig {
            ttl: DEFAULT_TTL,
            capacity: DEFAULT_CAPACITY,
            fetch_timeout: DEFAULT_FETCH_TIMEOUT,
        }
    }
}

/// Why a lookup configuration from the environment was refused; names the variable, so the
/// function's cold-start error says which setting to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid `{variable}`: {problem}")]
pub struct LookupConfigError {
    /// The environment variable.
    pub variable: &'static str,
    /// What is wrong with its value.
    pub problem: String,
}

impl LookupConfig {
    /// The defaults, overridden by `LOOKUP_TTL` and `LOOKUP_CAPACITY` where set and not blank.
    ///
    /// # Errors
    /// A variable that is set but invalid: a deliverer refuses to start rather than run with a
    /// cache nobody asked for.
    pub fn from_env() -> Result<Self, LookupConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`LookupConfig::from_env`] with the environment injected.
    ///
    /// # Errors
    /// As [`LookupConfig::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, LookupConfigError> {
        let set = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut config = Self::default();
        if let Some(value) = set(TTL_ENV) {
            config.ttl =
                humantime::parse_duration(value.trim()).map_err(|e| LookupConfigError {
                    variable: TTL_ENV,
                    problem: format!("not a duration such as `5m` ({e})"),
                })?;
        }
        if let Some(value) = set(CAPACITY_ENV) {
            config.capacity = value.trim().parse().map_err(|_| LookupConfigError {
                variable: CAPACITY_ENV,
                problem: "not a whole number above zero".into(),
            })?;
        }
        Ok(config)
    }

    /// The same settings with another TTL; `Duration::ZERO` keeps nothing.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The same settings with another capacity.
    pub fn with_capacity(mut self, capacity: NonZeroUsize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The same settings with another fetch timeout.
    pub fn with_fetch_timeout(mut self, fetch_timeout: Duration) -> Self {
        self.fetch_timeout = fetch_timeout;
        self
    }

    /// How long an answer is served from memory.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// How many answers are kept at most.
    pub fn capacity(&self) -> NonZeroUsize {
        self.capacity
    }

    /// How long one fetch may take.
    pub fn fetch_timeout(&self) -> Duration {
        self.fetch_timeout
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(vars: &[(&str, &str)]) -> Result<LookupConfig, LookupConfigError> {
        LookupConfig::from_lookup(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn unset_or_blank_variables_keep_the_defaults() {
        assert_eq!(from(&[]).unwrap(), LookupConfig::default());
        assert_eq!(
            from(&[(TTL_ENV, " "), (CAPACITY_ENV, "")]).unwrap(),
            LookupConfig::default()
        );
        let config = LookupConfig::default();
        assert_eq!(config.ttl(), Duration::from_secs(300));
        assert_eq!(config.capacity().get(), 1024);
        assert_eq!(config.fetch_timeout(), Duration::from_secs(30));
    }

    #[test]
    fn reads_the_ttl_and_the_capacity() {
        let config = from(&[(TTL_ENV, " 10m "), (CAPACITY_ENV, "64")]).unwrap();
        assert_eq!(config.ttl(), Duration::from_secs(600));
        assert_eq!(config.capacity().get(), 64);
        assert_eq!(from(&[(TTL_ENV, "0s")]).unwrap().ttl(), Duration::ZERO);
    }

    #[test]
    fn invalid_values_are_refused_naming_the_variable() {
        let error = from(&[(TTL_ENV, "five minutes")]).unwrap_err();
        assert_eq!(error.variable, TTL_ENV);
        assert!(
            error
                .to_string()
                .starts_with("invalid `LOOKUP_TTL`: not a duration"),
            "{error}"
        );

        for bad in ["0", "-1", "many", "1.5"] {
            let error = from(&[(CAPACITY_ENV, bad)]).unwrap_err();
            assert_eq!(
                error.to_string(),
                "invalid `LOOKUP_CAPACITY`: not a whole number above zero",
                "{bad}"
            );
        }
    }

    #[test]
    fn builders_override_each_setting() {
        let config = LookupConfig::default()
            .with_ttl(Duration::from_secs(1))
            .with_capacity(NonZeroUsize::MIN)
            .with_fetch_timeout(Duration::from_secs(2));
        assert_eq!(config.ttl(), Duration::from_secs(1));
        assert_eq!(config.capacity(), NonZeroUsize::MIN);
        assert_eq!(config.fetch_timeout(), Duration::from_secs(2));
    }
}
