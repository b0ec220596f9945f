//! The operator CLI `switchyard` (crate `shared/cli`), run as a user runs it: the built binary,
//! against a private moto, reading what the kit's real idempotency layer and batch runner
//! wrote. `trace` (a record found by source and by scan; an event without one), `dlq` (the
//! runner's attributes, nothing consumed; queues found by flag, variable and stack naming),
//! `replay` (all, by class, by type glob, dry run; a send that fails deletes nothing), `sign`
//! (checked by the kit's verifiers; GitHub's and Shopify's requests also by their receivers,
//! which must make an event of them) and `automap` (a Stripe customer against HubSpot's
//! contact properties, loaded by the kit's mapping loader).
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sqs::types::{MessageAttributeValue, QueueAttributeName};
use serde_json::{Value, json};
use switchyard::Error;
use switchyard::batch::dead_letter::{ATTR_ATTEMPTS, ATTR_CLASS, ATTR_REASON};
use switchyard::batch::{BatchRunner, Outcome, Record, RecordHandler};
use switchyard::envelope::CloudEvent;
use switchyard::idempotency::{IdempotencyConfig, IdempotencyLayer};
use switchyard::invocation::Invocation;
use switchyard::mapping::{FieldType, Mapping, Schema};
use switchyard::receiver::{Decision, Delivery, Provider, header_map};
use switchyard::retry::RetryPolicy;
use switchyard::webhook::{FixedClock, Scheme, SecretSet, Verifier};
use switchyard_e2e::moto::Moto;
use switchyard_e2e::runtime_api::binary;
use switchyard_e2e::sqs_event::{depth, event, queue_arn, receive_n, to_record};

const FUNCTION: &str = "slack-notify";

