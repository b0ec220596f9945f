//! Realistic, correctly signed webhook requests for each receiver: one source for the
//! end-to-end tests, the sample events (`switchyard-sample`), the demo and the benchmarks.

use serde_json::json;
use switchyard::webhook::{self, WebhookSecret};

/// The receiver functions, by binary name.
pub const RECEIVERS: [&str; 5] = [
    "stripe-webhook",
    "github-webhook",
    "slack-events",
    "shopify-webhook",
    "standard-webhook",
];

/// A test signing secret of the right shape for each receiver (never a real one).
pub fn test_secret(function: &str) -> &'static str {
    match function {
        "stripe-webhook" => "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH",
        "github-webhook" => "It's a Secret to Everybody",
        "slack-events" => "8f742231b10e8888abcd99yyyzzz85a5",
        "shopify-webhook" => "shpss_test_1f0f8a8e2b6c4d1e9a7b3c5d",
        // whsec_ + base64("switchyard-standard-webhooks-key")
        _ => "whsec_c3dpdGNoeWFyZC1zdGFuZGFyZC13ZWJob29rcy1rZXk=",
    }
}

/// A webhook request before signing: the provider's own headers and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Headers other than the signature.
    pub headers: Vec<(String, String)>,
    /// The raw body.
    pub body: Vec<u8>,
}

impl Request {
    /// Headers as `(&str, &str)` pairs, for building events.
    pub fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }
}

/// The envelope `type` a sample delivery of `function` must produce: an oracle written out
/// independently of the mapping code (GitHub's is the event header plus the payload's action).
pub fn expected_type(function: &str) -> &'static str {
    match function {
        "github-webhook" => "pull_request.opened",
        "slack-events" => "app_mention",
        "shopify-webhook" => "orders/create",
        _ => "invoice.paid",
    }
}

/// A realistic delivery of `function`'s provider with event id `id`, padded with filler so the
/// body is at least `min_body` bytes (0 for no padding).
pub fn sample(function: &str, id: &str, min_body: usize) -> Request {
    let mut headers: Vec<(String, String)> =
        vec![("Content-Type".into(), "application/json".into())];
    let mut h = |k: &str, v: &str| headers.push((k.to_string(), v.to_string()));
    let mut body = match function {
        "stripe-webhook" => json!({
            "id": id, "object": "event", "api_version": "2024-06-20", "created": 1_763_700_000,
            "livemode": false, "pending_webhooks": 1, "type": "invoice.paid",
            "request": {"id": null, "idempotency_key": null},
            "data": {"object": {"id": "in_1QxY2Z", "object": "invoice", "amount_paid": 2000,
                "currency": "usd", "customer": "cus_Q1w2E3", "customer_email": "ada@example.com",
                "status": "paid", "lines": {"object": "list", "data": [], "has_more": false}}}
        }),
        "github-webhook" => {
            h("X-GitHub-Event", "pull_request");
            h("X-GitHub-Delivery", id);
            h("X-GitHub-Hook-ID", "481516");
            h("User-Agent", "GitHub-Hookshot/abc1234");
            json!({
                "action": "opened", "number": 7,
                "pull_request": {"id": 1, "number": 7, "title": "Add receivers", "state": "open",
                    "user": {"login": "octocat"}},
                "repository": {"id": 42, "full_name": "acme/switchyard", "private": true},
                "sender": {"login": "octocat"}
            })
        }
        "slack-events" => json!({
            "token": "verification-token-unused", "team_id": "T0001", "api_app_id": "A0001",
            "type": "event_callback", "event_id": id, "event_time": 1_763_700_000,
            "event": {"type": "app_mention", "user": "U0001", "text": "<@U0002> deploy please",
                "ts": "1763700000.000100", "channel": "C0001"},
            "authorizations": [{"team_id": "T0001", "user_id": "U0002", "is_bot": true}]
        }),
        "shopify-webhook" => {
            h("X-Shopify-Topic", "orders/create");
            h("X-Shopify-Event-Id", id);
            h(
                "X-Shopify-Webhook-Id",
                "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
            );
            h("X-Shopify-Shop-Domain", "acme.myshopify.com");
            h("X-Shopify-Triggered-At", "2026-11-21T06:00:00.000Z");
            h("X-Shopify-API-Version", "2025-10");
            json!({
                "id": 820982911946154508u64, "email": "ada@example.com", "currency": "USD",
                "total_price": "20.00", "line_items": [{"id": 1, "title": "Widget", "quantity": 2,
                "price": "10.00"}], "customer": {"id": 115310627314723954u64, "first_name": "Ada"}
            })
        }
        _ => json!({
            "type": "invoice.paid", "timestamp": "2026-11-21T06:00:00.000Z",
            "data": {"id": "inv_1", "amount": 2000, "currency": "usd", "customer": "cus_1"}
        }),
    };
    if min_body > 0 {
        let current = body.to_string().len();
        if current < min_body {
            body["padding"] = json!("x".repeat(min_body - current));
        }
    }
    // Pretty-printed, as Stripe sends it: proves the bytes travel unchanged.
    let body = serde_json::to_vec_pretty(&body).expect("sample body");
    Request { headers, body }
}

/// The signature headers `function`'s provider would add for `body` at unix time `now`.
pub fn signature_headers(
    function: &str,
    secret: &str,
    request: &Request,
    now: i64,
) -> Vec<(String, String)> {
    let key = WebhookSecret::new(secret);
    let body = &request.body;
    let pairs = match function {
        "stripe-webhook" => webhook::stripe::signed_headers(body, &key, now),
        "github-webhook" => webhook::github::signed_headers(body, &key),
        "slack-events" => webhook::slack::signed_headers(body, &key, now),
        "shopify-webhook" => webhook::shopify::signed_headers(body, &key),
        _ => {
            let id = request
                .headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("webhook-id"))
                .map_or("msg_unknown", |(_, v)| v.as_str());
            webhook::standard::signed_headers(
                body,
                &key,
                id,
                now,
                webhook::standard::Spelling::Standard,
            )
            .expect("standard webhooks secret")
        }
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

/// A sample delivery, signed: what the provider would send right now.
pub fn signed_sample(function: &str, secret: &str, id: &str, min_body: usize, now: i64) -> Request {
    let mut request = sample(function, id, min_body);
    if function == "standard-webhook" {
        request.headers.push(("webhook-id".into(), id.into()));
    }
    let signature = signature_headers(function, secret, &request, now);
    request.headers.extend(signature);
    request
}

/// Unix seconds now.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
