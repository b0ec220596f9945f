//! Backpressure through the whole pipeline: a backlog of events in a deliverer's queue reaches a
//! rate-limited destination at the destination's rate, without 429s and without losing or
//! repeating anything.
//!
//! On a [`LocalStack`] serving `slack-notify` (under `cargo lambda watch`, with the template's
//! event source mapping: batches of 10, `MaximumConcurrency` 2, so two instances of the function
//! at once), [`run`]:
//!
//! 1. sets the Slack stand-in's per-channel limit to **R** posts a second with a burst of
//!    [`BackpressureOptions::standin_burst`] (by default the deliverers' combined burst plus
//!    one, for network jitter — as `tests/benches/rate_limit.rs` does);
//! 2. has the deliverer keep to R itself, as the template does for Slack's real limit: its
//!    limiter is per instance and channel, so each of the mapping's `MaximumConcurrency`
//!    instances gets its share, `SLACK_RATE_LIMIT="<R>/<instances>s burst <b>"`
//!    ([`stack_options`]);
//! 3. sends N CloudEvents envelopes (GitHub `issues.opened`, which the mapping's
//!    `github-issue-opened` rule turns into a message in the template's `SLACK_CHANNEL`)
//!    directly into the deliverer's queue with `SendMessageBatch`, keeping it topped up:
//!    whenever fewer than 30 messages wait, the next events go in until 60 do, so the
//!    deliverer sees an unbroken backlog from the first batch to the last (the run counts the
//!    times the feeder found the queue empty). The backlog is not put in moto whole because
//!    moto's `ReceiveMessage` takes time in proportion to the queue's depth (measured: 0.13 s
//!    at 100 messages, 0.57 s at 1,000, 2.1 s at 3,000; `SendMessage` likewise), which would
//!    measure the emulator rather than the limiter; [`BackpressureOptions::preload`] does it
//!    anyway, to show that;
//! 4. waits for the queue to empty and measures at the stand-in: the first and last accepted
//!    post, **achieved** = (posts − 1) / (last − first), the 429s it answered in each one-second
//!    window counted from the first request, the busiest window; which event each message is
//!    from (its text names the issue: `#<n> bp-<i>`), so every event is delivered exactly once,
//!    twice (a duplicate) or not at all (lost); the dead-letter queue (must stay empty) and the
//!    records the deliverer handed back to SQS (its log lines `outcome=retry`).
//!
//! The requirement (issue 11): no 429 after the first window, nothing lost or repeated, nothing
//! dead-lettered, and the achieved rate close to R without exceeding it. The deliverer's limiter
//! is what makes it hold: with it raised ([`BackpressureOptions::deliverer_limit`], e.g.
//! `1000/1s burst 100`), the stand-in answers 429s throughout the run.
//!
//! `tests/tests/backpressure.rs` runs a few hundred events in `make test`;
//! `tests/benches/pipeline_backpressure.rs` runs thousands in `make bench`.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{QueueAttributeName, SendMessageBatchRequestEntry};
use futures::StreamExt;
use serde_json::json;
use switchyard::envelope::CloudEvent;

use crate::demo::observe::Evidence;
use crate::slack::{ChannelRate, Outcome};
use crate::stack::{LocalStack, Say, StackOptions};

/// The deliverer under test.
pub const FUNCTION: &str = "slack-notify";

/// Instances of the deliverer at once: the template's `MaximumConcurrency` for `slack-notify`
/// (checked against the stack's description by [`run`]).
pub const INSTANCES: u32 = 2;

/// How long any one call to the emulator may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// `SendMessageBatch` calls in flight while loading.
const LOAD_CONCURRENCY: usize = 4;

/// The feeder sends more when fewer than the first bound of messages wait in the queue, up to
/// the second: enough for both instances' next batches, few enough that moto answers quickly.
pub const TOP_UP: (usize, usize) = (30, 60);

/// How often the feeder looks at the queue.
const TOP_UP_CHECK: Duration = Duration::from_millis(50);

