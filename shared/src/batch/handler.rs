//! What a deliverer plugs into the runner: the work for one record, or for a whole batch.
//!
//! Two kinds, one contract. A [`RecordHandler`] delivers one record per call — the simple case,
//! and the right one for APIs without batch endpoints (Slack's `chat.postMessage`). A
//! [`BatchHandler`] takes several records per call and answers per record — for APIs with batch
//! endpoints (HubSpot's batch upsert: one call for ten contacts). Either way the handler only
//! decides each record's result, `Result<Outcome, Error>`; the runner owns everything around it:
//! concurrency, deadlines, panics, in-invocation retries, FIFO order, partial batch failures,
//! visibility, the dead-letter queue and metrics.
//!
//! Both kinds get the [`Invocation`] (its cutoff bounds any waiting they do, see
//! [`Invocation::retry`]) and [`Record`]s, whose envelope is parsed once however many layers
//! read it.

use std::future::Future;

use aws_lambda_events::sqs::SqsMessage;

use super::outcome::Outcome;
use super::record::Record;
use crate::error::Error;
use crate::invocation::Invocation;

/// The per-record work of a deliverer: deliver one record, or say why not.
///
/// * `Ok(outcome)`: done (delivered, skipped, or a duplicate); SQS deletes the record.
/// * `Err(e)`, by `e`'s class: throttled / transient are retried inside the invocation while
///   time allows, then handed back to SQS on the redelivery schedule (the server's
///   `Retry-After` first); auth is a failure of the function's credentials, handed back on the
///   long end of the schedule (refresh the secret and retry inside `handle` first); permanent
///   is dead-lettered with the reason.
///
/// Implement it on a struct holding the function's clients (built once at cold start), writing
/// `async fn handle` in the impl; or wrap a closure with [`handler_fn`]. A handler is shared by
/// the records running concurrently, hence `Send + Sync` and `&self`.
pub trait RecordHandler: Send + Sync {
    /// Delivers one record. The error's `Display` goes to logs and the dead-letter attributes,
    /// so it must hold neither secrets nor payload values.
    fn handle(
        &self,
        record: &Record<'_>,
        invocation: &Invocation,
    ) -> impl Future<Output = Result<Outcome, Error>> + Send;
}

/// The batch work of a deliverer: deliver several records in one call, answering per record.
///
/// The runner calls it with at most [`max_batch_size`](BatchHandler::max_batch_size) records
/// and expects exactly one result per record, in the order given (a wrong count fails every
/// record of the call as transient: nothing is lost, and the log says why). It may be called
/// again within the invocation with the records that failed retryably.
///
/// **FIFO queues.** A call never holds two records of one message group: the runner calls in
/// rounds, each with at most the next record of every group, so a group's second record is
/// only sent once its first is done, and a group stops at its first record handed back (its
/// later records are handed back unprocessed, in order). Standard records all go in the first
/// round.
pub trait BatchHandler: Send + Sync {
    /// The most records one call may take (the API's batch limit); the runner splits larger
    /// batches. Unlimited by default.
    fn max_batch_size(&self) -> usize {
        usize::MAX
    }

    /// Delivers `records`, answering one result per record in the same order.
    fn handle_batch(
        &self,
        records: &[&Record<'_>],
        invocation: &Invocation,
    ) -> impl Future<Output = Vec<Result<Outcome, Error>>> + Send;
}

/// A [`RecordHandler`] made from a closure; see [`handler_fn`].
#[derive(Debug, Clone, Copy)]
pub struct HandlerFn<F>(F);

/// Wraps an `async` closure taking the SQS message by value as a [`RecordHandler`], for
/// handlers that need no state of their own (tests, small functions). The message is cloned per
/// call so the returned future can own it. The closure may answer `Ok(())` (delivered) or any
/// [`Outcome`].
///
/// ```
/// use switchyard::batch::handler_fn;
/// use switchyard::Error;
///
/// let handler = handler_fn(|message: aws_lambda_events::sqs::SqsMessage| async move {
///     match message.body.as_deref() {
///         Some("") | None => Err(Error::permanent("empty body")),
///         Some(_) => Ok(()),
///     }
/// });
/// # let _ = handler;
/// ```
pub fn handler_fn<F, Fut, O>(f: F) -> HandlerFn<F>
where
    F: Fn(SqsMessage) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, Error>> + Send,
    O: Into<Outcome>,
{
    HandlerFn(f)
}

impl<F, Fut, O> RecordHandler for HandlerFn<F>
where
    F: Fn(SqsMessage) -> Fut + Send + Sync,
    Fut: Future<Output = Result<O, Error>> + Send,
    O: Into<Outcome>,
{
    async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, Error> {
        (self.0)(record.message().clone()).await.map(Into::into)
    }
}
