//! The kit's error: one typed variant per source, each classified.
//!
//! This module sits at the top of the kit's module graph: it gathers the errors of the HTTP
//! client, the secrets cache, the envelope and the idempotency layer, so nothing below imports
//! it. The taxonomy those errors are classified into lives in the leaf module
//! [`crate::taxonomy`].

use crate::taxonomy::{Classification, Classify};

/// The kit's error: one typed variant per source, each classified.
///
/// Library code returns this (or a module's own error, which converts into it with `?`);
/// `anyhow` is only used at a binary's edge.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A call to a SaaS API failed (status, transport, or body-level error).
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    /// A secret could not be read or parsed.
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    /// A queue message did not hold a valid CloudEvents envelope.
    #[error(transparent)]
    Envelope(#[from] crate::envelope::EnvelopeError),
    /// The idempotency layer refused the record (a duplicate still in progress, another payload
    /// for the same event) or its table failed.
    #[error(transparent)]
    Idempotency(#[from] crate::idempotency::IdempotencyError),
    /// A failure a connector classified itself, e.g. a body-level API error code, or a
    /// mapping that cannot be applied to this record.
    #[error("{message}")]
    Classified {
        /// The connector's verdict.
        classification: Classification,
        /// A human-readable reason; goes to logs and dead-letter attributes, so it must never
        /// contain secret material.
        message: String,
    },
}

impl Error {
    /// A connector-classified failure.
    pub fn classified(classification: Classification, message: impl Into<String>) -> Self {
        Error::Classified {
            classification,
            message: message.into(),
        }
    }

    /// A permanent failure with a reason (bad input, unmappable record, ...).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::classified(Classification::permanent(), message)
    }

    /// A transient failure with a reason.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::classified(Classification::transient(), message)
    }
}

impl Classify for Error {
    fn classification(&self) -> Classification {
        match self {
            Error::Http(e) => e.classification(),
            Error::Secret(e) => e.classification(),
            Error::Envelope(e) => e.classification(),
            Error::Idempotency(e) => e.classification(),
            Error::Classified { classification, .. } => *classification,
        }
    }
}

impl From<serde_json::Error> for Error {
    /// A payload that does not decode is bad data: retrying the same bytes cannot help.
    ///
    /// The message is [`crate::redact::json_error_summary`] (category, position, field name),
    /// not serde's text, which quotes the offending value into logs and dead-letter attributes.
    fn from(e: serde_json::Error) -> Self {
        Error::permanent(format!(
            "invalid JSON: {}",
            crate::redact::json_error_summary(&e)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::ErrorClass;
    use std::time::Duration;

    #[test]
    fn connector_classified_errors_keep_their_verdict() {
        let delay = Some(Duration::from_secs(7));
        let e = Error::classified(Classification::throttled(delay), "ratelimited");
        assert_eq!(e.class(), ErrorClass::Throttled);
        assert_eq!(e.classification().retry_after, delay);
        assert_eq!(e.to_string(), "ratelimited");
    }

    #[test]
    fn undecodable_json_is_permanent() {
        let e: Error = serde_json::from_str::<serde_json::Value>("{not json")
            .unwrap_err()
            .into();
        assert_eq!(e.class(), ErrorClass::Permanent);
    }

    #[test]
    fn json_errors_never_quote_the_payload() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Contact {
            id: u64,
            phone: u64,
        }
        let payload = r#"{"id": "jane@example.com", "phone": "+1-555-0100"}"#;
        let e: Error = serde_json::from_str::<Contact>(payload).unwrap_err().into();
        assert_eq!(e.class(), ErrorClass::Permanent);
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains("jane@example.com"), "{text}");
            assert!(!text.contains("555-0100"), "{text}");
            assert!(
                text.contains("invalid JSON: data error at line 1 column"),
                "{text}"
            );
        }
        let e: Error = serde_json::from_str::<Contact>(r#"{"id": 1}"#)
            .unwrap_err()
            .into();
        assert!(e.to_string().ends_with("missing field `phone`"), "{e}");
    }
}
