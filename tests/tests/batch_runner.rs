//! The SQS batch runner against a real (emulated) SQS: real receipt handles, receive counts,
//! visibility changes and dead-letter sends.
//!
//! Each test starts its own moto, sends messages, receives them (as Lambda's poller would) and
//! turns them into the `SqsEvent` Lambda would deliver. The test handlers decide per body: a
//! body is `label/action`, the action one of `ok`, `skip`, `dup`, `transient`, `transient:N`,
//! `throttled:N`, `permanent`, `auth`, `panic`, `hang` (N = the `retry_after` in seconds).
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::QueueAttributeName;
use switchyard::batch::{BatchHandler, BatchRunner, Outcome, Record, RecordHandler};
use switchyard::invocation::Invocation;
use switchyard::retry::{Backoff, RetryPolicy};
use switchyard::{Classification, Error};
use switchyard_e2e::moto::Moto;
use switchyard_e2e::sqs_event::{
    attribute, create_queue_with, failures, queue_arn, receive_n, send, to_record,
};

// ---------------------------------------------------------------------------------------------
// Helpers

/// What a body's action makes of a record.
fn act(body: &str) -> Result<Outcome, Error> {
    let action = body.rsplit_once('/').map_or(body, |(_, a)| a);
    let secs = |n: &str| Some(Duration::from_secs(n.parse().unwrap()));
    match action.split_once(':') {
        _ if action == "ok" => Ok(Outcome::delivered_as(format!("dest-{body}"))),
        _ if action == "skip" => Ok(Outcome::skipped("no rule")),
        _ if action == "dup" => Ok(Outcome::Duplicate),
        _ if action == "transient" => Err(Error::transient("upstream 503")),
        _ if action == "permanent" => Err(Error::permanent("HTTP 422: invalid email")),
        _ if action == "auth" => Err(Error::classified(Classification::auth(), "HTTP 401")),
        _ if action == "panic" => panic!("handler bug"),
        Some(("transient", n)) => Err(Error::classified(
            Classification::transient().with_retry_after(secs(n)),
            "upstream 503",
        )),
        Some(("throttled", n)) => Err(Error::classified(
            Classification::throttled(secs(n)),
            "HTTP 429",
        )),
        _ => panic!("unknown test action {action}"),
    }
}

/// The per-record handler under test: acts on the body's action, records what it saw and how
/// many records were in flight at once.
#[derive(Default)]
struct TestHandler {
    seen: Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    pause: Duration,
}

impl TestHandler {
    fn pausing(pause: Duration) -> Self {
        Self {
            pause,
            ..Self::default()
        }
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}

impl RecordHandler for TestHandler {
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        let body = record.body().to_string();
        self.seen.lock().unwrap().push(body.clone());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        if body.ends_with("/hang") {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        tokio::time::sleep(self.pause).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        act(&body)
    }
}

/// The batch handler under test: one call answers every record by its action; records the
/// bodies of each call.
#[derive(Default)]
struct TestBatchHandler {
    calls: Mutex<Vec<Vec<String>>>,
    max: Option<usize>,
}

impl BatchHandler for TestBatchHandler {
    fn max_batch_size(&self) -> usize {
        self.max.unwrap_or(usize::MAX)
    }

