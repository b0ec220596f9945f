//! `switchyard automap`: a first draft of a mapping file, from a sample event and the
//! destination's field list.
//!
//! Writing a mapping starts with the same chore every time: find where the sample keeps the
//! e-mail, the names, the phone, and write their paths. This command does that part and says
//! how sure it is of each line; the operator reviews it. The pieces, one file each:
//! [`sample`] (the sample's leaves and paths), [`fields`] (the field list), [`names`] (names
//! compared across case, separators and synonyms), [`shapes`] (values that look like an
//! e-mail, a phone number, a date, a currency), [`suggest`] (scoring and choosing), [`render`]
//! (the TOML). The draft is loaded with the kit's own [`Mapping::load`] against a schema of the
//! listed fields before it is printed, so what comes out always loads.

mod fields;
mod names;
mod render;
mod sample;
mod shapes;
mod suggest;

use std::path::{Path, PathBuf};

use serde_json::Value;
use switchyard::mapping::{FieldType, Mapping, Schema};

use crate::Finished;

/// Suggest a mapping file from a sample source event and the destination's field list.
///
/// Matches the destination's fields to the sample's values by name, after normalising case
/// and separators (firstName, first_name and First Name are one name), by synonyms (e-mail /
/// email / mail, zip / postal_code / postcode, phone / telephone / mobile, first / given name,
/// last / family name / surname, company / organization, ...) and by the shape of the values
/// (e-mails, phone numbers, dates, ISO currency codes). Each suggested field carries its
/// confidence (0 to 1) and reason as a TOML comment; unmatched destination fields are listed at
/// the end. The draft is checked with the kit's mapping loader before it is printed.
///
/// The sample is a CloudEvents envelope (paths from the envelope) or a provider's payload as a
/// receiver takes it (paths under `data`, where receivers put it). The field list is a JSON
/// array of names, or of objects with `name` (and optional `type`, `label`, `required`), or
/// an API answer wrapping one in `results` (HubSpot's properties API) or `fields`.
#[derive(Debug, clap::Args)]
pub struct AutomapArgs {
    /// The sample source event (JSON).
    #[arg(long, value_name = "SAMPLE.json")]
    pub source: PathBuf,
    /// The destination's fields (JSON).
    #[arg(long, value_name = "FIELDS.json")]
    pub fields: PathBuf,
    /// The rule's `source` pattern (default: the envelope's source, else `*`).
    #[arg(long, value_name = "SOURCE")]
    pub event_source: Option<String>,
    /// The rule's `type` pattern (default: the sample's type, else `*`).
    #[arg(long, value_name = "TYPE")]
    pub event_type: Option<String>,
    /// The rule's name.
    #[arg(long, default_value = "suggested", value_name = "NAME")]
    pub rule_name: String,
    /// Leave out suggestions less sure than this (0 to 1).
    #[arg(long, default_value_t = 0.5, value_name = "C")]
    pub min_confidence: f64,
    /// Write the mapping to this file instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// Why a draft could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AutomapError {
    /// A file could not be read.
    #[error("could not read {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file is not JSON.
    #[error("{path} is not JSON")]
    Json {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The field list is not usable.
    #[error("{path}")]
    Fields {
        /// The file.
        path: PathBuf,
        /// Why.
        source: fields::FieldsError,
    },
    /// The draft does not load: a fault of this command, reported rather than printed.
    #[error("the suggested mapping does not load ({0}); please report this with the sample")]
    Unloadable(String),
    /// The output could not be written.
    #[error("could not write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

fn read_json(path: &Path) -> Result<Value, AutomapError> {
    let text = std::fs::read_to_string(path).map_err(|source| AutomapError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|source| AutomapError::Json {
        path: path.to_owned(),
        source,
    })
}

/// The schema the draft is checked against: the listed fields, typed when the list gives a
/// mapping type, required when it says so.
fn schema(fields: &[fields::DestinationField]) -> Schema {
    fields.iter().fold(Schema::new(), |schema, f| {
        let ty = f
            .declared_type
            .as_deref()
            .and_then(FieldType::from_name)
            .unwrap_or(FieldType::Any);
        if f.required {
            schema.required(f.name.clone(), ty)
        } else {
            schema.field(f.name.clone(), ty)
        }
    })
}

/// Runs `automap`.
pub fn run(args: &AutomapArgs) -> anyhow::Result<Finished> {
    let sample_json = read_json(&args.source)?;
    let fields_json = read_json(&args.fields)?;
    let fields = fields::parse(&fields_json).map_err(|source| AutomapError::Fields {
        path: args.fields.clone(),
        source,
    })?;
    let sample = sample::read(&sample_json);
    let suggestions = suggest::suggest(&fields, &sample, args.min_confidence);
    let origin = format!("{} and {}", args.source.display(), args.fields.display());
    let header = render::RuleHeader {
        name: &args.rule_name,
        source: args
            .event_source
            .as_deref()
            .or(sample.source.as_deref())
            .unwrap_or("*"),
        event_type: args
            .event_type
            .as_deref()
            .or(sample.event_type.as_deref())
            .unwrap_or("*"),
        origin: &origin,
    };
    let text = render::render(&header, &suggestions);
    Mapping::load(&text, "suggested mapping", &schema(&fields))
        .map_err(|e| AutomapError::Unloadable(e.to_string()))?;
    match &args.out {
        Some(path) => std::fs::write(path, &text).map_err(|source| AutomapError::Write {
            path: path.clone(),
            source,
        })?,
        None => print!("{text}"),
    }
    eprintln!(
        "automap: {} of {} destination fields matched; unmatched: {}",
        suggestions.matched.len(),
        fields.len(),
        if suggestions.unmatched.is_empty() {
            "none".to_owned()
        } else {
            suggestions
                .unmatched
                .iter()
                .map(|f| f.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    Ok(Finished::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use switchyard::envelope::CloudEvent;

    #[test]
    fn a_draft_loads_and_maps_the_sample_it_came_from() {
        let payload = json!({"id": "evt_1", "type": "customer.created", "data": {"object": {
            "email": " Ada@Example.com ", "name": "Ada Lovelace", "phone": "+44 20 7946 0958"}}});
        let fields = fields::parse(&json!([
            "email",
            "firstname",
            "lastname",
            "phone",
            "company"
        ]))
        .unwrap();
        let suggestions = suggest::suggest(&fields, &sample::read(&payload), 0.5);
        let header = render::RuleHeader {
            name: "suggested",
            source: "stripe",
            event_type: "customer.created",
            origin: "test",
        };
        let text = render::render(&header, &suggestions);
        let mapping = Mapping::load(&text, "t", &schema(&fields)).unwrap();
        let event = CloudEvent::new_json_bytes(
            "evt_1",
            "stripe",
            "customer.created",
            payload.to_string().as_bytes(),
        )
        .unwrap();
        let mapped = mapping.apply(&event).unwrap().unwrap();
        assert_eq!(mapped.get_str("email"), Some("ada@example.com"));
        assert_eq!(mapped.get_str("firstname"), Some("Ada"));
        assert_eq!(mapped.get_str("lastname"), Some("Lovelace"));
        assert_eq!(mapped.get_str("phone"), Some("+44 20 7946 0958"));
        assert!(text.contains("#   company"), "{text}");
    }
}
