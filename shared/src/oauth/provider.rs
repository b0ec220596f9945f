//! [`TokenProvider`]: one access token per execution environment, renewed before it expires,
//! renewed once when an API refuses it, one request for all callers.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::clock::Clock;
use super::exchange::{self, TokenEndpoint};
use super::secret::{Credentials, OAuthSecret, RefreshCredentials};
use super::{AccessToken, OAuthError};
use crate::http::HttpClient;
use crate::secrets::{SecretString, Secrets};
use crate::taxonomy::{Classify, ErrorClass};

/// A refused token is renewed at most this often: a revoked app or a missing scope fails every
/// call alike, and a renewal per call would only hammer the token endpoint and Secrets Manager.
pub const FORCED_RENEWAL_INTERVAL: Duration = Duration::from_secs(60);

/// The least time before its expiry at which a token is renewed; a tenth of its lifetime when
/// that is longer (180 s of HubSpot's 1800 s), never more than half of it.
pub const MIN_EARLY_RENEWAL: Duration = Duration::from_secs(60);

/// Access tokens for one secret, shared by every invocation of the execution environment.
///
/// Build it once at cold start and share it (clones share the token). See the
/// [module docs](super) for the secret's shapes, the flows and the errors.
///
/// - [`TokenProvider::token`] answers from memory while the token has time left, else obtains
///   a new one: exchanges the refresh token, or re-reads a static token. Concurrent callers
///   wait for one request.
/// - [`TokenProvider::rejected`] is what a caller says when the API refused a token (401):
///   the provider renews it once, unless someone already has.
/// - [`TokenProvider::with_token`] wraps both around a call: "refresh once, and a second
///   refusal is auth".
#[derive(Clone)]
pub struct TokenProvider {
    inner: Arc<Inner>,
}

struct Inner {
    http: HttpClient,
    secrets: Secrets,
    secret_id: String,
    endpoint: TokenEndpoint,
    clock: Clock,
    /// Held across a renewal, so that concurrent callers share it (see [`TokenProvider::token`]).
    state: tokio::sync::Mutex<State>,
}

#[derive(Default)]
struct State {
    current: Option<Current>,
    /// The generation of the newest token obtained.
    generation: u64,
    /// When a refused token last made the provider renew (see [`FORCED_RENEWAL_INTERVAL`]).
    last_forced: Option<Instant>,
    rotation: Option<Rotation>,
}

struct Current {
    token: AccessToken,
    /// When to obtain a new one; `None` when the endpoint gave no lifetime (kept until an API
    /// refuses it) or one too long to count.
    renew_at: Option<Instant>,
}

impl Current {
    fn usable_at(&self, now: Instant) -> bool {
        self.renew_at.is_none_or(|at| now < at)
    }
}

/// The token endpoint answered with another refresh token than the one sent.
struct Rotation {
    /// The refresh token the secret holds (replaced by `in_use`).
    in_secret: SecretString,
    /// The one the endpoint gave, used from memory.
    in_use: SecretString,
}

/// How to read the secret before renewing.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Read {
    /// Through the cache, as it stands.
    Cached,
    /// Fetched now: an API refused the token, and the secret may have changed since.
    Forced,
}

impl TokenProvider {
    /// A provider of tokens for the credentials in secret `secret_id` (read through
    /// `secrets`), exchanged at `endpoint` when they are refresh-token credentials, over
    /// `http` (the function's one client: one connection pool, one TLS stack).
    ///
    /// Nothing is read yet: call [`TokenProvider::token`] at cold start to find a bad secret
    /// in the logs before the first batch.
    pub fn new(
        http: HttpClient,
        secrets: Secrets,
        secret_id: impl Into<String>,
        endpoint: TokenEndpoint,
    ) -> Self {
        Self::with_clock(http, secrets, secret_id.into(), endpoint, Clock::System)
    }

