//! `POST /crm/v3/objects/contacts/batch/upsert` by e-mail, and the contacts it writes.
//!
//! The batch is checked as a whole first — a body HubSpot cannot read, more than
//! [`MAX_BATCH_INPUTS`] inputs, an input without `id`/`properties`, a property value that is
//! not a string or null, the same e-mail twice — and refused with 400 `VALIDATION_ERROR`,
//! nothing written. Then each input on its own: an e-mail that is not syntactically one, or a
//! `hubspot_owner_id` that names no active owner, fails that input; the others are written and
//! the answer is 207 with an `errors` entry per failed input, or, with
//! [`InvalidInputs::WholeBatch`], 400 naming the failed inputs and nothing written.

use std::collections::{BTreeMap, HashMap, HashSet};

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::answer::{self, timestamp};
use super::record::Outcome;

/// The most inputs one batch may carry.
pub const MAX_BATCH_INPUTS: usize = 100;

/// How a batch with invalid inputs (but readable as a whole) is answered. HubSpot's documents
/// show 207; whether production answers that or a whole-batch 400 for an upsert is not
/// confirmed, so a deliverer has to handle both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidInputs {
    /// 207: the valid inputs written, one `errors` entry per invalid one.
    #[default]
    MultiStatus,
    /// 400 `VALIDATION_ERROR` naming the invalid inputs in `context.ids` and the message;
    /// nothing written.
    WholeBatch,
}

/// A contact as HubSpot holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// HubSpot's record id (`hs_object_id`), kept across updates.
    pub id: String,
    /// The e-mail it is keyed by, lower-cased.
    pub email: String,
    /// Its properties as last written (`email` included; a `null` clears one).
    pub properties: BTreeMap<String, String>,
    /// When it was created.
    pub created_at: String,
    /// When it was last written.
    pub updated_at: String,
    /// How many upserts wrote it (the creation included).
    pub writes: usize,
}

/// The contacts, by lower-cased e-mail.
#[derive(Debug)]
pub(super) struct ContactStore {
    by_email: HashMap<String, Contact>,
    next_id: u64,
}

impl Default for ContactStore {
    fn default() -> Self {
        Self {
            by_email: HashMap::new(),
            next_id: 1001,
        }
    }
}

impl ContactStore {
    /// The contact keyed by `email` (any case).
    pub(super) fn get(&self, email: &str) -> Option<&Contact> {
        self.by_email.get(&email.to_ascii_lowercase())
    }

    /// Every contact, by id.
    pub(super) fn all(&self) -> Vec<Contact> {
        let mut contacts: Vec<_> = self.by_email.values().cloned().collect();
        contacts.sort_by_key(|c| c.id.parse::<u64>().unwrap_or(u64::MAX));
        contacts
    }

    /// Checks and writes a batch; `is_owner` tells whether an owner id may be assigned.
    pub(super) fn upsert(
        &mut self,
        body: &[u8],
        is_owner: impl Fn(&str) -> bool,
        mode: InvalidInputs,
        correlation_id: &str,
    ) -> (Outcome, Response) {
        let started_at = timestamp();
        let inputs = match parse_batch(body) {
            Ok(inputs) => inputs,
            Err(refusal) => return (Outcome::Invalid, refusal.answer(correlation_id)),
        };
        let (valid, invalid): (Vec<_>, Vec<_>) = inputs
            .into_iter()
            .map(|input| check_input(input, &is_owner))
            .partition(Result::is_ok);
        let valid: Vec<_> = valid.into_iter().filter_map(Result::ok).collect();
        let invalid: Vec<_> = invalid.into_iter().filter_map(Result::err).collect();
        if !invalid.is_empty() && mode == InvalidInputs::WholeBatch {
            return (
                Outcome::Invalid,
                whole_batch_refusal(&invalid, correlation_id),
            );
        }
        let results: Vec<_> = valid.into_iter().map(|input| self.write(input)).collect();
        let mut answer = json!({
            "status": "COMPLETE",
            "results": results,
            "startedAt": started_at,
            "completedAt": timestamp(),
        });
        if invalid.is_empty() {
            return (Outcome::Upserted, answer::json(StatusCode::OK, answer));
        }
        answer["numErrors"] = json!(invalid.len());
        answer["errors"] = invalid.iter().map(InputError::to_json).collect();
        (
            Outcome::PartlyUpserted,
            answer::json(StatusCode::MULTI_STATUS, answer),
        )
    }

