//! The `SqsEvent` Lambda hands a function, made from received messages.
//!
//! Lambda's record per message: `messageId`, `receiptHandle`, `body`, `attributes` (the
//! message's system attributes by name: `ApproximateReceiveCount`, `SentTimestamp`,
//! `SenderId`, `ApproximateFirstReceiveTimestamp`, and on FIFO queues `MessageGroupId`,
//! `MessageDeduplicationId`, `SequenceNumber`), `messageAttributes` (each with `dataType`,
//! `stringValue` or `binaryValue` in base64, `stringListValues`, `binaryListValues`),
//! `md5OfBody`, `md5OfMessageAttributes`, `eventSource: "aws:sqs"`, `eventSourceARN` and
//! `awsRegion`. The types are `aws_lambda_events`' own, the ones the functions deserialise, so
//! the field names and encodings are the ones the runtime reads.

use aws_lambda_events::encodings::Base64Data;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage, SqsMessageAttribute};
use aws_sdk_sqs::types::{Message, MessageAttributeValue};

/// `eventSource` of every SQS record.
pub const EVENT_SOURCE: &str = "aws:sqs";

/// The record Lambda makes of `message`, received from the queue `queue_arn` in `region`.
pub fn record(message: &Message, queue_arn: &str, region: &str) -> SqsMessage {
    let mut r = SqsMessage::default();
    r.message_id = message.message_id.clone();
    r.receipt_handle = message.receipt_handle.clone();
    r.body = message.body.clone();
    r.md5_of_body = message.md5_of_body.clone();
    r.md5_of_message_attributes = message.md5_of_message_attributes.clone();
    r.attributes = message
        .attributes
        .iter()
        .flatten()
        .map(|(name, value)| (name.as_str().to_string(), value.clone()))
        .collect();
    r.message_attributes = message
        .message_attributes
        .iter()
        .flatten()
        .map(|(name, value)| (name.clone(), attribute(value)))
        .collect();
    r.event_source = Some(EVENT_SOURCE.to_string());
    r.event_source_arn = Some(queue_arn.to_string());
    r.aws_region = Some(region.to_string());
    r
}

fn attribute(value: &MessageAttributeValue) -> SqsMessageAttribute {
    let mut a = SqsMessageAttribute::default();
    a.data_type = Some(value.data_type().to_string());
    a.string_value = value.string_value().map(str::to_string);
    a.binary_value = value.binary_value().map(|b| base64_data(b.as_ref()));
    a.string_list_values = value.string_list_values().to_vec();
    a.binary_list_values = value
        .binary_list_values()
        .iter()
        .map(|b| base64_data(b.as_ref()))
        .collect();
    a
}

/// Bytes the event carries in base64 (`Base64Data` is non-exhaustive: built through its
/// `DerefMut` to the bytes).
fn base64_data(bytes: &[u8]) -> Base64Data {
    let mut data = Base64Data::default();
    data.extend_from_slice(bytes);
    data
}

/// The event of `messages`, in the order received.
pub fn event(messages: &[Message], queue_arn: &str, region: &str) -> SqsEvent {
    let mut event = SqsEvent::default();
    event.records = messages
        .iter()
        .map(|m| record(m, queue_arn, region))
        .collect();
    event
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::primitives::Blob;
    use aws_sdk_sqs::types::MessageSystemAttributeName;

    use super::*;

    const ARN: &str = "arn:aws:sqs:eu-west-1:123456789012:orders";

    fn message() -> Message {
        Message::builder()
            .message_id("m-1")
            .receipt_handle("rh-1")
            .body("{\"hello\":1}")
            .md5_of_body("md5-body")
            .md5_of_message_attributes("md5-attrs")
            .attributes(MessageSystemAttributeName::ApproximateReceiveCount, "2")
            .attributes(MessageSystemAttributeName::MessageGroupId, "g-1")
            .message_attributes(
                "tenant",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("acme")
                    .build()
                    .unwrap(),
            )
            .message_attributes(
                "blob",
                MessageAttributeValue::builder()
                    .data_type("Binary")
                    .binary_value(Blob::new(b"hi".to_vec()))
                    .build()
                    .unwrap(),
            )
            .build()
    }

    #[test]
    fn the_record_has_lambdas_field_names_and_values() {
        let json = serde_json::to_value(event(&[message()], ARN, "eu-west-1")).unwrap();
        let r = &json["Records"][0];
        assert_eq!(r["messageId"], "m-1");
        assert_eq!(r["receiptHandle"], "rh-1");
        assert_eq!(r["body"], "{\"hello\":1}");
        assert_eq!(r["md5OfBody"], "md5-body");
        assert_eq!(r["md5OfMessageAttributes"], "md5-attrs");
        assert_eq!(r["attributes"]["ApproximateReceiveCount"], "2");
        assert_eq!(r["attributes"]["MessageGroupId"], "g-1");
        assert_eq!(r["messageAttributes"]["tenant"]["dataType"], "String");
        assert_eq!(r["messageAttributes"]["tenant"]["stringValue"], "acme");
        assert_eq!(r["messageAttributes"]["blob"]["binaryValue"], "aGk=");
        assert_eq!(r["eventSource"], "aws:sqs");
        assert_eq!(r["eventSourceARN"], ARN);
        assert_eq!(r["awsRegion"], "eu-west-1");
    }

    #[test]
    fn records_keep_the_order_received_and_round_trip() {
        let second = Message::builder().message_id("m-2").build();
        let e = event(&[message(), second], ARN, "eu-west-1");
        let ids: Vec<_> = e
            .records
            .iter()
            .filter_map(|r| r.message_id.as_deref())
            .collect();
        assert_eq!(ids, ["m-1", "m-2"]);
        let back: SqsEvent = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(back, e);
    }
}
