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
//! (one line in reality). The kit's own metric names are [`RECEIVED`], [`DELIVERED`],
//! [`RETRIED`], [`DEAD_LETTERED`] (counts) and [`LATENCY`] (milliseconds); the first flush of
//! a handle also reports [`COLD_START`] = 1, as Powertools does.
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
//! # Why hand-written, not `metrics_cloudwatch_embedded`
//!
//! That crate (0.10, checked) is a recorder for the global `metrics` facade. It does not fit
//! here: it writes every metric of a label set into one document, never splitting past the
//! 100-metric limit; histograms keep at most 100 unflushed values and drop the rest with an
//! error; its collector is a process-global `&'static` (one recorder per process, so tests
//! need process forking), and it `unwrap`s its mutex, so one panic while recording poisons
//! every later flush into a panic. It would also add `metrics` 0.24, `tower`, `pin-project`
//! and `futures` to the graph for what is ~200 lines of plain code here. If connectors later
//! want the `metrics` facade (e.g. to capture third-party crates' metrics), revisit it.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// Events a receiver accepted and put on the queue.
pub const RECEIVED: &str = "received";
/// Records a deliverer delivered to the destination.
pub const DELIVERED: &str = "delivered";
/// Records handed back to SQS to try again later.
pub const RETRIED: &str = "retried";
/// Records sent to the dead-letter queue.
pub const DEAD_LETTERED: &str = "dead_lettered";
/// Time to handle one record, in milliseconds.
pub const LATENCY: &str = "latency";
/// 1 on the first flush of a handle (i.e. of the process), as in Powertools.
pub const COLD_START: &str = "ColdStart";

/// EMF: at most this many metrics in one document.
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;
/// EMF: at most this many values in one metric's array.
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// EMF: at most this many dimensions in a dimension set.
pub const MAX_DIMENSIONS: usize = 30;
/// The namespace when the environment names none.
pub const DEFAULT_NAMESPACE: &str = "Switchyard";
/// The dimension that names the function (Powertools calls it `service` too).
pub const SERVICE_DIMENSION: &str = "service";
/// The `service` value when the environment names none (Powertools' default).
pub const DEFAULT_SERVICE: &str = "service_undefined";

/// CloudWatch limits on names and dimension values.
const MAX_NAME_LEN: usize = 255;
const MAX_DIMENSION_VALUE_LEN: usize = 1024;

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

/// Why a [`Metrics`] handle could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// More dimensions than EMF allows in one dimension set.
    #[error("at most {MAX_DIMENSIONS} metric dimensions are allowed")]
    TooManyDimensions,
    /// A dimension or namespace that CloudWatch would reject (empty, too long, reserved or
    /// repeated).
    #[error("invalid metrics {what} `{name}`")]
    Invalid {
        /// What was invalid: namespace, dimension name or dimension value.
        what: &'static str,
        /// The offending name.
        name: String,
    },
}

/// How to build a [`Metrics`] handle; see [`Metrics::builder`].
#[derive(Debug, Clone)]
pub struct MetricsBuilder {
    namespace: String,
    dimensions: Vec<(String, String)>,
    cold_start: bool,
}

