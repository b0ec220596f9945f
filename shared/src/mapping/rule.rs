//! One `[[rule]]`: which events it selects (`source` and `type` patterns) and the fields it
//! computes for them.

use std::sync::Arc;

use minijinja::value::Value as TemplateValue;
use serde_json::Map;
use toml::Spanned;

use crate::envelope::CloudEvent;

use super::error::{LoadError, LoadProblem, MappingError, MappingProblem};
use super::field::Field;
use super::file::{RuleSpec, line_of};
use super::glob::{Pattern, Patterns};
use super::mapped::{FieldMasks, Mapped};
use super::schema::Schema;
use super::template::Templates;
use super::view::{Needs, View};

/// A compiled rule.
#[derive(Debug)]
pub(crate) struct Rule {
    name: Arc<str>,
    line: usize,
    source: Patterns,
    ty: Patterns,
    fields: Vec<Field>,
    needs: Needs,
    /// The fields' masks, shared with every [`Mapped`] the rule makes.
    masks: FieldMasks,
}

/// Where the file being loaded is, for errors.
pub(crate) struct FileContext<'a> {
    pub(crate) name: &'a str,
    pub(crate) text: &'a str,
}

impl Rule {
    /// Compiles one rule of the file against the destination's schema.
    pub(crate) fn compile(
        spec: Spanned<RuleSpec>,
        file: &FileContext<'_>,
        schema: &Schema,
        templates: &mut Templates,
    ) -> Result<Self, LoadError> {
        let line = line_of(file.text, spec.span().start);
        let spec = spec.into_inner();
        let name = spec.name.get_ref().clone();
        let error = |problem, at: Option<usize>| {
            LoadError::new(file.name, problem)
                .at_line(Some(at.unwrap_or(line)))
                .in_rule(Some(&name))
        };
        if name.is_empty() {
            return Err(error(LoadProblem::EmptyRuleName, None));
        }
        let patterns = |attribute: &'static str, value: &Spanned<toml::Value>| {
            patterns(attribute, value.get_ref())
                .map_err(|problem| error(problem, Some(line_of(file.text, value.span().start))))
        };
        let source = patterns("source", &spec.source)?;
        let ty = patterns("type", &spec.ty)?;

        let mut needs = Needs::default();
        let mut specs: Vec<_> = spec.fields.into_iter().collect();
        specs.sort_by_key(|(_, field)| field.span().start);
        let mut fields = Vec::with_capacity(specs.len());
        for (field_name, field) in specs {
            let field_line = line_of(file.text, field.span().start);
            let field_error = |problem, at: Option<usize>| {
                error(problem, Some(at.unwrap_or(field_line))).in_field(&field_name)
            };
            let destination = schema
                .get(&field_name)
                .ok_or_else(|| field_error(LoadProblem::UnknownField, None))?;
            let field = Field::compile(
                &name,
                &field_name,
                field.into_inner(),
                destination,
                templates,
                &mut needs,
                &|at| line_of(file.text, at),
            )
            .map_err(|(problem, at)| field_error(problem, at))?;
            fields.push(field);
        }
        for required in schema.required_fields() {
            if !fields.iter().any(|field| field.name() == required) {
                return Err(error(
                    LoadProblem::RequiredFieldNotSet(required.to_owned()),
                    None,
                ));
            }
        }
        let masks = fields
            .iter()
            .filter_map(|field| field.mask().map(|mask| (field.name().to_owned(), mask)))
            .collect();
        Ok(Self {
            name: name.into(),
            line,
            source,
            ty,
            fields,
            needs,
            masks,
        })
    }

    /// The rule's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The line of its `[[rule]]` header.
    pub(crate) fn line(&self) -> usize {
        self.line
    }

    /// Whether the rule selects `event`.
    pub(crate) fn selects(&self, event: &CloudEvent) -> bool {
        self.source.matches(event.source()) && self.ty.matches(event.ty())
    }

    /// The rule's fields for `event`.
    pub(crate) fn apply(
        &self,
        event: &CloudEvent,
        templates: &Templates,
    ) -> Result<Mapped, MappingError> {
        let fail = |field: Option<&str>, problem| {
            MappingError::new(&self.name, field, event.id(), problem)
        };
        let view =
            View::new(event, &self.needs).map_err(|e| fail(None, MappingProblem::Data(e)))?;
        let context = if self.needs.has_template_roots() {
            view.context(&self.needs)
        } else {
            TemplateValue::UNDEFINED
        };
        let mut fields = Map::new();
        for field in &self.fields {
            if let Some(value) = field
                .compute(&view, templates, &context)
                .map_err(|problem| fail(Some(field.name()), problem))?
            {
                fields.insert(field.name().to_owned(), value);
            }
        }
        Ok(Mapped::new(
            Arc::clone(&self.name),
            fields,
            Arc::clone(&self.masks),
        ))
    }
}

/// A `source` or `type`: one pattern, or a non-empty list of them.
fn patterns(attribute: &'static str, value: &toml::Value) -> Result<Patterns, LoadProblem> {
    let invalid = |reason: String| LoadProblem::Pattern { attribute, reason };
    let texts: Vec<&str> = match value {
        toml::Value::String(text) => vec![text.as_str()],
        toml::Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| item.as_str())
            .collect::<Option<_>>()
            .ok_or_else(|| invalid("a list of patterns must hold text only".to_owned()))?,
        toml::Value::Array(_) => return Err(invalid("the list is empty".to_owned())),
        other => {
            return Err(invalid(format!(
                "must be text or a list of text, found {}",
                other.type_str()
            )));
        }
    };
    texts
        .into_iter()
        .map(|text| Pattern::parse(text).map_err(|e| invalid(e.to_string())))
        .collect::<Result<_, _>>()
        .map(Patterns)
}
