//! The runner: one SQS batch in, the partial batch response out.

use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};

use super::dead_letter::{DeadLetter, send_dead_letters};
use super::dispatch::{DEFAULT_START_MARGIN, Unstarted, Verdict};
use super::handler::{BatchHandler, RecordHandler};
use super::metrics::{
    BATCH_LATENCY, DEAD_LETTERED, DEDUPED, DEFERRED, DELIVERED, FUNCTION_FAILURES, RECORDS,
    RETRIED, SKIPPED, THROTTLED,
};
use super::outcome::Outcome;
use super::queue::QueueUrls;
use super::record::Record;
use super::schedule::{Redelivery, RedeliverySchedule};
use super::visibility::change_visibility;
use crate::invocation::Invocation;
use crate::retry::RetryPolicy;
use crate::shutdown::Shutdown;
use crate::taxonomy::{Classify, ErrorClass};
use crate::telemetry::metrics::Metrics;

/// The environment variable [`BatchRunner::from_env`] reads the dead-letter queue URL from.
pub const DLQ_URL_ENV: &str = "DLQ_URL";

/// The environment variable with the most records (or batch calls) in flight at once.
pub const MAX_CONCURRENCY_ENV: &str = "MAX_CONCURRENCY";

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

/// Why the runner's configuration from the environment was refused; names the variable.
#[derive(Debug, thiserror::Error)]
pub enum RunnerConfigError {
    /// The redelivery schedule's variables.
    #[error(transparent)]
    Schedule(#[from] super::schedule::ScheduleError),
    /// `MAX_CONCURRENCY` is not a positive whole number.
    #[error("invalid `{MAX_CONCURRENCY_ENV}`: `{0}` is not a positive whole number")]
    Concurrency(String),
    /// `FUNCTION_TIMEOUT` is not a duration between 1 s and 15 min.
    #[error(
        "invalid `FUNCTION_TIMEOUT`: `{0}` is not a duration from 1s to 15m (the function's Lambda timeout, e.g. 60s)"
    )]
    FunctionTimeout(String),
}

/// The SQS batch runner for deliverers. Build it once at cold start and call [`run`] (or
/// [`run_batch`]) per invocation; see the [module documentation](super) for the semantics.
///
/// [`run`]: BatchRunner::run
/// [`run_batch`]: BatchRunner::run_batch
#[derive(Debug)]
pub struct BatchRunner {
    pub(super) client: aws_sdk_sqs::Client,
    pub(super) max_concurrency: usize,
    pub(super) dead_letter_queue_url: Option<String>,
    pub(super) schedule: RedeliverySchedule,
    pub(super) retry: RetryPolicy,
    pub(super) start_margin: Duration,
    pub(super) queue_urls: QueueUrls,
    pub(super) metrics: Option<Metrics>,
    pub(super) shutdown: Shutdown,
}

impl BatchRunner {
    /// A runner with the defaults: [`DEFAULT_MAX_CONCURRENCY`], no dead-letter queue (records
    /// that cannot succeed are handed back and left to the queue's redrive policy), the default
    /// [`RedeliverySchedule`] and [`RetryPolicy`], records started with at least one second
    /// left before the cutoff.
    pub fn new(client: aws_sdk_sqs::Client) -> Self {
        Self {
            client,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            dead_letter_queue_url: None,
            schedule: RedeliverySchedule::default(),
            retry: RetryPolicy::default(),
            start_margin: DEFAULT_START_MARGIN,
            queue_urls: QueueUrls::default(),
            metrics: None,
            shutdown: Shutdown::new(),
        }
    }

    /// [`BatchRunner::new`] configured by the environment: the dead-letter queue from `DLQ_URL`
    /// (when set and not empty), the schedule from `REDELIVERY_SCHEDULE`, `RETRY_PERIOD`,
    /// `MAX_ATTEMPTS`, `FUNCTION_FAILURE_DELAY` ([`RedeliverySchedule::from_env`]) and
    /// `MAX_CONCURRENCY`.
    ///
    /// # Errors
    /// A variable that is set but invalid, named in the error: a deliverer refuses to start
    /// rather than run with a schedule nobody asked for.
    pub fn from_env(client: aws_sdk_sqs::Client) -> Result<Self, RunnerConfigError> {
        Self::from_lookup(client, |name| std::env::var(name).ok())
    }

