//! Destination lookups for deliverers: fetch-before-write answers (an owner id for an e-mail),
//! cached per process, one fetch per key at a time, and a policy for when there is no single
//! answer.
//!
//! A deliverer often needs something from the destination before it can write: HubSpot's
//! contacts take an owner *id*, the event carries the owner's *e-mail*, and `GET
//! /crm/v3/owners/?email=` resolves one to the other (paged; several owners can share an
//! e-mail). Asking once per record would multiply the calls against the destination's rate
//! limit, and guessing when the answer is not one owner would write wrong data. This module
//! gives every deliverer the same answer to both:
//!
//! - [`Resolution`]: a lookup finds one match, none, or several ([`Resolution::Found`],
//!   [`Resolution::NotFound`], [`Resolution::Ambiguous`]) — an answer, never a guess and never
//!   a crash. Failures of the call itself are the kit's classified [`Error`](crate::Error).
//! - [`LookupCache`]: answers kept in memory for a TTL (`LOOKUP_TTL`, 5 minutes by default:
//!   a Lambda process lives minutes to hours), at most `LOOKUP_CAPACITY` of them (1024), the
//!   least recently used going first. "None" and "several" are kept like a match; failures are
//!   not, so the record is retried and the next lookup asks again. Concurrent lookups of one
//!   key share one fetch (single flight): a batch of ten records with one owner e-mail calls
//!   the API once.
//! - [`OnUnresolved`]: per field, what a record does without a single match —
//!   [`LeaveUnset`](OnUnresolved::LeaveUnset) (the default: the field stays unset and the
//!   [`Unresolved`] note says why, for the ledger) or [`Fail`](OnUnresolved::Fail) (the record
//!   fails as permanent with that reason). The reasons are worded from a [`Subject`]'s static
//!   words and a count — "owner not found for the e-mail", "2 owners share the e-mail" — so the
//!   value looked up never reaches logs, the ledger or dead-letter attributes.
//! - Metrics ([`metrics`]): hits, misses (fetches), lookups that joined a fetch, not found,
//!   ambiguous, errors, and the fetch latency, on the function's EMF line.
//!
//! ```no_run
//! use switchyard::Error;
//! use switchyard::http::HttpClient;
//! use switchyard::lookup::{LookupCache, LookupConfigError, OnUnresolved, Resolution, Subject};
//!
//! const OWNER_BY_EMAIL: Subject = Subject::new("owner", "owners", "the e-mail");
//!
//! /// At cold start (`LOOKUP_TTL`, `LOOKUP_CAPACITY`); kept for the life of the process.
//! fn owners() -> Result<LookupCache<String, String>, LookupConfigError> {
//!     LookupCache::from_env(OWNER_BY_EMAIL)
//! }
//!
//! /// Every page of `GET /crm/v3/owners/?email=`, the owners' ids collected.
//! async fn fetch_owner(client: HttpClient, email: String) -> Result<Resolution<String>, Error> {
//!     # let ids: Vec<String> = Vec::new();
//!     // ... page through the answer with the kit's HttpClient ...
//!     Ok(Resolution::from_matches(ids))
//! }
//!
//! /// Per record: the owner id to write, if there is exactly one.
//! async fn owner_id(
//!     owners: &LookupCache<String, String>,
//!     client: &HttpClient,
//!     email: &str,
//! ) -> Result<Option<String>, Error> {
//!     let email = email.trim().to_ascii_lowercase();
//!     let client = client.clone();
//!     let resolution = owners.resolve(&email, move |email| fetch_owner(client, email)).await?;
//!     let owner = OnUnresolved::LeaveUnset.apply(OWNER_BY_EMAIL, resolution)?;
//!     if let Some(note) = &owner.note {
//!         // "owner not found for the e-mail": for the ledger; never the e-mail itself.
//!         tracing::info!(reason = %note, "hubspot_owner_id left unset");
//!     }
//!     Ok(owner.value)
//! }
//! ```
//!
//! # Why `lru`, and not `moka`, `mini-moka` or `quick_cache`
//!
//! The store is the [`lru`] crate (0.19) without its `hashbrown` feature: one small crate
//! over std's `HashMap`, nothing else in the graph. What it lacks is a few lines here: a TTL
//! (an expiry instant in each entry, checked on read, on tokio's clock so tests can pause it)
//! and single flight (a [`futures`] `Shared` future per key, described in `cache.rs`;
//! `futures` is already a dependency).
//!
//! - `moka` (0.12) has all of it — TTL, size bound, `try_get_with` single flight — but pulls
//!   `crossbeam-channel`, `crossbeam-epoch`, `crossbeam-utils`, `parking_lot`,
//!   `portable-atomic`, `tagptr`, `smallvec`, `uuid`, and for its async cache `async-lock` and
//!   `event-listener`: a concurrent cache built for millions of entries and many threads, in
//!   a function that holds a few hundred entries on one or two cores, whose cold start and RSS
//!   are budgeted against a minimal function (≤1.3× init, ≤1.5× RSS).
//! - `mini-moka` (0.10) drops the async parts but still pulls `dashmap`, `triomphe` and
//!   crossbeam, and has no single flight.
//! - `quick_cache` (0.7) is light (`hashbrown`, `equivalent`, optionally `parking_lot`) and
//!   has placeholder guards that make concurrent misses wait for one fetch, but a failed or
//!   cancelled fetch hands the guard to the next waiter, which fetches again — during an
//!   outage the waiters of a key would each wait out their own timeout one after another —
//!   and it has no TTL. The `Shared` future here gives every waiter the failure at once.
//!
//! The lock is a std mutex around both maps, held for a map operation at a time: lookups in a
//! deliverer are tens per batch, not millions per second.
//!
//! The parts, one a file: [`Resolution`]; the policy and its reasons ([`OnUnresolved`],
//! [`Subject`], [`Unresolved`], [`Resolved`]); the settings ([`LookupConfig`]); the shared
//! fetch (a timeout, panics caught, failures made shareable); the cache; the metric names.

mod cache;
mod config;
mod flight;
pub mod metrics;
mod policy;
mod resolution;

pub use cache::LookupCache;
pub use config::{
    CAPACITY_ENV, DEFAULT_CAPACITY, DEFAULT_FETCH_TIMEOUT, DEFAULT_TTL, LookupConfig,
    LookupConfigError, TTL_ENV,
};
pub use policy::{OnUnresolved, Resolved, Subject, Unresolved};
pub use resolution::Resolution;
