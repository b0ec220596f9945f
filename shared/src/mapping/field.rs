//! One destination field of a rule: where its value comes from, the transforms, the default,
//! whether it is required, and the types it is coerced to.
//!
//! Per event a field is computed in this order:
//!
//! 1. **Source**: the value at `path` (absent when the event has none), the rendered
//!    `template` (text), or the rendered `value` (any JSON, templates inside).
//! 2. **Transforms**, in order; `null` passes through each.
//! 3. **Missing?** Absent, `null` or empty text counts as missing. Then the `default` is used
//!    (it is not transformed); else a required field fails the event; else the field is left
//!    out of the result — not set to `null`, so a destination that updates records (a CRM)
//!    keeps what it had rather than clearing it.
//! 4. **Coercion** to the field's own `type`, then to the destination schema's type.
//!
//! A field's `mask` plays no part in computing it: it says how the value is shown in logs
//! ([`Mapped::for_log`](super::Mapped::for_log)).

use minijinja::value::Value as TemplateValue;
use serde_json::Value;

use crate::mask::Mask;

use super::coerce::coerce;
use super::error::{LoadProblem, MappingProblem};
use super::file::{FieldSpec, to_json};
use super::path::Path;
use super::schema::{FieldType, SchemaField};
use super::structure::Node;
use super::template::{Templates, is_template};
use super::transform::{ArgSource, NAMES, ParseError, Transform};
use super::view::{Needs, View};

/// Where a field's value comes from.
#[derive(Debug, Clone)]
enum Source {
    Path(Path),
    /// A template's name.
    Template(String),
    Value(Node),
    /// Nothing: the field is its default.
    Default,
}

/// A compiled field.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    name: String,
    source: Source,
    transforms: Vec<Transform>,
    /// Already coerced to `types`.
    default: Option<Value>,
    required: bool,
    types: Vec<FieldType>,
    /// How the value is shown in logs; `None`: as it is.
    mask: Option<Mask>,
}

/// A load problem, with the line of the transform it is in when it is in one.
pub(crate) type FieldProblem = (LoadProblem, Option<usize>);

impl Field {
    /// Compiles the field `name` of the rule `rule` against what the destination accepts;
    /// records what it reads in `needs`. `line_of` gives the line of a transform's offset.
    pub(crate) fn compile(
        rule: &str,
        name: &str,
        spec: FieldSpec,
        destination: SchemaField,
        templates: &mut Templates,
        needs: &mut Needs,
        line_of: &dyn Fn(usize) -> usize,
    ) -> Result<Self, FieldProblem> {
        let sources: Vec<&'static str> = [
            ("path", spec.path.is_some()),
            ("template", spec.template.is_some()),
            ("value", spec.value.is_some()),
        ]
        .into_iter()
        .filter_map(|(key, given)| given.then_some(key))
        .collect();
        if let [first, second, ..] = sources[..] {
            return Err((LoadProblem::TwoSources(first, second), None));
        }
        if sources.is_empty() && spec.default.is_none() {
            return Err((LoadProblem::NoSource, None));
        }
        if spec.required && spec.default.is_some() {
            return Err((LoadProblem::RequiredWithDefault, None));
        }

        let mask = match spec.mask {
            None => None,
            Some(mask) => {
                let line = Some(line_of(mask.span().start));
                parse_mask(mask.into_inner()).map_err(|e| (e, line))?
            }
        };

        let mut types = Vec::new();
        if let Some(ty) = &spec.ty {
            let ty = FieldType::from_name(ty)
                .ok_or_else(|| (LoadProblem::UnknownType(ty.clone()), None))?;
            types.push(ty);
        }
        if destination.ty != FieldType::Any {
            types.push(destination.ty);
        }

