//! The `chat.postMessage` request a mapped event becomes.
//!
//! The mapping computes the fields ([`schema`] says which it may set); this module checks what
//! Slack would refuse anyway before a call is spent on it: a message needs a channel (the rule's
//! or `SLACK_CHANNEL`) and something to show — `text` (the notification and fallback text Slack
//! asks for even with blocks) or `blocks`. Those failures are permanent: the same event maps to
//! the same message on every retry.

use serde::Serialize;
use serde_json::Value;
use switchyard::Error;
use switchyard::mapping::{FieldType, Mapped, Schema};

/// Slack's limit on `blocks` in one message.
pub const MAX_BLOCKS: usize = 50;

/// The fields a mapping rule may set: the `chat.postMessage` arguments this function sends.
/// `channel` is required of every rule when there is no default channel.
pub fn schema(default_channel: bool) -> Schema {
    let schema = Schema::new()
        .field("text", FieldType::String)
        .field("blocks", FieldType::Array)
        .field("thread_ts", FieldType::String)
        .field("unfurl_links", FieldType::Boolean)
        .field("unfurl_media", FieldType::Boolean)
        .field("username", FieldType::String)
        .field("icon_emoji", FieldType::String);
    if default_channel {
        schema.field("channel", FieldType::String)
    } else {
        schema.required("channel", FieldType::String)
    }
}

/// The JSON body of a `chat.postMessage` call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PostMessage {
    /// Where to post: a channel id (`C…`) or name.
    pub channel: String,
    /// The message text, or the fallback text of its blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Block Kit blocks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocks: Option<Value>,
    /// Post as a reply in this thread.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_ts: Option<String>,
    /// Unfurl text links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfurl_links: Option<bool>,
    /// Unfurl media links.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfurl_media: Option<bool>,
    /// The bot's display name for this message (needs `chat:write.customize`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The bot's icon for this message (needs `chat:write.customize`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icon_emoji: Option<String>,
}

impl PostMessage {
    /// The message for a mapped event, posting to `default_channel` when the rule set none.
    ///
    /// # Errors
    /// Permanent: no channel, nothing to show (neither `text` nor `blocks`), or more blocks
    /// than Slack allows. Messages name the rule, never the content.
    pub fn from_mapped(mapped: &Mapped, default_channel: Option<&str>) -> Result<Self, Error> {
        let text = |name: &str| mapped.get_str(name).map(str::to_owned);
        let flag = |name: &str| mapped.get(name).and_then(Value::as_bool);
        let rule = mapped.rule();
        let channel = text("channel")
            .or_else(|| default_channel.map(str::to_owned))
            .ok_or_else(|| {
                Error::permanent(format!(
                    "mapping rule `{rule}` set no channel and SLACK_CHANNEL is not set"
                ))
            })?;
        let blocks = mapped.get("blocks").cloned();
        let message = Self {
            channel,
            text: text("text"),
            blocks,
            thread_ts: text("thread_ts"),
            unfurl_links: flag("unfurl_links"),
            unfurl_media: flag("unfurl_media"),
            username: text("username"),
            icon_emoji: text("icon_emoji"),
        };
        let block_count = message
            .blocks
            .as_ref()
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if message.text.is_none() && block_count == 0 {
            return Err(Error::permanent(format!(
                "mapping rule `{rule}` produced neither text nor blocks"
            )));
        }
        if block_count > MAX_BLOCKS {
            return Err(Error::permanent(format!(
                "mapping rule `{rule}` produced {block_count} blocks; Slack allows {MAX_BLOCKS}"
            )));
        }
        Ok(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard::Classify;
    use switchyard::ErrorClass;
    use switchyard::envelope::CloudEvent;
    use switchyard::mapping::Mapping;

    fn mapped(fields: &str, default_channel: bool) -> Mapped {
        let file = format!(
            "[[rule]]\nname = \"r\"\nsource = \"s\"\ntype = \"t\"\n[rule.fields]\n{fields}\n"
        );
        let mapping = Mapping::load(&file, "test.toml", &schema(default_channel)).unwrap();
        let event =
            CloudEvent::new_json_bytes("evt_1", "s", "t", br#"{"n": 60, "who": "Ada"}"#).unwrap();
        mapping.apply(&event).unwrap().unwrap()
    }

    #[test]
    fn a_mapped_event_becomes_the_request_body() {
        let m = mapped(
            r#"text = { template = "hi {{ data.who }}" }
blocks = { value = [{ type = "section", text = { type = "mrkdwn", text = "*{{ data.who }}*" } }] }
unfurl_links = { value = false }"#,
            true,
        );
        let message = PostMessage::from_mapped(&m, Some("C1")).unwrap();
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            serde_json::json!({
                "channel": "C1",
                "text": "hi Ada",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Ada*"}}],
                "unfurl_links": false,
            })
        );
    }

    #[test]
    fn the_rules_channel_wins_over_the_default() {
        let m = mapped(
            r#"channel = { value = "C9" }
text = { value = "x" }"#,
            true,
        );
        assert_eq!(
            PostMessage::from_mapped(&m, Some("C1")).unwrap().channel,
            "C9"
        );
    }

    #[test]
    fn without_a_default_channel_every_rule_must_set_one() {
        let file = "[[rule]]\nname = \"r\"\nsource = \"s\"\ntype = \"t\"\n[rule.fields]\ntext = { value = \"x\" }\n";
        let error = Mapping::load(file, "test.toml", &schema(false)).unwrap_err();
        assert!(error.to_string().contains("channel"), "{error}");
    }

    #[test]
    fn what_slack_would_refuse_is_refused_first_as_permanent() {
        let nothing = mapped(r#"thread_ts = { value = "1.2" }"#, true);
        let error = PostMessage::from_mapped(&nothing, Some("C1")).unwrap_err();
        assert_eq!(error.class(), ErrorClass::Permanent);
        assert!(
            error.to_string().contains("neither text nor blocks"),
            "{error}"
        );

        let no_channel = mapped(r#"text = { value = "x" }"#, true);
        let error = PostMessage::from_mapped(&no_channel, None).unwrap_err();
        assert!(error.to_string().contains("SLACK_CHANNEL"), "{error}");

        let many: Vec<String> = (0..51)
            .map(|_| "{ type = \"divider\" }".to_string())
            .collect();
        let too_many = mapped(
            &format!("blocks = {{ value = [{}] }}", many.join(", ")),
            true,
        );
        let error = PostMessage::from_mapped(&too_many, Some("C1")).unwrap_err();
        assert!(error.to_string().contains("51 blocks"), "{error}");
    }
}
