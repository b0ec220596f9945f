//! The handler: one event → the mapping → one `chat.postMessage` call → the message's `ts`.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use serde::Deserialize;
use switchyard::batch::{Outcome, Record, RecordHandler};
use switchyard::http::{Destination, HttpClient, HttpError, RateLimiter, with_rate_key};
use switchyard::invocation::Invocation;
use switchyard::mapping::Mapping;
use switchyard::secrets::{SecretString, Secrets};
use switchyard::{Classify, Error, ErrorClass};

use crate::api_errors::SlackErrors;
use crate::config::{BASE_URL_ENV, Config, DEFAULT_BASE_URL};
use crate::message::{PostMessage, schema};

/// The secret's shape: `{"bot_token": "xoxb-…"}`.
#[derive(Deserialize)]
struct BotSecret {
    bot_token: SecretString,
}

/// What `chat.postMessage` answers on success (only what is kept).
#[derive(Deserialize)]
struct Posted {
    ts: String,
}

/// A refused token triggers a re-read of the secret at most this often: a revoked token fails
/// every record alike, and a re-read per record would only hammer Secrets Manager.
const REFRESH_INTERVAL: Duration = Duration::from_secs(60);

/// Why the function could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The function's own configuration.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// The mapping file.
    #[error(transparent)]
    Mapping(#[from] switchyard::mapping::LoadError),
    /// The Slack destination (base URL) or HTTP client.
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// The `slack-notify` handler, built once at cold start.
pub struct SlackNotify {
    http: HttpClient,
    slack: Destination,
    secrets: Secrets,
    config: Config,
    mapping: Mapping,
    last_refresh: Mutex<Option<Instant>>,
}

impl SlackNotify {
    /// The handler the environment describes (see [`crate::config`]): configuration, mapping
    /// (embedded, or `MAPPING_FILE`) checked against Slack's fields, HTTP client with the
    /// per-channel rate limit. The bot token is fetched now, so the first batch does not wait
    /// for it; a token that cannot be read is logged, not fatal: every record then fails as a
    /// failure of the function (auth) and comes back once the secret is fixed.
    ///
    /// # Errors
    /// Invalid configuration or mapping (named in the message): the function does not start.
    pub async fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, StartError> {
        let config = Config::from_env()?;
        let mapping = Mapping::from_env(
            crate::MAPPING,
            "mapping.toml",
            &schema(config.default_channel.is_some()),
        )?;
        let secrets = Secrets::from_sdk_config(aws);
        let handler = Self::new(config, mapping, secrets, None)?;
        if let Err(e) = handler.token().await {
            tracing::error!(
                error = %e,
                "the bot token cannot be read; records will be handed back until it can"
            );
        }
        tracing::info!(
            rules = handler.mapping.rule_names().count(),
            mapping = handler.mapping.file(),
            rate_limit = %handler.config.rate_limit,
            "slack-notify ready"
        );
        Ok(handler)
    }

    /// A handler from parts; `base_url` overrides `SLACK_API_BASE_URL` (tests).
    ///
    /// # Errors
    /// An unusable base URL.
    pub fn new(
        config: Config,
        mapping: Mapping,
        secrets: Secrets,
        base_url: Option<&str>,
    ) -> Result<Self, StartError> {
        let limiter = RateLimiter::per_key(config.rate_limit);
        let slack = match base_url {
            Some(url) => Destination::new("slack", url)?,
            None => Destination::from_env("slack", BASE_URL_ENV, DEFAULT_BASE_URL)?,
        }
        .with_policy(Arc::new(limiter));
        Ok(Self {
            http: HttpClient::from_env(crate::INTEGRATION)?,
            slack,
            secrets,
            config,
            mapping,
            last_refresh: Mutex::new(None),
        })
    }

    /// The bot token, from the cache (or Secrets Manager).
    async fn token(&self) -> Result<SecretString, Error> {
        let secret: BotSecret = self.secrets.get_json(&self.config.secret_id).await?;
        Ok(secret.bot_token)
    }

    /// Re-reads the secret after Slack refused the token, unless that was done recently.
    /// `Some(token)` when a fresh read happened.
    async fn refreshed_token(&self) -> Result<Option<SecretString>, Error> {
        {
            let mut last = self
                .last_refresh
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|t| t.elapsed() < REFRESH_INTERVAL) {
                return Ok(None);
            }
            *last = Some(Instant::now());
        }
        tracing::warn!(secret_id = %self.config.secret_id, "Slack refused the bot token; re-reading the secret");
        self.secrets.refresh(&self.config.secret_id).await?;
        self.token().await.map(Some)
    }

    /// Posts `message`; a refused token is re-read once and the post tried again.
    async fn post(&self, message: &PostMessage) -> Result<String, Error> {
        let token = self.token().await?;
        match self.call(&token, message).await {
            Err(e) if e.class() == ErrorClass::Auth => match self.refreshed_token().await? {
                Some(fresh) => self.call(&fresh, message).await.map_err(Error::from),
                None => Err(e.into()),
            },
            result => result.map_err(Error::from),
        }
    }

    /// One `chat.postMessage` call, paced per channel.
    async fn call(&self, token: &SecretString, message: &PostMessage) -> Result<String, HttpError> {
        let body = serde_json::to_vec(message).map_err(|e| {
            HttpError::refused(
                self.slack.name(),
                switchyard::Classification::permanent(),
                format!(
                    "cannot encode the message: {}",
                    switchyard::redact::json_error_summary(&e)
                ),
            )
        })?;
        let request = self
            .http
            .request(Method::POST, &self.slack, "chat.postMessage")?
            .bearer_auth(token.expose())
            .header(CONTENT_TYPE, "application/json; charset=utf-8")
            .body(body);
        let posted: Posted = with_rate_key(
            message.channel.clone(),
            self.http
                .send_json(&self.slack, request, Some(&SlackErrors)),
        )
        .await?;
        Ok(posted.ts)
    }
}

impl RecordHandler for SlackNotify {
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        let event = record.envelope()?;
        let Some(mapped) = self.mapping.apply(event)? else {
            return Ok(Outcome::skipped(format!(
                "no mapping rule selects source `{}`, type `{}`",
                event.source(),
                event.ty()
            )));
        };
        // What the rule made, for an operator debugging the mapping: the fields its rule marks
        // personal (`mask` in mapping.toml) masked. Written only at DEBUG.
        tracing::debug!(rule = mapped.rule(), fields = %mapped.for_log(), "mapped");
        let message = PostMessage::from_mapped(&mapped, self.config.default_channel.as_deref())?;
        let ts = self.post(&message).await?;
        tracing::info!(rule = mapped.rule(), channel = %message.channel, ts = %ts, "posted");
        Ok(Outcome::delivered_as(ts))
    }
}
