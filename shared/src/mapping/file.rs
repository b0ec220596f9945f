//! The mapping file as TOML: the shapes serde reads it into, with the spans that give load
//! errors their line numbers.
//!
//! TOML because a mapping is configuration that people edit and review: comments, no
//! significant indentation (YAML's trap), inline tables for one-line fields, arrays of tables
//! for rules, and the `toml` crate reports positions. Unknown keys are refused everywhere
//! (`deny_unknown_fields`): a misspelt `requried = true` must not be silently ignored.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use serde_json::{Map, Number, Value};
use toml::Spanned;

/// The whole file: its rules, in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSpec {
    #[serde(default)]
    pub(crate) rule: Vec<Spanned<RuleSpec>>,
}

/// One `[[rule]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSpec {
    pub(crate) name: Spanned<String>,
    pub(crate) source: Spanned<toml::Value>,
    #[serde(rename = "type")]
    pub(crate) ty: Spanned<toml::Value>,
    #[serde(default)]
    pub(crate) fields: BTreeMap<String, Spanned<FieldSpec>>,
}

/// One destination field of a rule.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FieldSpec {
    pub(crate) path: Option<String>,
    pub(crate) template: Option<String>,
    pub(crate) value: Option<toml::Value>,
    pub(crate) default: Option<toml::Value>,
    #[serde(default)]
    pub(crate) required: bool,
    #[serde(rename = "type")]
    pub(crate) ty: Option<String>,
    #[serde(default)]
    pub(crate) transforms: Vec<Spanned<toml::Value>>,
    /// How the field is shown in logs: `true`, `false`, a mask's name or `{ keep_last = N }`
    /// (checked by the field, for a message naming the masks).
    pub(crate) mask: Option<Spanned<toml::Value>>,
}

/// Only the rules' names and positions, read when the strict parse failed, to say which rule
/// the error is in.
#[derive(Debug, Deserialize)]
struct LenientFile {
    #[serde(default)]
    rule: Vec<Spanned<LenientRule>>,
}

#[derive(Debug, Deserialize)]
struct LenientRule {
    name: Option<toml::Value>,
}

/// The 1-based line of byte offset `at` in `text`.
pub(crate) fn line_of(text: &str, at: usize) -> usize {
    text.as_bytes()[..at.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The name of the rule whose `[[rule]]` header comes last before `span`, when the file
/// parses that far.
pub(crate) fn rule_around(text: &str, span: &Range<usize>) -> Option<String> {
    let file: LenientFile = toml::from_str(text).ok()?;
    let rule = file
        .rule
        .iter()
        .rfind(|rule| rule.span().start <= span.start)?;
    match &rule.get_ref().name {
        Some(toml::Value::String(name)) => Some(name.clone()),
        _ => None,
    }
}

/// A TOML value as JSON: datetimes become their RFC 3339 text; `nan` and `inf`, which JSON
/// cannot carry, are refused.
pub(crate) fn to_json(value: toml::Value) -> Result<Value, String> {
    Ok(match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::Number(
            Number::from_f64(f).ok_or_else(|| format!("`{f}` cannot be written in JSON"))?,
        ),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => {
            Value::Array(items.into_iter().map(to_json).collect::<Result<_, _>>()?)
        }
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| Ok((k, to_json(v)?)))
                .collect::<Result<Map<_, _>, String>>()?,
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const FILE: &str = r#"# comment
[[rule]]
name = "first"
source = "stripe"
type = ["invoice.*", "charge.failed"]
[rule.fields]
email = { path = "data.email", required = true, transforms = ["trim", { split = " " }] }

[[rule]]
name = "second"
source = "*"
type = "*"
[rule.fields.text]
template = "{{ id }}"
"#;

    #[test]
    fn rules_and_fields_keep_their_positions() {
        let file: FileSpec = toml::from_str(FILE).unwrap();
        assert_eq!(file.rule.len(), 2);
        let first = &file.rule[0];
        assert_eq!(line_of(FILE, first.span().start), 2);
        assert_eq!(first.get_ref().name.get_ref(), "first");
        let email = &first.get_ref().fields["email"];
        assert_eq!(line_of(FILE, email.span().start), 7);
        assert!(email.get_ref().required);
        assert_eq!(email.get_ref().transforms.len(), 2);
        assert_eq!(line_of(FILE, email.get_ref().transforms[1].span().start), 7);
        let text = &file.rule[1].get_ref().fields["text"];
        assert_eq!(text.get_ref().template.as_deref(), Some("{{ id }}"));
    }

    #[test]
    fn unknown_keys_are_refused_with_their_position() {
        let text = FILE.replace("required = true", "requried = true");
        let e = toml::from_str::<FileSpec>(&text).unwrap_err();
        assert!(
            e.message().contains("unknown field `requried`"),
            "{}",
            e.message()
        );
        let span = e.span().unwrap();
        assert_eq!(line_of(&text, span.start), 7);
        assert_eq!(rule_around(&text, &span).as_deref(), Some("first"));
        let text = FILE.replace("template =", "tempalte =");
        let e = toml::from_str::<FileSpec>(&text).unwrap_err();
        assert_eq!(
            rule_around(&text, &e.span().unwrap()).as_deref(),
            Some("second")
        );
    }

    #[test]
    fn no_rule_around_a_syntax_error() {
        let text = "[[rule]\nname = 1";
        let e = toml::from_str::<FileSpec>(text).unwrap_err();
        assert_eq!(rule_around(text, &e.span().unwrap()), None);
    }

    #[test]
    fn toml_values_become_json() {
        let value: toml::Value = toml::from_str::<toml::Table>(
            "v = [{ a = 1, b = 1.5, c = true, d = 1979-05-27T07:32:00Z, e = [\"x\"] }]",
        )
        .unwrap()
        .remove("v")
        .unwrap();
        assert_eq!(
            to_json(value).unwrap(),
            json!([{"a": 1, "b": 1.5, "c": true, "d": "1979-05-27T07:32:00Z", "e": ["x"]}])
        );
        let nan = toml::from_str::<toml::Table>("v = nan")
            .unwrap()
            .remove("v")
            .unwrap();
        assert_eq!(to_json(nan).unwrap_err(), "`NaN` cannot be written in JSON");
    }
}
