//! `hubspot-contacts` end to end: envelopes on a moto queue → the real binary, run as Lambda
//! runs it (Runtime API) → the HubSpot stand-in, with the delivery ledger on moto's DynamoDB.
//!
//! Each test polls the queue as Lambda's event source mapping does (receive, invoke, delete
//! what the partial batch response does not name) and checks what a user would: the contacts
//! HubSpot holds and the calls it received, the partial batch response, the dead-letter queue
//! with its attributes, the ledger, and the function's own EMF metrics.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard::envelope::CloudEvent;
use switchyard_e2e::deliverer::DelivererRun;
use switchyard_e2e::hubspot::{self, Fault, HubSpotConfig, HubSpotStandIn, InvalidInputs, Owner};
use switchyard_e2e::sqs_event::{attribute, failures, receive_event};

const SECRET: &str = "hubspot/oauth";
/// The function on moto (`DelivererRun`) and the HubSpot stand-in it writes to.
struct Stack {
    run: DelivererRun,
    hubspot: HubSpotStandIn,
}

impl Deref for Stack {
    type Target = DelivererRun;
    fn deref(&self) -> &DelivererRun {
        &self.run
    }
}

impl DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut DelivererRun {
        &mut self.run
    }
}

impl Stack {
    async fn start(extra_env: &[(&str, &str)]) -> Stack {
        Self::start_with(HubSpotConfig::default(), oauth_secret(), extra_env).await
    }

    async fn start_with(config: HubSpotConfig, secret: Value, extra_env: &[(&str, &str)]) -> Stack {
        let hubspot = HubSpotStandIn::start_with(config).await;
        let env = [("HUBSPOT_API_BASE_URL", hubspot.base_url())];
        let run = DelivererRun::start(
            "hubspot-contacts",
            SECRET,
            &secret.to_string(),
            &env,
            extra_env,
        )
        .await;
        Stack { run, hubspot }
    }
}

fn oauth_secret() -> Value {
    json!({
        "client_id": hubspot::CLIENT_ID,
        "client_secret": hubspot::CLIENT_SECRET,
        "refresh_token": hubspot::REFRESH_TOKEN,
    })
}

fn envelope(id: &str, source: &str, ty: &str, data: Value) -> String {
    CloudEvent::new_value(id, source, ty, data)
        .unwrap()
        .to_json()
        .unwrap()
}

/// A Stripe `customer.created` event for `email`, with an owner e-mail when given.
fn stripe_customer(id: &str, email: &str, owner: Option<&str>) -> String {
    let mut customer = json!({"id": format!("cus_{id}"), "email": email,
        "name": "Ada Lovelace", "phone": "+44 20 7946 0000", "metadata": {}});
    if let Some(owner) = owner {
        customer["metadata"]["owner_email"] = json!(owner);
    }
    envelope(
        id,
        "stripe",
        "customer.created",
        json!({"id": id, "type": "customer.created", "data": {"object": customer}}),
    )
}

fn shopify_customer(id: &str, email: &str) -> String {
    envelope(
        id,
        "shopify",
        "customers/create",
        json!({"id": 706405506930370000_u64, "email": email, "first_name": "Bob",
               "last_name": "Norman", "phone": "+16136120707"}),
    )
}

#[tokio::test]
async fn a_batch_of_ten_becomes_one_upsert_with_ten_inputs() {
    let mut stack = Stack::start(&[]).await;
    let mut bodies: Vec<String> = (0..9)
        .map(|i| stripe_customer(&format!("evt_{i}"), &format!("c{i}@example.com"), None))
        .collect();
    bodies.push(shopify_customer("shop-1", "Bob@Example.com"));

    let response = stack.deliver(&bodies).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.hubspot.upsert_batch_sizes(), [10]);
    let ada = stack.hubspot.contact("c3@example.com").expect("written");
    assert_eq!(ada.properties["firstname"], "Ada");
    assert_eq!(ada.properties["lastname"], "Lovelace");
    assert_eq!(ada.properties["phone"], "+44 20 7946 0000");
    let bob = stack.hubspot.contact("bob@example.com").expect("written");
    assert_eq!(bob.properties["lastname"], "Norman");
    assert_eq!(stack.metrics()["delivered"], 10.0);

    // The ledger knows HubSpot's id for the contact each event wrote.
    let entry = stack
        .ledger()
        .get(hubspot_contacts::INTEGRATION, "stripe", "evt_3")
        .await
        .unwrap()
        .expect("a ledger entry");
    assert_eq!(entry.destination_id(), Some(ada.id.as_str()));
}

