//! The redelivery schedule end to end: a real queue (moto), a real HTTP destination that can be
//! switched off, the runner in a loop that polls and acknowledges as Lambda's event source
//! mapping does.
//!
//! These are the failures a deliverer meets in production: a destination down for a while, a
//! destination down for good, a secret that is missing until someone fixes it. The schedules
//! are compressed (seconds instead of hours) so the tests run in under a minute; the logic is
//! the one that runs with the default schedule.
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::QueueAttributeName;
use switchyard::Error;
use switchyard::batch::{BatchRunner, Outcome, Record, RecordHandler, RedeliverySchedule};
use switchyard::envelope::CloudEvent;
use switchyard::http::{Destination, HttpClient};
use switchyard::invocation::Invocation;
use switchyard::retry::{Backoff, RetryPolicy};
use switchyard::secrets::Secrets;
use switchyard::telemetry::metrics::Metrics;
use switchyard_e2e::destination::{self, Mode};
use switchyard_e2e::moto::Moto;
use switchyard_e2e::sqs_event::{
    acknowledge, attribute, create_queue_with, depth, queue_arn, receive_event,
};

/// Posts each record's envelope to the destination, with a bearer token from Secrets Manager
/// when it has one; errors classify themselves (503 transient, 401 auth, missing secret auth).
struct Poster {
    http: HttpClient,
    destination: Destination,
    secrets: Option<Secrets>,
}

impl RecordHandler for Poster {
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        let event = record.envelope()?;
        let mut request = self
            .http
            .request(reqwest::Method::POST, &self.destination, "deliver")?
            .body(record.body().to_string());
        if let Some(secrets) = &self.secrets {
            let token = secrets.get("app/token").await?;
            request = request.bearer_auth(token.expose());
        }
        self.http
            .send_body(&self.destination, request, None)
            .await?;
        Ok(Outcome::delivered_as(event.id()))
    }
}

struct Pipeline {
    moto: Moto,
    url: String,
    arn: String,
    dlq: String,
    destination: destination::Destination,
}

impl Pipeline {
    /// A source queue whose redrive policy is only a backstop (10 receives, above every
    /// schedule's attempts here), its dead-letter queue, and a destination in `mode`.
    async fn start(mode: Mode) -> Pipeline {
        let moto = Moto::start();
        let dlq = moto.create_queue("dlq").await;
        let dlq_arn = queue_arn(&moto, &dlq).await;
        let redrive = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "10"});
        let url = create_queue_with(
            &moto,
            "source",
            &[
                (QueueAttributeName::RedrivePolicy, redrive.to_string()),
                (QueueAttributeName::VisibilityTimeout, "30".into()),
            ],
        )
        .await;
        let arn = queue_arn(&moto, &url).await;
        let destination = destination::Destination::start(mode).await;
        Pipeline {
            moto,
            url,
            arn,
            dlq,
            destination,
        }
    }

    /// Sends `n` envelopes; returns their event ids.
    async fn send_events(&self, n: usize) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for i in 0..n {
            let id = format!("evt_{i:03}");
            let body = CloudEvent::new_value(
                id.clone(),
                "test",
                "test.event",
                serde_json::json!({"n": i}),
            )
            .unwrap()
            .to_json()
            .unwrap();
            self.moto
                .sqs()
                .send_message()
                .queue_url(&self.url)
                .message_body(body)
                .send()
                .await
                .unwrap();
            ids.insert(id);
        }
        ids
    }

    fn poster(&self, secrets: bool) -> Poster {
        Poster {
            http: HttpClient::new("redelivery-test").unwrap(),
            destination: Destination::new("stand-in", &self.destination.url).unwrap(),
            secrets: secrets.then(|| Secrets::new(self.moto.secrets_manager())),
        }
    }

    /// Polls, runs and acknowledges like Lambda's event source mapping until `done` or
    /// `limit` passes (then panics with `what`).
    async fn pump(
        &self,
        runner: &BatchRunner,
        handler: &impl RecordHandler,
        limit: Duration,
        what: &str,
        mut done: impl AsyncFnMut() -> bool,
    ) {
        let started = Instant::now();
        let mut invocations = 0;
        while !done().await {
            assert!(
                started.elapsed() < limit,
                "{what}: not done after {limit:?} ({invocations} invocations, delivered {:?})",
                self.destination.delivered().len()
            );
            let Some(event) = receive_event(&self.moto, &self.url, &self.arn, 1).await else {
                continue;
            };
            invocations += 1;
            let invocation =
                Invocation::with_timeout(format!("req-{invocations}"), Duration::from_secs(10));
            let response = runner.run(&event, &invocation, handler).await.unwrap();
            acknowledge(&self.moto, &self.url, &event, &response).await;
        }
    }

    fn delivered_ids(&self) -> Vec<String> {
        self.destination
            .delivered()
            .iter()
            .map(|body| CloudEvent::from_json(body).unwrap().id().to_string())
            .collect()
    }
}