    async fn handle_batch(
        &self,
        records: &[&Record<'_>],
        _: &Invocation,
    ) -> Vec<Result<Outcome, Error>> {
        let bodies: Vec<String> = records.iter().map(|r| r.body().to_string()).collect();
        self.calls.lock().unwrap().push(bodies.clone());
        bodies.iter().map(|b| act(b)).collect()
    }
}

/// No retries inside the invocation: what a handler answers is what the runner settles.
fn no_retries() -> RetryPolicy {
    RetryPolicy {
        max_retries: 0,
        ..RetryPolicy::default()
    }
}

fn runner(moto: &Moto) -> BatchRunner {
    BatchRunner::new(moto.sqs()).with_retry(no_retries())
}

fn unbounded() -> Invocation {
    Invocation::unbounded("test-request")
}

/// Sends `bodies` (label/action, with an optional FIFO group), receives them and returns the
/// event in the order given, plus the message id of each body.
async fn event_of(
    moto: &Moto,
    url: &str,
    bodies: &[(&str, Option<&str>)],
) -> (SqsEvent, HashMap<String, String>) {
    let arn = queue_arn(moto, url).await;
    let mut ids = HashMap::new();
    for (body, group) in bodies {
        ids.insert(body.to_string(), send(moto, url, body, *group).await);
    }
    let received = receive_n(moto, url, bodies.len()).await;
    let event = switchyard_e2e::sqs_event::event(
        bodies
            .iter()
            .map(|(body, _)| {
                let m = received
                    .iter()
                    .find(|m| m.body.as_deref() == Some(*body))
                    .expect("received");
                to_record(m, &arn)
            })
            .collect(),
    );
    (event, ids)
}

fn test_metrics() -> switchyard::telemetry::metrics::Metrics {
    switchyard::telemetry::metrics::Metrics::builder()
        .without_cold_start()
        .build()
        .unwrap()
}

fn emf(metrics: &switchyard::telemetry::metrics::Metrics) -> serde_json::Value {
    let lines = metrics.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    serde_json::from_str(&lines[0]).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Outcomes, partial failures, dead letters

#[tokio::test]
async fn partial_failures_return_exactly_the_failed_ids_and_metrics_tell_outcomes_apart() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let dlq = moto.create_queue("dlq").await;
    let bodies = [
        ("a/ok", None),
        ("b/transient", None),
        ("c/permanent", None),
        ("d/panic", None),
        ("e/ok", None),
        ("f/throttled:5", None),
        ("g/skip", None),
        ("h/dup", None),
        ("i/auth", None),
    ];
    let (event, ids) = event_of(&moto, &url, &bodies).await;
    let metrics = test_metrics();
    let runner = runner(&moto)
        .with_dead_letter_queue(&dlq)
        .with_metrics(metrics.clone());
    let handler = TestHandler::default();

    let response = runner.run(&event, &unbounded(), &handler).await.unwrap();

    // The invocation's EMF line counts what happened to each record.
    let emf = emf(&metrics);
    assert_eq!(emf["records"], 9);
    assert_eq!(emf["delivered"], 2);
    assert_eq!(emf["skipped"], 1);
    assert_eq!(emf["deduped"], 1);
    assert_eq!(emf["retried"], 4, "transient, panic, throttled, auth");
    assert_eq!(emf["throttled"], 1);
    assert_eq!(emf["function_failures"], 1, "auth");
    assert_eq!(emf["deferred"], 0);
    assert_eq!(emf["dead_lettered"], 1);
    assert_eq!(
        emf["handler_latency"].as_array().map(Vec::len),
        Some(9),
        "one sample per handler call: {emf}"
    );
    assert!(emf["batch_latency"].as_f64().unwrap() >= 0.0);

    assert_eq!(
        failures(&response),
        [
            ids["b/transient"].as_str(),
            ids["d/panic"].as_str(),
            ids["f/throttled:5"].as_str(),
            ids["i/auth"].as_str(),
        ]
    );
    assert_eq!(handler.seen().len(), bodies.len());
    assert_eq!(
        receive_n(&moto, &dlq, 1).await[0].body.as_deref(),
        Some("c/permanent")
    );
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_with_its_reason_and_acknowledged() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let arn = queue_arn(&moto, &url).await;
    let dlq = moto.create_queue("dlq").await;
    let (event, ids) = event_of(&moto, &url, &[("p/permanent", None), ("o/ok", None)]).await;
    let runner = runner(&moto).with_dead_letter_queue(&dlq);

    let response = runner
        .run(&event, &unbounded(), &TestHandler::default())
        .await
        .unwrap();

    assert!(failures(&response).is_empty(), "{response:?}");
    let dead = receive_n(&moto, &dlq, 1).await;
    let dead = &dead[0];
    assert_eq!(dead.body.as_deref(), Some("p/permanent"));
    assert_eq!(attribute(dead, "switchyard.error.class"), "permanent");
    assert_eq!(
        attribute(dead, "switchyard.error.reason"),
        "HTTP 422: invalid email"
    );
    assert_eq!(attribute(dead, "switchyard.attempts"), "1");
    assert_eq!(
        attribute(dead, "switchyard.source.message_id"),
        ids["p/permanent"]
    );
    assert_eq!(attribute(dead, "switchyard.source.queue"), arn);
    assert_eq!(
        attribute(dead, "tenant"),
        "acme",
        "original attributes kept"
    );
    assert!(
        moto.receive(&dlq, 1).await.is_empty(),
        "only the permanent one"
    );
}

#[tokio::test]
async fn a_throttled_record_stays_invisible_for_its_retry_after() {
    let moto = Moto::start();
    let url = create_queue_with(
        &moto,
        "short-visibility",
        &[(QueueAttributeName::VisibilityTimeout, "1".into())],
    )
    .await;
    // The control fails the same way but asks for no delay: it is back at once, so only a
    // raised visibility can keep the throttled one away.
    let (event, ids) = event_of(
        &moto,
        &url,
        &[("slow/throttled:30", None), ("control/transient:0", None)],
    )
    .await;

    let response = runner(&moto)
        .run(&event, &unbounded(), &TestHandler::default())
        .await
        .unwrap();
    assert_eq!(
        failures(&response),
        [
            ids["slow/throttled:30"].as_str(),
            ids["control/transient:0"].as_str()
        ]
    );

    tokio::time::sleep(Duration::from_secs(2)).await;
    let back = receive_n(&moto, &url, 1).await;
    assert_eq!(back[0].body.as_deref(), Some("control/transient:0"));
    assert!(
        moto.receive(&url, 1).await.is_empty(),
        "the throttled record must stay invisible for 30 s"
    );
}

#[tokio::test]
async fn a_panicking_record_fails_alone() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let (event, ids) = event_of(
        &moto,
        &url,
        &[("a/ok", None), ("b/panic", None), ("c/ok", None)],
    )
    .await;
    let handler = TestHandler::default();

