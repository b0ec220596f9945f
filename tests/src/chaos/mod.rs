//! `make chaos`: the pipeline under faults, and a reconciliation of every event.
//!
//! On a [`LocalStack`] (receivers and deliverers under `cargo lambda watch`, the local SQS event
//! source, moto, the stand-ins), [`run`] sends N signed webhooks — GitHub issues (→ Slack) and
//! Stripe customers (→ HubSpot), a share sent twice as providers redeliver — while the stand-ins
//! answer at [`ChaosRates`]: 5xx, 429 with `Retry-After`, hangs past the client's timeout,
//! dropped connections, and posts done whose answer is lost. When the queues are empty it
//! reconciles every event ([`reconcile`]) from the stand-ins, the dead-letter queues, the ledger
//! and the function logs: delivered exactly once, dead-lettered with its class (one Stripe
//! customer in fifty has an e-mail HubSpot refuses: it must end there), or — only at
//! Slack, which has no idempotency key — delivered more than once, where the ledger marks the
//! event `possible_duplicate` and each earlier message's answer was lost at the stand-in or
//! slack-notify was killed within one invocation's time ([`FUNCTION_TIMEOUT`]) after it went
//! out. Anything else is lost or unexplained, and the run fails.
//!
//! A few times during the sending, a deliverer is killed in the middle of a batch (while one of
//! its calls is in flight at its stand-in): `SIGKILL`, nothing answered or recorded, and a new
//! `watch` takes its place, as Lambda starts a new execution environment
//! ([`FunctionServer::crash`](crate::stack::watch::FunctionServer::crash)). The batch comes
//! back after the queue's visibility timeout.
//!
//! Time is compressed so a run takes minutes: the redelivery schedule is seconds, the circuit
//! breaker opens for seconds, a call is given up after 2 s, the deliverers' queues hide a
//! received batch for [`VISIBILITY_TIMEOUT_S`] seconds (not 6 minutes), and the destinations'
//! rate limits (the stand-ins' and the deliverers' own) are raised — backpressure is measured
//! apart ([`crate::backpressure`]).

pub mod dice;
pub mod reconcile;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::json;

pub use dice::{ChaosRates, Dice, Roll};
use reconcile::{Reconciliation, SentEvent};

use crate::providers::{self, Request};
use crate::stack::{LocalStack, Say, StackOptions};

/// The functions a chaos run needs.
pub const FUNCTIONS: [&str; 4] = [
    "stripe-webhook",
    "github-webhook",
    "slack-notify",
    "hubspot-contacts",
];

/// The deliverers' queues' visibility timeout during a run, in seconds: how long the batch of
/// a killed deliverer stays hidden (the template's is 6 × the function timeout).
pub const VISIBILITY_TIMEOUT_S: u32 = 20;

/// Instances of each deliverer during a run (the template's `MaximumConcurrency` is 2): more
/// in parallel, as the compressed time asks.
pub const DELIVERER_INSTANCES: u32 = 4;

/// Sending pauses while the deliverers' queues hold more messages than this: moto's
/// `ReceiveMessage` slows with a queue's depth (0.6 s at 1,000 messages, 2 s at 3,000), and a
/// backlog of thousands would measure moto, not the pipeline.
pub const MAX_BACKLOG: u64 = 400;

/// The deliverers the run kills, in turn.
const KILLED: [&str; 2] = ["slack-notify", "hubspot-contacts"];

/// The compressed invocation deadline: no invocation outlives it, so a post a killed
/// invocation made went out at most this long before the kill.
pub const FUNCTION_TIMEOUT: Duration = Duration::from_secs(15);