    /// [`BatchRunner::from_env`] with the environment injected.
    ///
    /// # Errors
    /// As [`BatchRunner::from_env`].
    pub fn from_lookup(
        client: aws_sdk_sqs::Client,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, RunnerConfigError> {
        let mut runner = Self::new(client).with_schedule(RedeliverySchedule::from_lookup(&lookup)?);
        if let Some(url) = lookup(DLQ_URL_ENV).filter(|u| !u.trim().is_empty()) {
            runner = runner.with_dead_letter_queue(url.trim());
        }
        if let Some(value) = lookup(MAX_CONCURRENCY_ENV).filter(|v| !v.trim().is_empty()) {
            let n = value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| RunnerConfigError::Concurrency(value.trim().to_owned()))?;
            runner = runner.with_max_concurrency(n);
        }
        Ok(runner)
    }

    /// How many records run at once (at least 1). FIFO groups count once each, as their records
    /// run one at a time.
    pub fn with_max_concurrency(mut self, max_concurrency: usize) -> Self {
        self.max_concurrency = max_concurrency.max(1);
        self
    }

    /// Where records that cannot succeed go. A URL ending in `.fifo` is sent to as a FIFO
    /// queue (message group and deduplication ids set).
    pub fn with_dead_letter_queue(mut self, url: impl Into<String>) -> Self {
        self.dead_letter_queue_url = Some(url.into());
        self
    }

    /// When handed-back records come back, and when the runner gives up on them.
    pub fn with_schedule(mut self, schedule: RedeliverySchedule) -> Self {
        self.schedule = schedule;
        self
    }

    /// How throttled and transient failures are retried inside the invocation before the
    /// record is handed back (`max_retries: 0` hands back at once).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The least time that must be left before the cutoff to start a record or a batch call.
    pub fn with_start_margin(mut self, margin: Duration) -> Self {
        self.start_margin = margin;
        self
    }

    /// Records the deliverer metrics of each batch ([`super::metrics`]) on `metrics`. The
    /// caller flushes the handle once per invocation (the deliverer runtime does).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Stops starting records once `shutdown` is requested: the records not started yet are
    /// handed back (visibility 0, `deferred`), the running ones finish. The deliverer runtime
    /// passes the process-wide handle ([`Shutdown::install`]); without this call, a runner
    /// has a handle of its own that nothing requests.
    pub fn with_shutdown(mut self, shutdown: Shutdown) -> Self {
        self.shutdown = shutdown;
        self
    }

    /// The URL of a source queue, known in advance, so no `GetQueueUrl` call is made for it
    /// (optional: without it the URL is looked up once per queue ARN and cached).
    pub fn with_source_queue_url(self, arn: impl Into<String>, url: impl Into<String>) -> Self {
        self.queue_urls.insert(arn.into(), url.into());
        self
    }

    /// The redelivery schedule in use.
    pub fn schedule(&self) -> &RedeliverySchedule {
        &self.schedule
    }

    /// Processes a batch with a per-record handler and answers with exactly the records SQS
    /// must redeliver.
    ///
    /// # Errors
    /// Only when a record that must be redelivered has no message id (never the case for
    /// events from Lambda): the whole batch is then failed so nothing is lost.
    pub async fn run<H: RecordHandler>(
        &self,
        event: &SqsEvent,
        invocation: &Invocation,
        handler: &H,
    ) -> Result<SqsBatchResponse, BatchError> {
        let started = Instant::now();
        let records = records_of(event);
        let verdicts = self.dispatch_records(&records, invocation, handler).await;
        self.settle(&records, verdicts, started).await
    }

    /// Processes a batch with a batch handler (one call for many records) and answers with
    /// exactly the records SQS must redeliver; see [`BatchHandler`] for how calls are made.
    ///
    /// # Errors
    /// As [`BatchRunner::run`].
    pub async fn run_batch<H: BatchHandler>(
        &self,
        event: &SqsEvent,
        invocation: &Invocation,
        handler: &H,
    ) -> Result<SqsBatchResponse, BatchError> {
        let started = Instant::now();
        let records = records_of(event);
        let verdicts = self.dispatch_batch(&records, invocation, handler).await;
        self.settle(&records, verdicts, started).await
    }

