//! `hubspot-contacts`' configuration, by environment only.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SECRET_ID` | Secrets Manager id of `{"client_id", "client_secret", "refresh_token"}` (OAuth) or `{"access_token"}` (private app) | required |
//! | `HUBSPOT_API_BASE_URL` | where the API is; calls go to `{base}/crm/v3/...` and `{base}/oauth/v1/token` | `https://api.hubapi.com` |
//! | `HUBSPOT_RATE_LIMIT` | calls per period to HubSpot from one instance (owner lookups and upserts alike) | `100/10s` (HubSpot's per-app limit; see the README for instances) |
//! | `MAPPING_FILE` | a mapping file replacing the embedded one | the embedded `mapping.toml` |
//! | `IDEMPOTENCY_TABLE` | the DynamoDB table of the delivery ledger | required |
//! | `DLQ_URL` | the dead-letter queue | none: records that cannot succeed are handed back |
//!
//! The kit reads the last three, its runner's (`REDELIVERY_SCHEDULE`, `RETRY_PERIOD`,
//! `MAX_ATTEMPTS`, `FUNCTION_FAILURE_DELAY`), the circuit breaker's (`CIRCUIT_BREAKER`) and the
//! owner cache's (`LOOKUP_TTL`, `LOOKUP_CAPACITY`); the standard
//! `AWS_ENDPOINT_URL` points the AWS clients at a local emulator.

use switchyard::http::RateLimit;

/// The Secrets Manager id of the OAuth or private-app secret.
pub const SECRET_ID_ENV: &str = "SECRET_ID";
/// The base URL of HubSpot's API.
pub const BASE_URL_ENV: &str = "HUBSPOT_API_BASE_URL";
/// The rate limit.
pub const RATE_LIMIT_ENV: &str = "HUBSPOT_RATE_LIMIT";
/// HubSpot's API.
pub const DEFAULT_BASE_URL: &str = "https://api.hubapi.com";
/// HubSpot's documented limit for an app: 100 requests per rolling 10 seconds. Burst 1: never
/// more than 100 in any window (see [`RateLimit`]).
pub const DEFAULT_RATE_LIMIT: &str = "100/10s";

/// Why the configuration was refused; names the variable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("`{0}` is not set")]
    Missing(&'static str),
    /// The rate limit does not parse.
    #[error(transparent)]
    RateLimit(#[from] switchyard::http::rate_limit::RateLimitEnvError),
}

/// The function's own settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// The secret's id.
    pub secret_id: String,
    /// Calls to HubSpot.
    pub rate_limit: RateLimit,
}

impl Config {
    /// The configuration the environment describes.
    ///
    /// # Errors
    /// A missing `SECRET_ID` or an invalid `HUBSPOT_RATE_LIMIT`.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`Config::from_env`] with the environment injected.
    ///
    /// # Errors
    /// As [`Config::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let set = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let secret_id = set(SECRET_ID_ENV).ok_or(ConfigError::Missing(SECRET_ID_ENV))?;
        let rate_limit = RateLimit::from_lookup_or(RATE_LIMIT_ENV, &lookup, DEFAULT_RATE_LIMIT)?;
        Ok(Self {
            secret_id,
            rate_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::time::Duration;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_lookup(env(&[("SECRET_ID", " hubspot/oauth ")])).unwrap();
        assert_eq!(config.secret_id, "hubspot/oauth");
        assert_eq!(config.rate_limit.interval(), Duration::from_millis(100));

        let config = Config::from_lookup(env(&[
            ("SECRET_ID", "s"),
            ("HUBSPOT_RATE_LIMIT", "190/10s"),
        ]))
        .unwrap();
        assert_eq!(config.rate_limit.interval(), Duration::from_secs(10) / 190);
    }

    #[test]
    fn bad_configuration_names_the_variable() {
        let missing = Config::from_lookup(env(&[])).unwrap_err();
        assert_eq!(missing.to_string(), "`SECRET_ID` is not set");
        let rate = Config::from_lookup(env(&[("SECRET_ID", "s"), ("HUBSPOT_RATE_LIMIT", "lots")]))
            .unwrap_err();
        assert!(rate.to_string().contains("HUBSPOT_RATE_LIMIT"), "{rate}");
    }
}
