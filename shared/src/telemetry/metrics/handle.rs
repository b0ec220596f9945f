//! The recording handle: counts, latencies and properties accumulated in memory until a flush
//! drains them into EMF lines.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::builder::MetricsBuilder;
use super::emf::{Series, Values, Writer};
use super::names::{COLD_START, DROPPED_SUFFIX, Unit};
use super::samples::Samples;

/// A cheap, cloneable, thread-safe handle that accumulates metrics until [`Metrics::flush`].
///
/// Recording takes a short mutex (one map update), so it is fine from many concurrent tasks;
/// it never panics, even if another thread panicked while recording. Memory stays bounded
/// between flushes: a count is one number, and a latency keeps at most
/// [`MAX_SAMPLES_PER_METRIC`](super::MAX_SAMPLES_PER_METRIC) samples.
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
    Samples(Unit, Samples),
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
            Metrics::new(MetricsBuilder::defaults())
        })
    }

    /// A handle for a configuration the builder has checked (or the defaults).
    pub(super) fn new(config: MetricsBuilder) -> Self {
        Metrics {
            inner: Arc::new(Inner {
                namespace: config.namespace,
                dimensions: config.dimensions,
                cold_start: AtomicBool::new(config.cold_start),
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

    /// Adds `n` to a count metric (e.g. `metrics.count("delivered", 1)`).
    ///
    /// A name already used for a latency in this invocation is ignored with a warning.
    pub fn count(&self, name: impl Into<Cow<'static, str>>, n: u64) {
        let clash = match self.state().metrics.entry(name.into()) {
            Entry::Vacant(e) => {
                e.insert(Recorded::Count(n));
                None
            }
            Entry::Occupied(mut e) => match e.get_mut() {
                Recorded::Count(total) => {
                    *total = total.saturating_add(n);
                    None
                }
                Recorded::Samples(..) => Some(e.key().clone()),
            },
        };
        if let Some(name) = clash {
            tracing::warn!(metric = %name, "metric recorded as both count and latency; count ignored");
        }
    }

    /// Adds one latency sample, in milliseconds (e.g. `metrics.latency("handler_latency", elapsed)`).
    ///
    /// CloudWatch computes percentiles from the samples, so they are written as they are: every
    /// one up to [`MAX_SAMPLES_PER_METRIC`](super::MAX_SAMPLES_PER_METRIC) per flush, a uniform
    /// sample with the exact minimum and maximum beyond (the count of the others goes to
    /// `<name>_dropped`; see [`DROPPED_SUFFIX`]). A name already used for a count in this
    /// invocation is ignored with a warning.
    pub fn latency(&self, name: impl Into<Cow<'static, str>>, elapsed: Duration) {
        let ms = millis(elapsed);
        let clash = match self.state().metrics.entry(name.into()) {
            Entry::Vacant(e) => {
                let mut samples = Samples::new();
                samples.record(ms);
                e.insert(Recorded::Samples(Unit::Milliseconds, samples));
                None
            }
            Entry::Occupied(mut e) => match e.get_mut() {
                Recorded::Samples(_, samples) => {
                    samples.record(ms);
                    None
                }
                Recorded::Count(_) => Some(e.key().clone()),
            },
        };
        if let Some(name) = clash {
            tracing::warn!(metric = %name, "metric recorded as both latency and count; latency ignored");
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
        let series = self.series(metrics, cold_start);
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let writer = Writer {
            namespace: &self.inner.namespace,
            dimensions: &self.inner.dimensions,
        };
        writer.lines(timestamp, &series, &properties)
    }

    /// The drained metrics as series to write, plus the kit's own: `ColdStart` and the count of
    /// samples a bounded metric did not keep. Those never overwrite a metric the caller
    /// recorded under the same name.
    fn series(
        &self,
        metrics: BTreeMap<Cow<'static, str>, Recorded>,
        cold_start: bool,
    ) -> Vec<Series> {
        let mut series = Vec::with_capacity(metrics.len() + 1);
        let mut extra = Vec::new();
        if cold_start {
            extra.push(Series {
                name: COLD_START.into(),
                unit: Unit::Count,
                values: Values::Count(1),
            });
        }
        for (name, recorded) in metrics {
            match recorded {
                Recorded::Count(n) => series.push(Series {
                    name,
                    unit: Unit::Count,
                    values: Values::Count(n),
                }),
                Recorded::Samples(unit, samples) => {
                    let (values, dropped) = samples.into_values();
                    if dropped > 0 {
                        extra.push(Series {
                            name: format!("{name}{DROPPED_SUFFIX}").into(),
                            unit: Unit::Count,
                            values: Values::Count(dropped),
                        });
                    }
                    series.push(Series {
                        name,
                        unit,
                        values: Values::Samples(values),
                    });
                }
            }
        }
        for own in extra {
            if series.iter().any(|s| s.name == own.name) {
                tracing::warn!(metric = %own.name, "a recorded metric has the name of one the kit writes; the kit's is dropped");
            } else {
                series.push(own);
            }
        }
        series
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

/// A duration in milliseconds, exact for whole milliseconds and microseconds.
///
/// `as_secs_f64() * 1000.0` is not: 3 ms becomes 3.0000000000000004 (0.003 has no exact binary
/// form), which is what a reader of the metric would then see. Nanoseconds as a float are exact
/// below 2^53 (104 days), and one correctly rounded division gives the nearest millisecond
/// value.
fn millis(elapsed: Duration) -> f64 {
    elapsed.as_nanos() as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telemetry::metrics::emf::tests::check_document;
    use crate::telemetry::metrics::{
        MAX_DIMENSIONS, MAX_SAMPLES_PER_METRIC, MAX_VALUES_PER_METRIC, SERVICE_DIMENSION,
    };

    // Names as a component would use them.
    const RECEIVED: &str = "received";
    const DELIVERED: &str = "delivered";
    const RETRIED: &str = "retried";
    const DEAD_LETTERED: &str = "dead_lettered";
    const LATENCY: &str = "latency";
    use serde_json::json;
    use std::collections::BTreeSet;

    fn handle() -> Metrics {
        MetricsBuilder::defaults()
            .dimension(SERVICE_DIMENSION, "test-fn")
            .without_cold_start()
            .build()
            .unwrap()
    }

    fn parse(line: &str) -> Value {
        serde_json::from_str(line).unwrap()
    }

    fn docs(m: &Metrics) -> Vec<Value> {
        m.take_lines().iter().map(|l| parse(l)).collect()
    }

    /// The unit a document declares for `name`.
    fn unit_of<'a>(doc: &'a Value, name: &str) -> &'a Value {
        let defs = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        &defs.iter().find(|d| d["Name"] == name).unwrap()["Unit"]
    }

    /// Every latency value written for `name`, in document order.
    fn latency_values(docs: &[Value], name: &str) -> Vec<f64> {
        docs.iter()
            .flat_map(|d| match &d[name] {
                Value::Array(values) => values.iter().map(|v| v.as_f64().unwrap()).collect(),
                Value::Number(n) => vec![n.as_f64().unwrap()],
                _ => Vec::new(),
            })
            .collect()
    }

    #[test]
    fn flush_produces_valid_emf() {
        let m = handle();
        m.count(RECEIVED, 2);
        m.count(RECEIVED, 1);
        m.count(DELIVERED, 2);
        m.latency(LATENCY, Duration::from_millis(12));
        m.property("requestId", "req-1");
        let docs = docs(&m);
        assert_eq!(docs.len(), 1);
        let doc = &docs[0];
        assert_eq!(
            check_document(doc),
            BTreeSet::from([RECEIVED.into(), DELIVERED.into(), LATENCY.into()])
        );
        let directive = &doc["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], "Switchyard");
        assert_eq!(directive["Dimensions"], json!([["service"]]));
        assert_eq!(doc["service"], "test-fn");
        assert_eq!(doc[RECEIVED], 3);
        assert_eq!(unit_of(doc, RECEIVED), "Count");
        assert_eq!(doc[DELIVERED], 2);
        assert_eq!(doc["requestId"], "req-1");
    }

    #[test]
    fn a_recorded_latency_is_written_in_exact_milliseconds() {
        let m = handle();
        m.latency(LATENCY, Duration::from_micros(40_500));
        let doc = &docs(&m)[0];
        assert_eq!(doc[LATENCY], json!(40.5));
        assert_eq!(unit_of(doc, LATENCY), "Milliseconds");
    }

    #[test]
    fn milliseconds_are_exact() {
        for ms in [1, 3, 7, 12, 999, 10_000] {
            assert_eq!(millis(Duration::from_millis(ms)), ms as f64);
        }
        assert_eq!(millis(Duration::from_micros(250)), 0.25);
        assert_eq!(millis(Duration::from_nanos(1_500)), 0.0015);
        assert_eq!(millis(Duration::from_secs(90)), 90_000.0);
    }

    #[test]
    fn several_latencies_are_written_as_recorded_in_order() {
        let m = handle();
        for micros in [12_000, 40_500, 8_000, 250, 1_000_000] {
            m.latency(LATENCY, Duration::from_micros(micros));
        }
        let doc = &docs(&m)[0];
        assert_eq!(doc[LATENCY], json!([12.0, 40.5, 8.0, 0.25, 1000.0]));
        assert_eq!(unit_of(doc, LATENCY), "Milliseconds");
        assert!(doc.get(format!("{LATENCY}{DROPPED_SUFFIX}")).is_none());
    }

    #[test]
    fn ten_thousand_latencies_without_a_flush_stay_bounded_and_sane() {
        let m = handle();
        for ms in 1..=10_000 {
            m.latency(LATENCY, Duration::from_millis(ms));
        }
        let docs = docs(&m);
        assert_eq!(docs.len(), MAX_SAMPLES_PER_METRIC / MAX_VALUES_PER_METRIC);
        let mut values = latency_values(&docs, LATENCY);
        assert_eq!(values.len(), MAX_SAMPLES_PER_METRIC);
        values.sort_by(f64::total_cmp);
        assert_eq!(values[0], 1.0, "the exact minimum");
        assert_eq!(values[values.len() - 1], 10_000.0, "the exact maximum");
        assert!(
            values.windows(2).all(|w| w[0] < w[1]),
            "only recorded values, each at most once"
        );
        assert!(
            values
                .iter()
                .all(|v| (1.0..=10_000.0).contains(v) && v.fract() == 0.0)
        );
        let dropped = format!("{LATENCY}{DROPPED_SUFFIX}");
        assert_eq!(docs[0][&dropped], 10_000 - MAX_SAMPLES_PER_METRIC as u64);
        assert_eq!(unit_of(&docs[0], &dropped), "Count");
        assert!(
            docs[1..].iter().all(|d| d.get(&dropped).is_none()),
            "counted once"
        );
        for doc in &docs {
            assert_eq!(unit_of(doc, LATENCY), "Milliseconds");
            check_document(doc);
        }

        // The next flush starts a new sample.
        m.latency(LATENCY, Duration::from_millis(3));
        assert_eq!(self::docs(&m)[0][LATENCY], json!(3.0));
    }

    #[test]
    fn the_kit_never_overwrites_a_metric_recorded_under_its_names() {
        let m = MetricsBuilder::defaults().build().unwrap();
        m.count(COLD_START, 7);
        for ms in 0..(MAX_SAMPLES_PER_METRIC as u64 + 10) {
            m.latency(LATENCY, Duration::from_millis(ms));
        }
        m.count(format!("{LATENCY}{DROPPED_SUFFIX}"), 1);
        let docs = docs(&m);
        assert_eq!(docs[0][COLD_START], 7);
        assert_eq!(docs[0][format!("{LATENCY}{DROPPED_SUFFIX}")], 1);
        for doc in &docs {
            check_document(doc);
        }
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
        let m = MetricsBuilder::defaults().build().unwrap();
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
        let docs = docs(&m);
        let delivered: u64 = docs.iter().filter_map(|d| d[DELIVERED].as_u64()).sum();
        assert_eq!(delivered, 8_000);
        let kept = latency_values(&docs, LATENCY);
        assert_eq!(kept.len(), MAX_SAMPLES_PER_METRIC);
        assert!(kept.iter().all(|v| *v == 1.0));
        let dropped: u64 = docs
            .iter()
            .filter_map(|d| d[format!("{LATENCY}{DROPPED_SUFFIX}")].as_u64())
            .sum();
        assert_eq!(
            kept.len() as u64 + dropped,
            8_000,
            "every sample accounted for"
        );
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
        assert_eq!(unit_of(&doc, LATENCY), "Count");
        assert_eq!(doc["service"], "test-fn");
        assert_eq!(check_document(&doc), BTreeSet::from([LATENCY.into()]));
    }

    #[test]
    fn the_environment_reaches_every_document() {
        let vars = |name: &str| match name {
            "SWITCHYARD_METRICS_NAMESPACE" => Some("Acme".to_owned()),
            "AWS_LAMBDA_FUNCTION_NAME" => Some("acme-deliverer".to_owned()),
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
    }

    #[test]
    fn every_dimension_is_declared_and_valued() {
        let mut builder = MetricsBuilder::defaults().without_cold_start();
        for i in 1..MAX_DIMENSIONS {
            builder = builder.dimension(format!("d{i}"), format!("v{i}"));
        }
        let m = builder.build().unwrap();
        m.count(RECEIVED, 1);
        let doc = parse(&m.take_lines()[0]);
        let declared = doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0]
            .as_array()
            .unwrap();
        assert_eq!(declared.len(), MAX_DIMENSIONS);
        assert_eq!(doc["d29"], "v29");
        check_document(&doc);
    }
}
