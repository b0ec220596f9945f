//! [`HttpClient`]: the shared outbound client, and the bounded reading of response bodies.

use std::time::SystemTime;

use reqwest::{Method, RequestBuilder, Response};
use serde::de::DeserializeOwned;

use super::classify::{self, BodyClassifier};
use super::error_body::ErrorBody;
use super::policy::{self, CallInfo};
use super::{Destination, Failure, HttpConfig, HttpError, HttpResponse};
use crate::invocation::Invocation;
use crate::redact::DEFAULT_ERROR_FIELDS;
use crate::taxonomy::Classification;

/// How much of an error response's body is read: enough for an API's error JSON, bounded so a
/// misbehaving server cannot make us buffer megabytes to report a failure.
pub const ERROR_BODY_LIMIT: usize = 8 * 1024;

/// The shared outbound client: a `reqwest::Client` (rustls) with the kit's timeouts and user
/// agent. Cloning is cheap and shares the connection pool.
///
/// Every call through it runs the destination's [`CallPolicy`](super::CallPolicy)s, reads the
/// body within a bound ([`HttpConfig::max_body_bytes`] for a success, [`ERROR_BODY_LIMIT`] for
/// an error) and classifies the outcome.
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

    /// A client for `integration` with the per-call timeout from `HTTP_TIMEOUT` if it is set
    /// ([`HttpConfig::from_env`]). Build it once, in `main`.
    ///
    /// # Errors
    /// As [`HttpConfig::from_env`], or when the client cannot be built.
    pub fn from_env(integration: &str) -> Result<Self, HttpError> {
        Self::with_config(&HttpConfig::from_env(integration)?)
    }

    /// A client with explicit timeouts and limits.
    pub fn with_config(config: &HttpConfig) -> Result<Self, HttpError> {
        let tls = super::tls::client_config().map_err(|e| {
            HttpError::config(&config.integration, format!("cannot configure TLS: {e}"))
        })?;
        let inner = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
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

    /// The underlying `reqwest::Client`, for what this wrapper does not cover. Calls made
    /// with it directly bypass the destination's policies, the body bounds and the
    /// classification.
    pub fn inner(&self) -> &reqwest::Client {
        &self.inner
    }

    /// A request to `path` under `destination`'s base URL. Add headers, auth and body, then
    /// pass it to [`HttpClient::send`] (or `send_with`, `send_body`, `send_json`).
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
    /// A 2xx or 3xx response comes back with its body read, up to
    /// [`HttpConfig::max_body_bytes`] (a larger one is a permanent [`Failure::TooLarge`]). On
    /// any other status a bounded prefix of the body ([`ERROR_BODY_LIMIT`]) is read and only
    /// its error codes are kept ([`ErrorBody`]). A request built by another `reqwest::Client`
    /// is still sent through this one, with its timeouts.
    pub async fn send(
        &self,
        destination: &Destination,
        request: RequestBuilder,
    ) -> Result<HttpResponse, HttpError> {
        self.send_with(destination, request, None).await
    }

    /// [`HttpClient::send`] with a connector's [`BodyClassifier`], which may turn a successful
    /// response into an error, override the status verdict of a failed one, and name the
    /// fields of an error body that are safe to keep
    /// ([`BodyClassifier::safe_fields`]).
    pub async fn send_with(
        &self,
        destination: &Destination,
        request: RequestBuilder,
        classifier: Option<&dyn BodyClassifier>,
    ) -> Result<HttpResponse, HttpError> {
        let (_, request) = request.build_split();
        let request = request.map_err(|e| HttpError::transport(destination, e))?;
        let call = CallInfo::new(
            destination.name(),
            request.method().clone(),
            Invocation::current_cutoff(),
        );
        let exchange = self.exchange(destination, request, classifier);
        let result = policy::around(destination.policies(), &call, exchange).await;
        if result.as_ref().is_err_and(HttpError::outcome_unknown) {
            crate::unknown_outcome::note();
        }
        result
    }

    /// Sends a request and returns its whole body (see [`HttpClient::send_with`]).
    pub async fn send_body(
        &self,
        destination: &Destination,
        request: RequestBuilder,
        classifier: Option<&dyn BodyClassifier>,
    ) -> Result<Vec<u8>, HttpError> {
        let response = self.send_with(destination, request, classifier).await?;
        Ok(response.into_body())
    }

    /// [`HttpClient::send_body`], then the body decoded as JSON; a body that does not decode is
    /// a permanent error (the same bytes will not decode on a retry), whose message keeps
    /// serde's position and field name but never the body's values.
    pub async fn send_json<T: DeserializeOwned>(
        &self,
        destination: &Destination,
        request: RequestBuilder,
        classifier: Option<&dyn BodyClassifier>,
    ) -> Result<T, HttpError> {
        let body = self.send_body(destination, request, classifier).await?;
        serde_json::from_slice(&body).map_err(|e| {
            // A success status whose body does not decode: the call may well have worked.
            crate::unknown_outcome::note();
            HttpError::decode(destination, &e)
        })
    }

    /// Executes the request, reads the body within its bound and classifies the outcome: the
    /// part of a call the destination's policies run around.
    async fn exchange(
        &self,
        destination: &Destination,
        request: reqwest::Request,
        classifier: Option<&dyn BodyClassifier>,
    ) -> Result<HttpResponse, HttpError> {
        let mut response = self
            .inner
            .execute(request)
            .await
            .map_err(|e| HttpError::transport(destination, e))?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());
        let retry_after = classify::retry_after_header(&headers, SystemTime::now());
        let by_status = classify::classify_status(status, retry_after);
        let fields = classifier.map_or(DEFAULT_ERROR_FIELDS, |c| c.safe_fields());

        let (body, truncated) = match by_status {
            None => match read_bounded(response, self.max_body_bytes).await {
                Ok((_, true)) => {
                    return Err(HttpError::new(
                        destination.name(),
                        Classification::permanent(),
                        Failure::TooLarge {
                            status,
                            limit: self.max_body_bytes,
                        },
                    ));
                }
                Ok(read) => read,
                Err(e) => return Err(HttpError::transport(destination, e)),
            },
            // The status is the verdict: a body that breaks off only loses detail.
            Some(_) => read_bounded(response, ERROR_BODY_LIMIT)
                .await
                .unwrap_or_default(),
        };

        let by_body = classifier.and_then(|c| c.classify_body(status, &body));
        // No Retry-After header: the connector may know the wait from elsewhere in the answer.
        let hint = || match (retry_after, classifier) {
            (None, Some(c)) => c.retry_after_hint(status, &headers, &body),
            _ => retry_after,
        };
        let by_status = by_status.map(|c| {
            if c.retry_after.is_none() && c.class.is_retryable() {
                c.with_retry_after(hint())
            } else {
                c
            }
        });
        match (by_status, by_body) {
            (_, Some(failure)) => {
                let classification = if failure.classification.retry_after.is_none()
                    && failure.classification.class.is_retryable()
                {
                    failure.classification.with_retry_after(hint())
                } else {
                    failure.classification
                };
                let kept = ErrorBody::new(&headers, &body, truncated, fields);
                Err(HttpError::body(
                    destination,
                    status,
                    classification,
                    &failure,
                    kept,
                ))
            }
            (Some(classification), None) => {
                let kept = ErrorBody::new(&headers, &body, truncated, fields);
                Err(HttpError::status(destination, status, classification, kept))
            }
            (None, None) => Ok(HttpResponse::new(status, headers, body)),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::classify::{BodyFailure, SafeFields, TransportCause};
    use crate::taxonomy::Classify;
    use crate::taxonomy::ErrorClass;
    use reqwest::StatusCode;
    use reqwest::header::AUTHORIZATION;
    use std::time::Duration;
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

    /// Knows the wait from a header of its own, as HubSpot's rate-limit headers say it.
    struct WindowHint;

    impl BodyClassifier for WindowHint {
        fn classify_body(&self, _: StatusCode, _: &[u8]) -> Option<BodyFailure> {
            None
        }

        fn retry_after_hint(
            &self,
            _: StatusCode,
            headers: &reqwest::header::HeaderMap,
            _: &[u8],
        ) -> Option<Duration> {
            let ms = headers.get("x-window-ms")?.to_str().ok()?.parse().ok()?;
            Some(Duration::from_millis(ms))
        }
    }

    async fn get_error_with(
        response: ResponseTemplate,
        classifier: &dyn BodyClassifier,
    ) -> HttpError {
        let (_server, dest) = server_answering(response).await;
        let http = client();
        let request = http.request(Method::GET, &dest, "/v1/thing").unwrap();
        http.send_with(&dest, request, Some(classifier))
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn a_connectors_hint_gives_the_wait_only_when_retry_after_is_absent() {
        let hinted = get_error_with(
            ResponseTemplate::new(429).insert_header("x-window-ms", "10000"),
            &WindowHint,
        )
        .await;
        assert_eq!(hinted.class(), ErrorClass::Throttled);
        assert_eq!(hinted.retry_after(), Some(Duration::from_secs(10)));

        let both = get_error_with(
            ResponseTemplate::new(429)
                .insert_header("x-window-ms", "10000")
                .insert_header("Retry-After", "3"),
            &WindowHint,
        )
        .await;
        assert_eq!(
            both.retry_after(),
            Some(Duration::from_secs(3)),
            "the header wins"
        );

        let permanent = get_error_with(
            ResponseTemplate::new(400).insert_header("x-window-ms", "10000"),
            &WindowHint,
        )
        .await;
        assert_eq!(
            permanent.retry_after(),
            None,
            "no wait for what will not be retried"
        );
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

    const EMAIL: &str = "jane@example.com";
    const PHONE: &str = "+1-555-0100";

    /// Neither the message, the debug form nor the accessors of `err` quote customer data.
    fn assert_quotes_no_customer_data(err: &HttpError) {
        let accessors = format!(
            "{:?} {:?} {:?}",
            err.body_snippet(),
            err.error_code(),
            err.error_body()
        );
        for text in [err.to_string(), format!("{err:?}"), accessors] {
            assert!(!text.contains(EMAIL), "{text}");
            assert!(!text.contains("555-0100"), "{text}");
        }
    }

    /// A CRM's 400 that echoes the request, HubSpot style.
    fn crm_validation_error() -> ResponseTemplate {
        ResponseTemplate::new(400).set_body_raw(
            format!(
                r#"{{"status":"error","message":"Property values were not valid: invalid email {EMAIL}, phone {PHONE}","correlationId":"aeb5f871-7f07-4993-9211-075dc63e7cbf","category":"VALIDATION_ERROR","errors":[{{"message":"{EMAIL} is not valid","code":"INVALID_EMAIL"}}]}}"#
            ),
            "application/json;charset=utf-8",
        )
    }

    #[tokio::test]
    async fn an_error_body_keeps_its_codes_and_never_its_message() {
        let err = get_error(crm_validation_error()).await;
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert_eq!(err.status_code(), Some(StatusCode::BAD_REQUEST));
        assert_eq!(
            err.to_string(),
            "stand-in: HTTP 400 Bad Request (category=VALIDATION_ERROR, status=error) [permanent]"
        );
        assert_eq!(err.error_code(), Some("VALIDATION_ERROR"));
        assert_eq!(
            err.body_snippet(),
            Some("category=VALIDATION_ERROR, status=error")
        );
        assert_quotes_no_customer_data(&err);
    }

    #[tokio::test]
    async fn a_connector_names_the_fields_it_vouches_for() {
        const HUBSPOT: SafeFields =
            SafeFields(&["category", "correlationId", "errors.0.code", "message"]);
        let (_server, dest) = server_answering(crm_validation_error()).await;
        let http = client();
        let request = http
            .request(Method::POST, &dest, "crm/v3/contacts")
            .unwrap();
        let err = http
            .send_with(&dest, request, Some(&HUBSPOT))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "stand-in: HTTP 400 Bad Request (category=VALIDATION_ERROR, \
             correlationId=aeb5f871-7f07-4993-9211-075dc63e7cbf, errors.0.code=INVALID_EMAIL) \
             [permanent]"
        );
        // Naming `message` does not make prose safe: only code-shaped values are kept.
        assert_eq!(err.error_body().unwrap().code("message"), None);
        assert_quotes_no_customer_data(&err);
    }

    #[tokio::test]
    async fn an_html_error_page_keeps_only_its_type_and_size() {
        let page = format!("<html><body>502 while saving {EMAIL} / {PHONE}</body></html>");
        let err = get_error(
            ResponseTemplate::new(502).set_body_raw(page.clone(), "text/html; charset=utf-8"),
        )
        .await;
        assert_eq!(err.class(), ErrorClass::Transient);
        assert_eq!(
            err.to_string(),
            format!(
                "stand-in: HTTP 502 Bad Gateway (text/html, {} bytes) [transient]",
                page.len()
            )
        );
        assert_eq!(err.body_snippet(), None);
        assert_eq!(err.error_code(), None);
        assert_quotes_no_customer_data(&err);
    }

    #[tokio::test]
    async fn an_error_body_is_read_only_up_to_the_limit() {
        let body = format!(r#"{{"error":"too_big","pad":"{}"}}"#, "x".repeat(20_000));
        let err = get_error(ResponseTemplate::new(404).set_body_string(body)).await;
        assert_eq!(err.class(), ErrorClass::Permanent);
        let kept = err.error_body().unwrap();
        assert_eq!(kept.len(), ERROR_BODY_LIMIT);
        assert!(kept.truncated());
        // A cut JSON body cannot be parsed, so it keeps no codes: its size says what happened.
        assert!(
            err.to_string().ends_with(&format!(
                "(text/plain, {ERROR_BODY_LIMIT}+ bytes) [permanent]"
            )),
            "{err}"
        );
    }

    #[tokio::test]
    async fn success_comes_back_with_its_status_headers_and_body() {
        let (_server, dest) = server_answering(
            ResponseTemplate::new(201)
                .insert_header("x-request-id", "r-1")
                .set_body_string("hi"),
        )
        .await;
        let http = client();
        let response = http
            .send(&dest, http.request(Method::GET, &dest, "x").unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(response.headers()["x-request-id"], "r-1");
        assert_eq!(response.body(), b"hi");
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

        fn safe_fields(&self) -> &[&str] {
            &["error", "needed"]
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
        assert_eq!(
            err.to_string(),
            "stand-in: HTTP 200 OK, API error `ratelimited` [throttled, retry after 3s]"
        );
        assert_eq!(err.error_code(), Some("ratelimited"));
    }

    #[tokio::test]
    async fn a_body_level_error_keeps_the_other_safe_fields_and_withholds_prose() {
        let (_server, dest) = server_answering(ResponseTemplate::new(200).set_body_string(
            format!(r#"{{"ok":false,"error":"missing_scope","needed":"chat:write","warning":"{EMAIL}"}}"#),
        ))
        .await;
        let http = client();
        let request = http.request(Method::POST, &dest, "x").unwrap();
        let err = http
            .send_body(&dest, request, Some(&SlackBody))
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "stand-in: HTTP 200 OK, API error `missing_scope` (needed=chat:write) [permanent]"
        );
        assert_quotes_no_customer_data(&err);

        /// A careless connector that reports the API's message as its code.
        struct Careless;
        impl BodyClassifier for Careless {
            fn classify_body(&self, _: StatusCode, _: &[u8]) -> Option<BodyFailure> {
                Some(BodyFailure::new(
                    Classification::permanent(),
                    format!("invalid email {EMAIL}, phone {PHONE}"),
                ))
            }
        }
        let request = http.request(Method::POST, &dest, "x").unwrap();
        let err = http
            .send_body(&dest, request, Some(&Careless))
            .await
            .unwrap_err();
        assert!(
            err.to_string().starts_with(
                "stand-in: HTTP 200 OK, API error (code withheld) (error=missing_scope)"
            ),
            "{err}"
        );
        assert_quotes_no_customer_data(&err);
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
    async fn an_undecodable_success_body_is_not_quoted() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Contact {
            id: u64,
        }
        let (_server, dest) = server_answering(
            ResponseTemplate::new(200)
                .set_body_string(format!(r#"{{"id":"{EMAIL}","phone":"{PHONE}"}}"#)),
        )
        .await;
        let http = client();
        let request = http.request(Method::GET, &dest, "x").unwrap();
        let err = http
            .send_json::<Contact>(&dest, request, None)
            .await
            .unwrap_err();
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert!(
            matches!(err.failure(), Failure::Decode(s) if s.category() == "data"),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("stand-in: cannot decode the response: data error at line 1 column "),
            "{err}"
        );
        assert_quotes_no_customer_data(&err);

        let (_server, dest) =
            server_answering(ResponseTemplate::new(200).set_body_string(r#"{"name":"x"}"#)).await;
        let request = http.request(Method::GET, &dest, "x").unwrap();
        let err = http
            .send_json::<Contact>(&dest, request, None)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("missing field `id`"), "{err}");
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
        assert_eq!(err.class(), ErrorClass::Permanent);
        // `send` reads within the same bound: no path hands back an unbounded body.
        let request = http.request(Method::GET, &dest, "x").unwrap();
        let err = http.send(&dest, request).await.unwrap_err();
        assert!(
            matches!(err.failure(), Failure::TooLarge { limit: 1000, .. }),
            "{err}"
        );
        // A body of exactly the limit is fine.
        let (_server, dest) =
            server_answering(ResponseTemplate::new(200).set_body_string("x".repeat(1000))).await;
        let request = http.request(Method::GET, &dest, "x").unwrap();
        assert_eq!(http.send(&dest, request).await.unwrap().body().len(), 1000);
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
    async fn only_calls_that_may_have_been_carried_out_count_as_unknown_outcomes() {
        use crate::unknown_outcome::count_within;
        let quick = HttpClient::with_config(&HttpConfig {
            timeout: Duration::from_millis(200),
            ..HttpConfig::new("t")
        })
        .unwrap();
        let call = |dest: Destination| {
            let http = quick.clone();
            async move {
                let request = http.request(Method::POST, &dest, "x").unwrap();
                http.send(&dest, request).await
            }
        };

        // Sent, no answer before the timeout: the destination may have done it.
        let (_slow, dest) =
            server_answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
        let (result, unknown) = count_within(call(dest)).await;
        assert!(result.unwrap_err().outcome_unknown());
        assert_eq!(unknown, 1);

        // An error status is a verdict: nothing was done.
        let (_failing, dest) = server_answering(ResponseTemplate::new(500)).await;
        let (result, unknown) = count_within(call(dest)).await;
        assert!(!result.unwrap_err().outcome_unknown());
        assert_eq!(unknown, 0);

        // No connection: nothing was sent.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let dest = Destination::new("closed", &format!("http://127.0.0.1:{port}")).unwrap();
        let (result, unknown) = count_within(call(dest)).await;
        assert!(!result.unwrap_err().outcome_unknown());
        assert_eq!(unknown, 0);
    }

    #[tokio::test]
    async fn a_connection_closed_before_the_answer_is_an_unknown_outcome() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await; // the request arrived, then: nothing
            let _ = socket.shutdown().await;
        });
        let dest = Destination::new("lost", &format!("http://127.0.0.1:{port}")).unwrap();
        let http = client();
        let (result, unknown) = crate::unknown_outcome::count_within(
            http.send(&dest, http.request(Method::POST, &dest, "x").unwrap()),
        )
        .await;
        let err = result.unwrap_err();
        assert!(err.outcome_unknown(), "{err}");
        assert_eq!(unknown, 1);
    }

    /// An API error that says "may have partly succeeded" (Slack's `fatal_error`).
    struct MaybeDone;

    impl BodyClassifier for MaybeDone {
        fn classify_body(&self, _: StatusCode, body: &[u8]) -> Option<BodyFailure> {
            let failure = BodyFailure::new(Classification::transient(), "fatal_error");
            match body {
                b"maybe" => Some(failure.with_outcome_unknown()),
                b"not done" => Some(failure),
                _ => None,
            }
        }
    }

    #[tokio::test]
    async fn an_api_error_that_may_have_partly_succeeded_is_an_unknown_outcome() {
        use crate::unknown_outcome::count_within;
        let http = client();
        for (body, expected) in [("maybe", true), ("not done", false)] {
            let (_server, dest) =
                server_answering(ResponseTemplate::new(200).set_body_string(body)).await;
            let request = http.request(Method::POST, &dest, "x").unwrap();
            let (result, unknown) =
                count_within(http.send_with(&dest, request, Some(&MaybeDone))).await;
            let err = result.unwrap_err();
            assert_eq!(err.outcome_unknown(), expected, "{body}: {err}");
            assert_eq!(unknown, u32::from(expected), "{body}");
            assert_eq!(err.error_code(), Some("fatal_error"));
        }
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
