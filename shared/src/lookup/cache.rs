//! [`LookupCache`]: answers kept for a TTL in a bounded LRU, and one fetch per key at a time.
//!
//! One mutex guards both the answers and the fetches under way, so "not answered yet" and "no
//! fetch under way" are seen together and a key can never get two fetches at once. The mutex is
//! never held across an `.await`, nor while the caller's fetch code runs: that code runs inside
//! the shared fetch future, on the first poll.
//!
//! # Single flight
//!
//! A fetch is a [`Shared`] future that every lookup of the key awaits, the one that started it
//! included; the table of fetches under way holds it only weakly. So:
//!
//! - the first lookup to finish it writes the answer (success only) and clears the table entry,
//!   once, from inside the fetch;
//! - a lookup that is cancelled (its record cut at the deadline) drops only its own handle:
//!   the others go on polling the same fetch, nobody waits for a leader that is gone;
//! - when every lookup of the key is cancelled, the fetch itself is dropped — its HTTP call
//!   with it — and its guard clears the table entry; a dead entry is also replaced on sight,
//!   so a later lookup starts afresh;
//! - a failure reaches every waiter (as its class and message, see [`super::flight`]) and is
//!   not cached: the next lookup fetches again.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use futures::FutureExt as _;
use futures::future::{BoxFuture, Shared, WeakShared};
use lru::LruCache;
use tokio::time::Instant;

use super::config::{LookupConfig, LookupConfigError};
use super::flight::{self, Landed};
use super::{Resolution, Subject, metrics};
use crate::error::Error;
use crate::telemetry::Metrics;

/// Destination lookups (`e-mail → owner id`) answered from memory for a TTL, each key fetched
/// once at a time.
///
/// Build one per lookup at cold start and keep it for the life of the process (clones share
/// the answers). Every answer — a match, none, several — is kept for the TTL, the least recently
/// used going first beyond the capacity; failures are never kept. Concurrent lookups of a key
/// share one fetch, so a batch of ten records with one owner e-mail calls the API once.
///
/// Keys are compared as they are: normalise them first where the destination treats two
/// spellings as one (e.g. lower-case an e-mail). Keys never appear in logs, metrics or errors.
#[derive(Clone)]
pub struct LookupCache<K, V> {
    subject: Subject,
    config: LookupConfig,
    metrics: Option<Metrics>,
    state: Arc<Mutex<State<K, V>>>,
}

struct State<K, V> {
    answers: LruCache<K, Answer<V>>,
    flights: HashMap<K, InFlight<V>>,
    next_id: u64,
}

struct Answer<V> {
    resolution: Resolution<V>,
    /// `None`: never (a TTL too long to add to the clock).
    expires_at: Option<Instant>,
}

type Flight<V> = Shared<BoxFuture<'static, Landed<V>>>;

/// A fetch under way, held weakly: the lookups awaiting it keep it alive, the table does not.
struct InFlight<V> {
    id: u64,
    flight: WeakShared<BoxFuture<'static, Landed<V>>>,
}

/// How a lookup joins the cache.
enum Arrival<V> {
    /// Answered from memory.
    Answered(Resolution<V>),
    /// Started a fetch.
    Started(Flight<V>),
    /// Joined a fetch under way.
    Joined(Flight<V>),
}

