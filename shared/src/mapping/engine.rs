//! [`Mapping`]: a mapping file loaded and checked at cold start, applied per event.

use std::collections::HashMap;

use crate::envelope::CloudEvent;

use super::error::{LoadError, LoadProblem, MappingError};
use super::file::{FileSpec, line_of, rule_around};
use super::mapped::Mapped;
use super::rule::{FileContext, Rule};
use super::schema::Schema;
use super::template::Templates;

/// The environment variable naming a mapping file that replaces the embedded one.
pub const MAPPING_FILE_VAR: &str = "MAPPING_FILE";

/// A function's mapping: its rules, in file order, each checked against the destination's
/// schema and compiled (paths, transforms, templates) when loaded.
///
/// Load it once per cold start and share it (`Arc<Mapping>` or a `static`): it is immutable,
/// `Send` and `Sync`, and [`Mapping::apply`] allocates only the event's own values.
pub struct Mapping {
    file: String,
    rules: Vec<Rule>,
    templates: Templates,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("file", &self.file)
            .field(
                "rules",
                &self.rules.iter().map(Rule::name).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Mapping {
    /// Parses and checks the mapping `text` (named `file_name` in errors) against what the
    /// destination accepts.
    ///
    /// # Errors
    /// A [`LoadError`] naming the file, the line, the rule and the field, for: TOML that does
    /// not parse or has unknown keys; no rules; an empty or duplicate rule name; an invalid
    /// `source`/`type` pattern; a field the destination does not accept, or a required one a
    /// rule does not set; a field with no source or two; an invalid path; an unknown type or
    /// transform; a transform with bad arguments; a template with a syntax error, an unknown
    /// filter or test, or a variable that is not part of an event; a `default` that does not
    /// fit the field's type.
    pub fn load(text: &str, file_name: &str, schema: &Schema) -> Result<Self, LoadError> {
        let spec: FileSpec = toml::from_str(text).map_err(|e| {
            let span = e.span();
            LoadError::new(file_name, LoadProblem::Toml(e.message().trim().to_owned()))
                .at_line(span.as_ref().map(|span| line_of(text, span.start)))
                .in_rule(span.and_then(|span| rule_around(text, &span)).as_deref())
        })?;
        if spec.rule.is_empty() {
            return Err(LoadError::new(file_name, LoadProblem::NoRules));
        }
        let file = FileContext {
            name: file_name,
            text,
        };
        let mut templates = Templates::new();
        let mut rules: Vec<Rule> = Vec::with_capacity(spec.rule.len());
        let mut lines: HashMap<String, usize> = HashMap::new();
        for rule in spec.rule {
            let rule = Rule::compile(rule, &file, schema, &mut templates)?;
            if let Some(first_line) = lines.get(rule.name()) {
                return Err(LoadError::new(
                    file_name,
                    LoadProblem::DuplicateRule {
                        first_line: *first_line,
                    },
                )
                .at_line(Some(rule.line()))
                .in_rule(Some(rule.name())));
            }
            lines.insert(rule.name().to_owned(), rule.line());
            rules.push(rule);
        }
        Ok(Self {
            file: file_name.to_owned(),
            rules,
            templates,
        })
    }

    /// The mapping from the file named by `MAPPING_FILE` when that is set (and not blank),
    /// else the embedded one: `Mapping::from_env(include_str!("../mapping.toml"),
    /// "mapping.toml", &schema)`. Lets an operator change a mapping without a rebuild.
    ///
    /// # Errors
    /// As [`Mapping::load`]; and [`LoadProblem::Read`] when the named file cannot be read
    /// (a missing file is an error, never a silent fallback to the embedded mapping).
    pub fn from_env(
        embedded: &str,
        embedded_name: &str,
        schema: &Schema,
    ) -> Result<Self, LoadError> {
        let path =
            std::env::var_os(MAPPING_FILE_VAR).filter(|p| !p.to_string_lossy().trim().is_empty());
        Self::from_file_or(
            path.as_deref().map(std::path::Path::new),
            embedded,
            embedded_name,
            schema,
        )
    }

    /// The mapping in the file at `path` when there is one, else the embedded one: what
    /// [`Mapping::from_env`] does with `MAPPING_FILE`.
    ///
    /// # Errors
    /// As [`Mapping::from_env`].
    pub fn from_file_or(
        path: Option<&std::path::Path>,
        embedded: &str,
        embedded_name: &str,
        schema: &Schema,
    ) -> Result<Self, LoadError> {
        match path {
            None => Self::load(embedded, embedded_name, schema),
            Some(path) => {
                let name = path.display().to_string();
                let text = std::fs::read_to_string(path)
                    .map_err(|e| LoadError::new(&name, LoadProblem::Read(e)))?;
                Self::load(&text, &name, schema)
            }
        }
    }

    /// The file's name, as given when loading (the embedded name or the `MAPPING_FILE` path).
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The rules' names, in file order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(Rule::name)
    }

    /// The fields for `event`, computed by the **first** rule (in file order) whose `source`
    /// and `type` patterns both match; `Ok(None)` when no rule selects it (a deliverer
    /// acknowledges such an event as skipped).
    ///
    /// # Errors
    /// A [`MappingError`] (permanent) when a required field is missing, or a transform,
    /// coercion or template fails: it names the rule, the field and the event id, never a
    /// payload value.
    pub fn apply(&self, event: &CloudEvent) -> Result<Option<Mapped>, MappingError> {
        match self.rules.iter().find(|rule| rule.selects(event)) {
            Some(rule) => rule.apply(event, &self.templates).map(Some),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::{FieldType, MappingProblem};
    use crate::taxonomy::{Classify, ErrorClass};
    use serde_json::{Value, json};

    const EMAIL: &str = "jane@example.com";

    fn schema() -> Schema {
        Schema::new()
            .field("channel", FieldType::String)
            .field("text", FieldType::String)
            .field("blocks", FieldType::Array)
            .field("email", FieldType::String)
            .field("first_name", FieldType::String)
            .field("last_name", FieldType::String)
            .field("amount", FieldType::Any)
            .field("due", FieldType::String)
            .field("count", FieldType::Integer)
            .field("paid", FieldType::Boolean)
            .field("delivery", FieldType::String)
    }

    /// A Stripe receiver's envelope: the whole Stripe event in `data`.
    fn stripe_event(ty: &str, invoice: Value) -> CloudEvent {
        CloudEvent::new_value(
            "evt_1PqR",
            "stripe",
            ty,
            json!({"id": "evt_1PqR", "type": ty, "data": {"object": invoice}}),
        )
        .unwrap()
        .with_subject("in_1")
        .unwrap()
        .with_extension("deliveryid", "d_42")
        .unwrap()
    }

    fn invoice() -> Value {
        json!({
            "id": "in_1", "number": "EXMPL-0042", "customer_email": format!("  {EMAIL} "),
            "customer_name": "Jane Mary Doe", "amount_due": 1234, "currency": "usd",
            "due_date": 1714982400, "attempt_count": "3", "paid": false,
            "lines": {"data": [{"sku": "seat"}, {"sku": "addon"}]}
        })
    }

    const FILE: &str = r##"
[[rule]]
name = "invoice-payment-failed"
source = "stripe"
type = ["invoice.payment_failed", "invoice.payment_action_required"]

[rule.fields]
email = { path = "data.data.object.customer_email", required = true, transforms = ["trim", "lower"] }
first_name = { path = "data.data.object.customer_name", transforms = ["trim", { split = " ", part = "first" }], default = "there" }
last_name = { path = "data.data.object.customer_name", transforms = [{ split = " ", part = "rest" }] }
amount = { path = "data.data.object.amount_due", transforms = [{ money_decimal = { path = "data.data.object.currency" } }], type = "number" }
due = { path = "data.data.object.due_date", transforms = [{ date = "[day].[month].[year] [hour]:[minute]", offset = "+02:00" }] }
count = { path = "data.data.object.attempt_count" }
paid = { path = "data.data.object.paid" }
delivery = { path = "deliveryid" }
channel = { default = "#billing" }
text = { template = "Payment failed for {{ data.data.object.customer_email | trim }}: {{ data.data.object.amount_due | money(data.data.object.currency) }}" }
blocks = { value = [
  { type = "section", text = { type = "mrkdwn", text = "*Invoice* {{ data.data.object.number }} ({{ subject }})" } },
  { type = "context", elements = [{ type = "mrkdwn", text = "{{ data.data.object.lines.data | default([]) | length }} lines, event {{ id }}" }] },
  { type = "divider" },
] }

[[rule]]
name = "other-invoice-events"
source = "stripe"
type = "invoice.*"
fields.text = { template = "{{ type }} for {{ subject }}" }
"##;

    fn load(text: &str) -> Result<Mapping, LoadError> {
        Mapping::load(text, "mapping.toml", &schema())
    }

    fn load_error(text: &str) -> String {
        load(text).map(|_| ()).unwrap_err().to_string()
    }

    #[test]
    fn the_example_maps_a_stripe_invoice() {
        let mapping = load(FILE).unwrap();
        assert_eq!(
            mapping.rule_names().collect::<Vec<_>>(),
            ["invoice-payment-failed", "other-invoice-events"]
        );
        let mapped = mapping
            .apply(&stripe_event("invoice.payment_failed", invoice()))
            .unwrap()
            .unwrap();
        assert_eq!(mapped.rule(), "invoice-payment-failed");
        assert_eq!(
            mapped.clone().into_value(),
            json!({
                "email": EMAIL,
                "first_name": "Jane",
                "last_name": "Mary Doe",
                "amount": 12.34,
                "due": "06.05.2024 10:00",
                "count": 3,
                "paid": false,
                "delivery": "d_42",
                "channel": "#billing",
                "text": format!("Payment failed for {EMAIL}: 12.34 USD"),
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*Invoice* EXMPL-0042 (in_1)"}},
                    {"type": "context", "elements": [{"type": "mrkdwn", "text": "2 lines, event evt_1PqR"}]},
                    {"type": "divider"}
                ]
            })
        );
    }

    #[test]
    fn missing_optional_fields_are_left_out_and_defaults_fill_in() {
        let mapping = load(FILE).unwrap();
        let invoice = json!({"customer_email": EMAIL, "amount_due": 500, "currency": "jpy"});
        let mapped = mapping
            .apply(&stripe_event("invoice.payment_action_required", invoice))
            .unwrap()
            .unwrap();
        let fields = mapped.fields();
        assert_eq!(fields["first_name"], json!("there"));
        assert_eq!(fields["amount"], json!(500));
        assert_eq!(
            fields["text"],
            json!(format!("Payment failed for {EMAIL}: 500 JPY"))
        );
        for left_out in ["last_name", "due", "count", "paid"] {
            assert!(!fields.contains_key(left_out), "{left_out}");
        }
    }

    #[test]
    fn the_first_matching_rule_wins_and_no_rule_gives_none() {
        let mapping = load(FILE).unwrap();
        let other = mapping
            .apply(&stripe_event("invoice.paid", invoice()))
            .unwrap()
            .unwrap();
        assert_eq!(other.rule(), "other-invoice-events");
        assert_eq!(other.get_str("text"), Some("invoice.paid for in_1"));
        assert!(
            mapping
                .apply(&stripe_event("charge.failed", invoice()))
                .unwrap()
                .is_none()
        );
        let github = CloudEvent::new_value("1", "github", "invoice.paid", json!({})).unwrap();
        assert!(mapping.apply(&github).unwrap().is_none());

        // The catch-all first: it takes every invoice event, the specific rule never runs.
        let (specific, catch_all) = FILE.split_at(FILE.find("[[rule]]\nname = \"other").unwrap());
        let reordered = load(&format!("{catch_all}\n{specific}")).unwrap();
        let mapped = reordered
            .apply(&stripe_event("invoice.payment_failed", invoice()))
            .unwrap()
            .unwrap();
        assert_eq!(mapped.rule(), "other-invoice-events");
    }

    #[test]
    fn a_missing_required_field_is_permanent_and_names_field_rule_and_event() {
        let mapping = load(FILE).unwrap();
        let invoice = json!({"customer_email": "   ", "amount_due": 1, "currency": "usd"});
        let e = mapping
            .apply(&stripe_event("invoice.payment_failed", invoice))
            .unwrap_err();
        assert_eq!(e.class(), ErrorClass::Permanent);
        assert!(matches!(e.problem(), MappingProblem::Missing));
        assert_eq!(
            (e.rule(), e.field(), e.event_id()),
            ("invoice-payment-failed", Some("email"), "evt_1PqR")
        );
        assert_eq!(
            e.to_string(),
            "mapping rule `invoice-payment-failed`, field `email`, event `evt_1PqR`: required \
             value is missing (absent, null or empty)"
        );
        let kit: crate::Error = e.into();
        assert_eq!(kit.class(), ErrorClass::Permanent);
    }

    /// Every run-time failure, fed the customer's email where a value goes wrong.
    #[test]
    fn error_messages_never_contain_payload_values() {
        let file = r#"
[[rule]]
name = "r"
source = "*"
type = "count"
[rule.fields]
count = { path = "data.email", type = "integer" }
[[rule]]
name = "t"
source = "*"
type = "transform"
fields.amount = { path = "data.email", transforms = [{ money = "usd" }] }
[[rule]]
name = "c"
source = "*"
type = "currency"
fields.amount = { path = "data.amount", transforms = [{ money = { path = "data.email" } }] }
[[rule]]
name = "d"
source = "*"
type = "date"
fields.due = { path = "data.email", transforms = [{ date = "rfc3339" }] }
[[rule]]
name = "f"
source = "*"
type = "filter"
fields.text = { template = "{{ data.amount | money(data.email) }}" }
[[rule]]
name = "o"
source = "*"
type = "operator"
fields.text = { template = "{{ data.email + 1 }}" }
[[rule]]
name = "b"
source = "*"
type = "boolean"
fields.paid = { path = "data.email" }
[[rule]]
name = "s"
source = "*"
type = "blocks"
fields.blocks = { value = [{ text = "{{ data.email | date('unix') }}" }] }
"#;
        let rules = [
            (
                "count",
                "r",
                "cannot convert a string that is not a whole number to integer",
            ),
            (
                "transform",
                "t",
                "transform `money` expects an integer amount in minor units, found a string that is not a number",
            ),
            (
                "currency",
                "c",
                "transform `money`: the currency is not a three-letter code",
            ),
            (
                "date",
                "d",
                "transform `date`: not an RFC 3339 timestamp or Unix seconds",
            ),
            (
                "filter",
                "f",
                "template `f/text` failed at template line 1: invalid operation: filter `money`: the currency is not a three-letter code",
            ),
            (
                "operator",
                "o",
                "template `o/text` failed at template line 1: invalid operation",
            ),
            (
                "boolean",
                "b",
                "cannot convert a string that is not a boolean to boolean",
            ),
            (
                "blocks",
                "s",
                "template `s/blocks/0/text` failed at template line 1: invalid operation: filter `date`: not an RFC 3339 timestamp or Unix seconds",
            ),
        ];
        let mapping = Mapping::load(file, "m.toml", &schema()).unwrap();
        for (ty, rule, problem) in rules {
            let event = CloudEvent::new_value(
                format!("evt_{ty}"),
                "s",
                ty,
                json!({"email": EMAIL, "amount": 100}),
            )
            .unwrap();
            let e = mapping.apply(&event).unwrap_err();
            assert_eq!(e.rule(), rule);
            let expected_start = format!("mapping rule `{rule}`, field `");
            let text = e.to_string();
            assert!(text.starts_with(&expected_start), "{text}");
            assert!(text.contains(&format!("event `evt_{ty}`: ")), "{text}");
            assert!(
                text.ends_with(problem),
                "{text}\nexpected to end with: {problem}"
            );
            let kit: crate::Error = e.into();
            for text in [text, format!("{kit:?}"), kit.to_string()] {
                assert!(
                    !text.contains(EMAIL) && !text.contains("jane"),
                    "leaked: {text}"
                );
            }
        }
    }

    #[test]
    fn reading_only_what_rules_use_gives_what_the_whole_payload_would() {
        let templates = [
            "{{ data.customer.email }}",
            "{{ data.items[1].sku }}",
            "{{ data.items.0.sku }}",
            "{% for item in data.items %}{{ item.sku }},{% endfor %}",
            "{% set c = data.customer %}{{ c.name }}",
            "{{ data['customer'].name }}",
            "{{ data.customer | tojson }}",
            "{{ data.metadata | length }}",
            "{{ data.customer.name.first }}",
            "{{ data.missing.deep.path }}",
            "{{ data | length }}",
            "{% if data.customer.email is defined %}yes{% endif %}",
            "{{ data.items | map(attribute='sku') | join('/') }}",
            "{{ data.customer.address.city | default('?') }}",
        ];
        let data = json!({
            "customer": {"email": EMAIL, "name": "Jane", "address": null},
            "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}],
            "metadata": {"k1": "v1", "k2": "v2"},
            "noise": {"big": [1, 2, 3]}
        });
        let full = crate::mapping::filters::environment();
        let event = CloudEvent::new_value("e", "s", "t", &data).unwrap();
        for template in templates {
            let file = format!(
                "[[rule]]\nname = \"r\"\nsource = \"*\"\ntype = \"*\"\nfields.text = {{ template = {} }}\n",
                Value::String(template.to_owned())
            );
            let mapping = load(&file).unwrap();
            let mapped = mapping.apply(&event).unwrap().unwrap();
            let expected = full
                .render_str(
                    template,
                    minijinja::context! { data => minijinja::Value::from_serialize(&data) },
                )
                .unwrap();
            assert_eq!(
                mapped.get_str("text").unwrap_or_default(),
                expected,
                "{template}"
            );
        }
    }

    #[test]
    fn paths_reach_attributes_and_extensions() {
        let file = r#"
[[rule]]
name = "r"
source = "*"
type = "*"
[rule.fields]
text = { template = "{{ id }} {{ source }} {{ type }} {{ subject }} {{ time }} {{ deliveryid }} {{ specversion }}" }
delivery = { path = "deliveryid" }
first_name = { path = "data.items.1.sku", transforms = ["upper"] }
"#;
        let mapping = load(file).unwrap();
        let event = CloudEvent::new_value(
            "evt_1",
            "shop",
            "order.created",
            json!({"items": [{"sku": "a"}, {"sku": "b"}]}),
        )
        .unwrap()
        .with_subject("o_1")
        .unwrap()
        .with_time(time::macros::datetime!(2024-05-06 08:00 UTC))
        .with_extension("deliveryid", "d_1")
        .unwrap();
        let mapped = mapping.apply(&event).unwrap().unwrap();
        assert_eq!(
            mapped.get_str("text"),
            Some("evt_1 shop order.created o_1 2024-05-06T08:00:00Z d_1 1.0")
        );
        assert_eq!(mapped.get_str("delivery"), Some("d_1"));
        assert_eq!(mapped.get_str("first_name"), Some("B"));
    }

    /// Each check at load: the message names the file, the line, the rule and the problem.
    #[test]
    fn load_errors_name_file_line_rule_and_problem() {
        let rule = |fields: &str| {
            format!(
                "[[rule]]\nname = \"r\"\nsource = \"stripe\"\ntype = \"invoice.*\"\n[rule.fields]\n{fields}\n"
            )
        };
        let cases: Vec<(String, &str)> = vec![
            (
                rule("emial = { path = \"data.email\" }"),
                "mapping.toml:6: rule `r`, field `emial`: the destination has no field of this name",
            ),
            (
                rule("email = { path = \"data.email\", transforms = [\"trim\", \"trimm\"] }"),
                "mapping.toml:6: rule `r`, field `email`: unknown transform `trimm` (expected one of: trim, lower, upper, split, join, format_number, date, money, money_decimal)",
            ),
            (
                rule(
                    "email = { path = \"data.email\", transforms = [{ split = \" \", part = \"middle\" }] }",
                ),
                "mapping.toml:6: rule `r`, field `email`: transform `split`: `part` must be `first`, `last`, `rest`, `all` or an index",
            ),
            (
                rule("text = { template = \"{{ data.email | }}\" }"),
                "mapping.toml:6: rule `r`, field `text`: template syntax error at template line 1: unexpected end of variable block, expected identifier",
            ),
            (
                rule("text = { template = \"{{ data.amount | mony('usd') }}\" }"),
                "mapping.toml:6: rule `r`, field `text`: the template uses unknown filter `mony`",
            ),
            (
                rule("email = { required = true }"),
                "mapping.toml:6: rule `r`, field `email`: the field has neither `path`, `template`, `value` nor `default`",
            ),
            (
                rule("email = { path = \"data.email\", type = \"text\" }"),
                "mapping.toml:6: rule `r`, field `email`: unknown type `text` (expected string, integer, number, boolean, array, object or any)",
            ),
            (
                rule("email = { path = \"data.email\" }").replace("invoice.*", "invoice.?"),
                "mapping.toml:4: rule `r`: invalid `type` pattern: pattern `invoice.?` uses `?`: only `*` is a wildcard",
            ),
            (
                rule("email = { path = \"data.email\" }").replace("\"stripe\"", "\"\""),
                "mapping.toml:3: rule `r`: invalid `source` pattern: an empty pattern matches nothing; use `*` to match anything",
            ),
            (
                rule("email = { path = \"data.email\" }").replace("\"stripe\"", "42"),
                "mapping.toml:3: rule `r`: invalid `source` pattern: must be text or a list of text, found integer",
            ),
            (
                rule("email = { path = \"data.email\" }").replace("\"stripe\"", "[]"),
                "mapping.toml:3: rule `r`: invalid `source` pattern: the list is empty",
            ),
            (
                rule("email = { path = \"data.email\" }").replace("name = \"r\"", "name = \"\""),
                "mapping.toml:1: rule ``: the rule's `name` is empty",
            ),
            (
                format!(
                    "{}{}",
                    rule("email = { path = \"data.email\" }"),
                    rule("email = { path = \"id\" }")
                ),
                "mapping.toml:7: rule `r`: another rule has the same name (line 1)",
            ),
            (
                rule("email = { pth = \"data.email\" }"),
                "mapping.toml:6: rule `r`: unknown field `pth`, expected one of `path`, `template`, `value`, `default`, `required`, `type`, `transforms`, `mask`",
            ),
            (
                rule("email = { path = \"data.email\" }").replace("type = ", "kind = "),
                "mapping.toml:4: rule `r`: unknown field `kind`, expected one of `name`, `source`, `type`, `fields`",
            ),
            (
                rule("email = { path = \"data.email\" }").replace("type = \"invoice.*\"\n", ""),
                "mapping.toml:1: rule `r`: missing field `type`",
            ),
            (
                "[[rule]\nname = \"r\"".to_owned(),
                "mapping.toml:1: unclosed array table, expected `]`",
            ),
            (
                "# nothing yet\n".to_owned(),
                "mapping.toml: the file has no `[[rule]]`: every event would be skipped",
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(load_error(&text), expected, "\n{text}");
        }
    }

    /// The fields a rule marks are masked in the log view, the others shown as they are, and
    /// what is sent is never masked.
    #[test]
    fn masked_fields_are_masked_in_the_log_view_only() {
        let file = r##"
[[rule]]
name = "customer"
source = "stripe"
type = "*"
[rule.fields]
email = { path = "data.data.object.customer_email", transforms = ["trim", "lower"], mask = "email" }
first_name = { path = "data.data.object.customer_name", transforms = [{ split = " ", part = "first" }], mask = true }
last_name = { path = "data.data.object.customer_name", transforms = [{ split = " ", part = "rest" }], mask = "erase" }
due = { path = "data.data.object.number", mask = { keep_last = 4 } }
count = { path = "data.data.object.attempt_count", mask = true }
paid = { path = "data.data.object.paid", mask = false }
text = { template = "Payment failed for {{ data.data.object.customer_email | trim }}", mask = true }
blocks = { value = [{ type = "section", text = "{{ data.data.object.customer_name }}" }], mask = true }
channel = { value = "#billing" }
"##;
        let mapping = load(file).unwrap();
        let mapped = mapping
            .apply(&stripe_event("invoice.payment_failed", invoice()))
            .unwrap()
            .unwrap();
        let expected = json!({
            "email": "*****@example.com",
            "first_name": "*****",
            "last_name": "*****",
            "due": "*****0042",
            "count": "*****",
            "paid": false,
            "text": "*****",
            "blocks": [{"type": "*****", "text": "*****"}],
            "channel": "#billing",
        });
        assert_eq!(Value::Object(mapped.masked()), expected);
        let line = mapped.for_log().to_string();
        assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), expected);
        for personal in [EMAIL, "jane@", "Jane", "Mary Doe", "EXMPL"] {
            assert!(!line.contains(personal), "{personal} in {line}");
            assert!(!format!("{mapped:?}").contains(personal), "{personal}");
        }
        assert_eq!(mapped.mask_of("email"), Some(crate::mask::Mask::Email));
        assert_eq!(mapped.mask_of("paid"), None);
        assert_eq!(mapped.mask_of("channel"), None);
        // Sent as computed.
        assert_eq!(mapped.get_str("email"), Some(EMAIL));
        assert_eq!(mapped.get_str("first_name"), Some("Jane"));

        // Without masks, the same rule logs every value: the masks are what hides them.
        let unmasked: String = file
            .lines()
            .map(|line| match line.find(", mask = ") {
                Some(at) => format!("{} }}", &line[..at]),
                None => line.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mapped = load(&unmasked)
            .unwrap()
            .apply(&stripe_event("invoice.payment_failed", invoice()))
            .unwrap()
            .unwrap();
        assert!(mapped.for_log().to_string().contains(EMAIL));
    }

    #[test]
    fn an_invalid_mask_stops_the_load_naming_file_line_rule_and_field() {
        let rule = |mask: &str| {
            format!(
                "[[rule]]\nname = \"r\"\nsource = \"*\"\ntype = \"*\"\n[rule.fields]\nemail = {{ path = \"data.email\", mask = {mask} }}\n"
            )
        };
        let expected = "(expected true, false, \"erase\", \"email\" or { keep_last = N })";
        let cases = [
            ("\"bogus\"", "unknown mask `bogus`"),
            ("\"keep_last\"", "unknown mask `keep_last`"),
            (
                "{ keep_last = 0 }",
                "`keep_last` must be a whole number from 1 to 8, found 0",
            ),
            (
                "{ keep_last = 99 }",
                "`keep_last` must be a whole number from 1 to 8, found 99",
            ),
            (
                "{ keep_last = \"4\" }",
                "`keep_last` must be a whole number, found string",
            ),
            ("{ keep_first = 4 }", "unknown mask `keep_first`"),
            ("{}", "the table is empty"),
            (
                "{ keep_last = 4, email = true }",
                "the table names more than one mask",
            ),
            ("1", "found integer"),
        ];
        for (mask, problem) in cases {
            let e = load(&rule(mask)).unwrap_err();
            assert!(matches!(e.problem(), LoadProblem::Mask(_)), "{mask}");
            assert_eq!(
                (e.file(), e.line(), e.rule(), e.field()),
                ("mapping.toml", Some(6), Some("r"), Some("email")),
                "{mask}"
            );
            assert_eq!(
                e.to_string(),
                format!(
                    "mapping.toml:6: rule `r`, field `email`: invalid `mask`: {problem} {expected}"
                ),
                "{mask}"
            );
        }
        // The mask's own line, when the field is a table over several lines.
        let text = "[[rule]]\nname = \"r\"\nsource = \"*\"\ntype = \"*\"\n[rule.fields.email]\npath = \"data.email\"\nmask = \"bogus\"\n";
        assert_eq!(
            load_error(text),
            format!(
                "mapping.toml:7: rule `r`, field `email`: invalid `mask`: unknown mask `bogus` {expected}"
            )
        );
    }

    #[test]
    fn the_destination_decides_required_fields() {
        let schema = Schema::new()
            .required("channel", FieldType::String)
            .field("text", FieldType::String);
        let text = "[[rule]]\nname = \"r\"\nsource = \"*\"\ntype = \"*\"\nfields.text = { template = \"{{ id }}\" }\n";
        let e = Mapping::load(text, "m.toml", &schema).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.toml:1: rule `r`: the destination requires field `channel`, which this rule does not set"
        );
        assert_eq!(
            (e.file(), e.line(), e.rule(), e.field()),
            ("m.toml", Some(1), Some("r"), None)
        );
        // Set but missing for an event: required, as if the field said so.
        let text = format!("{text}fields.channel = {{ path = \"data.channel\" }}\n");
        let mapping = Mapping::load(&text, "m.toml", &schema).unwrap();
        let event = CloudEvent::new_value("e", "s", "t", json!({})).unwrap();
        let e = mapping.apply(&event).unwrap_err();
        assert_eq!(e.field(), Some("channel"));
        assert!(matches!(e.problem(), MappingProblem::Missing));
    }

    #[test]
    fn mapping_file_replaces_the_embedded_mapping() {
        let dir = std::env::temp_dir().join(format!("switchyard-mapping-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("override.toml");
        let replacement = "[[rule]]\nname = \"replacement\"\nsource = \"*\"\ntype = \"*\"\nfields.text = { template = \"replaced {{ id }}\" }\n";
        std::fs::write(&path, replacement).unwrap();

        let mapping = Mapping::from_file_or(Some(&path), FILE, "mapping.toml", &schema()).unwrap();
        assert_eq!(mapping.file(), path.display().to_string());
        assert_eq!(mapping.rule_names().collect::<Vec<_>>(), ["replacement"]);
        let mapped = mapping
            .apply(&stripe_event("invoice.paid", invoice()))
            .unwrap()
            .unwrap();
        assert_eq!(mapped.get_str("text"), Some("replaced evt_1PqR"));

        let embedded = Mapping::from_file_or(None, FILE, "mapping.toml", &schema()).unwrap();
        assert_eq!(embedded.file(), "mapping.toml");

        // Errors in the replacement name its path.
        std::fs::write(
            &path,
            "[[rule]]\nname = \"x\"\nsource = \"*\"\ntype = \"*\"\nfields.nope = { value = 1 }\n",
        )
        .unwrap();
        let e = Mapping::from_file_or(Some(&path), FILE, "mapping.toml", &schema()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "{}:5: rule `x`, field `nope`: the destination has no field of this name",
                path.display()
            )
        );

        // A missing file is an error, never a silent fallback.
        let missing = dir.join("missing.toml");
        let e = Mapping::from_file_or(Some(&missing), FILE, "mapping.toml", &schema()).unwrap_err();
        assert!(matches!(e.problem(), LoadProblem::Read(_)));
        assert!(
            e.to_string().starts_with(&format!(
                "{}: cannot read the mapping file: ",
                missing.display()
            )),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn from_env_uses_the_embedded_mapping_when_mapping_file_is_unset() {
        // The test process does not set MAPPING_FILE (and cannot, safely, in parallel tests);
        // `from_file_or` covers the override itself.
        if std::env::var_os(MAPPING_FILE_VAR).is_none() {
            let mapping = Mapping::from_env(FILE, "mapping.toml", &schema()).unwrap();
            assert_eq!(mapping.file(), "mapping.toml");
        }
    }

    /// The file shown in the module documentation loads and maps a Stripe event.
    #[test]
    fn the_documented_example_works() {
        let docs = include_str!("mod.rs");
        let start = docs.find("//! ```toml\n").unwrap() + "//! ```toml\n".len();
        let end = start + docs[start..].find("//! ```\n").unwrap();
        let text: String = docs[start..end]
            .lines()
            .map(|line| {
                line.strip_prefix("//! ")
                    .unwrap_or(line.trim_start_matches("//!"))
            })
            .collect::<Vec<_>>()
            .join("\n");
        let mapping = Mapping::load(&text, "mapping.toml", &schema()).unwrap();
        let mapped = mapping
            .apply(&stripe_event("invoice.payment_failed", invoice()))
            .unwrap()
            .unwrap();
        assert_eq!(mapped.get_str("email"), Some(EMAIL));
        assert_eq!(mapped.get_str("first_name"), Some("Jane"));
        assert_eq!(mapped.get("amount"), Some(&json!(12.34)));
        assert_eq!(mapped.get_str("due"), Some("06.05.2024"));
        assert_eq!(
            mapped.get("blocks").and_then(Value::as_array).map(Vec::len),
            Some(2)
        );
        let logged = Value::Object(mapped.masked());
        assert_eq!(logged["email"], json!("*****@example.com"));
        assert_eq!(logged["first_name"], json!("*****"));
        assert_eq!(logged["text"], json!("*****"));
        assert_eq!(logged["amount"], json!(12.34));
        let other = mapping
            .apply(&stripe_event("invoice.paid", invoice()))
            .unwrap()
            .unwrap();
        assert_eq!(other.get_str("text"), Some("invoice.paid for in_1"));
    }

    #[test]
    fn a_mapping_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Mapping>();
        assert!(format!("{:?}", load(FILE).unwrap()).contains("invoice-payment-failed"));
    }
}
