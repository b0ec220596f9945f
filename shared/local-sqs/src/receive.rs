//! Long-poll `ReceiveMessage`, as Lambda's pollers call it: up to 10 messages, every system
//! attribute (receive count, first-receive and sent timestamps, message group, ...) and every
//! message attribute, waiting up to 20 s for the first message. The system attributes are asked
//! for as `MessageSystemAttributeNames: All`; the older `AttributeNames` parameter names the same
//! list and is deprecated in the SDK, so it is not sent as well.
//!
//! The kit's SDK configuration bounds every call at a few seconds ([`switchyard::aws`]); a long
//! poll legitimately waits up to [`MAX_WAIT`], so this call gets its own bound: the wait plus
//! [`RECEIVE_MARGIN`].

use std::future::Future;
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};

use crate::sqs_error::SqsError;

/// Longest long-poll SQS allows (`WaitTimeSeconds` 20), and the one Lambda uses.
pub const MAX_WAIT: Duration = Duration::from_secs(20);
/// Most messages one `ReceiveMessage` returns.
pub const MAX_MESSAGES: u32 = 10;
/// Longest long-poll on a FIFO queue. moto (5.2) decides which message groups are in flight
/// once, when a receive starts: a long poll begun while every group was in flight returns
/// nothing for its whole wait even after a group is deleted and free again, so each FIFO
/// batch would stall for up to 20 s. Short long-polls bound that stall; against SQS they only
/// cost more (empty) receives.
pub const FIFO_MAX_WAIT: Duration = Duration::from_secs(1);
/// Time a receive may take beyond its long-poll wait before it counts as failed.
pub const RECEIVE_MARGIN: Duration = Duration::from_secs(10);

/// Where batches come from. [`SqsSource`] is the real one; the batching logic is written
/// against this trait so its timing can be tested with a paused clock.
pub trait MessageSource: Send + Sync {
    /// Up to `max` (1..=10) messages, waiting at most `wait` (whole seconds, ≤ 20) for the
    /// first.
    fn receive(
        &self,
        max: u32,
        wait: Duration,
    ) -> impl Future<Output = Result<Vec<Message>, SqsError>> + Send;
}

/// A queue polled through the SQS API.
#[derive(Debug, Clone)]
pub struct SqsSource {
    client: aws_sdk_sqs::Client,
    queue_url: String,
    max_wait: Duration,
}

impl SqsSource {
    /// Polls `queue_url` with `client`.
    pub fn new(client: aws_sdk_sqs::Client, queue_url: impl Into<String>) -> Self {
        Self {
            client,
            queue_url: queue_url.into(),
            max_wait: MAX_WAIT,
        }
    }

    /// Caps every long poll at `max_wait` (see [`FIFO_MAX_WAIT`]).
    pub fn with_max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait.min(MAX_WAIT);
        self
    }
}

impl MessageSource for SqsSource {
    async fn receive(&self, max: u32, wait: Duration) -> Result<Vec<Message>, SqsError> {
        let wait = wait.min(self.max_wait);
        let bound = wait + RECEIVE_MARGIN;
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(switchyard::aws::CONNECT_TIMEOUT)
            .operation_attempt_timeout(bound)
            .operation_timeout(bound + switchyard::aws::ATTEMPT_TIMEOUT)
            .build();
        let wait_secs = i32::try_from(wait.as_secs()).unwrap_or(20);
        let max = i32::try_from(max.clamp(1, MAX_MESSAGES)).unwrap_or(10);
        let output = self
            .client
            .receive_message()
            .queue_url(&self.queue_url)
            .max_number_of_messages(max)
            .wait_time_seconds(wait_secs)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
            .customize()
            .config_override(aws_sdk_sqs::config::Builder::default().timeout_config(timeouts))
            .send()
            .await
            .map_err(|e| SqsError::from_sdk("ReceiveMessage", &self.queue_url, e))?;
        Ok(output.messages.unwrap_or_default())
    }
}
