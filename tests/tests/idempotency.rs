//! The idempotency layer against a real (emulated) DynamoDB and SQS, through the real batch
//! runner: redeliveries are not delivered again, copies in one batch deliver once, failures are
//! retried and counted, mismatched payloads are dead-lettered, live locks hand records back,
//! and the ledger tells what happened. A counting interceptor on the DynamoDB client measures
//! what a batch costs.
//!
//! The test handler plays Slack: it delivers an envelope and answers `ts-<event id>-<call>` as
//! the destination id. The envelope's `data` scripts it: `fail_first` / `panic_first` (fail or
//! panic on the first N calls for that event), `permanent`, `skip`, `hang`, `unknown_first` /
//! `unknown_then_deliver` (a call whose outcome is unknown, as the HTTP client reports one).
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_dynamodb::config::interceptors::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::types::AttributeValue;
use serde::Deserialize;
use serde_json::json;
use switchyard::batch::{BatchHandler, BatchRunner, Outcome, Record, RecordHandler};
use switchyard::envelope::CloudEvent;
use switchyard::idempotency::{
    IdempotencyConfig, IdempotencyLayer, Idempotent, LedgerEntry, Status, item, key,
};
use switchyard::invocation::Invocation;
use switchyard::retry::RetryPolicy;
use switchyard::telemetry::metrics::Metrics;
use switchyard::{Error, ErrorClass};
use switchyard_e2e::moto::{Moto, free_port};
use switchyard_e2e::sqs_event::{attribute, event, failures, queue_arn, receive_n, to_record};
use tokio::sync::Notify;

const INTEGRATION: &str = "slack-notify";
const SOURCE: &str = "stripe";

// ---------------------------------------------------------------------------------------------
// The destination stand-in

/// What an envelope's `data` asks the handler to do.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Script {
    fail_first: usize,
    panic_first: usize,
    permanent: bool,
    skip: bool,
    hang: bool,
    /// The first N calls time out after sending (an unknown outcome), then fail as transient.
    unknown_first: usize,
    /// The call notes an unknown outcome (a first try timed out), then delivers (the
    /// in-place retry worked).
    unknown_then_deliver: bool,
}

/// Counts calls per event id; optionally stops inside the call until released.
#[derive(Default)]
struct Slack {
    calls: Mutex<Vec<String>>,
    gate: Option<Gate>,
}

#[derive(Default)]
struct Gate {
    entered: Notify,
    release: Notify,
}

impl Slack {
    fn gated() -> Self {
        Self {
            gate: Some(Gate::default()),
            ..Self::default()
        }
    }

    /// Event ids of every call, sorted (records run concurrently, so call order is not fixed).
    fn calls(&self) -> Vec<String> {
        let mut calls = self.calls.lock().unwrap().clone();
        calls.sort();
        calls
    }

    async fn deliver(&self, event: &CloudEvent) -> Result<Outcome, Error> {
        let call = {
            let mut calls = self.calls.lock().unwrap();
            calls.push(event.id().to_owned());
            calls.iter().filter(|id| *id == event.id()).count()
        };
        if let Some(gate) = &self.gate {
            gate.entered.notify_one();
            gate.release.notified().await;
        }
        let script: Script = event.data_as()?;
        if script.hang {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        if call <= script.panic_first {
            panic!("handler bug");
        }
        if script.permanent {
            return Err(Error::permanent("HTTP 400: channel_not_found"));
        }
        if call <= script.fail_first {
            return Err(Error::transient("HTTP 503 from Slack"));
        }
        if call <= script.unknown_first {
            switchyard::unknown_outcome::note();
            return Err(Error::transient("slack: request failed: timed out"));
        }
        if script.unknown_then_deliver {
            switchyard::unknown_outcome::note();
        }
        if script.skip {
            return Ok(Outcome::skipped("no rule for invoice.paid"));
        }
        Ok(Outcome::delivered_as(format!("ts-{}-{call}", event.id())))
    }
}

impl RecordHandler for Slack {
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        let event = record.envelope()?;
        self.deliver(event).await
    }
}

impl BatchHandler for Slack {
    async fn handle_batch(
        &self,
        records: &[&Record<'_>],
        _: &Invocation,
    ) -> Vec<Result<Outcome, Error>> {
        let mut results = Vec::with_capacity(records.len());
        for record in records {
            results.push(match record.envelope() {
                Ok(event) => self.deliver(event).await,
                Err(e) => Err(e),
            });
        }
        results
    }
}

// ---------------------------------------------------------------------------------------------
// Counting DynamoDB calls

/// DynamoDB calls by operation, and round trips: how many times calls went out with none in
/// flight (calls that overlap share a round trip).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Tally {
    by_operation: BTreeMap<String, usize>,
    round_trips: usize,
    max_in_flight: usize,
    in_flight: usize,
}

