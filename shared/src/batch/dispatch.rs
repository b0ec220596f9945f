//! Driving the handler over a batch: who runs when, under which time limit, and how often.
//!
//! Both handler kinds go through the same guards:
//!
//! - **Nothing starts too late.** A record (or a batch call) starts only while at least the
//!   runner's start margin is left before the invocation's cutoff; the rest are
//!   [`Verdict::NotStarted`] and go back to SQS at once, unprocessed, instead of being cut off
//!   with the whole batch when Lambda's deadline strikes.
//! - **Nothing starts after a shutdown request.** Once the runner's
//!   [`Shutdown`](crate::shutdown::Shutdown) is requested (SIGTERM/SIGINT), records not
//!   started yet are [`Verdict::NotStarted`] too; the ones running finish (one atomic load per
//!   record start).
//! - **Nothing runs past the cutoff.** Every handler call runs under a timeout ending at the
//!   cutoff; a call cut there fails its records as transient.
//! - **Panics stay local.** A panicking call fails its own records (transient), never the batch.
//! - **Retries inside the invocation.** Throttled and transient failures are tried again with the
//!   kit's [`retry`](crate::retry) policy while the cutoff allows (the server's `Retry-After`
//!   honoured); only then does the runner hand them back to SQS. A batch handler is called again
//!   with just the records that failed retryably.
//! - **FIFO order.** Per-record handlers run each message group one record at a time; batch
//!   handlers get rounds with at most one record per group. A group stops at its first record
//!   that is handed back; the rest are [`Verdict::Blocked`].

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::{FutureExt, StreamExt};
use tracing::Instrument;

use super::fifo::{Unit, plan};
use super::handler::{BatchHandler, RecordHandler};
use super::metrics::HANDLER_LATENCY;
use super::outcome::Outcome;
use super::record::Record;
use super::runner::BatchRunner;
use crate::error::Error;
use crate::invocation::Invocation;
use crate::taxonomy::{Classification, Classify, ErrorClass};

/// What became of a record before the runner settles it.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The handler is done with it.
    Done(Outcome),
    /// The handler failed it (after any retries inside the invocation).
    Failed(Error),
    /// Not started: too close to the invocation's cutoff, or the function is shutting down.
    NotStarted(Unstarted),
    /// Not processed: an earlier record of its FIFO message group was handed back.
    Blocked,
}

/// Why a record was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unstarted {
    /// Less than the start margin was left before the invocation's cutoff.
    Cutoff,
    /// The function was asked to shut down.
    Shutdown,
}

impl Verdict {
    /// Whether the record goes back to SQS without being settled another way, which stops its
    /// FIFO group. Permanent failures do not: they are dead-lettered and the group goes on.
    fn hands_back(&self) -> bool {
        match self {
            Verdict::Done(_) => false,
            Verdict::Failed(e) => e.class() != ErrorClass::Permanent,
            Verdict::NotStarted(_) | Verdict::Blocked => true,
        }
    }

    fn from_result(result: Result<Outcome, Error>) -> Self {
        match result {
            Ok(outcome) => Verdict::Done(outcome),
            Err(error) => Verdict::Failed(error),
        }
    }
}

impl BatchRunner {
    /// Why a record (or batch call) may not start now, if it may not: the shutdown request
    /// first (an atomic load), then the time left.
    fn may_not_start(&self, invocation: &Invocation) -> Option<Unstarted> {
        if self.shutdown.is_requested() {
            Some(Unstarted::Shutdown)
        } else if !invocation.has_time_for(self.start_margin) {
            Some(Unstarted::Cutoff)
        } else {
            None
        }
    }

