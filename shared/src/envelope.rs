//! The CloudEvents 1.0 envelope that travels on every queue (JSON event format, structured mode).
//!
//! A receiver wraps each provider delivery in a [`CloudEvent`] before it goes on a queue, and a
//! deliverer reads it back with [`CloudEvent::from_json`]. One normalised shape means the batch
//! runner, the dead-letter tooling and the logs never need to know which SaaS an event came
//! from: the provider's payload sits untouched in `data`, and what the kit needs (the id, where
//! it came from, what kind of event it is) sits in the context attributes around it.
//!
//! # Deduplication
//!
//! Per the CloudEvents specification, `source` + `id` identify an event: a producer must not
//! reuse the pair for a different event, and a consumer may treat two events with the same pair
//! as duplicates (a webhook re-sent by the provider, a message SQS delivered twice). Receivers
//! should therefore use the provider's delivery id as `id` when it has one; see
//! [`CloudEvent::dedup_key`].
//!
//! # Validation
//!
//! [`CloudEvent::from_json`] accepts only valid envelopes: `specversion` is `"1.0"`; `id`,
//! `source` and `type` are non-empty strings; optional attributes, when present, are non-empty
//! strings and `time` is RFC 3339; extension names are lower-case `a-z0-9` and their values are
//! strings, booleans or 32-bit integers; `data` is one valid JSON value (`null` included);
//! `data` and `data_base64` are not both present. Anything else is an [`EnvelopeError`] naming
//! the offending attribute, and always [`ErrorClass::Permanent`](crate::ErrorClass::Permanent):
//! the same bytes can never be processed, so the message belongs in the dead-letter queue. A
//! JSON `null` context attribute counts as absent, as the JSON event format allows. URI
//! attributes (`source`, `dataschema`) are checked for presence only, not parsed: a URI parser
//! costs more than it saves here.
//!
//! # Payload fidelity
//!
//! A JSON payload is held as a [`serde_json::value::RawValue`] ([`Data::Json`]): the provider's
//! text, validated but never parsed into a tree or re-serialized. [`CloudEvent::to_json`]
//! writes it into `data` verbatim and [`CloudEvent::from_json`] captures it back verbatim, so
//! key order, whitespace inside the value, number spelling (`1.0`, `1e3`, integers beyond
//! 64 bits) and string escapes survive every hop. Only whitespace *around* the value is
//! dropped, as it is not part of it. A deliverer parses `data` once, straight into its own
//! type, with [`CloudEvent::data_as`]. When the exact bytes including that outer whitespace
//! matter (a signature to re-check downstream), or the body is not JSON, use
//! [`CloudEvent::new_binary`]: the payload then travels as `data_base64`.
//!
//! Cost, measured with `benches/envelope.rs` for a ~10 KB Stripe-like body (release profile,
//! i.e. opt-level "z" + LTO, shared 2-core host): [`CloudEvent::new_json_bytes`] + two
//! attributes + `to_json` (a receiver's envelope) ~12.5 µs, [`CloudEvent::from_json`] ~13 µs,
//! `from_json` + `data_as` into a small borrowed struct ~25 µs. Each is about one validating
//! scan of the payload plus a copy. Holding `data` as a `serde_json::Value` instead cost
//! ~100 µs and ~80 µs (measured earlier at opt-level 3): a heap node per JSON value.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::redact::{self, JsonErrorSummary};
use crate::taxonomy::{Classification, Classify};

/// The only CloudEvents version this kit reads and writes.
pub const SPEC_VERSION: &str = "1.0";

/// The media type a JSON `data` member has when `datacontenttype` is absent (JSON event format
/// §3.1.1), and the one [`CloudEvent::new`] sets explicitly.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// The attribute names the specification defines; an extension may not reuse them.
const RESERVED: [&str; 10] = [
    "specversion",
    "id",
    "source",
    "type",
    "time",
    "datacontenttype",
    "dataschema",
    "subject",
    "data",
    "data_base64",
];

/// Longest `specversion` value echoed back in an error: versions are short (`0.3`, `1.0`).
const MAX_VERSION_IN_ERROR: usize = 8;

/// Why a queue message is not a valid CloudEvents 1.0 envelope (or one cannot be built).
///
/// Always [`Permanent`](crate::ErrorClass::Permanent): an envelope that fails validation now
/// fails it on every retry, so it goes straight to the dead-letter queue with this reason.
/// Messages name the attribute but never echo its value, since values may carry customer data:
/// JSON errors keep serde's category, position and field names only
/// ([`JsonErrorSummary`]), and a wrong `specversion` is quoted only when it looks like a
/// version. Attribute names (keys, not values) are quoted, cut to 64 characters.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The bytes are not JSON, or not a JSON object.
    #[error("envelope is not a JSON object: {0}")]
    Json(JsonErrorSummary),
    /// A required attribute (`specversion`, `id`, `source`, `type`) is absent or null.
    #[error("envelope is missing required attribute `{0}`")]
    Missing(&'static str),
    /// A string attribute is present but empty.
    #[error("envelope attribute `{0}` must not be empty")]
    Empty(&'static str),
    /// An attribute has the wrong JSON type.
    #[error("envelope attribute `{name}` must be {expected}, found {found}")]
    WrongType {
        /// The attribute's name (truncated if very long).
        name: String,
        /// What the specification requires.
        expected: &'static str,
        /// The JSON type that was found.
        found: &'static str,
    },
    /// `specversion` is not `"1.0"`. Holds the value found when it looks like a version
    /// (letters, digits and dots, at most 8 characters); `None` when it was withheld, since the
    /// field could hold anything.
    #[error("unsupported CloudEvents specversion {}, expected `1.0`", FoundVersion(.0))]
    SpecVersion(Option<String>),
    /// `time` is not an RFC 3339 timestamp.
    #[error("envelope attribute `time` is not an RFC 3339 timestamp: {0}")]
    Time(#[source] time::error::Parse),
    /// An attribute name that is neither a context attribute nor a valid extension name
    /// (lower-case `a-z0-9`), or an extension that reuses a context attribute's name.
    #[error("invalid envelope attribute name `{0}`: extension names must be lower-case a-z0-9")]
    AttributeName(String),
    /// The same attribute appears twice.
    #[error("duplicate envelope attribute `{0}`")]
    Duplicate(String),
    /// Both `data` and `data_base64` are present; the specification allows one.
    #[error("envelope has both `data` and `data_base64`")]
    DataConflict,
    /// `data_base64` is not valid base64.
    #[error("envelope attribute `data_base64` is not valid base64: {0}")]
    Base64(#[source] base64::DecodeError),
    /// A JSON payload given to [`CloudEvent::new_json_bytes`] is not valid JSON (or not UTF-8):
    /// the error's category and position, never the offending text.
    #[error("envelope attribute `data` is not valid JSON: {0}")]
    Data(JsonErrorSummary),
    /// `data` does not have the shape [`CloudEvent::data_as`] was asked for.
    ///
    /// Only the position within `data` is kept: serde's own message would quote the offending
    /// value (`invalid type: string "…"`), and values may carry customer data.
    #[error(
        "envelope attribute `data` does not match the expected type (at line {line}, column {column} of `data`)"
    )]
    DataType {
        /// 1-based line within the `data` text where deserialization failed.
        line: usize,
        /// 1-based column within that line.
        column: usize,
    },
    /// [`CloudEvent::data_as`] was called on an event without inline JSON `data` (no payload,
    /// or one carried as `data_base64`).
    #[error("envelope has no JSON `data`")]
    NoJsonData,
    /// The envelope (or a payload given to [`CloudEvent::new_value`]) could not be written as
    /// JSON: a `time` outside years 0–9999, or a payload whose `Serialize` fails (e.g. a map
    /// with non-string keys). A `Serialize` implementation's own message may quote the value
    /// it refused, so only the error's category is kept.
    #[error("envelope could not be serialized: {0}")]
    Serialize(JsonErrorSummary),
}

/// Formats a [`EnvelopeError::SpecVersion`] value: `` `0.3` `` or `(value withheld)`.
struct FoundVersion<'a>(&'a Option<String>);

