//! End to end: the real receiver binaries, driven over the Lambda Runtime API with Function URL
//! events, against moto's SQS and Secrets Manager.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use serde_json::Value;
use switchyard_e2e::function_url::{self, HttpAnswer};
use switchyard_e2e::moto::Moto;
use switchyard_e2e::providers::{self, RECEIVERS, Request};
use switchyard_e2e::runtime_api::{FunctionProcess, RuntimeApi, binary};

const TIMEOUT: Duration = Duration::from_secs(20);

/// One receiver running against its own emulator, queue and secret.
struct Rig {
    function: &'static str,
    moto: Moto,
    api: RuntimeApi,
    process: FunctionProcess,
    queue: String,
    secret: String,
}

struct Setup<'a> {
    function: &'static str,
    secret_value: Option<String>,
    env: Vec<(&'a str, String)>,
}

impl<'a> Setup<'a> {
    fn new(function: &'static str) -> Self {
        Self {
            function,
            secret_value: None,
            env: Vec::new(),
        }
    }
    fn secret_value(mut self, value: String) -> Self {
        self.secret_value = Some(value);
        self
    }
    fn env(mut self, key: &'a str, value: impl Into<String>) -> Self {
        self.env.push((key, value.into()));
        self
    }
    async fn start(self) -> Rig {
        let moto = Moto::start();
        let queue = moto.create_queue("events").await;
        let secret = providers::test_secret(self.function).to_string();
        let stored = self.secret_value.unwrap_or_else(|| secret.clone());
        moto.create_secret("signing", &stored).await;
        let api = RuntimeApi::start().await;
        let mut env = moto.env();
        env.push(("SECRET_ID".into(), "signing".into()));
        env.push(("QUEUE_URL".into(), queue.clone()));
        for (k, v) in self.env {
            env.retain(|(key, _)| key != k);
            env.push((k.to_string(), v));
        }
        let process = FunctionProcess::start(&binary(self.function), &api, &env);
        Rig {
            function: self.function,
            moto,
            api,
            process,
            queue,
            secret,
        }
    }
}

impl Rig {
    async fn start(function: &'static str) -> Rig {
        Setup::new(function).start().await
    }

    async fn send(&self, method: &str, request: &Request, base64: bool) -> HttpAnswer {
        let event = function_url::event(method, &request.header_pairs(), &request.body, base64);
        let response = self.api.invoke(&event, TIMEOUT).await.expect_response();
        function_url::answer(&response)
    }

    async fn post(&self, request: &Request) -> HttpAnswer {
        self.send("POST", request, false).await
    }

    fn signed(&self, id: &str) -> Request {
        providers::signed_sample(self.function, &self.secret, id, 0, providers::unix_now())
    }

    /// Every message on `queue` now (drains it), as parsed envelopes.
    async fn drain(&self, queue: &str) -> Vec<Value> {
        let mut all = Vec::new();
        loop {
            let batch = self.moto.receive(queue, 0).await;
            if batch.is_empty() {
                break;
            }
            for m in batch {
                all.push(serde_json::from_str(m.body().unwrap()).expect("envelope JSON"));
            }
        }
        all
    }

    /// Asserts nothing the process printed contains the signing secret.
    fn assert_secret_never_logged(&self) {
        let output = self.process.output();
        assert!(!output.is_empty(), "the function logged nothing");
        for line in &output {
            assert!(!line.contains(&self.secret), "secret in log line: {line}");
        }
    }
}

/// A valid delivery answers 200, and exactly one envelope with the provider's id and type, the
/// receiver's source and the untouched body as `data` is on the queue.
async fn valid_delivery_is_queued_once(function: &'static str) {
    let rig = Rig::start(function).await;
    let request = rig.signed("evt-0001");
    let answer = rig.post(&request).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["status"], "accepted");

    let queued = rig.drain(&rig.queue).await;
    assert_eq!(queued.len(), 1, "{queued:?}");
    let envelope = &queued[0];
    assert_eq!(envelope["specversion"], "1.0");
    assert_eq!(envelope["id"], "evt-0001");
    assert_eq!(envelope["type"], providers::expected_type(function));
    let source = match function {
        "stripe-webhook" => "stripe",
        "github-webhook" => "github",
        "slack-events" => "slack",
        "shopify-webhook" => "shopify",
        _ => "standard-webhook",
    };
    assert_eq!(envelope["source"], source);
    assert_eq!(envelope["datacontenttype"], "application/json");
    let sent: Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(
        envelope["data"], sent,
        "data must be the provider's payload"
    );
    rig.assert_secret_never_logged();
}

#[tokio::test]
async fn stripe_valid_delivery_is_queued_once() {
    valid_delivery_is_queued_once("stripe-webhook").await;
}