impl Tally {
    fn calls(&self, operation: &str) -> usize {
        self.by_operation.get(operation).copied().unwrap_or(0)
    }

    fn total(&self) -> usize {
        self.by_operation.values().sum()
    }
}

#[derive(Debug, Default, Clone)]
struct Counter(Arc<Mutex<Tally>>);

impl Counter {
    fn take(&self) -> Tally {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl Intercept for Counter {
    fn name(&self) -> &'static str {
        "call-counter"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let operation = context
            .request()
            .headers()
            .get("x-amz-target")
            .unwrap_or("?")
            .trim_start_matches("DynamoDB_20120810.")
            .to_owned();
        let mut tally = self.0.lock().unwrap();
        if tally.in_flight == 0 {
            tally.round_trips += 1;
        }
        tally.in_flight += 1;
        tally.max_in_flight = tally.max_in_flight.max(tally.in_flight);
        *tally.by_operation.entry(operation).or_default() += 1;
        Ok(())
    }

    fn read_after_transmit(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let mut tally = self.0.lock().unwrap();
        tally.in_flight = tally.in_flight.saturating_sub(1);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Setup

/// One emulator with a source queue, a dead-letter queue and the idempotency table.
struct World {
    moto: Moto,
    url: String,
    arn: String,
    dlq: String,
    table: String,
}

impl World {
    async fn new() -> Self {
        let moto = Moto::start();
        let url = moto.create_queue("source").await;
        let arn = queue_arn(&moto, &url).await;
        let dlq = moto.create_queue("dlq").await;
        let table = moto.create_idempotency_table("idempotency").await;
        Self {
            moto,
            url,
            arn,
            dlq,
            table,
        }
    }

    /// A layer on the table, as one Lambda execution environment has it.
    fn layer(&self) -> IdempotencyLayer {
        self.layer_with(self.moto.dynamodb())
    }

    fn layer_with(&self, client: aws_sdk_dynamodb::Client) -> IdempotencyLayer {
        IdempotencyLayer::new(client, &IdempotencyConfig::new(&self.table), INTEGRATION)
    }

    /// A layer whose DynamoDB calls are counted.
    fn counted_layer(&self) -> (IdempotencyLayer, Counter) {
        let counter = Counter::default();
        let config = aws_sdk_dynamodb::config::Builder::from(&self.moto.sdk_config())
            .interceptor(counter.clone())
            .build();
        let layer = self.layer_with(aws_sdk_dynamodb::Client::from_conf(config));
        (layer, counter)
    }

    /// The runner: no retries inside the invocation (what a handler answers is what is
    /// settled), the dead-letter queue, metrics.
    fn runner(&self, metrics: &Metrics) -> BatchRunner {
        BatchRunner::new(self.moto.sqs())
            .with_retry(RetryPolicy {
                max_retries: 0,
                ..RetryPolicy::default()
            })
            .with_dead_letter_queue(&self.dlq)
            .with_metrics(metrics.clone())
    }

    /// Sends `bodies`, receives them all and returns them as one event, in the order sent.
    async fn batch(&self, bodies: &[String]) -> SqsEvent {
        let mut ids = Vec::new();
        for body in bodies {
            ids.push(
                self.moto
                    .sqs()
                    .send_message()
                    .queue_url(&self.url)
                    .message_body(body)
                    .send()
                    .await
                    .unwrap()
                    .message_id
                    .unwrap(),
            );
        }
        let received = receive_n(&self.moto, &self.url, bodies.len()).await;
        event(
            ids.iter()
                .map(|id| {
                    let m = received
                        .iter()
                        .find(|m| m.message_id.as_deref() == Some(id))
                        .unwrap();
                    to_record(m, &self.arn)
                })
                .collect(),
        )
    }

    /// What Lambda's poller does next: deletes the records the response does not name, and
    /// (as if their visibility ran out) receives the named ones again, as the next event.
    async fn settle_and_redeliver(
        &self,
        previous: &SqsEvent,
        response: &SqsBatchResponse,
    ) -> SqsEvent {
        switchyard_e2e::sqs_event::acknowledge(&self.moto, &self.url, previous, response).await;
        let back = failures(response);
        for record in previous
            .records
            .iter()
            .filter(|r| back.contains(r.message_id.as_ref().unwrap()))
        {
            self.moto
                .sqs()
                .change_message_visibility()
                .queue_url(&self.url)
                .receipt_handle(record.receipt_handle.clone().unwrap())
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        }
        let received = receive_n(&self.moto, &self.url, back.len()).await;
        event(received.iter().map(|m| to_record(m, &self.arn)).collect())
    }

    async fn ledger(&self, event_id: &str) -> LedgerEntry {
        self.layer()
            .ledger()
            .get(INTEGRATION, SOURCE, event_id)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no ledger entry for {event_id}"))
    }

    async fn items(&self) -> usize {
        self.moto
            .dynamodb()
            .scan()
            .table_name(&self.table)
            .send()
            .await
            .unwrap()
            .count() as usize
    }
}

/// A CloudEvents envelope from Stripe with `data`.
fn envelope(id: &str, data: serde_json::Value) -> String {
    json!({
        "specversion": "1.0",
        "id": id,
        "source": SOURCE,
        "type": "invoice.paid",
        "data": data,
    })
    .to_string()
}

fn metrics() -> Metrics {
    Metrics::builder().without_cold_start().build().unwrap()
}

/// The one EMF line recorded since the last call.
fn emf(metrics: &Metrics) -> serde_json::Value {
    let lines = metrics.take_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    serde_json::from_str(&lines[0]).unwrap()
}

fn invocation(request_id: &str) -> Invocation {
    Invocation::with_timeout(request_id, Duration::from_secs(60))
}

// ---------------------------------------------------------------------------------------------
// Deduplication

#[tokio::test]
async fn a_redelivered_event_is_not_delivered_again_and_counts_deduped() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics);
    let slack = world.layer().layer(Slack::default());

    let first = world
        .batch(&[envelope("evt_1", json!({})), envelope("evt_2", json!({}))])
        .await;
    let response = runner
        .run(&first, &invocation("req-1"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    let emf1 = emf(&metrics);
    assert_eq!(
        (emf1["delivered"].as_u64(), emf1["deduped"].as_u64()),
        (Some(2), Some(0))
    );

    // The provider re-sends evt_1: a new SQS message, a later batch.
    let again = world.batch(&[envelope("evt_1", json!({}))]).await;
    let response = runner
        .run(&again, &invocation("req-2"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "acknowledged: {response:?}");
    let emf2 = emf(&metrics);
    assert_eq!(emf2["deduped"], 1, "{emf2}");
    assert_eq!(emf2["delivered"], 0, "{emf2}");
    assert_eq!(
        slack.inner().calls(),
        ["evt_1", "evt_2"],
        "not delivered again"
    );

    let entry = world.ledger("evt_1").await;
    assert_eq!(entry.status, Status::Completed);
    assert_eq!(entry.attempts, 1, "a duplicate takes no lock");
    assert_eq!(entry.destination_id(), Some("ts-evt_1-1"));
    assert_eq!(entry.request_id.as_deref(), Some("req-1"));
}

#[tokio::test]
async fn a_redelivered_event_is_not_delivered_again_by_a_batch_handler_either() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics);
    let slack = world.layer().layer(Slack::default());

    let first = world.batch(&[envelope("evt_1", json!({}))]).await;
    runner
        .run_batch(&first, &invocation("req-1"), &slack)
        .await
        .unwrap();
    assert_eq!(emf(&metrics)["delivered"], 1);

    let again = world
        .batch(&[envelope("evt_1", json!({})), envelope("evt_3", json!({}))])
        .await;
    let response = runner
        .run_batch(&again, &invocation("req-2"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    let emf2 = emf(&metrics);
    assert_eq!(
        (emf2["deduped"].as_u64(), emf2["delivered"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(slack.inner().calls(), ["evt_1", "evt_3"]);
}

#[tokio::test]
async fn two_copies_in_one_batch_deliver_once() {
    let world = World::new().await;
    let copies = [
        envelope("evt_1", json!({})),
        envelope("evt_1", json!({})),
        envelope("evt_2", json!({})),
    ];

    // Per-record handler: the copies run concurrently; the second waits for the first.
    let metrics = metrics();
    let slack = world.layer().layer(Slack::default());
    let batch = world.batch(&copies).await;
    let response = world
        .runner(&metrics)
        .run(&batch, &invocation("req-1"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    let counts = emf(&metrics);
    assert_eq!(
        (counts["delivered"].as_u64(), counts["deduped"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        slack
            .inner()
            .calls()
            .iter()
            .filter(|id| *id == "evt_1")
            .count(),
        1
    );

    // Batch handler: the same within one call.
    let other = [
        envelope("evt_7", json!({})),
        envelope("evt_8", json!({})),
        envelope("evt_7", json!({})),
    ];
    let slack = world.layer().layer(Slack::default());
    let batch = world.batch(&other).await;
    let response = world
        .runner(&metrics)
        .run_batch(&batch, &invocation("req-2"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    let counts = emf(&metrics);
    assert_eq!(
        (counts["delivered"].as_u64(), counts["deduped"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(slack.inner().calls(), ["evt_7", "evt_8"]);
}

// ---------------------------------------------------------------------------------------------
// Retries and the ledger

#[tokio::test]
async fn a_failure_then_a_success_records_two_attempts_and_the_destination_id() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics);
    let slack = world.layer().layer(Slack::default());

    let first = world
        .batch(&[envelope("evt_1", json!({"fail_first": 1}))])
        .await;
    let response = runner
        .run(&first, &invocation("req-1"), &slack)
        .await
        .unwrap();
    assert_eq!(failures(&response).len(), 1, "handed back");
    let failed = world.ledger("evt_1").await;
    assert_eq!(failed.status, Status::Failed, "{failed:?}");
    assert_eq!(failed.attempts, 1);
    assert_eq!(failed.last_error_class, Some(ErrorClass::Transient));
    assert_eq!(
        failed.last_error_reason.as_deref(),
        Some("HTTP 503 from Slack")
    );
    assert_eq!(failed.lock_expires_at, None, "the lock is released");
    assert_eq!(failed.destination_id(), None);

    let second = world.settle_and_redeliver(&first, &response).await;
    let response = runner
        .run(&second, &invocation("req-2"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");

    let entry = world.ledger("evt_1").await;
    assert_eq!(entry.status, Status::Completed);
    assert_eq!(entry.attempts, 2);
    assert_eq!(entry.destination_id(), Some("ts-evt_1-2"));
    assert_eq!(
        entry.last_error_class,
        Some(ErrorClass::Transient),
        "the last failure stays in the ledger"
    );
    assert_eq!(entry.request_id.as_deref(), Some("req-2"));
    assert_eq!(entry.message_id, second.records[0].message_id);
    assert_eq!(slack.inner().calls(), ["evt_1", "evt_1"]);
}

#[tokio::test]
async fn the_ledger_tells_what_became_of_an_event() {
    let world = World::new().await;
    let metrics = metrics();
    let slack = world.layer().layer(Slack::default());
    let batch = world
        .batch(&[
            envelope("evt_1", json!({"amount": 4200})),
            envelope("evt_2", json!({"skip": true})),
        ])
        .await;
    let before = std::time::SystemTime::now();
    world
        .runner(&metrics)
        .run(&batch, &invocation("req-1"), &slack)
        .await
        .unwrap();

    let ledger = world.layer().ledger().clone();
    let entry = ledger
        .get(INTEGRATION, SOURCE, "evt_1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.key, key(INTEGRATION, SOURCE, "evt_1"));
    assert_eq!(entry.key, "slack-notify#stripe#evt_1");
    assert_eq!(
        (
            entry.integration.as_str(),
            entry.source.as_str(),
            entry.event_type.as_str(),
            entry.event_id.as_str()
        ),
        (INTEGRATION, SOURCE, "invoice.paid", "evt_1")
    );
    assert_eq!(entry.status, Status::Completed);
    assert_eq!(entry.attempts, 1);
    assert_eq!(entry.outcome, Some(Outcome::delivered_as("ts-evt_1-1")));
    assert_eq!(entry.last_error_class, None);
    assert_eq!(entry.request_id.as_deref(), Some("req-1"));
    assert_eq!(entry.message_id, batch.records[0].message_id);
    assert_eq!(entry.payload_hash.len(), 64);
    let created = entry.created_at.unwrap();
    assert!(created >= before - Duration::from_secs(1), "{created:?}");
    assert!(entry.completed_at.unwrap() >= created);
    assert_eq!(entry.completed_at, Some(entry.updated_at));
    // Kept for the record TTL (7 days) after the last write, in epoch seconds.
    let ttl = entry
        .expires_at
        .unwrap()
        .duration_since(entry.updated_at)
        .unwrap();
    assert!(
        ttl > Duration::from_secs(7 * 86_400 - 2) && ttl <= Duration::from_secs(7 * 86_400),
        "{ttl:?}"
    );

    let skipped = ledger
        .get(INTEGRATION, SOURCE, "evt_2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        skipped.outcome,
        Some(Outcome::skipped("no rule for invoice.paid"))
    );
    assert_eq!(skipped.destination_id(), None);

    assert_eq!(
        ledger.get(INTEGRATION, SOURCE, "evt_9").await.unwrap(),
        None
    );
    assert_eq!(
        ledger.get("crm-sync", SOURCE, "evt_1").await.unwrap(),
        None,
        "per integration"
    );
}

#[tokio::test]
async fn a_panicking_handler_releases_its_lock_for_the_retry() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics);
    let slack = world.layer().layer(Slack::default());
    let first = world
        .batch(&[envelope("evt_1", json!({"panic_first": 1}))])
        .await;
    let response = runner
        .run(&first, &invocation("req-1"), &slack)
        .await
        .unwrap();
    assert_eq!(
        failures(&response).len(),
        1,
        "the runner hands a panic back"
    );
    let failed = world.ledger("evt_1").await;
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(
        failed.last_error_reason.as_deref(),
        Some("handler panicked: handler bug")
    );

    let second = world.settle_and_redeliver(&first, &response).await;
    let response = runner
        .run(&second, &invocation("req-2"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    let entry = world.ledger("evt_1").await;
    assert_eq!((entry.status, entry.attempts), (Status::Completed, 2));
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn a_payload_mismatch_is_dead_lettered_as_permanent() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics);
    let slack = world.layer().layer(Slack::default());
    let first = world
        .batch(&[envelope("evt_1", json!({"amount": 4200}))])
        .await;
    runner
        .run(&first, &invocation("req-1"), &slack)
        .await
        .unwrap();

    // Same source and id, another payload.
    let forged = world
        .batch(&[envelope("evt_1", json!({"amount": 9900}))])
        .await;
    let response = runner
        .run(&forged, &invocation("req-2"), &slack)
        .await
        .unwrap();
    assert!(
        failures(&response).is_empty(),
        "dead-lettered, not handed back"
    );
    let dead = receive_n(&world.moto, &world.dlq, 1).await;
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "permanent");
    let reason = attribute(&dead[0], "switchyard.error.reason");
    assert!(
        reason.starts_with("same event id, different payload"),
        "{reason}"
    );
    assert!(
        !reason.contains("9900") && !reason.contains("4200"),
        "{reason}"
    );
    assert_eq!(slack.inner().calls(), ["evt_1"], "never delivered");
    let entry = world.ledger("evt_1").await;
    assert_eq!(
        (entry.status, entry.attempts),
        (Status::Completed, 1),
        "untouched"
    );
}

#[tokio::test]
async fn a_lock_held_by_a_live_invocation_hands_the_record_back() {
    let world = World::new().await;
    let copies = world
        .batch(&[envelope("evt_1", json!({})), envelope("evt_1", json!({}))])
        .await;
    let (one, two) = (
        event(vec![copies.records[0].clone()]),
        event(vec![copies.records[1].clone()]),
    );
    // Two execution environments: separate layers, each its own process state.
    let (busy, other) = (
        world.layer().layer(Slack::gated()),
        world.layer().layer(Slack::default()),
    );
    let (metrics_one, metrics_two) = (metrics(), metrics());
    let (runner_one, runner_two) = (world.runner(&metrics_one), world.runner(&metrics_two));
    let gate = busy.inner().gate.as_ref().unwrap();

    let (req_1, req_2) = (invocation("req-1"), invocation("req-2"));
    let (first, second) = tokio::join!(runner_one.run(&one, &req_1, &busy), async {
        // While the first environment is inside its delivery, holding the lock:
        gate.entered.notified().await;
        let response = runner_two.run(&two, &req_2, &other).await;
        gate.release.notify_one();
        response
    });
    let (first, second) = (first.unwrap(), second.unwrap());

    assert!(failures(&first).is_empty(), "{first:?}");
    assert_eq!(
        failures(&second),
        [two.records[0].message_id.clone().unwrap()]
    );
    let counts = emf(&metrics_two);
    assert_eq!(
        (counts["retried"].as_u64(), counts["dead_lettered"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        counts["function_failures"], 0,
        "transient, not the function's fault"
    );
    assert!(
        other.inner().calls().is_empty(),
        "never delivered by the second"
    );
    let entry = world.ledger("evt_1").await;
    assert_eq!((entry.status, entry.attempts), (Status::Completed, 1));
    assert_eq!(entry.request_id.as_deref(), Some("req-1"));
}

#[tokio::test]
async fn an_abandoned_lock_is_taken_again_once_it_expires() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics).with_start_margin(Duration::ZERO);
    let slack = world.layer().layer(Slack::default());
    let first = world
        .batch(&[envelope("evt_1", json!({"hang": true}))])
        .await;

    // An invocation cut off mid-delivery: the runner's timeout drops the call at the cutoff,
    // nothing is recorded, and the lock stays until the invocation's deadline.
    let deadline = Instant::now() + Duration::from_secs(3);
    let dying = Invocation::new("req-1", Some(deadline)).with_reserve(Duration::from_secs(1));
    let response = runner.run(&first, &dying, &slack).await.unwrap();
    assert_eq!(failures(&response).len(), 1);
    let abandoned = world.ledger("evt_1").await;
    assert_eq!(abandoned.status, Status::InProgress);
    assert!(abandoned.lock_expires_at.is_some());

    // Once the deadline has passed, the lock is abandoned and the redelivery takes it. (The
    // hang is scripted in the payload, so the retry goes to a handler that does not hang: a
    // second environment on the same table.)
    tokio::time::sleep_until((deadline + Duration::from_millis(100)).into()).await;
    let second = world.settle_and_redeliver(&first, &response).await;
    let healthy = world.layer().layer(NoHang);
    let response = world
        .runner(&metrics)
        .run(&second, &invocation("req-3"), &healthy)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    let entry = world.ledger("evt_1").await;
    assert_eq!(entry.status, Status::Completed);
    assert_eq!(entry.attempts, 2, "the abandoned attempt counts");
    assert_eq!(entry.request_id.as_deref(), Some("req-3"));
    assert_eq!(
        (entry.unknown_outcomes, entry.possible_duplicate),
        (1, true),
        "what the abandoned attempt sent is unknown: possibly delivered twice"
    );
}

/// Delivers anything at once.
struct NoHang;

impl RecordHandler for NoHang {
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        Ok(Outcome::delivered_as(format!(
            "ts-{}",
            record.envelope()?.id()
        )))
    }
}

#[tokio::test]
async fn an_outcome_is_not_written_over_a_lock_taken_by_another_invocation() {
    /// Delivers, but meanwhile another invocation takes the lock over (as after an expiry).
    struct Overtaken {
        dynamodb: aws_sdk_dynamodb::Client,
        table: String,
    }

    impl RecordHandler for Overtaken {
        async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
            let event = record.envelope()?;
            self.dynamodb
                .update_item()
                .table_name(&self.table)
                .key(
                    item::ID,
                    AttributeValue::S(key(INTEGRATION, SOURCE, event.id())),
                )
                .update_expression("SET #r = :r")
                .expression_attribute_names("#r", item::REQUEST_ID)
                .expression_attribute_values(":r", AttributeValue::S("req-other".into()))
                .send()
                .await
                .unwrap();
            Ok(Outcome::delivered_as("ts-1"))
        }
    }

    let world = World::new().await;
    let metrics = metrics();
    let handler = world.layer().layer(Overtaken {
        dynamodb: world.moto.dynamodb(),
        table: world.table.clone(),
    });
    let batch = world.batch(&[envelope("evt_1", json!({}))]).await;
    let response = world
        .runner(&metrics)
        .run(&batch, &invocation("req-1"), &handler)
        .await
        .unwrap();
    assert!(
        failures(&response).is_empty(),
        "the delivery happened: {response:?}"
    );
    assert_eq!(emf(&metrics)["delivered"], 1);
    let entry = world.ledger("evt_1").await;
    assert_eq!(
        entry.status,
        Status::InProgress,
        "the new holder's record is kept"
    );
    assert_eq!(entry.request_id.as_deref(), Some("req-other"));
}

#[tokio::test]
async fn a_damaged_record_dead_letters_its_event_with_the_reason() {
    let world = World::new().await;
    world
        .moto
        .dynamodb()
        .put_item()
        .table_name(&world.table)
        .item(
            item::ID,
            AttributeValue::S(key(INTEGRATION, SOURCE, "evt_1")),
        )
        .item(item::STATUS, AttributeValue::S("DONE".into()))
        .send()
        .await
        .unwrap();
    let metrics = metrics();
    let slack = world.layer().layer(Slack::default());
    let batch = world.batch(&[envelope("evt_1", json!({}))]).await;
    let response = world
        .runner(&metrics)
        .run(&batch, &invocation("req-1"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let dead = receive_n(&world.moto, &world.dlq, 1).await;
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "permanent");
    let reason = attribute(&dead[0], "switchyard.error.reason");
    assert!(
        reason.contains("unreadable") && reason.contains("`status`"),
        "{reason}"
    );
    assert!(slack.inner().calls().is_empty());
}

#[tokio::test]
async fn a_body_that_is_no_envelope_passes_through_untouched() {
    let world = World::new().await;
    let metrics = metrics();
    let slack = world.layer().layer(Slack::default());
    let batch = world
        .batch(&[r#"{"email":"jane@example.com"}"#.to_owned()])
        .await;
    let response = world
        .runner(&metrics)
        .run(&batch, &invocation("req-1"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty());
    let dead = receive_n(&world.moto, &world.dlq, 1).await;
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "permanent");
    assert_eq!(
        world.items().await,
        0,
        "no record for a body without an event"
    );

    // The batch path too.
    let batch = world.batch(&["not json".to_owned()]).await;
    world
        .runner(&metrics)
        .run_batch(&batch, &invocation("req-2"), &slack)
        .await
        .unwrap();
    assert_eq!(receive_n(&world.moto, &world.dlq, 1).await.len(), 1);
    assert_eq!(world.items().await, 0);
}

// ---------------------------------------------------------------------------------------------
// DynamoDB failing

#[tokio::test]
async fn dynamodb_unreachable_hands_the_records_back_as_transient() {
    let world = World::new().await;
    let nowhere = aws_sdk_dynamodb::config::Builder::from(&world.moto.sdk_config())
        .endpoint_url(format!("http://127.0.0.1:{}", free_port()))
        .build();
    let layer = world.layer_with(aws_sdk_dynamodb::Client::from_conf(nowhere));
    let bodies = [envelope("evt_1", json!({})), envelope("evt_2", json!({}))];

    for batch_handler in [false, true] {
        let metrics = metrics();
        let slack: Idempotent<Slack> = layer.layer(Slack::default());
        let batch = world.batch(&bodies).await;
        let response = if batch_handler {
            world
                .runner(&metrics)
                .run_batch(&batch, &invocation("req"), &slack)
                .await
        } else {
            world
                .runner(&metrics)
                .run(&batch, &invocation("req"), &slack)
                .await
        }
        .unwrap();
        assert_eq!(failures(&response).len(), 2, "no delivery without the lock");
        let counts = emf(&metrics);
        assert_eq!(counts["retried"], 2, "{counts}");
        assert_eq!(
            (
                counts["function_failures"].as_u64(),
                counts["dead_lettered"].as_u64()
            ),
            (Some(0), Some(0))
        );
        assert!(slack.inner().calls().is_empty());
        switchyard_e2e::sqs_event::acknowledge(
            &world.moto,
            &world.url,
            &batch,
            &SqsBatchResponse::default(),
        )
        .await;
    }
}

#[tokio::test]
async fn a_missing_table_is_a_failure_of_the_function_not_of_the_records() {
    let world = World::new().await;
    let layer = IdempotencyLayer::new(
        world.moto.dynamodb(),
        &IdempotencyConfig::new("no-such-table"),
        INTEGRATION,
    );
    let metrics = metrics();
    let slack = layer.layer(Slack::default());
    let batch = world.batch(&[envelope("evt_1", json!({}))]).await;
    let response = world
        .runner(&metrics)
        .run(&batch, &invocation("req"), &slack)
        .await
        .unwrap();
    assert_eq!(
        failures(&response).len(),
        1,
        "handed back, not dead-lettered"
    );
    let counts = emf(&metrics);
    assert_eq!(counts["function_failures"], 1, "{counts}");
    assert!(slack.inner().calls().is_empty());
}

// ---------------------------------------------------------------------------------------------
// Cost

#[tokio::test]
async fn a_batch_costs_two_dynamodb_round_trips_whatever_its_size() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics);
    let (layer, counter) = world.counted_layer();
    let slack = layer.layer(Slack::default());

    for size in [1usize, 3, 10] {
        let bodies: Vec<String> = (0..size)
            .map(|i| envelope(&format!("evt_{size}_{i}"), json!({})))
            .collect();
        let batch = world.batch(&bodies).await;
        counter.take();
        let response = runner
            .run_batch(&batch, &invocation("req"), &slack)
            .await
            .unwrap();
        assert!(failures(&response).is_empty());
        let tally = counter.take();
        assert_eq!(
            tally.calls("UpdateItem"),
            2 * size,
            "lock + outcome per record: {tally:?}"
        );
        assert_eq!(tally.total(), 2 * size, "{tally:?}");
        assert_eq!(
            tally.round_trips, 2,
            "locks together, outcomes together: {tally:?}"
        );
        assert_eq!(tally.max_in_flight, size, "{tally:?}");
        println!("batch handler, {size} records: {tally:?}");
        let _ = metrics.take_lines();

        // The same batch again: all duplicates, one round trip of refused locks, no writes.
        let again = world.batch(&bodies).await;
        runner
            .run_batch(&again, &invocation("req"), &slack)
            .await
            .unwrap();
        let tally = counter.take();
        assert_eq!((tally.total(), tally.round_trips), (size, 1), "{tally:?}");
        assert_eq!(emf(&metrics)["deduped"], size as u64);
    }

    // A per-record handler: the same calls; the runner's concurrency overlaps them (how they
    // group into round trips depends on scheduling, so it is reported, not asserted).
    let bodies: Vec<String> = (0..10)
        .map(|i| envelope(&format!("evt_r{i}"), json!({})))
        .collect();
    let batch = world.batch(&bodies).await;
    counter.take();
    runner
        .run(&batch, &invocation("req"), &slack)
        .await
        .unwrap();
    let tally = counter.take();
    assert_eq!(tally.calls("UpdateItem"), 20, "{tally:?}");
    println!("per-record handler, 10 records: {tally:?}");
}

#[tokio::test]
async fn a_delivery_after_an_unknown_outcome_is_marked_possibly_twice_in_the_ledger() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics);
    let slack = world.layer().layer(Slack::default());
    let first = world
        .batch(&[
            envelope("evt_lost", json!({"unknown_first": 1})),
            envelope("evt_503", json!({"fail_first": 1})),
            envelope(
                "evt_retried_in_place",
                json!({"unknown_then_deliver": true}),
            ),
            envelope("evt_clean", json!({})),
        ])
        .await;
    let response = runner
        .run(&first, &invocation("req-1"), &slack)
        .await
        .unwrap();
    assert_eq!(failures(&response).len(), 2, "{response:?}");
    let lost = world.ledger("evt_lost").await;
    assert_eq!(lost.status, Status::Failed);
    assert_eq!((lost.unknown_outcomes, lost.possible_duplicate), (1, false));

    let second = world.settle_and_redeliver(&first, &response).await;
    let response = runner
        .run(&second, &invocation("req-2"), &slack)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");

    let marks = |e: &LedgerEntry| (e.status, e.unknown_outcomes, e.possible_duplicate);
    assert_eq!(
        marks(&world.ledger("evt_lost").await),
        (Status::Completed, 1, true),
        "delivered after a timed-out call: possibly twice"
    );
    assert_eq!(
        marks(&world.ledger("evt_retried_in_place").await),
        (Status::Completed, 1, true),
        "the in-place retry after a timed-out call counts too"
    );
    assert_eq!(
        marks(&world.ledger("evt_503").await),
        (Status::Completed, 0, false),
        "a 503 is a verdict: nothing was done, nothing is marked"
    );
    assert_eq!(
        marks(&world.ledger("evt_clean").await),
        (Status::Completed, 0, false)
    );
}

#[tokio::test]
async fn an_idempotent_destination_counts_unknown_outcomes_but_marks_nothing() {
    let world = World::new().await;
    let metrics = metrics();
    let runner = world.runner(&metrics);
    let config = IdempotencyConfig::new(&world.table).with_idempotent_destination();
    let upsert =
        IdempotencyLayer::new(world.moto.dynamodb(), &config, INTEGRATION).layer(Slack::default());
    let first = world
        .batch(&[envelope("evt_lost", json!({"unknown_first": 1}))])
        .await;
    let response = runner
        .run(&first, &invocation("req-1"), &upsert)
        .await
        .unwrap();
    let second = world.settle_and_redeliver(&first, &response).await;
    let response = runner
        .run(&second, &invocation("req-2"), &upsert)
        .await
        .unwrap();
    assert!(failures(&response).is_empty(), "{response:?}");
    let entry = world.ledger("evt_lost").await;
    assert_eq!(entry.status, Status::Completed);
    assert_eq!(entry.unknown_outcomes, 1);
    assert!(
        !entry.possible_duplicate,
        "an upsert done twice is done once"
    );
}