impl<K, V> LookupCache<K, V>
where
    K: Hash + Eq + Clone + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    /// A cache of `subject` lookups with `config`.
    pub fn new(subject: Subject, config: LookupConfig) -> Self {
        LookupCache {
            subject,
            config,
            metrics: None,
            state: Arc::new(Mutex::new(State {
                answers: LruCache::new(config.capacity()),
                flights: HashMap::new(),
                next_id: 0,
            })),
        }
    }

    /// A cache configured by `LOOKUP_TTL` and `LOOKUP_CAPACITY` ([`LookupConfig::from_env`]).
    ///
    /// # Errors
    /// A variable that is set but invalid, named in the error.
    pub fn from_env(subject: Subject) -> Result<Self, LookupConfigError> {
        Ok(Self::new(subject, LookupConfig::from_env()?))
    }

    /// Records hits, misses and answers on `metrics` ([`super::metrics`]).
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// What this cache looks up.
    pub fn subject(&self) -> Subject {
        self.subject
    }

    /// Its settings.
    pub fn config(&self) -> LookupConfig {
        self.config
    }

    /// The answer for `key`: from memory if it was fetched less than a TTL ago, else from
    /// `fetch` — unless a fetch of the key is already under way, whose answer it then shares.
    ///
    /// `fetch` gets an owned copy of the key and returns the whole answer: every page read,
    /// matches counted ([`Resolution::from_matches`]). It runs inside a future shared by every
    /// lookup of the key, so it must own what it uses (`'static`): clone the HTTP client into
    /// it. It is bounded by the fetch timeout; a timeout or a panic is a transient error.
    ///
    /// # Errors
    /// The fetch's error, classified as the fetch classified it (a transient, throttled or auth
    /// failure is retried by the batch runner; the cache keeps nothing of it). Lookups sharing a
    /// failed fetch each get a copy: same class, `Retry-After` and message.
    pub async fn resolve<F, Fut>(&self, key: &K, fetch: F) -> Result<Resolution<V>, Error>
    where
        F: FnOnce(K) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Resolution<V>, Error>> + Send + 'static,
    {
        let flight = match self.join(key, fetch) {
            Arrival::Answered(resolution) => {
                self.count(metrics::HITS);
                return Ok(self.answered(resolution));
            }
            Arrival::Started(flight) => {
                self.count(metrics::MISSES);
                flight
            }
            Arrival::Joined(flight) => {
                self.count(metrics::COALESCED);
                flight
            }
        };
        match flight.await {
            Ok(resolution) => Ok(self.answered(resolution)),
            Err(failure) => {
                self.count(metrics::ERRORS);
                Err(failure.into_error())
            }
        }
    }

    /// Drops the answer for `key`, so the next lookup fetches it (e.g. the destination has just
    /// refused the id it gave). A fetch under way is left alone.
    pub fn forget(&self, key: &K) {
        lock(&self.state).answers.pop(key);
    }

    /// A fresh answer, the fetch under way, or a new fetch — decided under one lock.
    fn join<F, Fut>(&self, key: &K, fetch: F) -> Arrival<V>
    where
        F: FnOnce(K) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Resolution<V>, Error>> + Send + 'static,
    {
        let mut state = lock(&self.state);
        if let Some(answer) = state.answers.get(key) {
            if answer.expires_at.is_none_or(|at| Instant::now() < at) {
                return Arrival::Answered(answer.resolution.clone());
            }
            state.answers.pop(key);
        }
        // The upgraded handle leaves this function: a last handle must never be dropped under
        // the lock, as dropping it runs the fetch's guard, which takes the lock.
        if let Some(flight) = state.flights.get(key).and_then(|f| f.flight.upgrade()) {
            return Arrival::Joined(flight);
        }
        let id = state.next_id;
        state.next_id = state.next_id.wrapping_add(1);
        let flight = self.flight(key.clone(), id, fetch);
        if let Some(weak) = flight.downgrade() {
            state
                .flights
                .insert(key.clone(), InFlight { id, flight: weak });
        }
        Arrival::Started(flight)
    }

    /// The shared future of one fetch: runs `fetch`, keeps a successful answer, clears its
    /// table entry — or, dropped unfinished, has its guard clear the entry.
    fn flight<F, Fut>(&self, key: K, id: u64, fetch: F) -> Flight<V>
    where
        F: FnOnce(K) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Resolution<V>, Error>> + Send + 'static,
    {
        let landing = Landing {
            state: Arc::clone(&self.state),
            key: Some(key.clone()),
            id,
        };
        let subject = self.subject;
        let config = self.config;
        let metrics = self.metrics.clone();
        async move {
            let started = Instant::now();
            let landed = flight::run(
                subject,
                config.fetch_timeout(),
                async move { fetch(key).await },
            )
            .await;
            let elapsed = started.elapsed();
            let ttl = (!config.ttl().is_zero()).then(|| started.checked_add(config.ttl()));
            landing.land(&landed, ttl);
            if let Some(metrics) = &metrics {
                metrics.latency(metrics::FETCH_LATENCY, elapsed);
            }
            match &landed {
                Ok(resolution) => tracing::debug!(
                    lookup = subject.thing(),
                    answer = resolution.kind(),
                    elapsed_ms = elapsed.as_millis(),
                    "lookup fetched"
                ),
                Err(_) => tracing::debug!(
                    lookup = subject.thing(),
                    elapsed_ms = elapsed.as_millis(),
                    "lookup failed; not cached"
                ),
            }
            landed
        }
        .boxed()
        .shared()
    }

    /// Counts a lookup's answer by kind, and hands it on.
    fn answered(&self, resolution: Resolution<V>) -> Resolution<V> {
        match resolution {
            Resolution::Found(_) => {}
            Resolution::NotFound => self.count(metrics::NOT_FOUND),
            Resolution::Ambiguous { .. } => self.count(metrics::AMBIGUOUS),
        }
        resolution
    }

    fn count(&self, name: &'static str) {
        if let Some(metrics) = &self.metrics {
            metrics.count(name, 1);
        }
    }
}

