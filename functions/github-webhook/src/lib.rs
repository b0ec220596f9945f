//! GitHub webhooks → CloudEvents on SQS.
//!
//! GitHub signs the body with the hook's secret (`X-Hub-Signature-256: sha256=…`; the legacy
//! SHA-1 header alone is refused). The envelope's `id` is the delivery id
//! (`X-GitHub-Delivery`, the dedup key), its `type` the event name plus the payload's
//! `action` when there is one (`pull_request.opened`; `push` has none), its `subject` the
//! repository (`owner/name`). GitHub's `ping`, sent when a hook is created, is answered 200 and
//! not queued. Configure the hook with content type `application/json`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::json;
use switchyard::receiver::{Decision, Delivery, EventInfo, Provider, Rejection};
use switchyard::webhook::Scheme;

/// The GitHub receiver.
#[derive(Debug, Clone, Copy, Default)]
pub struct GitHub;

#[derive(Deserialize)]
struct Payload<'a> {
    #[serde(borrow)]
    action: Option<Cow<'a, str>>,
    #[serde(borrow)]
    repository: Option<Repository<'a>>,
}

#[derive(Deserialize)]
struct Repository<'a> {
    #[serde(borrow)]
    full_name: Option<Cow<'a, str>>,
}

impl Provider for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }

    fn scheme(&self) -> Scheme {
        Scheme::GitHub
    }

    fn describe(&self, delivery: &Delivery<'_>) -> Result<Decision, Rejection> {
        let event = delivery.required_header("x-github-event")?;
        if event == "ping" {
            return Ok(Decision::Respond {
                body: json!({"status": "pong"}),
                reason: "github ping",
            });
        }
        let id = delivery.required_header("x-github-delivery")?;
        let payload: Payload<'_> = delivery.json()?;
        let ty = match payload.action.as_deref() {
            Some(action) if !action.is_empty() => format!("{event}.{action}"),
            _ => event.to_owned(),
        };
        Ok(Decision::Enqueue(
            EventInfo::new(id, ty)
                .with_subject(payload.repository.and_then(|r| r.full_name))
                .with_extension("githubhookid", delivery.header("x-github-hook-id")),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard::receiver::header_map;

    fn describe(headers: &[(&str, &str)], body: &str) -> Result<Decision, Rejection> {
        let map = header_map(headers).unwrap();
        GitHub.describe(&Delivery {
            headers: &map,
            body: body.as_bytes(),
        })
    }

    #[test]
    fn event_with_action_and_repository() {
        let d = describe(
            &[
                ("X-GitHub-Event", "pull_request"),
                ("X-GitHub-Delivery", "d-1"),
                ("X-GitHub-Hook-ID", "42"),
            ],
            r#"{"action":"opened","repository":{"full_name":"acme/api"},"number":1}"#,
        )
        .unwrap();
        let Decision::Enqueue(info) = d else {
            panic!("{d:?}")
        };
        assert_eq!(info.id, "d-1");
        assert_eq!(info.ty, "pull_request.opened");
        assert_eq!(info.subject.as_deref(), Some("acme/api"));
        assert_eq!(info.extensions, [("githubhookid", "42".to_string())]);
    }

    #[test]
    fn push_has_no_action() {
        let Decision::Enqueue(info) = describe(
            &[("x-github-event", "push"), ("x-github-delivery", "d-2")],
            r#"{"ref":"refs/heads/main"}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(info.ty, "push");
        assert_eq!(info.subject, None);
    }

    #[test]
    fn a_blank_repository_name_is_no_subject_not_a_rejection() {
        let Decision::Enqueue(info) = describe(
            &[("x-github-event", "push"), ("x-github-delivery", "d-4")],
            r#"{"repository":{"full_name":""}}"#,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(info.subject, None);
    }

    #[test]
    fn ping_is_answered_not_queued() {
        let d = describe(
            &[("x-github-event", "ping"), ("x-github-delivery", "d-3")],
            r#"{"zen":"Keep it simple."}"#,
        )
        .unwrap();
        assert!(matches!(d, Decision::Respond { .. }), "{d:?}");
    }

    #[test]
    fn missing_headers_or_bad_json_are_rejected() {
        assert!(describe(&[("x-github-delivery", "d")], "{}").is_err());
        assert!(describe(&[("x-github-event", "push")], "{}").is_err());
        assert!(
            describe(
                &[("x-github-event", "push"), ("x-github-delivery", "d")],
                "payload=%7B%7D"
            )
            .is_err()
        );
    }
}
