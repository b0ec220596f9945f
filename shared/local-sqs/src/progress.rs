//! One line per batch: which function, from which queue, how many records, how many were
//! delivered (deleted) and how many left for redelivery, why, and how long it took.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// What became of one batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// The function invoked.
    pub function: String,
    /// The queue's name (the last segment of its URL).
    pub queue: String,
    /// Records in the batch.
    pub records: usize,
    /// Records deleted from the queue.
    pub delivered: usize,
    /// Records left on the queue, to come back after their visibility timeout.
    pub failed: usize,
    /// Why records were left, if any were.
    pub reason: Option<String>,
    /// From the invocation's start to the last delete.
    pub duration: Duration,
}

impl fmt::Display for BatchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} <- {}: {} record{}, {} delivered, {} failed",
            self.function,
            self.queue,
            self.records,
            if self.records == 1 { "" } else { "s" },
            self.delivered,
            self.failed
        )?;
        if let Some(reason) = &self.reason {
            write!(f, " ({reason})")?;
        }
        write!(f, " in {} ms", self.duration.as_millis())
    }
}

/// Where batch reports go (the binary prints them; tests collect them).
pub type Progress = Arc<dyn Fn(&BatchReport) + Send + Sync>;

/// The queue's name from its URL.
pub fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_reads_as_one_line() {
        let mut r = BatchReport {
            function: "slack-notify".into(),
            queue: queue_name("http://127.0.0.1:5000/123/alerts/").into(),
            records: 10,
            delivered: 8,
            failed: 2,
            reason: Some("2 named in batchItemFailures".into()),
            duration: Duration::from_millis(153),
        };
        assert_eq!(
            r.to_string(),
            "slack-notify <- alerts: 10 records, 8 delivered, 2 failed (2 named in batchItemFailures) in 153 ms"
        );
        r.records = 1;
        r.delivered = 1;
        r.failed = 0;
        r.reason = None;
        assert_eq!(
            r.to_string(),
            "slack-notify <- alerts: 1 record, 1 delivered, 0 failed in 153 ms"
        );
    }
}
