//! The in-process cache: one fetch per secret per TTL, shared by every invocation.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::{SecretError, SecretSource, SecretString};

/// How long a secret is served from memory when nothing else is configured.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

/// The environment variable that overrides [`DEFAULT_TTL`]: whole seconds, `0` disables caching.
pub const TTL_ENV: &str = "SECRETS_TTL_SECONDS";

/// Secrets read through a source (Secrets Manager) and kept in memory for a TTL.
///
/// Build it once at cold start and share it (it is cheap to clone: clones share the cache).
/// Reads within the TTL make no call; a read after it fetches again; concurrent readers of the
/// same expired secret wait for one fetch instead of each calling Secrets Manager. Failed
/// fetches are not cached: the next read asks again, so a secret created or fixed after a
/// failure is picked up at once, not a TTL later.
#[derive(Clone)]
pub struct Secrets {
    source: Arc<dyn SecretSource>,
    ttl: Duration,
    slots: Arc<Mutex<HashMap<String, Arc<Slot>>>>,
}

/// One secret's cached value; the async lock makes concurrent misses share one fetch.
type Slot = tokio::sync::Mutex<Option<Cached>>;

struct Cached {
    value: SecretString,
    /// When the fetch that produced `value` started (a conservative age).
    fetched_at: Instant,
}

impl Secrets {
    /// A cache over a Secrets Manager client, with the TTL from `SECRETS_TTL_SECONDS` or the
    /// 5-minute default.
    pub fn new(client: aws_sdk_secretsmanager::Client) -> Self {
        Self::with_source(client)
    }

    /// A cache over a new Secrets Manager client built from the shared SDK configuration
    /// (see [`crate::aws::load_config`]).
    pub fn from_sdk_config(config: &aws_config::SdkConfig) -> Self {
        Self::new(aws_sdk_secretsmanager::Client::new(config))
    }

    /// A cache over any [`SecretSource`], e.g. a fake in a connector's unit tests. The TTL is
    /// read from the environment as in [`Secrets::new`].
    pub fn with_source(source: impl SecretSource + 'static) -> Self {
        Secrets {
            source: Arc::new(source),
            ttl: ttl_from_env(),
            slots: Arc::default(),
        }
    }

    /// The same cache with another TTL; `Duration::ZERO` fetches on every read.
    pub fn with_ttl(self, ttl: Duration) -> Self {
        Secrets { ttl, ..self }
    }

    /// How long a fetched value is served from memory.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The secret's string, from memory if it was fetched less than a TTL ago.
    pub async fn get(&self, id: &str) -> Result<SecretString, SecretError> {
        self.read(id, false).await
    }

    /// The secret's string fetched now, whatever its age; the cache keeps the new value.
    ///
    /// Call it when a SaaS answers 401/403 ([`crate::ErrorClass::Auth`]): the secret may have
    /// been rotated since it was cached. Retry once with the fresh value; a second refusal is
    /// final. Concurrent refreshes share a fetch that started after they were asked for.
    pub async fn refresh(&self, id: &str) -> Result<SecretString, SecretError> {
        self.read(id, true).await
    }

    /// The secret parsed as JSON into `T`, cached like [`Secrets::get`].
    ///
    /// Wrong content is a [`SecretError::Malformed`] (class auth: the function's secret is
    /// wrong, not the record) naming the secret and the position, never quoting the content.
    /// Such a value is dropped from the cache, as a failed fetch would be, so the next read
    /// fetches again and picks up the fixed secret at once. After [`Secrets::refresh`], this
    /// reads the refreshed value.
    pub async fn get_json<T: DeserializeOwned>(&self, id: &str) -> Result<T, SecretError> {
        let secret = self.get(id).await?;
        match serde_json::from_str(secret.expose()) {
            Ok(value) => Ok(value),
            Err(error) => {
                self.forget(id, &secret).await;
                Err(SecretError::from_json::<T>(id, &error))
            }
        }
    }

    /// Drops `id`'s cached value if it is still `value` (a newer fetch is kept).
    async fn forget(&self, id: &str, value: &SecretString) {
        let slot = self.slot(id);
        let mut cached = slot.lock().await;
        if cached
            .as_ref()
            .is_some_and(|entry| entry.value.is_same_value(value))
        {
            *cached = None;
        }
    }

