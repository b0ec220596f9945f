//! [`HttpError`], a failed call classified, and [`Failure`], what failed.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use super::Destination;
use super::classify::{self, TransportCause};
use super::error_body::ErrorBody;
use crate::redact::{self, JsonErrorSummary};
use crate::taxonomy::{Classification, Classify};

/// A failed call to a SaaS API, with its [`Classification`].
///
/// Its message names the destination, what failed and the class, e.g.
/// `hubspot: HTTP 400 Bad Request (category=VALIDATION_ERROR) [permanent]` or
/// ``slack: HTTP 200 OK, API error `ratelimited` [throttled, retry after 7s]``.
///
/// It goes to logs and dead-letter attributes, so it holds nothing that may carry a secret or
/// customer data: no request headers, request body or URL (any may hold a token), and of the
/// response body only an [`ErrorBody`] — the API's error codes, its size and media type, never
/// its text (see [`crate::redact`]).
#[derive(Debug)]
pub struct HttpError {
    destination: String,
    classification: Classification,
    /// Boxed so that `Result<_, HttpError>` stays small on the success path.
    failure: Box<Failure>,
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
        match &*self.failure {
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
    #[error("HTTP {status} ({body})")]
    Status {
        /// The response status.
        status: StatusCode,
        /// What was kept of the response body: its error codes, size and media type.
        body: ErrorBody,
    },
    /// The API's body reported an error (a
    /// [`BodyClassifier`](super::classify::BodyClassifier) verdict).
    #[error("HTTP {status}, API error {}{}", DisplayCode(.code.as_deref()), OtherCodes(.body, .code.as_deref()))]
    Body {
        /// The response status (often 200).
        status: StatusCode,
        /// The API's error code as the connector reported it, when it looks like a code
        /// ([`redact::is_code`]); `None` when the connector's text was withheld.
        code: Option<String>,
        /// What was kept of the response body.
        body: ErrorBody,
        /// Whether the API said the operation may have happened despite the error
        /// ([`BodyFailure::outcome_unknown`](super::classify::BodyFailure::outcome_unknown)).
        outcome_unknown: bool,
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
        /// The limit it exceeded ([`HttpConfig::max_body_bytes`](super::HttpConfig::max_body_bytes)).
        limit: usize,
    },
    /// A successful response body did not decode into the expected type: serde's category,
    /// position and field name, never its text (which quotes values).
    #[error("cannot decode the response: {0}")]
    Decode(JsonErrorSummary),
    /// A [`CallPolicy`](super::CallPolicy) refused the call before it was sent (rate limit,
    /// open circuit), with the policy's reason.
    #[error("refused before sending: {0}")]
    Refused(String),
    /// The client or destination is misconfigured (bad base URL).
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl HttpError {
    pub(super) fn new(destination: &str, classification: Classification, failure: Failure) -> Self {
        Self {
            destination: destination.to_owned(),
            classification,
            failure: Box::new(failure),
        }
    }

    /// A misconfiguration: permanent, it will not fix itself.
    pub(super) fn config(destination: &str, message: impl Into<String>) -> Self {
        Self::new(
            destination,
            Classification::permanent(),
            Failure::Config(message.into()),
        )
    }

    pub(super) fn status(
        destination: &Destination,
        status: StatusCode,
        classification: Classification,
        body: ErrorBody,
    ) -> Self {
        Self::new(
            destination.name(),
            classification,
            Failure::Status { status, body },
        )
    }

    pub(super) fn body(
        destination: &Destination,
        status: StatusCode,
        classification: Classification,
        failure: &classify::BodyFailure,
        body: ErrorBody,
    ) -> Self {
        let code = redact::is_code(&failure.code).then(|| failure.code.clone());
        Self::new(
            destination.name(),
            classification,
            Failure::Body {
                status,
                code,
                body,
                outcome_unknown: failure.outcome_unknown,
            },
        )
    }

    pub(super) fn decode(destination: &Destination, error: &serde_json::Error) -> Self {
        Self::new(
            destination.name(),
            Classification::permanent(),
            Failure::Decode(JsonErrorSummary::new(error)),
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

    /// A call a [`CallPolicy`](super::CallPolicy) refused to send: what a policy's
    /// [`before`](super::CallPolicy::before) returns to fail the call without calling the
    /// destination.
    ///
    /// `destination` is the name from [`CallInfo::destination`](super::CallInfo::destination).
    /// The classification says what the caller should do: a rate limiter whose wait would not
    /// fit before the cutoff refuses with [`Classification::throttled`] and the wait as
    /// `retry_after`, an open circuit breaker with [`Classification::transient`]. `reason` goes
    /// into logs and dead-letter attributes: the policy's own words, not request data.
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchyard::Classification;
    /// use switchyard::http::HttpError;
    ///
    /// let wait = Some(Duration::from_secs(3));
    /// let e = HttpError::refused("slack", Classification::throttled(wait), "rate limit: 3 s wait passes the cutoff");
    /// assert_eq!(e.to_string(), "slack: refused before sending: rate limit: 3 s wait passes the cutoff [throttled, retry after 3s]");
    /// ```
    pub fn refused(
        destination: &str,
        classification: Classification,
        reason: impl Into<String>,
    ) -> Self {
        Self::new(destination, classification, Failure::Refused(reason.into()))
    }

    /// The name of the destination that failed.
    pub fn destination(&self) -> &str {
        &self.destination
    }

    /// What went wrong.
    pub fn failure(&self) -> &Failure {
        &self.failure
    }

    /// Whether the destination may have carried the request out although the call failed:
    /// the request went out and no verdict came back (a timeout after connecting, a connection
    /// lost or closed before the answer), or a success status came back whose body could not
    /// be read in full or decoded, or the API's error says the operation may have partly
    /// succeeded (a connector's [`BodyFailure::with_outcome_unknown`](super::classify::BodyFailure::with_outcome_unknown),
    /// e.g. Slack's `fatal_error`).
    ///
    /// An error status, any other API error in the body, a refusal before sending and a failed
    /// connect are definite: nothing was done (a 5xx is taken at its word). Retrying after an
    /// unknown outcome is still right, but at a destination without an idempotency key it may
    /// deliver twice; the idempotency layer marks such deliveries in the ledger
    /// ([`crate::unknown_outcome`]).
    pub fn outcome_unknown(&self) -> bool {
        match &*self.failure {
            Failure::Transport { cause, source } => {
                matches!(
                    cause,
                    TransportCause::Timeout
                        | TransportCause::ConnectionLost
                        | TransportCause::Request
                ) && !source.is_connect()
                    && !source.is_builder()
            }
            Failure::TooLarge { .. } | Failure::Decode(_) => true,
            Failure::Body {
                outcome_unknown, ..
            } => *outcome_unknown,
            Failure::Status { .. } | Failure::Refused(_) | Failure::Config(_) => false,
        }
    }

    /// Whether a [`CallPolicy`](super::CallPolicy) refused the call (the destination was never
    /// called): a circuit breaker should not count it as the destination's failure.
    pub fn is_refused(&self) -> bool {
        matches!(*self.failure, Failure::Refused(_))
    }

    /// The response status, when there was a response.
    pub fn status_code(&self) -> Option<StatusCode> {
        match &*self.failure {
            Failure::Status { status, .. }
            | Failure::Body { status, .. }
            | Failure::TooLarge { status, .. } => Some(*status),
            Failure::Transport { .. }
            | Failure::Decode(_)
            | Failure::Refused(_)
            | Failure::Config(_) => None,
        }
    }

    /// What was kept of the error response's body (codes, size, media type), when there was
    /// one.
    pub fn error_body(&self) -> Option<&ErrorBody> {
        match &*self.failure {
            Failure::Status { body, .. } | Failure::Body { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The API's error code: the connector's code for a body-level error, else the first code
    /// kept from the error body (in the order the fields were listed), if any.
    pub fn error_code(&self) -> Option<&str> {
        match &*self.failure {
            Failure::Body {
                code: Some(code), ..
            } => Some(code),
            _ => self
                .error_body()
                .and_then(|body| body.codes().first())
                .map(|(_, value)| value.as_str()),
        }
    }

    /// The safe summary of the error response's body, for messages and dead-letter attributes:
    /// the connector's code for a body-level error, else the kept codes
    /// (`category=VALIDATION_ERROR, status=error`). Never the body's text; `None` when nothing
    /// was kept.
    pub fn body_snippet(&self) -> Option<&str> {
        match &*self.failure {
            Failure::Body {
                code: Some(code), ..
            } => Some(code),
            _ => self.error_body().and_then(ErrorBody::summary),
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

/// Formats a body-level error's code: `` `ratelimited` `` or `(code withheld)`.
struct DisplayCode<'a>(Option<&'a str>);

impl fmt::Display for DisplayCode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(code) => write!(f, "`{code}`"),
            None => f.write_str("(code withheld)"),
        }
    }
}

/// Formats the codes kept from a body-level error's body other than the connector's code:
/// ` (correlationId=…)`, or nothing.
struct OtherCodes<'a>(&'a ErrorBody, Option<&'a str>);

impl fmt::Display for OtherCodes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let others: Vec<String> = self
            .0
            .codes()
            .iter()
            .filter(|(_, value)| Some(value.as_str()) != self.1)
            .map(|(field, value)| format!("{field}={value}"))
            .collect();
        if others.is_empty() {
            Ok(())
        } else {
            write!(f, " ({})", others.join(", "))
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
    use super::*;
    use crate::taxonomy::ErrorClass;

    #[test]
    fn a_refusal_carries_the_policys_verdict_and_reason() {
        let e = HttpError::refused("crm", Classification::transient(), "circuit open");
        assert_eq!(e.class(), ErrorClass::Transient);
        assert!(e.is_refused());
        assert_eq!(e.status_code(), None);
        assert_eq!(
            e.to_string(),
            "crm: refused before sending: circuit open [transient]"
        );
    }
}
