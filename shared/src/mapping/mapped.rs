//! The result of mapping one event: the rule that selected it, the computed fields, and how
//! each may be shown in logs.

use std::fmt;
use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::mask::Mask;

/// The masks a rule names, by field: shared by the rule and every [`Mapped`] it makes.
pub(crate) type FieldMasks = Arc<[(String, Mask)]>;

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
///
/// Its `Debug` shows the [masked view](Mapped::for_log), so `?mapped` in a log line is as safe
/// as `%mapped.for_log()`.
#[derive(Clone, PartialEq)]
pub struct Mapped {
    rule: Arc<str>,
    fields: Map<String, Value>,
    masks: FieldMasks,
}

impl Mapped {
    pub(crate) fn new(rule: Arc<str>, fields: Map<String, Value>, masks: FieldMasks) -> Self {
        Self {
            rule,
            fields,
            masks,
        }
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

    /// The mask the rule names for the field `name` (its `mask` in the mapping file); `None`
    /// when the field is shown in logs as it is.
    pub fn mask_of(&self, name: &str) -> Option<Mask> {
        self.masks
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, mask)| *mask)
    }

    /// The fields as they may be logged: each field whose rule names a `mask` masked with it
    /// (see [`crate::mask`]), the others as they are. Displays as one line of JSON, and
    /// serializes as that object; nothing is masked until it is written, so a `debug!` line
    /// that is filtered out costs nothing.
    ///
    /// ```
    /// # use switchyard::mapping::{Mapping, Schema, FieldType};
    /// # use switchyard::envelope::CloudEvent;
    /// let schema = Schema::new()
    ///     .field("email", FieldType::String)
    ///     .field("text", FieldType::String)
    ///     .field("plan", FieldType::String);
    /// let mapping = Mapping::load(r#"
    /// [[rule]]
    /// name = "signup"
    /// source = "*"
    /// type = "*"
    /// [rule.fields]
    /// email = { path = "data.email", mask = "email" }
    /// text = { template = "Welcome {{ data.email }}", mask = true }
    /// plan = { path = "data.plan" }
    /// "#, "mapping.toml", &schema)?;
    /// let event = CloudEvent::new_value(
    ///     "evt_1", "shop", "signup",
    ///     serde_json::json!({"email": "ada@example.com", "plan": "pro"}),
    /// )?;
    /// let mapped = mapping.apply(&event)?.expect("the rule selects every event");
    /// tracing::debug!(rule = mapped.rule(), fields = %mapped.for_log(), "mapped");
    /// assert_eq!(
    ///     mapped.for_log().to_string(),
    ///     r#"{"email":"*****@example.com","plan":"pro","text":"*****"}"#
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn for_log(&self) -> ForLog<'_> {
        ForLog(self)
    }

    /// The fields as they may be logged (see [`Mapped::for_log`]), as a JSON object.
    pub fn masked(&self) -> Map<String, Value> {
        self.fields
            .iter()
            .map(|(name, value)| (name.clone(), self.masked_value(name, value)))
            .collect()
    }

    /// One field's value as it may be logged.
    fn masked_value(&self, name: &str, value: &Value) -> Value {
        match self.mask_of(name) {
            Some(mask) => mask.apply(value),
            None => value.clone(),
        }
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

impl fmt::Debug for Mapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mapped")
            .field("rule", &self.rule)
            .field("fields", &format_args!("{}", self.for_log()))
            .finish()
    }
}

/// A [`Mapped`]'s fields as they may be logged: masked where the rule says so. Made by
/// [`Mapped::for_log`]; `Display` writes one line of JSON, `Serialize` the object.
#[derive(Clone, Copy)]
pub struct ForLog<'a>(&'a Mapped);

impl Serialize for ForLog<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.fields.len()))?;
        for (name, value) in &self.0.fields {
            match self.0.mask_of(name) {
                Some(mask) => map.serialize_entry(name, &mask.apply(value))?,
                None => map.serialize_entry(name, value)?,
            }
        }
        map.end()
    }
}

impl fmt::Display for ForLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Serializing a map of JSON values cannot fail.
        let text = serde_json::to_string(self).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

impl fmt::Debug for ForLog<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapped() -> Mapped {
        let fields = json!({
            "email": "ada.lovelace@example.com",
            "firstname": "Ada",
            "phone": "+44 20 7946 0958",
            "plan": "pro",
            "seats": 3,
        });
        let Value::Object(fields) = fields else {
            unreachable!()
        };
        let masks: FieldMasks = vec![
            ("email".to_owned(), Mask::Email),
            ("firstname".to_owned(), Mask::Erase),
            ("phone".to_owned(), Mask::KeepLast(4)),
            ("absent".to_owned(), Mask::Erase),
        ]
        .into();
        Mapped::new("stripe-customer".into(), fields, masks)
    }

    #[test]
    fn for_log_masks_the_marked_fields_and_shows_the_others() {
        let mapped = mapped();
        let expected = json!({
            "email": "*****@example.com",
            "firstname": "*****",
            "phone": "*****0958",
            "plan": "pro",
            "seats": 3,
        });
        assert_eq!(Value::Object(mapped.masked()), expected);
        assert_eq!(serde_json::to_value(mapped.for_log()).unwrap(), expected);
        assert_eq!(mapped.for_log().to_string(), expected.to_string());
        assert_eq!(format!("{:?}", mapped.for_log()), expected.to_string());
        assert_eq!(mapped.mask_of("phone"), Some(Mask::KeepLast(4)));
        assert_eq!(mapped.mask_of("plan"), None);
        // What is sent is not masked.
        assert_eq!(mapped.get_str("email"), Some("ada.lovelace@example.com"));
    }

    #[test]
    fn debug_shows_the_masked_view() {
        let text = format!("{:?}", mapped());
        assert!(text.contains("*****@example.com"), "{text}");
        assert!(text.contains("stripe-customer"), "{text}");
        for personal in ["ada.lovelace", "Ada", "7946"] {
            assert!(!text.contains(personal), "{personal} in {text}");
        }
    }
}
