//! `slack-notify` end to end: envelopes on a moto queue → the real binary, run as Lambda runs
//! it (Runtime API) → the Slack stand-in, with the delivery ledger on moto's DynamoDB.
//!
//! Each test polls the queue as Lambda's event source mapping does (receive, invoke, delete
//! what the partial batch response does not name) and checks what a user would: the messages
//! Slack received, the partial batch response, the dead-letter queue with its attributes, the
//! ledger, and the function's own EMF metrics.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchyard::envelope::CloudEvent;
use switchyard_e2e::deliverer::{DelivererRun, TABLE};
use switchyard_e2e::moto::Moto;
use switchyard_e2e::runtime_api::{FunctionProcess, RuntimeApi, binary};
use switchyard_e2e::slack::{self, Fault, SlackStandIn};
use switchyard_e2e::sqs_event::{attribute, depth, failures, receive_event};

const CHANNEL: &str = "C0ALERTS002";
const SECRET: &str = "slack/bot";

/// The function on moto (`DelivererRun`) and the Slack stand-in it posts to.
struct Stack {
    run: DelivererRun,
    slack: SlackStandIn,
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
        let slack = SlackStandIn::start().await;
        let secret = json!({"bot_token": slack::TOKEN}).to_string();
        let env = [
            ("SLACK_API_BASE_URL", slack.base_url.as_str()),
            ("SLACK_CHANNEL", CHANNEL),
        ];
        let run = DelivererRun::start("slack-notify", SECRET, &secret, &env, extra_env).await;
        Stack { run, slack }
    }
}

fn envelope(id: &str, source: &str, ty: &str, data: Value) -> String {
    CloudEvent::new_value(id, source, ty, data)
        .unwrap()
        .to_json()
        .unwrap()
}

fn stripe_invoice_failed(id: &str) -> String {
    envelope(
        id,
        "stripe",
        "invoice.payment_failed",
        json!({"id": id, "type": "invoice.payment_failed", "data": {"object": {
            "id": "in_1", "number": "A-0042", "customer_email": "ada@example.com",
            "amount_due": 2500, "currency": "usd",
            "hosted_invoice_url": "https://invoice.stripe.com/i/in_1"}}}),
    )
}

fn github_issue(id: &str) -> String {
    envelope(
        id,
        "github",
        "issues.opened",
        json!({"action": "opened", "repository": {"full_name": "acme/api"},
               "issue": {"number": 7, "title": "It crashes",
                         "html_url": "https://github.com/acme/api/issues/7",
                         "user": {"login": "octocat"}}}),
    )
}

fn github_pull_request(id: &str) -> String {
    envelope(
        id,
        "github",
        "pull_request.opened",
        json!({"action": "opened", "repository": {"full_name": "acme/api"},
               "pull_request": {"number": 8, "title": "Fix the crash",
                                "html_url": "https://github.com/acme/api/pull/8",
                                "user": {"login": "hubot"}, "base": {"ref": "main"}}}),
    )
}

fn alarm(id: &str) -> String {
    envelope(
        id,
        "aws.cloudwatch",
        "alarm.state_change",
        json!({"alarmName": "slack-notify-dead-letters",
               "state": {"value": "ALARM", "reason": "Threshold Crossed: 1 datapoint [2.0] was greater than 0.0"},
               "previousState": {"value": "OK"}}),
    )
}

