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

/// HubSpot's error envelope (only what is read): the text of three members of a JSON object.
///
/// Read member by member from a [`serde_json::Value`] (error bodies are small and bounded),
/// so that one odd member does not hide the others. A derived struct with borrowed `&str`
/// fields failed on the whole answer when any of them held a JSON escape or was not a string
/// (`"errorType": 0`), and a 403 for a missing scope lost its auth verdict (found by the fuzz
/// tests).
struct ErrorReply {
    category: Option<String>,
    policy_name: Option<String>,
    error_type: Option<String>,
}

impl ErrorReply {
    /// The members of a JSON object body; `None` when the body is not one.
    fn parse(body: &[u8]) -> Option<Self> {
        let serde_json::Value::Object(mut reply) = serde_json::from_slice(body).ok()? else {
            return None;
        };
        let mut text = |name: &str| match reply.remove(name) {
            Some(serde_json::Value::String(s)) => Some(s),
            _ => None,
        };
        Some(Self {
            category: text("category"),
            policy_name: text("policyName"),
            error_type: text("errorType"),
        })
    }
}

/// The kit's body hook for HubSpot.
#[derive(Debug, Clone, Copy, Default)]
pub struct HubSpotErrors;

impl BodyClassifier for HubSpotErrors {
    fn classify_body(&self, status: StatusCode, body: &[u8]) -> Option<BodyFailure> {
        let reply = ErrorReply::parse(body);
        let category = reply
            .as_ref()
            .and_then(|r| r.category.as_deref().or(r.error_type.as_deref()))
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
        let policy = ErrorReply::parse(body)
            .and_then(|r| r.policy_name.as_deref().map(str::to_ascii_uppercase));
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

    /// Regression (found by the fuzz tests): one member with a JSON escape, or not a string,
    /// made the answer unreadable, so a 403 for a missing scope lost its category (and its auth verdict), and
    /// an escaped daily `policyName` its hourly wait.
    #[test]
    fn escaped_members_do_not_hide_the_category() {
        for scopes in [
            r#"{"category":"MISSING_SCOPES","errorType":"a \"quoted\" type"}"#,
            r#"{"errorType":0,"category":"MISSING_SCOPES"}"#,
        ] {
            assert_eq!(
                verdict(403, scopes),
                Some((ErrorClass::Auth, "MISSING_SCOPES".to_owned(), None)),
                "{scopes}"
            );
        }
        let daily = r#"{"policyName":"\u0044AILY"}"#;
        assert_eq!(
            HubSpotErrors.retry_after_hint(
                StatusCode::TOO_MANY_REQUESTS,
                &HeaderMap::new(),
                daily.as_bytes()
            ),
            Some(DAILY_LIMIT_DELAY)
        );
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

/// Property tests: any status, headers and body. Its configuration and strategies serve the
/// crate's other property tests too (`upsert.rs`).
#[cfg(test)]
pub(crate) mod fuzz {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config as ProptestConfig, RngSeed};
    use reqwest::header::HeaderValue;

    /// `FUZZ_CASES` cases (256 by default) from a fixed seed (`FUZZ_SEED` overrides it), no
    /// failure files: the kit's fuzz configuration (shared/tests/fuzz.rs).
    pub(crate) fn config() -> ProptestConfig {
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse().ok());
        ProptestConfig {
            cases: env("FUZZ_CASES").map_or(256, |c: u64| u32::try_from(c).unwrap_or(u32::MAX)),
            rng_seed: RngSeed::Fixed(env("FUZZ_SEED").unwrap_or(0x5717_c4ad_f022_2026)),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    pub(crate) fn status() -> impl Strategy<Value = StatusCode> {
        (100..=999u16).prop_map(|c| StatusCode::from_u16(c).unwrap())
    }

    /// HubSpot-shaped error bodies (`category`, `errorType`, `policyName` of any type) and
    /// arbitrary bytes.
    pub(crate) fn body() -> impl Strategy<Value = Vec<u8>> {
        let value = prop_oneof![
            Just(serde_json::Value::Null),
            "[A-Z_]{0,20}".prop_map(serde_json::Value::from),
            proptest::sample::select(
                &[
                    "MISSING_SCOPES",
                    "RATE_LIMITS",
                    "DAILY",
                    "daily",
                    "TEN_SECONDLY_ROLLING"
                ][..]
            )
            .prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "\\PC{0,20}".prop_map(serde_json::Value::from),
        ];
        let field = proptest::sample::select(
            &["category", "errorType", "policyName", "status", "message"][..],
        );
        prop_oneof![
            3 => proptest::collection::vec((field, value), 0..5).prop_map(|members| {
                let object: serde_json::Map<String, serde_json::Value> =
                    members.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
                serde_json::Value::Object(object).to_string().into_bytes()
            }),
            1 => proptest::collection::vec(any::<u8>(), 0..128),
        ]
    }

    fn headers() -> impl Strategy<Value = HeaderMap> {
        let value = prop_oneof![
            "[ ]?[0-9]{1,22}[ ]?",
            "-?[0-9]{0,5}(\\.[0-9])?",
            "\\PC{0,12}",
        ];
        (
            proptest::option::of(value.clone()),
            proptest::option::of(value),
        )
            .prop_map(|(remaining, interval)| {
                let mut map = HeaderMap::new();
                for (name, value) in [
                    ("x-hubspot-ratelimit-remaining", remaining),
                    ("x-hubspot-ratelimit-interval-milliseconds", interval),
                ] {
                    if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                        map.insert(name, v);
                    }
                }
                map
            })
    }

    proptest! {
        #![proptest_config(config())]

        /// Any answer: a verdict or none, never a panic; 2xx/3xx answers other than HubSpot's
        /// own 423/477 never become failures.
        #[test]
        fn any_answer_is_classified_or_ignored(status in status(), body in body()) {
            let verdict = HubSpotErrors.classify_body(status, &body);
            if verdict.is_some() {
                prop_assert!(status.as_u16() >= 400, "{}", status);
            }
        }

        /// A 403 whose category is `MISSING_SCOPES` is an auth failure, whatever else the
        /// body holds (escaped strings included).
        #[test]
        fn missing_scopes_is_auth_whatever_else(body in body()) {
            let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(&body) else {
                return Ok(());
            };
            object.insert("category".to_owned(), "MISSING_SCOPES".into());
            let body = serde_json::Value::Object(object).to_string();
            let verdict = HubSpotErrors.classify_body(StatusCode::FORBIDDEN, body.as_bytes()).unwrap();
            prop_assert_eq!(verdict.classification.class, switchyard::ErrorClass::Auth);
        }

        /// The wait hint: only for 429, and always between a second and an hour.
        #[test]
        fn the_hint_is_bounded(status in status(), headers in headers(), body in body()) {
            let hint = HubSpotErrors.retry_after_hint(status, &headers, &body);
            if status == StatusCode::TOO_MANY_REQUESTS {
                let hint = hint.unwrap();
                prop_assert!(hint >= Duration::from_secs(1) && hint <= DAILY_LIMIT_DELAY, "{:?}", hint);
            } else {
                prop_assert_eq!(hint, None);
            }
        }
    }
}
