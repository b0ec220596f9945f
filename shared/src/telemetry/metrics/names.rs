//! The metric names every handle shares, and the units a metric can have.
//!
//! Each name says what one increment (or one sample) stands for, because a dashboard or alarm
//! built on a name is only as right as that sentence. Names used by one component live with
//! it: the receivers' (`requests`, `queued`, `latency`, ...) in [`crate::receiver::handler`],
//! the deliverers' (`records`, `delivered`, `deduped`, `function_failures`, ...) in
//! [`crate::batch::metrics`].

/// 1 on the first flush of a handle (i.e. of the process), as in Powertools.
pub const COLD_START: &str = "ColdStart";
/// Appended to a sampled metric's name for the count of its samples that were recorded but not
/// kept in this flush's bounded sample (see [`MAX_SAMPLES_PER_METRIC`](super::MAX_SAMPLES_PER_METRIC)):
/// `handler_latency` → `handler_latency_dropped`. Written only when something was dropped.
pub const DROPPED_SUFFIX: &str = "_dropped";

/// The CloudWatch unit of a metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things.
    Count,
    /// A duration in milliseconds.
    Milliseconds,
}

impl Unit {
    /// The name CloudWatch expects in the EMF `Unit` field.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_spelled_as_cloudwatch_expects() {
        assert_eq!(Unit::Count.as_str(), "Count");
        assert_eq!(Unit::Milliseconds.as_str(), "Milliseconds");
    }
}
