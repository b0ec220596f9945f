//! Secrets Manager, cached in process with a TTL, typed, redacted.
//!
//! # Why
//!
//! Every integration needs credentials (an API token, a webhook signing secret) and must not
//! pay a Secrets Manager call on every invocation: that adds latency, costs money and, under
//! load, gets throttled. So a function builds one [`Secrets`] at cold start and every
//! invocation reads through it. A value fetched less than a TTL ago is served from memory;
//! after a rotation the SaaS answers 401/403 and the connector calls [`Secrets::refresh`] once
//! (see [`crate::ErrorClass::Auth`]).
//!
//! Values come back as [`SecretString`], whose `Debug` prints `SecretString(***)`: secrets
//! never reach logs by accident, and reading one is an explicit [`SecretString::expose`].
//! The module's own logs carry the secret id only.
//!
//! ```no_run
//! # async fn example() -> Result<(), switchyard::Error> {
//! use switchyard::secrets::{SecretString, Secrets};
//!
//! #[derive(serde::Deserialize)]
//! struct SlackSecret {
//!     signing_secret: SecretString,
//!     #[serde(default)]
//!     previous_signing_secrets: Vec<SecretString>,
//! }
//!
//! // Cold start, once:
//! let secrets = Secrets::from_sdk_config(&switchyard::aws::load_config().await);
//! // Per invocation:
//! let slack: SlackSecret = secrets.get_json("integrations/slack").await?;
//! let token = secrets.get("integrations/hubspot-token").await?;
//! // After a 401 from the SaaS:
//! let token = secrets.refresh("integrations/hubspot-token").await?;
//! # let _ = (slack.signing_secret.expose(), token.expose());
//! # Ok(()) }
//! ```
//!
//! # Configuration
//!
//! | setting | default | how |
//! |---|---|---|
//! | TTL | 5 minutes ([`DEFAULT_TTL`]) | env `SECRETS_TTL_SECONDS` ([`TTL_ENV`]): whole seconds, `0` = no caching; or [`Secrets::with_ttl`], which wins |
//! | endpoint, region, credentials | the SDK's | [`crate::aws::load_config`]: `AWS_ENDPOINT_URL` points it at the local emulator |
//!
//! An invalid `SECRETS_TTL_SECONDS` logs a warning and keeps the default. The SDK's own retry
//! (3 attempts on throttling and 5xx) runs inside each fetch.
//!
//! # Secret shapes
//!
//! Only the `SecretString` of the current version (`AWSCURRENT`) is read; a binary-only secret is
//! malformed. The string is either a plain value (an API token: read it with [`Secrets::get`]) or
//! a JSON object read with [`Secrets::get_json`] into the connector's own type, e.g. a webhook
//! receiver's `{"signing_secret": "...", "previous_signing_secrets": ["..."]}` (old secrets are
//! kept while a rotation rolls out). Fields of type [`SecretString`] stay redacted.
//!
//! # Errors
//!
//! [`SecretError`] names the secret id and never its content (a JSON error keeps line and
//! column, not serde's message, which can quote the input):
//!
//! | cause | variant | class |
//! |---|---|---|
//! | `ResourceNotFoundException` | [`SecretError::NotFound`] | auth |
//! | not JSON, wrong shape for `T`, binary only | [`SecretError::Malformed`] | auth |
//! | `AccessDeniedException`, `DecryptionFailure`, bad credentials, 401/403 | [`SecretError::Denied`] | auth |
//! | `InvalidRequestException` (e.g. scheduled for deletion), `InvalidParameterException`, a request the SDK could not build | [`SecretError::Rejected`] | auth |
//! | another 4xx code | [`SecretError::Rejected`] | permanent |
//! | `ThrottlingException` (and the SDK's other throttling codes), 429 | [`SecretError::Throttled`] | throttled |
//! | timeout, connection failure, `InternalServiceError`, 5xx | [`SecretError::Unavailable`] | transient |
//!
//! A secret the function cannot use is [`crate::ErrorClass::Auth`], not permanent: it fails
//! every record alike and says nothing about any of them. The taxonomy ([`crate::taxonomy`])
//! makes `Auth` a failure of the function's credentials, which the batch runner answers by
//! handing records back to SQS on the long end of the redelivery schedule with an alarm
//! metric, dead-lettering them (as auth) only when the retry period runs out. A failed read is never cached (nor is a value
//! [`Secrets::get_json`] could not parse), so once the secret is created or fixed the next read
//! gets it and the backlog heals. Receivers are unaffected by the class: one without a usable
//! secret does not start, whatever the class says.
//!
//! # Why not `aws_secretsmanager_caching`
//!
//! AWS's caching crate (2.1) has a TTL and a `refresh_now` flag, but it depends on
//! `aws-sdk-secretsmanager` and `aws-config` with their default features, which Cargo unifies
//! into ours: that re-enables the SDK's legacy `rustls` feature (hyper 0.14 and a second,
//! older rustls stack) plus SSO and process credentials, undoing the workspace's trimmed SDK
//! features and growing every function binary. It also pulls `rustls`, `serde_with` and
//! `linked-hash-map` directly, logs through `log` rather than `tracing`, and returns its own
//! errors that would still need classifying. The cache here is about a hundred lines, shares
//! one fetch among concurrent readers, and is tested against a fake source with tokio's paused
//! clock and against moto.

mod cache;
mod error;
mod source;
mod value;

pub use cache::{DEFAULT_TTL, Secrets, TTL_ENV};
pub use error::SecretError;
pub use source::{Fetch, SecretSource};
pub use value::SecretString;
