//! The local SQS event source mapping (`switchyard-local-sqs`) against a real moto server, with
//! a stand-in for `cargo lambda watch`'s Invoke API that answers with scripted responses and
//! records every event it was given.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_lambda_events::sqs::SqsEvent;
use aws_sdk_sqs::types::QueueAttributeName;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::{Value, json};
use switchyard_e2e::moto::Moto;
use switchyard_e2e::sqs_event::{create_queue_with, depth, queue_arn, receive_n, send};
use switchyard_local_sqs::progress::{BatchReport, Progress};
use switchyard_local_sqs::{MappingConfig, RunSummary, Shutdown, prepare, run};

/// What the stand-in answers to the n-th invocation (0-based), given the event.
type Script = dyn Fn(usize, &SqsEvent) -> (u16, Value) + Send + Sync;

/// A stand-in for `cargo lambda watch`'s Invoke API.
struct InvokeApi {
    base: String,
    shared: Arc<Shared>,
}

struct Shared {
    script: Box<Script>,
    delay: Duration,
    events: Mutex<Vec<(String, SqsEvent)>>,
    in_flight: Mutex<usize>,
    max_in_flight: Mutex<usize>,
    groups_in_flight: Mutex<HashSet<String>>,
    group_overlap: Mutex<bool>,
}

async fn invoke(
    State(shared): State<Arc<Shared>>,
    Path(function): Path<String>,
    body: String,
) -> (StatusCode, String) {
    let event: SqsEvent = serde_json::from_str(&body).expect("an SqsEvent");
    let groups: Vec<String> = event
        .records
        .iter()
        .filter_map(|r| r.attributes.get("MessageGroupId").cloned())
        .collect();
    let index = {
        let mut events = shared.events.lock().unwrap();
        events.push((function, event.clone()));
        events.len() - 1
    };
    {
        let mut n = shared.in_flight.lock().unwrap();
        *n += 1;
        let mut max = shared.max_in_flight.lock().unwrap();
        *max = (*max).max(*n);
        let mut held = shared.groups_in_flight.lock().unwrap();
        for g in &groups {
            if !held.insert(g.clone()) {
                *shared.group_overlap.lock().unwrap() = true;
            }
        }
    }
    tokio::time::sleep(shared.delay).await;
    {
        *shared.in_flight.lock().unwrap() -= 1;
        let mut held = shared.groups_in_flight.lock().unwrap();
        for g in &groups {
            held.remove(g);
        }
    }
    let (status, body) = (shared.script)(index, &event);
    (StatusCode::from_u16(status).unwrap(), body.to_string())
}

impl InvokeApi {
    async fn start(
        delay: Duration,
        script: impl Fn(usize, &SqsEvent) -> (u16, Value) + Send + Sync + 'static,
    ) -> Self {
        let shared = Arc::new(Shared {
            script: Box::new(script),
            delay,
            events: Mutex::default(),
            in_flight: Mutex::default(),
            max_in_flight: Mutex::default(),
            groups_in_flight: Mutex::default(),
            group_overlap: Mutex::default(),
        });
        let app = Router::new()
            .route("/2015-03-31/functions/{function}/invocations", post(invoke))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        InvokeApi { base, shared }
    }

    fn events(&self) -> Vec<SqsEvent> {
        self.shared
            .events
            .lock()
            .unwrap()
            .iter()
            .map(|(_, e)| e.clone())
            .collect()
    }

    async fn wait_for_events(&self, n: usize) -> Vec<SqsEvent> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let events = self.events();
            if events.len() >= n {
                return events;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} invocations",
                events.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn ok(body: Value) -> (u16, Value) {
    (200, body)
}

fn function_error() -> (u16, Value) {
    (
        500,
        json!({"errorType": "&alloc::boxed::Box<dyn core::error::Error>", "errorMessage": "boom"}),
    )
}

/// A poller running in this process, with its batch reports collected.
struct Poller {
    shutdown: Shutdown,
    reports: Arc<Mutex<Vec<BatchReport>>>,
    handle: tokio::task::JoinHandle<RunSummary>,
}

impl Poller {
    async fn start(moto: &Moto, api: &InvokeApi, config: MappingConfig) -> Poller {
        let client = moto.sqs();
        let mappings = prepare(&client, vec![config]).await.expect("prepare");
        let shutdown = Shutdown::default();
        let reports: Arc<Mutex<Vec<BatchReport>>> = Arc::default();
        let sink = reports.clone();
        let progress: Progress = Arc::new(move |r| sink.lock().unwrap().push(r.clone()));
        let base = api.base.clone();
        let s = shutdown.clone();
        let handle = tokio::spawn(async move {
            run(client, &base, mappings, progress, s)
                .await
                .expect("run")
        });
        Poller {
            shutdown,
            reports,
            handle,
        }
    }

