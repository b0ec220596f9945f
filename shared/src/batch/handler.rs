//! What a deliverer plugs into the runner: the work for one record.

use std::future::Future;

use aws_lambda_events::sqs::SqsMessage;

use crate::error::Error;

/// The per-record work of a deliverer: deliver one SQS record, or say why not.
///
/// The runner owns everything around it — concurrency, panics, partial batch failures,
/// visibility, the dead-letter queue, FIFO order — so an implementation only decides the outcome,
/// through the [`crate::Classification`] of the error it returns:
///
/// * `Ok(())`: done; SQS deletes the record.
/// * throttled / transient: handed back to SQS, redelivered after the `retry_after` or backoff.
/// * permanent / auth: dead-lettered with the reason (auth is final here: refresh the secret and
///   retry inside `handle` first).
///
/// Implement it on a struct holding the function's clients (built once at cold start), writing
/// `async fn handle` in the impl; or wrap a closure with [`handler_fn`]. A handler is shared by
/// the records running concurrently, hence `Send + Sync` and `&self`.
pub trait RecordHandler: Send + Sync {
    /// Delivers one record. The error's `Display` goes to logs and the dead-letter attributes, so
    /// it must not contain secret material.
    fn handle(&self, record: &SqsMessage) -> impl Future<Output = Result<(), Error>> + Send;
}

/// A [`RecordHandler`] made from a closure; see [`handler_fn`].
#[derive(Debug, Clone, Copy)]
pub struct HandlerFn<F>(F);

/// Wraps an `async` closure taking the record by value as a [`RecordHandler`], for handlers
/// that need no state of their own (tests, small functions). The record is cloned per call so
/// the returned future can own it.
///
/// ```
/// use switchyard::batch::handler_fn;
/// use switchyard::Error;
///
/// let handler = handler_fn(|record: aws_lambda_events::sqs::SqsMessage| async move {
///     match record.body.as_deref() {
///         Some("") | None => Err(Error::permanent("empty body")),
///         Some(_) => Ok(()),
///     }
/// });
/// # let _ = handler;
/// ```
pub fn handler_fn<F, Fut>(f: F) -> HandlerFn<F>
where
    F: Fn(SqsMessage) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), Error>> + Send,
{
    HandlerFn(f)
}

impl<F, Fut> RecordHandler for HandlerFn<F>
where
    F: Fn(SqsMessage) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), Error>> + Send,
{
    fn handle(&self, record: &SqsMessage) -> impl Future<Output = Result<(), Error>> + Send {
        (self.0)(record.clone())
    }
}
