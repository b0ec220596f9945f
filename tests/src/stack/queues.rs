//! Counting a queue's messages, for runs that watch the pipeline's queues (the chaos run holds
//! its sending while the deliverers' queues are deep; the backpressure run tops its queue up).

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

/// The longest a count may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The sum of these counts of a queue (e.g. `ApproximateNumberOfMessages` alone: the messages
/// waiting).
pub async fn count(
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    names: &[QueueAttributeName],
) -> Result<u64, String> {
    let attrs = tokio::time::timeout(
        CALL_TIMEOUT,
        sqs.get_queue_attributes()
            .queue_url(url)
            .set_attribute_names(Some(names.to_vec()))
            .send(),
    )
    .await
    .map_err(|_| format!("GetQueueAttributes took over {} s", CALL_TIMEOUT.as_secs()))?
    .map_err(|e| {
        format!(
            "GetQueueAttributes: {}",
            aws_sdk_sqs::error::DisplayErrorContext(e)
        )
    })?;
    Ok(names
        .iter()
        .filter_map(|name| attrs.attributes()?.get(name)?.parse::<u64>().ok())
        .sum())
}
