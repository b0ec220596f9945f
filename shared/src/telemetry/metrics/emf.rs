//! The EMF document writer: drained metrics → JSON lines CloudWatch Logs turns into metrics,
//! split so no line breaks EMF's limits.
//!
//! A line may define at most [`MAX_METRICS_PER_DOCUMENT`] metrics and list at most
//! [`MAX_VALUES_PER_METRIC`] values per metric; CloudWatch rejects a document over either limit
//! as a whole, losing every metric in it. So a metric's values are cut into chunks of 100, chunk
//! `k` of every metric goes into round `k`, and each round is cut into documents of 100 metrics.
//! A count, being one value, appears in the first round only and so is never counted twice.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::builder::valid_name;
use super::names::Unit;

/// EMF: at most this many metrics in one document.
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;
/// EMF: at most this many values in one metric's array.
pub const MAX_VALUES_PER_METRIC: usize = 100;

/// What one metric holds at a flush.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Values {
    /// A total.
    Count(u64),
    /// Samples, each written as it is (CloudWatch computes the statistics).
    Samples(Vec<f64>),
}

/// One metric ready to be written.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Series {
    pub(super) name: Cow<'static, str>,
    pub(super) unit: Unit,
    pub(super) values: Values,
}

/// Where documents go: the namespace and the dimensions every metric of a handle carries.
pub(super) struct Writer<'a> {
    pub(super) namespace: &'a str,
    pub(super) dimensions: &'a [(String, String)],
}