impl<K: Hash + Eq, V> fmt::Debug for LookupCache<K, V> {
    /// The subject, settings and number of answers held; never the keys or values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = lock(&self.state);
        f.debug_struct("LookupCache")
            .field("subject", &self.subject.thing())
            .field("config", &self.config)
            .field("answers", &state.answers.len())
            .field("fetches_under_way", &state.flights.len())
            .finish_non_exhaustive()
    }
}

/// A fetch's hold on its table entry: [`Landing::land`] writes the answer and clears the entry
/// when the fetch finishes; dropped without landing (every lookup of the key cancelled), it
/// clears the entry so the next lookup starts afresh.
struct Landing<K: Hash + Eq, V> {
    state: Arc<Mutex<State<K, V>>>,
    /// `None` once landed.
    key: Option<K>,
    id: u64,
}

impl<K: Hash + Eq, V: Clone> Landing<K, V> {
    /// Keeps a successful answer until `expires_at` (`None`: not at all — a zero TTL;
    /// `Some(None)`: for ever) and clears the table entry.
    fn land(mut self, landed: &Landed<V>, expires_at: Option<Option<Instant>>) {
        let Some(key) = self.key.take() else { return };
        let mut state = lock(&self.state);
        state.clear(&key, self.id);
        if let (Ok(resolution), Some(expires_at)) = (landed, expires_at) {
            state.answers.put(
                key,
                Answer {
                    resolution: resolution.clone(),
                    expires_at,
                },
            );
        }
    }
}

impl<K: Hash + Eq, V> Drop for Landing<K, V> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            lock(&self.state).clear(&key, self.id);
        }
    }
}

impl<K: Hash + Eq, V> State<K, V> {
    /// Removes fetch `id`'s entry for `key` — not a newer fetch's.
    fn clear(&mut self, key: &K, id: u64) {
        if self.flights.get(key).is_some_and(|f| f.id == id) {
            self.flights.remove(key);
        }
    }
}

