//! Building a [`Metrics`] handle: namespace and dimensions from the environment or the caller,
//! checked against CloudWatch's limits once, so nothing is lost at flush time.

use super::handle::Metrics;

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
    pub(super) namespace: String,
    pub(super) dimensions: Vec<(String, String)>,
    pub(super) cold_start: bool,
}

impl MetricsBuilder {
    /// The namespace and `service` dimension from the environment (see the module docs).
    pub fn from_env() -> Self {
        Self::from_vars(|name| std::env::var(name).ok())
    }

    pub(super) fn from_vars(var: impl Fn(&str) -> Option<String>) -> Self {
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

    /// The default configuration: valid by construction, the fallback when the environment's
    /// is not.
    pub(super) fn defaults() -> Self {
        Self::from_vars(|_| None)
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

    /// Does not report [`COLD_START`](super::COLD_START) (for handles that are not
    /// one-per-process, and tests).
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
        self.check()?;
        Ok(Metrics::new(self))
    }

    fn check(&self) -> Result<(), MetricsError> {
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
        Ok(())
    }
}

/// A name CloudWatch accepts for a namespace, dimension or metric, and not EMF's own `_aws`.
pub(super) fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= MAX_NAME_LEN && name != "_aws"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_comes_from_the_environment() {
        let vars = |name: &str| match name {
            "SWITCHYARD_METRICS_NAMESPACE" => Some("Acme".to_owned()),
            "AWS_LAMBDA_FUNCTION_NAME" => Some("acme-deliverer".to_owned()),
            "POWERTOOLS_SERVICE_NAME" => Some(" ".to_owned()),
            _ => None,
        };
        let builder = MetricsBuilder::from_vars(vars);
        assert_eq!(builder.namespace, "Acme");
        assert_eq!(
            builder.dimensions,
            [(SERVICE_DIMENSION.to_owned(), "acme-deliverer".to_owned())],
            "a blank POWERTOOLS_SERVICE_NAME does not count"
        );

        let powertools = MetricsBuilder::from_vars(|name| match name {
            "POWERTOOLS_METRICS_NAMESPACE" => Some("PT".to_owned()),
            "SWITCHYARD_METRICS_NAMESPACE" => Some("Acme".to_owned()),
            _ => None,
        });
        assert_eq!(powertools.namespace, "PT");
        assert_eq!(powertools.dimensions[0].1, DEFAULT_SERVICE);

        let defaults = MetricsBuilder::defaults();
        assert_eq!(defaults.namespace, DEFAULT_NAMESPACE);
        assert!(defaults.cold_start);
        assert!(defaults.check().is_ok());
    }

    #[test]
    fn a_dimension_set_twice_keeps_the_last_value() {
        let builder = MetricsBuilder::defaults()
            .dimension("integration", "a")
            .dimension("integration", "b");
        assert_eq!(
            builder.dimensions[1..],
            [("integration".to_owned(), "b".to_owned())]
        );
    }

    #[test]
    fn dimension_limits_are_enforced() {
        let mut builder = MetricsBuilder::defaults();
        for i in 1..MAX_DIMENSIONS {
            builder = builder.dimension(format!("d{i}"), "v");
        }
        assert!(
            builder.check().is_ok(),
            "{MAX_DIMENSIONS} dimensions are allowed"
        );
        assert!(matches!(
            builder.dimension("one-too-many", "v").build(),
            Err(MetricsError::TooManyDimensions)
        ));
        let empty_value = MetricsBuilder::defaults().dimension("integration", "");
        assert!(matches!(
            empty_value.build(),
            Err(MetricsError::Invalid {
                what: "dimension value",
                ..
            })
        ));
        let long_value = MetricsBuilder::defaults().dimension("integration", "v".repeat(1025));
        assert!(long_value.build().is_err());
        let reserved = MetricsBuilder::defaults().dimension("_aws", "x");
        assert!(matches!(
            reserved.build(),
            Err(MetricsError::Invalid {
                what: "dimension name",
                ..
            })
        ));
        let empty_ns = MetricsBuilder::defaults().namespace("");
        assert!(matches!(
            empty_ns.build(),
            Err(MetricsError::Invalid {
                what: "namespace",
                ..
            })
        ));
    }
}
