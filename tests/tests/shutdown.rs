//! Graceful shutdown end to end: the real `slack-notify` binary, stopped with SIGTERM while a
//! batch is in flight, loses nothing and posts nothing twice.
//!
//! Slack's rate (the function's own limiter at 1/s, burst 3, and the stand-in's) makes a batch
//! of ten take about eight seconds with two records at a time. SIGTERM arrives once four
//! messages are posted: the records running then finish and are acknowledged, the ones not
//! started are named in `batchItemFailures`, the invocation is answered with its EMF line
//! written, and the process exits 0 within a few seconds. A fresh process then delivers the
//! records handed back, and Slack holds each of the ten messages exactly once.
//!
//! A receiver between requests stops at once on SIGINT (Ctrl-C), exit 0, its last request's
//! EMF line written.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use serde_json::json;
use switchyard::envelope::CloudEvent;
use switchyard_e2e::deliverer::DelivererRun;
use switchyard_e2e::function_url;
use switchyard_e2e::moto::Moto;
use switchyard_e2e::providers;
use switchyard_e2e::runtime_api::{FunctionProcess, RuntimeApi, binary};
use switchyard_e2e::slack::{self, SlackStandIn};
use switchyard_e2e::sqs_event::{depth, failures, receive_event};

const CHANNEL: &str = "C0ALERTS002";
const RECORDS: usize = 10;

/// Issue `n` opened: Slack gets "New issue in acme/api: #n Issue n (by octocat)".
fn issue(n: usize) -> String {
    CloudEvent::new_value(
        format!("gh-shutdown-{n}"),
        "github",
        "issues.opened",
        json!({"action": "opened", "repository": {"full_name": "acme/api"},
               "issue": {"number": n, "title": format!("Issue {n}"),
                         "html_url": format!("https://github.com/acme/api/issues/{n}"),
                         "user": {"login": "octocat"}}}),
    )
    .unwrap()
    .to_json()
    .unwrap()
}

fn text_of(n: usize) -> String {
    format!("New issue in acme/api: #{n} Issue {n} (by octocat)")
}

/// The issue number a record's body carries.
fn number_of(body: &str) -> usize {
    let event: serde_json::Value = serde_json::from_str(body).unwrap();
    event["data"]["issue"]["number"].as_u64().unwrap() as usize
}

/// Receives until `n` records are in one event, as the event source mapping batches them.
async fn batch_of(run: &DelivererRun, n: usize) -> SqsEvent {
    let mut event = run.next_batch().await;
    while event.records.len() < n {
        event.records.extend(run.next_batch().await.records);
    }
    event
}

/// How many times Slack received each issue's message.
fn posts_by_issue(slack: &SlackStandIn) -> BTreeMap<usize, usize> {
    let mut posts = BTreeMap::new();
    for post in slack.posted() {
        assert_eq!(post.channel, CHANNEL);
        let text = post.text.unwrap();
        let n = (1..=RECORDS)
            .find(|n| text == text_of(*n))
            .unwrap_or_else(|| panic!("unexpected message {text:?}"));
        *posts.entry(n).or_insert(0) += 1;
    }
    posts
}

