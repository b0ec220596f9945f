//! HTTP status, `Retry-After`, transport errors and body-level errors → one
//! [`Classification`].
//!
//! Every caller (the HTTP client, the retry loop, the SQS batch runner) gets its verdict from
//! here, so "should this be retried, and when?" is answered in exactly one place:
//!
//! | input | class |
//! |---|---|
//! | 2xx, 3xx | not an error (`None`) |
//! | 429 | [`ErrorClass::Throttled`], with the `Retry-After` delay if the server sent one |
//! | 503 + valid `Retry-After` | [`ErrorClass::Throttled`] with that delay |
//! | 503 without it, 408, 500, 502, 504, any other 5xx | [`ErrorClass::Transient`] |
//! | 401, 403 | [`ErrorClass::Auth`] (refresh the secret once, then permanent) |
//! | any other 4xx, 1xx, anything outside 100–599 | [`ErrorClass::Permanent`] |
//! | timeouts, refused or reset connections, truncated bodies | [`ErrorClass::Transient`] |
//! | a request that cannot be built, a body that cannot be decoded, a redirect loop | [`ErrorClass::Permanent`] |
//! | "200, but the body says error" | whatever the connector's [`BodyClassifier`] says |
//!
//! Broad rules (the status) run first and a connector's specific rule (its documented error
//! codes) overrides them, as smithy-rs does with its retry classifiers.

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::redact::DEFAULT_ERROR_FIELDS;
use crate::taxonomy::{Classification, ErrorClass};

/// The longest `Retry-After` the kit honours: 12 hours.
///
/// A longer delay (or a date years ahead) is clamped to this, because 12 hours is the longest
/// an SQS message can be kept invisible (`ChangeMessageVisibility`'s cap): a throttled record can
/// never be parked longer than that anyway.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(12 * 60 * 60);

/// The verdict on an HTTP status alone; `None` when the status is not an error (2xx, 3xx).
///
/// `retry_after` is the already-parsed `Retry-After` delay (see [`parse_retry_after`]); it turns
/// a 503 into [`ErrorClass::Throttled`] and is kept on every retryable verdict, dropped on the
/// others (a delay means nothing for a request that will never be retried).
///
/// ```
/// use std::time::Duration;
/// use reqwest::StatusCode;
/// use switchyard::http::classify::classify_status;
/// use switchyard::ErrorClass;
///
/// assert_eq!(classify_status(StatusCode::OK, None), None);
/// let c = classify_status(StatusCode::SERVICE_UNAVAILABLE, Some(Duration::from_secs(7))).unwrap();
/// assert_eq!(c.class, ErrorClass::Throttled);
/// assert_eq!(c.retry_after, Some(Duration::from_secs(7)));
/// assert_eq!(classify_status(StatusCode::NOT_FOUND, None).unwrap().class, ErrorClass::Permanent);
/// ```
pub fn classify_status(
    status: StatusCode,
    retry_after: Option<Duration>,
) -> Option<Classification> {
    let code = status.as_u16();
    let class = match code {
        200..=399 => return None,
        429 => ErrorClass::Throttled,
        503 if retry_after.is_some() => ErrorClass::Throttled,
        401 | 403 => ErrorClass::Auth,
        408 | 500..=599 => ErrorClass::Transient,
        _ => ErrorClass::Permanent,
    };
    let retry_after = if class.is_retryable() {
        retry_after
    } else {
        None
    };
    Some(Classification::new(class).with_retry_after(retry_after))
}

/// The verdict on a response's status and headers: [`classify_status`] with the `Retry-After`
/// header parsed relative to `now`.
///
/// `now` is injected (pass `SystemTime::now()`) so that HTTP-date values can be tested. A
/// malformed `Retry-After` is ignored: the status still decides the class.
pub fn classify_response(
    status: StatusCode,
    headers: &HeaderMap,
    now: SystemTime,
) -> Option<Classification> {
    classify_status(status, retry_after_header(headers, now))
}

/// The `Retry-After` header of a response, parsed relative to `now`; `None` when absent or
/// malformed (see [`parse_retry_after`]).
pub fn retry_after_header(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(value, now)
}