impl Writer<'_> {
    /// The EMF lines (without newline) for `series`, each carrying `properties`; empty when
    /// there is nothing to write. Metrics whose name CloudWatch would reject, or that would
    /// overwrite a dimension's value, are dropped with a warning.
    pub(super) fn lines(
        &self,
        timestamp: u64,
        series: &[Series],
        properties: &BTreeMap<String, Value>,
    ) -> Vec<String> {
        // Each metric as its values cut into EMF-sized chunks; chunk k goes in round k.
        let mut entries: Vec<(&str, Unit, Vec<Value>)> = Vec::with_capacity(series.len());
        for metric in series {
            if !self.valid_metric_name(&metric.name) {
                tracing::warn!(metric = %metric.name, "invalid or reserved metric name; dropped");
                continue;
            }
            let chunks = match &metric.values {
                Values::Count(n) => vec![Value::from(*n)],
                Values::Samples(values) => values
                    .chunks(MAX_VALUES_PER_METRIC)
                    .map(|chunk| match chunk {
                        [one] => Value::from(*one),
                        many => Value::from(many.to_vec()),
                    })
                    .collect(),
            };
            entries.push((&metric.name, metric.unit, chunks));
        }

        let rounds = entries.iter().map(|e| e.2.len()).max().unwrap_or(0);
        let mut lines = Vec::new();
        for round in 0..rounds {
            let present: Vec<(&str, Unit, &Value)> = entries
                .iter()
                .filter_map(|(name, unit, chunks)| chunks.get(round).map(|v| (*name, *unit, v)))
                .collect();
            for group in present.chunks(MAX_METRICS_PER_DOCUMENT) {
                if let Some(line) = self.document(timestamp, group, properties) {
                    lines.push(line);
                }
            }
        }
        lines
    }

    fn valid_metric_name(&self, name: &str) -> bool {
        valid_name(name) && !self.dimensions.iter().any(|(d, _)| d == name)
    }

    /// One EMF document for up to [`MAX_METRICS_PER_DOCUMENT`] metrics.
    fn document(
        &self,
        timestamp: u64,
        group: &[(&str, Unit, &Value)],
        properties: &BTreeMap<String, Value>,
    ) -> Option<String> {
        let dimension_names: Vec<&str> = self.dimensions.iter().map(|(n, _)| n.as_str()).collect();
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
                    "Namespace": self.namespace,
                    "Dimensions": [dimension_names],
                    "Metrics": definitions,
                }],
            }),
        );
        // Properties first: a dimension or metric of the same name overwrites them.
        for (name, value) in properties {
            root.insert(name.clone(), value.clone());
        }
        for (name, value) in self.dimensions {
            root.insert(name.clone(), Value::from(value.as_str()));
        }
        for (name, _, value) in group {
            root.insert((*name).to_owned(), (*value).clone());
        }
        serde_json::to_string(&root).ok()
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Checks one EMF document's shape against the EMF specification and returns its metric
    /// names.
    pub(in super::super) fn check_document(doc: &Value) -> BTreeSet<String> {
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

    const NOW: u64 = 1_715_000_000_000;
    const DIMENSIONS: &[(&str, &str)] = &[("service", "test-fn")];

    fn write(series: &[Series], properties: &BTreeMap<String, Value>) -> Vec<Value> {
        let dimensions: Vec<(String, String)> = DIMENSIONS
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect();
        let writer = Writer {
            namespace: "Switchyard",
            dimensions: &dimensions,
        };
        writer
            .lines(NOW, series, properties)
            .iter()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    fn count(name: &str, n: u64) -> Series {
        Series {
            name: name.to_owned().into(),
            unit: Unit::Count,
            values: Values::Count(n),
        }
    }

    fn millis(name: &str, values: Vec<f64>) -> Series {
        Series {
            name: name.to_owned().into(),
            unit: Unit::Milliseconds,
            values: Values::Samples(values),
        }
    }

    #[test]
    fn a_document_names_its_metrics_units_and_dimensions() {
        let properties = BTreeMap::from([("requestId".to_owned(), json!("req-1"))]);
        let docs = write(
            &[count("delivered", 2), millis("latency", vec![12.0, 40.5])],
            &properties,
        );
        assert_eq!(
            docs,
            [json!({
                "_aws": {
                    "Timestamp": NOW,
                    "CloudWatchMetrics": [{
                        "Namespace": "Switchyard",
                        "Dimensions": [["service"]],
                        "Metrics": [
                            {"Name": "delivered", "Unit": "Count"},
                            {"Name": "latency", "Unit": "Milliseconds"},
                        ],
                    }],
                },
                "service": "test-fn",
                "requestId": "req-1",
                "delivered": 2,
                "latency": [12.0, 40.5],
            })]
        );
    }

    #[test]
    fn a_single_sample_is_a_number() {
        let docs = write(&[millis("latency", vec![7.0])], &BTreeMap::new());
        assert_eq!(docs[0]["latency"], json!(7.0));
    }

    #[test]
    fn nothing_to_write_writes_nothing() {
        assert!(write(&[], &BTreeMap::new()).is_empty());
    }

    #[test]
    fn more_than_100_metrics_are_split() {
        let series: Vec<Series> = (0..250)
            .map(|i| count(&format!("metric{i:03}"), i + 1))
            .collect();
        let docs = write(&series, &BTreeMap::new());
        assert_eq!(docs.len(), 3);
        let mut all = BTreeSet::new();
        let mut total = 0;
        for doc in &docs {
            let names = check_document(doc);
            total += names.len();
            for name in &names {
                let i: u64 = name["metric".len()..].parse().unwrap();
                assert_eq!(doc[name], i + 1, "{name} keeps its own value");
            }
            all.extend(names);
        }
        assert_eq!(total, 250);
        assert_eq!(all.len(), 250);
    }

    #[test]
    fn more_than_100_samples_are_split_in_order_and_counts_written_once() {
        let values: Vec<f64> = (0..250).map(f64::from).collect();
        let docs = write(
            &[count("delivered", 1), millis("latency", values.clone())],
            &BTreeMap::new(),
        );
        assert_eq!(docs.len(), 3);
        let written: Vec<f64> = docs
            .iter()
            .flat_map(|d| d["latency"].as_array().unwrap().clone())
            .map(|v| v.as_f64().unwrap())
            .collect();
        assert_eq!(written, values, "every value, once, in order");
        assert_eq!(docs[0]["delivered"], 1);
        assert!(docs[1].get("delivered").is_none());
        assert!(docs[2].get("delivered").is_none());
        for doc in &docs {
            check_document(doc);
        }
    }

    #[test]
    fn names_cloudwatch_would_reject_or_that_clash_with_a_dimension_are_dropped() {
        let docs = write(
            &[
                count("service", 1),
                count("_aws", 1),
                count("", 1),
                count(&"x".repeat(256), 1),
                count("kept", 1),
            ],
            &BTreeMap::new(),
        );
        assert_eq!(docs.len(), 1);
        assert_eq!(docs[0]["service"], "test-fn");
        assert_eq!(
            check_document(&docs[0]),
            BTreeSet::from(["kept".to_owned()])
        );
    }
}