    /// Turns verdicts into dispositions — acknowledged, dead-lettered, handed back with a
    /// visibility — carries them out with batched SQS calls, and answers.
    async fn settle(
        &self,
        records: &[Record<'_>],
        verdicts: Vec<Verdict>,
        started: Instant,
    ) -> Result<SqsBatchResponse, BatchError> {
        let now = SystemTime::now();
        let mut tally = Tally::default();
        let mut letters: Vec<DeadLetter<'_, '_>> = Vec::new();
        // Records to hand back, with the visibility to give them (None: leave it).
        let mut back: Vec<(&Record<'_>, Option<Duration>)> = Vec::new();

        for (record, verdict) in records.iter().zip(verdicts) {
            let _span = record_span(record).entered();
            match verdict {
                Verdict::Done(outcome) => {
                    tally.count_outcome(&outcome);
                    match &outcome {
                        Outcome::Skipped { reason } => {
                            tracing::info!(outcome = "skipped", reason = %reason, "nothing to do");
                        }
                        _ => tracing::info!(
                            outcome = outcome.as_str(),
                            destination_id = outcome.destination_id(),
                            "record done"
                        ),
                    }
                }
                Verdict::NotStarted(why) => {
                    tally.deferred += 1;
                    match why {
                        Unstarted::Cutoff => tracing::warn!(
                            outcome = "deferred",
                            "not started: too close to the invocation's deadline; handing it back"
                        ),
                        Unstarted::Shutdown => tracing::warn!(
                            outcome = "deferred",
                            "not started: the function is shutting down; handing it back"
                        ),
                    }
                    back.push((record, Some(Duration::ZERO)));
                }
                Verdict::Blocked => {
                    tally.deferred += 1;
                    tracing::info!(
                        outcome = "deferred",
                        group = record.message_group(),
                        "an earlier record of its message group was handed back; handing it back unprocessed"
                    );
                    back.push((record, None));
                }
                Verdict::Failed(error) => {
                    let failure = error.classification();
                    let reason = error.to_string();
                    let attempt = record.receive_count();
                    if failure.class == ErrorClass::Permanent {
                        tracing::warn!(outcome = "permanent", class = %failure.class, reason = %reason, "record cannot succeed");
                        letters.push(DeadLetter {
                            record,
                            class: failure.class,
                            reason,
                        });
                        continue;
                    }
                    match self.schedule.next(failure, attempt, record.age(now)) {
                        Redelivery::After(delay) => {
                            tally.retried += 1;
                            let delay_s = delay.as_secs();
                            if failure.class == ErrorClass::Auth {
                                tally.function_failures += 1;
                                tracing::error!(
                                    outcome = "function_failure",
                                    class = %failure.class,
                                    reason = %reason,
                                    attempt,
                                    delay_s,
                                    "the function's credentials or configuration failed, not the record; handing it back on the long end of the schedule"
                                );
                            } else {
                                if failure.class == ErrorClass::Throttled {
                                    tally.throttled += 1;
                                }
                                tracing::warn!(
                                    outcome = "retry",
                                    class = %failure.class,
                                    reason = %reason,
                                    attempt,
                                    delay_s,
                                    "record failed; handing it back to SQS"
                                );
                            }
                            back.push((record, Some(delay)));
                        }
                        Redelivery::GiveUp(why) => {
                            tracing::warn!(outcome = "exhausted", class = %failure.class, reason = %reason, "{why}");
                            letters.push(DeadLetter {
                                record,
                                class: failure.class,
                                reason: format!("{why}; last error: {reason}"),
                            });
                        }
                    }
                }
            }
        }

        self.dead_letter(letters, &mut back, &mut tally).await;
        let changes: Vec<(&Record<'_>, Duration)> = back
            .iter()
            .filter_map(|(record, delay)| delay.map(|d| (*record, d)))
            .collect();
        if !changes.is_empty() {
            change_visibility(&self.client, &self.queue_urls, &changes).await;
        }

        let mut response = SqsBatchResponse::default();
        let mut unreportable = 0;
        for (record, _) in &back {
            match record.message_id() {
                Some(id) => {
                    let mut failure = BatchItemFailure::default();
                    failure.item_identifier = id.to_string();
                    response.batch_item_failures.push(failure);
                }
                None => unreportable += 1,
            }
        }
        // Batch order in the response, whatever order the dispositions were decided in.
        response.batch_item_failures.sort_by_key(|f| {
            records
                .iter()
                .position(|r| r.message_id() == Some(&f.item_identifier))
        });
        tally.records = records.len();
        self.report(&tally, started);
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

    /// Sends `letters` to the dead-letter queue; those it does not take (or all, without a
    /// queue) are handed back on the long end of the schedule instead, so nothing is lost.
    async fn dead_letter<'r, 'a>(
        &self,
        letters: Vec<DeadLetter<'r, 'a>>,
        back: &mut Vec<(&'r Record<'a>, Option<Duration>)>,
        tally: &mut Tally,
    ) {
        if letters.is_empty() {
            return;
        }
        let sent = match self.dead_letter_queue_url.as_deref() {
            Some(url) => send_dead_letters(&self.client, url, &letters).await,
            None => vec![false; letters.len()],
        };
        let delay = self.schedule.function_failure_delay();
        for (letter, ok) in letters.iter().zip(sent) {
            let _span = record_span(letter.record).entered();
            if ok {
                tally.dead_lettered += 1;
                tracing::error!(
                    outcome = "dead_lettered",
                    class = %letter.class,
                    reason = %letter.reason,
                    attempts = letter.record.receive_count(),
                    "record sent to the dead-letter queue"
                );
            } else {
                tally.retried += 1;
                tally.function_failures += 1;
                let why = if self.dead_letter_queue_url.is_some() {
                    "the dead-letter send failed"
                } else {
                    "no dead-letter queue is configured (DLQ_URL)"
                };
                tracing::error!(
                    outcome = "function_failure",
                    class = %letter.class,
                    reason = %letter.reason,
                    "record belongs in the dead-letter queue but {why}; handing it back"
                );
                back.push((letter.record, Some(delay)));
            }
        }
    }

    fn report(&self, tally: &Tally, started: Instant) {
        if let Some(metrics) = &self.metrics {
            for (name, n) in [
                (RECORDS, tally.records),
                (DELIVERED, tally.delivered),
                (SKIPPED, tally.skipped),
                (DEDUPED, tally.deduped),
                (RETRIED, tally.retried),
                (THROTTLED, tally.throttled),
                (FUNCTION_FAILURES, tally.function_failures),
                (DEFERRED, tally.deferred),
                (DEAD_LETTERED, tally.dead_lettered),
            ] {
                metrics.count(name, n as u64);
            }
            metrics.latency(BATCH_LATENCY, started.elapsed());
        }
        tracing::info!(
            records = tally.records,
            delivered = tally.delivered,
            skipped = tally.skipped,
            deduped = tally.deduped,
            retried = tally.retried,
            throttled = tally.throttled,
            function_failures = tally.function_failures,
            deferred = tally.deferred,
            dead_lettered = tally.dead_lettered,
            "batch processed"
        );
    }
}

/// The records of an event, numbered in batch order.
fn records_of(event: &SqsEvent) -> Vec<Record<'_>> {
    event
        .records
        .iter()
        .enumerate()
        .map(|(i, m)| Record::new(i, m))
        .collect()
}

/// What happened to the records of one batch, for the metrics and the summary line.
#[derive(Debug, Default)]
struct Tally {
    records: usize,
    delivered: usize,
    skipped: usize,
    deduped: usize,
    retried: usize,
    throttled: usize,
    function_failures: usize,
    deferred: usize,
    dead_lettered: usize,
}

impl Tally {
    fn count_outcome(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Delivered { .. } => self.delivered += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Duplicate => self.deduped += 1,
        }
    }
}

/// The span every line about a record is logged in: its SQS message id and, when the body is a
/// valid envelope, its event id.
///
/// At `ERROR` level on purpose: a span the level filter disables records no fields, so at
/// `AWS_LAMBDA_LOG_LEVEL=WARN` an `INFO` span would leave the warnings about a record without
/// its ids.
pub(crate) fn record_span(record: &Record<'_>) -> tracing::Span {
    let span = tracing::error_span!(
        "record",
        message_id = record.message_id().unwrap_or("-"),
        event_id = tracing::field::Empty,
    );
    if let Some(id) = record.event_id() {
        span.record("event_id", id);
    }
    span
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::handler_fn;
    use crate::error::Error;
    use aws_lambda_events::sqs::SqsMessage;

    fn offline_runner() -> BatchRunner {
        // No region and no endpoint: any SQS call would fail, so these tests prove none is made.
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .build();
        BatchRunner::new(aws_sdk_sqs::Client::from_conf(config)).with_retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        })
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
        handler_fn(|r: SqsMessage| async move {
            match r.body.as_deref() {
                Some("ok") => Ok(()),
                Some("panic") => panic!("boom"),
                _ => Err(Error::transient("nope")),
            }
        })
    }