/// Parses a `Retry-After` value in either of its two forms (RFC 9110 §10.2.3), relative to
/// `now`.
///
/// - delta seconds: `"120"` → 120 s;
/// - HTTP-date: `"Wed, 21 Oct 2015 07:28:00 GMT"` → the time from `now` until then, or zero if
///   that moment has passed (the server meant "now").
///
/// Rejected (`None`, so the caller falls back to its own backoff): an empty value, a negative or
/// fractional number (`"-1"`, `"1.5"`), a signed one (`"+5"`), anything else that is neither a
/// number nor a date. Accepted values larger than [`MAX_RETRY_AFTER`] are clamped to it.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use switchyard::http::classify::parse_retry_after;
///
/// let now = SystemTime::now();
/// assert_eq!(parse_retry_after("120", now), Some(Duration::from_secs(120)));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // All digits, so the only possible parse failure is overflow: an absurd but
        // well-formed delay, which is clamped like any other too-long one.
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    let delay = at.duration_since(now).unwrap_or(Duration::ZERO);
    Some(delay.min(MAX_RETRY_AFTER))
}

/// Why a request failed below HTTP: what [`transport_cause`] found in an error's chain.
///
/// Kept apart from the [`Classification`] so that logs and error messages can say *what*
/// happened ("connection refused") without ever printing the request itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportCause {
    /// The connect or the whole request ran past its timeout.
    Timeout,
    /// No connection could be made (refused, DNS, TLS handshake).
    Connect,
    /// The connection broke mid-exchange: reset, aborted, broken pipe, or the body ended before
    /// its announced length.
    ConnectionLost,
    /// Sending failed for another transport reason (e.g. the server closed the connection
    /// before answering).
    Request,
    /// The request could not even be built (bad URL, bad header value): retrying is useless.
    InvalidRequest,
    /// Too many redirects, or a redirect loop.
    Redirect,
    /// The response arrived but could not be decoded (bad JSON, bad encoding).
    Decode,
    /// A status error produced by `reqwest::Response::error_for_status`.
    Status(StatusCode),
    /// Nothing in the chain was recognised.
    Unknown,
}

impl TransportCause {
    /// The class this cause belongs to: network trouble is transient, a broken request or
    /// response is permanent, an unrecognised error is permanent (it is retried only when it is
    /// known to be safe and useful).
    pub fn classification(self) -> Classification {
        match self {
            TransportCause::Timeout
            | TransportCause::Connect
            | TransportCause::ConnectionLost
            | TransportCause::Request => Classification::transient(),
            TransportCause::Status(status) => {
                classify_status(status, None).unwrap_or(Classification::permanent())
            }
            TransportCause::InvalidRequest
            | TransportCause::Redirect
            | TransportCause::Decode
            | TransportCause::Unknown => Classification::permanent(),
        }
    }
}

impl fmt::Display for TransportCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TransportCause::Timeout => f.write_str("timed out"),
            TransportCause::Connect => f.write_str("could not connect"),
            TransportCause::ConnectionLost => f.write_str("connection lost"),
            TransportCause::Request => f.write_str("error sending request"),
            TransportCause::InvalidRequest => f.write_str("invalid request"),
            TransportCause::Redirect => f.write_str("too many redirects"),
            TransportCause::Decode => f.write_str("could not decode the response"),
            TransportCause::Status(status) => write!(f, "HTTP {status}"),
            TransportCause::Unknown => f.write_str("unrecognised error"),
        }
    }
}

/// Finds why a request failed by walking the error's `source()` chain with `downcast_ref`, as
/// reqwest-retry does: the useful fact (an `io::Error` of kind `ConnectionReset`, a timeout) is
/// usually several wrappers deep inside `reqwest::Error` → hyper → io.
///
/// Network facts found anywhere in the chain win over the outer wrapper's kind: a "decode"
/// error whose cause is a connection that ended early is a lost connection, not bad data.
pub fn transport_cause(err: &(dyn StdError + 'static)) -> TransportCause {
    if let Some(cause) = chain(err).find_map(network_fact) {
        return cause;
    }
    chain(err)
        .find_map(|e| e.downcast_ref::<reqwest::Error>().and_then(reqwest_kind))
        .unwrap_or(TransportCause::Unknown)
}

/// Shorthand for `transport_cause(err).classification()`.
pub fn classify_transport(err: &(dyn StdError + 'static)) -> Classification {
    transport_cause(err).classification()
}

/// The error and all its sources, outermost first.
fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| e.source())
}

