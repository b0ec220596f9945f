//! Which queue a record came from: its ARN, and the queue URL the SQS API wants.
//!
//! A Lambda SQS record carries only the queue's ARN (`eventSourceARN`), while
//! `ChangeMessageVisibility` needs the queue URL. The URL is not derivable from the ARN by string
//! rules (endpoints differ per partition, VPC endpoint, and emulator), so it is asked of SQS once
//! with `GetQueueUrl` (queue name + owner account) and cached for the life of the runner, i.e. of
//! the Lambda execution environment.

use std::collections::HashMap;
use std::sync::Mutex;

/// The parts of an SQS queue ARN (`arn:PARTITION:sqs:REGION:ACCOUNT:NAME`) the API needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueArn {
    /// The AWS region the queue lives in.
    pub region: String,
    /// The account that owns the queue (needed for cross-account `GetQueueUrl`).
    pub account_id: String,
    /// The queue's name; FIFO queue names end in `.fifo`.
    pub name: String,
}

impl QueueArn {
    /// Parses an SQS queue ARN, or `None` if it is not one: the runner then cannot change the
    /// record's visibility and says so in the log, but still reports the record.
    pub fn parse(arn: &str) -> Option<Self> {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("sqs"), Some(region), Some(account), Some(name)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        let valid = !partition.is_empty()
            && !region.is_empty()
            && !account.is_empty()
            && !name.is_empty()
            && !name.contains(':');
        valid.then(|| QueueArn {
            region: region.to_string(),
            account_id: account.to_string(),
            name: name.to_string(),
        })
    }

    /// Whether this is a FIFO queue, whose records must be processed in order per message group.
    pub fn is_fifo(&self) -> bool {
        self.name.ends_with(".fifo")
    }
}

/// Whether a record's event source ARN names a FIFO queue (the name ends in `.fifo`).
pub fn is_fifo_arn(arn: Option<&str>) -> bool {
    arn.and_then(QueueArn::parse).is_some_and(|a| a.is_fifo())
}

/// Queue URLs by source ARN, resolved with `GetQueueUrl` on first use and then kept.
///
/// A plain mutex is enough: it is never held across an `.await`, and two concurrent first
/// look-ups of the same ARN just both ask SQS once.
#[derive(Debug, Default)]
pub(crate) struct QueueUrls {
    urls: Mutex<HashMap<String, String>>,
}

/// Why a queue URL could not be found for a record.
#[derive(Debug, thiserror::Error)]
pub(crate) enum QueueUrlError {
    /// The record carried no event source ARN.
    #[error("the record has no event source ARN")]
    MissingArn,
    /// The event source ARN is not an SQS queue ARN.
    #[error("not an SQS queue ARN: {0}")]
    InvalidArn(String),
    /// `GetQueueUrl` failed.
    #[error("GetQueueUrl failed: {0}")]
    Lookup(String),
}

impl QueueUrls {
    /// Seeds the cache with a known URL (the optional configured source queue URL).
    pub(crate) fn insert(&self, arn: String, url: String) {
        self.lock().insert(arn, url);
    }

    /// The URL of the queue with this ARN, asking SQS the first time.
    pub(crate) async fn resolve(
        &self,
        client: &aws_sdk_sqs::Client,
        arn: Option<&str>,
    ) -> Result<String, QueueUrlError> {
        let arn = arn.ok_or(QueueUrlError::MissingArn)?;
        if let Some(url) = self.lock().get(arn) {
            return Ok(url.clone());
        }
        let parsed = QueueArn::parse(arn).ok_or_else(|| QueueUrlError::InvalidArn(arn.into()))?;
        let output = client
            .get_queue_url()
            .queue_name(&parsed.name)
            .queue_owner_aws_account_id(&parsed.account_id)
            .send()
            .await
            .map_err(|e| {
                QueueUrlError::Lookup(aws_sdk_sqs::error::DisplayErrorContext(e).to_string())
            })?;
        let url = output
            .queue_url
            .ok_or_else(|| QueueUrlError::Lookup("no QueueUrl in the response".into()))?;
        self.insert(arn.to_string(), url.clone());
        Ok(url)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        // A poisoned map is still a valid cache: every insert is a single call.
        self.urls.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_standard_and_fifo_arns() {
        let arn = QueueArn::parse("arn:aws:sqs:eu-west-1:123456789012:orders").unwrap();
        assert_eq!(
            arn,
            QueueArn {
                region: "eu-west-1".into(),
                account_id: "123456789012".into(),
                name: "orders".into(),
            }
        );
        assert!(!arn.is_fifo());
        let fifo = QueueArn::parse("arn:aws-cn:sqs:cn-north-1:123456789012:orders.fifo").unwrap();
        assert!(fifo.is_fifo());
        assert!(is_fifo_arn(Some("arn:aws:sqs:us-east-1:1:a.fifo")));
        assert!(!is_fifo_arn(Some("arn:aws:sqs:us-east-1:1:a")));
        assert!(!is_fifo_arn(None));
    }

    #[test]
    fn rejects_what_is_not_an_sqs_queue_arn() {
        for bad in [
            "",
            "orders",
            "arn:aws:sns:us-east-1:123456789012:topic",
            "arn:aws:sqs:us-east-1:123456789012",
            "arn:aws:sqs::123456789012:orders",
            "arn:aws:sqs:us-east-1::orders",
            "arn:aws:sqs:us-east-1:123456789012:",
            "arn:aws:sqs:us-east-1:123456789012:a:b",
            "https://sqs.us-east-1.amazonaws.com/123456789012/orders",
        ] {
            assert_eq!(QueueArn::parse(bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn a_seeded_url_is_used_without_asking_sqs() {
        let urls = QueueUrls::default();
        urls.insert("arn:aws:sqs:us-east-1:1:q".into(), "http://q".into());
        // A client that would fail if called: no region, no endpoint.
        let config = aws_sdk_sqs::Config::builder()
            .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
            .build();
        let client = aws_sdk_sqs::Client::from_conf(config);
        let url = urls
            .resolve(&client, Some("arn:aws:sqs:us-east-1:1:q"))
            .await
            .unwrap();
        assert_eq!(url, "http://q");
        assert!(matches!(
            urls.resolve(&client, None).await,
            Err(QueueUrlError::MissingArn)
        ));
        assert!(matches!(
            urls.resolve(&client, Some("nope")).await,
            Err(QueueUrlError::InvalidArn(_))
        ));
    }
}
