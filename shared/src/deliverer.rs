//! The deliverer runtime: SQS batch → handler → partial batch response, one invocation at a time.
//!
//! A deliverer function builds its handler (clients, secrets, mapping) once at cold start and
//! hands it to [`Deliverer::run`] (a [`RecordHandler`]) or [`Deliverer::run_batch`] (a
//! [`BatchHandler`]). Per invocation the runtime makes the [`Invocation`] from Lambda's context
//! (deadline, request id), runs the [`BatchRunner`] in a span carrying the request id, and
//! flushes the invocation's metrics as EMF lines — so a deliverer's `main` is a few lines:
//!
//! ```no_run
//! use switchyard::batch::{Outcome, Record, RecordHandler};
//! use switchyard::deliverer::Deliverer;
//! use switchyard::invocation::Invocation;
//!
//! struct Notify;
//!
//! impl RecordHandler for Notify {
//!     async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, switchyard::Error> {
//!         let _event = record.envelope()?;
//!         Ok(Outcome::delivered())
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     switchyard::telemetry::logging::init();
//!     let aws = switchyard::aws::load_config().await;
//!     Deliverer::from_env(&aws)?.run(Notify).await
//! }
//! ```
//!
//! **Graceful shutdown** ([`crate::shutdown`]): `run` and `run_batch` listen for SIGTERM and
//! SIGINT. On the first, the runner starts no more records (those not started are named in
//! `batchItemFailures` for SQS to redeliver), lets the running ones finish within the
//! invocation's cutoff, the invocation is answered and its metrics flushed; then no new
//! invocation is polled for and `run` returns `Ok(())`, so the process exits 0.
//!
//! Configuration, by environment ([`BatchRunner::from_env`]): `DLQ_URL`, `REDELIVERY_SCHEDULE`,
//! `RETRY_PERIOD`, `MAX_ATTEMPTS`, `FUNCTION_FAILURE_DELAY`, `MAX_CONCURRENCY`; metrics as in
//! [`crate::telemetry::metrics`]. An invalid value stops the cold start with a message naming
//! the variable.

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{LambdaEvent, service_fn};

use crate::shutdown::Shutdown;
use tracing::Instrument;

use crate::batch::{BatchError, BatchHandler, BatchRunner, RecordHandler, RunnerConfigError};
use crate::invocation::Invocation;
use crate::telemetry::metrics::Metrics;

/// A deliverer's runner and metrics, ready to serve invocations.
#[derive(Debug)]
pub struct Deliverer {
    runner: BatchRunner,
    metrics: Metrics,
}

impl Deliverer {
    /// The runner configured by the environment, its SQS client from `aws`, metrics from the
    /// environment.
    ///
    /// # Errors
    /// A configuration variable that is set but invalid (named in the message).
    pub fn from_env(aws: &aws_config::SdkConfig) -> Result<Self, RunnerConfigError> {
        let metrics = Metrics::from_env();
        let runner =
            BatchRunner::from_env(aws_sdk_sqs::Client::new(aws))?.with_metrics(metrics.clone());
        Ok(Self { runner, metrics })
    }

    /// A deliverer from parts (tests, custom wiring). The runner should record on `metrics`.
    pub fn new(runner: BatchRunner, metrics: Metrics) -> Self {
        Self { runner, metrics }
    }

    /// The metrics handle flushed after every invocation: give a clone to a handler that
    /// records metrics of its own, so they land in the same EMF line.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The runner.
    pub fn runner(&self) -> &BatchRunner {
        &self.runner
    }

    /// Serves invocations with a per-record handler until the runtime stops, or gracefully
    /// until SIGTERM/SIGINT (see the [module documentation](self)).
    ///
    /// # Errors
    /// The Lambda runtime's own failure (it cannot reach the Runtime API), or the signal
    /// handlers cannot be installed.
    pub async fn run<H: RecordHandler>(self, handler: H) -> Result<(), lambda_runtime::Error> {
        let (deliverer, shutdown) = self.ready()?;
        let (deliverer, handler) = (&deliverer, &handler);
        let service = service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            let invocation = Invocation::from_context(&event.context);
            let span = invocation_span(&invocation);
            let response = deliverer
                .runner
                .run(&event.payload, &invocation, handler)
                .instrument(span)
                .await;
            deliverer.finish(response)
        });
        crate::shutdown::run(service, &shutdown, &deliverer.metrics).await
    }

    /// Serves invocations with a batch handler until the runtime stops, or gracefully until
    /// SIGTERM/SIGINT (see the [module documentation](self)).
    ///
    /// # Errors
    /// As [`Deliverer::run`].
    pub async fn run_batch<H: BatchHandler>(self, handler: H) -> Result<(), lambda_runtime::Error> {
        let (deliverer, shutdown) = self.ready()?;
        let (deliverer, handler) = (&deliverer, &handler);
        let service = service_fn(move |event: LambdaEvent<SqsEvent>| async move {
            let invocation = Invocation::from_context(&event.context);
            let span = invocation_span(&invocation);
            let response = deliverer
                .runner
                .run_batch(&event.payload, &invocation, handler)
                .instrument(span)
                .await;
            deliverer.finish(response)
        });
        crate::shutdown::run(service, &shutdown, &deliverer.metrics).await
    }

    /// Installs the process's shutdown signal and gives it to the runner; logs readiness.
    fn ready(self) -> Result<(Self, Shutdown), crate::shutdown::ShutdownError> {
        let shutdown = Shutdown::install()?;
        tracing::info!(
            schedule = ?self.runner.schedule(),
            "deliverer ready"
        );
        let deliverer = Self {
            runner: self.runner.with_shutdown(shutdown.clone()),
            metrics: self.metrics,
        };
        Ok((deliverer, shutdown))
    }

    /// Flushes the invocation's metrics and passes the response on.
    fn finish(
        &self,
        response: Result<SqsBatchResponse, BatchError>,
    ) -> Result<SqsBatchResponse, BatchError> {
        if let Err(e) = self.metrics.flush() {
            tracing::warn!(error = %e, "could not write metrics");
        }
        response
    }
}

/// The span an invocation's batch runs in (at `ERROR` level, so its id survives any filter).
fn invocation_span(invocation: &Invocation) -> tracing::Span {
    tracing::error_span!("invocation", requestId = invocation.request_id())
}

impl From<RunnerConfigError> for lambda_runtime::Diagnostic {
    /// Lets `main` use `?` on [`Deliverer::from_env`].
    fn from(error: RunnerConfigError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: "switchyard::batch::RunnerConfigError".to_string(),
            error_message: error.to_string(),
        }
    }
}