/// A network-level fact about one link of the chain, if it is one.
fn network_fact(err: &(dyn StdError + 'static)) -> Option<TransportCause> {
    if let Some(io) = err.downcast_ref::<io::Error>() {
        return match io.kind() {
            io::ErrorKind::TimedOut => Some(TransportCause::Timeout),
            io::ErrorKind::ConnectionRefused => Some(TransportCause::Connect),
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => Some(TransportCause::ConnectionLost),
            _ => None,
        };
    }
    let e = err.downcast_ref::<reqwest::Error>()?;
    if e.is_timeout() {
        Some(TransportCause::Timeout)
    } else if e.is_connect() {
        Some(TransportCause::Connect)
    } else if e.is_body() {
        // Reading the body failed below HTTP (hyper reports a truncated body this way).
        Some(TransportCause::ConnectionLost)
    } else {
        None
    }
}

/// What reqwest's own error kind says, once no network fact was found.
fn reqwest_kind(e: &reqwest::Error) -> Option<TransportCause> {
    if e.is_builder() {
        Some(TransportCause::InvalidRequest)
    } else if e.is_redirect() {
        Some(TransportCause::Redirect)
    } else if let Some(status) = e.status() {
        Some(TransportCause::Status(status))
    } else if e.is_decode() {
        Some(TransportCause::Decode)
    } else if e.is_request() {
        Some(TransportCause::Request)
    } else {
        None
    }
}

/// A body-level error found by a connector's [`BodyClassifier`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyFailure {
    /// The connector's verdict; it replaces the status-based one.
    pub classification: Classification,
    /// The API's own error code (`"ratelimited"`, `"invalid_auth"`, a GraphQL error code).
    /// It goes into error messages, logs and dead-letter attributes, so it must be a code, not
    /// an echo of the request: the [`HttpError`](super::HttpError) keeps it only when it looks
    /// like one ([`crate::redact::is_code`]) and withholds it otherwise.
    pub code: String,
    /// Whether the API says the operation may have partly or wholly succeeded despite the
    /// error (Slack's `fatal_error`): a retry may then repeat it, and
    /// [`HttpError::outcome_unknown`](super::HttpError::outcome_unknown) says so.
    pub outcome_unknown: bool,
}

impl BodyFailure {
    /// A failure with the given verdict and API error code; nothing was done.
    pub fn new(classification: Classification, code: impl Into<String>) -> Self {
        Self {
            classification,
            code: code.into(),
            outcome_unknown: false,
        }
    }

    /// The same failure, marked as one after which the operation may have happened anyway
    /// (the API documents the code as "may have partly succeeded").
    #[must_use]
    pub fn with_outcome_unknown(self) -> Self {
        Self {
            outcome_unknown: true,
            ..self
        }
    }
}

