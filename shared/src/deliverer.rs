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
//! `RETRY_PERIOD`, `MAX_ATTEMPTS`, `FUNCTION_FAILURE_DELAY`, `MAX_CONCURRENCY`; and
//! `FUNCTION_TIMEOUT` ([`FUNCTION_TIMEOUT_ENV`]: caps each invocation's deadline where the
//! runtime announces a longer one, as `cargo lambda watch` does); metrics as in
//! [`crate::telemetry::metrics`]. An invalid value stops the cold start with a message naming
//! the variable.

use std::time::Duration;

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
    /// `FUNCTION_TIMEOUT`: caps every invocation's deadline (see [`Invocation::capped`]).
    function_timeout: Option<Duration>,
}

/// The variable naming the function's own timeout; the local stack sets it from the template
/// (`cargo lambda watch` announces 600 s for every invocation, whatever the function's
/// timeout), so cutoffs and idempotency locks behave locally as on Lambda. Not needed on
/// Lambda, whose deadline is exact; harmless there.
pub const FUNCTION_TIMEOUT_ENV: &str = "FUNCTION_TIMEOUT";

/// `FUNCTION_TIMEOUT` from `lookup`: unset or empty is none; else a humantime duration from
/// 1 s to 15 min.
fn function_timeout(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<Duration>, RunnerConfigError> {
    let Some(text) = lookup(FUNCTION_TIMEOUT_ENV).filter(|v| !v.trim().is_empty()) else {
        return Ok(None);
    };
    humantime::parse_duration(text.trim())
        .ok()
        .filter(|t| (Duration::from_secs(1)..=Duration::from_secs(900)).contains(t))
        .map(Some)
        .ok_or_else(|| RunnerConfigError::FunctionTimeout(text.trim().to_owned()))
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
        let function_timeout = function_timeout(|key| std::env::var(key).ok())?;
        Ok(Self {
            runner,
            metrics,
            function_timeout,
        })
    }

    /// A deliverer from parts (tests, custom wiring). The runner should record on `metrics`.
    pub fn new(runner: BatchRunner, metrics: Metrics) -> Self {
        Self {
            runner,
            metrics,
            function_timeout: None,
        }
    }

    /// The invocation an event's context describes, its deadline capped by `FUNCTION_TIMEOUT`.
    fn invocation(&self, ctx: &lambda_runtime::Context) -> Invocation {
        let invocation = Invocation::from_context(ctx);
        match self.function_timeout {
            Some(timeout) => invocation.capped(timeout),
            None => invocation,
        }
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
            let invocation = deliverer.invocation(&event.context);
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
            let invocation = deliverer.invocation(&event.context);
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
            function_timeout = ?self.function_timeout,
            "deliverer ready"
        );
        let deliverer = Self {
            runner: self.runner.with_shutdown(shutdown.clone()),
            metrics: self.metrics,
            function_timeout: self.function_timeout,
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
    let span = tracing::error_span!("invocation", requestId = invocation.request_id());
    span.in_scope(|| {
        tracing::debug!(
            time_left_ms = invocation.remaining().map(|left| left.as_millis() as u64),
            "invocation started"
        );
    });
    span
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

#[cfg(test)]
mod function_timeout_tests {
    use super::*;

    #[test]
    fn function_timeout_is_optional_and_checked() {
        let with = |v: Option<&str>| function_timeout(|_| v.map(str::to_owned));
        assert_eq!(with(None).unwrap(), None);
        assert_eq!(with(Some(" ")).unwrap(), None);
        assert_eq!(with(Some("60s")).unwrap(), Some(Duration::from_secs(60)));
        for bad in ["soon", "500ms", "16m", "0s"] {
            let err = with(Some(bad)).unwrap_err().to_string();
            assert!(
                err.contains("FUNCTION_TIMEOUT") && err.contains(bad),
                "{err}"
            );
        }
    }

    #[test]
    fn the_earlier_deadline_wins() {
        let long = Invocation::with_timeout("r", Duration::from_secs(600));
        let capped = long.capped(Duration::from_secs(60));
        let left = capped.deadline().unwrap() - std::time::Instant::now();
        assert!(left <= Duration::from_secs(60), "{left:?}");
        let short = Invocation::with_timeout("r", Duration::from_secs(5));
        let still = short.capped(Duration::from_secs(60));
        assert!(still.deadline().unwrap() - std::time::Instant::now() <= Duration::from_secs(5));
        let none = Invocation::unbounded("r").capped(Duration::from_secs(60));
        assert!(none.deadline().is_some());
    }
}
