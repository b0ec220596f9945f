//! The destination's field list, as `--fields` gives it.
//!
//! Accepted shapes, so a list can come straight from an API or be written by hand:
//!
//! * `["email", "firstname", …]`: names only;
//! * `[{"name": "email", "type": "string", "required": true, "label": "Email"}, …]`: `type`
//!   and `label` optional (`type` is a mapping type, or a CRM's own such as HubSpot's `date`,
//!   `datetime`; `fieldType` `phonenumber` is read too);
//! * `{"results": [...]}` or `{"fields": [...]}` around either: HubSpot's properties API
//!   (`GET /crm/v3/properties/contacts`) answers `results`.

use serde_json::Value;

/// One destination field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DestinationField {
    /// Its name in the mapping file.
    pub name: String,
    /// Its label, when the list has one (another spelling to match against).
    pub label: Option<String>,
    /// Its declared type, when the list has one.
    pub declared_type: Option<String>,
    /// Whether every event must set it.
    pub required: bool,
}

/// Why a field list could not be read.
#[derive(Debug, thiserror::Error)]
pub enum FieldsError {
    /// Not one of the accepted shapes.
    #[error(
        "the field list must be a JSON array of names or of objects with a `name` (or an object \
         with `results` or `fields` holding one): {0}"
    )]
    Shape(String),
    /// No fields at all.
    #[error("the field list is empty")]
    Empty,
}

/// The fields `json` lists.
///
/// # Errors
/// [`FieldsError`] when it is not an accepted shape, or lists nothing.
pub fn parse(json: &Value) -> Result<Vec<DestinationField>, FieldsError> {
    let list = match json {
        Value::Array(list) => list,
        Value::Object(o) => match o.get("results").or_else(|| o.get("fields")) {
            Some(Value::Array(list)) => list,
            _ => {
                return Err(FieldsError::Shape(
                    "an object without a `results` or `fields` list".into(),
                ));
            }
        },
        _ => return Err(FieldsError::Shape("neither an array nor an object".into())),
    };
    let mut fields = Vec::with_capacity(list.len());
    for (index, entry) in list.iter().enumerate() {
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let field = match entry {
            Value::String(name) => DestinationField {
                name: name.clone(),
                label: None,
                declared_type: None,
                required: false,
            },
            Value::Object(o) => DestinationField {
                name: text(o.get("name"))
                    .ok_or_else(|| FieldsError::Shape(format!("entry {index} has no `name`")))?,
                label: text(o.get("label")),
                declared_type: match text(o.get("fieldType")).as_deref() {
                    Some("phonenumber") => Some("phonenumber".into()),
                    _ => text(o.get("type")),
                },
                required: o.get("required").and_then(Value::as_bool).unwrap_or(false),
            },
            _ => {
                return Err(FieldsError::Shape(format!(
                    "entry {index} is neither a name nor an object"
                )));
            }
        };
        if field.name.trim().is_empty() {
            return Err(FieldsError::Shape(format!(
                "entry {index} has an empty name"
            )));
        }
        if !fields
            .iter()
            .any(|f: &DestinationField| f.name == field.name)
        {
            fields.push(field);
        }
    }
    if fields.is_empty() {
        return Err(FieldsError::Empty);
    }
    Ok(fields)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_objects_and_api_answers_are_read() {
        let names = parse(&json!(["email", "phone", "email"])).unwrap();
        assert_eq!(names.len(), 2);
        assert_eq!(names[0].name, "email");
        let hubspot = parse(&json!({"results": [
            {"name": "phone", "label": "Phone Number", "type": "string", "fieldType": "phonenumber"},
            {"name": "closedate", "type": "datetime", "required": true},
        ]}))
        .unwrap();
        assert_eq!(hubspot[0].declared_type.as_deref(), Some("phonenumber"));
        assert_eq!(hubspot[0].label.as_deref(), Some("Phone Number"));
        assert!(hubspot[1].required);
    }

    #[test]
    fn other_shapes_are_refused_with_the_reason() {
        for bad in [
            json!(42),
            json!({"items": []}),
            json!([1]),
            json!([{"label": "x"}]),
            json!([" "]),
        ] {
            let error = parse(&bad).unwrap_err();
            assert!(error.to_string().contains("field list"), "{error}");
        }
        assert!(matches!(parse(&json!([])), Err(FieldsError::Empty)));
    }
}
