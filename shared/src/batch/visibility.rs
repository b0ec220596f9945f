//! Handing records back to SQS with a visibility timeout of our choosing.
//!
//! Lambda's partial batch response does not touch a failed record's visibility: it reappears
//! when the queue's visibility timeout runs out, however hard the destination is throttling and
//! however long the outage. The runner instead sets each handed-back record's visibility from
//! the [redelivery schedule](super::schedule) — one `ChangeMessageVisibilityBatch` call per
//! queue and ten records, not one call per record. A change that fails is logged, not fatal:
//! the record is still reported and comes back after the queue's own timeout.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::sqs::SqsMessage;
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;

use super::queue::QueueUrls;
use super::record::Record;
use super::schedule::MAX_VISIBILITY;

/// SQS's limit on entries per batch call.
pub const MAX_BATCH_ENTRIES: usize = 10;

/// How many times SQS has delivered this record (`ApproximateReceiveCount`), at least 1.
///
/// A missing or garbled attribute counts as the first delivery: the shortest delay is the safe
/// guess, and the queue's redrive policy still bounds the retries.
pub fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.trim().parse::<u32>().ok())
        .unwrap_or(1)
        .max(1)
}

/// A delay as SQS wants a visibility timeout: whole seconds, rounded up (never back early),
/// at most 12 hours.
pub fn visibility_seconds(delay: Duration) -> i32 {
    let capped = delay.min(MAX_VISIBILITY);
    let secs = capped.as_secs() + u64::from(capped.subsec_nanos() > 0);
    // At most 43 200 after the cap, so always fits; the fallback is for the type system only.
    i32::try_from(secs.min(MAX_VISIBILITY.as_secs())).unwrap_or(i32::MAX)
}

/// Sets the visibility of each `(record, delay)`, batched per source queue. Returns how many
/// changes SQS confirmed; every failure is logged with the record's message id.
pub(crate) async fn change_visibility(
    client: &aws_sdk_sqs::Client,
    queue_urls: &QueueUrls,
    changes: &[(&Record<'_>, Duration)],
) -> usize {
    // Per source queue ARN, in batch order.
    let mut by_queue: BTreeMap<Option<&str>, Vec<(&Record<'_>, Duration)>> = BTreeMap::new();
    for (record, delay) in changes {
        if record.message().receipt_handle.is_none() {
            tracing::warn!(
                message_id = record.message_id(),
                "record has no receipt handle; cannot set its visibility timeout"
            );
            continue;
        }
        by_queue
            .entry(record.message().event_source_arn.as_deref())
            .or_default()
            .push((record, *delay));
    }
    let mut confirmed = 0;
    for (arn, entries) in by_queue {
        let url = match queue_urls.resolve(client, arn).await {
            Ok(url) => url,
            Err(e) => {
                tracing::warn!(error = %e, records = entries.len(), "cannot set visibility timeouts: queue URL unknown");
                continue;
            }
        };
        for chunk in entries.chunks(MAX_BATCH_ENTRIES) {
            confirmed += change_chunk(client, &url, chunk).await;
        }
    }
    confirmed
}

async fn change_chunk(
    client: &aws_sdk_sqs::Client,
    url: &str,
    chunk: &[(&Record<'_>, Duration)],
) -> usize {
    let entries: Vec<_> = chunk
        .iter()
        .filter_map(|(record, delay)| {
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id(entry_id(record))
                .set_receipt_handle(record.message().receipt_handle.clone())
                .visibility_timeout(visibility_seconds(*delay))
                .build()
                .ok()
        })
        .collect();
    let result = client
        .change_message_visibility_batch()
        .queue_url(url)
        .set_entries(Some(entries))
        .send()
        .await;
    match result {
        Ok(output) => {
            for failed in output.failed() {
                let record = chunk.iter().find(|(r, _)| entry_id(r) == failed.id());
                tracing::warn!(
                    message_id = record.and_then(|(r, _)| r.message_id()),
                    code = failed.code(),
                    "could not set the visibility timeout"
                );
            }
            output.successful().len()
        }
        Err(e) => {
            tracing::warn!(
                records = chunk.len(),
                error = %DisplayErrorContext(&e),
                "could not set visibility timeouts"
            );
            0
        }
    }
}

/// The id of a record's entry in an SQS batch call: unique within the batch, as SQS requires.
pub(crate) fn entry_id(record: &Record<'_>) -> String {
    format!("r{}", record.index())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn record_with_count(count: Option<&str>) -> SqsMessage {
        let mut record = SqsMessage::default();
        record.attributes = count
            .map(|c| HashMap::from([("ApproximateReceiveCount".to_string(), c.to_string())]))
            .unwrap_or_default();
        record
    }

    #[test]
    fn receive_count_defaults_to_one() {
        assert_eq!(receive_count(&record_with_count(Some("3"))), 3);
        assert_eq!(receive_count(&record_with_count(Some("0"))), 1);
        assert_eq!(receive_count(&record_with_count(Some("x"))), 1);
        assert_eq!(receive_count(&record_with_count(None)), 1);
    }

    #[test]
    fn visibility_rounds_up_and_caps_at_twelve_hours() {
        assert_eq!(visibility_seconds(Duration::from_millis(30_001)), 31);
        assert_eq!(visibility_seconds(Duration::ZERO), 0);
        assert_eq!(visibility_seconds(Duration::from_secs(86_400)), 43_200);
        assert_eq!(visibility_seconds(Duration::MAX), 43_200);
    }

    #[test]
    fn entry_ids_are_unique_per_position() {
        let m = SqsMessage::default();
        assert_eq!(entry_id(&Record::new(7, &m)), "r7");
    }
}
