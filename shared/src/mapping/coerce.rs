//! Type coercion: a computed value converted to the JSON type its field (or the destination)
//! declares.
//!
//! Providers are loose about types (Stripe sends some amounts as strings, Shopify prices are
//! always strings), destinations are strict (a HubSpot number property refuses `"12.50"` in some
//! endpoints, Slack's `text` must be a string). Coercion is the last step of a field, after its
//! transforms, so each side keeps its own types. A value that cannot be converted is a
//! [`CoerceError`]: it names both types and never the value.

use serde_json::{Number, Value};

use super::schema::FieldType;

/// A value could not be converted to the declared type. Permanent: the same event always
/// carries the same value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot convert {found} to {expected}")]
pub struct CoerceError {
    /// The declared type.
    pub expected: FieldType,
    /// What the value was: `"a string that is not a number"`, `"an array"`, ….
    pub found: &'static str,
}

/// The JSON type of a value, for messages (`"a string"`, `"an object"`).
pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `value` converted to `ty`. `null` is never coerced: a missing value is handled before
/// (default, required), so here it passes through unchanged.
pub(crate) fn coerce(value: Value, ty: FieldType) -> Result<Value, CoerceError> {
    let fail = |found| CoerceError {
        expected: ty,
        found,
    };
    match (ty, value) {
        (FieldType::Any, v) | (_, v @ Value::Null) => Ok(v),
        (FieldType::String, Value::String(s)) => Ok(Value::String(s)),
        (FieldType::String, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (FieldType::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (FieldType::Integer, Value::Number(n)) => {
            integer_of_number(&n).ok_or(fail("a number that is not whole"))
        }
        (FieldType::Integer, Value::String(s)) => {
            integer_of_text(&s).ok_or(fail("a string that is not a whole number"))
        }
        (FieldType::Number, Value::Number(n)) => Ok(Value::Number(n)),
        (FieldType::Number, Value::String(s)) => {
            number_of_text(&s).ok_or(fail("a string that is not a number"))
        }
        (FieldType::Boolean, Value::Bool(b)) => Ok(Value::Bool(b)),
        (FieldType::Boolean, Value::String(s)) => {
            boolean_of_text(&s).ok_or(fail("a string that is not a boolean"))
        }
        (FieldType::Boolean, Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
            (Some(0), _) => Ok(Value::Bool(false)),
            (Some(1), _) => Ok(Value::Bool(true)),
            (_, Some(0.0)) => Ok(Value::Bool(false)),
            (_, Some(1.0)) => Ok(Value::Bool(true)),
            _ => Err(fail("a number other than 0 or 1")),
        },
        (FieldType::Array, v @ Value::Array(_)) | (FieldType::Object, v @ Value::Object(_)) => {
            Ok(v)
        }
        (_, v) => Err(fail(json_kind(&v))),
    }
}

/// The largest float that converts to an integer exactly enough: 2^53.
const MAX_EXACT_FLOAT: f64 = 9_007_199_254_740_992.0;

fn integer_of_number(n: &Number) -> Option<Value> {
    if n.is_i64() || n.is_u64() {
        return Some(Value::Number(n.clone()));
    }
    let f = n.as_f64()?;
    (f.fract() == 0.0 && f.abs() <= MAX_EXACT_FLOAT).then(|| Value::from(f as i64))
}

fn integer_of_text(text: &str) -> Option<Value> {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Value::from(u));
    }
    let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
    integer_of_number(&Number::from_f64(f)?)
}

/// A number from text: integers stay integers (`"42"` → `42`, not `42.0`).
pub(crate) fn number_of_text(text: &str) -> Option<Value> {
    let text = text.trim();
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Value::from(u));
    }
    // `parse::<f64>` also accepts "inf" and "NaN", which JSON cannot carry.
    let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
    Number::from_f64(f).map(Value::Number)
}