#[tokio::test]
async fn one_invalid_email_dead_letters_only_its_record() {
    for mode in [InvalidInputs::MultiStatus, InvalidInputs::WholeBatch] {
        let mut stack = Stack::start(&[]).await;
        stack.hubspot.set_invalid_inputs(mode);
        let mut bodies: Vec<String> = (0..9)
            .map(|i| stripe_customer(&format!("evt_{i}"), &format!("c{i}@example.com"), None))
            .collect();
        bodies.push(stripe_customer("evt_bad", "not-an-email", None));

        let response = stack.deliver(&bodies).await;

        assert!(failures(&response).is_empty(), "{mode:?}: {response:?}");
        assert_eq!(stack.hubspot.contacts().len(), 9, "{mode:?}");
        let metrics = stack.metrics();
        assert_eq!(metrics["delivered"], 9.0, "{mode:?}: {metrics:?}");
        assert_eq!(metrics["dead_lettered"], 1.0, "{mode:?}");
        let dead = stack.dead_letters(5).await;
        assert_eq!(dead.len(), 1);
        assert_eq!(attribute(&dead[0], "switchyard.error.class"), "permanent");
        let reason = attribute(&dead[0], "switchyard.error.reason");
        assert!(reason.contains("VALIDATION_ERROR"), "{mode:?}: {reason}");
        assert!(reason.contains("INVALID_EMAIL"), "{mode:?}: {reason}");
        assert!(!reason.contains("not-an-email"), "no input value: {reason}");
        assert!(dead[0].body().unwrap().contains("evt_bad"));
    }
}

#[tokio::test]
async fn an_expired_token_is_renewed_once_and_the_batch_succeeds() {
    let stack = Stack::start(&[]).await;
    assert_eq!(stack.hubspot.token_calls(), 1, "one token at cold start");
    stack.hubspot.expire_tokens();

    let response = stack
        .deliver(&[
            stripe_customer("evt_1", "a@example.com", None),
            stripe_customer("evt_2", "b@example.com", None),
        ])
        .await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.hubspot.token_calls(), 2, "renewed exactly once");
    assert_eq!(stack.hubspot.contacts().len(), 2);
}

#[tokio::test]
async fn a_private_app_token_works_without_the_token_endpoint() {
    let stack = Stack::start_with(
        HubSpotConfig::default(),
        json!({"access_token": hubspot::PRIVATE_APP_TOKEN}),
        &[],
    )
    .await;
    let response = stack
        .deliver(&[stripe_customer("evt_1", "a@example.com", None)])
        .await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.hubspot.token_calls(), 0);
    assert!(stack.hubspot.contact("a@example.com").is_some());
}

#[tokio::test]
async fn owners_are_looked_up_once_per_email_and_unresolved_ones_stay_unset() {
    let mut config = HubSpotConfig::default();
    config
        .owners
        .push(Owner::new("201", "twins@example.com", "Ann", "One"));
    config
        .owners
        .push(Owner::new("202", "twins@example.com", "Ann", "Two"));
    let stack = Stack::start_with(config, oauth_secret(), &[]).await;

    let response = stack
        .deliver(&[
            stripe_customer("evt_1", "a@example.com", Some("jane.doe@example.com")),
            stripe_customer("evt_2", "b@example.com", Some("Jane.Doe@example.com")),
            stripe_customer("evt_3", "c@example.com", Some("nobody@example.com")),
            stripe_customer("evt_4", "d@example.com", Some("twins@example.com")),
        ])
        .await;
    assert!(failures(&response).is_empty(), "{response:?}");
    // A later batch within the TTL asks nothing again.
    let response = stack
        .deliver(&[stripe_customer(
            "evt_5",
            "e@example.com",
            Some("jane.doe@example.com"),
        )])
        .await;
    assert!(failures(&response).is_empty(), "{response:?}");

    assert_eq!(stack.hubspot.owner_calls("jane.doe@example.com"), 1);
    for email in ["a@example.com", "b@example.com", "e@example.com"] {
        let c = stack.hubspot.contact(email).unwrap();
        assert_eq!(
            c.properties.get("hubspot_owner_id").map(String::as_str),
            Some("101")
        );
    }
    for email in ["c@example.com", "d@example.com"] {
        let c = stack
            .hubspot
            .contact(email)
            .expect("written without an owner");
        assert_eq!(c.properties.get("hubspot_owner_id"), None, "{email}");
    }
    let ledger = stack.ledger();
    let unknown = ledger
        .get(hubspot_contacts::INTEGRATION, "stripe", "evt_3")
        .await
        .unwrap()
        .unwrap();
    let note = unknown.outcome.as_ref().and_then(|o| o.note()).unwrap();
    assert!(note.contains("not found"), "{note}");
    let twins = ledger
        .get(hubspot_contacts::INTEGRATION, "stripe", "evt_4")
        .await
        .unwrap()
        .unwrap();
    let note = twins.outcome.as_ref().and_then(|o| o.note()).unwrap();
    assert!(note.contains("2 owners"), "{note}");
    assert!(!note.contains("twins@"), "{note}");
}

