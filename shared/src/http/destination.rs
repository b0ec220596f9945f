//! [`Destination`]: where a connector's calls go, the name its errors carry, and the policies
//! run around each call.

use std::fmt;
use std::sync::Arc;

use reqwest::Url;

use super::{CallPolicy, HttpError};

/// Where a connector sends its calls: a name for errors and logs, a base URL, and the
/// [`CallPolicy`]s (rate limit, circuit breaker) every call to it goes through.
///
/// The base URL comes from an environment variable when it is set and non-empty, else from the
/// real API's URL, so tests and local runs point the unchanged binary at a stand-in.
///
/// Build it once at cold start, with its policies, and share it (clones share the policies and
/// so their state).
#[derive(Clone)]
pub struct Destination {
    name: String,
    base_url: Url,
    policies: Vec<Arc<dyn CallPolicy>>,
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Destination")
            .field("name", &self.name)
            .field("base_url", &self.base_url.as_str())
            .field(
                "policies",
                &self.policies.iter().map(|p| p.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Destination {
    /// A destination with a fixed base URL (`http` or `https`, no user info).
    pub fn new(name: impl Into<String>, base_url: &str) -> Result<Self, HttpError> {
        let name = name.into();
        let base_url = match Url::parse(base_url) {
            Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                return Err(HttpError::config(&name, "base URL must be http or https"));
            }
            Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                return Err(HttpError::config(
                    &name,
                    "base URL must not carry credentials",
                ));
            }
            Ok(url) => url,
            Err(e) => {
                return Err(HttpError::config(&name, format!("invalid base URL: {e}")));
            }
        };
        Ok(Self {
            name,
            base_url,
            policies: Vec::new(),
        })
    }

    /// The same destination with `policy` run around every call, inside the policies added
    /// before it (the first added is the outermost: its `before` runs first and its `after`
    /// last).
    pub fn with_policy(mut self, policy: Arc<dyn CallPolicy>) -> Self {
        self.policies.push(policy);
        self
    }

    /// The policies run around every call, outermost first.
    pub fn policies(&self) -> &[Arc<dyn CallPolicy>] {
        &self.policies
    }

    /// The destination `name`, at the URL in environment variable `env_var` if it is set and
    /// non-empty, else at `default_url`.
    ///
    /// ```
    /// use switchyard::http::Destination;
    ///
    /// let slack = Destination::from_env("slack", "SLACK_API_BASE_URL", "https://slack.com/api")?;
    /// # Ok::<(), switchyard::http::HttpError>(())
    /// ```
    pub fn from_env(name: &str, env_var: &str, default_url: &str) -> Result<Self, HttpError> {
        Self::from_lookup(name, env_var, default_url, |key| std::env::var(key).ok())
    }

    /// [`Destination::from_env`] with the environment injected, for tests.
    pub fn from_lookup(
        name: &str,
        env_var: &str,
        default_url: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, HttpError> {
        match lookup(env_var) {
            Some(url) if !url.trim().is_empty() => Self::new(name, url.trim()),
            _ => Self::new(name, default_url),
        }
    }

    /// The name used in errors, logs and metrics.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The base URL calls are made against.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The full URL of `path` under the base URL.
    ///
    /// Plain concatenation with exactly one `/` between them (not RFC 3986 resolution, which
    /// silently drops the base's last segment when it lacks a trailing slash):
    /// `https://slack.com/api` + `chat.postMessage` → `https://slack.com/api/chat.postMessage`.
    pub fn url(&self, path: &str) -> Result<Url, HttpError> {
        let base = self.base_url.as_str().trim_end_matches('/');
        let path = path.trim_start_matches('/');
        Url::parse(&format!("{base}/{path}"))
            .map_err(|e| HttpError::config(&self.name, format!("invalid URL path: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::{Classify, ErrorClass};

    #[test]
    fn the_real_url_is_used_when_the_override_is_unset_or_empty() {
        for env in [None, Some(String::new()), Some("  ".to_owned())] {
            let dest = Destination::from_lookup(
                "slack",
                "SLACK_API_BASE_URL",
                "https://slack.com/api",
                |_| env.clone(),
            )
            .unwrap();
            assert_eq!(
                dest.url("chat.postMessage").unwrap().as_str(),
                "https://slack.com/api/chat.postMessage"
            );
        }
    }

    #[test]
    fn policies_stack_in_order_and_show_in_debug() {
        struct Named(&'static str);
        impl CallPolicy for Named {
            fn name(&self) -> &str {
                self.0
            }
        }
        let dest = Destination::new("crm", "https://api.example.com")
            .unwrap()
            .with_policy(Arc::new(Named("limiter")))
            .with_policy(Arc::new(Named("breaker")));
        let names: Vec<_> = dest
            .clone()
            .policies()
            .iter()
            .map(|p| p.name().to_owned())
            .collect();
        assert_eq!(names, ["limiter", "breaker"]);
        let debug = format!("{dest:?}");
        assert!(
            debug.contains(r#"policies: ["limiter", "breaker"]"#),
            "{debug}"
        );
    }

    #[test]
    fn urls_join_with_exactly_one_slash() {
        for base in ["http://h:1/api", "http://h:1/api/"] {
            let dest = Destination::new("d", base).unwrap();
            for p in ["v1/x", "/v1/x"] {
                assert_eq!(dest.url(p).unwrap().as_str(), "http://h:1/api/v1/x");
            }
        }
    }

    #[test]
    fn bad_base_urls_are_refused_at_cold_start() {
        for bad in ["not a url", "ftp://h/", "https://user:secret@h/"] {
            let err = Destination::new("d", bad).unwrap_err();
            assert_eq!(err.class(), ErrorClass::Permanent, "{bad}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }
}