/// A runner with a compressed schedule: 1, 2, 4, 8 s between receives (then 8 s), and short
/// retries inside the invocation.
fn runner(moto: &Moto, dlq: &str, schedule: RedeliverySchedule) -> BatchRunner {
    BatchRunner::new(moto.sqs())
        .with_dead_letter_queue(dlq)
        .with_schedule(schedule)
        .with_retry(RetryPolicy {
            backoff: Backoff {
                base: Duration::from_millis(50),
                max: Duration::from_millis(100),
            },
            max_retries: 1,
            max_wait: Duration::from_secs(1),
            deadline_margin: Duration::ZERO,
        })
}

fn secs(list: &[u64]) -> Vec<Duration> {
    list.iter().copied().map(Duration::from_secs).collect()
}

#[tokio::test]
async fn a_thirty_second_outage_dead_letters_nothing_and_delivers_everything_once_it_ends() {
    let pipeline = Pipeline::start(Mode::Down(503)).await;
    // Nine attempts spread over more than the outage: 1, 2, 4 s, then every 8 s. (Nine
    // attempts a second apart, or the old five receives of the redrive policy, would have
    // dead-lettered every record long before the destination came back.)
    let schedule =
        RedeliverySchedule::new(secs(&[1, 2, 4, 8]), Duration::from_secs(600), 9).unwrap();
    let runner = runner(&pipeline.moto, &pipeline.dlq, schedule);
    let handler = pipeline.poster(false);
    let sent = pipeline.send_events(20).await;

    let outage = Instant::now();
    let ended = tokio::spawn({
        let url = pipeline.destination.url.clone();
        async move {
            tokio::time::sleep(Duration::from_secs(30)).await;
            url
        }
    });
    // Until the outage ends nothing can be delivered; run the pipeline through it.
    pipeline
        .pump(
            &runner,
            &handler,
            Duration::from_secs(40),
            "outage",
            async || outage.elapsed() >= Duration::from_secs(30),
        )
        .await;
    ended.await.unwrap();
    let calls_during_outage = pipeline.destination.calls();
    assert!(
        calls_during_outage >= 40,
        "the records were tried during the outage: {calls_during_outage} calls"
    );
    assert!(pipeline.destination.delivered().is_empty());
    assert!(
        pipeline.moto.receive(&pipeline.dlq, 0).await.is_empty(),
        "nothing dead-lettered during the outage"
    );

    pipeline.destination.set_mode(Mode::Up);
    pipeline
        .pump(
            &runner,
            &handler,
            Duration::from_secs(40),
            "recovery",
            async || pipeline.destination.delivered().len() >= 20,
        )
        .await;

    let delivered = pipeline.delivered_ids();
    assert_eq!(delivered.len(), 20, "each event delivered exactly once");
    assert_eq!(delivered.into_iter().collect::<BTreeSet<_>>(), sent);
    assert!(pipeline.moto.receive(&pipeline.dlq, 0).await.is_empty());
    assert_eq!(
        depth(&pipeline.moto, &pipeline.url).await,
        0,
        "source drained"
    );
}