#[tokio::test]
async fn a_429_hands_the_batch_back_with_the_advised_delay() {
    let mut stack = Stack::start(&[]).await;
    stack.hubspot.push_fault_for(
        hubspot::Endpoint::Upsert,
        Fault::rate_limited_retry_after(120),
    );

    let response = stack
        .deliver(&[
            stripe_customer("evt_1", "a@example.com", None),
            stripe_customer("evt_2", "b@example.com", None),
        ])
        .await;

    assert_eq!(failures(&response).len(), 2, "{response:?}");
    assert_eq!(stack.metrics()["throttled"], 2.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        stack.moto.receive(&stack.url, 1).await.is_empty(),
        "the batch stays away for the advised delay"
    );
    assert!(stack.hubspot.contacts().is_empty());
}

#[tokio::test]
async fn a_run_of_server_errors_opens_the_breaker_and_later_records_fail_fast() {
    let mut stack = Stack::start(&[("CIRCUIT_BREAKER", "3 failures, open 60s")]).await;
    stack
        .hubspot
        .push_faults((0..20).map(|_| Fault::status(503)));

    // The first batch meets the 503s (retried inside the invocation) and opens the circuit.
    let response = stack
        .deliver(&[stripe_customer("evt_1", "a@example.com", None)])
        .await;
    assert_eq!(failures(&response).len(), 1);
    let calls_before = stack.hubspot.upsert_calls();
    assert!(calls_before >= 3, "{calls_before}");
    let metrics = stack.metrics();
    assert_eq!(metrics["circuit_opened"], 1.0, "{metrics:?}");

    // A later batch is handed back without a call.
    let started = Instant::now();
    let response = stack
        .deliver(&[stripe_customer("evt_2", "b@example.com", None)])
        .await;
    assert_eq!(failures(&response).len(), 1);
    assert_eq!(
        stack.hubspot.upsert_calls(),
        calls_before,
        "no call while open"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(stack.metrics()["circuit_rejected"] >= 1.0);
}

#[tokio::test]
async fn redelivered_envelopes_are_not_written_twice() {
    let mut stack = Stack::start(&[]).await;
    let body = stripe_customer("evt_1", "a@example.com", None);
    stack.deliver(std::slice::from_ref(&body)).await;
    stack.metrics();

    let response = stack.deliver(&[body.clone(), body]).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.hubspot.upsert_calls(), 1);
    assert_eq!(stack.hubspot.contact("a@example.com").unwrap().writes, 1);
    assert_eq!(stack.metrics()["deduped"], 2.0);
}

#[tokio::test]
async fn two_events_for_one_contact_in_a_batch_go_in_two_calls_in_order() {
    let stack = Stack::start(&[]).await;
    let first = stripe_customer("evt_1", "a@example.com", None);
    let second = envelope(
        "evt_2",
        "stripe",
        "customer.updated",
        json!({"data": {"object": {"email": "a@example.com", "name": "Ada King", "metadata": {}}}}),
    );
    let response = stack.deliver(&[first, second]).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.hubspot.upsert_batch_sizes(), [1, 1]);
    let c = stack.hubspot.contact("a@example.com").unwrap();
    assert_eq!(c.writes, 2);
    assert_eq!(c.properties["lastname"], "King");
}