fn lock<K, V>(state: &Mutex<State<K, V>>) -> MutexGuard<'_, State<K, V>> {
    // Every update under the lock is a single insert or removal, so a panic elsewhere while it
    // was held leaves the maps consistent: a poisoned lock is safe to keep using.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::OnUnresolved;
    use crate::taxonomy::{Classification, Classify as _, ErrorClass};
    use std::num::NonZeroUsize;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    const OWNER: Subject = Subject::new("owner", "owners", "the e-mail");
    const JANE: &str = "jane@example.com";
    const TTL: Duration = Duration::from_secs(300);

    /// A stand-in for HubSpot's owners: e-mail → owner ids, a call count, a delay, and an
    /// optional failure for the next calls.
    #[derive(Clone, Default)]
    struct Owners {
        by_email: Arc<Mutex<HashMap<String, Vec<u64>>>>,
        calls: Arc<AtomicUsize>,
        delay: Duration,
        failing: Arc<Mutex<Option<Classification>>>,
    }

    impl Owners {
        fn with(entries: &[(&str, &[u64])]) -> Self {
            let owners = Owners::default();
            for (email, ids) in entries {
                owners.set(email, ids);
            }
            owners
        }

        fn slow(self, delay: Duration) -> Self {
            Owners { delay, ..self }
        }

        fn set(&self, email: &str, ids: &[u64]) {
            let mut by_email = self.by_email.lock().unwrap();
            by_email.insert(email.to_owned(), ids.to_vec());
        }

        fn fail_with(&self, classification: Option<Classification>) {
            *self.failing.lock().unwrap() = classification;
        }

        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }

        /// The fetch a deliverer would pass: owns a clone of the stand-in.
        fn fetch(
            &self,
        ) -> impl FnOnce(String) -> BoxFuture<'static, Result<Resolution<u64>, Error>> + Send + 'static
        {
            let owners = self.clone();
            move |email| {
                async move {
                    owners.calls.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(owners.delay).await;
                    if let Some(classification) = *owners.failing.lock().unwrap() {
                        return Err(Error::classified(classification, "HTTP 503: unavailable"));
                    }
                    let ids = owners.by_email.lock().unwrap().get(&email).cloned();
                    Ok(Resolution::from_matches(ids.unwrap_or_default()))
                }
                .boxed()
            }
        }
    }

    fn cache(ttl: Duration) -> LookupCache<String, u64> {
        LookupCache::new(OWNER, LookupConfig::default().with_ttl(ttl))
    }

    async fn resolve(
        cache: &LookupCache<String, u64>,
        owners: &Owners,
        email: &str,
    ) -> Result<Resolution<u64>, Error> {
        cache.resolve(&email.to_owned(), owners.fetch()).await
    }

    /// The counts a flush of `metrics` writes, by name.
    fn counts(metrics: &Metrics) -> HashMap<String, u64> {
        let mut counts = HashMap::new();
        for line in metrics.take_lines() {
            let doc: serde_json::Value = serde_json::from_str(&line).unwrap();
            for (name, value) in doc.as_object().unwrap() {
                if let Some(n) = value.as_u64() {
                    counts.insert(name.clone(), n);
                }
            }
        }
        counts
    }

    #[tokio::test(start_paused = true)]
    async fn lookups_within_the_ttl_fetch_once() {
        let owners = Owners::with(&[(JANE, &[7])]);
        let cache = cache(TTL);
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(7)
        );
        owners.set(JANE, &[8]);
        tokio::time::advance(TTL - Duration::from_secs(1)).await;
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(7)
        );
        assert_eq!(owners.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_lookup_after_the_ttl_fetches_again() {
        let owners = Owners::with(&[(JANE, &[7])]);
        let cache = cache(TTL);
        resolve(&cache, &owners, JANE).await.unwrap();
        owners.set(JANE, &[8]);
        tokio::time::advance(TTL).await;
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(8)
        );
        assert_eq!(owners.calls(), 2);
        // The new answer is kept for a TTL of its own.
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(8)
        );
        assert_eq!(owners.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn the_ttl_runs_from_the_start_of_the_fetch() {
        let owners = Owners::with(&[(JANE, &[7])]).slow(Duration::from_secs(10));
        let cache = cache(TTL);
        resolve(&cache, &owners, JANE).await.unwrap();
        tokio::time::advance(TTL - Duration::from_secs(10)).await;
        resolve(&cache, &owners, JANE).await.unwrap();
        assert_eq!(owners.calls(), 2, "a fetch that took 10 s ages 10 s");
    }

    #[tokio::test(start_paused = true)]
    async fn no_match_and_several_matches_are_cached_and_reported() {
        let owners = Owners::with(&[("shared@example.com", &[1, 2])]);
        let metrics = Metrics::builder().build().unwrap();
        let cache = cache(TTL).with_metrics(metrics.clone());
        for _ in 0..3 {
            assert_eq!(
                resolve(&cache, &owners, JANE).await.unwrap(),
                Resolution::NotFound
            );
            assert_eq!(
                resolve(&cache, &owners, "shared@example.com")
                    .await
                    .unwrap(),
                Resolution::Ambiguous { count: 2 }
            );
        }
        assert_eq!(owners.calls(), 2, "one fetch per e-mail");

        let unset = OnUnresolved::LeaveUnset;
        let missing = unset.apply(OWNER, resolve(&cache, &owners, JANE).await.unwrap());
        let missing = missing.unwrap();
        assert_eq!(missing.value, None);
        assert_eq!(
            missing.note.unwrap().reason(),
            "owner not found for the e-mail"
        );
        let shared = resolve(&cache, &owners, "shared@example.com")
            .await
            .unwrap();
        let shared = unset.apply(OWNER, shared).unwrap();
        assert_eq!(shared.note.unwrap().reason(), "2 owners share the e-mail");

        let counts = counts(&metrics);
        assert_eq!(counts[metrics::MISSES], 2);
        assert_eq!(counts[metrics::HITS], 6);
        assert_eq!(counts[metrics::NOT_FOUND], 4);
        assert_eq!(counts[metrics::AMBIGUOUS], 4);
        assert!(!counts.contains_key(metrics::ERRORS));
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_not_cached() {
        let owners = Owners::with(&[(JANE, &[7])]);
        let metrics = Metrics::builder().build().unwrap();
        let cache = cache(TTL).with_metrics(metrics.clone());
        let delay = Some(Duration::from_secs(20));
        owners.fail_with(Some(Classification::throttled(delay)));
        let error = resolve(&cache, &owners, JANE).await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Throttled);
        assert_eq!(error.classification().retry_after, delay);
        assert_eq!(error.to_string(), "HTTP 503: unavailable");

        owners.fail_with(Some(Classification::transient()));
        let error = resolve(&cache, &owners, JANE).await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Transient);

        owners.fail_with(None);
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(7)
        );
        assert_eq!(owners.calls(), 3, "each lookup after a failure asks again");

        let counts = counts(&metrics);
        assert_eq!(counts[metrics::ERRORS], 2);
        assert_eq!(counts[metrics::MISSES], 3);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_lookups_of_one_key_share_one_fetch() {
        let owners = Owners::with(&[(JANE, &[7])]).slow(Duration::from_secs(1));
        let metrics = Metrics::builder().build().unwrap();
        let cache = cache(TTL).with_metrics(metrics.clone());
        let lookups = (0..10).map(|_| resolve(&cache, &owners, JANE));
        let answers = futures::future::join_all(lookups).await;
        assert!(
            answers
                .iter()
                .all(|a| matches!(a, Ok(Resolution::Found(7))))
        );
        assert_eq!(owners.calls(), 1);

        let counts = counts(&metrics);
        assert_eq!(counts[metrics::MISSES], 1);
        assert_eq!(counts[metrics::COALESCED], 9);
        assert_eq!(
            lock(&cache.state).flights.len(),
            0,
            "the fetch left the table"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_lookups_on_tasks_share_one_fetch() {
        let owners = Owners::with(&[(JANE, &[7])]).slow(Duration::from_secs(1));
        let cache = cache(TTL);
        let tasks: Vec<_> = (0..10)
            .map(|_| {
                let (cache, owners) = (cache.clone(), owners.clone());
                tokio::spawn(async move { resolve(&cache, &owners, JANE).await })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.unwrap().unwrap(), Resolution::Found(7));
        }
        assert_eq!(owners.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_failed_fetch_fails_every_lookup_waiting_on_it_once() {
        let owners = Owners::with(&[(JANE, &[7])]).slow(Duration::from_secs(1));
        owners.fail_with(Some(Classification::transient()));
        let cache = cache(TTL);
        let lookups = (0..5).map(|_| resolve(&cache, &owners, JANE));
        for answer in futures::future::join_all(lookups).await {
            let error = answer.unwrap_err();
            assert_eq!(error.class(), ErrorClass::Transient);
            assert_eq!(error.to_string(), "HTTP 503: unavailable");
        }
        assert_eq!(owners.calls(), 1, "the waiters did not each retry");

        owners.fail_with(None);
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(7)
        );
        assert_eq!(owners.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_first_lookup_does_not_stop_the_others() {
        let owners = Owners::with(&[(JANE, &[7])]).slow(Duration::from_secs(5));
        let cache = cache(TTL);
        let first = {
            let (cache, owners) = (cache.clone(), owners.clone());
            tokio::spawn(async move { resolve(&cache, &owners, JANE).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        assert_eq!(owners.calls(), 1, "the first lookup started the fetch");
        let second = {
            let (cache, owners) = (cache.clone(), owners.clone());
            tokio::spawn(async move { resolve(&cache, &owners, JANE).await })
        };
        tokio::time::sleep(Duration::from_secs(1)).await;
        first.abort();
        assert!(first.await.unwrap_err().is_cancelled());

        let answer = tokio::time::timeout(Duration::from_secs(60), second)
            .await
            .expect("the second lookup is not wedged");
        assert_eq!(answer.unwrap().unwrap(), Resolution::Found(7));
        assert_eq!(
            owners.calls(),
            1,
            "the second lookup finished the same fetch"
        );
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(7)
        );
        assert_eq!(owners.calls(), 1, "and its answer was kept");
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_whose_lookups_were_all_cancelled_is_dropped_and_started_afresh() {
        let owners = Owners::with(&[(JANE, &[7])]).slow(Duration::from_secs(5));
        let cache = cache(TTL);
        let cut =
            tokio::time::timeout(Duration::from_secs(1), resolve(&cache, &owners, JANE)).await;
        assert!(cut.is_err(), "cut before the fetch finished");
        assert_eq!(owners.calls(), 1);
        assert_eq!(
            lock(&cache.state).flights.len(),
            0,
            "its guard cleared the table"
        );

        let answer = tokio::time::timeout(Duration::from_secs(60), resolve(&cache, &owners, JANE))
            .await
            .expect("the next lookup is not wedged");
        assert_eq!(answer.unwrap(), Resolution::Found(7));
        assert_eq!(owners.calls(), 2, "the next lookup fetched afresh");
    }

    #[tokio::test(start_paused = true)]
    async fn a_dead_fetch_left_in_the_table_is_replaced() {
        // The moment between the last handle going and its guard clearing the entry: the
        // table still names a fetch nobody can join.
        let owners = Owners::with(&[(JANE, &[7])]);
        let cache = cache(TTL);
        let dead: Flight<u64> = async { Ok(Resolution::Found(0)) }.boxed().shared();
        let weak = dead.downgrade().unwrap();
        drop(dead);
        lock(&cache.state).flights.insert(
            JANE.to_owned(),
            InFlight {
                id: 99,
                flight: weak,
            },
        );
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(7)
        );
        assert_eq!(owners.calls(), 1);
        assert_eq!(lock(&cache.state).flights.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_panicking_fetch_fails_its_lookups_without_wedging_the_key() {
        let cache = cache(TTL);
        let key = JANE.to_owned();
        let panicking = |_: String| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            panic!("bug in the fetch")
        };
        let (a, b) = tokio::join!(
            cache.resolve(&key, panicking),
            cache.resolve(&key, panicking)
        );
        for answer in [a, b] {
            let error = answer.unwrap_err();
            assert_eq!(error.class(), ErrorClass::Transient);
            assert_eq!(error.to_string(), "the owner lookup panicked");
        }
        let owners = Owners::with(&[(JANE, &[7])]);
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(7)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_fetch_past_the_timeout_fails_as_transient_and_is_not_kept() {
        let owners = Owners::with(&[(JANE, &[7])]).slow(Duration::from_secs(31));
        let cache = LookupCache::new(
            OWNER,
            LookupConfig::default().with_fetch_timeout(Duration::from_secs(30)),
        );
        let error = resolve(&cache, &owners, JANE).await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Transient);
        assert_eq!(error.to_string(), "the owner lookup took longer than 30s");
        assert_eq!(lock(&cache.state).answers.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn the_capacity_bounds_the_answers_least_recently_used_first() {
        let owners = Owners::with(&[("a", &[1]), ("b", &[2]), ("c", &[3])]);
        let two = NonZeroUsize::new(2).unwrap();
        let cache = LookupCache::new(OWNER, LookupConfig::default().with_capacity(two));
        resolve(&cache, &owners, "a").await.unwrap();
        resolve(&cache, &owners, "b").await.unwrap();
        resolve(&cache, &owners, "a").await.unwrap(); // a is now the most recently used
        resolve(&cache, &owners, "c").await.unwrap(); // evicts b
        assert_eq!(owners.calls(), 3);
        assert_eq!(lock(&cache.state).answers.len(), 2);

        resolve(&cache, &owners, "a").await.unwrap();
        resolve(&cache, &owners, "c").await.unwrap();
        assert_eq!(owners.calls(), 3, "a and c are still held");
        assert_eq!(
            resolve(&cache, &owners, "b").await.unwrap(),
            Resolution::Found(2)
        );
        assert_eq!(owners.calls(), 4, "b was evicted and fetched again");
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_ttl_keeps_nothing() {
        let owners = Owners::with(&[(JANE, &[7])]);
        let cache = cache(Duration::ZERO);
        resolve(&cache, &owners, JANE).await.unwrap();
        resolve(&cache, &owners, JANE).await.unwrap();
        assert_eq!(owners.calls(), 2);
        assert_eq!(lock(&cache.state).answers.len(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn forget_drops_one_answer() {
        let owners = Owners::with(&[(JANE, &[7]), ("joe@example.com", &[8])]);
        let cache = cache(TTL);
        resolve(&cache, &owners, JANE).await.unwrap();
        resolve(&cache, &owners, "joe@example.com").await.unwrap();
        owners.set(JANE, &[9]);
        cache.forget(&JANE.to_owned());
        assert_eq!(
            resolve(&cache, &owners, JANE).await.unwrap(),
            Resolution::Found(9)
        );
        resolve(&cache, &owners, "joe@example.com").await.unwrap();
        assert_eq!(owners.calls(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn keys_never_reach_logs_errors_or_debug_output() {
        use crate::telemetry::LogFormat;
        use crate::telemetry::logging::subscriber;
        use tracing_subscriber::filter::{LevelFilter, Targets};

        #[derive(Clone, Default)]
        struct Buffer(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Buffer {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
            type Writer = Buffer;
            fn make_writer(&'a self) -> Buffer {
                self.clone()
            }
        }

        let buffer = Buffer::default();
        let filter = Targets::new().with_default(LevelFilter::TRACE);
        let _guard =
            tracing::subscriber::set_default(subscriber(LogFormat::Json, filter, buffer.clone()));
        let owners = Owners::with(&[("shared@example.com", &[1, 2])]);
        let cache = cache(TTL);
        let mut texts = Vec::new();
        for email in [JANE, "shared@example.com"] {
            for policy in [OnUnresolved::LeaveUnset, OnUnresolved::Fail] {
                let resolution = resolve(&cache, &owners, email).await.unwrap();
                match policy.apply(OWNER, resolution) {
                    Ok(resolved) => texts.push(resolved.note.unwrap().to_string()),
                    Err(error) => texts.push(format!("{error} {error:?}")),
                }
            }
        }
        owners.fail_with(Some(Classification::transient()));
        cache.forget(&JANE.to_owned());
        texts.push(
            resolve(&cache, &owners, JANE)
                .await
                .unwrap_err()
                .to_string(),
        );
        texts.push(format!("{cache:?}"));

        let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        assert!(logs.contains("lookup fetched"), "{logs}");
        texts.push(logs);
        for text in texts {
            assert!(!text.contains("example.com"), "{text}");
        }
    }

    #[test]
    fn a_lookup_is_a_send_future() {
        fn assert_send<T: Send>(_: &T) {}
        let cache = cache(TTL);
        let owners = Owners::default();
        let key = JANE.to_owned();
        assert_send(&cache.resolve(&key, owners.fetch()));
        assert_send(&cache);
    }
}
