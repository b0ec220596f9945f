//! The SQS batch runner for deliverers: invocation-aware, outcome per record, per-record and
//! batch handlers, a redelivery schedule that survives outages, dead letters with a reason.
//!
//! A deliverer Lambda receives an [`SqsEvent`](aws_lambda_events::sqs::SqsEvent) and answers
//! with an [`SqsBatchResponse`](aws_lambda_events::sqs::SqsBatchResponse) naming the records SQS
//! must redeliver (the event source mapping needs `FunctionResponseTypes: ReportBatchItemFailures`).
//! The function supplies only the work — a [`RecordHandler`] (one record per call) or a
//! [`BatchHandler`] (many records per call, one result each) — and [`BatchRunner`] does the
//! rest. Each record ends in exactly one of these ways:
//!
//! | handler result | what the runner does | metric |
//! |---|---|---|
//! | [`Outcome::Delivered`] (with the destination's id, if any) | acknowledged: SQS deletes it | `delivered` |
//! | [`Outcome::Skipped`] (nothing to do) | acknowledged | `skipped` |
//! | [`Outcome::Duplicate`] (already delivered earlier) | acknowledged | `deduped` |
//! | throttled / transient error | retried inside the invocation while the cutoff allows; then handed back with a visibility from the [`schedule`]: the server's `Retry-After` first, else the schedule's delay for this attempt | `retried` (`throttled`) |
//! | auth error: the function's credentials or configuration failed, not the record | handed back on the long end of the schedule (default 30 min), so fixing the secret heals the backlog without a replay | `retried`, `function_failures` |
//! | any of those, once the retry period (from the first receive) or the attempts run out | dead-lettered with its class and a reason saying so | `dead_lettered` |
//! | permanent error (bad data, invalid envelope, a 4xx) | dead-lettered at once, with class, reason and attempts | `dead_lettered` |
//! | not started before the cutoff, or after a shutdown request (SIGTERM/SIGINT) | handed back at once, unprocessed | `deferred` |
//!
//! # Semantics
//!
//! * **Invocation-aware.** [`BatchRunner::run`] takes the [`Invocation`](crate::invocation)
//!   (Lambda's deadline and a reserve kept free before it). A record starts only while its
//!   start margin is left before the cutoff; every handler call runs under a timeout ending at
//!   the cutoff; the unstarted records are handed back (visibility 0), not the whole batch. A
//!   slow batch no longer times out the invocation, which made Lambda redeliver every record,
//!   the delivered and dead-lettered ones included.
//! * **Graceful shutdown.** Once the runner's [`Shutdown`](crate::shutdown::Shutdown) is
//!   requested ([`BatchRunner::with_shutdown`]; the deliverer runtime passes the process's,
//!   requested by SIGTERM or SIGINT), no record or batch call starts: the rest of the batch is
//!   handed back as above (a FIFO group stops at its first unstarted record, its later ones
//!   blocked behind it), the running ones finish within the cutoff, and the response names
//!   exactly the records not done. One atomic load per record start. See [`crate::shutdown`].
//! * **Bounded concurrency.** Per-record handlers run at most [`DEFAULT_MAX_CONCURRENCY`]
//!   (configurable) records at a time. Batch handlers get one call per
//!   [`BatchHandler::max_batch_size`] records.
//! * **Panics are per call.** A panicking handler fails its own record(s), as transient.
//! * **Exactly the failed ids.** The response lists the message id of every record to redeliver
//!   and nothing else, in batch order. An empty identifier would make Lambda fail the whole
//!   batch, so one is never sent: if a record to redeliver has no message id (Lambda always sets
//!   one), [`BatchRunner::run`] returns [`BatchError::UnreportableFailures`] instead, failing
//!   the invocation so the whole batch comes back and nothing is lost.
//! * **Batched SQS calls.** Visibility changes go out as `ChangeMessageVisibilityBatch` and
//!   dead letters as `SendMessageBatch`, ten records a call ([`visibility`], [`dead_letter`]).
//!   A failed visibility change is logged (the record still comes back, after the queue's own
//!   timeout); a failed dead-letter send, or no dead-letter queue at all, hands the record back
//!   on the long end of the schedule and counts a function failure: nothing is lost.
//! * **Dead letters** carry the original body and message attributes plus
//!   `switchyard.error.class`, `switchyard.error.reason` (truncated, never payload values),
//!   `switchyard.attempts`, `switchyard.source.message_id` and `switchyard.source.queue`.
//! * **FIFO queues** (source ARN ending in `.fifo`): per-record handlers run each message group
//!   one record at a time, groups concurrently; batch handlers get rounds holding at most one
//!   record per group. The first record of a group that is handed back stops the group: its
//!   later records are handed back unprocessed, in order ([`fifo`]). A dead-lettered record
//!   does not stop its group; the dead-letter queue must then be FIFO too, and gets the original
//!   `MessageGroupId` and the message id as `MessageDeduplicationId`. (Should that dead-letter
//!   send fail, the record is handed back after its group's later records were processed: the
//!   one case where order bends, and only while the dead-letter queue is broken.)
//! * **The queue's `maxReceiveCount`** is a backstop above
//!   [`RedeliverySchedule::max_attempts`] for records that never reach the runner (a function
//!   that crashes on them); the runner, not the redrive policy, decides when a record is dead
//!   and says why. The queue's retention must outlast the retry period.
//! * **Queue URLs** for visibility changes come from the record's `eventSourceARN` through
//!   `GetQueueUrl`, cached per ARN for the life of the runner ([`queue`]).
//! * **Logs**: every line about a record is in a `record` span carrying its `message_id` and,
//!   when the body is an envelope, its `event_id`, at a level that survives any log filter.
//!   Each record's end is logged once (`outcome` = `delivered`, `skipped`, `duplicate`,
//!   `retry`, `function_failure`, `deferred`, `permanent`, `exhausted`, `dead_lettered`), and a
//!   `batch processed` line carries the counts. **Metrics**: see [`metrics`].
//!
//! # Why
//!
//! This matches the Powertools batch processor (partial batch response, FIFO stops at the first
//! failure and fails the rest) and goes where it and the Lambda runtime's example stop short:
//! deadline awareness, bounded concurrency, panic capture, batch endpoints, redelivery timed by
//! the destination's `Retry-After` and by a schedule of hours to days instead of the queue's
//! fixed timeout, and dead letters with their reason instead of a silent redrive. Unlike
//! Powertools it does not raise when every record fails: the response already hands them all
//! back, and raising would undo the acknowledgement of records sent to the dead-letter queue.
//!
//! # Use
//!
//! The usual wiring is [`crate::deliverer`], which builds the runner from the environment and
//! runs it per invocation. By hand:
//!
//! ```no_run
//! use aws_lambda_events::sqs::SqsEvent;
//! use lambda_runtime::{LambdaEvent, service_fn};
//! use switchyard::batch::{BatchRunner, Outcome, Record, RecordHandler};
//! use switchyard::invocation::Invocation;
//! use switchyard::Error;
//!
//! struct Deliverer; // holds the HTTP client, secrets, ... built once
//!
//! impl RecordHandler for Deliverer {
//!     async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
//!         let event = record.envelope()?; // not an envelope: permanent, dead-lettered
//!         let _ = event.ty();
//!         // ... call the SaaS API; its errors classify themselves ...
//!         Ok(Outcome::delivered_as("id-at-the-destination"))
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     let sqs = aws_sdk_sqs::Client::new(&switchyard::aws::load_config().await);
//!     let metrics = switchyard::telemetry::metrics::Metrics::from_env();
//!     let runner = &BatchRunner::from_env(sqs)? // DLQ_URL, REDELIVERY_SCHEDULE, ...
//!         .with_metrics(metrics.clone());
//!     let (deliverer, metrics) = (&Deliverer, &metrics);
//!     lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
//!         let invocation = Invocation::from_context(&event.context);
//!         let response = runner.run(&event.payload, &invocation, deliverer).await;
//!         let _ = metrics.flush(); // one EMF line per invocation
//!         response
//!     }))
//!     .await
//! }
//! ```

pub mod dead_letter;
mod dispatch;
pub mod fifo;
mod handler;
pub mod metrics;
mod outcome;
pub mod queue;
mod record;
mod runner;
pub mod schedule;
pub mod visibility;

pub use dispatch::DEFAULT_START_MARGIN;
pub use handler::{BatchHandler, HandlerFn, RecordHandler, handler_fn};
pub use outcome::Outcome;
pub use record::{FIRST_RECEIVE_TIMESTAMP, Record, SENT_TIMESTAMP};
pub use runner::{
    BatchError, BatchRunner, DEFAULT_MAX_CONCURRENCY, DLQ_URL_ENV, MAX_CONCURRENCY_ENV,
    RunnerConfigError,
};
pub use schedule::{Redelivery, RedeliverySchedule};
