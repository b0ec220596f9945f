//! Idempotency for deliverers, and the delivery ledger: a redelivered event is not delivered
//! twice, and each event's fate can be looked up.
//!
//! SQS delivers at least once, providers re-send webhooks for days, and the runner itself hands
//! records back; without idempotency a redelivery posts the same Slack message twice. The
//! [`IdempotencyLayer`] wraps any handler, per-record or batch, into an [`Idempotent`] one, so
//! a function gets idempotency by configuration, not by code:
//!
//! ```no_run
//! use switchyard::batch::{Outcome, Record, RecordHandler};
//! use switchyard::deliverer::Deliverer;
//! use switchyard::idempotency::IdempotencyLayer;
//! use switchyard::invocation::Invocation;
//!
//! struct Notify;
//!
//! impl RecordHandler for Notify {
//!     async fn handle(&self, record: &Record<'_>, _: &Invocation) -> Result<Outcome, switchyard::Error> {
//!         let _event = record.envelope()?;
//!         Ok(Outcome::delivered_as("1763700000.000100")) // Slack's `ts`: kept in the ledger
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), lambda_runtime::Error> {
//!     let aws = switchyard::aws::load_config().await;
//!     // IDEMPOTENCY_TABLE, IDEMPOTENCY_WINDOW, IDEMPOTENCY_RECORD_TTL
//!     let idempotency = IdempotencyLayer::from_env(aws_sdk_dynamodb::Client::new(&aws), "slack-notify")?;
//!     Deliverer::from_env(&aws)?.run(idempotency.layer(Notify)).await
//! }
//! ```
//!
//! # Keys
//!
//! An event is its envelope's `source` + `id` (CloudEvents' own identity), scoped by the
//! integration name given to the layer: `slack-notify#stripe#evt_123` ([`key()`]). Two functions
//! delivering one event to two places each deliver it once, and can share a table. A record
//! whose body is not a valid envelope has no key: it passes through untouched, and the inner
//! handler fails it as permanent, as it would without the layer.
//!
//! # The item
//!
//! One DynamoDB item per key (table: String partition key `id`, TTL on `expiration`) is both the
//! lock and the ledger ([`item`] has the names as constants). Times are epoch milliseconds
//! unless said otherwise.
//!
//! | attribute | type | meaning |
//! |---|---|---|
//! | `id` | S | the key |
//! | `status` | S | `INPROGRESS`, `COMPLETED` or `FAILED` |
//! | `in_progress_expiration` | N | when the lock expires (the invocation's deadline); only while `INPROGRESS` |
//! | `validation` | S | hex SHA-256 of the envelope's `data` as it travels ([`payload_hash`]) |
//! | `expiration` | N | **epoch seconds**: last write + the record TTL; DynamoDB's TTL deletes the item after it |
//! | `integration`, `source`, `event_type`, `event_id` | S | who delivers, and which event (type and id from the envelope) |
//! | `attempts` | N | locks taken for the key: one per delivery attempt, abandoned ones included |
//! | `outcome` | S | `delivered`, `skipped` (or `duplicate`, when the handler itself said so); only while `COMPLETED` |
//! | `destination_id` | S | the destination's id for what the delivery made (Slack's `ts`), when it gave one |
//! | `note` | S | what a delivery left out and why ("owner not found for the e-mail"), when the handler said so |
//! | `skip_reason` | S | why there was nothing to do, for `skipped` |
//! | `last_error_class`, `last_error_reason` | S | the last failed attempt's class and reason (the error's `Display`, truncated to 512 characters, no payload values); kept after a later success |
//! | `unknown_outcomes` | N | calls whose outcome is unknown, over all attempts (at least): a timeout or a lost answer after the request went out ([`crate::unknown_outcome`]), or an attempt abandoned mid-delivery (a crash, a cut-off; counted by the attempt that takes its lock over); absent when none |
//! | `possible_duplicate` | BOOL | `true` when the event was delivered after such a call, to a destination that does not make repeats harmless ([`IdempotencyConfig::with_idempotent_destination`]): it may show there twice (`switchyard trace` says so) |
//! | `request_id` | S | the Lambda request id of the last invocation that took the lock |
//! | `message_id` | S | the SQS message id of the last attempt |
//! | `created_at` | N | the first lock |
//! | `updated_at` | N | the last write |
//! | `completed_at` | N | when the outcome was recorded; only while `COMPLETED` |
//!
//! The names follow Powertools' layout where they overlap (`id`, `expiration`, `status`,
//! `in_progress_expiration`, `validation`).
//!
//! # The state machine
//!
//! Each delivery first takes the lock: one conditional `UpdateItem` that sets `INPROGRESS`,
//! the lock's expiry and the attempt's facts, and adds one to `attempts` — if the record allows
//! it. If not, DynamoDB returns the record, and [`decide`] says why (`W` is the window):
//!
//! | stored record (at the time of the delivery) | same payload | other payload |
//! |---|---|---|
//! | none | take the lock, deliver | — |
//! | `COMPLETED` within `W` | **duplicate**: `Outcome::Duplicate`, the handler is not called | **permanent** error: "same event id, different payload" (dead-lettered) |
//! | `COMPLETED` more than `W` ago | take the lock, deliver again (a new delivery) | take the lock, deliver |
//! | `FAILED` | take the lock, retry | permanent error, unless last written more than `W` ago (then: deliver) |
//! | `INPROGRESS`, lock expired (abandoned) | take the lock, retry | as `FAILED` |
//! | `INPROGRESS`, lock live | **transient** error: handed back; by its next delivery the event is done or free | permanent error |
//!
//! After the inner handler, one conditional `UpdateItem` (on still holding the lock: status
//! `INPROGRESS` and this request id) records the result and removes the lock:
//!
//! | handler result | record |
//! |---|---|
//! | `Ok(Delivered { destination_id, note })` / `Ok(Skipped { reason })` | `COMPLETED`, `outcome`, `destination_id` and `note` / `skip_reason`, `completed_at` |
//! | `Err(e)`, any class | `FAILED`, `last_error_class`, `last_error_reason`: the next delivery (the runner's retry, SQS's redelivery) takes the lock again |
//! | a panic | `FAILED` with "handler panicked: …", then the panic goes on to the runner |
//!
//! The handler's result is returned either way, so the runner retries, hands back or
//! dead-letters the record as usual. If that write fails (or the lock was lost, see below) it is
//! logged and the result stands.
//!
//! When DynamoDB is unavailable, throttles or refuses, the record fails with that
//! classification ([`aws::errors`](crate::aws::errors), with DynamoDB's own throttling codes
//! and a missing table — the function's configuration, counted as a function failure — read
//! first): nothing is delivered without its lock.
//!
//! **Copies in one process.** Two copies of an event in one batch (or in two concurrent calls
//! of one layer) do not race in DynamoDB: the second waits in memory for the first and answers
//! `Duplicate` if it succeeded, or its failure if not. So two copies in one batch
//! deliver once and count one `delivered` and one `deduped`.
//!
//! # Windows
//!
//! * **Lock**: until the invocation's deadline (15 minutes without one). Lambda stops the
//!   function at its deadline, so a lock outliving its holder is abandoned, and taken again.
//! * **Dedup window** (`IDEMPOTENCY_WINDOW`, default 72 h): a completed event is a duplicate
//!   for this long after completion. Checked in code and in the lock's condition, never left to
//!   TTL, which deletes up to 48 hours late.
//! * **Record TTL** (`IDEMPOTENCY_RECORD_TTL`, default 7 days, at least the window): each write
//!   sets `expiration` to now + TTL, so the ledger outlives the window.
//!
//! # Cost
//!
//! Two DynamoDB writes per event (lock, outcome), each a single-item `UpdateItem` (1 WCU up to
//! 1 KB). In latency, a batch costs two round trips whatever its size:
//!
//! * a **batch handler** ([`BatchHandler`](crate::batch::BatchHandler)) gets all of a call's
//!   locks in flight at once, one inner call, then all outcomes in flight at once: exactly two
//!   round trips per call;
//! * a **per-record handler** gets its lock and outcome per record, and the runner runs
//!   records concurrently ([`DEFAULT_MAX_CONCURRENCY`](crate::batch::DEFAULT_MAX_CONCURRENCY)),
//!   so with a concurrency at least the batch size every lock is in flight at once as well;
//!   records overlap rather than proceed in two waves, so a record costs two round trips and
//!   the batch about as much.
//!
//! Outcomes are concurrent conditional `UpdateItem`s rather than one `BatchWriteItem`: a batch
//! write cannot be conditional, and an unconditional write could overwrite the record of an
//! invocation that took over an expired lock. DynamoDB bills per item either way.
//!
//! CPU per event, network excluded (`benches/idempotency.rs`: release profile, an in-process
//! connector answering DynamoDB at once, a shared and loaded 2-core host):
//!
//! | work | per event |
//! |---|---|
//! | payload hash of 10 KB of `data` (SHA-256) | ~8 µs |
//! | key | ~0.5 µs |
//! | one DynamoDB call through the SDK (request built and serialized, SigV4, orchestrator, response read) | ~75–95 µs |
//! | the layer on a per-record handler (hash, key, lock call, outcome call) | ~160–240 µs |
//! | the layer on a batch handler, 10 events a call | ~170–190 µs |
//!
//! The layer's own work (hash, key, expressions, in-flight table) is about 10 µs of that,
//! inside the kit's 50 µs budget for mapping + idempotency per 10 KB event; the rest is the
//! AWS SDK's per-call pipeline, paid twice per event, which alone exceeds the budget (one
//! conditional write per event is the floor with per-item conditions; profiling shows no single
//! hot spot, and building the SDK crates at `opt-level = 3` instead of `"z"` did not measurably
//! change it). At Lambda prices this is CPU time next to two network round trips of milliseconds.
//!
//! # What is not guaranteed
//!
//! Exactly-once delivery is impossible when the destination's answer can be lost. If the
//! destination made the message but its answer never arrived (a timeout, a reset after the
//! request was sent), the handler fails the record as transient: the layer records `FAILED`,
//! the runner hands the record back, and the next attempt posts again — a duplicate at the
//! destination, unless the destination deduplicates itself (an idempotency key header, a
//! lookup). If instead the invocation dies mid-call (Lambda's timeout, a crash, the runner's
//! cutoff), nothing is recorded: the lock stays until the invocation's deadline, after which
//! the next delivery of the record (SQS's redelivery once its visibility ends, or the runner's
//! hand-back) finds the lock abandoned, takes it (`attempts` + 1) and delivers again — again
//! a possible duplicate if the lost call had in fact succeeded. The layer narrows duplicates
//! to these windows; it does not close them.
//!
//! Also: a lock's expiry is compared with the clock of whichever Lambda reads it, so clock
//! skew between hosts shifts it (milliseconds on Lambda); an outcome that could not be written
//! after a successful delivery leaves the record `INPROGRESS` until the lock expires, so a copy
//! arriving later than that would be delivered again (the failed write is logged as an error).

pub mod config;
mod error;
mod fingerprint;
mod inflight;
pub mod item;
mod keeper;
mod key;
mod layer;
mod ledger;
mod state;
mod store;

pub use config::{IdempotencyConfig, IdempotencyConfigError};
pub use error::IdempotencyError;
pub use fingerprint::payload_hash;
pub use key::{MAX_KEY_BYTES, key};
pub use layer::{IdempotencyLayer, Idempotent};
pub use ledger::{Ledger, LedgerEntry};
pub use state::{Decision, Status, Stored, StoredState, TAKE_CONDITION, decide};