    fn unbounded() -> Invocation {
        Invocation::unbounded("test")
    }

    #[tokio::test]
    async fn a_failed_record_without_message_id_fails_the_whole_batch() {
        let runner = offline_runner();
        let ok_without_id = event(vec![record(None, "ok"), record(Some("m2"), "fail")]);
        let response = runner
            .run(&ok_without_id, &unbounded(), &by_body())
            .await
            .unwrap();
        let ids: Vec<_> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        assert_eq!(ids, ["m2"]);

        for id in [None, Some("")] {
            let failed_without_id = event(vec![record(id, "fail"), record(Some("m2"), "ok")]);
            assert!(matches!(
                runner
                    .run(&failed_without_id, &unbounded(), &by_body())
                    .await,
                Err(BatchError::UnreportableFailures { count: 1 })
            ));
        }
    }

    #[tokio::test]
    async fn an_empty_batch_has_no_failures_and_panics_stay_per_record() {
        let runner = offline_runner();
        let response = runner
            .run(&event(vec![]), &unbounded(), &by_body())
            .await
            .unwrap();
        assert!(response.batch_item_failures.is_empty());
        let batch = event(vec![record(Some("a"), "panic"), record(Some("b"), "ok")]);
        let response = runner.run(&batch, &unbounded(), &by_body()).await.unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!(response.batch_item_failures[0].item_identifier, "a");
    }

    fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
        response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect()
    }

    /// A handler that requests `shutdown` as soon as `after` records have started, then takes
    /// a while with each: the started records are still running when the request comes.
    struct StopAfter {
        shutdown: Shutdown,
        after: usize,
        started: std::sync::Mutex<Vec<String>>,
    }

    impl StopAfter {
        fn new(shutdown: &Shutdown, after: usize) -> Self {
            Self {
                shutdown: shutdown.clone(),
                after,
                started: std::sync::Mutex::new(Vec::new()),
            }
        }

        fn start(&self, record: &Record<'_>) {
            let mut started = self.started.lock().unwrap();
            started.push(record.message_id().unwrap_or("-").to_owned());
            if started.len() >= self.after {
                self.shutdown.request();
            }
        }

        fn started(&self) -> Vec<String> {
            let mut started = self.started.lock().unwrap().clone();
            started.sort();
            started
        }
    }

    impl RecordHandler for StopAfter {
        async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
            self.start(record);
            tokio::time::sleep(Duration::from_millis(30)).await;
            Ok(Outcome::delivered())
        }
    }

    impl BatchHandler for StopAfter {
        fn max_batch_size(&self) -> usize {
            2
        }

        async fn handle_batch(
            &self,
            records: &[&Record<'_>],
            _: &Invocation,
        ) -> Vec<Result<Outcome, Error>> {
            for record in records {
                self.start(record);
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
            records.iter().map(|_| Ok(Outcome::delivered())).collect()
        }
    }

    fn ids(n: usize) -> Vec<SqsMessage> {
        (0..n)
            .map(|i| record(Some(&format!("m{i}")), "ok"))
            .collect()
    }

    #[tokio::test]
    async fn a_shutdown_mid_batch_finishes_the_started_records_and_hands_back_the_rest() {
        let shutdown = Shutdown::new();
        let metrics = Metrics::builder().build().unwrap();
        let runner = offline_runner()
            .with_max_concurrency(2)
            .with_shutdown(shutdown.clone())
            .with_metrics(metrics.clone());
        let handler = StopAfter::new(&shutdown, 2);
        let batch = event(ids(6));

        let response = runner
            .run(
                &batch,
                &Invocation::with_timeout("r", Duration::from_secs(30)),
                &handler,
            )
            .await
            .unwrap();

        assert_eq!(
            handler.started(),
            ["m0", "m1"],
            "nothing starts after the request"
        );
        assert_eq!(
            failed_ids(&response),
            ["m2", "m3", "m4", "m5"],
            "in batch order"
        );
        let mut out = Vec::new();
        metrics.flush_to(&mut out).unwrap();
        let doc: serde_json::Value =
            serde_json::from_slice(out.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!(doc["delivered"], 2, "{doc}");
        assert_eq!(doc["deferred"], 4, "{doc}");
    }

    #[tokio::test]
    async fn a_shutdown_stops_fifo_groups_in_order_and_batch_calls_too() {
        let fifo = |id: &str, group: &str| {
            let mut r = record(Some(id), "ok");
            r.event_source_arn = Some("arn:aws:sqs:us-east-1:1:q.fifo".into());
            r.attributes = std::collections::HashMap::from([(
                crate::batch::fifo::MESSAGE_GROUP_ID.to_string(),
                group.to_string(),
            )]);
            r
        };
        // Group a: a1 runs (and requests the stop), a2 is not started, a3 is blocked behind it.
        let shutdown = Shutdown::new();
        let runner = offline_runner().with_shutdown(shutdown.clone());
        let handler = StopAfter::new(&shutdown, 1);
        let batch = event(vec![fifo("a1", "a"), fifo("a2", "a"), fifo("a3", "a")]);
        let response = runner.run(&batch, &unbounded(), &handler).await.unwrap();
        assert_eq!(handler.started(), ["a1"]);
        assert_eq!(failed_ids(&response), ["a2", "a3"]);

        // A batch handler: the call in flight (2 records) finishes, no further call is made.
        let shutdown = Shutdown::new();
        let runner = offline_runner().with_shutdown(shutdown.clone());
        let handler = StopAfter::new(&shutdown, 1);
        let response = runner
            .run_batch(&event(ids(5)), &unbounded(), &handler)
            .await
            .unwrap();
        assert_eq!(handler.started(), ["m0", "m1"]);
        assert_eq!(failed_ids(&response), ["m2", "m3", "m4"]);

        // Requested before the batch: nothing starts, everything is handed back.
        let shutdown = Shutdown::new();
        shutdown.request();
        let runner = offline_runner().with_shutdown(shutdown.clone());
        let handler = StopAfter::new(&shutdown, usize::MAX);
        let response = runner
            .run(&event(ids(3)), &unbounded(), &handler)
            .await
            .unwrap();
        assert!(handler.started().is_empty());
        assert_eq!(failed_ids(&response), ["m0", "m1", "m2"]);
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
    fn concurrency_is_at_least_one() {
        let runner = offline_runner().with_max_concurrency(0);
        assert_eq!(runner.max_concurrency, 1);
    }

    #[test]
    fn the_environment_configures_the_runner_and_bad_values_are_named() {
        let client = offline_runner().client;
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let runner = BatchRunner::from_lookup(
            client.clone(),
            vars(&[
                ("DLQ_URL", " http://dlq "),
                ("MAX_CONCURRENCY", "4"),
                ("RETRY_PERIOD", "1h"),
            ]),
        )
        .unwrap();
        assert_eq!(runner.dead_letter_queue_url.as_deref(), Some("http://dlq"));
        assert_eq!(runner.max_concurrency, 4);
        assert_eq!(runner.schedule().retry_period(), Duration::from_secs(3600));

        let empty = BatchRunner::from_lookup(client.clone(), vars(&[("DLQ_URL", "  ")])).unwrap();
        assert_eq!(empty.dead_letter_queue_url, None);

        let error = BatchRunner::from_lookup(client.clone(), vars(&[("MAX_CONCURRENCY", "0")]))
            .unwrap_err();
        assert!(error.to_string().contains("MAX_CONCURRENCY"), "{error}");
        let error =
            BatchRunner::from_lookup(client, vars(&[("MAX_ATTEMPTS", "lots")])).unwrap_err();
        assert!(error.to_string().contains("MAX_ATTEMPTS"), "{error}");
    }
}
