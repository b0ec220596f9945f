//! The suggestions written as a mapping file in the kit's TOML format
//! (`switchyard::mapping`), each field with its confidence and reason as a comment above it,
//! and the fields nothing matched listed at the end.

use std::fmt::Write as _;

use super::fields::DestinationField;
use super::shapes::Shape;
use super::suggest::{Extraction, Suggestion, Suggestions};

/// What the rule is called and selects.
#[derive(Debug, Clone)]
pub struct RuleHeader<'a> {
    /// The rule's name.
    pub name: &'a str,
    /// Its `source` pattern.
    pub source: &'a str,
    /// Its `type` pattern.
    pub event_type: &'a str,
    /// Where the suggestions came from, for the file's first comment.
    pub origin: &'a str,
}

/// A TOML string (JSON's escapes are TOML basic-string escapes).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".into())
}

/// A TOML key: bare when it can be, else quoted.
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_owned()
    } else {
        quoted(name)
    }
}

/// A comment line's text: one line, whatever the sample's names hold.
fn comment(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

fn transforms(s: &Suggestion) -> Vec<String> {
    let mut list = Vec::new();
    if s.text {
        list.push("\"trim\"".to_owned());
    }
    match s.extraction {
        Extraction::FirstWord => list.push(r#"{ split = " ", part = "first" }"#.to_owned()),
        Extraction::RestWords => list.push(r#"{ split = " ", part = "rest" }"#.to_owned()),
        Extraction::Value => match s.shape {
            Some(Shape::Email) if s.text => list.push("\"lower\"".to_owned()),
            Some(Shape::Currency) if s.text => list.push("\"upper\"".to_owned()),
            _ => {}
        },
    }
    list
}

fn field_line(s: &Suggestion) -> String {
    let mut parts = vec![format!("path = {}", quoted(&s.path))];
    if s.required {
        parts.push("required = true".to_owned());
    }
    let transforms = transforms(s);
    if !transforms.is_empty() {
        parts.push(format!("transforms = [{}]", transforms.join(", ")));
    }
    format!("{} = {{ {} }}", key(&s.field), parts.join(", "))
}

/// The mapping file.
pub fn render(header: &RuleHeader<'_>, suggestions: &Suggestions) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Suggested by `switchyard automap` from {}.",
        comment(header.origin)
    );
    out.push_str(
        "# Review every field before use: each has its confidence (0 to 1) and the reason above it.\n\
         # Reference: shared/src/mapping/mod.rs.\n\n",
    );
    out.push_str("[[rule]]\n");
    let _ = writeln!(out, "name = {}", quoted(header.name));
    let _ = writeln!(out, "source = {}", quoted(header.source));
    let _ = writeln!(out, "type = {}", quoted(header.event_type));
    out.push_str("\n[rule.fields]\n");
    for s in &suggestions.matched {
        let _ = writeln!(out, "# confidence {:.2}: {}", s.confidence, comment(&s.why));
        if s.shape == Some(Shape::Date) {
            out.push_str(
                "# a date: add a `date` transform in the format the destination wants (e.g. { date = \"unix_ms\" })\n",
            );
        }
        let _ = writeln!(out, "{}", field_line(s));
    }
    let required: Vec<&DestinationField> = suggestions
        .unmatched
        .iter()
        .filter(|f| f.required)
        .collect();
    for field in &required {
        let _ = writeln!(
            out,
            "# REQUIRED and unmatched: no field of the sample fits; replace this path\n{} = {{ path = {}, required = true }}",
            key(&field.name),
            quoted(&format!("data.FIXME_{}", field.name)),
        );
    }
    if !suggestions.unmatched.is_empty() {
        out.push_str("\n# Unmatched destination fields (nothing in the sample fits):\n");
        for field in &suggestions.unmatched {
            let required = if field.required { " (required)" } else { "" };
            let _ = writeln!(out, "#   {}{required}", comment(&field.name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn suggestion(field: &str, shape: Option<Shape>, extraction: Extraction) -> Suggestion {
        Suggestion {
            field: field.into(),
            path: "data.x".into(),
            extraction,
            confidence: 0.86,
            why: "`x`: same\nname".into(),
            shape,
            text: true,
            required: false,
        }
    }

    #[test]
    fn fields_carry_their_transforms_and_confidence() {
        let s = Suggestions {
            matched: vec![
                suggestion("email", Some(Shape::Email), Extraction::Value),
                suggestion("first name", None, Extraction::FirstWord),
                suggestion("currency", Some(Shape::Currency), Extraction::Value),
            ],
            unmatched: vec![DestinationField {
                name: "zip".into(),
                label: None,
                declared_type: None,
                required: true,
            }],
        };
        let header = RuleHeader {
            name: "r",
            source: "stripe",
            event_type: "customer.*",
            origin: "a.json",
        };
        let text = render(&header, &s);
        assert!(
            text.contains(r#"email = { path = "data.x", transforms = ["trim", "lower"] }"#),
            "{text}"
        );
        assert!(text.contains(r#""first name" = { path = "data.x", transforms = ["trim", { split = " ", part = "first" }] }"#), "{text}");
        assert!(
            text.contains(r#"currency = { path = "data.x", transforms = ["trim", "upper"] }"#),
            "{text}"
        );
        assert!(text.contains("# confidence 0.86: `x`: same name"), "{text}");
        assert!(
            text.contains(r#"zip = { path = "data.FIXME_zip", required = true }"#),
            "{text}"
        );
        assert!(text.contains("#   zip (required)"), "{text}");
    }

    #[test]
    fn keys_that_are_not_bare_are_quoted() {
        assert_eq!(key("first_name"), "first_name");
        assert_eq!(key("a.b"), "\"a.b\"");
        assert_eq!(quoted("say \"hi\""), r#""say \"hi\"""#);
    }
}
