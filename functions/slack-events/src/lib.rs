//! Slack Events API → CloudEvents on SQS.
//!
//! Slack signs `v0:{timestamp}:{body}` with the app's signing secret (`X-Slack-Signature`,
//! `X-Slack-Request-Timestamp`, 300 s tolerance both ways). An `event_callback` becomes an
//! envelope with `id` = `$.event_id` (the dedup key), `type` = the inner `$.event.type`
//! (`app_mention`, `message`: what consumers route on; the outer `event_callback` is the same
//! for every event), `time` = `$.event_time`; the workspace (`team_id`) and Slack's retry
//! headers (`X-Slack-Retry-Num`, `X-Slack-Retry-Reason`) travel as extensions.
//!
//! `url_verification` is answered with its `challenge` (after the signature check) and never
//! queued. Retries are verified and queued like first deliveries: deduplication happens
//! downstream on the event id. `app_rate_limited` notices are acknowledged and logged.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::json;
use switchyard::receiver::{Decision, Delivery, EventInfo, Provider, Rejection, unix_time};
use switchyard::webhook::Scheme;

/// The Slack Events API receiver.
#[derive(Debug, Clone, Copy, Default)]
pub struct Slack;

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "type", borrow)]
    ty: Cow<'a, str>,
    #[serde(borrow)]
    challenge: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event_id: Option<Cow<'a, str>>,
    event_time: Option<i64>,
    #[serde(borrow)]
    team_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    event: Option<Inner<'a>>,
}

#[derive(Deserialize)]
struct Inner<'a> {
    #[serde(rename = "type", borrow)]
    ty: Option<Cow<'a, str>>,
}

impl Provider for Slack {
    fn name(&self) -> &'static str {
        "slack"
    }

    fn scheme(&self) -> Scheme {
        Scheme::Slack
    }

    fn describe(&self, delivery: &Delivery<'_>) -> Result<Decision, Rejection> {
        let payload: Envelope<'_> = delivery.json()?;
        match payload.ty.as_ref() {
            "url_verification" => {
                let challenge = payload
                    .challenge
                    .ok_or_else(|| Rejection::new("url_verification without a challenge"))?;
                Ok(Decision::Respond {
                    body: json!({ "challenge": challenge }),
                    reason: "slack url_verification",
                })
            }
            "app_rate_limited" => Ok(Decision::Respond {
                body: json!({ "ok": true }),
                reason: "slack app_rate_limited notice: Slack is dropping events for this app",
            }),
            outer => {
                let id = payload
                    .event_id
                    .filter(|id| !id.is_empty())
                    .ok_or_else(|| Rejection::new("event has no event_id"))?;
                let ty = payload
                    .event
                    .and_then(|e| e.ty)
                    .filter(|t| !t.is_empty())
                    .map_or_else(|| outer.to_owned(), Cow::into_owned);
                Ok(Decision::Enqueue(
                    EventInfo::new(id, ty)
                        .with_time(payload.event_time.and_then(unix_time))
                        .with_extension("slackteam", payload.team_id)
                        .with_extension("slackretrynum", delivery.header("x-slack-retry-num"))
                        .with_extension(
                            "slackretryreason",
                            delivery.header("x-slack-retry-reason"),
                        ),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard::receiver::header_map;

    fn describe(headers: &[(&str, &str)], body: &str) -> Result<Decision, Rejection> {
        let map = header_map(headers).unwrap();
        Slack.describe(&Delivery {
            headers: &map,
            body: body.as_bytes(),
        })
    }

    const CALLBACK: &str = r#"{"token":"x","team_id":"T1","api_app_id":"A1","type":"event_callback","event_id":"Ev1","event_time":1700000000,"event":{"type":"app_mention","text":"hi","ts":"1.2"}}"#;

    #[test]
    fn event_callback_uses_event_id_inner_type_and_time() {
        let Decision::Enqueue(info) = describe(&[], CALLBACK).unwrap() else {
            panic!()
        };
        assert_eq!(info.id, "Ev1");
        assert_eq!(info.ty, "app_mention");
        assert_eq!(info.time.unwrap().unix_timestamp(), 1_700_000_000);
        assert_eq!(info.extensions, [("slackteam", "T1".to_string())]);
    }

    #[test]
    fn retries_are_queued_with_their_retry_headers() {
        let Decision::Enqueue(info) = describe(
            &[
                ("X-Slack-Retry-Num", "2"),
                ("X-Slack-Retry-Reason", "http_timeout"),
            ],
            CALLBACK,
        )
        .unwrap() else {
            panic!()
        };
        assert_eq!(info.id, "Ev1");
        assert!(
            info.extensions
                .contains(&("slackretrynum", "2".to_string()))
        );
        assert!(
            info.extensions
                .contains(&("slackretryreason", "http_timeout".to_string()))
        );
    }

    #[test]
    fn url_verification_answers_the_challenge() {
        let d = describe(
            &[],
            r#"{"token":"t","challenge":"3eZbrw1aB","type":"url_verification"}"#,
        )
        .unwrap();
        assert_eq!(
            d,
            Decision::Respond {
                body: json!({"challenge": "3eZbrw1aB"}),
                reason: "slack url_verification"
            }
        );
        assert!(describe(&[], r#"{"type":"url_verification"}"#).is_err());
    }

    #[test]
    fn events_without_an_id_or_not_json_are_rejected() {
        assert!(
            describe(
                &[],
                r#"{"type":"event_callback","event":{"type":"message"}}"#
            )
            .is_err()
        );
        assert!(describe(&[], "token=x&team_id=T1").is_err());
        assert!(describe(&[], r#"{"no_type":1}"#).is_err());
    }
}