    fn with_clock(
        http: HttpClient,
        secrets: Secrets,
        secret_id: String,
        endpoint: TokenEndpoint,
        clock: Clock,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                http,
                secrets,
                secret_id,
                endpoint,
                clock,
                state: tokio::sync::Mutex::default(),
            }),
        }
    }

    /// The id of the secret the tokens come from.
    pub fn secret_id(&self) -> &str {
        &self.inner.secret_id
    }

    /// The current access token, from memory while it has time left; else a new one.
    ///
    /// A refresh-token secret is exchanged at the token endpoint, and the token is kept until
    /// shortly before its `expires_in` ([`MIN_EARLY_RENEWAL`], or a tenth of the lifetime).
    /// A static token is re-read through the secrets cache once the cache's TTL has passed.
    /// Callers that find no usable token while another is obtaining one wait for it rather
    /// than sending their own request.
    ///
    /// # Errors
    /// [`OAuthError`]: the secret cannot be read or has neither shape (auth), or the exchange
    /// failed (auth when the endpoint refused the credentials, throttled, transient).
    pub async fn token(&self) -> Result<AccessToken, OAuthError> {
        let mut state = self.inner.state.lock().await;
        if let Some(current) = &state.current
            && current.usable_at(self.inner.clock.now())
        {
            return Ok(current.token.clone());
        }
        self.inner.renew(&mut state, Read::Cached).await
    }

    /// Reports that an API refused `token` (e.g. HTTP 401); answers the token to retry with,
    /// or `None` when retrying cannot help.
    ///
    /// - If `token` was already replaced (a concurrent caller reported it first, or it
    ///   expired), the replacement is returned and nothing is fetched.
    /// - Otherwise the secret is re-read from Secrets Manager ([`Secrets::refresh`]: it may
    ///   have been fixed) and a new token obtained: exchanged again, or the static token
    ///   re-read. Concurrent reports of the same token share that one renewal.
    /// - `None` when the renewal gives the same token again (a static token nobody has
    ///   replaced yet), or when the last forced renewal was less than
    ///   [`FORCED_RENEWAL_INTERVAL`] ago: the caller's refusal is then final, and the caller
    ///   classifies it as auth. A forced renewal that failed in a way that may pass
    ///   (throttled, transient) does not count towards that interval.
    ///
    /// Retry at most once with the answer; [`TokenProvider::with_token`] does exactly that.
    ///
    /// # Errors
    /// As [`TokenProvider::token`].
    pub async fn rejected(&self, token: &AccessToken) -> Result<Option<AccessToken>, OAuthError> {
        let mut state = self.inner.state.lock().await;
        let now = self.inner.clock.now();
        if let Some(current) = &state.current
            && current.token.generation() != token.generation()
        {
            if current.usable_at(now) {
                return Ok(Some(current.token.clone()));
            }
            return self.inner.renew(&mut state, Read::Cached).await.map(Some);
        }
        if state
            .last_forced
            .is_some_and(|at| now.saturating_duration_since(at) < FORCED_RENEWAL_INTERVAL)
        {
            // Debug: the caller reports the refusal itself, for each record.
            tracing::debug!(
                secret_id = %self.inner.secret_id,
                generation = token.generation(),
                "the API refused the access token again; the last renewal was less than a minute ago, so not renewing"
            );
            return Ok(None);
        }
        let previous = state.last_forced.replace(now);
        tracing::warn!(
            secret_id = %self.inner.secret_id,
            generation = token.generation(),
            "the API refused the access token; re-reading the secret and renewing the token"
        );
        match self.inner.renew(&mut state, Read::Forced).await {
            Ok(fresh) => Ok((fresh.generation() != token.generation()).then_some(fresh)),
            // A renewal that may pass (5xx, throttled) does not count: the next refusal tries
            // again. One refused for good (auth) does, or every record would ask again.
            Err(error) => {
                if error.class().is_retryable() {
                    state.last_forced = previous;
                }
                Err(error)
            }
        }
    }

    /// Runs `call` with the current token and, if it fails with an auth-class error (the API
    /// refused the token), once more with a renewed one ([`TokenProvider::rejected`]); a
    /// second refusal is returned as it is, so it stays auth.
    ///
    /// `call` gets the token by value and is called at most twice. The caller's error type
    /// must be classified and take an [`OAuthError`] (as [`crate::Error`] does); a failure to
    /// obtain a token is returned without calling `call`.
    ///
    /// ```no_run
    /// # async fn example(
    /// #     provider: &switchyard::oauth::TokenProvider,
    /// #     http: &switchyard::http::HttpClient,
    /// #     hubspot: &switchyard::http::Destination,
    /// # ) -> Result<(), switchyard::Error> {
    /// let body = provider
    ///     .with_token(|token| async move {
    ///         let request = http
    ///             .request(reqwest::Method::GET, hubspot, "crm/v3/owners")?
    ///             .bearer_auth(token.expose());
    ///         Ok::<_, switchyard::Error>(http.send_body(hubspot, request, None).await?)
    ///     })
    ///     .await?;
    /// # let _ = body; Ok(()) }
    /// ```
    pub async fn with_token<T, E, F, Fut>(&self, mut call: F) -> Result<T, E>
    where
        F: FnMut(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, E>>,
        E: Classify + From<OAuthError>,
    {
        let token = self.token().await?;
        match call(token.clone()).await {
            Err(error) if error.class() == ErrorClass::Auth => match self.rejected(&token).await? {
                Some(fresh) => call(fresh).await,
                None => Err(error),
            },
            result => result,
        }
    }
}

