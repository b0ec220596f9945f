//! CloudEvents envelope cost on the request path: a receiver wraps a ~10 KB provider body and
//! writes the queue message (with [`EventInfo::to_envelope`], as the receiver handler does); a
//! deliverer reads it back (and parses `data` into its own type).
//!
//! Run with `cargo bench -p switchyard --bench envelope`. Budget: verify + envelope < 50 µs per
//! request.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use switchyard::envelope::CloudEvent;
use switchyard::receiver::EventInfo;

/// Size the generated body reaches (just over it).
const BODY_BYTES: usize = 10 * 1024;

/// A Stripe-like `invoice.paid` webhook body, pretty-printed the way Stripe sends it, with as
/// many invoice lines as it takes to reach [`BODY_BYTES`].
fn stripe_like_body() -> Vec<u8> {
    let mut lines = String::new();
    let mut i = 0;
    loop {
        if i > 0 {
            lines.push_str(",\n");
        }
        write!(
            lines,
            r#"          {{
            "id": "il_1PqR{i:04}sTuVwXyZ",
            "object": "line_item",
            "amount": {amount},
            "amount_excluding_tax": {amount},
            "currency": "eur",
            "description": "1 × Team plan seat (at €42.00 / month)",
            "discountable": true,
            "livemode": false,
            "metadata": {{"seat": "{i}", "team": "tm_8f2c"}},
            "period": {{"end": 1717660800, "start": 1714982400}},
            "proration": false,
            "quantity": 1,
            "type": "subscription",
            "unit_amount_excluding_tax": "4200.00"
          }}"#,
            amount = 4200 + i,
        )
        .unwrap();
        i += 1;
        if lines.len() > BODY_BYTES - 1_500 {
            break;
        }
    }
    format!(
        r#"{{
  "id": "evt_1PqRsTuVwXyZaBcDeFgHiJkL",
  "object": "event",
  "api_version": "2024-06-20",
  "created": 1714982417,
  "data": {{
    "object": {{
      "id": "in_1PqRsTuVwXyZaBcD",
      "object": "invoice",
      "account_country": "DE",
      "account_name": "Example GmbH",
      "amount_due": 12600,
      "amount_paid": 12600,
      "amount_remaining": 0,
      "attempt_count": 1,
      "attempted": true,
      "billing_reason": "subscription_cycle",
      "collection_method": "charge_automatically",
      "created": 1714982400,
      "currency": "eur",
      "customer": "cus_Q1w2E3r4T5y6U7",
      "customer_email": "billing@example.com",
      "customer_name": "Jane Doe",
      "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Abc/test_YWNjdF8x",
      "lines": {{
        "object": "list",
        "data": [
{lines}
        ],
        "has_more": false,
        "total_count": {i},
        "url": "/v1/invoices/in_1PqRsTuVwXyZaBcD/lines"
      }},
      "livemode": false,
      "metadata": {{}},
      "number": "EXMPL-0042",
      "paid": true,
      "status": "paid",
      "subtotal": 12600,
      "tax": null,
      "total": 12600,
      "total_excluding_tax": 12600
    }}
  }},
  "livemode": false,
  "pending_webhooks": 1,
  "request": {{
    "id": "req_a1B2c3D4e5F6g7",
    "idempotency_key": "5f0c9a3e-8b1d-4c6e-9f2a-7d3b1e0c4a58"
  }},
  "type": "invoice.paid"
}}
"#
    )
    .into_bytes()
}

/// What a deliverer might parse out of `data` (most of the body is skipped).
#[derive(Deserialize)]
#[allow(dead_code)]
struct StripeEvent<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    ty: &'a str,
    data: StripeData<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct StripeData<'a> {
    #[serde(borrow)]
    object: Invoice<'a>,
}

#[derive(Deserialize)]
#[allow(dead_code)]
struct Invoice<'a> {
    id: &'a str,
    amount_paid: u64,
    currency: &'a str,
    customer: &'a str,
}

/// What a Stripe receiver reads out of the body: id, type, a subject and one extension.
fn event_info() -> EventInfo {
    EventInfo::new("evt_1PqRsTuVwXyZaBcDeFgHiJkL", "com.stripe.invoice.paid")
        .with_subject(Some("in_1PqRsTuVwXyZaBcD"))
        .with_extension("deliveryid", Some("evt_1PqRsTuVwXyZaBcDeFgHiJkL"))
}

/// The queue message: `new_json_bytes` + two attributes + `to_json`.
fn build(info: &EventInfo, body: &[u8]) -> String {
    info.to_envelope("/switchyard/stripe", body).unwrap()
}

fn envelope(c: &mut Criterion) {
    let body = stripe_like_body();
    assert!(body.len() >= BODY_BYTES, "body is {} bytes", body.len());
    let info = event_info();
    let message = build(&info, &body);
    // The payload travels byte for byte (bar the trailing newline, which is not part of the
    // JSON value).
    let trimmed = std::str::from_utf8(&body).unwrap().trim_end();
    assert!(message.contains(trimmed));

    let mut group = c.benchmark_group("envelope");
    group
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30)
        .throughput(Throughput::Bytes(body.len() as u64));

    group.bench_function("new_json_bytes+to_json/10KB", |b| {
        b.iter(|| build(black_box(&info), black_box(&body)))
    });
    group.bench_function("from_json/10KB", |b| {
        b.iter(|| CloudEvent::from_json(black_box(&message)).unwrap())
    });
    group.bench_function("from_json+data_as/10KB", |b| {
        b.iter(|| {
            let event = CloudEvent::from_json(black_box(&message)).unwrap();
            let parsed: StripeEvent<'_> = event.data_as().unwrap();
            black_box(parsed.data.object.amount_paid)
        })
    });
    group.finish();
}

criterion_group!(benches, envelope);
criterion_main!(benches);
