//! [`ErrorBody`]: what an [`HttpError`](super::HttpError) keeps of an error response's body.

use std::fmt;

use reqwest::header::{CONTENT_TYPE, HeaderMap};

use crate::redact;

/// The safe parts of an error response's body: the API's error codes, and its size and media
/// type — never its text.
///
/// A CRM's 400 often echoes the request (`"message": "invalid email jane@example.com"`), and an
/// [`HttpError`](super::HttpError)'s message goes to logs and dead-letter attributes. So only
/// the values of code fields that look like codes are kept ([`redact::error_codes`]): by default
/// the fields of [`redact::DEFAULT_ERROR_FIELDS`], or those a connector's
/// [`BodyClassifier::safe_fields`](super::classify::BodyClassifier::safe_fields) names. A body
/// that is not JSON (an HTML page from a proxy) keeps only its length and media type.
///
/// Displays as `category=VALIDATION_ERROR, correlationId=aeb5…` when codes were kept, else as
/// `text/html, 1234 bytes` (`8192+ bytes` when only a prefix was read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorBody {
    codes: Vec<(String, String)>,
    summary: String,
    len: usize,
    truncated: bool,
    content_type: Option<String>,
}

impl ErrorBody {
    /// What may be kept of `body` (of which only a prefix was read when `truncated`), looking
    /// for codes in `fields`.
    pub fn new(headers: &HeaderMap, body: &[u8], truncated: bool, fields: &[&str]) -> Self {
        let codes = redact::error_codes(body, fields);
        let summary = codes
            .iter()
            .map(|(field, value)| format!("{field}={value}"))
            .collect::<Vec<_>>()
            .join(", ");
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(redact::media_type);
        Self {
            codes,
            summary,
            len: body.len(),
            truncated,
            content_type,
        }
    }

    /// The codes kept, as `(field, value)` pairs in the order the fields were listed.
    pub fn codes(&self) -> &[(String, String)] {
        &self.codes
    }

    /// The value kept for `field` (`"error"`, `"error.code"`, ...), if any.
    pub fn code(&self, field: &str) -> Option<&str> {
        self.codes
            .iter()
            .find(|(name, _)| name == field)
            .map(|(_, value)| value.as_str())
    }

    /// The codes as one line (`error=ratelimited, status=error`); `None` when none were kept.
    pub fn summary(&self) -> Option<&str> {
        (!self.summary.is_empty()).then_some(self.summary.as_str())
    }

    /// How many bytes of the body were read (at most [`ERROR_BODY_LIMIT`](super::ERROR_BODY_LIMIT)
    /// for an error status).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the body was empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether the body was longer than what was read.
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The response's media type (`application/json`, `text/html`), without parameters.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }
}

impl fmt::Display for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.summary.is_empty() {
            return f.write_str(&self.summary);
        }
        if let Some(content_type) = &self.content_type {
            write!(f, "{content_type}, ")?;
        }
        let more = if self.truncated { "+" } else { "" };
        write!(f, "{}{more} bytes", self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(content_type: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        h
    }

    #[test]
    fn codes_are_kept_and_messages_are_not() {
        let body = br#"{"error":"invalid_email","message":"invalid email jane@example.com"}"#;
        let kept = ErrorBody::new(
            &headers("application/json; charset=utf-8"),
            body,
            false,
            redact::DEFAULT_ERROR_FIELDS,
        );
        assert_eq!(kept.to_string(), "error=invalid_email");
        assert_eq!(kept.code("error"), Some("invalid_email"));
        assert_eq!(kept.summary(), Some("error=invalid_email"));
        assert_eq!(kept.content_type(), Some("application/json"));
        assert_eq!(kept.len(), body.len());
        assert!(!format!("{kept:?}").contains("jane@example.com"));
    }

    #[test]
    fn a_body_without_codes_keeps_its_size_and_type() {
        let html = b"<html>502 for jane@example.com</html>";
        let kept = ErrorBody::new(
            &headers("text/html"),
            html,
            true,
            redact::DEFAULT_ERROR_FIELDS,
        );
        assert_eq!(
            kept.to_string(),
            format!("text/html, {}+ bytes", html.len())
        );
        assert_eq!(kept.summary(), None);
        assert!(kept.codes().is_empty());
        assert!(!format!("{kept:?}").contains("jane"));

        let empty = ErrorBody::new(&HeaderMap::new(), b"", false, &[]);
        assert!(empty.is_empty());
        assert_eq!(empty.to_string(), "0 bytes");
    }
}
