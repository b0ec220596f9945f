//! The mapping's errors: [`LoadError`] when a file is refused at cold start, [`MappingError`]
//! when an event cannot be mapped.
//!
//! The two have different audiences and different rules. A [`LoadError`] is about the mapping
//! file, which the function's owner wrote: it names the file, the line, the rule and the field,
//! and quotes whatever in the file is wrong. A [`MappingError`] is about an event, and ends up
//! in logs and dead-letter attributes: it names the rule, the field and the event id, and says
//! what kind of value was found (`a string`) but never the value itself (see
//! [`crate::redact`]). Template errors at run time keep minijinja's error kind and position,
//! not its detail, which can quote values.

use std::fmt;

use crate::redact::{JsonErrorSummary, name_for_message};
use crate::taxonomy::{Classification, Classify};

use super::coerce::CoerceError;

/// A transform's arguments are wrong: a reason, and for load-time messages a detail that may
/// quote the argument (the mapping file's own text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgError {
    reason: String,
    detail: Option<String>,
}

impl ArgError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            detail: None,
        }
    }

    pub(crate) fn with_detail(mut self, detail: String) -> Self {
        self.detail = Some(detail);
        self
    }

    /// What is wrong, without quoting the argument.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// More about it, quoting the argument (e.g. the `time` parser's message); only shown in
    /// load errors.
    pub fn detail(&self) -> Option<&str> {
        self.detail.as_deref()
    }
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ArgError {}