    /// Runs a per-record handler over `records`: units concurrently (bounded), each unit's
    /// records in order. Returns one verdict per record, by index.
    pub(crate) async fn dispatch_records<H: RecordHandler>(
        &self,
        records: &[Record<'_>],
        invocation: &Invocation,
        handler: &H,
    ) -> Vec<Verdict> {
        let units = plan(records);
        let mut verdicts: Vec<(usize, Verdict)> = futures::stream::iter(units)
            .map(|unit| self.run_unit(unit, invocation, handler))
            .buffer_unordered(self.max_concurrency)
            .flat_map(futures::stream::iter)
            .collect()
            .await;
        verdicts.sort_by_key(|(index, _)| *index);
        verdicts.into_iter().map(|(_, v)| v).collect()
    }

    async fn run_unit<H: RecordHandler>(
        &self,
        unit: Unit<'_, '_>,
        invocation: &Invocation,
        handler: &H,
    ) -> Vec<(usize, Verdict)> {
        let mut out = Vec::with_capacity(unit.records.len());
        let mut stopped = false;
        for record in unit.records {
            let verdict = if stopped {
                Verdict::Blocked
            } else if let Some(why) = self.may_not_start(invocation) {
                Verdict::NotStarted(why)
            } else {
                self.run_record(record, invocation, handler)
                    .instrument(super::runner::record_span(record))
                    .await
            };
            stopped |= unit.ordered && verdict.hands_back();
            out.push((record.index(), verdict));
        }
        out
    }

    /// One record through the handler, retried inside the invocation while that can help.
    async fn run_record<H: RecordHandler>(
        &self,
        record: &Record<'_>,
        invocation: &Invocation,
        handler: &H,
    ) -> Verdict {
        let result = invocation
            .retry(&self.retry, || {
                self.guarded(invocation, 1, handler.handle(record, invocation))
            })
            .await;
        Verdict::from_result(result)
    }

    /// Runs a batch handler over `records` in rounds (see the module docs). Returns one verdict
    /// per record, by index.
    pub(crate) async fn dispatch_batch<H: BatchHandler>(
        &self,
        records: &[Record<'_>],
        invocation: &Invocation,
        handler: &H,
    ) -> Vec<Verdict> {
        let mut verdicts: Vec<Option<Verdict>> = records.iter().map(|_| None).collect();
        // Each unit's records not yet sent, front first.
        let mut units: Vec<_> = plan(records)
            .into_iter()
            .map(|u| (u.ordered, std::collections::VecDeque::from(u.records)))
            .collect();
        let max = handler.max_batch_size().max(1);
        loop {
            // The next record of every unit that has one: (unit, record).
            let round: Vec<(usize, &Record<'_>)> = units
                .iter_mut()
                .enumerate()
                .filter_map(|(u, (_, pending))| pending.pop_front().map(|r| (u, r)))
                .collect();
            if round.is_empty() {
                break;
            }
            for chunk in round.chunks(max) {
                let records: Vec<&Record<'_>> = chunk.iter().map(|(_, r)| *r).collect();
                if let Some(why) = self.may_not_start(invocation) {
                    for record in &records {
                        verdicts[record.index()] = Some(Verdict::NotStarted(why));
                    }
                } else {
                    let results = self.run_call(&records, invocation, handler).await;
                    for (record, verdict) in records.iter().zip(results) {
                        verdicts[record.index()] = Some(verdict);
                    }
                }
            }
            // A FIFO group whose record goes back stops: its later records are blocked.
            for (u, record) in round {
                let (ordered, pending) = &mut units[u];
                let handed_back = verdicts[record.index()]
                    .as_ref()
                    .is_some_and(Verdict::hands_back);
                if *ordered && handed_back {
                    for later in pending.drain(..) {
                        verdicts[later.index()] = Some(Verdict::Blocked);
                    }
                }
            }
        }
        verdicts
            .into_iter()
            .map(|v| v.unwrap_or(Verdict::NotStarted(Unstarted::Cutoff)))
            .collect()
    }

    /// One batch call for `chunk`, then calls with the records that failed retryably, while
    /// the retry policy and the cutoff allow.
    async fn run_call<H: BatchHandler>(
        &self,
        chunk: &[&Record<'_>],
        invocation: &Invocation,
        handler: &H,
    ) -> Vec<Verdict> {
        let mut results: Vec<Result<Outcome, Error>> =
            self.call_batch(chunk, invocation, handler).await;
        let mut delays = self.retry.delays();
        loop {
            let retryable: Vec<usize> = results
                .iter()
                .enumerate()
                .filter(|(_, r)| r.as_ref().is_err_and(|e| e.class().is_retryable()))
                .map(|(i, _)| i)
                .collect();
            if retryable.is_empty() {
                break;
            }
            // The longest server delay among them decides the pause for all.
            let failure = retryable
                .iter()
                .filter_map(|i| results[*i].as_ref().err())
                .map(Classify::classification)
                .max_by_key(|c| c.retry_after)
                .unwrap_or_else(Classification::transient);
            let Some(scheduled) = delays.next() else {
                break;
            };
            let now = tokio::time::Instant::now().into_std();
            let Some(pause) = self
                .retry
                .pause(failure, scheduled, now, invocation.cutoff())
            else {
                break;
            };
            tracing::warn!(
                records = retryable.len(),
                class = %failure.class,
                pause_ms = u64::try_from(pause.as_millis()).unwrap_or(u64::MAX),
                "batch call failed for some records, retrying them"
            );
            tokio::time::sleep(pause).await;
            let again: Vec<&Record<'_>> = retryable.iter().map(|i| chunk[*i]).collect();
            let retried = self.call_batch(&again, invocation, handler).await;
            for (i, result) in retryable.into_iter().zip(retried) {
                results[i] = result;
            }
        }
        results.into_iter().map(Verdict::from_result).collect()
    }

    /// One guarded batch call: exactly one result per record, whatever the handler does.
    async fn call_batch<H: BatchHandler>(
        &self,
        chunk: &[&Record<'_>],
        invocation: &Invocation,
        handler: &H,
    ) -> Vec<Result<Outcome, Error>> {
        let span = tracing::error_span!("batch_call", records = chunk.len());
        let call = async { Ok::<_, Error>(handler.handle_batch(chunk, invocation).await) };
        match self
            .guarded(invocation, chunk.len(), call)
            .instrument(span)
            .await
        {
            Ok(results) if results.len() == chunk.len() => results,
            Ok(results) => {
                tracing::error!(
                    expected = chunk.len(),
                    got = results.len(),
                    "the batch handler answered the wrong number of results; handing the records back"
                );
                let reason = format!(
                    "the batch handler answered {} results for {} records",
                    results.len(),
                    chunk.len()
                );
                chunk
                    .iter()
                    .map(|_| Err(Error::transient(reason.clone())))
                    .collect()
            }
            Err(error) => {
                let reason = error.to_string();
                let class = error.classification();
                chunk
                    .iter()
                    .map(|_| Err(Error::classified(class, reason.clone())))
                    .collect()
            }
        }
    }

    /// Runs one handler call as the current invocation, under a timeout ending at the cutoff,
    /// with a panic turned into a transient error; records its latency.
    async fn guarded<T>(
        &self,
        invocation: &Invocation,
        records: usize,
        call: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let call = AssertUnwindSafe(invocation.scope(call)).catch_unwind();
        let result = match invocation.cutoff() {
            Some(cutoff) => tokio::time::timeout_at(cutoff.into(), call).await,
            None => Ok(call.await),
        };
        if let Some(metrics) = &self.metrics {
            metrics.latency(HANDLER_LATENCY, started.elapsed());
        }
        match result {
            Ok(Ok(result)) => result,
            Ok(Err(panic)) => Err(Error::transient(format!(
                "handler panicked: {}",
                panic_message(&*panic)
            ))),
            Err(_) => Err(Error::transient(format!(
                "the handler call ({records} record(s)) was cut off at the invocation's cutoff, {} before the deadline",
                humantime::format_duration(invocation.reserve())
            ))),
        }
    }
}

/// The text of a panic payload (`panic!` with a literal or a format string), else a placeholder.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

/// The start margin's default: a record is not started with less than this left before the
/// cutoff (a call that cannot finish only costs a cut-off and a redelivery).
pub const DEFAULT_START_MARGIN: Duration = Duration::from_secs(1);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        let literal = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
        assert_eq!(panic_message(&*literal), "boom");
        let formatted = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(panic_message(&*formatted), "boom 7");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(panic_message(&*other), "non-string panic payload");
    }

    #[test]
    fn only_permanent_failures_and_outcomes_let_a_fifo_group_go_on() {
        assert!(!Verdict::Done(Outcome::delivered()).hands_back());
        assert!(!Verdict::Failed(Error::permanent("x")).hands_back());
        assert!(Verdict::Failed(Error::transient("x")).hands_back());
        assert!(Verdict::Failed(Error::classified(Classification::auth(), "x")).hands_back());
        assert!(Verdict::NotStarted(Unstarted::Cutoff).hands_back());
        assert!(Verdict::NotStarted(Unstarted::Shutdown).hands_back());
        assert!(Verdict::Blocked.hands_back());
    }
}
