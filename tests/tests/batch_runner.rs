//! The SQS batch runner against a real (emulated) SQS: real receipt handles, receive counts,
//! visibility changes and dead-letter sends.
//!
//! Each test starts its own moto, sends messages, receives them (as Lambda's poller would) and
//! turns them into the `SqsEvent` Lambda would deliver. The test handler decides per body: a body
//! is `label/action`, the action one of `ok`, `transient`, `transient:N`, `throttled:N`,
//! `permanent`, `panic` (N = the `retry_after` in seconds).
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{Message, MessageAttributeValue, QueueAttributeName};
use switchyard::batch::{BatchRunner, RecordHandler};
use switchyard::{Classification, Error};
use switchyard_e2e::moto::Moto;

// ---------------------------------------------------------------------------------------------
// Helpers

/// The handler under test: acts on the body's action, records what it saw and how many records
/// were in flight at once.
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

fn secs(n: &str) -> Option<Duration> {
    Some(Duration::from_secs(n.parse().unwrap()))
}

impl RecordHandler for TestHandler {
    async fn handle(&self, record: &SqsMessage) -> Result<(), Error> {
        let body = record.body.clone().unwrap_or_default();
        self.seen.lock().unwrap().push(body.clone());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.pause).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);

        let action = body.rsplit_once('/').map_or(body.as_str(), |(_, a)| a);
        match action.split_once(':') {
            _ if action == "ok" => Ok(()),
            _ if action == "transient" => Err(Error::transient("upstream 503")),
            _ if action == "permanent" => Err(Error::permanent("HTTP 422: invalid email")),
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
}

async fn queue_arn(moto: &Moto, url: &str) -> String {
    moto.sqs()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("get queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn")
}

async fn send(moto: &Moto, url: &str, body: &str, group: Option<&str>) -> String {
    let tenant = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("acme")
        .build()
        .unwrap();
    moto.sqs()
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_attributes("tenant", tenant)
        .set_message_group_id(group.map(str::to_string))
        .send()
        .await
        .expect("send")
        .message_id
        .expect("message id")
}

/// Receives until `n` messages arrived (or fails after 20 s).
async fn receive_n(moto: &Moto, url: &str, n: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < deadline, "received {} of {n}", got.len());
        got.extend(moto.receive(url, 1).await);
    }
    assert_eq!(got.len(), n, "more messages than expected");
    got
}

/// The record Lambda's poller would make of a received message.
fn to_record(message: &Message, arn: &str) -> SqsMessage {
    let mut r = SqsMessage::default();
    r.message_id = message.message_id.clone();
    r.receipt_handle = message.receipt_handle.clone();
    r.body = message.body.clone();
    r.md5_of_body = message.md5_of_body.clone();
    r.md5_of_message_attributes = message.md5_of_message_attributes.clone();
    r.attributes = message
        .attributes
        .iter()
        .flatten()
        .map(|(k, v)| (k.as_str().to_string(), v.clone()))
        .collect();
    r.message_attributes = message
        .message_attributes
        .iter()
        .flatten()
        .map(|(k, v)| {
            let mut a = SqsMessageAttribute::default();
            a.data_type = Some(v.data_type().to_string());
            a.string_value = v.string_value().map(str::to_string);
            (k.clone(), a)
        })
        .collect();
    r.event_source_arn = Some(arn.to_string());
    r.event_source = Some("aws:sqs".into());
    r.aws_region = Some("us-east-1".into());
    r
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
    let mut event = SqsEvent::default();
    event.records = bodies
        .iter()
        .map(|(body, _)| {
            let m = received
                .iter()
                .find(|m| m.body.as_deref() == Some(*body))
                .expect("received");
            to_record(m, &arn)
        })
        .collect();
    (event, ids)
}

fn failures(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

fn attribute<'a>(message: &'a Message, name: &str) -> &'a str {
    message
        .message_attributes
        .as_ref()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .unwrap_or_else(|| panic!("attribute {name} missing"))
}

// ---------------------------------------------------------------------------------------------
// Tests