    let response = runner(&moto)
        .run(&event, &unbounded(), &handler)
        .await
        .unwrap();

    assert_eq!(failures(&response), [ids["b/panic"].as_str()]);
    let mut seen = handler.seen();
    seen.sort();
    assert_eq!(seen, ["a/ok", "b/panic", "c/ok"]);
}

#[tokio::test]
async fn without_a_dlq_a_permanent_failure_is_handed_back_not_lost() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let (event, ids) = event_of(&moto, &url, &[("p/permanent", None), ("o/ok", None)]).await;
    let metrics = test_metrics();

    let response = runner(&moto)
        .with_metrics(metrics.clone())
        .run(&event, &unbounded(), &TestHandler::default())
        .await
        .unwrap();

    assert_eq!(failures(&response), [ids["p/permanent"].as_str()]);
    assert_eq!(emf(&metrics)["function_failures"], 1);
}

#[tokio::test]
async fn a_failed_dlq_send_hands_the_record_back() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let (event, ids) = event_of(&moto, &url, &[("p/permanent", None)]).await;
    let missing = format!("{}/123456789012/no-such-queue", moto.endpoint);

    let response = runner(&moto)
        .with_dead_letter_queue(missing)
        .run(&event, &unbounded(), &TestHandler::default())
        .await
        .unwrap();

    assert_eq!(failures(&response), [ids["p/permanent"].as_str()]);
}