/// How a run goes.
#[derive(Debug, Clone)]
pub struct BackpressureOptions {
    /// Events loaded into the queue (N).
    pub events: usize,
    /// The destination's limit, posts a second per channel (R).
    pub rate: u32,
    /// Each deliverer instance's burst.
    pub deliverer_burst: u32,
    /// The stand-in's burst; `None`: [`INSTANCES`] × `deliverer_burst` + 1.
    pub standin_burst: Option<u32>,
    /// `SLACK_RATE_LIMIT` instead of the share of R (to see the run fail without the limiter).
    pub deliverer_limit: Option<String>,
    /// Send the whole backlog into the queue before delivery gets going, instead of keeping
    /// the queue topped up (moto's receives slow down with the queue's depth: see the module
    /// docs).
    pub preload: bool,
    /// Environment for the function after the run's own.
    pub env: Vec<(String, String)>,
}

impl Default for BackpressureOptions {
    fn default() -> Self {
        Self {
            events: 3000,
            rate: 50,
            deliverer_burst: 2,
            standin_burst: None,
            deliverer_limit: None,
            preload: false,
            env: Vec::new(),
        }
    }
}

impl BackpressureOptions {
    /// The deliverer's `SLACK_RATE_LIMIT`: R shared between the instances.
    pub fn deliverer_limit(&self) -> String {
        self.deliverer_limit.clone().unwrap_or_else(|| {
            format!(
                "{}/{INSTANCES}s burst {}",
                self.rate.max(1),
                self.deliverer_burst.max(1)
            )
        })
    }

    /// The stand-in's burst.
    pub fn standin_burst(&self) -> u32 {
        self.standin_burst
            .unwrap_or(INSTANCES * self.deliverer_burst.max(1) + 1)
    }
}