#[tokio::test]
async fn github_valid_delivery_is_queued_once() {
    valid_delivery_is_queued_once("github-webhook").await;
}

#[tokio::test]
async fn slack_valid_delivery_is_queued_once() {
    valid_delivery_is_queued_once("slack-events").await;
}

#[tokio::test]
async fn shopify_valid_delivery_is_queued_once() {
    valid_delivery_is_queued_once("shopify-webhook").await;
}

#[tokio::test]
async fn standard_valid_delivery_is_queued_once() {
    valid_delivery_is_queued_once("standard-webhook").await;
}

/// Every reject path answers its status and leaves the queue empty.
async fn rejects_leave_the_queue_empty(function: &'static str) {
    let rig = Setup::new(function)
        .env("MAX_BODY_BYTES", "4096")
        .start()
        .await;

    // Forged: signed with another secret.
    let forged = providers::signed_sample(
        function,
        "whsec_b3RoZXItc2VjcmV0LW90aGVyLXNlY3JldA==",
        "evt-f",
        0,
        providers::unix_now(),
    );
    let answer = rig.post(&forged).await;
    assert_eq!(answer.status, 401, "forged: {answer:?}");
    assert_eq!(
        answer.body,
        serde_json::json!({"error": "unauthorized"}),
        "401 must not say why"
    );

    // Tampered: one byte of a correctly signed body changed.
    let mut tampered = rig.signed("evt-t");
    let last = tampered
        .body
        .iter()
        .rposition(|b| b.is_ascii_digit())
        .unwrap();
    tampered.body[last] = if tampered.body[last] == b'9' {
        b'8'
    } else {
        tampered.body[last] + 1
    };
    assert_eq!(rig.post(&tampered).await.status, 401, "tampered");

    // Unsigned: no signature header at all.
    let unsigned = providers::sample(function, "evt-u", 0);
    assert_eq!(rig.post(&unsigned).await.status, 401, "unsigned");

    // Malformed JSON, correctly signed.
    let mut malformed = providers::sample(function, "evt-m", 0);
    malformed.body = b"{\"id\": \"evt-m\", \"type\": ".to_vec();
    if function == "standard-webhook" {
        malformed
            .headers
            .push(("webhook-id".into(), "evt-m".into()));
    }
    let signature =
        providers::signature_headers(function, &rig.secret, &malformed, providers::unix_now());
    malformed.headers.extend(signature);
    let answer = rig.post(&malformed).await;
    assert_eq!(answer.status, 400, "malformed: {answer:?}");

    // Too large: over MAX_BODY_BYTES (4096), correctly signed.
    let large =
        providers::signed_sample(function, &rig.secret, "evt-l", 5000, providers::unix_now());
    let answer = rig.post(&large).await;
    assert_eq!(answer.status, 413, "too large: {answer:?}");

    // Not a POST.
    let answer = rig.send("GET", &rig.signed("evt-g"), false).await;
    assert_eq!(answer.status, 405, "GET: {answer:?}");

    assert!(
        rig.drain(&rig.queue).await.is_empty(),
        "a rejected request reached the queue"
    );
    rig.assert_secret_never_logged();
}

#[tokio::test]
async fn stripe_rejects_leave_the_queue_empty() {
    rejects_leave_the_queue_empty("stripe-webhook").await;
}

#[tokio::test]
async fn github_rejects_leave_the_queue_empty() {
    rejects_leave_the_queue_empty("github-webhook").await;
}

#[tokio::test]
async fn slack_rejects_leave_the_queue_empty() {
    rejects_leave_the_queue_empty("slack-events").await;
}

#[tokio::test]
async fn shopify_rejects_leave_the_queue_empty() {
    rejects_leave_the_queue_empty("shopify-webhook").await;
}

#[tokio::test]
async fn standard_rejects_leave_the_queue_empty() {
    rejects_leave_the_queue_empty("standard-webhook").await;
}

#[tokio::test]
async fn expired_timestamps_are_refused() {
    for function in ["stripe-webhook", "slack-events", "standard-webhook"] {
        let rig = Rig::start(function).await;
        let stale = providers::signed_sample(
            function,
            &rig.secret,
            "evt-old",
            0,
            providers::unix_now() - 301,
        );
        assert_eq!(rig.post(&stale).await.status, 401, "{function}");
        assert!(rig.drain(&rig.queue).await.is_empty());
    }
}

#[tokio::test]
async fn an_sqs_failure_answers_5xx_so_the_provider_retries() {
    let rig = Setup::new("stripe-webhook")
        .env(
            "QUEUE_URL",
            "http://sqs.us-east-1.localhost/123456789012/no-such-queue",
        )
        .start()
        .await;
    let answer = rig.post(&rig.signed("evt-5xx")).await;
    assert!(answer.status >= 500, "{answer:?}");
    assert!(rig.drain(&rig.queue).await.is_empty());
}

