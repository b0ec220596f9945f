//! One event source mapping's settings, checked against the limits AWS enforces on
//! `CreateEventSourceMapping` for an SQS source.
//!
//! A setting AWS would refuse is refused here too: a local mapping that works only because
//! the emulation is more lenient than Lambda would hide a deploy failure until deploy time.

use std::time::Duration;

/// Lambda's default `BatchSize` for SQS.
pub const DEFAULT_BATCH_SIZE: u32 = 10;
/// Largest `BatchSize` of a standard queue.
pub const MAX_BATCH_SIZE: u32 = 10_000;
/// Largest `BatchSize` of a FIFO queue.
pub const MAX_FIFO_BATCH_SIZE: u32 = 10;
/// Largest `MaximumBatchingWindowInSeconds`.
pub const MAX_BATCHING_WINDOW: Duration = Duration::from_secs(300);
/// Smallest and largest `ScalingConfig.MaximumConcurrency` AWS accepts.
pub const MAX_CONCURRENCY_RANGE: std::ops::RangeInclusive<u32> = 2..=1000;
/// Batches in flight when the mapping sets no `ScalingConfig`: Lambda starts an SQS mapping
/// with five concurrent batches and scales up from there; locally five is plenty.
pub const DEFAULT_MAX_CONCURRENCY: u32 = 5;
/// Longest invocation Lambda allows (a function's `Timeout` is at most 900 s).
pub const MAX_INVOCATION_TIMEOUT: Duration = Duration::from_secs(900);
/// Default wait for one invocation: `cargo lambda watch` builds the function on its first
/// invocation, which takes far longer than the function itself.
pub const DEFAULT_INVOCATION_TIMEOUT: Duration = Duration::from_secs(120);
/// The value of `FunctionResponseTypes` that turns on partial batch responses.
pub const REPORT_BATCH_ITEM_FAILURES: &str = "ReportBatchItemFailures";

/// What one mapping polls, how it batches, and which function it invokes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingConfig {
    /// The function's name in `cargo lambda watch` (its binary name).
    pub function_name: String,
    /// The queue polled.
    pub queue_url: String,
    /// `BatchSize`: most records in one invocation.
    pub batch_size: u32,
    /// `MaximumBatchingWindowInSeconds`: how long to keep gathering after the first record.
    pub batching_window: Duration,
    /// `FunctionResponseTypes: [ReportBatchItemFailures]`.
    pub report_batch_item_failures: bool,
    /// `ScalingConfig.MaximumConcurrency`: most batches in flight at once.
    pub max_concurrency: u32,
    /// How long one invocation may take before it counts as failed (the function's `Timeout`).
    pub invocation_timeout: Duration,
}

/// A setting AWS would refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `BatchSize` outside 1..=10000 (1..=10 on a FIFO queue).
    #[error("batch size {size} is outside 1..={max}")]
    BatchSize {
        /// The size given.
        size: u32,
        /// The largest allowed for this queue type.
        max: u32,
    },
    /// A batch over 10 records needs a batching window of at least one second.
    #[error("batch size {size} is over 10: it needs a batching window of at least 1 s")]
    LargeBatchWithoutWindow {
        /// The size given.
        size: u32,
    },
    /// The batching window is over 300 s, or not whole seconds.
    #[error("batching window {0:?} is not a whole number of seconds in 0..=300")]
    BatchingWindow(Duration),
    /// FIFO queues take no batching window.
    #[error("a FIFO queue takes no batching window (got {0:?})")]
    FifoBatchingWindow(Duration),
    /// `MaximumConcurrency` outside 2..=1000.
    #[error("maximum concurrency {0} is outside 2..=1000")]
    MaxConcurrency(u32),
    /// An invocation timeout of zero or over 900 s.
    #[error("invocation timeout {0:?} is outside 1 ms..=900 s")]
    InvocationTimeout(Duration),
    /// A function name that cannot be a path segment of the Invoke API.
    #[error("function name {0:?} is empty or has characters a function name cannot have")]
    FunctionName(String),
    /// An empty queue URL.
    #[error("the queue URL is empty")]
    QueueUrl,
}

impl switchyard::Classify for ConfigError {
    fn classification(&self) -> switchyard::Classification {
        switchyard::Classification::permanent()
    }
}

impl MappingConfig {
    /// A mapping with Lambda's defaults: batch size 10, no batching window, whole-batch
    /// success or failure, [`DEFAULT_MAX_CONCURRENCY`], [`DEFAULT_INVOCATION_TIMEOUT`].
    pub fn new(function_name: impl Into<String>, queue_url: impl Into<String>) -> Self {
        Self {
            function_name: function_name.into(),
            queue_url: queue_url.into(),
            batch_size: DEFAULT_BATCH_SIZE,
            batching_window: Duration::ZERO,
            report_batch_item_failures: false,
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            invocation_timeout: DEFAULT_INVOCATION_TIMEOUT,
        }
    }

