//! Which records of an invoked batch are done, from the invocation's outcome, by the rules
//! Lambda documents for SQS ("Handling errors for an SQS event source", partial batch
//! responses):
//!
//! Without `ReportBatchItemFailures`: a successful invocation completes the whole batch,
//! whatever it returned; a failed one (function error, timeout, unreachable) completes none.
//!
//! With it, a successful invocation's response decides:
//! - complete success: an empty body, `null`, an object without `batchItemFailures`,
//!   `batchItemFailures: null` or `[]`;
//! - the named records fail, the others are done: every entry an object whose
//!   `itemIdentifier` is a non-empty string naming a record of the batch;
//! - complete failure (nothing done): a body that is not JSON, or not an object, a
//!   `batchItemFailures` that is not a list, or any entry with a missing, null, empty or
//!   unknown `itemIdentifier`.
//!
//! A failed invocation completes none, as without the setting.

use std::collections::HashSet;

use aws_lambda_events::sqs::SqsMessage;

use crate::invoke::InvokeError;

/// The verdict on one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// Indexes (into the batch) of the records to delete.
    pub done: Vec<usize>,
    /// Why some or all records are left for redelivery, if any are.
    pub failure: Option<Failure>,
}

/// Why records are left on the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The function named these records in `batchItemFailures`.
    ItemFailures(usize),
    /// The response cannot be read as a partial batch response: the whole batch fails.
    InvalidResponse(String),
    /// The invocation failed: the whole batch fails.
    Invocation(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ItemFailures(n) => write!(f, "{n} named in batchItemFailures"),
            Self::InvalidResponse(why) => write!(f, "invalid batch response: {why}"),
            Self::Invocation(why) => write!(f, "invocation failed: {why}"),
        }
    }
}

/// The settlement of `records` after an invocation that returned `outcome`.
pub fn settle(
    records: &[SqsMessage],
    outcome: &Result<Vec<u8>, InvokeError>,
    report_batch_item_failures: bool,
) -> Settlement {
    let all = || (0..records.len()).collect::<Vec<_>>();
    let body = match outcome {
        Err(e) => {
            return Settlement {
                done: Vec::new(),
                failure: Some(Failure::Invocation(e.to_string())),
            };
        }
        Ok(body) => body,
    };
    if !report_batch_item_failures {
        return Settlement {
            done: all(),
            failure: None,
        };
    }
    match failed_ids(records, body) {
        Err(why) => Settlement {
            done: Vec::new(),
            failure: Some(Failure::InvalidResponse(why)),
        },
        Ok(failed) if failed.is_empty() => Settlement {
            done: all(),
            failure: None,
        },
        Ok(failed) => {
            let done: Vec<usize> = records
                .iter()
                .enumerate()
                .filter(|(_, r)| {
                    !r.message_id
                        .as_deref()
                        .is_some_and(|id| failed.contains(id))
                })
                .map(|(i, _)| i)
                .collect();
            Settlement {
                failure: Some(Failure::ItemFailures(records.len() - done.len())),
                done,
            }
        }
    }
}

/// The message ids a partial batch response names, or why it is not one.
fn failed_ids(records: &[SqsMessage], body: &[u8]) -> Result<HashSet<String>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(HashSet::new());
    }
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON ({e})"))?;
    let object = match value {
        serde_json::Value::Null => return Ok(HashSet::new()),
        serde_json::Value::Object(object) => object,
        _ => return Err("not a JSON object".to_string()),
    };
    let entries = match object.get("batchItemFailures") {
        None | Some(serde_json::Value::Null) => return Ok(HashSet::new()),
        Some(serde_json::Value::Array(entries)) => entries,
        Some(_) => return Err("batchItemFailures is not a list".to_string()),
    };
    let known: HashSet<&str> = records
        .iter()
        .filter_map(|r| r.message_id.as_deref())
        .collect();
    entries
        .iter()
        .map(|entry| {
            let id = entry
                .get("itemIdentifier")
                .and_then(|v| v.as_str())
                .filter(|id| !id.is_empty())
                .ok_or_else(|| format!("an entry without a usable itemIdentifier: {entry}"))?;
            if known.contains(id) {
                Ok(id.to_string())
            } else {
                Err(format!(
                    "itemIdentifier {id:?} is not a record of this batch"
                ))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn records() -> Vec<SqsMessage> {
        ["a", "b", "c"]
            .iter()
            .map(|id| {
                let mut r = SqsMessage::default();
                r.message_id = Some(id.to_string());
                r
            })
            .collect()
    }

    fn settle_body(body: &str) -> Settlement {
        settle(&records(), &Ok(body.as_bytes().to_vec()), true)
    }

    #[test]
    fn responses_lambda_counts_as_complete_success_delete_everything() {
        for body in [
            "",
            "  ",
            "null",
            "{}",
            r#"{"batchItemFailures":null}"#,
            r#"{"batchItemFailures":[]}"#,
        ] {
            let s = settle_body(body);
            assert_eq!(s.done, [0, 1, 2], "body {body:?}");
            assert_eq!(s.failure, None, "body {body:?}");
        }
    }

    #[test]
    fn named_records_stay_and_the_others_are_deleted() {
        let s = settle_body(r#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#);
        assert_eq!(s.done, [0, 2]);
        assert_eq!(s.failure, Some(Failure::ItemFailures(1)));
        let s = settle_body(
            r#"{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b"},{"itemIdentifier":"c"}]}"#,
        );
        assert!(s.done.is_empty());
        assert_eq!(s.failure, Some(Failure::ItemFailures(3)));
    }

    #[test]
    fn responses_lambda_counts_as_complete_failure_delete_nothing() {
        for body in [
            "not json",
            "[]",
            "\"ok\"",
            r#"{"batchItemFailures":{}}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":"zzz"}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"zzz"}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":""}]}"#,
            r#"{"batchItemFailures":[{"itemIdentifier":null}]}"#,
            r#"{"batchItemFailures":[{"itemId":"a"}]}"#,
        ] {
            let s = settle_body(body);
            assert!(s.done.is_empty(), "body {body:?} deleted {:?}", s.done);
            assert!(
                matches!(s.failure, Some(Failure::InvalidResponse(_))),
                "body {body:?}: {:?}",
                s.failure
            );
        }
    }

    #[test]
    fn a_failed_invocation_deletes_nothing_with_or_without_partial_responses() {
        for report in [true, false] {
            let s = settle(
                &records(),
                &Err(InvokeError::Timeout(Duration::from_secs(1))),
                report,
            );
            assert!(s.done.is_empty());
            assert!(matches!(s.failure, Some(Failure::Invocation(_))));
        }
    }

    #[test]
    fn without_partial_responses_any_success_deletes_everything() {
        let s = settle(
            &records(),
            &Ok(br#"{"batchItemFailures":[{"itemIdentifier":"b"}]}"#.to_vec()),
            false,
        );
        assert_eq!(s.done, [0, 1, 2]);
        assert_eq!(s.failure, None);
    }
}