#[tokio::test]
async fn sigterm_mid_batch_finishes_or_hands_back_every_record_and_exits_zero() {
    let slack = SlackStandIn::start().await;
    let secret = json!({"bot_token": slack::TOKEN}).to_string();
    let env = [
        ("SLACK_API_BASE_URL", slack.base_url.as_str()),
        ("SLACK_CHANNEL", CHANNEL),
        ("MAX_CONCURRENCY", "2"),
    ];
    let mut run = DelivererRun::start("slack-notify", "slack/bot", &secret, &env, &[]).await;
    for n in 1..=RECORDS {
        run.send(&issue(n)).await;
    }
    let event = batch_of(&run, RECORDS).await;
    let number: BTreeMap<String, usize> = event
        .records
        .iter()
        .map(|r| {
            (
                r.message_id.clone().unwrap(),
                number_of(r.body.as_deref().unwrap()),
            )
        })
        .collect();
    let pid = run.process.pid().to_string();

    // The invocation, and SIGTERM once four messages are out (about a second in).
    let signal = async {
        let until = Instant::now() + Duration::from_secs(20);
        while slack.posted().len() < 4 {
            assert!(Instant::now() < until, "the batch did not get going");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(status.success(), "kill -TERM {pid}");
        Instant::now()
    };
    let (response, signalled) = tokio::join!(run.invoke(&event), signal);

    // The process exits by itself, 0, within a few seconds of the signal.
    assert!(
        run.process.wait_exit(Duration::from_secs(8)).await,
        "still running {:?} after SIGTERM: {:#?}",
        signalled.elapsed(),
        run.process.output()
    );
    let exited = signalled.elapsed();
    let status = run.process.exit_status().unwrap();
    assert_eq!(
        status.code(),
        Some(0),
        "{status}: {:#?}",
        run.process.output()
    );
    assert!(
        exited < Duration::from_secs(6),
        "exited {exited:?} after SIGTERM"
    );

    // Every record posted exactly once and acknowledged, or handed back unposted.
    let handed_back = failures(&response);
    let posts = posts_by_issue(&slack);
    assert!(posts.values().all(|n| *n == 1), "posted twice: {posts:?}");
    for (id, n) in &number {
        let posted = posts.contains_key(n);
        let back = handed_back.contains(id);
        assert!(
            posted != back,
            "issue {n} ({id}): posted {posted}, handed back {back}"
        );
    }
    assert!(
        posts.len() >= 4 && !handed_back.is_empty(),
        "the signal came mid-batch: {} posted, {} handed back",
        posts.len(),
        handed_back.len()
    );

    eprintln!(
        "SIGTERM mid-batch: {} posted, {} handed back, exited {exited:?} after the signal",
        posts.len(),
        handed_back.len()
    );

    // The invocation's EMF line was written, and says the same.
    let metrics = run.metrics();
    assert_eq!(metrics["records"], RECORDS as f64, "{metrics:?}");
    assert_eq!(metrics["delivered"], posts.len() as f64, "{metrics:?}");
    assert_eq!(metrics["deferred"], handed_back.len() as f64, "{metrics:?}");
    let output = run.process.output();
    assert!(
        output
            .iter()
            .any(|l| l.contains("shutting down") && l.contains("SIGTERM")),
        "{output:#?}"
    );

    // Nothing lost: the records handed back are on the queue, visible at once, and a fresh
    // execution environment delivers them; Slack then has each message exactly once.
    assert_eq!(depth(&run.moto, &run.url).await, handed_back.len());
    run.restart().await;
    let again = batch_of(&run, handed_back.len()).await;
    let mut ids: Vec<String> = again
        .records
        .iter()
        .map(|r| r.message_id.clone().unwrap())
        .collect();
    ids.sort();
    let mut expected = handed_back.clone();
    expected.sort();
    assert_eq!(ids, expected);
    let response = run.invoke(&again).await;
    assert!(failures(&response).is_empty(), "{response:?}");
    let posts = posts_by_issue(&slack);
    assert_eq!(posts.len(), RECORDS, "{posts:?}");
    assert!(posts.values().all(|n| *n == 1), "posted twice: {posts:?}");
    assert!(
        receive_event(&run.moto, &run.url, &run.arn, 1)
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_receiver_between_requests_exits_zero_at_once_on_sigint() {
    let moto = Moto::start();
    let queue = moto.create_queue("events").await;
    let secret = providers::test_secret("stripe-webhook");
    moto.create_secret("signing", secret).await;
    let api = RuntimeApi::start().await;
    let mut env = moto.env();
    env.push(("SECRET_ID".into(), "signing".into()));
    env.push(("QUEUE_URL".into(), queue.clone()));
    let mut process = FunctionProcess::start(&binary("stripe-webhook"), &api, &env);
    let request = providers::signed_sample(
        "stripe-webhook",
        secret,
        "evt_shutdown",
        0,
        providers::unix_now(),
    );
    let event = function_url::event("POST", &request.header_pairs(), &request.body, false);
    let answer = api
        .invoke(&event, Duration::from_secs(30))
        .await
        .expect_response();
    assert_eq!(function_url::answer(&answer).status, 200, "{answer}");

    let status = Command::new("kill")
        .args(["-INT", &process.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        process.wait_exit(Duration::from_secs(3)).await,
        "still running: {:#?}",
        process.output()
    );
    assert_eq!(process.exit_status().unwrap().code(), Some(0));
    let output = process.output();
    assert!(
        output.iter().any(|l| l.contains("\"CloudWatchMetrics\"")),
        "the request's EMF line: {output:#?}"
    );
    assert!(
        output.iter().any(|l| l.contains("shut down gracefully")),
        "{output:#?}"
    );
    assert_eq!(
        moto.receive(&queue, 1).await.len(),
        1,
        "the event was queued"
    );
}
