//! SQS events as Lambda's event source mapping makes them, from a real (emulated) queue.
//!
//! The mapping receives messages (all system attributes: receive count, first-receive time,
//! message group), hands them to the function as an `SqsEvent`, and, with
//! `ReportBatchItemFailures`, deletes every record the response does not name. These helpers do
//! the same against moto, so the runner under test sees real receipt handles, receive counts and
//! visibility, and what it hands back really comes back.

use std::time::{Duration, Instant};

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_sqs::types::{Message, MessageAttributeValue, QueueAttributeName};

use crate::moto::Moto;

/// The ARN of the queue at `url`.
pub async fn queue_arn(moto: &Moto, url: &str) -> String {
    moto.sqs()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("get queue attributes")
        .attributes
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .expect("queue arn")
}

/// Creates a standard queue with these attributes and returns its URL.
pub async fn create_queue_with(
    moto: &Moto,
    name: &str,
    attributes: &[(QueueAttributeName, String)],
) -> String {
    let mut request = moto.sqs().create_queue().queue_name(name);
    for (k, v) in attributes {
        request = request.attributes(k.clone(), v);
    }
    request
        .send()
        .await
        .expect("create queue")
        .queue_url
        .expect("queue url")
}

/// Sends `body` with a `tenant` message attribute (and a FIFO group) and returns the message id.
pub async fn send(moto: &Moto, url: &str, body: &str, group: Option<&str>) -> String {
    let tenant = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("acme")
        .build()
        .expect("attribute");
    moto.sqs()
        .send_message()
        .queue_url(url)
        .message_body(body)
        .message_attributes("tenant", tenant)
        .set_message_group_id(group.map(str::to_string))
        .send()
        .await
        .expect("send")
        .message_id
        .expect("message id")
}

/// Receives until `n` messages arrived (or panics after 20 s).
pub async fn receive_n(moto: &Moto, url: &str, n: usize) -> Vec<Message> {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < deadline, "received {} of {n}", got.len());
        got.extend(moto.receive(url, 1).await);
    }
    assert_eq!(got.len(), n, "more messages than expected");
    got
}

/// The record Lambda's poller would make of a received message: the local event source's own
/// builder (`switchyard_local_sqs::event::record`), so tests and `switchyard-local-sqs` hand
/// functions the same records.
pub fn to_record(message: &Message, arn: &str) -> SqsMessage {
    switchyard_local_sqs::event::record(message, arn, "us-east-1")
}

/// An event of the given records.
pub fn event(records: Vec<SqsMessage>) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = records;
    event
}

/// One poll of the mapping: up to 10 messages, waiting at most `wait_secs`; `None` if the queue
/// gave nothing.
pub async fn receive_event(moto: &Moto, url: &str, arn: &str, wait_secs: i32) -> Option<SqsEvent> {
    let messages = moto.receive(url, wait_secs).await;
    (!messages.is_empty()).then(|| event(messages.iter().map(|m| to_record(m, arn)).collect()))
}

/// What the mapping does with a partial batch response: deletes every record it does not name.
/// Returns the message ids deleted.
pub async fn acknowledge(
    moto: &Moto,
    url: &str,
    event: &SqsEvent,
    response: &SqsBatchResponse,
) -> Vec<String> {
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    let mut deleted = Vec::new();
    for record in &event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if failed.contains(&id.as_str()) {
            continue;
        }
        moto.sqs()
            .delete_message()
            .queue_url(url)
            .receipt_handle(record.receipt_handle.clone().unwrap_or_default())
            .send()
            .await
            .expect("delete");
        deleted.push(id);
    }
    deleted
}

/// The message ids a response hands back, in order.
pub fn failures(response: &SqsBatchResponse) -> Vec<String> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// The string value of a message attribute, or a panic naming it.
pub fn attribute<'a>(message: &'a Message, name: &str) -> &'a str {
    message
        .message_attributes
        .as_ref()
        .and_then(|a| a.get(name))
        .and_then(|v| v.string_value())
        .unwrap_or_else(|| panic!("attribute {name} missing"))
}

/// How many messages a queue holds (visible + in flight), as SQS approximates it.
pub async fn depth(moto: &Moto, url: &str) -> usize {
    let attributes = moto
        .sqs()
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .unwrap_or_default();
    [
        QueueAttributeName::ApproximateNumberOfMessages,
        QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .filter_map(|k| attributes.get(k))
    .filter_map(|v| v.parse::<usize>().ok())
    .sum()
}