    /// Creates or updates the contact of `input`; its result entry.
    fn write(&mut self, input: Input) -> Value {
        let now = timestamp();
        let created = !self.by_email.contains_key(&input.email);
        if created {
            let id = self.next_id.to_string();
            self.next_id += 1;
            self.by_email.insert(
                input.email.clone(),
                Contact {
                    id,
                    email: input.email.clone(),
                    properties: BTreeMap::new(),
                    created_at: now.clone(),
                    updated_at: now.clone(),
                    writes: 0,
                },
            );
        }
        let Some(contact) = self.by_email.get_mut(&input.email) else {
            return Value::Null;
        };
        for (name, value) in input.properties {
            match value {
                Some(value) => contact.properties.insert(name, value),
                None => contact.properties.remove(&name),
            };
        }
        contact
            .properties
            .insert("email".to_owned(), input.email.clone());
        contact.updated_at = now;
        contact.writes += 1;
        let mut properties: Map<String, Value> = contact
            .properties
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
        properties.insert("hs_object_id".to_owned(), json!(contact.id));
        properties.insert("createdate".to_owned(), json!(contact.created_at));
        properties.insert("lastmodifieddate".to_owned(), json!(contact.updated_at));
        json!({
            "id": contact.id,
            "properties": properties,
            "createdAt": contact.created_at,
            "updatedAt": contact.updated_at,
            "archived": false,
            "new": created,
        })
    }
}

/// The number of `inputs` of an upsert body, when it has an `inputs` array.
pub(super) fn count_inputs(body: &[u8]) -> Option<usize> {
    let body: Value = serde_json::from_slice(body).ok()?;
    body.get("inputs")?.as_array().map(Vec::len)
}

/// One input as sent: its `id` and properties (`None`: `null`).
struct RawInput {
    id: String,
    properties: Vec<(String, Option<String>)>,
}

/// An input that passed its own checks, keyed by its lower-cased e-mail.
struct Input {
    email: String,
    properties: Vec<(String, Option<String>)>,
}

/// A whole batch refused: 400 `VALIDATION_ERROR`, naming the inputs at fault if any.
struct BatchRefusal {
    message: String,
    ids: Vec<String>,
}

impl BatchRefusal {
    fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            ids: Vec::new(),
        }
    }

    fn answer(&self, correlation_id: &str) -> Response {
        let mut body = answer::error_body("VALIDATION_ERROR", &self.message, correlation_id);
        if !self.ids.is_empty() {
            body["context"] = json!({"ids": self.ids});
        }
        answer::json(StatusCode::BAD_REQUEST, body)
    }
}

/// Reads the batch, refusing it whole for what HubSpot refuses whole.
fn parse_batch(body: &[u8]) -> Result<Vec<RawInput>, BatchRefusal> {
    let body: Value = serde_json::from_slice(body).map_err(|e| {
        BatchRefusal::new(format!(
            "Invalid input JSON on line {}, column {}: {e}",
            e.line(),
            e.column()
        ))
    })?;
    let inputs = body
        .get("inputs")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            BatchRefusal::new(
                "Invalid input JSON: Cannot build BatchInputSimplePublicObjectBatchInputUpsert, \
             some of required attributes are not set [inputs]",
            )
        })?;
    if inputs.len() > MAX_BATCH_INPUTS {
        return Err(BatchRefusal::new(format!(
            "Too many inputs: {} were given, the limit is {MAX_BATCH_INPUTS}",
            inputs.len()
        )));
    }
    let inputs = inputs
        .iter()
        .enumerate()
        .map(|(index, input)| parse_input(index, input))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = HashSet::new();
    let mut duplicates: Vec<String> = Vec::new();
    for input in &inputs {
        let key = input.id.to_ascii_lowercase();
        if !seen.insert(key.clone()) && !duplicates.iter().any(|d| d.eq_ignore_ascii_case(&key)) {
            duplicates.push(input.id.clone());
        }
    }
    if !duplicates.is_empty() {
        return Err(BatchRefusal {
            message: format!(
                "Duplicate IDs found in batch input: [{}]. IDs must be unique",
                duplicates.join(", ")
            ),
            ids: duplicates,
        });
    }
    Ok(inputs)
}

fn parse_input(index: usize, input: &Value) -> Result<RawInput, BatchRefusal> {
    let missing = |field: &str| {
        BatchRefusal::new(format!(
            "Invalid input JSON: inputs[{index}]: Cannot build \
             SimplePublicObjectBatchInputUpsert, some of required attributes are not set \
             [{field}]"
        ))
    };
    let id = input
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| missing("id"))?;
    if input.get("idProperty").and_then(Value::as_str) != Some("email") {
        return Err(BatchRefusal {
            message: format!(
                "inputs[{index}]: idProperty must be \"email\" (the stand-in upserts contacts \
                 by e-mail only)"
            ),
            ids: vec![id.to_owned()],
        });
    }
    let properties = input
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| missing("properties"))?;
    let properties = properties
        .iter()
        .map(|(name, value)| match value {
            Value::String(value) => Ok((name.clone(), Some(value.clone()))),
            Value::Null => Ok((name.clone(), None)),
            _ => Err(BatchRefusal {
                message: format!(
                    "Invalid input JSON: inputs[{index}].properties.{name} must be a string \
                     or null"
                ),
                ids: vec![id.to_owned()],
            }),
        })
        .collect::<Result<_, _>>()?;
    Ok(RawInput {
        id: id.to_owned(),
        properties,
    })
}

/// One thing wrong with one property of an input.
struct Problem {
    code: &'static str,
    property: &'static str,
    message: String,
}

impl Problem {
    /// HubSpot's entry in a "Property values were not valid" message.
    fn validation_result(&self) -> Value {
        json!({
            "isValid": false,
            "message": self.message,
            "error": self.code,
            "name": self.property,
        })
    }