/// A transform (or the filter of the same name) could not be applied to a value. Messages name
/// the transform and the kind of value, never the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransformError {
    /// The value has the wrong type for the transform.
    #[error("`{transform}` expects {expected}, found {found}")]
    Input {
        /// The transform's name.
        transform: &'static str,
        /// What it accepts.
        expected: &'static str,
        /// What the value was (`a string`, `an object`).
        found: &'static str,
    },
    /// The currency is not a three-letter code.
    #[error("`{0}`: the currency is not a three-letter code")]
    Currency(&'static str),
    /// The currency (read from the event) is absent or null.
    #[error("`{0}`: the currency is missing")]
    NoCurrency(&'static str),
    /// Text that is neither an RFC 3339 timestamp nor Unix seconds.
    #[error("`date`: not an RFC 3339 timestamp or Unix seconds")]
    DateInput,
    /// An instant outside what `time` (or the output format) can represent.
    #[error("`date`: the instant is out of range")]
    DateRange,
    /// The format description needs something the instant does not have; `time`'s message.
    #[error("`date`: {0}")]
    DateFormat(String),
    /// A filter was called with arguments it does not take (run time: in a template).
    #[error("`{transform}`: {error}")]
    Args {
        /// The filter's name.
        transform: &'static str,
        /// What is wrong.
        error: ArgError,
    },
}

/// Why a mapping file is refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadProblem {
    /// The file (`MAPPING_FILE`) could not be read.
    #[error("cannot read the mapping file: {0}")]
    Read(#[source] std::io::Error),
    /// Not TOML, or not the mapping format (an unknown key, a value of the wrong type, a
    /// missing `name`): the TOML parser's message.
    #[error("{0}")]
    Toml(String),
    /// The file has no rules, so every event would be skipped.
    #[error("the file has no `[[rule]]`: every event would be skipped")]
    NoRules,
    /// A rule's name is empty.
    #[error("the rule's `name` is empty")]
    EmptyRuleName,
    /// Two rules have the same name.
    #[error("another rule has the same name (line {first_line})")]
    DuplicateRule {
        /// The line of the first rule with that name.
        first_line: usize,
    },
    /// A `source` or `type` pattern is invalid.
    #[error("invalid `{attribute}` pattern: {reason}")]
    Pattern {
        /// `source` or `type`.
        attribute: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The destination schema has no field of this name.
    #[error("the destination has no field of this name")]
    UnknownField,
    /// The destination requires a field the rule does not set.
    #[error("the destination requires field `{0}`, which this rule does not set")]
    RequiredFieldNotSet(String),
    /// A field with nothing to compute it from.
    #[error("the field has neither `path`, `template`, `value` nor `default`")]
    NoSource,
    /// A field with two ways to compute it.
    #[error("the field has both `{0}` and `{1}`: give one")]
    TwoSources(&'static str, &'static str),
    /// `required = true` with a `default`, which would always apply.
    #[error("`required = true` and a `default` contradict: drop one")]
    RequiredWithDefault,
    /// An invalid path (in `path`, or a transform's `{ path = … }` argument).
    #[error("{0}")]
    Path(String),
    /// An unknown `type`.
    #[error("unknown type `{0}` (expected string, integer, number, boolean, array, object or any)")]
    UnknownType(String),
    /// A `mask` that is not one: an unknown name, a `keep_last` out of range, a value of
    /// the wrong type.
    #[error(
        "invalid `mask`: {0} (expected true, false, \"erase\", \"email\" or {{ keep_last = N }})"
    )]
    Mask(String),
    /// The `default` does not convert to the field's type.
    #[error("the `default` does not fit the field's type: {0}")]
    Default(CoerceError),
    /// A value TOML can hold but JSON cannot (`nan`, `inf`).
    #[error("{0}")]
    NotJson(String),
    /// A transform name that does not exist.
    #[error("unknown transform `{name}` (expected one of: {expected})")]
    UnknownTransform {
        /// The name given.
        name: String,
        /// The transforms that exist.
        expected: String,
    },
    /// A transform that is neither a name nor a table naming one transform.
    #[error(
        "a transform is a name (`\"trim\"`) or a table with the transform's name as one of its \
         keys (`{{ split = \" \", part = \"first\" }}`): {0}"
    )]
    TransformShape(String),
    /// A transform with arguments it does not take.
    #[error("transform `{transform}`: {}{}", .error.reason(), Detail(.error.detail()))]
    TransformArgs {
        /// The transform's name.
        transform: &'static str,
        /// What is wrong.
        error: ArgError,
    },
    /// A template does not compile: minijinja's message and the line within the template.
    #[error("template syntax error{}: {message}", TemplateLine(*.line))]
    Template {
        /// minijinja's message (about the template, which is the file's text).
        message: String,
        /// The 1-based line within the template.
        line: Option<usize>,
    },
    /// A template uses a filter that does not exist.
    #[error("the template uses unknown filter `{0}`")]
    UnknownFilter(String),
    /// A template reads a variable that is neither an envelope attribute, `data`, an extension
    /// name nor a minijinja global: a typo such as `customer_email` for
    /// `data.customer_email`, which would otherwise render as empty text on every event.
    #[error(
        "the template reads `{0}`, which is neither an envelope attribute (`data`, `id`, \
         `type`, …), an extension name (lower-case a-z0-9) nor a minijinja global"
    )]
    UnknownVariable(String),
    /// A template uses a test (`is …`) that does not exist.
    #[error("the template uses unknown test `{0}`")]
    UnknownTest(String),
}

/// `: detail` when there is one.
struct Detail<'a>(Option<&'a str>);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(detail) => write!(f, ": {detail}"),
            None => Ok(()),
        }
    }
}

/// ` at template line N` when known.
struct TemplateLine(Option<usize>);

impl fmt::Display for TemplateLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(line) => write!(f, " at template line {line}"),
            None => Ok(()),
        }
    }
}

/// A mapping file was refused at cold start: the function must not start with it.
///
/// Displays as ``mapping.toml:12: rule `invoice-payment-failed`, field `email`: unknown
/// transform `trimm` (…)``, leaving out what is not known.
///
/// Boxed: it is built once per cold start at most, and keeps `Result<Mapping, LoadError>`
/// small.
#[derive(Debug)]
pub struct LoadError(Box<LoadErrorParts>);

#[derive(Debug)]
struct LoadErrorParts {
    file: String,
    line: Option<usize>,
    rule: Option<String>,
    field: Option<String>,
    problem: LoadProblem,
}

impl std::error::Error for LoadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.problem)
    }
}

impl LoadError {
    pub(crate) fn new(file: &str, problem: LoadProblem) -> Self {
        Self(Box::new(LoadErrorParts {
            file: file.to_owned(),
            line: None,
            rule: None,
            field: None,
            problem,
        }))
    }

