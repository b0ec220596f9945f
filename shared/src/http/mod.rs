//! The outbound HTTP client every connector uses to call its SaaS API.
//!
//! Built once at cold start ([`HttpClient::new`]) and shared by every invocation, it gives each
//! call what an integration would otherwise forget:
//!
//! - a connect timeout and a total timeout on every request (3 s / 10 s by default), so a hung
//!   API cannot eat the Lambda's whole budget;
//! - a user agent `switchyard/<version> (+<integration>)`, so an API owner can tell who calls;
//! - a base URL per [`Destination`] that an environment variable overrides
//!   (`SLACK_API_BASE_URL=http://127.0.0.1:4010`), so the same binary talks to a local stand-in;
//! - one error type, [`HttpError`], classified by [`crate::http::classify`] from the status,
//!   `Retry-After`, the transport failure or a connector's [`BodyClassifier`].
//!
//! An [`HttpError`] carries the destination's name, the status, the server's delay and a short
//! prefix of the response body. It never carries request headers, the request body or the URL
//! (any of them may hold a token).

use std::fmt;
use std::time::{Duration, SystemTime};

use reqwest::{Method, RequestBuilder, Response, StatusCode, Url};
use serde::de::DeserializeOwned;

pub mod classify;

use self::classify::{BodyClassifier, TransportCause};
use crate::taxonomy::{Classification, Classify};

/// How much of an error response's body is read: enough for an API's error JSON, bounded so a
/// misbehaving server cannot make us buffer megabytes to report a failure.
pub const ERROR_BODY_LIMIT: usize = 8 * 1024;

/// How much of the body an [`HttpError`] keeps for its message.
const SNIPPET_CHARS: usize = 256;

/// Timeouts and identity of an [`HttpClient`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// The integration's name, sent in the user agent (`switchyard/0.1.0 (+slack)`).
    pub integration: String,
    /// The longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// The longest a whole call may take, from connecting to the end of the response body.
    pub timeout: Duration,
    /// Idle pooled connections are dropped after this; shorter than the usual 60 s load
    /// balancer idle timeout, so a warm Lambda does not reuse a connection the server closed.
    pub pool_idle_timeout: Duration,
    /// The largest successful response body the `send_body`/`send_json` helpers buffer; a
    /// larger one is a permanent error rather than an out-of-memory Lambda.
    pub max_body_bytes: usize,
}

impl HttpConfig {
    /// The defaults for `integration`: 3 s to connect, 10 s per call, 50 s idle pool timeout,
    /// 8 MiB bodies.
    pub fn new(integration: impl Into<String>) -> Self {
        Self {
            integration: integration.into(),
            connect_timeout: Duration::from_secs(3),
            timeout: Duration::from_secs(10),
            pool_idle_timeout: Duration::from_secs(50),
            max_body_bytes: 8 * 1024 * 1024,
        }
    }

    /// The user agent sent on every request: `switchyard/<crate version> (+<integration>)`.
    pub fn user_agent(&self) -> String {
        format!(
            "switchyard/{} (+{})",
            env!("CARGO_PKG_VERSION"),
            self.integration
        )
    }
}

/// Where a connector sends its calls: a name for errors and logs, and a base URL.
///
/// The base URL comes from an environment variable when it is set and non-empty, else from the
/// real API's URL, so tests and local runs point the unchanged binary at a stand-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    name: String,
    base_url: Url,
}

