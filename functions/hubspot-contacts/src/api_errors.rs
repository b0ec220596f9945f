//! What HubSpot's error answers mean: categories and statuses → the kit's classes.
//!
//! HubSpot reports errors with proper HTTP statuses and a JSON body
//! `{"status": "error", "message", "correlationId", "category", ...}` (developers.hubspot.com,
//! `api-reference/error-handling`; `/work/shared/design/destinations.md`). The status mostly
//! decides; the body adds what it cannot say:
//!
//! | answer | class | note |
//! |---|---|---|
//! | 401 `EXPIRED_AUTHENTICATION` / `INVALID_AUTHENTICATION` | auth | the token provider refreshes once, then it is a failure of the function |
//! | 403 `MISSING_SCOPES` | auth | the app lacks `crm.objects.contacts.write` or `crm.objects.owners.read` |
//! | 400 `VALIDATION_ERROR`, 404 `OBJECT_NOT_FOUND`, 409 `CONFLICT`, other 4xx | permanent | |
//! | 423 locked | transient, retry after 2 s | a record being written by another process |
//! | 477 migration in progress | transient | the portal is being migrated |
//! | 429 `RATE_LIMIT` | throttled | `Retry-After` when sent; else the `X-HubSpot-RateLimit-Interval-Milliseconds` window when `-Remaining` is 0; else by `policyName`: the ten-second window, or an hour for `DAILY` |
//! | 5xx, Cloudflare 52x (HTML bodies) | transient | |
//!
//! HubSpot does not document `Retry-After` on 429s, so the window is the fallback
//! ([`BodyClassifier::retry_after_hint`]).

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use switchyard::Classification;
use switchyard::http::classify::{BodyClassifier, BodyFailure};

/// HubSpot's rolling window for its per-app limit.
pub const TEN_SECOND_WINDOW: Duration = Duration::from_secs(10);
/// After the daily limit: retry hourly rather than every few seconds (it resets at midnight in
/// the account's time zone, which the function does not know).
pub const DAILY_LIMIT_DELAY: Duration = Duration::from_secs(3600);
/// HubSpot's advice for 423 (locked): wait about two seconds.
pub const LOCKED_DELAY: Duration = Duration::from_secs(2);

/// The fields of HubSpot's error bodies that hold codes, not echoes of the request.
pub const SAFE_FIELDS: &[&str] = &[
    "category",
    "subCategory",
    "correlationId",
    "policyName",
    "errorType",
    "status",
];

/// HubSpot's error envelope (only what is read).
#[derive(serde::Deserialize)]
struct ErrorReply<'a> {
    #[serde(borrow, default)]
    category: Option<&'a str>,
    #[serde(borrow, default, rename = "policyName")]
    policy_name: Option<&'a str>,
    #[serde(borrow, default, rename = "errorType")]
    error_type: Option<&'a str>,
}

/// The kit's body hook for HubSpot.
#[derive(Debug, Clone, Copy, Default)]
pub struct HubSpotErrors;

impl BodyClassifier for HubSpotErrors {
    fn classify_body(&self, status: StatusCode, body: &[u8]) -> Option<BodyFailure> {
        let reply: Option<ErrorReply<'_>> = serde_json::from_slice(body).ok();
        let category = reply
            .as_ref()
            .and_then(|r| r.category.or(r.error_type))
            .unwrap_or("");
        match status.as_u16() {
            423 => Some(BodyFailure::new(
                Classification::transient().with_retry_after(Some(LOCKED_DELAY)),
                non_empty(category, "LOCKED"),
            )),
            477 => Some(BodyFailure::new(
                Classification::transient(),
                non_empty(category, "MIGRATION_IN_PROGRESS"),
            )),
            403 if category == "MISSING_SCOPES" => {
                Some(BodyFailure::new(Classification::auth(), category))
            }
            // Every other answer: the status decides; the category rides along as the code.
            code if code >= 400 && !category.is_empty() && reply.is_some() => {
                let by_status = switchyard::http::classify::classify_status(status, None)?;
                Some(BodyFailure::new(by_status, category))
            }
            _ => None,
        }
    }

    fn safe_fields(&self) -> &[&str] {
        SAFE_FIELDS
    }

