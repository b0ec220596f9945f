//! What Slack's answers mean: `chat.postMessage` error codes → the kit's classes.
//!
//! Slack answers most failures with HTTP 200 and `{"ok": false, "error": "<code>"}`, so the
//! status alone says nothing; this table, from Slack's documentation of `chat.postMessage` and
//! of its Web API (see `/work/shared/design/destinations.md` and the function's README), decides.
//! An unknown code is permanent (retrying an error nobody understands only delays the dead
//! letter that tells an operator about it) and is logged as unknown.

use std::time::Duration;

use reqwest::StatusCode;
use switchyard::Classification;
use switchyard::http::classify::{BodyClassifier, BodyFailure};

/// Codes meaning "slow down", answered with HTTP 200 (`rate_limited`) or 429 (`ratelimited`).
const THROTTLED: &[&str] = &["ratelimited", "rate_limited"];

/// `message_limit_exceeded`: the workspace's daily message allowance is spent; come back in an
/// hour rather than in seconds.
const LONG_THROTTLE: Duration = Duration::from_secs(3600);

/// Codes meaning "a fault on Slack's side that may pass". `fatal_error` may have partly
/// succeeded (Slack says so): retrying risks a duplicate post, which is the lesser evil than a
/// lost one, so it is retried and marked as an unknown outcome ([`MAY_HAVE_SUCCEEDED`]).
const TRANSIENT: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
    "org_login_required",
];

/// Codes Slack documents as "it's possible some aspect of the operation succeeded before the
/// error was raised": the message may have been posted. The kit counts the call as an unknown
/// outcome, and a later delivery of the record is marked `possible_duplicate` in the ledger.
const MAY_HAVE_SUCCEEDED: &[&str] = &["fatal_error"];

/// Codes meaning "the bot token (or the app's installation) is refused": a failure of the
/// function's credentials, not of the message.
const AUTH: &[&str] = &[
    "not_authed",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "token_expired",
    "no_permission",
    "missing_scope",
    "not_allowed_token_type",
    "team_access_not_granted",
    "access_denied",
    "ekm_access_denied",
    "enterprise_is_restricted",
    "as_user_not_supported",
];

/// Codes meaning "this message can never be posted as it is".
const PERMANENT: &[&str] = &[
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "team_not_found",
    "no_text",
    "msg_too_long",
    "msg_blocks_too_long",
    "invalid_blocks",
    "invalid_blocks_format",
    "too_many_attachments",
    "metadata_too_large",
    "invalid_arguments",
    "invalid_arg_name",
    "invalid_charset",
    "invalid_form_data",
    "invalid_post_type",
    "missing_post_type",
    "invalid_json",
    "json_not_object",
    "method_deprecated",
    "deprecated_endpoint",
];

/// Prefixes of permanent code families (`restricted_action_read_only_channel`,
/// `invalid_metadata_format`, ...).
const PERMANENT_PREFIXES: &[&str] = &["restricted_action", "invalid_metadata"];

/// The class of a Slack error code.
pub fn classify_code(code: &str) -> Classification {
    if THROTTLED.contains(&code) {
        Classification::throttled(None)
    } else if code == "message_limit_exceeded" {
        Classification::throttled(Some(LONG_THROTTLE))
    } else if TRANSIENT.contains(&code) {
        Classification::transient()
    } else if AUTH.contains(&code) {
        Classification::auth()
    } else {
        if !PERMANENT.contains(&code) && !PERMANENT_PREFIXES.iter().any(|p| code.starts_with(p)) {
            tracing::warn!(code, "unknown Slack error code; treated as permanent");
        }
        Classification::permanent()
    }
}

