//! What may be said about untrusted text: the parts of a JSON error, an API's error body, a
//! header or a key that are safe to put in logs, error messages and dead-letter attributes.
//!
//! Switchyard's error messages end up in CloudWatch logs and in dead-letter message attributes,
//! which are kept for days, read by people who never saw the customer's consent, and often
//! shipped elsewhere. The text those messages would naturally be built from routinely echoes
//! customer data: a CRM's 400 says `Property values were not valid: invalid email
//! jane@example.com`, and serde's own message for a field of the wrong type is `invalid type:
//! string "jane@example.com", expected u64`. Scrubbing such text after the fact (regexes for
//! emails, phone numbers, card numbers) always misses a shape, so the kit does the opposite: it
//! keeps only what comes from a place that holds identifiers *and* is shaped like one.
//!
//! | source | what is kept | helper |
//! |---|---|---|
//! | a `serde_json::Error` | its category (syntax / data / eof / io), line and column, and the *name* in "missing / unknown / duplicate field" | [`JsonErrorSummary`], [`json_error_summary`] |
//! | an API's error body | the values of named code fields (`error`, `code`, `category`, …) that look like codes; never a `message` | [`error_codes`], [`DEFAULT_ERROR_FIELDS`] |
//! | a `Content-Type` header | the media type (`text/html`) without its parameters | [`media_type`] |
//! | a key echoed in a message | its first [`MAX_NAME_CHARS`] characters, control characters replaced | [`name_for_message`] |
//!
//! "Looks like a code" is [`is_code`]: 1 to [`MAX_CODE_CHARS`] characters of `A-Za-z0-9_.:-`,
//! at least one of them a letter. Spaces, `@`, `+`, quotes and slashes are refused, which rules
//! out sentences, emails, international phone numbers and URLs; the letter rule also rules out
//! bare numbers and dates (`555-0100`, `2024-01-02`) that happen to sit in a code field. It is
//! a heuristic on values that are already from code fields, not a scrubber for free text.
//!
//! This module is a leaf: it imports nothing from the rest of the kit, so any module (HTTP,
//! envelopes, receivers, the kit's error) can use it.

use std::fmt;

use serde_json::Value;
use serde_json::error::Category;

/// The longest value [`is_code`] accepts: error codes and correlation ids are shorter, and a
/// longer "code" is more likely an echo of something else.
pub const MAX_CODE_CHARS: usize = 64;

/// The longest name [`name_for_message`] keeps before cutting it with `…`.
pub const MAX_NAME_CHARS: usize = 64;

/// The fields of an error body whose values are kept by default (when they pass [`is_code`]):
/// the places common APIs put their error codes.
///
/// Top-level `error` (Slack, OAuth), `code`, `error_code`, `errorCode`, `category` (HubSpot),
/// `type`, `status`; and inside an `error` object, `code`, `type` and `status` (Stripe, Google
/// APIs, OpenAI-style `{"error": {...}}`). Never `message`, `detail`, `description` or the
/// like: those are prose, and prose is where input is echoed.
pub const DEFAULT_ERROR_FIELDS: &[&str] = &[
    "error",
    "error.code",
    "error.type",
    "error.status",
    "code",
    "error_code",
    "errorCode",
    "category",
    "type",
    "status",
];