#[tokio::test]
async fn documented_events_become_exactly_the_expected_messages() {
    let mut stack = Stack::start(&[]).await;
    let bodies = [
        stripe_invoice_failed("evt_stripe_1"),
        github_issue("gh-delivery-1"),
        github_pull_request("gh-delivery-2"),
        alarm("cw-1"),
        envelope(
            "evt_paid",
            "stripe",
            "invoice.paid",
            json!({"id": "evt_paid"}),
        ),
        r#"{"specversion":"1.0","id":"broken","source":"stripe","type":"#.to_string(),
    ];

    let response = stack.deliver(&bodies).await;

    assert!(failures(&response).is_empty(), "{response:?}");
    let mut texts: Vec<String> = stack
        .slack
        .posted()
        .iter()
        .map(|p| {
            assert_eq!(p.channel, CHANNEL);
            assert!(p.blocks.is_some(), "every message has blocks");
            p.text.clone().unwrap()
        })
        .collect();
    texts.sort();
    assert_eq!(
        texts,
        [
            "New issue in acme/api: #7 It crashes (by octocat)",
            "New pull request in acme/api: #8 Fix the crash (by hubot)",
            "Payment failed: 25.00 USD for ada@example.com (invoice A-0042)",
            "slack-notify-dead-letters is ALARM: Threshold Crossed: 1 datapoint [2.0] was greater than 0.0",
        ]
    );
    let metrics = stack.metrics();
    assert_eq!(metrics["delivered"], 4.0, "{metrics:?}");
    assert_eq!(metrics["skipped"], 1.0, "the unmapped invoice.paid");
    assert_eq!(metrics["dead_lettered"], 1.0, "the broken JSON");

    let dead = stack.dead_letters(5).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "permanent");
    assert!(attribute(&dead[0], "switchyard.error.reason").contains("envelope"));

    // The ledger knows what became of the Stripe event: Slack's ts of the message.
    let entry = stack
        .ledger()
        .get(slack_notify::INTEGRATION, "stripe", "evt_stripe_1")
        .await
        .unwrap()
        .expect("a ledger entry");
    let stripe_ts = stack
        .slack
        .posted()
        .into_iter()
        .find(|p| {
            p.text
                .as_deref()
                .is_some_and(|t| t.starts_with("Payment failed"))
        })
        .unwrap()
        .ts;
    assert_eq!(entry.destination_id(), Some(stripe_ts.as_str()));
    assert_eq!(entry.attempts, 1);
}

#[tokio::test]
async fn the_same_envelope_in_a_later_batch_posts_nothing_and_counts_deduped() {
    let mut stack = Stack::start(&[]).await;
    let body = github_issue("gh-delivery-9");
    stack.deliver(std::slice::from_ref(&body)).await;
    assert_eq!(stack.slack.posted().len(), 1);
    stack.metrics();

    let response = stack.deliver(std::slice::from_ref(&body)).await;

    assert!(failures(&response).is_empty());
    assert_eq!(stack.slack.posted().len(), 1, "no second post");
    let metrics = stack.metrics();
    assert_eq!(metrics["deduped"], 1.0, "{metrics:?}");
    assert_eq!(metrics["delivered"], 0.0);
}

#[tokio::test]
async fn each_slack_failure_class_ends_as_documented() {
    let mut stack = Stack::start(&[]).await;

    // Permanent: dead-lettered with Slack's code, not handed back.
    stack.slack.push_fault(Fault::error("channel_not_found"));
    let response = stack.deliver(&[github_issue("perm")]).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    let dead = stack.dead_letters(5).await;
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "permanent");
    assert!(
        attribute(&dead[0], "switchyard.error.reason").contains("channel_not_found"),
        "{}",
        attribute(&dead[0], "switchyard.error.reason")
    );
    stack.metrics();

    // Throttled past what is worth waiting for in the invocation: handed back, invisible for
    // the Retry-After.
    stack.slack.push_fault(Fault::status_retry_after(429, 120));
    let response = stack.deliver(&[github_issue("throttled")]).await;
    assert_eq!(failures(&response).len(), 1);
    assert_eq!(stack.metrics()["throttled"], 1.0);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        stack.moto.receive(&stack.url, 1).await.is_empty(),
        "the throttled record stays away for its Retry-After"
    );

    // Transient once: retried inside the invocation and delivered.
    stack.slack.push_fault(Fault::error("internal_error"));
    let response = stack.deliver(&[github_issue("transient-once")]).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(
        stack.slack.posted().len(),
        1,
        "delivered on the retry inside the invocation"
    );
    stack.metrics();

    // Transient on every try: handed back after the retries inside the invocation.
    stack.slack.push_faults((0..4).map(|_| Fault::status(503)));
    let response = stack.deliver(&[github_issue("transient-always")]).await;
    assert_eq!(failures(&response).len(), 1, "{response:?}");
    let metrics = stack.metrics();
    assert_eq!(metrics["retried"], 1.0, "{metrics:?}");
    assert_eq!(metrics["dead_lettered"], 0.0);
    assert_eq!(stack.slack.pending_faults(), 0, "1 try + 3 retries");
}