#[tokio::test]
async fn concurrency_never_exceeds_the_limit() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let bodies: Vec<String> = (0..10).map(|i| format!("r{i}/ok")).collect();
    let pairs: Vec<(&str, Option<&str>)> = bodies.iter().map(|b| (b.as_str(), None)).collect();
    let (event, _) = event_of(&moto, &url, &pairs).await;
    let handler = TestHandler::pausing(Duration::from_millis(100));

    let response = runner(&moto)
        .with_max_concurrency(3)
        .run(&event, &unbounded(), &handler)
        .await
        .unwrap();

    assert!(failures(&response).is_empty());
    assert_eq!(handler.seen().len(), 10);
    assert_eq!(handler.max_in_flight.load(Ordering::SeqCst), 3);
}

// ---------------------------------------------------------------------------------------------
// Retries inside the invocation

/// Fails each body's first call with a transient error, succeeds after.
#[derive(Default)]
struct FlakyOnce {
    calls: Mutex<Vec<String>>,
}

impl RecordHandler for FlakyOnce {
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        let mut calls = self.calls.lock().unwrap();
        let first = !calls.iter().any(|b| b == record.body());
        calls.push(record.body().to_string());
        if first {
            Err(Error::transient("flaky"))
        } else {
            Ok(Outcome::delivered())
        }
    }
}

impl BatchHandler for FlakyOnce {
    async fn handle_batch(
        &self,
        records: &[&Record<'_>],
        invocation: &Invocation,
    ) -> Vec<Result<Outcome, Error>> {
        let mut out = Vec::new();
        for record in records {
            out.push(RecordHandler::handle(self, record, invocation).await);
        }
        out
    }
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        backoff: Backoff {
            base: Duration::from_millis(10),
            max: Duration::from_millis(50),
        },
        max_retries: 2,
        max_wait: Duration::from_secs(5),
        deadline_margin: Duration::ZERO,
    }
}

#[tokio::test]
async fn transient_failures_are_retried_inside_the_invocation_before_handing_back() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let (event, _) = event_of(&moto, &url, &[("a/x", None), ("b/x", None)]).await;
    let runner = BatchRunner::new(moto.sqs()).with_retry(quick_retries());

    let per_record = FlakyOnce::default();
    let response = runner.run(&event, &unbounded(), &per_record).await.unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(
        per_record.calls.lock().unwrap().len(),
        4,
        "each record twice"
    );

    let batch = FlakyOnce::default();
    let response = runner
        .run_batch(&event, &unbounded(), &batch)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(batch.calls.lock().unwrap().len(), 4);
}

// ---------------------------------------------------------------------------------------------
// The invocation's deadline

#[tokio::test]
async fn a_batch_that_meets_its_deadline_hands_back_only_the_unstarted_records() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let bodies: Vec<String> = (0..10).map(|i| format!("r{i}/ok")).collect();
    let pairs: Vec<(&str, Option<&str>)> = bodies.iter().map(|b| (b.as_str(), None)).collect();
    let (event, ids) = event_of(&moto, &url, &pairs).await;
    let dlq = moto.create_queue("dlq").await;
    let metrics = test_metrics();
    // One record at a time, half a second each; 2.2 s of work time before the cutoff.
    let runner = runner(&moto)
        .with_max_concurrency(1)
        .with_dead_letter_queue(&dlq)
        .with_start_margin(Duration::from_millis(300))
        .with_metrics(metrics.clone());
    let handler = TestHandler::pausing(Duration::from_millis(500));
    let invocation = Invocation::with_timeout("slow", Duration::from_millis(3200))
        .with_reserve(Duration::from_secs(1));
    let deadline = invocation.deadline().unwrap();

    let response = runner.run(&event, &invocation, &handler).await.unwrap();

    assert!(
        Instant::now() < deadline,
        "the runner must answer before Lambda's deadline"
    );
    let seen = handler.seen();
    let handed_back = failures(&response);
    assert!(!seen.is_empty() && seen.len() < 10, "{seen:?}");
    // Exactly the records the handler never saw come back; none was dead-lettered.
    let unstarted: Vec<String> = bodies
        .iter()
        .filter(|b| !seen.contains(b))
        .map(|b| ids[b].clone())
        .collect();
    assert_eq!(handed_back, unstarted);
    let emf = emf(&metrics);
    assert_eq!(emf["delivered"], seen.len());
    assert_eq!(emf["deferred"], 10 - seen.len());
    assert!(moto.receive(&dlq, 0).await.is_empty());
    // They come back at once (visibility 0), not after the queue's 30 s.
    let back = receive_n(&moto, &url, unstarted.len()).await;
    let mut back: Vec<String> = back.into_iter().filter_map(|m| m.message_id).collect();
    back.sort();
    let mut expected = unstarted.clone();
    expected.sort();
    assert_eq!(back, expected);
}