/// Whether `value` has the shape of an identifier: 1 to [`MAX_CODE_CHARS`] characters of
/// `A-Za-z0-9_.:-`. The shape of field names, extension names, version strings.
pub fn is_identifier(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_CODE_CHARS
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// Whether `value` looks like an error code: an [identifier](is_identifier) with at least one
/// letter (`ratelimited`, `VALIDATION_ERROR`, `E42`, a UUID), so that a bare number or date in
/// a code field (`555-0100`, `2024-01-02`) is not kept.
///
/// ```
/// use switchyard::redact::is_code;
///
/// assert!(is_code("invalid_auth"));
/// assert!(!is_code("invalid email jane@example.com"));
/// assert!(!is_code("+1-555-0100"));
/// assert!(!is_code("555-0100"));
/// ```
pub fn is_code(value: &str) -> bool {
    is_identifier(value) && value.bytes().any(|b| b.is_ascii_alphabetic())
}

/// The codes found in a JSON error body: for each of `fields` (a name, or a dotted path into
/// nested objects and arrays, such as `error.code` or `errors.0.extensions.code`) that holds a
/// string passing [`is_code`] or an integer below one million (a numeric code or status, not an
/// account or phone number), the pair `(field, value)`, in the order of `fields`.
///
/// A body that is not JSON (an HTML error page from a proxy), or a field that holds prose, gives
/// nothing: there is no fallback to quoting the text.
///
/// ```
/// use switchyard::redact::{DEFAULT_ERROR_FIELDS, error_codes};
///
/// let body = br#"{"status":"error","category":"VALIDATION_ERROR",
///                 "message":"Property values were not valid: jane@example.com"}"#;
/// assert_eq!(
///     error_codes(body, DEFAULT_ERROR_FIELDS),
///     [("category".to_owned(), "VALIDATION_ERROR".to_owned()),
///      ("status".to_owned(), "error".to_owned())]
/// );
/// ```
pub fn error_codes(body: &[u8], fields: &[&str]) -> Vec<(String, String)> {
    let Ok(json) = serde_json::from_slice::<Value>(body) else {
        return Vec::new();
    };
    let mut codes: Vec<(String, String)> = Vec::new();
    for field in fields {
        if codes.iter().any(|(name, _)| name == field) {
            continue;
        }
        if let Some(value) = lookup(&json, field).and_then(code_of) {
            codes.push(((*field).to_owned(), value));
        }
    }
    codes
}

/// The value at a dotted path: object members by name, array elements by index.
fn lookup<'v>(json: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(json, |node, segment| match node {
        Value::Object(members) => members.get(segment),
        Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

/// A JSON value as a code, when it is one.
fn code_of(value: &Value) -> Option<String> {
    const MAX_NUMERIC_CODE: u64 = 1_000_000;
    match value {
        Value::String(s) if is_code(s) => Some(s.clone()),
        Value::Number(n) => n
            .as_i64()
            .filter(|i| i.unsigned_abs() < MAX_NUMERIC_CODE)
            .map(|i| i.to_string()),
        _ => None,
    }
}

/// The media type of a `Content-Type` value (`text/html; charset=utf-8` → `text/html`),
/// lower-cased; `None` when it is not a plain `type/subtype` token pair of at most
/// [`MAX_CODE_CHARS`] characters.
pub fn media_type(content_type: &str) -> Option<String> {
    let essence = content_type.split(';').next()?.trim().to_ascii_lowercase();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes().all(|b| {
                b.is_ascii_alphanumeric()
                    || matches!(
                        b,
                        b'!' | b'#' | b'$' | b'&' | b'^' | b'_' | b'.' | b'+' | b'-'
                    )
            })
    };
    let (kind, subtype) = essence.split_once('/')?;
    (essence.len() <= MAX_CODE_CHARS && token(kind) && token(subtype)).then_some(essence)
}

/// A name (a JSON key, an attribute name) ready to be echoed in a message: at most
/// [`MAX_NAME_CHARS`] characters (cut with `…`), control characters replaced with `�` so that
/// one error stays one log line.
///
/// Names are keys, chosen by whoever wrote the schema, so quoting them is how a message stays
/// useful; the bound and the replacement keep a hostile key from flooding or forging log lines.
pub fn name_for_message(name: &str) -> String {
    let mut out: String = name
        .chars()
        .take(MAX_NAME_CHARS)
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect();
    if name.chars().nth(MAX_NAME_CHARS).is_some() {
        out.push('…');
    }
    out
}

/// What may be said about a `serde_json::Error`: its category, its position and, for a data
/// error about a field, the field's name — never serde's text, which quotes values
/// (`invalid type: string "jane@example.com", expected u64`, ``unknown variant `…` ``).
///
/// Displays as ``data error at line 3 column 14: missing field `amount` ``, `syntax error at line
/// 1 column 2` or `eof error at line 1 column 9` (`io error` for an I/O failure, which has no
/// position).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonErrorSummary {
    category: &'static str,
    line: usize,
    column: usize,
    field: Option<(&'static str, String)>,
}

impl JsonErrorSummary {
    /// The summary of `error`.
    pub fn new(error: &serde_json::Error) -> Self {
        let category = match error.classify() {
            Category::Io => "io",
            Category::Syntax => "syntax",
            Category::Data => "data",
            Category::Eof => "eof",
        };
        let field = match error.classify() {
            Category::Data => field_problem(&error.to_string()),
            _ => None,
        };
        Self {
            category,
            line: error.line(),
            column: error.column(),
            field,
        }
    }

    /// `"syntax"` (not JSON), `"data"` (JSON, but not the expected shape), `"eof"` (cut short)
    /// or `"io"`.
    pub fn category(&self) -> &'static str {
        self.category
    }

    /// 1-based line of the error; 0 when there is no position.
    pub fn line(&self) -> usize {
        self.line
    }

    /// 1-based column of the error within its line; 0 when there is no position.
    pub fn column(&self) -> usize {
        self.column
    }

    /// For a data error about a field: what happened to it (`"missing"`, `"unknown"` or
    /// `"duplicate"`) and its name, when the name passes [`is_identifier`].
    pub fn field(&self) -> Option<(&'static str, &str)> {
        self.field
            .as_ref()
            .map(|(problem, name)| (*problem, name.as_str()))
    }
}