    pub(crate) fn at_line(mut self, line: Option<usize>) -> Self {
        self.0.line = line.or(self.0.line);
        self
    }

    pub(crate) fn in_rule(mut self, rule: Option<&str>) -> Self {
        self.0.rule = rule.map(str::to_owned).or(self.0.rule.take());
        self
    }

    pub(crate) fn in_field(mut self, field: &str) -> Self {
        self.0.field = Some(field.to_owned());
        self
    }

    /// The file's name (the embedded file's name, or the `MAPPING_FILE` path).
    pub fn file(&self) -> &str {
        &self.0.file
    }

    /// The 1-based line in the file, when known.
    pub fn line(&self) -> Option<usize> {
        self.0.line
    }

    /// The rule's name, when known.
    pub fn rule(&self) -> Option<&str> {
        self.0.rule.as_deref()
    }

    /// The field's name, when the problem is in one.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// What is wrong.
    pub fn problem(&self) -> &LoadProblem {
        &self.0.problem
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.file)?;
        if let Some(line) = self.0.line {
            write!(f, ":{line}")?;
        }
        f.write_str(": ")?;
        if let Some(rule) = &self.0.rule {
            write!(f, "rule `{}`", name_for_message(rule))?;
            f.write_str(if self.0.field.is_some() { ", " } else { ": " })?;
        }
        if let Some(field) = &self.0.field {
            write!(f, "field `{}`: ", name_for_message(field))?;
        }
        write!(f, "{}", self.0.problem)
    }
}

/// Why an event could not be mapped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MappingProblem {
    /// A required field is absent, null or empty after its transforms.
    #[error("required value is missing (absent, null or empty)")]
    Missing,
    /// A transform failed.
    #[error("transform {0}")]
    Transform(TransformError),
    /// The value does not convert to the field's type.
    #[error("{0}")]
    Coerce(CoerceError),
    /// A template failed.
    #[error("{0}")]
    Template(Box<TemplateError>),
    /// `data` could not be read (nested deeper than 128 levels).
    #[error("`data` could not be read: {0}")]
    Data(JsonErrorSummary),
}

/// A template failed at run time: the template, minijinja's error kind and line, and the
/// error of the kit's filter when one of them failed. Never minijinja's detail, which can
/// quote values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template `{template}` failed{}: {kind}{}", TemplateLine(*.line), FilterDetail(.filter.as_ref()))]
pub struct TemplateError {
    template: String,
    line: Option<usize>,
    kind: String,
    filter: Option<TransformError>,
}

impl TemplateError {
    pub(crate) fn new(template: &str, error: &minijinja::Error) -> Self {
        let filter = std::error::Error::source(error)
            .and_then(|source| source.downcast_ref::<TransformError>())
            .cloned();
        Self {
            template: template.to_owned(),
            line: error.line(),
            kind: error.kind().to_string(),
            filter,
        }
    }

    /// The template's name: `rule/field`, with the position inside a structured value
    /// (`rule/blocks/0/text`).
    pub fn template(&self) -> &str {
        &self.template
    }

    /// The 1-based line within the template, when known.
    pub fn line(&self) -> Option<usize> {
        self.line
    }

    /// minijinja's error kind (`invalid operation`, `undefined value`, …).
    pub fn kind(&self) -> &str {
        &self.kind
    }

    /// The error of the kit's filter that failed, if that is what happened.
    pub fn filter(&self) -> Option<&TransformError> {
        self.filter.as_ref()
    }
}

/// `: <filter error>` when a filter failed.
struct FilterDetail<'a>(Option<&'a TransformError>);

impl fmt::Display for FilterDetail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(e) => write!(f, ": filter {e}"),
            None => Ok(()),
        }
    }
}

/// An event could not be mapped. Always [permanent](crate::ErrorClass::Permanent): the same
/// event meets the same rule every time.
///
/// Displays as ``mapping rule `invoice-payment-failed`, field `email`, event `evt_1`: required
/// value is missing (absent, null or empty)``. Safe for logs and dead-letter attributes: names
/// (rule, field, transform, type) and the event id only, never a value from the payload.
///
/// Boxed, so that `Result<Option<Mapped>, MappingError>` stays small on the success path.
#[derive(Debug)]
pub struct MappingError(Box<MappingErrorParts>);