#[tokio::test]
async fn a_hanging_handler_is_cut_off_at_the_cutoff_and_its_record_handed_back() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let (event, ids) = event_of(&moto, &url, &[("a/ok", None), ("b/hang", None)]).await;
    let invocation = Invocation::with_timeout("hang", Duration::from_secs(3))
        .with_reserve(Duration::from_secs(1));
    let deadline = invocation.deadline().unwrap();

    let response = runner(&moto)
        .run(&event, &invocation, &TestHandler::default())
        .await
        .unwrap();

    assert!(Instant::now() < deadline, "answered before the deadline");
    assert_eq!(failures(&response), [ids["b/hang"].as_str()]);
}

// ---------------------------------------------------------------------------------------------
// Batch handlers

#[tokio::test]
async fn a_batch_handlers_outcomes_end_as_for_per_record_handlers() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let dlq = moto.create_queue("dlq").await;
    let bodies = [
        ("a/ok", None),
        ("b/ok", None),
        ("c/permanent", None),
        ("d/throttled:30", None),
        ("e/ok", None),
    ];
    let (event, ids) = event_of(&moto, &url, &bodies).await;
    let handler = TestBatchHandler::default();
    let metrics = test_metrics();

    let response = runner(&moto)
        .with_dead_letter_queue(&dlq)
        .with_metrics(metrics.clone())
        .run_batch(&event, &unbounded(), &handler)
        .await
        .unwrap();

    assert_eq!(handler.calls.lock().unwrap().len(), 1, "one call per batch");
    assert_eq!(failures(&response), [ids["d/throttled:30"].as_str()]);
    let dead = receive_n(&moto, &dlq, 1).await;
    assert_eq!(dead[0].body.as_deref(), Some("c/permanent"));
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "permanent");
    let emf = emf(&metrics);
    assert_eq!(emf["delivered"], 3);
    assert_eq!(emf["throttled"], 1);
    assert_eq!(emf["dead_lettered"], 1);
    assert!(
        emf["handler_latency"].as_f64().is_some(),
        "exactly one sample, one call: {emf}"
    );
    // The throttled record stays away for its Retry-After.
    assert!(moto.receive(&url, 1).await.is_empty());
}

#[tokio::test]
async fn batch_calls_are_split_at_the_handlers_limit() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let bodies: Vec<String> = (0..7).map(|i| format!("r{i}/ok")).collect();
    let pairs: Vec<(&str, Option<&str>)> = bodies.iter().map(|b| (b.as_str(), None)).collect();
    let (event, _) = event_of(&moto, &url, &pairs).await;
    let handler = TestBatchHandler {
        max: Some(3),
        ..TestBatchHandler::default()
    };

    let response = runner(&moto)
        .run_batch(&event, &unbounded(), &handler)
        .await
        .unwrap();

    assert!(failures(&response).is_empty());
    let sizes: Vec<usize> = handler.calls.lock().unwrap().iter().map(Vec::len).collect();
    assert_eq!(sizes, [3, 3, 1]);
}

/// Answers one result too few: a broken batch handler.
struct OneShort;

impl BatchHandler for OneShort {
    async fn handle_batch(
        &self,
        records: &[&Record<'_>],
        _: &Invocation,
    ) -> Vec<Result<Outcome, Error>> {
        records
            .iter()
            .skip(1)
            .map(|_| Ok(Outcome::delivered()))
            .collect()
    }
}

#[tokio::test]
async fn a_batch_handler_answering_the_wrong_count_loses_nothing() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let (event, ids) = event_of(&moto, &url, &[("a/ok", None), ("b/ok", None)]).await;

