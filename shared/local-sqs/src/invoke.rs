//! Invoking a function through the Lambda Invoke API that `cargo lambda watch` serves:
//! `POST <base>/2015-03-31/functions/<function>/invocations` with the event as body.
//!
//! `cargo lambda watch` answers 200 with the function's response, or 500 with the error the
//! runtime reported (`{"errorType": ..., "errorMessage": ...}`), or 404 for a function it does
//! not have. The real Lambda API (and emulators that copy it) answer a function error with
//! 200 and an `X-Amz-Function-Error` header instead; both are read as a function error.
//!
//! The client is `reqwest` (already the kit's client; no second HTTP stack), with a connect
//! timeout and the mapping's invocation timeout on every call, and no proxy: the Invoke API is
//! local.

use std::time::Duration;

use aws_lambda_events::sqs::SqsEvent;
use switchyard::{Classification, Classify};

/// Longest wait to connect to the Invoke API.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// The header with which the Lambda API marks a function error on a 200 answer.
pub const FUNCTION_ERROR_HEADER: &str = "x-amz-function-error";
/// The base URL `cargo lambda watch` listens on by default.
pub const DEFAULT_INVOKE_URL: &str = "http://127.0.0.1:9000";

/// Why an invocation did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// No answer within the invocation timeout.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The function ran and failed (the runtime's error report).
    #[error("function error {error_type}: {error_message}")]
    Function {
        /// `errorType`.
        error_type: String,
        /// `errorMessage`.
        error_message: String,
    },
    /// The Invoke API refused the call (e.g. 404: no such function in `cargo lambda watch`).
    #[error("the Invoke API answered {status}: {body}")]
    Status {
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The Invoke API could not be reached or its answer not read.
    #[error("cannot reach the Invoke API: {0}")]
    Transport(#[source] reqwest::Error),
    /// The HTTP client could not be built, or the event not encoded.
    #[error("cannot prepare the invocation: {0}")]
    Setup(String),
}

impl Classify for InvokeError {
    fn classification(&self) -> Classification {
        match self {
            Self::Timeout(_) | Self::Transport(_) => Classification::transient(),
            Self::Function { .. } => Classification::transient(),
            Self::Status { status, .. } if *status >= 500 || *status == 429 => {
                Classification::transient()
            }
            Self::Status { .. } | Self::Setup(_) => Classification::permanent(),
        }
    }
}

/// How much of an unexpected answer's body is kept for the report.
const BODY_EXCERPT: usize = 512;

/// Invokes one function through the Invoke API.
#[derive(Debug, Clone)]
pub struct Invoker {
    client: reqwest::Client,
    url: String,
    timeout: Duration,
}

impl Invoker {
    /// An invoker of `function` at the Invoke API under `base_url` (e.g.
    /// `http://127.0.0.1:9000`), each call bounded by `timeout`.
    pub fn new(base_url: &str, function: &str, timeout: Duration) -> Result<Self, InvokeError> {
        let client = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .no_proxy()
            .build()
            .map_err(|e| InvokeError::Setup(e.to_string()))?;
        Ok(Self::with_client(client, base_url, function, timeout))
    }

    /// As [`Invoker::new`], sharing `client`'s connection pool.
    pub fn with_client(
        client: reqwest::Client,
        base_url: &str,
        function: &str,
        timeout: Duration,
    ) -> Self {
        Self {
            client,
            url: invocation_url(base_url, function),
            timeout,
        }
    }

    /// The URL invoked.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Invokes the function with `event`; the function's response body on success.
    pub async fn invoke(&self, event: &SqsEvent) -> Result<Vec<u8>, InvokeError> {
        let body = serde_json::to_vec(event).map_err(|e| InvokeError::Setup(e.to_string()))?;
        let call = async {
            let response = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body)
                .send()
                .await?;
            let status = response.status();
            let function_error = response.headers().contains_key(FUNCTION_ERROR_HEADER);
            let bytes = response.bytes().await?;
            Ok::<_, reqwest::Error>((status, function_error, bytes))
        };
        let (status, function_error, bytes) = tokio::time::timeout(self.timeout, call)
            .await
            .map_err(|_| InvokeError::Timeout(self.timeout))?
            .map_err(|e| {
                if e.is_timeout() {
                    InvokeError::Timeout(self.timeout)
                } else {
                    InvokeError::Transport(e)
                }
            })?;
        if status == reqwest::StatusCode::OK && !function_error {
            return Ok(bytes.to_vec());
        }
        if (function_error || status == reqwest::StatusCode::INTERNAL_SERVER_ERROR)
            && let Some(e) = function_error_of(&bytes)
        {
            return Err(e);
        }
        Err(InvokeError::Status {
            status: status.as_u16(),
            body: excerpt(&bytes),
        })
    }
}

/// `<base>/2015-03-31/functions/<function>/invocations`.
pub fn invocation_url(base_url: &str, function: &str) -> String {
    format!(
        "{}/2015-03-31/functions/{function}/invocations",
        base_url.trim_end_matches('/')
    )
}

