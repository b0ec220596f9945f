//! The failure taxonomy: four classes and a verdict, with nothing else in the module.
//!
//! Every failure in Switchyard — an HTTP status, a transport error, a missing secret, an invalid
//! envelope, a "200 but the body says error" — reduces to a [`Classification`]: one of four
//! [`ErrorClass`]es plus, for throttling, the delay the server asked for. The batch runner, the
//! retry loop and the receivers decide what to do from that alone, so an integration never
//! re-implements "should I retry this?".
//!
//! This module is a leaf: it imports nothing from the rest of the kit, so every other module
//! (HTTP, envelopes, secrets, the batch runner) can depend on it without a cycle. The kit's
//! [`Error`](crate::Error), which gathers the errors of those modules, lives in
//! [`crate::error`] at the top of the graph.
//!
//! The split follows smithy-rs (`ErrorKind`) and the AWS Lambda Powertools batch semantics:
//!
//! | class | what it means | what the kit does |
//! |---|---|---|
//! | [`ErrorClass::Throttled`] | the destination asked us to slow down (429, 503 + `Retry-After`) | retry after the server's delay; then back to SQS with that visibility |
//! | [`ErrorClass::Transient`] | a fault that may pass (5xx, timeouts, resets) | jittered backoff; then back to SQS on the redelivery schedule |
//! | [`ErrorClass::Auth`] | the function's credentials were refused or are missing | refresh the secret once; then back to SQS on the long end of the schedule (a failure of the function, not of the record), dead-lettered as auth only when the retry period runs out |
//! | [`ErrorClass::Permanent`] | retrying cannot help (other 4xx, bad data) | dead-letter queue with the reason |

use std::fmt;
use std::time::Duration;

/// What kind of failure this is, and so what to do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorClass {
    /// The destination is rate limiting us; honour its retry delay.
    Throttled,
    /// A fault that may pass on its own: retry with backoff.
    Transient,
    /// Retrying cannot help: the input or the request is wrong.
    Permanent,
    /// The function's credentials or configuration failed (a token refused after a refresh, a
    /// secret missing, denied or malformed): a failure of the function, not of the record.
    /// Refresh the secret once; then the batch runner hands the record back on the long end of
    /// its schedule and dead-letters it only when the retry period runs out.
    Auth,
}

impl ErrorClass {
    /// Whether trying the same thing again later can succeed without changing anything.
    ///
    /// `Auth` is not retryable as such: inside an invocation it needs a secret refresh first
    /// (see [`crate::secrets`]), after which a second `Auth` ends the attempt; the batch runner
    /// then waits for someone to fix the configuration (see [`ErrorClass::Auth`]).
    pub fn is_retryable(self) -> bool {
        matches!(self, ErrorClass::Throttled | ErrorClass::Transient)
    }

    /// The lower-case name used in logs, metrics and dead-letter attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorClass::Throttled => "throttled",
            ErrorClass::Transient => "transient",
            ErrorClass::Permanent => "permanent",
            ErrorClass::Auth => "auth",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A verdict on a failure: its class and, when the server said so, how long to wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    /// The class of the failure.
    pub class: ErrorClass,
    /// The delay the server asked for (`Retry-After`), if any. Only meaningful for retryable
    /// classes; the retry loop and the SQS visibility timeout honour it.
    pub retry_after: Option<Duration>,
}

impl Classification {
    /// A classification with no server-requested delay.
    pub const fn new(class: ErrorClass) -> Self {
        Self {
            class,
            retry_after: None,
        }
    }

    /// Throttled, with the server's delay if it gave one.
    pub const fn throttled(retry_after: Option<Duration>) -> Self {
        Self {
            class: ErrorClass::Throttled,
            retry_after,
        }
    }

    /// Transient: retry with backoff.
    pub const fn transient() -> Self {
        Self::new(ErrorClass::Transient)
    }

    /// Permanent: do not retry.
    pub const fn permanent() -> Self {
        Self::new(ErrorClass::Permanent)
    }

    /// Credentials refused.
    pub const fn auth() -> Self {
        Self::new(ErrorClass::Auth)
    }

    /// The same class with a server-requested delay attached.
    pub const fn with_retry_after(self, retry_after: Option<Duration>) -> Self {
        Self {
            class: self.class,
            retry_after,
        }
    }
}

/// Anything that can say which class of failure it is.
///
/// Every error type of the kit implements it, and so can a connector's own errors; the batch
/// runner and the retry loop only ever look at this.
pub trait Classify {
    /// The verdict on this failure.
    fn classification(&self) -> Classification;

    /// Shorthand for `self.classification().class`.
    fn class(&self) -> ErrorClass {
        self.classification().class
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_throttled_and_transient_are_retryable() {
        assert!(ErrorClass::Throttled.is_retryable());
        assert!(ErrorClass::Transient.is_retryable());
        assert!(!ErrorClass::Permanent.is_retryable());
        assert!(!ErrorClass::Auth.is_retryable());
    }

    #[test]
    fn class_names_are_stable_lower_case() {
        let names: Vec<_> = [
            ErrorClass::Throttled,
            ErrorClass::Transient,
            ErrorClass::Permanent,
            ErrorClass::Auth,
        ]
        .iter()
        .map(|c| c.to_string())
        .collect();
        assert_eq!(names, ["throttled", "transient", "permanent", "auth"]);
        assert_eq!(
            serde_json::to_string(&ErrorClass::Throttled).unwrap(),
            "\"throttled\""
        );
    }
}
