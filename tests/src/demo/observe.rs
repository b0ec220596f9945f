//! What became of the demo's events, from the places an operator would look: the deliverers'
//! log lines (one JSON object per line, each carrying `event_id`), the dead-letter queues (the
//! class and reason attributes), the delivery ledger, and what the stand-ins received.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use aws_sdk_sqs::types::MessageSystemAttributeName;
use serde_json::Value;
use switchyard::idempotency::{Ledger, LedgerEntry};

use crate::stack::LocalStack;

/// One log line about an event.
#[derive(Debug, Clone, Default)]
pub struct EventLine {
    /// `outcome` (delivered, duplicate, permanent, retry, ...), when the line has one.
    pub outcome: Option<String>,
    /// `class`, when the line has one.
    pub class: Option<String>,
    /// `message`.
    pub message: String,
}

/// A dead letter, read without taking it off its queue.
#[derive(Debug, Clone)]
pub struct DeadLetter {
    /// The deliverer whose queue it is in.
    pub function: String,
    /// The envelope's id.
    pub event_id: String,
    /// `switchyard.error.class`.
    pub class: String,
    /// `switchyard.error.reason`.
    pub reason: String,
}

/// Everything observed, at one moment.
#[derive(Debug, Default)]
pub struct Evidence {
    /// Deliverer log lines by event id.
    pub lines: BTreeMap<String, Vec<EventLine>>,
    /// Dead letters in the deliverers' DLQs.
    pub dead_letters: Vec<DeadLetter>,
}

impl Evidence {
    /// Reads the logs and dead-letter queues of every deliverer the stack serves.
    pub async fn gather(stack: &LocalStack) -> Result<Evidence, String> {
        let mut evidence = Evidence::default();
        for (function, server) in &stack.functions {
            let Some(description) = stack.description.function(function) else {
                continue;
            };
            if description.event_sources.is_empty() {
                continue;
            }
            read_log(&server.log_path, &mut evidence.lines);
            if let Some(dlq) = stack.description.dead_letter_queue(function) {
                evidence
                    .dead_letters
                    .extend(peek_dead_letters(stack.sqs(), function, dlq).await?);
            }
        }
        Ok(evidence)
    }

    /// The lines about `event_id`.
    pub fn lines_of(&self, event_id: &str) -> &[EventLine] {
        self.lines.get(event_id).map_or(&[], Vec::as_slice)
    }

    /// How many lines about `event_id` have this outcome.
    pub fn outcomes(&self, event_id: &str, outcome: &str) -> usize {
        self.lines_of(event_id)
            .iter()
            .filter(|l| l.outcome.as_deref() == Some(outcome))
            .count()
    }

    /// Retries of a call for `event_id` after a 429 (class `throttled`), within invocations
    /// or across them.
    pub fn throttled_retries(&self, event_id: &str) -> usize {
        self.lines_of(event_id)
            .iter()
            .filter(|l| l.class.as_deref() == Some("throttled"))
            .count()
    }

    /// The dead letter of `event_id` at `function`, if one is there now.
    pub fn dead_letter(&self, function: &str, event_id: &str) -> Option<&DeadLetter> {
        self.dead_letters
            .iter()
            .find(|d| d.function == function && d.event_id == event_id)
    }
}

/// Appends the JSON log lines of `path` that carry an `event_id` (cargo's and watch's own
/// output, and lines about no event, are skipped).
fn read_log(path: &Path, lines: &mut BTreeMap<String, Vec<EventLine>>) {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    for line in text.lines() {
        let Some(start) = line.find('{') else {
            continue;
        };
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(&line[start..]) else {
            continue;
        };
        let Some(event_id) = fields.get("event_id").and_then(Value::as_str) else {
            continue;
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str).map(str::to_owned);
        lines
            .entry(event_id.to_owned())
            .or_default()
            .push(EventLine {
                outcome: text("outcome"),
                class: text("class"),
                message: text("message").unwrap_or_default(),
            });
    }
}

/// The messages of a dead-letter queue, left on it (received with a zero visibility
/// timeout, until a few receives bring nothing new).
async fn peek_dead_letters(
    sqs: &aws_sdk_sqs::Client,
    function: &str,
    url: &str,
) -> Result<Vec<DeadLetter>, String> {
    let mut seen = BTreeSet::new();
    let mut letters = Vec::new();
    let mut handles: Vec<String> = Vec::new();
    let mut quiet = 0;
    while quiet < 3 {
        let answer = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            // Hidden while the peek goes on, so each receive brings the next ones (with 0,
            // moto hands back the same first ten every time); made visible again below.
            .visibility_timeout(60)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .map_err(|e| {
                format!(
                    "{function}'s DLQ: {}",
                    aws_sdk_sqs::error::DisplayErrorContext(e)
                )
            })?;
        let mut new = 0;
        for message in answer.messages() {
            let Some(id) = message.message_id() else {
                continue;
            };
            if !seen.insert(id.to_owned()) {
                continue;
            }
            if let Some(handle) = message.receipt_handle() {
                handles.push(handle.to_owned());
            }
            new += 1;
            let attribute = |name: &str| {
                message
                    .message_attributes()
                    .and_then(|a| a.get(name))
                    .and_then(|v| v.string_value())
                    .unwrap_or_default()
                    .to_owned()
            };
            let event_id = message
                .body()
                .and_then(|b| serde_json::from_str::<Value>(b).ok())
                .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            letters.push(DeadLetter {
                function: function.to_owned(),
                event_id,
                class: attribute("switchyard.error.class"),
                reason: attribute("switchyard.error.reason"),
            });
        }
        if new == 0 {
            quiet += 1;
        }
    }
    // Left on the queue, visible again at once.
    switchyard_local_sqs::acknowledge::release(sqs, url, &handles)
        .await
        .map_err(|e| format!("{function}'s DLQ: cannot make the peeked letters visible: {e}"))?;
    Ok(letters)
}

/// The ledger record of `event_id` at `function`.
pub async fn ledger_entry(
    stack: &LocalStack,
    function: &str,
    source: &str,
    event_id: &str,
) -> Result<Option<LedgerEntry>, String> {
    let table = stack
        .description
        .ledger_table()
        .ok_or("the stack has no ledger table")?;
    Ledger::new(stack.dynamodb(), table)
        .get(function, source, event_id)
        .await
        .map_err(|e| format!("ledger: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::moto::Moto;

    #[tokio::test]
    async fn a_peek_reads_every_dead_letter_and_leaves_them_all_on_the_queue() {
        let moto = Moto::start();
        let url = moto.create_queue("dlq").await;
        let sqs = moto.sqs();
        for i in 0..25 {
            sqs.send_message()
                .queue_url(&url)
                .message_body(format!(r#"{{"id":"evt_{i}"}}"#))
                .send()
                .await
                .unwrap();
        }
        let letters = peek_dead_letters(&sqs, "hubspot-contacts", &url)
            .await
            .unwrap();
        let mut ids: Vec<_> = letters.iter().map(|l| l.event_id.clone()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 25, "more than one receive's worth: {ids:?}");
        let again = peek_dead_letters(&sqs, "hubspot-contacts", &url)
            .await
            .unwrap();
        assert_eq!(again.len(), 25, "the peek leaves every letter visible");
    }
}
