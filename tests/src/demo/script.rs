//! The demo's script: the webhooks it sends, as their providers would send them, and what must
//! become of each.

use serde_json::{Value, json};

use crate::providers::{self, Request};

/// What must become of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Delivered once to the destination.
    Delivered,
    /// Delivered once, some answered 429 first and retried (checked over its group: which
    /// ones meet the limit depends on timing).
    DeliveredThroughRateLimit,
    /// A copy of an event already delivered: acknowledged without a call.
    Deduped,
    /// Refused by the receiver with this status; nothing queued.
    RejectedAtDoor(u16),
    /// Dead-lettered with this class, the reason containing this text.
    DeadLettered {
        /// The error class.
        class: &'static str,
        /// Part of the reason.
        reason: &'static str,
    },
    /// Dead-lettered (this class and reason), then replayed with the CLI once the cause is
    /// fixed, and delivered once; the ledger shows both attempts.
    Replayed {
        /// The class it was dead-lettered with.
        class: &'static str,
        /// Part of the reason.
        reason: &'static str,
    },
}

/// One scripted delivery.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// A short label for the report.
    pub label: String,
    /// The receiver it is sent to.
    pub receiver: &'static str,
    /// The envelope's `source` the receiver gives it.
    pub source: &'static str,
    /// The event's id (the envelope's `id`).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// The deliverer its type is routed to (by the template's default routes).
    pub deliverer: Option<&'static str>,
    /// The request, signed.
    pub request: Request,
    /// What must become of it.
    pub expect: Expect,
    /// Text that identifies what it makes at the destination (a Slack message's text, a
    /// contact's e-mail).
    pub marker: String,
}

/// The contact that goes through.
pub const CONTACT_EMAIL: &str = "ada.lovelace@example.com";
/// The contact HubSpot refuses (not an e-mail address).
pub const BAD_EMAIL: &str = "grace.hopper(at)example.com";
/// How many issues the burst opens.
pub const BURST: usize = 6;

fn stripe(id: &str, event_type: &str, object: Value, now: i64) -> Value {
    json!({
        "id": id, "object": "event", "api_version": "2024-06-20", "created": now,
        "livemode": false, "pending_webhooks": 1, "type": event_type,
        "request": {"id": null, "idempotency_key": null},
        "data": {"object": object}
    })
}

fn signed(
    receiver: &str,
    secret: &str,
    headers: Vec<(String, String)>,
    body: &Value,
    now: i64,
) -> Request {
    let mut request = Request {
        headers,
        body: serde_json::to_vec_pretty(body).unwrap_or_default(),
    };
    let signature = providers::signature_headers(receiver, secret, &request, now);
    request.headers.extend(signature);
    request
}

fn json_headers() -> Vec<(String, String)> {
    vec![("Content-Type".into(), "application/json".into())]
}

fn github_headers(event: &str, delivery: &str) -> Vec<(String, String)> {
    let mut headers = json_headers();
    headers.push(("User-Agent".into(), "GitHub-Hookshot/demo".into()));
    headers.push(("X-GitHub-Event".into(), event.into()));
    headers.push(("X-GitHub-Delivery".into(), delivery.into()));
    headers.push(("X-GitHub-Hook-ID".into(), "481516".into()));
    headers
}

/// A Stripe `customer.created` for `email`.
fn customer(id: &str, customer: &str, email: &str, name: &str, now: i64) -> Value {
    stripe(
        id,
        "customer.created",
        json!({"id": customer, "object": "customer", "email": email, "name": name,
               "phone": "+44 20 7946 0958", "metadata": {"owner_email": "jane.doe@example.com"}}),
        now,
    )
}

/// The failed invoice (sent twice: the second time as Stripe's retry), created at `created`
/// and signed at `now`.
pub fn invoice(created: i64, now: i64) -> Delivery {
    let body = stripe(
        "evt_demo_invoice_failed",
        "invoice.payment_failed",
        json!({"id": "in_demo_0001", "object": "invoice", "number": "DEMO-0001",
               "amount_due": 4900, "currency": "usd", "customer": "cus_demo_ada",
               "customer_email": CONTACT_EMAIL, "attempt_count": 2,
               "hosted_invoice_url": "https://invoice.stripe.com/i/demo_0001"}),
        created,
    );
    let secret = providers::test_secret("stripe-webhook");
    Delivery {
        label: "failed invoice DEMO-0001".into(),
        receiver: "stripe-webhook",
        source: "stripe",
        event_id: "evt_demo_invoice_failed".into(),
        event_type: "invoice.payment_failed".into(),
        deliverer: Some("slack-notify"),
        request: signed("stripe-webhook", secret, json_headers(), &body, now),
        expect: Expect::Delivered,
        marker: "invoice DEMO-0001".into(),
    }
}

