//! What a rule reads from an event ([`Needs`], worked out at load), and the event as the rule
//! sees it ([`View`], built per event from just those needs).

use std::collections::BTreeMap;
use std::collections::BTreeSet;

use minijinja::value::Value as TemplateValue;
use serde_json::Value;
use time::format_description::well_known::Rfc3339;

use crate::envelope::CloudEvent;
use crate::redact::JsonErrorSummary;

use super::error::LoadProblem;
use super::path::{Path, Root, lookup};
use super::select::Selection;
use super::template::Templates;
use super::values::to_template;

/// Everything a rule reads: the parts of `data` (for paths and templates) and the attributes
/// its templates use.
#[derive(Debug, Default, Clone)]
pub(crate) struct Needs {
    data: Selection,
    /// The roots templates use: the template context holds these and nothing else.
    template_roots: BTreeSet<Root>,
}

impl Needs {
    /// A path a field or transform reads.
    pub(crate) fn add_path(&mut self, path: &Path) {
        if *path.root() == Root::Data {
            self.data.insert(path.segments());
        }
    }

    /// A variable a template reads, as minijinja reports it (`data.customer.email`, `id`,
    /// `range`).
    pub(crate) fn add_variable(
        &mut self,
        variable: &str,
        templates: &Templates,
    ) -> Result<(), LoadProblem> {
        let mut segments = variable.split('.');
        let first = segments.next().unwrap_or_default();
        if templates.is_global(first) {
            return Ok(());
        }
        let root =
            Root::from_name(first).ok_or_else(|| LoadProblem::UnknownVariable(first.to_owned()))?;
        if root == Root::Data {
            let rest: Vec<&str> = segments.collect();
            self.data.insert(&rest);
        }
        self.template_roots.insert(root);
        Ok(())
    }

    /// Whether any template reads the event.
    pub(crate) fn has_template_roots(&self) -> bool {
        !self.template_roots.is_empty()
    }
}

/// One event as a rule sees it: the envelope, and the selected parts of `data`.
pub(crate) struct View<'e> {
    event: &'e CloudEvent,
    data: Option<Value>,
}

impl<'e> View<'e> {
    /// Reads what `needs` selects of `event`'s data (nothing at all when nothing is selected).
    pub(crate) fn new(event: &'e CloudEvent, needs: &Needs) -> Result<Self, JsonErrorSummary> {
        let data = match event.data_json() {
            Some(raw) if !needs.data.is_empty() => Some(
                needs
                    .data
                    .extract(raw.get())
                    .map_err(|e| JsonErrorSummary::new(&e))?,
            ),
            _ => None,
        };
        Ok(Self { event, data })
    }

    /// The value at `path`, if the event has one.
    pub(crate) fn resolve(&self, path: &Path) -> Option<Value> {
        match path.root() {
            Root::Data => lookup(self.data.as_ref()?, path.segments()).cloned(),
            root => self.attribute(root),
        }
    }

    /// A context attribute or extension (not `data`).
    fn attribute(&self, root: &Root) -> Option<Value> {
        let text = |s: &str| Some(Value::String(s.to_owned()));
        match root {
            Root::Id => text(self.event.id()),
            Root::Source => text(self.event.source()),
            Root::Type => text(self.event.ty()),
            Root::Subject => self.event.subject().and_then(text),
            Root::Time => self
                .event
                .time()
                .and_then(|t| t.format(&Rfc3339).ok())
                .map(Value::String),
            Root::SpecVersion => text(crate::envelope::SPEC_VERSION),
            Root::DataContentType => self.event.datacontenttype().and_then(text),
            Root::DataSchema => self.event.dataschema().and_then(text),
            Root::Data => self.data.clone(),
            Root::Extension(name) => self.event.extension(name).cloned(),
        }
    }

