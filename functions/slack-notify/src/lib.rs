//! `slack-notify`: posts events to Slack with `chat.postMessage`, one message per event.
//!
//! A deliverer: SQS batch of CloudEvents envelopes → the mapping file (which events, what
//! text and Block Kit blocks) → `POST {SLACK_API_BASE_URL}/chat.postMessage` with the bot token
//! → the message's `ts` in the delivery ledger. Everything around the call — deadlines,
//! retries, the redelivery schedule, the dead-letter queue, idempotency, metrics — is the
//! kit's; this crate is Slack's part: its configuration ([`config`]), what its answers mean
//! ([`api_errors`]), the message ([`message`]) and the call ([`notify`]). See the README.

pub mod api_errors;
pub mod config;
pub mod message;
pub mod notify;

pub use notify::SlackNotify;

/// The integration's name: the prefix of its idempotency keys (`slack-notify#<source>#<id>`).
pub const INTEGRATION: &str = "slack-notify";

/// The mapping file embedded at build time; `MAPPING_FILE` replaces it without a rebuild.
pub const MAPPING: &str = include_str!("../mapping.toml");

#[cfg(test)]
mod tests {
    //! The embedded mapping against the events it is documented to map.
    use super::*;
    use serde_json::{Value, json};
    use switchyard::envelope::CloudEvent;
    use switchyard::mapping::Mapping;

    fn mapping() -> Mapping {
        Mapping::load(MAPPING, "mapping.toml", &message::schema(true)).unwrap()
    }

    fn map(source: &str, ty: &str, data: Value) -> message::PostMessage {
        let event = CloudEvent::new_value("evt_1", source, ty, data).unwrap();
        let mapped = mapping().apply(&event).unwrap().expect("a rule selects it");
        message::PostMessage::from_mapped(&mapped, Some("C_DEFAULT")).unwrap()
    }