/// The stack options of a run: `slack-notify` alone, its limit set to its share of R.
pub fn stack_options(options: &BackpressureOptions, say: Say) -> StackOptions {
    let mut extra_env = vec![("SLACK_RATE_LIMIT".to_owned(), options.deliverer_limit())];
    extra_env.extend(options.env.iter().cloned());
    StackOptions {
        functions: Some(vec![FUNCTION.to_owned()]),
        batch_reports: false,
        extra_env,
        say,
        ..StackOptions::default()
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Backpressure {
    /// Events loaded (N).
    pub events: usize,
    /// The stand-in's limit, posts a second (R).
    pub rate: u32,
    /// The stand-in's burst.
    pub standin_burst: u32,
    /// The deliverer's `SLACK_RATE_LIMIT`.
    pub deliverer_limit: String,
    /// Deliverer instances at once (the mapping's `MaximumConcurrency`).
    pub instances: u32,
    /// How the backlog went into the queue.
    pub loading: Loading,
    /// From the first load to the queue empty.
    pub total: Duration,
    /// Posts the stand-in accepted.
    pub posts: usize,
    /// From the first accepted post to the last.
    pub first_to_last: Duration,
    /// (posts − 1) / `first_to_last`, posts a second.
    pub achieved: f64,
    /// The most posts accepted in one one-second window (from the first request).
    pub busiest_window: usize,
    /// 429s the stand-in answered, by one-second window from the first request (0: the first).
    pub rate_limited: BTreeMap<u64, usize>,
    /// Other answers than a post or a 429, by kind (none expected).
    pub other_answers: BTreeMap<String, usize>,
    /// Events whose message arrived exactly once.
    pub delivered_once: usize,
    /// Events whose message arrived more than once.
    pub duplicates: Vec<String>,
    /// Events whose message never arrived.
    pub lost: Vec<String>,
    /// Messages that are from no event of the run.
    pub unexpected: usize,
    /// Messages in the dead-letter queue.
    pub dead_lettered: usize,
    /// Records the deliverer handed back to SQS (log lines `outcome=retry`).
    pub handed_back: usize,
    /// Calls the deliverer saw throttled (log lines of class `throttled`).
    pub throttled_in_logs: usize,
}

impl Backpressure {
    /// 429s in all.
    pub fn rate_limited_total(&self) -> usize {
        self.rate_limited.values().sum()
    }

    /// 429s after the first window.
    pub fn rate_limited_after_first_window(&self) -> usize {
        self.rate_limited
            .iter()
            .filter(|(window, _)| **window > 0)
            .map(|(_, n)| n)
            .sum()
    }

    /// Achieved over R.
    pub fn ratio(&self) -> f64 {
        self.achieved / f64::from(self.rate.max(1))
    }

    /// Every event delivered exactly once, nothing else posted, nothing dead-lettered, no 429
    /// after the first window.
    pub fn passed(&self) -> bool {
        self.delivered_once == self.events
            && self.duplicates.is_empty()
            && self.lost.is_empty()
            && self.unexpected == 0
            && self.dead_lettered == 0
            && self.rate_limited_after_first_window() == 0
    }

    fn windows(&self) -> String {
        if self.rate_limited.is_empty() {
            return "none".to_owned();
        }
        let mut shown: Vec<String> = self
            .rate_limited
            .iter()
            .take(12)
            .map(|(w, n)| format!("s{w}: {n}"))
            .collect();
        if self.rate_limited.len() > 12 {
            shown.push(format!("… ({} windows)", self.rate_limited.len()));
        }
        shown.join(", ")
    }
}

impl fmt::Display for Backpressure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids = |ids: &[String]| {
            if ids.is_empty() {
                "0".to_owned()
            } else {
                let mut shown: Vec<&str> = ids.iter().take(5).map(String::as_str).collect();
                if ids.len() > 5 {
                    shown.push("…");
                }
                format!("{} ({})", ids.len(), shown.join(", "))
            }
        };
        writeln!(f, "| backpressure: {FUNCTION} → Slack stand-in | |")?;
        writeln!(f, "|---|---:|")?;
        writeln!(f, "| events loaded (N) | {} |", self.events)?;
        writeln!(
            f,
            "| stand-in limit (R) | {}/s per channel, burst {} |",
            self.rate, self.standin_burst
        )?;
        writeln!(
            f,
            "| deliverer limit | `SLACK_RATE_LIMIT={}` × {} instances |",
            self.deliverer_limit, self.instances
        )?;
        if self.loading.preloaded {
            writeln!(
                f,
                "| queue | all N sent at once, in {:.1} s |",
                self.loading.took.as_secs_f64()
            )?;
        } else {
            writeln!(
                f,
                "| queue | kept at {}–{} waiting until all N were sent ({:.1} s); found empty {} times |",
                TOP_UP.0,
                TOP_UP.1,
                self.loading.took.as_secs_f64(),
                self.loading.found_empty
            )?;
        }
        writeln!(
            f,
            "| posts accepted | {} in {:.1} s (first to last) |",
            self.posts,
            self.first_to_last.as_secs_f64()
        )?;
        writeln!(
            f,
            "| **achieved** | **{:.2}/s = {:.3} × R** |",
            self.achieved,
            self.ratio()
        )?;
        writeln!(f, "| busiest 1 s window | {} posts |", self.busiest_window)?;
        writeln!(
            f,
            "| 429s from the stand-in | {} (after the first window: {}) |",
            self.rate_limited_total(),
            self.rate_limited_after_first_window()
        )?;
        writeln!(f, "| 429s by window | {} |", self.windows())?;
        if !self.other_answers.is_empty() {
            let other: Vec<String> = self
                .other_answers
                .iter()
                .map(|(k, n)| format!("{k}: {n}"))
                .collect();
            writeln!(f, "| other answers | {} |", other.join(", "))?;
        }
        writeln!(f, "| delivered exactly once | {} |", self.delivered_once)?;
        writeln!(f, "| duplicates | {} |", ids(&self.duplicates))?;
        writeln!(f, "| lost | {} |", ids(&self.lost))?;
        writeln!(f, "| messages from no event | {} |", self.unexpected)?;
        writeln!(f, "| dead-lettered | {} |", self.dead_lettered)?;
        writeln!(
            f,
            "| handed back to SQS / throttled (deliverer's logs) | {} / {} |",
            self.handed_back, self.throttled_in_logs
        )?;
        writeln!(
            f,
            "| total (load to queue empty) | {:.1} s |",
            self.total.as_secs_f64()
        )?;
        write!(
            f,
            "| verdict | {} |",
            if self.passed() { "PASS" } else { "FAIL" }
        )
    }
}

/// The text the mapping's `github-issue-opened` rule makes of event `index`.
fn expected_text(index: usize) -> String {
    format!(
        "New issue in acme/backpressure: #{} bp-{index} (by backpressure)",
        index + 1
    )
}