/// A GitHub `issues` `opened` delivery.
fn issue(number: u32, title: &str, delivery_id: &str, now: i64) -> Delivery {
    let body = json!({
        "action": "opened",
        "issue": {"id": 9000 + number, "number": number, "title": title, "state": "open",
                  "html_url": format!("https://github.com/acme/switchyard/issues/{number}"),
                  "user": {"login": "octocat"}},
        "repository": {"id": 42, "full_name": "acme/switchyard", "private": true},
        "sender": {"login": "octocat"}
    });
    let secret = providers::test_secret("github-webhook");
    Delivery {
        label: format!("issue #{number} opened"),
        receiver: "github-webhook",
        source: "github",
        event_id: delivery_id.into(),
        event_type: "issues.opened".into(),
        deliverer: Some("slack-notify"),
        request: signed(
            "github-webhook",
            secret,
            github_headers("issues", delivery_id),
            &body,
            now,
        ),
        expect: Expect::Delivered,
        marker: format!("#{number} {title}"),
    }
}

/// The first wave: what a quiet afternoon brings, and a burst.
pub fn first_wave(now: i64) -> Vec<Delivery> {
    let stripe_secret = providers::test_secret("stripe-webhook");
    let mut wave = vec![Delivery {
        label: "new customer Ada Lovelace".into(),
        receiver: "stripe-webhook",
        source: "stripe",
        event_id: "evt_demo_customer_ada".into(),
        event_type: "customer.created".into(),
        deliverer: Some("hubspot-contacts"),
        request: signed(
            "stripe-webhook",
            stripe_secret,
            json_headers(),
            &customer(
                "evt_demo_customer_ada",
                "cus_demo_ada",
                CONTACT_EMAIL,
                "Ada King Lovelace",
                now,
            ),
            now,
        ),
        expect: Expect::Delivered,
        marker: CONTACT_EMAIL.into(),
    }];
    wave.push(Delivery {
        label: "new customer, e-mail mistyped".into(),
        receiver: "stripe-webhook",
        source: "stripe",
        event_id: "evt_demo_customer_grace".into(),
        event_type: "customer.created".into(),
        deliverer: Some("hubspot-contacts"),
        request: signed(
            "stripe-webhook",
            stripe_secret,
            json_headers(),
            &customer(
                "evt_demo_customer_grace",
                "cus_demo_grace",
                BAD_EMAIL,
                "Grace Hopper",
                now,
            ),
            now,
        ),
        expect: Expect::DeadLettered {
            class: "permanent",
            reason: "INVALID_EMAIL",
        },
        marker: BAD_EMAIL.into(),
    });
    wave.push(invoice(now, now));
    wave.push(issue(
        42,
        "Checkout fails for EU cards",
        "5e0c7c10-0000-4000-8000-000000000042",
        now,
    ));
    // Signed with a secret that is not the endpoint's: someone guessing the URL.
    let forged_body = stripe(
        "evt_demo_forged",
        "invoice.payment_failed",
        json!({"id": "in_forged", "object": "invoice", "amount_due": 100000, "currency": "usd"}),
        now,
    );
    wave.push(Delivery {
        label: "forged signature".into(),
        receiver: "stripe-webhook",
        source: "stripe",
        event_id: "evt_demo_forged".into(),
        event_type: "invoice.payment_failed".into(),
        deliverer: None,
        request: signed(
            "stripe-webhook",
            "whsec_not_the_endpoint_secret_0000000000",
            json_headers(),
            &forged_body,
            now,
        ),
        expect: Expect::RejectedAtDoor(401),
        marker: String::new(),
    });
    for i in 0..BURST {
        let number = 100 + i as u32;
        let mut delivery = issue(
            number,
            &format!("Flaky test in shard {}", i + 1),
            &format!("5e0c7c10-0000-4000-8000-000000000{number}"),
            now,
        );
        delivery.label = format!("burst: issue #{number} opened");
        delivery.expect = Expect::DeliveredThroughRateLimit;
        wave.push(delivery);
    }
    wave
}

/// Stripe's retry of the failed invoice: the same event — the same bytes, created when the
/// first wave was — signed again at `now`.
pub fn redelivery(created: i64, now: i64) -> Delivery {
    let mut delivery = invoice(created, now);
    delivery.label = "failed invoice DEMO-0001, sent again".into();
    delivery.expect = Expect::Deduped;
    delivery
}

/// A pull request opened while the bot is out of the channel.
pub fn pull_request(now: i64) -> Delivery {
    let delivery_id = "5e0c7c10-0000-4000-8000-000000000077";
    let body = json!({
        "action": "opened", "number": 77,
        "pull_request": {"id": 77, "number": 77, "title": "Retry failed payments", "state": "open",
            "html_url": "https://github.com/acme/switchyard/pull/77",
            "user": {"login": "hubot"}, "base": {"ref": "main"}},
        "repository": {"id": 42, "full_name": "acme/switchyard", "private": true},
        "sender": {"login": "hubot"}
    });
    let secret = providers::test_secret("github-webhook");
    Delivery {
        label: "pull request #77 opened".into(),
        receiver: "github-webhook",
        source: "github",
        event_id: delivery_id.into(),
        event_type: "pull_request.opened".into(),
        deliverer: Some("slack-notify"),
        request: signed(
            "github-webhook",
            secret,
            github_headers("pull_request", delivery_id),
            &body,
            now,
        ),
        expect: Expect::Replayed {
            class: "permanent",
            reason: "channel_not_found",
        },
        marker: "#77 Retry failed payments".into(),
    }
}