impl Inner {
    /// Obtains a token from the secret (read as `read` says) and makes it the current one.
    /// The same value as the current token keeps its generation.
    async fn renew(&self, state: &mut State, read: Read) -> Result<AccessToken, OAuthError> {
        let id = self.secret_id.as_str();
        if read == Read::Forced {
            self.secrets.refresh(id).await?;
        }
        let secret: OAuthSecret = self.secrets.get_json(id).await?;
        let asked_at = self.clock.now();
        let (value, renew_at) = match secret.credentials(id)? {
            Credentials::Static(value) => (value, asked_at.checked_add(self.secrets.ttl())),
            Credentials::RefreshToken(credentials) => {
                let sent = state.refresh_token_for(&credentials, id);
                let grant =
                    exchange::refresh_grant(&self.http, &self.endpoint, id, &credentials, &sent)
                        .await?;
                if let Some(answered) = grant.refresh_token
                    && answered.expose() != sent.expose()
                {
                    tracing::warn!(
                        secret_id = id,
                        token_endpoint = self.endpoint.destination().name(),
                        "the token endpoint rotated the refresh token: this execution environment \
                         uses the new one from memory, but the secret still holds the old one; if \
                         the old one is revoked, store a current refresh token in the secret"
                    );
                    state.rotation = Some(Rotation {
                        in_secret: credentials.refresh_token,
                        in_use: answered,
                    });
                }
                // An absurd lifetime that overflows the clock counts as none.
                let renew_at = grant
                    .lifetime
                    .and_then(|lifetime| asked_at.checked_add(lifetime - early_renewal(lifetime)));
                (grant.access_token, renew_at)
            }
        };
        let token = match &state.current {
            Some(current) if current.token.holds(&value) => current.token.clone(),
            _ => {
                state.generation += 1;
                AccessToken::new(value, state.generation)
            }
        };
        tracing::debug!(
            secret_id = id,
            generation = token.generation(),
            "access token obtained"
        );
        state.current = Some(Current {
            token: token.clone(),
            renew_at,
        });
        Ok(token)
    }
}

impl State {
    /// The refresh token to send: the rotated one while the secret still holds the one it
    /// replaced, else the secret's (someone stored a new one: it wins).
    fn refresh_token_for(&mut self, credentials: &RefreshCredentials, id: &str) -> SecretString {
        if let Some(rotation) = &self.rotation {
            if rotation.in_secret.expose() == credentials.refresh_token.expose() {
                return rotation.in_use.clone();
            }
            tracing::info!(
                secret_id = id,
                "the secret holds a new refresh token; using it instead of the rotated one"
            );
            self.rotation = None;
        }
        credentials.refresh_token.clone()
    }
}

/// How long before its expiry a token of `lifetime` is renewed.
fn early_renewal(lifetime: Duration) -> Duration {
    (lifetime / 10).max(MIN_EARLY_RENEWAL).min(lifetime / 2)
}

