//! The runner: one SQS batch in, the partial batch response out.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::error::DisplayErrorContext;
use futures::{FutureExt, StreamExt};
use tracing::Instrument;

use super::dead_letter::{DeadLetterReason, dead_letter_attributes};
use super::fifo::{Unit, plan};
use super::handler::RecordHandler;
use super::queue::QueueUrls;
use super::visibility::{MAX_VISIBILITY, receive_count, visibility_timeout};
use crate::error::Error;
use crate::retry::Backoff;
use crate::taxonomy::{Classification, Classify, ErrorClass};
use crate::telemetry::metrics::{DEAD_LETTERED, DELIVERED, LATENCY, Metrics, RECEIVED, RETRIED};

/// The environment variable [`BatchRunner::from_env`] reads the dead-letter queue URL from.
pub const DLQ_URL_ENV: &str = "DLQ_URL";

/// Records processed at once unless configured otherwise: enough to overlap slow SaaS calls,
/// few enough not to trip a destination's rate limit from one execution environment.
pub const DEFAULT_MAX_CONCURRENCY: usize = 10;

/// Why a batch could not be answered record by record.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Records that must be redelivered carry no message id, so they cannot be named in a
    /// partial batch response (an empty identifier fails the whole batch anyway). Returning this
    /// error fails the invocation, so Lambda redelivers the whole batch and nothing is lost.
    #[error("{count} failed record(s) have no message id; failing the whole batch")]
    UnreportableFailures {
        /// How many failed records had no message id.
        count: usize,
    },
}

impl From<BatchError> for lambda_runtime::Diagnostic {
    /// Lets a deliverer return [`BatchRunner::run`]'s result straight from its `service_fn`.
    fn from(error: BatchError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "switchyard::batch::BatchError".to_string(),
            error_message: error.to_string(),
        }
    }
}

/// What became of one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Disposition {
    /// The handler succeeded; SQS deletes the record.
    Succeeded,
    /// Sent to the dead-letter queue and acknowledged.
    DeadLettered,
    /// Reported failed: SQS redelivers it.
    Failed,
    /// Not processed because an earlier record of its FIFO group failed; reported failed.
    Skipped,
}

impl Disposition {
    fn is_failure(self) -> bool {
        matches!(self, Disposition::Failed | Disposition::Skipped)
    }
}

/// The SQS batch runner for deliverers. Build it once at cold start and call [`run`] per
/// invocation; see the [module documentation](super) for the semantics.
///
/// [`run`]: BatchRunner::run
#[derive(Debug)]
pub struct BatchRunner {
    client: aws_sdk_sqs::Client,
    max_concurrency: usize,
    dead_letter_queue_url: Option<String>,
    backoff: Backoff,
    max_visibility: Duration,
    queue_urls: QueueUrls,
    metrics: Option<Metrics>,
}

