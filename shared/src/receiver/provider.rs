//! What an integration tells the receiver runtime: its signature scheme and how to read an
//! event's identity out of a verified request.
//!
//! This is the whole of a receiver function's own code (~50 lines): the kit verifies, limits,
//! answers, builds the envelope and queues; the provider only says which scheme signs its
//! requests and where the provider keeps the event's id, type and time.

use lambda_http::http::HeaderMap;
use time::OffsetDateTime;

use crate::envelope::{CloudEvent, EnvelopeError};
use crate::webhook::Scheme;

/// A verified request, as the provider sees it.
#[derive(Debug, Clone, Copy)]
pub struct Delivery<'a> {
    /// The request headers (names are case-insensitive).
    pub headers: &'a HeaderMap,
    /// The raw body exactly as received (already base64-decoded when the event said so).
    pub body: &'a [u8],
}

impl<'a> Delivery<'a> {
    /// A header's value as text, if present and valid UTF-8 (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A header that must be present and non-empty, else a [`Rejection`] naming it.
    pub fn required_header(&self, name: &str) -> Result<&'a str, Rejection> {
        self.header(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                Rejection::new(format!(
                    "missing header {}",
                    crate::redact::name_for_message(name)
                ))
            })
    }

    /// The body parsed as JSON into `T` (borrowing from the body where `T` does).
    ///
    /// The parse reads only the fields `T` names and skips the rest, so it stays cheap for
    /// large payloads; it still rejects a body that is not valid JSON as a whole.
    pub fn json<T: serde::Deserialize<'a>>(&self) -> Result<T, Rejection> {
        serde_json::from_slice(self.body).map_err(|e| {
            // serde's message for a data error can quote a field's value; keep the category,
            // the position and a missing or unknown field's name only.
            Rejection::new(format!(
                "body is not the expected JSON ({})",
                crate::redact::json_error_summary(&e)
            ))
        })
    }
}

/// What the receiver should do with a verified request.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Normalise it into an envelope and put it on the queues its type routes to.
    Enqueue(EventInfo),
    /// Answer it directly and queue nothing: a protocol handshake (Slack's `url_verification`),
    /// a ping (GitHub's `ping`).
    Respond {
        /// The JSON body of the 200 answer.
        body: serde_json::Value,
        /// Why, for the log line.
        reason: &'static str,
    },
}

/// The identity of an event, read from the provider's own fields.
#[derive(Debug, Clone, PartialEq)]
pub struct EventInfo {
    /// The provider's event or delivery id: the CloudEvents `id`, and so the dedup key.
    pub id: String,
    /// The provider's event type: the CloudEvents `type`, and what routes match.
    pub ty: String,
    /// When the event happened, if the provider says.
    pub time: Option<OffsetDateTime>,
    /// What the event is about within the source (a repository, a shop), if useful.
    pub subject: Option<String>,
    /// Extension attributes: lower-case `a-z0-9` names, string values (e.g. a retry number).
    pub extensions: Vec<(&'static str, String)>,
}

impl EventInfo {
    /// An event with an id and a type and nothing else yet.
    pub fn new(id: impl Into<String>, ty: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            ty: ty.into(),
            time: None,
            subject: None,
            extensions: Vec::new(),
        }
    }

    /// Sets the event time.
    pub fn with_time(mut self, time: Option<OffsetDateTime>) -> Self {
        self.time = time;
        self
    }

    /// Sets the subject; an empty one counts as none (CloudEvents forbids empty attributes, and
    /// a provider's blank field is no reason to refuse the event).
    pub fn with_subject(mut self, subject: Option<impl Into<String>>) -> Self {
        self.subject = subject.map(Into::into).filter(|s: &String| !s.is_empty());
        self
    }

    /// The CloudEvents envelope (JSON) of this event from `source`, with `body` — the provider's
    /// payload, exactly as received — as its `data`.
    ///
    /// # Errors
    /// An [`EnvelopeError`] when the body is not JSON or an attribute is invalid (e.g. an empty
    /// subject): a delivery that can never be queued as it is.
    pub fn to_envelope(&self, source: &str, body: &[u8]) -> Result<String, EnvelopeError> {
        let mut event =
            CloudEvent::new_json_bytes(self.id.as_str(), source, self.ty.as_str(), body)?;
        if let Some(time) = self.time {
            event = event.with_time(time);
        }
        if let Some(subject) = &self.subject {
            event = event.with_subject(subject.as_str())?;
        }
        for (name, value) in &self.extensions {
            event = event.with_extension(*name, value.as_str())?;
        }
        event.to_json()
    }