/// A deliverer killed mid-batch: which, when, and the line the run printed.
#[derive(Debug, Clone)]
pub struct Kill {
    pub function: &'static str,
    pub at: Instant,
    pub line: String,
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct ChaosOptions {
    /// Distinct events to send.
    pub events: usize,
    /// The share of events the provider sends twice.
    pub redelivered: f64,
    /// The stand-ins' fault rates.
    pub rates: ChaosRates,
    /// The seed of every random choice (faults, redeliveries).
    pub seed: u64,
    /// Webhooks in flight at once.
    pub concurrency: usize,
    /// Environment for every function after the run's own (e.g. to show that the run fails
    /// without idempotency: `IDEMPOTENCY_WINDOW=1ms`).
    pub env: Vec<(String, String)>,
    /// Times a deliverer is killed (`SIGKILL`) in the middle of a batch, taking turns:
    /// slack-notify, hubspot-contacts, … (spread over the sending).
    pub kills: usize,
}

impl Default for ChaosOptions {
    fn default() -> Self {
        Self {
            events: 10_000,
            redelivered: 0.05,
            rates: ChaosRates::standard(),
            seed: 42,
            concurrency: 16,
            env: Vec::new(),
            kills: 4,
        }
    }
}

/// The environment that compresses time for the run (every function gets it).
pub fn compressed_time_env() -> Vec<(String, String)> {
    [
        // Handed-back records come back in seconds, not minutes to hours.
        ("REDELIVERY_SCHEDULE", "1s,2s,3s,5s"),
        ("FUNCTION_FAILURE_DELAY", "5s"),
        // The circuit still opens under 30 % errors, for seconds.
        ("CIRCUIT_BREAKER", "10 failures, open 2s up to 5s"),
        // A hung call is given up after 2 s, not 10 s; an invocation lasts at most 15 s (its
        // lock too, when its deliverer is killed), not 60 s.
        ("HTTP_TIMEOUT", "2s"),
        // Rate limits raised: this run is about faults, not pace.
        ("SLACK_RATE_LIMIT", "200/1s burst 50"),
        ("HUBSPOT_RATE_LIMIT", "1000/1s burst 100"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .chain([(
        "FUNCTION_TIMEOUT".to_owned(),
        format!("{}s", FUNCTION_TIMEOUT.as_secs()),
    )])
    .collect()
}

/// The stack options of a chaos run.
pub fn stack_options(options: &ChaosOptions, say: Say) -> StackOptions {
    let mut extra_env = compressed_time_env();
    extra_env.extend(options.env.iter().cloned());
    StackOptions {
        functions: Some(FUNCTIONS.iter().map(|f| (*f).to_owned()).collect()),
        receiver_concurrency: 4,
        batch_reports: false,
        extra_env,
        visibility_timeout: Some(VISIBILITY_TIMEOUT_S),
        deliverer_concurrency: Some(DELIVERER_INSTANCES),
        say,
        ..StackOptions::default()
    }
}

/// One webhook of the run.
fn event(index: usize, now: i64) -> (SentEvent, Request) {
    if index.is_multiple_of(2) {
        let number = index + 1;
        let id = format!("00000000-0000-4000-8000-{index:012}");
        let body = json!({
            "action": "opened",
            "issue": {"id": number, "number": number, "title": format!("chaos-{index}"),
                      "state": "open", "html_url": format!("https://github.com/acme/switchyard/issues/{number}"),
                      "user": {"login": "chaos"}},
            "repository": {"id": 42, "full_name": "acme/switchyard", "private": true},
            "sender": {"login": "chaos"}
        });
        let mut request = Request {
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-GitHub-Event".into(), "issues".into()),
                ("X-GitHub-Delivery".into(), id.clone()),
            ],
            body: body.to_string().into_bytes(),
        };
        let signature = providers::signature_headers(
            "github-webhook",
            providers::test_secret("github-webhook"),
            &request,
            now,
        );
        request.headers.extend(signature);
        (
            SentEvent {
                receiver: "github-webhook",
                deliverer: "slack-notify",
                source: "github",
                event_id: id,
                marker: format!("chaos-{index} ("),
                copies: 0,
                accepted: 0,
                cannot_succeed: false,
            },
            request,
        )
    } else {
        let id = format!("evt_chaos_{index}");
        // One customer in fifty has an e-mail HubSpot refuses: it must end in the DLQ.
        let cannot_succeed = index % 100 == 1;
        let email = if cannot_succeed {
            format!("chaos-{index}(at)example.com")
        } else {
            format!("chaos-{index}@example.com")
        };
        let body = json!({
            "id": id, "object": "event", "api_version": "2024-06-20", "created": now,
            "livemode": false, "type": "customer.created",
            "data": {"object": {"id": format!("cus_chaos_{index}"), "object": "customer",
                                "email": email, "name": format!("Chaos {index}")}}
        });
        let request = Request {
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_string().into_bytes(),
        };
        (
            SentEvent {
                receiver: "stripe-webhook",
                deliverer: "hubspot-contacts",
                source: "stripe",
                event_id: id,
                marker: email,
                copies: 0,
                accepted: 0,
                cannot_succeed,
            },
            request,
        )
    }
}

/// A task of the run's that ends with it, on every path out (an error included).
struct Background(tokio::task::JoinHandle<()>);

impl Drop for Background {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Signs `request` for `receiver` now (Stripe's signature carries the time; GitHub's does not).
fn signed_now(receiver: &str, request: &Request) -> Request {
    if receiver != "stripe-webhook" {
        return request.clone();
    }
    let mut signed = request.clone();
    let signature = providers::signature_headers(
        receiver,
        providers::test_secret(receiver),
        request,
        providers::unix_now(),
    );
    signed.headers.extend(signature);
    signed
}

/// Sends the events, lets the pipeline settle, and reconciles.
pub async fn run(
    stack: &LocalStack,
    options: &ChaosOptions,
    say: &Say,
) -> Result<Reconciliation, String> {
    options.rates.validate()?;
    stack.slack.set_rate(None);
    stack.hubspot.set_rate(None);
    stack
        .slack
        .set_chaos(Some(Dice::new(options.rates, options.seed)));
    stack
        .hubspot
        .set_chaos(Some(Dice::new(options.rates, options.seed.wrapping_add(1))));

    let now = providers::unix_now();
    let mut rng = fastrand::Rng::with_seed(options.seed);
    let mut events = Vec::with_capacity(options.events);
    let mut sends = Vec::new();
    for index in 0..options.events {
        let (sent, request) = event(index, now);
        let copies = if rng.f64() < options.redelivered {
            2
        } else {
            1
        };
        for _ in 0..copies {
            sends.push((events.len(), sent.receiver, request.clone()));
        }
        events.push(sent);
    }
    // Redelivered copies arrive later than the originals, as a provider's retries do.
    let (first, again): (Vec<_>, Vec<_>) = {
        let mut seen = std::collections::HashSet::new();
        sends.into_iter().partition(|(i, _, _)| seen.insert(*i))
    };
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    say(&format!(
        "sending {} webhooks ({} events, {} sent twice) with {} in flight",
        first.len() + again.len(),
        options.events,
        again.len(),
        options.concurrency
    ));
    let total = first.len() + again.len();
    let sent = AtomicUsize::new(0);
    // The receivers also queue every event on their own events queue (the template's `*`
    // route, for other consumers), which nothing reads here; moto's SendMessage slows with a
    // queue's length (8 ms empty, ~80 ms at 3,400 messages), so those queues are purged while
    // the run goes on. They take no part in the reconciliation.
    let own_queues: Vec<String> = ["stripe-webhook", "github-webhook"]
        .iter()
        .filter_map(|r| stack.description.events_queue(r).map(str::to_owned))
        .collect();
    let backlog_queues: Vec<String> = stack
        .polled_queues()
        .iter()
        .map(|(_, url)| url.clone())
        .collect();
    let hold = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let held = std::sync::Arc::clone(&hold);
    let watcher_sqs = stack.sqs().clone();
    let backlog_watch = Background(tokio::spawn(async move {
        loop {
            let mut waiting = 0u64;
            for url in &backlog_queues {
                // A count that fails leaves the queue out this round.
                waiting += crate::stack::queues::count(
                    &watcher_sqs,
                    url,
                    &[aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages],
                )
                .await
                .unwrap_or(0);
            }
            held.store(waiting > MAX_BACKLOG, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }));
    let sqs = stack.sqs().clone();
    let purger = Background(tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            for url in &own_queues {
                let _ = sqs.purge_queue().queue_url(url).send().await;
            }
        }
    }));
    let sending = async {
        for wave in [first, again] {
            let mut answers =
                futures::stream::iter(wave.into_iter().map(|(index, receiver, request)| {
                    let http = http.clone();
                    let url = stack.function(receiver).map(|f| f.function_url());
                    let hold = std::sync::Arc::clone(&hold);
                    async move {
                        let url = url?;
                        while hold.load(Ordering::SeqCst) {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        // A receiver's 5xx or 429 is retried, as providers do (a loaded
                        // machine can make a receiver's queue write time out).
                        let mut status = 0;
                        for attempt in 0..5u64 {
                            if attempt > 0 {
                                tokio::time::sleep(Duration::from_secs(attempt)).await;
                            }
                            let request = signed_now(receiver, &request);
                            let mut post = http.post(&url).body(request.body.clone());
                            for (name, value) in &request.headers {
                                post = post.header(name, value);
                            }
                            status = post
                                .send()
                                .await
                                .map_err(|e| format!("POST {url}: {e}"))?
                                .status()
                                .as_u16();
                            if status < 500 && status != 429 {
                                break;
                            }
                        }
                        Ok::<_, String>((index, status))
                    }
                }))
                .buffer_unordered(options.concurrency.max(1));
            while let Some(answer) = answers.next().await {
                let (index, status) = answer?;
                let event = &mut events[index];
                event.copies += 1;
                if status == 200 {
                    event.accepted += 1;
                }
                let done = sent.fetch_add(1, Ordering::SeqCst) + 1;
                if done.is_multiple_of(1000) || done == total {
                    say(&format!(
                        "  sent {done}/{total} ({:.0} s)",
                        started.elapsed().as_secs_f64()
                    ));
                }
            }
        }
        Ok::<(), String>(())
    };
    let killing = kill_mid_batch(stack, options.kills, total, &sent, say);
    // Either failing ends both (the killer would otherwise wait for webhooks never sent).
    let ((), kills) = tokio::try_join!(sending, killing)?;
    drop((purger, backlog_watch));
    say("waiting for the queues to empty (faults and redeliveries take a while)");
    let settle = Duration::from_secs(180) + Duration::from_millis(60 * options.events as u64);
    let took = stack.wait_until_settled(settle).await?;
    say(&format!(
        "settled {:.0} s after the last webhook",
        took.as_secs_f64()
    ));
    stack.slack.set_chaos(None);
    stack.hubspot.set_chaos(None);
    reconcile::reconcile(stack, &events, options, kills).await
}

/// Kills a deliverer `kills` times while the webhooks go out (after 1/(kills+1) of them, then
/// 2/(kills+1), …), each time while one of its calls hangs at its stand-in (a queued hang
/// fault), so the kill lands mid-batch. Says what it killed and how long the new environment
/// took.
async fn kill_mid_batch(
    stack: &LocalStack,
    kills: usize,
    total: usize,
    sent: &AtomicUsize,
    say: &Say,
) -> Result<Vec<Kill>, String> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let mut done = Vec::new();
    for k in 0..kills {
        let function = KILLED[k % KILLED.len()];
        let after = total * (k + 1) / (kills + 1);
        while sent.load(Ordering::SeqCst) < after {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let in_flight = || match function {
            "slack-notify" => stack.slack.in_flight(),
            _ => stack.hubspot.upserts_in_flight(),
        };
        // Mid-batch: its next call hangs at the stand-in, and the kill comes while it does.
        match function {
            "slack-notify" => stack.slack.push_fault(crate::slack::Fault::Hang),
            _ => stack.hubspot.push_fault_for(
                crate::hubspot::Endpoint::Upsert,
                crate::hubspot::Fault::Hang,
            ),
        }
        let waited = Instant::now();
        while in_flight() == 0 && waited.elapsed() < Duration::from_secs(60) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let calls = in_flight();
        let at = Instant::now();
        let crash = stack.function(function)?.crash(&client).await?;
        let line = format!(
            "{function} killed with {calls} call(s) in flight after {} webhooks ({} process(es)); a new environment answered {:.1} s later",
            sent.load(Ordering::SeqCst),
            crash.killed,
            crash.restart.as_secs_f64()
        );
        say(&format!("  {line}"));
        if calls == 0 || crash.killed == 0 {
            return Err(format!("the kill did not land mid-batch: {line}"));
        }
        done.push(Kill { function, at, line });
    }
    Ok(done)
}
