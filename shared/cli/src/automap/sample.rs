//! The sample event: its leaves (path and value), and the `source` and `type` a rule for it
//! selects.
//!
//! A sample is either a CloudEvents envelope as it travels on the queues (it has
//! `specversion`), or a provider's payload as a receiver takes it. Receivers put the payload in
//! the envelope's `data`, so a leaf at `customer.email` in a payload is `data.customer.email`
//! in the mapping; in an envelope, only the leaves under `data` are offered.

use serde_json::Value;

/// Arrays offer their first element only: a sample's lists are examples, and a mapping takes
/// fixed positions (`data.items.0.sku`).
const ARRAY_ELEMENTS: usize = 1;

/// One leaf of the sample.
#[derive(Debug, Clone, PartialEq)]
pub struct Leaf {
    /// Its path in the mapping's syntax (`data.data.object.email`).
    pub path: String,
    /// The name it is matched by: its last member name (for an array element, the array's).
    pub name: String,
    /// Its value in the sample.
    pub value: Value,
    /// How many members deep it is under `data`.
    pub depth: usize,
}

/// A sample, read.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Its leaves, in document order.
    pub leaves: Vec<Leaf>,
    /// The envelope's `source`, when the sample is an envelope.
    pub source: Option<String>,
    /// The event's type: the envelope's `type`, else the payload's own `type` (Stripe,
    /// Standard Webhooks), else `topic` or `event`.
    pub event_type: Option<String>,
}

/// Reads a sample event.
pub fn read(sample: &Value) -> Sample {
    let envelope = sample.get("specversion").is_some();
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    let (data, source, event_type) = if envelope {
        (
            sample.get("data").cloned().unwrap_or(Value::Null),
            text(sample.get("source")),
            text(sample.get("type")),
        )
    } else {
        let event_type = ["type", "topic", "event"]
            .into_iter()
            .find_map(|k| text(sample.get(k)));
        (sample.clone(), None, event_type)
    };
    let mut leaves = Vec::new();
    walk(&data, "data", "data", 0, &mut leaves);
    Sample {
        leaves,
        source,
        event_type,
    }
}

fn walk(value: &Value, path: &str, name: &str, depth: usize, out: &mut Vec<Leaf>) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                // A member name with a dot cannot be written as a path (templates reach it).
                if key.is_empty() || key.contains('.') {
                    continue;
                }
                walk(member, &format!("{path}.{key}"), key, depth + 1, out);
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().take(ARRAY_ELEMENTS).enumerate() {
                walk(item, &format!("{path}.{index}"), name, depth + 1, out);
            }
        }
        scalar => out.push(Leaf {
            path: path.to_owned(),
            name: name.to_owned(),
            value: scalar.clone(),
            depth,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_payload_is_read_as_the_envelopes_data() {
        let s = read(&json!({"id": "evt_1", "type": "customer.created",
            "data": {"object": {"email": "a@b.co", "tags": ["x", "y"], "a.b": 1}}}));
        let mut paths: Vec<&str> = s.leaves.iter().map(|l| l.path.as_str()).collect();
        paths.sort_unstable();
        assert_eq!(
            paths,
            [
                "data.data.object.email",
                "data.data.object.tags.0",
                "data.id",
                "data.type"
            ]
        );
        let tag = s.leaves.iter().find(|l| l.path.ends_with(".0")).unwrap();
        assert_eq!(tag.name, "tags");
        assert_eq!(s.event_type.as_deref(), Some("customer.created"));
        assert_eq!(s.source, None);
    }

    #[test]
    fn an_envelope_offers_its_data() {
        let s = read(
            &json!({"specversion": "1.0", "id": "1", "source": "shopify",
            "type": "customers/create", "data": {"email": "a@b.co"}}),
        );
        assert_eq!(s.leaves.len(), 1);
        assert_eq!(s.leaves[0].path, "data.email");
        assert_eq!(s.leaves[0].depth, 1);
        assert_eq!(s.source.as_deref(), Some("shopify"));
        assert_eq!(s.event_type.as_deref(), Some("customers/create"));
    }
}