impl fmt::Display for FoundVersion<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(version) => write!(f, "`{version}`"),
            None => f.write_str("(value withheld)"),
        }
    }
}

/// The `specversion` found, when it looks like a version and so cannot be customer data.
fn found_version(value: &str) -> Option<String> {
    let looks_like_a_version = !value.is_empty()
        && value.len() <= MAX_VERSION_IN_ERROR
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.');
    looks_like_a_version.then(|| value.to_owned())
}

/// The summary of a serde_json error, for the variants that wrap one.
fn summary(e: serde_json::Error) -> JsonErrorSummary {
    JsonErrorSummary::new(&e)
}

impl Classify for EnvelopeError {
    /// Always permanent: retrying the same bytes cannot make them valid.
    fn classification(&self) -> Classification {
        Classification::permanent()
    }
}

/// The payload of an event: JSON (`data`) or exact bytes (`data_base64`).
///
/// Equality compares JSON payloads by their text, as they travel: `{"a":1}` and `{ "a": 1 }`
/// are different payloads.
#[derive(Debug, Clone)]
pub enum Data {
    /// A JSON payload, carried inline as the `data` member exactly as it was received: the
    /// text is validated but never re-serialized, so key order, whitespace and number spelling
    /// survive every hop.
    Json(Box<RawValue>),
    /// Raw bytes, carried as the base64 `data_base64` member and restored byte for byte.
    Binary(Vec<u8>),
}

impl PartialEq for Data {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Data::Json(a), Data::Json(b)) => a.get() == b.get(),
            (Data::Binary(a), Data::Binary(b)) => a == b,
            _ => false,
        }
    }
}

/// One CloudEvents 1.0 event, always valid by construction.
///
/// Fields are private so that every `CloudEvent` in the process satisfies the specification:
/// one built with [`CloudEvent::new`] has been checked on the way in, and one read with
/// [`CloudEvent::from_json`] has been validated. It also implements `Serialize` and
/// `Deserialize` (with the same validation), so it can be embedded in other serde_json
/// documents; the raw `data` ties both to serde_json.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudEvent {
    id: String,
    source: String,
    ty: String,
    time: Option<OffsetDateTime>,
    datacontenttype: Option<String>,
    dataschema: Option<String>,
    subject: Option<String>,
    data: Option<Data>,
    extensions: BTreeMap<String, Value>,
}

impl CloudEvent {
    /// A new event carrying an already-validated JSON payload, with `datacontenttype` set to
    /// `application/json`. The payload's text goes into `data` verbatim.
    ///
    /// `id` should be the provider's delivery id when there is one (so redeliveries deduplicate,
    /// see [`CloudEvent::dedup_key`]), else [`CloudEvent::random_id`]. `source` is a
    /// URI-reference naming the producer (e.g. `/switchyard/stripe`), `ty` the event type
    /// (e.g. `com.stripe.invoice.paid`).
    ///
    /// A receiver holding the provider's body as bytes wants [`CloudEvent::new_json_bytes`];
    /// code that builds the payload itself wants [`CloudEvent::new_value`].
    ///
    /// # Errors
    /// [`EnvelopeError::Empty`] if `id`, `source` or `ty` is empty.
    pub fn new(
        id: impl Into<String>,
        source: impl Into<String>,
        ty: impl Into<String>,
        data: Box<RawValue>,
    ) -> Result<Self, EnvelopeError> {
        Ok(Self::bare(id.into(), source.into(), ty.into())?.with_json_data(data))
    }

    /// A new event whose `data` is the JSON body `body` (e.g. a webhook request body), kept
    /// byte for byte; `datacontenttype` is `application/json`.
    ///
    /// The body is checked in one scan (valid UTF-8, exactly one JSON value) and copied, never
    /// parsed into a tree. Whitespace around the value is not part of it and is dropped;
    /// everything between its first and last byte is kept as is. When downstream needs the
    /// body including that outer whitespace (a signature to re-check), use
    /// [`CloudEvent::new_binary`].
    ///
    /// # Errors
    /// [`EnvelopeError::Empty`] if `id`, `source` or `ty` is empty; [`EnvelopeError::Data`] if
    /// `body` is not valid JSON.
    pub fn new_json_bytes(
        id: impl Into<String>,
        source: impl Into<String>,
        ty: impl Into<String>,
        body: &[u8],
    ) -> Result<Self, EnvelopeError> {
        let event = Self::bare(id.into(), source.into(), ty.into())?;
        let data = serde_json::from_slice(body).map_err(|e| EnvelopeError::Data(summary(e)))?;
        Ok(event.with_json_data(data))
    }

    /// A new event whose `data` is `data` serialized as JSON: a [`serde_json::Value`] (e.g.
    /// from `json!`) or any `Serialize` type, by value or by reference. `datacontenttype` is
    /// `application/json`.
    ///
    /// For a payload received from a provider use [`CloudEvent::new_json_bytes`] instead: it
    /// keeps the provider's bytes rather than re-writing them.
    ///
    /// # Errors
    /// [`EnvelopeError::Empty`] if `id`, `source` or `ty` is empty; [`EnvelopeError::Serialize`]
    /// if `data`'s `Serialize` implementation fails (e.g. a map with non-string keys).
    pub fn new_value(
        id: impl Into<String>,
        source: impl Into<String>,
        ty: impl Into<String>,
        data: impl Serialize,
    ) -> Result<Self, EnvelopeError> {
        let event = Self::bare(id.into(), source.into(), ty.into())?;
        let data = serde_json::value::to_raw_value(&data)
            .map_err(|e| EnvelopeError::Serialize(summary(e)))?;
        Ok(event.with_json_data(data))
    }