        let template_name = format!("{rule}/{name}");
        let mut variables = Vec::new();
        let source = if let Some(path) = spec.path {
            let path = Path::parse(&path).map_err(|e| (LoadProblem::Path(e.to_string()), None))?;
            needs.add_path(&path);
            Source::Path(path)
        } else if let Some(template) = spec.template {
            if is_template(&template) {
                let (name, used) = templates
                    .add(&template_name, template)
                    .map_err(|e| (e, None))?;
                variables = used;
                Source::Template(name)
            } else {
                Source::Value(Node::Literal(Value::String(template)))
            }
        } else if let Some(value) = spec.value {
            let value = to_json(value).map_err(|e| (LoadProblem::NotJson(e), None))?;
            Source::Value(
                Node::compile(value, &template_name, templates, &mut variables)
                    .map_err(|e| (e, None))?,
            )
        } else {
            Source::Default
        };
        for variable in &variables {
            needs
                .add_variable(variable, templates)
                .map_err(|e| (e, None))?;
        }

        let mut transforms = Vec::with_capacity(spec.transforms.len());
        for item in spec.transforms {
            let line = Some(line_of(item.span().start));
            let transform = parse_transform(item.into_inner()).map_err(|e| (e, line))?;
            if let Some(path) = transform.path() {
                needs.add_path(path);
            }
            transforms.push(transform);
        }

        let default = match spec.default {
            None => None,
            Some(default) => {
                let mut default = to_json(default).map_err(|e| (LoadProblem::NotJson(e), None))?;
                for ty in &types {
                    default = coerce(default, *ty).map_err(|e| (LoadProblem::Default(e), None))?;
                }
                Some(default)
            }
        };

        Ok(Self {
            name: name.to_owned(),
            source,
            transforms,
            default,
            required: spec.required || destination.required,
            types,
            mask,
        })
    }

    /// The field's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// How the field is shown in logs; `None`: as it is.
    pub(crate) fn mask(&self) -> Option<Mask> {
        self.mask
    }

    /// The field's value for one event; `None` when it is missing and may be left out.
    pub(crate) fn compute(
        &self,
        view: &View<'_>,
        templates: &Templates,
        context: &TemplateValue,
    ) -> Result<Option<Value>, MappingProblem> {
        let mut value = match &self.source {
            Source::Path(path) => view.resolve(path).unwrap_or(Value::Null),
            Source::Template(name) => Value::String(
                templates
                    .render(name, context)
                    .map_err(MappingProblem::Template)?,
            ),
            Source::Value(node) => node
                .render(templates, context)
                .map_err(MappingProblem::Template)?,
            Source::Default => Value::Null,
        };
        for transform in &self.transforms {
            value = transform
                .apply(value, &|path| view.resolve(path))
                .map_err(MappingProblem::Transform)?;
        }
        if is_missing(&value) {
            return match (&self.default, self.required) {
                (Some(default), _) => Ok(Some(default.clone())),
                (None, true) => Err(MappingProblem::Missing),
                (None, false) => Ok(None),
            };
        }
        for ty in &self.types {
            value = coerce(value, *ty).map_err(MappingProblem::Coerce)?;
        }
        Ok(Some(value))
    }
}