/// Runs `switchyard args…` against `moto` (if any), with no stray configuration from the
/// environment of the test run.
fn cli(moto: Option<&Moto>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut command = Command::new(binary("switchyard"));
    command
        .args(args)
        .env_remove("IDEMPOTENCY_TABLE")
        .env_remove("SWITCHYARD_STACK")
        .env_remove("SLACK_NOTIFY_DLQ_URL")
        .env_remove("SLACK_NOTIFY_QUEUE_URL")
        .env_remove("AWS_ENDPOINT_URL");
    if let Some(moto) = moto {
        command.envs(moto.env());
    }
    command.envs(env.iter().copied());
    command.output().expect("run switchyard")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn json_out(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        stdout(output),
        stderr(output)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// A private directory for a test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("switchyard-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Messages visible in a queue right now (not held by anyone).
async fn visible(moto: &Moto, url: &str) -> usize {
    moto.sqs()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap_or_default()
        .get(&QueueAttributeName::ApproximateNumberOfMessages)
        .and_then(|v| v.parse().ok())
        .unwrap()
}

fn string_attribute(value: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .unwrap()
}

fn envelope(id: &str, event_type: &str) -> String {
    CloudEvent::new_json_bytes(id, "stripe", event_type, br#"{"customer": "cus_1"}"#)
        .unwrap()
        .to_json()
        .unwrap()
}

/// Puts a dead letter as the runner writes one: the envelope, the verdict, an original
/// attribute.
async fn dead_letter(moto: &Moto, dlq: &str, id: &str, event_type: &str, class: &str) {
    moto.sqs()
        .send_message()
        .queue_url(dlq)
        .message_body(envelope(id, event_type))
        .message_attributes(ATTR_CLASS, string_attribute(class))
        .message_attributes(ATTR_REASON, string_attribute(&format!("{class} failure")))
        .message_attributes(
            ATTR_ATTEMPTS,
            MessageAttributeValue::builder()
                .data_type("Number")
                .string_value("3")
                .build()
                .unwrap(),
        )
        .message_attributes("tenant", string_attribute("acme"))
        .send()
        .await
        .unwrap();
}

/// Plays Slack: `invoice.*` events are refused for good, others delivered as `ts-<id>`.
struct Slack;

impl RecordHandler for Slack {
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        let event = record.envelope()?;
        if event.ty().starts_with("invoice.") {
            return Err(Error::permanent("HTTP 404: channel_not_found"));
        }
        Ok(Outcome::delivered_as(format!("ts-{}", event.id())))
    }
}

/// A deliverer's world on moto: its queue, its DLQ and the ledger, and one batch of `events`
/// (id, type) run through the real runner and idempotency layer.
struct World {
    moto: Moto,
    queue: String,
    dlq: String,
    table: String,
}

impl World {
    async fn new(events: &[(&str, &str)]) -> World {
        let moto = Moto::start();
        let queue = moto.create_queue("slack-notify-queue").await;
        let dlq = moto.create_queue("slack-notify-dlq").await;
        let table = moto.create_idempotency_table("ledger").await;
        let world = World {
            moto,
            queue,
            dlq,
            table,
        };
        if !events.is_empty() {
            world.deliver(events).await;
        }
        world
    }

    async fn deliver(&self, events: &[(&str, &str)]) {
        for (id, event_type) in events {
            self.moto
                .sqs()
                .send_message()
                .queue_url(&self.queue)
                .message_body(envelope(id, event_type))
                .send()
                .await
                .unwrap();
        }
        let arn = queue_arn(&self.moto, &self.queue).await;
        let received = receive_n(&self.moto, &self.queue, events.len()).await;
        let batch = event(received.iter().map(|m| to_record(m, &arn)).collect());
        let layer = IdempotencyLayer::new(
            self.moto.dynamodb(),
            &IdempotencyConfig::new(&self.table),
            FUNCTION,
        );
        let runner = BatchRunner::new(self.moto.sqs())
            .with_retry(RetryPolicy {
                max_retries: 0,
                ..RetryPolicy::default()
            })
            .with_dead_letter_queue(&self.dlq);
        let invocation = Invocation::with_timeout("req-cli-1", Duration::from_secs(60));
        runner
            .run(&batch, &invocation, &layer.layer(Slack))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn trace_shows_what_the_idempotency_layer_recorded() {
    let world = World::new(&[("evt_ok", "customer.created"), ("evt_bad", "invoice.paid")]).await;
    let moto = Some(&world.moto);

    let ok = json_out(&cli(
        moto,
        &[],
        &[
            "trace",
            FUNCTION,
            "evt_ok",
            "--source",
            "stripe",
            "--table",
            &world.table,
            "--json",
        ],
    ));
    assert_eq!(ok.as_array().unwrap().len(), 1);
    let ok = &ok[0];
    assert_eq!(ok["status"], "COMPLETED");
    assert_eq!(ok["outcome"], "delivered");
    assert_eq!(ok["destination_id"], "ts-evt_ok");
    assert_eq!(ok["attempts"], 1);
    assert_eq!(ok["event_type"], "customer.created");
    assert_eq!(ok["request_id"], "req-cli-1");
    assert!(
        ok["message_id"].is_string() && ok["completed_at"].is_string(),
        "{ok}"
    );

    // Without --source: found by a scan; the table from IDEMPOTENCY_TABLE.
    let bad = json_out(&cli(
        moto,
        &[("IDEMPOTENCY_TABLE", &world.table)],
        &["trace", FUNCTION, "evt_bad", "--json"],
    ));
    let bad = &bad[0];
    assert_eq!(bad["status"], "FAILED");
    assert_eq!(bad["source"], "stripe");
    assert_eq!(bad["last_error_class"], "permanent");
    assert!(
        bad["last_error_reason"]
            .as_str()
            .unwrap()
            .contains("channel_not_found"),
        "{bad}"
    );

    // Text for a person.
    let text = cli(
        moto,
        &[],
        &[
            "--endpoint-url",
            &world.moto.endpoint,
            "trace",
            FUNCTION,
            "evt_bad",
            "--table",
            &world.table,
        ],
    );
    assert!(text.status.success(), "{}", stderr(&text));
    let text = stdout(&text);
    for expected in [
        "slack-notify#stripe#evt_bad",
        "FAILED",
        "permanent",
        "channel_not_found",
    ] {
        assert!(text.contains(expected), "{expected} missing from\n{text}");
    }

    // Not found: a clear message, exit 1 — by scan and by key.
    for extra in [&[][..], &["--source", "stripe"][..]] {
        let mut args = vec!["trace", FUNCTION, "evt_never", "--table", &world.table];
        args.extend_from_slice(extra);
        let missing = cli(moto, &[], &args);
        assert_eq!(missing.status.code(), Some(1));
        assert!(
            stderr(&missing).contains("no ledger record for event `evt_never`"),
            "{}",
            stderr(&missing)
        );
    }
    // Another function's records are not this one's.
    let other = cli(
        moto,
        &[],
        &[
            "trace",
            "hubspot-contacts",
            "evt_ok",
            "--table",
            &world.table,
        ],
    );
    assert_eq!(other.status.code(), Some(1));

    // No table configured: says what to pass.
    let unconfigured = cli(moto, &[], &["trace", FUNCTION, "evt_ok"]);
    assert_eq!(unconfigured.status.code(), Some(1));
    let message = stderr(&unconfigured);
    assert!(
        message.contains("--table") && message.contains("IDEMPOTENCY_TABLE"),
        "{message}"
    );
}

#[tokio::test]
async fn dlq_lists_why_each_letter_died_and_consumes_nothing() {
    let world = World::new(&[("evt_bad", "invoice.paid")]).await;
    let moto = Some(&world.moto);
    dead_letter(
        &world.moto,
        &world.dlq,
        "evt_auth",
        "customer.updated",
        "auth",
    )
    .await;
    assert_eq!(depth(&world.moto, &world.dlq).await, 2);

    let listed = json_out(&cli(
        moto,
        &[],
        &["dlq", FUNCTION, "--dlq-url", &world.dlq, "--json"],
    ));
    let messages = listed["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    let by_event = |id: &str| {
        messages
            .iter()
            .find(|m| m["event_id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed: {listed}"))
    };
    // What the real runner wrote.
    let bad = by_event("evt_bad");
    assert_eq!(bad["class"], "permanent");
    assert!(
        bad["reason"]
            .as_str()
            .unwrap()
            .contains("channel_not_found"),
        "{bad}"
    );
    assert_eq!(bad["event_type"], "invoice.paid");
    assert_eq!(bad["event_source"], "stripe");
    assert_eq!(bad["attempts"], "1");
    assert!(
        bad["source_queue"]
            .as_str()
            .unwrap()
            .ends_with("slack-notify-queue")
    );
    assert!(bad["dead_lettered_at"].is_string() && bad["first_receive_at"].is_string());
    assert_eq!(bad["receive_count"], "1");
    assert_eq!(by_event("evt_auth")["class"], "auth");

    // Nothing consumed, and all visible again at once.
    assert_eq!(visible(&world.moto, &world.dlq).await, 2);

    // The queue from the environment, text output, the limit.
    let text = cli(
        moto,
        &[("SLACK_NOTIFY_DLQ_URL", &world.dlq)],
        &["dlq", FUNCTION, "--limit", "1"],
    );
    assert!(text.status.success(), "{}", stderr(&text));
    let text = stdout(&text);
    assert!(text.starts_with("1 dead letter(s)"), "{text}");
    assert!(
        text.contains("class") && text.contains("receive count"),
        "{text}"
    );
    assert_eq!(visible(&world.moto, &world.dlq).await, 2);

    // The queue from the stack's naming, as CloudFormation names it.
    let stack_dlq = world
        .moto
        .create_queue("stk-SlackNotifyDeadLetterQueue-1A2B3C")
        .await;
    world.moto.create_queue("stk-SlackNotifyQueue-4D5E6F").await;
    dead_letter(
        &world.moto,
        &stack_dlq,
        "evt_s",
        "customer.created",
        "transient",
    )
    .await;
    let by_stack = json_out(&cli(
        moto,
        &[],
        &["dlq", FUNCTION, "--stack", "stk", "--json"],
    ));
    assert_eq!(by_stack["queue_url"], stack_dlq.as_str());
    assert_eq!(by_stack["messages"][0]["event_id"], "evt_s");

    // Nothing says where: a clear message.
    let unconfigured = cli(moto, &[], &["dlq", FUNCTION]);
    assert_eq!(unconfigured.status.code(), Some(1));
    let message = stderr(&unconfigured);
    assert!(
        message.contains("--dlq-url") && message.contains("SLACK_NOTIFY_DLQ_URL"),
        "{message}"
    );
    let no_such_stack = cli(moto, &[], &["dlq", FUNCTION, "--stack", "nope"]);
    assert_eq!(no_such_stack.status.code(), Some(1));
    assert!(stderr(&no_such_stack).contains("nope-SlackNotifyDeadLetterQueue"));
}

/// Event ids in a queue (received and released again).
async fn ids_in(moto: &Moto, url: &str) -> Vec<String> {
    let n = depth(moto, url).await;
    let messages = receive_n(moto, url, n).await;
    for m in &messages {
        moto.sqs()
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(m.receipt_handle().unwrap())
            .visibility_timeout(0)
            .send()
            .await
            .unwrap();
    }
    let mut ids: Vec<String> = messages
        .iter()
        .map(|m| {
            let body: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            body["id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn replay_moves_what_the_filters_select_and_a_dry_run_moves_nothing() {
    let world = World::new(&[]).await;
    let moto = Some(&world.moto);
    for (id, event_type, class) in [
        ("evt_p1", "customer.created", "permanent"),
        ("evt_p2", "invoice.paid", "permanent"),
        ("evt_a1", "customer.updated", "auth"),
        ("evt_t1", "invoice.payment_failed", "transient"),
        ("evt_h1", "charge.refunded", "throttled"),
    ] {
        dead_letter(&world.moto, &world.dlq, id, event_type, class).await;
    }
    let env = [
        ("SLACK_NOTIFY_DLQ_URL", world.dlq.as_str()),
        ("SLACK_NOTIFY_QUEUE_URL", world.queue.as_str()),
    ];

    // Dry run: lists, moves nothing, leaves everything visible.
    let dry = json_out(&cli(
        moto,
        &env,
        &[
            "replay",
            FUNCTION,
            "--class",
            "permanent",
            "--dry-run",
            "--json",
        ],
    ));
    let mut would: Vec<&str> = dry["moved"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["event_id"].as_str().unwrap())
        .collect();
    would.sort_unstable();
    assert_eq!(would, ["evt_p1", "evt_p2"]);
    assert_eq!(dry["not_selected"], 3);
    assert_eq!(depth(&world.moto, &world.queue).await, 0);
    assert_eq!(visible(&world.moto, &world.dlq).await, 5);

    // By class.
    let auth = cli(moto, &env, &["replay", FUNCTION, "--class", "auth"]);
    assert!(auth.status.success(), "{}", stderr(&auth));
    assert!(stdout(&auth).contains("moved 1 from"), "{}", stdout(&auth));
    assert_eq!(ids_in(&world.moto, &world.queue).await, ["evt_a1"]);
    // The original attributes travel; the verdict does not.
    let moved = world.moto.receive(&world.queue, 1).await;
    let attributes = moved[0].message_attributes().unwrap();
    assert_eq!(attributes["tenant"].string_value(), Some("acme"));
    assert!(
        attributes.keys().all(|k| !k.starts_with("switchyard.")),
        "{attributes:?}"
    );
    world
        .moto
        .sqs()
        .delete_message()
        .queue_url(&world.queue)
        .receipt_handle(moved[0].receipt_handle().unwrap())
        .send()
        .await
        .unwrap();

    // By type glob, with a limit.
    let limited = json_out(&cli(
        moto,
        &env,
        &[
            "replay",
            FUNCTION,
            "--type",
            "invoice.*",
            "--limit",
            "1",
            "--json",
        ],
    ));
    assert_eq!(limited["moved"].as_array().unwrap().len(), 1);
    let invoices = json_out(&cli(
        moto,
        &env,
        &["replay", FUNCTION, "--type", "invoice.*", "--json"],
    ));
    assert_eq!(invoices["moved"].as_array().unwrap().len(), 1);
    assert_eq!(
        ids_in(&world.moto, &world.queue).await,
        ["evt_p2", "evt_t1"]
    );
    assert_eq!(ids_in(&world.moto, &world.dlq).await, ["evt_h1", "evt_p1"]);

    // All the rest.
    let all = cli(moto, &env, &["replay", FUNCTION]);
    assert!(all.status.success(), "{}", stderr(&all));
    assert_eq!(depth(&world.moto, &world.dlq).await, 0);
    assert_eq!(
        ids_in(&world.moto, &world.queue).await,
        ["evt_h1", "evt_p1", "evt_p2", "evt_t1"]
    );
}

#[tokio::test]
async fn replay_deletes_nothing_the_queue_did_not_take() {
    let world = World::new(&[("evt_bad", "invoice.paid")]).await;
    let moto = Some(&world.moto);
    for i in 0..11 {
        dead_letter(
            &world.moto,
            &world.dlq,
            &format!("evt_{i}"),
            "customer.created",
            "permanent",
        )
        .await;
    }
    assert_eq!(depth(&world.moto, &world.dlq).await, 12);
    let missing = world.queue.replace("slack-notify-queue", "no-such-queue");
    let failed = cli(
        moto,
        &[],
        &[
            "replay",
            FUNCTION,
            "--dlq-url",
            &world.dlq,
            "--queue-url",
            &missing,
        ],
    );
    assert_eq!(failed.status.code(), Some(1), "{}", stdout(&failed));
    let out = stdout(&failed);
    assert!(out.contains("moved 0 from"), "{out}");
    assert!(out.contains("12 not sent"), "{out}");
    // Every message still there, and visible again.
    assert_eq!(visible(&world.moto, &world.dlq).await, 12);
    assert_eq!(ids_in(&world.moto, &world.dlq).await.len(), 12);
}

#[test]
fn sign_prints_headers_the_kits_verifiers_accept() {
    let dir = scratch("sign");
    let body_path = dir.join("event.json");
    let body = br#"{"id":"evt_1","object":"event","type":"customer.created"}"#;
    std::fs::write(&body_path, body).unwrap();
    let body_arg = body_path.to_str().unwrap();
    const T: i64 = 1_763_700_000;
    let cases = [
        (
            "stripe",
            Scheme::Stripe,
            "whsec_test_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH",
        ),
        ("github", Scheme::GitHub, "It's a Secret to Everybody"),
        ("slack", Scheme::Slack, "8f742231b10e8888abcd99yyyzzz85a5"),
        (
            "shopify",
            Scheme::Shopify,
            "shpss_test_1f0f8a8e2b6c4d1e9a7b3c5d",
        ),
        (
            "standard",
            Scheme::StandardWebhooks,
            "whsec_c3dpdGNoeWFyZC1zdGFuZGFyZC13ZWJob29rcy1rZXk=",
        ),
        (
            "svix",
            Scheme::StandardWebhooks,
            "whsec_c3dpdGNoeWFyZC1zdGFuZGFyZC13ZWJob29rcy1rZXk=",
        ),
    ];
    let t = T.to_string();
    for (provider, scheme, secret) in cases {
        // What the provider's receiver needs besides the signature: GitHub's event name,
        // Shopify's topic. GitHub signs no time, so it takes no --timestamp.
        let extra: &[&str] = match provider {
            "github" => &["--event", "issues", "--delivery-id", "d-cli-1"],
            "shopify" => &["--topic", "customers/create", "--timestamp", &t],
            _ => &["--timestamp", &t],
        };
        let mut args = vec![
            "sign",
            provider,
            body_arg,
            "--secret-env",
            "TEST_SIGNING_SECRET",
            "--url",
            "http://127.0.0.1:9000/",
        ];
        args.extend_from_slice(extra);
        let output = cli(None, &[("TEST_SIGNING_SECRET", secret)], &args);
        assert!(output.status.success(), "{provider}: {}", stderr(&output));
        let text = stdout(&output);
        assert!(!text.contains(secret), "{provider}: the secret is printed");
        let (headers, curl) = text
            .split_once("\n\n")
            .expect("headers, then the curl command");
        let pairs: Vec<(&str, &str)> = headers
            .lines()
            .map(|l| l.split_once(": ").expect("name: value"))
            .collect();
        let verifier =
            Verifier::new(scheme, SecretSet::new(secret)).with_clock(Arc::new(FixedClock(T)));
        verifier
            .verify(body, pairs.as_slice())
            .unwrap_or_else(|e| panic!("{provider}: {e}\n{text}"));
        let wrong = Verifier::new(scheme, SecretSet::new("whsec_b3RoZXIta2V5LW90aGVyLWtleQ=="))
            .with_clock(Arc::new(FixedClock(T)));
        assert!(wrong.verify(body, pairs.as_slice()).is_err(), "{provider}");
        assert!(
            curl.starts_with("curl -sS -X POST 'http://127.0.0.1:9000/'"),
            "{curl}"
        );
        assert!(
            curl.contains(&format!("--data-binary '@{body_arg}'")),
            "{curl}"
        );
        for (name, value) in &pairs {
            assert!(
                curl.contains(&format!("-H '{name}: {value}'")),
                "{provider}: {name} not in {curl}"
            );
        }
        // The receiver makes an event of the printed request: it carries the event's name.
        let map = header_map(pairs.as_slice()).unwrap();
        let delivery = Delivery {
            headers: &map,
            body,
        };
        let decision = match provider {
            "github" => Some(github_webhook::GitHub.describe(&delivery)),
            "shopify" => Some(shopify_webhook::Shopify.describe(&delivery)),
            _ => None,
        };
        let Some(decision) = decision else { continue };
        let Ok(Decision::Enqueue(info)) = decision else {
            panic!("{provider}: {decision:?}\n{text}")
        };
        let header = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("{provider}: no {name} in\n{text}"))
        };
        if provider == "github" {
            assert_eq!(header("x-github-event"), "issues");
            assert_eq!(header("x-github-delivery"), "d-cli-1");
            assert_eq!((info.id.as_str(), info.ty.as_str()), ("d-cli-1", "issues"));
        } else {
            assert_eq!(header("x-shopify-topic"), "customers/create");
            assert_eq!(info.ty, "customers/create");
            assert_eq!(info.id, header("x-shopify-event-id"));
            assert_eq!(info.subject.as_deref(), Some("example.myshopify.com"));
            assert_eq!(info.time.map(|t| t.unix_timestamp()), Some(T));
        }
    }

    // The reject paths: no secret, an unset variable, a missing file, an unknown provider,
    // github without its event, shopify without its topic, a flag for another provider.
    let no_secret = cli(None, &[], &["sign", "stripe", body_arg]);
    assert_eq!(no_secret.status.code(), Some(2));
    let unset = cli(
        None,
        &[],
        &[
            "sign",
            "github",
            body_arg,
            "--event",
            "push",
            "--secret-env",
            "SWITCHYARD_UNSET_VAR",
        ],
    );
    assert_eq!(unset.status.code(), Some(1));
    assert!(
        stderr(&unset).contains("SWITCHYARD_UNSET_VAR is not set"),
        "{}",
        stderr(&unset)
    );
    let no_file = cli(
        None,
        &[],
        &[
            "sign",
            "github",
            "/nonexistent/x.json",
            "--event",
            "push",
            "--secret",
            "s",
        ],
    );
    assert_eq!(no_file.status.code(), Some(1));
    assert!(stderr(&no_file).contains("could not read /nonexistent/x.json"));
    let unknown = cli(None, &[], &["sign", "paypal", body_arg, "--secret", "s"]);
    assert_eq!(unknown.status.code(), Some(2));
    for (args, says) in [
        (
            &["sign", "github", body_arg, "--secret", "s"][..],
            "github needs --event <NAME>",
        ),
        (
            &["sign", "shopify", body_arg, "--secret", "s"][..],
            "shopify needs --topic <TOPIC>",
        ),
        (
            &[
                "sign", "github", body_arg, "--secret", "s", "--event", "push", "--topic", "a/b",
            ][..],
            "--topic does not apply to github",
        ),
    ] {
        let refused = cli(None, &[], args);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(stderr(&refused).contains(says), "{}", stderr(&refused));
        assert!(stdout(&refused).is_empty(), "{args:?}: printed a request");
    }
}

/// HubSpot's contact properties, as its properties API lists them (trimmed).
fn hubspot_fields() -> Value {
    json!({"results": [
        {"name": "email", "label": "Email", "type": "string", "fieldType": "text"},
        {"name": "firstname", "label": "First Name", "type": "string", "fieldType": "text"},
        {"name": "lastname", "label": "Last Name", "type": "string", "fieldType": "text"},
        {"name": "phone", "label": "Phone Number", "type": "string", "fieldType": "phonenumber"},
        {"name": "mobilephone", "label": "Mobile Phone Number", "type": "string", "fieldType": "phonenumber"},
        {"name": "company", "label": "Company Name", "type": "string", "fieldType": "text"},
        {"name": "website", "label": "Website URL", "type": "string", "fieldType": "text"},
        {"name": "city", "label": "City", "type": "string", "fieldType": "text"},
        {"name": "zip", "label": "Postal Code", "type": "string", "fieldType": "text"},
        {"name": "jobtitle", "label": "Job Title", "type": "string", "fieldType": "text"},
    ]})
}

/// A Stripe `customer.created` event as Stripe sends it.
fn stripe_customer() -> Value {
    json!({
        "id": "evt_1QxY2Z", "object": "event", "api_version": "2024-06-20", "created": 1_763_700_000,
        "type": "customer.created", "livemode": false,
        "data": {"object": {
            "id": "cus_Q1w2E3", "object": "customer", "created": 1_763_700_000, "currency": "gbp",
            "address": {"city": "London", "country": "GB", "line1": "12 St James's Square",
                "line2": null, "postal_code": "SW1Y 4JH", "state": null},
            "description": "Analytical Engines Ltd", "email": "Ada@Example.com",
            "metadata": {"owner_email": "owner@example.com"}, "name": "Ada Lovelace",
            "phone": "+44 20 7946 0958", "preferred_locales": ["en"], "shipping": null
        }}
    })
}

#[test]
fn automap_drafts_a_loadable_mapping_from_a_stripe_customer_to_hubspot() {
    let dir = scratch("automap");
    let sample = dir.join("customer.json");
    let fields = dir.join("fields.json");
    std::fs::write(&sample, stripe_customer().to_string()).unwrap();
    std::fs::write(&fields, hubspot_fields().to_string()).unwrap();
    let output = cli(
        None,
        &[],
        &[
            "automap",
            "--source",
            sample.to_str().unwrap(),
            "--fields",
            fields.to_str().unwrap(),
            "--event-source",
            "stripe",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let mapping_text = stdout(&output);

    // It loads with the kit's loader against a schema of those fields.
    let schema = hubspot_fields()["results"]
        .as_array()
        .unwrap()
        .iter()
        .fold(Schema::new(), |s, f| {
            s.field(f["name"].as_str().unwrap(), FieldType::String)
        });
    let mapping = Mapping::load(&mapping_text, "suggested.toml", &schema)
        .unwrap_or_else(|e| panic!("{e}\n{mapping_text}"));

    // The expected matches, each with its confidence.
    for line in [
        r#"email = { path = "data.data.object.email", transforms = ["trim", "lower"] }"#,
        r#"firstname = { path = "data.data.object.name", transforms = ["trim", { split = " ", part = "first" }] }"#,
        r#"lastname = { path = "data.data.object.name", transforms = ["trim", { split = " ", part = "rest" }] }"#,
        r#"phone = { path = "data.data.object.phone", transforms = ["trim"] }"#,
        r#"city = { path = "data.data.object.address.city", transforms = ["trim"] }"#,
        r#"zip = { path = "data.data.object.address.postal_code", transforms = ["trim"] }"#,
    ] {
        assert!(
            mapping_text.contains(line),
            "missing {line}\n{mapping_text}"
        );
    }
    assert!(
        mapping_text.contains("# confidence 1.00: `email`"),
        "{mapping_text}"
    );
    assert!(
        mapping_text.contains("type = \"customer.created\""),
        "{mapping_text}"
    );
    // The unmatched, listed; none of them given a guess.
    let unmatched = mapping_text
        .split("# Unmatched destination fields")
        .nth(1)
        .expect("an unmatched list");
    for name in ["mobilephone", "company", "website", "jobtitle"] {
        assert!(
            unmatched.contains(&format!("#   {name}")),
            "{name}\n{mapping_text}"
        );
        assert!(
            !mapping_text.contains(&format!("\n{name} = ")),
            "{name}\n{mapping_text}"
        );
    }
    assert!(
        stderr(&output).contains("6 of 10 destination fields matched"),
        "{}",
        stderr(&output)
    );

    // And it maps the event it came from, as a Stripe receiver enqueues it.
    let event = CloudEvent::new_json_bytes(
        "evt_1QxY2Z",
        "stripe",
        "customer.created",
        stripe_customer().to_string().as_bytes(),
    )
    .unwrap();
    let mapped = mapping.apply(&event).unwrap().expect("the rule selects it");
    assert_eq!(mapped.get_str("email"), Some("ada@example.com"));
    assert_eq!(mapped.get_str("firstname"), Some("Ada"));
    assert_eq!(mapped.get_str("lastname"), Some("Lovelace"));
    assert_eq!(mapped.get_str("phone"), Some("+44 20 7946 0958"));

    // A field list that is not one: a clear error.
    std::fs::write(&fields, "{\"properties\": 1}").unwrap();
    let bad = cli(
        None,
        &[],
        &[
            "automap",
            "--source",
            sample.to_str().unwrap(),
            "--fields",
            fields.to_str().unwrap(),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    assert!(stderr(&bad).contains("field list"), "{}", stderr(&bad));
}