impl Destination {
    /// A destination with a fixed base URL (`http` or `https`, no user info).
    pub fn new(name: impl Into<String>, base_url: &str) -> Result<Self, HttpError> {
        let name = name.into();
        let base_url = match Url::parse(base_url) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                return Err(HttpError::config(&name, "base URL must be http or https"));
            }
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                return Err(HttpError::config(
                    &name,
                    "base URL must not carry credentials",
                ));
            }
            Ok(url) => url,
            Err(e) => {
                return Err(HttpError::config(&name, format!("invalid base URL: {e}")));
            }
        };
        Ok(Self { name, base_url })
    }

    /// The destination `name`, at the URL in environment variable `env_var` if it is set and
    /// non-empty, else at `default_url`.
    ///
    /// ```
    /// use switchyard::http::Destination;
    ///
    /// let slack = Destination::from_env("slack", "SLACK_API_BASE_URL", "https://slack.com/api")?;
    /// # Ok::<(), switchyard::http::HttpError>(())
    /// ```
    pub fn from_env(name: &str, env_var: &str, default_url: &str) -> Result<Self, HttpError> {
        Self::from_lookup(name, env_var, default_url, |key| std::env::var(key).ok())
    }

    /// [`Destination::from_env`] with the environment injected, for tests.
    pub fn from_lookup(
        name: &str,
        env_var: &str,
        default_url: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, HttpError> {
        match lookup(env_var) {
            Some(url) if !url.trim().is_empty() => Self::new(name, url.trim()),
            _ => Self::new(name, default_url),
        }
    }

    /// The name used in errors, logs and metrics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base URL calls are made against.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The full URL of `path` under the base URL.
    ///
    /// Plain concatenation with exactly one `/` between them (not RFC 3986 resolution, which
    /// silently drops the base's last segment when it lacks a trailing slash):
    /// `https://slack.com/api` + `chat.postMessage` → `https://slack.com/api/chat.postMessage`.
    pub fn url(&self, path: &str) -> Result<Url, HttpError> {
        let base = self.base_url.as_str().trim_end_matches('/');
        let path = path.trim_start_matches('/');
        Url::parse(&format!("{base}/{path}"))
            .map_err(|e| HttpError::config(&self.name, format!("invalid URL path: {e}")))
    }
}

/// The shared outbound client: a `reqwest::Client` (rustls) with the kit's timeouts and user
/// agent. Cloning is cheap and shares the connection pool.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
    max_body_bytes: usize,
}

impl HttpClient {
    /// A client with the default [`HttpConfig`] for `integration`. Build it once, in `main`.
    pub fn new(integration: &str) -> Result<Self, HttpError> {
        Self::with_config(&HttpConfig::new(integration))
    }

    /// A client with explicit timeouts and limits.
    pub fn with_config(config: &HttpConfig) -> Result<Self, HttpError> {
        let inner = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .pool_idle_timeout(config.pool_idle_timeout)
            .user_agent(config.user_agent())
            .build()
            .map_err(|e| {
                HttpError::config(&config.integration, format!("cannot build client: {e}"))
            })?;
        Ok(Self {
            inner,
            max_body_bytes: config.max_body_bytes,
        })
    }

    /// The underlying `reqwest::Client`, for what this wrapper does not cover.
    pub fn inner(&self) -> &reqwest::Client {
        &self.inner
    }

    /// A request to `path` under `destination`'s base URL. Add headers, auth and body, then
    /// pass it to [`HttpClient::send`] (or `send_body`/`send_json`).
    pub fn request(
        &self,
        method: Method,
        destination: &Destination,
        path: &str,
    ) -> Result<RequestBuilder, HttpError> {
        Ok(self.inner.request(method, destination.url(path)?))
    }

    /// Sends a request; a non-success status becomes a classified [`HttpError`].
    ///
    /// On a 2xx or 3xx the response is returned with its body unread. On any other status a
    /// bounded prefix of the body ([`ERROR_BODY_LIMIT`]) is read for the error message. A
    /// request built by another `reqwest::Client` is still sent through this one, with its
    /// timeouts.
    pub async fn send(
        &self,
        destination: &Destination,
        request: RequestBuilder,
    ) -> Result<Response, HttpError> {
        let response = self.execute(destination, request).await?;
        let status = response.status();
        let verdict = classify::classify_response(status, response.headers(), SystemTime::now());
        match verdict {
            None => Ok(response),
            Some(classification) => {
                let (body, _) = read_bounded(response, ERROR_BODY_LIMIT)
                    .await
                    .unwrap_or_default();
                Err(HttpError::status(
                    destination,
                    status,
                    classification,
                    &body,
                ))
            }
        }
    }

