//! A deliverer under test, end to end: its queue (with a dead-letter queue and a redrive
//! policy as the template makes them), its secret, the delivery ledger's table, all on moto, and
//! the real binary running under the Runtime API stand-in — polled the way Lambda's event
//! source mapping polls a queue.
//!
//! A test adds its destination's stand-in and passes its settings as environment variables;
//! this type does the rest and offers what a user would check: the partial batch response, the
//! dead-letter queue, the ledger and the function's EMF metrics.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use aws_sdk_sqs::types::{Message, QueueAttributeName};
use serde_json::{Value, json};
use switchyard::idempotency::Ledger;

use crate::moto::Moto;
use crate::runtime_api::{FunctionProcess, RuntimeApi, binary};
use crate::sqs_event::{acknowledge, create_queue_with, queue_arn, receive_event};

/// The ledger's table name in these tests.
pub const TABLE: &str = "switchyard-ledger";
/// The deadline of an invocation unless a test says otherwise.
pub const INVOCATION_TIMEOUT: Duration = Duration::from_secs(30);

/// A running deliverer and the AWS resources around it.
pub struct DelivererRun {
    /// The emulator (queues, secret, table).
    pub moto: Moto,
    /// The Runtime API the function polls.
    pub api: RuntimeApi,
    /// The function's process (its output holds the logs and EMF lines).
    pub process: FunctionProcess,
    /// The function's queue.
    pub url: String,
    /// The queue's ARN (the event source).
    pub arn: String,
    /// The dead-letter queue (`DLQ_URL`).
    pub dlq: String,
    /// Output lines already read for metrics.
    seen_lines: usize,
    /// The function's environment, for [`DelivererRun::restart`].
    vars: Vec<(String, String)>,
    /// The function's binary name.
    function: String,
}

impl DelivererRun {
    /// Creates `function`'s queue (redrive to its DLQ after 100 receives), the secret
    /// `secret_id` holding `secret`, and the ledger table; starts the binary with `SECRET_ID`,
    /// `DLQ_URL`, `IDEMPOTENCY_TABLE`, then `env`, then `extra_env` (which overrides); and waits
    /// for its first poll.
    pub async fn start(
        function: &str,
        secret_id: &str,
        secret: &str,
        env: &[(&str, &str)],
        extra_env: &[(&str, &str)],
    ) -> DelivererRun {
        let moto = Moto::start();
        let dlq = moto.create_queue(&format!("{function}-dlq")).await;
        let dlq_arn = queue_arn(&moto, &dlq).await;
        let redrive = json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "100"});
        let url = create_queue_with(
            &moto,
            function,
            &[(QueueAttributeName::RedrivePolicy, redrive.to_string())],
        )
        .await;
        let arn = queue_arn(&moto, &url).await;
        moto.create_secret(secret_id, secret).await;
        moto.create_idempotency_table(TABLE).await;

        let api = RuntimeApi::start().await;
        let mut vars = moto.env();
        let base = [
            ("SECRET_ID", secret_id),
            ("DLQ_URL", dlq.as_str()),
            ("IDEMPOTENCY_TABLE", TABLE),
        ];
        for (k, v) in base.iter().chain(env).chain(extra_env) {
            vars.retain(|(name, _)| name != k);
            vars.push(((*k).into(), (*v).into()));
        }
        let process = FunctionProcess::start(&binary(function), &api, &vars);
        let run = DelivererRun {
            moto,
            api,
            process,
            url,
            arn,
            dlq,
            seen_lines: 0,
            vars,
            function: function.to_owned(),
        };
        run.wait_started().await;
        run
    }

    /// Starts a fresh process of the function (the old one is killed if still running) with
    /// the same environment, under a new Runtime API, as Lambda starts a new execution
    /// environment; the queues, secret and ledger stay.
    pub async fn restart(&mut self) {
        self.api = RuntimeApi::start().await;
        self.process = FunctionProcess::start(&binary(&self.function), &self.api, &self.vars);
        self.seen_lines = 0;
        self.wait_started().await;
    }

    async fn wait_started(&self) {
        assert!(
            self.api
                .wait_first_poll(Duration::from_secs(30))
                .await
                .is_some(),
            "{} did not start: {:#?}",
            self.function,
            self.process.output()
        );
    }

    /// Sends an envelope (or any body) to the function's queue.
    pub async fn send(&self, body: &str) {
        self.moto
            .sqs()
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }

    /// Receives the next batch (waiting up to 5 s) as Lambda would hand it over.
    pub async fn next_batch(&self) -> SqsEvent {
        receive_event(&self.moto, &self.url, &self.arn, 5)
            .await
            .expect("a batch")
    }

    /// Invokes the function with `event`, acknowledges as the event source mapping does, and
    /// returns the response.
    pub async fn invoke(&self, event: &SqsEvent) -> SqsBatchResponse {
        self.invoke_within(event, INVOCATION_TIMEOUT).await
    }

    /// [`DelivererRun::invoke`] with the invocation's deadline `timeout` from now.
    pub async fn invoke_within(&self, event: &SqsEvent, timeout: Duration) -> SqsBatchResponse {
        let answer = self
            .api
            .invoke(&serde_json::to_value(event).unwrap(), timeout)
            .await
            .expect_response();
        let response: SqsBatchResponse = serde_json::from_value(answer).unwrap();
        acknowledge(&self.moto, &self.url, event, &response).await;
        response
    }

    /// Sends `bodies`, then delivers them in one batch.
    pub async fn deliver(&self, bodies: &[String]) -> SqsBatchResponse {
        for body in bodies {
            self.send(body).await;
        }
        let mut event = self.next_batch().await;
        while event.records.len() < bodies.len() {
            let more = self.next_batch().await;
            event.records.extend(more.records);
        }
        self.invoke(&event).await
    }

    /// The counts of the EMF lines the function wrote since the last call, summed by name.
    ///
    /// The function writes one EMF line per invocation before it answers, but its output
    /// reaches this process through a pipe read by another thread: wait (up to 2 s) until a
    /// new EMF line has arrived, so a read right after an invocation does not race it.
    pub fn metrics(&mut self) -> BTreeMap<String, f64> {
        let waited = std::time::Instant::now();
        let output = loop {
            let output = self.process.output();
            let arrived = output[self.seen_lines..]
                .iter()
                .any(|line| line.contains("\"CloudWatchMetrics\""));
            if arrived || waited.elapsed() > Duration::from_secs(2) {
                break output;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let mut sums = BTreeMap::new();
        for line in &output[self.seen_lines..] {
            let Ok(doc) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(defs) = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"].as_array() else {
                continue;
            };
            for def in defs {
                let name = def["Name"].as_str().unwrap();
                if def["Unit"] == "Count" {
                    *sums.entry(name.to_string()).or_insert(0.0) += doc[name].as_f64().unwrap();
                }
            }
        }
        self.seen_lines = output.len();
        sums
    }

    /// The dead-letter queue's messages (waiting up to `wait_secs` for the first).
    pub async fn dead_letters(&self, wait_secs: i32) -> Vec<Message> {
        self.moto.receive(&self.dlq, wait_secs).await
    }

    /// The delivery ledger.
    pub fn ledger(&self) -> Ledger {
        Ledger::new(self.moto.dynamodb(), TABLE)
    }
}
