//! [`HttpError`], a failed call classified, and [`Failure`], what failed.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;

use super::Destination;
use super::classify::{self, TransportCause};
use crate::taxonomy::{Classification, Classify};

/// How much of the body an [`HttpError`] keeps for its message.
const SNIPPET_CHARS: usize = 256;

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
    /// The API's body reported an error (a [`BodyClassifier`](super::classify::BodyClassifier) verdict).
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
        /// The limit it exceeded ([`HttpConfig::max_body_bytes`](super::HttpConfig::max_body_bytes)).
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
    pub(super) fn new(destination: &str, classification: Classification, failure: Failure) -> Self {
        Self {
            destination: destination.to_owned(),
            classification,
            failure,
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

    pub(super) fn body(
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