/// Slack's answer envelope: `ok`, and `error` when not ok.
///
/// `error` is read as any JSON value and used when it is text: a borrowed `&str` field failed
/// on the whole answer when `error` held a JSON escape (`"\\"`) or was not a string, and an
/// `ok: false` reply on HTTP 200 then passed as a delivered message (found by the fuzz tests).
#[derive(serde::Deserialize)]
struct Reply {
    ok: bool,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// The kit's body hook for Slack: `{"ok": false, "error": code}` is a failure classified by
/// [`classify_code`], whatever the status (an HTTP 429 carries `ratelimited` and keeps its
/// `Retry-After`, which the kit attaches). A body that is not Slack's envelope (an HTML 502 from
/// a proxy) leaves the verdict to the status.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlackErrors;

impl BodyClassifier for SlackErrors {
    fn classify_body(&self, _status: StatusCode, body: &[u8]) -> Option<BodyFailure> {
        let reply: Reply = serde_json::from_slice(body).ok()?;
        if reply.ok {
            return None;
        }
        let code = reply
            .error
            .as_ref()
            .and_then(serde_json::Value::as_str)
            .unwrap_or("unknown_error");
        let failure = BodyFailure::new(classify_code(code), code);
        Some(if MAY_HAVE_SUCCEEDED.contains(&code) {
            failure.with_outcome_unknown()
        } else {
            failure
        })
    }

