//! Declarative mapping cost per event: a ~10 KB Stripe-like `invoice.payment_failed` envelope
//! through a rule with seven fields — three paths with transforms (`trim`/`lower`, `split`,
//! `money_decimal` with the currency read from the event), a `money` template, a text template
//! with `trim` and `money`, a three-block Slack `blocks` value with two templates, and a
//! default. Figures are in the `switchyard::mapping` documentation.
//!
//! Run with `cargo bench -p switchyard --bench mapping`. Budget: mapping plus idempotency
//! bookkeeping < 50 µs per 10 KB event. `apply_paths_only` is the rule's path fields alone (the
//! skipping scan of `data` and the transforms, no templates); `baseline/data_value` is what
//! parsing all of `data` into a `serde_json::Value` would cost instead of reading only what the
//! rule uses.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fmt::Write as _;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::json;
use switchyard::envelope::CloudEvent;
use switchyard::mapping::{FieldType, Mapping, Schema};

/// Size the generated body reaches (just over it).
const BODY_BYTES: usize = 10 * 1024;

const MAPPING: &str = r##"
[[rule]]
name = "invoice-paid"
source = "stripe"
type = "invoice.paid"
fields.channel = { default = "#billing" }
fields.text = { template = "Paid: {{ data.data.object.number }}" }

[[rule]]
name = "invoice-payment-failed"
source = "stripe"
type = "invoice.payment_failed"

[rule.fields]
channel = { default = "#billing" }
email = { path = "data.data.object.customer_email", required = true, transforms = ["trim", "lower"] }
first_name = { path = "data.data.object.customer_name", transforms = ["trim", { split = " ", part = "first" }], default = "there" }
amount = { path = "data.data.object.amount_due", transforms = [{ money_decimal = { path = "data.data.object.currency" } }], type = "number" }
amount_text = { template = "{{ data.data.object.amount_due | money(data.data.object.currency) }}" }
text = { template = "Payment failed for {{ data.data.object.customer_email | trim }} ({{ data.data.object.customer_name }}): {{ data.data.object.amount_due | money(data.data.object.currency) }}, attempt {{ data.data.object.attempt_count }}" }
blocks = { value = [
  { type = "header", text = { type = "plain_text", text = "Payment failed" } },
  { type = "section", text = { type = "mrkdwn", text = "*Invoice* <{{ data.data.object.hosted_invoice_url }}|{{ data.data.object.number }}>" } },
  { type = "context", elements = [{ type = "mrkdwn", text = "Stripe event {{ id }}" }] },
] }
"##;

/// The same rule's path fields alone: the skipping scan of `data` plus transforms, no
/// templates.
const PATHS_ONLY: &str = r##"
[[rule]]
name = "invoice-payment-failed"
source = "stripe"
type = "invoice.payment_failed"

[rule.fields]
channel = { default = "#billing" }
email = { path = "data.data.object.customer_email", required = true, transforms = ["trim", "lower"] }
first_name = { path = "data.data.object.customer_name", transforms = ["trim", { split = " ", part = "first" }], default = "there" }
amount = { path = "data.data.object.amount_due", transforms = [{ money_decimal = { path = "data.data.object.currency" } }], type = "number" }
"##;

fn schema() -> Schema {
    Schema::new()
        .required("channel", FieldType::String)
        .field("text", FieldType::String)
        .field("blocks", FieldType::Array)
        .field("email", FieldType::String)
        .field("first_name", FieldType::String)
        .field("amount", FieldType::Number)
        .field("amount_text", FieldType::String)
}

/// A Stripe-like `invoice.payment_failed` webhook body, pretty-printed the way Stripe sends it,
/// with as many invoice lines as it takes to reach [`BODY_BYTES`].
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
      "amount_paid": 0,
      "amount_remaining": 12600,
      "attempt_count": 2,
      "attempted": true,
      "billing_reason": "subscription_cycle",
      "collection_method": "charge_automatically",
      "created": 1714982400,
      "currency": "eur",
      "customer": "cus_Q1w2E3r4T5y6U7",
      "customer_email": " Billing@Example.com ",
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
      "paid": false,
      "status": "open",
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
  "type": "invoice.payment_failed"
}}
"#
    )
    .into_bytes()
}

fn mapping(c: &mut Criterion) {
    let body = stripe_like_body();
    assert!(body.len() >= BODY_BYTES, "body is {} bytes", body.len());
    let event = CloudEvent::new_json_bytes(
        "evt_1PqRsTuVwXyZaBcDeFgHiJkL",
        "stripe",
        "invoice.payment_failed",
        &body,
    )
    .unwrap();
    let message = event.to_json().unwrap();
    let mapping = Mapping::load(MAPPING, "mapping.toml", &schema()).unwrap();

    let mapped = mapping.apply(&event).unwrap().unwrap();
    assert_eq!(mapped.rule(), "invoice-payment-failed");
    assert_eq!(
        mapped.clone().into_value(),
        json!({
            "channel": "#billing",
            "email": "billing@example.com",
            "first_name": "Jane",
            "amount": 126.0,
            "amount_text": "126.00 EUR",
            "text": "Payment failed for Billing@Example.com (Jane Doe): 126.00 EUR, attempt 2",
            "blocks": [
                {"type": "header", "text": {"type": "plain_text", "text": "Payment failed"}},
                {"type": "section", "text": {"type": "mrkdwn",
                    "text": "*Invoice* <https://invoice.stripe.com/i/acct_1Abc/test_YWNjdF8x|EXMPL-0042>"}},
                {"type": "context", "elements": [{"type": "mrkdwn",
                    "text": "Stripe event evt_1PqRsTuVwXyZaBcDeFgHiJkL"}]}
            ]
        })
    );

    let mut group = c.benchmark_group("mapping");
    group
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(30)
        .throughput(Throughput::Bytes(body.len() as u64));

    group.bench_function("apply/10KB", |b| {
        b.iter(|| mapping.apply(black_box(&event)).unwrap())
    });
    let paths_only = Mapping::load(PATHS_ONLY, "paths.toml", &schema()).unwrap();
    assert_eq!(paths_only.apply(&event).unwrap().unwrap().fields().len(), 4);
    group.bench_function("apply_paths_only/10KB", |b| {
        b.iter(|| paths_only.apply(black_box(&event)).unwrap())
    });
    group.bench_function("from_json+apply/10KB", |b| {
        b.iter(|| {
            let event = CloudEvent::from_json(black_box(&message)).unwrap();
            mapping.apply(&event).unwrap()
        })
    });
    group.bench_function("baseline/data_value/10KB", |b| {
        b.iter(|| black_box(&event).data_value().unwrap())
    });
    group.finish();
}

criterion_group!(benches, mapping);
criterion_main!(benches);