/// Absent, `null` or empty text.
fn is_missing(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// A `mask` as written in the file: `true` (erase), `false` (none), a mask's name
/// (`"erase"`, `"email"`), or `{ keep_last = N }`.
fn parse_mask(value: toml::Value) -> Result<Option<Mask>, LoadProblem> {
    match value {
        toml::Value::Boolean(masked) => Ok(masked.then_some(Mask::Erase)),
        toml::Value::String(name) => name
            .parse()
            .map(Some)
            .map_err(|e: crate::mask::MaskError| LoadProblem::Mask(e.to_string())),
        toml::Value::Table(table) => {
            let mut entries = table.into_iter();
            match (entries.next(), entries.next()) {
                (Some((key, value)), None) if key == "keep_last" => match value {
                    toml::Value::Integer(n) => Mask::keep_last(n)
                        .map(Some)
                        .map_err(|e| LoadProblem::Mask(e.to_string())),
                    other => Err(LoadProblem::Mask(format!(
                        "`keep_last` must be a whole number, found {}",
                        other.type_str()
                    ))),
                },
                (Some((key, _)), None) => Err(LoadProblem::Mask(format!("unknown mask `{key}`"))),
                (None, _) => Err(LoadProblem::Mask("the table is empty".to_owned())),
                (Some(_), Some(_)) => Err(LoadProblem::Mask(
                    "the table names more than one mask".to_owned(),
                )),
            }
        }
        other => Err(LoadProblem::Mask(format!("found {}", other.type_str()))),
    }
}

/// A transform as written in the file: `"trim"`, or a table with the transform's name as one
/// key (its value the main argument) and the transform's options as the others.
fn parse_transform(item: toml::Value) -> Result<Transform, LoadProblem> {
    let unknown = |name: String| LoadProblem::UnknownTransform {
        name,
        expected: NAMES.join(", "),
    };
    let (name, main, options) = match item {
        toml::Value::String(name) => (name, None, Vec::new()),
        toml::Value::Table(table) => {
            let keys: Vec<&String> = table.keys().collect();
            let names: Vec<&String> = keys
                .iter()
                .copied()
                .filter(|key| NAMES.contains(&key.as_str()))
                .collect();
            let name = match (&names[..], &keys[..]) {
                ([name], _) => (*name).clone(),
                ([], []) => return Err(LoadProblem::TransformShape("the table is empty".into())),
                ([], [key]) => return Err(unknown((*key).clone())),
                ([], [first, ..]) => {
                    return Err(LoadProblem::TransformShape(format!(
                        "`{first}` is not a transform"
                    )));
                }
                (names, _) => {
                    return Err(LoadProblem::TransformShape(format!(
                        "the table names {} transforms",
                        names.len()
                    )));
                }
            };
            let mut main = None;
            let mut options = Vec::new();
            for (key, value) in table {
                let value = to_json(value).map_err(LoadProblem::NotJson)?;
                if key == name {
                    main = Some(value);
                } else {
                    options.push((key, value));
                }
            }
            (name, main, options)
        }
        other => {
            return Err(LoadProblem::TransformShape(format!(
                "found {}",
                other.type_str()
            )));
        }
    };
    Transform::parse(&name, main, options, ArgSource::File).map_err(|e| match e {
        ParseError::Unknown(name) => unknown(name),
        ParseError::Args(transform, error) => LoadProblem::TransformArgs { transform, error },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::CloudEvent;
    use serde_json::json;

    fn spec(toml_text: &str) -> FieldSpec {
        toml::from_str(toml_text).unwrap()
    }

    fn compile(
        toml_text: &str,
        destination: FieldType,
    ) -> Result<(Field, Templates, Needs), LoadProblem> {
        let mut templates = Templates::new();
        let mut needs = Needs::default();
        let destination = SchemaField {
            ty: destination,
            required: false,
        };
        Field::compile(
            "r",
            "f",
            spec(toml_text),
            destination,
            &mut templates,
            &mut needs,
            &|_| 1,
        )
        .map(|field| (field, templates, needs))
        .map_err(|(e, _)| e)
    }

    fn compute(toml_text: &str, data: Value) -> Result<Option<Value>, MappingProblem> {
        let (field, templates, needs) = compile(toml_text, FieldType::Any).unwrap();
        let event = CloudEvent::new_value("evt_1", "stripe", "invoice.paid", data).unwrap();
        let view = View::new(&event, &needs).unwrap();
        field.compute(&view, &templates, &view.context(&needs))
    }

    #[test]
    fn paths_transforms_and_types() {
        let data = json!({"customer": {"email": "  Jane@Example.com "}, "n": "42"});
        assert_eq!(
            compute(
                r#"path = "data.customer.email"
                       transforms = ["trim", "lower"]"#,
                data.clone()
            )
            .unwrap(),
            Some(json!("jane@example.com"))
        );
        assert_eq!(
            compute(
                r#"path = "data.n"
                       type = "integer""#,
                data.clone()
            )
            .unwrap(),
            Some(json!(42))
        );
        assert_eq!(
            compute(r#"path = "id""#, data).unwrap(),
            Some(json!("evt_1"))
        );
    }

    #[test]
    fn defaults_apply_when_missing_and_are_not_transformed() {
        let data = json!({"blank": "   ", "null": null});
        for path in ["data.absent", "data.null", "data.blank"] {
            let field = format!(
                "path = \"{path}\"\ndefault = \"THERE\"\ntransforms = [\"trim\", \"lower\"]"
            );
            assert_eq!(
                compute(&field, data.clone()).unwrap(),
                Some(json!("THERE")),
                "{path}"
            );
        }
        // A default alone is a constant, coerced to the field's type.
        assert_eq!(
            compute("default = \"7\"\ntype = \"integer\"", json!({})).unwrap(),
            Some(json!(7))
        );
    }

    #[test]
    fn missing_optional_fields_are_left_out_and_required_ones_fail() {
        assert_eq!(compute(r#"path = "data.absent""#, json!({})).unwrap(), None);
        assert_eq!(
            compute(r#"path = "data.x""#, json!({"x": null})).unwrap(),
            None
        );
        assert!(matches!(
            compute("path = \"data.x\"\nrequired = true", json!({"x": null})),
            Err(MappingProblem::Missing)
        ));
        assert!(matches!(
            compute(
                "path = \"data.x\"\nrequired = true\ntransforms = [\"trim\"]",
                json!({"x": "  "})
            ),
            Err(MappingProblem::Missing)
        ));
        assert!(matches!(
            compute("template = \"{{ data.x }}\"\nrequired = true", json!({})),
            Err(MappingProblem::Missing)
        ));
        // Zero and false are values, not missing.
        assert_eq!(
            compute("path = \"data.x\"\nrequired = true", json!({"x": 0})).unwrap(),
            Some(json!(0))
        );
        assert_eq!(
            compute("path = \"data.x\"\nrequired = true", json!({"x": false})).unwrap(),
            Some(json!(false))
        );
    }

    #[test]
    fn templates_literals_and_values() {
        let data = json!({"amount": 1234, "currency": "usd", "id": "in_1"});
        assert_eq!(
            compute(
                r#"template = "Due: {{ data.amount | money(data.currency) }}""#,
                data.clone()
            )
            .unwrap(),
            Some(json!("Due: 12.34 USD"))
        );
        assert_eq!(
            compute(r#"template = "no template syntax""#, data.clone()).unwrap(),
            Some(json!("no template syntax"))
        );
        assert_eq!(
            compute(
                r#"value = { id = "{{ data.id }}", n = 1, tags = ["a"] }"#,
                data.clone()
            )
            .unwrap(),
            Some(json!({"id": "in_1", "n": 1, "tags": ["a"]}))
        );
        assert_eq!(compute("value = 5", data).unwrap(), Some(json!(5)));
    }

    #[test]
    fn a_transform_reading_the_currency_from_the_event() {
        let data = json!({"amount": 1234, "currency": "jpy"});
        assert_eq!(
            compute(
                r#"path = "data.amount"
                       transforms = [{ money = { path = "data.currency" } }]"#,
                data
            )
            .unwrap(),
            Some(json!("1234 JPY"))
        );
    }

    #[test]
    fn transform_and_coercion_failures() {
        assert!(matches!(
            compute(
                "path = \"data.x\"\ntransforms = [{ money = \"usd\" }]",
                json!({"x": "a"})
            ),
            Err(MappingProblem::Transform(_))
        ));
        assert!(matches!(
            compute(
                "path = \"data.x\"\ntype = \"integer\"",
                json!({"x": "jane@example.com"})
            ),
            Err(MappingProblem::Coerce(_))
        ));
    }

    #[test]
    fn the_destination_type_applies_after_the_fields_own() {
        let (field, templates, needs) =
            compile("path = \"data.x\"\ntype = \"integer\"", FieldType::String).unwrap();
        let event = CloudEvent::new_value("e", "s", "t", json!({"x": "012"})).unwrap();
        let view = View::new(&event, &needs).unwrap();
        assert_eq!(
            field
                .compute(&view, &templates, &view.context(&needs))
                .unwrap(),
            Some(json!("12"))
        );
    }

    #[test]
    fn compile_refusals() {
        let problem = |text: &str| compile(text, FieldType::Any).err().map(|e| e.to_string());
        assert_eq!(
            problem("required = true").as_deref(),
            Some("the field has neither `path`, `template`, `value` nor `default`")
        );
        assert_eq!(
            problem("path = \"data.x\"\ntemplate = \"{{ id }}\"").as_deref(),
            Some("the field has both `path` and `template`: give one")
        );
        assert_eq!(
            problem("template = \"x\"\nvalue = 1").as_deref(),
            Some("the field has both `template` and `value`: give one")
        );
        assert_eq!(
            problem("path = \"data.x\"\nrequired = true\ndefault = 1").as_deref(),
            Some("`required = true` and a `default` contradict: drop one")
        );
        assert!(
            problem("path = \"data.x\"\ntype = \"int\"")
                .unwrap()
                .starts_with("unknown type `int`")
        );
        assert!(
            problem("path = \"dat.x\"")
                .unwrap()
                .contains("goes into `dat`")
        );
        assert!(
            problem("path = \"data..x\"")
                .unwrap()
                .contains("empty segment")
        );
        assert_eq!(
            problem("default = \"x\"\ntype = \"integer\"").as_deref(),
            Some(
                "the `default` does not fit the field's type: cannot convert a string that is not a whole number to integer"
            )
        );
        assert!(
            problem("template = \"{{ x | }}\"")
                .unwrap()
                .starts_with("template syntax error at template line 1")
        );
        assert!(
            problem("value = [\"{{ x | }}\"]")
                .unwrap()
                .starts_with("template syntax error")
        );
        assert!(
            problem("value = nan")
                .unwrap()
                .contains("cannot be written in JSON")
        );
        assert!(
            problem("template = \"{{ customer_email }}\"")
                .unwrap()
                .contains("reads `customer_email`")
        );
    }

    #[test]
    fn transform_refusals() {
        let problem = |transforms: &str| {
            compile(
                &format!("path = \"data.x\"\ntransforms = {transforms}"),
                FieldType::Any,
            )
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
        };
        assert!(
            problem(r#"["trimm"]"#)
                .starts_with("unknown transform `trimm` (expected one of: trim, lower")
        );
        assert!(problem(r#"[{ spilt = " " }]"#).starts_with("unknown transform `spilt`"));
        assert!(
            problem(r#"[{ split = " ", money = "usd" }]"#)
                .ends_with("the table names 2 transforms")
        );
        assert!(
            problem(r#"[{ part = "first", sep = " " }]"#).ends_with("`part` is not a transform")
        );
        assert!(problem("[{}]").ends_with("the table is empty"));
        assert!(problem("[1]").ends_with("found integer"));
        assert_eq!(
            problem(r#"[{ split = "" }]"#),
            "transform `split`: needs a separator (non-empty text)"
        );
        assert_eq!(
            problem(r#"["split"]"#),
            "transform `split`: needs a separator (non-empty text)"
        );
        assert!(problem(r#"[{ date = "[yeer]" }]"#).starts_with(
            "transform `date`: the format description is invalid: invalid component name `yeer`"
        ));
        assert_eq!(
            problem(r#"[{ money = "dollars" }]"#),
            "transform `money`: the currency must be a three-letter code such as `usd`"
        );
    }

    #[test]
    fn transform_problems_carry_their_line() {
        let mut templates = Templates::new();
        let mut needs = Needs::default();
        let text = "path = \"data.x\"\ntransforms = [\n  \"trim\",\n  \"nope\",\n]";
        let (_, line) = Field::compile(
            "r",
            "f",
            spec(text),
            SchemaField {
                ty: FieldType::Any,
                required: false,
            },
            &mut templates,
            &mut needs,
            &|at| super::super::file::line_of(text, at),
        )
        .unwrap_err();
        assert_eq!(line, Some(4));
    }
}