    /// Sends a request and reads its whole body (up to [`HttpConfig::max_body_bytes`]), letting
    /// `classifier` turn a successful response into an error and override the status verdict
    /// of a failed one (see [`BodyClassifier`]).
    pub async fn send_body(
        &self,
        destination: &Destination,
        request: RequestBuilder,
        classifier: Option<&dyn BodyClassifier>,
    ) -> Result<Vec<u8>, HttpError> {
        let response = self.execute(destination, request).await?;
        let status = response.status();
        let retry_after = classify::retry_after_header(response.headers(), SystemTime::now());
        let by_status = classify::classify_status(status, retry_after);
        let limit = match by_status {
            None => self.max_body_bytes,
            Some(_) => ERROR_BODY_LIMIT,
        };
        let (body, truncated) = read_bounded(response, limit)
            .await
            .map_err(|e| HttpError::transport(destination, e))?;

        let by_body = classifier.and_then(|c| c.classify_body(status, &body));
        match (by_status, by_body) {
            (_, Some(failure)) => {
                let classification = if failure.classification.retry_after.is_none()
                    && failure.classification.class.is_retryable()
                {
                    failure.classification.with_retry_after(retry_after)
                } else {
                    failure.classification
                };
                Err(HttpError::body(
                    destination,
                    status,
                    classification,
                    &failure.code,
                ))
            }
            (Some(classification), None) => Err(HttpError::status(
                destination,
                status,
                classification,
                &body,
            )),
            (None, None) if truncated => Err(HttpError::new(
                destination.name(),
                Classification::permanent(),
                Failure::TooLarge {
                    status,
                    limit: self.max_body_bytes,
                },
            )),
            (None, None) => Ok(body),
        }
    }

    /// [`HttpClient::send_body`], then the body decoded as JSON; a body that does not decode is
    /// a permanent error (the same bytes will not decode on a retry).
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        destination: &Destination,
        request: RequestBuilder,
        classifier: Option<&dyn BodyClassifier>,
    ) -> Result<T, HttpError> {
        let body = self.send_body(destination, request, classifier).await?;
        serde_json::from_slice(&body).map_err(|e| {
            HttpError::new(
                destination.name(),
                Classification::permanent(),
                Failure::Decode(e.to_string()),
            )
        })
    }

    /// Builds and executes the request through this client; transport errors are classified.
    async fn execute(
        &self,
        destination: &Destination,
        request: RequestBuilder,
    ) -> Result<Response, HttpError> {
        let (_, request) = request.build_split();
        let request = request.map_err(|e| HttpError::transport(destination, e))?;
        self.inner
            .execute(request)
            .await
            .map_err(|e| HttpError::transport(destination, e))
    }
}

/// Reads at most `limit` bytes of the body; `true` when there was more.
async fn read_bounded(
    mut response: Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, true));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, false))
}

/// A failed call to a SaaS API, with its [`Classification`].
///
/// Its message names the destination, what failed and the class, e.g.
/// `slack: HTTP 429 Too Many Requests: {"ok":false} [throttled, retry after 7s]`. It holds no
/// request headers, request body or URL, so it is safe to log and to put in a dead-letter
/// attribute.
#[derive(Debug)]
pub struct HttpError {
    destination: String,
    classification: Classification,
    failure: Failure,
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} [{}]",
            self.destination,
            self.failure,
            DisplayClass(&self.classification)
        )
    }
}

