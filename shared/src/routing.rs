//! Routing: which queues an accepted event goes to, by its type.
//!
//! A receiver is configured either with one queue (`QUEUE_URL`: every accepted event goes there)
//! or with a route table (`ROUTES`): a JSON object from an event-type pattern to one queue URL or
//! a list of them.
//!
//! ```json
//! {
//!   "customer.*":          "https://sqs.us-east-1.amazonaws.com/123456789012/crm",
//!   "invoice.paid":        ["https://…/billing", "https://…/analytics"],
//!   "*":                   "https://…/archive"
//! }
//! ```
//!
//! A pattern is an exact type or a glob where `*` matches any run of characters (dots and
//! slashes included, so `customer.*` matches `customer.subscription.updated` and `orders/*`
//! matches Shopify's `orders/create`). An event goes to the union of the queues of **every**
//! pattern it matches, each queue once, in table order — like EventBridge rules, so an archive
//! route (`*`) sits beside specific ones. An event no pattern matches is not an error: the
//! receiver answers 200 and logs it as ignored, because providers disable endpoints that keep
//! failing.

use std::fmt;

/// A route table: event-type patterns to queue URLs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes {
    routes: Vec<Route>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Route {
    pattern: String,
    queues: Vec<String>,
}

/// A route table that cannot be used; names what is wrong (never a secret: it holds URLs only).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutesError {
    /// `ROUTES` is not a JSON object of pattern → URL or list of URLs.
    #[error("ROUTES must be a JSON object of event-type pattern to queue URL(s): {0}")]
    Invalid(String),
    /// Neither `QUEUE_URL` nor `ROUTES` says where events go.
    #[error("no destination configured: set QUEUE_URL or ROUTES")]
    NoDestination,
}

impl Routes {
    /// Every event to one queue.
    pub fn single(queue_url: impl Into<String>) -> Self {
        Self {
            routes: vec![Route {
                pattern: "*".into(),
                queues: vec![queue_url.into()],
            }],
        }
    }

    /// Parses a route table from its JSON text (the `ROUTES` variable), keeping table order.
    pub fn parse(json: &str) -> Result<Self, RoutesError> {
        let table: OrderedTable =
            serde_json::from_str(json).map_err(|e| RoutesError::Invalid(e.to_string()))?;
        let mut routes = Vec::with_capacity(table.0.len());
        for (pattern, target) in table.0 {
            if pattern.is_empty() {
                return Err(RoutesError::Invalid("empty pattern".into()));
            }
            let queues = match target {
                Target::One(url) => vec![url],
                Target::Many(urls) => urls,
            };
            if queues.is_empty() || queues.iter().any(|q| q.trim().is_empty()) {
                return Err(RoutesError::Invalid(format!(
                    "pattern {pattern:?}: empty queue URL"
                )));
            }
            routes.push(Route { pattern, queues });
        }
        Ok(Self { routes })
    }

    /// The table from a receiver's configuration: `ROUTES` if given, else `QUEUE_URL`.
    pub fn from_config(routes: Option<&str>, queue_url: Option<&str>) -> Result<Self, RoutesError> {
        match (routes.filter(|r| !r.trim().is_empty()), queue_url) {
            (Some(table), _) => Self::parse(table),
            (None, Some(url)) if !url.trim().is_empty() => Ok(Self::single(url)),
            _ => Err(RoutesError::NoDestination),
        }
    }

    /// The queues an event of `event_type` goes to: every matching route's queues, each once,
    /// in table order. Empty means "ignored".
    pub fn queues_for(&self, event_type: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for route in &self.routes {
            if glob_match(&route.pattern, event_type) {
                for q in &route.queues {
                    if !out.contains(&q.as_str()) {
                        out.push(q);
                    }
                }
            }
        }
        out
    }

    /// Every queue the table can send to (for start-up checks and IAM review).
    pub fn all_queues(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for q in self.routes.iter().flat_map(|r| &r.queues) {
            if !out.contains(&q.as_str()) {
                out.push(q);
            }
        }
        out
    }
}

impl fmt::Display for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.routes.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{} -> {}", r.pattern, r.queues.join(","))?;
        }
        Ok(())
    }
}

