//! The request path: method → size → signature → provider → envelope → routes → SQS.
//!
//! The order matters: the cheap checks come first, nothing is parsed before the signature is
//! verified (an unauthenticated caller learns nothing and costs little), and the answer is 200
//! only once every routed queue has the event.
//!
//! # Metrics
//!
//! One EMF line per invocation (the runtime flushes after each request), with the `service`
//! dimension. Each name counts exactly this:
//!
//! | metric | counts | answer |
//! |---|---|---|
//! | [`REQUESTS`] (`requests`) | every request, whatever its answer | any |
//! | [`QUEUED`] (`queued`) | events every routed queue accepted, once per event | 200 `accepted` |
//! | [`IGNORED`] (`ignored`) | verified events no route wants | 200 `ignored` |
//! | [`REJECTED`] (`rejected`) | requests answered 4xx, for any reason | 400, 401, 405, 413 |
//! | [`QUEUE_FAILURES`] (`queue_failures`) | events a routed queue did not accept | 503, 413 |
//! | [`LATENCY`] (`latency`, ms) | one sample per request: from reaching the handler to the answer, rejected requests included | any |
//! | [`COLD_START`](crate::telemetry::metrics::COLD_START) (`ColdStart`) | 1 on the first flush of the process | — |
//!
//! A queue's 413 (the envelope is larger than the queue's `MaximumMessageSize`) counts in both
//! `rejected` and `queue_failures`. Answers no outcome metric names — a handshake or ping
//! answered directly, a 500 because the signing secret became unusable — count in `requests`
//! (and `latency`) only, so `requests` minus the outcomes shows them. (Deliverers count
//! records under their own names, [`crate::batch::metrics`].)

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
use crate::telemetry::metrics::Metrics;

/// Metric: every request the receiver handled, whatever its answer (rejected, ignored,
/// answered directly, failed): the denominator of the outcome metrics below.
pub const REQUESTS: &str = "requests";
/// Metric: events every routed queue accepted (answered 200 `accepted`), once per event
/// whatever the number of queues. An event that some but not all queues accepted counts in
/// [`QUEUE_FAILURES`] instead.
pub const QUEUED: &str = "queued";
/// Metric: verified events no route wants (answered 200 `ignored`, nothing queued).
pub const IGNORED: &str = "ignored";
/// Metric: requests answered 4xx — 405 (not `POST`), 413 (body over `MAX_BODY_BYTES`, or an
/// envelope too large for a queue), 401 (signature), 400 (verified but unreadable).
pub const REJECTED: &str = "rejected";
/// Metric: events at least one routed queue did not accept: answered 503, or 413 when a queue
/// cannot hold the envelope (that 413 also counts in [`REJECTED`]).
pub const QUEUE_FAILURES: &str = "queue_failures";
/// Metric (milliseconds): one sample per request, from reaching the handler to the answer,
/// rejected requests included.
pub const LATENCY: &str = "latency";

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
        self.metrics.count(REQUESTS, 1);
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
        let failures: Vec<_> = results.into_iter().filter_map(Result::err).collect();
        for error in &failures {
            tracing::error!(queue = %error.queue_url, class = %crate::Classify::class(error), reason = %error.detail, "could not queue the event");
        }
        if !failures.is_empty() {
            self.metrics.count(QUEUE_FAILURES, 1);
            // A queue whose MaximumMessageSize is below body + envelope can never take this
            // delivery: say so (413) instead of inviting days of provider retries (503).
            return if failures.iter().any(|e| e.too_large) {
                Answer::envelope_too_large(envelope.len())
            } else {
                Answer::unavailable()
            };
        }
        tracing::info!(event_type = %info.ty, queues = queues.len(), "queued");
        self.metrics.count(QUEUED, 1);
        Answer::accepted(&info.id, queues.len())
    }
}

#[cfg(test)]
mod tests {
    //! The request path with an in-memory sink and fixed secrets: the answers that end-to-end
    //! tests cannot reach through a real emulator (a secret that became unusable) and the
    //! status and metric of each outcome.
    use std::sync::Mutex;

    use futures::future::BoxFuture;
    use serde_json::json;

    use super::*;
    use crate::receiver::provider::header_map;
    use crate::receiver::publish::PublishError;
    use crate::routing::Routes;
    use crate::secrets::{Fetch, SecretSource, Secrets};
    use crate::webhook::{Clock, Scheme, SecretSet, Verifier, github};
    use crate::{Classification, ErrorClass};

