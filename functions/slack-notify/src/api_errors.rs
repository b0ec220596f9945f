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
/// lost one.
const TRANSIENT: &[&str] = &[
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
    "org_login_required",
];

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
#[derive(serde::Deserialize)]
struct Reply<'a> {
    ok: bool,
    #[serde(borrow, default)]
    error: Option<&'a str>,
}

/// The kit's body hook for Slack: `{"ok": false, "error": code}` is a failure classified by
/// [`classify_code`], whatever the status (an HTTP 429 carries `ratelimited` and keeps its
/// `Retry-After`, which the kit attaches). A body that is not Slack's envelope (an HTML 502 from
/// a proxy) leaves the verdict to the status.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlackErrors;

impl BodyClassifier for SlackErrors {
    fn classify_body(&self, _status: StatusCode, body: &[u8]) -> Option<BodyFailure> {
        let reply: Reply<'_> = serde_json::from_slice(body).ok()?;
        if reply.ok {
            return None;
        }
        let code = reply.error.unwrap_or("unknown_error");
        Some(BodyFailure::new(classify_code(code), code))
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
}
