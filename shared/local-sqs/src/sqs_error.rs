//! The one error type of every SQS call the poller makes (describe, receive, delete, release).
//!
//! The SDK gives each operation its own error type; what the poller needs from any of them is
//! the same: which call on which queue, a readable cause, and the kit's class (a throttled or
//! transient receive is retried after a pause, a denied or missing queue is reported).

use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use switchyard::aws::errors::sdk_classification;
use switchyard::{Classification, Classify};

/// A failed SQS call.
#[derive(Debug, Clone, thiserror::Error)]
#[error("SQS {operation} on {queue_url}: {message}")]
pub struct SqsError {
    /// The operation, e.g. `ReceiveMessage`.
    pub operation: &'static str,
    /// The queue it was made on.
    pub queue_url: String,
    /// The SDK's description of the failure, with its causes.
    pub message: String,
    classification: Classification,
}

impl SqsError {
    /// Wraps an SDK failure of `operation` on `queue_url`.
    pub fn from_sdk<E>(
        operation: &'static str,
        queue_url: &str,
        error: SdkError<E, HttpResponse>,
    ) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        Self {
            operation,
            queue_url: queue_url.to_string(),
            classification: sdk_classification(&error),
            message: DisplayErrorContext(&error).to_string(),
        }
    }

    /// A failure the SDK did not report as an error (e.g. an answer without a field SQS always
    /// sends).
    pub fn unexpected(
        operation: &'static str,
        queue_url: &str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            operation,
            queue_url: queue_url.to_string(),
            message: message.into(),
            classification: Classification::permanent(),
        }
    }
}

impl Classify for SqsError {
    fn classification(&self) -> Classification {
        self.classification
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchyard::ErrorClass;

    #[test]
    fn an_unexpected_answer_is_permanent_and_names_the_call() {
        let e = SqsError::unexpected("GetQueueAttributes", "http://q", "no QueueArn");
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert_eq!(
            e.to_string(),
            "SQS GetQueueAttributes on http://q: no QueueArn"
        );
    }
}