    struct Github;
    impl Provider for Github {
        fn name(&self) -> &'static str {
            "github"
        }
        fn scheme(&self) -> Scheme {
            Scheme::GitHub
        }
        fn describe(&self, d: &Delivery<'_>) -> Result<Decision, super::super::Rejection> {
            let id = d.required_header("x-github-delivery")?;
            let ty = d.required_header("x-github-event")?;
            Ok(Decision::Enqueue(EventInfo::new(id, ty)))
        }
    }

    /// Records what it is sent; fails every send when `fail` is set.
    #[derive(Default)]
    struct MemorySink {
        sent: Mutex<Vec<(String, String)>>,
        fail: Option<bool>,
    }
    impl EventSink for MemorySink {
        fn send<'a>(
            &'a self,
            queue_url: &'a str,
            message: super::super::Outgoing<'a>,
        ) -> BoxFuture<'a, Result<(), PublishError>> {
            Box::pin(async move {
                match self.fail {
                    Some(too_large) => Err(PublishError {
                        queue_url: queue_url.into(),
                        detail: "refused".into(),
                        classification: Classification::new(ErrorClass::Transient),
                        too_large,
                    }),
                    None => {
                        self.sent
                            .lock()
                            .unwrap()
                            .push((queue_url.into(), message.body.into()));
                        Ok(())
                    }
                }
            })
        }
    }

    struct NoSecrets;
    impl SecretSource for NoSecrets {
        fn fetch<'a>(&'a self, id: &'a str) -> Fetch<'a> {
            Box::pin(async move {
                Err(crate::secrets::SecretError::malformed(
                    id,
                    "not in this test",
                ))
            })
        }
    }

    const SECRET: &str = "It's a Secret to Everybody";

    fn receiver(verifier: Verifier, routes: Routes, sink: Arc<MemorySink>) -> Receiver<Github> {
        let secrets =
            Secrets::with_source(NoSecrets).with_ttl(std::time::Duration::from_secs(3600));
        let keys = SigningKeys::fixed(secrets, "github/signing".into(), verifier);
        let config = ReceiverConfig {
            secret_id: "github/signing".into(),
            routes,
            max_body_bytes: 1024,
            source: None,
        };
        let metrics = Metrics::builder().without_cold_start().build().unwrap();
        Receiver::new(Github, config, keys, sink, metrics)
    }

    fn request(body: &[u8], secret: &str, event: &str) -> HeaderMap {
        let signature = github::sign(body, &secret.into());
        header_map(&[
            ("x-hub-signature-256", &signature),
            ("x-github-delivery", "d-1"),
            ("x-github-event", event),
        ])
        .unwrap()
    }

    fn metric(receiver: &Receiver<Github>, name: &str) -> serde_json::Value {
        let lines = receiver.metrics().take_lines();
        let emf: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        emf[name].clone()
    }

    #[tokio::test]
    async fn accepted_events_reach_every_routed_queue_once() {
        let sink = Arc::new(MemorySink::default());
        let routes = Routes::parse(r#"{"push": ["q1", "q2"], "p*": "q2"}"#).unwrap();
        let r = receiver(
            Verifier::new(Scheme::GitHub, SecretSet::new(SECRET)),
            routes,
            sink.clone(),
        );
        let body = br#"{"ref":"main"}"#;
        let answer = r
            .handle(&Method::POST, &request(body, SECRET, "push"), body)
            .await;
        assert_eq!(answer.status, 200);
        assert_eq!(
            answer.body,
            json!({"status": "accepted", "id": "d-1", "queues": 2})
        );
        let sent = sink.sent.lock().unwrap().clone();
        assert_eq!(
            sent.iter().map(|(q, _)| q.as_str()).collect::<Vec<_>>(),
            ["q1", "q2"]
        );
        let envelope: serde_json::Value = serde_json::from_str(&sent[0].1).unwrap();
        assert_eq!(envelope["data"], json!({"ref": "main"}));
        assert_eq!(metric(&r, QUEUED), 1);
    }

    #[tokio::test]
    async fn every_request_counts_in_requests_and_latency_whatever_its_answer() {
        let sink = Arc::new(MemorySink::default());
        let r = receiver(
            Verifier::new(Scheme::GitHub, SecretSet::new(SECRET)),
            Routes::single("q"),
            sink,
        );
        let body = br#"{"ref":"main"}"#;
        let accepted = r
            .handle(&Method::POST, &request(body, SECRET, "push"), body)
            .await;
        let forged = r
            .handle(
                &Method::POST,
                &request(body, "another secret", "push"),
                body,
            )
            .await;
        let not_post = r
            .handle(&Method::GET, &request(body, SECRET, "push"), body)
            .await;
        assert_eq!(
            [accepted.status, forged.status, not_post.status].map(|s| s.as_u16()),
            [200, 401, 405]
        );

        let lines = r.metrics().take_lines();
        assert_eq!(lines.len(), 1);
        let emf: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(emf[REQUESTS], 3);
        assert_eq!(emf[QUEUED], 1);
        assert_eq!(emf[REJECTED], 2);
        let samples = emf[LATENCY].as_array().unwrap();
        assert_eq!(samples.len(), 3, "one latency sample per request");
        assert!(samples.iter().all(|ms| ms.as_f64().unwrap() >= 0.0));
        let units: Vec<_> = emf["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| (d["Name"].as_str().unwrap(), d["Unit"].as_str().unwrap()))
            .collect();
        assert!(units.contains(&(LATENCY, "Milliseconds")), "{units:?}");
        assert!(
            emf.get("received").is_none(),
            "receivers count `requests`, not the old `received`"
        );
    }

    #[tokio::test]
    async fn an_unusable_secret_answers_500_not_401() {
        // A Standard Webhooks verifier whose secret is not base64: our fault, not the caller's.
        let verifier = Verifier::new(Scheme::StandardWebhooks, SecretSet::new("whsec_!!!"));
        let sink = Arc::new(MemorySink::default());
        let r = receiver(verifier, Routes::single("q"), sink.clone());
        let body = b"{}";
        let headers = header_map(&[
            ("webhook-id", "m1"),
            (
                "webhook-timestamp",
                &crate::webhook::SystemClock.unix_now().to_string(),
            ),
            ("webhook-signature", "v1,AAAA"),
        ])
        .unwrap();
        let answer = r.handle(&Method::POST, &headers, body).await;
        assert_eq!(answer.status, 500, "{answer:?}");
        assert!(sink.sent.lock().unwrap().is_empty());
        let emf: serde_json::Value = serde_json::from_str(&r.metrics().take_lines()[0]).unwrap();
        assert_eq!(emf[REQUESTS], 1);
        for outcome in [QUEUED, IGNORED, REJECTED, QUEUE_FAILURES] {
            assert!(emf.get(outcome).is_none(), "a 500 is not {outcome}");
        }
    }

    #[tokio::test]
    async fn queue_failures_answer_503_or_413_when_the_queue_cannot_hold_it() {
        for (too_large, status) in [(false, 503), (true, 413)] {
            let sink = Arc::new(MemorySink {
                fail: Some(too_large),
                ..MemorySink::default()
            });
            let r = receiver(
                Verifier::new(Scheme::GitHub, SecretSet::new(SECRET)),
                Routes::single("q"),
                sink,
            );
            let body = br#"{"ref":"main"}"#;
            let answer = r
                .handle(&Method::POST, &request(body, SECRET, "push"), body)
                .await;
            assert_eq!(answer.status, status);
            assert_eq!(metric(&r, QUEUE_FAILURES), 1);
        }
    }

    #[tokio::test]
    async fn unrouted_types_are_ignored_and_forged_requests_counted_as_rejected() {
        let sink = Arc::new(MemorySink::default());
        let routes = Routes::parse(r#"{"push": "q"}"#).unwrap();
        let r = receiver(
            Verifier::new(Scheme::GitHub, SecretSet::new(SECRET)),
            routes,
            sink.clone(),
        );
        let body = b"{}";
        let answer = r
            .handle(&Method::POST, &request(body, SECRET, "issues"), body)
            .await;
        assert_eq!(
            (answer.status.as_u16(), answer.body["status"].as_str()),
            (200, Some("ignored"))
        );
        assert_eq!(metric(&r, IGNORED), 1);

        let answer = r
            .handle(
                &Method::POST,
                &request(body, "another secret", "push"),
                body,
            )
            .await;
        assert_eq!(answer.status, 401);
        assert_eq!(metric(&r, REJECTED), 1);
        assert!(sink.sent.lock().unwrap().is_empty());
    }
}
