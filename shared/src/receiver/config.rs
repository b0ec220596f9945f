//! A receiver's configuration, from the environment only — the same for every receiver.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `SECRET_ID` | Secrets Manager id (name or ARN) of the signing secret | required |
//! | `QUEUE_URL` | where accepted events go when no `ROUTES` is given | required without `ROUTES` |
//! | `ROUTES` | the route table, see [`crate::routing`] | none |
//! | `MAX_BODY_BYTES` | larger bodies are answered 413 | 262144 (256 KiB) |
//! | `SOURCE` | the envelope's `source` | the provider's name |
//! | `SECRETS_TTL_SECONDS` | how long the signing secret is cached | 300 |
//! | `AWS_ENDPOINT_URL` | AWS endpoint override (local emulator) | AWS |

use crate::routing::{Routes, RoutesError};

/// The default body limit: 256 KiB, SQS's classic message size, so an accepted body always fits.
pub const DEFAULT_MAX_BODY_BYTES: usize = 256 * 1024;

/// Everything a receiver reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiverConfig {
    /// The signing secret's id.
    pub secret_id: String,
    /// Where events go.
    pub routes: Routes,
    /// Bodies larger than this are answered 413.
    pub max_body_bytes: usize,
    /// The envelope `source`, if overridden.
    pub source: Option<String>,
}

/// A configuration that cannot work; names the variable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("{0} is not set")]
    Missing(&'static str),
    /// A variable's value cannot be used.
    #[error("{name} is invalid: {reason}")]
    Invalid {
        /// The variable.
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// The route table is unusable.
    #[error(transparent)]
    Routes(#[from] RoutesError),
}

impl ReceiverConfig {
    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let secret_id = get("SECRET_ID").ok_or(ConfigError::Missing("SECRET_ID"))?;
        let routes = Routes::from_config(get("ROUTES").as_deref(), get("QUEUE_URL").as_deref())
            .map_err(|e| match e {
                RoutesError::NoDestination => ConfigError::Missing("QUEUE_URL"),
                other => ConfigError::Routes(other),
            })?;
        let max_body_bytes = match get("MAX_BODY_BYTES") {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(text) => text
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| ConfigError::Invalid {
                    name: "MAX_BODY_BYTES",
                    reason: format!("{text:?} is not a positive number of bytes"),
                })?,
        };
        Ok(Self {
            secret_id: secret_id.trim().to_owned(),
            routes,
            max_body_bytes,
            source: get("SOURCE").map(|s| s.trim().to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<ReceiverConfig, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ReceiverConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn minimal_configuration_uses_defaults() {
        let c = config(&[("SECRET_ID", "stripe/signing"), ("QUEUE_URL", "http://q")]).unwrap();
        assert_eq!(c.secret_id, "stripe/signing");
        assert_eq!(c.routes.queues_for("any"), ["http://q"]);
        assert_eq!(c.max_body_bytes, 262_144);
        assert_eq!(c.source, None);
    }

    #[test]
    fn every_variable_is_read() {
        let c = config(&[
            ("SECRET_ID", "s"),
            ("ROUTES", r#"{"a.*": "http://a"}"#),
            ("MAX_BODY_BYTES", "1024"),
            ("SOURCE", "acme"),
        ])
        .unwrap();
        assert_eq!(c.routes.queues_for("a.b"), ["http://a"]);
        assert!(c.routes.queues_for("b").is_empty());
        assert_eq!(c.max_body_bytes, 1024);
        assert_eq!(c.source.as_deref(), Some("acme"));
    }

    #[test]
    fn missing_or_invalid_variables_are_named() {
        assert_eq!(
            config(&[("QUEUE_URL", "q")]).unwrap_err(),
            ConfigError::Missing("SECRET_ID")
        );
        assert_eq!(
            config(&[("SECRET_ID", "s")]).unwrap_err(),
            ConfigError::Missing("QUEUE_URL")
        );
        for bad in ["0", "-1", "lots"] {
            let e = config(&[
                ("SECRET_ID", "s"),
                ("QUEUE_URL", "q"),
                ("MAX_BODY_BYTES", bad),
            ])
            .unwrap_err();
            assert!(
                e.to_string().starts_with("MAX_BODY_BYTES is invalid"),
                "{e}"
            );
        }
        let e = config(&[("SECRET_ID", "s"), ("ROUTES", "[1]")]).unwrap_err();
        assert!(matches!(e, ConfigError::Routes(_)), "{e}");
    }
}