/// Event `index`'s id (shaped like GitHub's delivery ids, which the receiver uses).
fn event_id(index: usize) -> String {
    format!("00000000-0000-4000-9000-{index:012}")
}

/// Event `index`'s envelope, as `github-webhook` would queue it.
fn envelope(index: usize) -> Result<String, String> {
    let number = index + 1;
    let data = json!({
        "action": "opened",
        "issue": {"id": number, "number": number, "title": format!("bp-{index}"),
                  "state": "open",
                  "html_url": format!("https://github.com/acme/backpressure/issues/{number}"),
                  "user": {"login": "backpressure"}},
        "repository": {"id": 7, "full_name": "acme/backpressure", "private": true},
        "sender": {"login": "backpressure"}
    });
    CloudEvent::new_value(event_id(index), "github", "issues.opened", data)
        .and_then(|e| e.to_json())
        .map_err(|e| format!("envelope {index}: {e}"))
}

/// Sends one batch of up to ten bodies.
async fn send_batch(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    chunk: Vec<String>,
) -> Result<usize, String> {
    let entries = chunk
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            SendMessageBatchRequestEntry::builder()
                .id(i.to_string())
                .message_body(body)
                .build()
                .map_err(|e| e.to_string())
        })
        .collect::<Result<Vec<_>, _>>()?;
    let count = entries.len();
    let answer = tokio::time::timeout(
        CALL_TIMEOUT,
        sqs.send_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send(),
    )
    .await
    .map_err(|_| format!("SendMessageBatch took over {} s", CALL_TIMEOUT.as_secs()))?
    .map_err(|e| {
        format!(
            "SendMessageBatch: {}",
            aws_sdk_sqs::error::DisplayErrorContext(e)
        )
    })?;
    if let Some(failed) = answer.failed().first() {
        return Err(format!(
            "SendMessageBatch refused an entry: {} {}",
            failed.code(),
            failed.message().unwrap_or_default()
        ));
    }
    Ok(count)
}

/// Sends `bodies`, ten a call, a few calls at once.
async fn send_all(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    bodies: Vec<String>,
) -> Result<usize, String> {
    let chunks: Vec<Vec<String>> = bodies.chunks(10).map(<[String]>::to_vec).collect();
    let mut calls = futures::stream::iter(chunks.into_iter().map(|c| send_batch(sqs, url, c)))
        .buffer_unordered(LOAD_CONCURRENCY);
    let mut sent = 0;
    while let Some(count) = calls.next().await {
        sent += count?;
    }
    Ok(sent)
}

/// How the backlog went into the queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loading {
    /// All of it at once (else topped up between [`TOP_UP`]'s bounds).
    pub preloaded: bool,
    /// From the first send to the last.
    pub took: Duration,
    /// Times the feeder found no message waiting while events were left to send (the pollers
    /// may have waited for it).
    pub found_empty: usize,
}

/// Sends the whole backlog at once.
async fn preload(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    bodies: Vec<String>,
) -> Result<Loading, String> {
    let started = Instant::now();
    send_all(sqs, url, bodies).await?;
    Ok(Loading {
        preloaded: true,
        took: started.elapsed(),
        found_empty: 0,
    })
}

/// Keeps the queue topped up: whenever fewer than [`TOP_UP`]`.0` messages wait, sends the next
/// events until [`TOP_UP`]`.1` do, until every event is sent.
async fn feed(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    bodies: Vec<String>,
) -> Result<Loading, String> {
    let (low, high) = TOP_UP;
    let started = Instant::now();
    let mut loading = Loading::default();
    let mut bodies = bodies.into_iter();
    let mut left = bodies.len();
    let mut first = true;
    while left > 0 {
        let waiting = crate::stack::queues::count(
            sqs,
            url,
            &[QueueAttributeName::ApproximateNumberOfMessages],
        )
        .await?;
        let waiting = usize::try_from(waiting).unwrap_or(usize::MAX);
        if waiting >= low {
            tokio::time::sleep(TOP_UP_CHECK).await;
            continue;
        }
        if waiting == 0 && !first {
            loading.found_empty += 1;
        }
        first = false;
        let next: Vec<String> = bodies.by_ref().take(high - waiting).collect();
        left -= next.len();
        send_all(sqs, url, next).await?;
    }
    loading.took = started.elapsed();
    Ok(loading)
}

