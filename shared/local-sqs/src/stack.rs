//! Mappings from `scripts/local_stack.py`'s output: every function's `event_sources`, so one
//! poller serves every deliverer of the template at once.
//!
//! What the script writes per event source (from the template's
//! `AWS::Lambda::EventSourceMapping`s): `queue` (logical id), `queue_url`, and, when the mapping
//! sets them, `batch_size`, `maximum_batching_window_seconds`, `function_response_types` and
//! `maximum_concurrency` (`ScalingConfig.MaximumConcurrency`); without the last, the poller's
//! `--max-concurrency` applies. The script does not write the function's `Timeout`: the
//! invocation timeout is always the poller's `--invocation-timeout`.
//!
//! The function is invoked by its `binary` (the name `cargo lambda watch` serves it under),
//! falling back to its `name`. The stack's `endpoint_url` and `region` are where its queues
//! live.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::config::{DEFAULT_BATCH_SIZE, MappingConfig, reports_batch_item_failures};

/// The part of `local_stack.py`'s JSON the poller reads.
#[derive(Debug, Clone, Deserialize)]
pub struct Stack {
    /// The emulator the stack was created on.
    #[serde(default)]
    pub endpoint_url: Option<String>,
    /// The stack's region.
    #[serde(default)]
    pub region: Option<String>,
    /// Functions by logical id.
    #[serde(default)]
    pub functions: BTreeMap<String, StackFunction>,
}

/// One function of the stack.
#[derive(Debug, Clone, Deserialize)]
pub struct StackFunction {
    /// The function's name.
    pub name: String,
    /// Its binary (cargo-lambda's function name).
    #[serde(default)]
    pub binary: Option<String>,
    /// Its SQS event source mappings.
    #[serde(default)]
    pub event_sources: Vec<StackEventSource>,
}

/// One SQS event source mapping of a function.
#[derive(Debug, Clone, Deserialize)]
pub struct StackEventSource {
    /// The queue's logical id.
    pub queue: String,
    /// The queue's URL on the emulator.
    pub queue_url: String,
    /// `BatchSize`.
    #[serde(default)]
    pub batch_size: Option<u32>,
    /// `MaximumBatchingWindowInSeconds`.
    #[serde(default)]
    pub maximum_batching_window_seconds: Option<u64>,
    /// `FunctionResponseTypes`.
    #[serde(default)]
    pub function_response_types: Vec<String>,
    /// `ScalingConfig.MaximumConcurrency`, if the stack description carries it.
    #[serde(default)]
    pub maximum_concurrency: Option<u32>,
}

/// The stack file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// The file could not be opened.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not the script's JSON.
    #[error("{path} is not local_stack.py's output: {source}")]
    Parse {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

impl switchyard::Classify for StackError {
    fn classification(&self) -> switchyard::Classification {
        switchyard::Classification::permanent()
    }
}

/// Settings the stack file does not carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    /// Concurrency of a mapping without `maximum_concurrency`.
    pub max_concurrency: u32,
    /// Every mapping's invocation timeout.
    pub invocation_timeout: Duration,
}

impl Stack {
    /// Reads the JSON `local_stack.py` printed.
    pub fn load(path: &Path) -> Result<Self, StackError> {
        let text = std::fs::read_to_string(path).map_err(|source| StackError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| StackError::Parse {
            path: path.display().to_string(),
            source,
        })
    }

    /// One mapping per event source of every function, in logical-id order.
    pub fn mappings(&self, defaults: Defaults) -> Vec<MappingConfig> {
        self.functions
            .values()
            .flat_map(|f| {
                let function = f.binary.clone().unwrap_or_else(|| f.name.clone());
                f.event_sources.iter().map(move |s| MappingConfig {
                    function_name: function.clone(),
                    queue_url: s.queue_url.clone(),
                    batch_size: s.batch_size.unwrap_or(DEFAULT_BATCH_SIZE),
                    batching_window: Duration::from_secs(
                        s.maximum_batching_window_seconds.unwrap_or(0),
                    ),
                    report_batch_item_failures: reports_batch_item_failures(
                        &s.function_response_types,
                    ),
                    max_concurrency: s.maximum_concurrency.unwrap_or(defaults.max_concurrency),
                    invocation_timeout: defaults.invocation_timeout,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `local_stack.py` prints (trimmed to two functions).
    const STACK: &str = r#"{
      "account_id": "123456789012", "endpoint_url": "http://127.0.0.1:5123", "region": "us-east-1",
      "stack_name": "switchyard-local", "parameters": {}, "queues": {}, "secrets": {}, "tables": {},
      "functions": {
        "SlackNotifyFunction": {"name": "slack-notify", "binary": "slack-notify",
          "environment": {"SECRET_ID": "x"}, "function_url": false,
          "event_sources": [{"batch_size": 10, "function_response_types": ["ReportBatchItemFailures"],
            "maximum_batching_window_seconds": 1, "queue": "SlackNotifyQueue",
            "queue_url": "http://127.0.0.1:5123/123456789012/switchyard-local-SlackNotifyQueue"}]},
        "StripeWebhookFunction": {"name": "stripe-webhook", "binary": "stripe-webhook",
          "environment": {}, "function_url": true, "event_sources": []},
        "PlainFunction": {"name": "plain", "binary": null, "environment": {}, "function_url": false,
          "event_sources": [{"queue": "PlainQueue", "queue_url": "http://q/plain",
            "maximum_concurrency": 3}]}
      }
    }"#;

    const DEFAULTS: Defaults = Defaults {
        max_concurrency: 5,
        invocation_timeout: Duration::from_secs(60),
    };

    #[test]
    fn every_event_source_becomes_a_mapping_with_its_settings() {
        let stack: Stack = serde_json::from_str(STACK).unwrap();
        assert_eq!(stack.endpoint_url.as_deref(), Some("http://127.0.0.1:5123"));
        assert_eq!(stack.region.as_deref(), Some("us-east-1"));
        let mappings = stack.mappings(DEFAULTS);
        assert_eq!(mappings.len(), 2, "receivers have no event source");
        let plain = &mappings[0];
        assert_eq!(
            plain.function_name, "plain",
            "no binary: the function's name"
        );
        assert_eq!(plain.batch_size, 10);
        assert_eq!(plain.batching_window, Duration::ZERO);
        assert!(!plain.report_batch_item_failures);
        assert_eq!(plain.max_concurrency, 3);
        let slack = &mappings[1];
        assert_eq!(slack.function_name, "slack-notify");
        assert!(slack.queue_url.ends_with("SlackNotifyQueue"));
        assert_eq!(slack.batching_window, Duration::from_secs(1));
        assert!(slack.report_batch_item_failures);
        assert_eq!(slack.max_concurrency, 5);
        assert_eq!(slack.invocation_timeout, Duration::from_secs(60));
    }

    #[test]
    fn a_missing_or_foreign_file_is_refused_with_its_path() {
        let missing = Stack::load(Path::new("/nonexistent/stack.json")).unwrap_err();
        assert!(matches!(missing, StackError::Read { .. }));
        assert!(missing.to_string().contains("/nonexistent/stack.json"));
        let dir = std::env::temp_dir().join(format!("local-sqs-stack-{}", std::process::id()));
        std::fs::write(&dir, r#"{"functions": {"F": {"event_sources": []}}}"#).unwrap();
        let foreign = Stack::load(&dir).unwrap_err();
        std::fs::remove_file(&dir).unwrap();
        assert!(matches!(foreign, StackError::Parse { .. }), "{foreign}");
    }
}
