//! The contact a mapped event becomes: its e-mail (the upsert's id), its properties, and the
//! owner to resolve.
//!
//! The mapping computes the fields ([`schema`] says which it may set); HubSpot wants every
//! property value as text, so any other field is a property, coerced to a string.

use serde_json::{Map, Value};
use switchyard::Error;
use switchyard::mapping::{FieldType, Mapped, Schema};

/// The field holding the contact's e-mail: the upsert's id (`idProperty: email`), and a
/// property too.
pub const EMAIL: &str = "email";
/// The field holding an e-mail to resolve to a HubSpot owner.
pub const OWNER_EMAIL: &str = "owner_email";
/// The field saying an unresolved owner fails the record instead of leaving it unset.
pub const OWNER_REQUIRED: &str = "owner_required";
/// HubSpot's contact property for the owner.
pub const OWNER_PROPERTY: &str = "hubspot_owner_id";

/// The fields a mapping rule may set: `email` (required), `owner_email`, `owner_required`, and
/// any contact property by its internal name, as text.
pub fn schema() -> Schema {
    Schema::new()
        .required(EMAIL, FieldType::String)
        .field(OWNER_EMAIL, FieldType::String)
        .field(OWNER_REQUIRED, FieldType::Boolean)
        .other_fields(FieldType::String)
}

/// One contact to upsert.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    /// The e-mail, as the mapping wrote it (trimmed and lower-cased by the embedded rules):
    /// the upsert's id.
    pub email: String,
    /// The properties to write (the e-mail included), as text.
    pub properties: Map<String, Value>,
    /// An e-mail to resolve to an owner, if the rule set one.
    pub owner_email: Option<String>,
    /// Whether an owner that cannot be resolved fails the record.
    pub owner_required: bool,
}

impl Contact {
    /// The contact for a mapped event.
    ///
    /// # Errors
    /// Permanent: no e-mail (the schema requires it, so only an empty one after the
    /// transforms), naming the rule.
    pub fn from_mapped(mapped: Mapped) -> Result<Self, Error> {
        let rule = mapped.rule().to_owned();
        let mut properties = mapped.into_fields();
        let owner_email = match properties.remove(OWNER_EMAIL) {
            Some(Value::String(e)) if !e.trim().is_empty() => Some(e),
            _ => None,
        };
        let owner_required = matches!(properties.remove(OWNER_REQUIRED), Some(Value::Bool(true)));
        let email = match properties.get(EMAIL) {
            Some(Value::String(e)) if !e.trim().is_empty() => e.clone(),
            _ => {
                return Err(Error::permanent(format!(
                    "mapping rule `{rule}` produced no e-mail"
                )));
            }
        };
        Ok(Self {
            email,
            properties,
            owner_email,
            owner_required,
        })
    }

    /// Sets the owner property.
    pub fn set_owner(&mut self, owner_id: &str) {
        self.properties.insert(
            OWNER_PROPERTY.to_owned(),
            Value::String(owner_id.to_owned()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchyard::envelope::CloudEvent;
    use switchyard::mapping::Mapping;

    fn contact(fields: &str, data: Value) -> Result<Contact, Error> {
        let file = format!(
            "[[rule]]\nname = \"r\"\nsource = \"s\"\ntype = \"t\"\n[rule.fields]\n{fields}\n"
        );
        let mapping = Mapping::load(&file, "test.toml", &schema()).unwrap();
        let event = CloudEvent::new_value("evt_1", "s", "t", data).unwrap();
        Contact::from_mapped(mapping.apply(&event).unwrap().unwrap())
    }

    #[test]
    fn the_owner_fields_are_taken_out_and_properties_become_text() {
        let c = contact(
            r#"email = { path = "data.email" }
owner_email = { path = "data.owner" }
owner_required = { value = true }
employees = { path = "data.size" }"#,
            json!({"email": "ada@example.com", "owner": "sam@example.com", "size": 42}),
        )
        .unwrap();
        assert_eq!(c.email, "ada@example.com");
        assert_eq!(c.owner_email.as_deref(), Some("sam@example.com"));
        assert!(c.owner_required);
        assert_eq!(
            Value::Object(c.properties.clone()),
            json!({"email": "ada@example.com", "employees": "42"})
        );
        let mut c = c;
        c.set_owner("77");
        assert_eq!(c.properties["hubspot_owner_id"], "77");
    }

    #[test]
    fn no_owner_and_optional_by_default() {
        let c = contact(
            r#"email = { path = "data.email" }"#,
            json!({"email": "a@b.co"}),
        )
        .unwrap();
        assert_eq!(c.owner_email, None);
        assert!(!c.owner_required);
    }

    #[test]
    fn a_mapping_without_email_is_refused_at_load() {
        let file = "[[rule]]\nname = \"r\"\nsource = \"s\"\ntype = \"t\"\n[rule.fields]\nphone = { path = \"data.p\" }\n";
        let err = Mapping::load(file, "test.toml", &schema()).unwrap_err();
        assert!(err.to_string().contains("email"), "{err}");
    }
}
