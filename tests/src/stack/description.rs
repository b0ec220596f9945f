//! What `scripts/local_stack.py` created, read from the JSON it prints: the queues, secrets
//! and tables of `infra/template.yaml` on the emulator, and each function with the environment
//! the template gives it, resolved against them.

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole description.
#[derive(Debug, Clone, Deserialize)]
pub struct StackDescription {
    /// The emulator the stack lives on.
    pub endpoint_url: String,
    /// Its region.
    pub region: String,
    /// The stack's name (the prefix of every queue's and table's name).
    pub stack_name: String,
    /// Queues by logical id.
    pub queues: BTreeMap<String, Resource>,
    /// Secrets by logical id (never their values).
    pub secrets: BTreeMap<String, Resource>,
    /// Tables by logical id.
    pub tables: BTreeMap<String, Resource>,
    /// Functions by logical id.
    pub functions: BTreeMap<String, FunctionDescription>,
}

/// A queue, secret or table.
#[derive(Debug, Clone, Deserialize)]
pub struct Resource {
    /// Its name.
    pub name: String,
    /// Its ARN.
    pub arn: String,
    /// A queue's URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// One function of the template.
#[derive(Debug, Clone, Deserialize)]
pub struct FunctionDescription {
    /// The Lambda function's name.
    pub name: String,
    /// Its binary (the crate under `functions/`).
    #[serde(default)]
    pub binary: Option<String>,
    /// Its `Timeout` in seconds (the invocation's deadline).
    #[serde(default)]
    pub timeout: Option<u64>,
    /// Its environment, resolved against the local resources.
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    /// Whether it has a Function URL (a receiver).
    #[serde(default)]
    pub function_url: bool,
    /// Its SQS event source mappings (a deliverer), as the local event source reads them.
    #[serde(default)]
    pub event_sources: Vec<serde_json::Value>,
}

impl FunctionDescription {
    /// The binary `cargo lambda watch` serves it as.
    pub fn binary(&self) -> &str {
        self.binary.as_deref().unwrap_or(&self.name)
    }
}

impl StackDescription {
    /// Parses `local_stack.py`'s output.
    pub fn parse(json: &str) -> Result<StackDescription, String> {
        serde_json::from_str(json).map_err(|e| format!("local_stack.py's output: {e}"))
    }

    /// The function whose binary is `binary`.
    pub fn function(&self, binary: &str) -> Option<&FunctionDescription> {
        self.functions.values().find(|f| f.binary() == binary)
    }

    /// Every function's binary, receivers first, each group by name.
    pub fn binaries(&self) -> Vec<String> {
        let mut all: Vec<&FunctionDescription> = self.functions.values().collect();
        all.sort_by_key(|f| (!f.function_url, f.binary().to_owned()));
        all.into_iter().map(|f| f.binary().to_owned()).collect()
    }

    /// The URL of the queue with this logical id.
    pub fn queue_url(&self, logical_id: &str) -> Option<&str> {
        self.queues.get(logical_id)?.url.as_deref()
    }

    /// A function's events queue (`<Name>Queue`, what deliverers read and receivers write).
    pub fn events_queue(&self, binary: &str) -> Option<&str> {
        self.queue_url(&format!("{}Queue", pascal_case(binary)))
    }

    /// A function's dead-letter queue (`<Name>DeadLetterQueue`).
    pub fn dead_letter_queue(&self, binary: &str) -> Option<&str> {
        self.queue_url(&format!("{}DeadLetterQueue", pascal_case(binary)))
    }

    /// The delivery ledger's table name.
    pub fn ledger_table(&self) -> Option<&str> {
        self.tables.get("IdempotencyTable").map(|t| t.name.as_str())
    }
}

/// The template's logical-id spelling of a binary name: `hubspot-contacts` → `HubspotContacts`.
pub fn pascal_case(binary: &str) -> String {
    binary
        .split(['-', '_'])
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + chars.as_str()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_follow_the_template() {
        assert_eq!(pascal_case("hubspot-contacts"), "HubspotContacts");
        assert_eq!(pascal_case("stripe-webhook"), "StripeWebhook");
    }

    #[test]
    fn a_description_is_read_and_receivers_come_first() {
        let stack = StackDescription::parse(
            r#"{"endpoint_url": "http://127.0.0.1:1", "region": "us-east-1",
                "stack_name": "s", "account_id": "1", "parameters": {},
                "queues": {"SlackNotifyQueue": {"name": "s-SlackNotifyQueue", "arn": "a",
                           "url": "http://q/s-SlackNotifyQueue"}},
                "secrets": {}, "tables": {"IdempotencyTable": {"name": "s-IdempotencyTable", "arn": "t"}},
                "functions": {
                  "SlackNotifyFunction": {"name": "slack-notify", "binary": "slack-notify",
                     "environment": {"SECRET_ID": "x"}, "function_url": false,
                     "event_sources": [{"queue": "SlackNotifyQueue"}]},
                  "StripeWebhookFunction": {"name": "stripe-webhook", "binary": "stripe-webhook",
                     "environment": {}, "function_url": true, "event_sources": []}}}"#,
        )
        .unwrap();
        assert_eq!(stack.binaries(), ["stripe-webhook", "slack-notify"]);
        assert_eq!(
            stack.events_queue("slack-notify"),
            Some("http://q/s-SlackNotifyQueue")
        );
        assert_eq!(stack.ledger_table(), Some("s-IdempotencyTable"));
        assert!(
            StackDescription::parse("{}")
                .unwrap_err()
                .contains("local_stack.py")
        );
    }
}
