//! The contacts batch upsert: its request, and what its answer says about each input.
//!
//! `POST /crm/v3/objects/contacts/batch/upsert` with `{"inputs": [{"id": "<email>",
//! "idProperty": "email", "properties": {...}}]}`, at most [`MAX_INPUTS`] inputs, no id twice.
//! HubSpot answers 200 with `results` when every input was written, or 207 with the valid
//! inputs written and `errors`, each naming its inputs in `context.ids`. Whether production
//! answers a whole-batch 400 for one invalid input instead is not confirmed
//! (`/work/shared/design/destinations.md`); [`InputRejection`] reads the ids a 400 names, so
//! the good inputs can be sent again without the bad ones.
//!
//! Messages of per-input errors quote the input ("Email address ada@ is invalid"): only the
//! category and the code-like words of the message (`INVALID_EMAIL`) are kept.

use std::collections::HashMap;
use std::sync::Mutex;

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use switchyard::http::classify::{BodyClassifier, BodyFailure};

use crate::api_errors::HubSpotErrors;

/// HubSpot's limit on inputs per batch call.
pub const MAX_INPUTS: usize = 100;
/// The endpoint, under the base URL.
pub const PATH: &str = "crm/v3/objects/contacts/batch/upsert";

/// The request body.
#[derive(Debug, Serialize)]
pub struct UpsertRequest<'a> {
    /// One per contact.
    pub inputs: Vec<UpsertInput<'a>>,
}

/// One contact in the request.
#[derive(Debug, Serialize)]
pub struct UpsertInput<'a> {
    /// The e-mail.
    pub id: &'a str,
    /// Always `email`.
    #[serde(rename = "idProperty")]
    pub id_property: &'static str,
    /// The properties, as text.
    pub properties: &'a Map<String, Value>,
}

impl<'a> UpsertInput<'a> {
    /// An input keyed by e-mail.
    pub fn by_email(email: &'a str, properties: &'a Map<String, Value>) -> Self {
        Self {
            id: email,
            id_property: "email",
            properties,
        }
    }
}

/// The 200/207 answer (only what is read).
#[derive(Debug, Default, Deserialize)]
pub struct UpsertReply {
    #[serde(default)]
    results: Vec<ContactResult>,
    #[serde(default)]
    errors: Vec<InputError>,
}

#[derive(Debug, Deserialize)]
struct ContactResult {
    id: String,
    #[serde(default)]
    properties: Map<String, Value>,
}

#[derive(Debug, Deserialize)]
struct InputError {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    context: Option<ErrorContext>,
}

#[derive(Debug, Deserialize)]
struct ErrorContext {
    #[serde(default)]
    ids: Vec<String>,
}

/// What became of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputResult {
    /// Written; HubSpot's contact id when the answer gave it.
    Written {
        /// The contact's id.
        contact_id: Option<String>,
    },
    /// Refused by HubSpot: permanent for this input.
    Rejected {
        /// A reason with HubSpot's category and codes, never the input's values.
        reason: String,
    },
    /// Neither written nor refused by the answer (an error without ids): safe to send again,
    /// since an upsert by e-mail writes the same contact.
    Unknown,
}

/// The result per input, in the order of `ids` (the inputs' e-mails), from a 200/207 answer.
pub fn results(ids: &[&str], reply: &UpsertReply) -> Vec<InputResult> {
    let position: HashMap<String, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.to_ascii_lowercase(), i))
        .collect();
    let mut out: Vec<Option<InputResult>> = vec![None; ids.len()];
    let mut unattributed_errors = false;
    for error in &reply.errors {
        let reason = reason(error.category.as_deref(), error.message.as_deref());
        let named: Vec<usize> = error
            .context
            .iter()
            .flat_map(|c| &c.ids)
            .filter_map(|id| position.get(&id.to_ascii_lowercase()).copied())
            .collect();
        if named.is_empty() {
            unattributed_errors = true;
        }
        for i in named {
            out[i] = Some(InputResult::Rejected {
                reason: reason.clone(),
            });
        }
    }
    for result in &reply.results {
        let email = result
            .properties
            .get("email")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase);
        if let Some(i) = email.and_then(|e| position.get(&e).copied())
            && out[i].is_none()
        {
            out[i] = Some(InputResult::Written {
                contact_id: Some(result.id.clone()),
            });
        }
    }
    out.into_iter()
        .map(|r| match r {
            Some(r) => r,
            // Not refused: written, unless an error could not be pinned on its inputs.
            None if unattributed_errors => InputResult::Unknown,
            None => InputResult::Written { contact_id: None },
        })
        .collect()
}

