//! Metrics: counts and latencies as CloudWatch Embedded Metric Format (EMF) lines on stdout.
//!
//! A [`Metrics`] handle is built once in `main` ([`Metrics::from_env`]) and cloned into
//! whatever records: the batch runner, receivers, connector code, concurrent tasks. Records
//! accumulate in memory; [`Metrics::flush`] at the end of each invocation drains them into
//! EMF JSON lines that CloudWatch Logs turns into metrics — no API call, no agent, nothing
//! added to the invocation's latency beyond one `write` to stdout:
//!
//! ```json
//! {"_aws":{"Timestamp":1715000000000,"CloudWatchMetrics":[{"Namespace":"Switchyard",
//!   "Dimensions":[["service"]],"Metrics":[{"Name":"delivered","Unit":"Count"},
//!   {"Name":"latency","Unit":"Milliseconds"}]}]},"service":"stripe-deliverer",
//!   "delivered":3,"latency":[12.5,40.1,8.0]}
//! ```
//!
//! (one line in reality). Each component documents its own names: the receivers' (`requests`,
//! `queued`, `latency`, ...) in [`crate::receiver::handler`], the deliverers' (`records`,
//! `delivered`, `deduped`, `retried`, `function_failures`, `handler_latency`, ...) in
//! [`crate::batch::metrics`]. The first flush of a handle also reports [`COLD_START`] = 1, as
//! Powertools does.
//!
//! Configuration, Powertools-compatible: the namespace is `POWERTOOLS_METRICS_NAMESPACE`, else
//! `SWITCHYARD_METRICS_NAMESPACE`, else `Switchyard`; the `service` dimension is
//! `POWERTOOLS_SERVICE_NAME`, else `AWS_LAMBDA_FUNCTION_NAME`, else `service_undefined`.
//!
//! EMF limits are respected: at most [`MAX_METRICS_PER_DOCUMENT`] metrics and, per metric, at
//! most [`MAX_VALUES_PER_METRIC`] values in one line (more are split over several lines), and
//! at most [`MAX_DIMENSIONS`] dimensions (enforced when the handle is built). A flush with
//! nothing recorded writes nothing.
//!
//! Memory is bounded between flushes: a latency metric keeps at most
//! [`MAX_SAMPLES_PER_METRIC`] samples — all of them up to that, then a uniform random sample
//! that still holds the exact minimum and maximum, with the number of samples not kept
//! written as `<name>_dropped` ([`DROPPED_SUFFIX`]). Why a sample rather than an aggregate:
//! EMF can only carry the values themselves.
//!
//! The parts, one a file: the names and [`Unit`]s, the [`MetricsBuilder`] and its checks, the
//! recording handle [`Metrics`], the bounded samples, and the EMF document writer that splits
//! what a flush drains into documents CloudWatch accepts.
//!
//! # Why hand-written, not `metrics_cloudwatch_embedded`
//!
//! That crate (0.10, checked) is a recorder for the global `metrics` facade. It does not fit
//! here: it writes every metric of a label set into one document, never splitting past the
//! 100-metric limit; histograms keep at most 100 unflushed values and drop the rest with an
//! error (where the sample here stays representative of the whole invocation); its collector
//! is a process-global `&'static` (one recorder per process, so tests need process forking),
//! and it `unwrap`s its mutex, so one panic while recording poisons every later flush into a
//! panic. It would also add `metrics` 0.24, `tower`, `pin-project` and
//! `futures` to the graph for what is a few hundred lines of plain code here. If connectors
//! later want the `metrics` facade (e.g. to capture third-party crates' metrics), revisit it.

mod builder;
mod emf;
mod handle;
mod names;
mod samples;

pub use builder::{
    DEFAULT_NAMESPACE, DEFAULT_SERVICE, MAX_DIMENSIONS, MetricsBuilder, MetricsError,
    SERVICE_DIMENSION,
};
pub use emf::{MAX_METRICS_PER_DOCUMENT, MAX_VALUES_PER_METRIC};
pub use handle::Metrics;
pub use names::{COLD_START, DROPPED_SUFFIX, Unit};
pub use samples::MAX_SAMPLES_PER_METRIC;
