//! Idempotency bookkeeping's CPU cost per event, network excluded: the payload hash of a
//! ~10 KB event, the key, and the two DynamoDB requests (lock, outcome) built, serialized,
//! signed (SigV4) and their answers read, through the real SDK with an in-process HTTP
//! connector that answers at once. The envelope is parsed before each measurement (its cost is
//! `benches/envelope.rs`'s `from_json`, ~13 µs), so these numbers are the layer's own.
//!
//! Run with `cargo bench -p switchyard --bench idempotency`. Budget: mapping + idempotency
//! < 50 µs per 10 KB event.
//!
//! Measured (release profile: opt-level "z" + LTO, sha2 at 3; a shared 2-core host under a
//! load of 4–7, so absolute figures move by ±30% between runs):
//!
//! | benchmark | time |
//! |---|---|
//! | `payload_hash (10 KB data)` | 8.0 µs (11.7 µs under heavier load) |
//! | `key` | 0.4–0.8 µs |
//! | `sdk: one UpdateItem, no network` | 80 µs (94 µs with every dependency at opt-level 3) |
//! | `per-record handler, per event (lock + outcome)` | 159 µs (242 µs under heavier load) |
//! | `batch handler, 10 events (per batch)` | 1.88 ms, i.e. 188 µs per event |
//!
//! So the layer's own work is ~10 µs per event and the SDK's two calls are the rest: over the
//! budget, by the SDK's per-call cost (see the module docs of `switchyard::idempotency`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use switchyard::batch::{BatchHandler, Outcome, Record, RecordHandler};
use switchyard::envelope::CloudEvent;
use switchyard::idempotency::{IdempotencyConfig, IdempotencyLayer, Idempotent, key, payload_hash};
use switchyard::invocation::Invocation;

/// Size the generated payload reaches (just over it).
const DATA_BYTES: usize = 10 * 1024;

/// A CloudEvents envelope with a Stripe-like invoice of ~10 KB as `data`.
fn envelope(id: &str) -> String {
    let mut lines = String::new();
    let mut i = 0;
    while lines.len() < DATA_BYTES {
        if i > 0 {
            lines.push(',');
        }
        write!(
            lines,
            r#"{{"id":"il_1PqR{i:04}sTuVwXyZ","object":"line_item","amount":{amount},"currency":"eur","description":"1 × Team plan seat (at €42.00 / month)","metadata":{{"seat":"{i}","team":"tm_8f2c"}},"period":{{"end":1717660800,"start":1714982400}},"quantity":1}}"#,
            amount = 4200 + i,
        )
        .unwrap();
        i += 1;
    }
    format!(
        r#"{{"specversion":"1.0","id":"{id}","source":"/switchyard/stripe","type":"com.stripe.invoice.paid","datacontenttype":"application/json","data":{{"id":"in_1PqRsTuVwXyZaBcD","object":"invoice","lines":{{"data":[{lines}]}}}}}}"#
    )
}

/// DynamoDB answering every call at once, as a taken lock and a recorded outcome.
#[derive(Debug)]
struct Instant200;

impl HttpConnector for Instant200 {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let body = r#"{"Attributes":{"attempts":{"N":"1"}}}"#;
        HttpConnectorFuture::ready(Ok(HttpResponse::new(
            StatusCode::try_from(200).unwrap(),
            SdkBody::from(body),
        )))
    }
}

fn layer() -> IdempotencyLayer {
    IdempotencyLayer::new(
        client(),
        &IdempotencyConfig::new("idempotency"),
        "slack-notify",
    )
}

/// A DynamoDB client whose every call is answered in process by [`Instant200`].
fn client() -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            None,
            None,
            "bench",
        ))
        .http_client(http_client_fn(|_, _| SharedHttpConnector::new(Instant200)))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// Delivers at once.
struct Noop;

impl RecordHandler for Noop {
    async fn handle(&self, _: &Record<'_>, _: &Invocation) -> Result<Outcome, switchyard::Error> {
        Ok(Outcome::delivered_as("1763700000.000100"))
    }
}

impl BatchHandler for Noop {
    async fn handle_batch(
        &self,
        records: &[&Record<'_>],
        _: &Invocation,
    ) -> Vec<Result<Outcome, switchyard::Error>> {
        records
            .iter()
            .map(|_| Ok(Outcome::delivered_as("1763700000.000100")))
            .collect()
    }
}

fn message(body: String, n: usize) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(format!("059f36b4-87a3-44ab-83d2-{n:012}"));
    m.body = Some(body);
    m
}