#[tokio::test]
async fn partial_failures_return_exactly_the_failed_ids() {
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
    ];
    let (event, ids) = event_of(&moto, &url, &bodies).await;
    let metrics = switchyard::telemetry::metrics::Metrics::builder()
        .without_cold_start()
        .build()
        .unwrap();
    let runner = BatchRunner::new(moto.sqs())
        .with_dead_letter_queue(&dlq)
        .with_metrics(metrics.clone());
    let handler = TestHandler::default();

    let response = runner.run(&event, &handler).await.unwrap();

    // The invocation's EMF line counts what happened to each record.
    let lines = metrics.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let emf: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(emf["received"], 6);
    assert_eq!(emf["delivered"], 2);
    assert_eq!(emf["retried"], 3);
    assert_eq!(emf["dead_lettered"], 1);
    assert!(emf["latency"].is_number());

    assert_eq!(
        failures(&response),
        [
            ids["b/transient"].as_str(),
            ids["d/panic"].as_str(),
            ids["f/throttled:5"].as_str()
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
    let runner = BatchRunner::new(moto.sqs()).with_dead_letter_queue(&dlq);

    let response = runner.run(&event, &TestHandler::default()).await.unwrap();

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
    let url = moto
        .sqs()
        .create_queue()
        .queue_name("short-visibility")
        .attributes(QueueAttributeName::VisibilityTimeout, "1")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    // The control fails the same way but asks for no delay: with the queue's 1 s timeout it is
    // back at once, so only a raised visibility can keep the throttled one away.
    let (event, ids) = event_of(
        &moto,
        &url,
        &[("slow/throttled:30", None), ("control/transient:0", None)],
    )
    .await;
    let runner = BatchRunner::new(moto.sqs());

    let response = runner.run(&event, &TestHandler::default()).await.unwrap();
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
    let runner = BatchRunner::new(moto.sqs());
    let handler = TestHandler::default();

    let response = runner.run(&event, &handler).await.unwrap();

    assert_eq!(failures(&response), [ids["b/panic"].as_str()]);
    let mut seen = handler.seen();
    seen.sort();
    assert_eq!(seen, ["a/ok", "b/panic", "c/ok"]);
}

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
    let runner = BatchRunner::new(moto.sqs());
    let handler = TestHandler::default();

    let response = runner.run(&event, &handler).await.unwrap();

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
    let runner = BatchRunner::new(moto.sqs()).with_dead_letter_queue(&dlq);
    let handler = TestHandler::default();

    let response = runner.run(&event, &handler).await.unwrap();

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

#[tokio::test]
async fn without_a_dlq_a_permanent_failure_is_reported_failed() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let (event, ids) = event_of(&moto, &url, &[("p/permanent", None), ("o/ok", None)]).await;
    let runner = BatchRunner::new(moto.sqs());

    let response = runner.run(&event, &TestHandler::default()).await.unwrap();

    assert_eq!(failures(&response), [ids["p/permanent"].as_str()]);
}

#[tokio::test]
async fn a_failed_dlq_send_reports_the_record_failed() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let (event, ids) = event_of(&moto, &url, &[("p/permanent", None)]).await;
    let missing = format!("{}/123456789012/no-such-queue", moto.endpoint);
    let runner = BatchRunner::new(moto.sqs()).with_dead_letter_queue(missing);

    let response = runner.run(&event, &TestHandler::default()).await.unwrap();

    assert_eq!(failures(&response), [ids["p/permanent"].as_str()]);
}

#[tokio::test]
async fn concurrency_never_exceeds_the_limit() {
    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let bodies: Vec<String> = (0..10).map(|i| format!("r{i}/ok")).collect();
    let pairs: Vec<(&str, Option<&str>)> = bodies.iter().map(|b| (b.as_str(), None)).collect();
    let (event, _) = event_of(&moto, &url, &pairs).await;
    let runner = BatchRunner::new(moto.sqs()).with_max_concurrency(3);
    let handler = TestHandler::pausing(Duration::from_millis(100));

    let response = runner.run(&event, &handler).await.unwrap();

    assert!(failures(&response).is_empty());
    assert_eq!(handler.seen().len(), 10);
    assert_eq!(handler.max_in_flight.load(Ordering::SeqCst), 3);
}
