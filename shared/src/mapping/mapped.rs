//! The result of mapping one event: the rule that selected it and the computed fields.

use std::sync::Arc;

use serde_json::{Map, Value};

/// The fields a rule computed for one event, ready for the destination: a JSON object (keys in
/// sorted order), with missing optional fields left out.
///
/// ```
/// # use switchyard::mapping::{Mapping, Schema, FieldType};
/// # use switchyard::envelope::CloudEvent;
/// # let schema = Schema::new().field("text", FieldType::String);
/// # let mapping = Mapping::load(r#"
/// # [[rule]]
/// # name = "any"
/// # source = "*"
/// # type = "*"
/// # fields.text = { template = "Event {{ id }}" }
/// # "#, "mapping.toml", &schema).unwrap();
/// # let event = CloudEvent::new_value("evt_1", "stripe", "invoice.paid", serde_json::json!({})).unwrap();
/// let mapped = mapping.apply(&event)?.expect("a rule selects every event");
/// assert_eq!(mapped.rule(), "any");
/// assert_eq!(mapped.get_str("text"), Some("Event evt_1"));
/// let body = mapped.into_value(); // {"text": "Event evt_1"}, e.g. a Slack chat.postMessage body
/// # assert_eq!(body, serde_json::json!({"text": "Event evt_1"}));
/// # Ok::<(), switchyard::mapping::MappingError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    rule: Arc<str>,
    fields: Map<String, Value>,
}

impl Mapped {
    pub(crate) fn new(rule: Arc<str>, fields: Map<String, Value>) -> Self {
        Self { rule, fields }
    }

    /// The name of the rule that selected the event (for logs and metrics).
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The computed fields.
    pub fn fields(&self) -> &Map<String, Value> {
        &self.fields
    }

    /// One field's value; `None` when the rule has no such field or it was missing.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.fields.get(name)
    }

    /// One field's value when it is text.
    pub fn get_str(&self, name: &str) -> Option<&str> {
        self.fields.get(name).and_then(Value::as_str)
    }

    /// The fields, taken out.
    pub fn into_fields(self) -> Map<String, Value> {
        self.fields
    }

    /// The fields as one JSON object: a request body, or the input of
    /// `serde_json::from_value` into the destination's own type (whose error converts into
    /// the kit's [`Error`](crate::Error) without quoting values).
    pub fn into_value(self) -> Value {
        Value::Object(self.fields)
    }
}
