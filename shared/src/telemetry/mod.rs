//! Telemetry: JSON logs with the event id on every line, and CloudWatch EMF metrics.
//!
//! Both write to stdout, which Lambda ships to CloudWatch Logs; nothing here makes a network
//! call or needs an agent. [`logging`] installs the `tracing` subscriber once per process and
//! gives each event its own span, so every line logged while handling it carries its
//! `event_id`. [`metrics`] accumulates counts and latencies during an invocation and flushes
//! them as Embedded Metric Format lines that CloudWatch turns into metrics.

pub mod logging;
pub mod metrics;

pub use logging::{LogFormat, event_span};
pub use metrics::Metrics;