    /// A new event carrying exact bytes (`data_base64`) of the given media type.
    ///
    /// Use it when downstream needs the provider's body byte for byte (a signature check, a
    /// form-encoded or XML body); otherwise prefer [`CloudEvent::new_json_bytes`].
    ///
    /// # Errors
    /// [`EnvelopeError::Empty`] if `id`, `source`, `ty` or `content_type` is empty.
    pub fn new_binary(
        id: impl Into<String>,
        source: impl Into<String>,
        ty: impl Into<String>,
        data: Vec<u8>,
        content_type: impl Into<String>,
    ) -> Result<Self, EnvelopeError> {
        let mut event = Self::bare(id.into(), source.into(), ty.into())?;
        event.datacontenttype = Some(non_empty("datacontenttype", content_type.into())?);
        event.data = Some(Data::Binary(data));
        Ok(event)
    }

    /// Sets an inline JSON payload and its `application/json` content type (the JSON
    /// constructors' common tail, after the attribute checks).
    fn with_json_data(mut self, data: Box<RawValue>) -> Self {
        self.datacontenttype = Some(JSON_CONTENT_TYPE.to_owned());
        self.data = Some(Data::Json(data));
        self
    }

    /// A fresh random id (UUID v4), for producers whose provider gives no delivery id.
    pub fn random_id() -> String {
        uuid::Uuid::new_v4().to_string()
    }

    fn bare(id: String, source: String, ty: String) -> Result<Self, EnvelopeError> {
        Ok(Self {
            id: non_empty("id", id)?,
            source: non_empty("source", source)?,
            ty: non_empty("type", ty)?,
            time: None,
            datacontenttype: None,
            dataschema: None,
            subject: None,
            data: None,
            extensions: BTreeMap::new(),
        })
    }