#[tokio::test]
async fn a_fatal_error_after_posting_is_retried_and_the_repeat_marked_possibly_twice() {
    let mut stack = Stack::start(&[]).await;
    let marks = |entry: switchyard::idempotency::LedgerEntry| {
        (
            entry.attempts,
            entry.unknown_outcomes,
            entry.possible_duplicate,
        )
    };

    // Slack posted, then answered `fatal_error` ("may have partly succeeded"): retried in the
    // invocation, posted again, and the ledger says it may have been twice.
    stack
        .slack
        .push_fault(Fault::PostThenError("fatal_error".into()));
    let response = stack.deliver(&[github_issue("fatal")]).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    let posted = stack.slack.posted();
    assert_eq!(posted.len(), 2, "Slack has no idempotency key");
    assert!(posted[0].answer_lost && !posted[1].answer_lost);
    let ledger = stack.ledger();
    let fatal = ledger
        .get(slack_notify::INTEGRATION, "github", "fatal")
        .await;
    // Two attempts (Slack's error answers are retried by the runner, which takes the lock
    // again); the first one's unknown outcome is carried to the second.
    assert_eq!(marks(fatal.unwrap().expect("an entry")), (2, 1, true));

    // `internal_error` is a verdict that nothing was posted: retried, not marked.
    stack.slack.push_fault(Fault::error("internal_error"));
    let response = stack.deliver(&[github_issue("internal")]).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.slack.posted().len(), 3);
    let internal = ledger
        .get(slack_notify::INTEGRATION, "github", "internal")
        .await;
    assert_eq!(marks(internal.unwrap().expect("an entry")), (2, 0, false));
    stack.metrics();
}

#[tokio::test]
async fn a_refused_token_is_re_read_once_and_a_rotated_token_heals_at_once() {
    let mut stack = Stack::start(&[]).await;

    // Slack has a new token; the function still holds the old one in its cache.
    stack.slack.rotate_token("xoxb-rotated");
    stack
        .moto
        .put_secret(SECRET, &json!({"bot_token": "xoxb-rotated"}).to_string())
        .await;
    let response = stack.deliver(&[github_issue("after-rotation")]).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.slack.posted().len(), 1);
    stack.metrics();

    // A token Slack refuses, also after the re-read: a failure of the function, handed back
    // on the long end of the schedule, nothing dead-lettered.
    stack.slack.set_token_valid(false);
    let response = stack.deliver(&[github_issue("refused")]).await;
    assert_eq!(failures(&response).len(), 1);
    let metrics = stack.metrics();
    assert_eq!(metrics["function_failures"], 1.0, "{metrics:?}");
    assert!(stack.dead_letters(1).await.is_empty());
}

#[tokio::test]
async fn auth_is_dead_lettered_only_when_the_retry_period_runs_out() {
    let stack = Stack::start(&[("RETRY_PERIOD", "4s"), ("FUNCTION_FAILURE_DELAY", "1s")]).await;
    stack.slack.set_token_valid(false);
    stack.send(&github_issue("never")).await;

    let started = Instant::now();
    let dead = loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not dead-lettered"
        );
        let dead = stack.dead_letters(0).await;
        if !dead.is_empty() {
            break dead;
        }
        if let Some(event) = receive_event(&stack.moto, &stack.url, &stack.arn, 1).await {
            stack.invoke(&event).await;
        }
    };
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "auth");
    let reason = attribute(&dead[0], "switchyard.error.reason");
    assert!(reason.contains("retry period"), "{reason}");
    assert!(reason.contains("invalid_auth"), "{reason}");
    assert!(stack.slack.posted().is_empty());
    assert_eq!(depth(&stack.moto, &stack.url).await, 0);
}

