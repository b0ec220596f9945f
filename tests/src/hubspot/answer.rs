//! HubSpot-shaped answers: the JSON error body, the HTML page of a proxy in front of it, the
//! correlation id and rate-limit headers, timestamps, form and query parsing.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

use super::fault::RatePolicy;
use super::rate_limit::Standing;

/// The header every answer carries, its value also the body's `correlationId`.
pub const CORRELATION_ID: &str = "x-hubspot-correlation-id";
/// The window's size.
pub const RATE_LIMIT_MAX: &str = "x-hubspot-ratelimit-max";
/// What is left of the window.
pub const RATE_LIMIT_REMAINING: &str = "x-hubspot-ratelimit-remaining";
/// The window's length in milliseconds.
pub const RATE_LIMIT_INTERVAL: &str = "x-hubspot-ratelimit-interval-milliseconds";

/// The app id the stand-in's tokens belong to, named in a 429's `groupName`.
pub const APP_ID: u32 = 4_242_424;

/// Correlation ids shaped like HubSpot's UUIDs: a per-server prefix (its start time), then a
/// sequence number, so ids are unique and a test can tell the answers apart without a UUID
/// crate.
#[derive(Debug)]
pub(super) struct CorrelationIds {
    prefix: u32,
    next: std::sync::atomic::AtomicU64,
}

impl CorrelationIds {
    pub(super) fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        Self {
            prefix: nanos,
            next: std::sync::atomic::AtomicU64::new(1),
        }
    }

    pub(super) fn next(&self) -> String {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{:08x}-0000-4000-8000-{n:012x}", self.prefix)
    }
}

/// A JSON answer.
pub(super) fn json(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

/// HubSpot's error body: `{"status":"error","message","correlationId","category"}`.
pub(super) fn error_body(category: &str, message: &str, correlation_id: &str) -> Value {
    json!({
        "status": "error",
        "message": message,
        "correlationId": correlation_id,
        "category": category,
    })
}

/// An error answer with HubSpot's body.
pub(super) fn error(
    status: StatusCode,
    category: &str,
    message: &str,
    correlation_id: &str,
) -> Response {
    json(status, error_body(category, message, correlation_id))
}

/// 429 with HubSpot's `RATE_LIMIT` body for `policy`.
pub(super) fn rate_limited(policy: RatePolicy, correlation_id: &str) -> Response {
    let (message, group) = match policy {
        RatePolicy::TenSecondlyRolling => (
            "You have reached your ten_secondly_rolling limit.",
            format!("publicapi:app-api-ten-secondly:{APP_ID}"),
        ),
        RatePolicy::Daily => (
            "You have reached your daily limit.",
            format!("publicapi:app-api-daily:{APP_ID}"),
        ),
    };
    json(
        StatusCode::TOO_MANY_REQUESTS,
        json!({
            "status": "error",
            "message": message,
            "errorType": "RATE_LIMIT",
            "correlationId": correlation_id,
            "policyName": policy.name(),
            "groupName": group,
        }),
    )
}

/// An HTML error page, as Cloudflare answers in front of HubSpot.
pub(super) fn html(status: StatusCode) -> Response {
    let code = status.as_u16();
    let page = format!(
        "<!DOCTYPE html><html><head><title>api.hubapi.com | {code}: {reason}</title></head>\
         <body><h1>Error {code}</h1><p>{reason}</p><p>Cloudflare Ray ID: 8a1b2c3d4e5f6a7b</p>\
         </body></html>",
        reason = status.canonical_reason().unwrap_or("Error"),
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        page,
    )
        .into_response()
}

/// Adds the correlation id and, when a limit is set and the answer has none yet, the
/// rate-limit headers.
pub(super) fn with_headers(
    mut response: Response,
    correlation_id: &str,
    standing: Option<Standing>,
) -> Response {
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(correlation_id) {
        headers.insert(HeaderName::from_static(CORRELATION_ID), value);
    }
    if let Some(standing) = standing
        && !headers.contains_key(RATE_LIMIT_MAX)
    {
        insert_rate_headers(headers, standing);
    }
    response
}

/// `X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds` for `standing`.
pub(super) fn insert_rate_headers(headers: &mut axum::http::HeaderMap, standing: Standing) {
    let interval = u64::try_from(standing.window.interval.as_millis()).unwrap_or(u64::MAX);
    headers.insert(
        HeaderName::from_static(RATE_LIMIT_MAX),
        HeaderValue::from(standing.window.max),
    );
    headers.insert(
        HeaderName::from_static(RATE_LIMIT_REMAINING),
        HeaderValue::from(standing.remaining),
    );
    headers.insert(
        HeaderName::from_static(RATE_LIMIT_INTERVAL),
        HeaderValue::from(interval),
    );
}

/// Now, as HubSpot writes times: `2024-05-01T12:34:56.789Z`.
pub(super) fn timestamp() -> String {
    let format =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    OffsetDateTime::now_utc()
        .format(format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00.000Z".to_owned())
}

/// The pairs of a form body or query string, decoded (`+` is a space). Parsed as the query
/// of a dummy URL: the `url` crate reqwest re-exports does it, so the stand-in needs neither
/// axum's `form`/`query` features (which would reach the deliverers' builds through feature
/// unification) nor another crate.
pub(super) fn form_pairs(encoded: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(&format!("http://form.invalid/?{encoded}"))
        .map(|url| url.query_pairs().into_owned().collect())
        .unwrap_or_default()
}

/// The value of `name` in `pairs` (the first, if repeated).
pub(super) fn pair<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_are_decoded() {
        let pairs = form_pairs("grant_type=refresh_token&client_id=a%2Bb&secret=x+y&empty=");
        assert_eq!(pair(&pairs, "grant_type"), Some("refresh_token"));
        assert_eq!(pair(&pairs, "client_id"), Some("a+b"));
        assert_eq!(pair(&pairs, "secret"), Some("x y"));
        assert_eq!(pair(&pairs, "empty"), Some(""));
        assert_eq!(pair(&pairs, "missing"), None);
    }

    #[test]
    fn correlation_ids_are_unique_and_uuid_shaped() {
        let ids = CorrelationIds::new();
        let (a, b) = (ids.next(), ids.next());
        assert_ne!(a, b);
        let groups: Vec<_> = a.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{a}");
    }

    #[test]
    fn timestamps_have_milliseconds_and_a_z() {
        let ts = timestamp();
        assert_eq!(ts.len(), "2024-05-01T12:34:56.789Z".len(), "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    }
}
