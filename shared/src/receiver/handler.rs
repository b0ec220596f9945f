//! The request path: method → size → signature → provider → envelope → routes → SQS.
//!
//! The order matters: the cheap checks come first, nothing is parsed before the signature is
//! verified (an unauthenticated caller learns nothing and costs little), and the answer is 200
//! only once every routed queue has the event.

use std::sync::Arc;
use std::time::Instant;

use lambda_http::http::{HeaderMap, Method};
use tracing::Instrument;

use super::answer::Answer;
use super::config::ReceiverConfig;
use super::provider::{Decision, Delivery, EventInfo, Provider};
use super::publish::{EventSink, Outgoing};
use super::signing_keys::SigningKeys;
use crate::routing::Routes;
use crate::telemetry::logging::event_span;
use crate::telemetry::metrics::{LATENCY, Metrics, RECEIVED};

/// Metric: events put on at least one queue.
pub const QUEUED: &str = "queued";
/// Metric: verified events no route wanted.
pub const IGNORED: &str = "ignored";
/// Metric: requests refused (401, 400, 405, 413).
pub const REJECTED: &str = "rejected";
/// Metric: events SQS did not accept (answered 503).
pub const QUEUE_FAILURES: &str = "queue_failures";

/// A receiver: one provider, its secrets, its routes, its queues.
pub struct Receiver<P> {
    provider: P,
    source: String,
    routes: Routes,
    max_body_bytes: usize,
    keys: SigningKeys,
    sink: Arc<dyn EventSink>,
    metrics: Metrics,
}

impl<P: Provider> Receiver<P> {
    /// Assembles a receiver from parts built at cold start.
    pub fn new(
        provider: P,
        config: ReceiverConfig,
        keys: SigningKeys,
        sink: Arc<dyn EventSink>,
        metrics: Metrics,
    ) -> Self {
        let source = config.source.unwrap_or_else(|| provider.name().to_owned());
        Self {
            provider,
            source,
            routes: config.routes,
            max_body_bytes: config.max_body_bytes,
            keys,
            sink,
            metrics,
        }
    }

    /// The metrics handle (flushed once per invocation by the runtime).
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The envelope `source` of this receiver's events.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Handles one webhook request and says how to answer it.
    pub async fn handle(&self, method: &Method, headers: &HeaderMap, body: &[u8]) -> Answer {
        let started = Instant::now();
        self.metrics.count(RECEIVED, 1);
        let answer = self.process(method, headers, body).await;
        self.metrics.latency(LATENCY, started.elapsed());
        let status = answer.status.as_u16();
        if (400..500).contains(&status) {
            self.metrics.count(REJECTED, 1);
        }
        answer
    }

    async fn process(&self, method: &Method, headers: &HeaderMap, body: &[u8]) -> Answer {
        if method != Method::POST {
            tracing::warn!(%method, "refused: webhooks arrive by POST");
            return Answer::method_not_allowed();
        }
        if body.len() > self.max_body_bytes {
            tracing::warn!(
                size = body.len(),
                limit = self.max_body_bytes,
                "refused: body over the limit"
            );
            return Answer::too_large(self.max_body_bytes);
        }
        match self.keys.verify(body, headers).await {
            Ok(verified) if verified.secret_index > 0 => {
                tracing::warn!(
                    secret_id = %self.keys.secret_id(),
                    secret_index = verified.secret_index,
                    "accepted with a previous signing secret: the sender has not finished rotating"
                );
            }
            Ok(_) => {}
            Err(e) if e.is_configuration_fault() => {
                tracing::error!(secret_id = %self.keys.secret_id(), reason = %e, "cannot verify: the signing secret is unusable");
                return Answer::misconfigured();
            }
            Err(e) => {
                tracing::warn!(scheme = %self.provider.scheme(), reason = %e, "refused: signature verification failed");
                return Answer::unauthorized();
            }
        }
        let delivery = Delivery { headers, body };
        let info = match self.provider.describe(&delivery) {
            Ok(Decision::Enqueue(info)) => info,
            Ok(Decision::Respond { body, reason }) => {
                tracing::info!(reason, "answered directly, nothing queued");
                return Answer::direct(body);
            }
            Err(rejection) => {
                tracing::warn!(reason = %rejection, "refused: verified but unreadable");
                return Answer::bad_request(&rejection.to_string());
            }
        };
        let span = event_span(&info.id);
        self.enqueue(info, body).instrument(span).await
    }

    async fn enqueue(&self, info: EventInfo, body: &[u8]) -> Answer {
        let queues = self.routes.queues_for(&info.ty);
        if queues.is_empty() {
            tracing::info!(event_type = %info.ty, "ignored: no route wants this event type");
            self.metrics.count(IGNORED, 1);
            return Answer::ignored(&info.id);
        }
        let envelope = match info.to_envelope(&self.source, body) {
            Ok(json) => json,
            Err(e) => {
                tracing::warn!(reason = %e, "refused: cannot build an envelope from this event");
                return Answer::bad_request(&e.to_string());
            }
        };
        let group = info.subject.as_deref().unwrap_or(&self.source);
        let message = Outgoing {
            body: &envelope,
            dedup_key: (&self.source, &info.id),
            group,
        };
        let sends = queues.iter().map(|q| self.sink.send(q, message));
        let results = futures::future::join_all(sends).await;
        let mut failed = 0;
        let mut too_large = false;
        for error in results.into_iter().filter_map(Result::err) {
            failed += 1;
            too_large |= error.too_large;
            tracing::error!(queue = %error.queue_url, class = %crate::Classify::class(&error), reason = %error.detail, "could not queue the event");
        }
        if too_large {
            // The queue's MaximumMessageSize is below body + envelope: a retry cannot fit
            // either, so say so instead of inviting days of provider retries.
            self.metrics.count(QUEUE_FAILURES, 1);
            return Answer::too_large(envelope.len());
        }
        if failed > 0 {
            self.metrics.count(QUEUE_FAILURES, 1);
            return Answer::unavailable();
        }
        tracing::info!(event_type = %info.ty, queues = queues.len(), "queued");
        self.metrics.count(QUEUED, 1);
        Answer::accepted(&info.id, queues.len())
    }
}
