//! Sending a record that cannot succeed to the dead-letter queue, with why.
//!
//! The queue's own redrive policy only moves a message after `maxReceiveCount` failed deliveries
//! and says nothing about why. A permanent failure gains nothing from those retries, so the runner
//! sends it to the dead-letter queue at once — the original body and message attributes, plus
//! `switchyard.*` attributes saying what failed — and then acknowledges it.
//!
//! Dead letters of one batch go out together: one `SendMessageBatch` call per ten records (and per
//! 256 KiB of payload), not one call per record.
//!
//! SQS allows at most 10 message attributes per message. The five `switchyard.*` attributes always
//! go; the original attributes fill the remaining five in name order, and any beyond that are
//! dropped (their names are logged). An original attribute named `switchyard.*` (a record that
//! was redriven and failed again) is replaced by the new verdict.

use std::collections::HashMap;

use aws_lambda_events::sqs::{SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};

use super::record::Record;
use super::visibility::{MAX_BATCH_ENTRIES, entry_id};
use crate::taxonomy::ErrorClass;

/// The payload one `SendMessageBatch` call carries at most (SQS's long-standing batch limit;
/// a single larger message goes alone).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

/// SQS's limit on message attributes per message.
pub const MAX_MESSAGE_ATTRIBUTES: usize = 10;

/// Reasons longer than this (in characters) are cut, so a verbose error cannot push the message
/// over SQS's size limit; the full reason is in the log line of the failure.
pub const MAX_REASON_CHARS: usize = 512;

/// The attribute holding the failure class (`permanent`, `auth`, ...).
pub const ATTR_CLASS: &str = "switchyard.error.class";
/// The attribute holding the failure's reason, truncated to [`MAX_REASON_CHARS`].
pub const ATTR_REASON: &str = "switchyard.error.reason";
/// The attribute holding the record's `ApproximateReceiveCount` when it was dead-lettered.
pub const ATTR_ATTEMPTS: &str = "switchyard.attempts";
/// The attribute holding the original message id (the key to find it in the logs).
pub const ATTR_SOURCE_MESSAGE_ID: &str = "switchyard.source.message_id";
/// The attribute holding the ARN of the queue the record came from (where to redrive it to).
pub const ATTR_SOURCE_QUEUE: &str = "switchyard.source.queue";

const OWN_PREFIX: &str = "switchyard.";

/// What the dead-letter message says about the failure.
#[derive(Debug, Clone)]
pub struct DeadLetterReason<'a> {
    /// The failure's class.
    pub class: ErrorClass,
    /// The failure's reason (an error's `Display`, which the kit guarantees holds no secrets).
    pub reason: &'a str,
    /// How many times the record had been delivered.
    pub attempts: u32,
}

/// The message attributes of the dead-letter message: the `switchyard.*` verdict plus as many
/// original attributes as fit, and the names of the originals that did not fit.
pub fn dead_letter_attributes(
    record: &SqsMessage,
    why: &DeadLetterReason<'_>,
) -> (HashMap<String, MessageAttributeValue>, Vec<String>) {
    let mut attributes = HashMap::new();
    let own = [
        (ATTR_CLASS, why.class.as_str().to_string(), "String"),
        (ATTR_REASON, truncate_reason(why.reason), "String"),
        (ATTR_ATTEMPTS, why.attempts.to_string(), "Number"),
        (
            ATTR_SOURCE_MESSAGE_ID,
            record.message_id.clone().unwrap_or_default(),
            "String",
        ),
        (
            ATTR_SOURCE_QUEUE,
            record.event_source_arn.clone().unwrap_or_default(),
            "String",
        ),
    ];
    for (name, value, data_type) in own {
        // SQS rejects empty string values: leave out what we do not know.
        if value.is_empty() {
            continue;
        }
        if let Some(v) = string_attribute(data_type, value) {
            attributes.insert(name.to_string(), v);
        }
    }

    let mut originals: Vec<_> = record
        .message_attributes
        .iter()
        .filter(|(name, _)| !name.starts_with(OWN_PREFIX))
        .collect();
    originals.sort_by(|a, b| a.0.cmp(b.0));
    let mut dropped = Vec::new();
    for (name, attribute) in originals {
        let converted = (attributes.len() < MAX_MESSAGE_ATTRIBUTES)
            .then(|| convert_attribute(attribute))
            .flatten();
        match converted {
            Some(value) => {
                attributes.insert(name.clone(), value);
            }
            None => dropped.push(name.clone()),
        }
    }
    (attributes, dropped)
}