    /// Adds an extension attribute when the value is present and non-empty.
    pub fn with_extension(mut self, name: &'static str, value: Option<impl Into<String>>) -> Self {
        if let Some(value) = value.map(Into::into).filter(|v: &String| !v.is_empty()) {
            self.extensions.push((name, value));
        }
        self
    }
}

/// A verified request the provider cannot make sense of (not JSON, no event id): answered 400.
///
/// Its reason is logged and sent back in the 400, so it names what is wrong (a header, a field)
/// and never quotes a value from the request: the kit's own reasons follow
/// [`crate::redact`], and a provider's should too.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejection(String);

impl Rejection {
    /// A rejection with its reason (logged, and shown to the caller, who has proven who they
    /// are). Name the missing or invalid part; do not quote the request's values.
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// An integration's receiving side.
pub trait Provider: Send + Sync + 'static {
    /// The provider's name: the envelope's default `source`, and the log and metric label.
    fn name(&self) -> &'static str;

    /// The signature scheme its requests carry.
    fn scheme(&self) -> Scheme;

    /// Reads the event's identity out of a verified request, or says to answer it directly.
    fn describe(&self, delivery: &Delivery<'_>) -> Result<Decision, Rejection>;
}

/// A header map from `(name, value)` pairs — for providers' unit tests and tools.
///
/// # Errors
/// A name or value HTTP does not allow.
pub fn header_map(pairs: &[(&str, &str)]) -> Result<HeaderMap, lambda_http::http::Error> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            lambda_http::http::HeaderName::from_bytes(name.as_bytes())?,
            lambda_http::http::HeaderValue::from_str(value)?,
        );
    }
    Ok(map)
}

/// Unix seconds to a time, if in range (providers send seconds since the epoch).
pub fn unix_time(seconds: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(seconds).ok()
}

/// An RFC 3339 text to a time, if valid.
pub fn rfc3339_time(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_optional_fields_are_left_out_of_the_envelope() {
        let info = EventInfo::new("evt_1", "invoice.paid")
            .with_subject(Some(""))
            .with_extension("account", Some(""));
        assert_eq!(info.subject, None);
        assert!(info.extensions.is_empty());
        let envelope: serde_json::Value =
            serde_json::from_str(&info.to_envelope("stripe", b"{\"a\": 1}").unwrap()).unwrap();
        assert_eq!(envelope["id"], "evt_1");
        assert!(envelope.get("subject").is_none());
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Event<'a> {
        id: u64,
        #[serde(borrow)]
        ty: &'a str,
    }

    fn rejection(body: &str) -> Rejection {
        let headers = HeaderMap::new();
        let delivery = Delivery {
            headers: &headers,
            body: body.as_bytes(),
        };
        delivery.json::<Event<'_>>().unwrap_err()
    }

    fn assert_quotes_no_customer_data(r: &Rejection) {
        for text in [r.to_string(), format!("{r:?}")] {
            assert!(!text.contains("jane@example.com"), "{text}");
            assert!(!text.contains("555-0100"), "{text}");
        }
    }

    #[test]
    fn a_mistyped_field_is_rejected_without_quoting_its_value() {
        let r = rejection(r#"{"id": "jane@example.com +1-555-0100", "ty": "t"}"#);
        assert!(
            r.to_string()
                .starts_with("body is not the expected JSON (data error at line 1 column "),
            "{r}"
        );
        assert_quotes_no_customer_data(&r);
    }

    #[test]
    fn a_missing_field_is_named() {
        let r = rejection(r#"{"ty": "jane@example.com", "phone": "+1-555-0100"}"#);
        assert!(r.to_string().ends_with(": missing field `id`)"), "{r}");
        assert_quotes_no_customer_data(&r);
    }

    #[test]
    fn a_body_that_is_not_json_is_rejected_without_quoting_it() {
        let r = rejection("email=jane@example.com&phone=+1-555-0100");
        assert!(
            r.to_string().contains("syntax error at line 1 column 1"),
            "{r}"
        );
        assert_quotes_no_customer_data(&r);
    }

    #[test]
    fn a_missing_header_is_named() {
        let headers = header_map(&[("x-other", "jane@example.com")]).unwrap();
        let delivery = Delivery {
            headers: &headers,
            body: b"",
        };
        let r = delivery.required_header("x-event-id").unwrap_err();
        assert_eq!(r.to_string(), "missing header x-event-id");
    }

    #[test]
    fn a_body_that_is_not_json_cannot_become_an_envelope() {
        let e = EventInfo::new("evt_1", "t")
            .to_envelope("s", b"not json")
            .unwrap_err();
        assert_eq!(crate::Classify::class(&e), crate::ErrorClass::Permanent);
    }
}