    async fn read(&self, id: &str, force: bool) -> Result<SecretString, SecretError> {
        let asked_at = Instant::now();
        let slot = self.slot(id);
        let mut cached = slot.lock().await;
        if let Some(entry) = cached.as_ref() {
            let fresh = if force {
                // Someone else's fetch started after we asked: it is as new as ours would be.
                entry.fetched_at > asked_at
            } else {
                Instant::now().saturating_duration_since(entry.fetched_at) < self.ttl
            };
            if fresh {
                tracing::trace!(secret_id = id, "secret served from cache");
                return Ok(entry.value.clone());
            }
        }
        let fetched_at = Instant::now();
        let value = self.source.fetch(id).await?;
        tracing::debug!(secret_id = id, forced = force, "secret fetched");
        *cached = Some(Cached {
            value: value.clone(),
            fetched_at,
        });
        Ok(value)
    }

    fn slot(&self, id: &str) -> Arc<Slot> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.entry(id.to_owned()).or_default().clone()
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cached = self
            .slots
            .lock()
            .map(|slots| slots.len())
            .unwrap_or_default();
        f.debug_struct("Secrets")
            .field("ttl", &self.ttl)
            .field("secret_ids", &cached)
            .finish_non_exhaustive()
    }
}

/// The TTL from [`TTL_ENV`], or [`DEFAULT_TTL`] (with a warning if the variable is invalid).
fn ttl_from_env() -> Duration {
    match std::env::var(TTL_ENV) {
        Err(std::env::VarError::NotPresent) => DEFAULT_TTL,
        Ok(text) => parse_ttl(&text).unwrap_or_else(|| {
            tracing::warn!(variable = TTL_ENV, value = %text, "invalid secrets TTL, using the default");
            DEFAULT_TTL
        }),
        Err(std::env::VarError::NotUnicode(_)) => {
            tracing::warn!(variable = TTL_ENV, "invalid secrets TTL, using the default");
            DEFAULT_TTL
        }
    }
}