/// A queue URL or a list of them.
#[derive(serde::Deserialize)]
#[serde(untagged, expecting = "a queue URL or a list of queue URLs")]
enum Target {
    One(String),
    Many(Vec<String>),
}

/// The JSON object's entries in document order (`serde_json::Map` would sort them).
struct OrderedTable(Vec<(String, Target)>);

impl<'de> serde::Deserialize<'de> for OrderedTable {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> serde::de::Visitor<'de> for Entries {
            type Value = OrderedTable;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object of event-type pattern to queue URL(s)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedTable, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, Target>()? {
                    entries.push(entry);
                }
                Ok(OrderedTable(entries))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// `*`-glob match: `*` matches any run of characters (possibly empty); everything else literally.
fn glob_match(pattern: &str, text: &str) -> bool {
    let Some((first, rest)) = pattern.split_once('*') else {
        return pattern == text;
    };
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = rest.split('*').collect();
    let last = parts.pop().unwrap_or("");
    for part in parts {
        match remaining.find(part) {
            Some(i) => remaining = &remaining[i + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_matches_exact_prefix_suffix_and_middle() {
        assert!(glob_match("invoice.paid", "invoice.paid"));
        assert!(!glob_match("invoice.paid", "invoice.paid.extra"));
        assert!(glob_match("customer.*", "customer.created"));
        assert!(glob_match("customer.*", "customer.subscription.updated"));
        assert!(!glob_match("customer.*", "customers.created"));
        assert!(!glob_match("customer.*", "invoice.customer.x"));
        assert!(glob_match("*", ""));
        assert!(glob_match("*.deleted", "customer.deleted"));
        assert!(!glob_match("*.deleted", "customer.deleted.x"));
        assert!(glob_match("orders/*", "orders/create"));
        assert!(glob_match("a*b*c", "a-x-b-y-c"));
        assert!(!glob_match("a*b*c", "a-x-c-y-b"));
        assert!(
            !glob_match("ab*ba", "aba"),
            "prefix and suffix may not overlap"
        );
    }

    #[test]
    fn single_queue_takes_everything() {
        let r = Routes::single("q1");
        assert_eq!(r.queues_for("anything.at.all"), ["q1"]);
    }

    #[test]
    fn union_of_every_matching_route_each_queue_once_in_table_order() {
        let r = Routes::parse(
            r#"{"customer.*": "crm", "customer.created": ["welcome", "crm"], "*": "archive"}"#,
        )
        .unwrap();
        assert_eq!(
            r.queues_for("customer.created"),
            ["crm", "welcome", "archive"]
        );
        assert_eq!(r.queues_for("customer.deleted"), ["crm", "archive"]);
        assert_eq!(r.queues_for("invoice.paid"), ["archive"]);
        assert_eq!(r.all_queues(), ["crm", "welcome", "archive"]);
    }

    #[test]
    fn unmatched_event_is_ignored_not_an_error() {
        let r = Routes::parse(r#"{"customer.*": "crm"}"#).unwrap();
        assert!(r.queues_for("invoice.paid").is_empty());
    }

    #[test]
    fn bad_tables_are_rejected_with_a_reason() {
        for bad in [
            "not json",
            "[]",
            r#"{"a": 1}"#,
            r#"{"a": [1]}"#,
            r#"{"a": []}"#,
            r#"{"a": ""}"#,
            r#"{"": "q"}"#,
        ] {
            let e = Routes::parse(bad).unwrap_err();
            assert!(matches!(e, RoutesError::Invalid(_)), "{bad}: {e}");
        }
    }

    #[test]
    fn config_prefers_routes_then_queue_url_and_needs_one() {
        let r = Routes::from_config(Some(r#"{"x": "routed"}"#), Some("default")).unwrap();
        assert_eq!(r.queues_for("x"), ["routed"]);
        assert!(r.queues_for("y").is_empty());
        let r = Routes::from_config(Some("  "), Some("default")).unwrap();
        assert_eq!(r.queues_for("y"), ["default"]);
        assert_eq!(
            Routes::from_config(None, None).unwrap_err(),
            RoutesError::NoDestination
        );
        assert_eq!(
            Routes::from_config(None, Some("")).unwrap_err(),
            RoutesError::NoDestination
        );
    }
}