#[derive(Debug)]
struct MappingErrorParts {
    rule: String,
    field: Option<String>,
    event: String,
    problem: MappingProblem,
}

impl std::error::Error for MappingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.problem)
    }
}

impl MappingError {
    pub(crate) fn new(
        rule: &str,
        field: Option<&str>,
        event: &str,
        problem: MappingProblem,
    ) -> Self {
        Self(Box::new(MappingErrorParts {
            rule: rule.to_owned(),
            field: field.map(str::to_owned),
            event: name_for_message(event),
            problem,
        }))
    }

    /// The rule that selected the event.
    pub fn rule(&self) -> &str {
        &self.0.rule
    }

    /// The field that could not be computed, if the problem is in one.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// The event's id (cut to 64 characters).
    pub fn event_id(&self) -> &str {
        &self.0.event
    }

    /// What went wrong.
    pub fn problem(&self) -> &MappingProblem {
        &self.0.problem
    }
}

impl fmt::Display for MappingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mapping rule `{}`", name_for_message(&self.0.rule))?;
        if let Some(field) = &self.0.field {
            write!(f, ", field `{}`", name_for_message(field))?;
        }
        write!(f, ", event `{}`: {}", self.0.event, self.0.problem)
    }
}

impl Classify for MappingError {
    /// Always permanent: retrying cannot change the event or the mapping.
    fn classification(&self) -> Classification {
        Classification::permanent()
    }
}

impl From<MappingError> for crate::Error {
    /// A permanent [`Error`](crate::Error) whose message is the mapping error's, which is safe
    /// for logs and dead-letter attributes.
    fn from(e: MappingError) -> Self {
        crate::Error::permanent(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::taxonomy::ErrorClass;

    #[test]
    fn load_errors_name_file_line_rule_and_field() {
        let e = LoadError::new("mapping.toml", LoadProblem::UnknownField)
            .at_line(Some(12))
            .in_rule(Some("invoice-payment-failed"))
            .in_field("emial");
        assert_eq!(
            e.to_string(),
            "mapping.toml:12: rule `invoice-payment-failed`, field `emial`: the destination has \
             no field of this name"
        );
        let e = LoadError::new("mapping.toml", LoadProblem::NoRules);
        assert_eq!(
            e.to_string(),
            "mapping.toml: the file has no `[[rule]]`: every event would be skipped"
        );
        let e = LoadError::new("m.toml", LoadProblem::EmptyRuleName)
            .at_line(Some(3))
            .in_rule(Some("r"));
        assert_eq!(
            e.to_string(),
            "m.toml:3: rule `r`: the rule's `name` is empty"
        );
    }

    #[test]
    fn mapping_errors_are_permanent_and_name_rule_field_and_event() {
        let e = MappingError::new("r", Some("email"), "evt_1", MappingProblem::Missing);
        assert_eq!(
            e.to_string(),
            "mapping rule `r`, field `email`, event `evt_1`: required value is missing (absent, \
             null or empty)"
        );
        assert_eq!(e.class(), ErrorClass::Permanent);
        let kit: crate::Error = e.into();
        assert_eq!(kit.class(), ErrorClass::Permanent);
        assert!(
            kit.to_string()
                .starts_with("mapping rule `r`, field `email`")
        );
    }

    #[test]
    fn template_failures_say_which_filter_failed() {
        let template = TemplateError {
            template: "r/text".into(),
            line: Some(2),
            kind: "invalid operation".into(),
            filter: Some(TransformError::Currency("money")),
        };
        let e = MappingError::new(
            "r",
            Some("text"),
            "evt_1",
            MappingProblem::Template(Box::new(template)),
        );
        assert_eq!(
            e.to_string(),
            "mapping rule `r`, field `text`, event `evt_1`: template `r/text` failed at template \
             line 2: invalid operation: filter `money`: the currency is not a three-letter code"
        );
    }
}