#[tokio::test]
async fn base64_encoded_bodies_are_verified_on_their_decoded_bytes() {
    let rig = Rig::start("github-webhook").await;
    let answer = rig.send("POST", &rig.signed("d-b64"), true).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(rig.drain(&rig.queue).await.len(), 1);
}

#[tokio::test]
async fn routes_send_each_type_to_its_queues_and_ignore_the_rest() {
    // The receiver routes invoice.* to billing + archive, customer.created to archive only.
    let moto = Moto::start();
    let billing_q = moto.create_queue("billing").await;
    let archive_q = moto.create_queue("archive").await;
    let secret = providers::test_secret("standard-webhook");
    moto.create_secret("signing", secret).await;
    let api = RuntimeApi::start().await;
    let mut env = moto.env();
    env.push(("SECRET_ID".into(), "signing".into()));
    env.push(("SOURCE".into(), "acme-billing".into()));
    env.push((
        "ROUTES".into(),
        format!(
            r#"{{"invoice.*": ["{billing_q}", "{archive_q}"], "customer.created": "{archive_q}"}}"#
        ),
    ));
    let _process = FunctionProcess::start(&binary("standard-webhook"), &api, &env);

    let send = |request: Request| {
        let event = function_url::event("POST", &request.header_pairs(), &request.body, false);
        let api = &api;
        async move { function_url::answer(&api.invoke(&event, TIMEOUT).await.expect_response()) }
    };
    let invoice = providers::signed_sample(
        "standard-webhook",
        secret,
        "msg_inv",
        0,
        providers::unix_now(),
    );
    let answer = send(invoice).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["queues"], 2);

    let mut other = providers::sample("standard-webhook", "msg_other", 0);
    other.body = br#"{"type":"payout.sent","timestamp":"2026-11-21T06:00:00Z","data":{}}"#.to_vec();
    other
        .headers
        .push(("webhook-id".into(), "msg_other".into()));
    let sig =
        providers::signature_headers("standard-webhook", secret, &other, providers::unix_now());
    other.headers.extend(sig);
    let answer = send(other).await;
    assert_eq!(
        answer.status, 200,
        "an unrouted type must still be answered 200: {answer:?}"
    );
    assert_eq!(answer.body["status"], "ignored");

    for queue in [&billing_q, &archive_q] {
        let messages = moto.receive(queue, 0).await;
        assert_eq!(messages.len(), 1, "{queue}");
        let envelope: Value = serde_json::from_str(messages[0].body().unwrap()).unwrap();
        assert_eq!(envelope["id"], "msg_inv");
        assert_eq!(
            envelope["source"], "acme-billing",
            "SOURCE names the sender"
        );
    }
}

#[tokio::test]
async fn slack_url_verification_is_answered_with_its_challenge_and_not_queued() {
    let rig = Rig::start("slack-events").await;
    let mut request = providers::sample("slack-events", "unused", 0);
    request.body = br#"{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#.to_vec();
    let sig =
        providers::signature_headers("slack-events", &rig.secret, &request, providers::unix_now());
    request.headers.extend(sig);
    let answer = rig.post(&request).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    assert!(rig.drain(&rig.queue).await.is_empty());

    // The challenge is only answered after verification.
    let mut unsigned = providers::sample("slack-events", "unused", 0);
    unsigned.body = request.body.clone();
    assert_eq!(rig.post(&unsigned).await.status, 401);
}

#[tokio::test]
async fn slack_retries_are_verified_and_queued() {
    let rig = Rig::start("slack-events").await;
    let first = rig.signed("Ev0RETRY");
    let mut retry = first.clone();
    retry.headers.push(("X-Slack-Retry-Num".into(), "1".into()));
    retry
        .headers
        .push(("X-Slack-Retry-Reason".into(), "http_timeout".into()));
    assert_eq!(rig.post(&first).await.status, 200);
    assert_eq!(rig.post(&retry).await.status, 200);
    let queued = rig.drain(&rig.queue).await;
    assert_eq!(
        queued.len(),
        2,
        "retries are queued; dedup happens downstream"
    );
    assert!(queued.iter().all(|e| e["id"] == "Ev0RETRY"));
    assert!(queued.iter().any(|e| e["slackretrynum"] == "1"));
}

#[tokio::test]
async fn github_ping_is_answered_and_not_queued() {
    let rig = Rig::start("github-webhook").await;
    let mut ping = providers::sample("github-webhook", "d-ping", 0);
    for (k, v) in &mut ping.headers {
        if k == "X-GitHub-Event" {
            *v = "ping".into();
        }
    }
    ping.body = br#"{"zen":"Design for failure.","hook_id":481516}"#.to_vec();
    let sig = providers::signature_headers("github-webhook", &rig.secret, &ping, 0);
    ping.headers.extend(sig);
    let answer = rig.post(&ping).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(rig.drain(&rig.queue).await.is_empty());
}

