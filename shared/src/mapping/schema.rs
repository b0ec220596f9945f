//! The destination schema: the fields a function's destination accepts, and their types.
//!
//! A mapping file is data that an operator may replace without a rebuild (`MAPPING_FILE`), so
//! the function, which knows its destination's API, declares what that API accepts and the
//! loader checks every rule against it at cold start: a field the destination does not know is
//! a typo that would otherwise be dropped (or refused with a 400) on every event.

use std::collections::BTreeMap;
use std::fmt;

/// The JSON type a field is coerced to (a field's `type` in the file, or the schema's).
///
/// The four scalar types are the conversions a destination's API usually needs (a HubSpot
/// number property given Stripe's numeric string, a Slack `text` given a number); `array` and
/// `object` check the shape of structured values such as Slack's `blocks`; `any` leaves the
/// value as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// No conversion.
    Any,
    /// Text: numbers and booleans become their JSON text; arrays and objects are refused.
    String,
    /// A whole number: from integers, integral floats (`12.0`) and numeric strings (`" 42 "`).
    Integer,
    /// A number: from numbers and numeric strings (integers stay integers).
    Number,
    /// `true` / `false`: from booleans, the strings `true`/`false`/`yes`/`no`/`1`/`0` (any
    /// case) and the numbers 0 and 1.
    Boolean,
    /// A JSON array, unchanged (nothing is converted into one).
    Array,
    /// A JSON object, unchanged.
    Object,
}

impl FieldType {
    /// The name used in mapping files and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::Any => "any",
            FieldType::String => "string",
            FieldType::Integer => "integer",
            FieldType::Number => "number",
            FieldType::Boolean => "boolean",
            FieldType::Array => "array",
            FieldType::Object => "object",
        }
    }

    /// The type named `name` in a mapping file.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "any" => FieldType::Any,
            "string" => FieldType::String,
            "integer" => FieldType::Integer,
            "number" => FieldType::Number,
            "boolean" => FieldType::Boolean,
            "array" => FieldType::Array,
            "object" => FieldType::Object,
            _ => return None,
        })
    }
}

impl fmt::Display for FieldType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One field the destination accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchemaField {
    /// What the value is coerced to before it is handed over.
    pub ty: FieldType,
    /// Whether the destination needs it: every rule must set it, and a missing value fails the
    /// event as if the field said `required = true`.
    pub required: bool,
}

/// The fields a destination accepts, declared by the function (e.g. Slack's `text`, `blocks`,
/// `channel`, `thread_ts`; a CRM's contact properties).
///
/// ```
/// use switchyard::mapping::{FieldType, Schema};
///
/// let slack = Schema::new()
///     .required("channel", FieldType::String)
///     .field("text", FieldType::String)
///     .field("blocks", FieldType::Array)
///     .field("thread_ts", FieldType::String);
/// assert!(slack.get("blocks").is_some());
/// assert!(slack.get("attachments").is_none());
/// ```
#[derive(Debug, Clone, Default)]
pub struct Schema {
    fields: BTreeMap<String, SchemaField>,
    others: Option<FieldType>,
}

impl Schema {
    /// A schema that accepts no field yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts the optional field `name`, coerced to `ty`.
    pub fn field(mut self, name: impl Into<String>, ty: FieldType) -> Self {
        self.fields.insert(
            name.into(),
            SchemaField {
                ty,
                required: false,
            },
        );
        self
    }

    /// Accepts the field `name`, coerced to `ty`, and requires every rule to set it.
    pub fn required(mut self, name: impl Into<String>, ty: FieldType) -> Self {
        self.fields
            .insert(name.into(), SchemaField { ty, required: true });
        self
    }

    /// Also accepts any other field name, coerced to `ty`: for destinations whose field names
    /// are not known when the function is built (a CRM's custom properties). The check for
    /// unknown fields is then off for those names, so use it only when it has to be.
    pub fn other_fields(mut self, ty: FieldType) -> Self {
        self.others = Some(ty);
        self
    }

    /// What the destination accepts under `name`, if it does.
    pub fn get(&self, name: &str) -> Option<SchemaField> {
        self.fields
            .get(name)
            .copied()
            .or(self.others.map(|ty| SchemaField {
                ty,
                required: false,
            }))
    }

    /// The names of the fields every rule must set.
    pub fn required_fields(&self) -> impl Iterator<Item = &str> {
        self.fields
            .iter()
            .filter(|(_, field)| field.required)
            .map(|(name, _)| name.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_fields_are_found_and_others_are_not() {
        let schema = Schema::new()
            .required("channel", FieldType::String)
            .field("blocks", FieldType::Array);
        assert_eq!(
            schema.get("channel"),
            Some(SchemaField {
                ty: FieldType::String,
                required: true
            })
        );
        assert_eq!(schema.get("blocks").map(|f| f.ty), Some(FieldType::Array));
        assert_eq!(schema.get("text"), None);
        assert_eq!(schema.required_fields().collect::<Vec<_>>(), ["channel"]);
    }

    #[test]
    fn other_fields_accepts_any_name_with_its_type() {
        let schema = Schema::new()
            .field("email", FieldType::String)
            .other_fields(FieldType::Any);
        assert_eq!(
            schema.get("custom_score").map(|f| f.ty),
            Some(FieldType::Any)
        );
        assert_eq!(schema.get("email").map(|f| f.ty), Some(FieldType::String));
    }

    #[test]
    fn type_names_round_trip() {
        for ty in [
            FieldType::Any,
            FieldType::String,
            FieldType::Integer,
            FieldType::Number,
            FieldType::Boolean,
            FieldType::Array,
            FieldType::Object,
        ] {
            assert_eq!(FieldType::from_name(ty.as_str()), Some(ty));
        }
        assert_eq!(FieldType::from_name("int"), None);
    }
}
