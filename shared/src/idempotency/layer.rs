//! The layer: idempotency around any handler, by configuration.
//!
//! In the spirit of tower's `Layer`: an [`IdempotencyLayer`] is built once at cold start (table,
//! windows, integration name) and wraps a handler into an [`Idempotent`] handler, which is a
//! [`RecordHandler`] when the inner one is, and a [`BatchHandler`] when the inner one is. The
//! function's own code does not change.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt as _;

use super::config::{IdempotencyConfig, IdempotencyConfigError};
use super::inflight::{Follower, Join};
use super::keeper::{Begun, Held, Keeper};
use super::ledger::Ledger;
use crate::batch::{BatchHandler, Outcome, Record, RecordHandler};
use crate::error::Error;
use crate::invocation::Invocation;
use crate::unknown_outcome::count_within;

/// Makes handlers idempotent: build once, [`layer`](IdempotencyLayer::layer) each handler.
/// Cheap to clone; clones (and every handler they wrap) share one table of events in flight.
#[derive(Debug, Clone)]
pub struct IdempotencyLayer {
    keeper: Arc<Keeper>,
    ledger: Ledger,
}

impl IdempotencyLayer {
    /// A layer keeping its records in `config`'s table, for `integration` (the first part of
    /// every key: use the function's name, e.g. `slack-notify`, and never change it, or every
    /// recent event becomes new again).
    pub fn new(
        client: aws_sdk_dynamodb::Client,
        config: &IdempotencyConfig,
        integration: impl Into<String>,
    ) -> Self {
        Self {
            ledger: Ledger::new(client.clone(), config.table()),
            keeper: Arc::new(Keeper::new(client, config, integration.into())),
        }
    }

    /// A layer configured by the environment ([`IdempotencyConfig::from_env`]:
    /// `IDEMPOTENCY_TABLE`, `IDEMPOTENCY_WINDOW`, `IDEMPOTENCY_RECORD_TTL`).
    ///
    /// # Errors
    /// As [`IdempotencyConfig::from_env`]: the message names the variable.
    pub fn from_env(
        client: aws_sdk_dynamodb::Client,
        integration: impl Into<String>,
    ) -> Result<Self, IdempotencyConfigError> {
        Ok(Self::new(
            client,
            &IdempotencyConfig::from_env()?,
            integration,
        ))
    }

    /// Wraps `inner`.
    pub fn layer<H>(&self, inner: H) -> Idempotent<H> {
        Idempotent {
            inner,
            keeper: Arc::clone(&self.keeper),
        }
    }

    /// The integration name keys start with.
    pub fn integration(&self) -> &str {
        self.keeper.integration()
    }

    /// The ledger of the same table, to look events up.
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }
}

/// A handler made idempotent by an [`IdempotencyLayer`]: see the [module docs](super) for what
/// it does around each record.
#[derive(Debug)]
pub struct Idempotent<H> {
    inner: H,
    keeper: Arc<Keeper>,
}

impl<H> Idempotent<H> {
    /// The wrapped handler.
    pub fn inner(&self) -> &H {
        &self.inner
    }
}

impl<H: RecordHandler> RecordHandler for Idempotent<H> {
    /// Lock, deliver, record. A copy of an event already in flight in this process waits for it
    /// instead; a record whose body is not an envelope goes straight to the inner handler.
    async fn handle(&self, record: &Record<'_>, invocation: &Invocation) -> Result<Outcome, Error> {
        let Some(identity) = self.keeper.identify(record) else {
            return self.inner.handle(record, invocation).await;
        };
        let leader = match self.keeper.join(&identity) {
            Join::Lead(leader) => leader,
            Join::Follow(follower) => return follower.outcome().await,
        };
        let held = match self
            .keeper
            .begin(leader, &identity, record, invocation)
            .await
        {
            Begun::Locked(held) => held,
            Begun::Settled(result) => return result,
        };
        let (result, unknown) =
            count_within(AssertUnwindSafe(self.inner.handle(record, invocation)).catch_unwind())
                .await;
        match result {
            Ok(result) => {
                self.keeper.finish(held, &result, unknown).await;
                result
            }
            Err(panic) => {
                std::panic::resume_unwind(release(&self.keeper, vec![held], panic, unknown).await)
            }
        }
    }
}

impl<H: BatchHandler> BatchHandler for Idempotent<H> {
    fn max_batch_size(&self) -> usize {
        self.inner.max_batch_size()
    }