    /// Sets `time`, when the occurrence happened (e.g. the provider's event timestamp).
    pub fn with_time(mut self, time: OffsetDateTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Sets `subject`, the thing the event is about within the source (e.g. a record id), so
    /// consumers can route or filter without opening `data`.
    ///
    /// # Errors
    /// [`EnvelopeError::Empty`] if `subject` is empty.
    pub fn with_subject(mut self, subject: impl Into<String>) -> Result<Self, EnvelopeError> {
        self.subject = Some(non_empty("subject", subject.into())?);
        Ok(self)
    }

    /// Sets `dataschema`, a URI of the schema `data` adheres to.
    ///
    /// # Errors
    /// [`EnvelopeError::Empty`] if `dataschema` is empty.
    pub fn with_dataschema(mut self, dataschema: impl Into<String>) -> Result<Self, EnvelopeError> {
        self.dataschema = Some(non_empty("dataschema", dataschema.into())?);
        Ok(self)
    }

    /// Overrides `datacontenttype` (e.g. `application/cloudevents+json` or a vendor `+json`
    /// type for a JSON payload).
    ///
    /// # Errors
    /// [`EnvelopeError::Empty`] if the content type is empty.
    pub fn with_datacontenttype(
        mut self,
        content_type: impl Into<String>,
    ) -> Result<Self, EnvelopeError> {
        self.datacontenttype = Some(non_empty("datacontenttype", content_type.into())?);
        Ok(self)
    }

    /// Adds (or replaces) an extension attribute, e.g. the provider's delivery id or signature
    /// scheme, so it travels with the event without touching `data`.
    ///
    /// # Errors
    /// [`EnvelopeError::AttributeName`] if `name` is not lower-case `a-z0-9` or is a context
    /// attribute's name; [`EnvelopeError::WrongType`] if `value` is not a string, boolean or
    /// 32-bit integer (the CloudEvents types a JSON extension may hold).
    pub fn with_extension(
        mut self,
        name: impl Into<String>,
        value: impl Into<Value>,
    ) -> Result<Self, EnvelopeError> {
        let name = name.into();
        check_extension_name(&name)?;
        let value = value.into();
        check_extension_value(&name, &value)?;
        self.extensions.insert(name, value);
        Ok(self)
    }

    /// `id`: unique within `source`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// `source`: the URI-reference of the producer.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// `type`: what kind of occurrence this is.
    pub fn ty(&self) -> &str {
        &self.ty
    }

    /// The deduplication key defined by the specification: (`source`, `id`).
    pub fn dedup_key(&self) -> (&str, &str) {
        (&self.source, &self.id)
    }

    /// `time`, if the producer set one.
    pub fn time(&self) -> Option<OffsetDateTime> {
        self.time
    }

    /// The effective `datacontenttype`: the explicit one, else `application/json` when the
    /// payload is inline JSON (the JSON event format's default), else none.
    pub fn datacontenttype(&self) -> Option<&str> {
        match (&self.datacontenttype, &self.data) {
            (Some(ct), _) => Some(ct),
            (None, Some(Data::Json(_))) => Some(JSON_CONTENT_TYPE),
            (None, _) => None,
        }
    }

    /// `dataschema`, if set.
    pub fn dataschema(&self) -> Option<&str> {
        self.dataschema.as_deref()
    }

    /// `subject`, if set.
    pub fn subject(&self) -> Option<&str> {
        self.subject.as_deref()
    }

    /// The payload, if any.
    pub fn data(&self) -> Option<&Data> {
        self.data.as_ref()
    }

    /// The payload if it is inline JSON, as the exact text that travels in `data`
    /// ([`RawValue::get`] gives the `&str`).
    pub fn data_json(&self) -> Option<&RawValue> {
        match &self.data {
            Some(Data::Json(raw)) => Some(raw),
            _ => None,
        }
    }

    /// Parses the inline JSON payload straight into the caller's type, e.g. a deliverer's own
    /// `struct Invoice { .. }`, without an intermediate [`Value`]. `T` may borrow from the
    /// event (`&str` fields, for strings without escapes).
    ///
    /// # Errors
    /// [`EnvelopeError::NoJsonData`] if there is no inline JSON payload;
    /// [`EnvelopeError::DataType`] if it does not deserialize into `T`. Both are
    /// [`Permanent`](crate::ErrorClass::Permanent), and neither quotes the payload.
    pub fn data_as<'a, T: Deserialize<'a>>(&'a self) -> Result<T, EnvelopeError> {
        let raw = self.data_json().ok_or(EnvelopeError::NoJsonData)?;
        serde_json::from_str(raw.get()).map_err(|e| EnvelopeError::DataType {
            line: e.line(),
            column: e.column(),
        })
    }

    /// The inline JSON payload parsed into a [`Value`]: convenient, but it allocates a node
    /// per JSON value, so prefer [`CloudEvent::data_as`] with a concrete type on hot paths.
    ///
    /// # Errors
    /// As [`CloudEvent::data_as`] (a payload nested deeper than serde_json's recursion limit
    /// of 128 cannot become a `Value`).
    pub fn data_value(&self) -> Result<Value, EnvelopeError> {
        self.data_as()
    }

    /// The payload if it travelled as exact bytes (`data_base64`).
    pub fn data_bytes(&self) -> Option<&[u8]> {
        match &self.data {
            Some(Data::Binary(b)) => Some(b),
            _ => None,
        }
    }

    /// Takes the payload out without copying it (a deliverer's last use of the envelope).
    pub fn into_data(self) -> Option<Data> {
        self.data
    }

    /// One extension attribute's value.
    pub fn extension(&self, name: &str) -> Option<&Value> {
        self.extensions.get(name)
    }

    /// All extension attributes, by name.
    pub fn extensions(&self) -> &BTreeMap<String, Value> {
        &self.extensions
    }

    /// The envelope as a JSON string (structured mode), e.g. an SQS message body.
    ///
    /// # Errors
    /// [`EnvelopeError::Serialize`] only if `time` lies outside years 0–9999, which RFC 3339
    /// cannot express.
    pub fn to_json(&self) -> Result<String, EnvelopeError> {
        serde_json::to_string(self).map_err(|e| EnvelopeError::Serialize(summary(e)))
    }

    /// Reads and validates an envelope from JSON text or bytes (an SQS message body).
    ///
    /// The input is parsed once, straight into the event. `data` is captured as raw text: its
    /// extent is found in one validating scan and the text is copied out verbatim, never parsed
    /// into a tree (use [`CloudEvent::data_as`] for that).
    ///
    /// # Errors
    /// An [`EnvelopeError`] naming the first problem found; see the module documentation for
    /// what is checked.
    pub fn from_json(input: impl AsRef<[u8]>) -> Result<Self, EnvelopeError> {
        let raw: RawEvent =
            serde_json::from_slice(input.as_ref()).map_err(|e| EnvelopeError::Json(summary(e)))?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: RawEvent) -> Result<Self, EnvelopeError> {
        let mut specversion = None;
        let mut id = None;
        let mut source = None;
        let mut ty = None;
        let mut time = None;
        let mut datacontenttype = None;
        let mut dataschema = None;
        let mut subject = None;
        let mut data = None;
        let mut data_base64 = None;
        let mut extensions = BTreeMap::new();

        for (name, member) in raw.0 {
            let value = match member {
                Member::Value(value) => value,
                Member::Data(raw) => {
                    if data.replace(raw).is_some() {
                        return Err(EnvelopeError::Duplicate(name));
                    }
                    continue;
                }
            };
            let (known, slot): (&'static str, _) = match name.as_str() {
                "specversion" => ("specversion", &mut specversion),
                "id" => ("id", &mut id),
                "source" => ("source", &mut source),
                "type" => ("type", &mut ty),
                "time" => ("time", &mut time),
                "datacontenttype" => ("datacontenttype", &mut datacontenttype),
                "dataschema" => ("dataschema", &mut dataschema),
                "subject" => ("subject", &mut subject),
                "data_base64" => ("data_base64", &mut data_base64),
                _ => {
                    check_extension_name(&name)?;
                    match extensions.entry(name) {
                        Entry::Occupied(e) => {
                            return Err(EnvelopeError::Duplicate(truncate(e.key())));
                        }
                        Entry::Vacant(e) => {
                            if !value.is_null() {
                                check_extension_value(e.key(), &value)?;
                                e.insert(value);
                            }
                        }
                    }
                    continue;
                }
            };
            // Every other attribute is a string, or null for "absent".
            let text = match value {
                Value::String(s) => Some(s),
                Value::Null => None,
                other => {
                    return Err(EnvelopeError::WrongType {
                        name: known.to_owned(),
                        expected: "a string",
                        found: json_type(&other),
                    });
                }
            };
            if slot.replace(text).is_some() {
                return Err(EnvelopeError::Duplicate(known.to_owned()));
            }
        }

        let specversion = required("specversion", specversion)?;
        if specversion != SPEC_VERSION {
            return Err(EnvelopeError::SpecVersion(found_version(&specversion)));
        }
        let mut event = Self::bare(
            required("id", id)?,
            required("source", source)?,
            required("type", ty)?,
        )?;
        event.time = match time.flatten() {
            Some(t) => Some(OffsetDateTime::parse(&t, &Rfc3339).map_err(EnvelopeError::Time)?),
            None => None,
        };
        event.datacontenttype = optional("datacontenttype", datacontenttype)?;
        event.dataschema = optional("dataschema", dataschema)?;
        event.subject = optional("subject", subject)?;
        event.data = match (data, data_base64.flatten()) {
            (Some(_), Some(_)) => return Err(EnvelopeError::DataConflict),
            (Some(v), None) => Some(Data::Json(v)),
            (None, Some(b64)) => Some(Data::Binary(
                BASE64.decode(b64).map_err(EnvelopeError::Base64)?,
            )),
            (None, None) => None,
        };
        event.extensions = extensions;
        Ok(event)
    }
}

/// A required context attribute's value: present, a string, non-empty.
fn required(name: &'static str, slot: Option<Option<String>>) -> Result<String, EnvelopeError> {
    match slot.flatten() {
        Some(s) => non_empty(name, s),
        None => Err(EnvelopeError::Missing(name)),
    }
}

/// An optional context attribute's value: absent/null, or a non-empty string.
fn optional(
    name: &'static str,
    slot: Option<Option<String>>,
) -> Result<Option<String>, EnvelopeError> {
    slot.flatten().map(|s| non_empty(name, s)).transpose()
}

fn non_empty(name: &'static str, value: String) -> Result<String, EnvelopeError> {
    if value.is_empty() {
        Err(EnvelopeError::Empty(name))
    } else {
        Ok(value)
    }
}

/// Extension names: lower-case ASCII letters and digits only, and not a context attribute.
/// (The specification also recommends at most 20 characters; longer names are accepted.)
fn check_extension_name(name: &str) -> Result<(), EnvelopeError> {
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && !RESERVED.contains(&name);
    if valid {
        Ok(())
    } else {
        Err(EnvelopeError::AttributeName(truncate(name)))
    }
}

/// Extension values in the JSON format: string, boolean or a 32-bit integer (CloudEvents
/// `Integer`); URI, timestamp and binary values travel as strings.
fn check_extension_value(name: &str, value: &Value) -> Result<(), EnvelopeError> {
    let ok = match value {
        Value::String(_) | Value::Bool(_) => true,
        Value::Number(n) => n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(EnvelopeError::WrongType {
            name: truncate(name),
            expected: "a string, boolean or 32-bit integer",
            found: json_type(value),
        })
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// An attribute name as an error quotes it: bounded, one line ([`redact::name_for_message`]).
fn truncate(s: &str) -> String {
    redact::name_for_message(s)
}

/// The top-level members of an envelope, in order, before validation (duplicates included,
/// so validation can reject them rather than silently keep the last).
struct RawEvent(Vec<(String, Member)>);

/// One top-level member's value: `data` is captured as raw text, everything else (small
/// context attributes and extensions) as a [`Value`].
enum Member {
    Value(Value),
    Data(Box<RawValue>),
}

impl<'de> Deserialize<'de> for RawEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;

        impl<'de> Visitor<'de> for RawVisitor {
            type Value = RawEvent;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a CloudEvents JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEvent, A::Error> {
                let mut members: Vec<(String, Member)> =
                    Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some(name) = map.next_key::<String>()? {
                    let member = if name == "data" {
                        Member::Data(map.next_value::<Box<RawValue>>()?)
                    } else {
                        Member::Value(map.next_value::<Value>()?)
                    };
                    members.push((name, member));
                }
                Ok(RawEvent(members))
            }
        }

        deserializer.deserialize_map(RawVisitor)
    }
}

impl Serialize for CloudEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("specversion", SPEC_VERSION)?;
        map.serialize_entry("id", &self.id)?;
        map.serialize_entry("source", &self.source)?;
        map.serialize_entry("type", &self.ty)?;
        if let Some(time) = self.time {
            let text = time.format(&Rfc3339).map_err(serde::ser::Error::custom)?;
            map.serialize_entry("time", &text)?;
        }
        if let Some(ct) = &self.datacontenttype {
            map.serialize_entry("datacontenttype", ct)?;
        }
        if let Some(schema) = &self.dataschema {
            map.serialize_entry("dataschema", schema)?;
        }
        if let Some(subject) = &self.subject {
            map.serialize_entry("subject", subject)?;
        }
        for (name, value) in &self.extensions {
            map.serialize_entry(name, value)?;
        }
        match &self.data {
            // Written verbatim by serde_json's serializer (the `raw_value` feature).
            Some(Data::Json(raw)) => map.serialize_entry("data", raw)?,
            Some(Data::Binary(b)) => map.serialize_entry("data_base64", &BASE64.encode(b))?,
            None => {}
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for CloudEvent {
    /// Validates exactly like [`CloudEvent::from_json`]; the [`EnvelopeError`] becomes the
    /// deserializer's error message. `data` is captured with serde_json's raw-value support, so
    /// this works from serde_json (text, bytes or a [`Value`]) but not from other formats.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawEvent::deserialize(deserializer)?;
        CloudEvent::from_raw(raw).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::ErrorClass;
    use serde_json::json;
    use time::macros::datetime;

    fn sample() -> CloudEvent {
        CloudEvent::new_value(
            "evt_123",
            "/switchyard/stripe",
            "com.stripe.invoice.paid",
            json!({"amount": 4200, "currency": "eur", "lines": [1, 2.5, null, "x"], "nested": {"ok": true}}),
        )
        .unwrap()
        .with_time(datetime!(2024-05-06 07:08:09.5 UTC))
        .with_subject("in_1")
        .unwrap()
        .with_extension("deliveryid", "whd_9")
        .unwrap()
        .with_extension("attempt", 2)
        .unwrap()
    }

    fn err(input: &str) -> EnvelopeError {
        CloudEvent::from_json(input).unwrap_err()
    }

    #[test]
    fn round_trip_preserves_everything() {
        let event = sample();
        let text = event.to_json().unwrap();
        let back = CloudEvent::from_json(&text).unwrap();
        assert_eq!(back, event);
        assert_eq!(back.to_json().unwrap(), text);
        // And through serde, as part of another document.
        let wrapped: Vec<CloudEvent> =
            serde_json::from_value(json!([serde_json::to_value(&event).unwrap()])).unwrap();
        assert_eq!(wrapped[0], event);
    }

    #[test]
    fn wire_format_is_structured_mode() {
        let v: Value = serde_json::from_str(&sample().to_json().unwrap()).unwrap();
        assert_eq!(v["specversion"], "1.0");
        assert_eq!(v["id"], "evt_123");
        assert_eq!(v["source"], "/switchyard/stripe");
        assert_eq!(v["type"], "com.stripe.invoice.paid");
        assert_eq!(v["datacontenttype"], "application/json");
        assert_eq!(v["subject"], "in_1");
        assert_eq!(v["deliveryid"], "whd_9");
        assert_eq!(v["attempt"], 2);
        assert_eq!(v["data"]["amount"], 4200);
    }

    #[test]
    fn json_data_round_trips_byte_for_byte() {
        // Odd whitespace, keys out of order, numbers spelled in ways a re-serializer would
        // change (1.0 -> 1, 1e3 -> 1000.0), one beyond u64, escapes left as written.
        let payload = "{ \"b\" :1,\n\t\"a\":2 , \"n\": [1.0,1e3, -0, 1E+2, 0.10, 184467440737095516160],\r\n \"s\":\"\\u00e9\\n\\/\" }";
        let event = CloudEvent::new_json_bytes("1", "s", "t", payload.as_bytes()).unwrap();
        assert_eq!(event.data_json().unwrap().get(), payload);
        let text = event.to_json().unwrap();
        assert!(text.contains(&format!(r#""data":{payload}"#)), "{text}");
        let back = CloudEvent::from_json(&text).unwrap();
        assert_eq!(back.data_json().unwrap().get(), payload);
        assert_eq!(back, event);
        assert_eq!(back.to_json().unwrap(), text);
    }

    #[test]
    fn key_order_and_number_spelling_are_kept() {
        let event = CloudEvent::new_json_bytes("1", "s", "t", br#"{"b":1,"a":2}"#).unwrap();
        let text = event.to_json().unwrap();
        assert!(text.contains(r#""data":{"b":1,"a":2}"#), "{text}");
        for number in ["1.0", "1e3", "-0", "0.10"] {
            let event = CloudEvent::new_json_bytes("1", "s", "t", number.as_bytes()).unwrap();
            let text = event.to_json().unwrap();
            assert!(text.contains(&format!(r#""data":{number}"#)), "{text}");
            let back = CloudEvent::from_json(&text).unwrap();
            assert_eq!(back.data_json().unwrap().get(), number);
        }
    }

    #[test]
    fn from_json_captures_data_raw() {
        // Whitespace around the value belongs to the envelope, inside it to the payload.
        let e = CloudEvent::from_json(
            "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"data\" :  {\"x\" : 1.50}\n}",
        )
        .unwrap();
        assert_eq!(e.data_json().unwrap().get(), r#"{"x" : 1.50}"#);
        // A JSON null payload is a payload (only context attributes treat null as absent).
        let e = CloudEvent::from_json(
            r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data":null}"#,
        )
        .unwrap();
        assert_eq!(e.data_json().unwrap().get(), "null");
    }

    #[test]
    fn new_json_bytes_validates_and_trims_outer_whitespace() {
        let e = CloudEvent::new_json_bytes("1", "s", "t", b" \n{\"a\": [1, 2]}\r\n").unwrap();
        assert_eq!(e.data_json().unwrap().get(), r#"{"a": [1, 2]}"#);
        assert_eq!(e.datacontenttype(), Some("application/json"));
        for bad in [
            &b""[..],
            b"not json",
            b"{\"a\":",
            b"{\"a\":1} {}",
            b"{'a':1}",
            b"[1,]",
            b"\"\xff\"",
        ] {
            let e = CloudEvent::new_json_bytes("1", "s", "t", bad).unwrap_err();
            assert!(matches!(e, EnvelopeError::Data(_)), "{bad:?}: {e}");
            assert!(e.to_string().contains("`data`"), "{e}");
            assert_eq!(e.class(), ErrorClass::Permanent);
        }
        // The cheap attribute checks still come first.
        assert!(matches!(
            CloudEvent::new_json_bytes("", "s", "t", b"{}"),
            Err(EnvelopeError::Empty("id"))
        ));
        assert!(matches!(
            CloudEvent::new_json_bytes("1", "", "t", b"not json"),
            Err(EnvelopeError::Empty("source"))
        ));
    }

    #[test]
    fn new_value_serializes_values_and_structs() {
        #[derive(Serialize)]
        struct Paid<'a> {
            invoice: &'a str,
            amount: u64,
        }
        let e = CloudEvent::new_value("1", "s", "t", json!({"b": 1, "a": [true, null]})).unwrap();
        // serde_json's Value map is sorted (no `preserve_order`); the text is compact.
        assert_eq!(e.data_json().unwrap().get(), r#"{"a":[true,null],"b":1}"#);
        let e = CloudEvent::new_value(
            "1",
            "s",
            "t",
            &Paid {
                invoice: "in_1",
                amount: 4200,
            },
        )
        .unwrap();
        assert_eq!(
            e.data_json().unwrap().get(),
            r#"{"invoice":"in_1","amount":4200}"#
        );
        let non_string_keys: BTreeMap<(u8, u8), u8> = BTreeMap::from([((1, 2), 3)]);
        assert!(matches!(
            CloudEvent::new_value("1", "s", "t", non_string_keys),
            Err(EnvelopeError::Serialize(_))
        ));
        let raw = RawValue::from_string("[1,  2]".to_owned()).unwrap();
        let e = CloudEvent::new("1", "s", "t", raw).unwrap();
        assert_eq!(e.data_json().unwrap().get(), "[1,  2]");
    }

    #[test]
    fn data_as_parses_into_the_callers_type() {
        #[derive(Debug, Deserialize, PartialEq)]
        struct Invoice {
            amount: u64,
            currency: String,
        }
        #[derive(Deserialize)]
        struct Borrowed<'a> {
            currency: &'a str,
        }
        let e = CloudEvent::new_json_bytes(
            "1",
            "s",
            "t",
            br#"{"currency":"eur","extra":[1,2],"amount":4200}"#,
        )
        .unwrap();
        assert_eq!(
            e.data_as::<Invoice>().unwrap(),
            Invoice {
                amount: 4200,
                currency: "eur".to_owned()
            }
        );
        assert_eq!(e.data_as::<Borrowed<'_>>().unwrap().currency, "eur");
        assert_eq!(e.data_value().unwrap()["amount"], 4200);
        // Survives the queue hop.
        let back = CloudEvent::from_json(e.to_json().unwrap()).unwrap();
        assert_eq!(back.data_as::<Invoice>().unwrap().amount, 4200);
    }

    #[test]
    fn data_as_errors_are_permanent_and_quote_nothing() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Invoice {
            amount: u64,
        }
        let e =
            CloudEvent::new_json_bytes("1", "s", "t", b"{\n  \"amount\": \"acct_secret_4242\"\n}")
                .unwrap();
        let err = e.data_as::<Invoice>().unwrap_err();
        assert!(
            matches!(err, EnvelopeError::DataType { line: 2, .. }),
            "{err}"
        );
        let message = err.to_string();
        assert!(!message.contains("acct_secret_4242"), "{message}");
        assert!(message.contains("`data`"), "{message}");
        assert!(std::error::Error::source(&err).is_none());
        assert_eq!(err.class(), ErrorClass::Permanent);
        assert_eq!(crate::Error::from(err).class(), ErrorClass::Permanent);

        let binary =
            CloudEvent::new_binary("1", "s", "t", b"{}".to_vec(), "application/json").unwrap();
        assert!(matches!(
            binary.data_as::<Value>(),
            Err(EnvelopeError::NoJsonData)
        ));
        let none =
            CloudEvent::from_json(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t"}"#)
                .unwrap();
        assert!(matches!(none.data_value(), Err(EnvelopeError::NoJsonData)));
    }

    #[test]
    fn equality_compares_json_payload_text() {
        let a = CloudEvent::new_json_bytes("1", "s", "t", br#"{"a":1}"#).unwrap();
        let b = CloudEvent::new_json_bytes("1", "s", "t", br#"{ "a": 1 }"#).unwrap();
        assert_ne!(a, b);
        assert_eq!(a, a.clone());
        let bin = CloudEvent::new_binary("1", "s", "t", br#"{"a":1}"#.to_vec(), "application/json")
            .unwrap();
        assert_ne!(a.data(), bin.data());
    }

    #[test]
    fn binary_data_round_trips_byte_for_byte() {
        let body = b"{ \"spacing\" :  1 }\n\xff".to_vec();
        let event = CloudEvent::new_binary("1", "s", "t", body.clone(), "application/octet-stream")
            .unwrap();
        let text = event.to_json().unwrap();
        assert!(text.contains("\"data_base64\""));
        let back = CloudEvent::from_json(&text).unwrap();
        assert_eq!(back.data_bytes(), Some(&body[..]));
        assert_eq!(back.datacontenttype(), Some("application/octet-stream"));
    }

    #[test]
    fn minimal_event_and_default_content_type() {
        let e = CloudEvent::from_json(
            r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{"x":1}}"#,
        )
        .unwrap();
        assert_eq!(e.datacontenttype(), Some("application/json"));
        assert_eq!(e.time(), None);
        assert_eq!(e.dedup_key(), ("/s", "a"));
        let no_data =
            CloudEvent::from_json(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t"}"#)
                .unwrap();
        assert_eq!(no_data.datacontenttype(), None);
        assert!(no_data.data().is_none());
    }

    #[test]
    fn null_context_attributes_count_as_absent() {
        let e = CloudEvent::from_json(
            r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","subject":null,"time":null,"ext":null}"#,
        )
        .unwrap();
        assert_eq!(e.subject(), None);
        assert!(e.extensions().is_empty());
        assert!(matches!(
            err(r#"{"specversion":"1.0","id":null,"source":"/s","type":"t"}"#),
            EnvelopeError::Missing("id")
        ));
    }

    #[test]
    fn extensions_are_preserved() {
        let e = CloudEvent::from_json(
            r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","deliveryid":"d1","retries":3,"signed":true,"averyveryverylongextensionname1":"ok"}"#,
        )
        .unwrap();
        assert_eq!(e.extension("deliveryid"), Some(&json!("d1")));
        assert_eq!(e.extension("retries"), Some(&json!(3)));
        assert_eq!(e.extension("signed"), Some(&json!(true)));
        assert_eq!(e.extensions().len(), 4);
        let back = CloudEvent::from_json(e.to_json().unwrap()).unwrap();
        assert_eq!(back.extensions(), e.extensions());
    }

    #[test]
    fn time_is_rfc3339_both_ways() {
        let text = sample().to_json().unwrap();
        assert!(
            text.contains(r#""time":"2024-05-06T07:08:09.5Z""#),
            "{text}"
        );
        let e = CloudEvent::from_json(
            r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","time":"2024-01-02T03:04:05+02:00"}"#,
        )
        .unwrap();
        assert_eq!(e.time(), Some(datetime!(2024-01-02 03:04:05 +2)));
        assert!(
            e.to_json()
                .unwrap()
                .contains(r#""time":"2024-01-02T03:04:05+02:00""#)
        );
    }

    #[test]
    fn rejects_missing_id() {
        let e = err(r#"{"specversion":"1.0","source":"/s","type":"t"}"#);
        assert!(matches!(e, EnvelopeError::Missing("id")), "{e}");
        assert!(e.to_string().contains("`id`"));
    }

    #[test]
    fn rejects_empty_type() {
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":""}"#);
        assert!(matches!(e, EnvelopeError::Empty("type")), "{e}");
    }

    #[test]
    fn rejects_other_spec_versions() {
        let e = err(r#"{"specversion":"0.3","id":"a","source":"/s","type":"t"}"#);
        assert!(
            matches!(e, EnvelopeError::SpecVersion(Some(ref v)) if v == "0.3"),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "unsupported CloudEvents specversion `0.3`, expected `1.0`"
        );
        let e = err(r#"{"id":"a","source":"/s","type":"t"}"#);
        assert!(matches!(e, EnvelopeError::Missing("specversion")), "{e}");
        let e = err(r#"{"specversion":1.0,"id":"a","source":"/s","type":"t"}"#);
        assert!(matches!(e, EnvelopeError::WrongType { .. }), "{e}");
    }

    #[test]
    fn rejects_bad_time() {
        for bad in [
            "\"yesterday\"",
            "\"2024-01-02 03:04:05\"",
            "\"2024-13-01T00:00:00Z\"",
        ] {
            let input = format!(
                r#"{{"specversion":"1.0","id":"a","source":"/s","type":"t","time":{bad}}}"#
            );
            let e = err(&input);
            assert!(matches!(e, EnvelopeError::Time(_)), "{bad}: {e}");
            assert!(e.to_string().contains("`time`"));
        }
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","time":17}"#);
        assert!(
            matches!(e, EnvelopeError::WrongType { ref name, .. } if name == "time"),
            "{e}"
        );
    }

    #[test]
    fn rejects_non_string_source() {
        let e = err(r#"{"specversion":"1.0","id":"a","source":42,"type":"t"}"#);
        assert!(
            matches!(e, EnvelopeError::WrongType { ref name, found: "an integer", .. } if name == "source"),
            "{e}"
        );
        assert!(e.to_string().contains("`source`"), "{e}");
    }

    #[test]
    fn rejects_invalid_extension_names_and_values() {
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","Bad-Name":"x"}"#);
        assert!(
            matches!(e, EnvelopeError::AttributeName(ref n) if n == "Bad-Name"),
            "{e}"
        );
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","ext":{"a":1}}"#);
        assert!(
            matches!(e, EnvelopeError::WrongType { ref name, .. } if name == "ext"),
            "{e}"
        );
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","ext":1.5}"#);
        assert!(matches!(e, EnvelopeError::WrongType { .. }), "{e}");
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","ext":4294967296}"#);
        assert!(matches!(e, EnvelopeError::WrongType { .. }), "{e}");
        // The builder applies the same rules.
        let base = CloudEvent::new_value("1", "s", "t", Value::Null).unwrap();
        assert!(base.clone().with_extension("Bad-Name", "x").is_err());
        assert!(base.clone().with_extension("id", "x").is_err());
        assert!(base.clone().with_extension("", "x").is_err());
        assert!(base.with_extension("ext", json!([1])).is_err());
    }

    #[test]
    fn rejects_non_json_and_non_objects() {
        assert!(matches!(err("not json at all"), EnvelopeError::Json(_)));
        assert!(matches!(err(""), EnvelopeError::Json(_)));
        let e = err(r#"[{"specversion":"1.0","id":"a","source":"/s","type":"t"}]"#);
        assert!(matches!(e, EnvelopeError::Json(_)), "{e}");
        assert!(
            e.to_string()
                .starts_with("envelope is not a JSON object: data error at line 1"),
            "{e}"
        );
        assert!(matches!(
            CloudEvent::from_json(b"\xff\xfe"),
            Err(EnvelopeError::Json(_))
        ));
    }

    #[test]
    fn rejects_duplicates_and_conflicting_data() {
        let e = err(r#"{"specversion":"1.0","id":"a","id":"b","source":"/s","type":"t"}"#);
        assert!(e.to_string().contains("duplicate"), "{e}");
        let e = err(
            r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data":1,"data_base64":"AA=="}"#,
        );
        assert!(matches!(e, EnvelopeError::DataConflict), "{e}");
        let e =
            err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data_base64":"!!"}"#);
        assert!(matches!(e, EnvelopeError::Base64(_)), "{e}");
    }

    #[test]
    fn rejects_duplicate_data_and_extensions() {
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data":1,"data":2}"#);
        assert!(
            matches!(e, EnvelopeError::Duplicate(ref n) if n == "data"),
            "{e}"
        );
        let e =
            err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","ext":"x","ext":"y"}"#);
        assert!(
            matches!(e, EnvelopeError::Duplicate(ref n) if n == "ext"),
            "{e}"
        );
        let e = err(r#"{"specversion":"1.0","id":"a","id":"b","source":"/s","type":"t"}"#);
        assert!(
            matches!(e, EnvelopeError::Duplicate(ref n) if n == "id"),
            "{e}"
        );
    }

    #[test]
    fn rejects_invalid_json_inside_data() {
        for data in ["{", "[1,]", "{'a':1}", "01"] {
            let input = format!(
                r#"{{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{data}}}"#
            );
            assert!(matches!(err(&input), EnvelopeError::Json(_)), "{data}");
        }
    }

    #[test]
    fn rejects_missing_source_and_type() {
        let e = err(r#"{"specversion":"1.0","id":"a","type":"t"}"#);
        assert!(matches!(e, EnvelopeError::Missing("source")), "{e}");
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s"}"#);
        assert!(matches!(e, EnvelopeError::Missing("type")), "{e}");
    }

    #[test]
    fn rejects_empty_or_mistyped_optional_attributes() {
        for name in ["datacontenttype", "dataschema", "subject"] {
            let input =
                format!(r#"{{"specversion":"1.0","id":"a","source":"/s","type":"t","{name}":""}}"#);
            let e = err(&input);
            assert!(matches!(e, EnvelopeError::Empty(n) if n == name), "{e}");
            let input = format!(
                r#"{{"specversion":"1.0","id":"a","source":"/s","type":"t","{name}":true}}"#
            );
            let e = err(&input);
            assert!(
                matches!(e, EnvelopeError::WrongType { name: ref n, found: "a boolean", .. } if n == name),
                "{e}"
            );
        }
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","data_base64":7}"#);
        assert!(
            matches!(e, EnvelopeError::WrongType { ref name, .. } if name == "data_base64"),
            "{e}"
        );
    }

    #[test]
    fn builder_setters_reject_empty_values() {
        let base = CloudEvent::new_json_bytes("1", "s", "t", b"{}").unwrap();
        assert!(matches!(
            base.clone().with_subject(""),
            Err(EnvelopeError::Empty("subject"))
        ));
        assert!(matches!(
            base.clone().with_dataschema(""),
            Err(EnvelopeError::Empty("dataschema"))
        ));
        assert!(matches!(
            base.with_datacontenttype(""),
            Err(EnvelopeError::Empty("datacontenttype"))
        ));
        assert!(matches!(
            CloudEvent::new_binary("1", "s", "t", vec![1], ""),
            Err(EnvelopeError::Empty("datacontenttype"))
        ));
        assert!(matches!(
            CloudEvent::new_json_bytes("1", "s", "", b"{}"),
            Err(EnvelopeError::Empty("type"))
        ));
    }

    #[test]
    fn builder_extension_errors_name_the_problem() {
        let base = CloudEvent::new_json_bytes("1", "s", "t", b"{}").unwrap();
        for name in ["Bad-Name", "id", "data", ""] {
            let e = base.clone().with_extension(name, "x").unwrap_err();
            assert!(matches!(e, EnvelopeError::AttributeName(_)), "{name}: {e}");
        }
        for value in [
            json!([1]),
            json!(1.5),
            json!(i64::from(i32::MAX) + 1),
            Value::Null,
        ] {
            let e = base
                .clone()
                .with_extension("ext", value.clone())
                .unwrap_err();
            assert!(
                matches!(e, EnvelopeError::WrongType { ref name, .. } if name == "ext"),
                "{value}: {e}"
            );
        }
    }

    #[test]
    fn to_json_rejects_a_time_rfc3339_cannot_express() {
        let e = CloudEvent::new_json_bytes("1", "s", "t", b"{}")
            .unwrap()
            .with_time(datetime!(-0001-01-01 0:00 UTC))
            .to_json()
            .unwrap_err();
        assert!(matches!(e, EnvelopeError::Serialize(_)), "{e}");
    }

    #[test]
    fn builder_rejects_empty_required_attributes() {
        assert!(matches!(
            CloudEvent::new_value("", "s", "t", Value::Null),
            Err(EnvelopeError::Empty("id"))
        ));
        assert!(matches!(
            CloudEvent::new_value("1", "", "t", Value::Null),
            Err(EnvelopeError::Empty("source"))
        ));
        assert!(
            CloudEvent::new_value("1", "s", "t", Value::Null)
                .unwrap()
                .with_subject("")
                .is_err()
        );
        assert_eq!(CloudEvent::random_id().len(), 36);
    }

    #[test]
    fn every_error_is_permanent() {
        for input in ["nope", "[]", r#"{"specversion":"0.3"}"#] {
            let e = err(input);
            assert_eq!(e.class(), ErrorClass::Permanent);
            assert_eq!(crate::Error::from(e).class(), ErrorClass::Permanent);
        }
    }

    const EMAIL: &str = "jane@example.com";
    const PHONE: &str = "+1-555-0100";

    /// Neither the message nor the debug form of `e` quotes the customer data the input held.
    fn assert_quotes_no_customer_data(e: &EnvelopeError) {
        for text in [e.to_string(), format!("{e:?}")] {
            assert!(!text.contains(EMAIL), "{text}");
            assert!(!text.contains("555-0100"), "{text}");
        }
        assert!(std::error::Error::source(e).is_none(), "{e:?}");
    }

    #[test]
    fn json_errors_quote_no_customer_data() {
        // A data error: serde would say `invalid type: string "jane@…", expected …`.
        let e = err(&format!("\"{EMAIL} {PHONE}\""));
        assert!(
            matches!(e, EnvelopeError::Json(ref s) if s.category() == "data"),
            "{e}"
        );
        assert_quotes_no_customer_data(&e);
        // A syntax error inside `data`.
        let e = err(&format!(
            r#"{{"specversion":"1.0","id":"a","source":"/s","type":"t","data":{{"email":{EMAIL}}}}}"#
        ));
        assert!(
            e.to_string()
                .starts_with("envelope is not a JSON object: syntax error at line 1 column "),
            "{e}"
        );
        assert_quotes_no_customer_data(&e);
    }

    #[test]
    fn data_errors_quote_no_customer_data() {
        let body = format!(r#"{{"email": "{EMAIL}", "phone": {PHONE}}}"#);
        let e = CloudEvent::new_json_bytes("1", "s", "t", body.as_bytes()).unwrap_err();
        assert!(
            matches!(e, EnvelopeError::Data(ref s) if s.category() == "syntax"),
            "{e}"
        );
        assert!(
            e.to_string()
                .contains("`data` is not valid JSON: syntax error at line 1")
        );
        assert_quotes_no_customer_data(&e);
        assert_eq!(e.class(), ErrorClass::Permanent);
    }

    #[test]
    fn serialize_errors_quote_no_customer_data() {
        struct Refuses;
        impl Serialize for Refuses {
            fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom(format!(
                    "cannot write {EMAIL} / {PHONE}"
                )))
            }
        }
        let e = CloudEvent::new_value("1", "s", "t", Refuses).unwrap_err();
        assert!(matches!(e, EnvelopeError::Serialize(_)), "{e}");
        assert_eq!(
            e.to_string(),
            "envelope could not be serialized: data error"
        );
        assert_quotes_no_customer_data(&e);
    }

    #[test]
    fn a_specversion_that_is_not_a_version_is_withheld() {
        for found in [EMAIL, PHONE, "555-0100"] {
            let e = err(&format!(
                r#"{{"specversion":"{found}","id":"a","source":"/s","type":"t"}}"#
            ));
            assert!(matches!(e, EnvelopeError::SpecVersion(None)), "{e}");
            assert_eq!(
                e.to_string(),
                "unsupported CloudEvents specversion (value withheld), expected `1.0`"
            );
            assert_quotes_no_customer_data(&e);
        }
    }

    #[test]
    fn names_in_errors_stay_on_one_line() {
        let e = err(r#"{"specversion":"1.0","id":"a","source":"/s","type":"t","bad\nname":1}"#);
        assert!(matches!(e, EnvelopeError::AttributeName(_)), "{e}");
        assert!(!e.to_string().contains('\n'), "{e}");
    }

    #[test]
    fn long_names_are_truncated_in_errors() {
        let name = "X".repeat(10_000);
        let input =
            format!(r#"{{"specversion":"1.0","id":"a","source":"/s","type":"t","{name}":1}}"#);
        assert!(err(&input).to_string().len() < 200);
    }
}
