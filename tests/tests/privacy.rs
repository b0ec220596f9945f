//! No customer data in logs or dead-letter attributes.
//!
//! A record that cannot be delivered ends in the dead-letter queue with the reason and in the
//! logs with the same reason. Those reasons are built from errors — serde's messages, HTTP error
//! bodies — that can quote the payload: a CRM's 400 echoes the e-mail it refused. This test runs
//! the runner on such records, captures every log line (JSON, at DEBUG) and every dead-letter
//! attribute, and fails if a payload value appears in any of them. The dead-letter *body* is the
//! original message, kept on purpose so the record can be replayed.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use switchyard::Error;
use switchyard::batch::{BatchRunner, Outcome, Record, RecordHandler};
use switchyard::envelope::CloudEvent;
use switchyard::http::{Destination, HttpClient};
use switchyard::invocation::Invocation;
use switchyard::retry::RetryPolicy;
use switchyard::telemetry::LogFormat;
use switchyard_e2e::destination::{self, Mode};
use switchyard_e2e::moto::Moto;
use switchyard_e2e::sqs_event::{event, queue_arn, receive_n, to_record};

const EMAIL: &str = "jane.doe@example.com";
const PHONE: &str = "+1-555-0100";

/// Log lines, captured in memory.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Parses the envelope and posts it; a 400 from the destination is permanent.
struct Poster {
    http: HttpClient,
    destination: Destination,
}

impl RecordHandler for Poster {
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        let event = record.envelope()?;
        let _: serde_json::Value = serde_json::from_str(event.data_json().unwrap().get())?;
        let request = self
            .http
            .request(reqwest::Method::POST, &self.destination, "deliver")?
            .body(record.body().to_string());
        self.http
            .send_body(&self.destination, request, None)
            .await?;
        Ok(Outcome::delivered())
    }
}

#[tokio::test]
async fn no_payload_value_reaches_a_log_line_or_a_dead_letter_attribute() {
    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = switchyard::telemetry::logging::subscriber(
        LogFormat::Json,
        "debug"
            .parse::<tracing_subscriber::filter::Targets>()
            .unwrap(),
        move || sink.clone(),
    );
    let _guard = tracing::subscriber::set_default(subscriber);

    let moto = Moto::start();
    let url = moto.create_queue("source").await;
    let dlq = moto.create_queue("dlq").await;
    let arn = queue_arn(&moto, &url).await;
    let stand_in = destination::Destination::start(Mode::EchoBadRequest).await;

    let contact = serde_json::json!({"email": EMAIL, "phone": PHONE, "name": "Jane Doe"});
    let valid = CloudEvent::new_value("evt_1", "stripe", "customer.created", &contact)
        .unwrap()
        .to_json()
        .unwrap();
    let bodies = [
        // Not JSON at all, cut in the middle of a value.
        format!(
            r#"{{"specversion":"1.0","id":"evt_2","data":{{"email":"{EMAIL}","phone":"{PHONE}"#
        ),
        // JSON, but a value of the wrong type where an envelope attribute must be a string.
        format!(
            r#"{{"specversion":"1.0","id":{{"email":"{EMAIL}"}},"source":"{PHONE}","type":"x"}}"#
        ),
        // A valid envelope the destination refuses with a 400 that echoes it.
        valid,
    ];
    for body in &bodies {
        moto.sqs()
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let received = receive_n(&moto, &url, bodies.len()).await;
    let batch = event(received.iter().map(|m| to_record(m, &arn)).collect());
    let runner = BatchRunner::new(moto.sqs())
        .with_dead_letter_queue(&dlq)
        .with_retry(RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        });
    let handler = Poster {
        http: HttpClient::new("privacy-test").unwrap(),
        destination: Destination::new("crm", &stand_in.url).unwrap(),
    };

    let response = runner
        .run(&batch, &Invocation::unbounded("r"), &handler)
        .await
        .unwrap();
    assert!(response.batch_item_failures.is_empty(), "{response:?}");
    assert_eq!(
        stand_in.calls(),
        1,
        "the valid envelope was sent and refused"
    );

    let dead = receive_n(&moto, &dlq, bodies.len()).await;
    let mut reasons = Vec::new();
    for message in &dead {
        let attributes = message.message_attributes.as_ref().unwrap();
        assert_eq!(
            attributes["switchyard.error.class"].string_value(),
            Some("permanent")
        );
        for (name, value) in attributes {
            let text = value.string_value().unwrap_or_default();
            for secret in [EMAIL, PHONE, "Jane Doe"] {
                assert!(
                    !text.contains(secret),
                    "dead-letter attribute {name} quotes `{secret}`: {text}"
                );
            }
        }
        reasons.push(
            attributes["switchyard.error.reason"]
                .string_value()
                .unwrap()
                .to_string(),
        );
    }
    // The reasons still say what went wrong.
    reasons.sort();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("400") && r.contains("VALIDATION_ERROR")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("`id`")), "{reasons:?}");

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(logs.lines().count() >= 6, "logs were captured: {logs}");
    for secret in [EMAIL, PHONE, "Jane Doe"] {
        let leaked: Vec<&str> = logs.lines().filter(|l| l.contains(secret)).collect();
        assert!(leaked.is_empty(), "log lines quote `{secret}`: {leaked:#?}");
    }
}
