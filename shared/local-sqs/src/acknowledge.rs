//! Deleting the records a batch completed, and handing back received records that will not be
//! invoked (on stop).
//!
//! Both use SQS's batch calls, ten entries a call. An entry SQS refuses (a receipt handle that
//! expired because the invocation outlasted the visibility timeout) is counted, not retried: the
//! record is already visible again and will be delivered again, as it would be by Lambda.

use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
};

use crate::sqs_error::SqsError;

/// Most entries in one SQS batch call.
pub const MAX_ENTRIES: usize = 10;

/// What a delete or release achieved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acknowledged {
    /// Entries SQS accepted.
    pub succeeded: usize,
    /// Entries SQS refused, with its reason.
    pub refused: Vec<String>,
}

/// Deletes the messages with these receipt handles from the queue.
pub async fn delete(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    receipt_handles: &[String],
) -> Result<Acknowledged, SqsError> {
    let mut result = Acknowledged::default();
    for chunk in receipt_handles.chunks(MAX_ENTRIES) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, handle)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .build()
                    .map_err(|e| {
                        SqsError::unexpected("DeleteMessageBatch", queue_url, e.to_string())
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = client
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| SqsError::from_sdk("DeleteMessageBatch", queue_url, e))?;
        result.succeeded += output.successful.len();
        result.refused.extend(
            output
                .failed
                .iter()
                .map(|f| format!("{}: {}", f.code, f.message.as_deref().unwrap_or(""))),
        );
    }
    Ok(result)
}

/// Makes these received messages visible again at once (visibility timeout 0), so a stopped
/// poller does not hold them for a whole visibility timeout. Their receive count stays
/// incremented, as SQS counts every receive.
pub async fn release(
    client: &aws_sdk_sqs::Client,
    queue_url: &str,
    receipt_handles: &[String],
) -> Result<Acknowledged, SqsError> {
    let mut result = Acknowledged::default();
    for chunk in receipt_handles.chunks(MAX_ENTRIES) {
        let entries = chunk
            .iter()
            .enumerate()
            .map(|(i, handle)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(i.to_string())
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .build()
                    .map_err(|e| {
                        SqsError::unexpected(
                            "ChangeMessageVisibilityBatch",
                            queue_url,
                            e.to_string(),
                        )
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let output = client
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| SqsError::from_sdk("ChangeMessageVisibilityBatch", queue_url, e))?;
        result.succeeded += output.successful.len();
        result.refused.extend(
            output
                .failed
                .iter()
                .map(|f| format!("{}: {}", f.code, f.message.as_deref().unwrap_or(""))),
        );
    }
    Ok(result)
}