#[tokio::test]
async fn the_retry_period_ending_dead_letters_with_class_and_reason() {
    let pipeline = Pipeline::start(Mode::Down(503)).await;
    let schedule = RedeliverySchedule::new(secs(&[1]), Duration::from_secs(4), 9).unwrap();
    let runner = runner(&pipeline.moto, &pipeline.dlq, schedule);
    let handler = pipeline.poster(false);
    pipeline.send_events(1).await;

    let dlq = pipeline.dlq.clone();
    let moto = &pipeline.moto;
    let mut dead = Vec::new();
    pipeline
        .pump(
            &runner,
            &handler,
            Duration::from_secs(30),
            "dead letter",
            async || {
                dead.extend(moto.receive(&dlq, 0).await);
                !dead.is_empty()
            },
        )
        .await;

    let dead = &dead[0];
    assert_eq!(attribute(dead, "switchyard.error.class"), "transient");
    let reason = attribute(dead, "switchyard.error.reason");
    assert!(reason.contains("retry period of 4s ended"), "{reason}");
    assert!(reason.contains("503"), "the last error is named: {reason}");
    let attempts: u32 = attribute(dead, "switchyard.attempts").parse().unwrap();
    assert!(attempts >= 3, "retried until the period ended: {attempts}");
    assert_eq!(depth(&pipeline.moto, &pipeline.url).await, 0);
    assert!(pipeline.destination.delivered().is_empty());
}

#[tokio::test]
async fn a_missing_secret_hands_records_back_and_fixing_it_heals_the_backlog() {
    let pipeline = Pipeline::start(Mode::Up).await;
    let schedule = RedeliverySchedule::new(secs(&[1]), Duration::from_secs(600), 9)
        .unwrap()
        .with_function_failure_delay(Duration::from_secs(2))
        .unwrap();
    let metrics = Metrics::builder().without_cold_start().build().unwrap();
    let runner = runner(&pipeline.moto, &pipeline.dlq, schedule).with_metrics(metrics.clone());
    let handler = pipeline.poster(true);
    let sent = pipeline.send_events(3).await;

    // The secret does not exist: every record fails alike, and none is dead-lettered.
    let event = receive_event(&pipeline.moto, &pipeline.url, &pipeline.arn, 5)
        .await
        .unwrap();
    let response = runner
        .run(&event, &Invocation::unbounded("r1"), &handler)
        .await
        .unwrap();
    acknowledge(&pipeline.moto, &pipeline.url, &event, &response).await;
    assert_eq!(response.batch_item_failures.len(), event.records.len());
    let lines = metrics.take_lines();
    let emf: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(emf["function_failures"], event.records.len(), "{emf}");
    assert_eq!(emf["dead_lettered"], 0);
    assert!(pipeline.moto.receive(&pipeline.dlq, 0).await.is_empty());

    // Someone creates the secret: the backlog heals without a replay.
    pipeline.moto.create_secret("app/token", "tok").await;
    pipeline
        .pump(
            &runner,
            &handler,
            Duration::from_secs(30),
            "healing",
            async || pipeline.destination.delivered().len() >= 3,
        )
        .await;
    assert_eq!(
        pipeline
            .delivered_ids()
            .into_iter()
            .collect::<BTreeSet<_>>(),
        sent
    );
    assert!(pipeline.moto.receive(&pipeline.dlq, 0).await.is_empty());
}

#[tokio::test]
async fn a_secret_missing_past_the_retry_period_is_dead_lettered_as_auth() {
    let pipeline = Pipeline::start(Mode::Up).await;
    let schedule = RedeliverySchedule::new(secs(&[1]), Duration::from_secs(3), 9)
        .unwrap()
        .with_function_failure_delay(Duration::from_secs(1))
        .unwrap();
    let runner = runner(&pipeline.moto, &pipeline.dlq, schedule);
    let handler = pipeline.poster(true);
    pipeline.send_events(1).await;

    let dlq = pipeline.dlq.clone();
    let moto = &pipeline.moto;
    let mut dead = Vec::new();
    pipeline
        .pump(
            &runner,
            &handler,
            Duration::from_secs(30),
            "dead letter",
            async || {
                dead.extend(moto.receive(&dlq, 0).await);
                !dead.is_empty()
            },
        )
        .await;
    assert_eq!(attribute(&dead[0], "switchyard.error.class"), "auth");
    let reason = attribute(&dead[0], "switchyard.error.reason");
    assert!(reason.contains("app/token"), "names the secret: {reason}");
}