impl MetricsBuilder {
    /// The namespace and `service` dimension from the environment (see the module docs).
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| var(n))
                .map(|v| v.trim().to_owned())
                .find(|v| !v.is_empty())
        };
        let namespace = first(&[
            "POWERTOOLS_METRICS_NAMESPACE",
            "SWITCHYARD_METRICS_NAMESPACE",
        ])
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        let service = first(&["POWERTOOLS_SERVICE_NAME", "AWS_LAMBDA_FUNCTION_NAME"])
            .unwrap_or_else(|| DEFAULT_SERVICE.to_owned());
        Self {
            namespace,
            dimensions: vec![(SERVICE_DIMENSION.to_owned(), service)],
            cold_start: true,
        }
    }

    /// Sets the CloudWatch namespace.
    pub fn namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = namespace.into();
        self
    }

    /// Sets (or replaces) a dimension every metric of this handle carries, e.g. the
    /// integration name. Keep values low-cardinality: each distinct value is a billed metric.
    pub fn dimension(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let (name, value) = (name.into(), value.into());
        match self.dimensions.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.dimensions.push((name, value)),
        }
        self
    }

    /// Does not report [`COLD_START`] (for handles that are not one-per-process, and tests).
    pub fn without_cold_start(mut self) -> Self {
        self.cold_start = false;
        self
    }

    /// The handle.
    ///
    /// # Errors
    /// [`MetricsError`] if the namespace or a dimension breaks CloudWatch's limits (empty,
    /// over 255 characters, a value over 1024, the reserved name `_aws`) or there are more
    /// than [`MAX_DIMENSIONS`] dimensions.
    pub fn build(self) -> Result<Metrics, MetricsError> {
        let invalid = |what, name: &str| MetricsError::Invalid {
            what,
            name: name.chars().take(64).collect(),
        };
        if !valid_name(&self.namespace) {
            return Err(invalid("namespace", &self.namespace));
        }
        if self.dimensions.len() > MAX_DIMENSIONS {
            return Err(MetricsError::TooManyDimensions);
        }
        for (name, value) in &self.dimensions {
            if !valid_name(name) {
                return Err(invalid("dimension name", name));
            }
            if value.is_empty() || value.len() > MAX_DIMENSION_VALUE_LEN {
                return Err(invalid("dimension value", name));
            }
        }
        Ok(Metrics {
            inner: Arc::new(Inner {
                namespace: self.namespace,
                dimensions: self.dimensions,
                cold_start: AtomicBool::new(self.cold_start),
                state: Mutex::new(State::default()),
            }),
        })
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name != "_aws"
}

/// A cheap, cloneable, thread-safe handle that accumulates metrics until [`Metrics::flush`].
///
/// Recording takes a short mutex (one map update), so it is fine from many concurrent tasks;
/// it never panics, even if another thread panicked while recording.
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    namespace: String,
    dimensions: Vec<(String, String)>,
    cold_start: AtomicBool,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    metrics: BTreeMap<Cow<'static, str>, Recorded>,
    properties: BTreeMap<String, Value>,
}

#[derive(Debug)]
enum Recorded {
    Count(u64),
    Samples(Unit, Vec<f64>),
}

impl Metrics {
    /// A builder starting from the environment's namespace and `service` (see module docs).
    pub fn builder() -> MetricsBuilder {
        MetricsBuilder::from_env()
    }