impl fmt::Debug for TokenProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenProvider")
            .field("secret_id", &self.inner.secret_id)
            .field("token_endpoint", &self.inner.endpoint.destination().name())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::Destination;
    use crate::secrets::{Fetch, SecretError, SecretSource};
    use crate::taxonomy::Classification;
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt;
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

    const SECRET_ID: &str = "crm/hubspot";
    const TOKEN_PATH: &str = "/oauth/v1/token";
    const REFRESH_SECRET: &str =
        r#"{"client_id":"cid-1","client_secret":"cs-SECRET","refresh_token":"rt-SECRET"}"#;

    /// A secret source whose value the test sets and whose reads it counts.
    #[derive(Clone, Default)]
    struct Fake {
        value: Arc<Mutex<String>>,
        reads: Arc<AtomicUsize>,
    }

    impl Fake {
        fn set(&self, value: &str) {
            *self.value.lock().unwrap() = value.to_owned();
        }
        fn reads(&self) -> usize {
            self.reads.load(Ordering::SeqCst)
        }
    }

    impl SecretSource for Fake {
        fn fetch<'a>(&'a self, _id: &'a str) -> Fetch<'a> {
            Box::pin(async move {
                self.reads.fetch_add(1, Ordering::SeqCst);
                Ok(SecretString::new(self.value.lock().unwrap().clone()))
            })
        }
    }

    /// A token endpoint that issues `at-1`, `at-2`, ... and, if set, a refresh token.
    #[derive(Clone, Default)]
    struct Issuer {
        issued: Arc<AtomicUsize>,
        lifetime: Option<u64>,
        refresh_token: Option<&'static str>,
        delay: Duration,
    }

    impl Issuer {
        fn lasting(seconds: u64) -> Self {
            Issuer {
                lifetime: Some(seconds),
                ..Issuer::default()
            }
        }
    }

    impl Respond for Issuer {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
            let mut answer =
                serde_json::json!({"token_type": "bearer", "access_token": format!("at-{n}")});
            if let Some(lifetime) = self.lifetime {
                answer["expires_in"] = lifetime.into();
            }
            if let Some(refresh_token) = self.refresh_token {
                answer["refresh_token"] = refresh_token.into();
            }
            ResponseTemplate::new(200)
                .set_body_json(answer)
                .set_delay(self.delay)
        }
    }

    struct Setup {
        server: MockServer,
        secret: Fake,
        clock: Clock,
        provider: TokenProvider,
        http: HttpClient,
    }

    impl Setup {
        /// The bodies of the token requests the endpoint received, in order.
        async fn token_requests(&self) -> Vec<String> {
            self.server
                .received_requests()
                .await
                .unwrap()
                .iter()
                .filter(|r| r.url.path() == TOKEN_PATH)
                .map(|r| String::from_utf8(r.body.clone()).unwrap())
                .collect()
        }
    }

    async fn setup(secret: &str, endpoint: impl Respond + 'static, ttl: Duration) -> Setup {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(TOKEN_PATH))
            .respond_with(endpoint)
            .mount(&server)
            .await;
        let fake = Fake::default();
        fake.set(secret);
        let clock = Clock::manual();
        let http = HttpClient::new("oauth-test").unwrap();
        let endpoint = TokenEndpoint::new(
            Destination::new("crm-oauth", &server.uri()).unwrap(),
            TOKEN_PATH,
        );
        let provider = TokenProvider::with_clock(
            http.clone(),
            Secrets::with_source(fake.clone()).with_ttl(ttl),
            SECRET_ID.to_owned(),
            endpoint,
            clock.clone(),
        );
        Setup {
            server,
            secret: fake,
            clock,
            provider,
            http,
        }
    }

    const TTL: Duration = Duration::from_secs(300);

    #[tokio::test]
    async fn a_refresh_token_is_exchanged_with_a_form_post() {
        let s = setup(REFRESH_SECRET, Issuer::lasting(1800), TTL).await;
        let token = s.provider.token().await.unwrap();
        assert_eq!(token.expose(), "at-1");
        assert_eq!(token.generation(), 1);
        let requests = s.server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 1);
        assert_eq!(
            requests[0].headers["content-type"],
            "application/x-www-form-urlencoded"
        );
        assert_eq!(
            String::from_utf8(requests[0].body.clone()).unwrap(),
            "grant_type=refresh_token&client_id=cid-1&client_secret=cs-SECRET&refresh_token=rt-SECRET"
        );
    }

    #[tokio::test]
    async fn the_token_is_kept_until_shortly_before_it_expires() {
        let s = setup(REFRESH_SECRET, Issuer::lasting(1800), TTL).await;
        assert_eq!(s.provider.token().await.unwrap().expose(), "at-1");
        // HubSpot's 1800 s token is renewed a tenth early, after 1620 s.
        s.clock.advance(Duration::from_secs(1619));
        assert_eq!(s.provider.token().await.unwrap().expose(), "at-1");
        assert_eq!(s.token_requests().await.len(), 1);

        s.clock.advance(Duration::from_secs(1));
        let renewed = s.provider.token().await.unwrap();
        assert_eq!(renewed.expose(), "at-2");
        assert_eq!(renewed.generation(), 2);
        assert_eq!(s.token_requests().await.len(), 2);
    }

    #[tokio::test]
    async fn a_token_without_a_lifetime_is_kept_until_refused() {
        let s = setup(REFRESH_SECRET, Issuer::default(), TTL).await;
        let first = s.provider.token().await.unwrap();
        s.clock.advance(Duration::from_secs(10 * 3600));
        assert_eq!(s.provider.token().await.unwrap().expose(), "at-1");
        assert_eq!(s.token_requests().await.len(), 1);
        let renewed = s.provider.rejected(&first).await.unwrap().unwrap();
        assert_eq!(renewed.expose(), "at-2");
    }

    #[tokio::test]
    async fn concurrent_callers_share_one_token_request() {
        let issuer = Issuer {
            delay: Duration::from_millis(50),
            ..Issuer::lasting(1800)
        };
        let s = setup(REFRESH_SECRET, issuer, TTL).await;
        let tokens = futures::future::join_all((0..20).map(|_| s.provider.token())).await;
        assert!(
            tokens
                .iter()
                .all(|t| t.as_ref().unwrap().expose() == "at-1")
        );
        assert_eq!(s.token_requests().await.len(), 1);

        s.clock.advance(Duration::from_secs(1800));
        let tokens = futures::future::join_all((0..20).map(|_| s.provider.token())).await;
        assert!(
            tokens
                .iter()
                .all(|t| t.as_ref().unwrap().expose() == "at-2")
        );
        assert_eq!(s.token_requests().await.len(), 2);
    }

    #[tokio::test]
    async fn a_static_token_is_used_as_it_is() {
        let s = setup(
            r#"{"access_token":"pat-na1-1"}"#,
            Issuer::lasting(1800),
            TTL,
        )
        .await;
        let token = s.provider.token().await.unwrap();
        assert_eq!(token.expose(), "pat-na1-1");
        s.provider.token().await.unwrap();
        assert_eq!(s.secret.reads(), 1, "served from memory");
        assert!(s.token_requests().await.is_empty(), "nothing to exchange");
    }

    #[tokio::test]
    async fn a_refused_static_token_is_re_read_at_most_once_a_minute() {
        let s = setup(r#"{"access_token":"pat-1"}"#, Issuer::lasting(1800), TTL).await;
        let first = s.provider.token().await.unwrap();

        s.secret.set(r#"{"access_token":"pat-2"}"#);
        let second = s.provider.rejected(&first).await.unwrap().unwrap();
        assert_eq!(second.expose(), "pat-2");
        assert_eq!(second.generation(), 2);
        assert_eq!(s.secret.reads(), 2, "re-read from Secrets Manager");
        assert_eq!(s.provider.token().await.unwrap().expose(), "pat-2");

        s.secret.set(r#"{"access_token":"pat-3"}"#);
        s.clock.advance(Duration::from_secs(59));
        assert!(s.provider.rejected(&second).await.unwrap().is_none());
        assert_eq!(s.secret.reads(), 2, "not re-read within the minute");

        s.secret.set(r#"{"access_token":"pat-2"}"#);
        s.clock.advance(Duration::from_secs(1));
        assert!(
            s.provider.rejected(&second).await.unwrap().is_none(),
            "the same token again: retrying cannot help"
        );
        assert_eq!(s.secret.reads(), 3);
    }

    #[tokio::test]
    async fn a_secret_of_neither_shape_is_auth_and_names_the_missing_keys() {
        let s = setup(
            r#"{"client_id":"cid-1","refresh_token":"rt-SECRET"}"#,
            Issuer::lasting(1800),
            TTL,
        )
        .await;
        let error = s.provider.token().await.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Auth);
        assert!(matches!(
            error,
            OAuthError::Secret(SecretError::Malformed { .. })
        ));
        let text = error.to_string();
        assert!(text.contains("secret `crm/hubspot` is malformed"), "{text}");
        assert!(
            text.ends_with("missing or empty: `client_secret`, `access_token`"),
            "{text}"
        );
        assert!(!text.contains("rt-SECRET"), "{text}");
        assert!(s.token_requests().await.is_empty());

        for bad in ["rt-SECRET", r#"["rt-SECRET"]"#, r#"{"access_token": 42}"#] {
            s.secret.set(bad);
            let error = s.provider.token().await.unwrap_err();
            assert_eq!(error.class(), ErrorClass::Auth, "{bad}");
            assert!(error.to_string().contains("crm/hubspot"), "{error}");
            assert!(!error.to_string().contains("rt-SECRET"), "{error}");
        }
    }

    /// An API stand-in that accepts only `Bearer {accepted}` and refuses anything else with 401.
    async fn api_accepting(s: &Setup, accepted: Option<&str>) {
        if let Some(token) = accepted {
            Mock::given(path("/v3/thing"))
                .and(header("authorization", format!("Bearer {token}")))
                .respond_with(ResponseTemplate::new(200).set_body_string("ok"))
                .with_priority(1)
                .mount(&s.server)
                .await;
        }
        Mock::given(path("/v3/thing"))
            .respond_with(ResponseTemplate::new(401).set_body_json(
                serde_json::json!({"status":"error","category":"EXPIRED_AUTHENTICATION"}),
            ))
            .mount(&s.server)
            .await;
    }

    /// One API call through `with_token`; the tokens it was called with.
    async fn call_api(s: &Setup) -> (Result<Vec<u8>, crate::Error>, Vec<String>) {
        let api = Destination::new("crm", &s.server.uri()).unwrap();
        let seen = Mutex::new(Vec::new());
        let result = s
            .provider
            .with_token(|token| {
                let (http, api, seen) = (&s.http, &api, &seen);
                async move {
                    seen.lock().unwrap().push(token.expose().to_owned());
                    let request = http
                        .request(reqwest::Method::GET, api, "v3/thing")?
                        .bearer_auth(token.expose());
                    Ok::<_, crate::Error>(http.send_body(api, request, None).await?)
                }
            })
            .await;
        (result, seen.into_inner().unwrap())
    }

    #[tokio::test]
    async fn a_refused_token_is_renewed_once_and_the_call_retried() {
        let s = setup(REFRESH_SECRET, Issuer::lasting(1800), TTL).await;
        api_accepting(&s, Some("at-2")).await;
        let (result, seen) = call_api(&s).await;
        assert_eq!(result.unwrap(), b"ok");
        assert_eq!(seen, ["at-1", "at-2"]);
        assert_eq!(s.token_requests().await.len(), 2);
        assert_eq!(
            s.secret.reads(),
            2,
            "the secret was re-read for the renewal"
        );
    }

    #[tokio::test]
    async fn a_second_refusal_is_auth() {
        let s = setup(REFRESH_SECRET, Issuer::lasting(1800), TTL).await;
        api_accepting(&s, None).await;
        let (result, seen) = call_api(&s).await;
        let error = result.unwrap_err();
        assert_eq!(error.class(), ErrorClass::Auth);
        assert!(error.to_string().contains("401"), "{error}");
        assert_eq!(seen, ["at-1", "at-2"], "retried exactly once");
        assert_eq!(s.token_requests().await.len(), 2);

        // The next record within the minute gets one try, no renewal.
        let (result, seen) = call_api(&s).await;
        assert_eq!(result.unwrap_err().class(), ErrorClass::Auth);
        assert_eq!(seen, ["at-2"]);
        assert_eq!(s.token_requests().await.len(), 2);
    }

    #[tokio::test]
    async fn a_renewal_that_failed_transiently_does_not_hold_off_the_next() {
        let issued = Arc::new(AtomicUsize::new(0));
        let counter = issued.clone();
        let endpoint = move |_: &Request| match counter.fetch_add(1, Ordering::SeqCst) + 1 {
            2 => ResponseTemplate::new(503),
            n => ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token": format!("at-{n}")})),
        };
        let s = setup(REFRESH_SECRET, endpoint, TTL).await;
        let first = s.provider.token().await.unwrap();
        let failed = s.provider.rejected(&first).await.unwrap_err();
        assert_eq!(failed.class(), ErrorClass::Transient);
        let renewed = s.provider.rejected(&first).await.unwrap().unwrap();
        assert_eq!(renewed.expose(), "at-3");
        assert_eq!(issued.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn callers_refused_the_same_token_share_one_renewal() {
        let issuer = Issuer {
            delay: Duration::from_millis(50),
            ..Issuer::lasting(1800)
        };
        let s = setup(REFRESH_SECRET, issuer, TTL).await;
        let first = s.provider.token().await.unwrap();
        let renewed = futures::future::join_all((0..10).map(|_| s.provider.rejected(&first))).await;
        for token in renewed {
            assert_eq!(token.unwrap().unwrap().expose(), "at-2");
        }
        assert_eq!(s.token_requests().await.len(), 2);

        // A token already replaced is answered with its replacement, even a minute later.
        s.clock.advance(Duration::from_secs(120));
        let again = s.provider.rejected(&first).await.unwrap().unwrap();
        assert_eq!((again.expose(), again.generation()), ("at-2", 2));
        assert_eq!(s.token_requests().await.len(), 2);
    }

    #[tokio::test]
    async fn refused_credentials_are_auth_with_the_endpoints_code() {
        let cases = [
            (
                serde_json::json!({"status":"BAD_REFRESH_TOKEN","message":"missing or unknown refresh token rt-SECRET","correlationId":"c0ffee00-1111-2222-3333-444455556666"}),
                "BAD_REFRESH_TOKEN",
            ),
            (
                serde_json::json!({"status":"BAD_CLIENT_SECRET","message":"cs-SECRET is wrong"}),
                "BAD_CLIENT_SECRET",
            ),
            (
                serde_json::json!({"error":"invalid_grant","error_description":"refresh token rt-SECRET revoked"}),
                "invalid_grant",
            ),
        ];
        for (body, code) in cases {
            let s = setup(
                REFRESH_SECRET,
                ResponseTemplate::new(400).set_body_json(body),
                TTL,
            )
            .await;
            let error = s.provider.token().await.unwrap_err();
            assert_eq!(error.class(), ErrorClass::Auth, "{error}");
            assert_eq!(error.error_code(), Some(code));
            assert_eq!(error.secret_id(), SECRET_ID);
            let text = error.to_string();
            assert!(
                text.starts_with(
                    "cannot get an access token for secret `crm/hubspot` from crm-oauth: HTTP 400"
                ),
                "{text}"
            );
            assert!(text.ends_with("[auth]"), "{text}");
            for shown in [text, format!("{error:?}")] {
                assert!(
                    !shown.contains("rt-SECRET") && !shown.contains("cs-SECRET"),
                    "{shown}"
                );
            }
        }
    }

    #[tokio::test]
    async fn endpoint_failures_keep_their_class_and_are_not_cached() {
        let cases = [
            (ResponseTemplate::new(500), Classification::transient()),
            (ResponseTemplate::new(502), Classification::transient()),
            (
                ResponseTemplate::new(429).insert_header("Retry-After", "7"),
                Classification::throttled(Some(Duration::from_secs(7))),
            ),
            (ResponseTemplate::new(404), Classification::auth()),
        ];
        for (answer, expected) in cases {
            let s = setup(REFRESH_SECRET, answer, TTL).await;
            let error = s.provider.token().await.unwrap_err();
            assert_eq!(error.classification(), expected, "{error}");
            assert!(error.to_string().contains("crm/hubspot"), "{error}");
            s.provider.token().await.unwrap_err();
            assert_eq!(s.token_requests().await.len(), 2, "a failure is not kept");
        }
    }

    #[tokio::test]
    async fn an_answer_without_a_usable_bearer_token_is_auth() {
        let answers = [
            ResponseTemplate::new(200).set_body_string("<html>sign in</html>"),
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"access_token":"at-1","token_type":"mac"})),
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"access_token":" "})),
        ];
        for answer in answers {
            let s = setup(REFRESH_SECRET, answer, TTL).await;
            let error = s.provider.token().await.unwrap_err();
            assert_eq!(error.class(), ErrorClass::Auth, "{error}");
            assert!(!format!("{error} {error:?}").contains("at-1"), "{error:?}");
        }
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

    impl Logs {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    #[tokio::test]
    async fn a_rotated_refresh_token_is_used_next_and_logged_without_its_value() {
        let logs = Logs::default();
        let writer = logs.clone();
        // The kit's own lines (the HTTP stack's and the stand-in's are not ours to judge).
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(move || writer.clone())
            .finish()
            .with(Targets::new().with_target("switchyard", tracing::Level::TRACE));
        let _guard = tracing::subscriber::set_default(subscriber);

        let issuer = Issuer {
            refresh_token: Some("rt-ROTATED"),
            ..Issuer::lasting(1800)
        };
        // No secrets caching: each renewal reads the secret as it stands.
        let s = setup(REFRESH_SECRET, issuer, Duration::ZERO).await;
        s.provider.token().await.unwrap();
        s.clock.advance(Duration::from_secs(1800));
        s.provider.token().await.unwrap();
        let requests = s.token_requests().await;
        assert!(
            requests[0].ends_with("refresh_token=rt-SECRET"),
            "{requests:?}"
        );
        assert!(
            requests[1].ends_with("refresh_token=rt-ROTATED"),
            "{requests:?}"
        );

        let text = logs.text();
        let warnings: Vec<&str> = text.lines().filter(|l| l.contains("WARN")).collect();
        assert_eq!(warnings.len(), 1, "{text}");
        assert!(warnings[0].contains("rotated the refresh token"), "{text}");
        assert!(warnings[0].contains("crm/hubspot"), "{text}");
        for value in ["rt-ROTATED", "rt-SECRET", "cs-SECRET", "at-1", "at-2"] {
            assert!(!text.contains(value), "{value} in {text}");
        }

        // Someone stores a new refresh token: it wins over the one in memory.
        s.secret.set(
            r#"{"client_id":"cid-1","client_secret":"cs-SECRET","refresh_token":"rt-STORED"}"#,
        );
        s.clock.advance(Duration::from_secs(1800));
        s.provider.token().await.unwrap();
        let requests = s.token_requests().await;
        assert!(
            requests[2].ends_with("refresh_token=rt-STORED"),
            "{requests:?}"
        );
    }

    #[tokio::test]
    async fn no_token_or_credential_reaches_debug_output() {
        let s = setup(REFRESH_SECRET, Issuer::lasting(1800), TTL).await;
        let token = s.provider.token().await.unwrap();
        let debug = format!(
            "{:?} {:?} {token:?} {token:#?}",
            s.provider, s.provider.inner.endpoint
        );
        for value in ["at-1", "rt-SECRET", "cs-SECRET"] {
            assert!(!debug.contains(value), "{value} in {debug}");
        }
        assert!(debug.contains("crm/hubspot"), "{debug}");
    }

    #[test]
    fn tokens_are_renewed_a_tenth_early_at_least_a_minute_at_most_half() {
        let secs = Duration::from_secs;
        assert_eq!(early_renewal(secs(1800)), secs(180));
        assert_eq!(early_renewal(secs(36_000)), secs(3600));
        assert_eq!(early_renewal(secs(300)), secs(60));
        assert_eq!(early_renewal(secs(60)), secs(30));
        assert_eq!(early_renewal(Duration::ZERO), Duration::ZERO);
    }
}