    fn to_json(&self) -> Value {
        json!({
            "message": self.message,
            "code": self.code,
            "context": {"propertyName": [self.property]},
        })
    }
}

/// An input that failed its own checks.
struct InputError {
    id: String,
    problems: Vec<Problem>,
}

impl InputError {
    /// Its `errors` entry in a 207.
    fn to_json(&self) -> Value {
        json!({
            "status": "error",
            "category": "VALIDATION_ERROR",
            "message": not_valid_message(self.problems.iter()),
            "context": {"ids": [self.id]},
            "errors": self.problems.iter().map(Problem::to_json).collect::<Vec<_>>(),
        })
    }
}

/// `Property values were not valid: [{"isValid":false,...}]`, HubSpot's wording.
fn not_valid_message<'a>(problems: impl Iterator<Item = &'a Problem>) -> String {
    let results: Vec<_> = problems.map(Problem::validation_result).collect();
    format!("Property values were not valid: {}", Value::Array(results))
}

/// The whole-batch 400 for inputs that failed their own checks.
fn whole_batch_refusal(invalid: &[InputError], correlation_id: &str) -> Response {
    let problems = invalid.iter().flat_map(|e| e.problems.iter());
    let mut body = answer::error_body(
        "VALIDATION_ERROR",
        &not_valid_message(problems.clone()),
        correlation_id,
    );
    body["context"] = json!({"ids": invalid.iter().map(|e| e.id.as_str()).collect::<Vec<_>>()});
    body["errors"] = problems.map(Problem::to_json).collect();
    answer::json(StatusCode::BAD_REQUEST, body)
}

/// Checks an input's e-mail and owner.
fn check_input(input: RawInput, is_owner: &impl Fn(&str) -> bool) -> Result<Input, InputError> {
    let mut problems = Vec::new();
    if !is_email(&input.id) {
        problems.push(Problem {
            code: "INVALID_EMAIL",
            property: "email",
            message: format!("Email address {} is invalid", input.id),
        });
    }
    let owner = input
        .properties
        .iter()
        .find(|(name, _)| name == "hubspot_owner_id")
        .and_then(|(_, value)| value.as_deref())
        .filter(|owner| !owner.is_empty());
    if let Some(owner) = owner
        && !is_owner(owner)
    {
        problems.push(Problem {
            code: "INVALID_OWNER_ID",
            property: "hubspot_owner_id",
            message: format!("{owner} is not a valid owner id"),
        });
    }
    if !problems.is_empty() {
        return Err(InputError {
            id: input.id,
            problems,
        });
    }
    Ok(Input {
        email: input.id.to_ascii_lowercase(),
        properties: input.properties,
    })
}

/// Whether `s` is an e-mail address by its syntax: one `@`; a local part of permitted
/// characters without leading, trailing or doubled dots; a domain of at least two labels of
/// letters, digits and inner hyphens. No whitespace, no quoting, no IP literals.
fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~.-".contains(c));
    let labels: Vec<_> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && domain.len() <= 253
        && labels.iter().all(|label| {
            (1..=63).contains(&label.len())
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    local_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_syntax() {
        for good in [
            "jane@example.com",
            "Jane.Doe+crm@mail.example.co.uk",
            "o'neil@ex-ample.io",
        ] {
            assert!(is_email(good), "{good}");
        }
        for bad in [
            "",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "jane@@example.com",
            "ja ne@example.com",
            ".jane@example.com",
            "jane.@example.com",
            "ja..ne@example.com",
            "jane@-example.com",
            "jane@example..com",
            "jane@example.c0m",
            "jane@exa_mple.com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn an_update_keeps_the_id_and_a_null_clears_a_property() {
        let mut store = ContactStore::default();
        let body = |props: Value| {
            json!({"inputs": [{"id": "Jane@Example.com", "idProperty": "email", "properties": props}]})
                .to_string()
        };
        let (first, _) = store.upsert(
            body(json!({"firstname": "Jane", "phone": "1"})).as_bytes(),
            |_| true,
            InvalidInputs::MultiStatus,
            "c",
        );
        let (second, _) = store.upsert(
            body(json!({"lastname": "Doe", "phone": null})).as_bytes(),
            |_| true,
            InvalidInputs::MultiStatus,
            "c",
        );
        assert_eq!((first, second), (Outcome::Upserted, Outcome::Upserted));
        let contact = store.get("jane@example.com").unwrap();
        assert_eq!(contact.id, "1001");
        assert_eq!(contact.writes, 2);
        let names: Vec<_> = contact.properties.keys().map(String::as_str).collect();
        assert_eq!(names, ["email", "firstname", "lastname"]);
        assert_eq!(contact.properties["email"], "jane@example.com");
    }

    #[test]
    fn counting_inputs_needs_an_inputs_array() {
        assert_eq!(count_inputs(br#"{"inputs":[{},{}]}"#), Some(2));
        assert_eq!(count_inputs(br#"{"inputs":{}}"#), None);
        assert_eq!(count_inputs(b"nope"), None);
    }
}