    /// The handle the environment describes; build one per process, in `main`.
    ///
    /// Infallible: if the environment's namespace or service name breaks CloudWatch's limits
    /// (over 255 / 1024 characters), it warns and uses the defaults rather than lose metrics.
    pub fn from_env() -> Self {
        MetricsBuilder::from_env().build().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "metrics configuration rejected; using defaults");
            Metrics::fallback()
        })
    }

    /// The default configuration, valid by construction.
    fn fallback() -> Self {
        Metrics {
            inner: Arc::new(Inner {
                namespace: DEFAULT_NAMESPACE.to_owned(),
                dimensions: vec![(SERVICE_DIMENSION.to_owned(), DEFAULT_SERVICE.to_owned())],
                cold_start: AtomicBool::new(true),
                state: Mutex::new(State::default()),
            }),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves the maps consistent (each update is
        // a single insert), so a poisoned lock is safe to keep using.
        self.inner
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds `n` to a count metric (e.g. `metrics.count(DELIVERED, 1)`).
    ///
    /// A name already used for a latency in this invocation is ignored with a warning.
    pub fn count(&self, name: impl Into<Cow<'static, str>>, n: u64) {
        let name = name.into();
        let clash = {
            let mut state = self.state();
            match state.metrics.entry(name) {
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(Recorded::Count(n));
                    None
                }
                std::collections::btree_map::Entry::Occupied(mut e) => match e.get_mut() {
                    Recorded::Count(total) => {
                        *total = total.saturating_add(n);
                        None
                    }
                    Recorded::Samples(..) => Some(e.key().clone()),
                },
            }
        };
        if let Some(name) = clash {
            tracing::warn!(metric = %name, "metric recorded as both count and latency; count ignored");
        }
    }

    /// Adds one latency sample, in milliseconds (e.g. `metrics.latency(LATENCY, elapsed)`).
    ///
    /// Every sample is kept (CloudWatch computes percentiles from them). A name already used
    /// for a count in this invocation is ignored with a warning.
    pub fn latency(&self, name: impl Into<Cow<'static, str>>, elapsed: Duration) {
        let ms = elapsed.as_secs_f64() * 1000.0;
        let name = name.into();
        let clash = {
            let mut state = self.state();
            match state
                .metrics
                .entry(name)
                .or_insert_with(|| Recorded::Samples(Unit::Milliseconds, Vec::new()))
            {
                Recorded::Samples(_, values) => {
                    values.push(ms);
                    false
                }
                Recorded::Count(_) => true,
            }
        };
        if clash {
            tracing::warn!("metric recorded as both latency and count; latency ignored");
        }
    }

    /// Attaches a property to this invocation's metric lines: searchable in CloudWatch Logs
    /// Insights but not a dimension, so fine for high-cardinality values (a request id).
    ///
    /// Properties named like a dimension or `_aws` are ignored; a metric of the same name
    /// takes precedence over a property.
    pub fn property(&self, name: impl Into<String>, value: impl Into<Value>) {
        let name = name.into();
        if name == "_aws" || self.inner.dimensions.iter().any(|(d, _)| *d == name) {
            return;
        }
        self.state().properties.insert(name, value.into());
    }

    /// Drains everything recorded since the last flush into EMF JSON lines (without the
    /// trailing newline); empty when nothing was recorded.
    pub fn take_lines(&self) -> Vec<String> {
        let State {
            metrics,
            properties,
        } = std::mem::take(&mut *self.state());
        let cold_start = self.inner.cold_start.swap(false, Ordering::Relaxed);
        if metrics.is_empty() && !cold_start {
            return Vec::new();
        }

        // Each metric as its values cut into EMF-sized chunks; chunk k goes in round k.
        let mut entries: Vec<(&str, Unit, Vec<Value>)> = Vec::with_capacity(metrics.len() + 1);
        for (name, recorded) in &metrics {
            if !self.valid_metric_name(name) {
                tracing::warn!(metric = %name, "invalid or reserved metric name; dropped");
                continue;
            }
            match recorded {
                Recorded::Count(n) => entries.push((name, Unit::Count, vec![Value::from(*n)])),
                Recorded::Samples(unit, values) => {
                    let chunks = values
                        .chunks(MAX_VALUES_PER_METRIC)
                        .map(|chunk| match chunk {
                            [one] => Value::from(*one),
                            many => Value::from(many.to_vec()),
                        })
                        .collect();
                    entries.push((name, *unit, chunks));
                }
            }
        }
        if cold_start && !metrics.contains_key(COLD_START) {
            entries.push((COLD_START, Unit::Count, vec![Value::from(1u64)]));
        }

        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let rounds = entries.iter().map(|e| e.2.len()).max().unwrap_or(0);
        let mut lines = Vec::new();
        for round in 0..rounds {
            let present: Vec<(&str, Unit, &Value)> = entries
                .iter()
                .filter_map(|(name, unit, chunks)| chunks.get(round).map(|v| (*name, *unit, v)))
                .collect();
            for group in present.chunks(MAX_METRICS_PER_DOCUMENT) {
                if let Some(line) = self.document(timestamp, group, &properties) {
                    lines.push(line);
                }
            }
        }
        lines
    }

    fn valid_metric_name(&self, name: &str) -> bool {
        valid_name(name) && !self.inner.dimensions.iter().any(|(d, _)| d == name)
    }

    /// One EMF document for up to [`MAX_METRICS_PER_DOCUMENT`] metrics.
    fn document(
        &self,
        timestamp: u64,
        group: &[(&str, Unit, &Value)],
        properties: &BTreeMap<String, Value>,
    ) -> Option<String> {
        let dimension_names: Vec<&str> = self
            .inner
            .dimensions
            .iter()
            .map(|(n, _)| n.as_str())
            .collect();
        let definitions: Vec<Value> = group
            .iter()
            .map(|(name, unit, _)| json!({"Name": name, "Unit": unit.as_str()}))
            .collect();
        let mut root = Map::new();
        root.insert(
            "_aws".to_owned(),
            json!({
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": self.inner.namespace,
                    "Dimensions": [dimension_names],
                    "Metrics": definitions,
                }],
            }),
        );
        for (name, value) in properties {
            root.insert(name.clone(), value.clone());
        }
        for (name, value) in &self.inner.dimensions {
            root.insert(name.clone(), Value::from(value.as_str()));
        }
        for (name, _, value) in group {
            root.insert((*name).to_owned(), (*value).clone());
        }
        serde_json::to_string(&root).ok()
    }

    /// Drains the metrics into `writer`, one EMF line each; returns how many lines.
    ///
    /// What was drained is gone even if the write fails: metrics are best-effort and must
    /// never be counted twice.
    ///
    /// # Errors
    /// The writer's I/O error.
    pub fn flush_to(&self, mut writer: impl Write) -> io::Result<usize> {
        let lines = self.take_lines();
        if lines.is_empty() {
            return Ok(0);
        }
        let mut buffer = String::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
        for line in &lines {
            buffer.push_str(line);
            buffer.push('\n');
        }
        // One write, so log lines from other threads cannot interleave inside a document.
        writer.write_all(buffer.as_bytes())?;
        writer.flush()?;
        Ok(lines.len())
    }

    /// Drains the metrics to stdout, where Lambda ships them to CloudWatch. Call it once at
    /// the end of every invocation (the batch runner does).
    ///
    /// # Errors
    /// Writing to stdout failed.
    pub fn flush(&self) -> io::Result<usize> {
        self.flush_to(io::stdout().lock())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use std::collections::BTreeSet;

    fn handle() -> Metrics {
        MetricsBuilder::from_vars(|_| None)
            .dimension(SERVICE_DIMENSION, "test-fn")
            .without_cold_start()
            .build()
            .unwrap()
    }

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap()
    }

    /// Checks one EMF document's shape and returns its metric names.
    fn check_document(doc: &Value) -> BTreeSet<String> {
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].as_u64().unwrap() > 1_600_000_000_000);
        let directive = &aws["CloudWatchMetrics"][0];
        for dims in directive["Dimensions"].as_array().unwrap() {
            for dim in dims.as_array().unwrap() {
                assert!(
                    doc[dim.as_str().unwrap()].is_string(),
                    "dimension {dim} has a value"
                );
            }
        }
        let defs = directive["Metrics"].as_array().unwrap();
        assert!(defs.len() <= MAX_METRICS_PER_DOCUMENT);
        let mut names = BTreeSet::new();
        for def in defs {
            let name = def["Name"].as_str().unwrap();
            let value = &doc[name];
            assert!(value.is_number() || value.is_array(), "{name} has a value");
            if let Some(values) = value.as_array() {
                assert!(values.len() <= MAX_VALUES_PER_METRIC);
            }
            assert!(names.insert(name.to_owned()), "{name} defined once");
        }
        names
    }

    #[test]
    fn flush_produces_valid_emf() {
        let m = handle();
        m.count(RECEIVED, 2);
        m.count(RECEIVED, 1);
        m.count(DELIVERED, 2);
        m.latency(LATENCY, Duration::from_millis(12));
        m.latency(LATENCY, Duration::from_micros(40_500));
        m.property("requestId", "req-1");
        let lines = m.take_lines();
        assert_eq!(lines.len(), 1);
        let doc = parse(&lines[0]);
        let names = check_document(&doc);
        assert_eq!(
            names,
            BTreeSet::from([RECEIVED.into(), DELIVERED.into(), LATENCY.into()])
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Switchyard");
        assert_eq!(directive["Dimensions"], json!([["service"]]));
        for def in directive["Metrics"].as_array().unwrap() {
            let unit = if def["Name"] == LATENCY {
                "Milliseconds"
            } else {
                "Count"
            };
            assert_eq!(def["Unit"], unit);
        }
        assert_eq!(doc["service"], "test-fn");
        assert_eq!(doc[RECEIVED], 3);
        assert_eq!(doc[DELIVERED], 2);
        assert_eq!(doc[LATENCY], json!([12.0, 40.5]));
        assert_eq!(doc["requestId"], "req-1");
    }

    #[test]
    fn single_sample_is_a_number() {
        let m = handle();
        m.latency(LATENCY, Duration::from_millis(7));
        assert_eq!(parse(&m.take_lines()[0])[LATENCY], json!(7.0));
    }

    #[test]
    fn nothing_recorded_writes_nothing() {
        let m = handle();
        assert!(m.take_lines().is_empty());
        let mut out = Vec::new();
        assert_eq!(m.flush_to(&mut out).unwrap(), 0);
        assert!(out.is_empty());
        // A property alone is not a metric.
        m.property("requestId", "r");
        assert!(m.take_lines().is_empty());
    }

    #[test]
    fn second_flush_starts_from_zero() {
        let m = handle();
        m.count(RETRIED, 5);
        m.property("requestId", "r1");
        let mut out = Vec::new();
        assert_eq!(m.flush_to(&mut out).unwrap(), 1);
        let text = String::from_utf8(out).unwrap();
        assert!(text.ends_with('\n') && text.lines().count() == 1);
        assert_eq!(parse(text.trim_end())[RETRIED], 5);
        assert!(m.take_lines().is_empty());
        m.count(RETRIED, 1);
        let doc = parse(&m.take_lines()[0]);
        assert_eq!(doc[RETRIED], 1);
        assert!(
            doc.get("requestId").is_none(),
            "properties are per invocation"
        );
    }

    #[test]
    fn cold_start_is_reported_once() {
        let m = MetricsBuilder::from_vars(|_| None).build().unwrap();
        let first = m.take_lines();
        assert_eq!(
            first.len(),
            1,
            "first flush reports ColdStart even with nothing else"
        );
        let doc = parse(&first[0]);
        assert_eq!(doc[COLD_START], 1);
        assert_eq!(check_document(&doc), BTreeSet::from([COLD_START.into()]));
        assert!(m.take_lines().is_empty());
        m.count(DEAD_LETTERED, 1);
        let doc = parse(&m.clone().take_lines()[0]);
        assert!(doc.get(COLD_START).is_none());
        assert_eq!(doc[DEAD_LETTERED], 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn counts_accumulate_across_concurrent_tasks() {
        let m = handle();
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let m = m.clone();
                tokio::spawn(async move {
                    for _ in 0..500 {
                        m.count(DELIVERED, 1);
                        m.latency(LATENCY, Duration::from_millis(1));
                        tokio::task::yield_now().await;
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        let lines = m.take_lines();
        let docs: Vec<Value> = lines.iter().map(|l| parse(l)).collect();
        let delivered: u64 = docs.iter().filter_map(|d| d[DELIVERED].as_u64()).sum();
        assert_eq!(delivered, 8_000);
        let samples: usize = docs
            .iter()
            .map(|d| match &d[LATENCY] {
                Value::Array(a) => a.len(),
                Value::Number(_) => 1,
                _ => 0,
            })
            .sum();
        assert_eq!(samples, 8_000);
        assert_eq!(lines.len(), 80, "100 samples per line");
    }

    #[test]
    fn more_than_100_metrics_are_split() {
        let m = handle();
        for i in 0..250 {
            m.count(format!("metric{i:03}"), i + 1);
        }
        let lines = m.take_lines();
        assert_eq!(lines.len(), 3);
        let mut all = BTreeSet::new();
        let mut total = 0;
        for line in &lines {
            let doc = parse(line);
            let names = check_document(&doc);
            total += names.len();
            for name in &names {
                assert!(doc[name].is_u64());
            }
            all.extend(names);
        }
        assert_eq!(total, 250);
        assert_eq!(all.len(), 250);
    }

    #[test]
    fn more_than_100_samples_are_split() {
        let m = handle();
        m.count(DELIVERED, 1);
        for i in 0..250 {
            m.latency(LATENCY, Duration::from_millis(i));
        }
        let docs: Vec<Value> = m.take_lines().iter().map(|l| parse(l)).collect();
        assert_eq!(docs.len(), 3);
        let sizes: Vec<usize> = docs
            .iter()
            .map(|d| d[LATENCY].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        // The count appears once, in the first document only.
        assert_eq!(docs[0][DELIVERED], 1);
        assert!(docs[1].get(DELIVERED).is_none());
        for doc in &docs {
            check_document(doc);
        }
    }

    #[test]
    fn clashing_names_are_dropped_not_corrupting() {
        let m = handle();
        m.count(LATENCY, 1);
        m.latency(LATENCY, Duration::from_millis(3));
        m.count(SERVICE_DIMENSION, 1);
        m.count("_aws", 1);
        m.property(SERVICE_DIMENSION, "other");
        let doc = parse(&m.take_lines()[0]);
        assert_eq!(doc[LATENCY], 1);
        assert_eq!(doc["service"], "test-fn");
        assert_eq!(check_document(&doc), BTreeSet::from([LATENCY.into()]));
    }

    #[test]
    fn configuration_comes_from_the_environment() {
        let vars = |name: &str| match name {
            "SWITCHYARD_METRICS_NAMESPACE" => Some("Acme".to_owned()),
            "AWS_LAMBDA_FUNCTION_NAME" => Some("acme-deliverer".to_owned()),
            "POWERTOOLS_SERVICE_NAME" => Some(" ".to_owned()),
            _ => None,
        };
        let m = MetricsBuilder::from_vars(vars)
            .without_cold_start()
            .build()
            .unwrap();
        m.count(RECEIVED, 1);
        let doc = parse(&m.take_lines()[0]);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Acme");
        assert_eq!(doc["service"], "acme-deliverer");

        let powertools = MetricsBuilder::from_vars(|name| match name {
            "POWERTOOLS_METRICS_NAMESPACE" => Some("PT".to_owned()),
            "SWITCHYARD_METRICS_NAMESPACE" => Some("Acme".to_owned()),
            _ => None,
        });
        assert_eq!(powertools.namespace, "PT");
        assert_eq!(powertools.dimensions[0].1, DEFAULT_SERVICE);
    }

    #[test]
    fn dimension_limits_are_enforced() {
        let mut builder = MetricsBuilder::from_vars(|_| None);
        for i in 1..MAX_DIMENSIONS {
            builder = builder.dimension(format!("d{i}"), "v");
        }
        let m = builder.clone().without_cold_start().build().unwrap();
        m.count(RECEIVED, 1);
        let doc = parse(&m.take_lines()[0]);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
                .as_array()
                .unwrap()
                .len(),
            MAX_DIMENSIONS
        );
        check_document(&doc);
        assert!(matches!(
            builder.dimension("one-too-many", "v").build(),
            Err(MetricsError::TooManyDimensions)
        ));
        let empty_value = MetricsBuilder::from_vars(|_| None).dimension("integration", "");
        assert!(matches!(
            empty_value.build(),
            Err(MetricsError::Invalid { .. })
        ));
        let reserved = MetricsBuilder::from_vars(|_| None).dimension("_aws", "x");
        assert!(reserved.build().is_err());
        let empty_ns = MetricsBuilder::from_vars(|_| None).namespace("");
        assert!(empty_ns.build().is_err());
    }
}