impl BatchRunner {
    /// A runner with the defaults: [`DEFAULT_MAX_CONCURRENCY`], no dead-letter queue (permanent
    /// failures are reported failed and left to the queue's redrive policy), the default
    /// [`Backoff`], visibility capped at SQS's 12 hours.
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self {
            client,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            dead_letter_queue_url: None,
            backoff: Backoff::default(),
            max_visibility: MAX_VISIBILITY,
            queue_urls: QueueUrls::default(),
            metrics: None,
        }
    }

    /// [`BatchRunner::new`] with the dead-letter queue from `DLQ_URL` when it is set and not
    /// empty: the usual wiring of a deliverer, whose stack passes the queue URL in.
    pub fn from_env(client: aws_sdk_sqs::Client) -> Self {
        let runner = Self::new(client);
        match std::env::var(DLQ_URL_ENV) {
            Ok(url) if !url.trim().is_empty() => runner.with_dead_letter_queue(url.trim()),
            _ => runner,
        }
    }

    /// How many records run at once (at least 1). FIFO groups count once each, as their records
    /// run one at a time.
    pub fn with_max_concurrency(mut self, max_concurrency: usize) -> Self {
        self.max_concurrency = max_concurrency.max(1);
        self
    }

    /// Where permanent (and auth) failures go. A URL ending in `.fifo` is sent to as a FIFO
    /// queue (message group and deduplication ids set).
    pub fn with_dead_letter_queue(mut self, url: impl Into<String>) -> Self {
        self.dead_letter_queue_url = Some(url.into());
        self
    }

    /// The schedule for the visibility timeout of records handed back without a server delay.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// The longest visibility timeout the runner sets, e.g. to stay below a short retention
    /// period; never more than SQS's 12 hours.
    pub fn with_max_visibility(mut self, max: Duration) -> Self {
        self.max_visibility = max.min(MAX_VISIBILITY);
        self
    }

    /// Records per batch the EMF metrics `received` (records), `delivered` (succeeded),
    /// `retried` (handed back to SQS), `dead_lettered` and `latency` (the batch, in ms). The
    /// caller flushes the handle once per invocation.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The URL of a source queue, known in advance, so no `GetQueueUrl` call is made for it
    /// (optional: without it the URL is looked up once per queue ARN and cached).
    pub fn with_source_queue_url(self, arn: impl Into<String>, url: impl Into<String>) -> Self {
        self.queue_urls.insert(arn.into(), url.into());
        self
    }

    /// Processes a batch and answers with exactly the records SQS must redeliver.
    ///
    /// Errors only when a record that must be redelivered has no message id (never the case for
    /// events from Lambda): the whole batch is then failed so nothing is lost.
    pub async fn run<H: RecordHandler>(
        &self,
        event: &SqsEvent,
        handler: &H,
    ) -> Result<SqsBatchResponse, BatchError> {
        let started = std::time::Instant::now();
        let units = plan(&event.records);
        let mut outcomes: Vec<(usize, &SqsMessage, Disposition)> = futures::stream::iter(units)
            .map(|unit| self.run_unit(unit, handler))
            .buffer_unordered(self.max_concurrency)
            .flat_map(futures::stream::iter)
            .collect()
            .await;
        outcomes.sort_by_key(|(index, _, _)| *index);

        let mut response = SqsBatchResponse::default();
        let mut unreportable = 0;
        let count = |d: Disposition| outcomes.iter().filter(|o| o.2 == d).count();
        let (succeeded, dead_lettered, failed, skipped) = (
            count(Disposition::Succeeded),
            count(Disposition::DeadLettered),
            count(Disposition::Failed),
            count(Disposition::Skipped),
        );
        for (_, record, disposition) in &outcomes {
            if !disposition.is_failure() {
                continue;
            }
            match record.message_id.as_deref().filter(|id| !id.is_empty()) {
                Some(id) => {
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id.to_string();
                    response.batch_item_failures.push(failure);
                }
                None => unreportable += 1,
            }
        }
        if let Some(metrics) = &self.metrics {
            metrics.count(RECEIVED, outcomes.len() as u64);
            metrics.count(DELIVERED, succeeded as u64);
            metrics.count(RETRIED, (failed + skipped) as u64);
            metrics.count(DEAD_LETTERED, dead_lettered as u64);
            metrics.latency(LATENCY, started.elapsed());
        }
        tracing::info!(
            records = outcomes.len(),
            succeeded,
            dead_lettered,
            failed,
            skipped,
            "batch processed"
        );
        if unreportable > 0 {
            tracing::error!(
                count = unreportable,
                "failed records have no message id; failing the whole batch"
            );
            return Err(BatchError::UnreportableFailures {
                count: unreportable,
            });
        }
        Ok(response)
    }

    /// Runs one unit in order; an ordered (FIFO) unit stops at its first failure and skips the
    /// rest.
    async fn run_unit<'a, H: RecordHandler>(
        &self,
        unit: Unit<'a>,
        handler: &H,
    ) -> Vec<(usize, &'a SqsMessage, Disposition)> {
        let mut out = Vec::with_capacity(unit.records.len());
        let mut stopped = false;
        for (index, record) in unit.records {
            let disposition = if stopped {
                let _span = record_span(record).entered();
                tracing::info!(
                    outcome = "skipped",
                    group = unit.group,
                    "an earlier record of its message group failed; handing it back unprocessed"
                );
                Disposition::Skipped
            } else {
                self.process(record, handler, unit.group)
                    .instrument(record_span(record))
                    .await
            };
            stopped |= unit.ordered && disposition.is_failure();
            out.push((index, record, disposition));
        }
        out
    }

    /// Runs the handler on one record, a panic included, and disposes of the outcome.
    async fn process<H: RecordHandler>(
        &self,
        record: &SqsMessage,
        handler: &H,
        group: Option<&str>,
    ) -> Disposition {
        // The call sits inside the async block so a panic before the first await is caught too.
        let result = AssertUnwindSafe(async { handler.handle(record).await })
            .catch_unwind()
            .await;
        let error = match result {
            Ok(Ok(())) => {
                tracing::info!(outcome = "succeeded", "record processed");
                return Disposition::Succeeded;
            }
            Ok(Err(error)) => error,
            Err(panic) => Error::transient(format!("handler panicked: {}", panic_message(&*panic))),
        };
        let classification = error.classification();
        let reason = error.to_string();
        if classification.class.is_retryable() {
            tracing::warn!(
                outcome = "retry",
                class = %classification.class,
                reason = %reason,
                "record failed; handing it back to SQS"
            );
            self.delay_redelivery(record, classification).await;
            return Disposition::Failed;
        }
        self.dead_letter(record, classification.class, &reason, group)
            .await
    }

    /// Sends a permanently failed record to the dead-letter queue and acknowledges it, or, with
    /// no queue configured or a failed send, reports it failed so it is not lost.
    async fn dead_letter(
        &self,
        record: &SqsMessage,
        class: ErrorClass,
        reason: &str,
        group: Option<&str>,
    ) -> Disposition {
        let Some(dlq) = self.dead_letter_queue_url.as_deref() else {
            tracing::error!(
                outcome = "failed",
                class = %class,
                reason = %reason,
                "record failed permanently and no dead-letter queue is configured; handing it back to SQS"
            );
            self.delay_redelivery(record, Classification::new(class))
                .await;
            return Disposition::Failed;
        };
        let why = DeadLetterReason {
            class,
            reason,
            attempts: receive_count(record),
        };
        let (attributes, dropped) = dead_letter_attributes(record, &why);
        if !dropped.is_empty() {
            tracing::warn!(
                ?dropped,
                "message attributes left off the dead-letter message (SQS allows 10)"
            );
        }
        let mut request = self
            .client
            .send_message()
            .queue_url(dlq)
            .message_body(record.body.clone().unwrap_or_default())
            .set_message_attributes(Some(attributes));
        if dlq.ends_with(".fifo") {
            let message_id = record.message_id.as_deref().filter(|id| !id.is_empty());
            if let Some(group) = group.or(message_id) {
                request = request.message_group_id(group);
            }
            if let Some(id) = message_id {
                request = request.message_deduplication_id(id);
            }
        }
        match request.send().await {
            Ok(_) => {
                tracing::error!(
                    outcome = "dead_lettered",
                    class = %class,
                    reason = %reason,
                    dead_letter_queue = dlq,
                    "record failed permanently; sent to the dead-letter queue"
                );
                Disposition::DeadLettered
            }
            Err(e) => {
                tracing::error!(
                    outcome = "failed",
                    class = %class,
                    reason = %reason,
                    error = %DisplayErrorContext(&e),
                    "record failed permanently and the dead-letter send failed; handing it back to SQS"
                );
                self.delay_redelivery(record, Classification::new(class))
                    .await;
                Disposition::Failed
            }
        }
    }

    /// Sets the visibility timeout of a record handed back to SQS. Failing to is logged, not
    /// fatal: the record is still reported and comes back after the queue's own timeout.
    async fn delay_redelivery(&self, record: &SqsMessage, classification: Classification) {
        let seconds = visibility_timeout(
            classification,
            receive_count(record),
            &self.backoff,
            self.max_visibility,
        );
        let Some(receipt_handle) = record.receipt_handle.as_deref() else {
            tracing::warn!("record has no receipt handle; cannot set its visibility timeout");
            return;
        };
        let url = match self
            .queue_urls
            .resolve(&self.client, record.event_source_arn.as_deref())
            .await
        {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!(error = %e, "cannot set the visibility timeout: queue URL unknown");
                return;
            }
        };
        match self
            .client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(seconds)
            .send()
            .await
        {
            Ok(_) => tracing::debug!(visibility_timeout_s = seconds, "redelivery delayed"),
            Err(e) => tracing::warn!(
                visibility_timeout_s = seconds,
                error = %DisplayErrorContext(&e),
                "could not set the visibility timeout"
            ),
        }
    }
}