    /// Only `error` holds a code in Slack's answers.
    fn safe_fields(&self) -> &[&str] {
        &["error"]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard::ErrorClass;

    fn class(code: &str) -> ErrorClass {
        classify_code(code).class
    }

    #[test]
    fn every_documented_code_has_its_class() {
        for code in THROTTLED {
            assert_eq!(class(code), ErrorClass::Throttled, "{code}");
        }
        for code in TRANSIENT {
            assert_eq!(class(code), ErrorClass::Transient, "{code}");
        }
        for code in AUTH {
            assert_eq!(class(code), ErrorClass::Auth, "{code}");
        }
        for code in PERMANENT {
            assert_eq!(class(code), ErrorClass::Permanent, "{code}");
        }
        assert_eq!(
            class("restricted_action_read_only_channel"),
            ErrorClass::Permanent
        );
        assert_eq!(class("invalid_metadata_format"), ErrorClass::Permanent);
        assert_eq!(class("something_new"), ErrorClass::Permanent);
        let limit = classify_code("message_limit_exceeded");
        assert_eq!(limit.class, ErrorClass::Throttled);
        assert_eq!(limit.retry_after, Some(LONG_THROTTLE));
    }

    #[test]
    fn the_body_decides_whatever_the_status() {
        let failure = SlackErrors
            .classify_body(
                StatusCode::OK,
                br#"{"ok":false,"error":"channel_not_found"}"#,
            )
            .unwrap();
        assert_eq!(failure.classification.class, ErrorClass::Permanent);
        assert_eq!(failure.code, "channel_not_found");
        let throttled = SlackErrors
            .classify_body(
                StatusCode::TOO_MANY_REQUESTS,
                br#"{"ok":false,"error":"ratelimited"}"#,
            )
            .unwrap();
        assert_eq!(throttled.classification.class, ErrorClass::Throttled);
        assert_eq!(
            SlackErrors.classify_body(StatusCode::OK, br#"{"ok":true,"ts":"1.2"}"#),
            None
        );
        assert_eq!(
            SlackErrors.classify_body(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>"),
            None,
            "not Slack's envelope: the status decides"
        );
        let bare = SlackErrors
            .classify_body(StatusCode::OK, br#"{"ok":false}"#)
            .unwrap();
        assert_eq!(bare.code, "unknown_error");
        assert_eq!(bare.classification.class, ErrorClass::Permanent);
    }

    #[test]
    fn only_fatal_error_may_have_posted() {
        let verdict = |code: &str| {
            let body = format!(r#"{{"ok":false,"error":"{code}"}}"#);
            SlackErrors
                .classify_body(StatusCode::OK, body.as_bytes())
                .unwrap()
        };
        let fatal = verdict("fatal_error");
        assert!(fatal.outcome_unknown);
        assert_eq!(fatal.classification.class, ErrorClass::Transient);
        for code in ["internal_error", "service_unavailable", "channel_not_found"] {
            assert!(!verdict(code).outcome_unknown, "{code}");
        }
    }

    /// Regression (found by the fuzz tests): an `error` with a JSON escape (or not a string)
    /// made the answer
    /// unreadable, so `ok: false` on HTTP 200 passed as a delivered message.
    #[test]
    fn an_escaped_error_is_still_a_failure() {
        let failure = SlackErrors
            .classify_body(StatusCode::OK, br#"{"error":"\\","ok":false}"#)
            .unwrap();
        assert_eq!(failure.code, "\\");
        assert_eq!(failure.classification.class, ErrorClass::Permanent);
        let escaped = SlackErrors
            .classify_body(
                StatusCode::OK,
                br#"{"ok":false,"error":"rate\u006cimited"}"#,
            )
            .unwrap();
        assert_eq!(escaped.code, "ratelimited");
        assert_eq!(escaped.classification.class, ErrorClass::Throttled);
        let not_text = SlackErrors
            .classify_body(StatusCode::OK, br#"{"ok":false,"error":5}"#)
            .unwrap();
        assert_eq!(not_text.code, "unknown_error");
    }
}

/// Property tests: any status and body, any error code.
#[cfg(test)]
mod fuzz {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config as ProptestConfig, RngSeed};

    /// `FUZZ_CASES` cases (256 by default) from a fixed seed (`FUZZ_SEED` overrides it), no
    /// failure files: the kit's fuzz configuration (shared/tests/fuzz.rs).
    fn config() -> ProptestConfig {
        let env = |name: &str| std::env::var(name).ok().and_then(|v| v.trim().parse().ok());
        ProptestConfig {
            cases: env("FUZZ_CASES").map_or(256, |c: u64| u32::try_from(c).unwrap_or(u32::MAX)),
            rng_seed: RngSeed::Fixed(env("FUZZ_SEED").unwrap_or(0x5717_c4ad_f022_2026)),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    fn status() -> impl Strategy<Value = StatusCode> {
        (100..=999u16).prop_map(|c| StatusCode::from_u16(c).unwrap())
    }

    /// Slack-shaped answers (`ok`, `error` of any type, extra members) and arbitrary bytes.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        let error = prop_oneof![
            Just(serde_json::Value::Null),
            "[a-z_]{0,30}".prop_map(serde_json::Value::from),
            proptest::sample::select(PERMANENT).prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            "\\PC{0,20}".prop_map(serde_json::Value::from),
        ];
        let ok = prop_oneof![
            any::<bool>().prop_map(serde_json::Value::from),
            Just(serde_json::Value::Null),
            Just(serde_json::Value::from("false")),
        ];
        prop_oneof![
            3 => (ok, proptest::option::of(error), any::<bool>()).prop_map(|(ok, error, extra)| {
                let mut reply = serde_json::json!({ "ok": ok });
                if let Some(error) = error {
                    reply["error"] = error;
                }
                if extra {
                    reply["needed"] = "chat:write".into();
                    reply["warning"] = "missing_charset".into();
                }
                reply.to_string().into_bytes()
            }),
            1 => proptest::collection::vec(any::<u8>(), 0..128),
        ]
    }

    proptest! {
        #![proptest_config(config())]

        /// Any code has a class; an unknown one is permanent.
        #[test]
        fn any_code_has_a_class(code in "[a-z_]{0,40}|\\PC{0,40}") {
            let class = classify_code(&code).class;
            let known = THROTTLED.contains(&code.as_str())
                || code == "message_limit_exceeded"
                || TRANSIENT.contains(&code.as_str())
                || AUTH.contains(&code.as_str());
            if !known {
                prop_assert_eq!(class, switchyard::ErrorClass::Permanent);
            }
        }

        /// Any status and body: a failure exactly when the body is Slack's `ok: false`, carrying
        /// its `error` (or `unknown_error`); never a panic.
        #[test]
        fn any_body_is_classified_or_ignored(status in status(), body in body()) {
            let verdict = SlackErrors.classify_body(status, &body);
            let reply = serde_json::from_slice::<serde_json::Value>(&body).ok();
            let ok = reply.as_ref().and_then(|r| r.get("ok")).and_then(serde_json::Value::as_bool);
            if ok == Some(false) {
                prop_assert!(verdict.is_some(), "ok: false passed as a success");
            }
            if let (Some(failure), Some(serde_json::Value::Object(reply))) = (verdict, &reply) {
                prop_assert_eq!(ok, Some(false));
                let error = reply.get("error").and_then(serde_json::Value::as_str);
                prop_assert_eq!(failure.code.as_str(), error.unwrap_or("unknown_error"));
            }
        }
    }
}
