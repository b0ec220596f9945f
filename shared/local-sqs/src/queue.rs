//! What the poller needs to know about a queue before polling it: its ARN (the records'
//! `eventSourceARN`), whether it is FIFO (batching rules, message-group ordering) and its
//! visibility timeout (shown at start-up: it is when unacknowledged records come back).

use std::time::Duration;

use aws_sdk_sqs::types::QueueAttributeName;

use crate::sqs_error::SqsError;

/// A queue's identity and the attributes that shape its mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueInfo {
    /// The queue URL.
    pub url: String,
    /// The queue ARN.
    pub arn: String,
    /// A FIFO queue (`.fifo`).
    pub fifo: bool,
    /// The queue's default visibility timeout.
    pub visibility_timeout: Duration,
    /// The region in the ARN (`arn:aws:sqs:<region>:...`): the records' `awsRegion`.
    pub region: String,
}

/// Reads the queue's attributes; fails if the queue does not exist or cannot be read.
pub async fn describe(client: &aws_sdk_sqs::Client, url: &str) -> Result<QueueInfo, SqsError> {
    const OPERATION: &str = "GetQueueAttributes";
    let attributes = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .attribute_names(QueueAttributeName::FifoQueue)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await
        .map_err(|e| SqsError::from_sdk(OPERATION, url, e))?
        .attributes
        .unwrap_or_default();
    let arn = attributes
        .get(&QueueAttributeName::QueueArn)
        .cloned()
        .ok_or_else(|| SqsError::unexpected(OPERATION, url, "the answer has no QueueArn"))?;
    let fifo = attributes
        .get(&QueueAttributeName::FifoQueue)
        .is_some_and(|v| v == "true");
    let visibility_timeout = attributes
        .get(&QueueAttributeName::VisibilityTimeout)
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(30));
    let region = region_of(&arn).unwrap_or_default().to_string();
    Ok(QueueInfo {
        url: url.to_string(),
        arn,
        fifo,
        visibility_timeout,
        region,
    })
}

/// The region field of an ARN, if it has one.
pub fn region_of(arn: &str) -> Option<&str> {
    arn.split(':').nth(3).filter(|r| !r.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_region_comes_from_the_arn() {
        assert_eq!(
            region_of("arn:aws:sqs:eu-west-1:123456789012:q"),
            Some("eu-west-1")
        );
        assert_eq!(region_of("arn:aws:sqs::123:q"), None);
        assert_eq!(region_of("not-an-arn"), None);
    }
}