fn idempotency(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let invocation = Invocation::with_timeout("req-1", Duration::from_secs(900));
    let handler: Idempotent<Noop> = runtime.block_on(async { layer().layer(Noop) });
    let body = envelope("evt_1PqRsTuVwXyZaBcDeFgHiJkL");
    let event = CloudEvent::from_json(&body).unwrap();
    let data_len = event.data_json().unwrap().get().len() as u64;

    let mut group = c.benchmark_group("idempotency");
    group.throughput(Throughput::Bytes(data_len));
    group.bench_function("payload_hash (10 KB data)", |b| {
        b.iter(|| payload_hash(black_box(&event)))
    });
    group.bench_function("key", |b| {
        b.iter(|| {
            key(
                black_box("slack-notify"),
                black_box(event.source()),
                black_box(event.id()),
            )
        })
    });

    // The SDK's own cost for one call of the size the layer makes (the outcome's UpdateItem):
    // what the layer pays twice per event, next to its own work.
    let sdk = runtime.block_on(async { client() });
    group.throughput(Throughput::Elements(1));
    group.bench_function("sdk: one UpdateItem, no network", |b| {
        b.iter(|| {
            runtime
                .block_on(
                    sdk.update_item()
                        .table_name("idempotency")
                        .key("id", AttributeValue::S("slack-notify#/switchyard/stripe#evt_1".into()))
                        .update_expression("SET #status = :completed, #outcome = :outcome, #completed_at = :now, #updated_at = :now, #expiration = :ttl, #destination_id = :destination_id REMOVE #lock")
                        .condition_expression("#status = :in_progress AND #request_id = :request_id")
                        .expression_attribute_names("#status", "status")
                        .expression_attribute_names("#outcome", "outcome")
                        .expression_attribute_names("#completed_at", "completed_at")
                        .expression_attribute_names("#updated_at", "updated_at")
                        .expression_attribute_names("#expiration", "expiration")
                        .expression_attribute_names("#destination_id", "destination_id")
                        .expression_attribute_names("#lock", "in_progress_expiration")
                        .expression_attribute_names("#request_id", "request_id")
                        .expression_attribute_values(":completed", AttributeValue::S("COMPLETED".into()))
                        .expression_attribute_values(":in_progress", AttributeValue::S("INPROGRESS".into()))
                        .expression_attribute_values(":outcome", AttributeValue::S("delivered".into()))
                        .expression_attribute_values(":now", AttributeValue::N("1800000000000".into()))
                        .expression_attribute_values(":ttl", AttributeValue::N("1800604800".into()))
                        .expression_attribute_values(":destination_id", AttributeValue::S("1763700000.000100".into()))
                        .expression_attribute_values(":request_id", AttributeValue::S("req-1".into()))
                        .send(),
                )
                .unwrap()
        })
    });

    // One record through the layer: hash, key, lock request, inner call, outcome request.
    let messages: Vec<SqsMessage> = (0..1).map(|n| message(body.clone(), n)).collect();
    group.throughput(Throughput::Elements(1));
    group.bench_function("per-record handler, per event (lock + outcome)", |b| {
        b.iter_batched_ref(
            || {
                let record = Record::new(0, &messages[0]);
                let _ = record.envelope(); // parsed outside the measurement
                record
            },
            |record| {
                runtime
                    .block_on(handler.handle(record, &invocation))
                    .unwrap()
            },
            BatchSize::SmallInput,
        )
    });

    // A batch of ten distinct events through a batch handler.
    let batch: Vec<SqsMessage> = (0..10)
        .map(|n| message(envelope(&format!("evt_{n:04}")), n))
        .collect();
    group.throughput(Throughput::Elements(batch.len() as u64));
    group.bench_function("batch handler, 10 events (per batch)", |b| {
        b.iter_batched_ref(
            || {
                let records: Vec<Record<'_>> = batch
                    .iter()
                    .enumerate()
                    .map(|(i, m)| Record::new(i, m))
                    .collect();
                for r in &records {
                    let _ = r.envelope();
                }
                records
            },
            |records| {
                let refs: Vec<&Record<'_>> = records.iter().collect();
                let results = runtime.block_on(handler.handle_batch(&refs, &invocation));
                assert!(results.iter().all(Result::is_ok));
            },
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, idempotency);
criterion_main!(benches);