/// The hook for "HTTP 200, but the body says error": a connector implements it from its API's
/// documented error codes, and its verdict overrides the status-based one.
///
/// It is consulted for successful responses (where `None` means success) and for error
/// responses (where `None` keeps the status verdict). On error responses the body may be cut to
/// a bounded prefix, so a classifier must treat unparsable input as "no opinion" (`None`).
///
/// # Example: Slack's `{"ok": false, "error": "..."}`
///
/// ```
/// use reqwest::StatusCode;
/// use switchyard::http::classify::{BodyClassifier, BodyFailure};
/// use switchyard::{Classification, ErrorClass};
///
/// struct SlackBody;
///
/// impl BodyClassifier for SlackBody {
///     fn classify_body(&self, _status: StatusCode, body: &[u8]) -> Option<BodyFailure> {
///         #[derive(serde::Deserialize)]
///         struct Reply {
///             ok: bool,
///             #[serde(default)]
///             error: String,
///         }
///         let reply: Reply = serde_json::from_slice(body).ok()?;
///         if reply.ok {
///             return None;
///         }
///         let class = match reply.error.as_str() {
///             "ratelimited" => Classification::throttled(None),
///             "invalid_auth" | "token_expired" | "token_revoked" => Classification::auth(),
///             "internal_error" | "fatal_error" | "service_unavailable" => {
///                 Classification::transient()
///             }
///             _ => Classification::permanent(),
///         };
///         Some(BodyFailure::new(class, reply.error))
///     }
///
///     /// Slack's `error` is a code; `needed` names a missing OAuth scope.
///     fn safe_fields(&self) -> &[&str] {
///         &["error", "needed"]
///     }
/// }
///
/// let verdict = SlackBody
///     .classify_body(StatusCode::OK, br#"{"ok":false,"error":"ratelimited"}"#)
///     .unwrap();
/// assert_eq!(verdict.classification.class, ErrorClass::Throttled);
/// assert_eq!(SlackBody.classify_body(StatusCode::OK, br#"{"ok":true}"#), None);
/// ```
///
/// A GraphQL API would do the same with a non-empty `errors[]`, mapping each error's
/// `extensions.code` (`THROTTLED`, `UNAUTHENTICATED`, ...) to a class.
pub trait BodyClassifier: Send + Sync {
    /// The verdict on a response body; `None` when the body reports no error (or cannot be
    /// read as one).
    fn classify_body(&self, status: StatusCode, body: &[u8]) -> Option<BodyFailure>;

    /// The fields of an error body (names, or dotted paths such as `error.code`) whose values
    /// the [`HttpError`](super::HttpError) may keep for logs and dead-letter attributes.
    ///
    /// The connector knows which of its API's fields hold codes rather than echoes of the
    /// request: HubSpot's `category` and `correlationId`, Slack's `error`. Even then only values
    /// that look like codes are kept ([`crate::redact::is_code`]), and never a field's text
    /// otherwise. The default is [`DEFAULT_ERROR_FIELDS`], the usual places for error codes.
    fn safe_fields(&self) -> &[&str] {
        DEFAULT_ERROR_FIELDS
    }

    /// How long to wait before retrying a throttled or transient answer that came without a
    /// `Retry-After` header, when the API says so elsewhere: HubSpot's 429s carry
    /// `X-HubSpot-RateLimit-*` headers and a `policyName` instead. Consulted only when the
    /// answer is retryable and no `Retry-After` was sent (the header always wins); `None` (the
    /// default) leaves the wait to the caller's schedule.
    fn retry_after_hint(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Duration> {
        let _ = (status, headers, body);
        None
    }
}

/// A [`BodyClassifier`] that only names the safe fields of an API's error bodies and leaves
/// every verdict to the status: for an API that reports errors with proper statuses, but whose
/// error codes live in fields the defaults do not cover.
///
/// ```
/// use switchyard::http::classify::{BodyClassifier, SafeFields};
///
/// const HUBSPOT: SafeFields = SafeFields(&["category", "subCategory", "correlationId"]);
/// assert_eq!(HUBSPOT.safe_fields(), ["category", "subCategory", "correlationId"]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct SafeFields(pub &'static [&'static str]);

impl BodyClassifier for SafeFields {
    fn classify_body(&self, _status: StatusCode, _body: &[u8]) -> Option<BodyFailure> {
        None
    }