/// The reason as it goes into an attribute: cut at [`MAX_REASON_CHARS`] characters (marked with
/// `…`), with characters SQS does not accept in attribute values replaced by `?`.
pub fn truncate_reason(reason: &str) -> String {
    let mut out: String = reason
        .chars()
        .take(MAX_REASON_CHARS)
        .map(|c| if sqs_allows(c) { c } else { '?' })
        .collect();
    if reason.chars().nth(MAX_REASON_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// SQS attribute values may only hold `#x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD |
/// #x10000-#x10FFFF` (XML 1.0 characters).
fn sqs_allows(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

/// A record on its way to the dead-letter queue, and why.
#[derive(Debug)]
pub(crate) struct DeadLetter<'r, 'a> {
    /// The record.
    pub(crate) record: &'r Record<'a>,
    /// The class of its last failure.
    pub(crate) class: ErrorClass,
    /// Why it is dead (the error's message, which holds no secrets or payload values).
    pub(crate) reason: String,
}

/// Sends `letters` to the dead-letter queue at `url` in batches; answers, per letter, whether
/// SQS took it. A FIFO dead-letter queue (URL ending in `.fifo`) gets each record's message
/// group (else its message id) and its message id as deduplication id.
pub(crate) async fn send_dead_letters(
    client: &aws_sdk_sqs::Client,
    url: &str,
    letters: &[DeadLetter<'_, '_>],
) -> Vec<bool> {
    let mut sent = vec![false; letters.len()];
    let mut start = 0;
    while start < letters.len() {
        // As many letters as fit in one call: ten entries, 256 KiB (at least one).
        let mut end = start;
        let mut bytes = 0;
        while end < letters.len() && end - start < MAX_BATCH_ENTRIES {
            let size = letters[end].record.body().len();
            if end > start && bytes + size > MAX_BATCH_BYTES {
                break;
            }
            bytes += size;
            end += 1;
        }
        let chunk = &letters[start..end];
        for (offset, ok) in send_chunk(client, url, chunk).await.into_iter().enumerate() {
            sent[start + offset] = ok;
        }
        start = end;
    }
    sent
}

async fn send_chunk(
    client: &aws_sdk_sqs::Client,
    url: &str,
    chunk: &[DeadLetter<'_, '_>],
) -> Vec<bool> {
    let fifo = url.ends_with(".fifo");
    let entries: Vec<_> = chunk
        .iter()
        .filter_map(|letter| {
            let why = DeadLetterReason {
                class: letter.class,
                reason: &letter.reason,
                attempts: letter.record.receive_count(),
            };
            let (attributes, dropped) = dead_letter_attributes(letter.record.message(), &why);
            if !dropped.is_empty() {
                tracing::warn!(
                    message_id = letter.record.message_id(),
                    ?dropped,
                    "message attributes left off the dead-letter message (SQS allows 10)"
                );
            }
            let mut entry = SendMessageBatchRequestEntry::builder()
                .id(entry_id(letter.record))
                .message_body(letter.record.body())
                .set_message_attributes(Some(attributes));
            if fifo {
                let message_id = letter.record.message_id();
                if let Some(group) = letter.record.message_group().or(message_id) {
                    entry = entry.message_group_id(group);
                }
                if let Some(id) = message_id {
                    entry = entry.message_deduplication_id(id);
                }
            }
            entry.build().ok()
        })
        .collect();
    let result = client
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await;
    match result {
        Ok(output) => chunk
            .iter()
            .map(|letter| {
                let id = entry_id(letter.record);
                let ok = output.successful().iter().any(|s| s.id() == id);
                if !ok {
                    let failed = output.failed().iter().find(|f| f.id() == id);
                    tracing::error!(
                        message_id = letter.record.message_id(),
                        code = failed.map(|f| f.code()),
                        "the dead-letter queue refused the record"
                    );
                }
                ok
            })
            .collect(),
        Err(e) => {
            tracing::error!(
                records = chunk.len(),
                error = %DisplayErrorContext(&e),
                "could not send to the dead-letter queue"
            );
            vec![false; chunk.len()]
        }
    }
}

fn string_attribute(data_type: &str, value: String) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type(data_type)
        .string_value(value)
        .build()
        .ok()
}

/// The SDK form of an event's message attribute; `None` if it has no data type or no value
/// (list values are reserved by SQS and never set).
fn convert_attribute(attribute: &SqsMessageAttribute) -> Option<MessageAttributeValue> {
    let data_type = attribute.data_type.as_deref().filter(|t| !t.is_empty())?;
    let builder = MessageAttributeValue::builder().data_type(data_type);
    let builder = match (&attribute.string_value, &attribute.binary_value) {
        (Some(s), _) => builder.string_value(s),
        (None, Some(b)) => builder.binary_value(Blob::new(b.to_vec())),
        (None, None) => return None,
    };
    builder.build().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::encodings::Base64Data;

    fn attr(value: &str) -> SqsMessageAttribute {
        let mut a = SqsMessageAttribute::default();
        a.data_type = Some("String".into());
        a.string_value = Some(value.into());
        a
    }

    fn record(originals: &[(&str, SqsMessageAttribute)]) -> SqsMessage {
        let mut r = SqsMessage::default();
        r.message_id = Some("m-1".into());
        r.event_source_arn = Some("arn:aws:sqs:us-east-1:123456789012:q".into());
        r.message_attributes = originals
            .iter()
            .map(|(n, a)| (n.to_string(), a.clone()))
            .collect();
        r
    }

    fn why(reason: &str) -> DeadLetterReason<'_> {
        DeadLetterReason {
            class: ErrorClass::Permanent,
            reason,
            attempts: 3,
        }
    }

    fn value<'a>(attrs: &'a HashMap<String, MessageAttributeValue>, name: &str) -> &'a str {
        attrs[name].string_value().unwrap()
    }

    #[test]
    fn carries_the_verdict_and_the_original_attributes() {
        let mut bin = SqsMessageAttribute::default();
        bin.data_type = Some("Binary".into());
        bin.binary_value = Some(serde_json::from_str::<Base64Data>("\"AQID\"").unwrap());
        let r = record(&[("tenant", attr("acme")), ("blob", bin)]);
        let (attrs, dropped) = dead_letter_attributes(&r, &why("HTTP 422: bad email"));
        assert!(dropped.is_empty());
        assert_eq!(attrs.len(), 7);
        assert_eq!(value(&attrs, ATTR_CLASS), "permanent");
        assert_eq!(value(&attrs, ATTR_REASON), "HTTP 422: bad email");
        assert_eq!(value(&attrs, ATTR_ATTEMPTS), "3");
        assert_eq!(attrs[ATTR_ATTEMPTS].data_type(), "Number");
        assert_eq!(value(&attrs, ATTR_SOURCE_MESSAGE_ID), "m-1");
        assert_eq!(
            value(&attrs, ATTR_SOURCE_QUEUE),
            "arn:aws:sqs:us-east-1:123456789012:q"
        );
        assert_eq!(value(&attrs, "tenant"), "acme");
        assert_eq!(attrs["blob"].binary_value().unwrap().as_ref(), &[1, 2, 3]);
    }

    #[test]
    fn keeps_within_ten_attributes_dropping_originals_in_name_order() {
        let originals: Vec<_> = (0..8).map(|i| (format!("a{i}"), attr("v"))).collect();
        let refs: Vec<_> = originals
            .iter()
            .map(|(n, a)| (n.as_str(), a.clone()))
            .collect();
        let (attrs, dropped) = dead_letter_attributes(&record(&refs), &why("x"));
        assert_eq!(attrs.len(), MAX_MESSAGE_ATTRIBUTES);
        for kept in ["a0", "a1", "a2", "a3", "a4"] {
            assert!(attrs.contains_key(kept), "{kept}");
        }
        assert_eq!(dropped, ["a5", "a6", "a7"]);
    }

    #[test]
    fn an_old_verdict_is_replaced_and_unknowns_are_left_out() {
        let mut r = record(&[
            (ATTR_CLASS, attr("transient")),
            ("empty", SqsMessageAttribute::default()),
        ]);
        r.event_source_arn = None;
        let (attrs, dropped) = dead_letter_attributes(&r, &why("x"));
        assert_eq!(value(&attrs, ATTR_CLASS), "permanent");
        assert!(!attrs.contains_key(ATTR_SOURCE_QUEUE));
        assert_eq!(dropped, ["empty"]);
        assert_eq!(attrs.len(), 4);
    }

    #[test]
    fn reasons_are_truncated_and_sanitised() {
        let long = "é".repeat(MAX_REASON_CHARS + 10);
        let cut = truncate_reason(&long);
        assert_eq!(cut.chars().count(), MAX_REASON_CHARS + 1);
        assert!(cut.ends_with('…'));
        let exact = "x".repeat(MAX_REASON_CHARS);
        assert_eq!(truncate_reason(&exact), exact);
        assert_eq!(truncate_reason("a\u{0}b\tc\u{FFFF}"), "a?b\tc?");
    }
}