    fn retry_after_hint(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<Duration> {
        if status != StatusCode::TOO_MANY_REQUESTS {
            return None;
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        if header("x-hubspot-ratelimit-remaining") == Some(0)
            && let Some(ms) = header("x-hubspot-ratelimit-interval-milliseconds")
        {
            return Some(Duration::from_millis(ms.clamp(1000, 60_000)));
        }
        let policy = serde_json::from_slice::<ErrorReply<'_>>(body)
            .ok()
            .and_then(|r| r.policy_name.map(str::to_ascii_uppercase));
        if policy.as_deref() == Some("DAILY") {
            Some(DAILY_LIMIT_DELAY)
        } else {
            Some(TEN_SECOND_WINDOW)
        }
    }
}

fn non_empty<'a>(code: &'a str, otherwise: &'a str) -> &'a str {
    if code.is_empty() { otherwise } else { code }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;
    use switchyard::ErrorClass;

    fn verdict(status: u16, body: &str) -> Option<(ErrorClass, String, Option<Duration>)> {
        HubSpotErrors
            .classify_body(StatusCode::from_u16(status).unwrap(), body.as_bytes())
            .map(|f| (f.classification.class, f.code, f.classification.retry_after))
    }

    #[test]
    fn categories_ride_on_the_status_verdict() {
        let expired =
            r#"{"status":"error","message":"expired","category":"EXPIRED_AUTHENTICATION"}"#;
        assert_eq!(
            verdict(401, expired),
            Some((ErrorClass::Auth, "EXPIRED_AUTHENTICATION".into(), None))
        );
        let scopes = r#"{"status":"error","message":"x","category":"MISSING_SCOPES"}"#;
        assert_eq!(verdict(403, scopes).unwrap().0, ErrorClass::Auth);
        let invalid = r#"{"status":"error","message":"x","category":"VALIDATION_ERROR"}"#;
        assert_eq!(
            verdict(400, invalid),
            Some((ErrorClass::Permanent, "VALIDATION_ERROR".into(), None))
        );
        let conflict = r#"{"status":"error","message":"x","category":"CONFLICT"}"#;
        assert_eq!(verdict(409, conflict).unwrap().0, ErrorClass::Permanent);
        let limited = r#"{"status":"error","message":"x","errorType":"RATE_LIMIT","policyName":"TEN_SECONDLY_ROLLING"}"#;
        assert_eq!(
            verdict(429, limited),
            Some((ErrorClass::Throttled, "RATE_LIMIT".into(), None))
        );
        let server = r#"{"status":"error","message":"x","category":"INTERNAL_ERROR"}"#;
        assert_eq!(verdict(500, server).unwrap().0, ErrorClass::Transient);
    }

    #[test]
    fn locked_and_migrating_portals_are_transient() {
        assert_eq!(
            verdict(423, "{}"),
            Some((ErrorClass::Transient, "LOCKED".into(), Some(LOCKED_DELAY)))
        );
        assert_eq!(
            verdict(477, "<html>"),
            Some((ErrorClass::Transient, "MIGRATION_IN_PROGRESS".into(), None))
        );
    }

    #[test]
    fn html_and_success_bodies_leave_the_verdict_to_the_status() {
        assert_eq!(verdict(502, "<html>Cloudflare</html>"), None);
        assert_eq!(verdict(200, r#"{"status":"COMPLETE","results":[]}"#), None);
        assert_eq!(verdict(207, r#"{"status":"COMPLETE","numErrors":1}"#), None);
    }

    fn hint(headers: &[(&'static str, &str)], body: &str) -> Option<Duration> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        HubSpotErrors.retry_after_hint(StatusCode::TOO_MANY_REQUESTS, &map, body.as_bytes())
    }

    #[test]
    fn a_429_without_retry_after_waits_for_the_window() {
        let spent = [
            ("x-hubspot-ratelimit-remaining", "0"),
            ("x-hubspot-ratelimit-interval-milliseconds", "10000"),
        ];
        assert_eq!(hint(&spent, "{}"), Some(Duration::from_secs(10)));
        let daily = r#"{"errorType":"RATE_LIMIT","policyName":"DAILY"}"#;
        assert_eq!(hint(&[], daily), Some(DAILY_LIMIT_DELAY));
        assert_eq!(hint(&[], "not json"), Some(TEN_SECOND_WINDOW));
        assert_eq!(
            HubSpotErrors.retry_after_hint(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b""),
            None
        );
    }
}