#[tokio::test]
async fn a_mapping_error_at_cold_start_names_the_file_and_the_rule() {
    let dir = std::env::temp_dir().join(format!("slack-notify-mapping-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.toml");
    std::fs::write(
        &file,
        r#"
[[rule]]
name = "shout"
source = "github"
type = "issues.opened"
[rule.fields]
text = { path = "data.issue.title", transforms = ["scream"] }
"#,
    )
    .unwrap();
    let moto = Moto::start();
    let api = RuntimeApi::start().await;
    let mut env = moto.env();
    for (k, v) in [
        ("SECRET_ID", SECRET),
        ("SLACK_CHANNEL", CHANNEL),
        ("IDEMPOTENCY_TABLE", TABLE),
        ("MAPPING_FILE", file.to_str().unwrap()),
    ] {
        env.push((k.into(), v.into()));
    }
    let mut process = FunctionProcess::start(&binary("slack-notify"), &api, &env);

    assert!(
        process.wait_exit(Duration::from_secs(30)).await,
        "the function must not start"
    );
    let output = process.output().join("\n");
    assert!(output.contains("broken.toml"), "{output}");
    assert!(output.contains("shout"), "{output}");
    assert!(output.contains("scream"), "{output}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The operator's loop (README, "Operating it"): a record dead-lettered because of a problem
/// at the destination is replayed with the `switchyard` CLI once the problem is fixed, is
/// delivered once, and `switchyard trace` shows both attempts.
#[tokio::test]
async fn a_dead_letter_replayed_with_the_cli_is_delivered_once_and_traced() {
    let mut stack = Stack::start(&[]).await;
    // Slack does not know the channel yet (the bot was not invited): permanent, dead-lettered.
    stack.slack.push_fault(Fault::error("channel_not_found"));
    let response = stack.deliver(&[github_issue("gh-replay-1")]).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.metrics()["dead_lettered"], 1.0);
    assert_eq!(depth(&stack.moto, &stack.dlq).await, 1);

    let cli = |args: &[&str]| {
        let output = std::process::Command::new(binary("switchyard"))
            .args(args)
            .env_remove("IDEMPOTENCY_TABLE")
            .env_remove("AWS_ENDPOINT_URL")
            .envs(stack.moto.env())
            .output()
            .expect("run switchyard");
        assert!(
            output.status.success(),
            "switchyard {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    // Listing shows the class and reason and consumes nothing.
    let listed = cli(&["dlq", "slack-notify", "--dlq-url", &stack.dlq]);
    assert!(listed.contains("permanent"), "{listed}");
    assert!(listed.contains("channel_not_found"), "{listed}");

    // The channel is fixed (the stand-in now accepts the post); replay, then deliver.
    let replayed = cli(&[
        "replay",
        "slack-notify",
        "--dlq-url",
        &stack.dlq,
        "--queue-url",
        &stack.url,
        "--class",
        "permanent",
    ]);
    assert!(replayed.contains('1'), "{replayed}");
    assert_eq!(depth(&stack.moto, &stack.dlq).await, 0);
    let event = stack.next_batch().await;
    let response = stack.invoke(&event).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    assert_eq!(stack.slack.posted().len(), 1, "delivered once");

    let trace = cli(&[
        "trace",
        "slack-notify",
        "gh-replay-1",
        "--source",
        "github",
        "--table",
        TABLE,
        "--json",
    ]);
    let record: Value = serde_json::from_str(&trace).expect("trace --json is JSON");
    let text = record.to_string();
    assert!(text.contains("\"attempts\":2"), "{text}");
    assert!(text.contains("delivered"), "{text}");
    assert!(
        text.contains("channel_not_found"),
        "the last error is kept: {text}"
    );
}