#[tokio::test]
async fn a_previous_secret_is_accepted_during_rotation() {
    let old = providers::test_secret("stripe-webhook");
    let rig = Setup::new("stripe-webhook")
        .secret_value(format!(
            r#"{{"signing_secret": "whsec_new_secret_after_rotation", "previous_signing_secrets": ["{old}"]}}"#
        ))
        .start()
        .await;
    // Signed with the old secret (rig.secret): still accepted.
    assert_eq!(rig.post(&rig.signed("evt-old-secret")).await.status, 200);
    let new = providers::signed_sample(
        "stripe-webhook",
        "whsec_new_secret_after_rotation",
        "evt-new-secret",
        0,
        providers::unix_now(),
    );
    assert_eq!(rig.post(&new).await.status, 200);
    assert_eq!(rig.drain(&rig.queue).await.len(), 2);
    for line in rig.process.output() {
        assert!(!line.contains("whsec_new_secret_after_rotation"), "{line}");
    }
}

#[tokio::test]
async fn a_secret_rotated_after_start_is_picked_up_on_the_first_mismatch() {
    let rig = Rig::start("shopify-webhook").await;
    assert_eq!(rig.post(&rig.signed("e-before")).await.status, 200);
    rig.moto
        .put_secret("signing", "shpss_rotated_secret_value")
        .await;
    let after = providers::signed_sample(
        "shopify-webhook",
        "shpss_rotated_secret_value",
        "e-after",
        0,
        providers::unix_now(),
    );
    assert_eq!(
        rig.post(&after).await.status,
        200,
        "the receiver must re-read a rotated secret"
    );
    assert_eq!(rig.drain(&rig.queue).await.len(), 2);
}

#[tokio::test]
async fn a_receiver_without_its_secret_does_not_start() {
    for function in RECEIVERS {
        let moto = Moto::start();
        let queue = moto.create_queue("events").await;
        let api = RuntimeApi::start().await;
        let mut env = moto.env();
        env.push(("SECRET_ID".into(), "missing-secret".into()));
        env.push(("QUEUE_URL".into(), queue));
        let mut process = FunctionProcess::start(&binary(function), &api, &env);
        let exited = process.wait_exit(Duration::from_secs(10)).await;
        assert!(exited, "{function} kept running without its secret");
        assert!(
            api.first_poll().is_none(),
            "{function} polled for work without its secret"
        );
        let output = process.output().join("\n");
        assert!(
            output.contains("missing-secret"),
            "{function}: the error must name the secret id: {output}"
        );
    }
}

#[tokio::test]
async fn an_envelope_the_queue_cannot_hold_answers_413_not_a_retry() {
    let moto = Moto::start();
    let small = {
        use aws_sdk_sqs::types::QueueAttributeName;
        moto.sqs()
            .create_queue()
            .queue_name("small")
            .attributes(QueueAttributeName::MaximumMessageSize, "1024")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    };
    let secret = providers::test_secret("github-webhook");
    moto.create_secret("signing", secret).await;
    let api = RuntimeApi::start().await;
    let mut env = moto.env();
    env.push(("SECRET_ID".into(), "signing".into()));
    env.push(("QUEUE_URL".into(), small.clone()));
    let _process = FunctionProcess::start(&binary("github-webhook"), &api, &env);
    let request = providers::signed_sample("github-webhook", secret, "d-big", 2048, 0);
    let event = function_url::event("POST", &request.header_pairs(), &request.body, false);
    let answer = function_url::answer(&api.invoke(&event, TIMEOUT).await.expect_response());
    assert_eq!(answer.status, 413, "{answer:?}");
    assert_eq!(answer.body["error"], "payload too large for the queue");
    assert!(answer.body["envelope_bytes"].as_u64().unwrap() > 2048);
    assert!(moto.receive(&small, 0).await.is_empty());
}

#[tokio::test]
async fn a_standard_webhooks_secret_that_is_not_base64_fails_the_cold_start() {
    let rig = Setup::new("standard-webhook")
        .secret_value("whsec_this is not base64!".into())
        .start()
        .await;
    let mut process = rig.process;
    let exited = process.wait_exit(Duration::from_secs(10)).await;
    assert!(exited, "a receiver with an unusable secret must not start");
    let output = process.output().join("\n");
    assert!(output.contains("signing"), "names the secret id: {output}");
    assert!(
        !output.contains("this is not base64"),
        "never its content: {output}"
    );
}