#[tokio::test]
async fn unmapped_events_are_skipped_and_broken_json_is_dead_lettered() {
    let mut stack = Stack::start(&[]).await;
    let response = stack
        .deliver(&[
            envelope("evt_paid", "stripe", "invoice.paid", json!({})),
            r#"{"specversion":"1.0","id":"broken""#.to_string(),
        ])
        .await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.hubspot.upsert_calls(), 0);
    let metrics = stack.metrics();
    assert_eq!(metrics["skipped"], 1.0, "{metrics:?}");
    assert_eq!(metrics["dead_lettered"], 1.0);
}

#[tokio::test]
async fn a_revoked_refresh_token_hands_records_back_as_a_failure_of_the_function() {
    let mut stack = Stack::start(&[]).await;
    stack.hubspot.revoke_refresh_token();
    stack.hubspot.expire_tokens();

    let response = stack
        .deliver(&[stripe_customer("evt_1", "a@example.com", None)])
        .await;

    assert_eq!(failures(&response).len(), 1, "{response:?}");
    let metrics = stack.metrics();
    assert_eq!(metrics["function_failures"], 1.0, "{metrics:?}");
    assert_eq!(metrics["dead_lettered"], 0.0);
    assert!(stack.dead_letters(1).await.is_empty());
    assert!(stack.hubspot.contacts().is_empty());
    let output = stack.process.output().join("\n");
    assert!(
        !output.contains(hubspot::CLIENT_SECRET),
        "no secret in the logs"
    );
    assert!(
        !output.contains(hubspot::REFRESH_TOKEN),
        "no refresh token in the logs"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_waits_for_hubspots_ten_second_window() {
    let mut stack = Stack::start(&[]).await;
    stack
        .hubspot
        .push_fault_for(hubspot::Endpoint::Upsert, Fault::rate_limited());
    stack
        .send(&stripe_customer("evt_1", "a@example.com", None))
        .await;
    let event = stack.next_batch().await;

    // A 15 s invocation has no room to wait out the window (and the retry's margin) inside.
    let response = stack.invoke_within(&event, Duration::from_secs(15)).await;

    assert_eq!(failures(&response).len(), 1, "{response:?}");
    assert_eq!(stack.metrics()["throttled"], 1.0);
    let handed_back = Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        stack.moto.receive(&stack.url, 1).await.is_empty(),
        "not back before the window ends"
    );
    let event = receive_event(&stack.moto, &stack.url, &stack.arn, 15)
        .await
        .expect("back after the window");
    let waited = handed_back.elapsed();
    assert!(
        waited >= Duration::from_secs(8) && waited <= Duration::from_secs(16),
        "{waited:?}"
    );
    let response = stack.invoke(&event).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert!(stack.hubspot.contact("a@example.com").is_some());
}

#[tokio::test]
async fn a_mapping_that_requires_the_owner_fails_the_record_when_none_resolves() {
    let dir = std::env::temp_dir().join(format!("hubspot-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("owner-required.toml");
    std::fs::write(
        &file,
        r#"
[[rule]]
name = "stripe-customer-owned"
source = "stripe"
type = "customer.created"
[rule.fields]
email = { path = "data.data.object.email", required = true }
owner_email = { path = "data.data.object.metadata.owner_email" }
owner_required = { value = true }
"#,
    )
    .unwrap();
    let mut stack = Stack::start(&[("MAPPING_FILE", file.to_str().unwrap())]).await;

    let response = stack
        .deliver(&[
            stripe_customer("evt_owned", "a@example.com", Some("jane.doe@example.com")),
            stripe_customer("evt_orphan", "b@example.com", Some("nobody@example.com")),
        ])
        .await;

    assert!(failures(&response).is_empty(), "{response:?}");
    let owned = stack.hubspot.contact("a@example.com").expect("written");
    assert_eq!(
        owned.properties.get("hubspot_owner_id").map(String::as_str),
        Some("101")
    );
    assert!(
        stack.hubspot.contact("b@example.com").is_none(),
        "not written without its owner"
    );
    assert_eq!(stack.metrics()["dead_lettered"], 1.0);
    let dead = stack.dead_letters(5).await;
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "permanent");
    let reason = attribute(&dead[0], "switchyard.error.reason");
    assert!(reason.contains("owner not found"), "{reason}");
    assert!(
        !reason.contains("nobody@"),
        "no e-mail in the reason: {reason}"
    );
}