impl From<&serde_json::Error> for JsonErrorSummary {
    fn from(error: &serde_json::Error) -> Self {
        Self::new(error)
    }
}

impl fmt::Display for JsonErrorSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} error", self.category)?;
        if self.line > 0 {
            write!(f, " at line {} column {}", self.line, self.column)?;
        }
        if let Some((problem, name)) = &self.field {
            write!(f, ": {problem} field `{name}`")?;
        }
        Ok(())
    }
}

/// [`JsonErrorSummary`] as text: what to put in a message instead of `error.to_string()`.
///
/// ```
/// use switchyard::redact::json_error_summary;
///
/// #[derive(Debug, serde::Deserialize)]
/// struct Contact { #[allow(dead_code)] id: u64 }
///
/// let e = serde_json::from_str::<Contact>(r#"{"id": "jane@example.com"}"#).unwrap_err();
/// assert_eq!(json_error_summary(&e), "data error at line 1 column 25");
/// let e = serde_json::from_str::<Contact>(r#"{"email": "jane@example.com"}"#).unwrap_err();
/// assert_eq!(json_error_summary(&e), "data error at line 1 column 29: missing field `id`");
/// ```
pub fn json_error_summary(error: &serde_json::Error) -> String {
    JsonErrorSummary::new(error).to_string()
}

