//! The SQS batch runner for deliverers: partial batch failures, redelivery timing, dead letters,
//! FIFO order.
//!
//! A deliverer Lambda receives an [`SqsEvent`](aws_lambda_events::sqs::SqsEvent) and answers
//! with an [`SqsBatchResponse`](aws_lambda_events::sqs::SqsBatchResponse) naming the records SQS
//! must redeliver (the event source mapping needs `FunctionResponseTypes: ReportBatchItemFailures`).
//! The function supplies only the work for one record, a [`RecordHandler`]; [`BatchRunner`] does
//! the rest.
//!
//! # Semantics
//!
//! * **Bounded concurrency.** Records run at most [`DEFAULT_MAX_CONCURRENCY`] (configurable) at
//!   a time, so one batch cannot open a hundred connections to a rate-limited API.
//! * **Panics are per record.** A panicking handler fails that record alone, classified
//!   transient: it is retried and, if it keeps panicking, moved on by the queue's redrive policy.
//! * **Exactly the failed ids.** The response lists the message id of every record to redeliver
//!   and nothing else, in batch order. An empty identifier would make Lambda fail the whole batch,
//!   so one is never sent: if a record to redeliver has no message id (Lambda always sets one),
//!   [`BatchRunner::run`] returns [`BatchError::UnreportableFailures`] instead, failing the
//!   invocation so the whole batch comes back and nothing is lost.
//! * **Throttled / transient** records are reported failed *and* their visibility timeout is set
//!   (`ChangeMessageVisibility`) to the error's `retry_after`, else to
//!   [`Backoff::delay`](crate::retry::Backoff::delay) of the record's `ApproximateReceiveCount`,
//!   capped at 12 hours ([`visibility`]). If the change fails, that is logged and the record still
//!   comes back, after the queue's own timeout.
//! * **Permanent / auth** records (auth is final here: the handler refreshes its secret and
//!   retries before giving up) are sent to the dead-letter queue — original body and message
//!   attributes plus `switchyard.error.class`, `switchyard.error.reason` (truncated),
//!   `switchyard.attempts`, `switchyard.source.message_id` and `switchyard.source.queue`
//!   ([`dead_letter`]) — and acknowledged. With no dead-letter queue configured, or when the send
//!   fails, they are reported failed instead (with a backoff visibility), so nothing is lost.
//! * **FIFO queues** (source ARN ending in `.fifo`): each message group runs one record at a time
//!   in order, groups concurrently. The first record of a group that is handed back stops the
//!   group: it and every later record of that group are reported failed, in order, and the later
//!   ones are not processed ([`fifo`]). Only the failed record's visibility is changed: SQS does
//!   not deliver the later records of a group before it, so delaying it delays them. A
//!   dead-lettered record does not stop its group; the dead-letter queue must then be FIFO too,
//!   and gets the original `MessageGroupId` and the original message id as
//!   `MessageDeduplicationId`.
//! * **Queue URLs** for `ChangeMessageVisibility` come from the record's `eventSourceARN`
//!   through `GetQueueUrl`, cached per ARN for the life of the runner ([`queue`]); the client must
//!   be in the queue's region (as Lambda's event source mapping is).
//! * **Logs**: every line about a record is in a `record` span with its `message_id`; the outcome
//!   (`succeeded`, `retry`, `dead_lettered`, `failed`, `skipped`) is logged with the class and
//!   reason, and a `batch processed` line carries the counts.
//!
//! # Why
//!
//! This matches the Powertools batch processor (partial batch response, FIFO stops at the first
//! failure and fails the rest) and goes further where the Lambda runtime's own example stops
//! short: bounded concurrency, panic capture, FIFO groups running concurrently instead of
//! stopping the whole batch, redelivery timed by the destination's `Retry-After` instead of the
//! queue's fixed timeout, and permanent failures dead-lettered at once with their reason instead
//! of after `maxReceiveCount` pointless retries. Unlike Powertools it does not raise when every
//! record fails: the response already hands them all back, and raising would undo the
//! acknowledgement of records sent to the dead-letter queue.
//!
//! # Use
//!
//! ```no_run
//! use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
//! use lambda_runtime::{LambdaEvent, service_fn};
//! use switchyard::batch::{BatchRunner, RecordHandler};
//! use switchyard::Error;
//!
//! struct Deliverer; // holds the HTTP client, secrets, ... built once
//!
//! impl RecordHandler for Deliverer {
//!     async fn handle(&self, record: &SqsMessage) -> Result<(), Error> {
//!         let body = record.body.as_deref().unwrap_or_default();
//!         let _payload: serde_json::Value = serde_json::from_str(body)?; // bad JSON: permanent
//!         // ... call the SaaS API; its errors classify themselves ...
//!         Ok(())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     let sqs = aws_sdk_sqs::Client::new(&switchyard::aws::load_config().await);
//!     let metrics = switchyard::telemetry::metrics::Metrics::from_env();
//!     let runner = &BatchRunner::from_env(sqs) // DLQ_URL
//!         .with_max_concurrency(5)
//!         .with_metrics(metrics.clone()); // received, delivered, retried, dead_lettered, latency
//!     let deliverer = &Deliverer;
//!     let metrics = &metrics;
//!     lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
//!         let response = runner.run(&event.payload, deliverer).await;
//!         let _ = metrics.flush(); // one EMF line per invocation
//!         response
//!     }))
//!     .await
//! }
//! ```

pub mod dead_letter;
pub mod fifo;
mod handler;
pub mod queue;
mod runner;
pub mod visibility;

pub use handler::{HandlerFn, RecordHandler, handler_fn};
pub use runner::{BatchError, BatchRunner, DEFAULT_MAX_CONCURRENCY, DLQ_URL_ENV};