fn boolean_of_text(text: &str) -> Option<Value> {
    let text = text.trim();
    let is = |word: &str| text.eq_ignore_ascii_case(word);
    if is("true") || is("yes") || text == "1" {
        Some(Value::Bool(true))
    } else if is("false") || is("no") || text == "0" {
        Some(Value::Bool(false))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn ok(value: Value, ty: FieldType) -> Value {
        coerce(value, ty).unwrap()
    }

    fn err(value: Value, ty: FieldType) -> CoerceError {
        coerce(value, ty).unwrap_err()
    }

    #[test]
    fn to_string() {
        assert_eq!(ok(json!("a"), FieldType::String), json!("a"));
        assert_eq!(ok(json!(12), FieldType::String), json!("12"));
        assert_eq!(ok(json!(12.5), FieldType::String), json!("12.5"));
        assert_eq!(ok(json!(true), FieldType::String), json!("true"));
        assert_eq!(
            err(json!([1]), FieldType::String).to_string(),
            "cannot convert an array to string"
        );
        assert_eq!(err(json!({}), FieldType::String).found, "an object");
    }

    #[test]
    fn to_integer() {
        assert_eq!(ok(json!(12), FieldType::Integer), json!(12));
        assert_eq!(ok(json!(12.0), FieldType::Integer), json!(12));
        assert_eq!(ok(json!(" -42 "), FieldType::Integer), json!(-42));
        assert_eq!(ok(json!("1e3"), FieldType::Integer), json!(1000));
        assert_eq!(
            ok(json!("18446744073709551615"), FieldType::Integer),
            json!(u64::MAX)
        );
        assert_eq!(
            err(json!(12.5), FieldType::Integer).found,
            "a number that is not whole"
        );
        assert_eq!(
            err(json!("12.5"), FieldType::Integer).found,
            "a string that is not a whole number"
        );
        assert_eq!(
            err(json!("1e300"), FieldType::Integer).expected,
            FieldType::Integer
        );
        assert_eq!(err(json!(true), FieldType::Integer).found, "a boolean");
    }

    #[test]
    fn to_number() {
        assert_eq!(ok(json!(1.5), FieldType::Number), json!(1.5));
        assert_eq!(ok(json!("42"), FieldType::Number), json!(42));
        assert_eq!(ok(json!(" 12.34 "), FieldType::Number), json!(12.34));
        for bad in ["", "NaN", "inf", "12,34", "twelve"] {
            assert_eq!(
                err(json!(bad), FieldType::Number).found,
                "a string that is not a number",
                "{bad}"
            );
        }
        assert_eq!(err(json!({}), FieldType::Number).found, "an object");
    }

    #[test]
    fn to_boolean() {
        for (input, expected) in [
            (json!(true), true),
            (json!("TRUE"), true),
            (json!("yes"), true),
            (json!("1"), true),
            (json!(1), true),
            (json!(" false "), false),
            (json!("No"), false),
            (json!("0"), false),
            (json!(0), false),
            (json!(0.0), false),
        ] {
            assert_eq!(
                ok(input.clone(), FieldType::Boolean),
                json!(expected),
                "{input}"
            );
        }
        assert_eq!(
            err(json!("maybe"), FieldType::Boolean).found,
            "a string that is not a boolean"
        );
        assert_eq!(
            err(json!(2), FieldType::Boolean).found,
            "a number other than 0 or 1"
        );
        assert_eq!(err(json!([]), FieldType::Boolean).found, "an array");
    }

    #[test]
    fn arrays_objects_and_any() {
        assert_eq!(ok(json!([1]), FieldType::Array), json!([1]));
        assert_eq!(ok(json!({"a": 1}), FieldType::Object), json!({"a": 1}));
        assert_eq!(err(json!("[1]"), FieldType::Array).found, "a string");
        assert_eq!(err(json!([]), FieldType::Object).found, "an array");
        assert_eq!(ok(json!({"a": 1}), FieldType::Any), json!({"a": 1}));
    }

    #[test]
    fn null_passes_through() {
        assert_eq!(ok(Value::Null, FieldType::Integer), Value::Null);
    }

    #[test]
    fn messages_never_quote_the_value() {
        let e = err(json!("jane@example.com"), FieldType::Integer);
        assert!(!e.to_string().contains("jane"), "{e}");
        assert!(!format!("{e:?}").contains("jane"));
    }
}
