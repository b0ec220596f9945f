//! The deliverer's metrics: what the runner counts per batch, by name.
//!
//! One EMF line per invocation (the deliverer runtime flushes after each batch) carries, for
//! that batch:
//!
//! | name | unit | counts |
//! |---|---|---|
//! | [`RECORDS`] | count | records in the batch |
//! | [`DELIVERED`] | count | records the handler delivered |
//! | [`SKIPPED`] | count | records with nothing to do (no mapping rule selected them); acknowledged |
//! | [`DEDUPED`] | count | duplicates of records already delivered; acknowledged without a call |
//! | [`RETRIED`] | count | records handed back to SQS after a throttled, transient or auth failure |
//! | [`THROTTLED`] | count | of those, the ones the destination throttled |
//! | [`FUNCTION_FAILURES`] | count | of those, the auth failures: the function's own credentials or configuration failed (alarm on it) |
//! | [`DEFERRED`] | count | records handed back unprocessed: not started before the cutoff, or behind a failed record of their FIFO group |
//! | [`DEAD_LETTERED`] | count | records sent to the dead-letter queue (permanent, or out of retries) |
//! | [`HANDLER_LATENCY`] | ms | one sample per handler call: a record for a per-record handler, a call for a batch handler |
//! | [`BATCH_LATENCY`] | ms | one sample per batch, from the first handler call to the response |
//!
//! A record is counted once in `delivered`, `skipped`, `deduped`, `retried`, `deferred` or
//! `dead_lettered` (a dead-letter send that fails turns it into `retried`), so those six sum to
//! `records`.

/// Records in the batch.
pub const RECORDS: &str = "records";
/// Records delivered to the destination.
pub const DELIVERED: &str = "delivered";
/// Records with nothing to do, acknowledged.
pub const SKIPPED: &str = "skipped";
/// Records already delivered earlier, acknowledged without a call.
pub const DEDUPED: &str = "deduped";
/// Records handed back to SQS after a retryable or auth failure.
pub const RETRIED: &str = "retried";
/// Records handed back because the destination throttled them (a subset of [`RETRIED`]).
pub const THROTTLED: &str = "throttled";
/// Records handed back because the function's credentials or configuration failed (a subset
/// of [`RETRIED`]); any value above zero deserves an alarm.
pub const FUNCTION_FAILURES: &str = "function_failures";
/// Records handed back unprocessed (deadline, FIFO order).
pub const DEFERRED: &str = "deferred";
/// Records sent to the dead-letter queue.
pub const DEAD_LETTERED: &str = "dead_lettered";
/// Milliseconds per handler call.
pub const HANDLER_LATENCY: &str = "handler_latency";
/// Milliseconds per batch.
pub const BATCH_LATENCY: &str = "batch_latency";