/// The span every line about a record is logged in.
fn record_span(record: &SqsMessage) -> tracing::Span {
    let id = record.message_id.as_deref().unwrap_or("-");
    tracing::info_span!("record", message_id = %id)
}

/// The text of a panic payload (`panic!` with a literal or a format string), else a placeholder.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        let literal = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
        assert_eq!(panic_message(&*literal), "boom");
        let formatted = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(panic_message(&*formatted), "boom 7");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(panic_message(&*other), "non-string panic payload");
    }

    fn offline_runner() -> BatchRunner {
        // No region and no endpoint: any SQS call would fail, so these tests prove none is made.
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .build();
        BatchRunner::new(aws_sdk_sqs::Client::from_conf(config))
    }

    fn event(records: Vec<SqsMessage>) -> SqsEvent {
        let mut event = SqsEvent::default();
        event.records = records;
        event
    }

    fn record(id: Option<&str>, body: &str) -> SqsMessage {
        let mut r = SqsMessage::default();
        r.message_id = id.map(str::to_string);
        r.body = Some(body.to_string());
        r
    }

    fn by_body() -> impl RecordHandler {
        super::super::handler_fn(|r: SqsMessage| async move {
            match r.body.as_deref() {
                Some("ok") => Ok(()),
                Some("panic") => panic!("boom"),
                _ => Err(Error::transient("nope")),
            }
        })
    }

    #[tokio::test]
    async fn a_failed_record_without_message_id_fails_the_whole_batch() {
        let runner = offline_runner();
        let ok_without_id = event(vec![record(None, "ok"), record(Some("m2"), "fail")]);
        let response = runner.run(&ok_without_id, &by_body()).await.unwrap();
        let ids: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["m2"]);

        for id in [None, Some("")] {
            let failed_without_id = event(vec![record(id, "fail"), record(Some("m2"), "ok")]);
            assert!(matches!(
                runner.run(&failed_without_id, &by_body()).await,
                Err(BatchError::UnreportableFailures { count: 1 })
            ));
        }
    }

    #[tokio::test]
    async fn an_empty_batch_has_no_failures_and_panics_stay_per_record() {
        let runner = offline_runner();
        let response = runner.run(&event(vec![]), &by_body()).await.unwrap();
        assert!(response.batch_item_failures.is_empty());
        let batch = event(vec![record(Some("a"), "panic"), record(Some("b"), "ok")]);
        let response = runner.run(&batch, &by_body()).await.unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(response.batch_item_failures[0].item_identifier, "a");
    }

    #[test]
    fn a_batch_error_becomes_a_lambda_diagnostic() {
        let d: lambda_runtime::Diagnostic = BatchError::UnreportableFailures { count: 2 }.into();
        assert_eq!(d.error_type, "switchyard::batch::BatchError");
        assert!(
            d.error_message.starts_with("2 failed record(s)"),
            "{}",
            d.error_message
        );
    }

    #[test]
    fn concurrency_is_at_least_one_and_visibility_at_most_twelve_hours() {
        let runner = offline_runner()
            .with_max_concurrency(0)
            .with_max_visibility(Duration::from_secs(100_000));
        assert_eq!(runner.max_concurrency, 1);
        assert_eq!(runner.max_visibility, MAX_VISIBILITY);
    }
}