    /// The template context: each root the templates use, when the event has it.
    pub(crate) fn context(&self, needs: &Needs) -> TemplateValue {
        let mut context = BTreeMap::new();
        for root in &needs.template_roots {
            let value = match root {
                Root::Data => self.data.as_ref().map(to_template),
                root => self.attribute(root).as_ref().map(to_template),
            };
            if let Some(value) = value {
                context.insert(root.name().to_owned(), value);
            }
        }
        TemplateValue::from(context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use time::macros::datetime;

    fn event() -> CloudEvent {
        CloudEvent::new_value(
            "evt_1",
            "stripe",
            "invoice.paid",
            json!({"customer": {"email": "jane@example.com"}, "items": [{"sku": "a"}, {"sku": "b"}],
                   "other": "x"}),
        )
        .unwrap()
        .with_subject("in_1")
        .unwrap()
        .with_time(datetime!(2024-05-06 08:00 UTC))
        .with_extension("deliveryid", "d_1")
        .unwrap()
    }

    fn path(text: &str) -> Path {
        Path::parse(text).unwrap()
    }

    #[test]
    fn paths_resolve_against_the_envelope() {
        let event = event();
        let mut needs = Needs::default();
        for p in ["data.customer.email", "data.items.1.sku", "data.nope"] {
            needs.add_path(&path(p));
        }
        let view = View::new(&event, &needs).unwrap();
        assert_eq!(
            view.resolve(&path("data.customer.email")),
            Some(json!("jane@example.com"))
        );
        assert_eq!(view.resolve(&path("data.items.1.sku")), Some(json!("b")));
        assert_eq!(view.resolve(&path("data.nope")), None);
        assert_eq!(view.resolve(&path("id")), Some(json!("evt_1")));
        assert_eq!(view.resolve(&path("source")), Some(json!("stripe")));
        assert_eq!(view.resolve(&path("type")), Some(json!("invoice.paid")));
        assert_eq!(view.resolve(&path("subject")), Some(json!("in_1")));
        assert_eq!(
            view.resolve(&path("time")),
            Some(json!("2024-05-06T08:00:00Z"))
        );
        assert_eq!(view.resolve(&path("specversion")), Some(json!("1.0")));
        assert_eq!(
            view.resolve(&path("datacontenttype")),
            Some(json!("application/json"))
        );
        assert_eq!(view.resolve(&path("dataschema")), None);
        assert_eq!(view.resolve(&path("deliveryid")), Some(json!("d_1")));
        assert_eq!(view.resolve(&path("otherext")), None);
    }

    #[test]
    fn nothing_selected_reads_nothing() {
        let event = event();
        let view = View::new(&event, &Needs::default()).unwrap();
        assert_eq!(view.resolve(&path("data.customer.email")), None);
        assert_eq!(view.resolve(&path("id")), Some(json!("evt_1")));
    }

    #[test]
    fn template_variables_become_the_context() {
        let templates = Templates::new();
        let mut needs = Needs::default();
        for variable in ["data.customer.email", "id", "deliveryid", "range", "time"] {
            needs.add_variable(variable, &templates).unwrap();
        }
        assert!(needs.has_template_roots());
        let event = event();
        let view = View::new(&event, &needs).unwrap();
        let context = view.context(&needs);
        let json = serde_json::to_value(&context).unwrap();
        assert_eq!(
            json,
            json!({"data": {"customer": {"email": "jane@example.com"}}, "id": "evt_1",
                   "deliveryid": "d_1", "time": "2024-05-06T08:00:00Z"})
        );
        assert!(matches!(
            needs.add_variable("customer_email", &templates),
            Err(LoadProblem::UnknownVariable(v)) if v == "customer_email"
        ));
    }

    #[test]
    fn binary_data_has_no_members() {
        let event = CloudEvent::new_binary("e", "s", "t", b"x".to_vec(), "text/plain").unwrap();
        let mut needs = Needs::default();
        needs.add_path(&path("data.x"));
        let view = View::new(&event, &needs).unwrap();
        assert_eq!(view.resolve(&path("data.x")), None);
    }
}