/// `HubSpot rejected the contact: VALIDATION_ERROR (INVALID_EMAIL)`.
pub fn reason(category: Option<&str>, message: Option<&str>) -> String {
    let category = category
        .filter(|c| switchyard::redact::is_code(c))
        .unwrap_or("UNKNOWN");
    let mut codes: Vec<&str> = message
        .unwrap_or("")
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| {
            w.len() >= 3
                && w.contains('_')
                && w.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        })
        .collect();
    codes.dedup();
    if codes.is_empty() {
        format!("HubSpot rejected the contact: {category}")
    } else {
        format!(
            "HubSpot rejected the contact: {category} ({})",
            codes.join(", ")
        )
    }
}

/// The body classifier for one upsert call: HubSpot's verdicts, and, on a whole-batch 400, the
/// positions of the inputs the answer names (in `context.ids` or its message), with the reason
/// for each. Positions only: the e-mails stay out of the error.
pub struct InputRejection<'a> {
    ids: &'a [&'a str],
    named: Mutex<Vec<(usize, String)>>,
}

impl<'a> InputRejection<'a> {
    /// For a call with these inputs' e-mails.
    pub fn new(ids: &'a [&'a str]) -> Self {
        Self {
            ids,
            named: Mutex::new(Vec::new()),
        }
    }

    /// The inputs a 400 named, with their reasons.
    pub fn named(&self) -> Vec<(usize, String)> {
        self.named
            .lock()
            .map(|n| n.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }
}

/// A whole-batch error answer (only what is read).
#[derive(Deserialize)]
struct BatchError {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    context: Option<ErrorContext>,
    #[serde(default)]
    errors: Vec<InputError>,
}

impl BodyClassifier for InputRejection<'_> {
    fn classify_body(&self, status: StatusCode, body: &[u8]) -> Option<BodyFailure> {
        if status == StatusCode::BAD_REQUEST
            && let Ok(error) = serde_json::from_slice::<BatchError>(body)
        {
            let mut named = Vec::new();
            let mut name = |ids: &[String], message: Option<&str>, category: Option<&str>| {
                let reason = reason(category, message);
                for (i, id) in self.ids.iter().enumerate() {
                    let by_context = ids.iter().any(|n| n.eq_ignore_ascii_case(id));
                    let by_message = message.is_some_and(|m| mentions(m, id));
                    if (by_context || by_message) && !named.iter().any(|(j, _)| *j == i) {
                        named.push((i, reason.clone()));
                    }
                }
            };
            let top_ids = error.context.as_ref().map_or(&[][..], |c| &c.ids[..]);
            name(top_ids, error.message.as_deref(), error.category.as_deref());
            for inner in &error.errors {
                let ids = inner.context.as_ref().map_or(&[][..], |c| &c.ids[..]);
                let category = inner.category.as_deref().or(error.category.as_deref());
                name(ids, inner.message.as_deref(), category);
            }
            if let Ok(mut slot) = self.named.lock() {
                *slot = named;
            }
        }
        HubSpotErrors.classify_body(status, body)
    }

    fn safe_fields(&self) -> &[&str] {
        HubSpotErrors.safe_fields()
    }

    fn retry_after_hint(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Option<std::time::Duration> {
        HubSpotErrors.retry_after_hint(status, headers, body)
    }
}