    fn block_texts(message: &message::PostMessage) -> String {
        serde_json::to_string(message.blocks.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn the_embedded_mapping_loads_with_and_without_a_default_channel() {
        assert_eq!(mapping().rule_names().count(), 4);
        // Without SLACK_CHANNEL every rule must name a channel, and these do not.
        assert!(Mapping::load(MAPPING, "mapping.toml", &message::schema(false)).is_err());
    }

    #[test]
    fn a_failed_stripe_invoice_names_customer_amount_and_invoice() {
        let m = map(
            "stripe",
            "invoice.payment_failed",
            json!({"id": "evt_1", "type": "invoice.payment_failed", "data": {"object": {
                "id": "in_1", "number": "A-0042", "customer_email": "ada@example.com",
                "amount_due": 123456, "currency": "eur", "attempt_count": 2,
                "hosted_invoice_url": "https://invoice.stripe.com/i/acct/in_1"}}}),
        );
        assert_eq!(m.channel, "C_DEFAULT");
        assert_eq!(
            m.text.as_deref(),
            Some("Payment failed: 1234.56 EUR for ada@example.com (invoice A-0042)")
        );
        let blocks = block_texts(&m);
        assert!(
            blocks.contains("<https://invoice.stripe.com/i/acct/in_1|A-0042>"),
            "{blocks}"
        );
        assert!(blocks.contains("*Attempt*\\n2"), "{blocks}");
        assert_eq!(m.unfurl_links, Some(false));

        let yen = map(
            "stripe",
            "invoice.payment_failed",
            json!({"data": {"object": {"id": "in_2", "amount_due": 5000, "currency": "jpy"}}}),
        );
        assert_eq!(
            yen.text.as_deref(),
            Some("Payment failed: 5000 JPY for a customer (invoice in_2)")
        );
        assert!(block_texts(&yen).contains("*Invoice*\\nin_2"));
    }

    #[test]
    fn github_issues_and_pull_requests_link_with_number_title_and_author() {
        let issue = map(
            "github",
            "issues.opened",
            json!({"action": "opened", "repository": {"full_name": "acme/api"},
                   "issue": {"number": 7, "title": "Crash on <script> & co",
                             "html_url": "https://github.com/acme/api/issues/7",
                             "user": {"login": "octocat"}}}),
        );
        assert_eq!(
            issue.text.as_deref(),
            Some("New issue in acme/api: #7 Crash on &lt;script&gt; &amp; co (by octocat)")
        );
        let blocks = block_texts(&issue);
        assert!(
            blocks.contains(
                "<https://github.com/acme/api/issues/7|#7 Crash on &lt;script&gt; &amp; co>"
            ),
            "{blocks}"
        );
        assert!(blocks.contains("opened by *octocat*"), "{blocks}");

        let pr = map(
            "github",
            "pull_request.opened",
            json!({"repository": {"full_name": "acme/api"},
                   "pull_request": {"number": 8, "title": "Fix it",
                                    "html_url": "https://github.com/acme/api/pull/8",
                                    "user": {"login": "hubot"}, "base": {"ref": "main"}}}),
        );
        assert_eq!(
            pr.text.as_deref(),
            Some("New pull request in acme/api: #8 Fix it (by hubot)")
        );
        assert!(block_texts(&pr).contains("into `main`"));
    }

    #[test]
    fn a_cloudwatch_alarm_says_its_name_state_and_reason() {
        let m = map(
            "aws.cloudwatch",
            "alarm.state_change",
            json!({"alarmName": "slack-notify-dlq", "state": {"value": "ALARM",
                   "reason": "Threshold Crossed: 1 datapoint [3.0] was greater than 0.0"},
                   "previousState": {"value": "OK"}}),
        );
        assert_eq!(
            m.text.as_deref(),
            Some(
                "slack-notify-dlq is ALARM: Threshold Crossed: 1 datapoint [3.0] was greater than 0.0"
            )
        );
        let blocks = block_texts(&m);
        assert!(
            blocks.contains(":rotating_light: *slack-notify-dlq* is now *ALARM* (was OK)"),
            "{blocks}"
        );
        let ok = map(
            "aws.cloudwatch",
            "alarm.state_change",
            json!({"alarmName": "a", "state": {"value": "OK"}}),
        );
        assert!(block_texts(&ok).contains(":white_check_mark:"));
        assert!(block_texts(&ok).contains("no reason given"));
    }

    /// What the DEBUG line "mapped" shows: the rules whose text interpolates personal values
    /// mask it; the alarm rule, which has none, is shown as it is.
    #[test]
    fn the_log_view_masks_every_text_that_carries_a_personal_value() {
        let log_view = |source: &str, ty: &str, data: Value| {
            let event = CloudEvent::new_value("evt_1", source, ty, data).unwrap();
            let mapped = mapping().apply(&event).unwrap().expect("a rule selects it");
            (mapped.for_log().to_string(), Value::Object(mapped.masked()))
        };
        let (line, masked) = log_view(
            "stripe",
            "invoice.payment_failed",
            json!({"data": {"object": {"id": "in_1", "number": "A-0042",
                "customer_email": "ada@example.com", "amount_due": 100, "currency": "eur"}}}),
        );
        assert_eq!(masked["text"], json!("*****"));
        assert_eq!(masked["unfurl_links"], json!(false));
        assert_eq!(masked["blocks"][0]["text"]["text"], json!("*****"));
        assert_eq!(masked["blocks"].as_array().map(Vec::len), Some(3));
        assert!(!line.contains("ada@"), "{line}");

        for (ty, data) in [
            (
                "issues.opened",
                json!({"repository": {"full_name": "acme/api"}, "issue": {"number": 7,
                    "title": "Ada's bug", "html_url": "https://github.com/acme/api/issues/7",
                    "user": {"login": "adalovelace"}}}),
            ),
            (
                "pull_request.opened",
                json!({"repository": {"full_name": "acme/api"}, "pull_request": {"number": 8,
                    "title": "Ada's fix", "html_url": "https://github.com/acme/api/pull/8",
                    "user": {"login": "adalovelace"}}}),
            ),
        ] {
            let (line, masked) = log_view("github", ty, data);
            assert_eq!(masked["text"], json!("*****"), "{ty}");
            for personal in ["adalovelace", "Ada's"] {
                assert!(!line.contains(personal), "{ty}: {line}");
            }
        }

        let (_, masked) = log_view(
            "aws.cloudwatch",
            "alarm.state_change",
            json!({"alarmName": "slack-notify-dlq", "state": {"value": "ALARM"}}),
        );
        assert_eq!(
            masked["text"],
            json!("slack-notify-dlq is ALARM: no reason given")
        );
    }

    #[test]
    fn other_events_are_not_mapped() {
        let event = CloudEvent::new_value("e", "stripe", "invoice.paid", json!({})).unwrap();
        assert!(mapping().apply(&event).unwrap().is_none());
    }
}
