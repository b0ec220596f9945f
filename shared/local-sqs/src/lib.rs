//! A local SQS event source mapping for functions served by `cargo lambda watch`.
//!
//! cargo-lambda runs a function locally and serves the Lambda Invoke API, but nothing feeds a
//! deliverer from its queue the way Lambda's event source mapping does. This crate (and its
//! binary, `switchyard-local-sqs`) is that poller: it reads a queue on a local emulator (moto)
//! or on AWS, hands batches to the function as `SqsEvent`s through
//! `POST <invoke-url>/2015-03-31/functions/<function>/invocations`, and deletes what the
//! function completed.
//!
//! # Behaviour (as Lambda documents it for SQS)
//!
//! - **Receiving** ([`receive`]): long polls of up to 20 s, 10 messages a call, with every
//!   system attribute and every message attribute.
//! - **Batching** ([`batch`]): up to `BatchSize` records; with `MaximumBatchingWindowInSeconds`
//!   the poller keeps receiving until the batch is full or the window has passed since the
//!   first record; without one, the first non-empty receive is the batch.
//! - **The event** ([`event`]): `aws_lambda_events`' `SqsEvent`, each record with
//!   `messageId`, `receiptHandle`, `body`, `attributes`, `messageAttributes`, `md5OfBody`,
//!   `md5OfMessageAttributes`, `eventSource: "aws:sqs"`, `eventSourceARN`, `awsRegion`.
//! - **Invoking** ([`invoke`]): one HTTP call per batch, bounded by the invocation timeout; a
//!   function error (cargo-lambda's 500 with `errorType`/`errorMessage`, or Lambda's
//!   `X-Amz-Function-Error`), a timeout or an unreachable Invoke API fails the whole batch.
//! - **Settling** ([`response`]): with `ReportBatchItemFailures`, exactly the records not named
//!   in `batchItemFailures` are deleted (empty or null list: all of them; an entry naming no
//!   record of the batch, or a response that is not a batch response: none); without it, all
//!   on success and none on failure. Deleting ([`acknowledge`]) uses `DeleteMessageBatch`.
//! - **Redelivery** is the queue's: records not deleted become visible again when their
//!   visibility timeout ends (the queue's, or what the function set with
//!   `ChangeMessageVisibility`), and past the redrive policy's `maxReceiveCount` SQS moves
//!   them to the dead-letter queue on a later receive. The poller never moves records itself;
//!   moto (5.x) implements this redrive in `ReceiveMessage`, which the tests check.
//! - **Concurrency** ([`mod@run`]): at most `ScalingConfig.MaximumConcurrency` batches of a mapping
//!   received-and-unfinished at once; a permit is taken before receiving.
//! - **FIFO queues** ([`fifo`]): one batch per message group in flight, in queue order (SQS
//!   holds a group back while its messages are in flight; the poller also waits if a batch
//!   outlived its visibility timeout). Batching windows and batches over 10 are refused for
//!   FIFO queues, as AWS refuses them.
//! - **Configuration** ([`config`]): settings AWS would refuse on `CreateEventSourceMapping`
//!   are refused at start-up. With `--from-stack` ([`stack`]), every event source of
//!   `scripts/local_stack.py`'s output is polled at once.
//! - **Progress** ([`progress`]): one line per batch: function, queue, records, delivered,
//!   failed (and why), duration.
//! - **Stopping** ([`run::Shutdown`]): the first Ctrl-C or SIGTERM stops receiving, releases
//!   records gathered but not yet invoked (visibility 0) and waits for invocations in flight;
//!   a second one abandons those (nothing is deleted for them). Either way the exit status is 0.
//!
//! # Not emulated
//!
//! Lambda's scaling of pollers beyond the concurrency limit, its 6 MB payload cap on a
//! gathered batch (a batch is bounded by `BatchSize` only), and its back-off after throttled
//! invocations (`cargo lambda watch` does not throttle).
//!
//! # Crates
//!
//! The AWS SDK for SQS (the kit's configuration and error classification), `reqwest` for the
//! Invoke API (the kit's HTTP client crate, so no second HTTP/TLS stack), `clap` for the
//! command line (already in the lock file), `tokio-util`'s `CancellationToken` for the
//! two-stage stop (already in the tree through the SDK), `aws_lambda_events` for the event
//! and response types the functions themselves use.

pub mod acknowledge;
pub mod batch;
pub mod config;
pub mod event;
pub mod fifo;
pub mod invoke;
pub mod progress;
pub mod queue;
pub mod receive;
pub mod response;
pub mod run;
pub mod sdk;
pub mod sqs_error;
pub mod stack;

pub use config::MappingConfig;
pub use run::{Mapping, RunSummary, SetupError, Shutdown, prepare, run};
