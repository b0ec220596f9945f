//! JSON values into template values and back, directly rather than through serde.
//!
//! minijinja takes any `Serialize` value, but serializing a `serde_json::Value` into one goes
//! through minijinja's serializer machinery for every node, and the filters turn values into
//! JSON and back on every call. Scalars, which are most of what a rule touches, convert here
//! with one match each; only lists and maps coming out of a template go through serde.

use minijinja::value::{Value as TemplateValue, ValueKind};
use serde_json::{Number, Value};

/// A JSON value as a template value.
pub(crate) fn to_template(value: &Value) -> TemplateValue {
    match value {
        Value::Null => TemplateValue::from(()),
        Value::Bool(b) => TemplateValue::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                TemplateValue::from(i)
            } else if let Some(u) = n.as_u64() {
                TemplateValue::from(u)
            } else {
                TemplateValue::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => TemplateValue::from(s.as_str()),
        Value::Array(items) => items.iter().map(to_template).collect(),
        Value::Object(members) => members
            .iter()
            .map(|(key, value)| (key.as_str(), to_template(value)))
            .collect(),
    }
}

/// A template value as JSON: `undefined` and `none` become `null`; `None` for what JSON
/// cannot hold (a callable, a map with keys that are not text, a NaN).
pub(crate) fn to_json(value: &TemplateValue) -> Option<Value> {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => Some(Value::Null),
        ValueKind::Bool => Some(Value::Bool(value.is_true())),
        ValueKind::String => value.as_str().map(|s| Value::String(s.to_owned())),
        ValueKind::Number => {
            if let Some(i) = value.as_i64() {
                Some(Value::from(i))
            } else if let Ok(u) = u64::try_from(value.clone()) {
                Some(Value::from(u))
            } else {
                let f = f64::try_from(value.clone()).ok()?;
                Number::from_f64(f).map(Value::Number)
            }
        }
        ValueKind::Seq | ValueKind::Map | ValueKind::Iterable | ValueKind::Bytes => {
            serde_json::to_value(value).ok()
        }
        // Callables and other plain objects serialize as their names: not data.
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_template_values() {
        for value in [
            json!(null),
            json!(true),
            json!(-12),
            json!(u64::MAX),
            json!(1.5),
            json!("jane"),
            json!([1, "a", [null]]),
            json!({"a": {"b": [1, 2]}, "c": "d"}),
        ] {
            let template = to_template(&value);
            assert_eq!(to_json(&template), Some(value.clone()), "{value}");
            // The same as minijinja's own conversion.
            assert_eq!(template, TemplateValue::from_serialize(&value), "{value}");
        }
    }

    #[test]
    fn undefined_is_null_and_callables_are_not_json() {
        assert_eq!(to_json(&TemplateValue::UNDEFINED), Some(Value::Null));
        let callable = TemplateValue::from_function(|| "x".to_owned());
        assert_eq!(to_json(&callable), None);
        assert_eq!(to_json(&TemplateValue::from(f64::NAN)), None);
    }
}
