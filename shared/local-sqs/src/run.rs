//! The run loop: per mapping, gather a batch, invoke, settle, delete; up to
//! `max_concurrency` batches in flight; stop on request.
//!
//! Each mapping has one gathering loop. It takes a concurrency permit *before* receiving, so
//! no more than `max_concurrency` batches are ever received-but-unfinished (records are never
//! taken off the queue only to wait for a free slot while their visibility timeout runs). A
//! gathered batch is handed to its own task, which invokes, settles
//! ([`crate::response::settle`]), deletes the completed records and reports one line.
//!
//! Stopping ([`Shutdown`]): `stop` ends gathering at once (a receive in progress is dropped;
//! records it had taken reappear after their visibility timeout, records already gathered are
//! released with visibility 0) and lets invocations in flight finish; `abandon` also drops the
//! invocations in flight, deleting nothing for them (their records reappear after their
//! visibility timeout, as after a timed-out invocation).
//!
//! Receive failures (emulator down, queue deleted) are logged and retried after a pause that
//! doubles from [`RETRY_PAUSE`] up to [`MAX_RETRY_PAUSE`].

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::acknowledge;
use crate::batch::gather;
use crate::config::{ConfigError, MappingConfig};
use crate::event::event;
use crate::fifo::GroupGate;
use crate::invoke::{InvokeError, Invoker};
use crate::progress::{BatchReport, Progress, queue_name};
use crate::queue::{QueueInfo, describe};
use crate::receive::{FIFO_MAX_WAIT, SqsSource};
use crate::response::settle;
use crate::sqs_error::SqsError;

/// First pause after a failed receive.
pub const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// Longest pause between failed receives.
pub const MAX_RETRY_PAUSE: Duration = Duration::from_secs(30);

/// The two stages of stopping.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    /// Stop receiving; let invocations in flight finish.
    pub stop: CancellationToken,
    /// Drop invocations in flight too.
    pub abandon: CancellationToken,
}

/// A mapping whose queue has been looked up and whose settings are valid for it.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// The settings.
    pub config: MappingConfig,
    /// The queue polled.
    pub queue: QueueInfo,
}

/// A mapping that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Its settings are ones AWS would refuse.
    #[error("{function} <- {queue_url}: {source}")]
    Config {
        /// The function.
        function: String,
        /// The queue.
        queue_url: String,
        /// What is wrong.
        #[source]
        source: ConfigError,
    },
    /// Its queue cannot be read.
    #[error(transparent)]
    Queue(#[from] SqsError),
    /// Its invoker cannot be built.
    #[error(transparent)]
    Invoke(#[from] InvokeError),
}

impl switchyard::Classify for SetupError {
    fn classification(&self) -> switchyard::Classification {
        match self {
            Self::Config { source, .. } => source.classification(),
            Self::Queue(e) => e.classification(),
            Self::Invoke(e) => e.classification(),
        }
    }
}

/// Looks up the queue of every mapping and checks its settings against the queue's type.
pub async fn prepare(
    client: &aws_sdk_sqs::Client,
    configs: Vec<MappingConfig>,
) -> Result<Vec<Mapping>, SetupError> {
    let mut mappings = Vec::with_capacity(configs.len());
    for config in configs {
        let queue = describe(client, &config.queue_url).await?;
        config
            .validate(queue.fifo)
            .map_err(|source| SetupError::Config {
                function: config.function_name.clone(),
                queue_url: config.queue_url.clone(),
                source,
            })?;
        mappings.push(Mapping { config, queue });
    }
    Ok(mappings)
}

/// Totals over a run, for the closing line and for tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    /// Batches invoked (abandoned ones included).
    pub batches: usize,
    /// Records deleted.
    pub delivered: usize,
    /// Records left for redelivery.
    pub failed: usize,
}

#[derive(Debug, Default)]
struct Counters {
    batches: AtomicUsize,
    delivered: AtomicUsize,
    failed: AtomicUsize,
}

impl Counters {
    fn add(&self, report: &BatchReport) {
        self.batches.fetch_add(1, Ordering::Relaxed);
        self.delivered
            .fetch_add(report.delivered, Ordering::Relaxed);
        self.failed.fetch_add(report.failed, Ordering::Relaxed);
    }

    fn summary(&self) -> RunSummary {
        RunSummary {
            batches: self.batches.load(Ordering::Relaxed),
            delivered: self.delivered.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }
}

/// Polls every mapping until `shutdown.stop`, then waits for (or, on `shutdown.abandon`,
/// drops) the invocations in flight.
pub async fn run(
    client: aws_sdk_sqs::Client,
    invoke_base_url: &str,
    mappings: Vec<Mapping>,
    progress: Progress,
    shutdown: Shutdown,
) -> Result<RunSummary, SetupError> {
    let http = reqwest::Client::builder()
        .connect_timeout(crate::invoke::CONNECT_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| InvokeError::Setup(e.to_string()))?;
    let counters = Arc::new(Counters::default());
    let mut pollers = JoinSet::new();
    for mapping in mappings {
        let invoker = Invoker::with_client(
            http.clone(),
            invoke_base_url,
            &mapping.config.function_name,
            mapping.config.invocation_timeout,
        );
        pollers.spawn(poll(
            client.clone(),
            invoker,
            mapping,
            progress.clone(),
            shutdown.clone(),
            counters.clone(),
        ));
    }
    while let Some(joined) = pollers.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a mapping's poller ended abnormally");
        }
    }
    Ok(counters.summary())
}