    async fn wait_for_reports(&self, n: usize) -> Vec<BatchReport> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let reports = self.reports.lock().unwrap().clone();
            if reports.len() >= n {
                return reports;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {n} batches",
                reports.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn stop(self) -> RunSummary {
        self.shutdown.stop.cancel();
        tokio::time::timeout(Duration::from_secs(30), self.handle)
            .await
            .expect("the poller stops")
            .expect("the poller does not panic")
    }
}

fn config(queue_url: &str) -> MappingConfig {
    MappingConfig {
        max_concurrency: 2,
        invocation_timeout: Duration::from_secs(10),
        ..MappingConfig::new("deliverer", queue_url)
    }
}

fn ids(event: &SqsEvent) -> Vec<String> {
    event
        .records
        .iter()
        .map(|r| r.message_id.clone().unwrap())
        .collect()
}

async fn short_visibility_queue(moto: &Moto, name: &str) -> String {
    create_queue_with(
        moto,
        name,
        &[(QueueAttributeName::VisibilityTimeout, "1".to_string())],
    )
    .await
}

#[tokio::test]
async fn batches_respect_the_batch_size_and_everything_is_delivered() {
    let moto = Moto::start();
    let url = moto.create_queue("orders").await;
    for i in 0..7 {
        send(&moto, &url, &format!("{{\"n\":{i}}}"), None).await;
    }
    let api = InvokeApi::start(Duration::ZERO, |_, _| ok(json!({"batchItemFailures": []}))).await;
    let poller = Poller::start(
        &moto,
        &api,
        MappingConfig {
            batch_size: 3,
            report_batch_item_failures: true,
            ..config(&url)
        },
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while api.events().iter().map(|e| e.records.len()).sum::<usize>() < 7 {
        assert!(Instant::now() < deadline, "not all records invoked");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let summary = poller.stop().await;
    for event in api.events() {
        assert!(
            (1..=3).contains(&event.records.len()),
            "batch of {}",
            event.records.len()
        );
    }
    assert_eq!(summary.delivered, 7);
    assert_eq!(summary.failed, 0);
    assert_eq!(depth(&moto, &url).await, 0);
}

#[tokio::test]
async fn a_batching_window_gathers_records_sent_slowly() {
    let moto = Moto::start();
    let url = moto.create_queue("slow").await;
    let api = InvokeApi::start(Duration::ZERO, |_, _| ok(Value::Null)).await;
    let poller = Poller::start(
        &moto,
        &api,
        MappingConfig {
            batch_size: 10,
            batching_window: Duration::from_secs(3),
            ..config(&url)
        },
    )
    .await;
    // Four records, 400 ms apart: all inside the 3 s window opened by the first.
    for i in 0..4 {
        send(&moto, &url, &format!("slow {i}"), None).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    let events = api.wait_for_events(1).await;
    assert_eq!(events[0].records.len(), 4, "one batch of the four records");
    let reports = poller.wait_for_reports(1).await;
    assert_eq!(reports[0].delivered, 4);
    poller.stop().await;
    assert_eq!(depth(&moto, &url).await, 0);
}

#[tokio::test]
async fn partial_failures_delete_exactly_the_others_and_the_failed_come_back() {
    let moto = Moto::start();
    let url = short_visibility_queue(&moto, "partial").await;
    let mut sent = Vec::new();
    for i in 0..4 {
        sent.push(send(&moto, &url, &format!("p{i}"), None).await);
    }
    let failed: Vec<String> = vec![sent[1].clone(), sent[3].clone()];
    let named = failed.clone();
    let api = InvokeApi::start(Duration::ZERO, move |i, _| {
        if i == 0 {
            ok(json!({"batchItemFailures": named.iter().map(|id| json!({"itemIdentifier": id})).collect::<Vec<_>>()}))
        } else {
            ok(json!({"batchItemFailures": []}))
        }
    })
    .await;
    let poller = Poller::start(
        &moto,
        &api,
        // No batching window: the four are visible together, and a window would outlast the
        // test queue's 1 s visibility timeout.
        MappingConfig {
            report_batch_item_failures: true,
            ..config(&url)
        },
    )
    .await;
    let events = api.wait_for_events(2).await;
    let first: HashSet<String> = ids(&events[0]).into_iter().collect();
    assert_eq!(
        first,
        sent.iter().cloned().collect(),
        "the four records in one batch"
    );
    let mut again = ids(&events[1]);
    again.sort();
    let mut expected = failed.clone();
    expected.sort();
    assert_eq!(again, expected, "exactly the failed records come back");
    for record in &events[1].records {
        assert_eq!(record.attributes["ApproximateReceiveCount"], "2");
    }
    let reports = poller.wait_for_reports(2).await;
    assert_eq!((reports[0].delivered, reports[0].failed), (2, 2));
    assert_eq!((reports[1].delivered, reports[1].failed), (2, 0));
    poller.stop().await;
    assert_eq!(depth(&moto, &url).await, 0);
}

#[tokio::test]
async fn an_invocation_error_deletes_nothing() {
    let moto = Moto::start();
    let url = short_visibility_queue(&moto, "erroring").await;
    for i in 0..3 {
        send(&moto, &url, &format!("e{i}"), None).await;
    }
    let api = InvokeApi::start(Duration::ZERO, |_, _| function_error()).await;
    let poller = Poller::start(
        &moto,
        &api,
        MappingConfig {
            report_batch_item_failures: true,
            ..config(&url)
        },
    )
    .await;
    let reports = poller.wait_for_reports(1).await;
    let summary = poller.stop().await;
    assert_eq!(reports[0].delivered, 0);
    assert_eq!(reports[0].failed, 3);
    assert!(
        reports[0].reason.as_deref().unwrap_or("").contains("boom"),
        "{:?}",
        reports[0].reason
    );
    assert_eq!(summary.delivered, 0);
    // All three are still there and come back with their receive count raised.
    let back = receive_n(&moto, &url, 3).await;
    for m in &back {
        let count: u32 = m.attributes.as_ref().unwrap()
            [&aws_sdk_sqs::types::MessageSystemAttributeName::ApproximateReceiveCount]
            .parse()
            .unwrap();
        assert!(count >= 2, "receive count {count}");
    }
}

#[tokio::test]
async fn records_that_keep_failing_are_redriven_to_the_dlq_by_the_queue() {
    let moto = Moto::start();
    let dlq = moto.create_queue("dead").await;
    let dlq_arn = queue_arn(&moto, &dlq).await;
    let url = create_queue_with(
        &moto,
        "redriven",
        &[
            (QueueAttributeName::VisibilityTimeout, "1".to_string()),
            (
                QueueAttributeName::RedrivePolicy,
                json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2}).to_string(),
            ),
        ],
    )
    .await;
    let id = send(&moto, &url, "poison", None).await;
    let api = InvokeApi::start(Duration::ZERO, |_, _| function_error()).await;
    let poller = Poller::start(&moto, &api, config(&url)).await;
    let dead = receive_n(&moto, &dlq, 1).await;
    assert_eq!(dead[0].message_id.as_deref(), Some(id.as_str()));
    poller.stop().await;
    assert_eq!(
        api.events().len(),
        2,
        "invoked maxReceiveCount times, then redriven"
    );
    assert_eq!(depth(&moto, &url).await, 0);
}

#[tokio::test]
async fn no_more_than_max_concurrency_batches_are_in_flight() {
    let moto = Moto::start();
    let url = moto.create_queue("busy").await;
    for i in 0..8 {
        send(&moto, &url, &format!("c{i}"), None).await;
    }
    let api = InvokeApi::start(Duration::from_millis(500), |_, _| ok(Value::Null)).await;
    let poller = Poller::start(
        &moto,
        &api,
        MappingConfig {
            batch_size: 1,
            max_concurrency: 3,
            ..config(&url)
        },
    )
    .await;
    poller.wait_for_reports(8).await;
    poller.stop().await;
    assert_eq!(*api.shared.max_in_flight.lock().unwrap(), 3);
    assert_eq!(depth(&moto, &url).await, 0);
}

#[tokio::test]
async fn fifo_groups_are_invoked_one_batch_at_a_time_in_order() {
    let moto = Moto::start();
    let url = moto.create_fifo_queue("ordered.fifo").await;
    let mut sent: HashMap<&str, Vec<String>> = HashMap::new();
    for i in 0..4 {
        for group in ["a", "b"] {
            let id = send(&moto, &url, &format!("{group}{i}"), Some(group)).await;
            sent.entry(group).or_default().push(id);
        }
    }
    let api = InvokeApi::start(Duration::from_millis(200), |_, _| ok(Value::Null)).await;
    let poller = Poller::start(
        &moto,
        &api,
        MappingConfig {
            batch_size: 1,
            max_concurrency: 4,
            ..config(&url)
        },
    )
    .await;
    poller.wait_for_reports(8).await;
    poller.stop().await;
    assert!(
        !*api.shared.group_overlap.lock().unwrap(),
        "two batches of one group in flight"
    );
    let mut seen: HashMap<String, Vec<String>> = HashMap::new();
    for event in api.events() {
        for r in &event.records {
            seen.entry(r.attributes["MessageGroupId"].clone())
                .or_default()
                .push(r.message_id.clone().unwrap());
        }
    }
    for (group, ids) in sent {
        assert_eq!(seen[group], ids, "group {group} in order");
    }
}

#[tokio::test]
async fn the_event_has_lambdas_shape() {
    let moto = Moto::start();
    let url = moto.create_queue("shape").await;
    let arn = queue_arn(&moto, &url).await;
    let id = send(&moto, &url, "{\"hello\":\"world\"}", None).await;
    let api = InvokeApi::start(Duration::ZERO, |_, _| ok(Value::Null)).await;
    let poller = Poller::start(&moto, &api, config(&url)).await;
    api.wait_for_events(1).await;
    poller.stop().await;
    let (function, event) = api.shared.events.lock().unwrap()[0].clone();
    assert_eq!(function, "deliverer");
    let json = serde_json::to_value(&event).unwrap();
    let keys = |v: &Value| -> HashSet<String> { v.as_object().unwrap().keys().cloned().collect() };
    assert_eq!(keys(&json), HashSet::from(["Records".to_string()]));
    let record = &json["Records"][0];
    // The keys of AWS's documented SQS record, plus md5OfMessageAttributes (present when the
    // message has attributes).
    let lambda: HashSet<String> = [
        "messageId",
        "receiptHandle",
        "body",
        "attributes",
        "messageAttributes",
        "md5OfBody",
        "md5OfMessageAttributes",
        "eventSource",
        "eventSourceARN",
        "awsRegion",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(keys(record), lambda);
    assert_eq!(record["messageId"], id.as_str());
    assert_eq!(record["body"], "{\"hello\":\"world\"}");
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], arn.as_str());
    assert_eq!(record["awsRegion"], "us-east-1");
    assert!(
        record["receiptHandle"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    assert!(record["md5OfBody"].as_str().is_some_and(|h| h.len() == 32));
    for attribute in [
        "ApproximateReceiveCount",
        "SentTimestamp",
        "SenderId",
        "ApproximateFirstReceiveTimestamp",
    ] {
        assert!(record["attributes"][attribute].is_string(), "{attribute}");
    }
    assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
    let tenant = &record["messageAttributes"]["tenant"];
    assert_eq!(tenant["dataType"], "String");
    assert_eq!(tenant["stringValue"], "acme");
    assert_eq!(tenant["stringListValues"], json!([]));
    assert_eq!(tenant["binaryListValues"], json!([]));
}

#[tokio::test]
async fn sigterm_stops_the_binary_after_the_batch_in_flight_and_exits_0() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let moto = Moto::start();
    let url = moto.create_queue("stopping").await;
    send(&moto, &url, "last one", None).await;
    let api = InvokeApi::start(Duration::from_secs(2), |_, _| ok(Value::Null)).await;
    let binary = switchyard_e2e::runtime_api::binary("switchyard-local-sqs");
    let mut child = Command::new(binary)
        .args([
            "--queue-url",
            &url,
            "--function-name",
            "deliverer",
            "--invoke-url",
            &api.base,
            "--invocation-timeout",
            "10",
        ])
        .env_clear()
        .envs(moto.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the poller");
    api.wait_for_events(1).await;
    // The invocation is in flight (the stand-in answers after 2 s): stop now.
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the poller did not stop"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "exit status {exit}");
    let lines: Vec<String> = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(Result::unwrap)
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("deliverer <- stopping: 1 record, 1 delivered, 0 failed")),
        "{lines:#?}"
    );
    assert!(
        lines.last().unwrap().starts_with("stopped: 1 batches"),
        "{lines:#?}"
    );
    assert_eq!(depth(&moto, &url).await, 0, "the batch in flight finished");
}