/// The runtime's error report, if `body` is one.
fn function_error_of(body: &[u8]) -> Option<InvokeError> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let text = |key: &str| value.get(key).and_then(|v| v.as_str()).map(str::to_string);
    let error_type = text("errorType");
    let error_message = text("errorMessage");
    if error_type.is_none() && error_message.is_none() {
        return None;
    }
    Some(InvokeError::Function {
        error_type: error_type.unwrap_or_else(|| "Unhandled".to_string()),
        error_message: error_message.unwrap_or_default(),
    })
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    text.chars().take(BODY_EXCERPT).collect()
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::http::{HeaderMap, StatusCode};
    use axum::routing::post;
    use switchyard::ErrorClass;

    use super::*;

    /// A stand-in for `cargo lambda watch` answering every invocation with `status`, `headers`
    /// and `body` after `delay`; returns its base URL.
    async fn invoke_api(
        status: u16,
        header: Option<(&'static str, &'static str)>,
        body: &'static str,
        delay: Duration,
    ) -> String {
        let app = Router::new().route(
            "/2015-03-31/functions/{name}/invocations",
            post(
                move |axum::extract::Path(name): axum::extract::Path<String>| async move {
                    tokio::time::sleep(delay).await;
                    let mut headers = HeaderMap::new();
                    if let Some((k, v)) = header {
                        headers.insert(k, v.parse().unwrap());
                    }
                    let body = if name == "echo-name" {
                        name
                    } else {
                        body.to_string()
                    };
                    (StatusCode::from_u16(status).unwrap(), headers, body)
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}/")
    }

    fn invoker(base: &str, function: &str, timeout: Duration) -> Invoker {
        Invoker::new(base, function, timeout).unwrap()
    }

    #[test]
    fn the_url_is_the_lambda_invoke_path() {
        assert_eq!(
            invocation_url("http://127.0.0.1:9000/", "slack-notify"),
            "http://127.0.0.1:9000/2015-03-31/functions/slack-notify/invocations"
        );
    }

    #[tokio::test]
    async fn a_200_gives_the_functions_response_from_the_named_function() {
        let base = invoke_api(200, None, "unused", Duration::ZERO).await;
        let body = invoker(&base, "echo-name", Duration::from_secs(5))
            .invoke(&SqsEvent::default())
            .await
            .unwrap();
        assert_eq!(body, b"echo-name");
    }

    #[tokio::test]
    async fn cargo_lambdas_500_with_an_error_report_is_a_function_error() {
        let body = r#"{"errorType":"&alloc::boxed::Box<dyn Error>","errorMessage":"boom"}"#;
        let base = invoke_api(500, None, body, Duration::ZERO).await;
        let err = invoker(&base, "f", Duration::from_secs(5))
            .invoke(&SqsEvent::default())
            .await
            .unwrap_err();
        match &err {
            InvokeError::Function { error_message, .. } => assert_eq!(error_message, "boom"),
            other => panic!("expected a function error, got {other:?}"),
        }
        assert_eq!(err.class(), ErrorClass::Transient);
    }

    #[tokio::test]
    async fn lambdas_function_error_header_on_a_200_is_a_function_error() {
        let body = r#"{"errorType":"Runtime.ExitError","errorMessage":"exited"}"#;
        let base = invoke_api(
            200,
            Some(("X-Amz-Function-Error", "Unhandled")),
            body,
            Duration::ZERO,
        )
        .await;
        let err = invoker(&base, "f", Duration::from_secs(5))
            .invoke(&SqsEvent::default())
            .await
            .unwrap_err();
        assert!(matches!(err, InvokeError::Function { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn a_missing_function_is_a_permanent_status_error() {
        let body = r#"{"title":"Missing function","detail":"that function doesn't exist"}"#;
        let base = invoke_api(404, None, body, Duration::ZERO).await;
        let err = invoker(&base, "nope", Duration::from_secs(5))
            .invoke(&SqsEvent::default())
            .await
            .unwrap_err();
        match &err {
            InvokeError::Status { status, body } => {
                assert_eq!(*status, 404);
                assert!(body.contains("Missing function"));
            }
            other => panic!("expected a status error, got {other:?}"),
        }
        assert_eq!(err.class(), ErrorClass::Permanent);
    }

    #[tokio::test]
    async fn a_slow_function_times_out() {
        let base = invoke_api(200, None, "{}", Duration::from_secs(30)).await;
        let err = invoker(&base, "f", Duration::from_millis(200))
            .invoke(&SqsEvent::default())
            .await
            .unwrap_err();
        assert!(matches!(err, InvokeError::Timeout(_)), "{err:?}");
    }

    #[tokio::test]
    async fn nobody_listening_is_a_transport_error() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let err = invoker(
            &format!("http://127.0.0.1:{port}"),
            "f",
            Duration::from_secs(5),
        )
        .invoke(&SqsEvent::default())
        .await
        .unwrap_err();
        assert!(matches!(err, InvokeError::Transport(_)), "{err:?}");
        assert_eq!(err.class(), ErrorClass::Transient);
    }
}