/// Messages in a queue: visible, in flight and delayed.
async fn depth(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<u64, String> {
    use QueueAttributeName as A;
    crate::stack::queues::count(
        sqs,
        url,
        &[
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesNotVisible,
            A::ApproximateNumberOfMessagesDelayed,
        ],
    )
    .await
}

/// Loads the backlog, waits until it is delivered, and measures (see the module docs).
pub async fn run(
    stack: &LocalStack,
    options: &BackpressureOptions,
    say: &Say,
) -> Result<Backpressure, String> {
    if options.events == 0 || options.rate == 0 {
        return Err("a run needs events and a rate above zero".to_owned());
    }
    let function = stack
        .description
        .function(FUNCTION)
        .ok_or_else(|| format!("{FUNCTION} is not in the stack"))?;
    let instances = function
        .event_sources
        .iter()
        .filter_map(|s| s.get("maximum_concurrency").and_then(|c| c.as_u64()))
        .max()
        .unwrap_or(0);
    if instances != u64::from(INSTANCES) {
        return Err(format!(
            "{FUNCTION}'s event source mapping runs {instances} instances at once, the run's \
             limit share assumes {INSTANCES}"
        ));
    }
    let channel = function
        .environment
        .get("SLACK_CHANNEL")
        .cloned()
        .ok_or_else(|| format!("{FUNCTION} has no SLACK_CHANNEL"))?;
    let queue = stack
        .description
        .events_queue(FUNCTION)
        .ok_or_else(|| format!("{FUNCTION} has no queue"))?
        .to_owned();
    let dlq = stack
        .description
        .dead_letter_queue(FUNCTION)
        .ok_or_else(|| format!("{FUNCTION} has no dead-letter queue"))?
        .to_owned();

    let standin_burst = options.standin_burst();
    stack.slack.set_chaos(None);
    stack
        .slack
        .set_rate(Some(ChannelRate::per_second(options.rate, standin_burst)));

    let bodies = (0..options.events)
        .map(envelope)
        .collect::<Result<Vec<_>, _>>()?;
    say(&format!(
        "loading {} envelopes into {FUNCTION}'s queue; the stand-in takes {}/s burst {} in {channel}, \
         the deliverer keeps SLACK_RATE_LIMIT={} in each of {INSTANCES} instances",
        options.events,
        options.rate,
        standin_burst,
        options.deliverer_limit()
    ));
    let started = Instant::now();
    let expected = Duration::from_secs_f64(options.events as f64 / f64::from(options.rate));
    let limit = expected * 3 + Duration::from_secs(60);
    let sqs = stack.sqs();
    let delivered = async {
        let loading = tokio::time::timeout(limit, async {
            if options.preload {
                preload(sqs, &queue, bodies).await
            } else {
                feed(sqs, &queue, bodies).await
            }
        })
        .await
        .map_err(|_| format!("the backlog was not all sent after {} s", limit.as_secs()))??;
        say(&format!(
            "  every event sent ({:.1} s); waiting for the queue to empty",
            loading.took.as_secs_f64()
        ));
        stack.wait_until_settled(limit).await?;
        Ok::<_, String>(loading)
    };
    tokio::pin!(delivered);
    // A progress line every 10 s.
    let mut tick = tokio::time::interval(Duration::from_secs(10));
    tick.tick().await;
    let loading = loop {
        tokio::select! {
            result = &mut delivered => break result?,
            _ = tick.tick() => {
                let posted = stack.slack.posted().len();
                say(&format!(
                    "  {posted}/{} posted, {} 429s ({:.0} s)",
                    options.events,
                    stack.slack.count(&Outcome::RateLimited),
                    started.elapsed().as_secs_f64()
                ));
            }
        }
    };
    let total = started.elapsed();
    say(&format!(
        "queue empty {:.1} s after the first event was sent",
        total.as_secs_f64()
    ));
    measure(stack, options, &dlq, loading, total).await
}

/// Reads the stand-in, the dead-letter queue and the logs.
async fn measure(
    stack: &LocalStack,
    options: &BackpressureOptions,
    dlq: &str,
    loading: Loading,
    total: Duration,
) -> Result<Backpressure, String> {
    let requests = stack.slack.requests();
    let posted = stack.slack.posted();
    let origin = requests.iter().map(|r| r.at).min();
    let window = |at: Instant| origin.map_or(0, |o| at.saturating_duration_since(o).as_secs());

    let mut rate_limited = BTreeMap::new();
    let mut other_answers = BTreeMap::new();
    for request in &requests {
        match &request.outcome {
            Outcome::Posted => {}
            Outcome::RateLimited => *rate_limited.entry(window(request.at)).or_insert(0) += 1,
            other => *other_answers.entry(format!("{other:?}")).or_insert(0) += 1,
        }
    }
    let mut per_window: HashMap<u64, usize> = HashMap::new();
    for post in &posted {
        *per_window.entry(window(post.at)).or_insert(0) += 1;
    }
    let first = posted.iter().map(|p| p.at).min();
    let last = posted.iter().map(|p| p.at).max();
    let first_to_last = match (first, last) {
        (Some(first), Some(last)) => last - first,
        _ => Duration::ZERO,
    };
    let achieved = if posted.len() > 1 && !first_to_last.is_zero() {
        (posted.len() - 1) as f64 / first_to_last.as_secs_f64()
    } else {
        0.0
    };

    let by_text: HashMap<String, usize> =
        (0..options.events).map(|i| (expected_text(i), i)).collect();
    let mut copies = vec![0usize; options.events];
    let mut unexpected = 0;
    for post in &posted {
        match post.text.as_ref().and_then(|t| by_text.get(t)) {
            Some(index) => copies[*index] += 1,
            None => unexpected += 1,
        }
    }
    let ids_with = |wanted: fn(usize) -> bool| -> Vec<String> {
        copies
            .iter()
            .enumerate()
            .filter(|(_, n)| wanted(**n))
            .map(|(i, _)| event_id(i))
            .collect()
    };

    let dead_lettered = usize::try_from(depth(stack.sqs(), dlq).await?).unwrap_or(usize::MAX);
    let evidence = Evidence::gather(stack).await?;
    let ids: Vec<String> = (0..options.events).map(event_id).collect();
    let handed_back = ids.iter().map(|id| evidence.outcomes(id, "retry")).sum();
    let throttled_in_logs = ids.iter().map(|id| evidence.throttled_retries(id)).sum();

    Ok(Backpressure {
        events: options.events,
        rate: options.rate,
        standin_burst: options.standin_burst(),
        deliverer_limit: options.deliverer_limit(),
        instances: INSTANCES,
        loading,
        total,
        posts: posted.len(),
        first_to_last,
        achieved,
        busiest_window: per_window.values().copied().max().unwrap_or(0),
        rate_limited,
        other_answers,
        delivered_once: copies.iter().filter(|n| **n == 1).count(),
        duplicates: ids_with(|n| n > 1),
        lost: ids_with(|n| n == 0),
        unexpected,
        dead_lettered,
        handed_back,
        throttled_in_logs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_deliverers_share_r_and_the_standin_allows_their_bursts() {
        let options = BackpressureOptions {
            rate: 20,
            deliverer_burst: 2,
            ..BackpressureOptions::default()
        };
        assert_eq!(options.deliverer_limit(), "20/2s burst 2");
        assert_eq!(options.standin_burst(), 5);
        let limit: switchyard::http::RateLimit = options.deliverer_limit().parse().unwrap();
        assert_eq!(limit.burst().get(), 2);
    }

    #[test]
    fn an_envelope_is_one_the_mapping_selects_and_its_text_names_the_event() {
        let body = envelope(41).unwrap();
        let event = CloudEvent::from_json(&body).unwrap();
        assert_eq!((event.source(), event.ty()), ("github", "issues.opened"));
        assert_eq!(event.id(), event_id(41));
        assert!(expected_text(41).contains("#42 bp-41 (by backpressure)"));
    }

    #[test]
    fn windows_after_the_first_count_against_the_run() {
        let mut run = Backpressure {
            events: 1,
            delivered_once: 1,
            ..Backpressure::default()
        };
        run.rate_limited.insert(0, 3);
        assert!(run.passed());
        run.rate_limited.insert(4, 1);
        assert_eq!(run.rate_limited_after_first_window(), 1);
        assert!(!run.passed());
        assert!(run.to_string().contains("s0: 3, s4: 1"));
    }
}