    let response = runner(&moto)
        .run_batch(&event, &unbounded(), &OneShort)
        .await
        .unwrap();

    assert_eq!(
        failures(&response),
        [ids["a/ok"].as_str(), ids["b/ok"].as_str()]
    );
}

// ---------------------------------------------------------------------------------------------
// FIFO

#[tokio::test]
async fn fifo_stops_a_group_at_its_first_retryable_failure() {
    let moto = Moto::start();
    let url = moto.create_fifo_queue("source.fifo").await;
    let (event, ids) = event_of(
        &moto,
        &url,
        &[
            ("A1/ok", Some("A")),
            ("B1/ok", Some("B")),
            ("A2/transient", Some("A")),
            ("B2/ok", Some("B")),
            ("A3/ok", Some("A")),
        ],
    )
    .await;
    let handler = TestHandler::default();

    let response = runner(&moto)
        .run(&event, &unbounded(), &handler)
        .await
        .unwrap();

    assert_eq!(
        failures(&response),
        [ids["A2/transient"].as_str(), ids["A3/ok"].as_str()]
    );
    let seen = handler.seen();
    assert!(
        !seen.contains(&"A3/ok".to_string()),
        "A3 must not run: {seen:?}"
    );
    let group =
        |g: &str| -> Vec<String> { seen.iter().filter(|b| b.starts_with(g)).cloned().collect() };
    assert_eq!(group("A"), ["A1/ok", "A2/transient"]);
    assert_eq!(group("B"), ["B1/ok", "B2/ok"]);
}

#[tokio::test]
async fn fifo_batch_calls_hold_one_record_per_group_and_a_group_stops_at_its_failure() {
    let moto = Moto::start();
    let url = moto.create_fifo_queue("source.fifo").await;
    let (event, ids) = event_of(
        &moto,
        &url,
        &[
            ("A1/ok", Some("A")),
            ("B1/ok", Some("B")),
            ("A2/transient", Some("A")),
            ("B2/ok", Some("B")),
            ("A3/ok", Some("A")),
            ("B3/ok", Some("B")),
        ],
    )
    .await;
    let handler = TestBatchHandler::default();

    let response = runner(&moto)
        .run_batch(&event, &unbounded(), &handler)
        .await
        .unwrap();

    assert_eq!(
        *handler.calls.lock().unwrap(),
        [
            vec!["A1/ok", "B1/ok"],
            vec!["A2/transient", "B2/ok"],
            vec!["B3/ok"],
        ]
    );
    assert_eq!(
        failures(&response),
        [ids["A2/transient"].as_str(), ids["A3/ok"].as_str()]
    );
}

#[tokio::test]
async fn fifo_permanent_failure_goes_to_a_fifo_dlq_and_the_group_continues() {
    let moto = Moto::start();
    let url = moto.create_fifo_queue("source.fifo").await;
    let dlq = moto.create_fifo_queue("dlq.fifo").await;
    let (event, ids) = event_of(
        &moto,
        &url,
        &[("C1/permanent", Some("C")), ("C2/ok", Some("C"))],
    )
    .await;
    let handler = TestHandler::default();

    let response = runner(&moto)
        .with_dead_letter_queue(&dlq)
        .run(&event, &unbounded(), &handler)
        .await
        .unwrap();

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(handler.seen(), ["C1/permanent", "C2/ok"]);
    let dead = receive_n(&moto, &dlq, 1).await;
    let dead = &dead[0];
    assert_eq!(dead.body.as_deref(), Some("C1/permanent"));
    assert_eq!(
        attribute(dead, "switchyard.source.message_id"),
        ids["C1/permanent"]
    );
    let system = dead.attributes.as_ref().expect("system attributes");
    assert_eq!(
        system
            .get(&aws_sdk_sqs::types::MessageSystemAttributeName::MessageGroupId)
            .map(String::as_str),
        Some("C")
    );
}