    /// Two DynamoDB round trips whatever the number of records: every lock at once, the inner
    /// handler once with the records that may go through, every outcome at once. Copies of an
    /// event within the call follow the first copy, as in the per-record case.
    async fn handle_batch(
        &self,
        records: &[&Record<'_>],
        invocation: &Invocation,
    ) -> Vec<Result<Outcome, Error>> {
        let mut results: Vec<Option<Result<Outcome, Error>>> =
            records.iter().map(|_| None).collect();
        let mut leaders = Vec::new();
        let mut followers: Vec<(usize, Follower)> = Vec::new();
        let mut through: Vec<usize> = Vec::new();
        for (i, record) in records.iter().enumerate() {
            match self.keeper.identify(record) {
                None => through.push(i),
                Some(identity) => match self.keeper.join(&identity) {
                    Join::Lead(leader) => leaders.push((i, identity, leader)),
                    Join::Follow(follower) => followers.push((i, follower)),
                },
            }
        }

        // Round trip 1: every lock in flight at once.
        let keeper = &self.keeper;
        let begun = futures::future::join_all(leaders.into_iter().map(
            |(i, identity, leader)| async move {
                let begun = keeper
                    .begin(leader, &identity, records[i], invocation)
                    .await;
                (i, begun)
            },
        ))
        .await;
        let mut held: Vec<(usize, Held<'_>)> = Vec::new();
        for (i, begun) in begun {
            match begun {
                Begun::Locked(h) => held.push((i, h)),
                Begun::Settled(result) => results[i] = Some(result),
            }
        }

        // The inner handler, once, with the records passed through and the ones locked.
        let mut call: Vec<usize> = through
            .into_iter()
            .chain(held.iter().map(|(i, _)| *i))
            .collect();
        call.sort_unstable();
        // Calls of the batch whose outcome is unknown: one call carries many records, so each
        // record of the batch counts them all (the mark says "possibly").
        let mut unknown = 0;
        if !call.is_empty() {
            let batch: Vec<&Record<'_>> = call.iter().map(|i| records[*i]).collect();
            let (answered, count) = count_within(
                AssertUnwindSafe(self.inner.handle_batch(&batch, invocation)).catch_unwind(),
            )
            .await;
            unknown = count;
            match answered {
                Ok(answers) if answers.len() == call.len() => {
                    for (i, answer) in call.iter().zip(answers) {
                        results[*i] = Some(answer);
                    }
                }
                Ok(answers) => {
                    // The runner would fail them all as transient; do it here, so the locks are
                    // released as failed rather than left to expire.
                    let reason = format!(
                        "the batch handler answered {} results for {} records",
                        answers.len(),
                        call.len()
                    );
                    for i in &call {
                        results[*i] = Some(Err(Error::transient(reason.clone())));
                    }
                }
                Err(panic) => {
                    let held = held.into_iter().map(|(_, h)| h).collect();
                    std::panic::resume_unwind(release(keeper, held, panic, unknown).await);
                }
            }
        }

        // Round trip 2: every outcome written at once.
        futures::future::join_all(held.into_iter().map(|(i, h)| {
            let result = &results[i];
            async move {
                if let Some(result) = result {
                    keeper.finish(h, result, unknown).await;
                }
            }
        }))
        .await;

        // Copies: their leaders have settled by now (here, or in another call).
        for (i, follower) in followers {
            results[i] = Some(follower.outcome().await);
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::transient("no result for the record"))))
            .collect()
    }
}

/// Records the inner handler's panic as a failure on every lock it held (so the next delivery
/// may retry at once instead of waiting for the locks to expire), and gives the panic back for
/// the caller to resume: the runner turns it into a transient failure of the record(s), as for
/// any handler.
async fn release(
    keeper: &Keeper,
    held: Vec<Held<'_>>,
    panic: Box<dyn Any + Send>,
    unknown: u32,
) -> Box<dyn Any + Send> {
    let reason = format!("handler panicked: {}", panic_message(&*panic));
    let failure: Result<Outcome, Error> = Err(Error::transient(reason));
    futures::future::join_all(
        held.into_iter()
            .map(|h| keeper.finish(h, &failure, unknown)),
    )
    .await;
    panic
}

/// The text of a panic payload, else a placeholder.
fn panic_message(payload: &(dyn Any + Send)) -> &str {
    payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("non-string panic payload")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::handler_fn;
    use crate::taxonomy::{Classify, ErrorClass};
    use aws_lambda_events::sqs::SqsMessage;

    /// A layer whose DynamoDB client cannot reach anything: any call fails, so a test that
    /// passes through proves no call was made.
    fn offline_layer() -> IdempotencyLayer {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .build();
        IdempotencyLayer::new(
            aws_sdk_dynamodb::Client::from_conf(config),
            &IdempotencyConfig::new("idempotency"),
            "test",
        )
    }

    fn message(body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some("m-1".into());
        m.body = Some(body.into());
        m
    }

    #[tokio::test]
    async fn a_body_that_is_no_envelope_goes_straight_to_the_handler() {
        let layer = offline_layer();
        let handler = layer.layer(handler_fn(|_m: SqsMessage| async {
            Err::<(), _>(Error::permanent("not an envelope"))
        }));
        let m = message(r#"{"email":"jane@example.com"}"#);
        let record = Record::new(0, &m);
        let error = handler
            .handle(&record, &Invocation::unbounded("r"))
            .await
            .unwrap_err();
        assert_eq!(error.class(), ErrorClass::Permanent);
        assert_eq!(
            error.to_string(),
            "not an envelope",
            "the handler's own error"
        );
        assert_eq!(layer.integration(), "test");
    }

    #[test]
    fn panic_messages_are_read_from_both_payload_kinds() {
        let literal = std::panic::catch_unwind(|| panic!("boom")).unwrap_err();
        assert_eq!(panic_message(&*literal), "boom");
        let formatted = std::panic::catch_unwind(|| panic!("boom {}", 7)).unwrap_err();
        assert_eq!(panic_message(&*formatted), "boom 7");
        let other = std::panic::catch_unwind(|| std::panic::panic_any(7u8)).unwrap_err();
        assert_eq!(panic_message(&*other), "non-string panic payload");
    }
}
