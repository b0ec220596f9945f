//! The idempotency key: which integration, which event.
//!
//! CloudEvents identify an event by `source` + `id` (see [`crate::envelope`]); the integration
//! name in front scopes it, so two functions delivering the same event to different places
//! (Slack and a CRM) each deliver it once, and share one table. The key is readable on purpose
//! (`slack-notify#stripe#evt_123`): an operator can find an item in the console by eye.

use sha2::{Digest, Sha256};

/// Keys longer than this (bytes) are replaced by their hash: DynamoDB's partition key limit is
/// 2048 bytes, and the key travels in every request. Real keys are far shorter.
pub const MAX_KEY_BYTES: usize = 1024;

/// The key of `integration`'s record for the event `source` + `event_id`:
/// `integration#source#event_id`.
///
/// `%` and `#` inside a part are written `%25` and `%23`, so the parts can never run into one
/// another (`a#b` + `c` and `a` + `b#c` stay two keys). A key longer than [`MAX_KEY_BYTES`] is
/// `sha256:` and the hex digest of the long form; the record keeps `source` and `event_id` in
/// attributes of their own either way.
pub fn key(integration: &str, source: &str, event_id: &str) -> String {
    let mut key = String::with_capacity(integration.len() + source.len() + event_id.len() + 2);
    escape_into(&mut key, integration);
    key.push('#');
    escape_into(&mut key, source);
    key.push('#');
    escape_into(&mut key, event_id);
    if key.len() > MAX_KEY_BYTES {
        format!("sha256:{}", hex::encode(Sha256::digest(key.as_bytes())))
    } else {
        key
    }
}

fn escape_into(out: &mut String, part: &str) {
    for c in part.chars() {
        match c {
            '%' => out.push_str("%25"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_as_integration_source_and_id() {
        assert_eq!(
            key("slack-notify", "stripe", "evt_123"),
            "slack-notify#stripe#evt_123"
        );
        assert_eq!(
            key("crm", "/switchyard/github", "3f1c-9a"),
            "crm#/switchyard/github#3f1c-9a"
        );
    }

    #[test]
    fn separators_inside_parts_cannot_make_two_events_one_key() {
        assert_ne!(key("a", "b#c", "d"), key("a", "b", "c#d"));
        assert_eq!(key("a", "b#c", "d"), "a#b%23c#d");
        assert_ne!(key("a", "b%23c", "d"), key("a", "b#c", "d"));
    }

    #[test]
    fn overlong_keys_are_hashed() {
        let long_id = "x".repeat(MAX_KEY_BYTES);
        let hashed = key("slack", "stripe", &long_id);
        assert!(hashed.starts_with("sha256:"), "{hashed}");
        assert_eq!(hashed.len(), "sha256:".len() + 64);
        assert_eq!(hashed, key("slack", "stripe", &long_id), "stable");
        assert_ne!(hashed, key("slack", "github", &long_id));
    }
}