/// Whether `text` names `id` as a whole token, not as part of a longer address (`a@x.co`
/// inside `ba@x.co` or `a@x.com`): a wrong match would dead-letter a good contact.
fn mentions(text: &str, id: &str) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '@' | '_' | '+' | '-' | '%');
    !id.is_empty()
        && text.match_indices(id).any(|(start, _)| {
            let before = text[..start].chars().next_back();
            let mut after = text[start + id.len()..].chars();
            let ends = match after.next() {
                None => true,
                // A dot ends the address when what follows it cannot continue one.
                Some('.') => !after.next().is_some_and(part),
                Some(c) => !part(c),
            };
            ends && !before.is_some_and(|c| part(c) || c == '.')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn reply(value: Value) -> UpsertReply {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn the_request_is_keyed_by_email() {
        let props = json!({"email": "ada@example.com", "firstname": "Ada"});
        let props = props.as_object().unwrap();
        let body = UpsertRequest {
            inputs: vec![UpsertInput::by_email("ada@example.com", props)],
        };
        assert_eq!(
            serde_json::to_value(&body).unwrap(),
            json!({"inputs": [{"id": "ada@example.com", "idProperty": "email",
                "properties": {"email": "ada@example.com", "firstname": "Ada"}}]})
        );
    }

    #[test]
    fn results_map_back_by_email_whatever_their_order() {
        let ids = ["ada@example.com", "bob@example.com"];
        let r = reply(json!({"status": "COMPLETE", "results": [
            {"id": "202", "properties": {"email": "BOB@example.com"}},
            {"id": "101", "properties": {"email": "ada@example.com"}},
        ]}));
        assert_eq!(
            results(&ids, &r),
            [
                InputResult::Written {
                    contact_id: Some("101".into())
                },
                InputResult::Written {
                    contact_id: Some("202".into())
                },
            ]
        );
    }

    #[test]
    fn a_207_rejects_only_the_named_input_and_keeps_no_value() {
        let ids = ["ada@example.com", "not-an-email", "bob@example.com"];
        let r = reply(json!({"status": "COMPLETE", "numErrors": 1,
            "results": [
                {"id": "101", "properties": {"email": "ada@example.com"}},
                {"id": "202", "properties": {"email": "bob@example.com"}}],
            "errors": [{"status": "error", "category": "VALIDATION_ERROR",
                "message": "Property values were not valid: [{\"isValid\":false,\"message\":\"Email address not-an-email is invalid\",\"error\":\"INVALID_EMAIL\",\"name\":\"email\"}]",
                "context": {"ids": ["not-an-email"]}}]}));
        let out = results(&ids, &r);
        assert_eq!(
            out[0],
            InputResult::Written {
                contact_id: Some("101".into())
            }
        );
        assert_eq!(
            out[1],
            InputResult::Rejected {
                reason: "HubSpot rejected the contact: VALIDATION_ERROR (INVALID_EMAIL)".into()
            }
        );
        assert_eq!(
            out[2],
            InputResult::Written {
                contact_id: Some("202".into())
            }
        );
    }

    #[test]
    fn an_error_naming_no_input_leaves_the_unwritten_ones_unknown() {
        let ids = ["ada@example.com", "bob@example.com"];
        let r = reply(
            json!({"results": [{"id": "101", "properties": {"email": "ada@example.com"}}],
            "errors": [{"category": "VALIDATION_ERROR", "message": "something"}]}),
        );
        assert_eq!(
            results(&ids, &r),
            [
                InputResult::Written {
                    contact_id: Some("101".into())
                },
                InputResult::Unknown
            ]
        );
        // No errors and no properties echoed: written, without an id.
        assert_eq!(
            results(&ids, &UpsertReply::default()),
            [
                InputResult::Written { contact_id: None },
                InputResult::Written { contact_id: None }
            ]
        );
    }

    #[test]
    fn a_whole_batch_400_names_its_inputs_by_position() {
        let ids = ["ada@example.com", "bad@", "bob@example.com"];
        let rejection = InputRejection::new(&ids);
        let body = json!({"status": "error", "category": "VALIDATION_ERROR",
            "message": "Property values were not valid: INVALID_EMAIL for bad@",
            "context": {"ids": ["bad@"]}});
        let failure = rejection
            .classify_body(StatusCode::BAD_REQUEST, body.to_string().as_bytes())
            .unwrap();
        assert_eq!(failure.code, "VALIDATION_ERROR");
        let named = rejection.named();
        assert_eq!(named.len(), 1);
        assert_eq!(named[0].0, 1);
        assert!(!named[0].1.contains("bad@"), "{}", named[0].1);

        let silent = InputRejection::new(&ids);
        silent.classify_body(
            StatusCode::BAD_REQUEST,
            br#"{"category":"VALIDATION_ERROR","message":"no"}"#,
        );
        assert!(silent.named().is_empty());
    }

    #[test]
    fn a_message_names_an_input_only_as_a_whole_address() {
        assert!(mentions("Email a@x.co is invalid", "a@x.co"));
        assert!(mentions("Email a@x.co. Fix it", "a@x.co"));
        assert!(mentions("invalid: a@x.co", "a@x.co"));
        assert!(!mentions("Email ba@x.co is invalid", "a@x.co"));
        assert!(!mentions("Email a@x.com is invalid", "a@x.co"));
        assert!(!mentions("Email a@x.co.uk is invalid", "a@x.co"));
        assert!(!mentions("anything", ""));

        let ids = ["a@x.co", "ba@x.co"];
        let rejection = InputRejection::new(&ids);
        let body = json!({"status": "error", "category": "VALIDATION_ERROR",
            "message": "Property values were not valid: INVALID_EMAIL for ba@x.co"});
        rejection.classify_body(StatusCode::BAD_REQUEST, body.to_string().as_bytes());
        let named: Vec<usize> = rejection.named().into_iter().map(|(i, _)| i).collect();
        assert_eq!(named, [1]);
    }

    #[test]
    fn reasons_keep_codes_not_prose() {
        assert_eq!(
            reason(
                Some("VALIDATION_ERROR"),
                Some("Email ada@example.com is bad")
            ),
            "HubSpot rejected the contact: VALIDATION_ERROR"
        );
        assert_eq!(
            reason(Some("ada@example.com"), None),
            "HubSpot rejected the contact: UNKNOWN"
        );
    }
}

/// Property tests: any whole-batch 400 answer against any inputs.
#[cfg(test)]
mod fuzz {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::api_errors::fuzz::{config, status};
    use proptest::prelude::*;

    /// E-mail-like ids and the text around them, so messages sometimes name an input.
    fn id() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z]{1,4}@[a-z]{1,3}\\.(co|com)", "\\PC{0,6}",]
    }

    /// HubSpot's batch error: `message`, `category`, `context.ids`, nested `errors`.
    fn batch_error(ids: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
        let ids = proptest::sample::select(if ids.is_empty() {
            vec![String::new()]
        } else {
            ids
        });
        let message = (proptest::collection::vec(
            prop_oneof![ids.clone(), "[ .,:()]{0,2}", "[A-Z_]{0,12}", "\\PC{0,8}"],
            0..6,
        ))
        .prop_map(|p| p.concat());
        let category = prop_oneof!["[A-Z_]{0,16}", "\\PC{0,10}"];
        let inner = (proptest::option::of(message.clone()), proptest::option::of(category.clone()), proptest::collection::vec(ids.clone(), 0..3))
            .prop_map(|(m, c, i)| serde_json::json!({ "message": m, "category": c, "context": { "ids": i } }));
        prop_oneof![
            3 => (
                proptest::option::of(message),
                proptest::option::of(category),
                proptest::collection::vec(ids, 0..3),
                proptest::collection::vec(inner, 0..3),
            )
                .prop_map(|(m, c, i, e)| {
                    serde_json::json!({ "status": "error", "message": m, "category": c, "context": { "ids": i }, "errors": e })
                        .to_string()
                        .into_bytes()
                }),
            1 => proptest::collection::vec(any::<u8>(), 0..128),
        ]
    }

    fn case() -> impl Strategy<Value = (Vec<String>, Vec<u8>)> {
        proptest::collection::vec(id(), 0..4)
            .prop_flat_map(|ids| (Just(ids.clone()), batch_error(ids)))
    }

    proptest! {
        #![proptest_config(config())]

        /// Any 400 answer: the inputs it names are positions within the call, each once, with
        /// a reason that never quotes an input; never a panic.
        #[test]
        fn any_rejection_names_only_real_inputs((ids, body) in case(), status in prop_oneof![Just(StatusCode::BAD_REQUEST), status()]) {
            let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
            let rejection = InputRejection::new(&refs);
            let _ = rejection.classify_body(status, &body);
            let named = rejection.named();
            let mut seen = Vec::new();
            for (position, reason) in &named {
                prop_assert!(*position < ids.len());
                prop_assert!(!seen.contains(position));
                seen.push(*position);
                prop_assert!(reason.starts_with("HubSpot rejected the contact: "));
                if ids[*position].contains('@') {
                    prop_assert!(!reason.contains(&ids[*position]), "{} quotes {}", reason, ids[*position]);
                }
            }
            if status != StatusCode::BAD_REQUEST {
                prop_assert!(named.is_empty());
            }
        }

        /// `mentions` answers for any text and id (no slicing inside a character).
        #[test]
        fn mentions_never_panics(text in "\\PC{0,40}", id in "\\PC{0,6}") {
            let _ = mentions(&text, &id);
            let _ = mentions(&format!("{text}{id}"), &id);
        }
    }
}