/// One mapping's gathering loop; returns when stopped and its batches are finished.
async fn poll(
    client: aws_sdk_sqs::Client,
    invoker: Invoker,
    mapping: Mapping,
    progress: Progress,
    shutdown: Shutdown,
    counters: Arc<Counters>,
) {
    let Mapping { config, queue } = mapping;
    let mut source = SqsSource::new(client.clone(), queue.url.clone());
    if queue.fifo {
        source = source.with_max_wait(FIFO_MAX_WAIT);
    }
    let permits = Arc::new(Semaphore::new(
        usize::try_from(config.max_concurrency).unwrap_or(1),
    ));
    let gate = queue.fifo.then(GroupGate::new);
    let batch = Arc::new(BatchContext {
        client,
        invoker,
        config: config.clone(),
        queue: queue.clone(),
        progress,
        abandon: shutdown.abandon.clone(),
        counters,
    });
    let mut in_flight = JoinSet::new();
    let mut pause = RETRY_PAUSE;
    loop {
        while in_flight.try_join_next().is_some() {}
        let permit = tokio::select! {
            biased;
            () = shutdown.stop.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let gathered = match gather(
            &source,
            config.batch_size,
            config.batching_window,
            &shutdown.stop,
        )
        .await
        {
            Ok(gathered) => gathered,
            Err(e) => {
                tracing::warn!(function = %config.function_name, error = %e, retry_in = ?pause, "receive failed");
                tokio::select! {
                    () = shutdown.stop.cancelled() => break,
                    () = tokio::time::sleep(pause) => {}
                }
                pause = (pause * 2).min(MAX_RETRY_PAUSE);
                continue;
            }
        };
        pause = RETRY_PAUSE;
        if gathered.stopped {
            release(&batch, &gathered.messages).await;
            break;
        }
        if gathered.messages.is_empty() {
            continue;
        }
        let groups = match &gate {
            Some(gate) => Some(gate.acquire(message_groups(&gathered.messages)).await),
            None => None,
        };
        let batch = batch.clone();
        in_flight.spawn(async move {
            batch.process(gathered.messages).await;
            drop(groups);
            drop(permit);
        });
    }
    while let Some(joined) = in_flight.join_next().await {
        if let Err(e) = joined {
            tracing::error!(error = %e, "a batch task ended abnormally");
        }
    }
}

/// The distinct message groups of a FIFO batch, in order of appearance.
fn message_groups(messages: &[Message]) -> Vec<String> {
    let mut groups: Vec<String> = Vec::new();
    for m in messages {
        if let Some(g) = m
            .attributes
            .as_ref()
            .and_then(|a| a.get(&MessageSystemAttributeName::MessageGroupId))
            && !groups.contains(g)
        {
            groups.push(g.clone());
        }
    }
    groups
}

fn receipt_handles<'a>(messages: impl IntoIterator<Item = &'a Message>) -> Vec<String> {
    messages
        .into_iter()
        .filter_map(|m| m.receipt_handle.clone())
        .collect()
}

async fn release(batch: &BatchContext, messages: &[Message]) {
    if messages.is_empty() {
        return;
    }
    match acknowledge::release(&batch.client, &batch.queue.url, &receipt_handles(messages)).await {
        Ok(done) => tracing::info!(
            function = %batch.config.function_name,
            released = done.succeeded,
            "stopped while gathering: records made visible again"
        ),
        Err(e) => {
            tracing::warn!(error = %e, "cannot release gathered records; they reappear after their visibility timeout")
        }
    }
}

/// What every batch of one mapping shares.
struct BatchContext {
    client: aws_sdk_sqs::Client,
    invoker: Invoker,
    config: MappingConfig,
    queue: QueueInfo,
    progress: Progress,
    abandon: CancellationToken,
    counters: Arc<Counters>,
}

impl BatchContext {
    /// Invokes, settles and deletes one batch, then reports it.
    async fn process(&self, messages: Vec<Message>) {
        let started = Instant::now();
        let event = event(&messages, &self.queue.arn, &self.queue.region);
        let outcome = tokio::select! {
            biased;
            () = self.abandon.cancelled() => None,
            outcome = self.invoker.invoke(&event) => Some(outcome),
        };
        let mut report = BatchReport {
            function: self.config.function_name.clone(),
            queue: queue_name(&self.queue.url).to_string(),
            records: messages.len(),
            delivered: 0,
            failed: messages.len(),
            reason: None,
            duration: Duration::ZERO,
        };
        match outcome {
            None => report.reason = Some("abandoned on stop".to_string()),
            Some(outcome) => {
                let settlement = settle(
                    &event.records,
                    &outcome,
                    self.config.report_batch_item_failures,
                );
                report.reason = settlement.failure.as_ref().map(ToString::to_string);
                let handles =
                    receipt_handles(settlement.done.iter().filter_map(|i| messages.get(*i)));
                if !handles.is_empty() {
                    match acknowledge::delete(&self.client, &self.queue.url, &handles).await {
                        Ok(done) => {
                            report.delivered = done.succeeded;
                            if !done.refused.is_empty() {
                                let refused =
                                    format!("delete refused: {}", done.refused.join("; "));
                                report.reason = Some(match report.reason.take() {
                                    Some(r) => format!("{r}; {refused}"),
                                    None => refused,
                                });
                            }
                        }
                        Err(e) => {
                            report.reason = Some(format!("delete failed: {e}"));
                        }
                    }
                }
                report.failed = messages.len() - report.delivered;
            }
        }
        report.duration = started.elapsed();
        self.counters.add(&report);
        (self.progress)(&report);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_listed_once_in_order() {
        let m = |id: &str, g: &str| {
            Message::builder()
                .message_id(id)
                .attributes(MessageSystemAttributeName::MessageGroupId, g)
                .build()
        };
        let messages = [
            m("1", "b"),
            m("2", "a"),
            m("3", "b"),
            Message::builder().build(),
        ];
        assert_eq!(message_groups(&messages), ["b", "a"]);
    }
}
