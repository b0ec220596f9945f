//! The receiver runtime: a Function URL webhook → verify → normalise → SQS.
//!
//! A receiver function is a [`Provider`] (its scheme and where its events keep their id, type
//! and time) handed to [`run`]. Everything else is here, the same for every provider:
//!
//! | step | answer on failure |
//! |---|---|
//! | only `POST` | 405 |
//! | body within `MAX_BODY_BYTES` (default 256 KiB) | 413 |
//! | signature valid with the current or a previous secret | 401, no detail (reason logged) |
//! | the secret itself usable | 500 (the provider retries once it is fixed) |
//! | body is JSON with the provider's id and type | 400 |
//! | a route wants the type | 200 `ignored`, nothing queued |
//! | every routed queue accepted the CloudEvents envelope | 503 (the provider retries); 413 if a queue's `MaximumMessageSize` cannot hold it |
//! | — | 200 `accepted` |
//!
//! The raw body is verified exactly as received (Function URLs hand it over base64-encoded
//! when binary; `lambda_http` decodes it) and travels unchanged as the envelope's `data`.
//! Configuration is by environment only ([`config`]). The signing secret is read at cold
//! start — a receiver without its secret does not start — and follows rotations
//! ([`signing_keys`]).
//!
//! Delivery is at least once: a provider may resend, and if one of several routed queues fails
//! the 503 makes the provider resend to all of them. Consumers deduplicate on the envelope's
//! `source` + `id` (the provider's own event id); FIFO queues do it for five minutes by
//! themselves ([`publish`]).

pub mod answer;
pub mod config;
pub mod handler;
pub mod provider;
pub mod publish;
pub mod signing_keys;

use std::sync::Arc;

pub use answer::Answer;
pub use config::{ConfigError, ReceiverConfig};
pub use handler::Receiver;
pub use provider::{
    Decision, Delivery, EventInfo, Provider, Rejection, header_map, rfc3339_time, unix_time,
};
pub use publish::{EventSink, Outgoing, PublishError, SqsSink};
pub use signing_keys::SigningKeys;

use crate::secrets::Secrets;
use crate::telemetry::metrics::Metrics;

/// Builds a receiver from the environment: configuration, the AWS clients, the signing secret
/// (fetched now, so a broken secret fails the cold start rather than the first request).
pub async fn from_env<P: Provider>(provider: P) -> Result<Receiver<P>, lambda_http::Error> {
    let config = ReceiverConfig::from_env()?;
    let aws = crate::aws::load_config().await;
    let secrets = Secrets::from_sdk_config(&aws);
    let keys = SigningKeys::load(secrets, config.secret_id.clone(), provider.scheme())
        .await
        .inspect_err(
            |e| tracing::error!(error = %e, "cannot start: the signing secret is not readable"),
        )?;
    let sink = SqsSink::new(aws_sdk_sqs::Client::new(&aws));
    Ok(Receiver::new(
        provider,
        config,
        keys,
        Arc::new(sink),
        Metrics::from_env(),
    ))
}

/// Runs a receiver function: logging, cold start, then one request per invocation, with the
/// invocation's metrics flushed as one EMF line.
///
/// On SIGTERM or SIGINT ([`crate::shutdown`]) the request in flight is finished and answered,
/// no new one is polled for, and this returns `Ok(())` (the process exits 0).
pub async fn run<P: Provider>(provider: P) -> Result<(), lambda_http::Error> {
    crate::telemetry::logging::init();
    let receiver = Arc::new(from_env(provider).await?);
    let shutdown = crate::shutdown::Shutdown::install()?;
    tracing::info!(source = %receiver.source(), "receiver ready");
    let metrics = receiver.metrics().clone();
    let service = lambda_http::service_fn(move |request: lambda_http::Request| {
        let receiver = receiver.clone();
        async move {
            let answer = receiver
                .handle(request.method(), request.headers(), request.body().as_ref())
                .await;
            if let Err(e) = receiver.metrics().flush() {
                tracing::warn!(error = %e, "could not write metrics");
            }
            Ok::<_, std::convert::Infallible>(answer.into_response())
        }
    });
    crate::shutdown::run(lambda_http::Adapter::from(service), &shutdown, &metrics).await
}
