//! `slack-notify`'s configuration, by environment only.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SECRET_ID` | Secrets Manager id of `{"bot_token": "xoxb-…"}` | required |
//! | `SLACK_API_BASE_URL` | where the Web API is; calls go to `{base}/chat.postMessage` | `https://slack.com/api` |
//! | `SLACK_CHANNEL` | the channel id used when a mapping rule sets no `channel` | none: then every rule must set `channel` |
//! | `SLACK_RATE_LIMIT` | posts per channel, e.g. `1/s burst 3` | `1/s burst 3` (Slack: about one message per second per channel, short bursts allowed) |
//! | `MAPPING_FILE` | a mapping file replacing the embedded one | the embedded `mapping.toml` |
//! | `IDEMPOTENCY_TABLE` | the DynamoDB table of the delivery ledger | required |
//! | `DLQ_URL` | the dead-letter queue | none: records that cannot succeed are handed back |
//!
//! The kit reads the last three and the runner's own (`REDELIVERY_SCHEDULE`, `RETRY_PERIOD`,
//! `MAX_ATTEMPTS`, `FUNCTION_FAILURE_DELAY`, `MAX_CONCURRENCY`); the standard
//! `AWS_ENDPOINT_URL` points the AWS clients at a local emulator.

use switchyard::http::RateLimit;

/// The Secrets Manager id of the bot token secret.
pub const SECRET_ID_ENV: &str = "SECRET_ID";
/// The base URL of Slack's Web API.
pub const BASE_URL_ENV: &str = "SLACK_API_BASE_URL";
/// The default channel.
pub const CHANNEL_ENV: &str = "SLACK_CHANNEL";
/// The rate limit per channel.
pub const RATE_LIMIT_ENV: &str = "SLACK_RATE_LIMIT";
/// Slack's Web API.
pub const DEFAULT_BASE_URL: &str = "https://slack.com/api";
/// Slack's documented pace for `chat.postMessage`: about one message per second per channel,
/// with short bursts allowed (the burst size is not documented; three is modest).
pub const DEFAULT_RATE_LIMIT: &str = "1/s burst 3";

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
    /// The bot token secret's id.
    pub secret_id: String,
    /// The default channel, if any.
    pub default_channel: Option<String>,
    /// Posts per channel.
    pub rate_limit: RateLimit,
}

impl Config {
    /// The configuration the environment describes.
    ///
    /// # Errors
    /// A missing `SECRET_ID` or an invalid `SLACK_RATE_LIMIT`.
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
            default_channel: set(CHANNEL_ENV),
            rate_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.get(name).cloned()
    }

    #[test]
    fn defaults_and_overrides() {
        let config = Config::from_lookup(env(&[("SECRET_ID", " slack/bot ")])).unwrap();
        assert_eq!(config.secret_id, "slack/bot");
        assert_eq!(config.default_channel, None);
        assert_eq!(config.rate_limit, DEFAULT_RATE_LIMIT.parse().unwrap());

        let config = Config::from_lookup(env(&[
            ("SECRET_ID", "s"),
            ("SLACK_CHANNEL", "C123"),
            ("SLACK_RATE_LIMIT", "10/s burst 5"),
        ]))
        .unwrap();
        assert_eq!(config.default_channel.as_deref(), Some("C123"));
        assert_eq!(config.rate_limit.burst().get(), 5);
    }

    #[test]
    fn bad_configuration_names_the_variable() {
        let missing = Config::from_lookup(env(&[("SLACK_CHANNEL", "C1")])).unwrap_err();
        assert_eq!(missing.to_string(), "`SECRET_ID` is not set");
        let blank = Config::from_lookup(env(&[("SECRET_ID", "  ")])).unwrap_err();
        assert!(blank.to_string().contains("SECRET_ID"));
        let rate = Config::from_lookup(env(&[
            ("SECRET_ID", "s"),
            ("SLACK_RATE_LIMIT", "fast please"),
        ]))
        .unwrap_err();
        assert!(rate.to_string().contains("SLACK_RATE_LIMIT"), "{rate}");
    }
}