    /// Checks the settings as AWS does; `fifo` once the queue's type is known.
    pub fn validate(&self, fifo: bool) -> Result<(), ConfigError> {
        let valid_name = !self.function_name.is_empty()
            && self
                .function_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.'));
        if !valid_name {
            return Err(ConfigError::FunctionName(self.function_name.clone()));
        }
        if self.queue_url.trim().is_empty() {
            return Err(ConfigError::QueueUrl);
        }
        let max = if fifo {
            MAX_FIFO_BATCH_SIZE
        } else {
            MAX_BATCH_SIZE
        };
        if self.batch_size == 0 || self.batch_size > max {
            return Err(ConfigError::BatchSize {
                size: self.batch_size,
                max,
            });
        }
        let window = self.batching_window;
        if window > MAX_BATCHING_WINDOW || window.subsec_nanos() != 0 {
            return Err(ConfigError::BatchingWindow(window));
        }
        if fifo && !window.is_zero() {
            return Err(ConfigError::FifoBatchingWindow(window));
        }
        if self.batch_size > 10 && window.is_zero() {
            return Err(ConfigError::LargeBatchWithoutWindow {
                size: self.batch_size,
            });
        }
        if !MAX_CONCURRENCY_RANGE.contains(&self.max_concurrency) {
            return Err(ConfigError::MaxConcurrency(self.max_concurrency));
        }
        if self.invocation_timeout.is_zero() || self.invocation_timeout > MAX_INVOCATION_TIMEOUT {
            return Err(ConfigError::InvocationTimeout(self.invocation_timeout));
        }
        Ok(())
    }
}

/// Whether `FunctionResponseTypes` turns on partial batch responses.
pub fn reports_batch_item_failures<S: AsRef<str>>(function_response_types: &[S]) -> bool {
    function_response_types
        .iter()
        .any(|t| t.as_ref() == REPORT_BATCH_ITEM_FAILURES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> MappingConfig {
        MappingConfig::new("slack-notify", "http://127.0.0.1:5000/123/q")
    }

    #[test]
    fn lambdas_defaults_are_valid_for_both_queue_types() {
        let c = config();
        assert_eq!(c.batch_size, 10);
        assert_eq!(c.batching_window, Duration::ZERO);
        assert!(!c.report_batch_item_failures);
        assert_eq!(c.validate(false), Ok(()));
        assert_eq!(c.validate(true), Ok(()));
    }

    #[test]
    fn the_templates_mappings_are_valid() {
        // hubspot-contacts: 100 records, a 5 s window, concurrency 2.
        let c = MappingConfig {
            batch_size: 100,
            batching_window: Duration::from_secs(5),
            max_concurrency: 2,
            ..config()
        };
        assert_eq!(c.validate(false), Ok(()));
    }

    #[test]
    fn batch_sizes_aws_refuses_are_refused() {
        let zero = MappingConfig {
            batch_size: 0,
            ..config()
        };
        assert_eq!(
            zero.validate(false),
            Err(ConfigError::BatchSize {
                size: 0,
                max: 10_000
            })
        );
        let huge = MappingConfig {
            batch_size: 10_001,
            batching_window: Duration::from_secs(1),
            ..config()
        };
        assert!(matches!(
            huge.validate(false),
            Err(ConfigError::BatchSize { .. })
        ));
        let fifo = MappingConfig {
            batch_size: 11,
            ..config()
        };
        assert_eq!(
            fifo.validate(true),
            Err(ConfigError::BatchSize { size: 11, max: 10 })
        );
        assert_eq!(
            fifo.validate(false),
            Err(ConfigError::LargeBatchWithoutWindow { size: 11 })
        );
    }

    #[test]
    fn windows_aws_refuses_are_refused() {
        for window in [Duration::from_secs(301), Duration::from_millis(1500)] {
            let c = MappingConfig {
                batching_window: window,
                ..config()
            };
            assert_eq!(c.validate(false), Err(ConfigError::BatchingWindow(window)));
        }
        let fifo = MappingConfig {
            batching_window: Duration::from_secs(1),
            ..config()
        };
        assert_eq!(
            fifo.validate(true),
            Err(ConfigError::FifoBatchingWindow(Duration::from_secs(1)))
        );
    }

    #[test]
    fn concurrency_timeout_name_and_url_are_checked() {
        for n in [0, 1, 1001] {
            let c = MappingConfig {
                max_concurrency: n,
                ..config()
            };
            assert_eq!(c.validate(false), Err(ConfigError::MaxConcurrency(n)));
        }
        for t in [Duration::ZERO, Duration::from_secs(901)] {
            let c = MappingConfig {
                invocation_timeout: t,
                ..config()
            };
            assert_eq!(c.validate(false), Err(ConfigError::InvocationTimeout(t)));
        }
        for name in ["", "a/b", "a b"] {
            let c = MappingConfig {
                function_name: name.into(),
                ..config()
            };
            assert!(matches!(
                c.validate(false),
                Err(ConfigError::FunctionName(_))
            ));
        }
        let c = MappingConfig {
            queue_url: " ".into(),
            ..config()
        };
        assert_eq!(c.validate(false), Err(ConfigError::QueueUrl));
    }

    #[test]
    fn only_report_batch_item_failures_turns_on_partial_responses() {
        assert!(reports_batch_item_failures(&["ReportBatchItemFailures"]));
        assert!(!reports_batch_item_failures::<&str>(&[]));
        assert!(!reports_batch_item_failures(&["reportbatchitemfailures"]));
    }
}
