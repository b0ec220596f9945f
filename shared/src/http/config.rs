//! [`HttpConfig`]: the timeouts, limits and identity an [`HttpClient`](super::HttpClient) is
//! built with.

use std::time::Duration;

use super::HttpError;

/// The environment variable [`HttpConfig::from_env`] reads the per-call timeout from.
pub(crate) const TIMEOUT_ENV: &str = "HTTP_TIMEOUT";

/// The longest per-call timeout accepted: Lambda's longest run.
const MAX_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// Timeouts and identity of an [`HttpClient`](super::HttpClient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The integration's name, sent in the user agent (`switchyard/0.1.0 (+slack)`).
    pub integration: String,
    /// The longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// The longest a whole call may take, from connecting to the end of the response body.
    pub timeout: Duration,
    /// Idle pooled connections are dropped after this; shorter than the usual 60 s load
    /// balancer idle timeout, so a warm Lambda does not reuse a connection the server closed.
    pub pool_idle_timeout: Duration,
    /// The largest successful response body the `send_body`/`send_json` helpers buffer; a
    /// larger one is a permanent error rather than an out-of-memory Lambda.
    pub max_body_bytes: usize,
}

impl HttpConfig {
    /// The defaults for `integration`: 3 s to connect, 10 s per call, 50 s idle pool timeout,
    /// 8 MiB bodies.
    pub fn new(integration: impl Into<String>) -> Self {
        Self {
            integration: integration.into(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(50),
            max_body_bytes: 8 * 1024 * 1024,
        }
    }

    /// The defaults for `integration`, with the per-call timeout from the `HTTP_TIMEOUT`
    /// environment variable when it is set (a [`humantime`] duration: `10s`, `2500ms`).
    ///
    /// The default (10 s) suits SaaS APIs that answer in well under a second. Raise it for a
    /// slow API, lower it to fail over sooner (the local chaos run uses `2s` so hung calls cost
    /// seconds); keep it well below the function's timeout, which has to cover the in-place
    /// retries too.
    ///
    /// # Errors
    /// [`HttpError`] (permanent, a configuration error) when the value is not a duration, is
    /// zero, or is longer than 15 minutes (Lambda's longest run).
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchyard::http::HttpConfig;
    ///
    /// let config = HttpConfig::from_lookup("slack", |_| Some("2s".into()))?;
    /// assert_eq!(config.timeout, Duration::from_secs(2));
    /// assert!(HttpConfig::from_lookup("slack", |_| Some("soon".into())).is_err());
    /// # Ok::<(), switchyard::http::HttpError>(())
    /// ```
    pub fn from_env(integration: impl Into<String>) -> Result<Self, HttpError> {
        Self::from_lookup(integration, |key| std::env::var(key).ok())
    }

    /// [`HttpConfig::from_env`] with the environment injected, for tests.
    ///
    /// # Errors
    /// As [`HttpConfig::from_env`].
    pub fn from_lookup(
        integration: impl Into<String>,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, HttpError> {
        let mut config = Self::new(integration);
        let Some(text) = lookup(TIMEOUT_ENV).filter(|v| !v.trim().is_empty()) else {
            return Ok(config);
        };
        let invalid = |why: String| {
            HttpError::config(
                &config.integration,
                format!("{TIMEOUT_ENV}={:?}: {why}", text.trim()),
            )
        };
        let timeout = humantime::parse_duration(text.trim())
            .map_err(|e| invalid(format!("not a duration ({e}); e.g. 10s or 2500ms")))?;
        if timeout.is_zero() || timeout > MAX_TIMEOUT {
            return Err(invalid("must be more than 0 and at most 15m".to_owned()));
        }
        config.timeout = timeout;
        Ok(config)
    }

    /// The user agent sent on every request: `switchyard/<crate version> (+<integration>)`.
    pub fn user_agent(&self) -> String {
        format!(
            "switchyard/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            self.integration
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Classify, ErrorClass};

    fn with(value: Option<&str>) -> Result<HttpConfig, HttpError> {
        let value = value.map(str::to_owned);
        HttpConfig::from_lookup("slack", move |key| {
            assert_eq!(key, TIMEOUT_ENV);
            value.clone()
        })
    }

    #[test]
    fn unset_or_empty_keeps_the_default_timeout() {
        for value in [None, Some(""), Some("  ")] {
            assert_eq!(with(value).unwrap(), HttpConfig::new("slack"));
        }
    }

    #[test]
    fn a_duration_sets_the_per_call_timeout_only() {
        let config = with(Some(" 2500ms ")).unwrap();
        assert_eq!(config.timeout, Duration::from_millis(2500));
        assert_eq!(config.connect_timeout, HttpConfig::new("x").connect_timeout);
        assert_eq!(with(Some("1m")).unwrap().timeout, Duration::from_secs(60));
    }

    #[test]
    fn bad_values_are_configuration_errors_that_name_the_variable() {
        for value in ["soon", "10", "0s", "16m", "-1s"] {
            let err = with(Some(value)).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Permanent, "{value}");
            let message = err.to_string();
            assert!(message.contains("HTTP_TIMEOUT="), "{message}");
            assert!(message.contains(value), "{message}");
        }
    }
}
