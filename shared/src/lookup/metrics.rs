//! The lookup caches' metrics, by name.
//!
//! A [`LookupCache`](super::LookupCache) given a [`Metrics`](crate::telemetry::Metrics) handle
//! records on it; they go out with the invocation's EMF line (the deliverer runtime flushes
//! after each batch):
//!
//! | name | unit | counts |
//! |---|---|---|
//! | [`HITS`] | count | lookups answered from memory |
//! | [`MISSES`] | count | lookups that started a fetch |
//! | [`COALESCED`] | count | lookups that waited for a fetch another lookup of the same key had started |
//! | [`NOT_FOUND`] | count | lookups answered "no match" (from memory or not) |
//! | [`AMBIGUOUS`] | count | lookups answered "several matches" (from memory or not) |
//! | [`ERRORS`] | count | lookups that failed (the fetch failed, timed out or panicked); never cached |
//! | [`FETCH_LATENCY`] | ms | one sample per fetch that finished, failed ones included |
//!
//! Each lookup counts once in `hits`, `misses` or `coalesced`, so those three sum to the
//! lookups made, and `misses` is the number of calls to the destination. `not_found`,
//! `ambiguous` and `errors` count lookups, not fetches: they say how many records went without
//! their field. Every cache of a process records under the same names; a function with two
//! lookups sees their sums (the log lines tell them apart by their `lookup` field).

/// Lookups answered from memory.
pub const HITS: &str = "lookup_hits";
/// Lookups that started a fetch: the calls to the destination.
pub const MISSES: &str = "lookup_misses";
/// Lookups that joined a fetch already under way for the same key.
pub const COALESCED: &str = "lookup_coalesced";
/// Lookups answered "no match".
pub const NOT_FOUND: &str = "lookup_not_found";
/// Lookups answered "several matches".
pub const AMBIGUOUS: &str = "lookup_ambiguous";
/// Lookups whose fetch failed.
pub const ERRORS: &str = "lookup_errors";
/// Milliseconds per fetch.
pub const FETCH_LATENCY: &str = "lookup_fetch_latency";