/// Whole seconds, surrounding blanks allowed.
fn parse_ttl(text: &str) -> Option<Duration> {
    text.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Fetch;
    use crate::taxonomy::{Classify, ErrorClass};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A source whose value and call count the test controls.
    #[derive(Clone, Default)]
    struct Fake {
        value: Arc<Mutex<Option<String>>>,
        calls: Arc<AtomicUsize>,
        delay: Duration,
    }

    impl Fake {
        fn holding(value: &str) -> Self {
            let fake = Fake::default();
            fake.set(value);
            fake
        }
        fn set(&self, value: &str) {
            *self.value.lock().unwrap() = Some(value.to_owned());
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
    }

    impl SecretSource for Fake {
        fn fetch<'a>(&'a self, id: &'a str) -> Fetch<'a> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(self.delay).await;
                match self.value.lock().unwrap().clone() {
                    Some(value) => Ok(SecretString::from(value)),
                    None => Err(SecretError::NotFound { id: id.to_owned() }),
                }
            })
        }
    }

    fn cache(fake: &Fake, ttl: Duration) -> Secrets {
        Secrets::with_source(fake.clone()).with_ttl(ttl)
    }

    #[tokio::test(start_paused = true)]
    async fn reads_within_the_ttl_are_served_from_memory() {
        let fake = Fake::holding("v1");
        let secrets = cache(&fake, Duration::from_secs(60));
        assert_eq!(secrets.get("id").await.unwrap().expose(), "v1");
        fake.set("v2");
        tokio::time::advance(Duration::from_secs(59)).await;
        assert_eq!(secrets.get("id").await.unwrap().expose(), "v1");
        assert_eq!(fake.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_read_after_the_ttl_fetches_again() {
        let fake = Fake::holding("v1");
        let secrets = cache(&fake, Duration::from_secs(60));
        secrets.get("id").await.unwrap();
        fake.set("v2");
        tokio::time::advance(Duration::from_secs(60)).await;
        assert_eq!(secrets.get("id").await.unwrap().expose(), "v2");
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn refresh_fetches_inside_the_ttl_and_updates_the_cache() {
        let fake = Fake::holding("v1");
        let secrets = cache(&fake, Duration::from_secs(60));
        secrets.get("id").await.unwrap();
        fake.set("v2");
        assert_eq!(secrets.refresh("id").await.unwrap().expose(), "v2");
        assert_eq!(secrets.get("id").await.unwrap().expose(), "v2");
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn a_zero_ttl_fetches_every_time() {
        let fake = Fake::holding("v1");
        let secrets = cache(&fake, Duration::ZERO);
        secrets.get("id").await.unwrap();
        secrets.get("id").await.unwrap();
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn secrets_are_cached_per_id_and_clones_share_the_cache() {
        let fake = Fake::holding("v");
        let secrets = cache(&fake, Duration::from_secs(60));
        secrets.get("a").await.unwrap();
        secrets.get("b").await.unwrap();
        secrets.clone().get("a").await.unwrap();
        assert_eq!(fake.calls(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_misses_share_one_fetch() {
        let fake = Fake {
            delay: Duration::from_millis(100),
            ..Fake::holding("v1")
        };
        let secrets = cache(&fake, Duration::from_secs(60));
        let reads = (0..8).map(|_| secrets.get("id"));
        let values = futures::future::join_all(reads).await;
        assert!(values.iter().all(|v| v.as_ref().unwrap().expose() == "v1"));
        assert_eq!(fake.calls(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn failures_are_not_cached() {
        let fake = Fake::default();
        let secrets = cache(&fake, Duration::from_secs(60));
        let error = secrets.get("app/missing").await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Auth);
        assert_eq!(fake.calls(), 1);
        fake.set("now-there");
        assert_eq!(
            secrets.get("app/missing").await.unwrap().expose(),
            "now-there",
            "the next read inside the TTL fetches again"
        );
        assert_eq!(fake.calls(), 2);
        assert_eq!(
            secrets.get("app/missing").await.unwrap().expose(),
            "now-there"
        );
        assert_eq!(fake.calls(), 2, "and the value it got is cached");
    }

    #[tokio::test(start_paused = true)]
    async fn get_json_parses_and_reports_malformed_content_without_it() {
        #[derive(serde::Deserialize, Debug)]
        struct Creds {
            token: SecretString,
        }
        let fake = Fake::holding(r#"{"token": "t0k3n"}"#);
        let secrets = cache(&fake, Duration::from_secs(60));
        let creds: Creds = secrets.get_json("app/creds").await.unwrap();
        assert_eq!(creds.token.expose(), "t0k3n");

        let fake = Fake::holding("t0k3n-not-json");
        let secrets = cache(&fake, Duration::from_secs(60));
        let error = secrets.get_json::<Creds>("app/creds").await.unwrap_err();
        assert!(matches!(error, SecretError::Malformed { .. }));
        assert_eq!(error.class(), ErrorClass::Auth);
        assert!(error.to_string().contains("app/creds"));
        assert!(!error.to_string().contains("t0k3n"));
    }

    #[tokio::test(start_paused = true)]
    async fn a_malformed_value_is_not_cached_so_a_fix_is_read_at_once() {
        #[derive(serde::Deserialize, Debug)]
        struct Creds {
            token: SecretString,
        }
        let fake = Fake::holding("not-json");
        let secrets = cache(&fake, Duration::from_secs(60));
        assert!(secrets.get_json::<Creds>("app/creds").await.is_err());
        fake.set(r#"{"token": "fixed"}"#);
        let creds: Creds = secrets.get_json("app/creds").await.unwrap();
        assert_eq!(creds.token.expose(), "fixed");
        assert_eq!(fake.calls(), 2);
        secrets.get_json::<Creds>("app/creds").await.unwrap();
        assert_eq!(fake.calls(), 2, "a good value is cached as usual");
    }

    /// Collects formatted log lines in memory.
    #[derive(Clone, Default)]
    struct Logs(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Logs {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn logs_name_the_secret_and_never_its_value() {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);

        let fake = Fake::holding("v4lue-in-logs?");
        let secrets = cache(&fake, Duration::from_secs(60));
        secrets.get("app/logged").await.unwrap();
        secrets.get("app/logged").await.unwrap();
        secrets.refresh("app/logged").await.unwrap();

        let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
        assert!(text.contains("app/logged"), "{text}");
        assert!(!text.contains("v4lue-in-logs?"), "{text}");
    }

    #[test]
    fn the_ttl_variable_is_whole_seconds() {
        assert_eq!(parse_ttl("60"), Some(Duration::from_secs(60)));
        assert_eq!(parse_ttl(" 0 "), Some(Duration::ZERO));
        assert_eq!(parse_ttl("5m"), None);
        assert_eq!(parse_ttl("-1"), None);
        assert_eq!(parse_ttl(""), None);
    }

    #[test]
    fn debug_lists_no_values() {
        let secrets = cache(&Fake::holding("v"), DEFAULT_TTL);
        assert_eq!(
            format!("{secrets:?}"),
            "Secrets { ttl: 300s, secret_ids: 0, .. }"
        );
    }
}