    fn safe_fields(&self) -> &[&str] {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn status(code: u16) -> StatusCode {
        StatusCode::from_u16(code).unwrap()
    }

    fn class_of(code: u16, retry_after: Option<Duration>) -> Option<ErrorClass> {
        classify_status(status(code), retry_after).map(|c| c.class)
    }

    const SEVEN: Option<Duration> = Some(Duration::from_secs(7));

    #[test]
    fn success_and_redirect_statuses_are_not_errors() {
        for code in [200, 201, 202, 204, 299, 301, 302, 304, 307, 308, 399] {
            assert_eq!(class_of(code, None), None, "{code}");
            assert_eq!(class_of(code, SEVEN), None, "{code} with Retry-After");
        }
    }

    #[test]
    fn the_classification_table() {
        use ErrorClass::*;
        let table = [
            (100, None, Permanent),
            (101, None, Permanent),
            (400, None, Permanent),
            (401, None, Auth),
            (403, None, Auth),
            (404, None, Permanent),
            (405, None, Permanent),
            (408, None, Transient),
            (409, None, Permanent),
            (410, None, Permanent),
            (413, None, Permanent),
            (422, None, Permanent),
            (429, None, Throttled),
            (429, SEVEN, Throttled),
            (500, None, Transient),
            (501, None, Transient),
            (502, None, Transient),
            (503, None, Transient),
            (503, SEVEN, Throttled),
            (504, None, Transient),
            (599, None, Transient),
            (600, None, Permanent),
            (999, None, Permanent),
        ];
        for (code, retry_after, expected) in table {
            assert_eq!(
                class_of(code, retry_after),
                Some(expected),
                "{code} with {retry_after:?}"
            );
        }
    }

    #[test]
    fn retryable_verdicts_keep_the_server_delay_and_others_drop_it() {
        for code in [429, 503, 500, 504, 408] {
            let c = classify_status(status(code), SEVEN).unwrap();
            assert_eq!(c.retry_after, SEVEN, "{code}");
        }
        assert_eq!(
            classify_status(status(429), None),
            Some(Classification::throttled(None))
        );
        for code in [400, 401, 403, 404] {
            let c = classify_status(status(code), SEVEN).unwrap();
            assert_eq!(c.retry_after, None, "{code}");
        }
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    // 2015-10-21T07:28:00Z, the date of the RFC's example.
    const RFC_EXAMPLE_DATE: &str = "Wed, 21 Oct 2015 07:28:00 GMT";
    const RFC_EXAMPLE_SECS: u64 = 1_445_412_480;

    #[test]
    fn retry_after_delta_seconds() {
        let now = at(RFC_EXAMPLE_SECS);
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
    }

    #[test]
    fn retry_after_http_date_in_the_future_is_the_time_until_then() {
        let now = at(RFC_EXAMPLE_SECS - 90);
        assert_eq!(
            parse_retry_after(RFC_EXAMPLE_DATE, now),
            Some(Duration::from_secs(90))
        );
        // The obsolete forms HTTP still allows recipients to accept.
        assert_eq!(
            parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Wed Oct 21 07:28:00 2015", now),
            Some(Duration::from_secs(90))
        );
    }

    #[test]
    fn retry_after_http_date_in_the_past_means_now() {
        let now = at(RFC_EXAMPLE_SECS + 3600);
        assert_eq!(
            parse_retry_after(RFC_EXAMPLE_DATE, now),
            Some(Duration::ZERO)
        );
    }

    #[test]
    fn malformed_retry_after_is_ignored() {
        let now = at(RFC_EXAMPLE_SECS);
        for bad in [
            "",
            "   ",
            "-1",
            "+5",
            "1.5",
            "1e3",
            "0x10",
            "soon",
            "7 seconds",
            "Wed, 32 Oct 2015",
        ] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn absurd_retry_after_is_clamped_to_twelve_hours() {
        let now = at(RFC_EXAMPLE_SECS);
        assert_eq!(parse_retry_after("43200", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("43201", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        let far_date = httpdate::fmt_http_date(at(RFC_EXAMPLE_SECS + 10 * 365 * 86_400));
        assert_eq!(parse_retry_after(&far_date, now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn response_headers_feed_the_status_verdict() {
        let now = at(RFC_EXAMPLE_SECS - 30);
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static(RFC_EXAMPLE_DATE));
        assert_eq!(
            classify_response(status(503), &headers, now),
            Some(Classification::throttled(Some(Duration::from_secs(30))))
        );

        headers.insert(RETRY_AFTER, HeaderValue::from_static("garbage"));
        assert_eq!(
            classify_response(status(503), &headers, now),
            Some(Classification::transient()),
            "a malformed Retry-After must not make a 503 throttled"
        );
        assert_eq!(
            classify_response(status(429), &headers, now),
            Some(Classification::throttled(None)),
            "a malformed Retry-After keeps the class"
        );
        assert_eq!(classify_response(status(200), &headers, now), None);
        assert_eq!(
            classify_response(status(503), &HeaderMap::new(), now),
            Some(Classification::transient())
        );
    }

    #[test]
    fn io_errors_deep_in_a_chain_are_found() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] io::Error);

        let cases = [
            (
                io::ErrorKind::ConnectionReset,
                TransportCause::ConnectionLost,
            ),
            (
                io::ErrorKind::ConnectionAborted,
                TransportCause::ConnectionLost,
            ),
            (io::ErrorKind::BrokenPipe, TransportCause::ConnectionLost),
            (io::ErrorKind::UnexpectedEof, TransportCause::ConnectionLost),
            (io::ErrorKind::TimedOut, TransportCause::Timeout),
            (io::ErrorKind::ConnectionRefused, TransportCause::Connect),
        ];
        for (kind, cause) in cases {
            let err = Outer(io::Error::new(kind, "boom"));
            assert_eq!(transport_cause(&err), cause, "{kind:?}");
            assert_eq!(classify_transport(&err), Classification::transient());
        }
        let other = Outer(io::Error::new(io::ErrorKind::InvalidData, "boom"));
        assert_eq!(transport_cause(&other), TransportCause::Unknown);
        assert_eq!(classify_transport(&other), Classification::permanent());
    }

    #[test]
    fn a_request_that_cannot_be_built_is_permanent() {
        let err = reqwest::Client::new().get("not a url").build().unwrap_err();
        assert_eq!(transport_cause(&err), TransportCause::InvalidRequest);
        assert_eq!(classify_transport(&err), Classification::permanent());
    }

    #[test]
    fn undecodable_json_is_permanent() {
        let err = serde_json::from_slice::<serde_json::Value>(b"{nope").unwrap_err();
        assert_eq!(classify_transport(&err), Classification::permanent());
    }

    // Real sockets, no mocks: what reqwest and hyper actually report.

    async fn refused_port() -> u16 {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        port
    }

    #[tokio::test]
    async fn connection_refused_is_transient() {
        let port = refused_port().await;
        let err = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        assert_eq!(transport_cause(&err), TransportCause::Connect);
        assert_eq!(classify_transport(&err).class, ErrorClass::Transient);
    }

    #[tokio::test]
    async fn a_timeout_is_transient() {
        use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
        let server = MockServer::start().await;
        Mock::given(any())
            .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
            .mount(&server)
            .await;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(200))
            .build()
            .unwrap();
        let err = client.get(server.uri()).send().await.unwrap_err();
        assert_eq!(transport_cause(&err), TransportCause::Timeout);
        assert_eq!(classify_transport(&err).class, ErrorClass::Transient);
    }

    /// A one-shot server that answers every connection with `reply` and closes it.
    async fn raw_server(reply: &'static [u8]) -> u16 {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(reply).await;
                let _ = socket.shutdown().await;
            }
        });
        port
    }

    #[tokio::test]
    async fn a_truncated_body_is_transient() {
        let port = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort").await;
        let response = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap();
        let err = response.bytes().await.unwrap_err();
        assert_eq!(transport_cause(&err), TransportCause::ConnectionLost);
        assert_eq!(classify_transport(&err).class, ErrorClass::Transient);
    }

    #[tokio::test]
    async fn a_connection_closed_before_any_answer_is_transient() {
        let port = raw_server(b"").await;
        let err = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap_err();
        // hyper's `IncompleteMessage` ("connection closed before message completed"), which
        // reqwest reports as a send failure: a stale pooled connection looks like this.
        assert_eq!(transport_cause(&err), TransportCause::Request, "{err:?}");
        assert_eq!(classify_transport(&err).class, ErrorClass::Transient);
    }

    #[tokio::test]
    async fn undecodable_response_json_is_permanent() {
        let port = raw_server(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n{nope").await;
        let response = reqwest::get(format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap();
        let err = response.json::<serde_json::Value>().await.unwrap_err();
        assert_eq!(transport_cause(&err), TransportCause::Decode);
        assert_eq!(classify_transport(&err).class, ErrorClass::Permanent);
    }

    #[test]
    fn status_errors_from_error_for_status_use_the_table() {
        assert_eq!(
            TransportCause::Status(status(429)).classification(),
            Classification::throttled(None)
        );
        assert_eq!(
            TransportCause::Status(status(401)).classification(),
            Classification::auth()
        );
    }
}