impl std::error::Error for HttpError {
    /// The transport error behind a failed request (never the [`Failure`] itself, whose text is
    /// already in this error's message).
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.failure {
            Failure::Transport { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// What went wrong in an [`HttpError`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Failure {
    /// The API answered with an error status.
    #[error("HTTP {status}{}", Snippet(.body))]
    Status {
        /// The response status.
        status: StatusCode,
        /// A short prefix of the response body, control characters replaced.
        body: String,
    },
    /// The API's body reported an error (a [`BodyClassifier`] verdict).
    #[error("HTTP {status}, API error `{code}`")]
    Body {
        /// The response status (often 200).
        status: StatusCode,
        /// The API's error code, as the connector reported it.
        code: String,
    },
    /// The request failed below HTTP (timeout, refused, reset, truncated body) or could not be
    /// built. The URL is stripped from the underlying error.
    #[error("request failed: {cause}")]
    Transport {
        /// What the chain of the underlying error says happened.
        cause: TransportCause,
        /// The underlying error, kept for its `source()` chain.
        #[source]
        source: reqwest::Error,
    },
    /// A successful response was larger than the client's limit.
    #[error("HTTP {status}, response body larger than {limit} bytes")]
    TooLarge {
        /// The response status.
        status: StatusCode,
        /// The limit it exceeded ([`HttpConfig::max_body_bytes`]).
        limit: usize,
    },
    /// A successful response body did not decode.
    #[error("cannot decode the response: {0}")]
    Decode(String),
    /// The client or destination is misconfigured (bad base URL).
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl HttpError {
    fn new(destination: &str, classification: Classification, failure: Failure) -> Self {
        Self {
            destination: destination.to_owned(),
            classification,
            failure,
        }
    }

    /// A misconfiguration: permanent, it will not fix itself.
    fn config(destination: &str, message: impl Into<String>) -> Self {
        Self::new(
            destination,
            Classification::permanent(),
            Failure::Config(message.into()),
        )
    }

    fn status(
        destination: &Destination,
        status: StatusCode,
        classification: Classification,
        body: &[u8],
    ) -> Self {
        Self::new(
            destination.name(),
            classification,
            Failure::Status {
                status,
                body: snippet(body),
            },
        )
    }

    fn body(
        destination: &Destination,
        status: StatusCode,
        classification: Classification,
        code: &str,
    ) -> Self {
        Self::new(
            destination.name(),
            classification,
            Failure::Body {
                status,
                code: code.chars().take(SNIPPET_CHARS).collect(),
            },
        )
    }

    /// A transport error, classified by walking its chain; its URL (which may carry a query
    /// token) is dropped.
    pub fn transport(destination: &Destination, error: reqwest::Error) -> Self {
        let cause = classify::transport_cause(&error);
        Self::new(
            destination.name(),
            cause.classification(),
            Failure::Transport {
                cause,
                source: error.without_url(),
            },
        )
    }

    /// The name of the destination that failed.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// What went wrong.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// The response status, when there was a response.
    pub fn status_code(&self) -> Option<StatusCode> {
        match &self.failure {
            Failure::Status { status, .. }
            | Failure::Body { status, .. }
            | Failure::TooLarge { status, .. } => Some(*status),
            Failure::Transport { .. } | Failure::Decode(_) | Failure::Config(_) => None,
        }
    }

    /// The start of the error response's body (or the API's error code for a body-level
    /// error), for messages and dead-letter attributes.
    pub fn body_snippet(&self) -> Option<&str> {
        match &self.failure {
            Failure::Status { body, .. } if !body.is_empty() => Some(body),
            Failure::Body { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The delay the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.classification.retry_after
    }
}

impl Classify for HttpError {
    fn classification(&self) -> Classification {
        self.classification
    }
}

/// The first [`SNIPPET_CHARS`] characters of a body, lossily decoded, with control characters
/// (newlines included) replaced so one error stays one log line.
fn snippet(body: &[u8]) -> String {
    String::from_utf8_lossy(body)
        .chars()
        .take(SNIPPET_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .to_owned()
}

/// Formats `: <snippet>` when there is one.
struct Snippet<'a>(&'a str);

impl fmt::Display for Snippet<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            Ok(())
        } else {
            write!(f, ": {}", self.0)
        }
    }
}

/// Formats `throttled, retry after 7s`.
struct DisplayClass<'a>(&'a Classification);

impl fmt::Display for DisplayClass<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.class.as_str())?;
        match self.0.retry_after {
            Some(delay) if self.0.class.is_retryable() => {
                write!(f, ", retry after {delay:?}")
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::classify::BodyFailure;
    use super::*;
    use crate::taxonomy::ErrorClass;
    use reqwest::header::AUTHORIZATION;
    use wiremock::matchers::{any, header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client() -> HttpClient {
        HttpClient::new("test-integration").unwrap()
    }

    async fn server_answering(response: ResponseTemplate) -> (MockServer, Destination) {
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(response)
            .mount(&server)
            .await;
        let dest = Destination::new("stand-in", &server.uri()).unwrap();
        (server, dest)
    }

    async fn get_error(response: ResponseTemplate) -> HttpError {
        let (_server, dest) = server_answering(response).await;
        let http = client();
        let request = http.request(Method::GET, &dest, "/v1/thing").unwrap();
        http.send(&dest, request).await.unwrap_err()
    }

    #[tokio::test]
    async fn throttled_with_the_servers_delay() {
        let err = get_error(ResponseTemplate::new(429).insert_header("Retry-After", "7")).await;
        assert_eq!(err.class(), ErrorClass::Throttled);
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert_eq!(err.status_code(), Some(StatusCode::TOO_MANY_REQUESTS));
        assert_eq!(err.destination(), "stand-in");
    }

    #[tokio::test]
    async fn unavailable_with_an_http_date_is_throttled_until_then() {
        let when = SystemTime::now() + Duration::from_secs(120);
        let date = httpdate::fmt_http_date(when);
        let err = get_error(ResponseTemplate::new(503).insert_header("Retry-After", date)).await;
        assert_eq!(err.class(), ErrorClass::Throttled);
        let delay = err.retry_after().unwrap();
        // The date has one-second resolution and some time passes during the call.
        assert!(
            delay > Duration::from_secs(115) && delay <= Duration::from_secs(120),
            "{delay:?}"
        );
    }

    #[tokio::test]
    async fn unavailable_without_a_delay_is_transient() {
        let err = get_error(ResponseTemplate::new(503)).await;
        assert_eq!(err.classification(), Classification::transient());
    }

    #[tokio::test]
    async fn refused_credentials_are_auth() {
        let err = get_error(ResponseTemplate::new(401)).await;
        assert_eq!(err.class(), ErrorClass::Auth);
    }

    #[tokio::test]
    async fn not_found_is_permanent_and_the_message_carries_a_body_snippet() {
        let body = format!("{{\"error\":\"no such channel\"}}\n{}", "x".repeat(10_000));
        let err = get_error(ResponseTemplate::new(404).set_body_string(body)).await;
        assert_eq!(err.class(), ErrorClass::Permanent);
        let message = err.to_string();
        assert!(
            message
                .starts_with("stand-in: HTTP 404 Not Found: {\"error\":\"no such channel\"} xxx"),
            "{message}"
        );
        assert!(message.ends_with("[permanent]"), "{message}");
        assert!(err.body_snippet().unwrap().starts_with("{\"error\""));
        assert!(
            message.len() < SNIPPET_CHARS + 100,
            "snippet not bounded: {message}"
        );
    }

    #[tokio::test]
    async fn success_is_returned_untouched() {
        let (_server, dest) =
            server_answering(ResponseTemplate::new(200).set_body_string("hi")).await;
        let http = client();
        let response = http
            .send(&dest, http.request(Method::GET, &dest, "x").unwrap())
            .await
            .unwrap();
        assert_eq!(response.text().await.unwrap(), "hi");
    }

    struct SlackBody;

    impl BodyClassifier for SlackBody {
        fn classify_body(&self, _status: StatusCode, body: &[u8]) -> Option<BodyFailure> {
            let reply: serde_json::Value = serde_json::from_slice(body).ok()?;
            if reply["ok"].as_bool()? {
                return None;
            }
            let code = reply["error"].as_str().unwrap_or("unknown");
            let class = match code {
                "ratelimited" => Classification::throttled(None),
                "invalid_auth" => Classification::auth(),
                _ => Classification::permanent(),
            };
            Some(BodyFailure::new(class, code))
        }
    }

    #[tokio::test]
    async fn a_body_level_error_on_200_takes_the_connectors_verdict() {
        let (_server, dest) = server_answering(
            ResponseTemplate::new(200)
                .insert_header("Retry-After", "3")
                .set_body_string(r#"{"ok":false,"error":"ratelimited"}"#),
        )
        .await;
        let http = client();
        let request = http
            .request(Method::POST, &dest, "chat.postMessage")
            .unwrap();
        let err = http
            .send_body(&dest, request, Some(&SlackBody))
            .await
            .unwrap_err();
        assert_eq!(
            err.classification(),
            Classification::throttled(Some(Duration::from_secs(3)))
        );
        assert!(err.to_string().contains("API error `ratelimited`"), "{err}");
    }

    #[tokio::test]
    async fn the_body_verdict_overrides_the_status_verdict() {
        let (_server, dest) = server_answering(
            ResponseTemplate::new(400).set_body_string(r#"{"ok":false,"error":"invalid_auth"}"#),
        )
        .await;
        let http = client();
        let request = http.request(Method::POST, &dest, "x").unwrap();
        let err = http
            .send_body(&dest, request, Some(&SlackBody))
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Auth);
    }

    #[tokio::test]
    async fn a_body_without_error_decodes() {
        let (_server, dest) = server_answering(
            ResponseTemplate::new(200).set_body_string(r#"{"ok":true,"ts":"1.2"}"#),
        )
        .await;
        let http = client();
        let request = http.request(Method::POST, &dest, "x").unwrap();
        let reply: serde_json::Value = http
            .send_json(&dest, request, Some(&SlackBody))
            .await
            .unwrap();
        assert_eq!(reply["ts"], "1.2");

        let request = http.request(Method::POST, &dest, "x").unwrap();
        let err = http
            .send_json::<Vec<u32>>(&dest, request, None)
            .await
            .unwrap_err();
        assert_eq!(
            err.class(),
            ErrorClass::Permanent,
            "undecodable body: {err}"
        );
    }

    #[tokio::test]
    async fn an_oversized_success_body_is_refused() {
        let (_server, dest) =
            server_answering(ResponseTemplate::new(200).set_body_string("x".repeat(2000))).await;
        let http = HttpClient::with_config(&HttpConfig {
            max_body_bytes: 1000,
            ..HttpConfig::new("t")
        })
        .unwrap();
        let request = http.request(Method::GET, &dest, "x").unwrap();
        let err = http.send_body(&dest, request, None).await.unwrap_err();
        assert!(
            matches!(err.failure(), Failure::TooLarge { limit: 1000, .. }),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_base_url_override_and_the_user_agent_are_honoured() {
        let server = MockServer::start().await;
        let agent = format!("switchyard/{} (+slack)", env!("CARGO_PKG_VERSION"));
        Mock::given(method("POST"))
            .and(path("/api/chat.postMessage"))
            .and(header("user-agent", agent.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"ok":true}"#))
            .expect(1)
            .mount(&server)
            .await;
        let stand_in = format!("{}/api", server.uri());
        let dest = Destination::from_lookup(
            "slack",
            "SLACK_API_BASE_URL",
            "https://slack.com/api",
            |key| (key == "SLACK_API_BASE_URL").then(|| stand_in.clone()),
        )
        .unwrap();
        let http = HttpClient::new("slack").unwrap();
        let request = http
            .request(Method::POST, &dest, "chat.postMessage")
            .unwrap();
        http.send_body(&dest, request, Some(&SlackBody))
            .await
            .unwrap();
        server.verify().await;
    }

    #[test]
    fn the_real_url_is_used_when_the_override_is_unset_or_empty() {
        for env in [None, Some(String::new()), Some("  ".to_owned())] {
            let dest = Destination::from_lookup(
                "slack",
                "SLACK_API_BASE_URL",
                "https://slack.com/api",
                |_| env.clone(),
            )
            .unwrap();
            assert_eq!(
                dest.url("chat.postMessage").unwrap().as_str(),
                "https://slack.com/api/chat.postMessage"
            );
        }
    }

    #[test]
    fn urls_join_with_exactly_one_slash() {
        for base in ["http://h:1/api", "http://h:1/api/"] {
            let dest = Destination::new("d", base).unwrap();
            for p in ["v1/x", "/v1/x"] {
                assert_eq!(dest.url(p).unwrap().as_str(), "http://h:1/api/v1/x");
            }
        }
    }

    #[test]
    fn bad_base_urls_are_refused_at_cold_start() {
        for bad in ["not a url", "ftp://h/", "https://user:secret@h/"] {
            let err = Destination::new("d", bad).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Permanent, "{bad}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    #[tokio::test]
    async fn errors_never_carry_the_authorization_header_or_query_tokens() {
        const TOKEN: &str = "xoxb-very-secret-token";
        let (_server, dest) = server_answering(ResponseTemplate::new(500)).await;
        let http = client();
        let request = http
            .request(Method::GET, &dest, &format!("x?token={TOKEN}"))
            .unwrap()
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"));
        let err = http.send(&dest, request).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(!err.to_string().contains(TOKEN), "{err}");
        assert!(!format!("{err:?}").contains(TOKEN), "{err:?}");

        // Transport failure: reqwest's own error would print the URL with the query.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dead = Destination::new("dead", &format!("http://127.0.0.1:{port}")).unwrap();
        let request = http
            .request(Method::GET, &dead, &format!("x?token={TOKEN}"))
            .unwrap()
            .header(AUTHORIZATION, format!("Bearer {TOKEN}"));
        let err = http.send(&dead, request).await.unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(!err.to_string().contains(TOKEN), "{err}");
        assert!(!format!("{err:?}").contains(TOKEN), "{err:?}");
    }

    #[tokio::test]
    async fn connection_refused_is_transient() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dest = Destination::new("dead", &format!("http://127.0.0.1:{port}")).unwrap();
        let http = client();
        let err = http
            .send(&dest, http.request(Method::GET, &dest, "x").unwrap())
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(
            matches!(
                err.failure(),
                Failure::Transport {
                    cause: TransportCause::Connect,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_total_timeout_applies_to_every_call() {
        let (_server, dest) =
            server_answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
        let http = HttpClient::with_config(&HttpConfig {
            timeout: Duration::from_millis(200),
            ..HttpConfig::new("t")
        })
        .unwrap();
        let started = std::time::Instant::now();
        let err = http
            .send(&dest, http.request(Method::GET, &dest, "x").unwrap())
            .await
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(err.class(), ErrorClass::Transient);
        assert!(
            matches!(
                err.failure(),
                Failure::Transport {
                    cause: TransportCause::Timeout,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn a_truncated_body_is_transient() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort")
                .await;
            let _ = socket.shutdown().await;
        });
        let dest = Destination::new("short", &format!("http://127.0.0.1:{port}")).unwrap();
        let http = client();
        let err = http
            .send_body(&dest, http.request(Method::GET, &dest, "x").unwrap(), None)
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Transient, "{err}");
    }
}