/// The field named by serde's "missing / unknown / duplicate field `name`" messages. Those
/// names come from the target type (missing, duplicate) or are keys of the input (unknown),
/// never values; anything else serde says may quote a value and is dropped.
fn field_problem(message: &str) -> Option<(&'static str, String)> {
    const PROBLEMS: [(&str, &str); 3] = [
        ("missing field `", "missing"),
        ("unknown field `", "unknown"),
        ("duplicate field `", "duplicate"),
    ];
    PROBLEMS.iter().find_map(|(prefix, problem)| {
        let rest = message.strip_prefix(prefix)?;
        let (name, _) = rest.split_once('`')?;
        is_identifier(name).then(|| (*problem, name.to_owned()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    const EMAIL: &str = "jane@example.com";
    const PHONE: &str = "+1-555-0100";

    fn assert_no_customer_data(text: &str) {
        assert!(!text.contains(EMAIL), "email leaked: {text}");
        assert!(!text.contains(PHONE), "phone leaked: {text}");
        assert!(!text.contains("555-0100"), "phone leaked: {text}");
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Contact {
        id: u64,
        #[serde(default)]
        tier: Option<Tier>,
    }

    #[derive(Debug, Deserialize)]
    enum Tier {
        Gold,
    }

    fn summary_of(json: &str) -> JsonErrorSummary {
        JsonErrorSummary::new(&serde_json::from_str::<Contact>(json).unwrap_err())
    }

    #[test]
    fn a_value_of_the_wrong_type_is_never_quoted() {
        let json = format!("{{\n  \"id\": \"{EMAIL} {PHONE}\"\n}}");
        let s = summary_of(&json);
        assert_eq!((s.category(), s.line()), ("data", 2));
        assert_eq!(s.field(), None);
        assert_no_customer_data(&s.to_string());
        assert_no_customer_data(&format!("{s:?}"));
        assert!(s.to_string().starts_with("data error at line 2 column "));
    }

    #[test]
    fn an_unknown_enum_variant_is_never_quoted() {
        let s = summary_of(&format!(r#"{{"id": 1, "tier": "{EMAIL}"}}"#));
        assert_eq!(s.category(), "data");
        assert_no_customer_data(&s.to_string());
    }

    #[test]
    fn missing_unknown_and_duplicate_fields_are_named() {
        let s = summary_of(&format!(r#"{{"phone": "{PHONE}"}}"#));
        assert_eq!(s.field(), Some(("unknown", "phone")));
        assert!(s.to_string().ends_with(": unknown field `phone`"), "{s}");
        assert_no_customer_data(&s.to_string());

        let s = summary_of("{}");
        assert_eq!(s.field(), Some(("missing", "id")));
        assert_eq!(
            s.to_string(),
            "data error at line 1 column 2: missing field `id`"
        );

        let s = summary_of(r#"{"id": 1, "id": 2}"#);
        assert_eq!(s.field(), Some(("duplicate", "id")));
    }

    #[test]
    fn a_key_that_is_not_an_identifier_is_not_named() {
        let s = summary_of(&format!(r#"{{"{EMAIL}": 1}}"#));
        assert_eq!(s.field(), None);
        assert_no_customer_data(&s.to_string());
    }

    #[test]
    fn syntax_and_eof_errors_keep_their_position_only() {
        let s = summary_of(&format!("{{\"id\": 1, {EMAIL}}}"));
        assert_eq!(s.category(), "syntax");
        assert_eq!((s.line(), s.column()), (1, 11));
        assert_no_customer_data(&s.to_string());

        let e = serde_json::from_str::<Value>(&format!(r#"{{"note": "{EMAIL}"#)).unwrap_err();
        let s = JsonErrorSummary::from(&e);
        assert_eq!(s.category(), "eof");
        assert_no_customer_data(&s.to_string());
    }

    #[test]
    fn io_errors_have_no_position() {
        let e = serde_json::from_reader::<_, Value>(FailingReader).unwrap_err();
        assert_eq!(json_error_summary(&e), "io error");
    }

    struct FailingReader;

    impl std::io::Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other(EMAIL))
        }
    }

    #[test]
    fn codes_are_kept_and_prose_is_not() {
        let body = format!(
            r#"{{"status":"error","message":"Property values were not valid: invalid email {EMAIL}",
                "correlationId":"aeb5f871-7f07-4993-9211-075dc63e7cbf","category":"VALIDATION_ERROR",
                "type":"{PHONE}","code":"555-0100"}}"#
        );
        let codes = error_codes(body.as_bytes(), DEFAULT_ERROR_FIELDS);
        assert_eq!(
            codes,
            [
                ("category".to_owned(), "VALIDATION_ERROR".to_owned()),
                ("status".to_owned(), "error".to_owned()),
            ]
        );
        assert_no_customer_data(&format!("{codes:?}"));

        let hubspot = ["category", "correlationId"];
        let codes = error_codes(body.as_bytes(), &hubspot);
        assert_eq!(codes[1].1, "aeb5f871-7f07-4993-9211-075dc63e7cbf");
    }

    #[test]
    fn nested_paths_and_numeric_codes() {
        let google =
            br#"{"error":{"code":429,"status":"RESOURCE_EXHAUSTED","message":"Quota for jane"}}"#;
        assert_eq!(
            error_codes(google, DEFAULT_ERROR_FIELDS),
            [
                ("error.code".to_owned(), "429".to_owned()),
                ("error.status".to_owned(), "RESOURCE_EXHAUSTED".to_owned()),
            ]
        );
        let graphql = br#"{"errors":[{"message":"x","extensions":{"code":"THROTTLED"}}]}"#;
        assert_eq!(
            error_codes(graphql, &["errors.0.extensions.code", "errors.1.x"]),
            [(
                "errors.0.extensions.code".to_owned(),
                "THROTTLED".to_owned()
            )]
        );
        let account_number = br#"{"code": 15550100}"#;
        assert!(error_codes(account_number, DEFAULT_ERROR_FIELDS).is_empty());
    }

    #[test]
    fn bodies_that_are_not_json_give_nothing() {
        let html = format!("<html><body>Bad gateway for {EMAIL}</body></html>");
        assert!(error_codes(html.as_bytes(), DEFAULT_ERROR_FIELDS).is_empty());
        assert!(error_codes(b"", DEFAULT_ERROR_FIELDS).is_empty());
        assert!(error_codes(br#""ratelimited""#, DEFAULT_ERROR_FIELDS).is_empty());
    }

    #[test]
    fn the_code_shape() {
        for good in [
            "ratelimited",
            "VALIDATION_ERROR",
            "E42",
            "rate.limit:exceeded-2",
        ] {
            assert!(is_code(good), "{good}");
        }
        let too_long = "a".repeat(MAX_CODE_CHARS + 1);
        for bad in [
            "",
            "invalid email",
            EMAIL,
            PHONE,
            "555-0100",
            "2024-01-02",
            "a/b",
            "\"x\"",
            too_long.as_str(),
        ] {
            assert!(!is_code(bad), "{bad}");
        }
        assert!(is_identifier("0.3"));
    }

    #[test]
    fn media_types_lose_their_parameters() {
        assert_eq!(
            media_type("Text/HTML; charset=utf-8").as_deref(),
            Some("text/html")
        );
        assert_eq!(
            media_type("application/problem+json").as_deref(),
            Some("application/problem+json")
        );
        for bad in ["", "html", "text/html x", "a/b/c", EMAIL] {
            assert_eq!(media_type(bad), None, "{bad}");
        }
    }

    #[test]
    fn names_are_bounded_and_stay_on_one_line() {
        assert_eq!(name_for_message("deliveryid"), "deliveryid");
        assert_eq!(name_for_message("a\nb"), "a\u{fffd}b");
        let long = name_for_message(&"x".repeat(10_000));
        assert_eq!(long.chars().count(), MAX_NAME_CHARS + 1);
        assert!(long.ends_with('…'));
    }
}
